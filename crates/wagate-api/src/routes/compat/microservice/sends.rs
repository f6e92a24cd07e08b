//! Seed 003's sends: text, and image, video, document and audio as a URL
//! or base64, translated onto the native send routes.

use super::*;
use wagate_core::MessageKind;

fn sent(result: crate::send::SendResultDto) -> axum::Json<Value> {
    let wa_id = wagate_core::ids::parse_message_id(&result.message_id)
        .2
        .to_string();
    ok(json!({ "message_id": wa_id, "status": result.status }))
}

/// Send a text (immediate delivery: it skips the drip pace).
#[utoipa::path(post, path = "/compat/microservice/session/{id}/send", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")),
    request_body = MsSendText, security(("api_key" = [])),
    responses((status = 200, description = "`{success, message_id, status}`"),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, MESSAGE_TEXT_TOO_LONG, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn send(
    state: State<AppState>,
    ClientSession(owned): ClientSession,
    key: IdempotencyKey,
    Json(body): Json<MsSendText>,
) -> Result<axum::Json<Value>, ApiError> {
    let native: crate::routes::messages::SendText = serde_json::from_value(json!({
        "chatId": body.to.trim().trim_start_matches('+'),
        "text": body.message,
    }))
    .map_err(|e| ApiError::validation(e.to_string()))?;
    let result = crate::routes::messages::send_text(
        state,
        owned,
        Query(SendMode::default()),
        key,
        Json(native),
    )
    .await?
    .into_data();
    Ok(sent(result))
}

/// The native media send's JSON body, from the microservice's.
fn media_body(kind: MediaKind, body: MsSendMedia) -> Result<Value, ApiError> {
    let (field, file) = match kind {
        MediaKind::Image => (MessageKind::Image.as_str(), body.image),
        MediaKind::Video => (MessageKind::Video.as_str(), body.video),
        MediaKind::Document => (MessageKind::Document.as_str(), body.document),
        _ => (MessageKind::Audio.as_str(), body.audio),
    };
    let file = file.filter(|f| !f.trim().is_empty()).ok_or_else(|| {
        ApiError::validation(format!("{field} is required: a URL, a data URL or base64"))
    })?;
    let source = if file.starts_with("http://") || file.starts_with("https://") {
        json!({ "url": file })
    } else {
        json!({ "base64": file })
    };
    let mut native = json!({ "chatId": body.to.trim().trim_start_matches('+') });
    native[field] = source;
    if let Some(c) = body.caption {
        native["caption"] = json!(c);
    }
    if let Some(f) = body.filename {
        native["filename"] = json!(f);
    }
    if kind == MediaKind::Audio && body.ptt {
        native["ptt"] = json!(true);
    }
    Ok(native)
}

async fn send_media(
    state: State<AppState>,
    owned: OwnedSession,
    headers: HeaderMap,
    body: MsSendMedia,
    kind: MediaKind,
) -> Result<axum::Json<Value>, ApiError> {
    let native = media_body(kind, body)?;
    let mut request = Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/json");
    if let Some(k) = headers.get("idempotency-key") {
        request = request.header("idempotency-key", k);
    }
    let request = request
        .body(Body::from(native.to_string()))
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let result = match kind {
        MediaKind::Image => crate::routes::media::send_image(state, owned, request).await,
        MediaKind::Video => crate::routes::media::send_video(state, owned, request).await,
        MediaKind::Document => crate::routes::media::send_document(state, owned, request).await,
        _ => crate::routes::media::send_audio(state, owned, request).await,
    }?
    .into_data();
    Ok(sent(result))
}

macro_rules! media_route {
    ($name:ident, $kind:expr, $path:literal $(,)?) => {
        /// Send a file of the route's kind (`{to, <kind>: URL, data URL or base64, caption}`).
        #[utoipa::path(post, path = $path, tag = "compat-microservice",
            params(("id" = String, Path, description = "The client's session id")),
            request_body = MsSendMedia, security(("api_key" = [])),
            responses((status = 200, description = "`{success, message_id, status}`"),
                      (status = 400, description = "VALIDATION_ERROR, MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED, SESSION_NOT_READY"),
                      (status = 404, description = "SESSION_NOT_FOUND"),
                      (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
        pub async fn $name(
            state: State<AppState>,
            ClientSession(owned): ClientSession,
            headers: HeaderMap,
            Json(body): Json<MsSendMedia>,
        ) -> Result<axum::Json<Value>, ApiError> {
            send_media(state, owned, headers, body, $kind).await
        }
    };
}

media_route!(
    send_image,
    MediaKind::Image,
    "/compat/microservice/session/{id}/send-image",
);
media_route!(
    send_video,
    MediaKind::Video,
    "/compat/microservice/session/{id}/send-video",
);
media_route!(
    send_document,
    MediaKind::Document,
    "/compat/microservice/session/{id}/send-document",
);
media_route!(
    send_audio,
    MediaKind::Audio,
    "/compat/microservice/session/{id}/send-audio",
);
