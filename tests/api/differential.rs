//! The in-memory list path against the SQL one it replaced: random
//! catalogues, customers and queries run through both, on each backend, and
//! every page must be equal: rows, fields, order, totals and page tokens,
//! keyset walks included. The SQL path is `reference.rs`, frozen as it was.
//!
//! Worlds (orgs with their badges, groups, owners, claims, customers, awards
//! and enrolments) are drawn from seeded generators, with ties, edges and
//! revoked and expired rows on purpose; queries are drawn by proptest, which
//! shrinks a failing one to its smallest form.

use std::sync::Arc;

use badges::app::App;
use badges::auth::{Principal, TokenKeys};
use badges::domain::FixedClock;
use badges::domain::admin::ExpiryRule;
use badges::domain::badge::{Badge, Claim, Image};
use badges::domain::cursor::Cursor;
use badges::domain::enums::{
    Action, BadgeStatus, BadgeType, EarnType, Operator, Owner, SortOn, SortOrder,
};
use badges::domain::list::{self, ListParams};
use badges::limits::Limits;
use badges::store::{
    NewApiClient, NewAward, NewCustomer, NewEnrolment, NewGroup, NewOrg, PoolSettings, Store,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::fixture::{DAY, HOUR, NOW, at};
use crate::common::{TestDb, backends};

const WORLDS: usize = 4;
const CASES: u32 = 600;
pub(crate) const CUSTOMERS: i64 = 6;
const NAMES: [&str; 6] = [
    "Gold",
    "gold star",
    "Silver 100%",
    "bronze_x",
    "ÉCLAT",
    "Plain",
];
const GROUPS: usize = 3;
const UNKNOWN_GROUP: &str = "ffffffffffffffffffffffff";

/// The id of group `i` of world `world`.
fn group_id(world: usize, i: usize) -> String {
    format!("{:020x}{i:02x}{world:02x}", 0xa)
}

/// A day offset from NOW, drawn from a few values so that ties happen.
fn offset(rng: &mut StdRng) -> i64 {
    const STEPS: [i64; 9] = [-30, -10, -3, -1, 0, 1, 3, 10, 30];
    STEPS[rng.random_range(0..STEPS.len())] * DAY + rng.random_range(0..3) * HOUR
}

fn owners(rng: &mut StdRng) -> Vec<Owner> {
    let mut out: Vec<Owner> = Owner::ALL
        .iter()
        .copied()
        .filter(|_| rng.random_bool(0.25))
        .collect();
    if out.is_empty() {
        out.push(Owner::Loyalty);
    }
    out
}

pub(crate) struct World {
    pub org: i32,
    pub principal: Principal,
    /// The ids of the org's badges.
    pub badges: Vec<String>,
}

/// One org of random badges, and customers with random awards and
/// enrolments, drawn from `seed`.
pub(crate) async fn build_world(store: &Store, seed: u64) -> World {
    let mut rng = StdRng::seed_from_u64(seed);
    let org = store
        .insert_org(NewOrg {
            name: format!("org-{seed}"),
            created_at: NOW,
        })
        .await
        .unwrap();
    let client_id = store
        .insert_api_client(NewApiClient {
            org_id: org,
            username: format!("client-{seed}"),
            secret_hash: "unused".into(),
            can_read: true,
            can_write: false,
            created_at: NOW,
        })
        .await
        .unwrap();
    for i in 0..GROUPS {
        store
            .insert_group(NewGroup {
                id: group_id(seed as usize, i),
                org_id: org,
                name: format!("group {i}"),
                rank: i as i32,
                created_at: NOW,
            })
            .await
            .unwrap();
    }
    let count = rng.random_range(4..40);
    let mut ids = Vec::new();
    for b in 0..count {
        let id = format!("{seed:04x}{b:020x}");
        let starts = offset(&mut rng);
        // Mostly a valid window, sometimes an empty or inverted one.
        let expires = if rng.random_bool(0.9) {
            starts + DAY * rng.random_range(1..60)
        } else {
            starts - DAY * rng.random_range(0..2)
        };
        let owners = owners(&mut rng);
        let claims = (0..rng.random_range(0..3))
            .map(|c| Claim {
                owner_type: owners[rng.random_range(0..owners.len())],
                reference_id: format!("ref-{c}"),
                is_active: rng.random_bool(0.6),
            })
            .collect();
        let group = rng
            .random_bool(0.6)
            .then(|| group_id(seed as usize, rng.random_range(0..GROUPS)));
        store
            .insert_badge(Badge {
                id: id.clone(),
                org_id: org,
                name: format!("{} {b}", NAMES[rng.random_range(0..NAMES.len())]),
                description: format!("badge {b}"),
                earn_type: if rng.random_bool(0.5) {
                    EarnType::Earn
                } else {
                    EarnType::IssueEarn
                },
                active: rng.random_bool(0.8),
                starts_on: at(starts),
                expires_on: at(expires),
                created_on: at(-40 * DAY),
                last_updated_on: at(offset(&mut rng).min(0)),
                rank: group.as_ref().map(|_| rng.random_range(0..3)),
                group_id: group,
                images: (0..rng.random_range(0..3))
                    .map(|i| Image {
                        name: format!("image {i}"),
                        file_svc_handle: format!("h-{i}"),
                        url: format!("https://img/{b}/{i}"),
                        tag: "EARNED".into(),
                    })
                    .collect(),
                owners,
                claims,
                earned_badge_expiry: ExpiryRule::Never,
                issued_badge_expiry: ExpiryRule::Never,
                created_by: None,
                last_updated_by: None,
                extras: Default::default(),
            })
            .await
            .unwrap();
        ids.push(id);
    }
    let mut award = 0u32;
    for customer in 1..=CUSTOMERS {
        store
            .insert_customer(NewCustomer {
                org_id: org,
                customer_id: customer,
                email: Some(format!("c{customer}@org{seed}.example")),
                ..Default::default()
            })
            .await
            .unwrap();
        if ids.is_empty() {
            continue;
        }
        for _ in 0..rng.random_range(0..14) {
            award += 1;
            let awarded = offset(&mut rng).min(0);
            store
                .insert_award(NewAward {
                    earned_badge_id: format!("{seed:04x}{award:020x}"),
                    org_id: org,
                    badge_id: ids[rng.random_range(0..ids.len())].clone(),
                    customer_id: customer,
                    awarded_at: at(awarded),
                    event_at: at(awarded - rng.random_range(0..2) * HOUR),
                    expires_at: rng
                        .random_bool(0.6)
                        .then(|| at(awarded + offset(&mut rng).abs())),
                    revoked: rng.random_bool(0.15),
                    request_id: None,
                    triggered_by: None,
                })
                .await
                .unwrap();
        }
        for _ in 0..rng.random_range(0..6) {
            let issued = offset(&mut rng).min(0);
            store
                .insert_enrolment(NewEnrolment {
                    issued_badge_id: format!("{:024x}", rng.random::<u64>()),
                    org_id: org,
                    badge_id: ids[rng.random_range(0..ids.len())].clone(),
                    customer_id: customer,
                    issued_at: at(issued),
                    expires_at: rng
                        .random_bool(0.5)
                        .then(|| at(issued + offset(&mut rng).abs())),
                    revoked: rng.random_bool(0.2),
                    request_id: None,
                    event_at: None,
                    triggered_by: None,
                })
                .await
                .unwrap();
        }
    }
    World {
        org,
        badges: ids,
        principal: Principal {
            org_id: org,
            client_id,
            generation: 1,
            can_read: true,
            can_write: false,
        },
    }
}

/// A query as a caller could send it (valid, or refused by both paths alike).
#[derive(Clone, Debug)]
struct Case {
    world: usize,
    params: ListParams,
    keyset: bool,
}

/// Mostly no filter; otherwise any of the values.
fn subset<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = Vec<T>> {
    prop_oneof![
        2 => Just(Vec::new()),
        1 => proptest::sample::subsequence(all.to_vec(), 1..=all.len()),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let customer = prop_oneof![
        (1..=CUSTOMERS + 1).prop_map(|c| (c.to_string(), None)),
        (1..=CUSTOMERS).prop_map(|c| (
            format!("C{c}@ORG{{seed}}.example"),
            Some(badges::domain::enums::IdentifierType::Email)
        )),
    ];
    let filters = (
        subset(BadgeType::ALL),
        subset(Action::ALL),
        subset(BadgeStatus::ALL),
        subset(Owner::ALL),
        subset(Owner::ALL),
        proptest::option::of(prop_oneof![
            Just("gold".to_string()),
            Just("%".to_string()),
            Just("_x".to_string()),
            Just("éclat".to_string()),
            Just("1".to_string()),
        ]),
        proptest::option::of((
            -40i64..40,
            proptest::option::of(prop_oneof![
                Just(Operator::LessThan),
                Just(Operator::GreaterThan)
            ]),
        )),
        proptest::option::of((
            -40i64..40,
            proptest::option::of(prop_oneof![
                Just(Operator::LessThan),
                Just(Operator::GreaterThan)
            ]),
        )),
        proptest::option::of(0usize..4),
    );
    let paging = (
        proptest::sample::select(SortOn::ALL),
        proptest::sample::select(SortOrder::ALL),
        1i64..12,
        0i64..3,
        any::<bool>(),
    );
    (0..WORLDS, customer, filters, paging).prop_map(
        |(world, (customer_id, identifier_type), f, (sort_on, order, size, page, keyset))| {
            let date =
                |d: Option<(i64, Option<Operator>)>| d.map(|(days, op)| (at(days * DAY), op));
            let start = date(f.6);
            let expires = date(f.7);
            Case {
                world,
                keyset,
                params: ListParams {
                    customer_id: customer_id.replace("{seed}", &world.to_string()),
                    identifier_type: Ok(identifier_type),
                    page: Ok((!keyset).then_some(page)),
                    size: Ok(Some(size)),
                    sort_on: Ok(Some(sort_on)),
                    order: Ok(Some(order)),
                    name: Ok(f.5),
                    badge_type: Ok(f.0),
                    action: Ok(f.1),
                    badge_status: Ok(f.2),
                    owner: Ok(f.3),
                    claimed_by: Ok(f.4),
                    start_on: Ok(start.map(|s| s.0)),
                    start_on_operator: Ok(start.and_then(|s| s.1)),
                    expires_on: Ok(expires.map(|e| e.0)),
                    expires_on_operator: Ok(expires.and_then(|e| e.1)),
                    group_id: Ok(f.8.map(|g| {
                        if g < GROUPS {
                            group_id(world, g)
                        } else {
                            UNKNOWN_GROUP.to_owned()
                        }
                    })),
                    page_token: Ok(keyset.then(String::new)),
                    unknown: Vec::new(),
                },
            }
        },
    )
}

/// Runs one case through both paths, page after page in keyset mode.
/// What a case compared: pages, and rows on them.
#[derive(Clone, Copy, Default)]
struct Compared {
    pages: usize,
    rows: usize,
}

async fn compare(
    app: &App,
    store: &Store,
    worlds: &[World],
    case: Case,
) -> Result<Compared, TestCaseError> {
    let world = &worlds[case.world];
    let mut params = case.params;
    let mut seen = Compared::default();
    loop {
        let in_memory = app
            .service
            .list_customer_badges(&world.principal, params.clone())
            .await
            .map(|reserved| reserved.answer);
        let Ok(q) = list::validate(params.clone()) else {
            prop_assert!(in_memory.is_err(), "refused by validation alone");
            return Ok(seen);
        };
        let reference = crate::reference::page(store.connection(), world.org, &q, NOW)
            .await
            .unwrap();
        match (&in_memory, &reference) {
            (Ok(a), Some(b)) => prop_assert_eq!(a, b, "{:?}", q),
            (Err(badges::error::Error::NotFound(_)), None) => return Ok(seen),
            (a, b) => prop_assert!(false, "{a:?} against {b:?} for {q:?}"),
        }
        let page = in_memory.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        seen.pages += 1;
        seen.rows += page.rows.len();
        match page.next_page_token {
            Some(token) if case.keyset && seen.pages < 40 => {
                prop_assert!(Cursor::decode(&token).is_some());
                params.page_token = Ok(Some(token));
            }
            _ => return Ok(seen),
        }
    }
}

#[test]
fn the_in_memory_path_answers_as_the_sql_path_did() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for backend in backends() {
        let (db, store, app, worlds) = rt.block_on(async {
            let db = TestDb::new(backend).await;
            badges::store::migrate(&db.database_url(), &PoolSettings::default())
                .await
                .unwrap();
            let store = db.connect(&PoolSettings::default()).await;
            let mut worlds = Vec::new();
            for seed in 0..WORLDS as u64 {
                worlds.push(build_world(&store, seed).await);
            }
            // A small cache, so that orgs are evicted and reloaded too.
            let limits = Limits {
                catalogue_cache_bytes: 40_000,
                ..Limits::DEFAULT
            };
            let app = App::new(
                store.clone(),
                Arc::new(FixedClock(NOW)),
                TokenKeys::random(60),
                &limits,
            );
            (db, store, app, worlds)
        });
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        let total = std::cell::Cell::new(Compared::default());
        runner
            .run(&case(), |c| {
                let seen = rt.block_on(compare(&app, &store, &worlds, c))?;
                let t = total.get();
                total.set(Compared {
                    pages: t.pages + seen.pages,
                    rows: t.rows + seen.rows,
                });
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        let t = total.get();
        eprintln!(
            "{backend:?}: {CASES} random queries, {} pages of {} rows, equal on both paths",
            t.pages, t.rows
        );
        rt.block_on(async {
            store.close().await.ok();
            db.cleanup().await;
        });
    }
}
