//! `ProtocolStore`: WhatsApp Web protocol bookkeeping of one device — which
//! group devices hold our sender key, LID↔phone-number mappings, retry
//! base-key collision detection, the device registry, cached group metadata,
//! trusted-contact tokens, sent messages kept for retries and the durable
//! pending-inbound buffer.
//!
//! The tc-token writers that must be atomic (newer-wins receive, advance-only
//! sender timestamp) are single `INSERT … ON CONFLICT DO UPDATE` statements,
//! and `take_sent_message` is one `DELETE … RETURNING`, so no read-then-write
//! transaction ever holds SQLite's single write lock.
//!
//! A trait impl cannot be split across files, so the impl here only
//! delegates; the SQL lives in one file per table family, each function named
//! after the trait method it serves.

mod base_keys;
mod device_lists;
mod group_metadata;
mod lid_pn;
mod pending_inbound;
mod sender_keys;
mod sent_messages;
pub(super) mod tc_token_cache;
mod tc_tokens;

use async_trait::async_trait;
use wacore::store::error::Result;
use wacore::store::traits::{
    DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore,
    TcTokenEntry,
};

use super::DeviceBackend;

/// A row count as the `u32` the traits return (saturating).
fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[async_trait]
impl ProtocolStore for DeviceBackend {
    // --- sender key distribution tracking ---

    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        sender_keys::get_sender_key_devices(self, group_jid).await
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        sender_keys::set_sender_key_status(self, group_jid, entries).await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        sender_keys::clear_sender_key_devices(self, group_jid).await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        sender_keys::delete_sender_key_device_rows(self, device_jids).await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        sender_keys::clear_all_sender_key_devices(self).await
    }

    // --- LID ↔ phone number ---

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        lid_pn::get_lid_mapping(self, lid).await
    }

    /// The most recently updated LID for this phone number.
    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        lid_pn::get_pn_mapping(self, phone).await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        lid_pn::upsert_lid_mappings(self, std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        lid_pn::upsert_lid_mappings(self, entries).await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        lid_pn::get_all_lid_mappings(self).await
    }

    // --- base key collision detection ---

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        base_keys::save_base_key(self, address, message_id, base_key).await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        base_keys::has_same_base_key(self, address, message_id, current_base_key).await
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        base_keys::delete_base_key(self, address, message_id).await
    }

    // --- device registry ---

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        device_lists::upsert_device_lists(self, vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        device_lists::upsert_device_lists(self, records).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        device_lists::get_devices(self, user).await
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        device_lists::delete_devices(self, user).await
    }

    // --- group metadata cache ---

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        group_metadata::get_group_metadata(self, group_jid).await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        group_metadata::put_group_metadata(self, group_jid, blob).await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        group_metadata::delete_group_metadata(self, group_jid).await
    }

    // --- trusted contact tokens ---

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        tc_tokens::get_tc_token(self, jid).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        tc_tokens::put_tc_token(self, jid, entry).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        tc_tokens::delete_tc_token(self, jid).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        tc_tokens::get_all_tc_token_jids(self).await
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        tc_tokens::delete_expired_tc_tokens(self, token_cutoff, sender_cutoff).await
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        tc_tokens::touch_tc_token_sender_timestamp(self, jid, sender_timestamp).await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        tc_tokens::store_received_tc_token(self, jid, token, token_timestamp).await
    }

    // --- sent messages (retry receipts) ---

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        sent_messages::store_sent_message(self, chat_jid, message_id, payload).await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        sent_messages::take_sent_message(self, chat_jid, message_id).await
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        sent_messages::delete_expired_sent_messages(self, cutoff_timestamp).await
    }

    // --- pending inbound buffer ---

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        pending_inbound::insert_pending(
            self,
            &[PendingInboundRow {
                chat,
                sender,
                id,
                message,
            }],
        )
        .await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        pending_inbound::get_pending_inbound(self, chat, sender, id).await
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        pending_inbound::delete_pending_inbound(self, chat, sender, id).await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        pending_inbound::delete_expired_pending_inbound(self, cutoff_timestamp).await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        pending_inbound::insert_pending(self, rows).await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        pending_inbound::remove_pending(self, keys).await
    }
}
