//! Goals T1–T5, many tenants: the many-tenant dataset served with the
//! default configuration under Zipf and uniform traffic, beside one org
//! served the same way; what one load of an org's index costs; and one org's
//! reads while its catalogue is written 50 times a second.

use super::*;
use crate::catalogue_load;
use crate::tenants;

/// Orgs of the many-tenant dataset.
const TENANTS: i64 = 1000;
/// Catalogue writes a second of goal T5.
const WRITES_PER_SECOND: f64 = 50.0;

pub(super) struct TenantFigures {
    pub(super) built: tenants::Built,
    /// The one org (the main dataset), default configuration, REST.
    pub(super) one_org: Outcome,
    pub(super) zipf: Outcome,
    pub(super) uniform: Outcome,
    /// Peak RSS of the many-tenant service over both runs.
    pub(super) peak_rss_mib: f64,
    pub(super) hit_ratio: f64,
    pub(super) catalogue_mib: f64,
    pub(super) row_mib: f64,
    pub(super) load: catalogue_load::Figures,
    /// Reads alone, then with the writer: pairs.
    pub(super) writes: Vec<(Outcome, Outcome, f64)>,
}

/// A service with the default configuration but for the per-client limits
/// (one client per org drives its traffic).
async fn default_service(args: &Args, url: &str, name: &str) -> anyhow::Result<Process> {
    start_service(args, url, name, None).await
}

fn rest(addr: &str, customers: i64, seconds: f64) -> Spec {
    Spec {
        transport: Transport::Rest,
        ..spec(addr, customers, seconds)
    }
}

pub(super) async fn tenant_runs(
    args: &Args,
    runs: &mut Runs,
    main: &Running,
) -> anyhow::Result<TenantFigures> {
    let (url, built) = ensure_database(args, "badges_bench_tenants", |url| {
        tenants::run(tenants::Args {
            database_url: url,
            orgs: TENANTS,
            badges: 1000,
            customers: 100,
        })
    })
    .await?;

    let one = default_service(args, &main.url, "one-org-default").await?;
    let customers = main.built.regular_customers;
    runs.run(
        "one org, default configuration: warm-up",
        rest(&one.addr, customers, 3.0),
    )
    .await?;
    let one_org = runs
        .run(
            "one org, default configuration: REST first page",
            rest(&one.addr, customers, args.seconds),
        )
        .await?;
    let writes = write_runs(args, runs, &one.addr, customers).await?;
    drop(one);

    let many = default_service(args, &url, "tenants-default").await?;
    let tenant_spec = |zipf: f64| Spec {
        tenants: TENANTS as usize,
        zipf,
        ..rest(&many.addr, built.customers, args.seconds)
    };
    let zipf = runs
        .run(
            &format!("{TENANTS} orgs, Zipf 1.0, REST first page"),
            tenant_spec(1.0),
        )
        .await?;
    let uniform = runs
        .run(
            &format!("{TENANTS} orgs, uniform, REST first page"),
            tenant_spec(0.0),
        )
        .await?;
    let peak_rss_mib = many.peak_rss_mib()?;
    let metric = |name: &'static str| service_metric(&many.addr, name);
    let (hits, misses) = (
        metric("badges_catalogue_hits_total").await?,
        metric("badges_catalogue_misses_total").await?,
    );
    let mib = |b: f64| (b / 1048576.0 * 10.0).round() / 10.0;
    let catalogue_mib = mib(metric("badges_catalogue_bytes").await?);
    let row_mib = mib(metric("badges_catalogue_row_bytes").await?);
    drop(many);

    let load = catalogue_load::run(catalogue_load::Args {
        database_url: url,
        org: "tenant-0".into(),
        times: 200,
    })
    .await?;
    Ok(TenantFigures {
        built,
        one_org,
        zipf,
        uniform,
        peak_rss_mib,
        hit_ratio: ratio(hits, hits + misses),
        catalogue_mib,
        row_mib,
        load,
        writes,
    })
}

/// Goal T5: reads at saturation alone, then while one badge is claimed and
/// unclaimed [`WRITES_PER_SECOND`] times a second, in alternating pairs.
async fn write_runs(
    args: &Args,
    runs: &mut Runs,
    addr: &str,
    customers: i64,
) -> anyhow::Result<Vec<(Outcome, Outcome, f64)>> {
    let mut pairs = Vec::new();
    for i in 0..2 {
        let alone = runs
            .run(
                &format!("one org, reads alone (T5 pair {})", i + 1),
                rest(addr, customers, args.seconds),
            )
            .await?;
        let seconds = args.seconds + 1.5;
        let writer = tokio::spawn(write_catalogue(addr.to_owned(), seconds));
        let with = runs
            .run(
                &format!(
                    "one org, reads with {WRITES_PER_SECOND} catalogue writes/s (T5 pair {})",
                    i + 1
                ),
                rest(addr, customers, args.seconds),
            )
            .await?;
        let written = writer.await??;
        pairs.push((alone, with, written / seconds));
    }
    Ok(pairs)
}

