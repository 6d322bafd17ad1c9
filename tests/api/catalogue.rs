//! The catalogue as upstream manages it (BEHAVIOUR.md §9, issue 23):
//! upstream's own bodies accepted and answered in its shape, every rule's
//! code with nothing changed, the org's list against a reference over REST
//! and gRPC, and counts exact under concurrent writes; on each backend.

use std::collections::BTreeSet;

use badges::proto::badge_admin_service_client::BadgeAdminServiceClient;
use badges::proto::badge_catalogue_service_client::BadgeCatalogueServiceClient;
use badges::proto::{self};
use badges::store::{NewApiClient, NewCustomer, NewOrg};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TestServer, on_each_backend};

pub(crate) const ADMIN: (&str, &str) = ("catalogue-admin", "catalogue-admin-secret");
pub(crate) const OTHER: (&str, &str) = ("catalogue-other", "catalogue-other-secret");

/// A REST caller of the badges prefix, with Basic credentials.
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    creds: (&'static str, &'static str),
}

impl Api {
    pub(crate) fn new(server: &TestServer, creds: (&'static str, &'static str)) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: format!("http://{}/api_gateway/v1/badges", server.addr),
            creds,
        }
    }

    /// One call; a 429 (the service sheds load past its in-flight cap, and
    /// SQLite's writes wait their turn) is tried again after a pause, as
    /// its Retry-After asks: nothing ran. Up to 200 times, then it stands.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        for attempt in 1.. {
            let mut r = self
                .http
                .request(method.parse().unwrap(), format!("{}{path}", self.base))
                .header("authorization", basic(self.creds))
                .header("X-CAP-BADGES-MIGRATION", "migration");
            if let Some(b) = &body {
                r = r.json(b);
            }
            let r = r.checked().await.unwrap();
            let status = r.status();
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < 200 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            return (status, r.json().await.unwrap_or(Value::Null));
        }
        unreachable!("the loop returns")
    }

    pub(crate) async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, b) = self.call(method, path, body).await;
        assert_eq!(s, StatusCode::OK, "{method} {path}: {b}");
        b["data"].clone()
    }
}

