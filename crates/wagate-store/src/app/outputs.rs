//! Event-bus outputs (NATS JetStream, RabbitMQ) and their durable cursors.
//!
//! An output row is a broker plus a cursor (`last_seq`, the last event of
//! the log the broker confirmed), the same shape as a webhook's: the
//! publisher moves it only with compare-and-set after the broker's ack, so a
//! crash or an outage at any instant resumes at the first unconfirmed
//! event. A tenant's output reads only that tenant's events; the operator's
//! outputs from the environment (`global`) read everybody's.
//!
//! The URL is stored with its credentials (the publisher needs them) and is
//! never shown back: [`redact_url`] is what the API and the logs print.

use sqlx::Row;
use sqlx::any::AnyRow;
use wagate_core::OutputKind;

use crate::{Store, StoreError};

#[derive(Clone, PartialEq)]
pub struct OutputRecord {
    pub id: String,
    pub tenant_id: String,
    /// The operator's output from the environment: every tenant's events.
    pub global: bool,
    /// Only this session's events.
    pub session_id: Option<String>,
    pub kind: OutputKind,
    /// With credentials: never print it, print [`OutputRecord::shown_url`].
    pub url: String,
    /// The JetStream stream or the RabbitMQ exchange.
    pub target: String,
    pub events: Vec<String>,
    pub enabled: bool,
    /// The last event sequence number the broker confirmed.
    pub last_seq: i64,
    /// Messages published so far.
    pub published: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for OutputRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("url", &self.shown_url())
            .field("target", &self.target)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("last_seq", &self.last_seq)
            .finish()
    }
}

impl OutputRecord {
    /// Whether this output wants events named `event`.
    pub fn wants(&self, event: &str) -> bool {
        wagate_core::event::filter_matches(&self.events, event)
    }

    /// The URL with its password replaced by `***`.
    pub fn shown_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// A URL with any password replaced by `***` (an unparsable URL is shown as
/// `***` whole: it may be all secret).
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "***".to_string(),
    }
}

/// An output to create.
#[derive(Clone)]
pub struct NewOutput {
    pub id: String,
    pub tenant_id: String,
    pub global: bool,
    pub session_id: Option<String>,
    pub kind: OutputKind,
    pub url: String,
    pub target: String,
    pub events: Vec<String>,
    /// Where publishing starts: events after this sequence number.
    pub last_seq: i64,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct OutputPatch {
    pub url: Option<String>,
    pub target: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

const COLUMNS: &str = "id, tenant_id, global, session_id, kind, url, target, events, enabled, last_seq, published, last_error, last_error_at, created_at, updated_at";

fn output_from_row(r: &AnyRow) -> Result<OutputRecord, sqlx::Error> {
    let events: String = r.try_get("events")?;
    let enabled: i64 = r.try_get("enabled")?;
    let global: i64 = r.try_get("global")?;
    Ok(OutputRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        global: global != 0,
        session_id: r.try_get("session_id")?,
        kind: super::wire(r, "kind")?,
        url: r.try_get("url")?,
        target: r.try_get("target")?,
        events: serde_json::from_str(&events).unwrap_or_else(|_| vec!["*".to_string()]),
        enabled: enabled != 0,
        last_seq: r.try_get("last_seq")?,
        published: r.try_get("published")?,
        last_error: r.try_get("last_error")?,
        last_error_at: r.try_get("last_error_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[\"*\"]".to_string())
}

impl Store {
    pub async fn insert_output(&self, new: &NewOutput) -> Result<OutputRecord, StoreError> {
        let now = wagate_core::now_ms();
        sqlx::query(
            "INSERT INTO outputs (id, tenant_id, global, session_id, kind, url, target, events, enabled,
                                  last_seq, published, last_error, last_error_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, 0, NULL, NULL, $10, $10)",
        )
        .bind(&new.id)
        .bind(&new.tenant_id)
        .bind(i64::from(new.global))
        .bind(&new.session_id)
        .bind(new.kind.as_str())
        .bind(&new.url)
        .bind(&new.target)
        .bind(json_list(&new.events))
        .bind(new.last_seq)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.get_output(&new.id).await?.ok_or(StoreError::NotFound)
    }

    /// Creates or refreshes an operator's output from the environment. A
    /// new one starts at the end of the log; an existing one keeps its
    /// cursor and is enabled again.
    pub async fn upsert_global_output(&self, new: &NewOutput) -> Result<OutputRecord, StoreError> {
        if let Some(existing) = self.get_output(&new.id).await? {
            let changed = existing.url != new.url
                || existing.target != new.target
                || existing.events != new.events
                || !existing.enabled;
            if changed {
                sqlx::query(
                    "UPDATE outputs SET url = $2, target = $3, events = $4, enabled = 1, updated_at = $5
                     WHERE id = $1",
                )
                .bind(&new.id)
                .bind(&new.url)
                .bind(&new.target)
                .bind(json_list(&new.events))
                .bind(wagate_core::now_ms())
                .execute(&self.pool)
                .await?;
            }
            return self.get_output(&new.id).await?.ok_or(StoreError::NotFound);
        }
        let mut new = new.clone();
        new.last_seq = self.last_event_seq().await?;
        self.insert_output(&new).await
    }

    pub async fn get_output(&self, id: &str) -> Result<Option<OutputRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outputs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(output_from_row).transpose()?)
    }

