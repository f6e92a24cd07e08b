//! Previews: a room's conversation rendered (spintax, variables, AI) as it
//! would be said, without sending or recording anything.

use serde::Serialize;
use wagate_core::warming::RoomMode;

use super::{Actor, Room, Warming};
use crate::error::EngineError;

/// One message of a preview.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewMessage {
    pub line: i64,
    pub actor: String,
    pub from: String,
    pub to: String,
    pub text: String,
}

impl Warming {
    /// Renders the conversation (spintax resolved, variables filled, AI
    /// written) without sending or recording anything; `limit` messages at
    /// most.
    pub async fn preview(
        &self,
        room: &Room,
        limit: usize,
    ) -> Result<Vec<PreviewMessage>, EngineError> {
        let mut out = Vec::new();
        match room.mode {
            RoomMode::Script => {
                let lines = self.manager.store().warming_lines(room.id()).await?;
                for (i, l) in lines.iter().enumerate().take(limit) {
                    let Some(speaker) = room.actor(&l.actor) else {
                        continue;
                    };
                    let to = room
                        .partner_of(&speaker.id)
                        .map(Actor::display_name)
                        .unwrap_or_default();
                    out.push(PreviewMessage {
                        line: i as i64,
                        actor: speaker.id.clone(),
                        from: speaker.display_name(),
                        to,
                        text: room.render_line(&l.text, speaker, room.record.round + 1, i as i64),
                    });
                }
            }
            RoomMode::Ai => {
                let mut history: Vec<(String, String)> = Vec::new();
                let n = room.actors.len().max(1);
                for i in 0..limit {
                    let speaker = &room.actors[i % n];
                    let prompt = self.prompt(room, speaker, &history)?;
                    let text = self
                        .ai
                        .generate(room.id(), &prompt)
                        .await
                        .map_err(|e| EngineError::Conflict(e.to_string()))?;
                    history.push((speaker.id.clone(), text.clone()));
                    out.push(PreviewMessage {
                        line: i as i64,
                        actor: speaker.id.clone(),
                        from: speaker.display_name(),
                        to: room
                            .partner_of(&speaker.id)
                            .map(Actor::display_name)
                            .unwrap_or_default(),
                        text,
                    });
                }
            }
        }
        Ok(out)
    }
}
