//! The command line: `org create` and `client create` print one JSON line; the
//! printed secret works against the server, and only it does.

use std::sync::Arc;
use std::time::Duration;

use badges::auth::TokenKeys;
use badges::domain::FixedClock;
use badges::proto::ListCustomerBadgesRequest;
use badges::store::{NewCustomer, PoolSettings, Store};
use tokio::net::TcpListener;

use crate::common::cli;
use crate::common::fixture::{NOW, authed};

#[tokio::test]
async fn org_and_client_commands_make_working_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());

    let org = cli(&db, &["org", "create", "--name", "acme"]);
    let org_id = org["orgId"].as_i64().unwrap();
    assert_eq!(org["name"], "acme");
    let client = cli(
        &db,
        &[
            "client",
            "create",
            "--org",
            &org_id.to_string(),
            "--username",
            "svc",
            "--rights",
            "read,write",
        ],
    );
    let secret = client["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 40);
    assert_eq!(client["rights"], serde_json::json!(["read", "write"]));

    // The stored secret is a hash, never the secret.
    let store = Store::connect(&db.parse().unwrap(), &PoolSettings::default())
        .await
        .unwrap();
    let stored = store.find_api_client("svc").await.unwrap().unwrap();
    assert!(stored.secret_hash.starts_with("$argon2id$"));
    assert!(!stored.secret_hash.contains(&secret));
    store
        .insert_customer(NewCustomer {
            org_id: org_id as i32,
            customer_id: 1,
            ..Default::default()
        })
        .await
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(badges::server::serve(
        listener,
        badges::app::App::new(
            store,
            Arc::new(FixedClock(NOW)),
            TokenKeys::random(60),
            &badges::limits::Limits::DEFAULT,
        ),
        async move {
            let _ = rx.await;
        },
        badges::server::ServeOptions {
            grace: Duration::from_secs(5),
            ..Default::default()
        },
    ));
    let mut client =
        badges::proto::customer_badge_service_client::CustomerBadgeServiceClient::connect(format!(
            "http://{addr}"
        ))
        .await
        .unwrap();
    let r = || ListCustomerBadgesRequest {
        customer_id: "1".into(),
        ..Default::default()
    };
    let page = client
        .list_customer_badges(authed(("svc", &secret), r()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.pagination.unwrap().total, 0);
    let denied = client
        .list_customer_badges(authed(("svc", "not-the-secret"), r()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::Unauthenticated);
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
