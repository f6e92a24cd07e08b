//! The durable send queue and bulk batches.
//!
//! Every outgoing message is a `send_queue` row before it is sent. A row
//! carries the WhatsApp id the message will have (chosen when it is queued),
//! its lane (`direct`, `bulk`, `drip`), and a status that only moves forward:
//! `queued` → `sending` → `sent` | `failed`, or `queued` → `cancelled`. A row
//! left in `sending` by a crash goes back to `queued` at start-up and is sent
//! again under the same id, which the recipient's side treats as the same
//! message.
//!
//! Idempotency keys are unique per tenant, on messages and on batches alike;
//! the request's fingerprint is kept beside the key so a reuse with a
//! different request can be told apart from a retry.

use sqlx::{AssertSqlSafe, Row};
use wagate_core::{BatchStatus, Lane, MessageKind, QueueStatus};

use super::wire;
use crate::{Store, StoreError};

/// A message to queue.
#[derive(Clone, Debug)]
pub struct NewQueued {
    pub id: String,
    pub tenant_id: String,
    pub session_id: String,
    pub wa_id: String,
    /// The chat's JID.
    pub chat_id: String,
    pub kind: MessageKind,
    /// The job, as JSON (owned by the engine).
    pub payload: String,
    pub lane: Lane,
    pub not_before: i64,
    pub batch_id: Option<String>,
    pub batch_seq: Option<i64>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRecord {
    pub id: String,
    pub tenant_id: String,
    pub session_id: String,
    pub wa_id: String,
    pub chat_id: String,
    pub kind: MessageKind,
    pub payload: String,
    pub lane: Lane,
    pub status: QueueStatus,
    pub attempts: i64,
    pub not_before: i64,
    pub batch_id: Option<String>,
    pub batch_seq: Option<i64>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
}

impl QueuedRecord {
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// The contract's id of the message (`true_<chat>_<WhatsApp id>`).
    pub fn message_id(&self) -> String {
        wagate_core::ids::message_id(
            true,
            &wagate_core::ChatId::api_from_jid(&self.chat_id),
            &self.wa_id,
        )
    }

    /// A row as it is right after `new` was queued at `now`.
    fn queued(new: &NewQueued, now: i64) -> QueuedRecord {
        QueuedRecord {
            id: new.id.clone(),
            tenant_id: new.tenant_id.clone(),
            session_id: new.session_id.clone(),
            wa_id: new.wa_id.clone(),
            chat_id: new.chat_id.clone(),
            kind: new.kind,
            payload: new.payload.clone(),
            lane: new.lane,
            status: QueueStatus::Queued,
            attempts: 0,
            not_before: new.not_before,
            batch_id: new.batch_id.clone(),
            batch_seq: new.batch_seq,
            idempotency_key: new.idempotency_key.clone(),
            request_hash: new.request_hash.clone(),
            error_code: None,
            error_message: None,
            created_at: now,
            updated_at: now,
            sent_at: None,
        }
    }
}

/// The outcome of queueing under an idempotency key.
#[derive(Debug)]
pub enum Enqueued {
    /// Queued now: the new row.
    New(Box<QueuedRecord>),
    /// The key was used before: this is what it queued.
    Existing(Box<QueuedRecord>),
}

/// Queued messages of one lane of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneBacklog {
    pub lane: Lane,
    pub count: i64,
    /// The earliest `not_before` among them.
    pub earliest: i64,
}

/// A bulk batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    pub session_id: String,
    pub id: String,
    pub tenant_id: String,
    pub status: BatchStatus,
    pub total: i64,
    /// The request's options, as JSON.
    pub options: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

/// Counts of a batch's messages by status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchProgress {
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl BatchProgress {
    pub fn pending(&self) -> i64 {
        self.queued + self.sending
    }
}

/// The outcome of creating a batch.
#[derive(Debug)]
pub enum BatchCreated {
    New,
    /// The idempotency key was used before: this is the batch it created.
    Existing(Box<BatchRecord>),
    /// The session already has a batch with this id.
    IdTaken,
}

const COLUMNS: &str = "id, tenant_id, session_id, wa_id, chat_id, kind, payload, lane, status, attempts, not_before, batch_id, batch_seq, idempotency_key, request_hash, error_code, error_message, created_at, updated_at, sent_at";
const BATCH_COLUMNS: &str = "session_id, id, tenant_id, status, total, options, idempotency_key, request_hash, created_at, started_at, completed_at";

