//! Where a client's file comes from ([`MediaSource`]: its bytes, or a URL
//! fetched through the outbound guard) and the file as read from the
//! request. Single sends and bulk sends read their files here, so a URL is
//! fetched by one piece of code under one set of rules.

use super::*;

/// Where a client's file is: the bytes it sent, or a URL to download.
#[derive(Debug)]
pub enum MediaSource {
    Bytes(Vec<u8>),
    Url(String),
}

impl MediaSource {
    /// The file's bytes. A URL is downloaded here (and nowhere else),
    /// within the limit of `kind`.
    pub async fn read(
        self,
        config: &MediaConfig,
        outbound: &Outbound,
        kind: MediaKind,
    ) -> Result<Vec<u8>, MediaError> {
        match self {
            MediaSource::Bytes(bytes) => Ok(bytes),
            MediaSource::Url(url) => fetch_url(outbound, &url, config.limit(kind), kind).await,
        }
    }
}

/// Downloads a client-given `url` through the outbound guard (no internal
/// address, every redirect hop checked, the size cap enforced while the body
/// streams in). A body over the cap is [`MediaError::TooLarge`]; every other
/// failure is [`MediaError::DownloadFailed`] with its class.
async fn fetch_url(
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
