//! The operator's actions on a room: start, pause, resume and stop. Each
//! moves the room's status in the store only from the statuses it may leave
//! (so two callers cannot both win), and says why when it may not.

use serde_json::json;
use wagate_core::warming::{RoomMode, RoomStatus};

use super::{Room, Warming, events};
use crate::error::EngineError;

impl Warming {
    /// `start`: from DRAFT, FINISHED or STOPPED; a room that ran before
    /// starts over at its first line (in a new round).
    pub async fn start_room(&self, room: &Room) -> Result<(), EngineError> {
        self.check_startable(room).await?;
        let moved = self
            .manager
            .store()
            .set_warming_status(
                room.id(),
                &["DRAFT", "FINISHED", "STOPPED"],
                "RUNNING",
                None,
                false,
                room.status != RoomStatus::Draft,
            )
            .await?;
        if !moved {
            return Err(EngineError::Conflict(format!(
                "the room is {}; pause, resume or stop it instead",
                room.status.as_str()
            )));
        }
        Ok(())
    }

    async fn check_startable(&self, room: &Room) -> Result<(), EngineError> {
        if room.mode == RoomMode::Script {
            let lines = self.manager.store().warming_lines(room.id()).await?;
            if lines.is_empty() {
                return Err(EngineError::Invalid("the room has no lines to say".into()));
            }
        }
        Ok(())
    }

    pub async fn pause_room(&self, room: &Room, reason: Option<&str>) -> Result<(), EngineError> {
        let reason = reason.unwrap_or("paused by the operator");
        if !self
            .manager
            .store()
            .set_warming_status(
                room.id(),
                &["RUNNING", "PAUSED"],
                "PAUSED",
                Some(reason),
                false,
                false,
            )
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "only a running room can be paused (it is {})",
                room.status.as_str()
            )));
        }
        self.announce(
            room,
            events::PAUSED,
            json!({ "reason": reason, "auto": false }),
        )
        .await;
        Ok(())
    }

    pub async fn resume_room(&self, room: &Room) -> Result<(), EngineError> {
        if !self
            .manager
            .store()
            .set_warming_status(room.id(), &["PAUSED"], "RUNNING", None, false, false)
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "only a paused room can be resumed (it is {})",
                room.status.as_str()
            )));
        }
        self.announce(room, events::RESUMED, json!({ "auto": false }))
            .await;
        Ok(())
    }

    pub async fn stop_room(&self, room: &Room) -> Result<(), EngineError> {
        if !self
            .manager
            .store()
            .set_warming_status(
                room.id(),
                &["RUNNING", "PAUSED", "DRAFT"],
                "STOPPED",
                None,
                false,
                false,
            )
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "the room is already {}",
                room.status.as_str()
            )));
        }
        Ok(())
    }
}
