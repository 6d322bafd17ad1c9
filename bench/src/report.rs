//! `badges-bench report`: builds the datasets (or reuses complete ones), runs
//! the references and the service, and writes `bench/REPORT.md` with its
//! charts. Every goal of the benchmark is a ratio to a reference measured in
//! the same run, on the same machine, with the same load generator.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use badges::auth::Principal;
use badges::domain::list::CustomerRef;
use badges::proto::ListCustomerBadgesRequest;
use badges::proto::customer_badge_service_client::CustomerBadgeServiceClient;
use badges::store::{Dialect, Scope, catalogue_statements, customer_state_statement};
use prost::Message;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

use crate::chart::{Chart, Series};
use crate::dataset::{self, Built, FIRST_REGULAR};
use crate::load::{self, Kind, Outcome, Shape, Sort, Spec, Transport};
use crate::pgbench::{self, Customers, PgbenchOutcome};

#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// PostgreSQL server that holds the datasets, without a database name: a
    /// database `badges_bench_<size>` is made on it per size.
    #[arg(
        long,
        env = "BADGES_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pub postgres: String,
    /// `sslmode` of every connection to it, the service's and pgbench's alike
    /// (TLS buys nothing on loopback).
    #[arg(long, default_value = "disable")]
    pub sslmode: String,
    /// Dataset sizes (awards of regular customers), smallest first.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000i64, 2_000_000, 10_000_000])]
    pub sizes: Vec<i64>,
    /// The size the goals are judged on (also built on SQLite).
    #[arg(long, default_value_t = 2_000_000)]
    pub main_size: i64,
    /// Seconds of each measured run.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Seconds of each run of the badgeType × sortOn sweep.
    #[arg(long, default_value_t = 3.0)]
    pub sweep_seconds: f64,
    /// The service binary (a release build).
    #[arg(long, default_value = "target/release/badges")]
    pub server: PathBuf,
    /// Scratch directory: SQLite files, canned answers, pgbench scripts, logs.
    #[arg(long, default_value = "target/bench")]
    pub work: PathBuf,
    /// Where the report (and its charts, beside it) is written.
    #[arg(long, default_value = "bench/REPORT.md")]
    pub out: PathBuf,
    /// Rebuild every dataset even when a complete one exists.
    #[arg(long)]
    pub rebuild: bool,
}

/// Closed-loop concurrency of the throughput goals.
const CONCURRENCY: usize = 16;
/// Concurrency of the memory goal.
const MEMORY_CONCURRENCY: usize = 64;
/// Workers (each a client with its own connection) sharing an open loop's
/// schedule: enough that a free worker is there when an arrival is due (at
/// twice saturation 16 of them hold accepted calls), few enough to be a client population like the
/// closed loop's (hundreds of connections cost the service more per call).
const OPEN_LOOP_WORKERS: usize = 32;
/// In-flight cap of the services that measure the query path (issue 6): the
/// memory goal holds 64 calls in flight, past the default cap (the pool's
/// size, 16), so these services lift it. The overload runs use the default.
const UNCAPPED: usize = 1024;
/// Alternating saturation and overload runs, so that drift on a shared
/// machine falls on both sides of each comparison.
const OVERLOAD_PAIRS: usize = 3;
/// Alternating pairs of a run and its reference behind goals P1 and P6: the
/// goal is judged on the median ratio, so one noisy run does not decide it.
const GOAL_PAIRS: usize = 3;
/// Accepted calls keep their latency at twice saturation when their p50 and
/// p99 stay within this factor of those at saturation (median over pairs).
const KEPT_LATENCY: f64 = 1.25;
/// Offered load of the latency curve, as fractions of gRPC saturation.
const CURVE: [f64; 7] = [0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.2];

/// A service (or reference) process, stopped when dropped.
struct Process {
    child: Child,
    addr: String,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set (`VmHWM`) so far, in MiB.
    fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmHWM"))?;
        Ok((kib / 1024.0 * 10.0).round() / 10.0)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SIGTERM, so the service drains and exits as it would in production.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> anyhow::Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.to_string())
}

/// CPU seconds (user + system) a process has used so far, with its start
/// time (which tells a reused pid from the process it had before).
fn cpu_and_start(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime, stime and
    // starttime are the 14th, 15th and 22nd fields of the line, in clock
    // ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(((ticks(11)? + ticks(12)?) as f64 / 100.0, ticks(19)?))
}

