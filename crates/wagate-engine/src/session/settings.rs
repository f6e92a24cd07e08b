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
    /// connected session says so if `alwaysOnline` changed, and keeps
    /// saying "available" from then on if it was switched on.
    pub async fn apply_settings(self: &Arc<Self>, chosen: &SettingsPatch) {
        let next = self.shared.config.session_defaults.with(chosen);
        let before = std::mem::replace(&mut self.lock_state().settings, next.clone());
        if before.always_online == next.always_online || self.status() != SessionStatus::Ready {
            return;
        }
        if let Err(e) = self.set_presence(next.always_online).await {
            debug!(session = %self.id, "could not announce the presence: {e}");
        }
        if next.always_online {
            self.start_online(self.generation.load(Ordering::SeqCst));
        }
    }

    /// On connect: an always-online session says "available" at once (off
    /// the event path), then keeps saying it.
    pub(super) fn announce_online(self: &Arc<Self>, generation: u64) {
        if !self.settings().always_online {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            if me.is_generation(generation) {
                me.say_available().await;
            }
            me.start_online(generation);
        });
    }

    /// An always-online session says "available" again every
    /// [`ONLINE_EVERY`] while this bot run lasts and the setting stays on
    /// (one loop per run). A session without the setting has no timer: an
    /// idle session wakes for nothing.
    fn start_online(self: &Arc<Self>, generation: u64) {
        if !self.settings().always_online
            || self.online_generation.swap(generation, Ordering::SeqCst) == generation
        {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(ONLINE_EVERY).await;
                if !me.is_generation(generation) {
                    return;
                }
                if !me.settings().always_online {
                    // Switched off: the loop ends. If it was switched on again
                    // meanwhile, whoever did so saw this loop still running
                    // and started none, so this one goes on.
                    let _ = me.online_generation.compare_exchange(
                        generation,
                        0,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    let on_again = me.settings().always_online
                        && me
                            .online_generation
                            .compare_exchange(0, generation, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok();
                    if !on_again {
                        return;
                    }
                }
                me.say_available().await;
            }
        });
    }

    /// An always-online session's "available", when connected.
    async fn say_available(&self) {
        if self.status() == SessionStatus::Ready
            && let Err(e) = self.set_presence(true).await
        {
            debug!(session = %self.id, "always online: {e}");
        }
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