impl Store {
    /// Queues a message. With an idempotency key already used by this tenant,
    /// nothing is queued and the earlier row comes back instead.
    pub async fn enqueue(&self, new: &NewQueued) -> Result<Enqueued, StoreError> {
        let now = wagate_core::now_ms();
        let done = insert_queued(&self.pool, new, now).await?;
        if done {
            return Ok(Enqueued::New(Box::new(QueuedRecord::queued(new, now))));
        }
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        match self.queued_by_key(&new.tenant_id, key).await? {
            Some(existing) => Ok(Enqueued::Existing(Box::new(existing))),
            None => Err(StoreError::Conflict(
                "the message could not be queued (id clash)".into(),
            )),
        }
    }

    /// The message a tenant queued under an idempotency key.
    pub async fn queued_by_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<QueuedRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM send_queue WHERE tenant_id = $1 AND idempotency_key = $2"
        )))
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| queued_from_row(&r)).transpose()?)
    }

    pub async fn get_queued(&self, id: &str) -> Result<Option<QueuedRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM send_queue WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| queued_from_row(&r)).transpose()?)
    }

    /// What a session has waiting, per lane.
    pub async fn queue_backlog(&self, session_id: &str) -> Result<Vec<LaneBacklog>, StoreError> {
        let rows = sqlx::query(
            "SELECT lane, COUNT(*) AS n, MIN(not_before) AS earliest FROM send_queue
             WHERE session_id = $1 AND status = 'queued' GROUP BY lane",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LaneBacklog {
                    lane: wire(r, "lane")?,
                    count: r.try_get("n")?,
                    earliest: r.try_get("earliest")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// How many of a session's messages are being sent right now.
    pub async fn queue_sending(&self, session_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM send_queue WHERE session_id = $1 AND status = 'sending'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The first message of a lane that may go at `now` (FIFO).
    pub async fn next_due(
        &self,
        session_id: &str,
        lane: Lane,
        now: i64,
    ) -> Result<Option<QueuedRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM send_queue
             WHERE session_id = $1 AND status = 'queued' AND lane = $2 AND not_before <= $3
             ORDER BY created_at, batch_seq, id LIMIT 1"
        )))
        .bind(session_id)
        .bind(lane.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| queued_from_row(&r)).transpose()?)
    }

    /// Takes a queued message for sending (counts an attempt); false when it
    /// is no longer queued (cancelled meanwhile).
    pub async fn claim_queued(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'sending', attempts = attempts + 1, updated_at = $2
             WHERE id = $1 AND status = 'queued'",
        )
        .bind(id)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn mark_queued_sent(&self, id: &str, sent_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE send_queue SET status = 'sent', sent_at = $2, updated_at = $2,
             error_code = NULL, error_message = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(sent_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn mark_queued_failed(
        &self,
        id: &str,
        code: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.mark_queued_failed(id, code, message).await?;
        tx.commit().await
    }

    /// Puts a message back in the queue to try again at `not_before`. With
    /// `refund`, the attempt it just used is not counted (the session was not
    /// connected: nothing was tried).
    pub async fn requeue(
        &self,
        id: &str,
        not_before: i64,
        error: Option<(&str, &str)>,
        refund: bool,
    ) -> Result<(), StoreError> {
        let refund = if refund {
            ", attempts = attempts - 1"
        } else {
            ""
        };
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE send_queue SET status = 'queued', not_before = $2, error_code = $3,
             error_message = $4, updated_at = $5{refund} WHERE id = $1 AND status = 'sending'"
        )))
        .bind(id)
        .bind(not_before)
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Cancels one queued message; false when it is no longer queued.
    pub async fn cancel_queued(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'cancelled', updated_at = $2
             WHERE id = $1 AND status = 'queued'",
        )
        .bind(id)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Cancels everything a session has queued (it is being deleted).
    pub async fn cancel_session_queue(&self, session_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'cancelled', updated_at = $2
             WHERE session_id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(session_id)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Start-up: what a previous process was sending when it stopped goes
    /// back to the queue (same WhatsApp id). Returns how many.
    pub async fn requeue_interrupted(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'queued', updated_at = $1 WHERE status = 'sending'",
        )
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Sessions with messages waiting.
    pub async fn sessions_with_queue(&self) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT DISTINCT session_id FROM send_queue WHERE status = 'queued'")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| r.try_get("session_id").map_err(Into::into))
            .collect()
    }

    /// When a session's messages were sent since `since` (oldest first): what
    /// the per-minute, per-hour and per-day caps count.
    pub async fn sent_times_since(
        &self,
        session_id: &str,
        since: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT sent_at FROM send_queue WHERE session_id = $1 AND sent_at >= $2 ORDER BY sent_at",
        )
        .bind(session_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("sent_at").map_err(Into::into))
            .collect()
    }

    /// Forgets idempotency keys older than `before` and deletes finished
    /// messages older than `delete_before`. Returns (keys, rows).
    pub async fn prune_queue(
        &self,
        before: i64,
        delete_before: i64,
    ) -> Result<(u64, u64), StoreError> {
        let keys = sqlx::query(
            "UPDATE send_queue SET idempotency_key = NULL, request_hash = NULL
             WHERE idempotency_key IS NOT NULL AND created_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE send_batches SET idempotency_key = NULL, request_hash = NULL
             WHERE idempotency_key IS NOT NULL AND created_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query(
            "DELETE FROM send_queue WHERE status IN ('sent', 'failed', 'cancelled') AND updated_at < $1",
        )
        .bind(delete_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM send_batches WHERE status <> 'processing' AND created_at < $1
             AND NOT EXISTS (SELECT 1 FROM send_queue q WHERE q.session_id = send_batches.session_id
                             AND q.batch_id = send_batches.id)",
        )
        .bind(delete_before)
        .execute(&self.pool)
        .await?;
        Ok((keys, rows))
    }

    // ── batches ────────────────────────────────────────────────────────

    /// Creates a batch and queues its messages in one transaction.
    pub async fn create_batch(
        &self,
        batch: &BatchRecord,
        items: &[NewQueued],
    ) -> Result<BatchCreated, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO send_batches (session_id, id, tenant_id, status, total, options,
                                       idempotency_key, request_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT DO NOTHING",
        )
        .bind(&batch.session_id)
        .bind(&batch.id)
        .bind(&batch.tenant_id)
        .bind(batch.status.as_str())
        .bind(batch.total)
        .bind(&batch.options)
        .bind(&batch.idempotency_key)
        .bind(&batch.request_hash)
        .bind(batch.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !inserted {
            tx.rollback().await?;
            if let Some(key) = &batch.idempotency_key
                && let Some(existing) = self.batch_by_key(&batch.tenant_id, key).await?
            {
                return Ok(BatchCreated::Existing(Box::new(existing)));
            }
            return Ok(BatchCreated::IdTaken);
        }
        for item in items {
            if !insert_queued(&mut *tx, item, batch.created_at).await? {
                tx.rollback().await?;
                return Err(StoreError::Conflict(
                    "a message of the batch could not be queued (id clash)".into(),
                ));
            }
        }
        tx.commit().await?;
        Ok(BatchCreated::New)
    }

    pub async fn batch_by_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {BATCH_COLUMNS} FROM send_batches WHERE tenant_id = $1 AND idempotency_key = $2"
        )))
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| batch_from_row(&r)).transpose()?)
    }

    pub async fn get_batch(
        &self,
        session_id: &str,
        id: &str,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {BATCH_COLUMNS} FROM send_batches WHERE session_id = $1 AND id = $2"
        )))
        .bind(session_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| batch_from_row(&r)).transpose()?)
    }

    /// A session's messages with one of `statuses`, in the order they go
    /// (oldest first), at most `limit`.
    pub async fn queue_items(
        &self,
        session_id: &str,
        statuses: &[QueueStatus],
        limit: i64,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> =
            (0..statuses.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM send_queue WHERE session_id = $1 AND status IN ({})
             ORDER BY created_at, batch_seq, id LIMIT $2",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(session_id).bind(limit);
        for s in statuses {
            q = q.bind(s.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| queued_from_row(r).map_err(Into::into))
            .collect()
    }

    /// A batch's messages in order.
    pub async fn batch_items(
        &self,
        session_id: &str,
        batch_id: &str,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM send_queue WHERE session_id = $1 AND batch_id = $2 ORDER BY batch_seq"
        )))
        .bind(session_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| queued_from_row(r).map_err(Into::into))
            .collect()
    }

    pub async fn batch_progress(
        &self,
        session_id: &str,
        batch_id: &str,
    ) -> Result<BatchProgress, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM send_queue
             WHERE session_id = $1 AND batch_id = $2 GROUP BY status",
        )
        .bind(session_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        let mut p = BatchProgress::default();
        for r in &rows {
            let status: QueueStatus = wire(r, "status")?;
            let n: i64 = r.try_get("n")?;
            p.total += n;
            match status {
                QueueStatus::Queued => p.queued = n,
                QueueStatus::Sending => p.sending = n,
                QueueStatus::Sent => p.sent = n,
                QueueStatus::Failed => p.failed = n,
                QueueStatus::Cancelled => p.cancelled = n,
            }
        }
        Ok(p)
    }

    /// Holds a batch's remaining messages until `not_before` (the delay
    /// between two of its messages).
    pub async fn hold_batch(
        &self,
        session_id: &str,
        batch_id: &str,
        not_before: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE send_queue SET not_before = $3
             WHERE session_id = $1 AND batch_id = $2 AND status = 'queued' AND not_before < $3",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(not_before)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Cancels a batch's queued messages; returns how many.
    pub async fn cancel_batch_items(
        &self,
        session_id: &str,
        batch_id: &str,
        reason: Option<(&str, &str)>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'cancelled', error_code = $3, error_message = $4, updated_at = $5
             WHERE session_id = $1 AND batch_id = $2 AND status = 'queued'",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(reason.map(|r| r.0))
        .bind(reason.map(|r| r.1))
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Moves a batch to `status` (`processing` → `completed` / `cancelled`);
    /// false when it had already left `processing`.
    pub async fn finish_batch(
        &self,
        session_id: &str,
        batch_id: &str,
        status: BatchStatus,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE send_batches SET status = $3, completed_at = $4
             WHERE session_id = $1 AND id = $2 AND status = 'processing'",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(status.as_str())
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records when a batch's first message went out (once).
    pub async fn mark_batch_started(
        &self,
        session_id: &str,
        batch_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE send_batches SET started_at = $3
             WHERE session_id = $1 AND id = $2 AND started_at IS NULL",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ── pacing ─────────────────────────────────────────────────────────

    /// A session's pacing overrides (JSON), if it has any.
    pub async fn session_pacing(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT pacing FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(r.try_get("pacing")?),
            None => Err(StoreError::NotFound),
        }
    }

    pub async fn set_session_pacing(
        &self,
        session_id: &str,
        pacing: Option<&str>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE sessions SET pacing = $2, updated_at = $3 WHERE id = $1")
            .bind(session_id)
            .bind(pacing)
            .bind(wagate_core::now_ms())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// Inserts a row; false when its idempotency key (or id) is taken.
async fn insert_queued<'e, E>(executor: E, new: &NewQueued, now: i64) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let done = sqlx::query(
        "INSERT INTO send_queue (id, tenant_id, session_id, wa_id, chat_id, kind, payload, lane,
                                 status, attempts, not_before, batch_id, batch_seq,
                                 idempotency_key, request_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $10, $11, $12, $13, $14, $14)
         ON CONFLICT DO NOTHING",
    )
    .bind(&new.id)
    .bind(&new.tenant_id)
    .bind(&new.session_id)
    .bind(&new.wa_id)
    .bind(&new.chat_id)
    .bind(new.kind.as_str())
    .bind(&new.payload)
    .bind(new.lane.as_str())
    .bind(new.not_before)
    .bind(&new.batch_id)
    .bind(new.batch_seq)
    .bind(&new.idempotency_key)
    .bind(&new.request_hash)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() > 0)
}