fn cpu_seconds(pid: u32) -> f64 {
    cpu_and_start(pid).map_or(0.0, |(cpu, _)| cpu)
}

/// Every PostgreSQL process of the machine: pid → (CPU seconds, start time).
fn postgres_processes() -> HashMap<u32, (f64, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| Some((pid, cpu_and_start(pid)?)))
        .collect()
}

/// The CPU PostgreSQL spent between two snapshots: each process's own
/// growth, and the whole of those started in between. A process that ended
/// in between is not seen (the service's pooled backends live on); a sum of
/// all processes at each end would instead subtract the CPU of every
/// backend that ended, such as the previous run's pgbench clients.
fn postgres_cpu_between(
    before: &HashMap<u32, (f64, u64)>,
    after: &HashMap<u32, (f64, u64)>,
) -> f64 {
    after
        .iter()
        .map(|(pid, &(cpu, start))| match before.get(pid) {
            Some(&(earlier, same_start)) if same_start == start => cpu - earlier,
            _ => cpu,
        })
        .sum()
}

/// Where the CPU time of one run went, per call.
#[derive(Clone, Copy, Debug, Default)]
struct CpuSplit {
    service_ms: f64,
    postgres_ms: f64,
    load_generator_ms: f64,
}

/// Runs `f` and splits the CPU it cost among the service, PostgreSQL and
/// this process, per OK call.
async fn with_cpu<F: std::future::Future<Output = anyhow::Result<Outcome>>>(
    service_pid: u32,
    f: F,
) -> anyhow::Result<(Outcome, CpuSplit)> {
    let me = std::process::id();
    let postgres_before = postgres_processes();
    let before = (cpu_seconds(service_pid), cpu_seconds(me));
    let o = f.await?;
    let after = (cpu_seconds(service_pid), cpu_seconds(me));
    let postgres = postgres_cpu_between(&postgres_before, &postgres_processes());
    // The run's one-second warm-up is not in `o.ok`; count its calls too.
    let calls = (o.ok as f64 * (o.spec.seconds + 1.0) / o.spec.seconds).max(1.0);
    let per_call = |a: f64, b: f64| ((b - a) * 1000.0 / calls * 1000.0).round() / 1000.0;
    Ok((
        o,
        CpuSplit {
            service_ms: per_call(before.0, after.0),
            postgres_ms: per_call(0.0, postgres),
            load_generator_ms: per_call(before.1, after.1),
        },
    ))
}

/// Starts the service on `database_url` and waits until it answers.
async fn start_service(
    args: &Args,
    database_url: &str,
    name: &str,
    max_in_flight: Option<usize>,
) -> anyhow::Result<Process> {
    let addr = free_addr()?;
    let log = std::fs::File::create(args.work.join(format!("{name}.log")))?;
    let mut cmd = Command::new(&args.server);
    cmd.arg("serve")
        .env("BADGES_DATABASE_URL", database_url)
        .env("BADGES_LISTEN", &addr)
        // One client drives all the load: no per-client limit in the way,
        // and its share of calls in flight is the whole process's.
        .env("BADGES_RATE_LIMIT_PER_SECOND", "0")
        .env("BADGES_MAX_IN_FLIGHT_PER_CLIENT", "100000")
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(n) = max_in_flight {
        cmd.env("BADGES_MAX_IN_FLIGHT", n.to_string());
    }
    let process = Process {
        child: cmd.spawn()?,
        addr,
    };
    wait_http(&process.addr, "/metrics").await?;
    Ok(process)
}

/// Starts the trivial reference servers; returns the process and the REST
/// address (the process's `addr` is the gRPC one).
fn start_trivial(
    args: &Args,
    grpc_answer: &Path,
    rest_answer: &Path,
) -> anyhow::Result<(Process, String)> {
    let (grpc, rest) = (free_addr()?, free_addr()?);
    let child = Command::new(std::env::current_exe()?)
        .args(["trivial", "--grpc-listen", &grpc, "--rest-listen", &rest])
        .arg("--grpc-answer")
        .arg(grpc_answer)
        .arg("--rest-answer")
        .arg(rest_answer)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(args.work.join("trivial.log"))?)
        .spawn()?;
    Ok((Process { child, addr: grpc }, rest))
}

