//! Tenant isolation across every identifier type, transport and credential
//! kind: two orgs share a customer id, its email, mobile, external id and
//! card number, and a badge name; each sees only its own.

use badges::proto::{BadgeType, CustomerIdentifierType, ListCustomerBadgesRequest};
use serde_json::Value;
use tonic::metadata::MetadataValue;

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{oauth_token, on_each_backend};

const ALL: &str = "badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size=100";

#[tokio::test]
async fn each_org_sees_only_its_own_by_every_path() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let http = reqwest::Client::new();
        let base = format!("http://{}", server.addr);
        let token = |creds: (&'static str, &'static str)| {
            let (http, base) = (http.clone(), base.clone());
            async move { oauth_token(&http, &base, creds.0, creds.1).await }
        };
        let orgs = [
            (READER, vec![B1, B2, B3, B4, B5, B6, B7, B8]),
            (READER_B, vec![OTHER_ORG_BADGE]),
        ];
        let identifiers = [
            (
                None,
                CUSTOMER.to_string(),
                CustomerIdentifierType::Unspecified,
            ),
            (
                Some("email"),
                EMAIL.to_owned(),
                CustomerIdentifierType::Email,
            ),
            (
                Some("mobile"),
                MOBILE.to_owned(),
                CustomerIdentifierType::Mobile,
            ),
            (
                Some("externalId"),
                EXTERNAL_ID.to_owned(),
                CustomerIdentifierType::ExternalId,
            ),
            (
                Some("cardNumber"),
                CARD_NUMBER.to_owned(),
                CustomerIdentifierType::CardNumber,
            ),
        ];
        let mut checked = 0;
        for (creds, own) in &orgs {
            let t = token(*creds).await;
            let headers: Vec<(&str, String)> = vec![
                ("authorization", basic(*creds)),
                ("authorization", format!("Bearer {t}")),
                ("x-cap-api-oauth-token", t.clone()),
            ];
            for (name, value) in &headers {
                for (header, id, kind) in &identifiers {
                    // REST.
                    let mut req = http
                        .get(format!(
                            "{base}/api_gateway/v1/badges/management/{}?{ALL}",
                            urlencode(id)
                        ))
                        .header(*name, value.as_str());
                    if let Some(h) = header {
                        req = req.header("X-CAP-CUSTOMER-IDENTIFIER", *h);
                    }
                    let body: Value = req.checked().await.unwrap().json().await.unwrap();
                    let mut ids: Vec<String> = body["data"]["customerBadges"]
                        .as_array()
                        .unwrap_or_else(|| panic!("{backend:?} {name} {kind:?}: {body}"))
                        .iter()
                        .map(|b| b["badgeMetaId"].as_str().unwrap().to_owned())
                        .collect();
                    ids.sort();
                    assert_eq!(ids, *own, "{backend:?} REST {name} {kind:?}");

                    // gRPC.
                    let mut r = tonic::Request::new(ListCustomerBadgesRequest {
                        customer_id: id.clone(),
                        identifier_type: *kind as i32,
                        badge_type: vec![
                            BadgeType::AvailableToIssue as i32,
                            BadgeType::Available as i32,
                            BadgeType::Earned as i32,
                            BadgeType::Expired as i32,
                        ],
                        size: Some(100),
                        ..Default::default()
                    });
                    r.metadata_mut()
                        .insert(*name, MetadataValue::try_from(value.as_str()).unwrap());
                    let page = server
                        .client()
                        .await
                        .list_customer_badges(r)
                        .await
                        .unwrap()
                        .into_inner();
                    let mut ids: Vec<String> = page
                        .customer_badges
                        .into_iter()
                        .map(|b| b.badge_meta_id)
                        .collect();
                    ids.sort();
                    assert_eq!(ids, *own, "{backend:?} gRPC {name} {kind:?}");
                    checked += 2;
                }
            }
        }
        assert_eq!(checked, 60);
        server
    })
    .await;
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
