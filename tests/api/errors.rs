//! Every error of BEHAVIOUR.md §2.6 over gRPC, with its google.rpc details.

use badges::proto::{BadgeType, CustomerIdentifierType, ListCustomerBadgesRequest};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

use crate::common::fixture::*;
use crate::common::{TestServer, on_each_backend};

fn req() -> ListCustomerBadgesRequest {
    ListCustomerBadgesRequest {
        customer_id: CUSTOMER.to_string(),
        ..Default::default()
    }
}

async fn call(server: &TestServer, r: Request<ListCustomerBadgesRequest>) -> Status {
    server
        .client()
        .await
        .list_customer_badges(r)
        .await
        .expect_err("the call should fail")
}

/// `(field, reason)` of every BadRequest violation, and ErrorInfo's code.
fn details(s: &Status) -> (Vec<(String, String)>, Option<String>) {
    let d = s.get_error_details();
    let violations = d
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.reason.clone()))
                .collect()
        })
        .unwrap_or_default();
    (
        violations,
        d.error_info().and_then(|i| i.metadata.get("code").cloned()),
    )
}

#[tokio::test]
async fn credentials_are_required_and_checked() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let cases = [
            ("no credentials", None),
            ("unknown user", Some(basic(("nobody", "x")))),
            ("wrong secret", Some(basic((READER.0, "wrong")))),
            ("not basic", Some("Bearer abc".to_owned())),
            ("malformed", Some("Basic %%%".to_owned())),
        ];
        for (what, header) in cases {
            let mut r = Request::new(req());
            if let Some(h) = header {
                r.metadata_mut().insert("authorization", h.parse().unwrap());
            }
            let s = call(&server, r).await;
            assert_eq!(s.code(), Code::Unauthenticated, "{backend:?}: {what}");
            assert_eq!(details(&s).1.as_deref(), Some("401"), "{what}");
        }
        // A client without the read right.
        let s = call(&server, authed(WRITER_ONLY, req())).await;
        assert_eq!(s.code(), Code::PermissionDenied, "{backend:?}");
        assert_eq!(details(&s).1.as_deref(), Some("403"));
        server
    })
    .await;
}

#[tokio::test]
async fn bad_parameters_are_all_reported_together() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        let r = ListCustomerBadgesRequest {
            page: Some(-1),
            size: Some(101),
            badge_type: vec![BadgeType::Unspecified as i32, 42],
            sort_on: 99,
            start_on_operator: 1,
            group_id: Some("not-an-id".into()),
            name: Some("x".repeat(300)),
            ..req()
        };
        let s = call(&server, authed(READER, r)).await;
        assert_eq!(s.code(), Code::InvalidArgument, "{backend:?}");
        let (violations, code) = details(&s);
        let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "sortOn",
                "badgeType",
                "page",
                "size",
                "name",
                "startOnOperator",
                "groupId"
            ],
            "{backend:?}"
        );
        assert!(violations.iter().all(|(_, reason)| reason == "400"));
        assert_eq!(code.as_deref(), Some("400"));
        server
    })
    .await;
}

#[tokio::test]
async fn paging_limits_are_enforced() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        for (page, size, field) in [
            (0, 0, "size"),
            (0, 101, "size"),
            (-1, 10, "page"),
            (1001, 100, "page"),
            (i32::MAX, 100, "page"),
        ] {
            let s = call(
                &server,
                authed(
                    READER,
                    ListCustomerBadgesRequest {
                        page: Some(page),
                        size: Some(size),
                        ..req()
                    },
                ),
            )
            .await;
            assert_eq!(
                s.code(),
                Code::InvalidArgument,
                "{backend:?} page {page} size {size}"
            );
            assert_eq!(details(&s).0[0].0, field);
        }
        // The boundaries themselves are fine.
        for (page, size) in [(1000, 100), (0, 1), (0, 100)] {
            server
                .client()
                .await
                .list_customer_badges(authed(
                    READER,
                    ListCustomerBadgesRequest {
                        page: Some(page),
                        size: Some(size),
                        ..req()
                    },
                ))
                .await
                .unwrap_or_else(|s| panic!("{backend:?} page {page} size {size}: {s:?}"));
        }
        server
    })
    .await;
}

#[tokio::test]
async fn identifier_errors_and_missing_customers() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        // An unknown identifier type: 1028 on the header's name.
        let s = call(
            &server,
            authed(
                READER,
                ListCustomerBadgesRequest {
                    identifier_type: 17,
                    ..req()
                },
            ),
        )
        .await;
        assert_eq!(s.code(), Code::InvalidArgument, "{backend:?}");
        assert_eq!(
            details(&s),
            (
                vec![("X-CAP-CUSTOMER-IDENTIFIER".to_owned(), "1028".to_owned())],
                Some("1028".to_owned())
            )
        );
        assert_eq!(s.message(), "Invalid Customer Identifier type");

        // A non-numeric id without an identifier type.
        let s = call(
            &server,
            authed(
                READER,
                ListCustomerBadgesRequest {
                    customer_id: EMAIL.into(),
                    ..req()
                },
            ),
        )
        .await;
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(
            details(&s).0,
            vec![("customerId".to_owned(), "400".to_owned())]
        );

        // Missing customers, by every kind of identifier: 404 / 1026.
        for (kind, value) in [
            (CustomerIdentifierType::Unspecified, "424242"),
            (CustomerIdentifierType::Email, "nobody@example.com"),
            (CustomerIdentifierType::Mobile, "+10000000000"),
            (CustomerIdentifierType::ExternalId, "nope"),
            (CustomerIdentifierType::CardNumber, "nope"),
        ] {
            let r = ListCustomerBadgesRequest {
                customer_id: value.into(),
                identifier_type: kind as i32,
                ..req()
            };
            let s = call(&server, authed(READER, r)).await;
            assert_eq!(s.code(), Code::NotFound, "{backend:?} {kind:?}");
            assert_eq!(s.message(), "Customer with the specified ID is not found");
            let d = s.get_error_details();
            assert_eq!(
                d.error_info()
                    .unwrap()
                    .metadata
                    .get("code")
                    .map(String::as_str),
                Some("1026")
            );
            assert_eq!(d.resource_info().unwrap().description, "customerId");
        }
        server
    })
    .await;
}

#[tokio::test]
async fn a_database_that_is_gone_is_unavailable_not_internal() {
    on_each_backend(NOW, |backend, server| async move {
        load(&server.store).await;
        // Warm the credential memo, then take the pool away under the server.
        server
            .client()
            .await
            .list_customer_badges(authed(READER, req()))
            .await
            .unwrap();
        server.store.connection().close_by_ref().await.unwrap();
        let s = call(&server, authed(READER, req())).await;
        assert_eq!(s.code(), Code::Unavailable, "{backend:?}: {s:?}");
        assert_eq!(s.message(), "Service unavailable");
        assert_eq!(details(&s).1.as_deref(), Some("503"));
        server
    })
    .await;
}
