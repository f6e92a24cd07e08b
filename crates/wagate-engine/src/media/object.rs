//! The contract's `media` object of a message (mimetype, file name, size
//! and the files route to download it), as events and the history show it.

use wagate_store::app::MediaFile;

/// The contract's `media` object of a message.
pub fn media_json(session_id: &str, file: &MediaFile) -> serde_json::Value {
    serde_json::json!({
        "mimetype": file.mimetype,
        "filename": file.filename,
        "size": file.size,
        "url": format!("/api/sessions/{session_id}/files/{}", file.file_id),
    })
}
