//! Uploading a staged file to WhatsApp and sending it.

use super::*;

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
        let own = crate::session::own_jid(&client).unwrap_or_default();
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
            from_history: false,
        };
        self.record_outgoing(&record, None).await?;
        Ok(SentMessage {
            wa_id: wa_id.to_string(),
            chat: chat.clone(),
            timestamp_ms,
        })
    }
}

/// The WhatsApp message of an uploaded staged file (also a status's).
pub(crate) fn build_message(
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
