//! Media: sending images, videos, audio, documents and stickers, and keeping
//! the media of received messages.
//!
//! - [`MediaConfig`]: per-type size limits (`MAX_FILE_SIZE_*_MB`) and where
//!   files are kept (`MEDIA_DIR`, default `DATA_DIR/media`);
//! - [`sniff`]: the mimetype of a file from its first bytes, never from what
//!   a client claims;
//! - [`fetch_url`]: downloads a client-given URL through the outbound guard
//!   (`wagate-outbound`: no internal address, redirects re-checked, a size
//!   cap enforced while the body streams in; never through the engine's own
//!   HTTP client);
//! - [`MediaConfig::stage`]: check a client's file and keep it, ready for the
//!   send queue;
//! - [`Session::send_media`]: upload a staged file, send, store and emit
//!   `message.sent`;
//! - received files: [`crate::incoming`] downloads them off the ack path
//!   into `<session>/<file id>.<ext>` in the media storage ([`MediaStore`]:
//!   `MEDIA_DIR`, or an S3 bucket).
//!
//! File ids are random; the files endpoint looks them up in the database, so
//! a path is never built from client input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wagate_core::{ChatId, MessageKind, MessageStatus, MessageType, now_ms};
use wagate_store::app::{MediaFile, NewMessage};
use whatsapp_rust::download::MediaType;
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::upload::UploadResponse;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, UploadOptions, buffa};

use wagate_outbound::{Outbound, OutboundError, Reason};

use crate::error::EngineError;
use crate::media_store::{MediaStore, S3Settings};
use crate::session::{SentMessage, Session};

const MB: u64 = 1024 * 1024;
/// Stickers: the contract's 500 KB.
pub const STICKER_MAX_BYTES: u64 = 500 * 1024;
/// How long downloading a client-given URL may take in all.
pub const URL_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Size limits and the media directory.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    pub max_image_bytes: u64,
    pub max_video_bytes: u64,
    pub max_audio_bytes: u64,
    pub max_document_bytes: u64,
    /// Where local files live: `<dir>/<session id>/<file id>.<ext>`.
    pub dir: PathBuf,
    /// Where files are kept (`MEDIA_STORAGE`): `dir` by default, or S3.
    pub store: MediaStore,
    /// `INCOMING_MEDIA_MAX_MB`: one cap for every received file; `None`
    /// caps received files by the per-type limits above.
    pub incoming_max_bytes: Option<u64>,
    /// `INCOMING_MEDIA_WORKERS`: received files downloaded at once.
    pub incoming_workers: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_image_bytes: 5 * MB,
            max_video_bytes: 16 * MB,
            max_audio_bytes: 16 * MB,
            max_document_bytes: 100 * MB,
            dir: PathBuf::from("./data/media"),
            store: MediaStore::local("./data/media"),
            incoming_max_bytes: None,
            incoming_workers: 2,
        }
    }
}

impl MediaConfig {
    /// Reads `MAX_FILE_SIZE_{IMAGE,VIDEO,AUDIO,DOCUMENT}_MB`, `MEDIA_DIR`
    /// (default `<data_dir>/media`), `MEDIA_STORAGE` (`local` or `s3`,
    /// with the `S3_*` settings), `INCOMING_MEDIA_MAX_MB` and
    /// `INCOMING_MEDIA_WORKERS`.
    pub fn from_env(data_dir: &Path) -> Result<MediaConfig, String> {
        Self::from_lookup(data_dir, |k| std::env::var(k).ok())
    }

