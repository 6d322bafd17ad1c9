//! The demo data answers the upstream example URLs.

use badges::demo::{self, DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_ID, DEMO_SECRET, DEMO_USERNAME};
use badges::domain::Micros;
use badges::proto::{BadgeStatus, BadgeType, CustomerIdentifierType, ListCustomerBadgesRequest};
use badges::store::{NewApiClient, NewOrg};
use prost_types::Timestamp;

use crate::common::fixture::authed;
use crate::common::on_each_backend;

/// 2024-06-15T00:00:00Z: inside demoBadgeName001's window.
const JUNE_2024: Micros = Micros(1_718_409_600_000_000);

#[tokio::test]
async fn demo_customer_answers_by_id_and_by_email() {
    on_each_backend(JUNE_2024, |backend, server| async move {
        demo::load(&server.store, JUNE_2024).await.unwrap();
        // Loading again changes nothing.
        demo::load(&server.store, JUNE_2024).await.unwrap();

        for (id, kind) in [
            (
                DEMO_CUSTOMER_ID.to_string(),
                CustomerIdentifierType::Unspecified,
            ),
            (
                DEMO_CUSTOMER_EMAIL.to_owned(),
                CustomerIdentifierType::Email,
            ),
        ] {
            let r = ListCustomerBadgesRequest {
                customer_id: id,
                identifier_type: kind as i32,
                badge_type: vec![BadgeType::Earned as i32],
                ..Default::default()
            };
            let resp = server
                .client()
                .await
                .list_customer_badges(authed((DEMO_USERNAME, DEMO_SECRET), r))
                .await
                .unwrap()
                .into_inner();
            let ids: Vec<_> = resp
                .customer_badges
                .iter()
                .map(|b| b.badge_meta_id.as_str())
                .collect();
            assert_eq!(
                ids,
                ["67eb9e2d6666db076c3c7556", "666638f0ae20cb256ec13e23"],
                "{backend:?} {kind:?}"
            );
            let earned = &resp.customer_badges[1];
            assert_eq!(earned.name, "demoBadgeName001");
            assert_eq!(earned.earn_count, 2);
            assert_eq!(earned.badge_status, BadgeStatus::Live as i32);
            assert_eq!(
                earned.last_earned_on,
                Some(Timestamp {
                    seconds: 1718083872,
                    nanos: 611_000_000
                })
            );
            assert_eq!(resp.customer_badges[0].badge_rank, Some(3));
        }

        // The upstream example: UPCOMING badges available to earn.
        let r = ListCustomerBadgesRequest {
            customer_id: DEMO_CUSTOMER_ID.to_string(),
            badge_type: vec![BadgeType::Available as i32],
            badge_status: vec![BadgeStatus::Upcoming as i32],
            size: Some(50),
            ..Default::default()
        };
        let resp = server
            .client()
            .await
            .list_customer_badges(authed((DEMO_USERNAME, DEMO_SECRET), r))
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<_> = resp
            .customer_badges
            .iter()
            .map(|b| b.badge_meta_id.as_str())
            .collect();
        assert_eq!(ids, ["6673b08c39c6a546eb054726"], "{backend:?}");
        server
    })
    .await;
}

#[tokio::test]
async fn demo_loading_is_all_or_nothing_and_safe_to_race() {
    on_each_backend(JUNE_2024, |backend, server| async move {
        // A client named like the demo one, in another org, makes loading
        // fail half-way (after the org, before the customer and badges).
        let other = server
            .store
            .insert_org(NewOrg {
                name: "other".into(),
                created_at: JUNE_2024,
            })
            .await
            .unwrap();
        server
            .store
            .insert_api_client(NewApiClient {
                org_id: other,
                username: DEMO_USERNAME.into(),
                secret_hash: "unused".into(),
                can_read: true,
                can_write: false,
                created_at: JUNE_2024,
            })
            .await
            .unwrap();
        assert!(demo::load(&server.store, JUNE_2024).await.is_err());
        assert_eq!(
            server.store.find_org_by_name(demo::DEMO_ORG).await.unwrap(),
            None,
            "{backend:?}: the failed load left its org behind"
        );
        server
    })
    .await;

    // Two loads at once: both succeed, and the demo data is whole.
    on_each_backend(JUNE_2024, |backend, server| async move {
        let (a, b) = tokio::join!(
            demo::load(&server.store, JUNE_2024),
            demo::load(&server.store, JUNE_2024)
        );
        a.unwrap();
        b.unwrap();
        let earned = server
            .client()
            .await
            .list_customer_badges(authed(
                (DEMO_USERNAME, DEMO_SECRET),
                ListCustomerBadgesRequest {
                    customer_id: DEMO_CUSTOMER_ID.to_string(),
                    badge_type: vec![BadgeType::Earned as i32],
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .customer_badges
            .len();
        assert_eq!(earned, 2, "{backend:?}");
        server
    })
    .await;
}

/// The demo org's catalogue reads back through get and list with upstream's
/// fields filled: its group with its rank, its custom field, a badge's tags
/// and custom field value, and counts that match the demo's awards.
#[tokio::test]
async fn the_demo_catalogue_reads_back_with_upstreams_fields() {
    use crate::common::fixture::basic;
    use crate::common::openapi::Checked;
    on_each_backend(JUNE_2024, |backend, server| async move {
        demo::load(&server.store, JUNE_2024).await.unwrap();
        let base = format!("http://{}/api_gateway/v1/badges", server.addr);
        let http = reqwest::Client::new();
        let get = async |path: &str| -> serde_json::Value {
            let r = http
                .get(format!("{base}{path}"))
                .header("authorization", basic((DEMO_USERNAME, DEMO_SECRET)))
                .checked()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
            r.json::<serde_json::Value>().await.unwrap()["data"].clone()
        };
        let badge = get("/badgeMeta/666638f0ae20cb256ec13e23?includeStatistics=true").await;
        assert_eq!(badge["name"], "demoBadgeName001", "{backend:?}");
        assert_eq!(
            badge["tags"],
            serde_json::json!([{"name": "campaign", "value": "fixed-window"}])
        );
        assert_eq!(badge["customFields"], serde_json::json!({"tier": "gold"}));
        assert_eq!(
            (&badge["earnedCount"], &badge["issuedCount"]),
            (&serde_json::json!(2), &serde_json::json!(0))
        );
        let groups = get("/group").await;
        assert_eq!(groups["badgeGroups"][0]["name"], "2024 Badges");
        assert_eq!(groups["badgeGroups"][0]["rank"], 1);
        let fields = get("/customField").await;
        assert_eq!(fields["customFieldROList"][0]["name"], "tier");
        let list = get("/badgeMeta?size=50&sortOn=NAME&order=ASC").await;
        let rows = list["metaBasicDetails"].as_array().unwrap();
        assert_eq!(
            rows.len() as u64,
            list["pagination"]["total"].as_u64().unwrap()
        );
        let grouped = rows
            .iter()
            .find(|r| r["badgeGroupId"] == demo::DEMO_GROUP_ID)
            .unwrap();
        assert_eq!(grouped["badgeGroupName"], "2024 Badges");
        let earned: i64 = rows
            .iter()
            .map(|r| r["earnedCount"].as_i64().unwrap())
            .sum();
        assert_eq!(earned, 3, "the demo's three awards");
        server
    })
    .await;
}
