//! Every trait of whatsapp-rust's `Backend` against real SQLite and real
//! PostgreSQL: round trips of each method group, the edge cases of the
//! reference implementations, per-device isolation and `delete_device`.

mod backend_common;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use wacore::appstate::hash::HashState;
use wacore::appstate::processor::AppStateMutationMAC;
use wacore::store::Device;
use wacore::store::device::{CachedNoiseCert, CachedServerCertChain};
use wacore::store::traits::*;
use wagate_store::Store;

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

async fn two_devices(
    store: &Store,
) -> (
    Arc<wagate_store::backend::DeviceBackend>,
    Arc<wagate_store::backend::DeviceBackend>,
) {
    let a = store.create_device().await.unwrap();
    let b = store.create_device().await.unwrap();
    assert_ne!(a, b);
    (store.device_backend(a), store.device_backend(b))
}

async fn signal_roundtrip(store: Store) {
    let (d, other) = two_devices(&store).await;

    // identities
    assert_eq!(d.load_identity("111@s.whatsapp.net").await.unwrap(), None);
    d.put_identity("111@s.whatsapp.net", [1; 32]).await.unwrap();
    d.put_identity("111@s.whatsapp.net", [2; 32]).await.unwrap();
    assert_eq!(
        d.load_identity("111@s.whatsapp.net").await.unwrap(),
        Some([2; 32])
    );
    d.put_identities_batch(&[
        (arc("222@lid"), [3; 32]),
        (arc("333:4@s.whatsapp.net"), [4; 32]),
        (arc("222@lid"), [5; 32]),
    ])
    .await
    .unwrap();
    assert_eq!(d.load_identity("222@lid").await.unwrap(), Some([5; 32]));
    assert_eq!(
        d.load_identity("333:4@s.whatsapp.net").await.unwrap(),
        Some([4; 32])
    );
    d.delete_identity("222@lid").await.unwrap();
    assert_eq!(d.load_identity("222@lid").await.unwrap(), None);

    // sessions
    assert!(!d.has_session("555@s.whatsapp.net").await.unwrap());
    d.put_session("555@s.whatsapp.net", b"s1").await.unwrap();
    assert!(d.has_session("555@s.whatsapp.net").await.unwrap());
    assert_eq!(
        d.get_session("555@s.whatsapp.net").await.unwrap(),
        Some(Bytes::from_static(b"s1"))
    );
    let big: Vec<(Arc<str>, Bytes)> = (0..450)
        .map(|i| {
            (
                arc(&format!("9{i}:1@s.whatsapp.net")),
                Bytes::from(vec![i as u8; 10]),
            )
        })
        .collect();
    d.put_sessions_batch(&big).await.unwrap();
    d.put_sessions_batch(&[(arc("555@s.whatsapp.net"), Bytes::from_static(b"s2"))])
        .await
        .unwrap();
    assert_eq!(
        d.get_session("555@s.whatsapp.net").await.unwrap(),
        Some(Bytes::from_static(b"s2"))
    );
    assert_eq!(
        d.get_session("9449:1@s.whatsapp.net").await.unwrap(),
        Some(Bytes::from(vec![449u32 as u8; 10]))
    );
    d.delete_session("555@s.whatsapp.net").await.unwrap();
    assert!(!d.has_session("555@s.whatsapp.net").await.unwrap());
    assert_eq!(d.get_session("555@s.whatsapp.net").await.unwrap(), None);

    // has_signal_state_for_user: prefix must end at '@' or ':'
    assert!(d.has_signal_state_for_user("9449").await.unwrap()); // session user:dev@
    assert!(d.has_signal_state_for_user("111").await.unwrap()); // identity user@
    assert!(d.has_signal_state_for_user("333").await.unwrap());
    assert!(!d.has_signal_state_for_user("11").await.unwrap());
    assert!(!d.has_signal_state_for_user("9450").await.unwrap());
    assert!(!d.has_signal_state_for_user("555").await.unwrap());
    assert!(!d.has_signal_state_for_user("9_49").await.unwrap());
    assert!(!d.has_signal_state_for_user("9%").await.unwrap());
    assert!(!other.has_signal_state_for_user("111").await.unwrap());

    // sender keys
    d.put_sender_key("g1::a", b"k1").await.unwrap();
    d.put_sender_keys_batch(&[
        (arc("g1::b"), Bytes::from_static(b"k2")),
        (arc("g1::a"), Bytes::from_static(b"k3")),
    ])
    .await
    .unwrap();
    assert_eq!(
        d.get_sender_key("g1::a").await.unwrap(),
        Some(b"k3".to_vec())
    );
    assert_eq!(
        d.get_sender_key("g1::b").await.unwrap(),
        Some(b"k2".to_vec())
    );
    d.delete_sender_key("g1::a").await.unwrap();
    assert_eq!(d.get_sender_key("g1::a").await.unwrap(), None);

    // nothing leaked to the other device
    assert_eq!(
        other.load_identity("111@s.whatsapp.net").await.unwrap(),
        None
    );
    assert!(!other.has_session("9449:1@s.whatsapp.net").await.unwrap());
    assert_eq!(other.get_sender_key("g1::b").await.unwrap(), None);
}

