//! Every shape of the list call's statements can be served by an index: with
//! sequential scans priced out (`enable_seqscan = off`), no plan on PostgreSQL
//! still contains one. (On a small table the planner may rightly prefer a
//! sequential scan; this checks that an index exists for each shape.)

use badges::domain::cursor::Cursor;
use badges::domain::enums::{BadgeStatus, BadgeType, Operator, Owner, SortOn, SortOrder};
use badges::domain::list::{self, ListParams};
use badges::store::{count_statement, page_statement};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

use crate::common::fixture::*;
use crate::common::{Backend, TestServer, backends};

#[tokio::test]
async fn no_statement_needs_a_sequential_scan() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let server = TestServer::start(Backend::Postgres, NOW).await;
    let world = load(&server.store).await;
    let base = || ListParams {
        customer_id: CUSTOMER.to_string(),
        ..Default::default()
    };
    let mut shapes: Vec<ListParams> = Vec::new();
    for t in BadgeType::ALL {
        for s in SortOn::ALL {
            for o in SortOrder::ALL {
                shapes.push(ListParams {
                    badge_type: vec![*t],
                    sort_on: Some(*s),
                    order: Some(*o),
                    ..base()
                });
            }
        }
    }
    shapes.push(ListParams {
        name: Some("gold".into()),
        owner: vec![Owner::Loyalty],
        claimed_by: vec![Owner::Milestones],
        badge_status: vec![BadgeStatus::Live],
        start_on: Some(NOW),
        start_on_operator: Some(Operator::LessThan),
        expires_on: Some(NOW),
        group_id: Some(G1.into()),
        ..base()
    });
    let mut checked = 0;
    for params in shapes {
        let mut q = list::validate(params, vec![]).unwrap();
        let mut statements = vec![
            page_statement(DbBackend::Postgres, world.org_a, &q, NOW),
            count_statement(DbBackend::Postgres, world.org_a, &q, NOW),
        ];
        // The keyset shape of the same query.
        q.keyset = Some(badges::domain::cursor::Keyset::After(Cursor {
            page: 1,
            key: Some(NOW.0),
            id: B4.into(),
            query: q.fingerprint(),
        }));
        statements.push(page_statement(DbBackend::Postgres, world.org_a, &q, NOW));
        for statement in statements {
            let txn = server.store.connection().begin().await.unwrap();
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .unwrap();
            let explain = Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("EXPLAIN {}", statement.sql),
                statement.values.clone().map(|v| v.0).unwrap_or_default(),
            );
            let rows = txn.query_all_raw(explain).await.unwrap();
            let plan: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String>("", "QUERY PLAN").unwrap())
                .collect();
            txn.rollback().await.unwrap();
            assert!(
                !plan.iter().any(|l| l.contains("Seq Scan")),
                "a sequential scan remains:\n{}\n{}",
                statement.sql,
                plan.join("\n")
            );
            checked += 1;
        }
    }
    eprintln!("{checked} statement shapes planned without a sequential scan");
    server.stop().await.unwrap();
}
