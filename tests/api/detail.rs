//! The detail call (BEHAVIOUR.md §7), over REST and gRPC on both backends:
//! every field against a hand-computed expectation, the row against the
//! list's own row, the history and its cut, every error, and orgs that share
//! customer ids and emails.

use badges::auth::hash_secret;
use badges::proto::{
    BadgeType, CustomerIdentifierType, GetCustomerBadgeRequest, GetCustomerBadgeResponse,
    ListCustomerBadgesRequest,
};
use badges::store::{NewApiClient, NewAward};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TestServer, on_each_backend};

fn base(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

fn detail_url(server: &TestServer, customer: &str, badge: &str, query: &str) -> String {
    format!(
        "{}/api_gateway/v1/badges/management/{customer}/badge/{badge}?{query}",
        base(server)
    )
}

/// GET with Basic credentials and extra headers, checked against the
/// OpenAPI document (the REST tests' own helper): status and body.
async fn get(
    url: &str,
    creds: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (status, _, body) = crate::rest::get(url, creds, headers).await;
    (status, body)
}

/// The JSON number of an instant `offset` µs from NOW, as the wire has it.
fn secs(offset: i64) -> Value {
    json!((NOW.0 + offset) as f64 / 1e6)
}

/// The row of `badge` in the list, over REST, whichever badgeType it falls under.
async fn list_row(server: &TestServer, creds: (&str, &str), customer: &str, badge: &str) -> Value {
    let url = format!(
        "{}/api_gateway/v1/badges/management/{customer}?badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size=100",
        base(server)
    );
    let (status, body) = get(&url, Some(creds), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["customerBadges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["badgeMetaId"] == badge)
        .unwrap_or_else(|| panic!("{badge} not listed: {body}"))
        .clone()
}

async fn grpc_detail(
    server: &TestServer,
    creds: (&str, &str),
    r: GetCustomerBadgeRequest,
) -> Result<GetCustomerBadgeResponse, tonic::Status> {
    server
        .client()
        .await
        .get_customer_badge(authed(creds, r))
        .await
        .map(|r| r.into_inner())
}

fn detail_req(customer: &str, badge: &str, include_statistics: bool) -> GetCustomerBadgeRequest {
    GetCustomerBadgeRequest {
        customer_id: customer.into(),
        identifier_type: 0,
        badge_id: badge.into(),
        include_statistics,
    }
}

/// What the detail shares with the list's row, in the row's names (the
/// two must agree on each): with statistics, the counts and statuses too.
fn as_row(d: &Value) -> Value {
    let mut row = json!({
        "badgeMetaId": d["id"], "name": d["name"], "description": d["description"],
        "badgeType": d["badgeType"], "badgeGroupId": d["badgeGroupId"],
        "badgeGroupName": d["badgeGroupName"], "badgeRank": d["badgeRank"],
        "createdOn": d["createdOn"], "lastUpdatedOn": d["lastUpdatedOn"], "images": d["images"],
        "badgeStatus": d["badgeStatus"], "lastEarnedOn": d["lastEarnedOn"],
        "startsOn": d["startsOn"], "expiresOn": d["expiresOn"],
        "active": d["action"] == "ACTIVATED", "owners": d["owner"], "activeClaims": d["claimedBy"],
        "lastEarnedOnDate": d.get("lastEarnedOnDate"), "lastEarnEventDate": d.get("lastEarnEventDate"),
    });
    if let Some(earns) = d.get("earnDetails") {
        row["earnCount"] = earns["earnCount"].clone();
        row["issueStatus"] = d["issuedStatus"].clone();
    }
    row
}

/// The list's row, narrowed to what the detail shares (see [`as_row`]).
fn shared(row: &Value, with_statistics: bool) -> Value {
    let claims: Vec<Value> = row["ownership"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["isActive"] == true)
        .map(|c| json!({"ownerType": c["ownerType"], "referenceId": c["referenceId"]}))
        .collect();
    let mut out = json!({
        "badgeMetaId": row["badgeMetaId"], "name": row["name"], "description": row["description"],
        "badgeType": row["badgeType"], "badgeGroupId": row["badgeGroupId"],
        "badgeGroupName": row["badgeGroupName"], "badgeRank": row["badgeRank"],
        "createdOn": row["createdOn"], "lastUpdatedOn": row["lastUpdatedOn"], "images": row["images"],
        "badgeStatus": row["badgeStatus"], "lastEarnedOn": row["lastEarnedOn"],
        "startsOn": row["startsOn"], "expiresOn": row["expiresOn"], "active": row["active"],
        "owners": row["ownership"]["restrictedToOwners"], "activeClaims": claims,
        "lastEarnedOnDate": row.get("lastEarnedOnDate"), "lastEarnEventDate": row.get("lastEarnEventDate"),
    });
    if with_statistics {
        out["earnCount"] = row["earnCount"].clone();
        out["issueStatus"] = row["issueStatus"].clone();
    }
    out
}

/// The gRPC detail agrees with the gRPC list's row on what they share.
fn grpc_agrees(d: &GetCustomerBadgeResponse, row: &badges::proto::CustomerBadge) {
    let ownership = row.ownership.clone().unwrap_or_default();
    assert_eq!(
        (
            &d.id,
            &d.name,
            &d.description,
            d.badge_type,
            &d.badge_group_id,
            &d.badge_group_name,
            d.badge_rank
        ),
        (
            &row.badge_meta_id,
            &row.name,
            &row.description,
            row.badge_type,
            &row.badge_group_id,
            &row.badge_group_name,
            row.badge_rank
        )
    );
    assert_eq!(
        (
            d.created_on,
            d.last_updated_on,
            d.starts_on,
            d.expires_on,
            d.badge_status,
            &d.images
        ),
        (
            row.created_on,
            row.last_updated_on,
            row.starts_on,
            row.expires_on,
            row.badge_status,
            &row.images
        )
    );
    assert_eq!(
        (d.last_earned_on, d.last_earn_event_date),
        (row.last_earned_on, row.last_earn_event_date)
    );
    assert_eq!(
        d.action == badges::proto::Action::Activated as i32,
        row.active
    );
    assert_eq!(d.owner, ownership.restricted_to_owners);
    let claims: Vec<(i32, String)> = ownership
        .claims
        .iter()
        .filter(|c| c.is_active)
        .map(|c| (c.owner_type, c.reference_id.clone()))
        .collect();
    let claimed: Vec<(i32, String)> = d
        .claimed_by
        .iter()
        .map(|c| (c.owner_type, c.reference_id.clone()))
        .collect();
    assert_eq!(claimed, claims);
    if let Some(s) = &d.statistics {
        assert_eq!(
            (s.earn_count, s.issued_status),
            (i64::from(row.earn_count), row.issue_status)
        );
    }
}

/// B4 (enrol and issue) gets an award of each kind and an enrolment of
/// each status: live award 5 (fixture, at -1 d), an expired and a revoked
/// one; the live enrolment (fixture, at -3 d), an expired and a revoked one.
async fn add_b4_history(server: &TestServer, org: i32) {
    for a in [
        award(org, 10, B4, -10 * DAY, -11 * DAY, Some(-2 * DAY), false),
        award(org, 11, B4, -12 * HOUR, -13 * HOUR, None, true),
    ] {
        server.store.insert_award(a).await.unwrap();
    }
    for e in [
        enrolment(org, B4, -20 * DAY, Some(-10 * DAY), false),
        enrolment(org, B4, -15 * DAY, None, true),
    ] {
        server.store.insert_enrolment(e).await.unwrap();
    }
}

#[tokio::test]
async fn every_field_of_a_badge_in_detail() {
    on_each_backend(NOW, |backend, server| async move {
        let world = load(&server.store).await;
        let org = world.org_a;
        add_b4_history(&server, org).await;
        let customer = CUSTOMER.to_string();

        // REST, with the history.
        let (status, body) = get(
            &detail_url(&server, &customer, B4, "includeStatistics=true"),
            Some(READER),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {body}");
        assert_eq!(body["errors"], json!([]));
        let data = &body["data"];
        // What it shares with the list's row, field for field.
        let listed = list_row(&server, READER, &customer, B4).await;
        assert_eq!(as_row(data), shared(&listed, true), "{backend:?}");
        // Hand-computed: awards 5 and 10 count (10 expired), 11 is revoked;
        // the latest is 5; the latest enrolment (at -3 d) is live.
        assert_eq!(data["earnDetails"]["earnCount"], 2);
        assert_eq!(data["activeEarnedCount"], 1, "10 has expired");
        assert_eq!(data["lastEarnedOn"], secs(-DAY));
        assert_eq!(data["lastEarnedOnDate"], json!((NOW.0 - DAY) / 1_000_000));
        assert_eq!(
            data["lastEarnEventDate"],
            json!((NOW.0 - 4 * DAY) / 1_000_000)
        );
        assert_eq!(data["issuedStatus"], "LIVE");
        assert_eq!(data["badgeStatus"], "LIVE");
        assert_eq!(data["badgeType"], "ISSUE_EARN");
        assert_eq!(data["action"], "ACTIVATED");
        assert_eq!(data["badgeGroupId"], G1);
        assert_eq!(data["badgeGroupName"], "Group One");
        assert_eq!(data["earnExpiry"], json!({"expiryType": "NEVER"}));
        assert_eq!(data["issueExpiry"], json!({"expiryType": "NEVER"}));
        assert_eq!(data["customFields"], json!({}));
        assert_eq!((&data["customerConstraints"], &data["badgeConstraints"]), (&json!([]), &json!([])));
        assert!(data.get("statistics").is_none() && data.get("earnCount").is_none(), "no list fields: {data}");
        assert_eq!(
            data["earnDetails"]["earns"],
            json!([
                {"earnedBadgeId": format!("{:024x}", 11), "earnedOn": secs(-12 * HOUR),
                 "earnEventDate": secs(-13 * HOUR), "expiresOn": null, "isActive": false,
                 "revokedOn": null, "ownerType": null, "ownerReferenceId": null},
                {"earnedBadgeId": format!("{:024x}", 5), "earnedOn": secs(-DAY),
                 "earnEventDate": secs(-4 * DAY), "expiresOn": null, "isActive": true,
                 "revokedOn": null, "ownerType": null, "ownerReferenceId": null},
                {"earnedBadgeId": format!("{:024x}", 10), "earnedOn": secs(-10 * DAY),
                 "earnEventDate": secs(-11 * DAY), "expiresOn": secs(-2 * DAY), "isActive": false,
                 "revokedOn": null, "ownerType": null, "ownerReferenceId": null},
            ]),
            "{backend:?}"
        );
        assert_eq!(
            data["issualDetails"],
            json!({"issuedCount": 3, "issualsTruncated": false, "issuals": [
                {"issueId": enrolment_id(org, B4, -3 * DAY), "issuedOn": secs(-3 * DAY),
                 "issueEventDate": null, "issueExpiresOn": secs(30 * DAY), "issuedStatus": "LIVE",
                 "revokedOn": null, "ownerType": null, "ownerReferenceId": null},
                {"issueId": enrolment_id(org, B4, -15 * DAY), "issuedOn": secs(-15 * DAY),
                 "issueEventDate": null, "issueExpiresOn": null, "issuedStatus": "REVOKED",
                 "revokedOn": null, "ownerType": null, "ownerReferenceId": null},
                {"issueId": enrolment_id(org, B4, -20 * DAY), "issuedOn": secs(-20 * DAY),
                 "issueEventDate": null, "issueExpiresOn": secs(-10 * DAY), "issuedStatus": "EXPIRED",
                 "revokedOn": null, "ownerType": null, "ownerReferenceId": null},
            ]}),
            "{backend:?}"
        );
        assert_eq!(data["earnDetails"]["earnsTruncated"], false);

        // Without the history: the same badge, no statistics keys.
        let (status, plain) = get(&detail_url(&server, &customer, B4, ""), Some(READER), &[]).await;
        assert_eq!(status, StatusCode::OK);
        let plain = &plain["data"];
        for key in ["issualDetails", "earnDetails", "issuedStatus", "customerConstraints", "badgeConstraints"] {
            assert!(plain.get(key).is_none(), "{key}: {plain}");
        }
        assert_eq!(as_row(plain), shared(&listed, false));
        assert_eq!(plain["activeEarnedCount"], 1);

        // gRPC: agrees with the gRPC list's row, and the same history.
        let d = grpc_detail(&server, READER, detail_req(&customer, B4, true))
            .await
            .unwrap();
        let listed = server
            .client()
            .await
            .list_customer_badges(authed(
                READER,
                ListCustomerBadgesRequest {
                    customer_id: customer.clone(),
                    badge_type: vec![BadgeType::Earned as i32],
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let listed_row = listed
            .customer_badges
            .iter()
            .find(|b| b.badge_meta_id == B4)
            .unwrap();
        grpc_agrees(&d, listed_row);
        assert_eq!(d.active_earned_count, 1);
        let s = d.statistics.clone().unwrap();
        let earned: Vec<(&str, bool, Option<i64>)> = s
            .earns
            .iter()
            .map(|a| {
                (
                    a.earned_badge_id.as_str(),
                    a.is_active,
                    a.expires_on.map(|t| t.seconds),
                )
            })
            .collect();
        let (id5, id10, id11) = (
            format!("{:024x}", 5),
            format!("{:024x}", 10),
            format!("{:024x}", 11),
        );
        assert_eq!(
            earned,
            [
                (id11.as_str(), false, None),
                (id5.as_str(), true, None),
                (id10.as_str(), false, Some((NOW.0 - 2 * DAY) / 1_000_000)),
            ]
        );
        assert_eq!(
            s.earns[0].earned_on.map(|t| t.seconds),
            Some((NOW.0 - 12 * HOUR) / 1_000_000)
        );
        let issued: Vec<(String, i32)> = s
            .issuals
            .iter()
            .map(|e| (e.issue_id.clone(), e.issued_status))
            .collect();
        use badges::proto::IssueStatus as I;
        assert_eq!(
            issued,
            [
                (enrolment_id(org, B4, -3 * DAY), I::Live as i32),
                (enrolment_id(org, B4, -15 * DAY), I::Revoked as i32),
                (enrolment_id(org, B4, -20 * DAY), I::Expired as i32),
            ]
        );
        assert_eq!(s.issued_count, 3);
        assert!(!s.earns_truncated && !s.issuals_truncated);
        let plain = grpc_detail(&server, READER, detail_req(&customer, B4, false))
            .await
            .unwrap();
        grpc_agrees(&plain, listed_row);
        assert!(plain.statistics.is_none());
        server
    })
    .await;
}

/// Awards written by the API carry who triggered them: an earn names its
/// module, an import names Historical_Import. And a badge the customer never
/// touched has an empty history and the badge's own rules.
#[tokio::test]
async fn the_history_shows_what_the_write_api_wrote() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let http = reqwest::Client::new();
        let b = base(&server);
        // The module claims the badge first: an earn it triggers must name
        // an active claim (810).
        let claimed = http
            .post(format!("{b}/api_gateway/v1/badges/badgeMeta/{B7}/claim"))
            .header("authorization", basic(WRITER_ONLY))
            .json(&json!({"ownerType": "Goodwill_Module", "referenceId": "gw-1"}))
            .checked()
            .await
            .unwrap();
        assert_eq!(claimed.status(), StatusCode::OK);
        let earn = http
            .post(format!("{b}/api_gateway/v1/badges/customer/earn"))
            .header("authorization", basic(WRITER_ONLY))
            .json(
                &json!({"badgeMetaId": B7, "customerId": CUSTOMER, "requestId": "e-1",
                          "triggeredBy": {"ownerType": "Goodwill_Module", "referenceId": "gw-1"}}),
            )
            .checked()
            .await
            .unwrap();
        assert_eq!(earn.status(), StatusCode::OK);
        let earned: Value = earn.json().await.unwrap();
        let import = http
            .put(format!("{b}/api_gateway/v1/badges/import/customerBadges"))
            .header("authorization", basic(WRITER_ONLY))
            .json(&json!([{"badgeMetaId": B8, "customerId": CUSTOMER,
                           "earnEventDate": (NOW.0 - HOUR) / 1_000_000,
                           "earnExpiresOn": (NOW.0 + 5 * DAY) / 1_000_000}]))
            .checked()
            .await
            .unwrap();
        assert_eq!(import.status(), StatusCode::OK);
        let imported: Value = import.json().await.unwrap();

        let customer = CUSTOMER.to_string();
        let (_, b7) = get(
            &detail_url(&server, &customer, B7, "includeStatistics=true"),
            Some(READER),
            &[],
        )
        .await;
        assert_eq!(
            b7["data"]["earnDetails"]["earns"],
            json!([{"earnedBadgeId": earned["data"]["earnedBadgeId"], "earnedOn": secs(0),
                    "earnEventDate": secs(0), "expiresOn": null, "isActive": true, "revokedOn": null,
                    "ownerType": "Goodwill_Module", "ownerReferenceId": "gw-1"}]),
            "{backend:?}"
        );
        assert_eq!(b7["data"]["earnDetails"]["earnCount"], 1);
        assert_eq!(b7["data"]["claimedBy"], json!([{"ownerType": "Goodwill_Module", "referenceId": "gw-1"}]));
        let (_, b8) = get(
            &detail_url(&server, &customer, B8, "includeStatistics=true"),
            Some(READER),
            &[],
        )
        .await;
        assert_eq!(
            b8["data"]["earnDetails"]["earns"],
            json!([{"earnedBadgeId": imported[0]["data"]["earnedBadgeId"], "earnedOn": secs(0),
                    "earnEventDate": secs(-HOUR), "expiresOn": secs(5 * DAY), "isActive": true,
                    "revokedOn": null, "ownerType": "Historical_Import", "ownerReferenceId": null}]),
            "{backend:?}"
        );
        let d = grpc_detail(&server, READER, detail_req(&customer, B7, true))
            .await
            .unwrap();
        let t = d.statistics.unwrap().earns[0].owner.clone().unwrap();
        assert_eq!(
            (t.owner_type, t.reference_id.as_str()),
            (badges::proto::Owner::GoodwillModule as i32, "gw-1")
        );

        // B2: never awarded nor enrolled.
        let (_, b2) = get(
            &detail_url(&server, &customer, B2, "includeStatistics=true"),
            Some(READER),
            &[],
        )
        .await;
        assert_eq!(b2["data"]["earnDetails"], json!({"earnCount": 0, "earns": [], "earnsTruncated": false}));
        assert_eq!(b2["data"]["issualDetails"], json!({"issuedCount": 0, "issuals": [], "issualsTruncated": false}));
        assert_eq!(b2["data"]["lastEarnedOn"], Value::Null);
        assert_eq!(b2["data"]["issuedStatus"], Value::Null);
        server
    })
    .await;
}

/// A history is cut at the newest 100 of each, and says so; the row still
/// counts every award.
#[tokio::test]
async fn a_long_history_is_cut_and_says_so() {
    on_each_backend(NOW, |backend, server| async move {
        let world = load(&server.store).await;
        for i in 0..105u32 {
            let offset = -(i64::from(i) + 2) * HOUR;
            server
                .store
                .insert_award(NewAward {
                    earned_badge_id: format!("{:024x}", 1000 + i),
                    ..award(world.org_a, 0, B7, offset, offset, None, false)
                })
                .await
                .unwrap();
        }
        let (status, body) = get(
            &detail_url(&server, &CUSTOMER.to_string(), B7, "includeStatistics=true"),
            Some(READER),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let s = &body["data"]["earnDetails"];
        let earned = s["earns"].as_array().unwrap();
        assert_eq!(earned.len(), 100, "{backend:?}");
        assert_eq!(earned[0]["earnedBadgeId"], format!("{:024x}", 1000));
        assert_eq!(earned[99]["earnedBadgeId"], format!("{:024x}", 1099));
        assert_eq!(s["earnsTruncated"], true);
        assert_eq!(body["data"]["issualDetails"]["issualsTruncated"], false);
        assert_eq!(s["earnCount"], 105);
        server
    })
    .await;
}

/// Every error of §7 over both transports; another org's customer or badge
/// is answered exactly as a missing one.
#[tokio::test]
async fn every_error_of_the_detail_call() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let c = CUSTOMER.to_string();
        let rest = |customer: String, badge: &'static str, query: &'static str| {
            let url = detail_url(&server, &customer, badge, query);
            async move { get(&url, Some(READER), &[]).await }
        };
        let codes = |body: &Value| -> Vec<(u64, Option<String>)> {
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
        };

        let (s, missing_customer) = rest("999999".into(), B1, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            codes(&missing_customer),
            [(1026, Some("customerId".into()))]
        );
        let (s, other_orgs_customer) = rest(ORG_B_ONLY_CUSTOMER.to_string(), B1, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(other_orgs_customer, missing_customer, "{backend:?}");

        let (s, missing_badge) = rest(c.clone(), "0000000000000000000000e9", "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(codes(&missing_badge), [(1054, Some("badgeId".into()))]);
        let (s, other_orgs_badge) = rest(c.clone(), OTHER_ORG_BADGE, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(other_orgs_badge, missing_badge, "{backend:?}");

        for (badge, query, expected) in [
            (
                "0000000000000000000000B1",
                "",
                vec![(400, Some("badgeId".into()))],
            ),
            (
                "0000000000000000000000b",
                "",
                vec![(400, Some("badgeId".into()))],
            ),
            (
                B1,
                "includeStatistics=yes",
                vec![(400, Some("includeStatistics".into()))],
            ),
            (B1, "page=1", vec![(400, Some("page".into()))]),
            (
                "nothex",
                "includeStatistics=1&size=2",
                vec![
                    (400, Some("badgeId".into())),
                    (400, Some("includeStatistics".into())),
                    (400, Some("size".into())),
                ],
            ),
        ] {
            let (s, body) = rest(c.clone(), badge, query).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{badge} {query}: {body}");
            assert_eq!(codes(&body), expected, "{badge} {query}");
        }
        let (s, body) = rest("x".into(), B1, "").await;
        assert_eq!(
            (s, codes(&body)),
            (
                StatusCode::BAD_REQUEST,
                vec![(400, Some("customerId".into()))]
            )
        );

        let url = detail_url(&server, &c, B1, "");
        let (s, body) = get(
            &url,
            Some(READER),
            &[("X-CAP-CUSTOMER-IDENTIFIER", "phone")],
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            codes(&body),
            [(1028, Some("X-CAP-CUSTOMER-IDENTIFIER".into()))]
        );
        let (s, _) = get(&url, None, &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = get(&url, Some(("reader-a", "wrong")), &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = get(&url, Some(WRITER_ONLY), &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // gRPC: the same codes, in the details, for the same cases.
        use tonic::Code;
        let grpc = |customer: String, badge: &'static str| {
            let r = detail_req(&customer, badge, true);
            let server = &server;
            async move { grpc_detail(server, READER, r).await.unwrap_err() }
        };
        let missing = grpc("999999".into(), B1).await;
        let other = grpc(ORG_B_ONLY_CUSTOMER.to_string(), B1).await;
        assert_eq!(missing.code(), Code::NotFound);
        assert_eq!(
            (missing.message(), missing.details()),
            (other.message(), other.details())
        );
        let missing = grpc(c.clone(), "0000000000000000000000e9").await;
        let other = grpc(c.clone(), OTHER_ORG_BADGE).await;
        assert_eq!(missing.code(), Code::NotFound);
        assert!(missing.message().contains("Badge"), "{missing:?}");
        assert_eq!(
            (missing.message(), missing.details()),
            (other.message(), other.details())
        );
        assert_eq!(
            grpc(c.clone(), "nothex").await.code(),
            Code::InvalidArgument
        );
        let bad_kind = GetCustomerBadgeRequest {
            identifier_type: 99,
            ..detail_req(&c, B1, false)
        };
        assert_eq!(
            grpc_detail(&server, READER, bad_kind)
                .await
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
        assert_eq!(
            grpc_detail(&server, WRITER_ONLY, detail_req(&c, B1, false))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        server
    })
    .await;
}

/// Two orgs share customer 100, its email and a badge name: each reader sees
/// its own org's badge and customer, by id and by email, on both transports.
#[tokio::test]
async fn orgs_with_colliding_ids_and_emails_see_only_their_own() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        for (who, email) in [
            (CUSTOMER.to_string(), None),
            (EMAIL.to_lowercase(), Some("email")),
        ] {
            let headers: Vec<(&str, &str)> = email
                .map(|e| vec![("X-CAP-CUSTOMER-IDENTIFIER", e)])
                .unwrap_or_default();
            let (s, a) = get(
                &detail_url(&server, &who, B1, "includeStatistics=true"),
                Some(READER),
                &headers,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{backend:?} {who}");
            assert_eq!(a["data"]["earnDetails"]["earnCount"], 2);
            let (s, _) = get(&detail_url(&server, &who, B1, ""), Some(READER_B), &headers).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "org B must not see org A's badge");
            let (s, b) = get(
                &detail_url(&server, &who, OTHER_ORG_BADGE, "includeStatistics=true"),
                Some(READER_B),
                &headers,
            )
            .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(b["data"]["name"], "Gold Star");
            assert_eq!(b["data"]["earnDetails"]["earnCount"], 1);
            assert_eq!(
                b["data"]["earnDetails"]["earns"][0]["earnedBadgeId"],
                format!("{:024x}", 7)
            );
        }
        let by_email = GetCustomerBadgeRequest {
            identifier_type: CustomerIdentifierType::Email as i32,
            ..detail_req(EMAIL, OTHER_ORG_BADGE, true)
        };
        let d = grpc_detail(&server, READER_B, by_email.clone())
            .await
            .unwrap();
        assert_eq!(d.statistics.unwrap().earn_count, 1);
        let e = grpc_detail(&server, READER, by_email).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        server
    })
    .await;
}

/// For every badge of random orgs and every customer, the detail agrees
/// with the list's row (the same holding, counts and last-earned times),
/// over REST and over gRPC.
#[tokio::test]
async fn the_row_is_the_lists_row_for_every_badge_of_random_orgs() {
    on_each_backend(NOW, |backend, server| async move {
        let mut compared = 0;
        for seed in 0..3u64 {
            let world = crate::differential::build_world(&server.store, seed).await;
            let creds = (format!("detail-{seed}"), "detail-secret".to_owned());
            server
                .store
                .insert_api_client(NewApiClient {
                    org_id: world.org,
                    username: creds.0.clone(),
                    secret_hash: hash_secret(&creds.1).unwrap(),
                    can_read: true,
                    can_write: false,
                    created_at: NOW,
                })
                .await
                .unwrap();
            let creds = (creds.0.as_str(), creds.1.as_str());
            for customer in 1..=crate::differential::CUSTOMERS {
                let c = customer.to_string();
                let url = format!(
                    "{}/api_gateway/v1/badges/management/{c}?badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size=100",
                    base(&server)
                );
                let (_, listed) = get(&url, Some(creds), &[]).await;
                let listed = listed["data"]["customerBadges"].as_array().unwrap().clone();
                let grpc_listed = server
                    .client()
                    .await
                    .list_customer_badges(authed(
                        creds,
                        ListCustomerBadgesRequest {
                            customer_id: c.clone(),
                            badge_type: vec![
                                BadgeType::AvailableToIssue as i32,
                                BadgeType::Available as i32,
                                BadgeType::Earned as i32,
                                BadgeType::Expired as i32,
                            ],
                            size: Some(100),
                            ..Default::default()
                        },
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .customer_badges;
                assert_eq!(listed.len(), world.badges.len(), "every badge is in one list");
                for id in &world.badges {
                    let (s, d) = get(&detail_url(&server, &c, id, "includeStatistics=true"), Some(creds), &[]).await;
                    assert_eq!(s, StatusCode::OK);
                    let expected = listed.iter().find(|r| r["badgeMetaId"] == id.as_str()).unwrap();
                    assert_eq!(as_row(&d["data"]), shared(expected, true), "{backend:?} seed {seed} customer {c} {id}");
                    let g = grpc_detail(&server, creds, detail_req(&c, id, true))
                        .await
                        .unwrap();
                    let expected = grpc_listed.iter().find(|r| &r.badge_meta_id == id).unwrap();
                    grpc_agrees(&g, expected);
                    compared += 1;
                }
            }
        }
        assert!(compared > 50, "{compared}");
        server
    })
    .await;
}
