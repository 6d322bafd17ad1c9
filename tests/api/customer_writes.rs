//! Customers' badges as upstream writes them (BEHAVIOUR.md §10, issue 24):
//! upstream's own bodies of enrol, revokeIssue, earn, earnBulk, revokeEarn
//! and import accepted and answered in its shape, each rule's code with
//! nothing changed, and retries of an earn for many safe under racing
//! duplicates; on each backend.

use std::collections::BTreeSet;

use badges::store::NewCustomer;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::catalogue::{ADMIN, Api, codes, orgs};
use crate::common::fixture::*;
use crate::common::on_each_backend;
use crate::common::openapi::Checked;

/// An ISSUE_EARN badge open through 2023–2025 that Journeys claimed as
/// `1175688`, and an EARN badge of the same window; their ids.
async fn badges(api: &Api) -> (String, String) {
    let mut ids = Vec::new();
    for (name, earn_type) in [("Enrolled walker", "ISSUE_EARN"), ("Walker", "EARN")] {
        let b = api
            .ok(
                "POST",
                "/badgeMeta",
                Some(json!({
                    "name": name, "earnType": earn_type, "isActive": true,
                    "startOn": "2023-01-01T00:00:00Z", "expiresOn": "2026-01-01T00:00:00Z",
                    "ownership": {"restrictedToOwners": ["Journeys"]}
                })),
            )
            .await;
        let id = b["id"].as_str().unwrap().to_owned();
        api.ok(
            "POST",
            &format!("/badgeMeta/{id}/claim"),
            Some(json!({"ownerType": "Journeys", "referenceId": "1175688"})),
        )
        .await;
        ids.push(id);
    }
    (ids[0].clone(), ids[1].clone())
}

