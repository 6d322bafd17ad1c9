//! Test harness: the real server on port 0 over a real database, one fresh
//! database per test: a SQLite file in a temporary directory, and a PostgreSQL
//! database created for the test when `BADGES_TEST_POSTGRES_URL` is set.

#![allow(dead_code)]

pub mod fixture;
pub mod nats;
pub mod openapi;
pub mod org_scope;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use badges::app::App;
use badges::auth::TokenKeys;
use badges::domain::{FixedClock, Micros};
use badges::events::EventsConfig;
use badges::limits::Limits;
use badges::proto::customer_badge_service_client::CustomerBadgeServiceClient;
use badges::server::ServeOptions;
use badges::store::{self, PoolSettings, Store};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use openapi::Checked;

pub const POSTGRES_ENV: &str = "BADGES_TEST_POSTGRES_URL";
/// The key test servers sign OAuth tokens with, so tests can forge tokens.
pub const TOKEN_KEY: &[u8] = b"test-token-key-0123456789abcdef0123456789";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database made for one test, removed when dropped (SQLite) or by
/// `cleanup` (PostgreSQL).
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: Option<tempfile::TempDir>,
    /// The statements of this database's stores that named no org.
    pub checked: org_scope::Checked,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("badges.db").display()
                );
                TestDb {
                    backend,
                    url,
                    admin_url: None,
                    name: None,
                    _dir: Some(dir),
                    checked: Default::default(),
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).expect("postgres url");
                let name = format!(
                    "badges_t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    rand_suffix()
                );
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("connect admin");
                admin
                    .execute_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("CREATE DATABASE {name}"),
                    ))
                    .await
                    .expect("create database");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("postgres url");
                url.set_path(&name);
                TestDb {
                    backend,
                    url: url.to_string(),
                    admin_url: Some(admin_url),
                    name: Some(name),
                    _dir: None,
                    checked: Default::default(),
                }
            }
        }
    }

    /// A PostgreSQL database for the test named `test`, or `None` (saying
    /// once that the test is skipped) when no PostgreSQL URL is set.
    pub async fn postgres_or_skip(test: &str) -> Option<TestDb> {
        if std::env::var(POSTGRES_ENV).is_err() {
            skipped(&format!(
                "{test} test skipped: it needs PostgreSQL ({POSTGRES_ENV})"
            ));
            return None;
        }
        Some(TestDb::new(Backend::Postgres).await)
    }

    /// A fresh database of `backend`, migrated, and a store on it.
    pub async fn migrated(backend: Backend) -> (TestDb, Store) {
        let db = TestDb::new(backend).await;
        let settings = PoolSettings::default();
        store::migrate(&db.database_url(), &settings)
            .await
            .expect("migrate");
        let store = db.connect(&settings).await;
        (db, store)
    }

    /// A store on this database whose statements are checked for their org
    /// (`org_scope`).
    pub async fn connect(&self, settings: &PoolSettings) -> Store {
        Store::connect(&self.database_url(), settings)
            .await
            .expect("connect")
            .observe_statements(self.checked.observer(self.backend))
    }

    /// The URL, typed as the store takes it.
    pub fn database_url(&self) -> badges::store::DatabaseUrl {
        self.url.parse().expect("a database URL")
    }

    /// A database this harness neither made nor removes.
    pub fn external(url: String) -> TestDb {
        TestDb {
            backend: Backend::Postgres,
            url,
            admin_url: None,
            name: None,
            _dir: None,
            checked: Default::default(),
        }
    }

    pub async fn cleanup(self) {
        if let (Some(admin_url), Some(name)) = (&self.admin_url, &self.name)
            && let Ok(admin) = Database::connect(admin_url.as_str()).await
        {
            let _ = admin
                .execute_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ))
                .await;
            admin.close().await.ok();
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.checked.assert_kept();
    }
}

/// The time since the epoch on the system clock (the one the real binary
/// runs on).
pub fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