    pub fn from_lookup(
        data_dir: &Path,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<MediaConfig, String> {
        let d = MediaConfig::default();
        let mb = |name: &str, default: u64| -> Result<u64, String> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default * MB),
                Some(v) => match v.trim().parse::<u64>().ok().and_then(|n| n.checked_mul(MB)) {
                    Some(n) if n >= MB => Ok(n),
                    _ => Err(format!(
                        "{name} must be a whole number of megabytes (at least 1), not '{v}'"
                    )),
                },
            }
        };
        let dir = get("MEDIA_DIR")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("media"));
        let storage = get("MEDIA_STORAGE").map(|v| v.trim().to_ascii_lowercase());
        let store = match storage.as_deref() {
            None | Some("") | Some("local") => MediaStore::local(&dir),
            Some("s3") => MediaStore::s3(&S3Settings::from_lookup(&get)?)?,
            Some(other) => {
                return Err(format!("MEDIA_STORAGE must be local or s3, not '{other}'"));
            }
        };
        let incoming_max_bytes = match get("INCOMING_MEDIA_MAX_MB").filter(|v| !v.trim().is_empty())
        {
            None => None,
            Some(_) => Some(mb("INCOMING_MEDIA_MAX_MB", 0)?),
        };
        let incoming_workers = match get("INCOMING_MEDIA_WORKERS").filter(|v| !v.trim().is_empty())
        {
            None => d.incoming_workers,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "INCOMING_MEDIA_WORKERS must be a whole number from 1 to 64, not '{v}'"
                    ));
                }
            },
        };
        Ok(MediaConfig {
            incoming_max_bytes,
            incoming_workers,
            max_image_bytes: mb("MAX_FILE_SIZE_IMAGE_MB", d.max_image_bytes / MB)?,
            max_video_bytes: mb("MAX_FILE_SIZE_VIDEO_MB", d.max_video_bytes / MB)?,
            max_audio_bytes: mb("MAX_FILE_SIZE_AUDIO_MB", d.max_audio_bytes / MB)?,
            max_document_bytes: mb("MAX_FILE_SIZE_DOCUMENT_MB", d.max_document_bytes / MB)?,
            dir,
            store,
        })
    }

    /// The largest file of `kind` accepted, in bytes.
    pub fn limit(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.max_image_bytes,
            MediaKind::Video => self.max_video_bytes,
            MediaKind::Audio => self.max_audio_bytes,
            MediaKind::Document => self.max_document_bytes,
            MediaKind::Sticker => STICKER_MAX_BYTES,
        }
    }

    /// The largest received file of `kind` kept.
    pub fn incoming_limit(&self, kind: MediaKind) -> u64 {
        self.incoming_max_bytes.unwrap_or_else(|| self.limit(kind))
    }

    /// The largest file of any kind (for request body limits).
    pub fn largest(&self) -> u64 {
        [
            self.max_image_bytes,
            self.max_video_bytes,
            self.max_audio_bytes,
            self.max_document_bytes,
            STICKER_MAX_BYTES,
        ]
        .into_iter()
        .max()
        .unwrap_or(STICKER_MAX_BYTES)
    }

    /// Where a stored file would be in the local directory, from its
    /// database path (the storage itself: [`MediaConfig::store`]).
    pub fn path_of(&self, file: &MediaFile) -> PathBuf {
        self.dir.join(&file.path)
    }
}

/// What went wrong with a file a client gave.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the {kind} is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        kind: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("{0}")]
    InvalidFormat(String),
    /// The URL could not be fetched; the class (`forbidden_address`,
    /// `timeout`, `http_status`, …) is what the client is told.
    #[error("could not download the media ({reason}): {0}", reason = .0.reason)]
    DownloadFailed(OutboundError),
}

