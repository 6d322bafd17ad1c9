//! Conversions from domain values to the protobuf messages that both the
//! gRPC API (`crate::grpc`) and the events (`crate::events`) send, below
//! both, so that neither imports the other.

use prost_types::Timestamp;

use crate::domain::Micros;
use crate::domain::enums::Owner;
use crate::proto;

pub fn owner_to_proto(o: Owner) -> proto::Owner {
    use proto::Owner as P;
    match o {
        Owner::Loyalty => P::Loyalty,
        Owner::LoyaltyPromotion => P::LoyaltyPromotion,
        Owner::ReferralCampaigns => P::ReferralCampaigns,
        Owner::Journeys => P::Journeys,
        Owner::AudienceCampaigns => P::AudienceCampaigns,
        Owner::RewardsCatalog => P::RewardsCatalog,
        Owner::GoodwillModule => P::GoodwillModule,
        Owner::Milestones => P::Milestones,
        Owner::HistoricalImport => P::HistoricalImport,
    }
}

pub fn ts(m: Micros) -> Timestamp {
    let (seconds, nanos) = m.seconds_nanos();
    Timestamp {
        seconds,
        nanos: nanos as i32,
    }
}