async fn prekeys_roundtrip(store: Store) {
    let (d, other) = two_devices(&store).await;
    assert_eq!(d.get_max_prekey_id().await.unwrap(), 0);
    assert_eq!(d.load_prekey(1).await.unwrap(), None);

    d.store_prekey(1, b"p1", false).await.unwrap();
    d.store_prekey(1, b"p1b", true).await.unwrap();
    assert_eq!(
        d.load_prekey(1).await.unwrap(),
        Some(Bytes::from_static(b"p1b"))
    );
    let batch: Vec<(u32, Bytes)> = (2..=700u32)
        .map(|i| (i, Bytes::from(i.to_be_bytes().to_vec())))
        .collect();
    d.store_prekeys_batch(&batch, false).await.unwrap();
    assert_eq!(d.get_max_prekey_id().await.unwrap(), 700);
    assert_eq!(other.get_max_prekey_id().await.unwrap(), 0);

    let loaded = d.load_prekeys_batch(&[700, 5, 9999, 1]).await.unwrap();
    assert_eq!(
        loaded,
        vec![
            (700, Bytes::from(700u32.to_be_bytes().to_vec())),
            (5, Bytes::from(5u32.to_be_bytes().to_vec())),
            (1, Bytes::from_static(b"p1b")),
        ]
    );
    assert!(d.load_prekeys_batch(&[]).await.unwrap().is_empty());

    // mark uploaded never resurrects a consumed key
    d.remove_prekey(5).await.unwrap();
    let ids: Vec<u32> = (1..=700).collect();
    d.mark_prekeys_uploaded(&ids).await.unwrap();
    d.mark_prekeys_uploaded(&[]).await.unwrap();
    assert_eq!(d.load_prekey(5).await.unwrap(), None);
    let (uploaded,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM wa_prekeys WHERE device_id = $1 AND uploaded = 1")
            .bind(d.device_id())
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(uploaded, 699);

    // a u32 id above i32::MAX survives
    d.store_prekey(u32::MAX, b"max", false).await.unwrap();
    assert_eq!(d.get_max_prekey_id().await.unwrap(), u32::MAX);

    // signed prekeys
    assert_eq!(d.load_signed_prekey(1).await.unwrap(), None);
    d.store_signed_prekey(2, b"s2").await.unwrap();
    d.store_signed_prekey(1, b"s1").await.unwrap();
    d.store_signed_prekey(1, b"s1b").await.unwrap();
    assert_eq!(
        d.load_signed_prekey(1).await.unwrap(),
        Some(b"s1b".to_vec())
    );
    assert_eq!(
        d.load_all_signed_prekeys().await.unwrap(),
        vec![(1, b"s1b".to_vec()), (2, b"s2".to_vec())]
    );
    d.remove_signed_prekey(1).await.unwrap();
    assert_eq!(
        d.load_all_signed_prekeys().await.unwrap(),
        vec![(2, b"s2".to_vec())]
    );
    assert!(other.load_all_signed_prekeys().await.unwrap().is_empty());
}

fn sync_key(fill: u8, ts: i64) -> AppStateSyncKey {
    AppStateSyncKey {
        key_data: vec![fill; 32],
        fingerprint: vec![fill, 1, 2],
        timestamp: ts,
    }
}

async fn appstate_roundtrip(store: Store) {
    let (d, other) = two_devices(&store).await;

    // sync keys
    assert!(d.get_sync_key(b"k1").await.unwrap().is_none());
    assert_eq!(d.get_latest_sync_key_id().await.unwrap(), None);
    d.set_sync_key(&[0, 0, 1], sync_key(1, 10)).await.unwrap();
    d.set_sync_key(&[0, 0, 3], sync_key(3, 30)).await.unwrap();
    d.set_sync_key(&[0, 0, 2], sync_key(2, 20)).await.unwrap();
    let k = d.get_sync_key(&[0, 0, 3]).await.unwrap().unwrap();
    assert_eq!(
        (k.key_data, k.fingerprint, k.timestamp),
        (vec![3; 32], vec![3, 1, 2], 30)
    );
    d.set_sync_key(&[0, 0, 3], sync_key(9, 90)).await.unwrap();
    assert_eq!(
        d.get_sync_key(&[0, 0, 3]).await.unwrap().unwrap().timestamp,
        90
    );
    assert_eq!(
        d.get_latest_sync_key_id().await.unwrap(),
        Some(vec![0, 0, 3])
    );
    // an undecodable row reads as absent and is never "latest"
    sqlx::query("INSERT INTO wa_app_state_keys (device_id, key_id, key_data) VALUES ($1, $2, $3)")
        .bind(d.device_id())
        .bind(vec![0u8, 0, 9])
        .bind(vec![0xffu8, 0xff])
        .execute(store.pool())
        .await
        .unwrap();
    assert!(d.get_sync_key(&[0, 0, 9]).await.unwrap().is_none());
    assert_eq!(
        d.get_latest_sync_key_id().await.unwrap(),
        Some(vec![0, 0, 3])
    );
    assert_eq!(other.get_latest_sync_key_id().await.unwrap(), None);

    // versions
    let v = d.get_version("regular").await.unwrap();
    assert_eq!(
        (v.version, v.hash, v.index_value_map.len()),
        (0, [0u8; 128], 0)
    );
    let mut map = HashMap::new();
    map.insert("a".to_string(), vec![1, 2]);
    map.insert("b".to_string(), vec![]);
    let mut hash = [7u8; 128];
    hash[0] = 0;
    let state = HashState {
        version: u64::from(u32::MAX) + 5,
        hash,
        index_value_map: map.clone(),
        mac_mismatch_fatal: true,
    };
    d.set_version("regular", state.clone()).await.unwrap();
    let back = d.get_version("regular").await.unwrap();
    assert_eq!(back.version, state.version);
    assert_eq!(back.hash, hash);
    assert_eq!(back.index_value_map, map);
    assert!(back.mac_mismatch_fatal);
    d.set_version(
        "regular",
        HashState {
            version: 6,
            ..state
        },
    )
    .await
    .unwrap();
    assert_eq!(d.get_version("regular").await.unwrap().version, 6);
    assert_eq!(other.get_version("regular").await.unwrap().version, 0);

    // mutation MACs
    let mac = |i: u8, v: u8| AppStateMutationMAC {
        index_mac: vec![i; 32],
        value_mac: vec![v; 32],
    };
    d.put_mutation_macs("regular", 1, &[]).await.unwrap();
    let many: Vec<AppStateMutationMAC> = (0..=250u8).map(|i| mac(i, i)).collect();
    d.put_mutation_macs("regular", 1, &many).await.unwrap();
    d.put_mutation_macs("regular", 2, &[mac(1, 100), mac(1, 101)])
        .await
        .unwrap();
    d.put_mutation_macs("critical", 2, &[mac(1, 200)])
        .await
        .unwrap();
    assert_eq!(
        d.get_mutation_mac("regular", &[1; 32]).await.unwrap(),
        Some(vec![101; 32])
    );
    assert_eq!(
        d.get_mutation_mac("critical", &[1; 32]).await.unwrap(),
        Some(vec![200; 32])
    );
    assert_eq!(d.get_mutation_mac("regular", &[9; 31]).await.unwrap(), None);
    let got = d
        .get_mutation_macs("regular", &[[1; 32], [2; 32], [251; 32]])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[&[1; 32]], vec![101; 32]);
    assert_eq!(got[&[2; 32]], vec![2; 32]);
    assert!(
        d.get_mutation_macs("regular", &[])
            .await
            .unwrap()
            .is_empty()
    );
    d.delete_mutation_macs("regular", &[vec![1; 32], vec![2; 32]])
        .await
        .unwrap();
    d.delete_mutation_macs("regular", &[]).await.unwrap();
    assert_eq!(d.get_mutation_mac("regular", &[1; 32]).await.unwrap(), None);
    assert_eq!(
        d.get_mutation_mac("regular", &[3; 32]).await.unwrap(),
        Some(vec![3; 32])
    );
    assert_eq!(
        d.get_mutation_mac("critical", &[1; 32]).await.unwrap(),
        Some(vec![200; 32])
    );
    assert_eq!(
        other.get_mutation_mac("regular", &[3; 32]).await.unwrap(),
        None
    );
    d.clear_mutation_macs("regular").await.unwrap();
    assert_eq!(d.get_mutation_mac("regular", &[3; 32]).await.unwrap(), None);
    assert_eq!(
        d.get_mutation_mac("critical", &[1; 32]).await.unwrap(),
        Some(vec![200; 32])
    );
}

