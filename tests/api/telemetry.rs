//! Traces, metrics and logs of the real binary: spans exported over OTLP to a
//! receiver in this test, continuing the caller's trace, with database
//! statements as children; `/metrics` scraped; and marker secrets, tokens,
//! emails and mobile numbers sent through every path and then searched for in
//! the logs and the exported spans.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::common::Binary;
use crate::common::openapi::Checked;

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_SPAN: &str = "b7ad6b7169203331";

const SECRET_MARKER: &str = "s3cr3t-MARKER-9f2c";
const EMAIL_MARKER: &str = "marker.person.77@example.org";
const MOBILE_MARKER: &str = "+19998887777";
const CARD_MARKER: &str = "CARD-MARKER-4242";

fn attr<'a>(
    span: &'a Span,
    key: &str,
) -> Option<&'a opentelemetry_proto::tonic::common::v1::any_value::Value> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

#[tokio::test]
async fn spans_metrics_and_logs_of_the_real_binary() {
    // The OTLP receiver.
    let receiver = Receiver::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    let svc = TraceServiceServer::new(receiver.clone());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
    });

    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let server = Binary::spawn(
        &["--demo"],
        &[
            (
                "BADGES_DATABASE_URL",
                format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
            ),
            ("BADGES_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "debug".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}")),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ],
        &log_path,
    )
    .await;
    let base = server.base.clone();
    let http = reqwest::Client::new();

    // Marker values through every path: a wrong secret, an email in the
    // path, identifiers in a write body, a token, gRPC metadata.
    let list = format!("{base}/api_gateway/v1/badges/management/62090013");
    let traced = http
        .get(&list)
        .basic_auth("demo", Some("demo"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN}-01"))
        .checked()
        .await
        .unwrap();
    assert_eq!(traced.status(), 200);
    let denied = http
        .get(&list)
        .basic_auth("demo", Some(SECRET_MARKER))
        .checked()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let by_email = http
        .get(format!(
            "{base}/api_gateway/v1/badges/management/{EMAIL_MARKER}"
        ))
        .basic_auth("demo", Some("demo"))
        .header("X-CAP-CUSTOMER-IDENTIFIER", "email")
        .checked()
        .await
        .unwrap();
    assert_eq!(by_email.status(), 404);
    let token = crate::common::oauth_token(&http, &base, "demo", "demo").await;
    let upsert = http
        .put(format!("{base}/api_gateway/v1/badges/customers"))
        .header("X-CAP-API-OAUTH-TOKEN", &token)
        .json(&json!({"customerId": 4242, "email": EMAIL_MARKER, "mobile": MOBILE_MARKER, "cardNumber": CARD_MARKER}))
        .checked()
        .await
        .unwrap();
    assert_eq!(upsert.status(), 200);
    let conflict = http
        .put(format!("{base}/api_gateway/v1/badges/customers"))
        .bearer_auth(&token)
        .json(&json!({"customerId": 4243, "email": EMAIL_MARKER, "mobile": MOBILE_MARKER}))
        .checked()
        .await
        .unwrap();
    assert_eq!(conflict.status(), 409);
    let mut grpc =
        badges::proto::customer_badge_service_client::CustomerBadgeServiceClient::connect(
            base.clone(),
        )
        .await
        .unwrap();
    let mut r = tonic::Request::new(badges::proto::ListCustomerBadgesRequest {
        customer_id: MOBILE_MARKER.into(),
        identifier_type: badges::proto::CustomerIdentifierType::Mobile as i32,
        ..Default::default()
    });
    r.metadata_mut()
        .insert("x-cap-api-oauth-token", token.parse().unwrap());
    grpc.list_customer_badges(r).await.unwrap();

    // Metrics: counts and latency by method and code, and pool gauges.
    let metrics = http
        .get(format!("{base}/metrics"))
        .checked()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        r#"badges_requests_total{method="GET /api_gateway/v1/badges/management/{customer_id}",code="200"} 1"#,
        r#"badges_requests_total{method="GET /api_gateway/v1/badges/management/{customer_id}",code="401"} 1"#,
        r#"badges_requests_total{method="/capillary.badges.v1.CustomerBadgeService/ListCustomerBadges",code="Ok"} 1"#,
        r#"badges_request_duration_seconds_count{method="PUT /api_gateway/v1/badges/customers",code="409"} 1"#,
        "badges_db_pool_max_connections 16",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }

    // Stop: the exporter flushes on the way out.
    let status = server.terminate().await;
    assert!(status.success(), "server exit: {status}");

    let spans = receiver.spans.lock().unwrap().clone();
    let trace_id = hex::decode(TRACE_ID).unwrap();
    let parent = hex::decode(PARENT_SPAN).unwrap();
    let call = spans
        .iter()
        .find(|s| s.trace_id == trace_id && s.parent_span_id == parent)
        .unwrap_or_else(|| {
            panic!(
                "no span continues the caller's trace among {} spans",
                spans.len()
            )
        });
    assert_eq!(
        call.name,
        "GET /api_gateway/v1/badges/management/{customer_id}"
    );
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    assert_eq!(attr(call, "code"), Some(&V::StringValue("200".into())));
    assert_eq!(attr(call, "org_id"), Some(&V::IntValue(1)));
    assert!(matches!(attr(call, "latency_ms"), Some(V::DoubleValue(ms)) if *ms > 0.0));
    let db_children: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id == call.span_id && s.name.starts_with("sea_orm"))
        .collect();
    assert!(
        db_children.len() >= 3,
        "database statements as child spans: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert!(db_children.iter().all(|s| s.trace_id == trace_id));
    assert!(
        spans
            .iter()
            .any(|s| s.name == "/capillary.badges.v1.CustomerBadgeService/ListCustomerBadges"),
        "gRPC calls are spans too"
    );

    // Nothing secret in the logs or the spans.
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.contains("call served"), "debug logs were written");
    let exported = format!("{spans:?}");
    for marker in [
        SECRET_MARKER,
        EMAIL_MARKER,
        MOBILE_MARKER,
        CARD_MARKER,
        token.as_str(),
        "ZGVtbzpkZW1v",
    ] {
        assert!(!logs.contains(marker), "{marker} leaked into the logs");
        assert!(!exported.contains(marker), "{marker} leaked into the spans");
    }
    for line in logs.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
}
