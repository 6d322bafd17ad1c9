//! Issue 20: the smaller holes a hostile caller found, one test each, on
//! every backend, printing what they measure (before and after in
//! docs/RELIABILITY.md). The zero-window attack is in `unread.rs`, the event
//! order in `events.rs`, the NATS outage count in `events.rs`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use badges::limits::Limits;
use badges::proto::ListCustomerBadgesRequest;
use badges::server::ServeOptions;
use prost::Message;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TestDb, TestServer, backends, metric};

const LIST_METHOD: &str = "/capillary.badges.v1.CustomerBadgeService/ListCustomerBadges";

fn grpc_frame(message: &impl Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    framed.extend_from_slice(&bytes);
    framed
}

/// A gRPC call made by hand over HTTP/2 (h2): its grpc-status and
/// grpc-message, from the headers or the trailers.
async fn raw_grpc(
    server: &TestServer,
    body: Vec<u8>,
    extra: &[(&str, String)],
) -> (String, String) {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let mut head = http::Request::post(format!("http://{}{LIST_METHOD}", server.addr))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", basic(READER));
    for (k, v) in extra {
        head = head.header(*k, v);
    }
    let (response, mut stream) = client
        .send_request(head.body(()).unwrap(), body.is_empty())
        .unwrap();
    if !body.is_empty() {
        stream.send_data(body.into(), true).unwrap();
    }
    let response = response.await.unwrap();
    let (parts, mut body) = response.into_parts();
    let mut fields = parts.headers;
    if fields.contains_key("grpc-status") {
        // A status in the headers is a trailers-only answer: its HEADERS
        // frame must end the stream, or strict clients (grpc-go, grpcurl)
        // fail with "server closed the stream without sending trailers".
        assert!(
            body.is_end_stream(),
            "trailers-only answer ends with its headers"
        );
    } else {
        while let Some(data) = body.data().await {
            let data = data.unwrap();
            let _ = body.flow_control().release_capacity(data.len());
        }
        if let Some(trailers) = body.trailers().await.unwrap() {
            fields = trailers;
        }
    }
    let field = |name: &str| {
        fields
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    (field("grpc-status"), field("grpc-message"))
}

async fn metrics(server: &TestServer) -> String {
    reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Finding 2: a gRPC call with headers and no message answered INTERNAL
/// and counted as a server error. Now it is INVALID_ARGUMENT.
#[tokio::test]
async fn a_grpc_call_without_a_message_is_the_caller_s_error() {
    for backend in backends() {
        let server = TestServer::start(backend, NOW).await;
        load(&server.store).await;
        let (status, message) = raw_grpc(&server, Vec::new(), &[]).await;
        let text = metrics(&server).await;
        let label = |code: &str| {
            format!("badges_requests_total{{method=\"{LIST_METHOD}\",code=\"{code}\"}}")
        };
        eprintln!("{backend:?}: a header-only gRPC call: grpc-status {status} ({message})");
        assert_eq!(status, "3", "{backend:?}: INVALID_ARGUMENT: {message}");
        assert_eq!(metric(&text, &label("InvalidArgument")), 1.0);
        assert!(
            !text.contains(&label("Internal")),
            "{backend:?}: no server error counted"
        );
        // A real call still works.
        let request = ListCustomerBadgesRequest {
            customer_id: CUSTOMER.to_string(),
            ..Default::default()
        };
        let (status, _) = raw_grpc(&server, grpc_frame(&request), &[]).await;
        assert_eq!(status, "0");
        server.stop().await.unwrap();
    }
}

/// Finding 3: invalid UTF-8 in a query value answered 200 with an empty
/// page (the bytes were replaced). Now it is a 400 naming the parameter.
#[tokio::test]
async fn invalid_utf8_in_the_query_is_a_400_naming_the_parameter() {
    for backend in backends() {
        let server = TestServer::start(backend, NOW).await;
        load(&server.store).await;
        let http = reqwest::Client::new();
        let base = format!(
            "http://{}/api_gateway/v1/badges/management/{CUSTOMER}",
            server.addr
        );
        for (query, reference) in [
            ("name=%FF", "name"),
            ("name=%C0%80", "name"),
            ("name=%ED%A0%80", "name"),
            ("page=0&owner=%FFLoyalty", "owner"),
            ("%FF=1", "query"),
        ] {
            let r = http
                .get(format!("{base}?{query}"))
                .header("authorization", basic(READER))
                .checked()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{backend:?} {query}: {body}"
            );
            assert_eq!(body["errors"][0]["reference"], reference, "{query}: {body}");
        }
        // Valid UTF-8, percent-encoded, is still read.
        let r = http
            .get(format!("{base}?name=%C3%A9"))
            .header("authorization", basic(READER))
            .checked()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        server.stop().await.unwrap();
    }
}

/// Finding 4: emails matched with Unicode case rules, so the KELVIN SIGN
/// address found `kate@example.com`. Now only ASCII letters fold.
#[tokio::test]
async fn an_email_is_one_mailbox_whatever_unicode_folds_it_to() {
    const KELVIN: &str = "\u{212A}ate@example.com";
    for backend in backends() {
        let server = TestServer::start(backend, NOW).await;
        load(&server.store).await;
        let http = reqwest::Client::new();
        let base = format!("http://{}/api_gateway/v1/badges", server.addr);
        let put = |id: i64, email: &str| {
            http.put(format!("{base}/customers"))
                .header("authorization", basic(READER_B))
                .json(&json!({"customerId": id, "email": email}))
                .checked()
        };
        let find = |email: &str| {
            let encoded =
                percent_encoding::utf8_percent_encode(email, percent_encoding::NON_ALPHANUMERIC);
            http.get(format!("{base}/management/{encoded}"))
                .header("authorization", basic(READER_B))
                .header("X-CAP-CUSTOMER-IDENTIFIER", "email")
                .checked()
        };
        assert_eq!(
            put(300, "kate@example.com").await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(
            find("KATE@Example.COM").await.unwrap().status(),
            StatusCode::OK,
            "ASCII letters fold"
        );
        let r = find(KELVIN).await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{backend:?}: another mailbox"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], 1026);
        let r = put(301, KELVIN).await.unwrap();
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{backend:?}: not taken: {}",
            r.text().await.unwrap()
        );
        assert_eq!(find(KELVIN).await.unwrap().status(), StatusCode::OK);
        eprintln!(
            "{backend:?}: U+212A KELVIN SIGN + \"ate@example.com\" is its own customer; kate@example.com is found in any ASCII case"
        );
        server.stop().await.unwrap();
    }
}

fn from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(address)))
        .build()
        .unwrap()
}

