//! One page costs a fixed number of SQL statements, whatever its size: no
//! query per row. Counted over a real call through the server, credential
//! check included: a page with rows costs three (the client row's
//! generation, the page, which finds the customer and carries the total, and
//! the images, owners and claims of its rows); a page past the end also a
//! count; a client's first call also reads its row.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use badges::limits::Limits;
use badges::server::ServeOptions;
use badges::store::{PoolSettings, Store};

use crate::common::fixture::*;
use crate::common::{TestDb, TestServer, backends};

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
            .unwrap();
        load(&store).await;
        // The readiness probe's ping is not part of a call.
        let store = store.observe_statements(move |sql| {
            if sql != "SELECT 1" {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        let server =
            TestServer::serve(store, db, NOW, Limits::DEFAULT, ServeOptions::DEFAULT).await;
        let http = reqwest::Client::new();
        let mut costs = Vec::new();
        // The first call also reads the client's row, then cached.
        for (size, page) in [(1, 0), (1, 0), (3, 1), (8, 0), (100, 0), (2, 50)] {
            let before = count.load(Ordering::Relaxed);
            let answer: serde_json::Value = http
                .get(format!(
                    "http://{}/api_gateway/v1/badges/management/{CUSTOMER}\
                     ?badgeType=AVAILABLE_TO_ISSUE,AVAILABLE,EARNED,EXPIRED&size={size}&page={page}",
                    server.addr
                ))
                .header("authorization", basic(READER))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let rows = answer["data"]["customerBadges"].as_array().unwrap().len();
            let cost = count.load(Ordering::Relaxed) - before;
            costs.push((size, page, rows, cost));
            assert!(
                cost <= 4,
                "{backend:?}: size {size} page {page} cost {cost} statements"
            );
        }
        eprintln!("{backend:?}: (size, page, rows, statements) = {costs:?}");
        assert_eq!(costs[0].3, 4, "{backend:?}: a cold client: {costs:?}");
        // A full page of 8, a page of 1 and a short last page cost the same:
        // nothing per row, and no count while the page can tell the total.
        assert_eq!(costs[1].3, 3, "{backend:?}: {costs:?}");
        assert_eq!(costs[3].3, 3, "{backend:?}: {costs:?}");
        assert_eq!(costs[4].3, 3, "{backend:?}: {costs:?}");
        assert_eq!(costs[5].3, 4, "{backend:?}: {costs:?}");
        server.stop().await.unwrap();
    }
}
