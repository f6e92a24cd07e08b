//! The `send_queue` row: what is queued ([`NewQueued`]), what is read back
//! ([`QueuedRecord`]), the outcomes of queueing, and the SQL that writes and
//! decodes a row. Kept apart so every queue operation shares one column list
//! and one decoder.

use sqlx::Row;
use wagate_core::{Lane, MessageKind, QueueStatus};

use crate::StoreError;
use crate::app::wire;

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

    /// This row (as read before its claim) as it is once claimed
    /// (`claim_queued` counts an attempt) and marked sent at `sent_at`
    /// (`mark_queued_sent`): what a waiting caller is answered without
    /// reading it back.
    pub fn as_sent(&self, sent_at: i64) -> QueuedRecord {
        QueuedRecord {
            status: QueueStatus::Sent,
            attempts: self.attempts + 1,
            error_code: None,
            error_message: None,
            updated_at: sent_at,
            sent_at: Some(sent_at),
            ..self.clone()
        }
    }

    /// A row as it is right after `new` was queued at `now`.
    pub(super) fn queued(new: &NewQueued, now: i64) -> QueuedRecord {
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

/// What a dispatcher sees of its session in one read
/// ([`crate::Store::queue_turn`]).
#[derive(Clone, Debug, Default)]
pub struct QueueTurn {
    /// What each lane has waiting (lanes with nothing are absent).
    pub backlog: Vec<LaneBacklog>,
    /// Each lane's first message that may go now, in sending order (lanes
    /// with nothing due are absent).
    pub due: Vec<QueuedRecord>,
}

impl QueueTurn {
    /// The first due message of `lane`, taken.
    pub fn take_due(&mut self, lane: Lane) -> Option<QueuedRecord> {
        let i = self.due.iter().position(|r| r.lane == lane)?;
        Some(self.due.swap_remove(i))
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

pub(super) const COLUMNS: &str = "id, tenant_id, session_id, wa_id, chat_id, kind, payload, lane, status, attempts, not_before, batch_id, batch_seq, idempotency_key, request_hash, error_code, error_message, created_at, updated_at, sent_at";

/// Inserts a row; false when its idempotency key (or id) is taken.
pub(super) async fn insert_queued<'e, E>(
    executor: E,
    new: &NewQueued,
    now: i64,
) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let done = insert_queued_query(new, now).execute(executor).await?;
    Ok(done.rows_affected() > 0)
}

/// The `INSERT` of [`insert_queued`] (nothing happens on a clash).
pub(super) fn insert_queued_query(
    new: &NewQueued,
    now: i64,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
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
}

pub(super) fn queued_from_row(r: &sqlx::any::AnyRow) -> Result<QueuedRecord, sqlx::Error> {
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
