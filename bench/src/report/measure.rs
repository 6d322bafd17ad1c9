//! The measurements: each reference and each run of the service, with the
//! figures the goals are computed from.

use super::*;

/// Every load run of the report, in order.
#[derive(Default)]
pub(super) struct Runs(pub(super) Vec<(String, Outcome)>);

impl Runs {
    pub(super) async fn run(&mut self, label: &str, spec: Spec) -> anyhow::Result<Outcome> {
        eprintln!("bench: {label}");
        let outcome = load::measure(&spec).await?;
        eprintln!("bench:   {}", serde_json::to_string(&outcome)?);
        self.0.push((label.to_owned(), outcome.clone()));
        Ok(outcome)
    }
}

pub(super) fn spec(addr: &str, customers: i64, seconds: f64) -> Spec {
    Spec {
        addr: addr.to_owned(),
        transport: Transport::Grpc,
        shape: Shape::First,
        badge_type: None,
        sort_on: None,
        concurrency: CONCURRENCY,
        rate: None,
        seconds,
        customers,
        tenants: 0,
        zipf: 0.0,
    }
}

/// Figures of one PostgreSQL size.
pub(super) struct SizeFigures {
    pub(super) size: Built,
    pub(super) awards_total: i64,
    pub(super) sweep: Vec<(Kind, Sort, f64)>,
    pub(super) heavy_deep_p50: f64,
    pub(super) peak_rss_mib: f64,
    /// The catalogue cache's own figure after the memory run, and its budget.
    pub(super) cache_bytes: f64,
    pub(super) cache_budget: f64,
    pub(super) plans: Vec<(String, String)>,
}

/// The benchmark client as the service authenticates it.
pub(super) async fn bench_caller(db: &DatabaseConnection, org: i32) -> anyhow::Result<Principal> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, generation FROM api_clients WHERE username = 'bench'",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no bench client"))?;
    Ok(Principal {
        org_id: org,
        client_id: row.try_get("", "id")?,
        generation: row.try_get("", "generation")?,
        can_read: true,
        can_write: true,
    })
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the list call's statement for a regular
/// and a heavy customer, and of the statements that load the catalogue.
pub(super) async fn plans(
    db: &DatabaseConnection,
    org: i32,
) -> anyhow::Result<Vec<(String, String)>> {
    let caller = bench_caller(db, org).await?;
    let mut shapes: Vec<(String, Statement)> = vec![
        (
            format!("customer state row, regular customer {FIRST_REGULAR}"),
            customer_state_statement(
                Dialect::Postgres,
                &caller,
                &CustomerRef::Id(FIRST_REGULAR),
                Scope::Kept,
            ),
        ),
        (
            "customer state row, heavy customer 1".into(),
            customer_state_statement(Dialect::Postgres, &caller, &CustomerRef::Id(1), Scope::Kept),
        ),
        (
            format!(
                "customer state from the tables (issue 13's statement), regular customer {FIRST_REGULAR}"
            ),
            customer_state_statement(
                Dialect::Postgres,
                &caller,
                &CustomerRef::Id(FIRST_REGULAR),
                Scope::All,
            ),
        ),
    ];
    for (i, s) in catalogue_statements(Dialect::Postgres, org)
        .into_iter()
        .enumerate()
    {
        shapes.push((format!("catalogue load, statement {}", i + 1), s));
    }
    let mut out = Vec::new();
    for (name, s) in shapes {
        let explain = Statement {
            sql: format!("EXPLAIN (ANALYZE, BUFFERS) {}", s.sql),
            ..s
        };
        let rows = db.query_all_raw(explain).await?;
        let text: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get_by_index::<String>(0).ok())
            .collect();
        out.push((name, text.join("\n")));
    }
    Ok(out)
}

