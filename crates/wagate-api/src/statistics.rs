//! A tenant's statistics (or every tenant's): today's counters, sessions by
//! status, and API calls and messages per UTC day. `/api/stats`, the
//! per-tenant stats route and the drop-in modes answer with this.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
use wagate_store::app::tenant_stats::{DAY_MS, TenantStats};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayDto {
    #[schema(example = "2026-12-02")]
    pub date: String,
    pub api_calls: i64,
    pub sent: i64,
    pub received: i64,
    pub failed: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsDto {
    /// Start of the counting period of the counters below (midnight UTC today).
    pub since: String,
    pub messages_in: i64,
    pub messages_out: i64,
    pub queue_depth: i64,
    pub webhook_failures: i64,
    /// API calls today.
    pub api_calls: i64,
    /// Messages that failed for good today.
    pub messages_failed: i64,
    /// Sessions by status (`CONNECTED`, `SCAN_QR`, …).
    pub sessions: BTreeMap<String, i64>,
    /// One entry per day, oldest first, today last.
    pub daily: Vec<DayDto>,
}

/// The statistics of `tenant` (every tenant for `None`) over `days` days.
pub async fn build(
    state: &AppState,
    tenant: Option<&str>,
    days: u32,
) -> Result<StatsDto, ApiError> {
    // Counts waiting in memory are part of the answer.
    state.api_calls.flush(&state.store).await;
    let today = wagate_core::now_ms() / DAY_MS;
    let since = today * DAY_MS;
    let first = today - i64::from(days) + 1;
    let c = state.store.activity_counts(tenant, since).await?;
    let TenantStats {
        days: by_day,
        sessions,
    } = state.store.tenant_stats(tenant, first).await?;
    let daily: Vec<DayDto> = (first..=today)
        .map(|day| {
            let counts = by_day.get(&day).cloned().unwrap_or_default();
            DayDto {
                date: wagate_core::iso_ms(day * DAY_MS)[..10].to_string(),
                api_calls: counts.api_calls,
                sent: counts.sent,
                received: counts.received,
                failed: counts.failed,
            }
        })
        .collect();
    let today_counts = by_day.get(&today).cloned().unwrap_or_default();
    Ok(StatsDto {
        since: wagate_core::iso_ms(since),
        messages_in: c.messages_in,
        messages_out: c.messages_out,
        queue_depth: c.queue_depth,
        webhook_failures: c.webhook_failures,
        api_calls: today_counts.api_calls,
        messages_failed: today_counts.failed,
        sessions: sessions
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        daily,
    })
}
