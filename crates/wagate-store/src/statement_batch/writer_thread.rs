//! The writer thread: its own connection to the SQLite file, its kept
//! prepared statements, and how it runs a batch (see the parent module for
//! why). It takes batches from the batching task, each with the held
//! writer's lock, runs each in one transaction statement by statement,
//! answers every caller, and drops the lock. It ends when the batching
//! task does.

use std::borrow::Cow;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx_core::any::AnyValueKind;

use super::{Batch, Outcome, Statement};
use crate::StoreError;

/// Prepared statements the thread keeps: every hot write's text, with room
/// to spare.
const STATEMENT_CACHE: usize = 256;

/// Opens the thread's connection to the SQLite file at `path` (as the held
/// writer's: `synchronous=NORMAL`, foreign keys on, the same busy timeout;
/// then `setup`, once), starts the thread, and returns the way to hand it
/// batches.
pub(super) fn start(
    path: &str,
    busy_timeout: std::time::Duration,
    setup: &[&str],
) -> Result<std::sync::mpsc::Sender<Batch>, StoreError> {
    let cannot = |e: rusqlite::Error| {
        StoreError::Connect(format!(
            "cannot open SQLite database {path} for the writer thread: {e}"
        ))
    };
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(cannot)?;
    conn.busy_timeout(busy_timeout).map_err(cannot)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL")
        .map_err(cannot)?;
    for sql in setup {
        conn.execute_batch(sql).map_err(cannot)?;
    }
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);

    let (to_thread, batches) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || {
            for batch in batches {
                run_batch(&conn, batch);
            }
        })
        .map_err(|e| StoreError::Connect(format!("cannot start the SQLite writer thread: {e}")))?;
    Ok(to_thread)
}

/// Runs a batch and answers its callers, one job
/// alone, several in one transaction, or, when that fails, one by one.
/// The writer's lock goes back when the batch is dropped, after the
/// answers.
fn run_batch(conn: &rusqlite::Connection, mut batch: Batch) {
    if batch.jobs.len() == 1 {
        let job = batch.jobs.pop().expect("one job");
        let answer = in_transaction(conn, &job.statements).map_err(into_sqlx);
        let _ = job.done.send(answer);
        return;
    }
    let all = batch.jobs.iter().flat_map(|j| &j.statements);
    match in_transaction(conn, all) {
        Ok(outcomes) => {
            let mut outcomes = outcomes.into_iter();
            for job in batch.jobs.drain(..) {
                let own = outcomes.by_ref().take(job.statements.len()).collect();
                let _ = job.done.send(Ok(own));
            }
        }
        Err(e) => {
            tracing::debug!(
                "a batch of {} writes failed, each runs alone: {e}",
                batch.jobs.len()
            );
            for job in batch.jobs.drain(..) {
                let answer = in_transaction(conn, &job.statements).map_err(into_sqlx);
                let _ = job.done.send(answer);
            }
        }
    }
}

/// Runs `statements` in one transaction; returns each one's outcome. On
/// an error the transaction is rolled back.
fn in_transaction<'a>(
    conn: &rusqlite::Connection,
    statements: impl IntoIterator<Item = &'a Statement>,
) -> rusqlite::Result<Vec<Outcome>> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let ran = statements
        .into_iter()
        .map(|s| run_statement(conn, s))
        .collect::<rusqlite::Result<Vec<_>>>()
        .and_then(|outcomes| {
            conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(outcomes)
        });
    if ran.is_err() && !conn.is_autocommit() {
        // Fails only when SQLite already rolled back itself.
        let _ = conn.execute_batch("ROLLBACK");
    }
    ran
}

