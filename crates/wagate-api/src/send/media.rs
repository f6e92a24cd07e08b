//! A media send: the request (JSON with a URL or base64, or
//! `multipart/form-data` with a `file` part), read within the limit of its
//! type while it streams in, and the job it becomes.
//!
//! Single sends, bulk items and the drop-in modes all turn a [`SendMedia`]
//! into a job here, so a caption, a file name or a URL follows one set of
//! rules wherever it comes from.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use serde::Deserialize;
use utoipa::ToSchema;
use wagate_core::ChatId;
use wagate_engine::EngineError;
use wagate_engine::media::{MediaKind, MediaSource, OutgoingMedia};
use wagate_engine::queue::SendJob;

use super::{
    SendOptionsDto, check_caption, check_filename, decode_base64, parse_chat_id, too_large,
};
use crate::error::ApiError;
use crate::state::AppState;

/// Largest non-file multipart field.
const FIELD_MAX_BYTES: usize = 64 * 1024;
/// Most multipart fields in one request.
const MAX_FIELDS: usize = 32;
/// Room for the JSON around a base64 file.
const JSON_OVERHEAD: usize = 256 * 1024;

/// Where a file comes from: a URL the gateway downloads, or the bytes as a
/// base64 data URL (`data:image/jpeg;base64,…`) or plain base64.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaSourceDto {
    #[schema(example = "https://example.com/image.jpg")]
    pub url: Option<String>,
    #[schema(example = "data:image/jpeg;base64,/9j/4AAQ...")]
    pub base64: Option<String>,
    /// A hint only: the format is sniffed from the bytes (used for
    /// documents whose bytes are not recognised).
    pub mimetype: Option<String>,
}

/// The body of every send-media route. The file goes in the field named
/// after the route's type (`image`, `video`, `audio`, `document`,
/// `sticker`). As `multipart/form-data`: a `file` part plus the other
/// fields as text parts (`mentionedIds` comma-separated).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMedia {
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    pub image: Option<MediaSourceDto>,
    pub video: Option<MediaSourceDto>,
    pub audio: Option<MediaSourceDto>,
    pub document: Option<MediaSourceDto>,
    pub sticker: Option<MediaSourceDto>,
    /// Images, videos and documents; at most 1024 characters.
    pub caption: Option<String>,
    /// Audio: send as a voice note.
    #[serde(default)]
    pub ptt: bool,
    /// Video: play as a GIF.
    #[serde(default)]
    pub gif_playback: bool,
    /// Documents: the file name shown (at most 100 characters).
    pub filename: Option<String>,
    #[serde(default)]
    pub options: SendOptionsDto,
}

/// When a file given by URL is downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlFetch {
    /// Before the request is answered (single sends: a bad URL is the
    /// request's error).
    Now,
    /// When the message goes (bulk sends: a hundred files are not
    /// downloaded while the client waits).
    AtSend,
}

/// A client's file and the type it claimed, once read.
pub struct ClientFile {
    pub source: MediaSource,
    pub declared_mimetype: Option<String>,
}

/// The file a client gave in the field of `kind` (`image`, `video`, …;
/// `None` when it gave none): a URL, or base64 decoded within `limit`.
pub fn client_file(
    dto: Option<MediaSourceDto>,
    kind: MediaKind,
    limit: u64,
) -> Result<ClientFile, ApiError> {
    let missing = || {
        ApiError::validation(format!(
            "give the file as `{}`: {{\"url\": …}} or {{\"base64\": …}}",
            kind.name()
        ))
    };
    let dto = dto.ok_or_else(missing)?;
    let source = match (dto.url, dto.base64) {
        (Some(url), None) => MediaSource::Url(url),
        (None, Some(b64)) => MediaSource::Bytes(decode_base64(&b64, kind, limit)?),
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(format!(
                "give `{}` either a url or base64, not both",
                kind.name()
            )));
        }
        (None, None) => return Err(missing()),
    };
    Ok(ClientFile {
        source,
        declared_mimetype: dto.mimetype,
    })
}

