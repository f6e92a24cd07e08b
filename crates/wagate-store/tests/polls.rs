//! Polls and votes against real SQLite and real PostgreSQL: a poll is kept
//! once (its first secret stays), a voter's later vote replaces the earlier
//! one and an older or repeated one changes nothing, a withdrawn vote is
//! kept, and deleting the session takes its polls and votes along.

mod backend_common;

use wagate_store::Store;
use wagate_store::app::{ADMIN_TENANT_ID, NewPoll, NewSession, PollVote};

const CHAT: &str = "120363000000000001@g.us";

fn poll(secret: u8) -> NewPoll {
    NewPoll {
        session_id: "sess_p".into(),
        chat_id: CHAT.into(),
        wa_id: "3EB0POLL".into(),
        creator: "628111@s.whatsapp.net".into(),
        name: "Lunch?".into(),
        options: vec!["Rice".into(), "Noodles".into(), "Soup".into()],
        selectable_count: 1,
        secret: Some(vec![secret; 32]),
    }
}

fn vote(voter: &str, selected: &[&str], at: i64) -> PollVote {
    PollVote {
        voter: voter.into(),
        selected: selected.iter().map(|s| s.to_string()).collect(),
        voted_at: at,
    }
}

async fn polls_and_votes(store: Store) {
    assert!(store.insert_poll(&poll(7)).await.unwrap());
    assert!(!store.insert_poll(&poll(9)).await.unwrap());
    let kept = store.get_poll("sess_p", "3EB0POLL").await.unwrap().unwrap();
    assert_eq!(kept.poll, poll(7));
    assert!(
        store
            .get_poll("sess_p", "3EB0NONE")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_poll("sess_q", "3EB0POLL")
            .await
            .unwrap()
            .is_none()
    );

    let ben = "628222@s.whatsapp.net";
    let cat = "628333@s.whatsapp.net";
    let rec = |v: PollVote| {
        let store = store.clone();
        async move {
            store
                .record_poll_vote("sess_p", CHAT, "3EB0POLL", &v)
                .await
                .unwrap()
        }
    };
    assert!(rec(vote(ben, &["Rice"], 1_000)).await);
    assert!(rec(vote(cat, &["Soup"], 1_500)).await);
    // Later wins; the same or an older one changes nothing.
    assert!(rec(vote(ben, &["Noodles"], 2_000)).await);
    assert!(!rec(vote(ben, &["Noodles"], 2_000)).await);
    assert!(!rec(vote(ben, &["Rice"], 1_200)).await);
    // Withdrawn, and kept as such.
    assert!(rec(vote(cat, &[], 3_000)).await);
    assert!(!rec(vote(cat, &["Soup"], 2_500)).await);

    let votes = store.poll_votes("sess_p", CHAT, "3EB0POLL").await.unwrap();
    assert_eq!(
        votes,
        vec![vote(ben, &["Noodles"], 2_000), vote(cat, &[], 3_000)]
    );

    // Deleting the session takes them along.
    store
        .insert_session(&NewSession {
            id: "sess_p".into(),
            tenant_id: ADMIN_TENANT_ID.into(),
            name: "polls".into(),
            meta: Default::default(),
        })
        .await
        .unwrap();
    assert!(store.delete_session("sess_p").await.unwrap());
    assert!(
        store
            .get_poll("sess_p", "3EB0POLL")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .poll_votes("sess_p", CHAT, "3EB0POLL")
            .await
            .unwrap()
            .is_empty()
    );
}

both_databases!(polls_and_votes);
