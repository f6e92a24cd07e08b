//! NATS JetStream: one stream (created when missing) that captures the
//! output's subjects; each event published to
//! `wagate.<tenant>.<session>.<event>` with `Nats-Msg-Id` set to its
//! idempotency key, so the server itself drops a republished duplicate.

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};
use futures::future::try_join_all;
use wagate_core::output::{nats_stream_subjects, nats_subject};
use wagate_store::app::outputs::OutputRecord;

use super::{CONNECT_TIMEOUT, OutMessage, PUBLISH_TIMEOUT};

/// How long JetStream remembers message ids to drop duplicates (its own
/// default; a crash is recovered well inside it).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

pub struct NatsOutput {
    client: async_nats::Client,
    js: jetstream::Context,
}

impl NatsOutput {
    /// Connects and makes sure the stream exists. A tenant's output
    /// (`guarded`) does not follow server addresses the cluster announces:
    /// only the checked address is ever dialled.
    pub async fn open(url: &str, output: &OutputRecord, guarded: bool) -> Result<Self, String> {
        let mut options = async_nats::ConnectOptions::new()
            .name("wagate")
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(PUBLISH_TIMEOUT));
        if guarded {
            options = options.ignore_discovered_servers();
        }
        let client = options
            .connect(url)
            .await
            .map_err(|e| format!("unreachable: cannot connect to NATS: {e}"))?;
        let js = jetstream::context::ContextBuilder::new()
            .timeout(PUBLISH_TIMEOUT)
            .build(client.clone());
        let subjects = nats_stream_subjects((!output.global).then_some(output.tenant_id.as_str()));
        js.get_or_create_stream(stream::Config {
            name: output.target.clone(),
            subjects: vec![subjects],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            use async_nats::jetstream::context::CreateStreamErrorKind;
            match e.kind() {
                // The broker went away (or is not answering): not a refusal.
                CreateStreamErrorKind::TimedOut | CreateStreamErrorKind::JetStreamUnavailable => {
                    format!("unreachable: NATS JetStream did not answer: {e}")
                }
                _ => format!(
                    "refused: NATS cannot use JetStream stream '{}': {e}",
                    output.target
                ),
            }
        })?;
        Ok(NatsOutput { client, js })
    }

    /// Publishes the batch (pipelined) and waits for every ack.
    pub async fn publish(&mut self, messages: &[OutMessage]) -> Result<(), String> {
        let mut acks = Vec::with_capacity(messages.len());
        for m in messages {
            let publish = PublishMessage::build()
                .payload(m.body.clone().into())
                .message_id(&m.key)
                .header("Wagate-Event", m.event)
                .header("Content-Type", "application/json");
            let ack = self
                .js
                .send_publish(nats_subject(&m.tenant_id, &m.session_id, m.event), publish)
                .await
                .map_err(|e| format!("unreachable: cannot publish to NATS: {e}"))?;
            acks.push(ack.into_future());
        }
        try_join_all(acks).await.map_err(|e| {
            use async_nats::jetstream::context::PublishErrorKind;
            match e.kind() {
                PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => {
                    format!("unreachable: NATS did not acknowledge in time: {e}")
                }
                _ => format!("refused: NATS JetStream did not store the message: {e}"),
            }
        })?;
        Ok(())
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.client.drain()).await;
    }
}
