//! The delivery log (`webhook_deliveries`): one row per attempt, under the
//! `deliveryId` the receiver saw.

use std::fmt::Write as _;

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;
use wagate_core::DeliveryOutcome;

use crate::{Store, StoreError};

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    /// The `deliveryId` the receiver saw.
    pub id: String,
    pub webhook_id: String,
    pub seq: i64,
    pub event: String,
    pub idempotency_key: String,
    /// 0 for the first attempt.
    pub attempt: i64,
    pub outcome: DeliveryOutcome,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub created_at: i64,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, seq, event, idempotency_key, attempt, outcome, status_code, latency_ms, error, created_at";

fn delivery_from_row(r: &AnyRow) -> Result<DeliveryRecord, sqlx::Error> {
    Ok(DeliveryRecord {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        seq: r.try_get("seq")?,
        event: r.try_get("event")?,
        idempotency_key: r.try_get("idempotency_key")?,
        attempt: r.try_get("attempt")?,
        outcome: crate::app::wire(r, "outcome")?,
        status_code: r.try_get("status_code")?,
        latency_ms: r.try_get("latency_ms")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    pub async fn record_delivery(&self, d: &DeliveryRecord) -> Result<(), StoreError> {
        insert_deliveries(&mut *self.pool.acquire().await?, std::slice::from_ref(d)).await
    }

    /// A webhook's delivery attempts, newest first, and how many there are.
    pub async fn list_deliveries(
        &self,
        webhook_id: &str,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64), StoreError> {
        let limit = limit.clamp(1, 500);
        let offset = (page.max(1) as i64 - 1) * limit as i64;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1
             ORDER BY created_at DESC, seq DESC, attempt DESC LIMIT {limit} OFFSET {offset}"
        )))
        .bind(webhook_id)
        .fetch_all(&self.pool)
        .await?;
        let total =
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(webhook_id)
                .fetch_one(&self.pool)
                .await?;
        let total: i64 = total.try_get("n")?;
        let list = rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?;
        Ok((list, total.max(0) as u64))
    }

    pub async fn get_delivery(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2"
        )))
        .bind(webhook_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(delivery_from_row).transpose()?)
    }
}

/// Rows per INSERT statement (11 parameters each, well under every
/// database's parameter limit).
const ROWS_PER_INSERT: usize = 200;

/// Records delivery attempts, a few hundred rows per statement: one for a
/// single attempt, a run of them when a worker settles in a group.
pub(super) async fn insert_deliveries(
    conn: &mut AnyConnection,
    deliveries: &[DeliveryRecord],
) -> Result<(), StoreError> {
    for chunk in deliveries.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO webhook_deliveries (id, webhook_id, seq, event, idempotency_key, attempt,
                                             outcome, status_code, latency_ms, error, created_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 11;
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}(");
            for k in 1..=11 {
                let comma = if k == 1 { "" } else { ", " };
                let _ = write!(sql, "{comma}${}", b + k);
            }
            sql.push(')');
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for d in chunk {
            q = q
                .bind(&d.id)
                .bind(&d.webhook_id)
                .bind(d.seq)
                .bind(&d.event)
                .bind(&d.idempotency_key)
                .bind(d.attempt)
                .bind(d.outcome.as_str())
                .bind(d.status_code)
                .bind(d.latency_ms)
                .bind(&d.error)
                .bind(d.created_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
