//! A group of three: creation, and a message that reaches both other members.

mod common;

use common::*;
use wacore::iq::groups::GroupParticipantOptions;
use whatsapp_rust::features::GroupCreateOptions;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::waproto::whatsapp as wa;

fn text_of(m: &wa::Message) -> Option<String> {
    m.conversation.clone().or_else(|| {
        m.extended_text_message
            .as_option()
            .and_then(|e| e.text.clone())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_of_three() {
    let sb = sandbox().await;
    for (p, n) in [
        ("628123450061", "Ann"),
        ("628123450062", "Ben"),
        ("628123450063", "Cat"),
    ] {
        create_phone(&sb, p, n).await;
    }
    let ((a, _), (b, _), (c, _)) = tokio::join!(
        paired_client(&sb, "628123450061"),
        paired_client(&sb, "628123450062"),
        paired_client(&sb, "628123450063"),
    );
    let created = a
        .client
        .groups()
        .create_group(
            GroupCreateOptions::builder()
                .subject("Trio")
                .participants(vec![
                    GroupParticipantOptions::new(pn("628123450062")),
                    GroupParticipantOptions::new(pn("628123450063")),
                ])
                .build(),
        )
        .await
        .expect("create group");
    let gid = created.metadata.id.clone();
    let meta = b
        .client
        .groups()
        .get_metadata(&gid)
        .await
        .expect("metadata");
    assert_eq!(meta.participants.len(), 3);

    a.client
        .send_text(gid.clone(), "hi all")
        .await
        .expect("send to group");
    for member in [&b, &c] {
        let (t, chat) = member
            .events
            .wait("group message", |e| match e {
                Event::Messages(batch) => batch
                    .iter()
                    .find_map(|m| text_of(&m.message).map(|t| (t, m.info.source.chat.clone()))),
                _ => None,
            })
            .await;
        assert_eq!(t, "hi all");
        assert_eq!(chat, gid);
    }
    sb.shutdown().await;
}
