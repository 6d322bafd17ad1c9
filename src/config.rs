//! Configuration from flags and `BADGES_*` environment variables. Every value
//! has a default that works on a laptop: a SQLite file in the working
//! directory, and one listener on localhost.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::events::EventsConfig;
use crate::limits::Limits;
use crate::server::ServeOptions;
use crate::store::PoolSettings;
use crate::telemetry::LogFormat;

/// The SQLite file used when no database is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://badges.db?mode=rwc";

pub use crate::store::DatabaseUrl;

#[derive(Debug, Parser)]
#[command(
    name = "badges",
    version,
    about = "Which badges a loyalty customer holds, could still earn, or has lost"
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,

    /// Log format: `text` (readable) or `json` (one object a line).
    #[arg(long, env = "BADGES_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "BADGES_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_default_value = false)]
    pub database_url: DatabaseUrl,

    /// Most database connections in the pool.
    #[arg(
        long,
        env = "BADGES_DB_MAX_CONNECTIONS",
        default_value_t = PoolSettings::DEFAULT.max_connections,
        global = true
    )]
    pub db_max_connections: u32,

    /// How long a call waits for a pooled connection before it fails with UNAVAILABLE (ms).
    #[arg(
        long,
        env = "BADGES_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = PoolSettings::DEFAULT.acquire_timeout.as_millis() as u64,
        global = true
    )]
    pub db_acquire_timeout_ms: u64,

    /// Longest a statement may run on PostgreSQL (ms).
    #[arg(
        long,
        env = "BADGES_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = PoolSettings::DEFAULT.statement_timeout.as_millis() as u64,
        global = true
    )]
    pub db_statement_timeout_ms: u64,

    /// Appends each distinct statement this process runs (its text, never
    /// its values) to FILE, once: for diagnostics, and for the suite's check
    /// that every statement names its org.
    #[arg(long, env = "BADGES_STATEMENT_LOG", value_name = "FILE", global = true)]
    pub statement_log: Option<std::path::PathBuf>,
}

impl DbArgs {
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
            trace_statements: crate::telemetry::exporting(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve gRPC (and the JSON gateway) on one address.
    Serve(ServeArgs),
    /// Apply pending migrations and exit (on PostgreSQL under an advisory lock).
    Migrate,
    /// Manage orgs (tenants).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage API clients (credentials of one org).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Look at the events published to NATS JetStream.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Rebuild or verify the customer state rows the list call reads.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
}

impl Command {
    /// The log filter when `RUST_LOG` is unset: `events tail` prints events
    /// on stdout, so its stderr carries only what went wrong (not the NATS
    /// client's connection notices, which would mix into a piped output).
    pub fn default_log_filter(&self) -> &'static str {
        match self {
            Command::Events { .. } => "warn",
            Command::Serve(_)
            | Command::Migrate
            | Command::Org { .. }
            | Command::Client { .. }
            | Command::State { .. } => "info",
        }
    }
}

/// Where events go: NATS and the JetStream stream.
#[derive(Debug, Args)]
pub struct NatsArgs {
    /// NATS server URL (`nats://host:4222`). Set, it turns events on: writes
    /// record them in the outbox and the service publishes them.
    #[arg(long, env = "BADGES_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<crate::auth::Secret>,

    /// JetStream stream of the events, created or updated at start.
    #[arg(long, env = "BADGES_NATS_STREAM", default_value = EventsConfig::DEFAULT_STREAM)]
    pub nats_stream: String,

    /// Subjects are `<prefix>.<org_id>.<event>`; the stream holds `<prefix>.>`.
    #[arg(long, env = "BADGES_NATS_SUBJECT_PREFIX", default_value = EventsConfig::DEFAULT_SUBJECT_PREFIX)]
    pub nats_subject_prefix: String,
}

/// How the service publishes events (with `--nats-url`).
#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub nats: NatsArgs,

    /// Message bodies: the protobuf message, or its protobuf JSON form.
    #[arg(long, env = "BADGES_EVENTS_FORMAT", default_value = "protobuf")]
    pub events_format: crate::events::Format,

    /// Published events are deleted from the outbox after this long (hours).
    #[arg(long, env = "BADGES_OUTBOX_RETENTION_HOURS", default_value_t = EventsConfig::DEFAULT_RETENTION.as_secs() / 3600)]
    pub outbox_retention_hours: u64,

    /// How often awards whose expiry passed are looked for (s): their
    /// BadgeAwardExpired events follow within this long.
    #[arg(long, env = "BADGES_EXPIRY_SWEEP_SECONDS", default_value_t = EventsConfig::DEFAULT_SWEEP_INTERVAL.as_secs())]
    pub expiry_sweep_seconds: u64,
}

