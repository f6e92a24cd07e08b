//! The send queue's vocabulary: what a queued message is ([`MessageKind`]),
//! its [`QueueStatus`] and [`Lane`], and a bulk batch's [`BatchStatus`].
//!
//! A queue row's status only moves forward: `queued` → `sending` → `sent` |
//! `failed`, or `queued` → `cancelled`. Lanes decide pacing: `direct` (sync
//! sends, urgent and OTP), `bulk`, `drip` (other async sends) and `warming`
//! (warming rooms' lines).

wire_enum! {
    /// What a message to send is: the API's send `type` (bulk items name
    /// it) and the queue row's kind.
    pub enum MessageKind {
        Text => "text",
        Image => "image",
        Video => "video",
        Audio => "audio",
        Document => "document",
        Sticker => "sticker",
        Location => "location",
        Contact => "contact",
        Poll => "poll",
    }
}

wire_enum! {
    /// Where a queued message is in its life.
    pub enum QueueStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl QueueStatus {
    /// Sent, failed or cancelled: nothing more happens to the row.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Failed | Self::Cancelled)
    }
}

wire_enum! {
    /// Which lane a queued message waits in.
    pub enum Lane {
        Direct => "direct",
        Bulk => "bulk",
        Drip => "drip",
        /// Warming rooms' conversation lines (held by quiet hours like bulk).
        Warming => "warming",
    }
}

wire_enum! {
    /// A bulk batch: sending, done, or stopped by a cancel.
    pub enum BatchStatus {
        Processing => "processing",
        Completed => "completed",
        Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in QueueStatus::ALL {
            assert_eq!(QueueStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!("drip".parse::<Lane>(), Ok(Lane::Drip));
        assert!("Drip".parse::<Lane>().is_err());
        assert_eq!(
            serde_json::to_value(BatchStatus::Completed).unwrap(),
            serde_json::json!("completed")
        );
        assert!(QueueStatus::Cancelled.is_final() && !QueueStatus::Sending.is_final());
    }
}
