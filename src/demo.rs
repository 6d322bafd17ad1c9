//! The demo data of BEHAVIOUR.md §5: one org, a read+write client `demo` with
//! secret `demo`, the groups and badges of the upstream examples, and customer
//! 62090013 holding the awards those examples show. Loaded only by
//! `badges serve --demo`; never by migrations or a plain start.

use crate::auth::hash_secret;
use crate::domain::Micros;
use crate::domain::admin::ExpiryRule;
use crate::domain::badge::{Badge, Claim, Extras, Image, Tag};
use crate::domain::custom_fields::CustomField;
use crate::domain::enums::{DataType, EarnType, Owner};
use crate::error::Result;
use crate::store::{NewApiClient, NewAward, NewCustomer, NewGroup, NewOrg, Store};

pub const DEMO_ORG: &str = "demo";
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_SECRET: &str = "demo";
pub const DEMO_CUSTOMER_ID: i64 = 62090013;
pub const DEMO_CUSTOMER_EMAIL: &str = "tom.sawyer@capillarytech.com";

/// Milliseconds since the epoch, the precision of the upstream examples.
fn ms(v: i64) -> Micros {
    Micros(v * 1_000)
}

fn image(name: &str, handle: &str, url: &str, tag: &str) -> Image {
    Image {
        name: name.into(),
        file_svc_handle: handle.into(),
        url: url.into(),
        tag: tag.into(),
    }
}

fn claim(owner_type: Owner, reference_id: &str) -> Claim {
    Claim {
        owner_type,
        reference_id: reference_id.into(),
        is_active: true,
    }
}

