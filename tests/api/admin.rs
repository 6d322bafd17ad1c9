//! The write API over REST and gRPC, OAuth tokens and rights: a realistic org
//! built through the public API only, then checked through the list call.

use std::time::Duration;

use badges::proto::badge_admin_service_client::BadgeAdminServiceClient;
use badges::proto::{self, BadgeType, ListCustomerBadgesRequest};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic::Request;
use tonic::metadata::MetadataValue;

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TOKEN_KEY, TestServer, on_each_backend};

/// A read+write client of a fresh org, plus the shared fixture world.
const ADMIN: (&str, &str) = ("admin-b", "admin-b-secret");

async fn http(
    server: &TestServer,
    method: &str,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let url = format!("http://{}{path}", server.addr);
    let mut req = client.request(method.parse().unwrap(), url);
    req = match auth {
        Auth::None => req,
        Auth::Basic(c) => req.header("authorization", basic(*c)),
        Auth::Bearer(t) => req.header("authorization", format!("Bearer {t}")),
        Auth::Upstream(t) => req.header("X-CAP-API-OAUTH-TOKEN", t.as_str()),
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.checked().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

enum Auth {
    None,
    Basic((&'static str, &'static str)),
    Bearer(String),
    Upstream(String),
}

async fn token(server: &TestServer, (key, secret): (&str, &str)) -> String {
    let (status, body) = http(
        server,
        "POST",
        "/v3/oauth/token/generate",
        &Auth::None,
        Some(json!({"key": key, "secret": secret})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["ttlSeconds"], 3600);
    body["data"]["accessToken"].as_str().unwrap().to_owned()
}

fn codes(body: &Value) -> Vec<u64> {
    body["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["code"].as_u64().unwrap()).collect())
        .unwrap_or_default()
}

async fn list_ids(server: &TestServer, auth: &Auth, customer: &str, query: &str) -> Vec<String> {
    let path = format!("/api_gateway/v1/badges/management/{customer}?{query}");
    let (status, body) = http(server, "GET", &path, auth, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["customerBadges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["badgeMetaId"].as_str().unwrap().to_owned())
        .collect()
}

async fn setup(server: &TestServer) -> World {
    let world = load(&server.store).await;
    server
        .store
        .insert_api_client(badges::store::NewApiClient {
            org_id: world.org_b,
            username: ADMIN.0.into(),
            secret_hash: badges::auth::hash_secret(ADMIN.1).unwrap(),
            can_read: true,
            can_write: true,
            created_at: NOW,
        })
        .await
        .unwrap();
    world
}

#[tokio::test]
async fn an_org_built_over_rest_lists_as_written() {
    on_each_backend(NOW, |backend, server| async move {
        setup(&server).await;
        let t = token(&server, ADMIN).await;
        let bearer = Auth::Bearer(t.clone());
        let upstream = Auth::Upstream(t);
        let b = "/api_gateway/v1/badges";

        let (s, g) = http(&server, "POST", &format!("{b}/group"), &bearer, Some(json!({"name": "Season", "rank": 2}))).await;
        assert_eq!(s, StatusCode::OK, "{backend:?} {g}");
        let group = g["data"]["id"].as_str().unwrap().to_owned();

        // A badge that started yesterday needs the migration header.
        let earn_badge = json!({
            "name": "Walker", "description": "walk", "earnType": "EARN",
            "startOnISO": "2024-12-31T00:00:00Z", "expiresOn": (NOW.0 / 1_000_000 + 30 * 86_400) as f64,
            "active": true, "badgeGroupId": group, "badgeRank": 1,
            "images": [{"name": "w", "fileSvcHandle": "h", "url": "https://w", "tag": "EARNED"}],
            "ownership": {"restrictedToOwners": ["Loyalty", "JOURNEYS"]},
            "earnedBadgeExpiry": {"expiryType": "RELATIVE", "relativeExpiryType": "DAYS", "value": 10}
        });
        let (s, body) = http(&server, "POST", &format!("{b}/badgeMeta"), &bearer, Some(earn_badge.clone())).await;
        assert_eq!((s, codes(&body)), (StatusCode::BAD_REQUEST, vec![722]), "{backend:?} {body}");
        let client = reqwest::Client::new();
        let created: Value = client
            .post(format!("http://{}{b}/badgeMeta", server.addr))
            .header("X-CAP-API-OAUTH-TOKEN", match &upstream { Auth::Upstream(t) => t.as_str(), _ => unreachable!() })
            .header("X-CAP-BADGES-MIGRATION", "migration")
            .json(&earn_badge)
            .checked()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let walker = created["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created["data"]["ownership"]["restrictedToOwners"], json!(["Loyalty", "Journeys"]));
        assert_eq!(created["data"]["earnedBadgeExpiry"], json!({"expiryType": "RELATIVE", "relativeExpirytype": "DAYS", "value": 10}));
        assert_eq!(created["data"]["startOn"].as_f64(), Some(1_735_603_200.0));

        let (s, created) = http(&server, "POST", &format!("{b}/badgeMeta"), &bearer, Some(json!({
            "name": "Member", "earnType": "ISSUE_EARN",
            "startOnISO": "2025-01-01T00:00:00Z", "expiresOnISO": "2025-03-01T00:00:00Z", "active": true,
            "ownership": {"restrictedToOwners": ["Milestones"]},
            "issuedBadgeExpiry": {"expiryType": "WITH_BADGE"}
        }))).await;
        assert_eq!(s, StatusCode::OK, "{created}");
        let member = created["data"]["id"].as_str().unwrap().to_owned();

        let (s, body) = http(&server, "POST", &format!("{b}/badgeMeta/{walker}/claim"), &bearer, Some(json!({"ownerType": "Loyalty", "referenceId": "L-1"}))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["data"], json!({"badgeMetaId": walker, "ownerType": "Loyalty", "referenceId": "L-1"}));
        let (s, body) = http(&server, "GET", &format!("{b}/badgeMeta/{walker}"), &bearer, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["ownership"]["claims"], json!([{"ownerType": "Loyalty", "referenceId": "L-1", "isActive": true}]));

        let (s, _) = http(&server, "PUT", &format!("{b}/customers"), &bearer, Some(json!({"customerId": 500, "email": "Bo@Example.com", "mobile": "+1555"}))).await;
        assert_eq!(s, StatusCode::OK);

        // Not enrolled yet: 811.
        let (s, body) = http(&server, "POST", &format!("{b}/badgeMeta/{member}/claim"), &bearer, Some(json!({"ownerType": "Milestones", "referenceId": "m"}))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        // Each earn names its badge's active claim (810 otherwise).
        let earn = |badge: &str, rid: &str| {
            let by = if badge == member { json!({"ownerType": "Milestones", "referenceId": "m"}) } else { json!({"ownerType": "Loyalty", "referenceId": "L-1"}) };
            json!({"badgeMetaId": badge, "customerId": 500, "requestId": rid, "triggeredBy": by})
        };
        let (s, body) = http(&server, "POST", &format!("{b}/customer/earn"), &bearer, Some(earn(&member, "m-1"))).await;
        assert_eq!((s, codes(&body)), (StatusCode::BAD_REQUEST, vec![811]), "{body}");

        let (s, body) = http(&server, "POST", &format!("{b}/badgeMeta/customer/issueBulk"), &bearer, Some(json!({"badgeMetaId": member, "customers": [500, 9999], "requestId": "e-1"}))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["expiresOn"].as_f64(), Some(1_740_787_200.0));
        assert_eq!(body["data"]["issuedBadges"][0]["error"], Value::Null);
        assert_eq!(body["data"]["issuedBadges"][1]["error"]["code"], 1026);
        let (_, again) = http(&server, "POST", &format!("{b}/badgeMeta/customer/issueBulk"), &bearer, Some(json!({"badgeMetaId": member, "customers": [500]}))).await;
        assert_eq!(again["data"]["issuedBadges"][0]["error"]["code"], 1040);

        let (s, m) = http(&server, "POST", &format!("{b}/customer/earn"), &bearer, Some(earn(&member, "m-1"))).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        let (s, w) = http(&server, "POST", &format!("{b}/customer/earn"), &bearer, Some(earn(&walker, "w-1"))).await;
        assert_eq!(s, StatusCode::OK, "{w}");
        assert_eq!(w["data"]["expiresOn"].as_f64(), Some((NOW.0 / 1_000_000 + 10 * 86_400) as f64));
        assert_eq!(w["data"]["requestId"], "w-1");

        // The list reflects every write at once, by id and by email.
        let reader = Auth::Basic(ADMIN);
        assert_eq!(list_ids(&server, &reader, "500", "badgeType=EARNED").await.len(), 2);
        let Auth::Upstream(token) = &upstream else { unreachable!() };
        let listed: Value = reqwest::Client::new()
            .get(format!("http://{}/api_gateway/v1/badges/management/BO@example.com?badgeType=EARNED", server.addr))
            .header("X-CAP-API-OAUTH-TOKEN", token.as_str())
            .header("X-CAP-CUSTOMER-IDENTIFIER", "email")
            .checked()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rows = listed["data"]["customerBadges"].as_array().unwrap().clone();
        let row = |id: &str| rows.iter().find(|r| r["badgeMetaId"] == id).unwrap().clone();
        assert_eq!(row(&member)["issueStatus"], "LIVE");
        assert_eq!(row(&member)["earnCount"], 1);
        assert_eq!(row(&walker)["badgeGroupName"], "Season");
        assert_eq!(row(&walker)["ownership"]["claims"][0]["referenceId"], "L-1");

        // Revoke: the badge moves from EARNED to AVAILABLE.
        let earned_id = w["data"]["earnedBadgeId"].as_str().unwrap();
        let (s, _) = http(&server, "POST", &format!("{b}/customer/revokeEarn"), &bearer, Some(json!({"badgeMetaId": walker, "customerId": 500, "earnedBadgeId": earned_id}))).await;
        assert_eq!(s, StatusCode::OK);
        let (s, body) = http(&server, "POST", &format!("{b}/customer/revokeEarn"), &bearer, Some(json!({"badgeMetaId": walker, "customerId": 500, "earnedBadgeId": earned_id}))).await;
        assert_eq!((s, codes(&body)), (StatusCode::BAD_REQUEST, vec![814]));
        assert_eq!(list_ids(&server, &reader, "500", "badgeType=EARNED").await, vec![member.clone()]);
        assert!(list_ids(&server, &reader, "500", "badgeType=AVAILABLE").await.contains(&walker));

        // An imported award that has already expired puts it in EXPIRED.
        let (s, body) = http(&server, "PUT", &format!("{b}/import/customerBadges"), &bearer, Some(json!([
            {"badgeMetaId": walker, "customerId": 500, "earnEventDateISO": "2024-12-31T12:00:00Z", "earnExpiresOnISO": "2024-12-31T18:00:00Z"},
            {"badgeMetaId": walker, "customerId": 500, "earnEventDateISO": "2020-01-01T00:00:00Z"},
            {"badgeMetaId": B1, "customerId": 500, "earnEventDateISO": "2024-12-31T12:00:00Z"}
        ]))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body[0]["data"]["earnedBadgeId"].is_string());
        assert_eq!(codes(&body[1]), vec![816]);
        assert_eq!(codes(&body[2]), vec![1054], "another org's badge");
        assert_eq!(list_ids(&server, &reader, "500", "badgeType=EXPIRED").await, vec![walker.clone()]);

        // Deactivate and unclaim show in the list.
        let (s, body) = http(&server, "PUT", &format!("{b}/badgeMeta/{walker}/deactivate"), &bearer, None).await;
        assert_eq!((s, &body["data"]), (StatusCode::OK, &json!({"id": walker, "isActive": false})));
        assert_eq!(list_ids(&server, &reader, "500", "badgeType=EXPIRED&action=DEACTIVATED").await, vec![walker.clone()]);
        let (s, body) = http(&server, "POST", &format!("{b}/badgeMeta/{walker}/unclaim"), &bearer, Some(json!({"ownerType": "Loyalty", "referenceId": "L-1"}))).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["data"], json!({"ownerType": "Loyalty", "referenceId": "L-1", "isActive": false}));
        assert!(list_ids(&server, &reader, "500", "badgeType=EXPIRED&claimedBy=Loyalty").await.is_empty());
        let (s, _) = http(&server, "PUT", &format!("{b}/badgeMeta/{walker}/activate"), &bearer, None).await;
        assert_eq!(s, StatusCode::OK);
        server
    })
    .await;
}

fn grpc_token<T>(token: &str, message: T) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut().insert(
        "x-cap-api-oauth-token",
        MetadataValue::try_from(token).unwrap(),
    );
    r
}

#[tokio::test]
async fn an_org_built_over_grpc_lists_as_written() {
    on_each_backend(NOW, |backend, server| async move {
        setup(&server).await;
        let t = token(&server, ADMIN).await;
        let mut admin = BadgeAdminServiceClient::new(server.channel().await);
        let ts = |secs: i64| prost_types::Timestamp {
            seconds: secs,
            nanos: 0,
        };
        let now_s = NOW.0 / 1_000_000;
        let badge = admin
            .create_badge(grpc_token(
                &t,
                proto::CreateBadgeRequest {
                    name: "Runner".into(),
                    earn_type: proto::EarnType::IssueEarn as i32,
                    start_on: Some(ts(now_s + 60)),
                    expires_on: Some(ts(now_s + 86_400)),
                    active: true,
                    restricted_to_owners: vec![proto::Owner::Journeys as i32],
                    ..Default::default()
                },
            ))
            .await
            .unwrap_or_else(|s| panic!("{backend:?} {s:?}"))
            .into_inner()
            .badge
            .unwrap();
        admin
            .upsert_customer(grpc_token(
                &t,
                proto::UpsertCustomerRequest {
                    customer_id: 600,
                    card_number: Some("C-600".into()),
                    ..Default::default()
                },
            ))
            .await
            .unwrap();
        let enrolled = admin
            .enrol_customers(grpc_token(
                &t,
                proto::EnrolCustomersRequest {
                    badge_meta_id: badge.id.clone(),
                    customers: vec![600],
                    // Inside the window, which opens in a minute (816
                    // otherwise).
                    issue_event_date: Some(ts(now_s + 60)),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(enrolled.outcomes[0].errors.is_empty());
        // The window opens in a minute: an earn now is refused (816), one
        // with an event time inside the window succeeds.
        let refused = admin
            .earn_badge(grpc_token(
                &t,
                proto::EarnBadgeRequest {
                    badge_meta_id: badge.id.clone(),
                    customer_id: 600,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        admin
            .earn_badge(grpc_token(
                &t,
                proto::EarnBadgeRequest {
                    badge_meta_id: badge.id.clone(),
                    customer_id: 600,
                    earn_event_date: Some(ts(now_s + 120)),
                    ..Default::default()
                },
            ))
            .await
            .unwrap();

        let mut reader = server.client().await;
        let mut list = grpc_token(
            &t,
            ListCustomerBadgesRequest {
                customer_id: "C-600".into(),
                identifier_type: proto::CustomerIdentifierType::CardNumber as i32,
                badge_type: vec![BadgeType::Earned as i32],
                ..Default::default()
            },
        );
        list.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {t}")).unwrap(),
        );
        let page = reader
            .list_customer_badges(list)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.customer_badges.len(), 1, "{backend:?}");
        assert_eq!(page.customer_badges[0].badge_meta_id, badge.id);
        assert_eq!(
            page.customer_badges[0].issue_status,
            Some(proto::IssueStatus::Live as i32)
        );
        server
    })
    .await;
}

#[tokio::test]
async fn request_ids_make_earns_safe_to_retry() {
    on_each_backend(NOW, |backend, server| async move {
        setup(&server).await;
        let auth = Auth::Basic(READER_B);
        let path = "/api_gateway/v1/badges/customer/earn";
        let body = json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": CUSTOMER, "requestId": "retry-1"});
        let (s1, first) = http(&server, "POST", path, &auth, Some(body.clone())).await;
        let (s2, second) = http(&server, "POST", path, &auth, Some(body)).await;
        assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{backend:?} {first}");
        assert_eq!(first, second, "the same answer");
        let (s, body) = http(&server, "POST", path, &auth, Some(json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": ORG_B_ONLY_CUSTOMER, "requestId": "retry-1"}))).await;
        assert_eq!((s, codes(&body)), (StatusCode::CONFLICT, vec![809]));

        // Twelve concurrent duplicates (as many as one client may have in
        // flight by default): exactly one award.
        let mut calls = Vec::new();
        for _ in 0..12 {
            let addr = server.addr;
            calls.push(tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("http://{addr}{path}"))
                    .header("authorization", basic(READER_B))
                    .json(&json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": ORG_B_ONLY_CUSTOMER, "requestId": "burst"}))
                    .timeout(Duration::from_secs(30))
                    .checked()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }));
        }
        let mut ids = std::collections::HashSet::new();
        for c in calls {
            let answer = c.await.unwrap();
            ids.insert(answer["data"]["earnedBadgeId"].as_str().unwrap_or_else(|| panic!("{backend:?} {answer}")).to_owned());
        }
        assert_eq!(ids.len(), 1, "{backend:?}: every duplicate got the first answer");
        let (_, listed) = http(&server, "GET", &format!("/api_gateway/v1/badges/management/{ORG_B_ONLY_CUSTOMER}?badgeType=EARNED"), &auth, None).await;
        assert_eq!(listed["data"]["customerBadges"][0]["earnCount"], 1, "{backend:?}");
        server
    })
    .await;
}

#[tokio::test]
async fn every_write_error_code_and_nothing_crosses_orgs() {
    on_each_backend(NOW, |backend, server| async move {
        setup(&server).await;
        let auth = Auth::Basic(READER_B);
        let b = "/api_gateway/v1/badges";
        let before = list_ids(&server, &Auth::Basic(READER), "100", "badgeType=EARNED,AVAILABLE,AVAILABLE_TO_ISSUE,EXPIRED&size=100").await;
        let cases: Vec<(&str, String, Value, StatusCode, Vec<u64>)> = vec![
            ("POST", format!("{b}/group"), json!({"name": "G"}), StatusCode::BAD_REQUEST, vec![732]),
            ("POST", format!("{b}/badgeMeta"), json!({"name": "Gold Star", "earnType": "EARN", "startOnISO": "2025-02-01T00:00:00Z", "expiresOnISO": "2025-03-01T00:00:00Z", "ownership": {"restrictedToOwners": ["Loyalty"]}}), StatusCode::CONFLICT, vec![725]),
            ("POST", format!("{b}/badgeMeta"), json!({"name": "N1", "earnType": "EARN", "startOnISO": "2025-02-01T00:00:00Z", "expiresOnISO": "2025-03-01T00:00:00Z", "ownership": {"restrictedToOwners": []}}), StatusCode::BAD_REQUEST, vec![728]),
            ("POST", format!("{b}/badgeMeta"), json!({"name": "N2", "earnType": "EARN", "startOnISO": "2025-02-01T00:00:00Z", "expiresOnISO": "2025-03-01T00:00:00Z", "ownership": {"restrictedToOwners": ["Nobody"]}}), StatusCode::BAD_REQUEST, vec![714]),
            ("POST", format!("{b}/badgeMeta"), json!({"name": "N3", "earnType": "EARN", "startOnISO": "2025-03-01T00:00:00Z", "expiresOnISO": "2025-02-01T00:00:00Z", "ownership": {"restrictedToOwners": ["Loyalty"]}}), StatusCode::BAD_REQUEST, vec![720]),
            ("POST", format!("{b}/badgeMeta"), json!({"name": "N4", "earnType": "EARN", "startOnISO": "2024-02-01T00:00:00Z", "expiresOnISO": "2025-02-01T00:00:00Z", "ownership": {"restrictedToOwners": ["Loyalty"]}}), StatusCode::BAD_REQUEST, vec![722]),
            ("POST", format!("{b}/badgeMeta"), json!({"name": "N5", "earnType": "EARN", "colour": "red"}), StatusCode::BAD_REQUEST, vec![400]),
            ("POST", format!("{b}/badgeMeta/{OTHER_ORG_BADGE}/claim"), json!({"ownerType": "Journeys", "referenceId": "x"}), StatusCode::BAD_REQUEST, vec![714]),
            ("POST", format!("{b}/badgeMeta/{OTHER_ORG_BADGE}/unclaim"), json!({"ownerType": "Loyalty", "referenceId": "nope"}), StatusCode::BAD_REQUEST, vec![737]),
            ("PUT", format!("{b}/customers"), json!({"customerId": ORG_B_ONLY_CUSTOMER, "email": EMAIL}), StatusCode::CONFLICT, vec![409]),
            ("POST", format!("{b}/customer/earn"), json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": 424242}), StatusCode::NOT_FOUND, vec![1026]),
            ("POST", format!("{b}/customer/earn"), json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": CUSTOMER, "earnEventDateISO": "2020-01-01T00:00:00Z"}), StatusCode::BAD_REQUEST, vec![816]),
            ("POST", format!("{b}/customer/earn"), json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": CUSTOMER, "earnEventDateISO": "2025-01-02T00:00:01Z"}), StatusCode::BAD_REQUEST, vec![400]),
            ("POST", format!("{b}/customer/earn"), json!({"badgeMetaId": OTHER_ORG_BADGE, "customerId": CUSTOMER, "triggeredBy": {"ownerType": "Loyalty", "referenceId": "nobody"}}), StatusCode::BAD_REQUEST, vec![810]),
            ("POST", format!("{b}/badgeMeta/customer/revokeIssue"), json!({"badgeMetaId": OTHER_ORG_BADGE}), StatusCode::BAD_REQUEST, vec![1051]),
            ("POST", format!("{b}/customer/earnBulk"), json!({"badgeMetaId": B1, "customerIds": [CUSTOMER]}), StatusCode::NOT_FOUND, vec![1054]),
            ("POST", format!("{b}/badgeMeta/customer/issueBulk"), json!({"badgeMetaId": OTHER_ORG_BADGE, "customers": [CUSTOMER]}), StatusCode::BAD_REQUEST, vec![1041]),
            // Org A's badge and customer, from org B: as absent as missing ones.
            ("POST", format!("{b}/customer/earn"), json!({"badgeMetaId": B1, "customerId": CUSTOMER}), StatusCode::NOT_FOUND, vec![1054]),
            ("POST", format!("{b}/badgeMeta/{B1}/claim"), json!({"ownerType": "Loyalty", "referenceId": "x"}), StatusCode::NOT_FOUND, vec![1054]),
            ("PUT", format!("{b}/badgeMeta/{B1}/deactivate"), Value::Null, StatusCode::NOT_FOUND, vec![1054]),
            ("POST", format!("{b}/customer/revokeEarn"), json!({"badgeMetaId": B1, "customerId": CUSTOMER, "earnedBadgeId": format!("{:024x}", 2)}), StatusCode::BAD_REQUEST, vec![814]),
        ];
        for (method, path, body, status, expected) in cases {
            let body = (!body.is_null()).then_some(body);
            let (s, answer) = http(&server, method, &path, &auth, body).await;
            assert_eq!((s, codes(&answer)), (status, expected.clone()), "{backend:?} {method} {path}: {answer}");
        }
        let (s, answer) = http(&server, "POST", &format!("{b}/group"), &auth, Some(json!({"name": "Dup", "rank": 1}))).await;
        assert_eq!(s, StatusCode::OK, "{answer}");
        let (s, answer) = http(&server, "POST", &format!("{b}/group"), &auth, Some(json!({"name": "Dup", "rank": 1}))).await;
        assert_eq!((s, codes(&answer)), (StatusCode::CONFLICT, vec![733]));

        // Org A is unchanged.
        let after = list_ids(&server, &Auth::Basic(READER), "100", "badgeType=EARNED,AVAILABLE,AVAILABLE_TO_ISSUE,EXPIRED&size=100").await;
        assert_eq!(before, after, "{backend:?}");
        server
    })
    .await;
}

#[tokio::test]
async fn tokens_and_rights_are_checked() {
    on_each_backend(NOW, |backend, server| async move {
        setup(&server).await;
        let list = "/api_gateway/v1/badges/management/100";
        let write = "/api_gateway/v1/badges/group";
        let group = Some(json!({"name": "G", "rank": 1}));

        // A reader's token lists, and is refused writes.
        let t = token(&server, READER).await;
        assert_eq!(http(&server, "GET", list, &Auth::Bearer(t.clone()), None).await.0, StatusCode::OK);
        assert_eq!(http(&server, "GET", list, &Auth::Upstream(t.clone()), None).await.0, StatusCode::OK);
        let (s, body) = http(&server, "POST", write, &Auth::Bearer(t.clone()), group.clone()).await;
        assert_eq!((s, codes(&body)), (StatusCode::FORBIDDEN, vec![403]), "{backend:?}");
        let (s, _) = http(&server, "POST", write, &Auth::Basic(READER), group.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Wrong credentials get no token.
        let (s, _) = http(&server, "POST", "/v3/oauth/token/generate", &Auth::None, Some(json!({"key": READER.0, "secret": "wrong"}))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let now = NOW.0 / 1_000_000;
        // Client 1 of org 1 is READER, at its first generation: a token with
        // these claims, signed with the right key, is good, so each bad
        // token below fails for its own reason only.
        let claims = |exp: i64, aud: &str| json!({"org_id": 1, "client_id": 1, "gen": 1, "iat": now, "exp": exp, "aud": aud});
        let sign = |claims: Value, key: &[u8]| jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key)).unwrap();
        // The harness clock is fixed in 2025, but token expiry is checked
        // against the real clock by jsonwebtoken; an `exp` in 2000 is expired either way.
        let expired = sign(claims(946_684_800, "badges"), TOKEN_KEY);
        let far = now + 600;
        let good = sign(claims(far, "badges"), TOKEN_KEY);
        assert_eq!(http(&server, "GET", list, &Auth::Bearer(good), None).await.0, StatusCode::OK, "{backend:?}: the control token");
        let other_key = sign(claims(far, "badges"), b"another-key-0123456789abcdef01234567");
        let other_audience = sign(claims(far, "elsewhere"), TOKEN_KEY);
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[1] = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"org_id":2,"client_id":3,"iat":0,"exp":4102444800,"aud":"badges"}"#);
        let tampered = parts.join(".");
        let none = format!(
            "{}.{}.",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"alg":"none","typ":"JWT"}"#),
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims(far, "badges").to_string())
        );
        for (what, bad) in [("expired", expired), ("other key", other_key), ("other audience", other_audience), ("tampered", tampered), ("alg none", none), ("garbage", "abc".into())] {
            let (s, body) = http(&server, "GET", list, &Auth::Bearer(bad.clone()), None).await;
            assert_eq!((s, codes(&body)), (StatusCode::UNAUTHORIZED, vec![401]), "{backend:?} {what}");
            let status = server
                .client()
                .await
                .list_customer_badges(grpc_token(&bad, ListCustomerBadgesRequest { customer_id: "100".into(), ..Default::default() }))
                .await
                .unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{what}");
        }

        // A disabled client is refused at once, Basic and token alike.
        assert!(server.store.update_api_client(READER.0, Some(true), None).await.unwrap());
        assert_eq!(http(&server, "GET", list, &Auth::Bearer(t), None).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(http(&server, "GET", list, &Auth::Basic(READER), None).await.0, StatusCode::UNAUTHORIZED);
        server
    })
    .await;
}
