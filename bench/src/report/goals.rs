//! The goals: each a ratio of the service to a reference measured in the same
//! run, or an absolute bound, with whether it is met.

use super::*;

/// `a / b`, or 0 when `b` is not positive.
pub(super) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The middle value (the lower middle of an even count); 0 when empty.
pub(super) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
}

pub(super) struct Goal {
    pub(super) id: &'static str,
    pub(super) goal: String,
    pub(super) measured: String,
    pub(super) met: bool,
}

/// One run and its reference, run one after the other (throughputs).
#[derive(Clone, Debug)]
pub(super) struct Pair {
    pub(super) measured: f64,
    pub(super) reference: f64,
}

impl Pair {
    pub(super) fn ratio(&self) -> f64 {
        ratio(self.measured, self.reference)
    }
}

/// `a vs b, c vs d, …` of the pairs' throughputs.
pub(super) fn pairs_text(pairs: &[Pair], unit: &str, reference_unit: &str) -> String {
    pairs
        .iter()
        .map(|p| {
            format!(
                "{:.0} {unit} vs {:.0} {reference_unit}",
                p.measured, p.reference
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The median ratio of alternating pairs, and its lowest and highest.
pub(super) fn pair_ratios(pairs: &[Pair]) -> (f64, f64, f64) {
    let r = || pairs.iter().map(Pair::ratio);
    (
        median(r()),
        r().fold(f64::INFINITY, f64::min),
        r().fold(0.0, f64::max),
    )
}

/// Every figure a goal is judged on.
pub(super) struct Figures<'a> {
    pub(super) p1: &'a [Pair],
    pub(super) p6: &'a [Pair],
    pub(super) sizes: &'a [SizeFigures],
    pub(super) service: &'a ServiceFigures,
    pub(super) overload: &'a [OverloadPair],
    pub(super) catalogues: &'a [(Built, Outcome)],
}

pub(super) fn goals(f: &Figures) -> anyhow::Result<Vec<Goal>> {
    let s = f.service;
    let mut goals = Vec::new();
    let (p1, p1_low, p1_high) = pair_ratios(f.p1);
    goals.push(Goal {
        id: "P1",
        goal: format!(
            "gRPC first page of a regular customer at {CONCURRENCY} in flight ≥ 50% of pgbench running the customer-state statement (issue 13's: the customer's awards and enrolments) with as many clients (median of {GOAL_PAIRS} alternating pairs)"
        ),
        measured: format!(
            "{}: **{:.0}%** (pairs {:.0}–{:.0}%)",
            pairs_text(f.p1, "calls/s", "tx/s"),
            p1 * 100.0,
            p1_low * 100.0,
            p1_high * 100.0
        ),
        met: p1 >= 0.5,
    });
    goals.push(Goal {
        id: "P1b",
        goal: "PostgreSQL CPU per first-page call ≤ 0.1 ms (from /proc)".into(),
        measured: format!("**{} ms**", s.cpu.postgres_ms),
        met: s.cpu.postgres_ms <= 0.1,
    });
    goals.push(Goal {
        id: "P9",
        goal: "the service's own CPU per first-page call ≤ 0.15 ms (from /proc, as P1b)".into(),
        measured: format!("**{} ms**", s.cpu.service_ms),
        met: s.cpu.service_ms <= 0.15,
    });
    let p11 = ratio(s.history_single.p50_ms, s.regular_single.p50_ms);
    goals.push(Goal {
        id: "P11",
        goal: "a customer with 5,000 awards of one badge: first-page p50 ≤ 2 × a regular customer's (1 in flight)".into(),
        measured: format!(
            "{} ms vs {} ms: **{p11:.2}×**",
            s.history_single.p50_ms, s.regular_single.p50_ms
        ),
        met: p11 <= 2.0,
    });
    let p2 = ratio(s.rest_first.throughput, s.grpc_first.throughput);
    goals.push(Goal {
        id: "P2",
        goal: "REST throughput ≥ 90% of gRPC on the same query".into(),
        measured: format!(
            "{} vs {} calls/s: **{:.0}%**",
            s.rest_first.throughput,
            s.grpc_first.throughput,
            p2 * 100.0
        ),
        met: p2 >= 0.9,
    });
    let [
        (half_first, open_first),
        (half_deep, open_deep),
        (half_keyset, open_keyset),
    ] = <[(u64, Outcome); 3]>::try_from(s.half.clone())
        .map_err(|_| anyhow::anyhow!("three open-loop runs"))?;
    goals.push(Goal {
        id: "P3",
        goal: "open loop at half saturation: p99 ≤ 5 ms for the first page, and for the heavy customer's deepest page by offset and by keyset".into(),
        measured: format!(
            "first page at {half_first}/s: p99 **{} ms**; deepest page by offset at {half_deep}/s: p99 **{} ms**; by keyset at {half_keyset}/s: p99 **{} ms**",
            open_first.p99_ms, open_deep.p99_ms, open_keyset.p99_ms
        ),
        met: open_first.p99_ms.max(open_deep.p99_ms).max(open_keyset.p99_ms) <= 5.0,
    });
    let (small, large) = (
        f.sizes.first().ok_or_else(|| anyhow::anyhow!("no sizes"))?,
        f.sizes.last().ok_or_else(|| anyhow::anyhow!("no sizes"))?,
    );
    let worst = small
        .sweep
        .iter()
        .zip(&large.sweep)
        .map(|((k, s, a), (_, _, b))| (ratio(*b, *a), *k, *s))
        .fold((0.0, Kind::Earned, Sort::ExpiresOn), |w, x| {
            if x.0 > w.0 { x } else { w }
        });
    let seq_scans: Vec<String> = f
        .sizes
        .iter()
        .flat_map(|s| s.plans.iter())
        .filter(|(_, plan)| large_seq_scan(plan))
        .map(|(name, _)| name.clone())
        .collect();
    goals.push(Goal {
        id: "P4",
        goal: "p50 at the largest size ≤ 1.5 × p50 at the smallest, every badgeType and sortOn; no sequential scan of a large table".into(),
        measured: format!(
            "worst ratio **{:.2}** ({} by {}); plans with a sequential scan of awards, enrolments or customers: **{}**",
            worst.0,
            worst.1.wire(),
            worst.2.wire(),
            seq_scans.len()
        ),
        met: worst.0 <= 1.5 && seq_scans.is_empty(),
    });
    let rss: Vec<f64> = f.sizes.iter().map(|s| s.peak_rss_mib).collect();
    let (rss_min, rss_max) = rss
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let budget_mib = small.cache_budget / 1024.0 / 1024.0;
    let over_budget = f.sizes.iter().any(|s| s.cache_bytes > s.cache_budget);
    goals.push(Goal {
        id: "P5",
        goal: format!(
            "peak RSS at {MEMORY_CONCURRENCY} in flight ≤ 64 MiB plus the catalogue cache's budget ({budget_mib:.0} MiB), flat across sizes (largest ≤ 1.25 × smallest); the cache's own figure never above its budget"
        ),
        measured: format!(
            "{} MiB; cache {} bytes",
            rss.iter()
                .map(|v| format!("**{v}**"))
                .collect::<Vec<_>>()
                .join(" / "),
            f.sizes
                .iter()
                .map(|s| format!("{:.0}", s.cache_bytes))
                .collect::<Vec<_>>()
                .join(" / ")
        ),
        met: rss_max <= 64.0 + budget_mib && rss_max <= rss_min * 1.25 && !over_budget,
    });
    let (p6, p6_low, p6_high) = pair_ratios(f.p6);
    goals.push(Goal {
        id: "P6",
        goal: format!(
            "SQLite first page ≥ 30% of the trivial tonic handler (median of {GOAL_PAIRS} alternating pairs)"
        ),
        measured: format!(
            "{}: **{:.0}%** (pairs {:.0}–{:.0}%)",
            pairs_text(f.p6, "calls/s", "calls/s"),
            p6 * 100.0,
            p6_low * 100.0,
            p6_high * 100.0
        ),
        met: p6 >= 0.3,
    });
    let p7 = ratio(s.heavy_keyset.p50_ms, s.heavy_first.p50_ms);
    goals.push(Goal {
        id: "P7",
        goal: "keyset: any page ≤ 1.5 × the first page (offset cost reported)".into(),
        measured: format!(
            "p50 first {} ms, deepest by keyset {} ms: **{:.2}×**; by offset {} ms ({:.2}×)",
            s.heavy_first.p50_ms,
            s.heavy_keyset.p50_ms,
            p7,
            s.heavy_offset.p50_ms,
            ratio(s.heavy_offset.p50_ms, s.heavy_first.p50_ms)
        ),
        met: p7 <= 1.5,
    });
    let [(small_c, small_o), (large_c, large_o)] = f.catalogues else {
        anyhow::bail!("two catalogue runs");
    };
    let p8 = ratio(large_o.p50_ms, small_o.p50_ms);
    goals.push(Goal {
        id: "P8",
        goal: format!(
            "first-page p50 with a {}-badge catalogue ≤ 2 × that with a {}-badge catalogue (1 in flight, 1,000 customers each)",
            large_c.badges, small_c.badges
        ),
        measured: format!(
            "{} ms vs {} ms: **{p8:.2}×**",
            large_o.p50_ms, small_o.p50_ms
        ),
        met: p8 <= 2.0,
    });

    let p50_kept = median(f.overload.iter().map(OverloadPair::p50_ratio));
    let p99_kept = median(f.overload.iter().map(OverloadPair::p99_ratio));
    let shed: u64 = f.overload.iter().map(|o| o.overloaded.shed).sum();
    let failed: u64 = f.overload.iter().map(OverloadPair::failed).sum();
    goals.push(Goal {
        id: "O1",
        goal: format!(
            "issue 7: at twice saturation, with the default in-flight cap, the excess is shed with RESOURCE_EXHAUSTED and accepted calls keep their latency (p50 and p99 ≤ {KEPT_LATENCY} × saturation's, median of {OVERLOAD_PAIRS} alternating pairs; the load generator pinned to a CPU of its own, the service and PostgreSQL to the other)"
        ),
        measured: format!(
            "{shed} shed, {failed} other failures; accepted p50 **{p50_kept:.2}×**, p99 **{p99_kept:.2}×** saturation's"
        ),
        met: shed > 0 && failed == 0 && p50_kept <= KEPT_LATENCY && p99_kept <= KEPT_LATENCY,
    });
    Ok(goals)
}
