//! Admission after the handshake: the `ClientPayload` says registration (a
//! new device carrying `device_pairing_data`) or login (`username` = phone,
//! `device` = device id). Logins are checked against the device registry —
//! unknown or logged-out devices get `<failure reason="401">`, banned numbers
//! `<failure reason="402" …>` — and admitted devices get `<success>`.

use buffa::Message as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use waproto::whatsapp as wa;

use crate::conn::{Role, Session};
use crate::nodes::now_secs;
use crate::state::{ConnHandle, DevKey, Registration, SignedPreKey, State, read, write};

/// The `code` WhatsApp puts on a 402 temp-ban failure (sent too many
/// messages to people who don't have you in their address books).
const TEMP_BAN_CODE: u32 = 101;

fn failure(reason: u16) -> Box<Node> {
    Box::new(
        NodeBuilder::new("failure")
            .attr("reason", reason)
            .attr("location", "sandbox")
            .build(),
    )
}

/// Decides what the connection is. `Err` carries the `<failure>` to send
/// before closing.
pub fn admit(
    state: &State,
    handle: &ConnHandle,
    payload: &wa::ClientPayload,
    client_static: [u8; 32],
) -> Result<Role, Box<Node>> {
    if let Some(reg) = payload.device_pairing_data.as_option() {
        let registration = parse_registration(reg).ok_or_else(|| failure(400))?;
        return Ok(Role::Pairing {
            registration,
            noise_pub: client_static,
            refs: Vec::new(),
        });
    }
    let phone = payload.username.ok_or_else(|| failure(400))?.to_string();
    let device_id = u16::try_from(payload.device.unwrap_or(0)).map_err(|_| failure(400))?;
    let key = DevKey::new(phone.clone(), device_id);

    let Some(account) = state.phone(&phone) else {
        return Err(failure(401));
    };
    let Some(device) = state.device(&key) else {
        return Err(failure(401));
    };
    if !device.linked || device.logged_out || device.noise_pub != client_static {
        return Err(failure(401));
    }
    if let Some(until) = account.banned_until {
        let left = until - now_secs();
        if left > 0 {
            return Err(Box::new(
                NodeBuilder::new("failure")
                    .attr("reason", 402)
                    .attr("code", TEMP_BAN_CODE)
                    .attr("expire", left)
                    .attr("location", "sandbox")
                    .build(),
            ));
        }
    }
    // Replace any older connection of this device (recorded as a conflict
    // when it was still open).
    state.replace_conn(&key, handle);
    Ok(Role::Device {
        jid: key.jid(),
        key,
    })
}

fn parse_registration(
    reg: &wa::client_payload::DevicePairingRegistrationData,
) -> Option<Registration> {
    let regid = reg.e_regid.as_deref()?;
    let registration_id = u32::from_be_bytes(regid.try_into().ok()?);
    let identity = reg.e_ident.clone().filter(|i| i.len() == 32)?;
    let skey_id = reg.e_skey_id.as_deref()?;
    let id = match skey_id.len() {
        3 => u32::from_be_bytes([0, skey_id[0], skey_id[1], skey_id[2]]),
        4 => u32::from_be_bytes(skey_id.try_into().ok()?),
        _ => return None,
    };
    let public = reg.e_skey_val.clone().filter(|v| v.len() == 32)?;
    let signature = reg.e_skey_sig.clone().filter(|s| s.len() == 64)?;
    let platform = reg
        .device_props
        .as_deref()
        .and_then(|b| wa::DeviceProps::decode_from_slice(b).ok())
        .and_then(|p| p.os)
        .unwrap_or_else(|| "unknown".to_string());
    Some(Registration {
        identity,
        registration_id,
        signed_prekey: SignedPreKey {
            id,
            public,
            signature,
        },
        platform,
    })
}

/// First stanzas on an admitted connection.
pub fn on_open(session: &mut Session) {
    match &session.role {
        Role::Pairing { .. } => crate::pairing::start(session),
        Role::Device { key, .. } => {
            let state = &session.state;
            let lid = state.phone(&key.phone).map(|p| p.lid).unwrap_or_default();
            let created = state
                .phone(&key.phone)
                .map(|p| p.created_at)
                .unwrap_or_else(now_secs);
            let mut b = NodeBuilder::new("success")
                .attr("t", now_secs())
                .attr("props", "1")
                .attr("abprops", "1")
                .attr("location", "sandbox")
                .attr("creation", created);
            if !lid.is_empty() {
                b = b.attr("lid", Jid::lid_device(lid.as_str(), key.device));
            }
            session.send(b.build());
            share_app_state_key(state, key);
        }
    }
}

/// First login of a freshly linked device: the phone shares an app-state
/// key and then the history it holds, if any (queued until the client
/// leaves passive mode, like any stanza), in one Signal session.
fn share_app_state_key(state: &std::sync::Arc<State>, key: &DevKey) {
    let (Some(phone), Some(device)) = (state.phone(&key.phone), state.device(key)) else {
        return;
    };
    if device.key_shared {
        return;
    }
    let Some(app_key) = state.app_state_key(&key.phone) else {
        return;
    };
    state.persist();
    let history = read(&state.histories).get(&key.phone).cloned();
    let state = state.clone();
    let key = key.clone();
    tokio::spawn(async move {
        let sent = async {
            let mut session = crate::phone_session::PhoneSession::open(&phone, &device).await?;
            let share = session
                .encrypt(&crate::keyshare::message(&phone, &app_key, &device))
                .await?;
            let history = match history {
                Some(chats) => {
                    let lid_of = |p: &str| state.lid_addressed(p).map(|(lid, _)| lid);
                    let message = crate::history::notification(&phone.phone, &chats, &lid_of)?;
                    Some(session.encrypt(&message).await?)
                }
                None => None,
            };
            anyhow::Ok((share, history))
        };
        match sent.await {
            Ok((share, history)) => {
                if let Some(d) = write(&state.devices).get_mut(&key) {
                    d.key_shared = true;
                }
                state.deliver(&key, share);
                if let Some(history) = history {
                    state.deliver(&key, history);
                }
            }
            Err(e) => tracing::warn!(
                "sandbox: app-state key share for {}: {e:#}",
                key.jid_string()
            ),
        }
    });
}

/// Tells a live device it was unlinked and closes it; the client reports
/// LoggedOut and stops reconnecting.
pub fn kick_logged_out(state: &State, key: &DevKey) {
    if let Some(c) = read(&state.conns).get(key).cloned() {
        c.send(
            NodeBuilder::new("stream:error")
                .attr("code", 401)
                .children([NodeBuilder::new("conflict")
                    .attr("type", "device_removed")
                    .build()])
                .build(),
        );
        c.close();
    }
}
