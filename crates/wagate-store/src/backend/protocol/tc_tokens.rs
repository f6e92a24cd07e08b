//! Trusted-contact tokens (`wa_tc_tokens`): the token received from a
//! contact (newer wins) and when we last sent to them (advance only), each
//! written by one atomic `INSERT … ON CONFLICT DO UPDATE`. Reads are kept
//! in the backend's [`TcTokenCache`](super::tc_token_cache) (a send reads
//! its contact's token every time); every write here forgets what it
//! touched once its statement has run, whatever its outcome.

use wacore::store::error::Result;
use wacore::store::traits::TcTokenEntry;

use super::count;
use super::tc_token_cache::Lookup;
use crate::backend::fence::WriteOn;
use crate::backend::{DeviceBackend, db_err, now_secs};

pub(super) async fn get_tc_token(b: &DeviceBackend, jid: &str) -> Result<Option<TcTokenEntry>> {
    let seen = match b.tc_tokens.lookup(jid) {
        Lookup::Known(entry) => return Ok(entry),
        Lookup::Unknown(seen) => seen,
    };
    let entry = read_tc_token(b, jid).await?;
    b.tc_tokens.keep(jid, seen, &entry);
    Ok(entry)
}

async fn read_tc_token(b: &DeviceBackend, jid: &str) -> Result<Option<TcTokenEntry>> {
    let row: Option<(Vec<u8>, i64, Option<i64>)> = sqlx::query_as(
        "SELECT token, token_timestamp, sender_timestamp FROM wa_tc_tokens \
         WHERE device_id = $1 AND jid = $2",
    )
    .bind(b.device_id)
    .bind(jid)
    .fetch_optional(b.pool())
    .await
    .map_err(db_err)?;
    Ok(
        row.map(|(token, token_timestamp, sender_timestamp)| TcTokenEntry {
            token,
            token_timestamp,
            sender_timestamp,
        }),
    )
}

pub(super) async fn put_tc_token(b: &DeviceBackend, jid: &str, entry: &TcTokenEntry) -> Result<()> {
    let written: Result<()> = async {
        sqlx::query(
            "INSERT INTO wa_tc_tokens (device_id, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id, jid) DO UPDATE SET \
             token = excluded.token, token_timestamp = excluded.token_timestamp, \
             sender_timestamp = excluded.sender_timestamp, updated_at = excluded.updated_at",
        )
        .bind(b.device_id)
        .bind(jid)
        .bind(entry.token.as_slice())
        .bind(entry.token_timestamp)
        .bind(entry.sender_timestamp)
        .bind(now_secs())
        .execute_on(b)
        .await?;
        b.durable().await?;
        Ok(())
    }
    .await;
    b.tc_tokens.forget(jid);
    written
}

pub(super) async fn delete_tc_token(b: &DeviceBackend, jid: &str) -> Result<()> {
    let written: Result<()> = async {
        sqlx::query("DELETE FROM wa_tc_tokens WHERE device_id = $1 AND jid = $2")
            .bind(b.device_id)
            .bind(jid)
            .execute_on(b)
            .await?;
        b.durable().await?;
        Ok(())
    }
    .await;
    b.tc_tokens.forget(jid);
    written
}

pub(super) async fn get_all_tc_token_jids(b: &DeviceBackend) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT jid FROM wa_tc_tokens WHERE device_id = $1 ORDER BY jid")
            .bind(b.device_id)
            .fetch_all(b.pool())
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|(j,)| j).collect())
}

pub(super) async fn delete_expired_tc_tokens(
    b: &DeviceBackend,
    token_cutoff: i64,
    sender_cutoff: i64,
) -> Result<u32> {
    let written: Result<u32> = async {
        // Dropped only when both the received token and the sender bucket are
        // expired or absent.
        let res = sqlx::query(
            "DELETE FROM wa_tc_tokens WHERE device_id = $1 \
             AND (length(token) = 0 OR token_timestamp < $2) \
             AND (sender_timestamp IS NULL OR sender_timestamp < $3)",
        )
        .bind(b.device_id)
        .bind(token_cutoff)
        .bind(sender_cutoff)
        .execute_on(b)
        .await?;
        b.durable().await?;
        Ok(count(res.rows_affected()))
    }
    .await;
    b.tc_tokens.forget_all();
    written
}

pub(super) async fn touch_tc_token_sender_timestamp(
    b: &DeviceBackend,
    jid: &str,
    sender_timestamp: i64,
) -> Result<()> {
    let written: Result<()> = async {
        // Insert a byte-less placeholder, or advance only sender_timestamp.
        sqlx::query(
            "INSERT INTO wa_tc_tokens (device_id, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (device_id, jid) DO UPDATE SET \
             sender_timestamp = CASE \
               WHEN wa_tc_tokens.sender_timestamp IS NULL \
                 OR wa_tc_tokens.sender_timestamp < excluded.sender_timestamp \
               THEN excluded.sender_timestamp ELSE wa_tc_tokens.sender_timestamp END, \
             updated_at = excluded.updated_at",
        )
        .bind(b.device_id)
        .bind(jid)
        .bind(Vec::<u8>::new())
        .bind(sender_timestamp)
        .bind(now_secs())
        .execute_on(b)
        .await?;
        b.durable().await?;
        Ok(())
    }
    .await;
    b.tc_tokens.forget(jid);
    written
}

pub(super) async fn store_received_tc_token(
    b: &DeviceBackend,
    jid: &str,
    token: &[u8],
    token_timestamp: i64,
) -> Result<()> {
    let written: Result<()> = async {
        // Newer-wins, atomically: overwrite the token pair only over a
        // placeholder or an older-or-equal token; never touch sender_timestamp.
        sqlx::query(
            "INSERT INTO wa_tc_tokens (device_id, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (device_id, jid) DO UPDATE SET \
             token = excluded.token, token_timestamp = excluded.token_timestamp, \
             updated_at = excluded.updated_at \
             WHERE length(wa_tc_tokens.token) = 0 \
                OR excluded.token_timestamp >= wa_tc_tokens.token_timestamp",
        )
        .bind(b.device_id)
        .bind(jid)
        .bind(token)
        .bind(token_timestamp)
        .bind(now_secs())
        .execute_on(b)
        .await?;
        b.durable().await?;
        Ok(())
    }
    .await;
    b.tc_tokens.forget(jid);
    written
}
