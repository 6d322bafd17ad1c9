//! Logs, traces and metrics.
//!
//! - Logs: readable text by default, JSON lines when configured; the level
//!   comes from `RUST_LOG` (default `info`; `warn` for `events tail`, whose
//!   output is its events).
//! - Traces: every call is a span (see `observe`); when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set they are exported over OTLP/gRPC,
//!   and an incoming W3C `traceparent` continues the caller's trace.
//! - Metrics: request counts and latency histograms by method and code, and
//!   database pool gauges, in Prometheus text at `/metrics`.
//!
//! Nothing here records request paths, credentials or customer identifiers:
//! spans carry the route template, never the path.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::clock::SharedClock;
use crate::events::EventStats;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::auth::Authenticator;
use crate::catalogue::Catalogues;
use crate::store::Store;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Keeps the trace exporter alive; flushes it when dropped.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("trace exporter shutdown: {e}");
        }
    }
}

/// Installs the global subscriber: logs, plus OTLP export of spans when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter reads the standard
/// `OTEL_*` variables itself). `default_filter` applies when `RUST_LOG` is
/// unset.
pub fn init(format: LogFormat, default_filter: &str) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    // The log formatter renders the fields of every span it sees when the
    // span opens. SeaORM's statement spans carry the statement text (about
    // 1.5 kB for a list page), which no log line shows, so the formatter
    // skips them: no copy of the SQL per statement. They still reach the
    // trace exporter.
    let fmt = fmt.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.is_span() && meta.target().starts_with("sea_orm"))
    }));

    let provider = if !exporting() {
        None
    } else {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(
                        opentelemetry_sdk::Resource::builder()
                            .with_service_name(
                                std::env::var("OTEL_SERVICE_NAME")
                                    .unwrap_or_else(|_| "badges".into()),
                            )
                            .build(),
                    )
                    .build(),
            ),
            Err(e) => {
                eprintln!("OTLP exporter not started: {e}");
                None
            }
        }
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("badges")));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    TelemetryGuard { provider }
}

/// Whether spans are exported: `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
pub fn exporting() -> bool {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok_and(|v| !v.is_empty())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The route template (REST) or the gRPC method path.
    pub method: String,
    /// HTTP status (REST) or gRPC status name.
    pub code: String,
}

/// The argon2 pool's counts.
fn register_hashing(registry: &mut Registry, auth: &Authenticator) {
    let hashing = auth.hasher().stats().clone();
    registry.register(
        "argon2_checks",
        "Secret checks run by the argon2 workers",
        hashing.verified,
    );
    registry.register(
        "argon2_refused",
        "Secret checks refused at once because the argon2 queue was full",
        hashing.refused,
    );
    registry.register(
        "argon2_skipped",
        "Queued secret checks skipped because their caller had gone",
        hashing.skipped,
    );
}

/// The catalogue caches' counts and budgets; the gauges of their bytes (the
/// indexes', the rows'), set at each scrape.
fn register_catalogue(registry: &mut Registry, catalogues: &Catalogues) -> (Gauge, Gauge) {
    let cached = catalogues.stats().clone();
    registry.register(
        "catalogue_hits",
        "List calls answered from a cached catalogue of the version they read",
        cached.hits,
    );
    registry.register(
        "catalogue_misses",
        "List calls that found no catalogue of their org in memory",
        cached.misses,
    );
    registry.register(
        "catalogue_reloads",
        "Catalogues loaded from the database (cold, changed, or over the budget)",
        cached.reloads,
    );
    registry.register(
        "catalogue_evictions",
        "Catalogues evicted to keep the cache within its budget",
        cached.evictions,
    );
    let catalogue_bytes = Gauge::default();
    registry.register(
        "catalogue_bytes",
        "Bytes the cached catalogues take",
        catalogue_bytes.clone(),
    );
    let catalogue_budget: Gauge = Gauge::default();
    catalogue_budget.set(i64::try_from(catalogues.budget()).unwrap_or(i64::MAX));
    registry.register(
        "catalogue_budget_bytes",
        "Bytes the catalogue cache may take",
        catalogue_budget,
    );
    registry.register(
        "catalogue_row_hits",
        "Badge rows of pages found current in the row cache",
        cached.row_hits,
    );
    registry.register(
        "catalogue_row_misses",
        "Badge rows of pages read by key (not cached, or changed)",
        cached.row_misses,
    );
    let row_bytes = Gauge::default();
    registry.register(
        "catalogue_row_bytes",
        "Bytes the cached badge rows take",
        row_bytes.clone(),
    );
    let row_budget: Gauge = Gauge::default();
    row_budget.set(i64::try_from(catalogues.row_budget()).unwrap_or(i64::MAX));
    registry.register(
        "catalogue_row_budget_bytes",
        "Bytes the badge row cache may take",
        row_budget,
    );
    (catalogue_bytes, row_bytes)
}

