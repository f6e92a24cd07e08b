//! RabbitMQ: a durable topic exchange (declared when missing), each event a
//! persistent message with routing key `<tenant>.<session>.<event>`,
//! `message_id` set to its idempotency key, on a channel in confirm mode:
//! a batch counts as published only when the broker acked every message.
//!
//! The exchange routes to whatever queues the consumer bound; a message
//! that matches no binding is dropped by the broker (and acked), as AMQP
//! does — bind the queue before events you need are published.

use std::time::Duration;

use futures::future::try_join_all;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Confirmation, ConnectionProperties, ExchangeKind};
use wagate_core::output::routing_key;
use wagate_store::app::outputs::OutputRecord;

use super::{CONNECT_TIMEOUT, OutMessage};

/// AMQP delivery mode of a message the broker writes to disk.
const PERSISTENT: u8 = 2;

pub struct RabbitOutput {
    connection: lapin::Connection,
    channel: lapin::Channel,
    exchange: ShortString,
}

impl RabbitOutput {
    pub async fn open(url: &str, output: &OutputRecord) -> Result<Self, String> {
        let properties =
            ConnectionProperties::default().with_connection_name(LongString::from("wagate"));
        let connection =
            tokio::time::timeout(CONNECT_TIMEOUT, lapin::Connection::connect(url, properties))
                .await
                .map_err(|_| "timeout: RabbitMQ did not answer in time".to_string())?
                .map_err(|e| format!("unreachable: cannot connect to RabbitMQ: {e}"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("refused: cannot open a RabbitMQ channel: {e}"))?;
        let exchange = ShortString::from(output.target.as_str());
        channel
            .exchange_declare(
                exchange.clone(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                format!(
                    "refused: RabbitMQ cannot declare the topic exchange '{}': {e}",
                    output.target
                )
            })?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| format!("refused: RabbitMQ refused publisher confirms: {e}"))?;
        Ok(RabbitOutput {
            connection,
            channel,
            exchange,
        })
    }

    /// Publishes the batch (pipelined) and waits for every confirm.
    pub async fn publish(&mut self, messages: &[OutMessage]) -> Result<(), String> {
        let mut confirms = Vec::with_capacity(messages.len());
        for m in messages {
            let mut headers = FieldTable::default();
            headers.insert(
                ShortString::from("tenantId"),
                AMQPValue::LongString(LongString::from(m.tenant_id.as_str())),
            );
            headers.insert(
                ShortString::from("sessionId"),
                AMQPValue::LongString(LongString::from(m.session_id.as_str())),
            );
            let properties = BasicProperties::default()
                .with_message_id(ShortString::from(m.key.as_str()))
                .with_delivery_mode(PERSISTENT)
                .with_content_type(ShortString::from("application/json"))
                .with_type(ShortString::from(m.event))
                .with_app_id(ShortString::from("wagate"))
                .with_timestamp((m.created_at / 1000).max(0) as u64)
                .with_headers(headers);
            let confirm = self
                .channel
                .basic_publish(
                    self.exchange.clone(),
                    ShortString::from(routing_key(&m.tenant_id, &m.session_id, m.event)),
                    BasicPublishOptions::default(),
                    &m.body,
                    properties,
                )
                .await
                .map_err(|e| format!("unreachable: cannot publish to RabbitMQ: {e}"))?;
            confirms.push(confirm);
        }
        let answers = try_join_all(confirms)
            .await
            .map_err(|e| format!("unreachable: RabbitMQ connection lost before confirming: {e}"))?;
        if answers.iter().any(|c| matches!(c, Confirmation::Nack(_))) {
            return Err("refused: RabbitMQ did not take a message (nack)".to_string());
        }
        Ok(())
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.connection.close(200, ShortString::from("bye")),
        )
        .await;
    }
}
