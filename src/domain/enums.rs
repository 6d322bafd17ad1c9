//! Every enum of the contract, with its documented spelling. Parsing ignores
//! case (`LOYALTY` = `Loyalty`); output always uses the documented spelling.

/// Declares an enum whose variants have one documented spelling each, plus
/// extra accepted aliases.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The documented spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Case-insensitive match against the documented spelling and aliases.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                $(
                    if s.eq_ignore_ascii_case($text) $(|| s.eq_ignore_ascii_case($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The documented spellings, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown value {s:?}; expected one of {}", $name::expected()))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// How the older customer list sorts (upstream "Get badges for customer").
    OlderSortOn {
        Rank = "RANK",
        LastEarnedOnDate = "LAST_EARNED_ON_DATE",
        LastEarnedEventDate = "LAST_EARNED_EVENT_DATE",
    }
);

wire_enum!(
    /// How a customer comes to hold a badge.
    EarnType { Earn = "EARN", IssueEarn = "ISSUE_EARN" }
);

wire_enum!(
    /// Where a badge's own window stands at a given instant.
    BadgeStatus { Upcoming = "UPCOMING", Live = "LIVE", Expired = "EXPIRED" | "ENDED" }
);

wire_enum!(
    /// The module that may use a badge.
    Owner {
        Loyalty = "Loyalty",
        LoyaltyPromotion = "Loyalty_Promotion",
        ReferralCampaigns = "Referral_Campaigns",
        Journeys = "Journeys",
        AudienceCampaigns = "Audience_Campaigns",
        RewardsCatalog = "Rewards_Catalog",
        GoodwillModule = "Goodwill_Module",
        Milestones = "Milestones",
        HistoricalImport = "Historical_Import",
    }
);

wire_enum!(
    /// Status of a customer's enrolment in an ISSUE_EARN badge.
    IssueStatus { Live = "LIVE", Expired = "EXPIRED", Revoked = "REVOKED" }
);

wire_enum!(
    /// Which badges a list holds (query parameter `badgeType`).
    BadgeType {
        AvailableToIssue = "AVAILABLE_TO_ISSUE",
        Available = "AVAILABLE",
        Earned = "EARNED",
        Expired = "EXPIRED",
    }
);

wire_enum!(
    /// The badge's activation switch (query parameter `action`).
    Action { Activated = "ACTIVATED", Deactivated = "DEACTIVATED" | "DE_ACTIVATED" }
);

wire_enum!(
    /// Sort key (query parameter `sortOn`).
    SortOn {
        ExpiresOn = "EXPIRES_ON",
        LastModifiedDate = "LAST_MODIFIED_DATE",
        LastIssuedDate = "LAST_ISSUED_DATE",
        LastExpiredBadge = "LAST_EXPIRED_BADGE",
        LastEarnedEventDate = "LAST_EARNED_EVENT_DATE",
        LastEarnedOnDate = "LAST_EARNED_ON_DATE",
    }
);

wire_enum!(
    /// Sort direction (query parameter `order`).
    SortOrder { Desc = "DESC", Asc = "ASC" }
);

wire_enum!(
    /// How a badge date compares with a given one.
    Operator { LessThan = "LESS_THAN", GreaterThan = "GREATER_THAN" }
);

wire_enum!(
    /// What the customer path segment holds (header `X-CAP-CUSTOMER-IDENTIFIER`).
    IdentifierType {
        Email = "email",
        Mobile = "mobile",
        ExternalId = "externalId",
        CardNumber = "cardNumber",
    }
);

wire_enum!(
    /// The type of a custom field's values.
    DataType { Integer = "INTEGER", Boolean = "BOOLEAN", Date = "DATE", String = "STRING" }
);

wire_enum!(
    /// Sort key of the org's badge list (`GET /badgeMeta`, `sortOn`).
    CatalogueSort { Id = "ID", Name = "NAME", StartDate = "START_DATE" }
);

impl BadgeStatus {
    /// The status of a window `[starts_on, expires_on)` at `now`.
    pub fn at(now: super::Micros, starts_on: super::Micros, expires_on: super::Micros) -> Self {
        if now < starts_on {
            BadgeStatus::Upcoming
        } else if now < expires_on {
            BadgeStatus::Live
        } else {
            BadgeStatus::Expired
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Micros;

    #[test]
    fn parsing_ignores_case_and_output_uses_documented_spelling() {
        assert_eq!(Owner::parse("LOYALTY"), Some(Owner::Loyalty));
        assert_eq!(
            Owner::parse("loyalty_promotion"),
            Some(Owner::LoyaltyPromotion)
        );
        assert_eq!(Owner::LoyaltyPromotion.as_str(), "Loyalty_Promotion");
        assert_eq!(Action::parse("de_activated"), Some(Action::Deactivated));
        assert_eq!(
            IdentifierType::parse("EXTERNALID"),
            Some(IdentifierType::ExternalId)
        );
        assert_eq!(BadgeType::parse("EARNED "), Some(BadgeType::Earned));
        assert_eq!(BadgeType::parse("EARN"), None);
    }

    #[test]
    fn status_windows_are_half_open() {
        let (s, e) = (Micros(10), Micros(20));
        assert_eq!(BadgeStatus::at(Micros(9), s, e), BadgeStatus::Upcoming);
        assert_eq!(BadgeStatus::at(Micros(10), s, e), BadgeStatus::Live);
        assert_eq!(BadgeStatus::at(Micros(19), s, e), BadgeStatus::Live);
        assert_eq!(BadgeStatus::at(Micros(20), s, e), BadgeStatus::Expired);
    }
}
