//! History at link: the chats and messages the phone pushes to a freshly
//! linked device (WhatsApp's history sync), stored like any message but
//! marked `from_history`, and announced once per chunk as
//! `session.history_synced` `{syncType, chats, messages, progress}` —
//! never replayed as `message.received`, so a client's bot does not answer
//! last month's messages.
//!
//! Only text-like content is kept: a media message from history is stored
//! without its file (its `media` is null), because downloading a phone's
//! whole media history at link would cost every session far more than it
//! is worth. Messages that arrived while a session was stopped are not
//! history: WhatsApp delivers them as ordinary offline messages when the
//! session reconnects, and they are emitted as `message.received`.
//!
//! whatsapp-rust acknowledges the chunk to the phone before it hands it
//! over, so a chunk that fails to store is not sent again (logged).

use whatsapp_rust::types::events::LazyHistorySync;
use whatsapp_rust::wacore_binary::JidExt as _;

use super::*;

/// One message of a history chunk, ready to store.
struct HistoryItem {
    record: NewMessage,
    extras: Option<serde_json::Value>,
}

/// What a chunk holds: its messages, and how many chats they came from.
struct Chunk {
    items: Vec<HistoryItem>,
    chats: usize,
}

impl Session {
    pub(super) async fn on_history_sync(&self, sync: &LazyHistorySync) {
        // Turned off after this run started: the engine still asked for it.
        if !self.settings().history_sync {
            return;
        }
        let sync_type = sync_type_name(sync.sync_type());
        let progress = sync.progress();
        let own = self.live().phone.map(|p| format!("{p}@s.whatsapp.net"));
        let session_id = self.id.clone();
        // Inflating and decoding a chunk of several MB is CPU work.
        let lazy = sync.clone();
        let chunk =
            tokio::task::spawn_blocking(move || lazy.get().map(|h| chunk(&session_id, own, h)))
                .await;
        let Ok(Some(chunk)) = chunk else {
            warn!(session = %self.id, "history sync chunk could not be decoded");
            return;
        };
        if let Err(e) = self.store_history(chunk, sync_type, progress).await {
            warn!(session = %self.id, "could not store history: {e}");
        }
    }

    /// Stores the chunk's messages (a message already stored is left as
    /// it is) and its one `session.history_synced` event, together.
    async fn store_history(
        &self,
        chunk: Chunk,
        sync_type: &str,
        progress: Option<u32>,
    ) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        let mut stored = 0u64;
        for item in &chunk.items {
            if !tx.insert_message(&item.record).await? {
                continue;
            }
            stored += 1;
            if let Some(x) = &item.extras {
                let r = &item.record;
                tx.set_message_extras(&self.id, &r.chat_id, &r.wa_id, x)
                    .await?;
            }
        }
        let data = json!({
            "syncType": sync_type,
            "chats": chunk.chats,
            "messages": stored,
            "progress": progress,
        });
        tx.append(
            &self.id,
            &self.tenant_id,
            EventKind::SessionHistorySynced,
            &data,
        )
        .await?;
        tx.commit().await?;
        info!(session = %self.id, chats = chunk.chats, messages = stored, "history stored");
        Ok(())
    }
}

/// The messages of `history` as records of session `session_id`, whose own
/// phone-number JID is `own`.
fn chunk(session_id: &str, own: Option<String>, history: &wa::HistorySync) -> Chunk {
    let own = own.unwrap_or_default();
    let mut items = Vec::new();
    let mut chats = 0;
    for conversation in &history.conversations {
        let Ok(chat) = conversation.id.parse::<Jid>() else {
            continue;
        };
        let chat_id = chat.to_non_ad_string();
        let is_group = chat.is_group();
        let before = items.len();
        for m in &conversation.messages {
            let Some(info) = m.message.as_option() else {
                continue;
            };
            if let Some(item) = item(session_id, &own, &chat_id, is_group, info) {
                items.push(item);
            }
        }
        if items.len() > before {
            chats += 1;
        }
    }
    Chunk { items, chats }
}

/// One history message as a record; `None` for what is not a message a
/// client reads (protocol messages, reactions to nothing, unknown kinds).
fn item(
    session_id: &str,
    own: &str,
    chat_id: &str,
    is_group: bool,
    info: &wa::WebMessageInfo,
) -> Option<HistoryItem> {
    let key = info.key.as_option()?;
    let wa_id = key.id.clone().filter(|id| !id.is_empty())?;
    let message = info.message.as_option()?;
    let (kind, body) = convert::classify(message)?;
    let from_me = key.from_me.unwrap_or(false);
    let participant = key
        .participant
        .as_deref()
        .or(info.participant.as_deref())
        .and_then(|p| p.parse::<Jid>().ok())
        .map(|j| j.to_non_ad_string());
    let sender = match (from_me, is_group) {
        (true, _) => own.to_string(),
        (false, true) => participant?,
        (false, false) => chat_id.to_string(),
    };
    let (recipient, status) = super::inbound::addressed(from_me, is_group, chat_id, own);
    let record = NewMessage {
        session_id: session_id.to_string(),
        chat_id: chat_id.to_string(),
        wa_id,
        from_me,
        sender,
        recipient,
        msg_type: kind,
        body,
        wa_timestamp: info.message_timestamp.unwrap_or(0) as i64,
        status,
        quoted_id: convert::quoted_id(message),
        push_name: info.push_name.clone().filter(|n| !n.is_empty()),
        media: None,
        from_history: true,
    };
    Some(HistoryItem {
        record,
        extras: convert::extras(message),
    })
}

/// The contract's name of a history sync type.
fn sync_type_name(t: i32) -> &'static str {
    use wa::history_sync::HistorySyncType as T;
    match t {
        x if x == T::INITIAL_BOOTSTRAP as i32 => "initial_bootstrap",
        x if x == T::INITIAL_STATUS_V3 as i32 => "initial_status",
        x if x == T::FULL as i32 => "full",
        x if x == T::RECENT as i32 => "recent",
        x if x == T::PUSH_NAME as i32 => "push_name",
        x if x == T::NON_BLOCKING_DATA as i32 => "non_blocking_data",
        x if x == T::ON_DEMAND as i32 => "on_demand",
        _ => "other",
    }
}
