//! Faults: a PostgreSQL of the test's own (initdb into a temporary directory,
//! as the `postgres` user, on a free port) is stopped, crashed and slowed
//! under load, and the service must fail fast, recover by itself, and lose or
//! duplicate nothing. Skipped (with a message) where initdb is not available
//! or the test does not run as root.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use badges::limits::Limits;
use badges::server::{READINESS, ServeOptions};
use badges::store::{self, PoolSettings, Store};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{Binary, TestDb, TestServer};

struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    fn start() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()?;
        let root = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&root.stdout).trim() != "0" {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        Command::new("chmod")
            .args(["777", dir.path().to_str()?])
            .status()
            .ok()?;
        let data = dir.path().join("data");
        let ok = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args([
                "-D",
                data.to_str()?,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ])
            .output()
            .ok()?
            .status
            .success();
        if !ok {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let pg = OwnPostgres { bin, dir, port };
        pg.ctl(&["start", "-w"]).then_some(pg)
    }

    fn ctl(&self, args: &[&str]) -> bool {
        let data = self.dir.path().join("data");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap(),
                "-l",
                self.dir.path().join("log").to_str().unwrap(),
                "-o",
                &opts,
            ])
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    fn stop(&self, mode: &str) {
        assert!(
            self.ctl(&["stop", "-w", "-m", mode]),
            "pg_ctl stop -m {mode}"
        );
    }

    fn restart(&self) {
        assert!(self.ctl(&["start", "-w"]), "pg_ctl start");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.ctl(&["stop", "-m", "immediate"]);
    }
}

fn own_postgres() -> Option<OwnPostgres> {
    let pg = OwnPostgres::start();
    if pg.is_none() {
        crate::common::skipped(
            "fault tests skipped: they need PostgreSQL's initdb and root (to run it as the postgres user)",
        );
    }
    pg
}

/// Short deadlines, so faults show within a test's patience.
fn fast_pool() -> PoolSettings {
    PoolSettings {
        max_connections: 8,
        acquire_timeout: Duration::from_millis(1000),
        statement_timeout: Duration::from_millis(1500),
        ..PoolSettings::DEFAULT
    }
}

/// Room for every call these tests hold in flight at once: they are about
/// the database, not the caps.
const ROOMY: Limits = Limits {
    max_in_flight: Some(64),
    max_in_flight_per_client: Some(64),
    ..Limits::DEFAULT
};

async fn server_on(url: &str, limits: Limits, options: ServeOptions) -> TestServer {
    let typed = url.parse().expect("a database URL");
    store::migrate(&typed, &fast_pool()).await.unwrap();
    let store = Store::connect(&typed, &fast_pool()).await.unwrap();
    load(&store).await;
    TestServer::serve(
        store,
        TestDb::external(url.to_owned()),
        NOW,
        limits,
        options,
    )
    .await
}

/// One list call's answer: its status (408 when it got none within 5 s),
/// whether it carried `Retry-After`, and how long it took.
async fn timed_list(client: &reqwest::Client, addr: SocketAddr) -> (StatusCode, bool, Duration) {
    let started = Instant::now();
    let answer = client
        .get(format!(
            "http://{addr}/api_gateway/v1/badges/management/100?badgeType=EARNED"
        ))
        .header("authorization", basic(READER))
        .timeout(Duration::from_secs(5))
        .checked()
        .await;
    let (status, retry_after) = answer.map_or((StatusCode::REQUEST_TIMEOUT, false), |r| {
        (r.status(), r.headers().contains_key("retry-after"))
    });
    (status, retry_after, started.elapsed())
}

async fn list(client: &reqwest::Client, server: &TestServer) -> (StatusCode, Duration) {
    let (status, _, took) = timed_list(client, server.addr).await;
    (status, took)
}