pub(crate) fn codes(body: &Value) -> Vec<(u64, String)> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| {
                    (
                        e["code"].as_u64().unwrap(),
                        e["reference"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Two orgs, each with a read+write client; the first's id and client id.
pub(crate) async fn orgs(server: &TestServer) -> (i32, i32) {
    let mut first = (0, 0);
    for (name, creds) in [("catalogue", ADMIN), ("catalogue-other", OTHER)] {
        let org = server
            .store
            .insert_org(NewOrg {
                name: name.into(),
                created_at: NOW,
            })
            .await
            .unwrap();
        let client = server
            .store
            .insert_api_client(NewApiClient {
                org_id: org,
                username: creds.0.into(),
                secret_hash: badges::auth::hash_secret(creds.1).unwrap(),
                can_read: true,
                can_write: true,
                created_at: NOW,
            })
            .await
            .unwrap();
        for customer in 1..=20 {
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
        if first == (0, 0) {
            first = (org, client);
        }
    }
    first
}

fn secs(offset: i64) -> i64 {
    at(offset).0 / 1_000_000
}

/// Upstream's create example, its skeleton filled (upstream-badges.md §1):
/// `isActive`, `relativeExpirytype`, ABSOLUTE FIXED_DATE, an ISO string in
/// the epoch field, milliseconds in the other, tags, customFields,
/// benefits, defaultTillId and "no limit" constraints.
fn upstream_create(group: &str) -> Value {
    json!({
        "name": "Upstream example",
        "description": "As upstream's page writes it",
        "startOn": "2025-01-02T00:00:00.000Z",
        "expiresOn": (secs(60 * DAY) as f64) * 1000.0,
        "earnType": "ISSUE_EARN",
        "isActive": true,
        "earnedBadgeExpiry": {"expiryType": "RELATIVE", "relativeExpirytype": "DAYS",
                              "relativeExpiryType": "WEEKS", "value": 10.0},
        "issuedBadgeExpiry": {"expiryType": "ABSOLUTE", "type": "FIXED_DATE",
                              "expiresOn": secs(50 * DAY), "expireWithBadgeMeta": false},
        "ownership": {"restrictedToOwners": ["Loyalty", "Journeys"]},
        "customerConstraints": [{"constraintType": "CUSTOMER_BADGE_NO_LIMIT"}],
        "badgeConstraints": [{"constraintType": "BADGE_NO_LIMIT"}],
        "images": [{"name": "earned", "fileSvcHandle": "qwer-1", "url": "https://badge.url", "tag": "EARNED"}],
        "benefits": [{"benefitType": "COUPON", "seriesId": 12345}],
        "tags": [{"name": "season", "value": "winter"}],
        "customFields": {"tier": 3},
        "defaultTillId": 75,
        "badgeGroupId": group,
        "badgeRank": 2
    })
}

#[tokio::test]
async fn upstreams_own_bodies_are_accepted_and_answered_in_its_shape() {
    on_each_backend(NOW, |backend, server| async move {
        let (org, client) = orgs(&server).await;
        let api = Api::new(&server, ADMIN);

        // Custom fields (§18): one optional, one mandatory with a default.
        let tier = api
            .ok("POST", "/customField", Some(json!({"name": "tier", "dataType": "INTEGER", "isMandatory": false})))
            .await;
        assert_eq!(
            (&tier["orgId"], &tier["dataType"], &tier["isActive"], &tier["createdBy"], &tier["defaultValue"]),
            (&json!(org), &json!("INTEGER"), &json!(true), &json!(client), &Value::Null),
            "{backend:?} {tier}"
        );
        let launch = api
            .ok("POST", "/customField", Some(json!({"name": "launch", "dataType": "DATE", "isMandatory": true, "defaultValue": "2025-01-01"})))
            .await;
        let launch_id = launch["id"].as_str().unwrap().to_owned();
        assert_eq!(api.ok("GET", &format!("/customField/{launch_id}"), None).await, launch);
        let fields = api.ok("GET", "/customField?page=0&size=10&sortOn=LAST_UPDATED_DATE", None).await;
        assert_eq!(fields["customFieldROList"].as_array().unwrap().len(), 2);
        assert_eq!(fields["pagination"], json!({"page": 0, "size": 10, "total": 2, "totalPages": 1}));

        // Groups (§7); a whole number may come with a fraction of zero, as
        // JSON Schema (and upstream's Java) counts it an integer.
        let group = api.ok("POST", "/group", Some(json!({"name": "Season", "rank": 1.0}))).await;
        assert_eq!(
            (&group["orgId"], &group["rank"], &group["createdBy"], &group["isActive"]),
            (&json!(org), &json!(1), &json!(client), &json!(true))
        );
        let group_id = group["id"].as_str().unwrap().to_owned();
        let renamed = api
            .ok("PUT", &format!("/group/{group_id}"), Some(json!({"name": "Season 2", "rank": 3})))
            .await;
        assert_eq!((&renamed["name"], &renamed["rank"], &renamed["createdOn"]), (&json!("Season 2"), &json!(3), &group["createdOn"]));
        assert_eq!(api.ok("GET", &format!("/group/{group_id}"), None).await, renamed);
        let groups = api.ok("GET", "/group?size=100&page=0&order=DESC", None).await;
        assert_eq!(groups["badgeGroups"], json!([renamed]));

        // Create (§1).
        let created = api.ok("POST", "/badgeMeta", Some(upstream_create(&group_id))).await;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["orgId"], org);
        assert_eq!(created["status"], "UPCOMING");
        assert_eq!(created["active"], true);
        assert_eq!((&created["createdBy"], &created["lastUpdatedBy"]), (&json!(client), &json!(client)));
        assert_eq!(created["startOnISO"], "2025-01-02T00:00:00Z");
        assert_eq!(created["expiresOn"].as_f64(), Some(secs(60 * DAY) as f64));
        assert_eq!(created["earnedBadgeExpiry"], json!({"expiryType": "RELATIVE", "relativeExpirytype": "DAYS", "value": 10}));
        assert_eq!(
            created["issuedBadgeExpiry"],
            json!({"expiryType": "ABSOLUTE", "type": "FIXED_DATE", "expiresOn": secs(50 * DAY) as f64, "expireWithBadgeMeta": false})
        );
        assert_eq!(created["tags"], json!([{"name": "season", "value": "winter"}]));
        assert_eq!(created["customFields"], json!({"tier": "3", "launch": "2025-01-01"}), "the mandatory field takes its default");
        assert_eq!(created["benefits"], json!([{"benefitType": "COUPON", "seriesId": 12345}]));
        assert_eq!(created["defaultTillId"], 75);
        assert_eq!(created["customerConstraints"], json!([{"constraintType": "CUSTOMER_BADGE_NO_LIMIT"}]));
        assert_eq!(created["ownership"], json!({"restrictedToOwners": ["Loyalty", "Journeys"], "claims": []}));

        // An EARN badge: issuedBadgeExpiry null; WITH_BADGE_META written back.
        let earn = api
            .ok("POST", "/badgeMeta", Some(json!({
                "name": "Earn only", "earnType": "EARN", "active": false, "isActive": true,
                "startOn": secs(-DAY), "expiresOnISO": "2025-06-01T00:00:00+05:30",
                "earnedBadgeExpiry": {"expiryType": "ABSOLUTE", "type": "WITH_BADGE_META", "expireWithBadgeMeta": true},
                "ownership": {"restrictedToOwners": ["Loyalty"]}
            })))
            .await;
        assert_eq!(earn["active"], true, "isActive wins over active");
        assert_eq!(earn["issuedBadgeExpiry"], Value::Null);
        assert_eq!(
            earn["earnedBadgeExpiry"],
            json!({"expiryType": "ABSOLUTE", "type": "WITH_BADGE_META", "expiresOn": null, "expireWithBadgeMeta": true})
        );
        assert_eq!(earn["expiresOnISO"], "2025-05-31T18:30:00Z");
        assert_eq!(earn["status"], "LIVE");

        // Update (§2): the badge as read, changed and sent back with its
        // read-only fields; upstream's live curl mixes seconds and ms.
        let mut update = created.clone();
        update["description"] = json!("Corrected");
        update["startOn"] = json!(secs(2 * DAY));
        update["expiresOn"] = json!(secs(70 * DAY) * 1000);
        update.as_object_mut().unwrap().remove("startOnISO");
        update.as_object_mut().unwrap().remove("expiresOnISO");
        update["ownership"]["restrictedToOwners"] = json!(["Loyalty", "Journeys", "Milestones"]);
        let updated = api.ok("PUT", "/badgeMeta", Some(update)).await;
        assert_eq!(updated["description"], "Corrected");
        assert_eq!(updated["startOn"].as_f64(), Some(secs(2 * DAY) as f64));
        assert_eq!(updated["expiresOn"].as_f64(), Some(secs(70 * DAY) as f64));
        assert_eq!(updated["createdOn"], created["createdOn"]);
        assert!(updated["lastUpdatedOn"].as_f64() > created["lastUpdatedOn"].as_f64());
        assert_eq!(updated["ownership"]["restrictedToOwners"], json!(["Loyalty", "Journeys", "Milestones"]));

        // Activate with upstream's curl body (§3); claim and unclaim (§4).
        let (s, body) = api.call("PUT", &format!("/badgeMeta/{id}/deactivate"), Some(json!({"active": true}))).await;
        assert_eq!((s, &body["data"]), (StatusCode::OK, &json!({"id": id, "isActive": false})));
        let activated = api.ok("PUT", &format!("/badgeMeta/{id}/activate"), Some(json!({"active": true}))).await;
        assert_eq!(activated, json!({"id": id, "isActive": true}));
        let claimed = api
            .ok("POST", &format!("/badgeMeta/{id}/claim"), Some(json!({"ownerType": "JOURNEYS", "referenceId": "1175688"})))
            .await;
        assert_eq!(claimed, json!({"badgeMetaId": id, "ownerType": "Journeys", "referenceId": "1175688"}));
        let unclaimed = api
            .ok("POST", &format!("/badgeMeta/{id}/unclaim"), Some(json!({"ownerType": "Journeys", "referenceId": 1175688})))
            .await;
        assert_eq!(unclaimed, json!({"ownerType": "Journeys", "referenceId": "1175688", "isActive": false}));

        // Get by id (§5): badgeNumericId; counts with statistics.
        let got = api.ok("GET", &format!("/badgeMeta/{id}"), None).await;
        assert_eq!(got["badgeNumericId"], Value::Null);
        assert!(got.get("issuedCount").is_none());
        assert_eq!(got["ownership"]["claims"], json!([{"ownerType": "Journeys", "referenceId": "1175688", "isActive": false}]));
        let stats = api.ok("GET", &format!("/badgeMeta/{id}?includeStatistics=true&limit=10&order=DESC"), None).await;
        assert_eq!((&stats["issuedCount"], &stats["earnedCount"]), (&json!(0), &json!(0)));

        // Get all (§6), upstream's query.
        let all = api.ok("GET", "/badgeMeta?status=LIVE,UPCOMING&page=0&limit=10&sortOn=ID", None).await;
        let rows = all["metaBasicDetails"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let row = rows.iter().find(|r| r["id"] == id.as_str()).unwrap();
        assert_eq!((&row["badgeGroupName"], &row["issuedCount"], &row["earnedCount"]), (&json!("Season 2"), &json!(0), &json!(0)));
        assert!(row.get("customerConstraints").is_none() && row.get("issuedBadgeExpiry").is_none());
        assert_eq!(all["pagination"], json!({"page": 0, "size": 10, "total": 2, "totalPages": 1}));

        // The custom field changed: badges keep their values.
        let tier_id = tier["id"].as_str().unwrap();
        let changed = api
            .ok("PUT", &format!("/customField/{tier_id}"), Some(json!({"name": "tier", "dataType": "STRING", "isActive": false})))
            .await;
        assert_eq!((&changed["dataType"], &changed["isActive"], &changed["createdOn"]), (&json!("STRING"), &json!(false), &tier["createdOn"]));
        let inactive = api.ok("GET", "/customField?isActive=false", None).await;
        assert_eq!(inactive["customFieldROList"], json!([changed]));
        assert_eq!(api.ok("GET", &format!("/badgeMeta/{id}"), None).await["customFields"]["tier"], "3");
        server
    })
    .await;
}

/// A call that breaks a rule: what it is, method, path, body, the status
/// and the (code, reference) of each problem.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<Value>,
    StatusCode,
    Vec<(u64, &'a str)>,
);

#[tokio::test]
async fn every_catalogue_rule_answers_its_code_and_changes_nothing() {
    on_each_backend(NOW, |backend, server| async move {
        orgs(&server).await;
        let api = Api::new(&server, ADMIN);
        let other = Api::new(&server, OTHER);
        api.ok("POST", "/customField", Some(json!({"name": "tier", "dataType": "INTEGER"}))).await;
        let group = api.ok("POST", "/group", Some(json!({"name": "G", "rank": 1}))).await;
        let group = group["id"].as_str().unwrap().to_owned();
        api.ok("POST", "/group", Some(json!({"name": "Taken", "rank": 2}))).await;
        let definition = |name: &str, start: i64| {
            json!({"name": name, "earnType": "EARN", "active": true,
                   "startOn": secs(start), "expiresOn": secs(30 * DAY),
                   "ownership": {"restrictedToOwners": ["Loyalty", "Journeys"]}})
        };
        let live = api.ok("POST", "/badgeMeta", Some(definition("Live", -DAY))).await;
        let live_id = live["id"].as_str().unwrap().to_owned();
        let upcoming = api.ok("POST", "/badgeMeta", Some(definition("Upcoming", DAY))).await;
        let upcoming_id = upcoming["id"].as_str().unwrap().to_owned();
        api.ok("POST", &format!("/badgeMeta/{live_id}/claim"), Some(json!({"ownerType": "Journeys", "referenceId": "j"}))).await;
        let live = api.ok("GET", &format!("/badgeMeta/{live_id}"), None).await;

        let with = |base: &Value, id: &str, change: Value| {
            let mut b = base.clone();
            b["id"] = json!(id);
            for (k, v) in change.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        let claim_path = format!("/badgeMeta/{upcoming_id}/claim");
        let unclaim_path = format!("/badgeMeta/{upcoming_id}/unclaim");
        let group_path = format!("/group/{group}");
        let d_live = definition("Live", -DAY);
        let d_up = definition("Upcoming", DAY);
        let cases: Vec<Case> = vec![
            ("723: a LIVE badge's start", "PUT", "/badgeMeta", Some(with(&d_live, &live_id, json!({"startOn": secs(-2 * DAY)}))), StatusCode::BAD_REQUEST, vec![(723, "startOn")]),
            ("720 on update", "PUT", "/badgeMeta", Some(with(&d_up, &upcoming_id, json!({"startOn": secs(40 * DAY)}))), StatusCode::BAD_REQUEST, vec![(720, "startOn")]),
            ("724: expiry moved into the past", "PUT", "/badgeMeta", Some(with(&d_live, &live_id, json!({"expiresOn": secs(-HOUR)}))), StatusCode::BAD_REQUEST, vec![(724, "expiresOn")]),
            ("714: an owner with an active claim removed", "PUT", "/badgeMeta", Some(with(&d_live, &live_id, json!({"ownership": {"restrictedToOwners": ["Loyalty"]}}))), StatusCode::BAD_REQUEST, vec![(714, "ownership.restrictedToOwners")]),
            ("725: renamed to a taken name", "PUT", "/badgeMeta", Some(with(&d_up, &upcoming_id, json!({"name": "Live"}))), StatusCode::CONFLICT, vec![(725, "name")]),
            ("a value that is not its field's type", "PUT", "/badgeMeta", Some(with(&d_up, &upcoming_id, json!({"customFields": {"tier": "three"}}))), StatusCode::BAD_REQUEST, vec![(400, "customFields.tier")]),
            ("826: a limit added to a LIVE badge", "PUT", "/badgeMeta", Some(with(&d_live, &live_id, json!({"badgeConstraints": [{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 3}]}))), StatusCode::BAD_REQUEST, vec![(826, "badgeConstraints")]),
            ("a misspelt limit", "PUT", "/badgeMeta", Some(with(&d_up, &upcoming_id, json!({"badgeConstraints": [{"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimt": 3}]}))), StatusCode::BAD_REQUEST, vec![(400, "badgeConstraints[0].maxEarnLimt"), (400, "badgeConstraints[0].maxEarnLimit")]),
            ("update without an id", "PUT", "/badgeMeta", Some(d_up.clone()), StatusCode::BAD_REQUEST, vec![(400, "id")]),
            ("a field no upstream page names", "PUT", "/badgeMeta", Some(with(&d_up, &upcoming_id, json!({"colour": "red"}))), StatusCode::BAD_REQUEST, vec![(400, "body")]),
            ("717: a claim without referenceId", "POST", &claim_path, Some(json!({"ownerType": "Loyalty"})), StatusCode::BAD_REQUEST, vec![(717, "referenceId")]),
            ("737: an unknown claim", "POST", &unclaim_path, Some(json!({"ownerType": "Loyalty", "referenceId": "x"})), StatusCode::BAD_REQUEST, vec![(737, "referenceId")]),
            ("733: a group renamed to a taken name", "PUT", &group_path, Some(json!({"name": "Taken", "rank": 1})), StatusCode::CONFLICT, vec![(733, "name")]),
            ("732: a group without rank", "PUT", &group_path, Some(json!({"name": "G2"})), StatusCode::BAD_REQUEST, vec![(732, "rank")]),
            ("1057: a custom field's taken name", "POST", "/customField", Some(json!({"name": "tier", "dataType": "STRING"})), StatusCode::CONFLICT, vec![(1057, "name")]),
            ("a default that is not of the type", "POST", "/customField", Some(json!({"name": "n", "dataType": "BOOLEAN", "defaultValue": "maybe"})), StatusCode::BAD_REQUEST, vec![(400, "defaultValue")]),
            ("a size past the catalogue's page", "GET", "/badgeMeta?size=101", None, StatusCode::BAD_REQUEST, vec![(400, "size")]),
            ("an unknown list parameter", "GET", "/badgeMeta?colour=red&status=SOON", None, StatusCode::BAD_REQUEST, vec![(400, "status"), (400, "colour")]),
        ];
        let before = api.ok("GET", "/badgeMeta?size=50", None).await;
        let groups_before = api.ok("GET", "/group", None).await;
        for (what, method, path, body, status, expected) in cases {
            let (s, b) = api.call(method, path, body).await;
            let expected: Vec<(u64, String)> = expected.into_iter().map(|(c, r)| (c, r.to_owned())).collect();
            assert_eq!((s, codes(&b)), (status, expected), "{backend:?} {what}: {b}");
        }
        let mut unknown = definition("New", DAY);
        unknown["customFields"] = json!({"colour": "red"});
        let (s, b) = api.call("POST", "/badgeMeta", Some(unknown)).await;
        assert_eq!(
            (s, codes(&b)),
            (StatusCode::BAD_REQUEST, vec![(400, "customFields.colour".to_owned())]),
            "{backend:?}: a custom field the org does not have"
        );
        assert_eq!(api.ok("GET", "/badgeMeta?size=50", None).await, before, "{backend:?}: nothing changed");
        assert_eq!(api.ok("GET", "/group", None).await, groups_before);
        assert_eq!(api.ok("GET", &format!("/badgeMeta/{live_id}"), None).await, live);

        // Another org's badge, group and custom field answer as missing ones.
        let missing = "0000000000000000000000ee";
        for (path, code) in [
            (format!("/badgeMeta/{live_id}"), 1054),
            (format!("/badgeMeta/{missing}"), 1054),
            (format!("/group/{group}"), 1055),
            (format!("/group/{missing}"), 1055),
        ] {
            let (s, b) = other.call("GET", &path, None).await;
            assert_eq!((s, codes(&b)[0].0), (StatusCode::NOT_FOUND, code), "{path}: {b}");
        }
        let (a, b) = (
            other.call("PUT", "/badgeMeta", Some(with(&d_live, &live_id, json!({})))).await,
            other.call("PUT", "/badgeMeta", Some(with(&d_live, missing, json!({})))).await,
        );
        assert_eq!(a, b, "another org's badge is a missing one");
        let (a, b) = (
            other.call("PUT", &format!("/group/{group}"), Some(json!({"name": "x", "rank": 1}))).await,
            other.call("PUT", &format!("/group/{missing}"), Some(json!({"name": "x", "rank": 1}))).await,
        );
        assert_eq!(a, b, "another org's group is a missing one");
        let fields = api.ok("GET", "/customField", None).await;
        let field = fields["customFieldROList"][0]["id"].as_str().unwrap();
        let (a, b) = (
            other.call("GET", &format!("/customField/{field}"), None).await,
            other.call("GET", &format!("/customField/{missing}"), None).await,
        );
        assert_eq!(a, b, "another org's custom field is a missing one");
        assert_eq!(codes(&a.1)[0].0, 1056);
        assert_eq!(other.ok("GET", "/badgeMeta", None).await["metaBasicDetails"], json!([]));
        assert_eq!(api.ok("GET", &format!("/badgeMeta/{live_id}"), None).await, live);
        server
    })
    .await;
}

/// What the test knows of a badge it made, for the reference list.
#[derive(Clone, Debug)]
struct Made {
    id: String,
    name: String,
    earn_type: &'static str,
    start: i64,
    end: i64,
    active: bool,
    group: Option<String>,
    owners: Vec<&'static str>,
    claimed_by: Option<&'static str>,
}

impl Made {
    fn status(&self) -> &'static str {
        let now = NOW.0 / 1_000_000;
        if now < self.start {
            "UPCOMING"
        } else if now < self.end {
            "LIVE"
        } else {
            "EXPIRED"
        }
    }
}

/// One query of the org list and the reference's answer to it.
struct Query {
    rest: String,
    grpc: proto::ListBadgesRequest,
    keep: Box<dyn Fn(&Made) -> bool>,
    sort: &'static str,
    desc: bool,
    page: usize,
    size: usize,
}

fn reference(made: &[Made], q: &Query) -> (Vec<String>, usize) {
    let mut rows: Vec<&Made> = made.iter().filter(|m| (q.keep)(m)).collect();
    rows.sort_by(|a, b| {
        let key = match q.sort {
            "NAME" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            "START_DATE" => a.start.cmp(&b.start),
            _ => std::cmp::Ordering::Equal,
        };
        key.then(a.id.cmp(&b.id))
    });
    if q.desc {
        rows.reverse();
    }
    let total = rows.len();
    (
        rows.into_iter()
            .skip(q.page * q.size)
            .take(q.size)
            .map(|m| m.id.clone())
            .collect(),
        total,
    )
}

#[tokio::test]
async fn the_org_list_filters_sorts_and_pages_as_a_reference_does() {
    use proto::{Action, BadgeStatus, CatalogueSort, EarnType, Owner, SortOrder};
    on_each_backend(NOW, |backend, server| async move {
        orgs(&server).await;
        let api = Api::new(&server, ADMIN);
        let groups: Vec<String> = two_groups(&api).await;
        let owners = [
            ["Loyalty", "Journeys"],
            ["Milestones", "Loyalty"],
            ["Journeys", "Milestones"],
        ];
        let mut made = Vec::new();
        for i in 0..24usize {
            let start = secs((i as i64 % 5 - 2) * 7 * DAY + i as i64 * HOUR);
            let end = start + (1 + i as i64 % 3) * 10 * 86_400;
            let m = Made {
                id: String::new(),
                name: format!("{} badge {i:02}", ["Gold", "silver", "Bronze"][i % 3]),
                earn_type: if i % 4 == 0 { "ISSUE_EARN" } else { "EARN" },
                start,
                end,
                active: i % 5 != 1,
                group: (i % 3 != 2).then(|| groups[i % 2].clone()),
                owners: owners[i % 3].to_vec(),
                claimed_by: (i % 4 == 1).then_some(owners[i % 3][0]),
            };
            let created = api
                .ok(
                    "POST",
                    "/badgeMeta",
                    Some(json!({
                        "name": m.name, "earnType": m.earn_type, "active": m.active,
                        "startOn": m.start, "expiresOn": m.end, "badgeGroupId": m.group,
                        "ownership": {"restrictedToOwners": m.owners}
                    })),
                )
                .await;
            let id = created["id"].as_str().unwrap().to_owned();
            if let Some(owner) = m.claimed_by {
                api.ok(
                    "POST",
                    &format!("/badgeMeta/{id}/claim"),
                    Some(json!({"ownerType": owner, "referenceId": format!("r{i}")})),
                )
                .await;
            }
            made.push(Made { id, ..m });
        }
        let base = || proto::ListBadgesRequest::default();
        let g0 = groups[0].clone();
        let queries = vec![
            Query {
                rest: String::new(),
                grpc: base(),
                keep: Box::new(|_| true),
                sort: "ID",
                desc: true,
                page: 0,
                size: 10,
            },
            Query {
                rest: "page=2&size=10".into(),
                grpc: proto::ListBadgesRequest {
                    page: Some(2),
                    size: Some(10),
                    ..base()
                },
                keep: Box::new(|_| true),
                sort: "ID",
                desc: true,
                page: 2,
                size: 10,
            },
            Query {
                rest: "status=LIVE,UPCOMING&limit=50".into(),
                grpc: proto::ListBadgesRequest {
                    status: vec![BadgeStatus::Live as i32, BadgeStatus::Upcoming as i32],
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| m.status() != "EXPIRED"),
                sort: "ID",
                desc: true,
                page: 0,
                size: 50,
            },
            Query {
                rest: "status=ENDED&sortOn=NAME&order=ASC&size=50".into(),
                grpc: proto::ListBadgesRequest {
                    status: vec![BadgeStatus::Expired as i32],
                    sort_on: CatalogueSort::Name as i32,
                    order: SortOrder::Asc as i32,
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| m.status() == "EXPIRED"),
                sort: "NAME",
                desc: false,
                page: 0,
                size: 50,
            },
            Query {
                rest: "earnType=ISSUE_EARN&size=50".into(),
                grpc: proto::ListBadgesRequest {
                    earn_type: vec![EarnType::IssueEarn as i32],
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| m.earn_type == "ISSUE_EARN"),
                sort: "ID",
                desc: true,
                page: 0,
                size: 50,
            },
            Query {
                rest: "badgeType=EARN&action=DE_ACTIVATED&size=50".into(),
                grpc: proto::ListBadgesRequest {
                    earn_type: vec![EarnType::Earn as i32],
                    action: vec![Action::Deactivated as i32],
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| m.earn_type == "EARN" && !m.active),
                sort: "ID",
                desc: true,
                page: 0,
                size: 50,
            },
            Query {
                rest: "owner=Milestones&sortOn=START_DATE&order=ASC&size=5&page=1".into(),
                grpc: proto::ListBadgesRequest {
                    owner: vec![Owner::Milestones as i32],
                    sort_on: CatalogueSort::StartDate as i32,
                    order: SortOrder::Asc as i32,
                    size: Some(5),
                    page: Some(1),
                    ..base()
                },
                keep: Box::new(|m| m.owners.contains(&"Milestones")),
                sort: "START_DATE",
                desc: false,
                page: 1,
                size: 5,
            },
            Query {
                rest: "claimedBy=Loyalty,Journeys&size=50".into(),
                grpc: proto::ListBadgesRequest {
                    claimed_by: vec![Owner::Loyalty as i32, Owner::Journeys as i32],
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| matches!(m.claimed_by, Some("Loyalty" | "Journeys"))),
                sort: "ID",
                desc: true,
                page: 0,
                size: 50,
            },
            Query {
                rest: "unclaimed=true&sortOn=NAME&size=50".into(),
                grpc: proto::ListBadgesRequest {
                    unclaimed: true,
                    sort_on: CatalogueSort::Name as i32,
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| m.claimed_by.is_none()),
                sort: "NAME",
                desc: true,
                page: 0,
                size: 50,
            },
            Query {
                rest: "name=GOLD&size=50".into(),
                grpc: proto::ListBadgesRequest {
                    name: Some("GOLD".into()),
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| m.name.to_lowercase().contains("gold")),
                sort: "ID",
                desc: true,
                page: 0,
                size: 50,
            },
            Query {
                rest: format!("groupId={g0}&size=50"),
                grpc: proto::ListBadgesRequest {
                    group_id: Some(g0.clone()),
                    size: Some(50),
                    ..base()
                },
                keep: {
                    let g = g0.clone();
                    Box::new(move |m| m.group.as_deref() == Some(g.as_str()))
                },
                sort: "ID",
                desc: true,
                page: 0,
                size: 50,
            },
            Query {
                rest: "startOn=2024-12-25T00:00:00Z&expiresOn=2025-02-15T00:00:00Z&size=50".into(),
                grpc: proto::ListBadgesRequest {
                    start_on: Some(prost_types::Timestamp {
                        seconds: 1_735_084_800,
                        nanos: 0,
                    }),
                    expires_on: Some(prost_types::Timestamp {
                        seconds: 1_739_577_600,
                        nanos: 0,
                    }),
                    size: Some(50),
                    ..base()
                },
                keep: Box::new(|m| m.start > 1_735_084_800 && m.end < 1_739_577_600),
                sort: "ID",
                desc: true,
                page: 0,
                size: 50,
            },
        ];
        let mut catalogue = BadgeCatalogueServiceClient::new(server.channel().await);
        for q in &queries {
            let (ids, total) = reference(&made, q);
            let data = api.ok("GET", &format!("/badgeMeta?{}", q.rest), None).await;
            let got: Vec<String> = data["metaBasicDetails"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                (&got, data["pagination"]["total"].as_u64()),
                (&ids, Some(total as u64)),
                "{backend:?} REST {}",
                q.rest
            );
            let answer = catalogue
                .list_badges(authed(ADMIN, q.grpc.clone()))
                .await
                .unwrap()
                .into_inner();
            let got: Vec<String> = answer.badges.iter().map(|b| b.id.clone()).collect();
            assert_eq!(
                (&got, answer.pagination.unwrap().total),
                (&ids, total as i64),
                "{backend:?} gRPC {}",
                q.rest
            );
        }
        server
    })
    .await;
}

/// Two groups of the org; their ids.
async fn two_groups(api: &Api) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, rank) in [("A", 1), ("B", 2)] {
        let g = api
            .ok("POST", "/group", Some(json!({"name": name, "rank": rank})))
            .await;
        ids.push(g["id"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test]
async fn counts_stay_exact_under_concurrent_earns_revokes_and_enrolments() {
    on_each_backend(NOW, |backend, server| async move {
        orgs(&server).await;
        let api = std::sync::Arc::new(Api::new(&server, ADMIN));
        let window = json!({"startOn": secs(-DAY), "expiresOn": secs(30 * DAY), "active": true,
                            "ownership": {"restrictedToOwners": ["Loyalty"]}});
        let mut direct = window.clone();
        direct["name"] = json!("Direct");
        direct["earnType"] = json!("EARN");
        let direct = api.ok("POST", "/badgeMeta", Some(direct)).await["id"].as_str().unwrap().to_owned();
        let mut enrolled = window.clone();
        enrolled["name"] = json!("Enrolled");
        enrolled["earnType"] = json!("ISSUE_EARN");
        let enrolled = api.ok("POST", "/badgeMeta", Some(enrolled)).await["id"].as_str().unwrap().to_owned();

        // 16 writers: each earns the direct badge 5 times for its customer,
        // revokes 2 of them, and enrols its customer in the other badge.
        let mut tasks = Vec::new();
        for w in 0..16i64 {
            let (api, direct, enrolled) = (api.clone(), direct.clone(), enrolled.clone());
            tasks.push(tokio::spawn(async move {
                let customer = w % 20 + 1;
                let mut awards = Vec::new();
                for i in 0..5 {
                    let a = api
                        .ok("POST", "/customer/earn", Some(json!({"badgeMetaId": direct, "customerId": customer.to_string(), "requestId": format!("{w}-{i}")})))
                        .await;
                    awards.push(a["earnedBadgeId"].as_str().unwrap().to_owned());
                }
                for a in &awards[..2] {
                    api.ok("POST", "/customer/revokeEarn", Some(json!({"badgeMetaId": direct, "customerId": customer, "earnedBadgeId": a}))).await;
                }
                let (s, b) = api
                    .call("POST", "/badgeMeta/customer/issueBulk", Some(json!({"badgeMetaId": enrolled, "customers": [customer]})))
                    .await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let stats = |id: String| {
            let api = api.clone();
            async move { api.ok("GET", &format!("/badgeMeta/{id}?includeStatistics=true"), None).await }
        };
        let d = stats(direct.clone()).await;
        assert_eq!((&d["earnedCount"], &d["issuedCount"]), (&json!(16 * 3), &json!(0)), "{backend:?}");
        let e = stats(enrolled.clone()).await;
        assert_eq!((&e["earnedCount"], &e["issuedCount"]), (&json!(0), &json!(16)), "{backend:?}");
        let listed = api.ok("GET", "/badgeMeta?sortOn=NAME&order=ASC", None).await;
        let counts: BTreeSet<(String, u64, u64)> = listed["metaBasicDetails"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["name"].as_str().unwrap().to_owned(), r["issuedCount"].as_u64().unwrap(), r["earnedCount"].as_u64().unwrap()))
            .collect();
        assert_eq!(counts, BTreeSet::from([("Direct".to_owned(), 0, 48), ("Enrolled".to_owned(), 16, 0)]));
        server
    })
    .await;
}

#[tokio::test]
async fn the_catalogue_over_grpc_is_the_catalogue_over_rest() {
    on_each_backend(NOW, |backend, server| async move {
        let (org, client) = orgs(&server).await;
        let api = Api::new(&server, ADMIN);
        let mut admin = BadgeAdminServiceClient::new(server.channel().await);
        let mut catalogue = BadgeCatalogueServiceClient::new(server.channel().await);
        let group = admin
            .create_group(authed(
                ADMIN,
                proto::CreateGroupRequest {
                    name: "G".into(),
                    rank: Some(4),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .group
            .unwrap();
        assert_eq!(
            (group.org_id, group.created_by, group.is_active),
            (org, Some(client), true)
        );
        let field = admin
            .create_custom_field(authed(
                ADMIN,
                proto::CreateCustomFieldRequest {
                    name: "tier".into(),
                    data_type: proto::CustomFieldDataType::Integer as i32,
                    is_mandatory: true,
                    default_value: Some("1".into()),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .custom_field
            .unwrap();
        let request = |name: &str| proto::CreateBadgeRequest {
            name: name.into(),
            earn_type: proto::EarnType::Earn as i32,
            start_on: Some(prost_types::Timestamp {
                seconds: secs(DAY),
                nanos: 0,
            }),
            expires_on: Some(prost_types::Timestamp {
                seconds: secs(9 * DAY),
                nanos: 0,
            }),
            active: true,
            badge_group_id: Some(group.id.clone()),
            restricted_to_owners: vec![proto::Owner::Loyalty as i32],
            tags: vec![proto::BadgeTag {
                name: "k".into(),
                value: "v".into(),
            }],
            benefits: vec![prost_types::Struct {
                fields: [(
                    "benefitType".to_owned(),
                    prost_types::Value {
                        kind: Some(prost_types::value::Kind::StringValue("COUPON".into())),
                    },
                )]
                .into(),
            }],
            ..Default::default()
        };
        let created = admin
            .create_badge(authed(ADMIN, request("Over gRPC")))
            .await
            .unwrap()
            .into_inner()
            .badge
            .unwrap();
        assert_eq!(
            created.custom_fields.get("tier").map(String::as_str),
            Some("1")
        );
        let updated = admin
            .update_badge(authed(
                ADMIN,
                proto::UpdateBadgeRequest {
                    id: created.id.clone(),
                    badge: Some(proto::CreateBadgeRequest {
                        description: "fixed".into(),
                        ..request("Over gRPC")
                    }),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .badge
            .unwrap();
        assert_eq!(
            (updated.description.as_str(), updated.created_on),
            ("fixed", created.created_on)
        );
        let got = catalogue
            .get_badge(authed(
                ADMIN,
                proto::GetBadgeRequest {
                    badge_id: created.id.clone(),
                    include_statistics: true,
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .badge
            .unwrap();
        assert_eq!((got.issued_count, got.earned_count), (Some(0), Some(0)));
        // The same badge through REST.
        let rest = api
            .ok("GET", &format!("/badgeMeta/{}", created.id), None)
            .await;
        assert_eq!(rest["description"], "fixed");
        assert_eq!(rest["benefits"], json!([{"benefitType": "COUPON"}]));
        assert_eq!(rest["tags"], json!([{"name": "k", "value": "v"}]));
        assert_eq!(rest["status"], "UPCOMING");
        assert_eq!(got.status, proto::BadgeStatus::Upcoming as i32);
        let listed = catalogue
            .list_badges(authed(ADMIN, proto::ListBadgesRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.badges.len(), 1);
        assert_eq!(listed.badges[0].badge_group_name.as_deref(), Some("G"));
        let renamed = admin
            .update_group(authed(
                ADMIN,
                proto::UpdateGroupRequest {
                    id: group.id.clone(),
                    name: "G2".into(),
                    rank: Some(5),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .group
            .unwrap();
        let groups = catalogue
            .list_groups(authed(ADMIN, proto::ListGroupsRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(groups.groups, vec![renamed.clone()]);
        assert_eq!(
            catalogue
                .get_group(authed(
                    ADMIN,
                    proto::GetGroupRequest {
                        id: group.id.clone()
                    }
                ))
                .await
                .unwrap()
                .into_inner()
                .group,
            Some(renamed)
        );
        let changed = admin
            .update_custom_field(authed(
                ADMIN,
                proto::UpdateCustomFieldRequest {
                    id: field.id.clone(),
                    name: "tier".into(),
                    data_type: proto::CustomFieldDataType::String as i32,
                    is_mandatory: false,
                    default_value: None,
                    is_active: Some(false),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .custom_field
            .unwrap();
        let fields = catalogue
            .list_custom_fields(authed(
                ADMIN,
                proto::ListCustomFieldsRequest {
                    is_active: Some(false),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(fields.custom_fields, vec![changed.clone()]);
        assert_eq!(
            catalogue
                .get_custom_field(authed(ADMIN, proto::GetCustomFieldRequest { id: field.id }))
                .await
                .unwrap()
                .into_inner()
                .custom_field,
            Some(changed)
        );
        // Errors carry the same codes as REST's.
        let status = catalogue
            .get_badge(authed(
                OTHER,
                proto::GetBadgeRequest {
                    badge_id: created.id.clone(),
                    include_statistics: false,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{backend:?}");
        let status = admin
            .update_badge(authed(
                ADMIN,
                proto::UpdateBadgeRequest {
                    id: created.id.clone(),
                    badge: Some(proto::CreateBadgeRequest {
                        badge_constraints: vec![prost_types::Struct {
                            fields: [(
                                "constraintType".to_owned(),
                                prost_types::Value {
                                    kind: Some(prost_types::value::Kind::StringValue(
                                        "BADGE_FIXED_VALUE".into(),
                                    )),
                                },
                            )]
                            .into(),
                        }],
                        ..request("Over gRPC")
                    }),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        server
    })
    .await;
}

/// A database with awards and enrolments from before the counts: the
/// migration that adds them counts what is there (what the README says of an
/// upgrade), revoked rows left out.
#[tokio::test]
async fn the_counts_migration_counts_the_awards_already_there() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database};
    for backend in crate::common::backends() {
        let db = crate::common::TestDb::new(backend).await;
        let conn = Database::connect(db.url.as_str()).await.unwrap();
        // The schema as the release before the counts left it.
        Migrator::up(&conn, Some(8)).await.unwrap();
        let badge = "0000000000000000000000c1";
        for sql in [
            "INSERT INTO orgs (id, name, created_at) VALUES (1, 'before', 0)".to_owned(),
            format!(
                "INSERT INTO badges (id, org_id, name, name_lower, description, earn_type, active, \
                 starts_on, expires_on, created_on, last_updated_on, group_id, rank, \
                 earned_badge_expiry, issued_badge_expiry) VALUES ('{badge}', 1, 'B', 'b', '', \
                 'ISSUE_EARN', TRUE, 0, 1, 0, 0, NULL, NULL, '{{\"expiryType\":\"NEVER\"}}', \
                 '{{\"expiryType\":\"NEVER\"}}')"
            ),
            "INSERT INTO customers (org_id, customer_id) VALUES (1, 7)".to_owned(),
            format!(
                "INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, \
                 event_at, revoked) VALUES ('0000000000000000000000a1', 1, '{badge}', 7, 1, 1, FALSE), \
                 ('0000000000000000000000a2', 1, '{badge}', 7, 2, 2, FALSE), \
                 ('0000000000000000000000a3', 1, '{badge}', 7, 3, 3, TRUE)"
            ),
            format!(
                "INSERT INTO enrolments (org_id, badge_id, customer_id, issued_at, revoked) \
                 VALUES (1, '{badge}', 7, 1, TRUE), (1, '{badge}', 7, 2, FALSE)"
            ),
        ] {
            conn.execute_unprepared(&sql).await.unwrap();
        }
        Migrator::up(&conn, None).await.unwrap();
        let store = db.connect(&badges::store::PoolSettings::default()).await;
        let counts = store.badge_counts(1, &[badge]).await.unwrap();
        assert_eq!(
            counts.get(badge).copied(),
            Some(badges::store::Counts {
                issued: 1,
                earned: 2
            }),
            "{backend:?}"
        );
        conn.close().await.unwrap();
        db.cleanup().await;
    }
}