pub(super) async fn measure_sizes(
    args: &Args,
    runs: &mut Runs,
    sizes: &[Running],
) -> anyhow::Result<Vec<SizeFigures>> {
    let mut figures = Vec::new();
    for r in sizes {
        // Memory first: VmHWM is a high-water mark, so nothing else inflates it.
        runs.run(
            &format!(
                "{}: memory, first page, {MEMORY_CONCURRENCY} in flight",
                r.size
            ),
            Spec {
                concurrency: MEMORY_CONCURRENCY,
                ..spec(&r.service.addr, r.built.regular_customers, args.seconds)
            },
        )
        .await?;
        let peak_rss_mib = r.service.peak_rss_mib()?;
        let cache_bytes = service_metric(&r.service.addr, "badges_catalogue_bytes").await?;
        let cache_budget = service_metric(&r.service.addr, "badges_catalogue_budget_bytes").await?;
        let db = Database::connect(&r.url).await?;
        let plans = plans(&db, r.built.org).await?;
        db.close().await?;
        figures.push(SizeFigures {
            awards_total: r.built.awards,
            size: r.built.clone(),
            sweep: Vec::new(),
            heavy_deep_p50: 0.0,
            peak_rss_mib,
            cache_bytes,
            cache_budget,
            plans,
        });
    }
    // The sweep compares sizes: each starts with its tables and indexes in
    // the OS cache, as in steady state, not with whatever earlier runs left.
    for r in sizes {
        prewarm(&r.url).await;
    }
    for kind in Kind::ALL {
        for sort in Sort::ALL {
            for (r, f) in sizes.iter().zip(figures.iter_mut()) {
                let o = runs
                    .run(
                        &format!(
                            "{}: {} by {}, 1 in flight",
                            r.size,
                            kind.wire(),
                            sort.wire()
                        ),
                        Spec {
                            badge_type: Some(kind),
                            sort_on: Some(sort),
                            concurrency: 1,
                            ..spec(
                                &r.service.addr,
                                r.built.regular_customers,
                                args.sweep_seconds,
                            )
                        },
                    )
                    .await?;
                f.sweep.push((kind, sort, o.p50_ms));
            }
        }
    }
    for (r, f) in sizes.iter().zip(figures.iter_mut()) {
        let o = runs
            .run(
                &format!(
                    "{}: heavy customer's deepest page (offset), 1 in flight",
                    r.size
                ),
                Spec {
                    shape: Shape::Deep,
                    concurrency: 1,
                    ..spec(&r.service.addr, r.built.regular_customers, args.seconds)
                },
            )
            .await?;
        f.heavy_deep_p50 = o.p50_ms;
    }
    Ok(figures)
}

/// Mean time of the list call's statement alone on one connection: what the
/// database itself spends on a call, without any transport.
pub(super) async fn statement_ms(
    url: &str,
    org: i32,
    customers: i64,
    runs: i64,
) -> anyhow::Result<f64> {
    let dialect = Dialect::of_url(url).ok_or_else(|| anyhow::anyhow!("unknown URL"))?;
    let db = Database::connect(url).await?;
    let caller = bench_caller(&db, org).await?;
    let started = Instant::now();
    for k in 0..runs {
        let customer = FIRST_REGULAR + (k * 7919) % customers.max(1);
        db.query_all_raw(customer_state_statement(
            dialect,
            &caller,
            &CustomerRef::Id(customer),
            Scope::Kept,
        ))
        .await?;
    }
    db.close().await?;
    Ok((started.elapsed().as_secs_f64() * 1000.0 / runs as f64 * 1000.0).round() / 1000.0)
}

/// One saturation run and the overload run after it.
pub(super) struct OverloadPair {
    pub(super) rate: u64,
    pub(super) saturated: Outcome,
    pub(super) overloaded: Outcome,
}

impl OverloadPair {
    /// Accepted calls' p50 under overload over that at saturation.
    pub(super) fn p50_ratio(&self) -> f64 {
        ratio(self.overloaded.p50_ms, self.saturated.p50_ms)
    }

    pub(super) fn p99_ratio(&self) -> f64 {
        ratio(self.overloaded.p99_ms, self.saturated.p99_ms)
    }

    /// Calls that failed other than by shedding, and any shed at saturation
    /// (where the cap should refuse none).
    pub(super) fn failed(&self) -> u64 {
        self.overloaded.errors + self.saturated.errors + self.saturated.shed
    }
}

