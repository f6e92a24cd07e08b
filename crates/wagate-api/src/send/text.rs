//! A text send: the request and the job it becomes.

use serde::Deserialize;
use utoipa::ToSchema;
use wagate_core::ChatId;
use wagate_engine::queue::SendJob;

use super::{SendOptionsDto, check_text, parse_chat_id, wa_id_of};
use crate::error::ApiError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendText {
    /// `628123456789@c.us`, `628123456789@s.whatsapp.net`, digits, or `<id>@g.us`.
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    #[schema(example = "Hello, World!")]
    pub text: String,
    #[serde(default)]
    pub options: SendOptionsDto,
}

impl SendText {
    /// The checked chat and the job to queue.
    pub fn into_job(self) -> Result<(ChatId, SendJob), ApiError> {
        let chat = parse_chat_id(&self.chat_id)?;
        check_text(&self.text)?;
        let mentions = self.options.mentions()?;
        let job = SendJob::Text {
            text: self.text,
            quoted: self.options.quoted(),
            mentions,
            simulate_typing: self.options.simulate_typing,
        };
        Ok((chat, job))
    }
}

impl SendOptionsDto {
    /// The people to mention, as JIDs.
    pub fn mentions(&self) -> Result<Vec<String>, ApiError> {
        self.mentioned_ids
            .iter()
            .map(|m| parse_chat_id(m).map(|c| c.jid()))
            .collect()
    }

    /// The WhatsApp id of the message to quote.
    pub fn quoted(&self) -> Option<String> {
        self.quoted_message_id
            .as_deref()
            .map(|q| wa_id_of(q).to_string())
    }
}