/// The media types the API sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl MediaKind {
    /// The kind of message a file of this kind is sent as.
    pub fn message_kind(self) -> MessageKind {
        match self {
            MediaKind::Image => MessageKind::Image,
            MediaKind::Video => MessageKind::Video,
            MediaKind::Audio => MessageKind::Audio,
            MediaKind::Document => MessageKind::Document,
            MediaKind::Sticker => MessageKind::Sticker,
        }
    }

    /// The kind's name (`image`, …), as the API and error messages say it.
    pub fn name(self) -> &'static str {
        self.message_kind().as_str()
    }

    pub(crate) fn media_type(self) -> MediaType {
        match self {
            MediaKind::Image => MediaType::Image,
            MediaKind::Video => MediaType::Video,
            MediaKind::Audio => MediaType::Audio,
            MediaKind::Document => MediaType::Document,
            MediaKind::Sticker => MediaType::Sticker,
        }
    }

    /// The mimetype a file of this kind is sent with, given what its bytes
    /// look like (`sniffed`) and what the client declared; an error when the
    /// format is not one the contract supports for this kind.
    pub fn accept(
        self,
        sniffed: Option<&'static str>,
        declared: Option<&str>,
    ) -> Result<String, MediaError> {
        let bad = |what: &str| {
            MediaError::InvalidFormat(format!(
                "unsupported {} format ({what}); supported: {}",
                self.name(),
                self.supported()
            ))
        };
        let Some(sniffed) = sniffed else {
            if self == MediaKind::Document {
                let declared = declared
                    .map(str::trim)
                    .filter(|d| is_plausible_mimetype(d))
                    .unwrap_or("application/octet-stream");
                return Ok(declared.to_string());
            }
            return Err(bad("unrecognised content"));
        };
        let ok = match self {
            MediaKind::Image => matches!(
                sniffed,
                "image/jpeg" | "image/png" | "image/webp" | "image/gif"
            ),
            MediaKind::Video => matches!(
                sniffed,
                "video/mp4" | "video/3gpp" | "video/x-msvideo" | "video/x-matroska"
            ),
            MediaKind::Audio => matches!(
                sniffed,
                "audio/mpeg" | "audio/ogg" | "audio/mp4" | "audio/amr" | "audio/wav" | "video/mp4"
            ),
            MediaKind::Sticker => sniffed == "image/webp",
            MediaKind::Document => true,
        };
        if !ok {
            return Err(bad(sniffed));
        }
        // An .m4a with a generic MP4 brand is still audio.
        if self == MediaKind::Audio && sniffed == "video/mp4" {
            return Ok("audio/mp4".into());
        }
        Ok(sniffed.to_string())
    }

    fn supported(self) -> &'static str {
        match self {
            MediaKind::Image => "JPEG, PNG, WebP, GIF",
            MediaKind::Video => "MP4, 3GP, AVI, MKV",
            MediaKind::Audio => "MP3, OGG, M4A, AMR, WAV",
            MediaKind::Document => "any",
            MediaKind::Sticker => "WebP",
        }
    }
}

pub(crate) fn is_plausible_mimetype(s: &str) -> bool {
    let Some((top, sub)) = s.split_once('/') else {
        return false;
    };
    let token = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(
        top,
        "application" | "audio" | "font" | "image" | "model" | "text" | "video" // not vocabulary: mimetype top-level types
    ) && token(sub.split(';').next().unwrap_or_default().trim())
}

/// The mimetype of a file from its magic bytes, for the formats the
/// contract names. `None` when it is none of them.
pub fn sniff(b: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| b.starts_with(p);
    let at = |i: usize, p: &[u8]| b.len() >= i + p.len() && &b[i..i + p.len()] == p;
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("image/gif");
    }
    if starts(b"RIFF") && at(8, b"WEBP") {
        return Some("image/webp");
    }
    if starts(b"RIFF") && at(8, b"WAVE") {
        return Some("audio/wav");
    }
    if starts(b"RIFF") && at(8, b"AVI ") {
        return Some("video/x-msvideo");
    }
    if at(4, b"ftyp") {
        return Some(if at(8, b"M4A ") || at(8, b"M4B ") {
            "audio/mp4"
        } else if at(8, b"3gp") || at(8, b"3g2") {
            "video/3gpp"
        } else {
            "video/mp4"
        });
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("video/x-matroska");
    }
    if starts(b"OggS") {
        return Some("audio/ogg");
    }
    if starts(b"#!AMR") {
        return Some("audio/amr");
    }
    if starts(b"ID3") || (b.len() >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0) {
        return Some("audio/mpeg");
    }
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if starts(b"PK\x03\x04") {
        return Some("application/zip");
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Some("application/x-ole-storage");
    }
    None
}

/// A file extension for a mimetype (for stored files and default names).
pub fn extension(mimetype: &str) -> &'static str {
    match mimetype.split(';').next().unwrap_or_default().trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "video/x-msvideo" => "avi",
        "video/x-matroska" => "mkv",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "audio/mp4" => "m4a",
        "audio/amr" => "amr",
        "audio/wav" => "wav",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// Downloads a client-given `url` through the outbound guard (no internal
/// address, every redirect hop checked, the size cap enforced while the body
/// streams in). A body over the cap is [`MediaError::TooLarge`]; every other
/// failure is [`MediaError::DownloadFailed`] with its class.
pub async fn fetch_url(
    outbound: &Outbound,
    url: &str,
    cap: u64,
    kind: MediaKind,
) -> Result<Vec<u8>, MediaError> {
    match outbound.fetch(url, cap, URL_DOWNLOAD_TIMEOUT).await {
        Ok(body) => Ok(body),
        Err(e) if e.reason == Reason::TooLarge => Err(MediaError::TooLarge {
            kind: kind.name(),
            size: e.size.unwrap_or(cap + 1),
            limit: cap,
        }),
        Err(e) => Err(MediaError::DownloadFailed(e)),
    }
}