/// A badge of `org` with these texts and times (milliseconds: created,
/// updated, starts, expires), active, restricted to nobody yet, without
/// images, claims or group, never expiring once held.
fn plain(
    org: i32,
    id: &str,
    name: &str,
    description: &str,
    earn_type: EarnType,
    [created, updated, starts, expires]: [i64; 4],
) -> Badge {
    Badge {
        id: id.into(),
        org_id: org,
        name: name.into(),
        description: description.into(),
        earn_type,
        active: true,
        starts_on: ms(starts),
        expires_on: ms(expires),
        created_on: ms(created),
        last_updated_on: ms(updated),
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

/// The badges of the upstream examples, in org `org`.
pub fn badges(org: i32) -> Vec<Badge> {
    let mut badges = issue_earn_badges(org);
    badges.extend(earn_badges(org));
    badges
}

/// The ISSUE_EARN badges of the upstream examples.
fn issue_earn_badges(org: i32) -> Vec<Badge> {
    vec![
        Badge {
            images: vec![
                image(
                    "unearned1",
                    "qwer-8634-8938",
                    "https://badge.url",
                    "UN_EARNED",
                ),
                image(
                    "unearned",
                    "qwer-8634-8938",
                    "https://badge.url",
                    "IN_PROGRESS",
                ),
            ],
            owners: vec![Owner::AudienceCampaigns],
            claims: vec![claim(Owner::AudienceCampaigns, "1175688")],
            ..plain(
                org,
                "6576bf1191e0b01c659ad5d6",
                "Automation_Test_Badge_Issue_2023-12-11 13:20:36.812999",
                "Automation_Test_Badge_Issue_2023-12-11 13:20:36.812999",
                EarnType::IssueEarn,
                [1702280977051, 1702280979343, 1701416976000, 1702367376000],
            )
        },
        Badge {
            rank: Some(3),
            images: vec![image(
                "Issued",
                "qwer-8634-8938",
                "https://firebasestorage.googleapis.com/v0/b/createbadges.appspot.com/o/images%2Fsuccess1.jpg?alt=media&token=66b2f0bc-9c55-4e33-a5e9-c6be96d94f2d",
                "EARNED",
            )],
            owners: vec![
                Owner::Milestones,
                Owner::AudienceCampaigns,
                Owner::HistoricalImport,
                Owner::Journeys,
                Owner::Loyalty,
                Owner::RewardsCatalog,
                Owner::LoyaltyPromotion,
                Owner::GoodwillModule,
                Owner::ReferralCampaigns,
            ],
            claims: vec![claim(Owner::Loyalty, "12341234")],
            ..plain(
                org,
                "67eb9e2d6666db076c3c7556",
                "Badge Issue georgetesst",
                "Make 5 transactions",
                EarnType::IssueEarn,
                [1743494701636, 1743494735479, 1735715131000, 1764572731000],
            )
        },
        Badge {
            group_id: Some(DEMO_GROUP_ID.into()),
            rank: Some(2),
            images: vec![
                image(
                    "",
                    "6d5bbab0-e75c-46c4-ac61-e9f7efeb8863",
                    "https://storage.crm.eu.content-cdn.io/fs.capillary.eu/incentives_assets/badges/images/100606/653dea07b3cda7078c7c68ee_EARNED_P-Hmb96D.png",
                    "EARNED",
                ),
                image(
                    "",
                    "8be2b78e-b1d6-4127-926a-2cbed7eb2785",
                    "https://storage.crm.eu.content-cdn.io/fs.capillary.eu/incentives_assets/badges/images/100606/653dea07b3cda7078c7c68ee_UN_EARNED_vDx_DRdk.png",
                    "UN_EARNED",
                ),
            ],
            owners: vec![Owner::Loyalty],
            claims: vec![
                claim(Owner::Loyalty, "626"),
                claim(Owner::Loyalty, "626_TransactionAdd"),
                claim(Owner::Loyalty, "123"),
            ],
            ..plain(
                org,
                "653dea07b3cda7078c7c68ee",
                "Birthday Badge",
                "Make a purchase during your birthday month and get a 40% discount coupon",
                EarnType::IssueEarn,
                [1698556674481, 1716454946522, 1698557400000, 1828754110000],
            )
        },
    ]
}

/// The EARN badges of the upstream examples.
fn earn_badges(org: i32) -> Vec<Badge> {
    vec![
        Badge {
            images: vec![image("string", "string", "string", "UN_EARNED")],
            owners: vec![Owner::LoyaltyPromotion],
            claims: vec![claim(Owner::LoyaltyPromotion, "12332345")],
            // Upstream's fields kept as given, and a value of the demo's
            // custom field.
            extras: Extras {
                tags: vec![Tag {
                    name: "campaign".into(),
                    value: "fixed-window".into(),
                }],
                custom_fields: [(DEMO_CUSTOM_FIELD.to_owned(), "gold".to_owned())].into(),
                ..Default::default()
            },
            ..plain(
                org,
                "666638f0ae20cb256ec13e23",
                "demoBadgeName001",
                "testing-fixed-window-7-2",
                EarnType::Earn,
                [1717975279579, 1717975460583, 1707523237192, 1730246437192],
            )
        },
        Badge {
            rank: Some(1),
            owners: vec![Owner::Loyalty],
            ..plain(
                org,
                "6673b08c39c6a546eb054726",
                "badge issual3",
                "Purchase products worth minimum 1K in the month of March and get this badge",
                EarnType::Earn,
                [1718857868451, 1718857868451, 1818857606000, 1828857606000],
            )
        },
        Badge {
            images: vec![image("string", "string", "string", "UN_EARNED")],
            owners: vec![Owner::LoyaltyPromotion],
            ..plain(
                org,
                "6655729a8be1b54e57d602f1",
                "demoName",
                "demoDescription",
                EarnType::Earn,
                [1716875930419, 1716875930419, 1707523237192, 1711756837192],
            )
        },
    ]
}

pub const DEMO_GROUP_ID: &str = "65c3600c60d9261bdd8a6410";
/// The demo org's custom field, which demoBadgeName001 has a value of.
pub const DEMO_CUSTOM_FIELD: &str = "tier";
const DEMO_CUSTOM_FIELD_ID: &str = "65c3600c60d9261bdd8a6411";

/// The awards the examples show: demoBadgeName001 earned twice (latest at
/// 1718083872.611), "Badge Issue georgetesst" once (at 1743494913.679).
pub fn awards(org: i32) -> Vec<NewAward> {
    let award = |id: &str, badge: &str, awarded: i64, event: i64| NewAward {
        earned_badge_id: id.into(),
        org_id: org,
        badge_id: badge.into(),
        customer_id: DEMO_CUSTOMER_ID,
        awarded_at: ms(awarded),
        event_at: ms(event),
        expires_at: None,
        revoked: false,
        request_id: None,
        triggered_by: None,
    };
    vec![
        award(
            "6667e0a0ae20cb256ec13f01",
            "666638f0ae20cb256ec13e23",
            1718000000000,
            1717999990000,
        ),
        award(
            "6667e0a0ae20cb256ec13f02",
            "666638f0ae20cb256ec13e23",
            1718083872611,
            1718083860000,
        ),
        award(
            "67eb9f016666db076c3c7601",
            "67eb9e2d6666db076c3c7556",
            1743494913679,
            1743494913679,
        ),
    ]
}

/// Loads the demo data unless the demo org already exists. Everything lands
/// in one transaction: a process stopped half-way leaves nothing behind (so
/// the next `--demo` start loads it all), and of two processes loading at
/// once, one commits and the other finds the org already there.
pub async fn load(store: &Store, now: Micros) -> Result<()> {
    if store.find_org_by_name(DEMO_ORG).await?.is_some() {
        tracing::info!("demo data already loaded");
        return Ok(());
    }
    match load_once(store, now).await {
        Ok(org) => {
            // Seeded awards are not folded as they are written: the org's
            // customer state rows are built once, after.
            store.rebuild_states(Some(org), |_| {}).await?;
            tracing::info!(org, "demo data loaded");
            Ok(())
        }
        // Another process committed the same org first.
        Err(e) => match store.find_org_by_name(DEMO_ORG).await {
            Ok(Some(_)) => {
                tracing::info!("demo data loaded by another process");
                Ok(())
            }
            _ => Err(e),
        },
    }
}

async fn load_once(store: &Store, now: Micros) -> Result<i32> {
    let txn = store.seed().await?;
    let w = txn.writer();
    let org = w
        .insert_org(NewOrg {
            name: DEMO_ORG.into(),
            created_at: now,
        })
        .await?;
    w.insert_api_client(NewApiClient {
        org_id: org,
        username: DEMO_USERNAME.into(),
        secret_hash: hash_secret(DEMO_SECRET)?,
        can_read: true,
        can_write: true,
        created_at: now,
    })
    .await?;
    w.insert_customer(NewCustomer {
        org_id: org,
        customer_id: DEMO_CUSTOMER_ID,
        email: Some(DEMO_CUSTOMER_EMAIL.into()),
        ..Default::default()
    })
    .await?;
    w.insert_group(NewGroup {
        id: DEMO_GROUP_ID.into(),
        org_id: org,
        name: "2024 Badges".into(),
        rank: 1,
        created_at: ms(1707303948000),
    })
    .await?;
    w.insert_custom_field(CustomField {
        id: DEMO_CUSTOM_FIELD_ID.into(),
        org_id: org,
        name: DEMO_CUSTOM_FIELD.into(),
        data_type: DataType::String,
        is_mandatory: false,
        default_value: None,
        is_active: true,
        created_on: ms(1707303948000),
        created_by: None,
        last_updated_on: ms(1707303948000),
        last_updated_by: None,
    })
    .await?;
    for badge in badges(org) {
        w.insert_badge(badge).await?;
    }
    for award in awards(org) {
        w.insert_award(award).await?;
    }
    txn.commit().await?;
    Ok(org)
}