    /// A tenant's outputs (every output for `None`), oldest first.
    pub async fn list_outputs(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<OutputRecord>, StoreError> {
        let rows = match tenant_id {
            Some(t) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outputs WHERE tenant_id = $1 ORDER BY created_at, id"
                )))
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outputs ORDER BY created_at, id"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.iter().map(output_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn count_outputs(&self, tenant_id: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outputs WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// Every enabled output (the publisher runs one task for each).
    pub async fn list_enabled_outputs(&self) -> Result<Vec<OutputRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outputs WHERE enabled = 1 ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(output_from_row).collect::<Result<_, _>>()?)
    }

    /// Applies a patch; `None` when there is no such output. Any change
    /// moves `updated_at`, which tells the publisher to reconnect.
    pub async fn update_output(
        &self,
        id: &str,
        patch: &OutputPatch,
    ) -> Result<Option<OutputRecord>, StoreError> {
        let Some(mut o) = self.get_output(id).await? else {
            return Ok(None);
        };
        if let Some(url) = &patch.url {
            o.url = url.clone();
        }
        if let Some(target) = &patch.target {
            o.target = target.clone();
        }
        if let Some(events) = &patch.events {
            o.events = events.clone();
        }
        if let Some(enabled) = patch.enabled {
            o.enabled = enabled;
        }
        sqlx::query(
            "UPDATE outputs SET url = $2, target = $3, events = $4, enabled = $5, updated_at = $6
             WHERE id = $1",
        )
        .bind(id)
        .bind(&o.url)
        .bind(&o.target)
        .bind(json_list(&o.events))
        .bind(i64::from(o.enabled))
        .bind(wagate_core::now_ms().max(o.updated_at + 1))
        .execute(&self.pool)
        .await?;
        self.get_output(id).await
    }

    pub async fn delete_output(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM outputs WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves the cursor from `from` to `to` and counts `published` more
    /// messages, unless the cursor moved meanwhile; returns whether it did.
    /// A successful move also clears the last error.
    pub async fn advance_output_cursor(
        &self,
        id: &str,
        from: i64,
        to: i64,
        published: u64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outputs SET last_seq = $3, published = published + $4, last_error = NULL, last_error_at = NULL
             WHERE id = $1 AND last_seq = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(published as i64)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records why the broker cannot be reached or refused (shown on the
    /// output until the next confirmed publish).
    pub async fn set_output_error(&self, id: &str, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outputs SET last_error = $2, last_error_at = $3 WHERE id = $1")
            .bind(id)
            .bind(error)
            .bind(wagate_core::now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The lowest cursor of the enabled outputs: events after it must stay
    /// in the log.
    pub(crate) async fn lowest_output_cursor(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(last_seq) AS m FROM outputs WHERE enabled = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("m")?)
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(redact_url("not a url s3cret"), "***");
    }
}
