//! The send queue: every message a session sends passes through it.
//!
//! - [`job`]: what a queued send is (text, media, location, contact), kept as
//!   JSON in the queue row so it can be performed after a restart;
//! - [`pacing`]: how fast a session may send (interval, jitter, caps, drip
//!   lane, quiet hours) and the [`pacing::Gate`] that enforces it;
//! - [`dispatcher`]: one task per session with work, taking messages in
//!   lane order when the gate allows and the session is connected;
//! - `waiters`: callers waiting for a message's outcome (a sync send),
//!   told the row as the dispatcher settled it;
//! - this module: [`SendQueue`], what the API calls — submit (with an
//!   idempotency key), wait for the outcome, bulk batches, cancel, status.
//!
//! A message's WhatsApp id is chosen when it is queued. If the process dies
//! while sending, the row goes back to the queue at start-up and is sent
//! again under the same id: the history and events of both sides store a
//! message once per id, so the recipient sees it once.

mod batch;
pub mod dispatcher;
pub mod job;
pub mod pacing;
mod waiters;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::warn;
use wagate_core::{BatchStatus, ChatId, QueueStatus, SessionStatus, StatusReason, now_ms};
use wagate_store::Store;
use wagate_store::app::{
    BatchCreated, BatchProgress, BatchRecord, Enqueued, LaneBacklog, NewQueued, QueuedRecord,
};
use whatsapp_rust::Jid;

pub use crate::config::QueueConfig;
use crate::error::EngineError;
use crate::media::MediaConfig;
use crate::session::Session;
pub use batch::{BatchOptions, BatchSubmit, BatchSubmitted};
pub use job::SendJob;
pub use pacing::{Lane, Pacing, PacingOverrides, QuietHours};

/// A send to queue.
pub struct Submit {
    pub chat: ChatId,
    pub job: SendJob,
    pub lane: Lane,
    pub idempotency_key: Option<String>,
    /// Someone waits for this send (a sync API call): a session that is not
    /// connected refuses it at once ([`EngineError::NotReadyToSend`]) unless
    /// it is the retry of a message already queued under the same key.
    pub waited_for: bool,
}

/// What [`SendQueue::submit`] did.
#[derive(Debug)]
pub enum Submitted {
    /// Queued now.
    New(QueuedRecord),
    /// The idempotency key was used before for the same request: this is
    /// that message (nothing new was queued).
    Existing(QueuedRecord),
}

impl Submitted {
    pub fn record(&self) -> &QueuedRecord {
        match self {
            Submitted::New(r) | Submitted::Existing(r) => r,
        }
    }
}

/// A session's queue at a glance.
#[derive(Clone, Debug)]
pub struct QueueOverview {
    pub backlog: Vec<LaneBacklog>,
    pub sending: i64,
    /// When the next message may go (`None`: nothing waits).
    pub next_send_at: Option<i64>,
    pub pacing: Pacing,
    pub overrides: PacingOverrides,
    pub sent_last_minute: usize,
    pub sent_last_hour: usize,
    pub sent_last_day: usize,
}

pub(crate) struct Inner {
    pub store: Store,
    pub config: QueueConfig,
    pub media: MediaConfig,
    /// Wake-up bells of the running dispatchers, by session.
    pub dispatchers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Callers waiting for a message to finish (`waiters.rs`).
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<Option<QueuedRecord>>>>>,
    /// Sessions' effective pacing (dropped when overrides change).
    pacing: Mutex<HashMap<String, (Pacing, PacingOverrides)>>,
    pub shutdown: CancellationToken,
}

/// The send queue of every session of this process.
#[derive(Clone)]
pub struct SendQueue {
    pub(crate) inner: Arc<Inner>,
}

