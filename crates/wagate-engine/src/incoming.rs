//! Received media, kept off the ack path.
//!
//! Any WhatsApp user can send a session a file, so receiving one must cost
//! the session nothing it cannot afford:
//! - [`Session::plan_incoming_media`] runs while the message is persisted
//!   (before the ack): it only records a durable download job
//!   (`incoming_media`) and names the file the message will have, so the
//!   message and its `message.received` event are stored at once;
//! - [`run`] is a bounded pool (`INCOMING_MEDIA_WORKERS`) that claims due
//!   jobs and downloads each from the session's WhatsApp media hosts (the
//!   `media_conn` hosts, or the configured sandbox; a sender-chosen
//!   `static_url` is never fetched), decrypting chunk by chunk into a
//!   temporary file with the cap (`INCOMING_MEDIA_MAX_MB`, else the
//!   per-type limit) enforced while it streams, then moves the file into
//!   the media storage: a 100 MB video costs a few buffers of memory;
//! - a failure that may pass (timeout, unreachable) is retried a few times;
//!   then, or at once for a file over the cap, the message loses its media
//!   fields. Either way a `message.media` event says how it ended:
//!   `{"status": "stored", "media": {…}}` or `{"status": "failed",
//!   "reason": "too_large" | "timeout" | "unreachable"}`.

use std::collections::HashSet;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Semaphore;
use tracing::{debug, warn};
use wagate_core::{ChatId, MediaStatus, SessionStatus, now_ms};
use wagate_outbound::OutboundError;
use wagate_store::app::{IncomingMediaJob, MediaFile};
use whatsapp_rust::client::Client;
use whatsapp_rust::download::{DownloadParams, DownloadWriter, Downloadable};
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::whatsapp as wa;

use wagate_store::Store;

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::media::{
    MediaConfig, MediaKind, file_path, is_plausible_mimetype, media_json, new_file_id, sniff,
};
use crate::session::Session;

/// How long one download attempt may take in all.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// Attempts before a download that keeps failing is given up.
const MAX_ATTEMPTS: i64 = 3;
/// Waits before the second and third attempt.
const RETRY_AFTER_MS: [i64; 2] = [5_000, 30_000];
/// How long a job waits for its session to be connected again.
const NOT_CONNECTED_WAIT_MS: i64 = 5_000;
/// How often the pool looks for due jobs without a wake-up.
const POLL: Duration = Duration::from_secs(2);
/// In the error chain of a download stopped by the cap.
const OVER_CAP: &str = "wagate: received file over the cap";

/// What a download needs, kept in the job (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    kind: MediaKind,
    direct_path: Option<String>,
    media_key: Option<String>,
    file_sha256: Option<String>,
    file_enc_sha256: Option<String>,
    file_length: Option<u64>,
    mimetype: Option<String>,
    filename: Option<String>,
}

impl Source {
    fn of(message: &wa::Message) -> Option<Source> {
        let base = message.get_base_message();
        let (kind, d, mimetype, filename): (MediaKind, &dyn Downloadable, _, _) =
            if let Some(m) = base.image_message.as_option() {
                (MediaKind::Image, m, m.mimetype.clone(), None)
            } else if let Some(m) = base.video_message.as_option() {
                (MediaKind::Video, m, m.mimetype.clone(), None)
            } else if let Some(m) = base.audio_message.as_option() {
                (MediaKind::Audio, m, m.mimetype.clone(), None)
            } else if let Some(m) = base.document_message.as_option() {
                (
                    MediaKind::Document,
                    m,
                    m.mimetype.clone(),
                    m.file_name.clone(),
                )
            } else if let Some(m) = base.sticker_message.as_option() {
                (MediaKind::Sticker, m, m.mimetype.clone(), None)
            } else {
                return None;
            };
        let b64 = |b: Option<&[u8]>| b.map(|b| B64.encode(b));
        Some(Source {
            kind,
            direct_path: d.direct_path().map(str::to_owned),
            media_key: b64(d.media_key()),
            file_sha256: b64(d.file_sha256()),
            file_enc_sha256: b64(d.file_enc_sha256()),
            file_length: d.file_length(),
            mimetype: mimetype.filter(|m| is_plausible_mimetype(m.trim())),
            filename,
        })
    }

