//! 1:1 messaging through the sandbox: text, image (media upload/download),
//! delivery and read receipts, and the is-on-WhatsApp check.

mod common;

use common::*;
use waproto::whatsapp as wa;
use whatsapp_rust::download::MediaType;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::types::presence::ReceiptType;
use whatsapp_rust::{UploadOptions, buffa, waproto};

fn text_of(m: &wa::Message) -> Option<String> {
    m.conversation.clone().or_else(|| {
        m.extended_text_message
            .as_option()
            .and_then(|e| e.text.clone())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_image_with_receipts() {
    let sb = sandbox().await;
    create_phone(&sb, "628123450011", "Alice").await;
    create_phone(&sb, "628123450012", "Bob").await;
    let ((a, _), (b, _)) = tokio::join!(
        paired_client(&sb, "628123450011"),
        paired_client(&sb, "628123450012")
    );

    // Text.
    let sent = a
        .client
        .send_text(pn("628123450012"), "hello bob")
        .await
        .expect("send text");
    let text_id = sent.message_id.clone();
    let (got_text, from) = b
        .events
        .wait("text message", |e| match e {
            Event::Messages(batch) => batch.iter().find_map(|m| {
                text_of(&m.message).map(|t| (t, m.info.source.sender.user.to_string()))
            }),
            _ => None,
        })
        .await;
    assert_eq!(got_text, "hello bob");
    assert_eq!(from, "628123450011");

    // Image.
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let up = a
        .client
        .upload(bytes.clone(), MediaType::Image, UploadOptions::default())
        .await
        .expect("upload");
    let image = wa::Message {
        image_message: buffa::MessageField::some(wa::message::ImageMessage {
            url: Some(up.url.clone()),
            direct_path: Some(up.direct_path.clone()),
            media_key: Some(up.media_key.to_vec()),
            file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
            file_sha256: Some(up.file_sha256.to_vec()),
            file_length: Some(up.file_length),
            mimetype: Some("image/jpeg".into()),
            caption: Some("a picture".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    a.client
        .send_message(pn("628123450012"), image)
        .await
        .expect("send image");
    let img = b
        .events
        .wait("image message", |e| match e {
            Event::Messages(batch) => batch
                .iter()
                .find_map(|m| m.message.image_message.as_option().cloned()),
            _ => None,
        })
        .await;
    let downloaded = b.client.download(&img).await.expect("download");
    assert_eq!(downloaded, bytes);

    // Receipts: B's client sends delivered by itself; read is explicit.
    b.client
        .mark_as_read(&pn("628123450011"), None, &[text_id.as_str()])
        .await
        .expect("mark read");
    for wanted in [ReceiptType::Delivered, ReceiptType::Read] {
        let id = text_id.clone();
        let w = wanted.clone();
        a.events
            .wait(&format!("{wanted:?} receipt"), move |e| match e {
                Event::Receipt(r) if r.r#type == w && r.message_ids.contains(&id) => Some(()),
                _ => None,
            })
            .await;
    }

    // The relay log has the message, without content.
    let (_, log) = admin_get(&sb, "/admin/messages?from=628123450011&limit=10").await;
    let rows = log.as_array().unwrap();
    assert!(rows.iter().any(|r| r["id"] == text_id.as_str()));
    assert!(!log.to_string().contains("hello bob"));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_number_is_not_on_whatsapp() {
    let sb = sandbox().await;
    create_phone(&sb, "628123450021", "Carol").await;
    create_phone(&sb, "628123450022", "Dave").await;
    let (c, _) = paired_client(&sb, "628123450021").await;
    let res = c
        .client
        .contacts()
        .is_on_whatsapp(&[pn("628123450022"), pn("628999999999")])
        .await
        .expect("is_on_whatsapp");
    let known = res.iter().find(|r| r.jid.user == "628123450022").unwrap();
    assert!(known.is_registered);
    let unknown = res.iter().find(|r| r.jid.user == "628999999999");
    assert!(unknown.is_none_or(|u| !u.is_registered), "{res:?}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_queue_delivers_at_next_login() {
    let sb = sandbox().await;
    create_phone(&sb, "628123450101", "Kim").await;
    create_phone(&sb, "628123450102", "Lee").await;
    let ((a, _), (mut b, _)) = tokio::join!(
        paired_client(&sb, "628123450101"),
        paired_client(&sb, "628123450102")
    );
    // Establish the session while both are online, then take B offline.
    a.client
        .send_text(pn("628123450102"), "first")
        .await
        .unwrap();
    b.events
        .wait("first", |e| match e {
            Event::Messages(batch) => batch.iter().find_map(|m| text_of(&m.message)),
            _ => None,
        })
        .await;
    let backend = b.backend.clone();
    b.stop().await;
    a.client
        .send_text(pn("628123450102"), "while you were away")
        .await
        .unwrap();

    let b2 = TestClient::start(&sb, backend).await;
    let (t, offline) = b2
        .events
        .wait("offline message", |e| match e {
            Event::Messages(batch) => batch
                .iter()
                .find_map(|m| text_of(&m.message).map(|t| (t, m.info.is_offline))),
            _ => None,
        })
        .await;
    assert_eq!(t, "while you were away");
    assert!(offline, "delivered from the offline queue");
    sb.shutdown().await;
}
