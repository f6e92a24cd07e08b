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

use wagate_core::{ChatId, MessageStatus, MessageType, now_ms};
use wagate_store::app::{MediaFile, NewMessage};
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::upload::UploadResponse;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, UploadOptions, buffa};

use wagate_outbound::{Outbound, Reason};

use crate::error::EngineError;
use crate::media_store::MediaStore;
use crate::session::{SentMessage, Session};

mod fetch;
pub(crate) mod kind;
pub mod object;
mod send;
mod stage;

pub use fetch::*;
pub use kind::*;
pub use object::media_json;
pub use stage::*;

pub(crate) use send::build_message;

pub use crate::config::media::{MediaConfig, STICKER_MAX_BYTES, URL_DOWNLOAD_TIMEOUT};

pub use crate::error::MediaError;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::media::MB;
    use std::path::{Path, PathBuf};

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
