//! `xmlns="w:profile:picture"`: profile pictures of accounts and groups, as
//! whatsapp-rust asks for them (`wacore::iq::contacts`).
//!
//! * `get` with `target=<jid>` and `<picture type="image|preview"
//!   query="url"/>` → `<picture id=… url=… direct_path=… type=…/>`. The url
//!   is plain `http://` on the sandbox's own listener (`/pp/{owner}/{id}.jpg`)
//!   so anyone can fetch it; preview and full size are the same bytes. When
//!   the `<picture>` names the current `id`, the answer is an empty
//!   `<picture/>` (unchanged). No picture, or an unknown target → 404
//!   `item-not-found`; a target that blocked the asker → 401
//!   `not-authorized` (WhatsApp hides a blocker's picture).
//! * `set` with `<picture type="image">{jpeg}</picture>` sets the asker's
//!   own picture, or a group's with `target=<group>@g.us` (members only; in
//!   a locked group admins only) → `<picture id=…/>`. Without a `<picture>`
//!   child the picture is removed. Pictures must be JPEG (400 otherwise) and
//!   at most [`MAX_PICTURE`] bytes (406 `not-acceptable`).
//!
//! The admin API sets a phone's picture the same way (`PUT
//! /admin/phones/{phone}/picture`, raw JPEG body).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{JidExt, Node};

use crate::nodes::{attr, attr_jid, child, iq_error, iq_result, now_millis};
use crate::state::{Picture, State, read, write};

/// Largest picture accepted (WhatsApp's own pictures are 640×640 JPEGs,
/// well under this).
pub const MAX_PICTURE: usize = 2 * 1024 * 1024;

/// Answers one profile-picture IQ of the account `me`.
pub fn handle(state: &State, me: &str, id: &str, ty: &str, node: &Node) -> Node {
    if ty == "get" {
        get(state, me, id, node)
    } else {
        set(state, me, id, node)
    }
}

/// The owner a `target` names: a phone number, or a group id for `@g.us`.
fn owner_of(state: &State, node: &Node) -> Option<String> {
    let target = attr_jid(node, "target")?;
    if target.is_group() {
        let gid = target.user.to_string();
        read(&state.groups).contains_key(&gid).then_some(gid)
    } else {
        state.resolve_user(&target)
    }
}

fn get(state: &State, me: &str, id: &str, node: &Node) -> Node {
    let Some(owner) = owner_of(state, node) else {
        return iq_error(id, 404, "item-not-found");
    };
    if state.has_blocked(&owner, me) {
        return iq_error(id, 401, "not-authorized");
    }
    let Some(pic) = read(&state.pictures).get(&owner).cloned() else {
        return iq_error(id, 404, "item-not-found");
    };
    let req = child(node, "picture");
    if req.and_then(|p| attr(p, "id")).as_deref() == Some(pic.id.as_str()) {
        return iq_result(id, vec![NodeBuilder::new("picture").build()]);
    }
    let kind = req
        .and_then(|p| attr(p, "type"))
        .filter(|t| t == "preview")
        .unwrap_or_else(|| "image".into());
    let path = direct_path(&pic);
    iq_result(
        id,
        vec![
            NodeBuilder::new("picture")
                .attr("id", pic.id.clone())
                .attr("type", kind)
                .attr("url", format!("http://{}{path}", state.media_host))
                .attr("direct_path", path)
                .build(),
        ],
    )
}

fn set(state: &State, me: &str, id: &str, node: &Node) -> Node {
    let owner = match attr_jid(node, "target") {
        None => me.to_string(),
        Some(t) if t.is_group() => {
            let gid = t.user.to_string();
            let groups = read(&state.groups);
            let Some(g) = groups.get(&gid) else {
                return iq_error(id, 404, "item-not-found");
            };
            match g.participants.get(me) {
                None => return iq_error(id, 403, "forbidden"),
                Some(false) if g.locked => return iq_error(id, 401, "not-authorized"),
                Some(_) => {}
            }
            gid
        }
        Some(t) if state.resolve_user(&t).as_deref() == Some(me) => me.to_string(),
        Some(_) => return iq_error(id, 401, "not-authorized"),
    };
    let Some(bytes) = child(node, "picture").and_then(crate::nodes::bytes) else {
        remove(state, &owner);
        return iq_result(id, vec![]);
    };
    match store(state, &owner, Bytes::copy_from_slice(bytes)) {
        Ok(pic) => iq_result(
            id,
            vec![NodeBuilder::new("picture").attr("id", pic.id).build()],
        ),
        Err(PictureError::TooLarge) => iq_error(id, 406, "not-acceptable"),
        Err(PictureError::NotJpeg) => iq_error(id, 400, "bad-request"),
    }
}

#[derive(Debug)]
pub enum PictureError {
    NotJpeg,
    TooLarge,
}

impl PictureError {
    pub fn message(&self) -> String {
        match self {
            PictureError::NotJpeg => "a profile picture must be a JPEG image".into(),
            PictureError::TooLarge => {
                format!("a profile picture may be at most {MAX_PICTURE} bytes")
            }
        }
    }
}

