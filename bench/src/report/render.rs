//! Rendering: `bench/REPORT.md`, its charts, and the machine it ran on.

use super::*;

/// The two charts, beside the report.
pub(super) fn write_charts(
    args: &Args,
    sizes: &[SizeFigures],
    curve: &[(f64, Outcome)],
) -> anyhow::Result<()> {
    let dir = args.out.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&dir)?;
    let by_size = Chart {
        title: "p50 latency against dataset size (1 in flight)".into(),
        x_label: "awards in the dataset".into(),
        y_label: "p50 (ms)".into(),
        log_x: true,
        series: {
            let mut series: Vec<Series> = Kind::ALL
                .iter()
                .map(|&kind| Series {
                    name: format!("{}, first page", kind.wire()),
                    points: sizes
                        .iter()
                        .map(|s| {
                            let p50 = s
                                .sweep
                                .iter()
                                .find(|(k, so, _)| *k == kind && *so == Sort::ExpiresOn)
                                .map_or(0.0, |x| x.2);
                            (s.awards_total as f64, p50)
                        })
                        .collect(),
                })
                .collect();
            series.push(Series {
                name: "heavy, deepest (offset)".into(),
                points: sizes
                    .iter()
                    .map(|s| (s.awards_total as f64, s.heavy_deep_p50))
                    .collect(),
            });
            series
        },
    };
    std::fs::write(dir.join("latency-vs-size.svg"), by_size.svg())?;
    let by_load = Chart {
        title: format!(
            "gRPC first page: latency against offered load ({} awards)",
            args.main_size
        ),
        x_label: "offered load (calls/s)".into(),
        y_label: "latency (ms)".into(),
        log_x: false,
        series: vec![
            Series {
                name: "p50".into(),
                points: curve.iter().map(|(r, o)| (*r, o.p50_ms)).collect(),
            },
            Series {
                name: "p99".into(),
                points: curve.iter().map(|(r, o)| (*r, o.p99_ms)).collect(),
            },
        ],
    };
    std::fs::write(dir.join("latency-vs-load.svg"), by_load.svg())?;
    Ok(())
}

/// Whether a plan reads a large table sequentially.
pub(super) fn large_seq_scan(plan: &str) -> bool {
    ["awards", "enrolments", "customers"]
        .iter()
        .any(|t| plan.contains(&format!("Seq Scan on {t}")))
}

pub(super) struct Machine {
    pub(super) date: String,
    pub(super) commit: String,
    pub(super) cpu: String,
    pub(super) cores: String,
    pub(super) memory: String,
    pub(super) kernel: String,
    pub(super) postgres: String,
    pub(super) rustc: String,
}

pub(super) fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

pub(super) fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let dirty =
        !command_line("git", &["status", "--porcelain", "--untracked-files=no"]).eq("unknown");
    Machine {
        date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        commit: format!(
            "{}{}",
            command_line("git", &["rev-parse", "--short", "HEAD"]),
            if dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        ),
        cpu: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into()),
        cores: command_line("nproc", &[]),
        memory: meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into()),
        kernel: command_line("uname", &["-sr"]),
        postgres: command_line("psql", &["--version"]),
        rustc: command_line("rustc", &["--version"]),
    }
}

pub(super) struct Rendered<'a> {
    pub(super) machine: &'a Machine,
    pub(super) args: &'a Args,
    pub(super) minutes: f64,
    pub(super) goals: &'a [Goal],
    pub(super) sizes: &'a [SizeFigures],
    pub(super) references: &'a References,
    pub(super) service: &'a ServiceFigures,
    pub(super) sqlite: &'a SqliteFigures,
    pub(super) catalogues: &'a [(Built, Outcome)],
    pub(super) tenants: &'a TenantFigures,
    pub(super) counts: &'a CountFigures,
    pub(super) limits: &'a LimitFigures,
    pub(super) runs: &'a Runs,
    pub(super) overload: &'a [OverloadPair],
    pub(super) queued: &'a Outcome,
    pub(super) trivial_rest: &'a Outcome,
}