    /// The download request: always by direct path from the session's own
    /// media hosts.
    fn params(&self) -> Option<DownloadParams> {
        let bytes = |s: &Option<String>| s.as_deref().and_then(|s| B64.decode(s).ok());
        Some(DownloadParams {
            direct_path: self.direct_path.clone().filter(|p| p.starts_with('/'))?,
            media_key: bytes(&self.media_key),
            file_sha256: bytes(&self.file_sha256)?,
            file_enc_sha256: bytes(&self.file_enc_sha256),
            file_length: self.file_length.unwrap_or(0),
            media_type: self.kind.media_type(),
        })
    }

    fn declared_mimetype(&self) -> String {
        self.mimetype
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into())
    }
}

impl Session {
    /// Records the download of a received message's file as a durable job
    /// and returns the file the message will have (stored with it now, so
    /// its `message.received` event already names the file's URL). `None`
    /// when the message carries no file or is already stored.
    pub(crate) async fn plan_incoming_media(
        &self,
        message: &wa::Message,
        wa_id: &str,
        chat_id: &str,
    ) -> Result<Option<MediaFile>, EngineError> {
        if self
            .shared
            .store
            .get_message(&self.id, wa_id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let Some(source) = Source::of(message) else {
            return Ok(None);
        };
        let mimetype = source.declared_mimetype();
        let file_id = new_file_id();
        let at = now_ms();
        let job = self
            .shared
            .store
            .add_incoming_media(&IncomingMediaJob {
                session_id: self.id.clone(),
                wa_id: wa_id.to_string(),
                chat_id: chat_id.to_string(),
                path: file_path(&self.id, &file_id, &mimetype),
                file_id,
                source: serde_json::to_string(&source).unwrap_or_default(),
                attempts: 0,
                next_at: at,
                created_at: at,
            })
            .await?;
        Ok(Some(MediaFile {
            file_id: job.file_id,
            mimetype,
            filename: source.filename,
            size: source.file_length.unwrap_or(0) as i64,
            path: job.path,
        }))
    }
}

/// What the download pool needs of the sessions' owner (the
/// [`crate::SessionManager`], which starts the pool and implements this):
/// the pool does not know the manager, only these.
pub(crate) trait SessionSource: Send + Sync + 'static {
    fn store(&self) -> &Store;
    fn config(&self) -> &EngineConfig;
    /// Notified when a new download is due.
    fn incoming_wake(&self) -> Arc<tokio::sync::Notify>;
    /// The session `id`, running or not.
    fn get(&self, id: &str) -> impl Future<Output = Result<Arc<Session>, EngineError>> + Send;
    /// Whether the session runs on this node (in a cluster, another node
    /// downloads what its sessions received).
    fn runs_here(&self, _id: &str) -> bool {
        true
    }
}

