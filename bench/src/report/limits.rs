//! Goal L1 (issue 25): what earn limits cost. 16 writers earn through the
//! service (REST, closed loop), each call a random one of 10,000 customers,
//! on three EARN badges of a fresh database: without limits, limited per
//! customer by week (CUSTOMER_BADGE_FIXED_WINDOW, a cap no customer reaches,
//! so every earn is counted and written), and limited in total
//! (BADGE_FIXED_VALUE, likewise never reached). The kinds take turns, twice.

use std::sync::Arc;

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::*;

/// Customers of the limits database.
const CUSTOMERS: i64 = 10_000;
const ROUNDS: usize = 2;

/// The badges measured: name, customer constraints, badge constraints.
fn kinds() -> [(&'static str, Value, Value); 3] {
    [
        ("unlimited", json!([]), json!([])),
        (
            "per customer, weekly",
            json!([{"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW", "maxEarnLimit": 1_000_000,
                    "durationType": "WEEKLY", "startDayOfTheWeek": "MONDAY"}]),
            json!([]),
        ),
        (
            "badge total",
            json!([]),
            json!([{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 1_000_000_000}]),
        ),
    ]
}

#[derive(Clone, Debug)]
pub(super) struct EarnOutcome {
    pub(super) ok: u64,
    pub(super) failed: u64,
    pub(super) throughput: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
}

pub(super) struct LimitFigures {
    /// Per kind (in `kinds()` order), its runs.
    pub(super) runs: Vec<(&'static str, Vec<EarnOutcome>)>,
    /// Goal P10: the unlimited badge's runs through the previous release
    /// (`--previous-server`), alternating with this release's.
    pub(super) previous: Vec<EarnOutcome>,
}

/// Creates an EARN badge with these constraints through the service at
/// `addr`; its id.
async fn make_badge(
    addr: &str,
    name: &str,
    customer: &Value,
    badge: &Value,
) -> anyhow::Result<String> {
    let r: Value = reqwest::Client::new()
        .post(format!("http://{addr}/api_gateway/v1/badges/badgeMeta"))
        .header("authorization", load::auth_header())
        .header("X-CAP-BADGES-MIGRATION", "migration")
        .header("content-type", "application/json")
        .body(
            json!({"name": name, "earnType": "EARN", "isActive": true,
                   "startOn": "2024-01-01T00:00:00Z", "expiresOn": "2099-01-01T00:00:00Z",
                   "ownership": {"restrictedToOwners": ["Loyalty"]},
                   "customerConstraints": customer, "badgeConstraints": badge})
            .to_string(),
        )
        .send()
        .await?
        .bytes()
        .await
        .map_err(anyhow::Error::from)
        .and_then(|b| Ok(serde_json::from_slice(&b)?))?;
    Ok(r["data"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("badge not made: {r}"))?
        .to_owned())
}

/// A fresh database `name` with one org, the `bench` client and the
/// customers, migrated by this release or by the binary `previous`.
async fn fresh_database(
    args: &Args,
    name: &str,
    previous: Option<&Path>,
) -> anyhow::Result<String> {
    let base = args.postgres.trim_end_matches('/');
    let url = format!("{base}/{name}?sslmode={}", args.sslmode);
    let admin = Database::connect(format!("{base}/postgres?sslmode={}", args.sslmode)).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    match previous {
        Some(program) => {
            let status = Command::new(program)
                .arg("migrate")
                .env("BADGES_DATABASE_URL", &url)
                .stdout(Stdio::null())
                .status()?;
            anyhow::ensure!(status.success(), "the previous release's migrate failed");
        }
        None => {
            let parsed: badges::store::DatabaseUrl = url.parse().map_err(anyhow::Error::msg)?;
            badges::store::migrate(&parsed, &badges::store::PoolSettings::default()).await?;
        }
    }
    let db = Database::connect(url.as_str()).await?;
    let hash = badges::auth::hash_secret("bench")?;
    db.execute_unprepared("INSERT INTO orgs (name, created_at) VALUES ('limits', 0)")
        .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO api_clients (org_id, username, secret_hash, can_read, can_write, disabled, created_at) \
         SELECT id, 'bench', '{hash}', TRUE, TRUE, FALSE, 0 FROM orgs WHERE name = 'limits'"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO customers (org_id, customer_id) \
         SELECT o.id, g FROM orgs o, generate_series(1, {CUSTOMERS}) g WHERE o.name = 'limits'"
    ))
    .await?;
    db.close().await?;
    Ok(url)
}

