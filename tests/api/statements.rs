//! What a list call costs the database, counted over real calls through the
//! server: once the client, the org's index and the page's rows are warm,
//! one statement, whatever the page's size or depth (the customer's state,
//! which also re-checks the client's generation and reads the org's
//! catalogue version). A client's first call also reads its row; a call that
//! finds the org's index cold or changed also loads it: one statement when
//! the org's snapshot is current (every write through the API carries it),
//! else seven (the snapshot's, five building the index in one transaction,
//! and the snapshot written again); a page showing badges whose rows are not
//! cached, or changed, reads those rows by key (four statements, in one
//! transaction).
//! Calls for a cold org at once load it once. A detail call costs the same
//! one statement, with or without the customer's history.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use badges::domain::admin::ExpiryRule;
use badges::domain::badge::Badge;
use badges::limits::Limits;
use badges::server::ServeOptions;
use badges::store::{PoolSettings, Store};

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TestDb, TestServer, backends, metric};

/// A server over the fixture whose statements are counted (the readiness
/// probe's ping aside).
async fn counted(
    backend: crate::common::Backend,
    limits: Limits,
) -> (TestServer, Arc<AtomicUsize>, World) {
    let db = TestDb::new(backend).await;
    badges::store::migrate(&db.database_url(), &PoolSettings::default())
        .await
        .unwrap();
    let store = Store::connect(&db.database_url(), &PoolSettings::default())
        .await
        .unwrap();
    let check = db.checked.observer(db.backend);
    let world = load(&store).await;
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let store = store.observe_statements(move |sql| {
        check(sql);
        if sql != "SELECT 1" {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let server = TestServer::serve(store, db, NOW, limits, ServeOptions::DEFAULT).await;
    (server, count, world)
}

/// The statement count once it has stopped moving (a call may leave a
/// snapshot write running after it answers): unchanged for 100 ms, within
/// 5 s.
async fn settled(count: &AtomicUsize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut last = count.load(Ordering::Relaxed);
    let mut still = std::time::Instant::now();
    while still.elapsed() < std::time::Duration::from_millis(100)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let now = count.load(Ordering::Relaxed);
        if now != last {
            (last, still) = (now, std::time::Instant::now());
        }
    }
    last
}

async fn page(http: &reqwest::Client, server: &TestServer, size: i64, page: i64) -> usize {
    let answer: serde_json::Value = http
        .get(format!(
            "http://{}/api_gateway/v1/badges/management/{CUSTOMER}\
             ?badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size={size}&page={page}",
            server.addr
        ))
        .header("authorization", basic(READER))
        .checked()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"]["customerBadges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .len()
}

#[tokio::test]
async fn a_warm_call_costs_one_statement_whatever_its_page() {
    for backend in backends() {
        let (server, count, world) = counted(backend, Limits::DEFAULT).await;
        let http = reqwest::Client::new();
        let mut costs = Vec::new();
        for (size, p) in [(1, 0), (1, 0), (3, 1), (100, 0), (8, 0), (3, 1), (2, 50)] {
            let before = settled(&count).await;
            let rows = page(&http, &server, size, p).await;
            costs.push((size, p, rows, settled(&count).await - before));
        }
        eprintln!("{backend:?}: (size, page, rows, statements) = {costs:?}");
        assert_eq!(
            costs[0].3, 13,
            "{backend:?}: a cold call: the client row, the customer's state, the index \
             (its snapshot, not there yet: built (5) and written), the page's rows (4)"
        );
        assert_eq!(costs[1].3, 1, "{backend:?}: the same page again: {costs:?}");
        assert_eq!(
            [costs[2].3, costs[3].3],
            [5, 5],
            "{backend:?}: pages of badges not shown yet read their rows: {costs:?}"
        );
        for c in &costs[4..] {
            assert_eq!(c.3, 1, "{backend:?}: a warm call: {costs:?}");
        }
        assert_eq!(
            (costs[4].2, costs[6].2),
            (8, 0),
            "a full page and one past the end"
        );

        // A change to the catalogue: the next call reloads it, then one again.
        server
            .store
            .insert_badge(plain_badge(
                world.org_a,
                "0000000000000000000000c1".into(),
                "Added".into(),
            ))
            .await
            .unwrap();
        let before = settled(&count).await;
        assert_eq!(
            page(&http, &server, 100, 0).await,
            9,
            "the new badge is listed"
        );
        let after_change = settled(&count).await - before;
        let before = settled(&count).await;
        page(&http, &server, 100, 0).await;
        let warm_again = settled(&count).await - before;
        eprintln!("{backend:?}: after a catalogue change {after_change}, then {warm_again}");
        assert_eq!(
            (after_change, warm_again),
            (12, 1),
            "{backend:?}: the state, the index (its snapshot, behind the seed's change: \
             built (5) and written), the new badge's row (4); then the state"
        );

        // A change through the API carries the snapshot: the next call reads
        // it, and the changed badge's row, by key.
        let status = http
            .put(format!(
                "http://{}/api_gateway/v1/badges/badgeMeta/0000000000000000000000c1/deactivate",
                server.addr
            ))
            .header("authorization", basic(WRITER_ONLY))
            .checked()
            .await
            .unwrap()
            .status();
        assert_eq!(status, reqwest::StatusCode::OK);
        let before = settled(&count).await;
        page(&http, &server, 100, 0).await;
        let after_api_change = settled(&count).await - before;
        eprintln!("{backend:?}: after a change through the API {after_api_change}");
        assert_eq!(
            after_api_change, 6,
            "{backend:?}: the state, the index's snapshot, the changed badge's row (4)"
        );

        // The detail call: the same one statement, whatever the history's length.
        let mut detail_costs = Vec::new();
        for query in ["", "?includeStatistics=true"] {
            for badge in [B2, B4, B1] {
                let before = settled(&count).await;
                let status = http
                    .get(format!(
                        "http://{}/api_gateway/v1/badges/management/{CUSTOMER}/badge/{badge}{query}",
                        server.addr
                    ))
                    .header("authorization", basic(READER))
                    .checked()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, reqwest::StatusCode::OK);
                detail_costs.push(settled(&count).await - before);
            }
        }
        eprintln!(
            "{backend:?}: detail calls (B2, B4, B1; plain, then with history): {detail_costs:?}"
        );
        assert_eq!(detail_costs, [1; 6], "{backend:?}");
        server.stop().await.unwrap();
    }
}

/// An active EARN badge, live around NOW, with no images, owners or claims.
fn plain_badge(org_id: i32, id: String, name: String) -> Badge {
    Badge {
        id,
        name,
        description: String::new(),
        earn_type: badges::domain::enums::EarnType::Earn,
        active: true,
        starts_on: at(-DAY),
        expires_on: at(DAY),
        created_on: NOW,
        last_updated_on: NOW,
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
        org_id,
    }
}

#[tokio::test]
async fn calls_for_a_cold_org_at_once_load_its_catalogue_once() {
    for backend in backends() {
        // Whether the calls overlap the load is up to the scheduler: up to
        // three tries, each on a fresh (cold) server, until they do.
        let mut overlapped = false;
        for _ in 0..3 {
            let roomy = Limits {
                max_in_flight: Some(64),
                max_in_flight_per_client: Some(64),
                ..Limits::DEFAULT
            };
            let (server, _, world) = counted(backend, roomy).await;
            // A catalogue large enough that its load takes a while, so that the
            // calls below find it loading.
            for i in 0..1000 {
                server
                    .store
                    .insert_badge(plain_badge(
                        world.org_a,
                        format!("{:024x}", 0xd000 + i),
                        format!("bulk {i}"),
                    ))
                    .await
                    .unwrap();
            }
            let http = reqwest::Client::new();
            // Warm the client's row first, so the calls race only for the catalogue.
            let token = crate::common::oauth_token(
                &http,
                &format!("http://{}", server.addr),
                READER.0,
                READER.1,
            )
            .await;
            let calls: Vec<_> = (0..32)
                .map(|_| {
                    let (http, url, token) = (
                        http.clone(),
                        format!(
                            "http://{}/api_gateway/v1/badges/management/{CUSTOMER}",
                            server.addr
                        ),
                        token.clone(),
                    );
                    tokio::spawn(async move {
                        http.get(url)
                            .bearer_auth(token)
                            .checked()
                            .await
                            .unwrap()
                            .status()
                    })
                })
                .collect();
            for c in calls {
                assert_eq!(c.await.unwrap(), reqwest::StatusCode::OK);
            }
            let text = reqwest::Client::new()
                .get(format!("http://{}/metrics", server.addr))
                .checked()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let (reloads, misses, hits) = (
                metric(&text, "badges_catalogue_reloads_total"),
                metric(&text, "badges_catalogue_misses_total"),
                metric(&text, "badges_catalogue_hits_total"),
            );
            eprintln!(
                "{backend:?}: 32 cold calls at once: {reloads} load, {misses} misses, {hits} hits"
            );
            assert_eq!(reloads, 1.0, "{backend:?}: one load for 32 calls");
            assert_eq!(misses + hits, 32.0);
            server.stop().await.unwrap();
            if misses > 1.0 {
                overlapped = true;
                break;
            }
        }
        assert!(
            overlapped,
            "{backend:?}: calls found the catalogue loading (in three tries)"
        );
    }
}

/// A writer that moves the catalogue without carrying its snapshot (the
/// previous release during a rolling upgrade, which knows nothing of
/// snapshots and sets `last_updated_on` from its own clock) is seen by the
/// next call: the snapshot is behind the org's version, so the index is
/// rebuilt, and the changed badge's row is read again.
#[tokio::test]
async fn a_writer_that_does_not_carry_the_snapshot_is_seen() {
    use sea_orm::ConnectionTrait;
    for backend in backends() {
        let (server, count, world) = counted(backend, Limits::DEFAULT).await;
        let http = reqwest::Client::new();
        let active_of = |answer: serde_json::Value, id: &str| {
            answer["data"]["customerBadges"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["badgeMetaId"] == id)
                .map(|b| b["active"].clone())
        };
        let list = || async {
            http.get(format!(
                "http://{}/api_gateway/v1/badges/management/{CUSTOMER}\
                 ?badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size=100",
                server.addr
            ))
            .header("authorization", basic(READER))
            .checked()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
        };
        let was = active_of(list().await, B2)
            .and_then(|a| a.as_bool())
            .unwrap();
        // What the previous release's (de)activation wrote: the badge, with its
        // own clock's time (here one behind what the row had), and the
        // version; no snapshot.
        let db = server.store.connection();
        for sql in [
            format!(
                "UPDATE badges SET active = {}, last_updated_on = last_updated_on - 1 \
                 WHERE id = '{B2}'",
                if was { "FALSE" } else { "TRUE" }
            ),
            format!(
                "UPDATE orgs SET catalogue_version = catalogue_version + 1 WHERE id = {}",
                world.org_a
            ),
        ] {
            db.execute_unprepared(&sql).await.unwrap();
        }
        let before = settled(&count).await;
        assert_eq!(
            active_of(list().await, B2),
            Some(serde_json::json!(!was)),
            "{backend:?}: the change is in the next answer"
        );
        let statements = settled(&count).await - before;
        assert_eq!(
            statements, 12,
            "{backend:?}: the state, the stale snapshot, the index built (5) and written, \
             the changed row (4)"
        );
        server.stop().await.unwrap();
    }
}