pub(super) fn render(r: Rendered) -> String {
    let mut s = String::new();
    let m = r.machine;
    let _ = writeln!(
        s,
        "# Benchmark report\n\n\
         Written by `bench/run` ({:.0} min); do not edit by hand. How each figure is made:\n\
         [README.md](README.md). Each goal not met is explained there, with the measurements\n\
         of this report that bound it: [where the goals stand](README.md#where-the-goals-stand).\n\n\
         | | |\n| --- | --- |\n\
         | date | {} |\n| commit | {} |\n| CPU | {} |\n| cores | {} |\n| memory | {} |\n\
         | kernel | {} |\n| PostgreSQL | {} (same machine) |\n| Rust | {} |\n\
         | load | the load generator, the service and PostgreSQL share these cores |\n\
         | runs | {} s each ({} s in the badgeType × sortOn sweep), after 1 s of warm-up |\n",
        r.minutes,
        m.date,
        m.commit,
        m.cpu,
        m.cores,
        m.memory,
        m.kernel,
        m.postgres,
        m.rustc,
        r.args.seconds,
        r.args.sweep_seconds
    );

    let _ = writeln!(
        s,
        "## Goals\n\nPostgreSQL, {} awards, unless said.\n\n| id | goal | measured | met |\n| --- | --- | --- | --- |",
        r.args.main_size
    );
    for g in r.goals {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            g.id,
            g.goal,
            g.measured,
            if g.met { "yes" } else { "**no**" }
        );
    }

    let t = r.tenants;
    let _ = writeln!(
        s,
        "\n## Many tenants (T1–T5)\n\n\
         {} orgs × {} badges × {} customers ({} rows, built in {} s: `bench/src/tenants.rs`), one client per org, \
         served with the default configuration (per-client limits aside); each org's client verified once \
         before the runs. One org: the main dataset, served the same way.\n\n\
         | run | calls/s | p50 ms | p99 ms |\n| --- | --- | --- | --- |\n\
         | one org | {:.0} | {} | {} |\n| {} orgs, Zipf 1.0 | {:.0} | {} | {} |\n| {} orgs, uniform | {:.0} | {} | {} |\n\n\
         Peak RSS {} MiB; the index cache held {} MiB, the row cache {} MiB; catalogue hit ratio {:.3}. \
         One load of a 1,000-badge org's index: {} ms CPU ({} ms service, {} ms PostgreSQL).",
        t.built.orgs,
        t.built.badges,
        t.built.customers,
        t.built.rows,
        t.built.seconds,
        t.one_org.throughput,
        t.one_org.p50_ms,
        t.one_org.p99_ms,
        t.built.orgs,
        t.zipf.throughput,
        t.zipf.p50_ms,
        t.zipf.p99_ms,
        t.built.orgs,
        t.uniform.throughput,
        t.uniform.p50_ms,
        t.uniform.p99_ms,
        t.peak_rss_mib,
        t.catalogue_mib,
        t.row_mib,
        t.hit_ratio,
        t.load.total_cpu_ms,
        t.load.service_cpu_ms,
        t.load.postgres_cpu_ms,
    );

    s.push_str(&counts_section(r.counts));
    s.push_str(&limits_section(r.limits));

    let _ = writeln!(
        s,
        "\n## Datasets\n\nSame per-customer shape at every size (`bench/src/dataset.rs`): 1,000 badges, regular\n\
         customers holding 10 each, 1,000 heavy customers holding every badge, edge customers. The\n\
         catalogue datasets of P8 have 100 and 10,000 badges, 1,000 regular customers and no heavy ones.\n\n\
         | store | badges | regular awards | awards | enrolments | build (s) | rows/s |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    let row = |s: &mut String, store: &str, b: &Built| {
        let _ = writeln!(
            s,
            "| {store} | {} | {} | {} | {} | {} | {} |",
            b.badges,
            b.regular_customers * dataset::PER_CUSTOMER,
            b.awards,
            b.enrolments,
            b.seconds,
            b.rows_per_second
        );
    };
    for size in r.sizes {
        row(&mut s, "PostgreSQL", &size.size);
    }
    row(&mut s, "SQLite", &r.sqlite.built);
    for (b, _) in r.catalogues {
        row(&mut s, "PostgreSQL", b);
    }
    let _ = writeln!(
        s,
        "\nA build is reused by later runs while it is complete (`--rebuild` forces a new one); its figures are those of the run that built it."
    );

    let _ = writeln!(
        s,
        "\n## Charts\n\n![p50 against dataset size](latency-vs-size.svg)\n\n![latency against offered load](latency-vs-load.svg)\n\n\
         | offered (calls/s) | served (calls/s) | p50 (ms) | p99 (ms) | p99.9 (ms) |\n| --- | --- | --- | --- | --- |"
    );
    for (rate, o) in &r.service.curve {
        let _ = writeln!(
            s,
            "| {rate} | {} | {} | {} | {} |",
            o.throughput, o.p50_ms, o.p99_ms, o.p999_ms
        );
    }

    let (refs, cpu) = (r.references, r.service.cpu);
    let _ = writeln!(
        s,
        "\n## References\n\n\
         - pgbench, `-M prepared -c {} -j 2 -T {}`, issue 13's customer-state statement (goal P1's reference): **{:.0} tx/s**, latency average {} ms; 1 client: {:.2} ms a statement ({:.0} tx/s).\n\
         - pgbench, 1 client, the service's own statement for one list call (the same reads, and a header row with the catalogue version and the client's generation): {:.2} ms a statement ({:.0} tx/s): the database's own floor for one call on this machine.\n\
         - CPU per first-page call at saturation (gRPC, 16 in flight; from `/proc`): service {} ms, PostgreSQL {} ms, load generator {} ms.\n\
         - The service's statement alone, one connection, 500 runs: PostgreSQL {} ms, SQLite {} ms a statement.\n\
         - trivial axum handler, same canned page as JSON: {} calls/s, p50 {} ms (the trivial tonic handler is in the runs below).\n\n\
         Until issue 13, P1 compared the service with pgbench running the service's own statements (then three per call, the page among them reading the org's whole catalogue); with one statement per call that comparison measures little, so P1 now compares with the statement a list call cannot avoid.\n\n\
         Goal P1's reference script:\n\n```sql\n{}```\n\nThe service's statement, as pgbench replays it:\n\n```sql\n{}```\n",
        refs.state.clients,
        refs.state.seconds,
        refs.state.tps,
        refs.state.latency_avg_ms,
        refs.state_one.latency_avg_ms,
        refs.state_one.tps,
        refs.service_one.latency_avg_ms,
        refs.service_one.tps,
        cpu.service_ms,
        cpu.postgres_ms,
        cpu.load_generator_ms,
        r.sqlite.pg_statement_ms,
        r.sqlite.statement_ms,
        r.trivial_rest.throughput,
        r.trivial_rest.p50_ms,
        refs.reference_script,
        refs.service_script
    );

    let _ = writeln!(
        s,
        "## Overload (issue 7)\n\n\
         The service with its default in-flight cap (the pool's size, 16). Each pair: a closed loop at 16 in flight \
         (saturation), then an open loop offering twice the rate that run served, from {} workers. \
         Latency is of accepted (OK) calls.\n\n\
         | pair | saturation: calls/s | p50 ms | p99 ms | offered/s | served/s | shed | other errors | p50 ms | p99 ms | p50 ratio | p99 ratio |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        OVERLOAD_WORKERS
    );
    for (i, o) in r.overload.iter().enumerate() {
        let (a, b) = (&o.saturated, &o.overloaded);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            i + 1,
            a.throughput,
            a.p50_ms,
            a.p99_ms,
            o.rate,
            b.throughput,
            b.shed,
            o.failed(),
            b.p50_ms,
            b.p99_ms,
            o.p50_ratio(),
            o.p99_ratio()
        );
    }
    let q = r.queued;
    let _ = writeln!(
        s,
        "\nWithout shedding (the cap lifted to {UNCAPPED}), the last pair's offered load ({}/s) for the same time: \
         {} calls answered OK, {} refused, {} failed; counted from their scheduled start, p50 {} ms, p99 {} ms. \
         Nothing is refused, so the excess waits (for a pooled connection, then for a free caller) and every call waits with it.\n",
        q.spec.rate.unwrap_or(0),
        q.ok,
        q.shed,
        q.errors,
        q.p50_ms,
        q.p99_ms
    );

    let _ = writeln!(
        s,
        "## badgeType × sortOn (p50 ms, 1 in flight, first page of regular customers)\n"
    );
    let mut header = "| badgeType | sortOn |".to_owned();
    let mut rule = "| --- | --- |".to_owned();
    for size in r.sizes {
        let _ = write!(header, " {} awards |", size.awards_total);
        rule.push_str(" --- |");
    }
    header.push_str(" largest ÷ smallest |");
    rule.push_str(" --- |");
    let _ = writeln!(s, "{header}\n{rule}");
    if let (Some(first), Some(last)) = (r.sizes.first(), r.sizes.last()) {
        for (i, (kind, sort, p50)) in first.sweep.iter().enumerate() {
            let _ = write!(s, "| {} | {} |", kind.wire(), sort.wire());
            for size in r.sizes {
                let _ = write!(s, " {} |", size.sweep.get(i).map_or(0.0, |x| x.2));
            }
            let big = last.sweep.get(i).map_or(0.0, |x| x.2);
            let _ = writeln!(s, " {:.2} |", if *p50 > 0.0 { big / p50 } else { 0.0 });
        }
    }
    let _ = writeln!(
        s,
        "\n| awards | peak RSS at 64 in flight (MiB) | catalogue cache (bytes, of a budget of) | heavy customer's deepest page p50 (ms) |\n| --- | --- | --- | --- |"
    );
    for size in r.sizes {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} of {:.0} | {} |",
            size.awards_total,
            size.peak_rss_mib,
            size.cache_bytes,
            size.cache_budget,
            size.heavy_deep_p50
        );
    }

    let _ = writeln!(
        s,
        "\n## Every run\n\nLatencies are of OK calls; open-loop latencies count from each call's scheduled start.\n\n\
         | run | OK | shed | errors | calls/s | p50 (ms) | p99 (ms) | p99.9 (ms) |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for (label, o) in &r.runs.0 {
        let _ = writeln!(
            s,
            "| {label} | {} | {} | {} | {} | {} | {} | {} |",
            o.ok, o.shed, o.errors, o.throughput, o.p50_ms, o.p99_ms, o.p999_ms
        );
    }

    let _ = writeln!(
        s,
        "\n## Plans\n\n`EXPLAIN (ANALYZE, BUFFERS)` of the list call's statement (for customer {FIRST_REGULAR} and heavy customer 1) and of the statements that load the catalogue, on each PostgreSQL size."
    );
    for size in r.sizes {
        let _ = writeln!(s, "\n### {} awards\n", size.awards_total);
        for (name, plan) in &size.plans {
            let _ = writeln!(
                s,
                "<details><summary>{name}</summary>\n\n```\n{plan}\n```\n</details>\n"
            );
        }
    }
    s
}