fn is_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The customer's row of the badge in the list.
async fn row(api: &Api, customer: i64, badge: &str) -> Value {
    let list = api
        .ok(
            "GET",
            &format!("/management/{customer}?badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size=100"),
            None,
        )
        .await;
    list["customerBadges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["badgeMetaId"] == badge)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn upstreams_customer_bodies_are_accepted_and_answered_in_its_shape() {
    on_each_backend(NOW, |backend, server| async move {
        orgs(&server).await;
        let api = Api::new(&server, ADMIN);
        let (issue, earn) = badges(&api).await;
        let journeys = json!({"ownerType": "Journeys", "referenceId": "1175688"});

        // Enrol (§8), as upstream's live curl sends it: an ISO string in the
        // epoch field and an ISO twin with another date (the twin wins).
        let enrol = json!({"badgeMetaId": issue, "customers": [1, "2", 999], "requestId": "enrol-1",
                           "issueEventDate": "2024-12-30T10:00:00Z",
                           "issueEventDateISO": "2024-12-31T10:00:00+05:30",
                           "triggeredBy": {"ownerType": "Journeys", "referenceId": 1175688}});
        let enrolled = api.ok("POST", "/badgeMeta/customer/issueBulk", Some(enrol.clone())).await;
        assert_eq!(
            (&enrolled["badgeMetaId"], &enrolled["triggeredBy"], &enrolled["expiresOn"], &enrolled["requestId"]),
            (&json!(issue), &journeys, &Value::Null, &json!("enrol-1")),
            "{backend:?} {enrolled}"
        );
        let items = enrolled["issuedBadges"].as_array().unwrap().clone();
        assert_eq!(items.len(), 3);
        assert!(items[..2].iter().all(|i| is_id(&i["issuedId"]) && i["error"].is_null()), "{enrolled}");
        assert_eq!((&items[2]["customerId"], &items[2]["issuedId"], &items[2]["error"]["code"]), (&json!(999), &Value::Null, &json!(1026)));
        let issued = |i: usize| items[i]["issuedId"].as_str().unwrap().to_owned();
        assert_eq!(api.ok("POST", "/badgeMeta/customer/issueBulk", Some(enrol)).await, enrolled, "a replay answers the first answer");
        let again = api.ok("POST", "/badgeMeta/customer/issueBulk", Some(json!({"badgeMetaId": issue, "customers": [1]}))).await;
        assert_eq!(again["issuedBadges"][0]["error"]["code"], 1040);
        let (s, body) = api
            .call("POST", "/badgeMeta/customer/issueBulk", Some(json!({"badgeMetaId": issue, "customers": [3], "issueEventDate": 1_641_000_000})))
            .await;
        assert_eq!((s, codes(&body)), (StatusCode::BAD_REQUEST, vec![(816, "issueEventDate".into())]));
        assert!(row(&api, 3, &issue).await["issueStatus"].is_null(), "816 enrolled nobody");

        // Earn (§10), upstream's example: a string customerId, a numeric
        // requestId, an ISO time in earnEventDate; the enrolment it used.
        let earned = api
            .ok("POST", "/customer/earn", Some(json!({"badgeMetaId": issue, "customerId": "1", "requestId": 2132,
                                                       "earnEventDate": "2024-12-31T21:51:00.192Z", "triggeredBy": journeys})))
            .await;
        assert_eq!((&earned["requestId"], &earned["issuedId"]), (&json!("2132"), &json!(issued(0))), "{earned}");
        assert!(is_id(&earned["earnedBadgeId"]));
        let direct = api.ok("POST", "/customer/earn", Some(json!({"badgeMetaId": earn, "customerId": 4}))).await;
        assert_eq!(direct["issuedId"], Value::Null, "an EARN badge's award uses no enrolment");
        for (body, expected) in [
            (json!({"badgeMetaId": earn, "customerId": 4, "triggeredBy": {"ownerType": "Journeys", "referenceId": "other"}}), (810, "triggeredBy")),
            (json!({"badgeMetaId": earn, "customerId": 4, "earnEventDateISO": "2025-01-02T00:00:01Z"}), (400, "earnEventDate")),
            (json!({"badgeMetaId": issue, "customerId": 1, "earnEventDate": "2024-12-31T04:29:59Z"}), (816, "earnEventDate")),
            (json!({"badgeMetaId": earn, "customerId": 4, "earnEventDate": "2022-12-31T00:00:00Z"}), (816, "earnEventDate")),
        ] {
            let (s, b) = api.call("POST", "/customer/earn", Some(body.clone())).await;
            assert_eq!((s, codes(&b)), (StatusCode::BAD_REQUEST, vec![(expected.0, expected.1.to_owned())]), "{body}");
        }
        assert_eq!(row(&api, 4, &earn).await["earnCount"], 1, "the refused earns changed nothing");

        // Revoke enrolments (§9): revokeIssuals (ids as strings, as
        // upstream's example sends them) win over customers.
        let revoked = api
            .ok("POST", "/badgeMeta/customer/revokeIssue", Some(json!({"badgeMetaId": issue, "customers": [1],
                "revokeIssuals": [{"customerId": "2", "issueId": issued(1)}], "requestId": "revoke-1"})))
            .await;
        assert_eq!(
            revoked,
            json!({"badgeMetaId": issue, "revokedIssuedBadges": [{"customerId": 2, "issuedId": issued(1), "error": null}], "requestId": "revoke-1"})
        );
        assert_eq!(row(&api, 2, &issue).await["issueStatus"], "REVOKED");
        let detail = api.ok("GET", &format!("/management/2/badge/{issue}?includeStatistics=true"), None).await;
        let issual = &detail["issualDetails"]["issuals"][0];
        assert_eq!((&issual["issueId"], &issual["issuedStatus"], &detail["issuedStatus"]), (&json!(issued(1)), &json!("REVOKED"), &json!("REVOKED")));
        assert_eq!(issual["revokedOn"].as_f64(), Some(NOW.0 as f64 / 1e6), "revoked now");
        assert_eq!((&issual["ownerType"], &issual["ownerReferenceId"]), (&json!("Journeys"), &json!("1175688")), "who enrolled");
        let again = api
            .ok("POST", "/badgeMeta/customer/revokeIssue", Some(json!({"badgeMetaId": issue, "customers": [1],
                "revokeIssuals": [{"customerId": "2", "issueId": issued(1)}], "requestId": "revoke-1"})))
            .await;
        assert_eq!(again, revoked, "a replay answers the first answer");
        assert_eq!(row(&api, 1, &issue).await["issueStatus"], "LIVE");
        let by_customer = api
            .ok("POST", "/badgeMeta/customer/revokeIssue", Some(json!({"badgeMetaId": issue, "customers": [1, 2, 999]})))
            .await;
        let items = by_customer["revokedIssuedBadges"].as_array().unwrap();
        assert_eq!(items[0], json!({"customerId": 1, "issuedId": issued(0), "error": null}));
        assert_eq!((&items[1]["error"]["code"], &items[2]["error"]["code"]), (&json!(404), &json!(1026)));
        let (s, b) = api.call("POST", "/badgeMeta/customer/revokeIssue", Some(json!({"badgeMetaId": issue}))).await;
        assert_eq!((s, codes(&b)), (StatusCode::BAD_REQUEST, vec![(1051, "revokeIssuals".into())]));
        let (s, b) = api
            .call("POST", "/badgeMeta/customer/revokeIssue", Some(json!({"badgeMetaId": issue, "customers": (1..=21).collect::<Vec<_>>()})))
            .await;
        assert_eq!((s, codes(&b)), (StatusCode::BAD_REQUEST, vec![(400, "customers".into())]));

        // Earn for many (§11), with the event under the name upstream's
        // live curl uses; per-customer errors in their items.
        let bulk = json!({"badgeMetaId": earn, "customerIds": [5, "6", 7, 999, 5], "requestId": "bulk-1",
                          "issueEventDate": "2024-12-31T00:00:00Z", "triggeredBy": journeys});
        let many = api.ok("POST", "/customer/earnBulk", Some(bulk.clone())).await;
        assert_eq!((&many["badgeMetaId"], &many["triggeredBy"], &many["requestId"]), (&json!(earn), &journeys, &json!("bulk-1")));
        let items = many["earnedBadges"].as_array().unwrap();
        assert_eq!(items.iter().map(|i| i["customerId"].as_i64().unwrap()).collect::<Vec<_>>(), [5, 6, 7, 999, 5]);
        assert!(items[..3].iter().all(|i| is_id(&i["earnedBadgeId"]) && i["error"].is_null() && i["issuedId"].is_null()), "{many}");
        assert_eq!((&items[3]["error"]["code"], &items[4]["error"]["reference"]), (&json!(1026), &json!("customerIds[4]")));
        assert_eq!(api.ok("POST", "/customer/earnBulk", Some(bulk)).await, many, "a replay answers the first answer");
        assert_eq!(row(&api, 5, &earn).await["earnCount"], 1);
        let (s, b) = api
            .call("POST", "/customer/earnBulk", Some(json!({"badgeMetaId": earn, "customerIds": [5], "requestId": "bulk-1"})))
            .await;
        assert_eq!((s, codes(&b)), (StatusCode::CONFLICT, vec![(809, "requestId".into())]));
        let (s, b) = api
            .call("POST", "/customer/earnBulk", Some(json!({"badgeMetaId": earn, "customerIds": vec![5; 1001]})))
            .await;
        assert_eq!((s, codes(&b)), (StatusCode::BAD_REQUEST, vec![(400, "customerIds".into())]));

        // Revoke earn (§12) naming the customer by email.
        api.ok("PUT", "/customers", Some(json!({"customerId": 5, "email": "five@example.com"}))).await;
        let award = items[0]["earnedBadgeId"].as_str().unwrap();
        let revoke = |email: &str| {
            reqwest::Client::new()
                .post(format!("http://{}/api_gateway/v1/badges/customer/revokeEarn", server.addr))
                .header("authorization", basic(ADMIN))
                .header("X-CAP-CUSTOMER-IDENTIFIER", "email")
                .json(&json!({"badgeMetaId": earn, "customerId": email, "earnedBadgeId": award}))
                .checked()
        };
        let r = revoke("FIVE@example.com").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["data"], json!({"badgeMetaId": earn, "customerId": 5, "earnedBadgeId": award, "isActive": false}));
        let body: Value = revoke("nobody@example.com").await.unwrap().json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], 1026);

        // Import (§13): each item carries requestId null.
        let imported = api
            .call("PUT", "/import/customerBadges", Some(json!([{"badgeMetaId": earn, "customerId": 8, "earnEventDate": 1_700_000_000}])))
            .await
            .1;
        assert_eq!(imported[0]["data"]["requestId"], Value::Null);
        assert!(imported[0]["data"].as_object().unwrap().contains_key("requestId"));
        server
    })
    .await;
}

