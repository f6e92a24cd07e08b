//! The session's behaviour settings as it acts on them: the `SESSION_*`
//! defaults with its own choices laid over them
//! ([`wagate_core::session_settings`]), replaced live when they change.
//! Here too what `alwaysOnline` and `autoRead` do; calls are handled by
//! the calls module, ignored chats in `inbound`.

use wagate_core::{SessionSettings, SettingsPatch};

use super::*;

/// How often an always-online session says "available" again.
const ONLINE_EVERY: Duration = Duration::from_secs(60);

impl Session {
    /// What the session does by itself now.
    pub fn settings(&self) -> SessionSettings {
        self.lock_state().settings.clone()
    }

    /// Takes new chosen settings (laid over the defaults) at once; a
    /// connected session says so if `alwaysOnline` changed.
    pub async fn apply_settings(&self, chosen: &SettingsPatch) {
        let next = self.shared.config.session_defaults.with(chosen);
        let before = std::mem::replace(&mut self.lock_state().settings, next.clone());
        if before.always_online != next.always_online
            && self.status() == SessionStatus::Ready
            && let Err(e) = self.set_presence(next.always_online).await
        {
            debug!(session = %self.id, "could not announce the presence: {e}");
        }
    }

    /// On connect: an always-online session says "available" now and then
    /// every [`ONLINE_EVERY`] while this bot run lasts (once per run).
    pub(super) fn start_online(self: &Arc<Self>, generation: u64) {
        if self.online_generation.swap(generation, Ordering::SeqCst) == generation {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if !me.is_generation(generation) {
                    return;
                }
                if me.settings().always_online
                    && me.status() == SessionStatus::Ready
                    && let Err(e) = me.set_presence(true).await
                {
                    debug!(session = %me.id, "always online: {e}");
                }
                tokio::time::sleep(ONLINE_EVERY).await;
            }
        });
    }

    /// With `autoRead`: the message `wa_id` of `chat` (by `sender` in a
    /// group) is marked read, off the ack path; the sender sees it read.
    pub(super) fn auto_read(self: &Arc<Self>, chat: String, sender: Option<String>, wa_id: String) {
        let me = self.clone();
        tokio::spawn(async move {
            let Ok(client) = me.ready_client().await else {
                return;
            };
            let (Ok(chat_jid), sender_jid) = (
                chat.parse::<Jid>(),
                sender.and_then(|s| s.parse::<Jid>().ok()),
            ) else {
                return;
            };
            if let Err(e) = client
                .mark_as_read(&chat_jid, sender_jid.as_ref(), &[wa_id.as_str()])
                .await
            {
                debug!(session = %me.id, "auto read: {e}");
                return;
            }
            if let Err(e) = me
                .shared
                .store
                .advance_message_status(&me.id, &chat, &wa_id, MessageStatus::Read)
                .await
            {
                debug!(session = %me.id, "auto read: {e}");
            }
        });
    }
}