/// Goal P1's pairs: the service's gRPC first page at 16 in flight, then
/// pgbench on issue 13's customer-state statement with as many clients.
pub(super) async fn p1_pairs(
    args: &Args,
    runs: &mut Runs,
    main: &Running,
) -> anyhow::Result<Vec<Pair>> {
    let script = args.work.join("pgbench-customer-state.sql");
    let mut pairs = Vec::new();
    for pair in 1..=GOAL_PAIRS {
        let service = runs
            .run(
                &format!(
                    "{}: gRPC first page, {CONCURRENCY} in flight (P1 pair {pair})",
                    main.size
                ),
                spec(
                    &main.service.addr,
                    main.built.regular_customers,
                    args.seconds,
                ),
            )
            .await?;
        let pg = pgbench::run(&main.url, &script, CONCURRENCY, args.seconds as u64)?;
        eprintln!("bench:   pgbench customer state (P1 pair {pair}) {pg:?}");
        pairs.push(Pair {
            measured: service.throughput,
            reference: pg.tps,
        });
    }
    Ok(pairs)
}

/// Goal P6's pairs: the service on SQLite, then the trivial tonic handler,
/// each at 16 in flight.
pub(super) async fn p6_pairs(
    args: &Args,
    runs: &mut Runs,
    references: &References,
    sqlite: &SqliteFigures,
) -> anyhow::Result<Vec<Pair>> {
    let customers = sqlite.built.regular_customers;
    let (url, _) = ensure_sqlite(args, args.main_size).await?;
    let service = start_service(args, &url, "service-sqlite-pairs", Some(UNCAPPED)).await?;
    let (trivial, _) = start_trivial(args, &references.grpc_answer, &references.rest_answer)?;
    wait_http(&service.addr, "/metrics").await?;
    let mut pairs = Vec::new();
    for pair in 1..=GOAL_PAIRS {
        let measured = runs
            .run(
                &format!("SQLite: gRPC first page, {CONCURRENCY} in flight (P6 pair {pair})"),
                spec(&service.addr, customers, args.seconds),
            )
            .await?;
        let reference = runs
            .run(
                &format!("trivial tonic handler, {CONCURRENCY} in flight (P6 pair {pair})"),
                spec(&trivial.addr, customers, args.seconds),
            )
            .await?;
        pairs.push(Pair {
            measured: measured.throughput,
            reference: reference.throughput,
        });
    }
    Ok(pairs)
}

/// The catalogue sizes of goal P8, each with 1,000 regular customers.
pub(super) const CATALOGUE_SIZES: [i64; 2] = [100, 10_000];

/// Regular awards of the P8 datasets: 1,000 customers of 10 badges.
pub(super) const CATALOGUE_AWARDS: i64 = 10_000;

/// The PostgreSQL sizes, each with its service running.
pub(super) async fn start_sizes(args: &Args) -> anyhow::Result<Vec<Running>> {
    let mut running = Vec::new();
    for &size in &args.sizes {
        let (url, built) = ensure_postgres(args, &format!("badges_bench_{size}"), |url| {
            dataset::Args::sized(url, size)
        })
        .await?;
        let service = start_service(args, &url, &format!("service-{size}"), Some(UNCAPPED)).await?;
        running.push(Running {
            size,
            url,
            built,
            service,
        });
    }
    Ok(running)
}

/// The database's references on the main size, and the answers the trivial
/// servers replay.
pub(super) struct References {
    /// Issue 13's customer-state statement (goal P1's reference).
    pub(super) state: PgbenchOutcome,
    pub(super) state_one: PgbenchOutcome,
    /// The service's own statement for one list call, one client.
    pub(super) service_one: PgbenchOutcome,
    pub(super) reference_script: String,
    pub(super) service_script: String,
    pub(super) grpc_answer: PathBuf,
    pub(super) rest_answer: PathBuf,
}