/// A file to send, already read from the client.
#[derive(Debug)]
pub struct OutgoingMedia {
    pub kind: MediaKind,
    pub bytes: Vec<u8>,
    /// What the client said it is (used only for documents whose bytes are
    /// not recognised).
    pub declared_mimetype: Option<String>,
    pub caption: Option<String>,
    /// Documents: the name shown to the recipient.
    pub filename: Option<String>,
    /// Audio: send as a voice note.
    pub ptt: bool,
    /// Video: play as a GIF.
    pub gif_playback: bool,
}

impl OutgoingMedia {
    /// Checks size and format; returns the mimetype to send with.
    pub fn check(&self, config: &MediaConfig) -> Result<String, MediaError> {
        let limit = config.limit(self.kind);
        let size = self.bytes.len() as u64;
        if size > limit {
            return Err(MediaError::TooLarge {
                kind: self.kind.name(),
                size,
                limit,
            });
        }
        if self.bytes.is_empty() {
            return Err(MediaError::InvalidFormat(format!(
                "the {} is empty",
                self.kind.name()
            )));
        }
        self.kind
            .accept(sniff(&self.bytes), self.declared_mimetype.as_deref())
    }
}

pub(crate) fn new_file_id() -> String {
    format!("f{:032x}", rand::random::<u128>())
}

/// Where file `file_id` of `session_id` is kept: `<session>/<id>.<ext>`.
pub(crate) fn file_path(session_id: &str, file_id: &str, mimetype: &str) -> String {
    // Session ids are generated by the gateway, but keep the directory name
    // to safe characters anyway.
    let dir_name: String = session_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    format!("{dir_name}/{file_id}.{}", extension(mimetype))
}

/// Writes `bytes` as a new file of `session_id` and returns its record.
async fn write_file(
    config: &MediaConfig,
    session_id: &str,
    bytes: Vec<u8>,
    mimetype: &str,
    filename: Option<String>,
) -> std::io::Result<MediaFile> {
    let file_id = new_file_id();
    let rel = file_path(session_id, &file_id, mimetype);
    let size = bytes.len() as i64;
    config.store.put(&rel, bytes::Bytes::from(bytes)).await?;
    Ok(MediaFile {
        file_id,
        mimetype: mimetype.to_string(),
        filename,
        size,
        path: rel,
    })
}

/// The contract's `media` object of a message.
pub fn media_json(session_id: &str, file: &MediaFile) -> serde_json::Value {
    serde_json::json!({
        "mimetype": file.mimetype,
        "filename": file.filename,
        "size": file.size,
        "url": format!("/api/sessions/{session_id}/files/{}", file.file_id),
    })
}

/// A file checked and kept in the media storage, waiting in the send
/// queue. Serialised into the queued job, so it survives a restart.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedMedia {
    pub kind: MediaKind,
    pub mimetype: String,
    pub caption: Option<String>,
    /// Documents: the name shown to the recipient.
    pub filename: Option<String>,
    pub ptt: bool,
    pub gif_playback: bool,
    /// The history's copy (what is uploaded when the message goes out).
    pub file_id: String,
    pub path: String,
    pub size: i64,
    /// SHA-256 of the bytes, hex (part of a request's fingerprint).
    pub sha256: String,
}

impl StagedMedia {
    pub fn file(&self) -> MediaFile {
        MediaFile {
            file_id: self.file_id.clone(),
            mimetype: self.mimetype.clone(),
            filename: self.filename.clone(),
            size: self.size,
            path: self.path.clone(),
        }
    }

    /// The type the history and events give a message carrying this file.
    pub fn msg_type(&self) -> MessageType {
        match self.kind {
            MediaKind::Audio if self.ptt => MessageType::Ptt,
            MediaKind::Audio => MessageType::Audio,
            MediaKind::Image => MessageType::Image,
            MediaKind::Video => MessageType::Video,
            MediaKind::Document => MessageType::Document,
            MediaKind::Sticker => MessageType::Sticker,
        }
    }
}

