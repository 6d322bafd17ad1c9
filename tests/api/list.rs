//! The list call over gRPC: which badges, filters, sorting, paging, rows.

use badges::proto::{
    Action, BadgeStatus, BadgeType, ComparisonOperator, CustomerBadge, CustomerIdentifierType,
    IssueStatus, ListCustomerBadgesRequest, ListCustomerBadgesResponse, Owner, SortOn, SortOrder,
};
use prost_types::Timestamp;

use crate::common::fixture::*;
use crate::common::openapi::Checked;
use crate::common::{TestServer, on_each_backend};

fn req() -> ListCustomerBadgesRequest {
    ListCustomerBadgesRequest {
        customer_id: CUSTOMER.to_string(),
        ..Default::default()
    }
}

/// Every badge of org A: the union of the four lists.
fn all_types() -> ListCustomerBadgesRequest {
    ListCustomerBadgesRequest {
        badge_type: vec![
            BadgeType::AvailableToIssue as i32,
            BadgeType::Available as i32,
            BadgeType::Earned as i32,
            BadgeType::Expired as i32,
        ],
        size: Some(100),
        ..req()
    }
}

fn ids(r: &ListCustomerBadgesResponse) -> Vec<&str> {
    r.customer_badges
        .iter()
        .map(|b| b.badge_meta_id.as_str())
        .collect()
}

async fn list(server: &TestServer, r: ListCustomerBadgesRequest) -> ListCustomerBadgesResponse {
    server
        .client()
        .await
        .list_customer_badges(authed(READER, r))
        .await
        .unwrap_or_else(|s| panic!("list failed: {s:?}"))
        .into_inner()
}

fn ts(m: badges::domain::Micros) -> Timestamp {
    let (seconds, nanos) = m.seconds_nanos();
    Timestamp {
        seconds,
        nanos: nanos as i32,
    }
}

#[tokio::test]
async fn each_badge_type_lists_its_badges() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let cases = [
            (None, vec![B5, B6]),
            (Some(BadgeType::AvailableToIssue), vec![B5, B6]),
            (Some(BadgeType::Available), vec![B2, B7, B8, B3]),
            (Some(BadgeType::Earned), vec![B4, B1]),
            (Some(BadgeType::Expired), vec![B5, B3]),
        ];
        for (badge_type, expected) in cases {
            let r = ListCustomerBadgesRequest {
                badge_type: badge_type.map(|t| vec![t as i32]).unwrap_or_default(),
                ..req()
            };
            let resp = list(&server, r).await;
            assert_eq!(ids(&resp), expected, "{backend:?} {badge_type:?}");
            let p = resp.pagination.unwrap();
            assert_eq!(
                (p.total, p.size as usize),
                (expected.len() as i64, expected.len())
            );
        }
        // Several types mean any of them; a badge in two lists appears once.
        let resp = list(
            &server,
            ListCustomerBadgesRequest {
                badge_type: vec![BadgeType::Earned as i32, BadgeType::Expired as i32],
                ..req()
            },
        )
        .await;
        assert_eq!(ids(&resp), vec![B5, B4, B1, B3], "{backend:?}");
        assert_eq!(ids(&list(&server, all_types()).await).len(), 8);
        server
    })
    .await;
}

