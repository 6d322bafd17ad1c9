//! A small builder for hand-written statements: SQL text plus its bound values,
//! with the placeholder style of the backend (`$n` on PostgreSQL, `?` on SQLite).
//! Values are always bound, never spliced into the text.

use sea_orm::{Statement, Value};

use super::Dialect;

/// Opens a statement that works across every org by design (housekeeping:
/// the expiry sweep, the retention of idempotency keys). Every other
/// statement on a tenant's table names its org (README, "Keyed by org"); the
/// suite checks both.
pub const ACROSS_ORGS: &str = "/* across orgs */ ";

pub(crate) struct Sql {
    dialect: Dialect,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Sql {
            dialect,
            text: String::with_capacity(2048),
            values: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        self.text
            .push_str(&self.dialect.placeholder(self.values.len()));
        self
    }

    /// Appends a placeholder bound to an object id, to compare with an id
    /// column by its index (see `Dialect::object_id`).
    pub fn bind_object_id(&mut self, id: &str) -> &mut Self {
        let (before, after) = self.dialect.object_id_wrap();
        self.push(before).bind(id).push(after)
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.dialect.backend(), self.text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let build = |backend| {
            let mut sql = Sql::new(backend);
            sql.push("a = ").bind(1i64).push(" AND b = ").bind("x");
            sql.build().sql
        };
        assert_eq!(build(Dialect::Postgres), "a = $1 AND b = $2");
        assert_eq!(build(Dialect::Sqlite), "a = ? AND b = ?");
    }
}
