//! Running what is measured: the service and the trivial handler as child
//! processes, the databases they read, and the clients that call them.

use super::*;

/// A service (or reference) process, stopped when dropped.
pub(super) struct Process {
    pub(super) child: Child,
    pub(super) addr: String,
}

impl Process {
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set (`VmHWM`) so far, in MiB.
    pub(super) fn peak_rss_mib(&self) -> anyhow::Result<f64> {
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

pub(super) fn free_addr() -> anyhow::Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.to_string())
}

/// Starts the service on `database_url` and waits until it answers.
pub(super) async fn start_service(
    args: &Args,
    database_url: &str,
    name: &str,
    max_in_flight: Option<usize>,
) -> anyhow::Result<Process> {
    start_program(args, &args.server, database_url, name, max_in_flight).await
}

/// [`start_service`] of another build of the service (the previous release).
pub(super) async fn start_program(
    args: &Args,
    program: &Path,
    database_url: &str,
    name: &str,
    max_in_flight: Option<usize>,
) -> anyhow::Result<Process> {
    let addr = free_addr()?;
    let log = std::fs::File::create(args.work.join(format!("{name}.log")))?;
    let mut cmd = Command::new(program);
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

/// Applies the service's pending migrations to a reused dataset with the
/// service's own `badges migrate` (its log, with the progress of any
/// backfill, on this stderr), and says how long it took.
pub(super) fn migrate(args: &Args, database_url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let status = Command::new(&args.server)
        .arg("migrate")
        .env("BADGES_DATABASE_URL", database_url)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(
        status.success(),
        "badges migrate failed on a reused dataset"
    );
    eprintln!(
        "bench:   migrated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Starts the trivial reference servers; returns the process and the REST
/// address (the process's `addr` is the gRPC one).
pub(super) fn start_trivial(
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

pub(super) async fn wait_http(addr: &str, path: &str) -> anyhow::Result<()> {
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
pub(super) async fn ensure_postgres(
    args: &Args,
    name: &str,
    dataset: impl FnOnce(String) -> dataset::Args,
) -> anyhow::Result<(String, Built)> {
    ensure_database(args, name, |url| dataset::run(dataset(url))).await
}

/// A PostgreSQL database `name` built by `build` (given its URL), reused when
/// a complete build is there: its figures are kept as the database's comment.
pub(super) async fn ensure_database<B, F>(
    args: &Args,
    name: &str,
    build: impl FnOnce(String) -> F,
) -> anyhow::Result<(String, B)>
where
    B: serde::Serialize + serde::de::DeserializeOwned,
    F: std::future::Future<Output = anyhow::Result<B>>,
{
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
    let built: Option<B> = marker
        .and_then(|row| row.try_get::<Option<String>>("", "built").ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok());
    if let (Some(built), false) = (built, args.rebuild) {
        eprintln!("bench: reusing database {name}");
        migrate(args, &url)?;
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
    let built = build(url.clone()).await?;
    let comment = serde_json::to_string(&built)?.replace('\'', "''");
    admin
        .execute_unprepared(&format!("COMMENT ON DATABASE {name} IS '{comment}'"))
        .await?;
    admin.close().await?;
    Ok((url, built))
}

/// The SQLite dataset: a file, and beside it the figures of its build.
pub(super) async fn ensure_sqlite(args: &Args, size: i64) -> anyhow::Result<(String, Built)> {
    let file = args.work.join(format!("sqlite-{size}.db"));
    let marker = file.with_extension("json");
    let url = format!("sqlite://{}", file.display());
    if !args.rebuild
        && let Some(built) = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|j| serde_json::from_str::<Built>(&j).ok())
    {
        eprintln!("bench: reusing {}", file.display());
        migrate(args, &url)?;
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

/// One sample of the service's `/metrics`.
pub(super) async fn service_metric(addr: &str, name: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no metric {name}"))
}

pub(super) async fn client(
    addr: &str,
) -> anyhow::Result<CustomerBadgeServiceClient<tonic::transport::Channel>> {
    Ok(CustomerBadgeServiceClient::connect(format!("http://{addr}")).await?)
}

/// One PostgreSQL size with its service running.
pub(super) struct Running {
    pub(super) size: i64,
    pub(super) url: String,
    pub(super) built: Built,
    pub(super) service: Process,
}

/// The per-size figures. Every size's service runs at once and the sweep
/// visits the sizes in turn for each badgeType and sortOn, so a slow spell of
/// the machine falls on every size alike rather than on one of them.
/// Reads the tables and indexes a list call uses into the OS cache
/// (`pg_prewarm`, PostgreSQL's contrib); says so and goes on without it.
pub(super) async fn prewarm(url: &str) {
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

/// The canned answers of the trivial servers: the real first page, as bytes.
pub(super) async fn capture(addr: &str, work: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
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

/// Goal O1's pinning: while it lives, this process (the load generator, all
/// its threads) runs on the last CPU alone, and the service under test and
/// every PostgreSQL process (the postmaster too, so new backends inherit it)
/// on the others, so the generator never falls behind its own schedule for
/// want of a core. Dropped, every process it pinned may run anywhere again.
/// `None` with fewer than two CPUs.
pub(super) struct Pinning {
    all: String,
    generator: String,
    rest: String,
    pinned: Vec<u32>,
}

fn taskset(cpus: &str, pid: u32) {
    // A process that has exited meanwhile is no error of the benchmark.
    let _ = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Pinning {
    pub(super) fn new(service: u32) -> Option<Pinning> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 {
            return None;
        }
        let p = Pinning {
            all: format!("0-{}", cpus - 1),
            generator: (cpus - 1).to_string(),
            rest: if cpus == 2 {
                "0".into()
            } else {
                format!("0-{}", cpus - 2)
            },
            pinned: Vec::new(),
        };
        Some(p.pin(service))
    }

    fn pin(mut self, service: u32) -> Pinning {
        taskset(&self.generator, std::process::id());
        let mut others: Vec<u32> = postgres_processes().into_keys().collect();
        others.push(service);
        for pid in others {
            taskset(&self.rest, pid);
            self.pinned.push(pid);
        }
        eprintln!(
            "bench: pinned: load generator on CPU {}, the service and PostgreSQL on CPU {}",
            self.generator, self.rest
        );
        self
    }
}

impl Drop for Pinning {
    fn drop(&mut self) {
        taskset(&self.all, std::process::id());
        // Backends started while pinned inherited the postmaster's CPUs.
        let mut pids: Vec<u32> = postgres_processes().into_keys().collect();
        pids.extend(self.pinned.iter().copied());
        for pid in pids {
            taskset(&self.all, pid);
        }
    }
}