impl EventArgs {
    /// The events configuration, when a NATS URL turns events on.
    pub fn config(&self) -> Option<EventsConfig> {
        let url = self.nats.nats_url.clone()?;
        Some(EventsConfig {
            stream: self.nats.nats_stream.clone(),
            subject_prefix: self.nats.nats_subject_prefix.clone(),
            format: self.events_format,
            retention: Duration::from_secs(self.outbox_retention_hours.saturating_mul(3600)),
            sweep_interval: Duration::from_secs(self.expiry_sweep_seconds.max(1)),
            ..EventsConfig::new(url)
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print events from the stream as JSON lines (CloudEvents JSON, the
    /// event in its protobuf JSON form as `data`).
    Tail {
        #[command(flatten)]
        nats: NatsArgs,
        /// Only this org's events.
        #[arg(long)]
        org: Option<i32>,
        /// Only events of this kind: customer_enrolled, badge_earned,
        /// badge_earn_revoked, badge_award_expired, badge_activation_changed,
        /// badge_definition_changed.
        #[arg(long)]
        event: Option<String>,
        /// From the first event the stream holds (default: only new ones).
        #[arg(long, conflicts_with = "last")]
        all: bool,
        /// From the latest event the stream holds that matches.
        #[arg(long)]
        last: bool,
        /// Stop after this many events.
        #[arg(long)]
        limit: Option<u64>,
        /// Stop when no event came for this long (s).
        #[arg(long)]
        idle_seconds: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BADGES_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Load the demo org, client and badges (idempotent) before serving.
    #[arg(long, env = "BADGES_DEMO")]
    pub demo: bool,

    /// Apply migrations at start. Always done on SQLite; on PostgreSQL the
    /// `migrate` command (a Kubernetes Job) is the usual way.
    #[arg(long, env = "BADGES_MIGRATE")]
    pub migrate: bool,

    /// Key that signs OAuth tokens (HS256). Without it and without a key file,
    /// a random key is made at start and tokens do not survive a restart.
    #[arg(long, env = "BADGES_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<crate::auth::Secret>,

    /// File holding the token signing key (e.g. a mounted Kubernetes Secret).
    #[arg(long, env = "BADGES_TOKEN_KEY_FILE")]
    pub token_key_file: Option<std::path::PathBuf>,

    /// Lifetime of issued OAuth tokens (s).
    #[arg(long, env = "BADGES_TOKEN_TTL_SECONDS", default_value_t = 3600)]
    pub token_ttl_seconds: u64,

    /// Close connections after this long (s), so HTTP/2 clients rebalance across pods.
    #[arg(long, env = "BADGES_MAX_CONNECTION_AGE_SECONDS", default_value_t = ServeOptions::DEFAULT.max_connection_age.as_secs())]
    pub max_connection_age_seconds: u64,

    /// Failed credential checks per username before it is locked out (0: never).
    #[arg(long, env = "BADGES_AUTH_MAX_FAILURES", default_value_t = Limits::DEFAULT.auth_max_failures)]
    pub auth_max_failures: u32,

    /// How long failed checks count, and a lockout lasts (s).
    #[arg(long, env = "BADGES_AUTH_FAILURE_WINDOW_SECONDS", default_value_t = Limits::DEFAULT.auth_failure_window_seconds)]
    pub auth_failure_window_seconds: u64,

    /// Most usernames the lockout tracks at once.
    #[arg(long, env = "BADGES_LOCKOUT_CAPACITY", default_value_t = Limits::DEFAULT.lockout_capacity)]
    pub lockout_capacity: usize,

    /// Calls per second per API client (0: no limit).
    #[arg(long, env = "BADGES_RATE_LIMIT_PER_SECOND", default_value_t = Limits::DEFAULT.rate_per_second)]
    pub rate_limit_per_second: u32,

    /// Calls an API client may make at once before the rate applies.
    #[arg(long, env = "BADGES_RATE_LIMIT_BURST", default_value_t = Limits::DEFAULT.rate_burst)]
    pub rate_limit_burst: u32,

    /// Most calls served at once; more are refused at once with 429 /
    /// RESOURCE_EXHAUSTED. Default: the pool's size (`--db-max-connections`),
    /// so an accepted call never waits for a database connection.
    #[arg(long, env = "BADGES_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,

    /// Most calls one API client may have in flight. Default: three quarters
    /// of `--max-in-flight`, so one client at its limit leaves room for others.
    #[arg(long, env = "BADGES_MAX_IN_FLIGHT_PER_CLIENT")]
    pub max_in_flight_per_client: Option<usize>,

    /// How long a caller may take to send a request's body (ms); then 408.
    #[arg(long, env = "BADGES_BODY_READ_TIMEOUT_MS", default_value_t = Limits::DEFAULT.body_read_timeout_ms)]
    pub body_read_timeout_ms: u64,

    /// How long an answer waits for its caller to read the next part of it
    /// (ms); then it is dropped, its place in flight freed and its stream
    /// reset.
    #[arg(long, env = "BADGES_ANSWER_STALL_MS", default_value_t = Limits::DEFAULT.answer_stall_ms)]
    pub answer_stall_ms: u64,

    /// Threads that verify secrets (argon2id); 0: one per core.
    #[arg(long, env = "BADGES_ARGON2_WORKERS", default_value_t = Limits::DEFAULT.argon2_workers)]
    pub argon2_workers: usize,

    /// Secret checks that may wait for a worker; past it, 429 at once. 0: four per worker.
    #[arg(long, env = "BADGES_ARGON2_QUEUE", default_value_t = Limits::DEFAULT.argon2_queue)]
    pub argon2_queue: usize,

    /// Bytes of orgs' catalogue indexes kept in memory (about 80 bytes a
    /// badge); past it, the least recently used orgs are evicted (and
    /// reloaded when called for).
    #[arg(long, env = "BADGES_CATALOGUE_CACHE_BYTES", default_value_t = Limits::DEFAULT.catalogue_cache_bytes)]
    pub catalogue_cache_bytes: u64,

    /// Bytes of badges' rows (their texts, images, owners and claims: what a
    /// page shows) kept in memory; past it, the least recently used rows are
    /// evicted (and read by key when a page shows them).
    #[arg(long, env = "BADGES_ROW_CACHE_BYTES", default_value_t = Limits::DEFAULT.row_cache_bytes)]
    pub row_cache_bytes: u64,

    /// Bytes of list answers that may be built or waiting for their callers
    /// at once; past it, 429 / RESOURCE_EXHAUSTED. A client may hold three
    /// quarters of it.
    #[arg(long, env = "BADGES_ANSWER_BUDGET_BYTES", default_value_t = Limits::DEFAULT.answer_budget_bytes)]
    pub answer_budget_bytes: u64,

    /// Ping idle HTTP/2 connections after this long (s); one that does not
    /// answer within 10 s is closed.
    #[arg(long, env = "BADGES_HTTP2_KEEPALIVE_SECONDS", default_value_t = ServeOptions::DEFAULT.http2_keepalive_interval.as_secs())]
    pub http2_keepalive_seconds: u64,

    /// How long a write's `requestId` is remembered, replaying its first
    /// answer (hours); older ones are deleted.
    #[arg(long, env = "BADGES_REQUEST_ID_RETENTION_HOURS", default_value_t = ServeOptions::DEFAULT.request_id_retention.as_secs() / 3600)]
    pub request_id_retention_hours: u64,

    /// How long shutdown waits for calls in flight before it gives up (s).
    #[arg(long, env = "BADGES_SHUTDOWN_GRACE_SECONDS", default_value_t = ServeOptions::DEFAULT.grace.as_secs())]
    pub shutdown_grace_seconds: u64,

    #[command(flatten)]
    pub events: EventArgs,
}

impl ServeArgs {
    /// The caller limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            auth_max_failures: self.auth_max_failures,
            auth_failure_window_seconds: self.auth_failure_window_seconds,
            lockout_capacity: self.lockout_capacity,
            rate_per_second: self.rate_limit_per_second,
            rate_burst: self.rate_limit_burst,
            max_in_flight: self.max_in_flight,
            max_in_flight_per_client: self.max_in_flight_per_client,
            body_read_timeout_ms: self.body_read_timeout_ms,
            answer_stall_ms: self.answer_stall_ms,
            argon2_workers: self.argon2_workers,
            argon2_queue: self.argon2_queue,
            catalogue_cache_bytes: self.catalogue_cache_bytes,
            row_cache_bytes: self.row_cache_bytes,
            answer_budget_bytes: self.answer_budget_bytes,
        }
    }

    /// How these flags say to serve.
    pub fn serve_options(&self) -> ServeOptions {
        ServeOptions {
            grace: Duration::from_secs(self.shutdown_grace_seconds),
            max_connection_age: Duration::from_secs(self.max_connection_age_seconds.max(1)),
            http2_keepalive_interval: Duration::from_secs(self.http2_keepalive_seconds.max(1)),
            request_id_retention: Duration::from_secs(
                self.request_id_retention_hours.max(1).saturating_mul(3600),
            ),
            ..ServeOptions::DEFAULT
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Recompute every customer's state row from the awards and enrolments,
    /// in batches (writes go on meanwhile); progress on stderr.
    Rebuild {
        /// Only this org's customers.
        #[arg(long)]
        org: Option<i32>,
        /// Only these customers of `--org` (repeat, or comma-separated).
        #[arg(long, requires = "org", value_delimiter = ',')]
        customer: Vec<i64>,
    },
    /// Compare every customer's state row with a fresh fold of the awards
    /// and enrolments; prints each difference and exits 1 when there is one.
    Verify {
        /// Only this org's customers.
        #[arg(long)]
        org: Option<i32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an org; prints `{"orgId", "name"}`.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an API client; prints one JSON line holding its secret, shown only this once.
    Create {
        /// The org the client acts for.
        #[arg(long)]
        org: i32,
        /// The Basic username.
        #[arg(long)]
        username: String,
        /// Rights: `read`, `write`, or both, comma-separated.
        #[arg(long, default_value = "read", value_delimiter = ',')]
        rights: Vec<Right>,
    },

    /// List API clients (never their secrets).
    List,
    /// Refuse a client's credentials and tokens from now on.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Accept a disabled client again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Give a client a new secret; prints it once. The old secret stops working at once.
    Rotate {
        #[arg(long)]
        username: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Right {
    Read,
    Write,
}
