//! The customer state rows the list call reads (README, "What a list call
//! reads"): kept by every write in its transaction, they answer as the
//! awards and enrolments do, whatever writes ran, through how many
//! processes, and when a process is killed in the middle of its writes.
//! `badges state verify` is the judge, and the list's answers from the
//! tables (every row marked stale) are the reference.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::openapi::Checked;
use crate::common::{Backend, Binary, TestDb, backends};

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One process's REST API, as the demo client.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn of(binary: &Binary) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: binary.base.clone(),
        }
    }

    /// The status and body of a call; `None` when the process did not
    /// answer (killed).
    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Option<(StatusCode, Value)> {
        let url = format!("{}/api_gateway/v1/badges{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "PUT" => self.http.put(url),
            _ => self.http.post(url),
        }
        .basic_auth("demo", Some("demo"))
        .header("X-CAP-BADGES-MIGRATION", "migration");
        let request = match body {
            Some(b) => request.json(&b),
            None => request,
        };
        loop {
            let r = request.try_clone()?.checked().await.ok()?;
            let status = r.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
            return Some((status, r.json().await.unwrap_or(Value::Null)));
        }
    }

    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.try_call(method, path, body).await.expect("an answer");
        assert_eq!(status, StatusCode::OK, "{method} {path}: {body}");
        body["data"].clone()
    }

    /// The customer's list by four filters and orders (one call each).
    pub async fn lists(&self, customer: i64) -> Vec<Value> {
        let mut answers = Vec::new();
        for query in [
            "badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size=100",
            "badgeType=EARNED&sortOn=LAST_EARNED_ON_DATE&size=100",
            "badgeType=EARNED,EXPIRED&sortOn=LAST_EARNED_EVENT_DATE&order=ASC&size=100",
            "badgeType=AVAILABLE_TO_ISSUE,AVAILABLE&sortOn=LAST_ISSUED_DATE&size=100",
        ] {
            answers.push(
                self.ok("GET", &format!("/management/{customer}?{query}"), None)
                    .await,
            );
        }
        answers
    }
}

