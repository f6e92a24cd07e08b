//! LID ↔ phone-number mappings (`wa_lid_pn_mappings`): which LID a phone
//! number has, learned from the server and kept from its first sighting.

use wacore::store::error::Result;
use wacore::store::traits::LidPnMappingEntry;

use crate::backend::{CHUNK, DeviceBackend, db_err, dedup_last_by, dyn_query, values_rows};

type LidRow = (String, String, i64, i64, String);

fn lid_entry(
    (lid, phone_number, created_at, updated_at, learning_source): LidRow,
) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid,
        phone_number,
        created_at,
        updated_at,
        learning_source,
    }
}

pub(super) async fn upsert_lid_mappings(
    b: &DeviceBackend,
    entries: &[LidPnMappingEntry],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let entries = dedup_last_by(entries.iter(), |e| e.lid.as_str());
    let mut queries = Vec::new();
    for chunk in entries.chunks(CHUNK) {
        // created_at is kept from the first time the LID was learned.
        let sql = format!(
            "INSERT INTO wa_lid_pn_mappings (device_id, lid, phone_number, created_at, updated_at, learning_source) \
             VALUES {} ON CONFLICT (device_id, lid) DO UPDATE SET \
             phone_number = excluded.phone_number, updated_at = excluded.updated_at, \
             learning_source = excluded.learning_source",
            values_rows(chunk.len(), 6, 1)
        );
        let mut q = dyn_query(sql);
        for e in chunk {
            q = q
                .bind(b.device_id)
                .bind(e.lid.clone())
                .bind(e.phone_number.clone())
                .bind(e.created_at)
                .bind(e.updated_at)
                .bind(e.learning_source.clone());
        }
        queries.push(q);
    }
    b.execute_atomically(queries).await?;
    b.durable().await
}

pub(super) async fn get_lid_mapping(
    b: &DeviceBackend,
    lid: &str,
) -> Result<Option<LidPnMappingEntry>> {
    let row: Option<LidRow> = sqlx::query_as(
        "SELECT lid, phone_number, created_at, updated_at, learning_source \
         FROM wa_lid_pn_mappings WHERE device_id = $1 AND lid = $2",
    )
    .bind(b.device_id)
    .bind(lid)
    .fetch_optional(b.pool())
    .await
    .map_err(db_err)?;
    Ok(row.map(lid_entry))
}

/// The most recently updated LID for this phone number.
pub(super) async fn get_pn_mapping(
    b: &DeviceBackend,
    phone: &str,
) -> Result<Option<LidPnMappingEntry>> {
    let row: Option<LidRow> = sqlx::query_as(
        "SELECT lid, phone_number, created_at, updated_at, learning_source \
         FROM wa_lid_pn_mappings WHERE device_id = $1 AND phone_number = $2 \
         ORDER BY updated_at DESC, created_at DESC LIMIT 1",
    )
    .bind(b.device_id)
    .bind(phone)
    .fetch_optional(b.pool())
    .await
    .map_err(db_err)?;
    Ok(row.map(lid_entry))
}

pub(super) async fn get_all_lid_mappings(b: &DeviceBackend) -> Result<Vec<LidPnMappingEntry>> {
    let rows: Vec<LidRow> = sqlx::query_as(
        "SELECT lid, phone_number, created_at, updated_at, learning_source \
         FROM wa_lid_pn_mappings WHERE device_id = $1 ORDER BY lid",
    )
    .bind(b.device_id)
    .fetch_all(b.pool())
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(lid_entry).collect())
}
