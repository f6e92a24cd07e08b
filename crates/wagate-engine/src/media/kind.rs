//! The media kinds the API sends, and what a file is by its first bytes
//! (never by what a client claims).

use wagate_core::MessageKind;
use whatsapp_rust::download::MediaType;

use crate::error::MediaError;

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
