//! Earn limits (BEHAVIOUR.md §11, issue 25): constraints written and read
//! in upstream's spelling, each kind enforced with 1058 naming it and nothing
//! changed, revoked awards not counted, imported ones counted and never
//! refused, live changes (826, a new maxEarnLimit at once), the standing in
//! the detail call, `getFixedWindowDetails` over REST and gRPC, the clock
//! moved by a restart; and racing earns through two real processes leaving
//! exactly the limit, on each backend.

use badges::proto::badge_admin_service_client::BadgeAdminServiceClient;
use badges::proto::badge_catalogue_service_client::BadgeCatalogueServiceClient;
use badges::proto::{self};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic_types::StatusExt;

use crate::catalogue::{ADMIN, Api, codes, orgs};
use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{Binary, TestDb, backends, on_each_backend};

/// 2024-12-30T00:00:00Z, the Monday that starts NOW's week (NOW is
/// Wednesday 2025-01-01).
const MONDAY: i64 = 1_735_516_800;
const WEEK: i64 = 7 * 86_400;

async fn create(api: &Api, name: &str, customer: Value, badge: Value) -> Value {
    api.ok(
        "POST",
        "/badgeMeta",
        Some(json!({
            "name": name, "earnType": "EARN", "isActive": true,
            "startOn": "2024-12-01T00:00:00Z", "expiresOn": "2026-01-01T00:00:00Z",
            "ownership": {"restrictedToOwners": ["Loyalty"]},
            "customerConstraints": customer, "badgeConstraints": badge
        })),
    )
    .await
}

async fn earn(api: &Api, badge: &str, customer: i64, event: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"badgeMetaId": badge, "customerId": customer});
    if let Some(e) = event {
        body["earnEventDate"] = json!(e);
    }
    api.call("POST", "/customer/earn", Some(body)).await
}

/// A protobuf Struct as the JSON it carries.
fn struct_json(s: &prost_types::Struct) -> Value {
    fn value(v: &prost_types::Value) -> Value {
        use prost_types::value::Kind;
        match &v.kind {
            Some(Kind::NumberValue(n)) => json!(n),
            Some(Kind::StringValue(s)) => json!(s),
            Some(Kind::BoolValue(b)) => json!(b),
            Some(Kind::StructValue(s)) => struct_json(s),
            Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value).collect()),
            Some(Kind::NullValue(_)) | None => Value::Null,
        }
    }
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value(v)))
            .collect(),
    )
}

fn refused(answer: &(StatusCode, Value), reference: &str) {
    assert_eq!(
        (answer.0, codes(&answer.1)),
        (StatusCode::BAD_REQUEST, vec![(1058, reference.to_owned())]),
        "{}",
        answer.1
    );
}

