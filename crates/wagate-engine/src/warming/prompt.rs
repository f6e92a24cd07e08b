//! The AI request for a speaker's next message: the room's AI settings over
//! the deployment's defaults, the speaker's persona, and the recent history.
//! The worker, the auto-replier and previews all ask through here.

use super::config::Provider;
use super::{Actor, Room, Warming, ai};
use crate::error::EngineError;

impl Warming {
    /// The AI request for `speaker`'s next message after `history`
    /// (actor id, text; oldest first).
    pub(crate) fn prompt(
        &self,
        room: &Room,
        speaker: &Actor,
        history: &[(String, String)],
    ) -> Result<ai::Prompt, EngineError> {
        let defaults = &self.config.ai;
        let s = &room.settings.ai;
        let provider = s
            .provider
            .as_deref()
            .and_then(Provider::parse)
            .unwrap_or(defaults.default_provider);
        let model = s.model.clone().unwrap_or_else(|| match provider {
            Provider::OpenAi => defaults.openai_model.clone(),
            Provider::Gemini => defaults.gemini_model.clone(),
        });
        let partner = room
            .partner_of(&speaker.id)
            .map(Actor::display_name)
            .unwrap_or_else(|| "a friend".into());
        let persona = speaker
            .persona
            .clone()
            .unwrap_or_else(|| "a friendly person".into());
        let system = format!(
            "You are {}, {persona}. You are chatting on WhatsApp with {partner}. \
             Write only your next message: short, casual, natural, no quotes.",
            speaker.display_name()
        );
        let start = history.len().saturating_sub(defaults.history_limit);
        let history = history[start..]
            .iter()
            .map(|(actor, text)| {
                if *actor == speaker.id {
                    ai::Turn::Own(text.clone())
                } else {
                    ai::Turn::Other(text.clone())
                }
            })
            .collect();
        Ok(ai::Prompt {
            provider,
            model,
            temperature: s.temperature.unwrap_or(defaults.temperature),
            max_tokens: s.max_tokens.unwrap_or(defaults.max_tokens),
            api_key: s.api_key.clone(),
            system,
            history,
        })
    }
}
