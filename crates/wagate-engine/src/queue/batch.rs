//! Bulk batches: queueing a batch's messages in one transaction, reading
//! and cancelling it.

use super::*;

/// A bulk request: its messages and how to space them.
pub struct BatchSubmit {
    pub batch_id: Option<String>,
    pub items: Vec<(ChatId, SendJob)>,
    pub options: BatchOptions,
    pub idempotency_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchOptions {
    /// Delay between two messages, in ms (at least 1000).
    pub delay_between_messages: u64,
    /// Add a random 0–2 s to each delay.
    pub randomize_delay: bool,
    /// Cancel the rest after the first message that fails.
    pub stop_on_error: bool,
}

impl BatchOptions {
    /// The wait after one of the batch's messages.
    pub fn next_delay_ms(&self) -> i64 {
        let extra = if self.randomize_delay {
            rand::random_range(0..=2_000)
        } else {
            0
        };
        (self.delay_between_messages + extra) as i64
    }
}

/// What [`SendQueue::submit_batch`] did.
#[derive(Debug)]
pub enum BatchSubmitted {
    New(BatchRecord),
    Existing(BatchRecord),
}

impl SendQueue {
    /// Queues a bulk batch (its messages spaced by its delay).
    pub async fn submit_batch(
        &self,
        session: &Arc<Session>,
        submit: BatchSubmit,
    ) -> Result<BatchSubmitted, EngineError> {
        let fingerprint = batch_fingerprint(&session.id, &submit);
        let now = now_ms();
        let batch = BatchRecord {
            session_id: session.id.clone(),
            id: submit.batch_id.clone().unwrap_or_else(new_batch_id),
            tenant_id: session.tenant_id.clone(),
            status: BatchStatus::Processing,
            total: submit.items.len() as i64,
            options: serde_json::to_string(&submit.options)
                .map_err(|e| EngineError::Engine(e.to_string()))?,
            idempotency_key: submit.idempotency_key.clone(),
            request_hash: Some(fingerprint.clone()),
            created_at: now,
            started_at: None,
            completed_at: None,
        };
        let mut rows = Vec::with_capacity(submit.items.len());
        for (seq, (chat, job)) in submit.items.iter().enumerate() {
            rows.push(NewQueued {
                id: new_queue_id(),
                tenant_id: session.tenant_id.clone(),
                session_id: session.id.clone(),
                wa_id: new_wa_id(session),
                chat_id: chat.jid(),
                kind: job.kind(),
                payload: serde_json::to_string(job)
                    .map_err(|e| EngineError::Engine(e.to_string()))?,
                lane: Lane::Bulk,
                not_before: 0,
                batch_id: Some(batch.id.clone()),
                batch_seq: Some(seq as i64),
                idempotency_key: None,
                request_hash: None,
            });
        }
        match self.inner.store.create_batch(&batch, &rows).await {
            Ok(BatchCreated::New) => {
                for (_, job) in &submit.items {
                    job.keep_staged();
                }
            }
            // The items are dropped with `submit`, and their staged files
            // with them.
            Ok(BatchCreated::Existing(existing)) => {
                return same_request(existing.request_hash.as_deref(), &fingerprint)
                    .map(|()| BatchSubmitted::Existing(*existing));
            }
            Ok(BatchCreated::IdTaken) => {
                return Err(EngineError::Conflict(format!(
                    "this session already has a batch '{}'",
                    batch.id
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.wake(session);
        Ok(BatchSubmitted::New(batch))
    }

    pub async fn batch(
        &self,
        session: &Session,
        batch_id: &str,
    ) -> Result<(BatchRecord, BatchProgress, Vec<QueuedRecord>), EngineError> {
        let batch = self
            .inner
            .store
            .get_batch(&session.id, batch_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no batch '{batch_id}'")))?;
        let progress = self
            .inner
            .store
            .batch_progress(&session.id, batch_id)
            .await?;
        let items = self.inner.store.batch_items(&session.id, batch_id).await?;
        Ok((batch, progress, items))
    }

    /// Cancels what a batch has not sent yet.
    pub async fn cancel_batch(
        &self,
        session: &Session,
        batch_id: &str,
    ) -> Result<(BatchRecord, BatchProgress), EngineError> {
        let (batch, _, items) = self.batch(session, batch_id).await?;
        if batch.status == BatchStatus::Processing {
            self.inner
                .store
                .cancel_batch_items(&session.id, batch_id, None)
                .await?;
            for item in items.iter().filter(|i| i.status == QueueStatus::Queued) {
                self.release_file(item);
                self.finished(&item.id, None);
            }
            dispatcher::settle_batch(&self.inner, session, batch_id).await;
        }
        let (batch, progress, _) = self.batch(session, batch_id).await?;
        Ok((batch, progress))
    }
}

fn batch_fingerprint(session_id: &str, submit: &BatchSubmit) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(submit.batch_id.as_deref().unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(json!(submit.options).to_string().as_bytes());
    for (chat, job) in &submit.items {
        h.update([0]);
        h.update(job.fingerprint(session_id, chat).as_bytes());
    }
    hex::encode(h.finalize())
}

fn new_batch_id() -> String {
    format!("batch_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}