/// Sets `owner`'s picture; returns it (with its new id).
pub fn store(state: &State, owner: &str, data: Bytes) -> Result<Picture, PictureError> {
    if data.len() > MAX_PICTURE {
        return Err(PictureError::TooLarge);
    }
    if !data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(PictureError::NotJpeg);
    }
    let pic = {
        let mut pictures = write(&state.pictures);
        let previous = pictures
            .get(owner)
            .and_then(|p| p.id.parse::<i64>().ok())
            .unwrap_or(0);
        let pic = Picture {
            owner: owner.to_string(),
            id: now_millis().max(previous + 1).to_string(),
            data,
        };
        pictures.insert(owner.to_string(), pic.clone());
        pic
    };
    state.persist();
    Ok(pic)
}

/// Removes `owner`'s picture; returns whether there was one.
pub fn remove(state: &State, owner: &str) -> bool {
    let removed = write(&state.pictures).remove(owner).is_some();
    if removed {
        state.persist();
    }
    removed
}

pub fn direct_path(pic: &Picture) -> String {
    format!("/pp/{}/{}.jpg", pic.owner, pic.id)
}

/// `GET /pp/{owner}/{id}.jpg`: the current picture only (an old id is
/// gone, like an expired WhatsApp picture URL).
pub async fn serve(
    AxState(state): AxState<Arc<State>>,
    Path((owner, file)): Path<(String, String)>,
) -> Response {
    let pic = read(&state.pictures).get(&owner).cloned();
    match pic {
        Some(p) if file.strip_suffix(".jpg") == Some(p.id.as_str()) => {
            ([(header::CONTENT_TYPE, "image/jpeg")], p.data).into_response()
        }
        _ => crate::admin::error(StatusCode::NOT_FOUND, "no such picture"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iq::test_support::{state_with_phones, wire};
    use wacore::iq::blocklist::UpdateBlocklistSpec;
    use wacore::iq::contacts::{ProfilePictureSpec, SetProfilePictureSpec};
    use wacore::iq::spec::IqSpec;
    use wacore_binary::Jid;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4];

    fn fetch(state: &State, me: &str, spec: ProfilePictureSpec) -> Result<Option<String>, u16> {
        let (req, id, ty) = wire(spec.build_iq());
        let reply = handle(state, me, &id, &ty, &req);
        if attr(&reply, "type").as_deref() == Some("error") {
            let code = attr(child(&reply, "error").unwrap(), "code").unwrap();
            return Err(code.parse().unwrap());
        }
        spec.parse_response(&reply.as_node_ref())
            .map(|p| p.map(|p| p.url))
            .map_err(|_| 0)
    }

    fn set_own(state: &State, me: &str, data: Vec<u8>) -> Node {
        let spec = SetProfilePictureSpec::for_own(data);
        let (req, id, ty) = wire(spec.build_iq());
        let reply = handle(state, me, &id, &ty, &req);
        if attr(&reply, "type").as_deref() == Some("result") {
            spec.parse_response(&reply.as_node_ref())
                .expect("whatsapp-rust parses the set answer");
        }
        reply
    }

    #[test]
    fn set_get_and_remove_own_picture() {
        let state = state_with_phones(&["628100000001", "628100000002"]);
        let (alice, bob) = ("628100000001", "628100000002");
        let alice_jid = Jid::pn(alice);
        assert_eq!(
            fetch(&state, bob, ProfilePictureSpec::full(&alice_jid)),
            Err(404)
        );

        let reply = set_own(&state, alice, JPEG.to_vec());
        assert_eq!(attr(&reply, "type").as_deref(), Some("result"));
        let first_id = state.pictures.read().unwrap()[alice].id.clone();
        let url = fetch(&state, bob, ProfilePictureSpec::full(&alice_jid))
            .unwrap()
            .expect("a picture");
        assert_eq!(
            url,
            format!("http://{}/pp/{alice}/{first_id}.jpg", state.media_host)
        );
        assert!(
            fetch(&state, bob, ProfilePictureSpec::preview(&alice_jid))
                .unwrap()
                .is_some()
        );

        // A new picture gets a new id.
        set_own(&state, alice, JPEG.to_vec());
        let second_id = state.pictures.read().unwrap()[alice].id.clone();
        assert_ne!(first_id, second_id);

        // Not a JPEG.
        let reply = set_own(&state, alice, b"\x89PNG\r\n".to_vec());
        assert_eq!(attr(&reply, "type").as_deref(), Some("error"));

        // Empty bytes remove it.
        set_own(&state, alice, Vec::new());
        assert_eq!(
            fetch(&state, bob, ProfilePictureSpec::full(&alice_jid)),
            Err(404)
        );
        // Unknown numbers have none.
        assert_eq!(
            fetch(
                &state,
                bob,
                ProfilePictureSpec::full(&Jid::pn("628199999999"))
            ),
            Err(404)
        );
    }

    #[test]
    fn a_blocker_hides_its_picture() {
        let state = state_with_phones(&["628100000001", "628100000002", "628100000003"]);
        let (alice, bob, carol) = ("628100000001", "628100000002", "628100000003");
        set_own(&state, alice, JPEG.to_vec());
        let (req, id, ty) = wire(UpdateBlocklistSpec::block(&Jid::pn(bob)).build_iq());
        crate::iq::blocklist::handle(&state, alice, &id, &ty, &req);
        let alice_jid = Jid::pn(alice);
        assert_eq!(
            fetch(&state, bob, ProfilePictureSpec::full(&alice_jid)),
            Err(401)
        );
        assert!(
            fetch(&state, carol, ProfilePictureSpec::full(&alice_jid))
                .unwrap()
                .is_some()
        );
    }
}