fn earned(answer: &(StatusCode, Value)) -> String {
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    answer.1["data"]["earnedBadgeId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn limits_are_kept_in_upstreams_spelling_and_enforced() {
    on_each_backend(NOW, |backend, server| async move {
        orgs(&server).await;
        let api = Api::new(&server, ADMIN);
        // Once a week per customer (weeks from Monday, written `1`), three
        // awards in all.
        let weekly = json!([{"constraintType": "customer_badge_fixed_window", "maxEarnLimit": 1,
                             "durationType": "WEEKS", "startDayOfTheWeek": 1}]);
        let total = json!([{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 3.0}]);
        let b = create(&api, "Weekly walker", weekly, total).await;
        let id = b["id"].as_str().unwrap().to_owned();
        let written_weekly = json!([{"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW", "maxEarnLimit": 1,
            "durationType": "WEEKLY", "startDayOfTheWeek": "MONDAY", "cycleStatus": "ACTIVE"}]);
        let written_total = json!([{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 3}]);
        assert_eq!((&b["customerConstraints"], &b["badgeConstraints"]), (&written_weekly, &written_total), "{backend:?}");
        let read = api.ok("GET", &format!("/badgeMeta/{id}"), None).await;
        assert_eq!((&read["customerConstraints"], &read["badgeConstraints"]), (&written_weekly, &written_total));

        // gRPC reads the same constraints (JSON numbers as doubles).
        let mut catalogue = BadgeCatalogueServiceClient::new(server.channel().await);
        let got = catalogue
            .get_badge(authed(ADMIN, proto::GetBadgeRequest { badge_id: id.clone(), include_statistics: false }))
            .await
            .unwrap()
            .into_inner()
            .badge
            .unwrap();
        let as_read: Vec<Value> = got.customer_constraints.iter().map(struct_json).collect();
        assert_eq!(
            as_read,
            [json!({"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW", "maxEarnLimit": 1.0,
                    "durationType": "WEEKLY", "startDayOfTheWeek": "MONDAY", "cycleStatus": "ACTIVE"})]
        );

        // The week's one earn, then 1058 for a second in the same week (over
        // gRPC too, with the code and the constraint in its details); the
        // week before (Sunday the 29th) is another cycle.
        earned(&earn(&api, &id, 1, None).await);
        let status = BadgeAdminServiceClient::new(server.channel().await)
            .earn_badge(authed(ADMIN, proto::EarnBadgeRequest { badge_meta_id: id.clone(), customer_id: 1, ..Default::default() }))
            .await
            .unwrap_err();
        let details = status.get_error_details();
        assert_eq!(
            (
                status.code(),
                details.error_info().and_then(|i| i.metadata.get("code").cloned()),
                details.bad_request().map(|b| b.field_violations[0].field.clone()),
            ),
            (tonic::Code::InvalidArgument, Some("1058".to_owned()), Some("customerConstraints[0]".to_owned()))
        );
        refused(&earn(&api, &id, 1, Some("2024-12-30T00:00:00Z")).await, "customerConstraints[0]");
        let sunday = earned(&earn(&api, &id, 1, Some("2024-12-29T23:59:59Z")).await);
        // Three awards in all: the fourth is refused, whoever earns it.
        earned(&earn(&api, &id, 2, None).await);
        refused(&earn(&api, &id, 3, None).await, "badgeConstraints[0]");
        // A revoked award does not count.
        api.ok("POST", "/customer/revokeEarn", Some(json!({"badgeMetaId": id, "customerId": 1, "earnedBadgeId": sunday}))).await;
        earned(&earn(&api, &id, 3, None).await);
        // Imported history counts, and is never refused.
        let (s, imported) = api
            .call("PUT", "/import/customerBadges", Some(json!([{"badgeMetaId": id, "customerId": 4, "earnEventDate": "2024-12-31T00:00:00Z"}])))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(imported[0]["data"]["earnedBadgeId"].is_string(), "{imported}");
        refused(&earn(&api, &id, 5, None).await, "badgeConstraints[0]");

        // The standing in the detail call: this week's cycle and its count
        // for the customer, the total for everyone.
        let detail = api.ok("GET", &format!("/management/1/badge/{id}?includeStatistics=true"), None).await;
        let mine = &detail["customerConstraints"][0];
        assert_eq!(
            (&mine["constraintLevel"], &mine["constraintType"], &mine["maxEarnLimit"], &mine["earnConstraintBlockStatistics"]["currentEarnCount"]),
            (&json!("CUSTOMER"), &json!("FIXED_WINDOW"), &json!(1), &json!(1)),
            "{detail}"
        );
        assert_eq!(mine["fixedWindowCycle"], json!({"startDate": MONDAY, "endDate": MONDAY + WEEK}));
        let all = &detail["badgeConstraints"][0];
        assert_eq!(
            (&all["constraintType"], &all["earnConstraintBlockStatistics"]["currentEarnCount"], &all["fixedWindowCycle"]),
            (&json!("OVERALL"), &json!(4), &Value::Null)
        );

        // A live badge's limit changes at once; its kinds do not (826, and
        // nothing changed).
        let mut update = json!({
            "id": id, "name": "Weekly walker", "earnType": "EARN", "isActive": true,
            "startOn": "2024-12-01T00:00:00Z", "expiresOn": "2026-01-01T00:00:00Z",
            "ownership": {"restrictedToOwners": ["Loyalty"]},
            "customerConstraints": read["customerConstraints"],
            "badgeConstraints": [{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 10}]
        });
        api.ok("PUT", "/badgeMeta", Some(update.clone())).await;
        earned(&earn(&api, &id, 5, None).await);
        update["customerConstraints"] = json!([{"constraintType": "CUSTOMER_BADGE_FIXED_VALUE", "maxEarnLimit": 5}]);
        let (s, b) = api.call("PUT", "/badgeMeta", Some(update.clone())).await;
        assert_eq!((s, codes(&b)), (StatusCode::BAD_REQUEST, vec![(826, "customerConstraints".into())]));
        let read = api.ok("GET", &format!("/badgeMeta/{id}"), None).await;
        assert_eq!(read["customerConstraints"], written_weekly, "826 changed nothing");

        // An earn for many: the customer at the week's limit is refused in
        // its item, the others earn.
        let many = api.ok("POST", "/customer/earnBulk", Some(json!({"badgeMetaId": id, "customerIds": [6, 1, 7]}))).await;
        let items = many["earnedBadges"].as_array().unwrap();
        assert_eq!(
            items.iter().map(|i| i["error"]["code"].as_u64()).collect::<Vec<_>>(),
            [None, Some(1058), None],
            "{many}"
        );

        // The cycles from the week before to the week after, with the
        // customer's counts: the revoked Sunday award is not counted.
        let path = format!(
            "/badgeMeta/getFixedWindowDetails?badgeMetaId={id}&constraintType=CUSTOMER&customerId=1\
             &includeEarnCount=true&startDate=2024-12-23T00:00:00Z&endDate=2025-01-06T00:00:00Z"
        );
        let cycles = api.ok("GET", &path, None).await;
        let listed: Vec<(i64, i64, i64)> = cycles["fixedWindowCycles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["startDate"].as_f64().unwrap() as i64, c["endDate"].as_f64().unwrap() as i64, c["earnCount"].as_i64().unwrap()))
            .collect();
        assert_eq!(listed, [(MONDAY - WEEK, MONDAY, 0), (MONDAY, MONDAY + WEEK, 1), (MONDAY + WEEK, MONDAY + 2 * WEEK, 0)], "{cycles}");
        assert_eq!((&cycles["badgeMetaId"], &cycles["customerId"], &cycles["pagination"]["total"]), (&json!(id), &json!(1), &json!(3)));
        let reference = cycles["fixedWindowCycles"][1]["fixedWindowCycleReferenceId"].as_str().unwrap().to_owned();
        assert_eq!(reference, mine["fixedWindowReferenceId"].as_str().unwrap(), "the detail names the current cycle");
        // The same over gRPC, one cycle by its reference.
        let mut grpc = BadgeCatalogueServiceClient::new(server.channel().await);
        let answer = grpc
            .get_fixed_window_details(authed(
                ADMIN,
                proto::GetFixedWindowDetailsRequest {
                    badge_meta_id: id.clone(),
                    constraint_type: proto::FixedWindowLevel::Customer as i32,
                    customer_id: Some(1),
                    fixed_window_cycle_reference_id: Some(reference.clone()),
                    include_earn_count: true,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let one: Vec<_> = answer
            .fixed_window_cycles
            .iter()
            .map(|c| (c.start_date.unwrap().seconds, c.earn_count, c.constraint_type.as_str()))
            .collect();
        assert_eq!(one, [(MONDAY, Some(1), "CUSTOMER_BADGE_FIXED_WINDOW")]);
        // Errors: the customer a count needs, another org's badge.
        let (s, b) = api
            .call("GET", &format!("/badgeMeta/getFixedWindowDetails?badgeMetaId={id}&includeEarnCount=true"), None)
            .await;
        assert_eq!((s, codes(&b)), (StatusCode::BAD_REQUEST, vec![(400, "customerId".into())]));
        let other = Api::new(&server, crate::catalogue::OTHER);
        let (s, b) = other.call("GET", &format!("/badgeMeta/getFixedWindowDetails?badgeMetaId={id}"), None).await;
        assert_eq!((s, codes(&b)), (StatusCode::NOT_FOUND, vec![(1054, "badgeMetaId".into())]));

        // A week later (the clock moved, not slept): the customer earns again.
        let server = server.restart_at(at(7 * DAY)).await;
        let api = Api::new(&server, ADMIN);
        earned(&earn(&api, &id, 1, None).await);
        refused(&earn(&api, &id, 1, None).await, "customerConstraints[0]");
        server
    })
    .await;
}

#[tokio::test]
async fn rolling_windows_count_the_days_before_the_event() {
    on_each_backend(NOW, |_, server| async move {
        orgs(&server).await;
        let api = Api::new(&server, ADMIN);
        // Two in any 30 days per customer; 3 in any 2 weeks for everyone.
        let b = create(
            &api,
            "Rolling",
            json!([{"constraintType": "CUSTOMER_BADGE_ROLLING_WINDOW", "maxEarnForDays": 2, "rollForDays": 30}]),
            json!([{"constraintType": "BADGE_ROLLING_WINDOW", "rollType": "WEEKS", "rollValue": 2, "maxEarnLimit": 3}]),
        )
        .await;
        let id = b["id"].as_str().unwrap().to_owned();
        earned(&earn(&api, &id, 1, Some("2024-12-01T00:00:00Z")).await);
        earned(&earn(&api, &id, 1, Some("2024-12-15T00:00:00Z")).await);
        refused(&earn(&api, &id, 1, Some("2024-12-30T23:59:59Z")).await, "customerConstraints[0]");
        // 30 days after the first, it has left the window.
        earned(&earn(&api, &id, 1, Some("2024-12-31T00:00:00Z")).await);
        // Everyone: of those, only the 31st lies in the two weeks before
        // the 1st; two more fit, then none.
        earned(&earn(&api, &id, 2, None).await);
        earned(&earn(&api, &id, 3, None).await);
        refused(&earn(&api, &id, 4, None).await, "badgeConstraints[0]");
        let detail = api.ok("GET", &format!("/management/1/badge/{id}?includeStatistics=true"), None).await;
        let mine = &detail["customerConstraints"][0];
        assert_eq!(
            (&mine["constraintType"], &mine["rollType"], &mine["rollValue"], &mine["earnConstraintBlockStatistics"]["currentEarnCountDays"]),
            (&json!("ROLLING_WINDOW"), &json!("DAYS"), &json!(30), &json!(2)),
            "{detail}"
        );
        // Bad constraints: every problem named by its place, nothing made.
        let (s, body) = api
            .call(
                "POST",
                "/badgeMeta",
                Some(json!({
                    "name": "Bad", "earnType": "EARN", "isActive": true,
                    "startOn": "2025-02-01T00:00:00Z", "expiresOn": "2026-01-01T00:00:00Z",
                    "ownership": {"restrictedToOwners": ["Loyalty"]},
                    "customerConstraints": [{"constraintType": "CUSTOMER_BADGE_FIXED_WINDOW", "maxEarnLimit": 1, "durationType": "DAILY"}],
                    "badgeConstraints": [{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimt": 3}]
                })),
            )
            .await;
        assert_eq!(
            (s, codes(&body)),
            (
                StatusCode::BAD_REQUEST,
                vec![
                    (400, "customerConstraints[0].refreshRate".into()),
                    (400, "badgeConstraints[0].maxEarnLimt".into()),
                    (400, "badgeConstraints[0].maxEarnLimit".into()),
                ]
            )
        );
        server
    })
    .await;
}

/// One process's answer to an earn: its status and code. A 429 (a process
/// sheds what it cannot take in flight; nothing ran) is sent again.
async fn racing_earn(
    http: &reqwest::Client,
    base: &str,
    badge: &str,
    customer: i64,
) -> (u16, Option<u64>) {
    loop {
        let r = http
            .post(format!("{base}/api_gateway/v1/badges/customer/earn"))
            .basic_auth("demo", Some("demo"))
            .json(&json!({"badgeMetaId": badge, "customerId": customer}))
            .checked()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if status == 429 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        let body: Value = r.json().await.unwrap();
        return (status, body["errors"][0]["code"].as_u64());
    }
}

#[tokio::test]
async fn racing_earns_through_two_processes_leave_exactly_the_limit() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = vec![("BADGES_DATABASE_URL", db.url.clone())];
        let a = Binary::spawn(&["--demo", "--migrate"], &env, &dir.path().join("a.log")).await;
        let b = Binary::spawn(&["--demo", "--migrate"], &env, &dir.path().join("b.log")).await;
        let http = reqwest::Client::new();
        let write = |method: &str, path: &str, body: Value| {
            let request = match method {
                "PUT" => http.put(format!("{}/api_gateway/v1/badges{path}", a.base)),
                _ => http.post(format!("{}/api_gateway/v1/badges{path}", a.base)),
            };
            let path = path.to_owned();
            async move {
                let r = request
                    .basic_auth("demo", Some("demo"))
                    .header("X-CAP-BADGES-MIGRATION", "migration")
                    .json(&body)
                    .checked()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK, "{path}");
                r.json::<Value>().await.unwrap()["data"].clone()
            }
        };
        let customers: Vec<i64> = (1..=32).map(|k| 7_000_000 + k).collect();
        for &c in &customers {
            write("PUT", "/customers", json!({"customerId": c})).await;
        }
        let mut ids = Vec::new();
        for (name, customer, badge) in [
            (
                "Three per customer",
                json!([{"constraintType": "CUSTOMER_BADGE_FIXED_VALUE", "maxEarnLimit": 3}]),
                json!([]),
            ),
            (
                "Three in all",
                json!([]),
                json!([{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 3}]),
            ),
        ] {
            let made = write(
                "POST",
                "/badgeMeta",
                json!({"name": name, "earnType": "EARN", "isActive": true,
                       "startOn": "2024-01-01T00:00:00Z", "expiresOn": "2030-01-01T00:00:00Z",
                       "ownership": {"restrictedToOwners": ["Loyalty"]},
                       "customerConstraints": customer, "badgeConstraints": badge}),
            )
            .await;
            ids.push(made["id"].as_str().unwrap().to_owned());
        }
        // 32 earns at once, half through each process: one customer against
        // its limit, then 32 customers against the badge's.
        for (id, who) in [
            (&ids[0], vec![customers[0]; 32]),
            (&ids[1], customers.clone()),
        ] {
            let calls = who.iter().enumerate().map(|(i, &c)| {
                let base = if i % 2 == 0 {
                    a.base.clone()
                } else {
                    b.base.clone()
                };
                let http = http.clone();
                let id = id.clone();
                async move { racing_earn(&http, &base, &id, c).await }
            });
            let answers = futures_util::future::join_all(calls).await;
            let ok = answers.iter().filter(|a| a.0 == 200).count();
            let limited = answers
                .iter()
                .filter(|a| a.0 == 400 && a.1 == Some(1058))
                .count();
            eprintln!(
                "{backend:?}: 32 racing earns against a limit of 3 through two processes: {ok} awarded, {limited} refused with 1058"
            );
            assert_eq!((ok, limited), (3, 29), "{backend:?} {answers:?}");
            // What is stored agrees: the badge's count, read back.
            let r: Value = http
                .get(format!(
                    "{}/api_gateway/v1/badges/badgeMeta/{id}?includeStatistics=true",
                    b.base
                ))
                .basic_auth("demo", Some("demo"))
                .checked()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(r["data"]["earnedCount"], 3, "{backend:?} {r}");
        }
        a.terminate().await;
        b.terminate().await;
        db.cleanup().await;
    }
}