fn lid(lid: &str, pn: &str, created: i64, updated: i64, src: &str) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: lid.into(),
        phone_number: pn.into(),
        created_at: created,
        updated_at: updated,
        learning_source: src.into(),
    }
}

async fn protocol_roundtrip(store: Store) {
    let (d, other) = two_devices(&store).await;

    // sender key devices
    assert!(d.get_sender_key_devices("g@g.us").await.unwrap().is_empty());
    d.set_sender_key_status("g@g.us", &[]).await.unwrap();
    d.set_sender_key_status(
        "g@g.us",
        &[("a:1@lid", true), ("b:2@lid", false), ("a:1@lid", false)],
    )
    .await
    .unwrap();
    d.set_sender_key_status("h@g.us", &[("a:1@lid", true), ("c:3@lid", true)])
        .await
        .unwrap();
    assert_eq!(
        d.get_sender_key_devices("g@g.us").await.unwrap(),
        vec![
            ("a:1@lid".to_string(), false),
            ("b:2@lid".to_string(), false)
        ]
    );
    d.set_sender_key_status("g@g.us", &[("b:2@lid", true)])
        .await
        .unwrap();
    assert_eq!(
        d.get_sender_key_devices("g@g.us").await.unwrap(),
        vec![
            ("a:1@lid".to_string(), false),
            ("b:2@lid".to_string(), true)
        ]
    );
    d.delete_sender_key_device_rows(&["a:1@lid"]).await.unwrap();
    d.delete_sender_key_device_rows(&[]).await.unwrap();
    assert_eq!(
        d.get_sender_key_devices("g@g.us").await.unwrap(),
        vec![("b:2@lid".to_string(), true)]
    );
    assert_eq!(
        d.get_sender_key_devices("h@g.us").await.unwrap(),
        vec![("c:3@lid".to_string(), true)]
    );
    d.clear_sender_key_devices("g@g.us").await.unwrap();
    assert!(d.get_sender_key_devices("g@g.us").await.unwrap().is_empty());
    assert_eq!(d.get_sender_key_devices("h@g.us").await.unwrap().len(), 1);
    other
        .set_sender_key_status("h@g.us", &[("z:1@lid", true)])
        .await
        .unwrap();
    d.clear_all_sender_key_devices().await.unwrap();
    assert!(d.get_sender_key_devices("h@g.us").await.unwrap().is_empty());
    assert_eq!(
        other.get_sender_key_devices("h@g.us").await.unwrap().len(),
        1
    );

    // LID <-> PN
    assert!(d.get_lid_mapping("100").await.unwrap().is_none());
    d.put_lid_mapping(&lid("100", "5511", 10, 10, "usync"))
        .await
        .unwrap();
    d.put_lid_mappings(&[
        lid("200", "5522", 20, 20, "usync"),
        lid("100", "5511", 99, 30, "peer_pn_message"),
    ])
    .await
    .unwrap();
    d.put_lid_mappings(&[]).await.unwrap();
    let m = d.get_lid_mapping("100").await.unwrap().unwrap();
    assert_eq!(
        (
            m.phone_number.as_str(),
            m.created_at,
            m.updated_at,
            m.learning_source.as_str()
        ),
        ("5511", 10, 30, "peer_pn_message")
    );
    // the phone moved to a new LID: the most recent mapping wins
    d.put_lid_mapping(&lid("300", "5511", 40, 40, "usync"))
        .await
        .unwrap();
    assert_eq!(d.get_pn_mapping("5511").await.unwrap().unwrap().lid, "300");
    assert_eq!(d.get_pn_mapping("5522").await.unwrap().unwrap().lid, "200");
    assert!(d.get_pn_mapping("0000").await.unwrap().is_none());
    let all: Vec<String> = d
        .get_all_lid_mappings()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.lid)
        .collect();
    assert_eq!(all, vec!["100", "200", "300"]);
    assert!(other.get_all_lid_mappings().await.unwrap().is_empty());

    // base keys
    assert!(!d.has_same_base_key("a@lid", "m1", b"bk").await.unwrap());
    d.save_base_key("a@lid", "m1", b"bk").await.unwrap();
    assert!(d.has_same_base_key("a@lid", "m1", b"bk").await.unwrap());
    assert!(!d.has_same_base_key("a@lid", "m1", b"other").await.unwrap());
    assert!(!d.has_same_base_key("a@lid", "m2", b"bk").await.unwrap());
    assert!(!other.has_same_base_key("a@lid", "m1", b"bk").await.unwrap());
    d.save_base_key("a@lid", "m1", b"bk2").await.unwrap();
    assert!(d.has_same_base_key("a@lid", "m1", b"bk2").await.unwrap());
    d.delete_base_key("a@lid", "m1").await.unwrap();
    assert!(!d.has_same_base_key("a@lid", "m1", b"bk2").await.unwrap());

    // device registry
    assert!(d.get_devices("5511").await.unwrap().is_none());
    let rec = |user: &str, n: u32, ts: i64, raw: Option<u32>| DeviceListRecord {
        user: user.into(),
        devices: (0..n)
            .map(|i| DeviceInfo::new(i, Some(i + 1)).with_hosting(i == 1))
            .collect(),
        timestamp: ts,
        phash: Some(format!("2:{user}")),
        raw_id: raw,
    };
    d.update_device_list(rec("5511", 2, 1_700_000_000_000, Some(u32::MAX)))
        .await
        .unwrap();
    let got = d.get_devices("5511").await.unwrap().unwrap();
    assert_eq!(got.timestamp, 1_700_000_000_000);
    assert_eq!(got.raw_id, Some(u32::MAX));
    assert_eq!(got.phash.as_deref(), Some("2:5511"));
    assert_eq!(got.devices.len(), 2);
    assert_eq!(
        (
            got.devices[1].device_id,
            got.devices[1].key_index,
            got.devices[1].is_hosted
        ),
        (1, Some(2), true)
    );
    let batch: Vec<DeviceListRecord> = (0..300)
        .map(|i| rec(&format!("u{i}"), 1, i, None))
        .chain([rec("5511", 3, 5, None)])
        .collect();
    d.update_device_lists(batch).await.unwrap();
    d.update_device_lists(Vec::new()).await.unwrap();
    let got = d.get_devices("5511").await.unwrap().unwrap();
    assert_eq!((got.devices.len(), got.timestamp, got.raw_id), (3, 5, None));
    assert_eq!(d.get_devices("u299").await.unwrap().unwrap().timestamp, 299);
    assert!(other.get_devices("5511").await.unwrap().is_none());
    d.delete_devices("5511").await.unwrap();
    assert!(d.get_devices("5511").await.unwrap().is_none());

    // group metadata
    assert_eq!(d.get_group_metadata("g@g.us").await.unwrap(), None);
    d.put_group_metadata("g@g.us", b"info1").await.unwrap();
    d.put_group_metadata("g@g.us", b"info2").await.unwrap();
    assert_eq!(
        d.get_group_metadata("g@g.us").await.unwrap(),
        Some(b"info2".to_vec())
    );
    assert_eq!(other.get_group_metadata("g@g.us").await.unwrap(), None);
    d.delete_group_metadata("g@g.us").await.unwrap();
    assert_eq!(d.get_group_metadata("g@g.us").await.unwrap(), None);
}

