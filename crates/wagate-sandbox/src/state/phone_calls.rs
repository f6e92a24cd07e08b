//! The calls the virtual phones placed (`calls/`: the protocol and admin
//! routes) and what each device answered, in a bounded table: past
//! [`CALLS_MAX`] the oldest goes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;

use super::DevKey;

/// Most calls remembered.
pub const CALLS_MAX: usize = 1000;

/// Where a call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStatus {
    Ringing,
    Rejected,
    Accepted,
    Ended,
}

impl CallStatus {
    pub fn name(self) -> &'static str {
        match self {
            CallStatus::Ringing => "ringing",
            CallStatus::Rejected => "rejected",
            CallStatus::Accepted => "accepted",
            CallStatus::Ended => "ended",
        }
    }
}

/// What one device did with an offer.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAnswer {
    /// It acknowledged the offer (`<receipt><offer/></receipt>`): it rang.
    pub rang: bool,
    /// `rejected` or `accepted`; `None`: nothing (yet).
    pub answer: Option<&'static str>,
}

/// One call a phone placed.
#[derive(Clone, Debug)]
pub struct Call {
    pub id: String,
    pub from: String,
    pub to: String,
    pub video: bool,
    pub status: CallStatus,
    pub rejected_by: Option<String>,
    pub accepted_by: Option<String>,
    pub devices: BTreeMap<DevKey, DeviceAnswer>,
    pub created_at: i64,
}

/// Every call placed, oldest first out.
#[derive(Default)]
pub struct Calls {
    by_id: HashMap<String, Call>,
    order: VecDeque<String>,
}

impl Calls {
    pub fn insert(&mut self, call: Call) {
        while self.by_id.len() >= CALLS_MAX {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.by_id.remove(&old);
        }
        self.order.push_back(call.id.clone());
        self.by_id.insert(call.id.clone(), call);
    }

    pub fn get(&self, id: &str) -> Option<&Call> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Call> {
        self.by_id.get_mut(id)
    }
}

impl Call {
    /// The admin view of the call.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "callId": self.id,
            "from": self.from,
            "to": self.to,
            "video": self.video,
            "status": self.status.name(),
            "rejectedBy": self.rejected_by,
            "acceptedBy": self.accepted_by,
            "createdAt": self.created_at,
            "devices": self.devices.iter().map(|(k, d)| serde_json::json!({
                "deviceJid": k.jid_string(),
                "rang": d.rang,
                "answer": d.answer,
            })).collect::<Vec<_>>(),
        })
    }
}
