//! A small builder for hand-written statements: SQL text plus its bound values,
//! with the placeholder style of the backend (`$n` on PostgreSQL, `?` on SQLite).
//! Values are always bound, never spliced into the text.

use sea_orm::{DbBackend, Statement, Value};

pub(crate) struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::with_capacity(2048),
            values: Vec::new(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(p1, p2, …)` bound to `values`; `values` must not be empty.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let build = |backend| {
            let mut sql = Sql::new(backend);
            sql.push("a = ")
                .bind(1i64)
                .push(" AND b IN ")
                .bind_list(["x", "y"]);
            sql.build().sql
        };
        assert_eq!(build(DbBackend::Postgres), "a = $1 AND b IN ($2, $3)");
        assert_eq!(build(DbBackend::Sqlite), "a = ? AND b IN (?, ?)");
    }
}