/// What publishing events has done (with events on).
fn register_events(registry: &mut Registry, stats: &EventStats) {
    let e = stats.clone();
    registry.register(
        "events_published",
        "Events acknowledged by NATS JetStream (republished duplicates included)",
        e.published,
    );
    registry.register(
        "events_duplicates_dropped",
        "Republished events JetStream dropped as duplicates of one it holds",
        e.duplicates,
    );
    registry.register(
        "events_publish_failures",
        "Attempts to publish events that failed and were retried",
        e.failures,
    );
    registry.register(
        "events_expiries_recorded",
        "BadgeAwardExpired events recorded by this process's sweeper",
        e.expiries,
    );
    registry.register(
        "outbox_pending_events",
        "Events in the outbox not yet published (the whole database)",
        e.pending,
    );
    registry.register(
        "outbox_lag_seconds",
        "Age of the oldest unpublished event; 0 when none",
        e.lag_seconds,
    );
    registry.register("nats_connected", "1 while connected to NATS", e.connected);
}

/// The service's metrics, scraped at `/metrics`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<CallLabels, Counter>,
    latency: Family<CallLabels, Histogram>,
    pool_size: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    lockout_usernames: Gauge,
    catalogue_bytes: Gauge,
    row_bytes: Gauge,
    store: Store,
    auth: Arc<Authenticator>,
    catalogues: Catalogues,
    events: Option<(EventStats, SharedClock)>,
}

impl Metrics {
    pub fn new(
        store: Store,
        auth: Arc<Authenticator>,
        catalogues: Catalogues,
        closed_unread: Counter,
        events: Option<(EventStats, SharedClock)>,
    ) -> Arc<Self> {
        let mut registry = Registry::with_prefix("badges");
        let requests = Family::<CallLabels, Counter>::default();
        let latency = Family::<CallLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        let (pool_size, pool_idle, pool_max) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "requests",
            "Calls served, by method and result code",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Call latency, by method and result code",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Most database connections the pool opens",
            pool_max.clone(),
        );
        register_hashing(&mut registry, &auth);
        registry.register(
            "connections_closed_unread",
            "Connections closed because an answer on them waited for its caller for the stall time",
            closed_unread,
        );
        let (catalogue_bytes, row_bytes) = register_catalogue(&mut registry, &catalogues);
        let lockout_usernames = Gauge::default();
        registry.register(
            "lockout_usernames",
            "Username and address pairs the credential-failure lockout tracks",
            lockout_usernames.clone(),
        );
        if let Some((stats, _)) = &events {
            register_events(&mut registry, stats);
        }
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            pool_size,
            pool_idle,
            pool_max,
            lockout_usernames,
            catalogue_bytes,
            row_bytes,
            store,
            auth,
            catalogues,
            events,
        })
    }

    pub fn observe(&self, labels: CallLabels, elapsed: Duration) {
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }

    /// The Prometheus text exposition.
    pub async fn render(&self) -> String {
        self.catalogue_bytes
            .set(i64::try_from(self.catalogues.bytes().await).unwrap_or(i64::MAX));
        self.row_bytes
            .set(i64::try_from(self.catalogues.row_bytes()).unwrap_or(i64::MAX));
        let pool = self.store.pool_stats();
        self.pool_size.set(i64::from(pool.size));
        self.pool_idle.set(pool.idle as i64);
        self.pool_max.set(i64::from(pool.max));
        self.lockout_usernames.set(self.auth.lockout().len() as i64);
        if let Some((stats, clock)) = &self.events
            && let Ok(backlog) = self.store.outbox_backlog().await
        {
            stats.pending.set(backlog.pending);
            let age = backlog.oldest.map_or(0, |t| (clock.now().0 - t.0).max(0));
            stats.lag_seconds.set(age / 1_000_000);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
