//! Every statement of the list and detail calls can be served by an index: with
//! sequential scans priced out (`enable_seqscan = off`), no plan on PostgreSQL
//! still contains one. (On a small table the planner may rightly prefer a
//! sequential scan; this checks that an index exists for each.) The
//! statements: the customer's state, by every kind of identifier, of every
//! badge (list: the state row, or the rows when it is stale or missing) and
//! of one with and without its history (detail), and the
//! loading of an org's catalogue.

use badges::auth::Principal;
use badges::domain::list::CustomerRef;
use badges::store::{Dialect, Scope, catalogue_statements, customer_state_statement};
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
    let caller = Principal {
        org_id: world.org_a,
        client_id: 1,
        generation: 1,
        can_read: true,
        can_write: false,
    };
    let mut statements: Vec<Statement> = [
        CustomerRef::Id(CUSTOMER),
        CustomerRef::Email(EMAIL.to_lowercase()),
        CustomerRef::Mobile(MOBILE.into()),
        CustomerRef::ExternalId(EXTERNAL_ID.into()),
        CustomerRef::CardNumber(CARD_NUMBER.into()),
    ]
    .iter()
    .flat_map(|c| {
        [
            Scope::Kept,
            Scope::All,
            Scope::Badge {
                id: B4,
                history: false,
            },
            Scope::Badge {
                id: B4,
                history: true,
            },
        ]
        .map(|scope| customer_state_statement(Dialect::Postgres, &caller, c, scope))
    })
    .collect();
    statements.extend(catalogue_statements(Dialect::Postgres, world.org_a));
    let mut checked = 0;
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
    eprintln!("{checked} statements planned without a sequential scan");
    server.stop().await.unwrap();
}