/// Runs one statement (a text of several: each in turn), binding each
/// `$N` to the `N`th value, from the kept prepared statements.
fn run_statement(conn: &rusqlite::Connection, s: &Statement) -> rusqlite::Result<Outcome> {
    let values = &s.args.values.0;
    let mut whole = Outcome::default();
    for sql in split_statements(&s.sql) {
        let mut stmt = conn.prepare_cached(sql)?;
        for i in 1..=stmt.parameter_count() {
            let n = placeholder_number(stmt.parameter_name(i)).unwrap_or(i);
            let value = values
                .get(n.wrapping_sub(1))
                .ok_or(rusqlite::Error::InvalidParameterCount(n, values.len()))?;
            stmt.raw_bind_parameter(i, Bound(value))?;
        }
        let returns = stmt.column_count() > 0;
        let writes = !stmt.readonly();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            if returns {
                whole.returned.push(row.get(0)?);
            }
        }
        drop(rows);
        if writes {
            whole.done.rows_affected += conn.changes();
            whole.done.last_insert_id = Some(conn.last_insert_rowid());
        }
    }
    Ok(whole)
}

/// The number of a `$N` (or `?N`) placeholder.
fn placeholder_number(name: Option<&str>) -> Option<usize> {
    let name = name?;
    let digits = name.strip_prefix('$').or_else(|| name.strip_prefix('?'))?;
    digits.parse().ok()
}

/// A value bound by sqlx's `Any` driver, as SQLite takes it (as sqlx's
/// SQLite driver binds it: booleans as 0 and 1).
struct Bound<'a>(&'a AnyValueKind);

impl rusqlite::ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            AnyValueKind::Null(_) => ToSqlOutput::Owned(Value::Null),
            AnyValueKind::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
            AnyValueKind::SmallInt(v) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            AnyValueKind::Integer(v) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            AnyValueKind::BigInt(v) => ToSqlOutput::Owned(Value::Integer(*v)),
            AnyValueKind::Real(v) => ToSqlOutput::Owned(Value::Real(f64::from(*v))),
            AnyValueKind::Double(v) => ToSqlOutput::Owned(Value::Real(*v)),
            AnyValueKind::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            AnyValueKind::TextSlice(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            AnyValueKind::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("a value the writer thread cannot bind: {other:?}").into(),
                ));
            }
        })
    }
}

/// A failed write, as sqlx reports a database error: callers match on
/// its code and kind (a unique violation, say) as before.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct WriteError {
    /// SQLite's extended result code.
    code: i32,
    message: String,
}

impl sqlx::error::DatabaseError for WriteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// SQLite's own errors as database errors; the rest (a value that would
/// not bind, say) as protocol errors.
fn into_sqlx(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(WriteError {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// The statements of a text, split at each `;` outside quotes (empty ones
/// dropped).
fn split_statements(sql: &str) -> impl Iterator<Item = &str> {
    let mut quote = None;
    let mut start = 0;
    let mut cuts = Vec::new();
    for (i, c) in sql.char_indices() {
        if unquoted(&mut quote, c) && c == ';' {
            cuts.push(&sql[start..i]);
            start = i + 1;
        }
    }
    cuts.push(&sql[start..]);
    cuts.into_iter().filter(|s| !s.trim().is_empty())
}

/// Follows SQL's quotes one character at a time (`quote`: the one open):
/// whether `c` is outside any quoted string or name, and not a quote.
fn unquoted(quote: &mut Option<char>, c: char) -> bool {
    match *quote {
        Some(q) => {
            if c == q {
                *quote = None;
            }
            false
        }
        None if c == '\'' || c == '"' => {
            *quote = Some(c);
            false
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_splits_at_each_semicolon_outside_quotes() {
        let split = |sql| split_statements(sql).collect::<Vec<_>>();
        assert_eq!(
            split("DELETE FROM t WHERE a = ';';  "),
            ["DELETE FROM t WHERE a = ';'"]
        );
        assert_eq!(split("DELETE FROM t;"), ["DELETE FROM t"]);
        assert_eq!(
            split("DELETE FROM t; DELETE FROM u"),
            ["DELETE FROM t", " DELETE FROM u"]
        );
    }

    #[test]
    fn placeholders_are_numbered_by_their_names() {
        assert_eq!(placeholder_number(Some("$12")), Some(12));
        assert_eq!(placeholder_number(Some("?3")), Some(3));
        assert_eq!(placeholder_number(Some(":name")), None);
        assert_eq!(placeholder_number(None), None);
    }
}
