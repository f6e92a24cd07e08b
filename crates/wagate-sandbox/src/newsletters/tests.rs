//! The `w:mex` answers have the shapes whatsapp-rust reads, follow who owns
//! and follows what, and posts get rising server ids, refuse non-owners
//! and count reactions.

use serde_json::{Value, json};
use wacore::iq::mex::{MexDoc, MexQuerySpec};
use wacore::iq::spec::IqSpec;

use super::posts::{PostError, post, react};
use super::*;
use crate::iq::test_support::{state_with_phones, wire};
use crate::nodes::child_bytes;

const ANN: &str = "628111000001";
const BEN: &str = "628111000002";

/// The `data` of the answer to the mex query `doc` with `vars`, from `phone`.
fn mex(state: &State, phone: &str, doc: MexDoc, vars: Value) -> Value {
    let spec = MexQuerySpec::new(doc, &vars).unwrap();
    let (node, id, _) = wire(spec.build_iq());
    let reply = on_mex(state, phone, &id, &node).expect("a newsletter query");
    let result = child(&reply, "result").unwrap();
    let body: Value = serde_json::from_slice(bytes(result).unwrap()).unwrap();
    body["data"].clone()
}

fn doc(name: &'static str, id: &'static str) -> MexDoc {
    MexDoc { name, id }
}

#[test]
fn create_list_fetch_join_and_leave() {
    let state = state_with_phones(&[ANN, BEN]);
    let created = mex(
        &state,
        ANN,
        doc(create_newsletter::NAME, create_newsletter::DOC_ID),
        json!({ "input": { "name": "News", "description": "Daily" } }),
    );
    let n = &created["xwa2_newsletter_create"];
    let jid = n["id"].as_str().unwrap().to_string();
    assert!(jid.ends_with("@newsletter"), "{n}");
    assert_eq!(n["thread_metadata"]["name"]["text"], "News");
    assert_eq!(n["viewer_metadata"]["role"], "owner");
    let invite = n["thread_metadata"]["invite"].as_str().unwrap().to_string();

    let fetch = doc(fetch_newsletter::NAME, fetch_newsletter::DOC_ID);
    let by_jid = mex(
        &state,
        BEN,
        fetch,
        json!({ "input": { "key": jid, "type": "JID" } }),
    );
    assert_eq!(
        by_jid["xwa2_newsletter"]["viewer_metadata"]["role"],
        "guest"
    );
    let by_invite = mex(
        &state,
        BEN,
        fetch,
        json!({ "input": { "key": invite, "type": "INVITE" } }),
    );
    assert_eq!(by_invite["xwa2_newsletter"]["id"], jid.as_str());
    let unknown = mex(
        &state,
        BEN,
        fetch,
        json!({ "input": { "key": "1@newsletter" } }),
    );
    assert!(unknown["xwa2_newsletter"].is_null());

    let join = doc(join_newsletter::NAME, join_newsletter::DOC_ID);
    let joined = mex(&state, BEN, join, json!({ "newsletter_id": jid }));
    assert_eq!(
        joined["xwa2_newsletter_join_v2"]["viewer_metadata"]["role"],
        "subscriber"
    );
    let list = doc(
        fetch_all_newsletters_metadata::NAME,
        fetch_all_newsletters_metadata::DOC_ID,
    );
    let listed = mex(&state, BEN, list, json!({}));
    assert_eq!(listed["xwa2_newsletter_subscribed"][0]["id"], jid.as_str());
    let owned = mex(&state, ANN, list, json!({}));
    let count = &owned["xwa2_newsletter_subscribed"][0]["thread_metadata"]["subscribers_count"];
    assert_eq!(count, "1");

    let leave = doc(leave_newsletter::NAME, leave_newsletter::DOC_ID);
    let left = mex(&state, BEN, leave, json!({ "newsletter_id": jid }));
    assert!(!left["xwa2_newsletter_leave_v2"].is_null());
    let listed = mex(&state, BEN, list, json!({}));
    assert_eq!(listed["xwa2_newsletter_subscribed"], json!([]));
    let missing = mex(
        &state,
        BEN,
        join,
        json!({ "newsletter_id": "9@newsletter" }),
    );
    assert!(missing["xwa2_newsletter_join_v2"].is_null());
}

#[test]
fn a_bad_name_is_an_error() {
    let state = state_with_phones(&[ANN]);
    let spec = MexQuerySpec::new(
        doc(create_newsletter::NAME, create_newsletter::DOC_ID),
        &json!({ "input": { "name": "  " } }),
    )
    .unwrap();
    let (node, id, _) = wire(spec.build_iq());
    let reply = on_mex(&state, ANN, &id, &node).unwrap();
    let body: Value = serde_json::from_slice(child_bytes(&reply, "result").unwrap()).unwrap();
    assert!(body["data"].is_null());
    assert!(body["errors"][0]["message"].is_string());
}

#[test]
fn posts_take_rising_server_ids_and_count_reactions() {
    let state = state_with_phones(&[ANN, BEN]);
    let created = mex(
        &state,
        ANN,
        doc(create_newsletter::NAME, create_newsletter::DOC_ID),
        json!({ "input": { "name": "News" } }),
    );
    let jid = created["xwa2_newsletter_create"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let digits = jid.trim_end_matches("@newsletter");
    let first = post(&state, ANN, digits, "A1", "text", None, b"x").unwrap();
    let second = post(&state, ANN, digits, "A2", "text", None, b"y").unwrap();
    assert!(first >= 100 && second == first + 1);
    assert!(matches!(
        post(&state, BEN, digits, "B1", "text", None, b"z"),
        Err(PostError::NotAdmin(_))
    ));
    assert!(matches!(
        post(&state, ANN, "1", "A3", "text", None, b"z"),
        Err(PostError::NotFound(_))
    ));
    react(&state, BEN, digits, first, "👍").unwrap();
    react(&state, ANN, digits, first, "👍").unwrap();
    react(&state, ANN, digits, first, "").unwrap();
    let all = read(&state.newsletters);
    let n = all.get(digits).unwrap();
    assert_eq!(n.posts.len(), 2);
    assert_eq!(n.posts[0].reaction_counts().get("👍"), Some(&1));
    drop(all);
    assert!(matches!(
        react(&state, BEN, digits, 5, "👍"),
        Err(PostError::NotFound(_))
    ));
}
