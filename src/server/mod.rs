//! The listener: the JSON gateway, gRPC services, health and reflection on
//! one address, with graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use axum::http::header;
use axum::middleware;
use axum::routing::get;

use crate::app::App;
use crate::application::BadgeService;
use crate::auth::Access;
use crate::auth::gate::Gate;
use crate::delivery::Connections;
use crate::domain::clock::SharedClock;
use crate::events::{EventStats, EventsConfig};

pub mod gate;
use crate::grpc::admin::{BadgeAdminServiceServer, GrpcBadgeAdmin};
use crate::grpc::catalogue::{BadgeCatalogueServiceServer, GrpcCatalogue};
use crate::grpc::{CustomerBadgeServiceServer, GrpcCustomerBadges};
use crate::observe::{Observer, observe};
use crate::store::Store;
use crate::telemetry::Metrics;

pub use crate::proto::FILE_DESCRIPTOR_SET;

/// Health entry that is SERVING while the database answers and the server is
/// not shutting down: the readiness probe.
pub const READINESS: &str = "readiness";
/// Health entry that is SERVING while the process serves: the liveness probe.
pub const LIVENESS: &str = "liveness";

/// How often readiness re-checks the database.
const READINESS_INTERVAL: Duration = Duration::from_secs(2);

/// Largest accepted ListCustomerBadges request message.
pub const MAX_LIST_REQUEST_BYTES: usize = 64 * 1024;
/// Largest accepted admin request message (as the REST body limit).
pub const MAX_ADMIN_REQUEST_BYTES: usize = crate::rest::MAX_BODY_BYTES;

/// Streams one HTTP/2 connection may have open at once (RFC 9113 advises
/// no fewer than 100).
pub const MAX_CONCURRENT_STREAMS: u32 = 100;

/// Where Prometheus scrapes.
pub const METRICS_ROUTE: &str = "/metrics";

/// How the server runs.
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// How long calls in flight may take to finish once shutdown begins.
    pub grace: Duration,
    /// Connections are closed (gracefully) after this long, so long-lived
    /// HTTP/2 clients spread over new pods; one that has not closed a grace
    /// period later is closed.
    pub max_connection_age: Duration,
    /// An HTTP/2 connection is pinged after this long without a frame, and
    /// closed when the ping is not answered within `http2_keepalive_timeout`.
    pub http2_keepalive_interval: Duration,
    pub http2_keepalive_timeout: Duration,
    /// How long a write's `requestId` is remembered (and replays its answer).
    pub request_id_retention: Duration,
    /// How often old request ids are looked for.
    pub request_id_sweep: Duration,
}

impl ServeOptions {
    pub const DEFAULT: ServeOptions = ServeOptions {
        grace: Duration::from_secs(25),
        max_connection_age: Duration::from_secs(300),
        http2_keepalive_interval: Duration::from_secs(30),
        http2_keepalive_timeout: Duration::from_secs(10),
        request_id_retention: Duration::from_secs(7 * 24 * 3600),
        request_id_sweep: crate::retention::SWEEP_EVERY,
    };
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions::DEFAULT
    }
}

/// Serves until `shutdown` completes, then stops accepting, reports
/// NOT_SERVING, and lets the calls in flight finish (for up to `grace`).
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> anyhow::Result<()> {
    let App {
        service,
        gate,
        connections,
        store,
        clock,
        events,
    } = app;
    let grace = options.grace;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;
    reporter
        .set_service_status(READINESS, ServingStatus::NotServing)
        .await;
    reporter
        .set_serving::<CustomerBadgeServiceServer<GrpcCustomerBadges>>()
        .await;
    reporter
        .set_serving::<BadgeAdminServiceServer<GrpcBadgeAdmin>>()
        .await;
    reporter
        .set_serving::<BadgeCatalogueServiceServer<GrpcCatalogue>>()
        .await;

    let (stopping_tx, stopping_rx) = watch::channel(false);
    // Serialises readiness updates between the watcher and shutdown.
    let readiness_lock = Arc::new(tokio::sync::Mutex::new(()));
    let watcher = tokio::spawn(watch_readiness(
        readiness_lock.clone(),
        store.clone(),
        reporter.clone(),
        stopping_rx.clone(),
    ));
    // Background work until the server has stopped.
    let (background_stop, background_stopped) = watch::channel(false);
    let background = spawn_background(
        &store,
        &clock,
        &connections,
        events.as_ref(),
        &options,
        background_stopped,
    );
    let health = Routes::from(axum::Router::new())
        .add_service(health)
        .into_axum_router();
    let router = route_table(
        &service,
        &gate,
        &store,
        &clock,
        &connections,
        events.as_ref(),
        health,
    )?;

    let signal = {
        let (reporter, readiness_lock) = (reporter.clone(), readiness_lock.clone());
        async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing calls in flight");
            // Under the lock, so the watcher cannot turn it back to SERVING.
            let _guard = readiness_lock.lock().await;
            let _ = stopping_tx.send(true);
            reporter
                .set_service_status(READINESS, ServingStatus::NotServing)
                .await;
        }
    };

    let incoming = {
        let connections = connections.clone();
        TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .map(move |accepted| accepted.map(|tcp| connections.track(tcp)))
    };
    let server = Server::builder()
        .accept_http1(true)
        .max_connection_age(options.max_connection_age)
        .max_connection_age_grace(grace)
        .http2_keepalive_interval(Some(options.http2_keepalive_interval))
        .http2_keepalive_timeout(Some(options.http2_keepalive_timeout))
        // Each stream may hold one piece of an answer its caller has not
        // read (crate::delivery), so streams per connection are bounded.
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .add_routes(Routes::from(router))
        .serve_with_incoming_shutdown(incoming, signal);
    tokio::pin!(server);

    let mut stopping = stopping_rx;
    let outcome = tokio::select! {
        r = &mut server => r,
        _ = async { let _ = stopping.wait_for(|s| *s).await; } => {
            match tokio::time::timeout(grace, &mut server).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!(grace_seconds = grace.as_secs(), "calls still in flight after the grace period; stopping anyway");
                    Ok(())
                }
            }
        }
    };
    watcher.abort();
    // Calls have finished: what they recorded is committed. The relay gives
    // its lease up, so another process publishes the rest at once.
    let _ = background_stop.send(true);
    for task in background {
        let _ = task.await;
    }
    Ok(outcome?)
}

