//! A small, fully known world: two orgs that share a customer id, its
//! identifiers and a badge name; eight badges in org A covering every earn
//! type, status, owner and sort key; and the awards and enrolments that put
//! each badge into a known list.

use badges::auth::hash_secret;
use badges::domain::Micros;
use badges::domain::admin::ExpiryRule;
use badges::domain::badge::{Badge, Claim, Image};
use badges::domain::enums::{EarnType, Owner};
use badges::store::{NewApiClient, NewAward, NewCustomer, NewEnrolment, NewGroup, NewOrg, Store};
use base64::Engine;
use tonic::Request;
use tonic::metadata::MetadataValue;

/// 2025-01-01T00:00:00Z.
pub const NOW: Micros = Micros(1_735_689_600_000_000);
pub const HOUR: i64 = 3_600_000_000;
pub const DAY: i64 = 24 * HOUR;

pub fn at(offset: i64) -> Micros {
    Micros(NOW.0 + offset)
}

pub const B1: &str = "0000000000000000000000b1";
pub const B2: &str = "0000000000000000000000b2";
pub const B3: &str = "0000000000000000000000b3";
pub const B4: &str = "0000000000000000000000b4";
pub const B5: &str = "0000000000000000000000b5";
pub const B6: &str = "0000000000000000000000b6";
pub const B7: &str = "0000000000000000000000b7";
pub const B8: &str = "0000000000000000000000b8";
pub const OTHER_ORG_BADGE: &str = "0000000000000000000000f1";
pub const G1: &str = "0000000000000000000000a1";
pub const UNKNOWN_GROUP: &str = "0000000000000000000000a9";

pub const CUSTOMER: i64 = 100;
pub const EMAIL: &str = "Alice@Example.com";
pub const MOBILE: &str = "+15550100";
pub const EXTERNAL_ID: &str = "ext-100";
pub const CARD_NUMBER: &str = "card-100";
/// A customer that only org B has.
pub const ORG_B_ONLY_CUSTOMER: i64 = 200;

pub const READER: (&str, &str) = ("reader-a", "reader-a-secret");
pub const WRITER_ONLY: (&str, &str) = ("writer-a", "writer-a-secret");
pub const READER_B: (&str, &str) = ("reader-b", "reader-b-secret");

pub struct World {
    pub org_a: i32,
    pub org_b: i32,
}

fn badge(
    org: i32,
    id: &str,
    name: &str,
    earn_type: EarnType,
    window: (i64, i64),
    updated: i64,
) -> Badge {
    Badge {
        id: id.into(),
        org_id: org,
        name: name.into(),
        description: format!("{name} description"),
        earn_type,
        active: true,
        starts_on: at(window.0),
        expires_on: at(window.1),
        created_on: at(-30 * DAY),
        last_updated_on: at(updated),
        group_id: None,
        rank: None,
        images: vec![],
        owners: vec![],
        claims: vec![],
        earned_badge_expiry: ExpiryRule::Never,
        issued_badge_expiry: ExpiryRule::Never,
        created_by: None,
        last_updated_by: None,
        extras: Default::default(),
    }
}

fn claim(owner_type: Owner, reference_id: &str, is_active: bool) -> Claim {
    Claim {
        owner_type,
        reference_id: reference_id.into(),
        is_active,
    }
}

pub fn award(
    org: i32,
    id: u32,
    badge: &str,
    awarded: i64,
    event: i64,
    expires: Option<i64>,
    revoked: bool,
) -> NewAward {
    NewAward {
        earned_badge_id: format!("{id:024x}"),
        org_id: org,
        badge_id: badge.into(),
        customer_id: CUSTOMER,
        awarded_at: at(awarded),
        event_at: at(event),
        expires_at: expires.map(at),
        revoked,
        request_id: None,
        triggered_by: None,
    }
}

pub fn enrolment(
    org: i32,
    badge: &str,
    issued: i64,
    expires: Option<i64>,
    revoked: bool,
) -> NewEnrolment {
    NewEnrolment {
        issued_badge_id: enrolment_id(org, badge, issued),
        org_id: org,
        badge_id: badge.into(),
        customer_id: CUSTOMER,
        issued_at: at(issued),
        expires_at: expires.map(at),
        revoked,
        request_id: None,
        event_at: None,
        triggered_by: None,
    }
}

/// The id the fixture gives an enrolment: known to the tests, unique per
/// (org, badge, issue time).
pub fn enrolment_id(org: i32, badge: &str, issued: i64) -> String {
    format!("{:04x}{}{:016x}", org, &badge[20..], issued as u64)
}

async fn client(
    store: &Store,
    org: i32,
    (username, secret): (&str, &str),
    read: bool,
    write: bool,
) {
    store
        .insert_api_client(NewApiClient {
            org_id: org,
            username: username.into(),
            secret_hash: hash_secret(secret).unwrap(),
            can_read: read,
            can_write: write,
            created_at: NOW,
        })
        .await
        .unwrap();
}