async fn tc_tokens(store: Store) {
    let (d, other) = two_devices(&store).await;
    assert!(d.get_tc_token("a@lid").await.unwrap().is_none());
    d.put_tc_token(
        "a@lid",
        &TcTokenEntry {
            token: vec![1, 2],
            token_timestamp: 100,
            sender_timestamp: None,
        },
    )
    .await
    .unwrap();
    let t = d.get_tc_token("a@lid").await.unwrap().unwrap();
    assert_eq!(
        (t.token, t.token_timestamp, t.sender_timestamp),
        (vec![1, 2], 100, None)
    );

    // sender bucket: advance-only, keeps the token bytes
    d.touch_tc_token_sender_timestamp("a@lid", 500)
        .await
        .unwrap();
    d.touch_tc_token_sender_timestamp("a@lid", 400)
        .await
        .unwrap();
    let t = d.get_tc_token("a@lid").await.unwrap().unwrap();
    assert_eq!(
        (t.token, t.token_timestamp, t.sender_timestamp),
        (vec![1, 2], 100, Some(500))
    );

    // a placeholder when absent
    d.touch_tc_token_sender_timestamp("b@lid", 300)
        .await
        .unwrap();
    let t = d.get_tc_token("b@lid").await.unwrap().unwrap();
    assert_eq!(
        (t.token, t.token_timestamp, t.sender_timestamp),
        (vec![], 300, Some(300))
    );

    // received tokens: newer-wins, placeholder never blocks, sender bucket kept
    d.store_received_tc_token("b@lid", &[9], 10).await.unwrap();
    let t = d.get_tc_token("b@lid").await.unwrap().unwrap();
    assert_eq!(
        (t.token, t.token_timestamp, t.sender_timestamp),
        (vec![9], 10, Some(300))
    );
    d.store_received_tc_token("b@lid", &[8], 5).await.unwrap();
    assert_eq!(
        d.get_tc_token("b@lid").await.unwrap().unwrap().token,
        vec![9]
    );
    d.store_received_tc_token("b@lid", &[7], 10).await.unwrap();
    assert_eq!(
        d.get_tc_token("b@lid").await.unwrap().unwrap().token,
        vec![7]
    );
    d.store_received_tc_token("c@lid", &[6], 50).await.unwrap();
    let t = d.get_tc_token("c@lid").await.unwrap().unwrap();
    assert_eq!(
        (t.token, t.token_timestamp, t.sender_timestamp),
        (vec![6], 50, None)
    );

    assert_eq!(
        d.get_all_tc_token_jids().await.unwrap(),
        vec!["a@lid", "b@lid", "c@lid"]
    );
    assert!(other.get_all_tc_token_jids().await.unwrap().is_empty());
    other
        .put_tc_token(
            "old@lid",
            &TcTokenEntry {
                token: vec![1],
                token_timestamp: 1,
                sender_timestamp: None,
            },
        )
        .await
        .unwrap();

    // expiry: a row goes only when both windows are stale
    d.put_tc_token(
        "d@lid",
        &TcTokenEntry {
            token: vec![],
            token_timestamp: 1000,
            sender_timestamp: None,
        },
    )
    .await
    .unwrap();
    // a: token 100 (stale), sender 500 (live at cutoff 450) -> kept
    // b: token 10 (stale), sender 300 (stale) -> deleted
    // c: token 50 (stale), no sender -> deleted
    // d: empty token (absent), no sender -> deleted
    assert_eq!(d.delete_expired_tc_tokens(200, 450).await.unwrap(), 3);
    assert_eq!(d.get_all_tc_token_jids().await.unwrap(), vec!["a@lid"]);
    assert_eq!(
        other.get_all_tc_token_jids().await.unwrap(),
        vec!["old@lid"]
    );
    d.delete_tc_token("a@lid").await.unwrap();
    assert!(d.get_tc_token("a@lid").await.unwrap().is_none());
}