#[tokio::test]
async fn rows_carry_the_customers_state() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let resp = list(&server, all_types()).await;
        let row = |id: &str| -> &CustomerBadge {
            resp.customer_badges
                .iter()
                .find(|b| b.badge_meta_id == id)
                .unwrap()
        };

        let b1 = row(B1);
        assert_eq!(b1.name, "Gold Star", "{backend:?}");
        assert_eq!(b1.description, "Gold Star description");
        assert_eq!(b1.badge_type, badges::proto::EarnType::Earn as i32);
        assert_eq!(b1.badge_group_id.as_deref(), Some(G1));
        assert_eq!(b1.badge_group_name.as_deref(), Some("Group One"));
        assert_eq!(b1.badge_rank, Some(1));
        assert_eq!(b1.badge_status, BadgeStatus::Live as i32);
        // Two awards count; the revoked one neither counts nor is the latest.
        assert_eq!(b1.earn_count, 2);
        assert_eq!(b1.last_earned_on, Some(ts(at(-2 * DAY))));
        assert_eq!(b1.last_earned_on_date, Some(ts(at(-2 * DAY))));
        assert_eq!(b1.last_earn_event_date, Some(ts(at(-3 * DAY))));
        assert_eq!(b1.issue_status, None);
        assert!(b1.active);
        assert_eq!(b1.created_on, Some(ts(at(-30 * DAY))));
        assert_eq!(b1.last_updated_on, Some(ts(at(-9 * DAY))));
        assert_eq!(b1.starts_on, Some(ts(at(-10 * DAY))));
        assert_eq!(b1.expires_on, Some(ts(at(10 * DAY))));
        let images: Vec<_> = b1
            .images
            .iter()
            .map(|i| (i.name.as_str(), i.tag.as_str()))
            .collect();
        assert_eq!(images, [("gold", "EARNED"), ("grey", "UN_EARNED")]);
        assert_eq!(b1.images[0].file_svc_handle, "h-1");
        assert_eq!(b1.images[0].url, "https://img/1");
        let own = b1.ownership.as_ref().unwrap();
        assert_eq!(own.restricted_to_owners, [Owner::Loyalty as i32]);
        assert_eq!(own.claims.len(), 1);
        assert_eq!(own.claims[0].reference_id, "L1");
        assert!(own.claims[0].is_active);

        let b2 = row(B2);
        assert_eq!(b2.badge_status, BadgeStatus::Upcoming as i32);
        assert!(!b2.active);
        assert_eq!(b2.earn_count, 0);
        assert_eq!(b2.last_earned_on, None);
        assert_eq!(b2.last_earned_on_date, None);
        assert_eq!(b2.badge_group_id, None);
        assert_eq!(b2.badge_rank, None);
        assert!(b2.images.is_empty());
        // Owners keep creation order; inactive claims are listed too.
        let own = b2.ownership.as_ref().unwrap();
        assert_eq!(
            own.restricted_to_owners,
            [Owner::Journeys as i32, Owner::Loyalty as i32]
        );
        assert!(!own.claims[0].is_active);

        assert_eq!(row(B3).badge_status, BadgeStatus::Expired as i32);
        assert_eq!(row(B3).earn_count, 1, "expired awards still count");
        assert_eq!(row(B4).issue_status, Some(IssueStatus::Live as i32));
        assert_eq!(row(B5).issue_status, Some(IssueStatus::Revoked as i32));
        assert_eq!(row(B6).issue_status, Some(IssueStatus::Expired as i32));
        assert_eq!(row(B6).earn_count, 0);
        server
    })
    .await;
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let base = || ListCustomerBadgesRequest {
            sort_on: SortOn::LastModifiedDate as i32,
            order: SortOrder::Asc as i32,
            ..all_types()
        };
        let cases: Vec<(&str, ListCustomerBadgesRequest, Vec<&str>)> = vec![
            (
                "name substring, any case",
                ListCustomerBadgesRequest {
                    name: Some("TWIN".into()),
                    ..base()
                },
                vec![B7, B8],
            ),
            (
                "name wildcard is literal",
                ListCustomerBadgesRequest {
                    name: Some("%".into()),
                    ..base()
                },
                vec![B2],
            ),
            (
                "name underscore is literal",
                ListCustomerBadgesRequest {
                    name: Some("0%_c".into()),
                    ..base()
                },
                vec![B2],
            ),
            (
                "deactivated",
                ListCustomerBadgesRequest {
                    action: vec![Action::Deactivated as i32],
                    ..base()
                },
                vec![B2, B6],
            ),
            (
                "activated",
                ListCustomerBadgesRequest {
                    action: vec![Action::Activated as i32],
                    ..base()
                },
                vec![B1, B3, B4, B5, B7, B8],
            ),
            (
                "upcoming",
                ListCustomerBadgesRequest {
                    badge_status: vec![BadgeStatus::Upcoming as i32],
                    ..base()
                },
                vec![B2, B6],
            ),
            (
                "live",
                ListCustomerBadgesRequest {
                    badge_status: vec![BadgeStatus::Live as i32],
                    ..base()
                },
                vec![B1, B4, B5, B7, B8],
            ),
            (
                "expired",
                ListCustomerBadgesRequest {
                    badge_status: vec![BadgeStatus::Expired as i32],
                    ..base()
                },
                vec![B3],
            ),
            (
                "live or upcoming",
                ListCustomerBadgesRequest {
                    badge_status: vec![BadgeStatus::Live as i32, BadgeStatus::Upcoming as i32],
                    ..base()
                },
                vec![B1, B2, B4, B5, B6, B7, B8],
            ),
            (
                "owner",
                ListCustomerBadgesRequest {
                    owner: vec![Owner::Loyalty as i32],
                    ..base()
                },
                vec![B1, B2, B4],
            ),
            (
                "owners",
                ListCustomerBadgesRequest {
                    owner: vec![Owner::Milestones as i32, Owner::Journeys as i32],
                    ..base()
                },
                vec![B2, B4, B5],
            ),
            (
                "claimed by, active claims only",
                ListCustomerBadgesRequest {
                    claimed_by: vec![Owner::Journeys as i32],
                    ..base()
                },
                vec![],
            ),
            (
                "claimed by",
                ListCustomerBadgesRequest {
                    claimed_by: vec![Owner::Milestones as i32, Owner::Loyalty as i32],
                    ..base()
                },
                vec![B1, B4],
            ),
            (
                "starts after (default operator)",
                ListCustomerBadgesRequest {
                    start_on: Some(ts(NOW)),
                    ..base()
                },
                vec![B2, B6],
            ),
            (
                "starts before",
                ListCustomerBadgesRequest {
                    start_on: Some(ts(NOW)),
                    start_on_operator: ComparisonOperator::LessThan as i32,
                    ..base()
                },
                vec![B1, B3, B4, B5, B7, B8],
            ),
            (
                "expires before (default operator), strictly",
                ListCustomerBadgesRequest {
                    expires_on: Some(ts(at(10 * DAY))),
                    ..base()
                },
                vec![B3, B6],
            ),
            (
                "expires after",
                ListCustomerBadgesRequest {
                    expires_on: Some(ts(at(10 * DAY))),
                    expires_on_operator: ComparisonOperator::GreaterThan as i32,
                    ..base()
                },
                vec![B2, B4, B5],
            ),
            (
                "group",
                ListCustomerBadgesRequest {
                    group_id: Some(G1.into()),
                    ..base()
                },
                vec![B1, B4],
            ),
            (
                "unknown group",
                ListCustomerBadgesRequest {
                    group_id: Some(UNKNOWN_GROUP.into()),
                    ..base()
                },
                vec![],
            ),
            (
                "filters combine",
                ListCustomerBadgesRequest {
                    owner: vec![Owner::Loyalty as i32],
                    badge_status: vec![BadgeStatus::Live as i32],
                    action: vec![Action::Activated as i32],
                    ..base()
                },
                vec![B1, B4],
            ),
        ];
        for (what, r, expected) in cases {
            let resp = list(&server, r).await;
            assert_eq!(ids(&resp), expected, "{backend:?}: {what}");
            assert_eq!(
                resp.pagination.unwrap().total,
                expected.len() as i64,
                "{backend:?}: {what}"
            );
        }
        server
    })
    .await;
}

