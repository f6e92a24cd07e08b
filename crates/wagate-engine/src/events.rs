//! Gateway events: what sessions tell the rest of the program.
//!
//! The shape is the contract's webhook event (`event`, `sessionId`, `data`)
//! plus the owning tenant, so any consumer can filter and scope it.

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct GatewayEvent {
    /// Position in the durable event log.
    pub seq: i64,
    /// `session.status`, `message.received`, … (the contract's names).
    pub event: &'static str,
    pub session_id: String,
    pub tenant_id: String,
    pub data: Value,
    /// Epoch milliseconds when the gateway observed it.
    pub at_ms: i64,
}

impl GatewayEvent {
    pub fn new(
        seq: i64,
        event: &'static str,
        session_id: &str,
        tenant_id: &str,
        data: Value,
        at_ms: i64,
    ) -> Self {
        GatewayEvent {
            seq,
            event,
            session_id: session_id.to_string(),
            tenant_id: tenant_id.to_string(),
            data,
            at_ms,
        }
    }

    /// The contract's JSON envelope for this event.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "event": self.event,
            "timestamp": wagate_core::iso_ms(self.at_ms),
            "sessionId": self.session_id,
            "data": self.data,
        })
    }
}