/// Runs `badges ARGS` against `db`: whether it succeeded, and its stdout.
pub fn run_badges(db: &str, args: &[&str]) -> (bool, String) {
    let out = crate::common::checked_output(crate::common::command(db, args));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `badges state verify`'s summary line, asserted to have found no
/// difference; the number of rows it found behind (missing or stale).
pub fn verified(db: &str, customers: u64) -> u64 {
    let (ok, out) = run_badges(db, &["state", "verify"]);
    assert!(ok, "state verify failed:\n{out}");
    let last = out.lines().last().unwrap_or_default().to_owned();
    let words: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(
        (words.first(), words.get(1), words.get(3), words.get(4)),
        (
            Some(&"verified"),
            Some(&customers.to_string().as_str()),
            Some(&"0"),
            Some(&"differences,")
        ),
        "{out}"
    );
    words[5].parse().unwrap()
}

/// Creates two EARN badges and an ISSUE_EARN one, open from 2024 to 2030.
pub async fn make_badges(api: &Api) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, earn_type) in [
        ("Walker", "EARN"),
        ("Runner", "EARN"),
        ("Enrolled swimmer", "ISSUE_EARN"),
    ] {
        let b = api
            .ok(
                "POST",
                "/badgeMeta",
                Some(json!({
                    "name": name, "earnType": earn_type, "isActive": true,
                    "startOn": "2024-01-01T00:00:00Z", "expiresOn": "2030-01-01T00:00:00Z",
                    "ownership": {"restrictedToOwners": ["Loyalty"]}
                })),
            )
            .await;
        ids.push(b["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// The awards written so far: (badge, customer, earnedBadgeId).
type Awards = Arc<Mutex<Vec<(String, i64, String)>>>;

/// One random write of any kind; refusals (an earn of an ISSUE_EARN badge
/// without an enrolment, a revocation of nothing) are part of the mix.
async fn random_write(
    api: &Api,
    rng: &mut Rng,
    badges: &[String],
    customers: &[i64],
    awards: &Awards,
) {
    let badge = badges[rng.below(badges.len() as u64) as usize].clone();
    let customer = customers[rng.below(customers.len() as u64) as usize];
    // Event times over 2025, whole hours: ties of time happen.
    let at = format!(
        "2025-{:02}-{:02}T{:02}:00:00Z",
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(3)
    );
    let (path, method, body) = match rng.below(10) {
        0..=3 => (
            "/customer/earn",
            "POST",
            json!({"badgeMetaId": badge, "customerId": customer, "earnEventDate": at}),
        ),
        4 => {
            let some: Vec<i64> = (0..3)
                .map(|_| customers[rng.below(customers.len() as u64) as usize])
                .collect();
            let mut some = some;
            some.sort();
            some.dedup();
            (
                "/customer/earnBulk",
                "POST",
                json!({"badgeMetaId": badge, "customerIds": some}),
            )
        }
        5 => (
            "/badgeMeta/customer/issueBulk",
            "POST",
            json!({"badgeMetaId": badge, "customers": [customer]}),
        ),
        6 => (
            "/badgeMeta/customer/revokeIssue",
            "POST",
            json!({"badgeMetaId": badge, "customers": [customer]}),
        ),
        7 | 8 => {
            let chosen = {
                let awards = awards.lock().unwrap();
                (!awards.is_empty())
                    .then(|| awards[rng.below(awards.len() as u64) as usize].clone())
            };
            let Some((badge, customer, earned)) = chosen else {
                return;
            };
            (
                "/customer/revokeEarn",
                "POST",
                json!({"badgeMetaId": badge, "customerId": customer, "earnedBadgeId": earned}),
            )
        }
        _ => (
            "/import/customerBadges",
            "PUT",
            json!([{"badgeMetaId": badge, "customerId": customer, "earnEventDate": at}]),
        ),
    };
    let Some((status, answer)) = api.try_call(method, path, Some(body.clone())).await else {
        return;
    };
    if status != StatusCode::OK {
        return;
    }
    let mut awards = awards.lock().unwrap();
    let data = &answer["data"];
    if let Some(id) = data["earnedBadgeId"].as_str() {
        awards.push((badge.clone(), customer, id.to_owned()));
    }
    for item in data["earnedBadges"].as_array().into_iter().flatten() {
        if let (Some(id), Some(c)) = (item["earnedBadgeId"].as_str(), item["customerId"].as_i64()) {
            awards.push((badge.clone(), c, id.to_owned()));
        }
    }
}

/// Marks every state row stale, as a write that does not keep them would:
/// list calls then answer from the tables (the reference).
async fn mark_all_stale(db: &TestDb) {
    use sea_orm::ConnectionTrait;
    let conn = sea_orm::Database::connect(db.url.as_str()).await.unwrap();
    let done = conn
        .execute_unprepared("UPDATE customer_states SET stale = TRUE")
        .await
        .unwrap();
    assert!(done.rows_affected() > 0);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn rows_kept_by_racing_processes_and_a_killed_one_answer_as_the_tables() {
    for backend in backends() {
        rows_answer_as_the_tables(backend).await;
    }
}

async fn rows_answer_as_the_tables(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("BADGES_DATABASE_URL", db.url.clone())];
    let a = Binary::spawn(&["--demo", "--migrate"], &env, &dir.path().join("a.log")).await;
    let b = Binary::spawn(&["--demo"], &env, &dir.path().join("b.log")).await;
    let (api_a, api_b) = (Api::of(&a), Api::of(&b));
    let badges = make_badges(&api_a).await;
    let customers: Vec<i64> = (1..=10).map(|k| 8_000_000 + k).collect();
    for &c in &customers {
        api_a
            .ok("PUT", "/customers", Some(json!({"customerId": c})))
            .await;
    }
    let awards: Awards = Arc::default();

    // Four writers at once, two through each process, on the same ten
    // customers: every kind of write.
    let writers = (0..4u64).map(|w| {
        let api = if w % 2 == 0 {
            api_a.clone()
        } else {
            api_b.clone()
        };
        let (badges, customers, awards) = (badges.clone(), customers.clone(), awards.clone());
        async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w + 1));
            for _ in 0..60 {
                random_write(&api, &mut rng, &badges, &customers, &awards).await;
            }
        }
    });
    futures_util::future::join_all(writers).await;
    let written = awards.lock().unwrap().len();
    assert!(written > 20, "{backend:?}: the mix awarded ({written})");

    // A third process killed (SIGKILL) in the middle of a burst of writes:
    // what it committed is in both, what it did not is in neither.
    let c = Binary::spawn(&["--demo"], &env, &dir.path().join("c.log")).await;
    let api_c = Api::of(&c);
    let burst = (0..8u64).map(|w| {
        let (api, badges, customers, awards) = (
            api_c.clone(),
            badges.clone(),
            customers.clone(),
            awards.clone(),
        );
        async move {
            let mut rng = Rng(0x51_7cc1_b727_220a ^ (w + 1));
            for _ in 0..200 {
                random_write(&api, &mut rng, &badges, &customers, &awards).await;
            }
        }
    });
    let killer = async move {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        drop(c);
    };
    futures_util::future::join(futures_util::future::join_all(burst), killer).await;

    // The demo customer and the ten: every row matches a fresh fold.
    let all = customers.len() as u64 + 1;
    assert_eq!(verified(&db.url, all), 0, "{backend:?}: no row behind");
    eprintln!(
        "{backend:?}: {} awards written by racing processes and a killed one; state verify: 0 differences",
        awards.lock().unwrap().len()
    );

    // The list answers from the rows are the answers from the tables.
    let mut from_rows = Vec::new();
    for &c in &customers {
        from_rows.push(api_b.lists(c).await);
    }
    mark_all_stale(&db).await;
    assert_eq!(
        verified(&db.url, all),
        all,
        "{backend:?}: every row is behind"
    );
    for (i, &c) in customers.iter().enumerate() {
        assert_eq!(
            api_a.lists(c).await,
            from_rows[i],
            "{backend:?}: customer {c}"
        );
    }
    // A write renews its customer's row from the tables; the rebuild all.
    api_a
        .ok(
            "POST",
            "/customer/earn",
            Some(json!({"badgeMetaId": badges[0], "customerId": customers[0]})),
        )
        .await;
    assert_eq!(verified(&db.url, all), all - 1, "{backend:?}");
    let (ok, out) = run_badges(&db.url, &["state", "rebuild"]);
    assert!(
        ok && out.starts_with(&format!("rebuilt {all} customer state rows")),
        "{out}"
    );
    assert_eq!(verified(&db.url, all), 0, "{backend:?}");
    for (i, &c) in customers.iter().enumerate().skip(1) {
        assert_eq!(
            api_b.lists(c).await,
            from_rows[i],
            "{backend:?}: customer {c}"
        );
    }
    a.terminate().await;
    b.terminate().await;
    db.cleanup().await;
}