#[tokio::test]
async fn every_sort_key_orders_with_nulls_last_and_ties_by_id() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let cases = [
            (
                SortOn::Unspecified,
                SortOrder::Unspecified,
                vec![B5, B4, B2, B1, B7, B8, B6, B3],
            ),
            (
                SortOn::ExpiresOn,
                SortOrder::Asc,
                vec![B3, B6, B1, B7, B8, B2, B4, B5],
            ),
            (
                SortOn::LastModifiedDate,
                SortOrder::Desc,
                vec![B7, B8, B6, B5, B4, B3, B2, B1],
            ),
            (
                SortOn::LastModifiedDate,
                SortOrder::Asc,
                vec![B1, B2, B3, B4, B5, B6, B7, B8],
            ),
            (
                SortOn::LastIssuedDate,
                SortOrder::Desc,
                vec![B5, B6, B4, B1, B2, B3, B7, B8],
            ),
            (
                SortOn::LastIssuedDate,
                SortOrder::Asc,
                vec![B4, B6, B5, B1, B2, B3, B7, B8],
            ),
            (
                SortOn::LastEarnedOnDate,
                SortOrder::Desc,
                vec![B5, B4, B1, B3, B2, B6, B7, B8],
            ),
            (
                SortOn::LastEarnedOnDate,
                SortOrder::Asc,
                vec![B3, B1, B4, B5, B2, B6, B7, B8],
            ),
            (
                SortOn::LastEarnedEventDate,
                SortOrder::Desc,
                vec![B5, B1, B4, B3, B2, B6, B7, B8],
            ),
            (
                SortOn::LastEarnedEventDate,
                SortOrder::Asc,
                vec![B3, B4, B1, B5, B2, B6, B7, B8],
            ),
            (
                SortOn::LastExpiredBadge,
                SortOrder::Desc,
                vec![B4, B2, B1, B7, B8, B6, B5, B3],
            ),
            (
                SortOn::LastExpiredBadge,
                SortOrder::Asc,
                vec![B3, B5, B6, B1, B7, B8, B2, B4],
            ),
        ];
        for (sort_on, order, expected) in cases {
            let r = ListCustomerBadgesRequest {
                sort_on: sort_on as i32,
                order: order as i32,
                ..all_types()
            };
            assert_eq!(
                ids(&list(&server, r).await),
                expected,
                "{backend:?} {sort_on:?} {order:?}"
            );
        }
        server
    })
    .await;
}