fn queued_from_row(r: &sqlx::any::AnyRow) -> Result<QueuedRecord, sqlx::Error> {
    Ok(QueuedRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        session_id: r.try_get("session_id")?,
        wa_id: r.try_get("wa_id")?,
        chat_id: r.try_get("chat_id")?,
        kind: wire(r, "kind")?,
        payload: r.try_get("payload")?,
        lane: wire(r, "lane")?,
        status: wire(r, "status")?,
        attempts: r.try_get("attempts")?,
        not_before: r.try_get("not_before")?,
        batch_id: r.try_get("batch_id")?,
        batch_seq: r.try_get("batch_seq")?,
        idempotency_key: r.try_get("idempotency_key")?,
        request_hash: r.try_get("request_hash")?,
        error_code: r.try_get("error_code")?,
        error_message: r.try_get("error_message")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        sent_at: r.try_get("sent_at")?,
    })
}

fn batch_from_row(r: &sqlx::any::AnyRow) -> Result<BatchRecord, sqlx::Error> {
    Ok(BatchRecord {
        session_id: r.try_get("session_id")?,
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        status: wire(r, "status")?,
        total: r.try_get("total")?,
        options: r.try_get("options")?,
        idempotency_key: r.try_get("idempotency_key")?,
        request_hash: r.try_get("request_hash")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

/// Queue changes that commit with their event (`message.failed`).
impl crate::app::SpineTx {
    /// Marks a queued message failed for good; returns whether it was still
    /// queued or sending (a second settle changes nothing).
    pub async fn mark_queued_failed(
        &mut self,
        id: &str,
        code: &str,
        message: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'failed', error_code = $2, error_message = $3, updated_at = $4
             WHERE id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(id)
        .bind(code)
        .bind(message)
        .bind(wagate_core::now_ms())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