/// whatsapp-rust reads a contact's token before every send: a read is kept
/// in memory until a write through the same backend touches that contact.
async fn tc_token_reads_are_kept_until_a_write(store: Store) {
    let (d, _) = two_devices(&store).await;
    let row = |token: &[u8], ts: i64| TcTokenEntry {
        token: token.to_vec(),
        token_timestamp: ts,
        sender_timestamp: None,
    };
    let behind_its_back = |jid: &'static str, token: u8| {
        let store = store.clone();
        let device = d.device_id();
        async move {
            sqlx::query(
                "INSERT INTO wa_tc_tokens (device_id, jid, token, token_timestamp, updated_at) \
                 VALUES ($1, $2, $3, 7, 0) ON CONFLICT (device_id, jid) DO UPDATE SET \
                 token = excluded.token",
            )
            .bind(device)
            .bind(jid)
            .bind(vec![token])
            .execute(store.pool())
            .await
            .unwrap();
        }
    };

    // Step 1: a contact with no row, read once, stays "no row" in memory.
    assert!(d.get_tc_token("a@lid").await.unwrap().is_none());
    behind_its_back("a@lid", 1).await;
    assert!(
        d.get_tc_token("a@lid").await.unwrap().is_none(),
        "the second read came from memory"
    );

    // Step 2: a write through the backend forgets it; the next read is the row.
    d.touch_tc_token_sender_timestamp("a@lid", 50)
        .await
        .unwrap();
    let t = d.get_tc_token("a@lid").await.unwrap().unwrap();
    assert_eq!((t.token, t.sender_timestamp), (vec![1], Some(50)));

    // Step 3: each writer forgets what it touched.
    d.put_tc_token("b@lid", &row(&[2], 10)).await.unwrap();
    assert_eq!(
        d.get_tc_token("b@lid").await.unwrap().unwrap().token,
        vec![2]
    );
    d.store_received_tc_token("b@lid", &[3], 20).await.unwrap();
    assert_eq!(
        d.get_tc_token("b@lid").await.unwrap().unwrap().token,
        vec![3]
    );
    d.delete_tc_token("b@lid").await.unwrap();
    assert!(d.get_tc_token("b@lid").await.unwrap().is_none());
    d.put_tc_token("c@lid", &row(&[], 1)).await.unwrap();
    assert!(d.get_tc_token("c@lid").await.unwrap().is_some());
    // Only c goes: a's sender bucket (50) is newer than the cutoff (40).
    assert_eq!(d.delete_expired_tc_tokens(100, 40).await.unwrap(), 1);
    assert!(d.get_tc_token("c@lid").await.unwrap().is_none());

    // Step 4: a new backend for the device (the session's next run) reads afresh.
    behind_its_back("a@lid", 9).await;
    let fresh = store.device_backend(d.device_id());
    assert_eq!(
        fresh.get_tc_token("a@lid").await.unwrap().unwrap().token,
        vec![9]
    );
}