/// 16 writers earning `badge` for `seconds`.
async fn earn_load(addr: &str, badge: &str, seconds: f64) -> anyhow::Result<EarnOutcome> {
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut workers = Vec::new();
    for w in 0..CONCURRENCY as u64 {
        let (addr, badge, histogram) = (addr.to_owned(), badge.to_owned(), histogram.clone());
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let url = format!("http://{addr}/api_gateway/v1/badges/customer/earn");
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut n = w.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            while Instant::now() < deadline {
                // xorshift: a customer per call, different per worker.
                n ^= n << 13;
                n ^= n >> 7;
                n ^= n << 17;
                let customer = (n % CUSTOMERS as u64) as i64 + 1;
                let body = json!({"badgeMetaId": badge, "customerId": customer}).to_string();
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("authorization", load::auth_header())
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let good = match r {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let _ = local.record(t.elapsed().as_micros().max(1) as u64);
                if good {
                    ok += 1;
                } else {
                    failed += 1;
                }
            }
            histogram.lock().await.add(&local).ok();
            (ok, failed)
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for w in workers {
        let (o, f) = w.await?;
        ok += o;
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let h = histogram.lock().await;
    let ms = |q: f64| (h.value_at_quantile(q) as f64 / 1000.0 * 100.0).round() / 100.0;
    Ok(EarnOutcome {
        ok,
        failed,
        throughput: ok as f64 / elapsed,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
    })
}

pub(super) async fn limit_runs(args: &Args) -> anyhow::Result<LimitFigures> {
    const NAME: &str = "badges_bench_limits";
    const PREVIOUS: &str = "badges_bench_limits_previous";
    let url = fresh_database(args, NAME, None).await?;
    let service = start_service(args, &url, "limits", Some(UNCAPPED)).await?;
    let mut badges = Vec::new();
    for (name, customer, badge) in kinds() {
        badges.push((
            name,
            make_badge(&service.addr, name, &customer, &badge).await?,
        ));
    }
    // P10: the previous release on a database of its own, earning an
    // unlimited badge, in turn with this release's runs.
    let previous = match &args.previous_server {
        Some(program) => {
            let url = fresh_database(args, PREVIOUS, Some(program)).await?;
            let p = start_program(args, program, &url, "limits-previous", Some(UNCAPPED)).await?;
            let badge = make_badge(&p.addr, "unlimited", &json!([]), &json!([])).await?;
            Some((p, badge))
        }
        None => None,
    };
    let mut runs: Vec<(&'static str, Vec<EarnOutcome>)> =
        badges.iter().map(|(n, _)| (*n, Vec::new())).collect();
    let mut previous_runs = Vec::new();
    for _ in 0..ROUNDS {
        if let Some((p, badge)) = &previous {
            let o = earn_load(&p.addr, badge, args.seconds).await?;
            eprintln!(
                "bench: P10 earns through the previous release, unlimited: {:.0}/s, p50 {} ms, p99 {} ms, {} failed",
                o.throughput, o.p50_ms, o.p99_ms, o.failed
            );
            previous_runs.push(o);
        }
        for (i, (name, id)) in badges.iter().enumerate() {
            let o = earn_load(&service.addr, id, args.seconds).await?;
            eprintln!(
                "bench: L1 earns, {name}: {:.0}/s, p50 {} ms, p99 {} ms, {} failed",
                o.throughput, o.p50_ms, o.p99_ms, o.failed
            );
            runs[i].1.push(o);
        }
    }
    drop(service);
    drop(previous);
    let admin = Database::connect(format!(
        "{}/postgres?sslmode={}",
        args.postgres.trim_end_matches('/'),
        args.sslmode
    ))
    .await?;
    for name in [NAME, PREVIOUS] {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    }
    admin.close().await?;
    Ok(LimitFigures {
        runs,
        previous: previous_runs,
    })
}

/// The median throughput of a kind's runs.
fn median(runs: &[EarnOutcome]) -> f64 {
    let mut t: Vec<f64> = runs.iter().map(|o| o.throughput).collect();
    t.sort_by(f64::total_cmp);
    t.get(t.len() / 2).copied().unwrap_or(0.0)
}

pub(super) fn limits_goals(f: &LimitFigures, goals: &mut Vec<Goal>) {
    let unlimited = f.runs.first().map_or(0.0, |r| median(&r.1));
    let previous = median(&f.previous);
    let p10 = ratio(unlimited, previous);
    goals.push(Goal {
        id: "P10",
        goal: format!(
            "{CONCURRENCY} writers earning an unlimited badge through the service (REST) ≥ 0.8× the earns/s of the previous release (which writes no state row), runs alternating"
        ),
        measured: if f.previous.is_empty() {
            "not measured (no `--previous-server`)".into()
        } else {
            format!("{unlimited:.0} vs {previous:.0} earns/s (**{p10:.2}×**)")
        },
        met: !f.previous.is_empty() && p10 >= 0.8,
    });
    if let Some((_, weekly)) = f.runs.get(1) {
        let m = median(weekly);
        let r = ratio(m, unlimited);
        goals.push(Goal {
            id: "L1",
            goal: format!(
                "{CONCURRENCY} writers earning through the service (REST): a badge limited per customer by week ≥ 0.8× the earns/s of an unlimited badge (one extra indexed read an earn)"
            ),
            measured: format!("{m:.0} vs {unlimited:.0} earns/s (**{r:.2}×**)"),
            met: r >= 0.8,
        });
    }
}

/// The section of the report on earn limits.
pub(super) fn limits_section(f: &LimitFigures) -> String {
    let unlimited = f.runs.first().map_or(0.0, |r| median(&r.1));
    let mut s = format!(
        "\n## Earn limits (L1)\n\n{CONCURRENCY} writers, closed loop, REST `POST /customer/earn`, a random one of \
         {CUSTOMERS} customers a call, on a fresh PostgreSQL database; each kind's runs alternate with the \
         others'. The caps are never reached, so every earn counts and writes. A badge-level limit \
         makes its earns take the badge's row lock one at a time (what keeps the total exact), and \
         counts the badge's awards so far with each earn.\n\n\
         | badge | runs (earns/s) | median earns/s | × unlimited | p50 ms | p99 ms | awards written | failed |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    );
    let previous = [("unlimited, previous release (P10)", &f.previous)];
    let this = f.runs.iter().map(|(n, r)| (*n, r));
    for (name, runs) in previous
        .into_iter()
        .filter(|(_, r)| !r.is_empty())
        .chain(this)
    {
        let m = median(runs);
        let last = runs.last();
        let _ = writeln!(
            s,
            "| {name} | {} | {m:.0} | {:.2} | {} | {} | {} | {} |",
            runs.iter()
                .map(|o| format!("{:.0}", o.throughput))
                .collect::<Vec<_>>()
                .join(", "),
            ratio(m, unlimited),
            last.map_or(0.0, |o| o.p50_ms),
            last.map_or(0.0, |o| o.p99_ms),
            runs.iter().map(|o| o.ok).sum::<u64>(),
            runs.iter().map(|o| o.failed).sum::<u64>(),
        );
    }
    s
}
