//! The database references, run with `pgbench -M prepared`:
//! - the customer-state statement of goal P1 (issue 13), as the issue gives
//!   it: the customer's awards and enrolments, read by index, the statement a
//!   list call cannot avoid;
//! - the service's own statement of a list call, built by the service's own
//!   query code (`badges::store::customer_state_statement`): the same reads,
//!   plus the header row with the catalogue version and the client's
//!   generation.

use std::path::Path;
use std::process::Command;

use badges::auth::Principal;
use badges::domain::list::CustomerRef;
use badges::store::{Dialect, Scope, customer_state_statement};
use sea_orm::Statement;
use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder, Value};

/// A customer id no dataset holds: where the statement carries it, the script
/// puts the pgbench variable `:c` instead.
const PLACEHOLDER_CUSTOMER: i64 = 987_654_321_987;

/// The customers one script draws from, uniformly.
pub struct Customers {
    pub first: i64,
    pub last: i64,
}

fn draw(customers: &Customers) -> String {
    format!("\\set c random({}, {})\n", customers.first, customers.last)
}

/// Writes the script of goal P1's reference: the customer-state statement
/// exactly as issue 13 gives it, the customer drawn at random per transaction.
pub fn write_reference_script(
    path: &Path,
    org: i32,
    customers: &Customers,
) -> anyhow::Result<String> {
    let script = format!(
        "{}SELECT badge_id, awarded_at, event_at, expires_at, revoked FROM awards \
         WHERE org_id = {org} AND customer_id = :c \
         UNION ALL SELECT badge_id, issued_at, NULL, expires_at, revoked FROM enrolments \
         WHERE org_id = {org} AND customer_id = :c;\n",
        draw(customers)
    );
    std::fs::write(path, &script)?;
    Ok(script)
}

/// Writes the script of the service's own statement for one list call of
/// `caller`, with its values inlined except the customer.
pub fn write_service_script(
    path: &Path,
    caller: &Principal,
    customers: &Customers,
) -> anyhow::Result<String> {
    let statement = customer_state_statement(
        Dialect::Postgres,
        caller,
        &CustomerRef::Id(PLACEHOLDER_CUSTOMER),
        Scope::All,
    );
    let script = format!("{}{};\n", draw(customers), inline(&statement)?);
    std::fs::write(path, &script)?;
    Ok(script)
}

/// The statement's text with `$n` replaced by the value it binds.
fn inline(s: &Statement) -> anyhow::Result<String> {
    let values = s.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
    let mut out = String::with_capacity(s.sql.len() + 16 * values.len());
    let mut chars = s.sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' || !chars.peek().is_some_and(char::is_ascii_digit) {
            // pgbench reads a newline as the end of a statement.
            out.push(if c == '\n' { ' ' } else { c });
            continue;
        }
        let mut n = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        let value = values
            .get(n.wrapping_sub(1))
            .ok_or_else(|| anyhow::anyhow!("statement has no value ${n}"))?;
        match value {
            Value::BigInt(Some(PLACEHOLDER_CUSTOMER)) => out.push_str(":c"),
            v => out.push_str(&PostgresQueryBuilder.value_to_string(v)),
        }
    }
    Ok(out)
}

/// What pgbench reported.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PgbenchOutcome {
    pub clients: usize,
    pub seconds: u64,
    pub tps: f64,
    pub latency_avg_ms: f64,
}

/// Runs a script with `clients` connections for `seconds`.
pub fn run(
    database_url: &str,
    script: &Path,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<PgbenchOutcome> {
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg(format!("-c{clients}"))
        .arg(format!("-T{seconds}"))
        .arg("-f")
        .arg(script)
        .arg(database_url)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let figure = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| anyhow::anyhow!("pgbench printed no {prefix:?}: {text}"))
    };
    let failed = text
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    anyhow::ensure!(failed == 0, "pgbench had {failed} failed transactions");
    Ok(PgbenchOutcome {
        clients,
        seconds,
        tps: figure("tps = ")?,
        latency_avg_ms: figure("latency average = ")?,
    })
}
