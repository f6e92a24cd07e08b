//! [`Dialect`]: which SQL the outbox database speaks, and the few pieces
//! of SQL that differ by it (placeholders, the clock, its name in
//! messages). Every statement elsewhere is built from these.

/// Which SQL dialect the outbox database speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// The `n`th (1-based) bind placeholder.
    pub fn ph(self, n: usize) -> String {
        match self {
            Dialect::MySql => "?".to_string(),
            _ => format!("${n}"),
        }
    }

    /// `n` placeholders from `start`, comma separated.
    pub fn phs(self, start: usize, n: usize) -> String {
        (start..start + n)
            .map(|i| self.ph(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The current time, as the outbox's timestamp columns store it.
    pub fn now(self) -> &'static str {
        match self {
            Dialect::Postgres => "LOCALTIMESTAMP",
            Dialect::MySql => "CURRENT_TIMESTAMP(3)",
            Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        }
    }

    /// The time `secs` seconds ago.
    pub fn ago(self, secs: u64) -> String {
        match self {
            Dialect::Postgres => format!("(LOCALTIMESTAMP - INTERVAL '{secs} seconds')"),
            Dialect::MySql => format!("(CURRENT_TIMESTAMP(3) - INTERVAL {secs} SECOND)"),
            Dialect::Sqlite => format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '-{secs} seconds')"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Sqlite => "SQLite",
        }
    }
}
