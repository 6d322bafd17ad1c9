//! Every statement the suite runs on a tenant's table names the org it is
//! for (README, "Keyed by org"): the schema can then be distributed by org
//! (Citus) unchanged, and no statement can reach another org's rows by
//! mistake. Every store the tests open reports its statements here (their
//! text, never values); a test database whose statements broke the rule
//! fails its test when it is dropped.
//!
//! The rule, checked on the parsed statement (sqlparser), not on its text:
//! each reference to a tenant table (in FROM, a JOIN, UPDATE, DELETE or
//! INSERT INTO, in the statement, its CTEs and subqueries) is matched by a
//! predicate on that table's `org_id` — an
//! equality, `= ANY`, or `IN`, alone or in a tuple — qualified by the
//! table's alias or name, or unqualified (each unqualified predicate matches
//! one reference); an INSERT names the org column among its columns. The
//! tables outside the rule are the global ones: the orgs themselves and
//! the API clients (a login names no org; both small, read by key, a
//! reference table on Citus), the event outbox and its relay's lease (one
//! queue for the whole service), and the migration ledger. A housekeeping statement that
//! works across every org by design (the expiry sweep, the retention of
//! idempotency keys) says so with the comment [`ACROSS_ORGS`] in its text.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, ObjectName, ObjectNamePart, Query, Statement, TableFactor,
    TableObject, Visit, Visitor,
};
use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use super::Backend;

use badges::store::ACROSS_ORGS;

/// Tenant tables: each keyed by, and filtered on, [`ORG`].
const TENANT: &[&str] = &[
    "customers",
    "customer_states",
    "badges",
    "badge_groups",
    "badge_images",
    "badge_owners",
    "badge_claims",
    "badge_counts",
    "custom_fields",
    "awards",
    "enrolments",
    "idempotency_keys",
    "catalogue_snapshots",
];

/// The org column of every tenant table.
const ORG: &str = "org_id";

/// Tables shared by every org.
const GLOBAL: &[&str] = &[
    "orgs",
    "api_clients",
    "outbox",
    "relay_lease",
    "seaql_migrations",
];

/// What a statement broke, if anything: `None` when it keeps the rule.
pub fn violation(backend: Backend, sql: &str) -> Option<String> {
    if sql.starts_with(ACROSS_ORGS) || sql.trim() == "SELECT 1" {
        return None;
    }
    // sqlparser reads `AS MATERIALIZED` (which SQLite also has) only in
    // its PostgreSQL dialect, so SQLite's statements are tried in it first,
    // with PostgreSQL's placeholders for SQLite's (no statement of the
    // service has a `?` in a literal).
    let parsed = match backend {
        Backend::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
        Backend::Sqlite => Parser::parse_sql(&PostgreSqlDialect {}, &sql.replace('?', "$1"))
            .or_else(|_| Parser::parse_sql(&SQLiteDialect {}, sql)),
    };
    let statements = match parsed {
        Ok(s) => s,
        Err(e) => return Some(format!("unparsed ({e})")),
    };
    let mut refs = Refs::default();
    for s in &statements {
        let _ = s.visit(&mut refs);
    }
    refs.unmatched()
}

/// A reference to a table: its name and the name it is known by.
struct TableRef {
    table: String,
    known_as: String,
    /// An INSERT that names the org column.
    inserted_with_org: bool,
}

#[derive(Default)]
struct Refs {
    tables: Vec<TableRef>,
    /// The names of common table expressions, which are not tables.
    ctes: BTreeSet<String>,
    /// Qualifiers of org predicates (`None`: unqualified), by column name.
    predicates: Vec<(Option<String>, String)>,
}

fn last(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(i)) => i.value.to_lowercase(),
        _ => String::new(),
    }
}

impl Refs {
    /// Notes `e` if it is a column reference (`col` or `q.col`).
    fn column(&mut self, e: &Expr) {
        match e {
            Expr::Identifier(Ident { value, .. }) => {
                self.predicates.push((None, value.to_lowercase()));
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let n = parts.len();
                self.predicates.push((
                    Some(parts[n - 2].value.to_lowercase()),
                    parts[n - 1].value.to_lowercase(),
                ));
            }
            Expr::Tuple(items) => items.iter().for_each(|i| self.column(i)),
            Expr::Nested(inner) => self.column(inner),
            _ => {}
        }
    }

    fn unmatched(mut self) -> Option<String> {
        let mut missing = Vec::new();
        for t in &self.tables {
            if GLOBAL.contains(&t.table.as_str())
                || t.inserted_with_org
                || self.ctes.contains(&t.table)
            {
                continue;
            }
            if !TENANT.contains(&t.table.as_str()) {
                // A CTE, a function or a table this check does not know:
                // unknown tables fail, so a new table must be classified.
                if t.table.starts_with("pg_") || t.table.starts_with("sqlite_") {
                    continue;
                }
                missing.push(format!("{} (not classified)", t.table));
                continue;
            }
            let qualified = self
                .predicates
                .iter()
                .any(|(q, c)| c == ORG && q.as_deref() == Some(&t.known_as));
            if qualified {
                continue;
            }
            match self
                .predicates
                .iter()
                .position(|(q, c)| c == ORG && q.is_none())
            {
                Some(i) => {
                    self.predicates.remove(i);
                }
                None => missing.push(format!("{} without {ORG}", t.known_as)),
            }
        }
        (!missing.is_empty()).then(|| missing.join(", "))
    }
}