/// Twelve racing copies of one earn for 100 customers with one requestId:
/// exactly 100 awards, and every copy answers the same.
#[tokio::test]
async fn racing_duplicates_of_an_earn_for_many_award_once() {
    on_each_backend(NOW, |backend, server| async move {
        let (org, _) = orgs(&server).await;
        for customer in 21..=100 {
            server
                .store
                .insert_customer(NewCustomer {
                    org_id: org,
                    customer_id: customer,
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let api = Api::new(&server, ADMIN);
        let (_, earn) = badges(&api).await;
        let body = json!({"badgeMetaId": earn, "customerIds": (1..=100).collect::<Vec<_>>(), "requestId": "race-1"});
        let calls = (0..12).map(|_| api.call("POST", "/customer/earnBulk", Some(body.clone())));
        let answers: Vec<(StatusCode, Value)> = futures_util::future::join_all(calls).await;
        assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK), "{backend:?} {answers:?}");
        let distinct: BTreeSet<String> = answers.iter().map(|(_, b)| b.to_string()).collect();
        assert_eq!(distinct.len(), 1, "every copy answers the first answer");
        let awards: BTreeSet<String> = answers[0].1["data"]["earnedBadges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["earnedBadgeId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(awards.len(), 100);
        let got = api.ok("GET", &format!("/badgeMeta/{earn}?includeStatistics=true"), None).await;
        assert_eq!(got["earnedCount"], 100, "{backend:?}");
        server
    })
    .await;
}

/// The older customer list (upstream "Get badges for customer"): RANK
/// against an in-test reference (group rank, badge rank, ungrouped and
/// unranked last, then id), the latest-award sorts, `includeExpired`,
/// `limit` with `page`, `groupId`, its errors, and gRPC answering the same
/// rows; on each backend.
#[tokio::test]
async fn the_older_list_sorts_by_rank_as_a_reference_does() {
    on_each_backend(NOW, |backend, server| async move {
        let (org, _) = orgs(&server).await;
        let api = Api::new(&server, ADMIN);
        let low = api.ok("POST", "/group", Some(json!({"name": "Low", "rank": 1}))).await["id"].as_str().unwrap().to_owned();
        let high = api.ok("POST", "/group", Some(json!({"name": "High", "rank": -5}))).await["id"].as_str().unwrap().to_owned();
        // (name, group, rank, window): an ended badge among them.
        type Spec<'a> = (&'a str, Option<&'a str>, Option<i32>, (&'a str, &'a str));
        let specs: Vec<Spec> = vec![
            ("u-ranked", None, Some(1), ("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")),
            ("low-2", Some(&low), Some(2), ("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")),
            ("high-none", Some(&high), None, ("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")),
            ("low-1", Some(&low), Some(1), ("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")),
            ("high-9", Some(&high), Some(9), ("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")),
            ("u-none", None, None, ("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")),
            ("ended", Some(&high), Some(0), ("2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z")),
        ];
        let mut created = Vec::new();
        for (name, group, rank, (start, end)) in &specs {
            let b = api
                .ok("POST", "/badgeMeta", Some(json!({
                    "name": name, "earnType": "EARN", "isActive": true, "startOnISO": start, "expiresOnISO": end,
                    "badgeGroupId": group, "badgeRank": rank, "ownership": {"restrictedToOwners": ["Loyalty"]},
                    "tags": [{"name": "kind", "value": name}]
                })))
                .await;
            created.push((b["id"].as_str().unwrap().to_owned(), *group, *rank, *name));
        }
        let group_rank = |g: Option<&str>| g.map(|g| if g == high { -5 } else { 1 });
        let mut reference: Vec<_> = created
            .iter()
            .filter(|b| b.3 != "ended")
            .map(|(id, g, r, name)| ((group_rank(*g).is_none(), group_rank(*g), r.is_none(), *r, id.clone()), *name))
            .collect();
        reference.sort();
        let expected: Vec<&str> = reference.iter().map(|(_, n)| *n).collect();
        let names = |body: &Value| -> Vec<String> {
            body["badges"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
        };
        let listed = api.ok("GET", "/customer/3?badgeType=AVAILABLE,EARNED&limit=100", None).await;
        assert_eq!(names(&listed), expected, "{backend:?} {listed}");
        let row = &listed["badges"][0];
        assert_eq!((&row["orgId"], &row["badgeGroupName"], &row["earnedCount"], &row["tags"]), (&json!(org), &json!("High"), &Value::Null, &json!([{"name": "kind", "value": "high-9"}])));
        // Paged by limit; the ended badge only with includeExpired.
        let second = api.ok("GET", "/customer/3?badgeType=AVAILABLE&limit=2&page=1", None).await;
        assert_eq!(names(&second), expected[2..4]);
        assert_eq!(second["pagination"], json!({"page": 1, "size": 2, "total": 6, "totalPages": 3}));
        let all = api.ok("GET", "/customer/3?badgeType=AVAILABLE,EXPIRED&includeExpired=true&limit=100", None).await;
        assert_eq!(all["badges"].as_array().unwrap().len(), 7);
        let grouped = api.ok("GET", &format!("/customer/3?badgeType=AVAILABLE&groupId={low}"), None).await;
        assert_eq!(names(&grouped), ["low-1", "low-2"]);
        let (_, none) = api.call("GET", "/customer/3", None).await;
        assert_eq!(none["data"]["badges"], json!([]), "AVAILABLE_TO_ISSUE by default: no ISSUE_EARN badge here");

        // By the latest award, newest first: two earns of u-none and low-1.
        let id = |name: &str| created.iter().find(|b| b.3 == name).unwrap().0.clone();
        for (name, at) in [("u-none", "2024-12-30T00:00:00Z"), ("low-1", "2024-12-31T00:00:00Z")] {
            api.ok("POST", "/customer/earn", Some(json!({"badgeMetaId": id(name), "customerId": 3, "earnEventDate": at}))).await;
        }
        let by_event = api.ok("GET", "/customer/3?badgeType=EARNED&sortOn=LAST_EARNED_EVENT_DATE", None).await;
        assert_eq!(names(&by_event), ["low-1", "u-none"]);
        assert_eq!(by_event["badges"][0]["earnedCount"], 1);
        assert_eq!(by_event["badges"][0]["lastEarnEventDate"], 1_735_603_200);

        // gRPC answers the same rows in the same order.
        let grpc = badges::proto::customer_badge_service_client::CustomerBadgeServiceClient::new(server.channel().await)
            .get_badges_for_customer(authed(
                ADMIN,
                badges::proto::GetBadgesForCustomerRequest {
                    customer_id: "3".into(),
                    badge_type: vec![badges::proto::BadgeType::Available as i32, badges::proto::BadgeType::Earned as i32],
                    limit: Some(100),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let grpc_names: Vec<&str> = grpc.badges.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(grpc_names, expected);
        assert_eq!(grpc.pagination.unwrap().total, 6);

        // Errors: each named, all at once; a customer of no org is 1026.
        let (s, b) = api.call("GET", "/customer/3?limit=101&sortOn=NAME&colour=red", None).await;
        let refs: BTreeSet<String> = codes(&b).into_iter().map(|(_, r)| r).collect();
        assert_eq!((s, refs), (StatusCode::BAD_REQUEST, BTreeSet::from(["limit".into(), "sortOn".into(), "colour".into()])));
        let (s, b) = api.call("GET", "/customer/424242", None).await;
        assert_eq!((s, codes(&b)), (StatusCode::NOT_FOUND, vec![(1026, "customerId".into())]));
        server
    })
    .await;
}