pub(super) async fn references(args: &Args, main: &Running) -> anyhow::Result<References> {
    let secs = args.seconds as u64;
    let (grpc_answer, rest_answer) = capture(&main.service.addr, &args.work).await?;
    let customers = Customers {
        first: FIRST_REGULAR,
        last: FIRST_REGULAR + main.built.regular_customers - 1,
    };
    let reference = args.work.join("pgbench-customer-state.sql");
    let reference_script = pgbench::write_reference_script(&reference, main.built.org, &customers)?;
    let state = pgbench::run(&main.url, &reference, CONCURRENCY, secs)?;
    eprintln!("bench:   pgbench customer state {state:?}");
    let state_one = pgbench::run(&main.url, &reference, 1, secs)?;
    eprintln!("bench:   pgbench customer state, 1 client {state_one:?}");
    let db = Database::connect(&main.url).await?;
    let caller = bench_caller(&db, main.built.org).await?;
    db.close().await?;
    let own = args.work.join("pgbench-service-statement.sql");
    let service_script = pgbench::write_service_script(&own, &caller, &customers)?;
    let service_one = pgbench::run(&main.url, &own, 1, secs)?;
    eprintln!("bench:   pgbench service statement, 1 client {service_one:?}");
    Ok(References {
        state,
        state_one,
        service_one,
        reference_script,
        service_script,
        grpc_answer,
        rest_answer,
    })
}

/// The service on the main size: saturation, a heavy customer's pages one at
/// a time, open loops at half saturation and the latency curve.
pub(super) struct ServiceFigures {
    pub(super) grpc_first: Outcome,
    pub(super) cpu: CpuSplit,
    pub(super) rest_first: Outcome,
    pub(super) heavy_first: Outcome,
    pub(super) heavy_offset: Outcome,
    pub(super) heavy_keyset: Outcome,
    /// First page, deepest by offset, deepest by keyset: (rate, outcome).
    pub(super) half: Vec<(u64, Outcome)>,
    pub(super) curve: Vec<(f64, Outcome)>,
    /// P11: a regular customer's first page and that of the customer with
    /// 5,000 awards of one badge, one call in flight.
    pub(super) regular_single: Outcome,
    pub(super) history_single: Outcome,
}

/// Goal P11's customer: `dataset::HISTORY`, who earned badge 0 (an EARN
/// badge) 5,000 times, one award a day; added to the dataset at run time
/// (once), with its state row built as the service's writes would have.
pub(super) async fn history_customer(url: &str, org: i32) -> anyhow::Result<()> {
    use dataset::{HISTORY, HISTORY_AWARDS};
    let db = Database::connect(url).await?;
    let n: i64 = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT COUNT(*) AS n FROM awards WHERE org_id = {org} AND customer_id = {HISTORY}"
            ),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("count missing"))?
        .try_get("", "n")?;
    if n != HISTORY_AWARDS {
        for sql in [
            format!("DELETE FROM awards WHERE org_id = {org} AND customer_id = {HISTORY}"),
            format!(
                "INSERT INTO customers (org_id, customer_id) VALUES ({org}, {HISTORY}) ON CONFLICT DO NOTHING"
            ),
            format!(
                "INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, expires_at, revoked) \
                 SELECT '64000000' || lpad(to_hex(g), 16, '0'), {org}, '660000000000000000000000', {HISTORY}, \
                 1704067200000000 + g * 86400000000, 1704067200000000 + g * 86400000000 - 5000000, NULL, FALSE \
                 FROM generate_series(1, {HISTORY_AWARDS}) g"
            ),
            "ANALYZE awards".to_owned(),
        ] {
            db.execute_unprepared(&sql).await?;
        }
    }
    db.close().await?;
    let parsed: badges::store::DatabaseUrl = url.parse().map_err(anyhow::Error::msg)?;
    let store =
        badges::store::Store::connect(&parsed, &badges::store::PoolSettings::default()).await?;
    store.rebuild_customer_states(org, &[HISTORY]).await?;
    store.close().await?;
    Ok(())
}