/// Finding 5: wrong secrets for a known username made the right one answer
/// 429 too. Now failures lock the username out only from the address they
/// came from, and a secret verified before passes even there.
#[tokio::test]
async fn wrong_secrets_from_one_address_leave_the_right_client_served() {
    for backend in backends() {
        let limits = Limits {
            auth_max_failures: 5,
            ..Limits::DEFAULT
        };
        let server = TestServer::start_with(backend, NOW, limits).await;
        load(&server.store).await;
        let url = format!(
            "http://{}/api_gateway/v1/badges/management/{CUSTOMER}",
            server.addr
        );
        let (client, attacker) = (from([127, 0, 0, 1]), from([127, 0, 0, 2]));
        let get = |http: &reqwest::Client, creds: (&str, &str)| {
            http.get(&url).header("authorization", basic(creds)).send()
        };
        assert_eq!(get(&client, READER).await.unwrap().status(), StatusCode::OK);

        let (mut denied, mut locked) = (0, 0);
        for i in 0..20 {
            match get(&attacker, (READER.0, &format!("guess-{i}")))
                .await
                .unwrap()
                .status()
            {
                StatusCode::UNAUTHORIZED => denied += 1,
                StatusCode::TOO_MANY_REQUESTS => locked += 1,
                other => panic!("{other}"),
            }
        }
        // The legitimate client, from its own address and from the
        // attacker's: its secret was verified before.
        let own = get(&client, READER).await.unwrap().status();
        let shared = get(&attacker, READER).await.unwrap().status();
        // A client never seen before, whose username the attacker also
        // guessed at, from another address: checked, not locked out.
        for i in 0..10 {
            let _ = get(&attacker, (WRITER_ONLY.0, &format!("guess-{i}"))).await;
        }
        let first = get(&client, WRITER_ONLY).await.unwrap().status();
        eprintln!(
            "{backend:?}: 20 wrong secrets from 127.0.0.2: {denied} x 401, {locked} x 429; \
             the right secret then: {own} from 127.0.0.1, {shared} from 127.0.0.2; \
             a first call of another guessed-at client from 127.0.0.1: {first}"
        );
        assert_eq!(denied, 5, "{backend:?}: five failures counted");
        assert_eq!(locked, 15);
        assert_eq!(own, StatusCode::OK);
        assert_eq!(shared, StatusCode::OK, "a verified secret passes a lockout");
        assert_eq!(
            first,
            StatusCode::FORBIDDEN,
            "authenticated (it lacks the read right)"
        );
        let still = get(&attacker, (READER.0, "guess-x"))
            .await
            .unwrap()
            .status();
        assert_eq!(
            still,
            StatusCode::TOO_MANY_REQUESTS,
            "the attacker stays locked out"
        );
        server.stop().await.unwrap();
    }
}