impl MediaConfig {
    /// Checks a file a client gave (size, format) and keeps it in the media
    /// storage, ready to be queued.
    pub async fn stage(
        &self,
        session_id: &str,
        media: OutgoingMedia,
    ) -> Result<StagedMedia, EngineError> {
        use sha2::Digest;
        let mimetype = media.check(self)?;
        let filename = match media.kind {
            MediaKind::Document => Some(
                media
                    .filename
                    .clone()
                    .unwrap_or_else(|| format!("document.{}", extension(&mimetype))),
            ),
            _ => None,
        };
        let sha256 = hex::encode(sha2::Sha256::digest(&media.bytes));
        let file = write_file(self, session_id, media.bytes, &mimetype, filename.clone())
            .await
            .map_err(|e| EngineError::Engine(format!("could not keep the file: {e}")))?;
        Ok(StagedMedia {
            kind: media.kind,
            mimetype,
            caption: media.caption,
            filename,
            ptt: media.ptt,
            gif_playback: media.gif_playback,
            file_id: file.file_id,
            path: file.path,
            size: file.size,
            sha256,
        })
    }

    /// Deletes a staged file that will never be sent.
    pub fn discard(&self, staged: &StagedMedia) {
        self.store.delete_soon(&staged.path);
    }
}

impl Session {
    /// Uploads and sends a staged file under the WhatsApp id `wa_id`,
    /// optionally quoting a stored message and mentioning people; stores the
    /// message (its file is the staged copy) and emits `message.sent` once.
    pub async fn send_media(
        &self,
        chat: &ChatId,
        media: &StagedMedia,
        quoted_wa_id: Option<&str>,
        mentions: &[ChatId],
        wa_id: &str,
    ) -> Result<SentMessage, EngineError> {
        let config = &self.shared.config.media;
        let client = self.ready_client().await?;
        let to: Jid = chat
            .jid()
            .parse()
            .map_err(|_| EngineError::InvalidChatId(chat.api()))?;
        self.ensure_recipient(&client, chat).await?;
        let context = self.context_info(&client, quoted_wa_id, mentions).await?;

        let bytes = config
            .store
            .get(&media.path)
            .await
            .map_err(|e| EngineError::Engine(format!("the queued file is gone: {e}")))?;
        let up = client
            .upload(bytes, media.kind.media_type(), UploadOptions::default())
            .await
            .map_err(|e| EngineError::SendFailed(format!("media upload: {e}")))?;
        let message = build_message(media, up, context);
        client
            .send_message_with_options(to, message, SendOptions::default().with_message_id(wa_id))
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;

        let timestamp_ms = now_ms();
        let own = client
            .pn()
            .map(|j| j.to_non_ad_string())
            .unwrap_or_default();
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: chat.jid(),
            wa_id: wa_id.to_string(),
            from_me: true,
            sender: own,
            recipient: chat.jid(),
            msg_type: media.msg_type(),
            body: media.caption.clone(),
            wa_timestamp: timestamp_ms / 1000,
            status: MessageStatus::Sent,
            quoted_id: quoted_wa_id.map(str::to_owned),
            push_name: None,
            media: Some(media.file()),
        };
        self.record_outgoing(&record, None).await?;
        Ok(SentMessage {
            wa_id: wa_id.to_string(),
            chat: chat.clone(),
            timestamp_ms,
        })
    }
}

