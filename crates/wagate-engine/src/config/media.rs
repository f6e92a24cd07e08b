//! Media settings: per-type size limits (`MAX_FILE_SIZE_*_MB`), where files
//! are kept (`MEDIA_DIR`, `MEDIA_STORAGE` and the `S3_*` settings), and
//! received files' cap and workers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wagate_store::app::MediaFile;

use crate::media::kind::MediaKind;
use crate::media_store::{MediaStore, S3Settings};

pub(crate) const MB: u64 = 1024 * 1024;
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
