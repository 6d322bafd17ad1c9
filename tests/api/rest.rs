//! The JSON gateway: the upstream wire shape, every filter and error over
//! HTTP, the same rows as gRPC, and answers valid against the OpenAPI document.

use badges::demo::{self, DEMO_SECRET, DEMO_USERNAME};
use badges::domain::Micros;
use badges::proto::{BadgeType, ListCustomerBadgesRequest};
use badges::rest::{DETAIL_ROUTE, LIST_ROUTE, OPENAPI_JSON};
use prost_reflect::{DescriptorPool, Value as ReflectValue};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TestServer, on_each_backend};

const ALL: &str = "badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size=100";

fn base(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

fn list_url(server: &TestServer, customer: &str, query: &str) -> String {
    format!(
        "{}/api_gateway/v1/badges/management/{customer}?{query}",
        base(server)
    )
}

/// GET with Basic credentials (the answer checked against the OpenAPI
/// document); returns status, headers and body.
pub(crate) async fn get(
    url: &str,
    creds: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::new();
    let mut req = client.get(url);
    if let Some(c) = creds {
        req = req.header("authorization", basic(c));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.checked().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/json",
        "{url}"
    );
    let body: Value = resp.json().await.unwrap();
    (status, headers, body)
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]["customerBadges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["badgeMetaId"].as_str().unwrap().to_owned())
        .collect()
}

fn errors(body: &Value) -> Vec<(u64, Option<String>)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["code"].as_u64().unwrap(),
                e["reference"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn each_route_is_its_rpcs_http_annotation() {
    let pool = DescriptorPool::decode(badges::server::FILE_DESCRIPTOR_SET).unwrap();
    let http = pool.get_extension_by_name("google.api.http").unwrap();
    for (rpc, route) in [
        ("ListCustomerBadges", LIST_ROUTE),
        ("GetCustomerBadge", DETAIL_ROUTE),
    ] {
        let method = pool
            .get_service_by_name("capillary.badges.v1.CustomerBadgeService")
            .unwrap()
            .methods()
            .find(|m| m.name() == rpc)
            .unwrap();
        let options = method.options();
        let rule = options.get_extension(&http);
        let ReflectValue::Message(rule) = rule.as_ref() else {
            panic!("no http rule on {rpc}")
        };
        let get = rule.get_field_by_name("get").unwrap();
        assert_eq!(get.as_str(), Some(route), "{rpc}");
    }
}

#[tokio::test]
async fn every_filter_over_rest_matches_grpc() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let cases: Vec<(String, Vec<&str>)> = vec![
            ("".to_owned(), vec![B5, B6]),
            ("badgeType=available".to_owned(), vec![B2, B7, B8, B3]),
            ("badgeType=EARNED".to_owned(), vec![B4, B1]),
            ("badgeType=EXPIRED".to_owned(), vec![B5, B3]),
            ("badgeType=EARNED&badgeType=EXPIRED".to_owned(), vec![B5, B4, B1, B3]),
            ("badgeType=EARNED,EXPIRED".to_owned(), vec![B5, B4, B1, B3]),
            (format!("{ALL}&name=twin"), vec![B7, B8]),
            (format!("{ALL}&name=%25"), vec![B2]),
            (format!("{ALL}&action=DE_ACTIVATED&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B2, B6]),
            (format!("{ALL}&action=deactivated&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B2, B6]),
            (format!("{ALL}&badgeStatus=UPCOMING,LIVE&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B1, B2, B4, B5, B6, B7, B8]),
            (format!("{ALL}&badgeStatus=expired"), vec![B3]),
            (format!("{ALL}&owner=LOYALTY&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B1, B2, B4]),
            (format!("{ALL}&claimedBy=Milestones,Loyalty&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B1, B4]),
            (format!("{ALL}&claimedBy=Journeys"), vec![]),
            (format!("{ALL}&startOn=2025-01-01T00:00:00.000Z&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B2, B6]),
            (format!("{ALL}&startOn=2025-01-01T02:00:00%2B02:00&startOnOperator=LESS_THAN&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B1, B3, B4, B5, B7, B8]),
            (format!("{ALL}&expiresOn=2025-01-11T00:00:00Z&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B3, B6]),
            (format!("{ALL}&expiresOn=2025-01-11T00:00:00Z&expiresOnOperator=GREATER_THAN&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B2, B4, B5]),
            (format!("{ALL}&groupId={G1}&sortOn=LAST_MODIFIED_DATE&order=ASC"), vec![B1, B4]),
            (format!("{ALL}&groupId={UNKNOWN_GROUP}"), vec![]),
            (format!("{ALL}&sortOn=last_expired_badge"), vec![B4, B2, B1, B7, B8, B6, B5, B3]),
            (format!("{ALL}&sortOn=LAST_EARNED_EVENT_DATE&order=asc"), vec![B3, B4, B1, B5, B2, B6, B7, B8]),
            ("badgeType=AVAILABLE&Page=1&Size=2".to_owned(), vec![B8, B3]),
            ("badgeType=AVAILABLE&page=1&size=3".to_owned(), vec![B3]),
        ];
        for (query, expected) in cases {
            let (status, _, body) = get(&list_url(&server, "100", &query), Some(READER), &[]).await;
            assert_eq!(status, StatusCode::OK, "{backend:?} {query}: {body}");
            assert_eq!(ids(&body), expected, "{backend:?} {query}");
        }

        // The same rows and pagination as gRPC, for the same request.
        let (_, _, rest) = get(&list_url(&server, "100", "badgeType=AVAILABLE&page=1&size=2"), Some(READER), &[]).await;
        let grpc = server
            .client()
            .await
            .list_customer_badges(authed(READER, ListCustomerBadgesRequest {
                customer_id: "100".into(),
                badge_type: vec![BadgeType::Available as i32],
                page: Some(1),
                size: Some(2),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        let grpc_ids: Vec<String> = grpc.customer_badges.iter().map(|b| b.badge_meta_id.clone()).collect();
        assert_eq!(ids(&rest), grpc_ids);
        let p = grpc.pagination.unwrap();
        assert_eq!(rest["data"]["pagination"], json!({"page": p.page, "size": p.size, "total": p.total, "totalPages": p.total_pages}));
        server
    })
    .await;
}

#[tokio::test]
async fn customers_are_addressed_by_header_with_decoded_segments() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        for (kind, value) in [
            ("email", "alice%40example.com"),
            ("EMAIL", "ALICE@EXAMPLE.COM"),
            ("mobile", "%2B15550100"),
            ("externalId", "ext-100"),
            ("cardnumber", "card-100"),
        ] {
            let (status, _, body) = get(
                &list_url(&server, value, "badgeType=EARNED"),
                Some(READER),
                &[("X-CAP-CUSTOMER-IDENTIFIER", kind)],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{backend:?} {kind} {value}: {body}");
            assert_eq!(ids(&body), vec![B4, B1], "{backend:?} {kind}");
        }
        server
    })
    .await;
}

#[tokio::test]
async fn every_error_answers_in_the_envelope() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let url = |q: &str| list_url(&server, "100", q);

        let (status, headers, body) = get(&url(""), None, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend:?}");
        assert_eq!(headers.get("www-authenticate").unwrap(), "Basic realm=\"badges\"");
        assert_eq!(errors(&body), vec![(401, None)]);
        let (status, headers, _) = get(&url(""), Some((READER.0, "wrong")), &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(headers.contains_key("www-authenticate"));

        let (status, _, body) = get(&url(""), Some(WRITER_ONLY), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(errors(&body), vec![(403, None)]);

        // Every problem of one request, listed together.
        let (status, _, body) = get(
            &url("badgeType=NOPE&page=-1&size=500&startOn=31/01/2024&expiresOnOperator=LESS_THAN&sortOn=x&colour=red&groupId=zz"),
            Some(READER),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend:?}");
        let refs: Vec<String> = errors(&body).into_iter().map(|(c, r)| format!("{c}:{}", r.unwrap_or_default())).collect();
        assert_eq!(
            refs,
            ["400:sortOn", "400:badgeType", "400:startOn", "400:page", "400:size", "400:expiresOnOperator", "400:groupId", "400:colour"],
            "{backend:?}"
        );

        let (status, _, body) = get(&url(""), Some(READER), &[("X-CAP-CUSTOMER-IDENTIFIER", "phone")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(errors(&body), vec![(1028, Some("X-CAP-CUSTOMER-IDENTIFIER".into()))]);
        assert_eq!(body["errors"][0]["message"], "Invalid Customer Identifier type");

        // Missing, and another org's customer: the same bytes.
        let client = reqwest::Client::new();
        let raw = |customer: &'static str| {
            let client = client.clone();
            let url = list_url(&server, customer, "");
            async move {
                let r = client.get(url).header("authorization", basic(READER)).checked().await.unwrap();
                (r.status(), r.bytes().await.unwrap())
            }
        };
        let (missing_status, missing) = raw("999999").await;
        let (foreign_status, foreign) = raw("200").await;
        assert_eq!(missing_status, StatusCode::NOT_FOUND);
        assert_eq!((foreign_status, &foreign), (missing_status, &missing));
        let body: Value = serde_json::from_slice(&missing).unwrap();
        assert_eq!(errors(&body), vec![(1026, Some("customerId".into()))]);
        assert_eq!(body["errors"][0]["message"], "Customer with the specified ID is not found");

        // Unknown paths and wrong methods, in the same envelope.
        let (status, _, body) = get(&format!("{}/no/such/path", base(&server)), Some(READER), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(errors(&body), vec![(404, None)]);
        let resp = client.delete(url("")).header("authorization", basic(READER)).checked().await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(errors(&body), vec![(405, None)]);

        // Limits: a long URI, large headers, too many parameters.
        let long = format!("name={}", "a".repeat(9000));
        let (status, _, _) = get(&url(&long), Some(READER), &[]).await;
        assert_eq!(status, StatusCode::URI_TOO_LONG);
        let big = "x".repeat(17_000);
        let (status, _, _) = get(&url(""), Some(READER), &[("x-padding", big.as_str())]).await;
        assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let many = vec!["owner=Loyalty"; 65].join("&");
        let (status, _, body) = get(&url(&many), Some(READER), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(errors(&body), vec![(400, None)]);

        // The database gone: 503, no internals.
        server.store.connection().close_by_ref().await.unwrap();
        let (status, _, body) = get(&url(""), Some(READER), &[]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{backend:?}");
        assert_eq!(body["errors"][0], json!({"code": 503, "message": "Service unavailable", "reference": null}));
        server
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    on_each_backend(NOW, |_, server| async move {
        let resp = reqwest::Client::new()
            .get(format!("{}/openapi.json", base(&server)))
            .checked()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let served: Value = resp.json().await.unwrap();
        assert_eq!(served, serde_json::from_str::<Value>(OPENAPI_JSON).unwrap());
        assert_eq!(served["openapi"], "3.1.0");
        server
    })
    .await;
}

/// Each documented operation is served (the other way round, an answer of
/// an undocumented route fails `checked` in whichever test calls it).
#[tokio::test]
async fn every_documented_operation_is_served() {
    on_each_backend(NOW, |_, server| async move {
        let doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let http = reqwest::Client::new();
        let mut operations = 0;
        for (template, item) in doc["paths"].as_object().unwrap() {
            let path = template
                .replace("{customerId}", "62090013")
                .replace("{badgeId}", "6673b08c39c6a546eb054726")
                .replace("{id}", "6673b08c39c6a546eb054726");
            for method in item.as_object().unwrap().keys() {
                let request = http.request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{path}", base(&server)),
                );
                let status = request.checked().await.unwrap().status();
                assert!(
                    status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template}: {status}"
                );
                operations += 1;
            }
        }
        assert_eq!(operations, 30);
        server
    })
    .await;
}

/// 2024-06-15T00:00:00Z and 2025-06-01T00:00:00Z: inside the windows of the
/// examples' badges.
const JUNE_2024: Micros = Micros(1_718_409_600_000_000);
const JUNE_2025: Micros = Micros(1_748_736_000_000_000);

/// Fields whose example value contradicts BEHAVIOUR.md; their presence and
/// type are checked, not their value (see tests/upstream-examples/README.md).
const VALUE_DEVIATIONS: &[&str] = &["lastEarnedOnDate", "lastEarnEventDate"];

#[tokio::test]
async fn answers_match_the_upstream_examples() {
    let examples: &[(&str, Micros, &str, &str, Option<&str>)] = &[
        ("default.json", JUNE_2024, "62090013", "", None),
        (
            "when-badgetype-earned.json",
            JUNE_2024,
            "62090013",
            "badgeType=EARNED",
            None,
        ),
        (
            "when-badgetype-earned-and-badgestatus-live.json",
            JUNE_2024,
            "62090013",
            "badgeType=EARNED&badgeStatus=LIVE",
            None,
        ),
        (
            "when-owner-loyalty-and-badgetype-earned.json",
            JUNE_2025,
            "62090013",
            "owner=Loyalty&badgeType=EARNED",
            None,
        ),
        (
            "when-badgestatus-upcoming-and-badgetype-available.json",
            JUNE_2024,
            "62090013",
            "badgeStatus=UPCOMING&badgeType=AVAILABLE&page=0&size=50",
            None,
        ),
        (
            "when-badgetype-expired.json",
            JUNE_2024,
            "62090013",
            "badgeType=EXPIRED",
            None,
        ),
        (
            "filter-by-group-id.json",
            JUNE_2024,
            "tom.sawyer@capillarytech.com",
            "groupId=65c3600c60d9261bdd8a6410",
            Some("email"),
        ),
    ];
    for clock in [JUNE_2024, JUNE_2025] {
        on_each_backend(clock, |backend, server| async move {
            demo::load(&server.store, clock).await.unwrap();
            for (file, at, customer, query, header) in examples.iter().filter(|e| e.1 == clock) {
                let _ = at;
                let path = format!(
                    "{}/tests/upstream-examples/{file}",
                    env!("CARGO_MANIFEST_DIR")
                );
                let example: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let headers: Vec<(&str, &str)> = header
                    .iter()
                    .map(|h| ("X-CAP-CUSTOMER-IDENTIFIER", *h))
                    .collect();
                let (status, _, body) = get(
                    &list_url(&server, customer, query),
                    Some((DEMO_USERNAME, DEMO_SECRET)),
                    &headers,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{file}");

                // The envelope and pagination have the example's keys and types.
                assert_same_shape(&example, &body, &["data", "customerBadges"], file);
                assert_eq!(body["errors"], json!([]));
                assert_eq!(body["warnings"], json!([]));

                let expected = expected_row(file, &example["data"]["customerBadges"][0]);
                let id = expected["badgeMetaId"].as_str().unwrap();
                let row = body["data"]["customerBadges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["badgeMetaId"] == id)
                    .unwrap_or_else(|| panic!("{backend:?} {file}: {id} missing from {body}"));
                assert_rows_equal(&expected, row, file);
            }
            server
        })
        .await;
    }
}

/// The example's row with the documented deviations of BEHAVIOUR.md applied.
fn expected_row(file: &str, row: &Value) -> Value {
    let mut row = row.clone();
    let obj = row.as_object_mut().unwrap();
    if obj["lastEarnedOn"].is_null() {
        obj.remove("lastEarnedOnDate");
        obj.remove("lastEarnEventDate");
    }
    if obj["earnCount"].is_null() {
        obj.insert("earnCount".into(), json!(0));
    }
    let _ = file;
    row
}

fn assert_rows_equal(expected: &Value, actual: &Value, file: &str) {
    let (e, a) = (expected.as_object().unwrap(), actual.as_object().unwrap());
    let mut ek: Vec<_> = e.keys().collect();
    let mut ak: Vec<_> = a.keys().collect();
    ek.sort();
    ak.sort();
    assert_eq!(ak, ek, "{file}: key sets differ");
    for (k, ev) in e {
        let av = &a[k];
        if VALUE_DEVIATIONS.contains(&k.as_str()) {
            assert!(av.is_i64(), "{file}: {k} must be whole seconds, got {av}");
            continue;
        }
        assert!(same_value(ev, av), "{file}: {k}: expected {ev}, got {av}");
    }
}

/// Equal values, numbers compared as numbers (1818857606 = 1818857606.000000000).
fn same_value(e: &Value, a: &Value) -> bool {
    match (e, a) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .is_some_and(|(x, y)| (x - y).abs() < 1e-6),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => e == a,
    }
}

/// The same keys and JSON types everywhere except under `skip` (a path whose
/// contents are compared row by row instead).
fn assert_same_shape(e: &Value, a: &Value, skip: &[&str], file: &str) {
    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    fn walk(e: &Value, a: &Value, path: &mut Vec<String>, skip: &[&str], file: &str) {
        if path.iter().map(String::as_str).eq(skip.iter().copied()) {
            return;
        }
        assert_eq!(kind(a), kind(e), "{file}: type at {path:?}");
        if let (Value::Object(eo), Value::Object(ao)) = (e, a) {
            let mut ek: Vec<_> = eo.keys().collect();
            let mut ak: Vec<_> = ao.keys().collect();
            ek.sort();
            ak.sort();
            assert_eq!(ak, ek, "{file}: keys at {path:?}");
            for (k, ev) in eo {
                path.push(k.clone());
                walk(ev, &ao[k], path, skip, file);
                path.pop();
            }
        }
    }
    walk(e, a, &mut Vec::new(), skip, file);
}
