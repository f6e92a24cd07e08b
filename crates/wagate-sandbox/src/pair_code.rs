//! Phone-number pairing codes, with the sandbox playing the primary phone.
//!
//! 1. The companion sends `<link_code_companion_reg stage="companion_hello">`
//!    with its ephemeral key wrapped under the 8-char code (PBKDF2 → AES-CTR);
//!    we answer with a `link_code_pairing_ref`.
//! 2. Admin `POST /admin/phones/{phone}/pair-code {"code"}` = the user typing
//!    the code on the phone: we unwrap the companion's ephemeral, wrap our own
//!    under the same code and send the `primary_hello` notification.
//! 3. The companion answers `companion_finish` with a key bundle sealed under
//!    DH(ephemerals); we open it, derive the ADV secret exactly like the
//!    client (`HKDF(eph_shared ‖ identity_shared ‖ random, "adv_secret")`)
//!    and finish with the same `pair-success` as the QR flow.

use std::time::Duration;

use tokio::sync::oneshot;
use wacore::pair_code::PairCodeUtils;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use wacore_libsignal::protocol::PublicKey;

use crate::conn::{Role, Session};
use crate::nodes::{attr, attr_jid, child, child_bytes, iq_error, iq_result, new_id, now_secs};
use crate::pairing::PairError;
use crate::state::{PendingPairCode, State, StoredKeyPair, write};

const CODE_VALIDITY_SECS: i64 = 180;
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);

/// Phone-side state once the code was entered.
pub struct PrimaryHello {
    pub ephemeral: StoredKeyPair,
    pub companion_ephemeral: [u8; 32],
    pub done: oneshot::Sender<Result<String, PairError>>,
}

/// `xmlns="md"` iqs on a pairing connection (and harmless answers elsewhere).
pub fn on_iq(session: &Session, id: &str, node: &Node) -> Node {
    let Some(reg) = child(node, "link_code_companion_reg") else {
        return iq_result(id, vec![]);
    };
    let Role::Pairing {
        registration,
        noise_pub,
        ..
    } = &session.role
    else {
        return iq_error(id, 400, "bad-request");
    };
    match attr(reg, "stage").as_deref() {
        Some("companion_hello") => {
            let Some(phone) = attr_jid(reg, "jid").map(|j| j.user.to_string()) else {
                return iq_error(id, 400, "bad-request");
            };
            let Some(wrapped) =
                child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub")
                    .filter(|w| w.len() == 80)
            else {
                return iq_error(id, 400, "bad-request");
            };
            if !session.state.phone_exists(&phone) {
                return iq_error(id, 404, "item-not-found");
            }
            let pairing_ref = new_id();
            write(&session.state.pair_codes).insert(
                pairing_ref.clone(),
                PendingPairCode {
                    conn: session.handle.clone(),
                    noise_pub: *noise_pub,
                    registration: registration.clone(),
                    phone,
                    wrapped_ephemeral: wrapped.to_vec(),
                    expires_at: now_secs() + CODE_VALIDITY_SECS,
                },
            );
            iq_result(
                id,
                vec![
                    NodeBuilder::new("link_code_companion_reg")
                        .children([NodeBuilder::new("link_code_pairing_ref")
                            .bytes(pairing_ref.into_bytes())
                            .build()])
                        .build(),
                ],
            )
        }
        Some("companion_finish") => {
            let pairing_ref = child_bytes(reg, "link_code_pairing_ref")
                .map(|b| String::from_utf8_lossy(b).to_string())
                .unwrap_or_default();
            let bundle = child_bytes(reg, "link_code_pairing_wrapped_key_bundle")
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            finish(&session.state, &pairing_ref, &bundle);
            iq_result(id, vec![])
        }
        _ => iq_error(id, 400, "bad-request"),
    }
}