async fn sent_and_pending(store: Store) {
    let (d, other) = two_devices(&store).await;

    // sent messages
    d.store_sent_message("c@s.whatsapp.net", "M1", b"p1")
        .await
        .unwrap();
    d.store_sent_message("c@s.whatsapp.net", "M1", b"p1b")
        .await
        .unwrap();
    assert_eq!(
        other
            .take_sent_message("c@s.whatsapp.net", "M1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        d.take_sent_message("c@s.whatsapp.net", "M1").await.unwrap(),
        Some(b"p1b".to_vec())
    );
    assert_eq!(
        d.take_sent_message("c@s.whatsapp.net", "M1").await.unwrap(),
        None
    );
    d.store_sent_message("c@s.whatsapp.net", "M2", b"p2")
        .await
        .unwrap();
    other
        .store_sent_message("c@s.whatsapp.net", "M2", b"o2")
        .await
        .unwrap();
    let now = wacore::time::now_secs();
    assert_eq!(d.delete_expired_sent_messages(now - 60).await.unwrap(), 0);
    assert_eq!(d.delete_expired_sent_messages(now + 60).await.unwrap(), 1);
    assert_eq!(
        d.take_sent_message("c@s.whatsapp.net", "M2").await.unwrap(),
        None
    );
    assert_eq!(
        other
            .take_sent_message("c@s.whatsapp.net", "M2")
            .await
            .unwrap(),
        Some(b"o2".to_vec())
    );

    // pending inbound
    assert_eq!(d.get_pending_inbound("c", "s", "1").await.unwrap(), None);
    d.store_pending_inbound("c", "s", "1", b"m1").await.unwrap();
    d.store_pending_inbound("c", "s", "1", b"m1b")
        .await
        .unwrap();
    assert_eq!(
        d.get_pending_inbound("c", "s", "1").await.unwrap(),
        Some(b"m1b".to_vec())
    );
    assert_eq!(
        d.get_pending_inbound("c", "other", "1").await.unwrap(),
        None
    );
    let msgs: Vec<(String, Vec<u8>)> = (0..250)
        .map(|i| (format!("id{i}"), vec![i as u8]))
        .collect();
    let mut rows: Vec<PendingInboundRow<'_>> = msgs
        .iter()
        .map(|(id, m)| PendingInboundRow {
            chat: "g",
            sender: "x",
            id,
            message: m,
        })
        .collect();
    rows.push(PendingInboundRow {
        chat: "g",
        sender: "x",
        id: "id0",
        message: b"dup",
    });
    d.store_pending_inbound_batch(&rows).await.unwrap();
    d.store_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(
        d.get_pending_inbound("g", "x", "id0").await.unwrap(),
        Some(b"dup".to_vec())
    );
    assert_eq!(
        d.get_pending_inbound("g", "x", "id249").await.unwrap(),
        Some(vec![249])
    );
    assert_eq!(
        other.get_pending_inbound("g", "x", "id249").await.unwrap(),
        None
    );
    let keys: Vec<PendingInboundKey<'_>> = msgs[..200]
        .iter()
        .map(|(id, _)| PendingInboundKey {
            chat: "g",
            sender: "x",
            id,
        })
        .collect();
    d.delete_pending_inbound_batch(&keys).await.unwrap();
    d.delete_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(
        d.get_pending_inbound("g", "x", "id199").await.unwrap(),
        None
    );
    assert_eq!(
        d.get_pending_inbound("g", "x", "id200").await.unwrap(),
        Some(vec![200])
    );
    d.delete_pending_inbound("c", "s", "1").await.unwrap();
    assert_eq!(d.get_pending_inbound("c", "s", "1").await.unwrap(), None);
    other
        .store_pending_inbound("g", "x", "o", b"o")
        .await
        .unwrap();
    assert_eq!(d.delete_expired_pending_inbound(now - 60).await.unwrap(), 0);
    assert_eq!(
        d.delete_expired_pending_inbound(now + 60).await.unwrap(),
        50
    );
    assert_eq!(
        other.get_pending_inbound("g", "x", "o").await.unwrap(),
        Some(b"o".to_vec())
    );
}

fn secret(
    chat: &str,
    sender: &str,
    id: &str,
    fill: u8,
    expires_at: i64,
    message_ts: i64,
) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: arc(chat),
        sender: arc(sender),
        msg_id: arc(id),
        secret: [fill; 32],
        expires_at,
        message_ts,
    }
}

async fn msg_secrets(store: Store) {
    let (d, other) = two_devices(&store).await;
    assert_eq!(d.get_msg_secret("c", "s", "m").await.unwrap(), None);
    d.put_msg_secret("c", "s", "m", &[1; 32]).await.unwrap();
    assert_eq!(
        d.get_msg_secret("c", "s", "m").await.unwrap(),
        Some(vec![1; 32])
    );
    assert_eq!(
        d.get_msg_secret_with_ts("c", "s", "m").await.unwrap(),
        Some((vec![1; 32], 0))
    );
    // scoped by all three columns and the device
    assert_eq!(d.get_msg_secret("c", "s2", "m").await.unwrap(), None);
    assert_eq!(d.get_msg_secret("c2", "s", "m").await.unwrap(), None);
    assert_eq!(other.get_msg_secret("c", "s", "m").await.unwrap(), None);

    assert_eq!(d.put_msg_secrets(Vec::new()).await.unwrap(), 0);
    let stored = d
        .put_msg_secrets(vec![
            secret("c", "s", "a", 2, 100, 50),
            secret("c", "s", "b", 3, 200, 0),
            secret("c", "s", "a", 4, 150, 0), // in-batch duplicate: merges
            secret("c", "s", "never", 5, 0, 7),
        ])
        .await
        .unwrap();
    assert_eq!(stored, 4);
    assert_eq!(
        d.get_msg_secret_with_ts("c", "s", "a").await.unwrap(),
        Some((vec![4; 32], 50))
    );

    // conflicts: later deadline wins, 0 = never wins, known parent time kept
    d.put_msg_secrets(vec![
        secret("c", "s", "a", 6, 120, 0),    // 150 stays
        secret("c", "s", "b", 7, 0, 60),     // becomes never-expire, ts 60
        secret("c", "s", "never", 8, 10, 3), // stays never, ts stays 7
    ])
    .await
    .unwrap();
    let expiry = |id: &'static str| {
        let store = store.clone();
        let dev = d.device_id();
        async move {
            let (e,): (i64,) = sqlx::query_as(
                "SELECT expires_at FROM wa_msg_secrets WHERE device_id = $1 AND chat = 'c' AND sender = 's' AND msg_id = $2",
            )
            .bind(dev)
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap();
            e
        }
    };
    assert_eq!(expiry("a").await, 150);
    assert_eq!(expiry("b").await, 0);
    assert_eq!(expiry("never").await, 0);
    assert_eq!(
        d.get_msg_secret_with_ts("c", "s", "a").await.unwrap(),
        Some((vec![6; 32], 50))
    );
    assert_eq!(
        d.get_msg_secret_with_ts("c", "s", "b").await.unwrap(),
        Some((vec![7; 32], 60))
    );
    assert_eq!(
        d.get_msg_secret_with_ts("c", "s", "never").await.unwrap(),
        Some((vec![8; 32], 7))
    );

    // expiry deletes only passed, non-zero deadlines (inclusive)
    d.put_msg_secrets(vec![secret("c", "s", "x", 1, 149, 0)])
        .await
        .unwrap();
    other
        .put_msg_secrets(vec![secret("c", "s", "x", 1, 10, 0)])
        .await
        .unwrap();
    assert_eq!(d.delete_expired_msg_secrets(149).await.unwrap(), 1);
    assert_eq!(d.get_msg_secret("c", "s", "x").await.unwrap(), None);
    assert_eq!(
        d.get_msg_secret("c", "s", "a").await.unwrap(),
        Some(vec![6; 32])
    );
    assert_eq!(d.delete_expired_msg_secrets(150).await.unwrap(), 1);
    assert_eq!(
        d.get_msg_secret("c", "s", "m").await.unwrap(),
        Some(vec![1; 32])
    );
    assert_eq!(
        d.get_msg_secret("c", "s", "never").await.unwrap(),
        Some(vec![8; 32])
    );
    assert_eq!(
        other.get_msg_secret("c", "s", "x").await.unwrap(),
        Some(vec![1; 32])
    );

    // big batch spans several statements
    let many: Vec<MsgSecretEntry> = (0..500)
        .map(|i| secret("g", "s", &format!("m{i}"), (i % 250) as u8, 0, i))
        .collect();
    assert_eq!(d.put_msg_secrets(many).await.unwrap(), 500);
    assert_eq!(
        d.get_msg_secret_with_ts("g", "s", "m499").await.unwrap(),
        Some((vec![249; 32], 499))
    );
}

