//! Labels against real SQLite and real PostgreSQL: a label put twice with
//! the same name and colour changes nothing the second time; new ids are
//! one more than the highest numeric id; labelling a chat twice, or taking
//! off a label it does not carry, changes nothing; deleting a label takes
//! it off its chats; only existing labels are listed with a chat.

mod backend_common;

use wagate_store::Store;

const S: &str = "sess_l";
const BEN: &str = "628222@s.whatsapp.net";
const CAT: &str = "628333@s.whatsapp.net";

async fn labels_and_chats(store: Store) {
    // Step 1: labels are put, and a second identical put changes nothing.
    assert_eq!(store.next_label_id(S).await.unwrap(), "1");
    let mut tx = store.begin().await.unwrap();
    assert!(tx.put_label(S, "1", "VIP", 3, 1_000).await.unwrap());
    assert!(!tx.put_label(S, "1", "VIP", 3, 1_001).await.unwrap());
    assert!(tx.put_label(S, "1", "VIP", 4, 1_002).await.unwrap());
    assert!(tx.put_label(S, "10", "Lead", 0, 1_003).await.unwrap());
    assert!(tx.put_label(S, "2", "Paid", 1, 1_004).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.next_label_id(S).await.unwrap(), "11");
    let ids: Vec<String> = store
        .labels(S)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(ids, ["1", "2", "10"]);
    assert_eq!(store.label(S, "1").await.unwrap().unwrap().color, 4);
    assert!(store.label(S, "3").await.unwrap().is_none());
    assert!(store.labels("other").await.unwrap().is_empty());

    // Step 2: chats are labelled once; an association to a label not
    // heard of yet is kept but not listed.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.label_chat(S, "1", BEN, true).await.unwrap());
    assert!(!tx.label_chat(S, "1", BEN, true).await.unwrap());
    assert!(tx.label_chat(S, "2", BEN, true).await.unwrap());
    assert!(tx.label_chat(S, "1", CAT, true).await.unwrap());
    assert!(tx.label_chat(S, "7", CAT, true).await.unwrap());
    assert!(!tx.label_chat(S, "2", CAT, false).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.label(S, "1").await.unwrap().unwrap().chats, 2);
    assert_eq!(store.label_chats(S, "1").await.unwrap(), [BEN, CAT]);
    let pairs = store.chat_label_pairs(S).await.unwrap();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(c, l)| (c.as_str(), l.as_str()))
        .collect();
    assert_eq!(pairs, [(BEN, "1"), (BEN, "2"), (CAT, "1")]);
    let of_cat: Vec<String> = store
        .chat_labels(S, CAT)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(of_cat, ["1"]);

    // Step 3: deleting a label takes it off its chats; twice is nothing.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_label(S, "1").await.unwrap());
    assert!(!tx.delete_label(S, "1").await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.label_chats(S, "1").await.unwrap().is_empty());
    let pairs = store.chat_label_pairs(S).await.unwrap();
    assert_eq!(pairs, [(BEN.to_string(), "2".to_string())]);

    // Step 4: a deleted session takes its labels with it.
    assert!(!store.delete_session(S).await.unwrap());
    assert!(store.labels(S).await.unwrap().is_empty());
    assert!(store.label_chats(S, "2").await.unwrap().is_empty());
}

both_databases!(labels_and_chats);
