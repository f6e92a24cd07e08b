//! Many concurrent connections: raw WebSocket clients that each complete the
//! Noise XX handshake as a registering device and receive their
//! `pair-device` refs, all at once, on one sandbox.

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wacore_binary::consts::WA_CONN_HEADER;
use wacore_libsignal::protocol::KeyPair;
use wacore_noise::XxHandshakeState;
use wacore_noise::framing::{FrameDecoder, encode_frame};
use wagate_sandbox::{Sandbox, SandboxConfig};
use waproto::whatsapp as wa;

const CONNECTIONS: usize = 1000;

fn registration_payload() -> Vec<u8> {
    use buffa::Message as _;
    let identity = KeyPair::generate(&mut rand::rng());
    let spk = KeyPair::generate(&mut rand::rng());
    let sig = identity
        .private_key
        .calculate_signature(&spk.public_key.serialize(), &mut rand::rng())
        .unwrap();
    wa::ClientPayload {
        passive: Some(false),
        device_pairing_data: buffa::MessageField::some(
            wa::client_payload::DevicePairingRegistrationData {
                e_regid: Some(1234u32.to_be_bytes().to_vec()),
                e_keytype: Some(vec![5]),
                e_ident: Some(identity.public_key.public_key_bytes().to_vec()),
                e_skey_id: Some(vec![0, 0, 1]),
                e_skey_val: Some(spk.public_key.public_key_bytes().to_vec()),
                e_skey_sig: Some(sig.to_vec()),
                ..Default::default()
            },
        ),
        ..Default::default()
    }
    .encode_to_vec()
}

async fn one_device(url: String) -> anyhow::Result<()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let static_kp = KeyPair::generate(&mut rand::rng());
    let mut hs = XxHandshakeState::new(static_kp, registration_payload(), &WA_CONN_HEADER)?;
    let hello = hs.build_client_hello()?;
    ws.send(Message::Binary(
        encode_frame(&hello, Some(&WA_CONN_HEADER))?.into(),
    ))
    .await?;
    let mut decoder = FrameDecoder::new();
    let next_frame = async |ws: &mut tokio_tungstenite::WebSocketStream<_>,
                            decoder: &mut FrameDecoder|
           -> anyhow::Result<Vec<u8>> {
        loop {
            if let Some(f) = decoder.decode_frame() {
                return Ok(f.to_vec());
            }
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => decoder.feed(&b),
                Some(Ok(_)) => {}
                _ => anyhow::bail!("closed"),
            }
        }
    };
    let server_hello = next_frame(&mut ws, &mut decoder).await?;
    let finish = hs.read_server_hello_and_build_client_finish(&server_hello)?;
    ws.send(Message::Binary(encode_frame(&finish, None)?.into()))
        .await?;
    let keys = hs.finish()?;
    let mut frame = next_frame(&mut ws, &mut decoder).await?;
    keys.read_cipher
        .decrypt_in_place_with_counter(0, &mut frame)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let unpacked = wacore_binary::util::unpack(&frame)?;
    let node = wacore_binary::marshal::unmarshal_ref(&unpacked)?.to_owned();
    anyhow::ensure!(
        node.get_optional_child("pair-device").is_some(),
        "expected pair-device, got {node:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_handshakes() {
    let sb = Sandbox::start(SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: None,
        ..Default::default()
    })
    .await
    .unwrap();
    let url = sb.ws_url();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(one_device(url.clone())))
        .collect();
    let results = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        futures::future::join_all(tasks),
    )
    .await
    .expect("all handshakes finish");
    let failed: Vec<_> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    sb.shutdown().await;
}