#[tokio::test]
async fn pages_cover_every_row_exactly_once() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        for sort_on in [
            SortOn::ExpiresOn,
            SortOn::LastIssuedDate,
            SortOn::LastEarnedOnDate,
        ] {
            let whole = ids(&list(
                &server,
                ListCustomerBadgesRequest {
                    sort_on: sort_on as i32,
                    ..all_types()
                },
            )
            .await)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
            for size in [1, 3] {
                let mut seen = Vec::new();
                let mut page = 0;
                loop {
                    let resp = list(
                        &server,
                        ListCustomerBadgesRequest {
                            sort_on: sort_on as i32,
                            page: Some(page),
                            size: Some(size),
                            ..all_types()
                        },
                    )
                    .await;
                    let p = resp.pagination.unwrap();
                    assert_eq!(p.page, page);
                    assert_eq!(p.total, 8, "{backend:?}");
                    assert_eq!(p.total_pages, (8 + i64::from(size) - 1) / i64::from(size));
                    assert_eq!(p.size as usize, resp.customer_badges.len());
                    if resp.customer_badges.is_empty() {
                        assert_eq!(
                            i64::from(page),
                            p.total_pages,
                            "the first empty page is just past the end"
                        );
                        break;
                    }
                    seen.extend(ids(&resp).into_iter().map(str::to_owned));
                    page += 1;
                }
                assert_eq!(seen, whole, "{backend:?} {sort_on:?} size {size}");
            }
        }
        // Far past the end: empty, same total.
        let resp = list(
            &server,
            ListCustomerBadgesRequest {
                page: Some(50),
                size: Some(100),
                ..all_types()
            },
        )
        .await;
        assert!(resp.customer_badges.is_empty());
        let p = resp.pagination.unwrap();
        assert_eq!((p.page, p.size, p.total, p.total_pages), (50, 0, 8, 1));
        // Nothing matching: zero pages.
        let resp = list(
            &server,
            ListCustomerBadgesRequest {
                group_id: Some(UNKNOWN_GROUP.into()),
                ..all_types()
            },
        )
        .await;
        let p = resp.pagination.unwrap();
        assert_eq!((p.size, p.total, p.total_pages), (0, 0, 0));
        // Default size is 10; 100 is allowed.
        let resp = list(
            &server,
            ListCustomerBadgesRequest {
                size: None,
                ..all_types()
            },
        )
        .await;
        assert_eq!(resp.pagination.unwrap().total_pages, 1);
        server
    })
    .await;
}

