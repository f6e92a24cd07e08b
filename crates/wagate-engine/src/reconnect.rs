//! Connect pacing: bringing a crowd of sessions back without a storm.
//!
//! At start-up, and when a cluster node takes over another node's sessions,
//! every paired session dials WhatsApp again. Dialled all at once, thousands
//! of handshakes fight for the CPU and reach WhatsApp's edge in the same
//! second, which is what gets numbers flagged. So a crowd comes back
//! through [`start_paced`]: at most `RECONNECT_CONCURRENCY` sessions are
//! connecting at once, each holding its place until its connect attempt
//! settles ([`settled`]: connected, asking for a QR, or given up) or
//! [`HANDSHAKE_WAIT`] passes; the first wave is spread over
//! `RECONNECT_JITTER_MS`, so even it does not dial in one instant. Later
//! sessions dial as earlier ones settle, which spreads them by itself.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use wagate_core::SessionStatus;

use crate::config::reconnect::ReconnectConfig;
use crate::session::Session;

/// Longest a session holds its place while its connect attempt runs (a
/// server that does not answer must not stop the rest for long).
pub const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);

/// Starts each of `items` with `start` (which returns the started session,
/// if any), at most `config.concurrency` connecting at once.
///
/// Each start runs as a task of its own: starting a session (reading it,
/// building its client, storing its status) is work, and on the one task
/// this loop runs on it would use one core however many there are.
pub(crate) async fn start_paced<T, F, Fut>(items: Vec<T>, config: &ReconnectConfig, start: F)
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Option<std::sync::Arc<Session>>> + Send + 'static,
{
    let first_wave = config.concurrency;
    let jitter = config.jitter;
    let start = &start;
    futures::stream::iter(items.into_iter().enumerate())
        .for_each_concurrent(config.concurrency.max(1), |(i, item)| {
            // Not polled until spawned below, after the jitter.
            let starting = start(item);
            async move {
                if i < first_wave && !jitter.is_zero() {
                    let ms = rand::random_range(0..=jitter.as_millis() as u64);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                match tokio::spawn(starting).await {
                    Ok(Some(session)) => settled(&session).await,
                    Ok(None) => {}
                    // The rest of the crowd still starts.
                    Err(e) => tracing::warn!("a session's start failed: {e}"),
                }
            }
        })
        .await;
}

/// Waits until `session` is past connecting (connected, showing a QR,
/// disconnected or failed), at most [`HANDSHAKE_WAIT`].
async fn settled(session: &Session) {
    let mut changes = session.watch_changes();
    let _ = tokio::time::timeout(HANDSHAKE_WAIT, async {
        while matches!(
            session.status(),
            SessionStatus::Initializing | SessionStatus::Connecting
        ) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
}
