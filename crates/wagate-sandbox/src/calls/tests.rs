use wacore::stanza::call::parse_call_stanza;
use wacore::types::call::CallAction;
use wacore_binary::Jid;

use super::*;
use crate::state::{CALLS_MAX, Calls};

/// What a client reads from the offer the sandbox sends.
fn parsed(node: &Node) -> wacore::types::call::IncomingCall {
    let bytes = wacore_binary::marshal::marshal(node).unwrap();
    let unpacked = wacore_binary::util::unpack(&bytes).unwrap();
    let node_ref = wacore_binary::marshal::unmarshal_ref(&unpacked).unwrap();
    parse_call_stanza(&node_ref)
        .unwrap()
        .expect("a known call action")
}

#[test]
fn the_offer_is_one_whatsapp_clients_read() {
    let lid = Jid::lid("123456789012345");
    let pn = Jid::pn("628777000002");
    let call = parsed(&offer_stanza("ABCDEF0123", &lid, &pn, "Ben", true));
    assert_eq!(call.from, lid);
    assert_eq!(call.notify.as_deref(), Some("Ben"));
    assert!(!call.offline);
    match call.action {
        CallAction::Offer {
            call_id,
            call_creator,
            caller_pn,
            is_video,
            audio,
            group_jid,
            ..
        } => {
            assert_eq!(call_id, "ABCDEF0123");
            assert_eq!(call_creator, lid);
            assert_eq!(caller_pn, Some(pn));
            assert!(is_video);
            assert_eq!(audio.len(), 2);
            assert_eq!(group_jid, None);
        }
        other => panic!("not an offer: {other:?}"),
    }
}

#[test]
fn the_table_of_calls_is_bounded() {
    let mut calls = Calls::default();
    for i in 0..CALLS_MAX + 5 {
        calls.insert(Call {
            id: format!("C{i}"),
            from: "1".into(),
            to: "2".into(),
            video: false,
            status: CallStatus::Ringing,
            rejected_by: None,
            accepted_by: None,
            devices: BTreeMap::new(),
            created_at: 0,
        });
    }
    assert!(calls.get("C0").is_none());
    assert!(calls.get("C5").is_some());
    assert!(calls.get(&format!("C{}", CALLS_MAX + 4)).is_some());
}