#[tokio::test]
async fn the_customer_is_found_by_every_identifier() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let earned = || ListCustomerBadgesRequest {
            badge_type: vec![BadgeType::Earned as i32],
            ..req()
        };
        let cases = [
            (CustomerIdentifierType::Unspecified, CUSTOMER.to_string()),
            (CustomerIdentifierType::Email, EMAIL.to_owned()),
            (CustomerIdentifierType::Email, EMAIL.to_uppercase()),
            (CustomerIdentifierType::Mobile, MOBILE.to_owned()),
            (CustomerIdentifierType::ExternalId, EXTERNAL_ID.to_owned()),
            (CustomerIdentifierType::CardNumber, CARD_NUMBER.to_owned()),
        ];
        for (kind, value) in cases {
            let r = ListCustomerBadgesRequest {
                customer_id: value.clone(),
                identifier_type: kind as i32,
                ..earned()
            };
            assert_eq!(
                ids(&list(&server, r).await),
                vec![B4, B1],
                "{backend:?} {kind:?} {value}"
            );
        }
        server
    })
    .await;
}

#[tokio::test]
async fn orgs_never_see_each_other() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        // Same customer id, identifiers and badge name in both orgs: each
        // org's client sees only its own badges.
        for kind in [
            CustomerIdentifierType::Unspecified,
            CustomerIdentifierType::Email,
        ] {
            let value = if kind == CustomerIdentifierType::Email {
                EMAIL.to_owned()
            } else {
                CUSTOMER.to_string()
            };
            let r = ListCustomerBadgesRequest {
                customer_id: value,
                identifier_type: kind as i32,
                ..all_types()
            };
            let b = server
                .client()
                .await
                .list_customer_badges(authed(READER_B, r.clone()))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(ids(&b), vec![OTHER_ORG_BADGE], "{backend:?}");
            let a = list(&server, r).await;
            assert!(!ids(&a).contains(&OTHER_ORG_BADGE), "{backend:?}");
        }
        // Another org's customer is exactly as absent as a missing one.
        let missing = server
            .client()
            .await
            .list_customer_badges(authed(
                READER,
                ListCustomerBadgesRequest {
                    customer_id: "999999".into(),
                    ..req()
                },
            ))
            .await
            .unwrap_err();
        let foreign = server
            .client()
            .await
            .list_customer_badges(authed(
                READER,
                ListCustomerBadgesRequest {
                    customer_id: ORG_B_ONLY_CUSTOMER.to_string(),
                    ..req()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), tonic::Code::NotFound);
        assert_eq!(foreign.code(), missing.code());
        assert_eq!(foreign.message(), missing.message());
        assert_eq!(foreign.details(), missing.details());
        server
    })
    .await;
}