async fn wait_http(addr: &str, path: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("http://{addr}{path}")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{addr} did not answer within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One PostgreSQL database per dataset; a complete build is marked by a
/// comment on the database holding its figures, so a rerun reuses it.
async fn ensure_postgres(
    args: &Args,
    name: &str,
    dataset: impl FnOnce(String) -> dataset::Args,
) -> anyhow::Result<(String, Built)> {
    let base = args.postgres.trim_end_matches('/');
    let url = format!("{base}/{name}?sslmode={}", args.sslmode);
    let admin = Database::connect(format!("{base}/postgres?sslmode={}", args.sslmode)).await?;
    let marker = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT shobj_description(oid, 'pg_database') AS built FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?;
    let exists = marker.is_some();
    let built: Option<Built> = marker
        .and_then(|row| row.try_get::<Option<String>>("", "built").ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok());
    if let (Some(built), false) = (built, args.rebuild) {
        eprintln!("bench: reusing database {name}");
        return Ok((url, built));
    }
    if exists {
        admin
            .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await?;
    }
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    eprintln!("bench: building {name}");
    let built = dataset::run(dataset(url.clone())).await?;
    let comment = serde_json::to_string(&built)?.replace('\'', "''");
    admin
        .execute_unprepared(&format!("COMMENT ON DATABASE {name} IS '{comment}'"))
        .await?;
    admin.close().await?;
    Ok((url, built))
}

/// The SQLite dataset: a file, and beside it the figures of its build.
async fn ensure_sqlite(args: &Args, size: i64) -> anyhow::Result<(String, Built)> {
    let file = args.work.join(format!("sqlite-{size}.db"));
    let marker = file.with_extension("json");
    let url = format!("sqlite://{}", file.display());
    if !args.rebuild
        && let Some(built) = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|j| serde_json::from_str::<Built>(&j).ok())
    {
        eprintln!("bench: reusing {}", file.display());
        return Ok((url, built));
    }
    for stale in [
        file.clone(),
        marker.clone(),
        file.with_extension("db-wal"),
        file.with_extension("db-shm"),
    ] {
        let _ = std::fs::remove_file(stale);
    }
    eprintln!("bench: building {} ({size} awards)", file.display());
    let built = dataset::run(dataset::Args::sized(url.clone(), size)).await?;
    std::fs::write(&marker, serde_json::to_string(&built)?)?;
    Ok((url, built))
}

/// Every load run of the report, in order.
#[derive(Default)]
struct Runs(Vec<(String, Outcome)>);

impl Runs {
    async fn run(&mut self, label: &str, spec: Spec) -> anyhow::Result<Outcome> {
        eprintln!("bench: {label}");
        let outcome = load::measure(&spec).await?;
        eprintln!("bench:   {}", serde_json::to_string(&outcome)?);
        self.0.push((label.to_owned(), outcome.clone()));
        Ok(outcome)
    }
}

fn spec(addr: &str, customers: i64, seconds: f64) -> Spec {
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
    }
}

/// Figures of one PostgreSQL size.
struct SizeFigures {
    size: Built,
    awards_total: i64,
    sweep: Vec<(Kind, Sort, f64)>,
    heavy_deep_p50: f64,
    peak_rss_mib: f64,
    /// The catalogue cache's own figure after the memory run, and its budget.
    cache_bytes: f64,
    cache_budget: f64,
    plans: Vec<(String, String)>,
}

/// One sample of the service's `/metrics`.
async fn service_metric(addr: &str, name: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no metric {name}"))
}