pub fn rand_suffix() -> u32 {
    since_epoch().subsec_nanos()
}

/// The backends this run covers: SQLite always, PostgreSQL when its URL is set.
pub fn backends() -> Vec<Backend> {
    if std::env::var(POSTGRES_ENV)
        .map(|v| !v.is_empty())
        .unwrap_or(false)
    {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        skipped(&format!(
            "PostgreSQL tests skipped: set {POSTGRES_ENV} (e.g. postgres://postgres@127.0.0.1:5432/test) to run them"
        ));
        vec![Backend::Sqlite]
    }
}

/// A test part that cannot run here: with `CI=true` (as `.ci/run` runs)
/// that is a failure, since CI has everything the tests need; elsewhere a
/// note, said once.
pub fn skipped(note: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true, so nothing may be skipped: {note}");
    }
    say_once(note);
}

/// Writes a note to the real stderr once per test binary, past the test
/// harness's capture, so a skip is seen without `--nocapture`.
pub fn say_once(note: &str) {
    use std::io::Write;
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|s| s == note) {
        said.push(note.to_owned());
        let _ = writeln!(std::io::stderr().lock(), "note: {note}");
    }
}

/// The real `badges` binary, serving. Killed when dropped, so a test that
/// fails half-way leaves no server running.
pub struct Binary {
    child: Option<std::process::Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Where this build writes its statements, checked for their org when
    /// it is dropped (`org_scope`); none for another release's binary.
    statements: Option<std::path::PathBuf>,
}

impl Binary {
    /// `serve` on a free port with `args` and `env`, its log in `log`;
    /// returns once `/metrics` answers.
    pub async fn spawn(args: &[&str], env: &[(&str, String)], log: &std::path::Path) -> Binary {
        // BADGES_TEST_BINARY runs these tests against another build (the
        // release binary, for the figures in docs/RELIABILITY.md).
        let program = std::env::var("BADGES_TEST_BINARY")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_badges").to_owned());
        let statements = log.with_extension("statements");
        let mut env = env.to_vec();
        env.push(("BADGES_STATEMENT_LOG", statements.display().to_string()));
        let mut binary = Binary::spawn_program(&program, args, &env, log).await;
        binary.statements = Some(statements);
        binary
    }

    /// [`Binary::spawn`] of the binary at `program`.
    pub async fn spawn_program(
        program: &str,
        args: &[&str],
        env: &[(&str, String)],
        log: &std::path::Path,
    ) -> Binary {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new(program)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("spawn badges");
        let binary = Binary {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            statements: None,
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http
                .get(format!("{}/metrics", binary.base))
                .checked()
                .await
                .is_ok()
            {
                return binary;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "server did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        reqwest::Client::new()
            .get(format!("{}/metrics", self.base))
            .checked()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("wait task")
            .expect("wait")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(path) = &self.statements {
            org_scope::assert_logged_kept(path);
        }
    }
}

/// One sample's value in Prometheus text (`name` with its labels, if any).
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
}

/// A field of `/proc/PID/status` in KiB (or a plain count, for `Threads`).
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Threads of the process whose name starts with `prefix`.
pub fn threads_named(pid: u32, prefix: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .filter(|comm| comm.starts_with(prefix))
                .count()
        })
        .unwrap_or(0)
}

/// The `badges` command line with `args` against `db`, quiet but for
/// warnings, its statements checked for their org once it has run
/// ([`checked_output`]).
pub fn command(db: &str, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_badges"));
    command
        .args(args)
        .env("BADGES_DATABASE_URL", db)
        .env("RUST_LOG", "warn");
    command
}

/// Runs `command` with a statement log of its own, and checks that log
/// (`org_scope`); its output.
pub fn checked_output(mut command: std::process::Command) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("statements");
    let out = command
        .env("BADGES_STATEMENT_LOG", &log)
        .output()
        .expect("run badges");
    org_scope::assert_logged_kept(&log);
    out
}

