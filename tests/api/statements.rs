//! One page costs a fixed number of SQL statements, whatever its size: no
//! query per row. A page with rows costs three (credentials, the page, which
//! finds the customer and carries the total, and the images, owners and
//! claims of its rows); an empty page costs the customer lookup instead of
//! the details, and a page past the end a count as well.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use badges::auth::{Credentials, Secret, TokenKeys};
use badges::domain::FixedClock;
use badges::domain::enums::BadgeType;
use badges::domain::list::ListParams;
use badges::service::BadgeService;
use badges::store::{PoolSettings, Store};

use crate::common::fixture::*;
use crate::common::{TestDb, backends};

#[tokio::test]
async fn a_page_costs_at_most_four_statements_whatever_its_size() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        badges::store::migrate(&db.url, &PoolSettings::default())
            .await
            .unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let store = Store::connect(&db.url, &PoolSettings::default())
            .await
            .unwrap()
            .observe_statements(move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
            });
        load(&store).await;
        let service = BadgeService::new(
            store.clone(),
            Arc::new(FixedClock(NOW)),
            TokenKeys::random(60),
        );
        let creds = || {
            Some(Credentials::Basic {
                username: READER.0.into(),
                secret: Secret::new(READER.1),
            })
        };
        let all = vec![
            BadgeType::AvailableToIssue,
            BadgeType::Available,
            BadgeType::Earned,
            BadgeType::Expired,
        ];
        let mut costs = Vec::new();
        for (size, page) in [(1, 0), (3, 1), (8, 0), (100, 0), (2, 50)] {
            let params = ListParams {
                customer_id: CUSTOMER.to_string(),
                badge_type: all.clone(),
                size: Some(size),
                page: Some(page),
                ..Default::default()
            };
            let before = count.load(Ordering::Relaxed);
            let page_answer = service
                .list_customer_badges(creds(), params, vec![])
                .await
                .unwrap();
            let cost = count.load(Ordering::Relaxed) - before;
            costs.push((size, page, page_answer.rows.len(), cost));
            assert!(
                cost <= 4,
                "{backend:?}: size {size} page {page} cost {cost} statements"
            );
        }
        eprintln!("{backend:?}: (size, page, rows, statements) = {costs:?}");
        // A full page of 8, a page of 1 and a short last page cost the same:
        // nothing per row, and no count while the page can tell the total.
        assert_eq!(costs[0].3, 3, "{backend:?}: {costs:?}");
        assert_eq!(costs[2].3, 3, "{backend:?}: {costs:?}");
        assert_eq!(costs[3].3, 3, "{backend:?}: {costs:?}");
        assert_eq!(costs[4].3, 4, "{backend:?}: {costs:?}");
        store.close().await.unwrap();
        db.cleanup().await;
    }
}