/// Claims and unclaims the benchmark org's first badge for `seconds`, at
/// [`WRITES_PER_SECOND`]; how many writes succeeded.
async fn write_catalogue(addr: String, seconds: f64) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let badge = "660000000000000000000000";
    let started = Instant::now();
    let mut ok = 0.0;
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let due = started + Duration::from_secs_f64(n as f64 / WRITES_PER_SECOND);
        tokio::time::sleep_until(due.into()).await;
        let verb = if n.is_multiple_of(2) {
            "claim"
        } else {
            "unclaim"
        };
        let answer = http
            .post(format!(
                "http://{addr}/api_gateway/v1/badges/badgeMeta/{badge}/{verb}"
            ))
            .header("authorization", load::auth_header())
            .header("content-type", "application/json")
            .body(r#"{"ownerType": "Loyalty", "referenceId": "bench-t5"}"#)
            .send()
            .await;
        if answer.is_ok_and(|a| a.status().is_success()) {
            ok += 1.0;
        }
        n += 1;
    }
    Ok(ok)
}

pub(super) fn tenant_goals(t: &TenantFigures, goals: &mut Vec<Goal>) {
    let one = &t.one_org;
    for (id, label, run, floor) in [
        ("T1", "Zipf (exponent 1.0)", &t.zipf, 0.8),
        ("T2", "uniform", &t.uniform, 0.5),
    ] {
        let r = ratio(run.throughput, one.throughput);
        let p99 = ratio(run.p99_ms, one.p99_ms);
        goals.push(Goal {
            id,
            goal: format!(
                "{TENANTS} orgs × 1,000 badges, {label} traffic, REST first page at {CONCURRENCY} in flight, default configuration: ≥ {floor}× the one-org throughput{}",
                if id == "T1" { ", p99 ≤ 2× the one-org p99" } else { "" }
            ),
            measured: format!(
                "{:.0} vs {:.0} calls/s: **{r:.2}×**; p99 {} vs {} ms ({p99:.2}×)",
                run.throughput, one.throughput, run.p99_ms, one.p99_ms
            ),
            met: r >= floor && (id != "T1" || p99 <= 2.0),
        });
    }
    goals.push(Goal {
        id: "T3",
        goal: "peak RSS over T1 and T2 ≤ 200 MiB with the default configuration".into(),
        measured: format!(
            "**{} MiB** (index cache {} MiB, row cache {} MiB, catalogue hit ratio {:.3})",
            t.peak_rss_mib, t.catalogue_mib, t.row_mib, t.hit_ratio
        ),
        met: t.peak_rss_mib <= 200.0,
    });
    let l = &t.load;
    goals.push(Goal {
        id: "T4",
        goal: "one load of a 1,000-badge org's catalogue (as after an eviction or another process's change) ≤ 3 ms of CPU, service and PostgreSQL together".into(),
        measured: format!(
            "**{} ms** ({} ms service, {} ms PostgreSQL; {} ms wall; {} badges)",
            l.total_cpu_ms, l.service_cpu_ms, l.postgres_cpu_ms, l.wall_ms, l.badges
        ),
        met: l.total_cpu_ms <= 3.0,
    });
    let ratios: Vec<(f64, f64)> = t
        .writes
        .iter()
        .map(|(alone, with, _)| {
            (
                ratio(with.throughput, alone.throughput),
                ratio(with.p99_ms, alone.p99_ms),
            )
        })
        .collect();
    let r = median(ratios.iter().map(|x| x.0));
    let p99 = median(ratios.iter().map(|x| x.1));
    goals.push(Goal {
        id: "T5",
        goal: format!(
            "one org of 1,000 badges, reads at saturation with {WRITES_PER_SECOND} catalogue writes/s: ≥ 0.9× the reads without writes, p99 ≤ 2× (median of {} pairs)",
            t.writes.len()
        ),
        measured: t
            .writes
            .iter()
            .map(|(alone, with, w)| {
                format!(
                    "{:.0} vs {:.0} calls/s, p99 {} vs {} ms ({w:.0} writes/s)",
                    with.throughput, alone.throughput, with.p99_ms, alone.p99_ms
                )
            })
            .chain([format!("**{r:.2}×**, p99 {p99:.2}×")])
            .collect::<Vec<_>>()
            .join("; "),
        met: r >= 0.9 && p99 <= 2.0,
    });
}
