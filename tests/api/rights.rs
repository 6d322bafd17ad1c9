//! Who may call what follows from where a call is routed (issue 21): each
//! group of routes, REST and gRPC, has admission with the right it needs,
//! and the routes that need none have none. Checked on every REST route
//! and both gRPC services.

use badges::proto::badge_admin_service_client::BadgeAdminServiceClient;
use badges::proto::{CreateGroupRequest, ListCustomerBadgesRequest};
use reqwest::{Method, StatusCode};

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{Backend, TestServer};

const B: &str = "/api_gateway/v1/badges";

fn read_routes() -> Vec<(Method, String)> {
    vec![
        (Method::GET, format!("{B}/management/{CUSTOMER}")),
        (Method::GET, format!("{B}/management/{CUSTOMER}/badge/{B1}")),
    ]
}

fn write_routes() -> Vec<(Method, String)> {
    vec![
        (Method::POST, format!("{B}/group")),
        (Method::POST, format!("{B}/badgeMeta")),
        (Method::PUT, format!("{B}/badgeMeta/{B1}/activate")),
        (Method::PUT, format!("{B}/badgeMeta/{B1}/deactivate")),
        (Method::POST, format!("{B}/badgeMeta/{B1}/claim")),
        (Method::POST, format!("{B}/badgeMeta/{B1}/unclaim")),
        (Method::PUT, format!("{B}/customers")),
        (Method::POST, format!("{B}/badgeMeta/customer/issueBulk")),
        (Method::POST, format!("{B}/badgeMeta/customer/revokeIssue")),
        (Method::POST, format!("{B}/customer/earn")),
        (Method::POST, format!("{B}/customer/earnBulk")),
        (Method::POST, format!("{B}/customer/revokeEarn")),
        (Method::PUT, format!("{B}/import/customerBadges")),
    ]
}

#[tokio::test]
async fn every_route_needs_the_right_of_its_group() {
    let server = TestServer::start(Backend::Sqlite, NOW).await;
    load(&server.store).await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let call = |method: Method, path: &str, creds: Option<(&str, &str)>| {
        let mut r = http
            .request(method, format!("{base}{path}"))
            .header("content-type", "application/json")
            .body("{}");
        if let Some(creds) = creds {
            r = r.header("authorization", basic(creds));
        }
        async move { r.checked().await.unwrap().status() }
    };
    for (method, path) in read_routes() {
        assert_eq!(
            call(method.clone(), &path, None).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            call(method.clone(), &path, Some(WRITER_ONLY)).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_ne!(
            call(method, &path, Some(READER)).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for (method, path) in write_routes() {
        assert_eq!(
            call(method.clone(), &path, None).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            call(method.clone(), &path, Some(READER)).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_ne!(
            call(method, &path, Some(WRITER_ONLY)).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    // A route's other methods are behind its admission too: 401, then 405
    // (not documented operations, so not checked against the document).
    let list = format!("{base}{}", read_routes()[0].1);
    let post = |creds: Option<(&str, &str)>| {
        let mut r = http.post(&list);
        if let Some(creds) = creds {
            r = r.header("authorization", basic(creds));
        }
        async move { r.send().await.unwrap().status() }
    };
    assert_eq!(post(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post(Some(READER)).await, StatusCode::METHOD_NOT_ALLOWED);
    // The routes that need nothing, and a path no route serves.
    assert_eq!(
        call(Method::GET, "/openapi.json", None).await,
        StatusCode::OK
    );
    assert_eq!(call(Method::GET, "/metrics", None).await, StatusCode::OK);
    assert_eq!(
        call(Method::POST, "/v3/oauth/token/generate", None).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(Method::GET, &format!("{B}/nowhere"), None).await,
        StatusCode::NOT_FOUND
    );

    // gRPC: each service with the right of its group.
    let list = || ListCustomerBadgesRequest {
        customer_id: CUSTOMER.to_string(),
        ..Default::default()
    };
    let mut reader = server.client().await;
    let denied = reader
        .list_customer_badges(authed(WRITER_ONLY, list()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert!(
        reader
            .list_customer_badges(authed(READER, list()))
            .await
            .is_ok()
    );
    let mut admin = BadgeAdminServiceClient::new(server.channel().await);
    let group = || CreateGroupRequest {
        name: "rights".into(),
        rank: Some(1),
    };
    let denied = admin
        .create_group(authed(READER, group()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert!(
        admin
            .create_group(authed(WRITER_ONLY, group()))
            .await
            .is_ok()
    );
    server.stop().await.unwrap();
}
