//! One span and one metric sample per call, gRPC or REST, taken around the
//! whole router: the route template (never the raw path, which can hold an
//! email), the org once credentials are checked, the result code and the
//! latency. An incoming W3C `traceparent` makes the span a child of the
//! caller's.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::propagation::Extractor;
use prost::Message;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::rest::is_grpc;
use crate::telemetry::{CallLabels, Metrics};

pub struct Observer {
    metrics: Arc<Metrics>,
    /// `/package.Service/Method` of every gRPC method served; any other path
    /// is labelled `unknown`, so callers cannot grow the label set.
    grpc_methods: HashSet<String>,
}

impl Observer {
    /// `descriptor_sets`: the encoded descriptor sets of the services served.
    pub fn new(metrics: Arc<Metrics>, descriptor_sets: &[&[u8]]) -> Arc<Self> {
        let mut grpc_methods = HashSet::new();
        for bytes in descriptor_sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(*bytes) else {
                continue;
            };
            for file in set.file {
                for service in &file.service {
                    for method in &service.method {
                        grpc_methods.insert(format!(
                            "/{}.{}/{}",
                            file.package(),
                            service.name(),
                            method.name()
                        ));
                    }
                }
            }
        }
        Arc::new(Observer {
            metrics,
            grpc_methods,
        })
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

pub async fn observe(
    State(observer): State<Arc<Observer>>,
    request: Request,
    next: Next,
) -> Response {
    let grpc = is_grpc(request.headers());
    let method = if grpc {
        let path = request.uri().path();
        if observer.grpc_methods.contains(path) {
            path.to_owned()
        } else {
            "unknown".to_owned()
        }
    } else {
        request.extensions().get::<MatchedPath>().map_or_else(
            || "unmatched".to_owned(),
            |m| format!("{} {}", request.method(), m.as_str()),
        )
    };
    let span = tracing::info_span!(
        "call",
        otel.name = %method,
        otel.kind = "server",
        rpc.system = if grpc { "grpc" } else { "http" },
        route = %method,
        org_id = Empty,
        code = Empty,
        latency_ms = Empty,
    );
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(request.headers())));
    let _ = span.set_parent(parent);

    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();

    let code = if grpc {
        let status = response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(0);
        format!("{:?}", tonic::Code::from_i32(status))
    } else {
        response.status().as_u16().to_string()
    };
    span.record("code", code.as_str());
    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    tracing::debug!(parent: &span, route = %method, code = %code, latency_ms = elapsed.as_secs_f64() * 1000.0, "call served");
    observer
        .metrics
        .observe(CallLabels { method, code }, elapsed);
    response
}