/// The benchmark client as the service authenticates it.
async fn bench_caller(db: &DatabaseConnection, org: i32) -> anyhow::Result<Principal> {
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
async fn plans(db: &DatabaseConnection, org: i32) -> anyhow::Result<Vec<(String, String)>> {
    let caller = bench_caller(db, org).await?;
    let mut shapes: Vec<(String, Statement)> = vec![
        (
            format!("customer state, regular customer {FIRST_REGULAR}"),
            customer_state_statement(
                Dialect::Postgres,
                &caller,
                &CustomerRef::Id(FIRST_REGULAR),
                Scope::All,
            ),
        ),
        (
            "customer state, heavy customer 1".into(),
            customer_state_statement(Dialect::Postgres, &caller, &CustomerRef::Id(1), Scope::All),
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

async fn client(
    addr: &str,
) -> anyhow::Result<CustomerBadgeServiceClient<tonic::transport::Channel>> {
    Ok(CustomerBadgeServiceClient::connect(format!("http://{addr}")).await?)
}

/// One PostgreSQL size with its service running.
struct Running {
    size: i64,
    url: String,
    built: Built,
    service: Process,
}

/// The per-size figures. Every size's service runs at once and the sweep
/// visits the sizes in turn for each badgeType and sortOn, so a slow spell of
/// the machine falls on every size alike rather than on one of them.
/// Reads the tables and indexes a list call uses into the OS cache
/// (`pg_prewarm`, PostgreSQL's contrib); says so and goes on without it.
async fn prewarm(url: &str) {
    let warm = async {
        let db = Database::connect(url).await?;
        db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            .await?;
        db.execute_unprepared(
            "SELECT pg_prewarm(c.oid, 'read') FROM pg_class c \
             WHERE c.relname IN ('awards', 'enrolments', 'customers', 'ix_awards_customer_badge', \
             'ix_enrolments_customer_badge', 'customers_pkey')",
        )
        .await?;
        db.close().await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Err(e) = warm {
        eprintln!("bench: no pg_prewarm ({e}); the sweep starts with the cache as it is");
    }
}

async fn measure_sizes(
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
async fn statement_ms(url: &str, org: i32, customers: i64, runs: i64) -> anyhow::Result<f64> {
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
            Scope::All,
        ))
        .await?;
    }
    db.close().await?;
    Ok((started.elapsed().as_secs_f64() * 1000.0 / runs as f64 * 1000.0).round() / 1000.0)
}

/// The canned answers of the trivial servers: the real first page, as bytes.
async fn capture(addr: &str, work: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let mut grpc = client(addr).await?;
    let mut r = tonic::Request::new(ListCustomerBadgesRequest {
        customer_id: FIRST_REGULAR.to_string(),
        ..Default::default()
    });
    r.metadata_mut()
        .insert("authorization", load::auth_header().parse()?);
    let answer = grpc.list_customer_badges(r).await?.into_inner();
    let grpc_file = work.join("canned-first-page.binpb");
    std::fs::write(&grpc_file, answer.encode_to_vec())?;
    let body = reqwest::Client::new()
        .get(format!(
            "http://{addr}/api_gateway/v1/badges/management/{FIRST_REGULAR}"
        ))
        .header("authorization", load::auth_header())
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let rest_file = work.join("canned-first-page.json");
    std::fs::write(&rest_file, &body)?;
    Ok((grpc_file, rest_file))
}

/// One saturation run and the overload run after it.
struct OverloadPair {
    rate: u64,
    saturated: Outcome,
    overloaded: Outcome,
}

impl OverloadPair {
    /// Accepted calls' p50 under overload over that at saturation.
    fn p50_ratio(&self) -> f64 {
        ratio(self.overloaded.p50_ms, self.saturated.p50_ms)
    }

    fn p99_ratio(&self) -> f64 {
        ratio(self.overloaded.p99_ms, self.saturated.p99_ms)
    }

    /// Calls that failed other than by shedding, and any shed at saturation
    /// (where the cap should refuse none).
    fn failed(&self) -> u64 {
        self.overloaded.errors + self.saturated.errors + self.saturated.shed
    }
}

/// `a / b`, or 0 when `b` is not positive.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The middle value (the lower middle of an even count); 0 when empty.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
}

struct Goal {
    id: &'static str,
    goal: String,
    measured: String,
    met: bool,
}

/// One run and its reference, run one after the other (throughputs).
#[derive(Clone, Debug)]
struct Pair {
    measured: f64,
    reference: f64,
}

impl Pair {
    fn ratio(&self) -> f64 {
        ratio(self.measured, self.reference)
    }
}

/// `a vs b, c vs d, …` of the pairs' throughputs.
fn pairs_text(pairs: &[Pair], unit: &str, reference_unit: &str) -> String {
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
fn pair_ratios(pairs: &[Pair]) -> (f64, f64, f64) {
    let r = || pairs.iter().map(Pair::ratio);
    (
        median(r()),
        r().fold(f64::INFINITY, f64::min),
        r().fold(0.0, f64::max),
    )
}

/// Goal P1's pairs: the service's gRPC first page at 16 in flight, then
/// pgbench on issue 13's customer-state statement with as many clients.
async fn p1_pairs(args: &Args, runs: &mut Runs, main: &Running) -> anyhow::Result<Vec<Pair>> {
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
async fn p6_pairs(
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
const CATALOGUE_SIZES: [i64; 2] = [100, 10_000];
/// Regular awards of the P8 datasets: 1,000 customers of 10 badges.
const CATALOGUE_AWARDS: i64 = 10_000;

/// The PostgreSQL sizes, each with its service running.
async fn start_sizes(args: &Args) -> anyhow::Result<Vec<Running>> {
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
struct References {
    /// Issue 13's customer-state statement (goal P1's reference).
    state: PgbenchOutcome,
    state_one: PgbenchOutcome,
    /// The service's own statement for one list call, one client.
    service_one: PgbenchOutcome,
    reference_script: String,
    service_script: String,
    grpc_answer: PathBuf,
    rest_answer: PathBuf,
}

async fn references(args: &Args, main: &Running) -> anyhow::Result<References> {
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
struct ServiceFigures {
    grpc_first: Outcome,
    cpu: CpuSplit,
    rest_first: Outcome,
    heavy_first: Outcome,
    heavy_offset: Outcome,
    heavy_keyset: Outcome,
    /// First page, deepest by offset, deepest by keyset: (rate, outcome).
    half: Vec<(u64, Outcome)>,
    curve: Vec<(f64, Outcome)>,
}

async fn service_runs(
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
    Ok(ServiceFigures {
        grpc_first,
        cpu,
        rest_first,
        heavy_first,
        heavy_offset,
        heavy_keyset,
        half,
        curve,
    })
}

/// Overload (issue 7): the service as configured by default (in-flight cap
/// = pool size = 16), saturated by a closed loop at 16 in flight, then
/// offered twice the rate it just served, in alternating pairs; and the last
/// pair's offered load with the cap lifted.
async fn overload_runs(
    args: &Args,
    runs: &mut Runs,
    url: &str,
    customers: i64,
) -> anyhow::Result<(Vec<OverloadPair>, Outcome)> {
    let (m, secs) = (args.main_size, args.seconds);
    let deployed = start_service(args, url, "service-default", None).await?;
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
                    concurrency: OPEN_LOOP_WORKERS,
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
                concurrency: OPEN_LOOP_WORKERS,
                ..spec(&lifted.addr, customers, secs)
            },
        )
        .await?;
    Ok((overload, queued))
}

/// The transport's ceiling: trivial handlers with the same answer.
async fn trivial_runs(
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
struct SqliteFigures {
    built: Built,
    statement_ms: f64,
    pg_statement_ms: f64,
}

async fn sqlite_runs(args: &Args, main: &Running) -> anyhow::Result<SqliteFigures> {
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
async fn catalogue_runs(args: &Args, runs: &mut Runs) -> anyhow::Result<Vec<(Built, Outcome)>> {
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

/// Every figure a goal is judged on.
struct Figures<'a> {
    p1: &'a [Pair],
    p6: &'a [Pair],
    sizes: &'a [SizeFigures],
    service: &'a ServiceFigures,
    overload: &'a [OverloadPair],
    catalogues: &'a [(Built, Outcome)],
}

fn goals(f: &Figures) -> anyhow::Result<Vec<Goal>> {
    let s = f.service;
    let mut goals = Vec::new();
    let (p1, p1_low, p1_high) = pair_ratios(f.p1);
    goals.push(Goal {
        id: "P1",
        goal: format!(
            "gRPC first page of a regular customer at {CONCURRENCY} in flight ≥ 30% of pgbench running the customer-state statement (issue 13's) with as many clients (median of {GOAL_PAIRS} alternating pairs)"
        ),
        measured: format!(
            "{}: **{:.0}%** (pairs {:.0}–{:.0}%)",
            pairs_text(f.p1, "calls/s", "tx/s"),
            p1 * 100.0,
            p1_low * 100.0,
            p1_high * 100.0
        ),
        met: p1 >= 0.3,
    });
    goals.push(Goal {
        id: "P1b",
        goal: "PostgreSQL CPU per first-page call ≤ 0.1 ms (from /proc)".into(),
        measured: format!("**{} ms**", s.cpu.postgres_ms),
        met: s.cpu.postgres_ms <= 0.1,
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
            "issue 7: at twice saturation, with the default in-flight cap, the excess is shed with RESOURCE_EXHAUSTED and accepted calls keep their latency (p50 and p99 ≤ {KEPT_LATENCY} × saturation's, median of {OVERLOAD_PAIRS} alternating pairs)"
        ),
        measured: format!(
            "{shed} shed, {failed} other failures; accepted p50 **{p50_kept:.2}×**, p99 **{p99_kept:.2}×** saturation's"
        ),
        met: shed > 0 && failed == 0 && p50_kept <= KEPT_LATENCY && p99_kept <= KEPT_LATENCY,
    });
    Ok(goals)
}

/// The two charts, beside the report.
fn write_charts(
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

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.server.exists(),
        "no service binary at {} (cargo build --release first)",
        args.server.display()
    );
    anyhow::ensure!(
        args.sizes.contains(&args.main_size),
        "--sizes must include --main-size"
    );
    std::fs::create_dir_all(&args.work)?;
    let started = Instant::now();
    let machine = machine();
    let mut runs = Runs::default();

    let running = start_sizes(&args).await?;
    let sizes = measure_sizes(&args, &mut runs, &running).await?;
    let main = running
        .into_iter()
        .find(|r| r.size == args.main_size)
        .ok_or_else(|| anyhow::anyhow!("no main size"))?;
    let references = references(&args, &main).await?;
    let service = service_runs(&args, &mut runs, &main).await?;
    let customers = main.built.regular_customers;
    let (overload, queued) = overload_runs(&args, &mut runs, &main.url, customers).await?;
    // The trivial tonic handler's run stands in the runs table; goal P6
    // pairs it with SQLite below.
    let (_, trivial_rest) = trivial_runs(&args, &mut runs, &references, customers).await?;
    let sqlite = sqlite_runs(&args, &main).await?;
    let p1 = p1_pairs(&args, &mut runs, &main).await?;
    let p6 = p6_pairs(&args, &mut runs, &references, &sqlite).await?;
    drop(main.service);
    let catalogues = catalogue_runs(&args, &mut runs).await?;

    let goals = goals(&Figures {
        p1: &p1,
        p6: &p6,
        sizes: &sizes,
        service: &service,
        overload: &overload,
        catalogues: &catalogues,
    })?;
    write_charts(&args, &sizes, &service.curve)?;
    let report = render(Rendered {
        machine: &machine,
        args: &args,
        minutes: started.elapsed().as_secs_f64() / 60.0,
        goals: &goals,
        sizes: &sizes,
        references: &references,
        service: &service,
        sqlite: &sqlite,
        catalogues: &catalogues,
        runs: &runs,
        overload: &overload,
        queued: &queued,
        trivial_rest: &trivial_rest,
    });
    std::fs::write(&args.out, report)?;
    eprintln!(
        "bench: wrote {} in {:.1} min",
        args.out.display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Whether a plan reads a large table sequentially.
fn large_seq_scan(plan: &str) -> bool {
    ["awards", "enrolments", "customers"]
        .iter()
        .any(|t| plan.contains(&format!("Seq Scan on {t}")))
}

struct Machine {
    date: String,
    commit: String,
    cpu: String,
    cores: String,
    memory: String,
    kernel: String,
    postgres: String,
    rustc: String,
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> Machine {
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

struct Rendered<'a> {
    machine: &'a Machine,
    args: &'a Args,
    minutes: f64,
    goals: &'a [Goal],
    sizes: &'a [SizeFigures],
    references: &'a References,
    service: &'a ServiceFigures,
    sqlite: &'a SqliteFigures,
    catalogues: &'a [(Built, Outcome)],
    runs: &'a Runs,
    overload: &'a [OverloadPair],
    queued: &'a Outcome,
    trivial_rest: &'a Outcome,
}

fn render(r: Rendered) -> String {
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
        OPEN_LOOP_WORKERS
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_cpu_counts_growth_and_new_backends_not_ended_ones() {
        // 1: a pooled backend that lives on; 2: a pgbench backend that ends
        // during the run; 3: a pid reused by a new backend; 4: a new backend.
        let before = HashMap::from([(1, (5.0, 10)), (2, (9.0, 11)), (3, (4.0, 12))]);
        let after = HashMap::from([(1, (7.5, 10)), (3, (0.5, 40)), (4, (1.0, 41))]);
        assert_eq!(postgres_cpu_between(&before, &after), 2.5 + 0.5 + 1.0);
    }
}