/// Finding 7: `100 Continue` invited a body declared over the 1 MiB limit,
/// and an unsupported `grpc-encoding` was echoed whole (4,000 bytes).
#[tokio::test]
async fn oversized_bodies_are_refused_before_they_are_sent_and_encodings_are_not_echoed() {
    for backend in backends() {
        let server = TestServer::start(backend, NOW).await;
        load(&server.store).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST /api_gateway/v1/badges/customer/earn HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n",
            basic(READER_B)
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer))
            .await
            .expect("an answer without the body")
            .unwrap();
        let status_line = String::from_utf8_lossy(&answer[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(status_line, "HTTP/1.1 413 Payload Too Large", "{backend:?}");

        let request = ListCustomerBadgesRequest {
            customer_id: CUSTOMER.to_string(),
            ..Default::default()
        };
        let (status, message) = raw_grpc(
            &server,
            grpc_frame(&request),
            &[("grpc-encoding", "a".repeat(4000))],
        )
        .await;
        eprintln!(
            "{backend:?}: a 2 MB body with Expect: 100-continue: {status_line}; \
             grpc-encoding of 4,000 bytes: grpc-status {status}, a message of {} bytes",
            message.len()
        );
        assert_eq!(status, "12", "UNIMPLEMENTED");
        assert!(message.len() < 200, "{message}");
        server.stop().await.unwrap();
    }
}

/// Finding 7: request ids were kept forever (10,000 keys, 10,000 rows).
/// Now they are deleted once past their retention, in batches, by every
/// process.
#[tokio::test]
async fn request_ids_are_deleted_after_their_retention() {
    const OLD: usize = 2_500;
    for backend in backends() {
        let (db, store) = TestDb::migrated(backend).await;
        let url = db.url.clone();
        let server = TestServer::serve(
            store,
            db,
            NOW,
            Limits::DEFAULT,
            ServeOptions {
                request_id_retention: Duration::from_secs(3600),
                request_id_sweep: Duration::from_millis(100),
                ..ServeOptions::DEFAULT
            },
        )
        .await;
        let world = load(&server.store).await;
        let raw = Database::connect(&url).await.unwrap();
        let row = |id: String, at: i64| {
            format!(
                "({}, 'earn', '{id}', '{}', '{{}}', {at})",
                world.org_a,
                "0".repeat(64)
            )
        };
        let old_at = NOW.0 - 2 * HOUR;
        for chunk in (0..OLD).collect::<Vec<_>>().chunks(500) {
            let values: Vec<String> = chunk
                .iter()
                .map(|i| row(format!("old-{i}"), old_at))
                .collect();
            raw.execute_unprepared(&format!(
                "INSERT INTO idempotency_keys (org_id, kind, request_id, fingerprint, response, created_at) VALUES {}",
                values.join(", ")
            ))
            .await
            .unwrap();
        }
        raw.execute_unprepared(&format!(
            "INSERT INTO idempotency_keys (org_id, kind, request_id, fingerprint, response, created_at) VALUES {}",
            row("fresh".into(), NOW.0 - HOUR / 2)
        ))
        .await
        .unwrap();
        let count = async || -> i64 {
            let r = raw
                .query_one_raw(sea_orm::Statement::from_string(
                    raw.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM idempotency_keys",
                ))
                .await
                .unwrap()
                .unwrap();
            r.try_get("", "n").unwrap()
        };
        let started = Instant::now();
        while count().await > 1 && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let left = count().await;
        eprintln!(
            "{backend:?}: {} request ids, {OLD} past a retention of 1 h: {left} left after {:?}",
            OLD + 1,
            started.elapsed()
        );
        assert_eq!(left, 1, "{backend:?}: only the fresh one is kept");
        raw.close().await.ok();
        server.stop().await.unwrap();
    }
}