/// Work that runs until the server has stopped: request ids past their
/// retention, the watch over unread answers, and with events the relay and
/// the expiry sweeper.
fn spawn_background(
    store: &Store,
    clock: &SharedClock,
    connections: &Connections,
    events: Option<&(EventsConfig, EventStats)>,
    options: &ServeOptions,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut background = vec![
        tokio::spawn(crate::retention::run(
            store.clone(),
            clock.clone(),
            options.request_id_retention,
            options.request_id_sweep,
            stop.clone(),
        )),
        tokio::spawn(connections.clone().watch(stop.clone())),
    ];
    if let Some((config, stats)) = events {
        background.push(tokio::spawn(
            crate::events::relay::Relay::new(
                store.clone(),
                config.clone(),
                stats.clone(),
                clock.clone(),
            )
            .run(stop.clone()),
        ));
        background.push(tokio::spawn(crate::events::sweeper::run(
            store.clone(),
            config.clone(),
            stats.clone(),
            clock.clone(),
            stop,
        )));
    }

    background
}

/// The one route table: REST and gRPC routes grouped by the right they need,
/// admission around each group with that right (`gate`), the open routes
/// bare, metrics, and around it all the span of each call (`observe`) and
/// the watch over its answer (`crate::delivery`).
fn route_table(
    service: &Arc<BadgeService>,
    gate: &Arc<Gate>,
    store: &Store,
    clock: &SharedClock,
    connections: &Connections,
    events: Option<&(EventsConfig, EventStats)>,
    health: axum::Router,
) -> anyhow::Result<axum::Router> {
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let rest = crate::rest::routes(service.clone());
    let admission = |access| {
        middleware::from_fn_with_state(
            gate::Admission {
                gate: gate.clone(),
                access,
            },
            gate::gate,
        )
    };
    let read = Routes::from(rest.read)
        .add_service(
            CustomerBadgeServiceServer::new(GrpcCustomerBadges::new(service.clone()))
                .max_decoding_message_size(MAX_LIST_REQUEST_BYTES),
        )
        .add_service(
            BadgeCatalogueServiceServer::new(GrpcCatalogue::new(service.clone()))
                .max_decoding_message_size(MAX_LIST_REQUEST_BYTES),
        )
        .into_axum_router()
        .route_layer(admission(Access::Read));
    let write = Routes::from(rest.write)
        .add_service(
            BadgeAdminServiceServer::new(GrpcBadgeAdmin::new(service.clone()))
                .max_decoding_message_size(MAX_ADMIN_REQUEST_BYTES),
        )
        .into_axum_router()
        .route_layer(admission(Access::Write));
    let token = rest.token.route_layer(admission(Access::Token));
    let open = Routes::from(rest.open.merge(health))
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .into_axum_router();
    // Metrics (no credentials) and one span and sample per call, around it all.
    let metrics = Metrics::new(
        store.clone(),
        gate.authenticator().clone(),
        service.catalogues().clone(),
        connections.stalled().clone(),
        events.map(|(_, stats)| (stats.clone(), clock.clone())),
    );
    let observer = Observer::new(
        metrics.clone(),
        &[
            FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ],
    );
    let router = read
        .merge(write)
        .merge(token)
        .merge(open)
        .fallback(crate::rest::not_found)
        .route(
            METRICS_ROUTE,
            get(move || async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.render().await,
                )
            }),
        )
        .layer(middleware::from_fn(gate::encodings))
        .layer(middleware::from_fn_with_state(observer, observe))
        // Every answer leaves watched, holding its call's place until it
        // is handed over (crate::delivery).
        .layer(middleware::from_fn(crate::delivery::deliver));
    Ok(router)
}

/// Keeps the readiness entry in step with the database: SERVING once it
/// answers, NOT_SERVING while it does not, and NOT_SERVING for good once
/// shutdown begins.
async fn watch_readiness(
    lock: Arc<tokio::sync::Mutex<()>>,
    store: Store,
    reporter: HealthReporter,
    mut stopping: watch::Receiver<bool>,
) {
    let mut ready = false;
    loop {
        if *stopping.borrow() {
            return;
        }
        let ok = store.ping().await.is_ok();
        let guard = lock.lock().await;
        if ok != ready && !*stopping.borrow() {
            ready = ok;
            let status = if ok {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            tracing::info!(ready, "readiness changed");
            reporter.set_service_status(READINESS, status).await;
        }
        drop(guard);
        let wait = if ready {
            READINESS_INTERVAL
        } else {
            Duration::from_millis(250)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.changed() => {}
        }
    }
}
