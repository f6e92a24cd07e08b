//! What `/metrics` reads from the database at scrape time: the send queue's
//! depth and oldest waiting message per lane, and the delivery log by
//! outcome. Counted over every tenant (the endpoint is the operator's).

use sqlx::Row;
use wagate_core::{DeliveryOutcome, Lane};

use super::wire;
use crate::{Store, StoreError};

/// Queued messages of one lane, over every session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneDepth {
    pub lane: Lane,
    pub queued: i64,
    /// When the oldest of them was queued (epoch ms).
    pub oldest_at: i64,
}

impl Store {
    /// The send queue's depth per lane.
    pub async fn queue_depth_by_lane(&self) -> Result<Vec<LaneDepth>, StoreError> {
        let rows = sqlx::query(
            "SELECT lane, COUNT(*) AS n, MIN(created_at) AS oldest FROM send_queue
             WHERE status = 'queued' GROUP BY lane",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LaneDepth {
                    lane: wire(r, "lane")?,
                    queued: r.try_get("n")?,
                    oldest_at: r.try_get("oldest")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Webhook delivery attempts kept in the log, per outcome.
    pub async fn delivery_outcomes(&self) -> Result<Vec<(DeliveryOutcome, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT outcome, COUNT(*) AS n FROM webhook_deliveries GROUP BY outcome")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((wire(r, "outcome")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
