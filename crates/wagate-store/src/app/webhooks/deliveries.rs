//! The delivery log (`webhook_deliveries`): one row per attempt, under the
//! `deliveryId` the receiver saw.

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
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, seq, event, idempotency_key, attempt, outcome,
                                             status_code, latency_ms, error, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
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
        .bind(d.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
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