fn build_message(
    media: &StagedMedia,
    up: UploadResponse,
    context: Option<wa::ContextInfo>,
) -> wa::Message {
    let ctx = context.map(buffa::MessageField::some).unwrap_or_default();
    let caption = media.caption.clone().filter(|c| !c.is_empty());
    let filename = media.filename.clone();
    let mimetype = if media.kind == MediaKind::Audio && media.ptt && media.mimetype == "audio/ogg" {
        "audio/ogg; codecs=opus".to_string()
    } else {
        media.mimetype.clone()
    };
    let mut message = wa::Message::default();
    match media.kind {
        MediaKind::Image => {
            message.image_message = buffa::MessageField::some(wa::message::ImageMessage {
                url: Some(up.url),
                direct_path: Some(up.direct_path),
                media_key: Some(up.media_key.to_vec()),
                file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
                file_sha256: Some(up.file_sha256.to_vec()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                mimetype: Some(mimetype),
                caption,
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Video => {
            message.video_message = buffa::MessageField::some(wa::message::VideoMessage {
                url: Some(up.url),
                direct_path: Some(up.direct_path),
                media_key: Some(up.media_key.to_vec()),
                file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
                file_sha256: Some(up.file_sha256.to_vec()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                streaming_sidecar: up.streaming_sidecar,
                mimetype: Some(mimetype),
                caption,
                gif_playback: media.gif_playback.then_some(true),
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Audio => {
            message.audio_message = buffa::MessageField::some(wa::message::AudioMessage {
                url: Some(up.url),
                direct_path: Some(up.direct_path),
                media_key: Some(up.media_key.to_vec()),
                file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
                file_sha256: Some(up.file_sha256.to_vec()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                streaming_sidecar: up.streaming_sidecar,
                mimetype: Some(mimetype),
                ptt: Some(media.ptt),
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Document => {
            message.document_message = buffa::MessageField::some(wa::message::DocumentMessage {
                url: Some(up.url),
                direct_path: Some(up.direct_path),
                media_key: Some(up.media_key.to_vec()),
                file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
                file_sha256: Some(up.file_sha256.to_vec()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                mimetype: Some(mimetype),
                title: filename.clone(),
                file_name: filename,
                caption,
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Sticker => {
            message.sticker_message = buffa::MessageField::some(wa::message::StickerMessage {
                url: Some(up.url),
                direct_path: Some(up.direct_path),
                media_key: Some(up.media_key.to_vec()),
                file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
                file_sha256: Some(up.file_sha256.to_vec()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                mimetype: Some(mimetype),
                context_info: ctx,
                ..Default::default()
            })
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_contract_formats() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"\0\0\0\x18ftypM4A \0\0"), Some("audio/mp4"));
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0"), Some("video/mp4"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("audio/ogg"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn kinds_accept_only_their_formats() {
        assert_eq!(
            MediaKind::Image.accept(Some("image/png"), None).unwrap(),
            "image/png"
        );
        assert!(matches!(
            MediaKind::Image.accept(Some("application/pdf"), None),
            Err(MediaError::InvalidFormat(_))
        ));
        assert!(MediaKind::Image.accept(None, Some("image/jpeg")).is_err());
        assert!(MediaKind::Sticker.accept(Some("image/png"), None).is_err());
        assert_eq!(
            MediaKind::Audio.accept(Some("video/mp4"), None).unwrap(),
            "audio/mp4"
        );
        assert_eq!(
            MediaKind::Document
                .accept(None, Some("text/plain"))
                .unwrap(),
            "text/plain"
        );
        assert_eq!(
            MediaKind::Document.accept(None, Some("../etc")).unwrap(),
            "application/octet-stream"
        );
    }

    #[test]
    fn limits_come_from_the_seed_names() {
        let c = MediaConfig::from_lookup(Path::new("/d"), |k| {
            (k == "MAX_FILE_SIZE_IMAGE_MB").then(|| "2".to_string())
        })
        .unwrap();
        assert_eq!(c.limit(MediaKind::Image), 2 * MB);
        assert_eq!(c.limit(MediaKind::Video), 16 * MB);
        assert_eq!(c.limit(MediaKind::Document), 100 * MB);
        assert_eq!(c.limit(MediaKind::Sticker), 500 * 1024);
        assert_eq!(c.dir, PathBuf::from("/d/media"));
        assert!(MediaConfig::from_lookup(Path::new("/d"), |_| Some("x".into())).is_err());
        let bad = MediaConfig::from_lookup(Path::new("/d"), |k| {
            (k == "MEDIA_STORAGE").then(|| "ftp".to_string())
        });
        assert!(bad.unwrap_err().contains("MEDIA_STORAGE"));
        let s3 = MediaConfig::from_lookup(Path::new("/d"), |k| {
            (k == "MEDIA_STORAGE").then(|| "s3".to_string())
        });
        assert!(s3.unwrap_err().contains("S3_BUCKET"));
        assert_eq!(c.store.local_dir(), Some(Path::new("/d/media")));
    }

    #[test]
    fn oversized_media_is_refused_before_sniffing() {
        let config = MediaConfig {
            max_image_bytes: 4,
            ..Default::default()
        };
        let m = OutgoingMedia {
            kind: MediaKind::Image,
            bytes: vec![0xFF, 0xD8, 0xFF, 0xE0, 0],
            declared_mimetype: None,
            caption: None,
            filename: None,
            ptt: false,
            gif_playback: false,
        };
        assert!(matches!(
            m.check(&config),
            Err(MediaError::TooLarge {
                size: 5,
                limit: 4,
                ..
            })
        ));
    }
}