impl SendQueue {
    pub(crate) fn new(store: Store, config: QueueConfig, media: MediaConfig) -> SendQueue {
        SendQueue {
            inner: Arc::new(Inner {
                store,
                config,
                media,
                dispatchers: Mutex::new(HashMap::new()),
                waiters: Mutex::new(HashMap::new()),
                pacing: Mutex::new(HashMap::new()),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// Start-up (after [`crate::SessionManager::reset_after_restart`] put
    /// interrupted messages back): sessions with waiting messages get their
    /// dispatcher. Old idempotency keys and finished rows are pruned now and
    /// every hour.
    pub async fn boot(
        &self,
        sessions: impl Fn(String) -> futures::future::BoxFuture<'static, Option<Arc<Session>>>,
    ) -> Result<(), EngineError> {
        for id in self.inner.store.sessions_with_queue().await? {
            if let Some(session) = sessions(id).await {
                self.wake(&session);
            }
        }
        self.start_pruning();
        Ok(())
    }

    /// Prunes old idempotency keys and finished rows now and every hour.
    pub(crate) fn start_pruning(&self) {
        let me = self.clone();
        tokio::spawn(async move { me.prune_every_hour().await });
    }

    async fn prune_every_hour(&self) {
        loop {
            let now = now_ms();
            let keys_before = now - self.inner.config.idempotency_ttl.as_millis() as i64;
            let rows_before = now - self.inner.config.retention.as_millis() as i64;
            if let Err(e) = self.inner.store.prune_queue(keys_before, rows_before).await {
                warn!("could not prune the send queue: {e}");
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
        }
    }

    /// Stops every dispatcher (a message being sent finishes first).
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// Queues a send. With an idempotency key used before, nothing new is
    /// queued: the earlier message comes back if the request is the same,
    /// [`EngineError::IdempotencyKeyReused`] if it is not.
    pub async fn submit(
        &self,
        session: &Arc<Session>,
        submit: Submit,
    ) -> Result<Submitted, EngineError> {
        self.submit_as(session, submit, new_queue_id()).await
    }

    /// Queues a send and waits for its outcome (a sync API call): its row
    /// once it is sent, failed or cancelled, or as it is after `timeout`.
    /// The caller listens before the row exists, so the dispatcher can
    /// answer with the row as it settled it, and nothing is read back.
    pub async fn submit_and_wait(
        &self,
        session: &Arc<Session>,
        submit: Submit,
        timeout: Duration,
    ) -> Result<QueuedRecord, EngineError> {
        let id = new_queue_id();
        let told = self.listen(&id);
        match self.submit_as(session, submit, id.clone()).await {
            Ok(Submitted::New(_)) => self.outcome(&id, told, timeout).await,
            Ok(Submitted::Existing(existing)) => {
                self.stop_listening(&id, told);
                if existing.is_final() {
                    Ok(existing)
                } else {
                    self.wait(&existing.id, timeout).await
                }
            }
            Err(e) => {
                self.stop_listening(&id, told);
                Err(e)
            }
        }
    }

    /// [`SendQueue::submit`] under the queue id `id`.
    async fn submit_as(
        &self,
        session: &Arc<Session>,
        submit: Submit,
        id: String,
    ) -> Result<Submitted, EngineError> {
        // On every early return the job is dropped, and a file staged for
        // it goes with it (see `StagedMedia`).
        self.admit(session, &submit).await?;
        let fingerprint = submit.job.fingerprint(&session.id, &submit.chat);
        let row = NewQueued {
            id,
            tenant_id: session.tenant_id.clone(),
            session_id: session.id.clone(),
            wa_id: new_wa_id(session),
            chat_id: submit.chat.jid(),
            kind: submit.job.kind(),
            payload: serde_json::to_string(&submit.job)
                .map_err(|e| EngineError::Engine(e.to_string()))?,
            lane: submit.lane,
            not_before: 0,
            batch_id: None,
            batch_seq: None,
            idempotency_key: submit.idempotency_key.clone(),
            request_hash: Some(fingerprint.clone()),
        };
        // A key used before comes back as `Existing` (the unique index
        // decides, so concurrent retries cannot both queue).
        match self.inner.store.enqueue(&row).await {
            Ok(Enqueued::New(record)) => {
                submit.job.keep_staged();
                self.wake(session);
                Ok(Submitted::New(*record))
            }
            Ok(Enqueued::Existing(existing)) => {
                same_request(existing.request_hash.as_deref(), &fingerprint)
                    .map(|()| Submitted::Existing(*existing))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `session` takes `submit` now: a banned number never sends
    /// again, and a send someone waits for needs a connected session (or
    /// an idempotent retry of one already queued, which answers from the
    /// queue).
    async fn admit(&self, session: &Session, submit: &Submit) -> Result<(), EngineError> {
        if session.live().reason == Some(StatusReason::Banned) {
            return Err(EngineError::Banned);
        }
        if !submit.waited_for || session.status() == SessionStatus::Ready {
            return Ok(());
        }
        let known = match &submit.idempotency_key {
            Some(k) => self
                .inner
                .store
                .queued_by_key(&session.tenant_id, k)
                .await?
                .is_some(),
            None => false,
        };
        if known {
            Ok(())
        } else {
            Err(EngineError::NotReadyToSend(session.status().api()))
        }
    }

    pub async fn get(&self, id: &str) -> Result<QueuedRecord, EngineError> {
        self.inner
            .store
            .get_queued(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no queued message '{id}'")))
    }

    /// Cancels one queued message of `session`.
    pub async fn cancel(&self, session: &Session, id: &str) -> Result<QueuedRecord, EngineError> {
        let record = self.get(id).await?;
        if record.session_id != session.id {
            return Err(EngineError::NotFound(format!("no queued message '{id}'")));
        }
        if self.inner.store.cancel_queued(id).await? {
            self.release_file(&record);
            self.finished(id, None);
        } else if !record.is_final() {
            return Err(EngineError::Conflict(
                "the message is being sent and can no longer be cancelled".into(),
            ));
        }
        self.get(id).await
    }

    /// The session's queue depth, next send time and pacing.
    pub async fn status(&self, session: &Session) -> Result<QueueOverview, EngineError> {
        let (pacing, overrides) = self.pacing(&session.id).await?;
        let now = now_ms();
        let times = self
            .inner
            .store
            .sent_times_since(&session.id, now - pacing::DAY)
            .await?;
        let gate = pacing::Gate::with_history(times);
        let backlog = self.inner.store.queue_backlog(&session.id).await?;
        let next_send_at = pacing::next_send(&backlog, &gate, &pacing, now).map(|(_, at)| at);
        Ok(QueueOverview {
            sending: self.inner.store.queue_sending(&session.id).await?,
            backlog,
            next_send_at,
            sent_last_minute: gate.count_since(now - 60_000),
            sent_last_hour: gate.count_since(now - 3_600_000),
            sent_last_day: gate.count_since(now - pacing::DAY),
            pacing,
            overrides,
        })
    }

    /// Replaces a session's pacing overrides (empty: the defaults).
    pub async fn set_pacing(
        &self,
        session: &Arc<Session>,
        overrides: &PacingOverrides,
    ) -> Result<(), EngineError> {
        let json = if overrides.is_empty() {
            None
        } else {
            Some(serde_json::to_string(overrides).map_err(|e| EngineError::Engine(e.to_string()))?)
        };
        self.inner
            .store
            .set_session_pacing(&session.id, json.as_deref())
            .await?;
        self.inner
            .pacing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session.id);
        self.wake(session);
        Ok(())
    }

    /// A session's effective pacing and its own overrides.
    pub async fn pacing(&self, session_id: &str) -> Result<(Pacing, PacingOverrides), EngineError> {
        if let Some(p) = self
            .inner
            .pacing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session_id)
        {
            return Ok(p.clone());
        }
        let overrides = match self.inner.store.session_pacing(session_id).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                warn!(session = session_id, "ignoring unreadable pacing: {e}");
                PacingOverrides::default()
            }),
            None => PacingOverrides::default(),
        };
        let effective = (overrides.apply(&self.inner.config.pacing), overrides);
        self.inner
            .pacing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session_id.to_string(), effective.clone());
        Ok(effective)
    }

    /// Rings the session's dispatcher, starting it if it is not running.
    pub fn wake(&self, session: &Arc<Session>) {
        // In a cluster the dispatcher runs on the session's node: tell it.
        if let Some(cluster) = &session.shared.cluster
            && !cluster.holds(&session.id)
        {
            let store = self.inner.store.clone();
            let payload = crate::cluster::wake::queue_payload(&session.id);
            tokio::spawn(async move {
                if let Err(e) = store.notify_cluster(&payload).await {
                    warn!("could not wake the session's node: {e}");
                }
            });
            return;
        }
        let mut map = self
            .inner
            .dispatchers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(bell) = map.get(&session.id) {
            bell.notify_one();
            return;
        }
        let bell = Arc::new(Notify::new());
        map.insert(session.id.clone(), bell.clone());
        drop(map);
        let me = self.clone();
        let session = session.clone();
        tokio::spawn(async move { dispatcher::run(me, session, bell).await });
    }

    /// Stops a session's dispatcher (the session is being deleted).
    pub fn forget(&self, session_id: &str) {
        let bell = self
            .inner
            .dispatchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(session_id);
        if let Some(bell) = bell {
            bell.notify_one();
        }
    }

    /// Whether `bell` is still the dispatcher of `session_id`.
    pub(crate) fn is_current(&self, session_id: &str, bell: &Arc<Notify>) -> bool {
        self.inner
            .dispatchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session_id)
            .is_some_and(|b| Arc::ptr_eq(b, bell))
    }

    /// Deletes the file of a queued message that will never be sent
    /// (cancelled, or failed for good). The history keeps only what was sent.
    pub(crate) fn release_file(&self, record: &QueuedRecord) {
        if let Ok(job) = serde_json::from_str::<SendJob>(&record.payload)
            && let Some(media) = job.staged_media()
        {
            self.inner.media.store.delete_soon(&media.path);
        }
    }
}

/// An idempotent repeat must be the same request as the first.
fn same_request(first: Option<&str>, fingerprint: &str) -> Result<(), EngineError> {
    if first == Some(fingerprint) {
        Ok(())
    } else {
        Err(EngineError::IdempotencyKeyReused)
    }
}

fn new_queue_id() -> String {
    format!("q_{}", uuid::Uuid::now_v7().simple())
}

/// A WhatsApp message id as the engine makes them (`3EB0…`), chosen now so
/// every attempt of this message carries the same one.
fn new_wa_id(session: &Session) -> String {
    let own: Option<Jid> = session
        .live()
        .phone
        .and_then(|p| format!("{p}@s.whatsapp.net").parse().ok());
    whatsapp_rust::wacore::request::RequestUtils::message_id_at(
        own.as_ref(),
        (now_ms() / 1000) as u64,
    )
}

#[cfg(test)]
mod tests;
