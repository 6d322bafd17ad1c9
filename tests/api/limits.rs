//! Limits at their boundaries: credential-failure lockout, the per-client
//! rate, and message and body sizes.

use badges::limits::Limits;
use badges::proto::ListCustomerBadgesRequest;
use reqwest::StatusCode;
use tonic::Code;

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TestServer, backends};

fn req() -> ListCustomerBadgesRequest {
    ListCustomerBadgesRequest {
        customer_id: CUSTOMER.to_string(),
        ..Default::default()
    }
}

async fn rest(server: &TestServer, creds: (&str, &str)) -> (StatusCode, Option<String>) {
    let r = reqwest::Client::new()
        .get(format!(
            "http://{}/api_gateway/v1/badges/management/100",
            server.addr
        ))
        .header("authorization", basic(creds))
        .checked()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status(), retry)
}

#[tokio::test]
async fn repeated_credential_failures_are_throttled() {
    let limits = Limits {
        auth_max_failures: 3,
        auth_failure_window_seconds: 60,
        ..Limits::DEFAULT
    };
    for backend in backends() {
        let server = TestServer::start_with(backend, NOW, limits).await;
        load(&server.store).await;
        for _ in 0..3 {
            assert_eq!(
                rest(&server, (READER.0, "wrong")).await.0,
                StatusCode::UNAUTHORIZED,
                "{backend:?}"
            );
        }
        // Locked out, even with the right secret, over both transports.
        assert_eq!(
            rest(&server, READER).await,
            (StatusCode::TOO_MANY_REQUESTS, Some("60".into())),
            "{backend:?}"
        );
        let s = server
            .client()
            .await
            .list_customer_badges(authed(READER, req()))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(s.metadata().get("retry-after").unwrap(), "60");
        // Others are not: another client, and unknown names count on their own.
        assert_eq!(rest(&server, WRITER_ONLY).await.0, StatusCode::FORBIDDEN);
        for _ in 0..3 {
            assert_eq!(
                rest(&server, ("nobody", "x")).await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            rest(&server, ("nobody", "x")).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn each_client_has_its_own_rate() {
    // The test clock stands still, so the bucket never refills: exactly
    // `burst` calls pass.
    let limits = Limits {
        rate_per_second: 1,
        rate_burst: 3,
        ..Limits::DEFAULT
    };
    for backend in backends() {
        let server = TestServer::start_with(backend, NOW, limits).await;
        load(&server.store).await;
        for _ in 0..3 {
            assert_eq!(rest(&server, READER).await.0, StatusCode::OK, "{backend:?}");
        }
        assert_eq!(
            rest(&server, READER).await,
            (StatusCode::TOO_MANY_REQUESTS, Some("1".into()))
        );
        let s = server
            .client()
            .await
            .list_customer_badges(authed(READER, req()))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(
            rest(&server, READER_B).await.0,
            StatusCode::OK,
            "another client is not limited"
        );
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn oversized_messages_and_bodies_are_refused() {
    for backend in backends() {
        let server = TestServer::start(backend, NOW).await;
        load(&server.store).await;
        let big = ListCustomerBadgesRequest {
            name: Some("n".repeat(70 * 1024)),
            ..req()
        };
        let s = server
            .client()
            .await
            .list_customer_badges(authed(READER, big))
            .await
            .unwrap_err();
        assert!(
            matches!(s.code(), Code::OutOfRange | Code::ResourceExhausted),
            "{backend:?}: {s:?}"
        );
        // Just under the cap, the name itself is what is refused (400).
        let long = ListCustomerBadgesRequest {
            name: Some("n".repeat(257)),
            ..req()
        };
        let s = server
            .client()
            .await
            .list_customer_badges(authed(READER, long))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument);

        let body = format!(
            "{{\"customerId\": 1, \"email\": \"{}\"}}",
            "e".repeat(1024 * 1024 + 1)
        );
        let r = reqwest::Client::new()
            .put(format!(
                "http://{}/api_gateway/v1/badges/customers",
                server.addr
            ))
            .header("authorization", basic(READER_B))
            .header("content-type", "application/json")
            .body(body)
            .checked()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{backend:?}");
        server.stop().await.unwrap();
    }
}
