//! Serving a stored media file of a session's message (the native files
//! route and the drop-in modes'), safely: the path comes from the
//! database, never from the client, and anything a browser could run is a
//! sandboxed download.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wagate_core::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// File `file_id` of session `id` as an HTTP response.
pub async fn serve(state: &AppState, id: &str, file_id: &str) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, format!("file {file_id} not found"));
    let file = state
        .store
        .get_media_file(id, file_id)
        .await?
        .ok_or_else(not_found)?;
    // The path is the gateway's own (from the database), never the client's.
    let stored = match state.manager.config().media.store.open(&file.path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(ApiError::internal("opening a media file", e)),
    };
    let length = stored.length;
    let name = file
        .filename
        .as_deref()
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}.{}",
                file.file_id,
                wagate_engine::media::extension(&file.mimetype)
            )
        });
    let mut response = (StatusCode::OK, Body::from_stream(stored.body)).into_response();
    let headers = response.headers_mut();
    if let Some(len) = length {
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    }
    if let Ok(v) = header::HeaderValue::from_str(&file.mimetype) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    // A sender chooses the mimetype: only plain media may render in a
    // browser; anything else (HTML, SVG, PDF, …) is a download, sandboxed
    // and never sniffed, so a script in it cannot run as this origin.
    let disposition = if safe_inline(&file.mimetype) {
        "inline"
    } else {
        "attachment"
    };
    let ascii_name: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    let value = header::HeaderValue::from_str(&format!("{disposition}; filename=\"{ascii_name}\""))
        .unwrap_or_else(|_| header::HeaderValue::from_static("attachment"));
    headers.insert(header::CONTENT_DISPOSITION, value);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

/// Mimetypes a browser may show in place: raster images, audio, video.
fn safe_inline(mimetype: &str) -> bool {
    let essence = mimetype
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/bmp" | "image/avif"
    ) || ((essence.starts_with("audio/") || essence.starts_with("video/"))
        && essence
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-".contains(&b)))
}