async fn readiness(server: &TestServer) -> i32 {
    let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
    else {
        return -1;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: READINESS.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or(-1)
}

#[tokio::test]
async fn a_stopped_database_fails_fast_and_the_service_recovers() {
    let Some(pg) = own_postgres() else { return };
    let server = server_on(&pg.url(), ROOMY, ServeOptions::default()).await;
    let client = reqwest::Client::new();
    assert_eq!(list(&client, &server).await.0, StatusCode::OK);

    pg.stop("fast");
    // Under load while it is down: every call answers 503 inside its deadline.
    let mut calls = Vec::new();
    for _ in 0..16 {
        let (client, addr) = (client.clone(), server.addr);
        calls.push(tokio::spawn(async move { timed_list(&client, addr).await }));
    }
    for c in calls {
        let (status, _, took) = c.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(took < Duration::from_millis(2500), "failed fast: {took:?}");
    }
    let mut not_ready = false;
    for _ in 0..40 {
        if readiness(&server).await == 2 {
            not_ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(not_ready, "readiness turned NOT_SERVING");

    pg.restart();
    let back = Instant::now();
    let mut recovered = None;
    while back.elapsed() < Duration::from_secs(15) {
        if list(&client, &server).await.0 == StatusCode::OK {
            recovered = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = recovered.expect("the service recovered by itself");
    eprintln!("recovered {recovered:?} after the database came back");
    let mut ready = false;
    for _ in 0..50 {
        if readiness(&server).await == 1 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "readiness turned SERVING again");
    let _ = server.stop().await;
}

#[tokio::test]
async fn a_crash_during_writes_loses_and_duplicates_nothing() {
    let Some(pg) = own_postgres() else { return };
    let server = Arc::new(server_on(&pg.url(), ROOMY, ServeOptions::default()).await);
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut acked = Vec::new();
            for i in 0..EACH {
                let body = json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": CUSTOMER, "requestId": format!("w{w}-{i}")});
                let mut tries = 0;
                loop {
                    tries += 1;
                    assert!(tries < 300, "a write never succeeded");
                    let r = client
                        .post(format!("http://{}/api_gateway/v1/badges/customer/earn", server.addr))
                        .header("authorization", basic(READER_B))
                        .json(&body)
                        .timeout(Duration::from_secs(5))
                        .checked()
                        .await;
                    if let Ok(r) = r
                        && r.status() == StatusCode::OK
                    {
                        let v: serde_json::Value = r.json().await.unwrap();
                        acked.push(v["data"]["earnedBadgeId"].as_str().unwrap().to_owned());
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.stop("immediate");
    tokio::time::sleep(Duration::from_millis(700)).await;
    pg.restart();

    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), WRITERS * EACH);
    let distinct: std::collections::HashSet<_> = acked.iter().collect();
    assert_eq!(distinct.len(), acked.len(), "one award per requestId");
    let db = Database::connect(pg.url()).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM awards WHERE request_id LIKE 'w%'",
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: i64 = row.try_get("", "n").unwrap();
    eprintln!(
        "{} acknowledged earns across an immediate-mode crash: {stored} stored",
        acked.len()
    );
    assert_eq!(stored as usize, acked.len(), "0 lost, 0 duplicated");
    let server = Arc::try_unwrap(server).ok().unwrap();
    let _ = server.stop().await;
}

#[tokio::test]
async fn a_slow_database_ends_calls_at_their_deadline() {
    let Some(db) = TestDb::postgres_or_skip("slow-database").await else {
        return;
    };
    let server = server_on(
        &db.url,
        Limits {
            max_in_flight: Some(4),
            max_in_flight_per_client: Some(4),
            ..Limits::DEFAULT
        },
        ServeOptions::DEFAULT,
    )
    .await;
    let client = reqwest::Client::new();
    assert_eq!(list(&client, &server).await.0, StatusCode::OK);

    // Hold a lock that the list query must wait for (it reads the
    // customer's state row).
    let locker = Database::connect(db.url.as_str()).await.unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE customer_states IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let (status, took) = list(&client, &server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(2500),
        "ended at the deadline: {took:?}"
    );
    let s = server
        .client()
        .await
        .list_customer_badges(authed(
            READER,
            badges::proto::ListCustomerBadgesRequest {
                customer_id: "100".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), tonic::Code::DeadlineExceeded);

    // Overload: past 4 calls in flight, the excess is refused at once.
    let mut calls = Vec::new();
    for _ in 0..12 {
        let (client, addr) = (client.clone(), server.addr);
        calls.push(tokio::spawn(async move { timed_list(&client, addr).await }));
    }
    let mut shed = 0;
    for c in calls {
        let (status, retry_after, took) = c.await.unwrap();
        if status == StatusCode::TOO_MANY_REQUESTS {
            shed += 1;
            assert!(retry_after);
            assert!(took < Duration::from_millis(500), "shed at once: {took:?}");
        } else {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    assert_eq!(shed, 8, "12 calls, 4 slots");
    txn.rollback().await.unwrap();
    assert_eq!(list(&client, &server).await.0, StatusCode::OK);
    server.stop().await.ok();
    db.cleanup().await;
}

/// `badges serve` without `--max-in-flight` caps the calls in flight at the
/// pool's size, so an accepted call never queues for a connection: with 2
/// connections, 2 calls wait on a lock and every other call is refused with
/// 429 while they wait.
#[tokio::test]
async fn the_binary_caps_calls_in_flight_at_the_pool_size() {
    let Some(db) = TestDb::postgres_or_skip("in-flight cap").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::spawn(
        &["--demo", "--migrate"],
        &[
            ("BADGES_DATABASE_URL", db.url.clone()),
            ("BADGES_DB_MAX_CONNECTIONS", "2".into()),
        ],
        &dir.path().join("server.log"),
    )
    .await;
    let url = format!("{}/api_gateway/v1/badges/management/62090013", server.base);
    let call = |url: String| async move {
        let r = reqwest::Client::new()
            .get(url)
            .basic_auth("demo", Some("demo"))
            .timeout(Duration::from_secs(10))
            .checked()
            .await
            .unwrap();
        let retry_after = r.headers().get("retry-after").cloned();
        (r.status(), retry_after)
    };
    assert_eq!(call(url.clone()).await.0, StatusCode::OK);

    let locker = Database::connect(db.url.as_str()).await.unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE customer_states IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let held: Vec<_> = (0..2).map(|_| tokio::spawn(call(url.clone()))).collect();
    // Both pooled connections are now waiting on the lock.
    let watcher = Database::connect(db.url.as_str()).await.unwrap();
    let mut waiting = 0;
    for _ in 0..100 {
        let row = watcher
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT COUNT(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .unwrap()
            .unwrap();
        waiting = row.try_get::<i64>("", "n").unwrap();
        if waiting == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting, 2, "two calls wait on the lock");

    // Every further call is refused while the two still wait.
    let refused: Vec<_> = (0..6).map(|_| tokio::spawn(call(url.clone()))).collect();
    for r in refused {
        let (status, retry_after) = r.await.unwrap();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            retry_after.as_ref().and_then(|v| v.to_str().ok()),
            Some("1")
        );
    }
    txn.rollback().await.unwrap();
    for h in held {
        assert_eq!(h.await.unwrap().0, StatusCode::OK);
    }
    assert_eq!(call(url).await.0, StatusCode::OK);
    drop(server);
    watcher.close().await.ok();
    locker.close().await.ok();
    db.cleanup().await;
}

#[tokio::test]
async fn shutdown_under_load_finishes_every_call_in_flight() {
    let Some(db) = TestDb::postgres_or_skip("shutdown-under-load").await else {
        return;
    };
    let mut server = server_on(&db.url, ROOMY, ServeOptions::default()).await;
    let client = reqwest::Client::new();
    assert_eq!(list(&client, &server).await.0, StatusCode::OK);

    // Hold the calls in flight behind a lock, begin shutdown, then let them go.
    let locker = Database::connect(db.url.as_str()).await.unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE customer_states IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut calls = Vec::new();
    for _ in 0..24 {
        let (client, addr) = (client.clone(), server.addr);
        calls.push(tokio::spawn(async move { timed_list(&client, addr).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(300)).await;
    txn.rollback().await.unwrap();

    let mut ok = 0;
    for c in calls {
        let (status, _, _) = c.await.unwrap();
        // 408 here means no answer at all: a dropped connection.
        assert_eq!(status, StatusCode::OK);
        ok += 1;
    }
    eprintln!("{ok} calls in flight at shutdown: {ok} answered 200");
    // New connections are refused once it has stopped.
    server.stop().await.unwrap();
    db.cleanup().await;
}