impl Visitor for Refs {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, f: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = f {
            let table = last(name);
            let known_as = alias
                .as_ref()
                .map(|a| a.name.value.to_lowercase())
                .unwrap_or_else(|| table.clone());
            self.tables.push(TableRef {
                table,
                known_as,
                inserted_with_org: false,
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if let Statement::Insert(insert) = s
            && let TableObject::TableName(name) = &insert.table
        {
            let table = last(name);
            self.tables.push(TableRef {
                known_as: table.clone(),
                inserted_with_org: insert.columns.iter().any(|c| c.value == ORG),
                table,
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                self.column(left);
                self.column(right);
            }
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                ..
            } => self.column(left),
            Expr::InList { expr, negated, .. }
            | Expr::InSubquery { expr, negated, .. }
            | Expr::InUnnest {
                expr,
                negated,
                array_expr: _,
            } if !negated => self.column(expr),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The distinct statements one test database's stores ran, each with its
/// backend; checked when the database is dropped, so that parsing stays out
/// of the calls (a write holding SQLite's one writer would wait for it).
#[derive(Clone, Default)]
pub struct Checked(Arc<Mutex<[BTreeSet<String>; 2]>>);

impl Checked {
    /// An observer for [`badges::store::Store::observe_statements`].
    pub fn observer(&self, backend: Backend) -> impl Fn(&str) + Send + Sync + 'static {
        let seen = self.0.clone();
        let i = usize::from(backend == Backend::Postgres);
        move |sql: &str| {
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            if !seen[i].contains(sql) {
                seen[i].insert(sql.to_owned());
            }
        }
    }

    /// Panics with every statement that broke the rule (unless the thread
    /// is already panicking).
    pub fn assert_kept(&self) {
        if std::thread::panicking() {
            return;
        }
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        assert_none_broken(
            "of a test database",
            [Backend::Sqlite, Backend::Postgres]
                .into_iter()
                .zip(seen.iter())
                .flat_map(|(backend, sqls)| sqls.iter().map(move |sql| (backend, sql.as_str()))),
        );
    }
}

/// Panics with every statement in the log a `badges` process wrote
/// (`BADGES_STATEMENT_LOG`, one a line) that broke the rule (unless the
/// thread is already panicking; a missing log is an empty one). A line's
/// placeholders tell its backend.
pub fn assert_logged_kept(path: &std::path::Path) {
    if std::thread::panicking() {
        return;
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert_none_broken(
        "of a badges process",
        text.lines().map(|sql| {
            let backend = if sql.contains("$1") {
                Backend::Postgres
            } else {
                Backend::Sqlite
            };
            (backend, sql)
        }),
    );
}

/// Panics listing every one of `statements` (`whose`) that broke the rule.
fn assert_none_broken<'a>(whose: &str, statements: impl Iterator<Item = (Backend, &'a str)>) {
    let broken: Vec<String> = statements
        .filter_map(|(backend, sql)| violation(backend, sql).map(|why| format!("{why}: {sql}")))
        .collect();
    assert!(
        broken.is_empty(),
        "{} statement(s) {whose} on a tenant's table without its org:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_without_its_org_is_caught() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let bad = [
                "SELECT id FROM badges WHERE id = 'x'",
                "SELECT a.id FROM awards a JOIN badges b ON b.id = a.badge_id WHERE a.org_id = 1",
                "UPDATE badge_counts SET earned = earned + 1 WHERE badge_id = 'x'",
                "DELETE FROM badge_images WHERE badge_id = 'x'",
                "INSERT INTO badge_owners (badge_id, owner) VALUES ('x', 'y')",
                "SELECT org_id FROM awards WHERE id IN (SELECT id FROM enrolments WHERE org_id = 1) \
                 AND customer_id = 2",
                "SELECT x FROM a_table_nobody_classified WHERE org_id = 1",
            ];
            for sql in bad {
                assert!(violation(backend, sql).is_some(), "not caught: {sql}");
            }
            let good = [
                "SELECT id FROM badges WHERE org_id = 1 AND id = 'x'",
                "SELECT a.id FROM awards a JOIN badges b ON b.org_id = a.org_id AND b.id = a.badge_id \
                 WHERE a.org_id = 1",
                "INSERT INTO badge_owners (org_id, badge_id, owner) VALUES (1, 'x', 'y')",
                "SELECT name FROM orgs",
                "SELECT * FROM customer_states WHERE (org_id, customer_id) IN ((1, 2))",
                "SELECT holder FROM relay_lease WHERE id = 1",
                "/* across orgs */ DELETE FROM idempotency_keys WHERE created_at < 5",
            ];
            for sql in good {
                assert_eq!(violation(backend, sql), None, "{sql}");
            }
        }
    }
}