fn assert_same_device(a: &Device, b: &Device) {
    let kp = |k: &wacore::libsignal::protocol::KeyPair| {
        (
            k.private_key.serialize().to_vec(),
            k.public_key.public_key_bytes().to_vec(),
        )
    };
    assert_eq!(a.pn, b.pn);
    assert_eq!(a.lid, b.lid);
    assert_eq!(a.registration_id, b.registration_id);
    assert_eq!(kp(&a.noise_key), kp(&b.noise_key));
    assert_eq!(kp(&a.identity_key), kp(&b.identity_key));
    assert_eq!(kp(&a.signed_pre_key), kp(&b.signed_pre_key));
    assert_eq!(a.signed_pre_key_id, b.signed_pre_key_id);
    assert_eq!(a.signed_pre_key_signature, b.signed_pre_key_signature);
    assert_eq!(a.adv_secret_key, b.adv_secret_key);
    assert_eq!(
        a.account
            .as_deref()
            .map(wacore::store::device::account_serde::to_bytes),
        b.account
            .as_deref()
            .map(wacore::store::device::account_serde::to_bytes)
    );
    assert_eq!(a.push_name, b.push_name);
    assert_eq!(
        (
            a.app_version_primary,
            a.app_version_secondary,
            a.app_version_tertiary,
            a.app_version_last_fetched_ms
        ),
        (
            b.app_version_primary,
            b.app_version_secondary,
            b.app_version_tertiary,
            b.app_version_last_fetched_ms
        )
    );
    assert_eq!(a.edge_routing_info, b.edge_routing_info);
    assert_eq!(a.props_hash, b.props_hash);
    assert_eq!(a.next_pre_key_id, b.next_pre_key_id);
    assert_eq!(a.first_unupload_pre_key_id, b.first_unupload_pre_key_id);
    assert_eq!(a.server_has_prekeys, b.server_has_prekeys);
    assert_eq!(a.nct_salt, b.nct_salt);
    assert_eq!(a.server_cert_chain, b.server_cert_chain);
    assert_eq!(a.login_counter, b.login_counter);
    assert_eq!(a.lid_migrated, b.lid_migrated);
    assert_eq!(
        a.last_signed_pre_key_rotation_ms,
        b.last_signed_pre_key_rotation_ms
    );
    assert_eq!(a.read_receipts_disabled, b.read_receipts_disabled);
    // The serde form covers every persisted field at once.
    assert_eq!(
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap()
    );
}

async fn device_roundtrip(store: Store) {
    let (d, other) = two_devices(&store).await;
    assert!(!d.exists().await.unwrap());
    assert!(d.load().await.unwrap().is_none());
    assert_eq!(i64::from(d.create().await.unwrap()), d.device_id());

    // a fresh device as whatsapp-rust creates it
    let fresh = Device::new();
    d.save(&fresh).await.unwrap();
    assert!(d.exists().await.unwrap());
    assert!(!other.exists().await.unwrap());
    assert_same_device(&fresh, &d.load().await.unwrap().unwrap());

    // a paired device with every optional field set, saved over the first
    let mut paired = Device::new();
    paired.pn = Some("5511987650001:12@s.whatsapp.net".parse().unwrap());
    paired.lid = Some("100000012345678:12@lid".parse().unwrap());
    paired.registration_id = u32::MAX;
    paired.signed_pre_key_id = 77;
    // ADVSignedDeviceIdentity { details: [1,2,3], account_signature_key: [4], account_signature: [5,6], device_signature: [7] }
    let account_bytes = [0x0a, 3, 1, 2, 3, 0x12, 1, 4, 0x1a, 2, 5, 6, 0x22, 1, 7];
    paired.account = Some(Arc::new(
        wacore::store::device::account_serde::from_bytes(&account_bytes).unwrap(),
    ));
    paired.push_name = "Zoë ✓".into();
    paired.app_version_tertiary = u32::MAX;
    paired.app_version_last_fetched_ms = 1_700_000_000_123;
    paired.edge_routing_info = Some(vec![8, 9]);
    paired.props_hash = Some("hash".into());
    paired.next_pre_key_id = 812;
    paired.first_unupload_pre_key_id = 800;
    paired.server_has_prekeys = true;
    paired.nct_salt = Some(vec![1; 16]);
    paired.server_cert_chain = Some(CachedServerCertChain {
        intermediate: CachedNoiseCert {
            key: [3; 32],
            not_before: 1,
            not_after: 2,
        },
        leaf: CachedNoiseCert {
            key: [4; 32],
            not_before: 3,
            not_after: 4,
        },
    });
    paired.login_counter = -3;
    paired.lid_migrated = true;
    paired.last_signed_pre_key_rotation_ms = 42;
    paired.read_receipts_disabled = true;
    d.save(&paired).await.unwrap();
    let loaded = d.load().await.unwrap().unwrap();
    assert_same_device(&paired, &loaded);
    assert_eq!(
        loaded
            .account
            .as_deref()
            .map(wacore::store::device::account_serde::to_bytes),
        Some(account_bytes.to_vec())
    );
    // a corrupt cert chain cache degrades to None instead of failing the load
    sqlx::query("UPDATE wa_device_data SET server_cert_chain = $1 WHERE device_id = $2")
        .bind(vec![0xffu8])
        .bind(d.device_id())
        .execute(store.pool())
        .await
        .unwrap();
    assert!(d.load().await.unwrap().unwrap().server_cert_chain.is_none());

    // a backend bound to a device row that does not exist
    let ghost = store.device_backend(987_654);
    assert!(ghost.create().await.is_err());
    assert!(!ghost.exists().await.unwrap());
}