#[tokio::test]
async fn keyset_pages_walk_every_sort_in_both_orders() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let sorts = [
            SortOn::ExpiresOn,
            SortOn::LastModifiedDate,
            SortOn::LastIssuedDate,
            SortOn::LastExpiredBadge,
            SortOn::LastEarnedEventDate,
            SortOn::LastEarnedOnDate,
        ];
        for sort_on in sorts {
            for order in [SortOrder::Desc, SortOrder::Asc] {
                let base = ListCustomerBadgesRequest {
                    sort_on: sort_on as i32,
                    order: order as i32,
                    ..all_types()
                };
                let whole: Vec<String> = ids(&list(&server, base.clone()).await)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                for size in [1, 3] {
                    let mut token = String::new();
                    let mut seen = Vec::new();
                    for expected_page in 0.. {
                        let r = ListCustomerBadgesRequest {
                            size: Some(size),
                            page_token: Some(token.clone()),
                            ..base.clone()
                        };
                        let resp = list(&server, r).await;
                        let p = resp.pagination.as_ref().unwrap();
                        assert_eq!(
                            (p.page, p.total),
                            (expected_page, 8),
                            "{backend:?} {sort_on:?} {order:?}"
                        );
                        seen.extend(ids(&resp).into_iter().map(str::to_owned));
                        match resp.next_page_token {
                            Some(next) => token = next,
                            None => break,
                        }
                        assert!(expected_page < 10, "the walk ends");
                    }
                    assert_eq!(seen, whole, "{backend:?} {sort_on:?} {order:?} size {size}");
                }
            }
        }

        // A token only fits its own query; page and pageToken exclude each other.
        let first = list(
            &server,
            ListCustomerBadgesRequest {
                size: Some(2),
                page_token: Some(String::new()),
                ..all_types()
            },
        )
        .await;
        let token = first.next_page_token.unwrap();
        let mut client = server.client().await;
        for (what, r) in [
            (
                "other filter",
                ListCustomerBadgesRequest {
                    size: Some(2),
                    page_token: Some(token.clone()),
                    owner: vec![Owner::Loyalty as i32],
                    ..all_types()
                },
            ),
            (
                "other size",
                ListCustomerBadgesRequest {
                    size: Some(3),
                    page_token: Some(token.clone()),
                    ..all_types()
                },
            ),
            (
                "with page",
                ListCustomerBadgesRequest {
                    size: Some(2),
                    page: Some(1),
                    page_token: Some(token.clone()),
                    ..all_types()
                },
            ),
            (
                "garbage",
                ListCustomerBadgesRequest {
                    size: Some(2),
                    page_token: Some("garbage".into()),
                    ..all_types()
                },
            ),
        ] {
            let s = client
                .list_customer_badges(authed(READER, r))
                .await
                .unwrap_err();
            assert_eq!(s.code(), tonic::Code::InvalidArgument, "{backend:?} {what}");
        }

        // Over REST too.
        let url = |q: &str| {
            format!(
                "http://{}/api_gateway/v1/badges/management/100?badgeType=EARNED,AVAILABLE&{q}",
                server.addr
            )
        };
        let http = reqwest::Client::new();
        let get = |u: String| {
            let http = http.clone();
            async move {
                http.get(u)
                    .header("authorization", basic(READER))
                    .checked()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            }
        };
        let mut walked = Vec::new();
        let mut body = get(url("size=2&pageToken=")).await;
        loop {
            walked.extend(
                body["data"]["customerBadges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b["badgeMetaId"].as_str().unwrap().to_owned()),
            );
            let Some(next) = body["data"]["pagination"]["nextPageToken"]
                .as_str()
                .map(str::to_owned)
            else {
                break;
            };
            body = get(url(&format!("size=2&pageToken={next}"))).await;
        }
        let offset = get(url("size=100")).await;
        let expected: Vec<String> = offset["data"]["customerBadges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["badgeMetaId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(walked, expected, "{backend:?}");
        server
    })
    .await;
}