/// The previous release's binary (`.ci/previous-release` builds it).
const PREVIOUS_ENV: &str = "BADGES_PREVIOUS_BINARY";

/// The customer's earnCount of `badge` in their list.
async fn earn_count(api: &Api, customer: i64, badge: &str) -> i64 {
    let list = api
        .ok(
            "GET",
            &format!("/management/{customer}?badgeType=EARNED&size=100"),
            None,
        )
        .await;
    list["customerBadges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["badgeMetaId"] == badge)
        .map_or(0, |r| r["earnCount"].as_i64().unwrap())
}

/// A rolling upgrade on PostgreSQL: pods of the previous release (which
/// know nothing of the state rows) serve and write while this release
/// migrates, fills the rows and serves beside them. After every earn the
/// previous release acknowledges, this release's list shows it (never a
/// stale answer); afterwards `badges state verify` finds no difference, and
/// once `badges state rebuild` has run, no row behind either.
#[tokio::test]
async fn an_upgrade_while_the_previous_release_writes_serves_no_stale_answer() {
    let Some(db) = TestDb::postgres_or_skip("upgrade").await else {
        return;
    };
    let Ok(previous) = std::env::var(PREVIOUS_ENV) else {
        crate::common::skipped(&format!(
            "upgrade test skipped: set {PREVIOUS_ENV} to the previous release's binary (.ci/previous-release builds it)"
        ));
        db.cleanup().await;
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("BADGES_DATABASE_URL", db.url.clone())];
    let old = Binary::spawn_program(
        &previous,
        &["--demo", "--migrate"],
        &env,
        &dir.path().join("old.log"),
    )
    .await;
    let api_old = Api::of(&old);
    let badges = make_badges(&api_old).await;
    let customers: Vec<i64> = (1..=20).map(|k| 9_000_000 + k).collect();
    for &c in &customers {
        api_old
            .ok("PUT", "/customers", Some(json!({"customerId": c})))
            .await;
    }
    // History before the upgrade, every kind of write (not of badge 0, which
    // the watched writer below has to itself).
    let awards: Awards = Arc::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..150 {
        random_write(&api_old, &mut rng, &badges[1..], &customers, &awards).await;
    }

    // The previous release keeps earning badge 0 for random customers; after
    // each acknowledged earn, once this release serves, its list must show
    // it.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let new_api: Arc<Mutex<Option<Api>>> = Arc::default();
    let watched = {
        let (api_old, stop, new_api, badge, customers) = (
            api_old.clone(),
            stop.clone(),
            new_api.clone(),
            badges[0].clone(),
            customers.clone(),
        );
        tokio::spawn(async move {
            let mut rng = Rng(0x0123_4567_89ab_cdef);
            let mut counts = std::collections::HashMap::<i64, i64>::new();
            let (mut earns, mut checked) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let c = customers[rng.below(customers.len() as u64) as usize];
                api_old
                    .ok(
                        "POST",
                        "/customer/earn",
                        Some(json!({"badgeMetaId": badge, "customerId": c})),
                    )
                    .await;
                earns += 1;
                *counts.entry(c).or_default() += 1;
                let reader = new_api.lock().unwrap().clone();
                if let Some(reader) = reader {
                    assert_eq!(
                        earn_count(&reader, c, &badge).await,
                        counts[&c],
                        "customer {c}: a stale answer"
                    );
                    checked += 1;
                }
            }
            (earns, checked)
        })
    };

    // This release migrates (and fills the rows) while the previous writes,
    // then serves beside it and writes too.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (ok, out) = run_badges(&db.url, &["migrate"]);
    assert!(ok, "migrate: {out}");
    let new = Binary::spawn(&[], &env, &dir.path().join("new.log")).await;
    let api_new = Api::of(&new);
    *new_api.lock().unwrap() = Some(api_new.clone());
    let mut rng = Rng(0x1bd1_1bda_a9fc_1a22);
    for _ in 0..60 {
        random_write(&api_new, &mut rng, &badges[1..], &customers, &awards).await;
        random_write(&api_old, &mut rng, &badges[1..], &customers, &awards).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (earns, checked) = watched.await.unwrap();
    assert!(
        checked > 10,
        "reads through the new release were checked ({checked} of {earns})"
    );
    old.terminate().await;

    let all = customers.len() as u64 + 1;
    let behind = verified(&db.url, all);
    eprintln!(
        "upgrade: {earns} earns through the previous release, the last {checked} each read back through this one: none stale; state verify: 0 differences, {behind} rows behind"
    );
    // Every customer's list through this release is what the tables say.
    let mut from_rows = Vec::new();
    for &c in &customers {
        from_rows.push(api_new.lists(c).await);
    }
    let (ok, out) = run_badges(&db.url, &["state", "rebuild"]);
    assert!(ok, "{out}");
    assert_eq!(verified(&db.url, all), 0, "no row behind after the rebuild");
    for (i, &c) in customers.iter().enumerate() {
        assert_eq!(api_new.lists(c).await, from_rows[i], "customer {c}");
    }
    new.terminate().await;
    db.cleanup().await;
}
