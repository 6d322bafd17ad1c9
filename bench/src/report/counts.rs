//! Goals C1 and C2 (issue 23): what the badges' counts cost. C1: a page of
//! the org's badge list, 100 badges with their counts, costs the same at
//! the smallest and the largest dataset (10k and 10M awards). C2: 16
//! concurrent earns of one badge, as transactions on PostgreSQL (pgbench),
//! with the counter row the service adds to each earn and without it.

use super::*;

/// An earn's transaction as the service runs it (no requestId, events off,
/// as the benchmark's service runs): the caller's client row read `FOR
/// SHARE`, the badge's row, the customer's lock, their enrolments of the
/// badge, the award; and, `counted`, the upsert of one of the badge's
/// counter rows in a slot drawn per transaction (the service takes the
/// slots in turn). 16 customers, one EARN badge.
fn earn_script(org: i32, counted: bool) -> String {
    let badge = "660000000000000000000000";
    let last = FIRST_REGULAR + 15;
    let mut s = format!(
        "\\set c random({FIRST_REGULAR}, {last})\n\\set s random(0, {})\nBEGIN;\n\
         SELECT generation FROM api_clients WHERE username = 'bench' AND disabled = FALSE FOR SHARE;\n\
         SELECT * FROM badges WHERE id = '{badge}' AND org_id = {org};\n\
         SELECT customer_id FROM customers WHERE org_id = {org} AND customer_id = :c FOR UPDATE;\n\
         SELECT * FROM enrolments WHERE org_id = {org} AND badge_id = '{badge}' AND customer_id = :c \
         ORDER BY issued_at, id;\n\
         INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, expires_at, revoked) \
         VALUES (substr(md5(random()::text), 1, 24), {org}, '{badge}', :c, 1, 1, NULL, FALSE);\n",
        badges::store::COUNT_SLOTS - 1
    );
    if counted {
        s.push_str(&format!(
            "INSERT INTO badge_counts (org_id, badge_id, slot, issued, earned) VALUES ({org}, '{badge}', :s, 0, 1) \
             ON CONFLICT (org_id, badge_id, slot) DO UPDATE SET issued = badge_counts.issued + excluded.issued, \
             earned = badge_counts.earned + excluded.earned;\n"
        ));
    }
    s.push_str("COMMIT;\n");
    s
}

pub(super) struct CountFigures {
    /// (awards, the run, its CPU per call) at the smallest and largest size.
    pub(super) pages: Vec<(i64, Outcome, CpuSplit)>,
    /// Earn transactions/s with the counter row (measured) and without
    /// (reference), alternating.
    pub(super) earns: Vec<Pair>,
    pub(super) earn_script: String,
}

pub(super) async fn counts_runs(
    args: &Args,
    runs: &mut Runs,
    running: &[Running],
) -> anyhow::Result<CountFigures> {
    let mut pages = Vec::new();
    for r in [running.first(), running.last()].into_iter().flatten() {
        let spec = Spec {
            transport: Transport::Rest,
            shape: Shape::Catalogue,
            concurrency: 1,
            ..spec(&r.service.addr, r.built.regular_customers, args.seconds)
        };
        let label = format!(
            "C1: org badge list, 100 a page, one client, {} awards",
            r.size
        );
        let (o, cpu) = with_cpu(r.service.pid(), runs.run(&label, spec)).await?;
        pages.push((r.size, o, cpu));
    }
    let main = running
        .iter()
        .find(|r| r.size == args.main_size)
        .ok_or_else(|| anyhow::anyhow!("no main size"))?;
    let with = args.work.join("pgbench-earn-counted.sql");
    let without = args.work.join("pgbench-earn.sql");
    std::fs::write(&with, earn_script(main.built.org, true))?;
    std::fs::write(&without, earn_script(main.built.org, false))?;
    let mut earns = Vec::new();
    let seconds = args.seconds as u64;
    for _ in 0..GOAL_PAIRS {
        let counted = pgbench::run(&main.url, &with, CONCURRENCY, seconds)?;
        let plain = pgbench::run(&main.url, &without, CONCURRENCY, seconds)?;
        eprintln!(
            "bench: C2 earns {:.0} tx/s with the counter row, {:.0} without",
            counted.tps, plain.tps
        );
        earns.push(Pair {
            measured: counted.tps,
            reference: plain.tps,
        });
    }
    // The awards the runs wrote (awarded at 1 µs, which no dataset row is)
    // go, and the counts are counted again, so that the dataset is as built
    // for the runs after these and for the next report.
    let db = Database::connect(main.url.as_str()).await?;
    db.execute_unprepared(&format!(
        "DELETE FROM awards WHERE org_id = {} AND awarded_at = 1",
        main.built.org
    ))
    .await?;
    db.execute_unprepared("VACUUM (ANALYZE) awards").await?;
    db.close().await?;
    dataset::open_for_loading(&main.url)
        .await?
        .recount_badges(Some(main.built.org))
        .await?;
    Ok(CountFigures {
        pages,
        earns,
        earn_script: earn_script(main.built.org, true),
    })
}

pub(super) fn counts_goals(c: &CountFigures, goals: &mut Vec<Goal>) {
    if let [(small, a, ca), (large, b, cb)] = c.pages.as_slice() {
        let p50 = ratio(b.p50_ms, a.p50_ms);
        let pg = ratio(cb.postgres_ms, ca.postgres_ms);
        goals.push(Goal {
            id: "C1",
            goal: format!(
                "a 100-badge page of the org's badge list with its counts (REST, one client): p50 and PostgreSQL CPU per call at {large} awards ≤ 1.5× those at {small}"
            ),
            measured: format!(
                "p50 {} vs {} ms (**{p50:.2}×**); PostgreSQL {} vs {} ms a call (**{pg:.2}×**)",
                b.p50_ms, a.p50_ms, cb.postgres_ms, ca.postgres_ms
            ),
            met: p50 <= 1.5 && pg <= 1.5,
        });
    }
    let (median, low, high) = pair_ratios(&c.earns);
    goals.push(Goal {
        id: "C2",
        goal: format!(
            "{CONCURRENCY} concurrent earns of one badge (pgbench, the earn's statements as the service runs them): with the counter row ≥ 0.8× the transactions/s without"
        ),
        measured: format!(
            "{}: median **{median:.2}×** ({low:.2}–{high:.2})",
            pairs_text(&c.earns, "tx/s", "tx/s")
        ),
        met: median >= 0.8,
    });
}

/// The section of the report on the counts.
pub(super) fn counts_section(c: &CountFigures) -> String {
    let mut s = String::from(
        "\n## The badges' counts (C1, C2)\n\n\
         | run | calls/s | p50 ms | p99 ms | service ms/call | PostgreSQL ms/call |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for (size, o, cpu) in &c.pages {
        let _ = writeln!(
            s,
            "| org badge list, 100 a page, {size} awards | {:.0} | {} | {} | {} | {} |",
            o.throughput, o.p50_ms, o.p99_ms, cpu.service_ms, cpu.postgres_ms
        );
    }
    let _ = writeln!(
        s,
        "\nC2's transaction (pgbench, {CONCURRENCY} clients; without the counter row, the same without its last statement):\n\n```sql\n{}```",
        c.earn_script
    );
    s
}