pub(super) async fn service_runs(
    args: &Args,
    runs: &mut Runs,
    main: &Running,
) -> anyhow::Result<ServiceFigures> {
    let (m, secs, customers) = (main.size, args.seconds, main.built.regular_customers);
    let addr = main.service.addr.as_str();
    let (grpc_first, cpu) = with_cpu(
        main.service.pid(),
        runs.run(
            &format!("{m}: gRPC first page, {CONCURRENCY} in flight"),
            spec(addr, customers, secs),
        ),
    )
    .await?;
    eprintln!("bench:   CPU per call {cpu:?}");
    let rest_first = runs
        .run(
            &format!("{m}: REST first page, {CONCURRENCY} in flight"),
            Spec {
                transport: Transport::Rest,
                ..spec(addr, customers, secs)
            },
        )
        .await?;
    let mut saturated = vec![(Shape::First, "first page", grpc_first.clone())];
    for (shape, what) in [
        (Shape::Deep, "deepest page (offset)"),
        (Shape::DeepKeyset, "deepest page (keyset)"),
    ] {
        let o = runs
            .run(
                &format!("{m}: gRPC {what}, {CONCURRENCY} in flight"),
                Spec {
                    shape,
                    ..spec(addr, customers, secs)
                },
            )
            .await?;
        saturated.push((shape, what, o));
    }

    // P7: a heavy customer's first, deepest-by-offset and deepest-by-keyset pages.
    let mut single = Vec::new();
    for (shape, what) in [
        (Shape::HeavyFirst, "heavy customer's first page (size 100)"),
        (Shape::Deep, "heavy customer's deepest page by offset"),
        (Shape::DeepKeyset, "heavy customer's deepest page by keyset"),
    ] {
        let s = Spec {
            shape,
            concurrency: 1,
            ..spec(addr, customers, secs)
        };
        single.push(runs.run(&format!("{m}: {what}, 1 in flight"), s).await?);
    }
    let [heavy_first, heavy_offset, heavy_keyset] =
        <[Outcome; 3]>::try_from(single).map_err(|_| anyhow::anyhow!("three single-call runs"))?;

    // P3: open loop at half of each shape's saturation.
    let mut half = Vec::new();
    for (shape, what, saturated) in &saturated {
        let rate = (saturated.throughput / 2.0).max(1.0) as u64;
        let o = runs
            .run(
                &format!("{m}: gRPC {what}, open loop at {rate}/s (half saturation)"),
                Spec {
                    shape: *shape,
                    rate: Some(rate),
                    concurrency: OPEN_LOOP_WORKERS,
                    ..spec(addr, customers, secs)
                },
            )
            .await?;
        half.push((rate, o));
    }

    // Latency against offered load.
    let mut curve = Vec::new();
    for f in CURVE {
        let rate = (grpc_first.throughput * f).max(1.0) as u64;
        let o = runs
            .run(
                &format!("{m}: gRPC first page, open loop at {rate}/s ({f} × saturation)"),
                Spec {
                    rate: Some(rate),
                    concurrency: OPEN_LOOP_WORKERS,
                    ..spec(addr, customers, secs)
                },
            )
            .await?;
        curve.push((rate as f64, o));
    }
    // P11: the customer with 5,000 awards of one badge against a regular
    // one, one call in flight each.
    history_customer(&main.url, main.built.org).await?;
    let regular_single = runs
        .run(
            &format!("{m}: gRPC first page of a regular customer, 1 in flight"),
            Spec {
                concurrency: 1,
                ..spec(addr, customers, secs)
            },
        )
        .await?;
    let history_single = runs
        .run(
            &format!(
                "{m}: gRPC first page of the customer with 5,000 awards of one badge, 1 in flight"
            ),
            Spec {
                shape: Shape::History,
                concurrency: 1,
                ..spec(addr, customers, secs)
            },
        )
        .await?;
    Ok(ServiceFigures {
        grpc_first,
        cpu,
        rest_first,
        heavy_first,
        heavy_offset,
        heavy_keyset,
        half,
        curve,
        regular_single,
        history_single,
    })
}

