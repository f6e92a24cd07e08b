//! Media: sending images, videos, audio, documents and stickers, and keeping
//! the media of received messages.
//!
//! - [`MediaConfig`]: per-type size limits (`MAX_FILE_SIZE_*_MB`) and where
//!   files are kept (`MEDIA_DIR`, default `DATA_DIR/media`);
//! - [`sniff`]: the mimetype of a file from its first bytes, never from what
//!   a client claims;
//! - [`MediaSource`]: a client's file, its bytes or a URL downloaded
//!   through the outbound guard (`wagate-outbound`: no internal address, redirects re-checked, a size
//!   cap enforced while the body streams in; never through the engine's own
//!   HTTP client);
//! - [`MediaConfig::stage`]: check a client's file and keep it, ready for the
//!   send queue; the file deletes itself unless the queue keeps it
//!   ([`StagedMedia::keep`]), so no error path has to clean up;
//! - [`Session::send_media`]: upload a staged file, send, store and emit
//!   `message.sent`;
//! - received files: [`crate::incoming`] downloads them off the ack path
//!   into `<session>/<file id>.<ext>` in the media storage ([`MediaStore`]:
//!   `MEDIA_DIR`, or an S3 bucket).
//!
//! File ids are random; the files endpoint looks them up in the database, so
//! a path is never built from client input.
//!
//! Rooms: [`kind`] (kinds, sniffing, extensions), [`fetch`] (where a client's
//! file comes from), [`stage`] (checking and keeping a client's
//! file for the queue), [`send`] (uploading and sending a staged file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use wagate_core::{ChatId, MessageKind, MessageStatus, MessageType, now_ms};
use wagate_store::app::{MediaFile, NewMessage};
use whatsapp_rust::download::MediaType;
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::upload::UploadResponse;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, UploadOptions, buffa};

use wagate_outbound::{Outbound, Reason};

use crate::error::EngineError;
use crate::media_store::{MediaStore, S3Settings};
use crate::session::{SentMessage, Session};

mod fetch;
mod kind;
mod send;
mod stage;

pub use fetch::*;
pub use kind::*;
pub use stage::*;

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

pub use crate::error::MediaError;

/// The contract's `media` object of a message.
pub fn media_json(session_id: &str, file: &MediaFile) -> serde_json::Value {
    serde_json::json!({
        "mimetype": file.mimetype,
        "filename": file.filename,
        "size": file.size,
        "url": format!("/api/sessions/{session_id}/files/{}", file.file_id),
    })
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