async fn delete_device_wipes_only_that_device(store: Store) {
    let (a, b) = two_devices(&store).await;
    for d in [&a, &b] {
        d.save(&Device::new()).await.unwrap();
        d.put_identity("1@s.whatsapp.net", [1; 32]).await.unwrap();
        d.put_session("1@s.whatsapp.net", b"s").await.unwrap();
        d.store_prekey(1, b"p", true).await.unwrap();
        d.store_signed_prekey(1, b"sp").await.unwrap();
        d.put_sender_key("g::1", b"sk").await.unwrap();
        d.set_sync_key(b"k", sync_key(1, 1)).await.unwrap();
        d.set_version("regular", HashState::default())
            .await
            .unwrap();
        d.put_mutation_macs(
            "regular",
            1,
            &[AppStateMutationMAC {
                index_mac: vec![1],
                value_mac: vec![2],
            }],
        )
        .await
        .unwrap();
        d.set_sender_key_status("g@g.us", &[("a:1@lid", true)])
            .await
            .unwrap();
        d.put_lid_mapping(&lid("1", "2", 1, 1, "usync"))
            .await
            .unwrap();
        d.save_base_key("a", "m", b"bk").await.unwrap();
        d.update_device_list(DeviceListRecord {
            user: "u".into(),
            devices: vec![],
            timestamp: 1,
            phash: None,
            raw_id: None,
        })
        .await
        .unwrap();
        d.put_group_metadata("g@g.us", b"i").await.unwrap();
        d.put_tc_token(
            "t@lid",
            &TcTokenEntry {
                token: vec![1],
                token_timestamp: 1,
                sender_timestamp: None,
            },
        )
        .await
        .unwrap();
        d.store_sent_message("c", "m", b"p").await.unwrap();
        d.store_pending_inbound("c", "s", "i", b"m").await.unwrap();
        d.put_msg_secret("c", "s", "m", &[1; 32]).await.unwrap();
    }
    store.delete_device(a.device_id()).await.unwrap();
    // every table holds b's rows only
    let tables = [
        "wa_device_data",
        "wa_identities",
        "wa_sessions",
        "wa_prekeys",
        "wa_signed_prekeys",
        "wa_sender_keys",
        "wa_app_state_keys",
        "wa_app_state_versions",
        "wa_app_state_mutation_macs",
        "wa_sender_key_devices",
        "wa_lid_pn_mappings",
        "wa_base_keys",
        "wa_device_lists",
        "wa_group_metadata",
        "wa_tc_tokens",
        "wa_sent_messages",
        "wa_pending_inbound",
        "wa_msg_secrets",
    ];
    for table in tables {
        let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT device_id FROM {table}"
        )))
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(rows, vec![(b.device_id(),)], "{table}");
    }
    assert!(!a.exists().await.unwrap());
    assert!(a.create().await.is_err(), "the device row is gone too");
    assert!(b.load().await.unwrap().is_some());
    assert_eq!(
        b.get_msg_secret("c", "s", "m").await.unwrap(),
        Some(vec![1; 32])
    );
    // deleting again (or an unknown id) is a no-op; ids are never reused
    store.delete_device(a.device_id()).await.unwrap();
    let c = store.create_device().await.unwrap();
    assert!(c > b.device_id());
}

async fn concurrent_writers(store: Store) {
    // Many devices writing at once through one pool: SQLite's single writer
    // must queue them (busy timeout), never fail them.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let d = store.device_backend(store.create_device().await.unwrap());
        tasks.push(tokio::spawn(async move {
            for i in 0..25u32 {
                d.put_session(&format!("{i}@s.whatsapp.net"), &[i as u8; 64])
                    .await
                    .unwrap();
                d.store_prekeys_batch(&[(i, Bytes::from_static(b"p"))], false)
                    .await
                    .unwrap();
                d.put_msg_secret("c", "s", &format!("m{i}"), &[1; 32])
                    .await
                    .unwrap();
            }
            d.get_max_prekey_id().await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 24);
    }
    store.ping().await.unwrap();
}

both_databases!(
    signal_roundtrip,
    prekeys_roundtrip,
    appstate_roundtrip,
    protocol_roundtrip,
    tc_tokens,
    tc_token_reads_are_kept_until_a_write,
    sent_and_pending,
    msg_secrets,
    device_roundtrip,
    delete_device_wipes_only_that_device,
    concurrent_writers,
);
