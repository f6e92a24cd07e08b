//! Catching up on app state a sync skipped. When WhatsApp says a collection
//! changed (`server_sync`) while the client is still syncing that same
//! collection, whatsapp-rust skips the second sync as covered by the first
//! — but the first may have asked before the new patch existed, and
//! nothing asks again until the next change. The phone's chat and label
//! changes would then wait for an unrelated later change. So when a sync
//! reports a collection skipped, the session asks for that collection again
//! once the sync in flight has had time to finish.

use std::str::FromStr;

use whatsapp_rust::sync_task::MajorSyncTask;
use whatsapp_rust::types::events::AppStateSyncFailed;
use whatsapp_rust::wacore::appstate::patch_decode::WAPatchName;

use super::*;

/// How long to let the sync in flight finish before asking again.
const AFTER: Duration = Duration::from_millis(500);

impl Session {
    pub(super) fn on_app_state_skipped(
        self: &Arc<Self>,
        failed: &AppStateSyncFailed,
        client: &Arc<Client>,
        generation: u64,
    ) {
        let names: Vec<WAPatchName> = failed
            .skipped
            .iter()
            .filter_map(|n| WAPatchName::from_str(n).ok())
            .filter(|n| *n != WAPatchName::Unknown)
            .collect();
        if names.is_empty() {
            return;
        }
        let client = client.clone();
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(AFTER).await;
            for name in names {
                if !me.is_generation(generation) {
                    return;
                }
                debug!(session = %me.id, collection = name.as_str(), "syncing a skipped collection again");
                client
                    .process_sync_task(MajorSyncTask::AppStateSync {
                        name,
                        full_sync: false,
                    })
                    .await;
            }
        });
    }
}
