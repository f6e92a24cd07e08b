//! Chats against real SQLite and real PostgreSQL: settings changes report
//! only what changed (a change heard twice is announced once), the chat
//! list puts pinned chats first, counts unread messages, filters archived
//! ones and pages; starring, deleting for me, clearing (keeping starred)
//! and deleting a chat remove what they say.

mod backend_common;

use wagate_core::{EventKind, MessageStatus, MessageType};
use wagate_store::Store;
use wagate_store::app::{ChatChange, ChatPage, NewMessage};

const S: &str = "sess_c";
const BEN: &str = "628222@s.whatsapp.net";
const CAT: &str = "628333@s.whatsapp.net";

fn incoming(chat: &str, wa_id: &str, at: i64) -> NewMessage {
    NewMessage {
        session_id: S.into(),
        chat_id: chat.into(),
        wa_id: wa_id.into(),
        from_me: false,
        sender: chat.into(),
        recipient: "628111@s.whatsapp.net".into(),
        msg_type: MessageType::Chat,
        body: Some(format!("hi {wa_id}")),
        wa_timestamp: at,
        status: MessageStatus::Received,
        quoted_id: None,
        push_name: Some("Friend".into()),
        media: None,
        from_history: false,
    }
}

fn page(archived: Option<bool>) -> ChatPage {
    ChatPage {
        limit: 10,
        offset: 0,
        archived,
    }
}

async fn change(store: &Store, chat: &str, c: ChatChange) -> ChatChange {
    let mut tx = store.begin().await.unwrap();
    let changed = tx.change_chat(S, chat, &c, 1_000).await.unwrap();
    if !changed.is_empty() {
        tx.append(S, "tnt", EventKind::ChatUpdate, &serde_json::json!({}))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    changed
}

async fn chats_and_settings(store: Store) {
    for m in [
        incoming(BEN, "B1", 100),
        incoming(BEN, "B2", 101),
        incoming(CAT, "C1", 102),
    ] {
        assert!(store.insert_message(&m).await.unwrap());
    }
    let (list, total) = store.list_chat_page(S, page(None)).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(list[0].last.chat_id, CAT);
    assert_eq!(list[1].unread_count, 2);
    assert_eq!(list[1].name.as_deref(), Some("Friend"));

    // Archive and pin Ben's chat: it comes first; the same change again
    // changes nothing.
    let archive_pin = ChatChange {
        archived: Some(true),
        pinned_at: Some(Some(500)),
        ..Default::default()
    };
    assert_eq!(change(&store, BEN, archive_pin.clone()).await, archive_pin);
    let again = ChatChange {
        archived: Some(true),
        pinned_at: Some(Some(900)),
        ..Default::default()
    };
    assert!(change(&store, BEN, again).await.is_empty());
    let mute = ChatChange {
        muted_until: Some(Some(-1)),
        marked_unread: Some(true),
        ..Default::default()
    };
    assert_eq!(change(&store, BEN, mute.clone()).await, mute);
    let (list, _) = store.list_chat_page(S, page(None)).await.unwrap();
    assert_eq!(list[0].last.chat_id, BEN);
    let s = &list[0].settings;
    assert!(s.archived && s.marked_unread);
    assert_eq!((s.pinned_at, s.muted_until), (Some(500), Some(-1)));
    let (archived, total) = store.list_chat_page(S, page(Some(true))).await.unwrap();
    assert_eq!((archived.len(), total), (1, 1));
    let (others, _) = store.list_chat_page(S, page(Some(false))).await.unwrap();
    assert_eq!(others[0].last.chat_id, CAT);
    let second = ChatPage {
        limit: 1,
        offset: 1,
        archived: None,
    };
    let (rest, total) = store.list_chat_page(S, second).await.unwrap();
    assert_eq!((rest.len(), total), (1, 2));
    assert_eq!(rest[0].last.chat_id, CAT);

    // Read elsewhere, starred, deleted for me, cleared, deleted.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.mark_incoming_read(S, BEN).await.unwrap(), 2);
    assert!(tx.star_message(S, BEN, "B1", true).await.unwrap());
    assert!(!tx.star_message(S, BEN, "B1", true).await.unwrap());
    assert!(tx.delete_message_for_me(S, CAT, "C1").await.unwrap());
    assert!(!tx.delete_message_for_me(S, CAT, "C1").await.unwrap());
    tx.commit().await.unwrap();
    let kept = store.get_message(S, "B1").await.unwrap().unwrap();
    assert!(kept.starred);
    let (list, total) = store.list_chat_page(S, page(None)).await.unwrap();
    assert_eq!((list.len(), total), (1, 1));
    assert_eq!(list[0].unread_count, 0);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.clear_chat(S, BEN, true).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert!(store.get_message(S, "B1").await.unwrap().is_some());
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.delete_chat(S, BEN).await.unwrap(), 2);
    assert_eq!(tx.delete_chat(S, BEN).await.unwrap(), 0);
    tx.commit().await.unwrap();
    assert!(
        store
            .list_chat_page(S, page(None))
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert_eq!(
        store.chat_settings(S, BEN).await.unwrap(),
        Default::default()
    );
}

both_databases!(chats_and_settings);