pub async fn load(store: &Store) -> World {
    let org_a = store
        .insert_org(NewOrg {
            name: "org-a".into(),
            created_at: NOW,
        })
        .await
        .unwrap();
    let org_b = store
        .insert_org(NewOrg {
            name: "org-b".into(),
            created_at: NOW,
        })
        .await
        .unwrap();
    client(store, org_a, READER, true, false).await;
    client(store, org_a, WRITER_ONLY, false, true).await;
    client(store, org_b, READER_B, true, true).await;

    for org in [org_a, org_b] {
        store
            .insert_customer(NewCustomer {
                org_id: org,
                customer_id: CUSTOMER,
                email: Some(EMAIL.into()),
                mobile: Some(MOBILE.into()),
                external_id: Some(EXTERNAL_ID.into()),
                card_number: Some(CARD_NUMBER.into()),
            })
            .await
            .unwrap();
    }
    store
        .insert_customer(NewCustomer {
            org_id: org_b,
            customer_id: ORG_B_ONLY_CUSTOMER,
            ..Default::default()
        })
        .await
        .unwrap();

    store
        .insert_group(NewGroup {
            id: G1.into(),
            org_id: org_a,
            name: "Group One".into(),
            rank: 1,
            created_at: NOW,
        })
        .await
        .unwrap();

    let a = org_a;
    let badges = vec![
        Badge {
            group_id: Some(G1.into()),
            rank: Some(1),
            images: vec![
                Image {
                    name: "gold".into(),
                    file_svc_handle: "h-1".into(),
                    url: "https://img/1".into(),
                    tag: "EARNED".into(),
                },
                Image {
                    name: "grey".into(),
                    file_svc_handle: "h-2".into(),
                    url: "https://img/2".into(),
                    tag: "UN_EARNED".into(),
                },
            ],
            owners: vec![Owner::Loyalty],
            claims: vec![claim(Owner::Loyalty, "L1", true)],
            ..badge(
                a,
                B1,
                "Gold Star",
                EarnType::Earn,
                (-10 * DAY, 10 * DAY),
                -9 * DAY,
            )
        },
        Badge {
            active: false,
            owners: vec![Owner::Journeys, Owner::Loyalty],
            claims: vec![claim(Owner::Journeys, "J1", false)],
            ..badge(
                a,
                B2,
                "Silver 100%_Club",
                EarnType::Earn,
                (5 * DAY, 20 * DAY),
                -8 * DAY,
            )
        },
        Badge {
            owners: vec![Owner::LoyaltyPromotion],
            ..badge(
                a,
                B3,
                "Bronze",
                EarnType::Earn,
                (-20 * DAY, -5 * DAY),
                -7 * DAY,
            )
        },
        Badge {
            group_id: Some(G1.into()),
            rank: Some(2),
            owners: vec![Owner::Loyalty, Owner::Milestones],
            claims: vec![claim(Owner::Milestones, "M1", true)],
            ..badge(
                a,
                B4,
                "Enrol Gold",
                EarnType::IssueEarn,
                (-3 * DAY, 30 * DAY),
                -6 * DAY,
            )
        },
        Badge {
            owners: vec![Owner::Milestones],
            ..badge(
                a,
                B5,
                "Enrol Silver",
                EarnType::IssueEarn,
                (-DAY, 40 * DAY),
                -5 * DAY,
            )
        },
        Badge {
            active: false,
            owners: vec![Owner::ReferralCampaigns],
            ..badge(
                a,
                B6,
                "Enrol Future",
                EarnType::IssueEarn,
                (DAY, 2 * DAY),
                -4 * DAY,
            )
        },
        Badge {
            owners: vec![Owner::GoodwillModule],
            ..badge(a, B7, "Twin A", EarnType::Earn, (-DAY, 10 * DAY), -3 * DAY)
        },
        Badge {
            owners: vec![Owner::GoodwillModule],
            ..badge(a, B8, "Twin B", EarnType::Earn, (-DAY, 10 * DAY), -3 * DAY)
        },
        // Org B: the same badge name, held by its own customer 100.
        Badge {
            owners: vec![Owner::Loyalty],
            ..badge(
                org_b,
                OTHER_ORG_BADGE,
                "Gold Star",
                EarnType::Earn,
                (-10 * DAY, 10 * DAY),
                -DAY,
            )
        },
    ];
    for b in badges {
        store.insert_badge(b).await.unwrap();
    }

    let awards = vec![
        award(a, 1, B1, -5 * DAY, -5 * DAY - HOUR, Some(100 * DAY), false),
        award(a, 2, B1, -2 * DAY, -3 * DAY, None, false),
        award(a, 3, B1, -DAY, -DAY, None, true),
        award(a, 4, B3, -15 * DAY, -15 * DAY, Some(-DAY), false),
        award(a, 5, B4, -DAY, -4 * DAY, None, false),
        award(a, 6, B5, -20 * HOUR, -20 * HOUR, Some(-HOUR), false),
        award(org_b, 7, OTHER_ORG_BADGE, -DAY, -DAY, None, false),
    ];
    for a in awards {
        store.insert_award(a).await.unwrap();
    }
    for e in [
        enrolment(a, B4, -3 * DAY, Some(30 * DAY), false),
        enrolment(a, B5, -DAY, None, true),
        enrolment(a, B6, -2 * DAY, Some(-DAY), false),
    ] {
        store.insert_enrolment(e).await.unwrap();
    }
    // The customers' state rows, as the service's writes would have kept
    // them (the seed's inserts leave them to be built).
    store.rebuild_states(None, |_| {}).await.unwrap();
    World { org_a, org_b }
}

pub fn basic((username, secret): (&str, &str)) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{secret}"))
    )
}

/// A request carrying Basic credentials.
pub fn authed<T>(creds: (&str, &str), message: T) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(basic(creds)).unwrap(),
    );
    r
}