/// The download pool: runs while its owner lives.
pub(crate) async fn run<M: SessionSource>(manager: Weak<M>) {
    let Some(workers) = manager
        .upgrade()
        .map(|m| m.config().media.incoming_workers.max(1))
    else {
        return;
    };
    let slots = Arc::new(Semaphore::new(workers));
    let busy: Arc<Mutex<HashSet<(String, String)>>> = Default::default();
    loop {
        let Some(m) = manager.upgrade() else { return };
        let wake = m.incoming_wake();
        match m.store().due_incoming_media(now_ms(), 100).await {
            Ok(jobs) => {
                for job in jobs {
                    if !m.runs_here(&job.session_id) {
                        continue;
                    }
                    let key = (job.session_id.clone(), job.wa_id.clone());
                    if !busy
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key.clone())
                    {
                        continue;
                    }
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let (m, busy) = (m.clone(), busy.clone());
                    tokio::spawn(async move {
                        settle(m.as_ref(), job).await;
                        busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                        drop(permit);
                    });
                }
            }
            Err(e) => warn!("cannot read received media jobs: {e}"),
        }
        drop(m);
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One job, from claim to settled (or postponed).
async fn settle(manager: &impl SessionSource, job: IncomingMediaJob) {
    let store = manager.store();
    let session = match manager.get(&job.session_id).await {
        Ok(s) => s,
        Err(EngineError::SessionNotFound) => {
            let _ = store
                .remove_incoming_media(&job.session_id, &job.wa_id)
                .await;
            return;
        }
        Err(e) => {
            warn!(session = %job.session_id, "received media waits: {e}");
            postpone(manager, &job, job.attempts, NOT_CONNECTED_WAIT_MS).await;
            return;
        }
    };
    let client = match session.live().status {
        SessionStatus::Ready => session.client().await,
        _ => None,
    };
    let Some(client) = client else {
        postpone(manager, &job, job.attempts, NOT_CONNECTED_WAIT_MS).await;
        return;
    };
    let config = &manager.config().media;
    let outcome = match serde_json::from_str::<Source>(&job.source) {
        Ok(source) => download(&client, config, &job, &source)
            .await
            .map(|got| (source, got)),
        Err(_) => Err(OutboundError::invalid_url(
            "the media reference is unreadable",
        )),
    };
    match outcome {
        Ok((source, (size, mimetype))) => {
            let file = MediaFile {
                file_id: job.file_id.clone(),
                mimetype,
                filename: source.filename,
                size: size as i64,
                path: job.path.clone(),
            };
            if let Err(e) = store
                .set_message_media_stored(&job.session_id, &file.file_id, &file.mimetype, file.size)
                .await
            {
                warn!(session = %job.session_id, "cannot record received media: {e}");
                postpone(manager, &job, job.attempts, NOT_CONNECTED_WAIT_MS).await;
                return;
            }
            debug!(session = %job.session_id, size, "received media stored");
            finish(&session, &job, Some(&file), None).await;
        }
        Err(e) if e.reason.is_transient() && job.attempts + 1 < MAX_ATTEMPTS => {
            debug!(session = %job.session_id, reason = %e.reason, "received media: retrying");
            let wait = RETRY_AFTER_MS[(job.attempts as usize).min(RETRY_AFTER_MS.len() - 1)];
            postpone(manager, &job, job.attempts + 1, wait).await;
        }
        Err(e) => {
            warn!(session = %job.session_id, reason = %e.reason, "received media refused or lost");
            if let Err(e) = store
                .clear_message_media(&job.session_id, &job.file_id)
                .await
            {
                warn!(session = %job.session_id, "cannot clear received media: {e}");
                return;
            }
            finish(&session, &job, None, Some(&e)).await;
        }
    }
}

async fn postpone(
    manager: &impl SessionSource,
    job: &IncomingMediaJob,
    attempts: i64,
    wait_ms: i64,
) {
    if let Err(e) = manager
        .store()
        .postpone_incoming_media(&job.session_id, &job.wa_id, attempts, now_ms() + wait_ms)
        .await
    {
        warn!(session = %job.session_id, "cannot postpone received media: {e}");
    }
}

/// Emits `message.media` and forgets the job.
async fn finish(
    session: &Session,
    job: &IncomingMediaJob,
    file: Option<&MediaFile>,
    failure: Option<&OutboundError>,
) {
    let store = &session.shared.store;
    let from_me = match store.get_message(&job.session_id, &job.wa_id).await {
        Ok(Some(m)) => m.from_me,
        _ => false,
    };
    let chat_api = ChatId::api_from_jid(&job.chat_id);
    let id = wagate_core::ids::message_id(from_me, &chat_api, &job.wa_id);
    let data = json!({
        "id": id,
        "messageId": id,
        "chatId": chat_api,
        "fromMe": from_me,
        "status": if file.is_some() { MediaStatus::Stored } else { MediaStatus::Failed },
        "media": file.map(|f| media_json(&job.session_id, f)),
        "reason": failure.map(|e| e.reason.as_str()),
        "error": failure.map(|e| e.message.clone()),
    });
    session
        .emit(wagate_core::EventKind::MessageMedia, data)
        .await;
    if let Err(e) = store
        .remove_incoming_media(&job.session_id, &job.wa_id)
        .await
    {
        warn!(session = %job.session_id, "cannot forget a settled media job: {e}");
    }
}

/// Downloads, decrypts and keeps the file; returns its size and mimetype.
async fn download(
    client: &Client,
    config: &MediaConfig,
    job: &IncomingMediaJob,
    source: &Source,
) -> Result<(u64, String), OutboundError> {
    let cap = config.incoming_limit(source.kind);
    if let Some(len) = source.file_length
        && len > cap
    {
        return Err(OutboundError::too_large(len, cap));
    }
    let Some(params) = source.params() else {
        return Err(OutboundError::invalid_url(
            "the message names no WhatsApp media path",
        ));
    };
    let tmp_dir = config.dir.join(".incoming");
    let tmp = tmp_dir.join(format!("{}.{}.part", job.file_id, job.attempts));
    let file = tokio::task::spawn_blocking({
        let tmp = tmp.clone();
        move || {
            std::fs::create_dir_all(&tmp_dir)?;
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&tmp)
        }
    })
    .await
    .map_err(|_| OutboundError::unreachable())?
    .map_err(|e| {
        warn!("cannot create a file for received media: {e}");
        OutboundError::unreachable()
    })?;
    let writer = CappedFile {
        out: BufWriter::with_capacity(64 * 1024, file),
        written: 0,
        cap,
    };
    let result =
        tokio::time::timeout(DOWNLOAD_TIMEOUT, client.download_to_writer(&params, writer)).await;
    let writer = match result {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => {
            let _ = std::fs::remove_file(&tmp);
            let over = e.chain().any(|c| c.to_string().contains(OVER_CAP));
            return Err(if over {
                OutboundError::too_large(cap + 1, cap)
            } else {
                debug!("received media download failed: {e:#}");
                OutboundError::unreachable()
            });
        }
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(OutboundError::timeout());
        }
    };
    let size = writer.written;
    let head = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(|_| OutboundError::unreachable())?
        .map_err(|_| OutboundError::unreachable())?;
    let mimetype = source
        .mimetype
        .clone()
        .or_else(|| sniff(&head).map(str::to_owned))
        .unwrap_or_else(|| "application/octet-stream".into());
    if let Err(e) = config.store.put_file(&job.path, &tmp).await {
        warn!(session = %job.session_id, "cannot store received media: {e}");
        return Err(OutboundError::unreachable());
    }
    Ok((size, mimetype))
}

/// A temporary file that refuses to grow past the cap, so a sender's lie
/// about the length costs at most the cap on disk.
struct CappedFile {
    out: BufWriter<std::fs::File>,
    written: u64,
    cap: u64,
}

impl CappedFile {
    /// Flushes and returns the file's first bytes (for sniffing).
    fn finish(mut self) -> std::io::Result<Vec<u8>> {
        self.out.flush()?;
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        let mut head = Vec::with_capacity(64);
        file.take(64).read_to_end(&mut head)?;
        Ok(head)
    }
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.cap {
            return Err(std::io::Error::other(OVER_CAP));
        }
        let n = self.out.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Seek for CappedFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.out.seek(pos)
    }
}

impl DownloadWriter for CappedFile {
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().set_len(len)?;
        self.written = len;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