impl SendMedia {
    /// Reads a send-media request of `kind`: JSON, or multipart when the
    /// request says so. The body is bounded by the limit of `kind`.
    pub async fn read(
        req: Request,
        state: &AppState,
        kind: MediaKind,
    ) -> Result<(SendMedia, ClientFile), ApiError> {
        let limit = state.manager.config().media.limit(kind);
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("multipart/form-data"));
        if is_multipart {
            read_multipart(req, state, kind, limit).await
        } else {
            read_json(req, kind, limit).await
        }
    }

    /// The file in the field of `kind` (`image`, `video`, …): a URL or
    /// base64, decoded within `limit`.
    pub fn take_file(&mut self, kind: MediaKind, limit: u64) -> Result<ClientFile, ApiError> {
        let dto = match kind {
            MediaKind::Image => self.image.take(),
            MediaKind::Video => self.video.take(),
            MediaKind::Audio => self.audio.take(),
            MediaKind::Document => self.document.take(),
            MediaKind::Sticker => self.sticker.take(),
        };
        client_file(dto, kind, limit)
    }

    /// The checked chat and the job to queue. The file is checked and
    /// staged for `session_id` (a URL downloaded first), or, with
    /// [`UrlFetch::AtSend`], a URL is kept to be downloaded when the
    /// message goes.
    pub async fn into_job(
        self,
        state: &AppState,
        session_id: &str,
        kind: MediaKind,
        file: ClientFile,
        fetch: UrlFetch,
    ) -> Result<(ChatId, SendJob), ApiError> {
        let chat = parse_chat_id(&self.chat_id)?;
        check_caption(self.caption.as_deref())?;
        check_filename(self.filename.as_deref())?;
        let mentions = self.options.mentions()?;
        let quoted = self.options.quoted();
        let simulate_typing = self.options.simulate_typing;
        if let (MediaSource::Url(url), UrlFetch::AtSend) = (&file.source, fetch) {
            let parsed = url::Url::parse(url)
                .map_err(|_| ApiError::validation(format!("'{url}' is not a URL")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ApiError::validation("media URLs must be http or https"));
            }
            let job = SendJob::MediaUrl {
                kind,
                url: url.clone(),
                caption: self.caption,
                filename: self.filename,
                ptt: self.ptt,
                gif_playback: self.gif_playback,
                quoted,
                mentions,
                simulate_typing,
            };
            return Ok((chat, job));
        }
        let config = state.manager.config();
        let bytes = file
            .source
            .read(&config.media, &config.outbound, kind)
            .await
            .map_err(EngineError::from)?;
        let media = OutgoingMedia {
            kind,
            bytes,
            declared_mimetype: file.declared_mimetype,
            caption: self.caption,
            filename: self.filename,
            ptt: self.ptt,
            gif_playback: self.gif_playback,
        };
        // Dropped before the queue commits it, the staged file deletes itself.
        let staged = config.media.stage(session_id, media).await?;
        let job = SendJob::Media {
            media: staged,
            quoted,
            mentions,
            simulate_typing,
        };
        Ok((chat, job))
    }
}

async fn read_json(
    req: Request,
    kind: MediaKind,
    limit: u64,
) -> Result<(SendMedia, ClientFile), ApiError> {
    // Base64 is 4/3 of the bytes; a body beyond that is a file beyond the limit.
    let cap = (limit as usize).saturating_mul(4) / 3 + JSON_OVERHEAD;
    let raw = match axum::body::to_bytes(req.into_body(), cap).await {
        Ok(b) => b,
        Err(_) => return Err(too_large(kind, limit)),
    };
    let mut body: SendMedia = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::validation(format!(
            "invalid JSON body: {e} (send JSON, or multipart/form-data with a `file` part)"
        ))
    })?;
    let file = body.take_file(kind, limit)?;
    Ok((body, file))
}

async fn read_multipart(
    req: Request,
    state: &AppState,
    kind: MediaKind,
    limit: u64,
) -> Result<(SendMedia, ClientFile), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::validation(format!("invalid multipart body: {}", e.body_text()))
    };
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::validation(format!("invalid multipart body: {}", e.body_text())))?;
    let mut body = SendMedia::default();
    let mut file: Option<Vec<u8>> = None;
    let mut declared: Option<String> = None;
    let mut url: Option<String> = None;
    let mut fields = 0;
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(ApiError::validation("too many multipart fields"));
        }
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" || name == kind.name() && field.file_name().is_some() {
            declared = field.content_type().map(str::to_owned);
            if body.filename.is_none() {
                body.filename = field.file_name().map(str::to_owned);
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if bytes.len() as u64 + chunk.len() as u64 > limit {
                    return Err(too_large(kind, limit));
                }
                bytes.extend_from_slice(&chunk);
            }
            file = Some(bytes);
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if value.len() + chunk.len() > FIELD_MAX_BYTES {
                return Err(ApiError::validation(format!("field {name} is too long")));
            }
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value)
            .map_err(|_| ApiError::validation(format!("field {name} is not UTF-8")))?;
        let flag = |v: &str| matches!(v.trim(), "true" | "1" | "on" | "yes");
        match name.as_str() {
            "chatId" => body.chat_id = value,
            "caption" => body.caption = Some(value),
            "filename" => body.filename = Some(value),
            "ptt" => body.ptt = flag(&value), // not vocabulary: a form field
            "gifPlayback" => body.gif_playback = flag(&value),
            "simulateTyping" => body.options.simulate_typing = flag(&value),
            "mimetype" => declared = Some(value),
            "url" => url = Some(value),
            "quotedMessageId" => body.options.quoted_message_id = Some(value),
            "mentionedIds" => {
                body.options.mentioned_ids = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            _ => {}
        }
    }
    let source = match (file, url) {
        (Some(bytes), None) => MediaSource::Bytes(bytes),
        (None, Some(url)) => MediaSource::Url(url),
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "send either a file part or a url, not both",
            ));
        }
        (None, None) => return Err(ApiError::validation("a `file` part is required")),
    };
    Ok((
        body,
        ClientFile {
            source,
            declared_mimetype: declared,
        },
    ))
}