/// Overload (issue 7): the service as configured by default (in-flight cap
/// = pool size = 16), saturated by a closed loop at 16 in flight, then
/// offered twice the rate it just served, in alternating pairs; and the last
/// pair's offered load with the cap lifted.
pub(super) async fn overload_runs(
    args: &Args,
    runs: &mut Runs,
    url: &str,
    customers: i64,
) -> anyhow::Result<(Vec<OverloadPair>, Outcome)> {
    let (m, secs) = (args.main_size, args.seconds);
    let deployed = start_service(args, url, "service-default", None).await?;
    // The saturation and overload runs of each pair, pinned alike.
    let pinning = Pinning::new(deployed.pid());
    let mut overload = Vec::new();
    for pair in 1..=OVERLOAD_PAIRS {
        let saturated = runs
            .run(
                &format!(
                    "{m}: default in-flight cap, gRPC first page, {CONCURRENCY} in flight (pair {pair})"
                ),
                spec(&deployed.addr, customers, secs),
            )
            .await?;
        let twice = (saturated.throughput * 2.0).max(1.0) as u64;
        let overloaded = runs
            .run(
                &format!(
                    "{m}: default in-flight cap, gRPC first page, open loop at {twice}/s (2 × saturation, pair {pair})"
                ),
                Spec {
                    rate: Some(twice),
                    concurrency: OVERLOAD_WORKERS,
                    ..spec(&deployed.addr, customers, secs)
                },
            )
            .await?;
        overload.push(OverloadPair {
            rate: twice,
            saturated,
            overloaded,
        });
    }
    drop(pinning);
    drop(deployed);
    let lifted = start_service(args, url, "service-lifted", Some(UNCAPPED)).await?;
    let twice = overload.last().map_or(1, |o| o.rate);
    let queued = runs
        .run(
            &format!(
                "{m}: in-flight cap lifted ({UNCAPPED}), gRPC first page, open loop at {twice}/s"
            ),
            Spec {
                rate: Some(twice),
                concurrency: OVERLOAD_WORKERS,
                ..spec(&lifted.addr, customers, secs)
            },
        )
        .await?;
    Ok((overload, queued))
}

/// The transport's ceiling: trivial handlers with the same answer.
pub(super) async fn trivial_runs(
    args: &Args,
    runs: &mut Runs,
    references: &References,
    customers: i64,
) -> anyhow::Result<(Outcome, Outcome)> {
    let (trivial, rest_addr) =
        start_trivial(args, &references.grpc_answer, &references.rest_answer)?;
    wait_http(
        &rest_addr,
        &format!("/api_gateway/v1/badges/management/{FIRST_REGULAR}"),
    )
    .await?;
    let grpc = runs
        .run(
            &format!("trivial tonic handler, canned first page, {CONCURRENCY} in flight"),
            spec(&trivial.addr, customers, args.seconds),
        )
        .await?;
    let rest = runs
        .run(
            &format!("trivial axum handler, canned first page, {CONCURRENCY} in flight"),
            Spec {
                transport: Transport::Rest,
                ..spec(&rest_addr, customers, args.seconds)
            },
        )
        .await?;
    Ok((grpc, rest))
}

/// SQLite, the embedded default, and the list call's statement alone on
/// both stores (the service on SQLite runs in goal P6's pairs).
pub(super) struct SqliteFigures {
    pub(super) built: Built,
    pub(super) statement_ms: f64,
    pub(super) pg_statement_ms: f64,
}

pub(super) async fn sqlite_runs(args: &Args, main: &Running) -> anyhow::Result<SqliteFigures> {
    let m = args.main_size;
    let (url, built) = ensure_sqlite(args, m).await?;
    let sqlite_ms = statement_ms(&url, built.org, built.regular_customers, 500).await?;
    let pg_statement_ms =
        statement_ms(&main.url, main.built.org, main.built.regular_customers, 500).await?;
    Ok(SqliteFigures {
        built,
        statement_ms: sqlite_ms,
        pg_statement_ms,
    })
}

/// Goal P8: the first page, one call in flight, with a small and a large
/// catalogue (1,000 regular customers each).
pub(super) async fn catalogue_runs(
    args: &Args,
    runs: &mut Runs,
) -> anyhow::Result<Vec<(Built, Outcome)>> {
    let mut out = Vec::new();
    for badges in CATALOGUE_SIZES {
        let (url, built) =
            ensure_postgres(args, &format!("badges_bench_catalogue_{badges}"), |url| {
                dataset::Args {
                    database_url: url,
                    awards: CATALOGUE_AWARDS,
                    badges,
                    heavy: 0,
                }
            })
            .await?;
        let service = start_service(
            args,
            &url,
            &format!("service-catalogue-{badges}"),
            Some(UNCAPPED),
        )
        .await?;
        let o = runs
            .run(
                &format!("{badges}-badge catalogue: gRPC first page, 1 in flight"),
                Spec {
                    concurrency: 1,
                    ..spec(&service.addr, built.regular_customers, args.seconds)
                },
            )
            .await?;
        out.push((built, o));
    }
    Ok(out)
}