/// Runs the `badges` command line against `db`; its one JSON line.
pub fn cli(db: &str, args: &[&str]) -> serde_json::Value {
    let out = checked_output(command(db, args));
    assert!(
        out.status.success(),
        "badges {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    serde_json::from_str(&stdout).expect("JSON")
}

/// A running server over a fresh, migrated database.
pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Store,
    pub db: TestDb,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(backend: Backend, now: Micros) -> TestServer {
        Self::start_with(backend, now, Limits::DEFAULT).await
    }

    pub async fn start_with(backend: Backend, now: Micros, limits: Limits) -> TestServer {
        let (db, store) = TestDb::migrated(backend).await;
        Self::serve(
            store,
            db,
            now,
            limits,
            ServeOptions {
                grace: Duration::from_secs(5),
                ..Default::default()
            },
        )
        .await
    }

    /// Serves `store` (already migrated) on a fresh port.
    pub async fn serve(
        store: Store,
        db: TestDb,
        now: Micros,
        limits: Limits,
        options: ServeOptions,
    ) -> TestServer {
        Self::serve_with_events(store, db, now, limits, options, None).await
    }

    /// A server over a fresh, migrated database that publishes events.
    pub async fn start_with_events(
        backend: Backend,
        now: Micros,
        events: EventsConfig,
    ) -> TestServer {
        let (db, store) = TestDb::migrated(backend).await;
        let options = ServeOptions {
            grace: Duration::from_secs(5),
            ..Default::default()
        };
        Self::serve_with_events(store, db, now, Limits::DEFAULT, options, Some(events)).await
    }

    /// Serves `store` (already migrated) on a fresh port, with events on
    /// when `events` says where.
    pub async fn serve_with_events(
        store: Store,
        db: TestDb,
        now: Micros,
        limits: Limits,
        options: ServeOptions,
        events: Option<EventsConfig>,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut app = App::new(
            store.clone(),
            Arc::new(FixedClock(now)),
            TokenKeys::new(TOKEN_KEY, 3600),
            &limits,
        );
        if let Some(events) = events {
            app = app.with_events(events);
        }
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(badges::server::serve(
            listener,
            app,
            async move {
                let _ = rx.await;
            },
            options,
        ));
        TestServer {
            addr,
            store,
            db,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect to server")
    }

    pub async fn client(&self) -> CustomerBadgeServiceClient<Channel> {
        CustomerBadgeServiceClient::new(self.channel().await)
    }

    /// Signals shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server and waits for it; returns what `serve` returned.
    /// Stops serving and serves the same database again with the clock at
    /// `now`: how a test moves time forward without sleeping.
    pub async fn restart_at(mut self, now: Micros) -> TestServer {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
        let options = ServeOptions {
            grace: Duration::from_secs(5),
            ..Default::default()
        };
        let TestServer { store, db, .. } = self;
        Self::serve(store, db, now, Limits::DEFAULT, options).await
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let outcome = match self.handle.take() {
            Some(h) => h.await.expect("server task"),
            None => Ok(()),
        };
        self.store.clone().close().await.ok();
        self.db.cleanup().await;
        outcome
    }
}

/// Runs `body` once per backend, each on a fresh server.
pub async fn on_each_backend<F, Fut>(now: Micros, body: F)
where
    F: Fn(Backend, TestServer) -> Fut,
    Fut: Future<Output = TestServer>,
{
    for backend in backends() {
        let server = TestServer::start(backend, now).await;
        let server = body(backend, server).await;
        server.stop().await.expect("server stopped cleanly");
    }
}

/// Trades an API client's key and secret for an OAuth token over REST, as a
/// caller would; `base` is `http://host:port`.
pub async fn oauth_token(http: &reqwest::Client, base: &str, key: &str, secret: &str) -> String {
    let answer: serde_json::Value = http
        .post(format!("{base}/v3/oauth/token/generate"))
        .json(&serde_json::json!({"key": key, "secret": secret}))
        .checked()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {key}: {answer}"))
        .to_owned()
}
