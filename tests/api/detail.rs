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
        // The row: the list's own, field for field.
        let mut row = data.clone();
        row.as_object_mut().unwrap().remove("statistics");
        assert_eq!(
            row,
            list_row(&server, READER, &customer, B4).await,
            "{backend:?}"
        );
        // Hand-computed: awards 5 and 10 count (10 expired), 11 is revoked;
        // the latest is 5; the latest enrolment (at -3 d) is live.
        assert_eq!(data["earnCount"], 2);
        assert_eq!(data["lastEarnedOn"], secs(-DAY));
        assert_eq!(data["lastEarnedOnDate"], json!((NOW.0 - DAY) / 1_000_000));
        assert_eq!(
            data["lastEarnEventDate"],
            json!((NOW.0 - 4 * DAY) / 1_000_000)
        );
        assert_eq!(data["issueStatus"], "LIVE");
        assert_eq!(data["badgeStatus"], "LIVE");
        assert_eq!(data["badgeType"], "ISSUE_EARN");
        assert_eq!(data["badgeGroupId"], G1);
        assert_eq!(data["badgeGroupName"], "Group One");
        let stats = &data["statistics"];
        assert_eq!(
            stats["earnedBadges"],
            json!([
                {"earnedBadgeId": format!("{:024x}", 11), "earnedOn": secs(-12 * HOUR),
                 "earnEventDate": secs(-13 * HOUR), "expiresOn": null, "revoked": true,
                 "triggeredBy": null},
                {"earnedBadgeId": format!("{:024x}", 5), "earnedOn": secs(-DAY),
                 "earnEventDate": secs(-4 * DAY), "expiresOn": null, "revoked": false,
                 "triggeredBy": null},
                {"earnedBadgeId": format!("{:024x}", 10), "earnedOn": secs(-10 * DAY),
                 "earnEventDate": secs(-11 * DAY), "expiresOn": secs(-2 * DAY), "revoked": false,
                 "triggeredBy": null},
            ]),
            "{backend:?}"
        );
        assert_eq!(
            stats["issuedBadges"],
            json!([
                {"issuedBadgeId": enrolment_id(org, B4, -3 * DAY), "issuedOn": secs(-3 * DAY),
                 "issueEventDate": null, "expiresOn": secs(30 * DAY), "revoked": false},
                {"issuedBadgeId": enrolment_id(org, B4, -15 * DAY), "issuedOn": secs(-15 * DAY),
                 "issueEventDate": null, "expiresOn": null, "revoked": true},
                {"issuedBadgeId": enrolment_id(org, B4, -20 * DAY), "issuedOn": secs(-20 * DAY),
                 "issueEventDate": null, "expiresOn": secs(-10 * DAY), "revoked": false},
            ]),
            "{backend:?}"
        );
        assert_eq!(stats["earnedBadgesTruncated"], false);
        assert_eq!(stats["issuedBadgesTruncated"], false);
        assert_eq!(stats["earnedBadgeExpiry"], json!({"expiryType": "NEVER"}));
        assert_eq!(stats["issuedBadgeExpiry"], json!({"expiryType": "NEVER"}));

        // Without the history: the same row, statistics null.
        let (status, plain) = get(&detail_url(&server, &customer, B4, ""), Some(READER), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(plain["data"]["statistics"], Value::Null);
        let mut plain_row = plain["data"].clone();
        plain_row.as_object_mut().unwrap().remove("statistics");
        assert_eq!(plain_row, row);

        // gRPC: the list's proto row, and the same history.
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
        assert_eq!(d.badge.as_ref(), Some(listed_row));
        let s = d.statistics.unwrap();
        let earned: Vec<(&str, bool, Option<i64>)> = s
            .earned_badges
            .iter()
            .map(|a| {
                (
                    a.earned_badge_id.as_str(),
                    a.revoked,
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
                (id11.as_str(), true, None),
                (id5.as_str(), false, None),
                (id10.as_str(), false, Some((NOW.0 - 2 * DAY) / 1_000_000)),
            ]
        );
        assert_eq!(
            s.earned_badges[0].earned_on.map(|t| t.seconds),
            Some((NOW.0 - 12 * HOUR) / 1_000_000)
        );
        let issued: Vec<(String, bool)> = s
            .issued_badges
            .iter()
            .map(|e| (e.issued_badge_id.clone(), e.revoked))
            .collect();
        assert_eq!(
            issued,
            [
                (enrolment_id(org, B4, -3 * DAY), false),
                (enrolment_id(org, B4, -15 * DAY), true),
                (enrolment_id(org, B4, -20 * DAY), false),
            ]
        );
        assert!(!s.earned_badges_truncated && !s.issued_badges_truncated);
        let plain = grpc_detail(&server, READER, detail_req(&customer, B4, false))
            .await
            .unwrap();
        assert_eq!(plain.badge.as_ref(), Some(listed_row));
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
            b7["data"]["statistics"]["earnedBadges"],
            json!([{"earnedBadgeId": earned["data"]["earnedBadgeId"], "earnedOn": secs(0),
                    "earnEventDate": secs(0), "expiresOn": null, "revoked": false,
                    "triggeredBy": {"ownerType": "Goodwill_Module", "referenceId": "gw-1"}}]),
            "{backend:?}"
        );
        assert_eq!(b7["data"]["earnCount"], 1);
        let (_, b8) = get(
            &detail_url(&server, &customer, B8, "includeStatistics=true"),
            Some(READER),
            &[],
        )
        .await;
        assert_eq!(
            b8["data"]["statistics"]["earnedBadges"],
            json!([{"earnedBadgeId": imported[0]["data"]["earnedBadgeId"], "earnedOn": secs(0),
                    "earnEventDate": secs(-HOUR), "expiresOn": secs(5 * DAY), "revoked": false,
                    "triggeredBy": {"ownerType": "Historical_Import", "referenceId": null}}]),
            "{backend:?}"
        );
        let d = grpc_detail(&server, READER, detail_req(&customer, B7, true))
            .await
            .unwrap();
        let t = d.statistics.unwrap().earned_badges[0]
            .triggered_by
            .clone()
            .unwrap();
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
        let s = &b2["data"]["statistics"];
        assert_eq!(s["earnedBadges"], json!([]));
        assert_eq!(s["issuedBadges"], json!([]));
        assert_eq!(b2["data"]["earnCount"], 0);
        assert_eq!(b2["data"]["lastEarnedOn"], Value::Null);
        assert_eq!(b2["data"]["issueStatus"], Value::Null);
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
        let s = &body["data"]["statistics"];
        let earned = s["earnedBadges"].as_array().unwrap();
        assert_eq!(earned.len(), 100, "{backend:?}");
        assert_eq!(earned[0]["earnedBadgeId"], format!("{:024x}", 1000));
        assert_eq!(earned[99]["earnedBadgeId"], format!("{:024x}", 1099));
        assert_eq!(s["earnedBadgesTruncated"], true);
        assert_eq!(s["issuedBadgesTruncated"], false);
        assert_eq!(body["data"]["earnCount"], 105);
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
            let (s, a) = get(&detail_url(&server, &who, B1, ""), Some(READER), &headers).await;
            assert_eq!(s, StatusCode::OK, "{backend:?} {who}");
            assert_eq!(a["data"]["earnCount"], 2);
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
            assert_eq!(b["data"]["earnCount"], 1);
            assert_eq!(
                b["data"]["statistics"]["earnedBadges"][0]["earnedBadgeId"],
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
        assert_eq!(d.badge.unwrap().earn_count, 1);
        let e = grpc_detail(&server, READER, by_email).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        server
    })
    .await;
}

/// For every badge of random orgs and every customer, the detail's row is
/// the list's row, over REST and over gRPC.
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
                    let (s, d) = get(&detail_url(&server, &c, id, ""), Some(creds), &[]).await;
                    assert_eq!(s, StatusCode::OK);
                    let mut row = d["data"].clone();
                    row.as_object_mut().unwrap().remove("statistics");
                    let expected = listed.iter().find(|r| r["badgeMetaId"] == id.as_str());
                    assert_eq!(Some(&row), expected, "{backend:?} seed {seed} customer {c} {id}");
                    let g = grpc_detail(&server, creds, detail_req(&c, id, false))
                        .await
                        .unwrap();
                    let expected = grpc_listed.iter().find(|r| &r.badge_meta_id == id);
                    assert_eq!(g.badge.as_ref(), expected);
                    compared += 1;
                }
            }
        }
        assert!(compared > 50, "{compared}");
        server
    })
    .await;
}
