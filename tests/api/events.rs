//! Events on NATS JetStream (BEHAVIOUR.md §8), against the real NATS named by
//! `BADGES_TEST_NATS_URL`, each test with a stream and subject prefix of its
//! own: every write's events and nothing else; no event lost or duplicated
//! when the process is killed right after commits; writes going on while NATS
//! is cut off, their events following in order; one BadgeAwardExpired per
//! award with two processes sweeping.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use badges::auth::hash_secret;
use badges::domain::events::EventKind;
use badges::proto;
use badges::store::{NewApiClient, NewOrg};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::common::fixture::*;
use crate::common::nats::{Received, TestStream};
use crate::common::openapi::Checked;
use crate::common::{Backend, Binary, TestDb, TestServer, backends, cli, metric, since_epoch};

const WRITER: (&str, &str) = ("events-writer", "events-writer-secret");

/// A REST caller with the writer's Basic credentials.
struct Caller {
    http: reqwest::Client,
    base: String,
    creds: (String, String),
}

impl Caller {
    fn new(base: String, creds: (&str, &str)) -> Self {
        Caller {
            http: reqwest::Client::new(),
            base,
            creds: (creds.0.to_owned(), creds.1.to_owned()),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, format!("{}/api_gateway/v1/badges{path}", self.base))
            .header("authorization", basic((&self.creds.0, &self.creds.1)))
            .header("X-CAP-BADGES-MIGRATION", "migration")
            .json(&body)
            .checked()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, body).await
    }

    /// A new badge; its id.
    async fn badge(
        &self,
        name: &str,
        earn_type: &str,
        window: (i64, i64),
        expiry: Value,
    ) -> String {
        let (s, b) = self
            .post(
                "/badgeMeta",
                json!({"name": name, "description": "", "earnType": earn_type,
                       "startOn": window.0, "expiresOn": window.1, "active": true,
                       "ownership": {"restrictedToOwners": ["Journeys", "Loyalty"]},
                       "earnedBadgeExpiry": expiry}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["data"]["id"].as_str().unwrap().to_owned()
    }

    async fn customer(&self, id: i64, email: &str) {
        let (s, b) = self
            .put("/customers", json!({"customerId": id, "email": email}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
}

/// Waits (at most 30 s) until the server's outbox holds no unpublished
/// event: from then on nothing is published but what new writes record.
async fn outbox_drained(base: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metric(&text, "badges_outbox_pending_events") == 0.0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox was not drained within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seconds since the epoch of an instant `offset` µs from NOW.
fn secs(offset: i64) -> i64 {
    (NOW.0 + offset) / 1_000_000
}

fn ts_micros(t: Option<prost_types::Timestamp>) -> Option<i64> {
    t.map(|t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000)
}

async fn writer_org(server: &TestServer) -> i32 {
    let org = server
        .store
        .insert_org(NewOrg {
            name: "events".into(),
            created_at: NOW,
        })
        .await
        .unwrap();
    server
        .store
        .insert_api_client(NewApiClient {
            org_id: org,
            username: WRITER.0.into(),
            secret_hash: hash_secret(WRITER.1).unwrap(),
            can_read: true,
            can_write: true,
            created_at: NOW,
        })
        .await
        .unwrap();
    org
}

#[tokio::test]
async fn every_write_produces_exactly_its_events_in_order() {
    let Some(stream) = TestStream::new_or_skip("events").await else {
        return;
    };
    for backend in backends() {
        let server = TestServer::start_with_events(backend, NOW, stream.config()).await;
        let org = writer_org(&server).await;
        let before = stream.count().await;
        let w = Caller::new(format!("http://{}", server.addr), WRITER);

        // A group causes no event; each badge created and the claim, a
        // BadgeDefinitionChanged.
        let (s, _) = w.post("/group", json!({"name": "G", "rank": 1})).await;
        assert_eq!(s, StatusCode::OK);
        let enrol_badge = w
            .badge(
                "Enrol",
                "ISSUE_EARN",
                (secs(-DAY), secs(30 * DAY)),
                json!({"expiryType": "RELATIVE", "relativeExpiryType": "DAYS", "value": 30}),
            )
            .await;
        let direct = w
            .badge(
                "Direct",
                "EARN",
                (secs(-DAY), secs(30 * DAY)),
                json!({"expiryType": "NEVER"}),
            )
            .await;
        // The journey that will trigger the earn claims its badge.
        let (s, _) = w
            .post(
                &format!("/badgeMeta/{enrol_badge}/claim"),
                json!({"ownerType": "Journeys", "referenceId": "j-1"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        w.customer(1, "one@example.com").await;
        w.customer(2, "two@example.com").await;

        // Enrol 1 and 2 (999 does not exist): two events; its replay none.
        let enrol =
            json!({"badgeMetaId": enrol_badge, "customers": [1, 2, 999], "requestId": "enrol-1"});
        let (s, enrolled) = w.post("/badgeMeta/customer/issueBulk", enrol.clone()).await;
        assert_eq!(s, StatusCode::OK, "{enrolled}");
        let (s, _) = w.post("/badgeMeta/customer/issueBulk", enrol).await;
        assert_eq!(s, StatusCode::OK);
        // A failed write: enrolling into a direct-issue badge.
        let (s, _) = w
            .post(
                "/badgeMeta/customer/issueBulk",
                json!({"badgeMetaId": direct, "customers": [1]}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // Earn (and its replay), a failed earn, an earn of the other badge.
        let earn = json!({"badgeMetaId": enrol_badge, "customerId": 1, "requestId": "earn-1",
                          "triggeredBy": {"ownerType": "Journeys", "referenceId": "j-1"}});
        let (s, earned) = w.post("/customer/earn", earn.clone()).await;
        assert_eq!(s, StatusCode::OK, "{earned}");
        let (s, replayed) = w.post("/customer/earn", earn).await;
        assert_eq!((s, &replayed), (StatusCode::OK, &earned));
        let (s, _) = w
            .post(
                "/customer/earn",
                json!({"badgeMetaId": enrol_badge, "customerId": 3}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, earned_direct) = w
            .post(
                "/customer/earn",
                json!({"badgeMetaId": direct, "customerId": 2, "earnEventDate": secs(-HOUR)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let award = earned["data"]["earnedBadgeId"].as_str().unwrap().to_owned();

        // Revoke, and a revoke of nothing.
        let revoke = json!({"badgeMetaId": enrol_badge, "customerId": 1, "earnedBadgeId": award});
        let (s, _) = w.post("/customer/revokeEarn", revoke.clone()).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = w.post("/customer/revokeEarn", revoke).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // Deactivate, deactivate again (no change), activate.
        for (verb, status) in [("deactivate", 200), ("deactivate", 200), ("activate", 200)] {
            let (s, _) = w
                .put(&format!("/badgeMeta/{direct}/{verb}"), json!({}))
                .await;
            assert_eq!(s.as_u16(), status);
        }

        // Import: one item lands, one fails.
        let (s, imported) = w
            .put(
                "/import/customerBadges",
                json!([{"badgeMetaId": direct, "customerId": 1, "earnEventDate": secs(-2 * HOUR),
                        "earnExpiresOn": secs(DAY)},
                       {"badgeMetaId": direct, "customerId": 999, "earnEventDate": secs(-2 * HOUR)}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{imported}");

        const EXPECTED: usize = 11;
        let count = stream
            .wait_for(before + EXPECTED as u64, Duration::from_secs(20))
            .await;
        assert_eq!(count, before + EXPECTED as u64, "{backend:?}");
        // Nothing more follows: once the outbox is empty, nothing is left
        // to publish.
        outbox_drained(&w.base).await;
        assert_eq!(
            stream.count().await,
            before + EXPECTED as u64,
            "{backend:?}"
        );

        let all = stream.messages().await;
        let events: Vec<&Received> = all[before as usize..].iter().collect();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        use EventKind::*;
        assert_eq!(
            kinds,
            [
                BadgeDefinitionChanged,
                BadgeDefinitionChanged,
                BadgeDefinitionChanged,
                CustomerEnrolled,
                CustomerEnrolled,
                BadgeEarned,
                BadgeEarned,
                BadgeEarnRevoked,
                BadgeActivationChanged,
                BadgeActivationChanged,
                BadgeEarned,
            ],
            "{backend:?}"
        );
        use proto::badge_definition_changed::Change;
        let defined: Vec<proto::BadgeDefinitionChanged> =
            events[..3].iter().map(|e| e.decode()).collect();
        let seen: Vec<(&str, i32, bool)> = defined
            .iter()
            .map(|d| (d.badge_id.as_str(), d.change, d.claim.is_some()))
            .collect();
        assert_eq!(
            seen,
            [
                (enrol_badge.as_str(), Change::Created as i32, false),
                (direct.as_str(), Change::Created as i32, false),
                (enrol_badge.as_str(), Change::Claimed as i32, true),
            ],
            "{backend:?}"
        );
        assert_eq!(defined[2].claim.as_ref().unwrap().reference_id, "j-1");
        assert_eq!(
            events[0].headers["ce-subject"],
            format!("badges/{enrol_badge}")
        );
        let mut ids = HashSet::new();
        for e in &events {
            let h = &e.headers;
            assert_eq!(
                e.subject,
                format!("{}.{org}.{}", stream.prefix, e.kind.subject_token())
            );
            assert_eq!(h["ce-specversion"], "1.0");
            assert_eq!(h["ce-type"], e.kind.type_name());
            assert_eq!(h["ce-source"], format!("/badges/orgs/{org}"));
            assert_eq!(h["Nats-Msg-Id"], h["ce-id"]);
            assert_eq!(h["content-type"], "application/protobuf");
            assert!(ids.insert(e.id().to_owned()), "event ids are unique");
            // No identifier but the numeric id: the customers' emails never appear.
            let text = String::from_utf8_lossy(&e.payload);
            assert!(!text.contains("@example.com"), "{text}");
        }

        // The customers' events, in the order of their writes.
        let events = &events[3..];
        let enrolled: Vec<proto::CustomerEnrolled> =
            events[..2].iter().map(|e| e.decode()).collect();
        for (e, customer) in enrolled.iter().zip([1, 2]) {
            assert_eq!(
                (e.org_id, e.customer_id, e.badge_id.as_str()),
                (org, customer, enrol_badge.as_str())
            );
            assert_eq!(e.issued_badge_id.len(), 24);
            assert_eq!(ts_micros(e.recorded_at), Some(NOW.0));
            assert_eq!(e.event_id, events[(customer - 1) as usize].id());
            assert_eq!(
                events[(customer - 1) as usize].headers["ce-subject"],
                format!("customers/{customer}/badges/{enrol_badge}")
            );
        }
        let e: proto::BadgeEarned = events[2].decode();
        assert_eq!(
            (
                e.customer_id,
                e.badge_id.as_str(),
                e.earned_badge_id.as_str()
            ),
            (1, enrol_badge.as_str(), award.as_str())
        );
        assert_eq!(ts_micros(e.occurred_at), Some(NOW.0));
        assert_eq!(ts_micros(e.expires_on), Some(NOW.0 + 30 * DAY));
        let t = e.triggered_by.unwrap();
        assert_eq!(
            (t.owner_type, t.reference_id.as_str()),
            (proto::Owner::Journeys as i32, "j-1")
        );
        let e: proto::BadgeEarned = events[3].decode();
        assert_eq!(
            e.earned_badge_id,
            earned_direct["data"]["earnedBadgeId"].as_str().unwrap()
        );
        assert_eq!(
            ts_micros(e.occurred_at),
            Some(NOW.0 - HOUR),
            "the earn event's time"
        );
        assert_eq!(e.expires_on, None);
        let e: proto::BadgeEarnRevoked = events[4].decode();
        assert_eq!(
            (e.customer_id, e.earned_badge_id.as_str()),
            (1, award.as_str())
        );
        let a: Vec<proto::BadgeActivationChanged> =
            events[5..7].iter().map(|e| e.decode()).collect();
        assert_eq!(
            a.iter()
                .map(|a| (a.badge_id.as_str(), a.active))
                .collect::<Vec<_>>(),
            [(direct.as_str(), false), (direct.as_str(), true)]
        );
        assert_eq!(events[5].headers["ce-subject"], format!("badges/{direct}"));
        let e: proto::BadgeEarned = events[7].decode();
        assert_eq!(
            e.earned_badge_id,
            imported[0]["data"]["earnedBadgeId"].as_str().unwrap()
        );
        assert_eq!(ts_micros(e.occurred_at), Some(NOW.0 - 2 * HOUR));
        assert_eq!(ts_micros(e.expires_on), Some(NOW.0 + DAY));
        assert_eq!(
            e.triggered_by.map(|t| (t.owner_type, t.reference_id)),
            Some((proto::Owner::HistoricalImport as i32, String::new()))
        );

        let text = reqwest::get(format!("http://{}/metrics", server.addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(metric(&text, "badges_outbox_pending_events"), 0.0);
        assert!(metric(&text, "badges_events_published_total") >= EXPECTED as f64);
        server.stop().await.unwrap();
    }
    stream.cleanup().await;
}

/// Sets up an org with a writer, a direct badge and `customers` customers
/// through the real binary's command line and REST; the badge's id.
async fn binary_world(db: &TestDb, base: &str, customers: i64) -> (String, (String, String)) {
    let org = cli(&db.url, &["org", "create", "--name", "events"]);
    let client = cli(
        &db.url,
        &[
            "client",
            "create",
            "--org",
            &org["orgId"].to_string(),
            "--username",
            WRITER.0,
            "--rights",
            "read,write",
        ],
    );
    let creds = (
        WRITER.0.to_owned(),
        client["secret"].as_str().unwrap().to_owned(),
    );
    let w = Caller::new(base.to_owned(), (&creds.0, &creds.1));
    let now = since_epoch().as_secs() as i64;
    let badge = w
        .badge(
            "Crash",
            "EARN",
            (now - 86_400, now + 86_400 * 30),
            json!({"expiryType": "NEVER"}),
        )
        .await;
    for c in 1..=customers {
        w.customer(c, &format!("c{c}@example.com")).await;
    }
    (badge, creds)
}

/// The real binary's environment: the test's stream and database.
fn binary_env(stream: &TestStream, db: &TestDb) -> Vec<(&'static str, String)> {
    let mut env = stream.env();
    env.push(("BADGES_DATABASE_URL", db.url.clone()));
    env
}

fn binary_args(backend: Backend) -> Vec<&'static str> {
    match backend {
        Backend::Postgres => vec!["--migrate"],
        Backend::Sqlite => vec![],
    }
}

#[tokio::test]
async fn a_process_killed_after_commits_loses_and_duplicates_no_event() {
    let Some(stream) = TestStream::new_or_skip("events crash").await else {
        return;
    };
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = binary_env(&stream, &db);
        let args = binary_args(backend);
        let first = Binary::spawn(&args, &env, &dir.path().join("first.log")).await;
        let (badge, creds) = binary_world(&db, &first.base, 10).await;
        let base = Arc::new(RwLock::new(first.base.clone()));
        let acked = Arc::new(AtomicUsize::new(0));

        const WRITERS: usize = 8;
        const EACH: usize = 25;
        let mut tasks: Vec<JoinHandle<Vec<String>>> = Vec::new();
        for w in 0..WRITERS {
            let (base, acked, badge, creds) =
                (base.clone(), acked.clone(), badge.clone(), creds.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut mine = Vec::new();
                for i in 0..EACH {
                    let body = json!({"badgeMetaId": badge, "customerId": (w % 10 + 1) as i64, "requestId": format!("crash-{w}-{i}")});
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        assert!(tries < 600, "an earn never succeeded");
                        let url = format!("{}/api_gateway/v1/badges/customer/earn", base.read().unwrap());
                        let r = http
                            .post(url)
                            .header("authorization", basic((&creds.0, &creds.1)))
                            .json(&body)
                            .timeout(Duration::from_secs(5))
                            .send()
                            .await;
                        if let Ok(r) = r
                            && r.status() == StatusCode::OK
                        {
                            let v: Value = r.json().await.unwrap();
                            mine.push(v["data"]["earnedBadgeId"].as_str().unwrap().to_owned());
                            acked.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                mine
            }));
        }
        // Kill it with SIGKILL mid-run, then start it again on the same database.
        while acked.load(Ordering::Relaxed) < 60 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let killed_at = acked.load(Ordering::Relaxed);
        drop(first);
        let second = Binary::spawn(&args, &env, &dir.path().join("second.log")).await;
        *base.write().unwrap() = second.base.clone();

        let mut earned = Vec::new();
        for t in tasks {
            earned.extend(t.await.unwrap());
        }
        assert_eq!(earned.len(), WRITERS * EACH);
        let count = stream
            .wait_for(WRITERS as u64 * EACH as u64, Duration::from_secs(30))
            .await;
        // Anything republished has arrived once the outbox is empty.
        outbox_drained(&second.base).await;
        let messages = stream.messages().await;
        let mut by_award: HashMap<String, Vec<String>> = HashMap::new();
        for m in messages.iter().filter(|m| m.kind == EventKind::BadgeEarned) {
            let e: proto::BadgeEarned = m.decode();
            by_award
                .entry(e.earned_badge_id)
                .or_default()
                .push(e.event_id);
        }
        let lost = earned.iter().filter(|a| !by_award.contains_key(*a)).count();
        let raw_duplicates: usize = by_award.values().map(|ids| ids.len() - 1).sum();
        let distinct_ids: HashSet<&String> = by_award.values().flatten().collect();
        eprintln!(
            "{backend:?}: SIGKILL after {killed_at} of {} acknowledged earns: {} BadgeEarned in the stream ({count} messages), {lost} lost, {raw_duplicates} duplicated",
            earned.len(),
            by_award.len()
        );
        assert_eq!(
            lost, 0,
            "{backend:?}: every acknowledged award has its event"
        );
        assert_eq!(
            by_award.len(),
            earned.len(),
            "{backend:?}: no event of an award that was not acknowledged"
        );
        assert_eq!(
            distinct_ids.len(),
            earned.len(),
            "{backend:?}: one event id per award"
        );
        assert_eq!(
            raw_duplicates, 0,
            "{backend:?}: JetStream dropped every republished event"
        );
        let text = second.metrics().await;
        eprintln!(
            "{backend:?}: the restarted process published {} events, {} of them dropped by JetStream as duplicates",
            metric(&text, "badges_events_published_total"),
            metric(&text, "badges_events_duplicates_dropped_total")
        );
        assert_eq!(metric(&text, "badges_outbox_pending_events"), 0.0);
        drop(second);
        db.cleanup().await;
        stream.purge().await;
    }
    stream.cleanup().await;
}

/// An earn for many killed mid-call (SIGKILL of the real binary, then a
/// restart on the same database, and every call retried with its
/// requestId) leaves each call's awards all or none: every call holds
/// exactly one award per customer, and the stream exactly their events.
#[tokio::test]
async fn an_earn_for_many_killed_mid_call_writes_all_or_none() {
    let Some(stream) = TestStream::new_or_skip("events bulk crash").await else {
        return;
    };
    const CUSTOMERS: i64 = 40;
    const WRITERS: usize = 4;
    const EACH: usize = 8;
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = binary_env(&stream, &db);
        let args = binary_args(backend);
        let first = Binary::spawn(&args, &env, &dir.path().join("first.log")).await;
        let (badge, creds) = binary_world(&db, &first.base, CUSTOMERS).await;
        let base = Arc::new(RwLock::new(first.base.clone()));
        let acked = Arc::new(AtomicUsize::new(0));
        // Each writer's calls: the requestId and the awards it answered.
        type Calls = Vec<(String, Vec<String>)>;
        let mut tasks: Vec<JoinHandle<Calls>> = Vec::new();
        for w in 0..WRITERS {
            let (base, acked, badge, creds) =
                (base.clone(), acked.clone(), badge.clone(), creds.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut mine = Vec::new();
                for i in 0..EACH {
                    let request_id = format!("bulk-{w}-{i}");
                    let body = json!({"badgeMetaId": badge, "customerIds": (1..=CUSTOMERS).collect::<Vec<_>>(),
                                      "requestId": request_id});
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        assert!(tries < 600, "an earn for many never succeeded");
                        let url = format!("{}/api_gateway/v1/badges/customer/earnBulk", base.read().unwrap());
                        let r = http
                            .post(url)
                            .header("authorization", basic((&creds.0, &creds.1)))
                            .json(&body)
                            .timeout(Duration::from_secs(5))
                            .send()
                            .await;
                        if let Ok(r) = r
                            && r.status() == StatusCode::OK
                        {
                            let v: Value = r.json().await.unwrap();
                            let awards: Vec<String> = v["data"]["earnedBadges"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .filter_map(|i| i["earnedBadgeId"].as_str().map(str::to_owned))
                                .collect();
                            mine.push((request_id.clone(), awards));
                            acked.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                mine
            }));
        }
        while acked.load(Ordering::Relaxed) < 6 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let killed_at = acked.load(Ordering::Relaxed);
        drop(first);
        let second = Binary::spawn(&args, &env, &dir.path().join("second.log")).await;
        *base.write().unwrap() = second.base.clone();

        let mut calls = Vec::new();
        for t in tasks {
            calls.extend(t.await.unwrap());
        }
        assert_eq!(calls.len(), WRITERS * EACH);
        for (request_id, awards) in &calls {
            assert_eq!(
                awards.len(),
                CUSTOMERS as usize,
                "{backend:?} {request_id}: every customer awarded"
            );
        }
        // The database: each call's awards, all of them, once.
        use sea_orm::ConnectionTrait as _;
        let conn = sea_orm::Database::connect(db.url.as_str()).await.unwrap();
        let rows = conn
            .query_all_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT request_id, COUNT(*) AS n FROM awards WHERE request_id LIKE 'bulk-%' GROUP BY request_id",
            ))
            .await
            .unwrap();
        let stored: HashMap<String, i64> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "request_id").unwrap(),
                    r.try_get("", "n").unwrap(),
                )
            })
            .collect();
        assert_eq!(stored.len(), calls.len(), "{backend:?}: every call stored");
        assert!(
            stored.values().all(|n| *n == CUSTOMERS),
            "{backend:?}: a call's awards all or none: {stored:?}"
        );
        // The stream: exactly the acknowledged awards' events, once each.
        let expected: HashSet<String> = calls.iter().flat_map(|(_, a)| a.clone()).collect();
        assert_eq!(expected.len(), WRITERS * EACH * CUSTOMERS as usize);
        stream
            .wait_for(expected.len() as u64, Duration::from_secs(60))
            .await;
        outbox_drained(&second.base).await;
        let mut earned: HashMap<String, usize> = HashMap::new();
        for m in stream
            .messages()
            .await
            .iter()
            .filter(|m| m.kind == EventKind::BadgeEarned)
        {
            let e: proto::BadgeEarned = m.decode();
            *earned.entry(e.earned_badge_id).or_default() += 1;
        }
        let events: HashSet<String> = earned.keys().cloned().collect();
        eprintln!(
            "{backend:?}: SIGKILL after {killed_at} of {} acknowledged earns for many: {} awards stored, {} events",
            calls.len(),
            stored.values().sum::<i64>(),
            earned.values().sum::<usize>()
        );
        assert_eq!(events, expected, "{backend:?}: the events are the awards'");
        assert!(
            earned.values().all(|n| *n == 1),
            "{backend:?}: one event per award"
        );
        drop(second);
        db.cleanup().await;
        stream.purge().await;
    }
    stream.cleanup().await;
}

/// A TCP proxy in front of NATS that the test can cut and restore.
struct Proxy {
    port: u16,
    upstream: String,
    task: Option<JoinHandle<()>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = upstream.trim_start_matches("nats://").to_owned();
        let mut p = Proxy {
            port,
            upstream: host,
            task: None,
            links: Arc::new(Mutex::new(Vec::new())),
        };
        p.restore().await;
        p
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Accepts connections again.
    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let (upstream, links) = (self.upstream.clone(), self.links.clone());
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links.lock().unwrap().push(link);
            }
        }));
    }

    /// Closes every connection and refuses new ones.
    fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

#[tokio::test]
async fn writes_go_on_while_nats_is_cut_off_and_their_events_follow_in_order() {
    let Some(stream) = TestStream::new_or_skip("events outage").await else {
        return;
    };
    for backend in backends() {
        let mut proxy = Proxy::start(&stream.url).await;
        let server =
            TestServer::start_with_events(backend, NOW, stream.config_via(&proxy.url())).await;
        writer_org(&server).await;
        let w = Caller::new(format!("http://{}", server.addr), WRITER);
        let badge = w
            .badge(
                "Outage",
                "EARN",
                (secs(-DAY), secs(30 * DAY)),
                json!({"expiryType": "NEVER"}),
            )
            .await;
        for c in 1..=3 {
            w.customer(c, &format!("c{c}@example.com")).await;
        }
        // The badge's own event is out before counting.
        outbox_drained(&w.base).await;
        let before = stream.count().await;
        let mut earned = Vec::new();
        let earn = async |i: usize| {
            let (s, b) = w
                .post(
                    "/customer/earn",
                    json!({"badgeMetaId": badge, "customerId": (i % 3 + 1) as i64, "requestId": format!("o-{i}")}),
                )
                .await;
            assert_eq!(
                s,
                StatusCode::OK,
                "a write while NATS is {}: {b}",
                if (5..25).contains(&i) { "down" } else { "up" }
            );
            b["data"]["earnedBadgeId"].as_str().unwrap().to_owned()
        };
        for i in 0..5 {
            earned.push(earn(i).await);
        }
        assert_eq!(
            stream.wait_for(before + 5, Duration::from_secs(20)).await,
            before + 5
        );

        proxy.cut();
        for i in 5..25 {
            earned.push(earn(i).await);
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let during = stream.count().await - before;
        let text = reqwest::get(format!("http://{}/metrics", server.addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let pending = metric(&text, "badges_outbox_pending_events");
        let failures = metric(&text, "badges_events_publish_failures_total");
        eprintln!("{backend:?}: publish failures counted while NATS was cut off: {failures}");

        proxy.restore().await;
        for i in 25..30 {
            earned.push(earn(i).await);
        }
        let after = stream.wait_for(before + 30, Duration::from_secs(30)).await - before;
        outbox_drained(&format!("http://{}", server.addr)).await;
        let messages = stream.messages().await;
        let got: Vec<String> = messages[before as usize..]
            .iter()
            .map(|m| m.decode::<proto::BadgeEarned>().earned_badge_id)
            .collect();
        eprintln!(
            "{backend:?}: 30 earns, 20 of them while NATS was cut off: {during} published meanwhile ({pending} waiting in the outbox), {after} after it returned, {} lost",
            earned.iter().filter(|a| !got.contains(a)).count()
        );
        assert_eq!(
            during, 5,
            "{backend:?}: nothing reached NATS while it was cut off"
        );
        assert!(
            failures >= 1.0,
            "{backend:?}: the outage is counted in badges_events_publish_failures_total"
        );
        assert!(
            pending >= 19.0,
            "{backend:?}: the outbox held them ({pending})"
        );
        assert_eq!(
            got, earned,
            "{backend:?}: every event, once, in the order recorded"
        );
        server.stop().await.unwrap();
        proxy.cut();
    }
    stream.cleanup().await;
}

#[tokio::test]
async fn two_processes_sweeping_record_one_expiry_per_award() {
    let Some(stream) = TestStream::new_or_skip("events expiry").await else {
        return;
    };
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = binary_env(&stream, &db);
        let args = binary_args(backend);
        let a = Binary::spawn(&args, &env, &dir.path().join("a.log")).await;
        let b = Binary::spawn(&[], &env, &dir.path().join("b.log")).await;
        let (badge, creds) = binary_world(&db, &a.base, 6).await;
        let w = Caller::new(a.base.clone(), (&creds.0, &creds.1));
        let now = since_epoch().as_secs_f64();
        // Six awards that expire in two seconds, and one more that is revoked first.
        let items: Vec<Value> = (1..=7)
            .map(|c| json!({"badgeMetaId": badge, "customerId": (c - 1) % 6 + 1, "earnEventDate": now - 60.0, "earnExpiresOn": now + 2.0}))
            .collect();
        let (s, imported) = w.put("/import/customerBadges", Value::Array(items)).await;
        assert_eq!(s, StatusCode::OK, "{imported}");
        let revoked = imported[6]["data"]["earnedBadgeId"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, _) = w
            .post(
                "/customer/revokeEarn",
                json!({"badgeMetaId": badge, "customerId": 1, "earnedBadgeId": revoked}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        // 7 earned, 1 revoked, 6 expired.
        let count = stream.wait_for(14, Duration::from_secs(30)).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let messages = stream.messages().await;
        let expired: Vec<proto::BadgeAwardExpired> = messages
            .iter()
            .filter(|m| m.kind == EventKind::BadgeAwardExpired)
            .map(|m| m.decode())
            .collect();
        let awards: HashSet<&str> = expired.iter().map(|e| e.earned_badge_id.as_str()).collect();
        eprintln!(
            "{backend:?}: 6 awards expiring, 2 processes sweeping: {} BadgeAwardExpired for {} awards ({count} messages in all)",
            expired.len(),
            awards.len()
        );
        assert_eq!(expired.len(), 6, "{backend:?}: one event per expired award");
        assert_eq!(awards.len(), 6);
        assert!(
            !awards.contains(revoked.as_str()),
            "a revoked award does not expire"
        );
        for e in &expired {
            let (occurred, recorded) = (
                ts_micros(e.occurred_at).unwrap(),
                ts_micros(e.recorded_at).unwrap(),
            );
            assert!(recorded >= occurred, "noticed after it passed");
            assert!(recorded - occurred < 60_000_000, "noticed within a minute");
        }
        drop(a);
        drop(b);
        db.cleanup().await;
        stream.purge().await;
    }
    stream.cleanup().await;
}

/// Issue 20, finding 6: 8 writers earning for 3 customers at once, over
/// several rounds, on the real binary and its real clock. Every customer's
/// events reach the stream in the order of their `recorded_at` (before, the
/// time was read before the customer's lock, and 6 runs in 8 had events of a
/// customer published ahead of an earlier one).
#[tokio::test]
async fn a_customer_s_events_are_published_in_the_order_they_were_recorded() {
    let Some(stream) = TestStream::new_or_skip("events order").await else {
        return;
    };
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = binary_env(&stream, &db);
        let server =
            Binary::spawn(&binary_args(backend), &env, &dir.path().join("order.log")).await;
        const CUSTOMERS: i64 = 3;
        let (badge, creds) = binary_world(&db, &server.base, CUSTOMERS).await;
        const WRITERS: usize = 8;
        const EACH: usize = 10;
        const ROUNDS: usize = 3;
        // The badge's own event is out before counting.
        outbox_drained(&server.base).await;
        let mut total = stream.count().await;
        for round in 0..ROUNDS {
            let mut tasks = Vec::new();
            for w in 0..WRITERS {
                let (base, badge, creds) = (server.base.clone(), badge.clone(), creds.clone());
                tasks.push(tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    for i in 0..EACH {
                        let customer = ((w + i) as i64) % CUSTOMERS + 1;
                        let r = http
                            .post(format!("{base}/api_gateway/v1/badges/customer/earn"))
                            .header("authorization", basic((&creds.0, &creds.1)))
                            .json(&json!({"badgeMetaId": badge, "customerId": customer,
                                          "requestId": format!("order-{round}-{w}-{i}")}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), StatusCode::OK);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            total += (WRITERS * EACH) as u64;
            assert_eq!(
                stream.wait_for(total, Duration::from_secs(30)).await,
                total,
                "{backend:?}: every earn's event arrived"
            );
        }
        let mut last: HashMap<i64, i64> = HashMap::new();
        let mut behind = Vec::new();
        for m in stream.messages().await {
            if m.kind != EventKind::BadgeEarned {
                continue;
            }
            let e = m.decode::<proto::BadgeEarned>();
            let at = ts_micros(e.recorded_at).expect("recorded_at");
            let previous = last.insert(e.customer_id, at);
            if let Some(previous) = previous
                && previous > at
            {
                behind.push((e.customer_id, previous - at));
            }
        }
        eprintln!(
            "{backend:?}: {} events of {CUSTOMERS} customers from {WRITERS} writers in {ROUNDS} rounds; {} published ahead of an earlier one",
            total,
            behind.len()
        );
        assert!(
            behind.is_empty(),
            "{backend:?}: events published ahead of an earlier one of their customer (customer, µs): {behind:?}"
        );
        drop(server);
        stream.purge().await;
    }
    stream.cleanup().await;
}