/// Admin side: the user typed `code` on `phone`. Resolves once the
/// companion completed the exchange (or fails).
pub async fn enter_code(state: &State, phone: &str, code: &str) -> Result<String, PairError> {
    let code = code.trim().to_ascii_uppercase().replace('-', "");
    if !PairCodeUtils::validate_code(&code) {
        return Err(PairError::BadRequest(
            "code must be 8 Crockford base32 characters".into(),
        ));
    }
    if !state.phone_exists(phone) {
        return Err(PairError::NotFound(format!("unknown phone {phone}")));
    }
    // The newest live request for this number (the server routes by number).
    let candidate = state
        .pair_codes
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(_, p)| p.phone == phone && p.expires_at >= now_secs())
        .max_by_key(|(_, p)| p.expires_at)
        .map(|(r, p)| (r.clone(), p.clone()));
    let Some((pairing_ref, pending)) = candidate else {
        return Err(PairError::NotFound(
            "no device is waiting for a pairing code".into(),
        ));
    };
    let wrapped = pending.wrapped_ephemeral.clone();
    let code2 = code.clone();
    let companion_ephemeral = tokio::task::spawn_blocking(move || {
        PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped, &code2)
    })
    .await
    .map_err(|_| PairError::BadRequest("pairing code task failed".into()))?
    .map_err(|_| PairError::BadRequest("undecodable pairing code request".into()))?;
    let ephemeral = StoredKeyPair::generate();
    let eph_pub = ephemeral.public();
    let code3 = code.clone();
    let wrapped_primary =
        tokio::task::spawn_blocking(move || PairCodeUtils::encrypt_ephemeral_pub(&eph_pub, &code3))
            .await
            .map_err(|_| PairError::BadRequest("pairing code task failed".into()))?;
    let account_pub = state
        .phone(phone)
        .map(|p| p.account.public())
        .ok_or_else(|| PairError::NotFound(format!("unknown phone {phone}")))?;
    let (tx, rx) = oneshot::channel();
    state
        .primary_hellos
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            pairing_ref.clone(),
            PrimaryHello {
                ephemeral,
                companion_ephemeral,
                done: tx,
            },
        );
    pending.conn.send(
        NodeBuilder::new("notification")
            .attr("from", wacore_binary::SERVER_JID)
            .attr("type", "link_code_companion_reg")
            .attr("id", new_id())
            .attr("t", now_secs())
            .children([NodeBuilder::new("link_code_companion_reg")
                .attr("stage", "primary_hello")
                .children([
                    NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                        .bytes(wrapped_primary.to_vec())
                        .build(),
                    NodeBuilder::new("primary_identity_pub")
                        .bytes(account_pub.to_vec())
                        .build(),
                    NodeBuilder::new("link_code_pairing_ref")
                        .bytes(pairing_ref.clone().into_bytes())
                        .build(),
                ])
                .build()])
            .build(),
    );
    match tokio::time::timeout(FINISH_TIMEOUT, rx).await {
        Ok(Ok(result)) => result,
        _ => {
            state
                .primary_hellos
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&pairing_ref);
            Err(PairError::NotFound(
                "the device did not complete pairing (wrong code?)".into(),
            ))
        }
    }
}

fn finish(state: &State, pairing_ref: &str, wrapped_bundle: &[u8]) {
    let hello = state
        .primary_hellos
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(pairing_ref);
    let Some(hello) = hello else { return };
    let pending = write(&state.pair_codes).get(pairing_ref).cloned();
    let result = match pending {
        None => Err(PairError::NotFound("pairing request expired".into())),
        Some(p) => open_bundle(state, &p, &hello, wrapped_bundle).and_then(|adv| {
            crate::pairing::link(state, &p.phone, &p.conn, p.noise_pub, &p.registration, &adv)
        }),
    };
    let _ = hello.done.send(result);
}

fn open_bundle(
    state: &State,
    pending: &PendingPairCode,
    hello: &PrimaryHello,
    wrapped: &[u8],
) -> Result<Vec<u8>, PairError> {
    let bad = || PairError::BadRequest("key bundle does not open (wrong code?)".into());
    if wrapped.len() < 32 + 12 + 16 {
        return Err(bad());
    }
    let companion_eph =
        PublicKey::from_djb_public_key_bytes(&hello.companion_ephemeral).map_err(|_| bad())?;
    let eph_shared = hello
        .ephemeral
        .0
        .private_key
        .calculate_agreement(&companion_eph)
        .map_err(|_| bad())?;
    let mut enc_key = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(
        &eph_shared,
        Some(&wrapped[..32]),
        b"link_code_pairing_key_bundle_encryption_key",
        &mut enc_key,
    )
    .map_err(|_| bad())?;
    let iv: [u8; 12] = wrapped[32..44].try_into().map_err(|_| bad())?;
    let mut bundle = Vec::new();
    wacore_libsignal::crypto::aes_256_gcm_decrypt(&enc_key, &iv, b"", &wrapped[44..], &mut bundle)
        .map_err(|_| bad())?;
    if bundle.len() != 96 || bundle[..32] != pending.registration.identity[..] {
        return Err(bad());
    }
    let account = state
        .phone(&pending.phone)
        .ok_or_else(|| PairError::NotFound("unknown phone".into()))?
        .account;
    let companion_identity =
        PublicKey::from_djb_public_key_bytes(&bundle[..32]).map_err(|_| bad())?;
    let identity_shared = account
        .0
        .private_key
        .calculate_agreement(&companion_identity)
        .map_err(|_| bad())?;
    let mut combined = Vec::with_capacity(96);
    combined.extend_from_slice(&eph_shared);
    combined.extend_from_slice(&identity_shared);
    combined.extend_from_slice(&bundle[64..96]);
    let mut adv = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(&combined, None, b"adv_secret", &mut adv)
        .map_err(|_| bad())?;
    Ok(adv.to_vec())
}
