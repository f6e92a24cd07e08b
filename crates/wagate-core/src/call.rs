//! Calls as the gateway tells of them: `call.received` when one rings,
//! `call.ended` with a [`CallEndReason`] when it stops ringing.

wire_enum! {
    /// Why an incoming call ended.
    pub enum CallEndReason {
        /// This session rejected it (`rejectCalls`).
        Rejected => "rejected",
        /// The caller hung up (cancelled, or ended it).
        CallerEnded => "caller_ended",
        /// Nobody answered in time.
        Timeout => "timeout",
        /// Another device of this account answered it.
        AcceptedElsewhere => "accepted_elsewhere",
        /// Another device of this account rejected it.
        RejectedElsewhere => "rejected_elsewhere",
        /// It rang while the session was offline and was over by the time it connected.
        MissedOffline => "missed_offline",
    }
}

impl CallEndReason {
    /// The reason of a caller's `<terminate reason=…>` (none: it hung up).
    pub fn of_terminate(reason: Option<&str>) -> CallEndReason {
        match reason {
            Some("timeout") => CallEndReason::Timeout,
            Some("accepted_elsewhere") => CallEndReason::AcceptedElsewhere,
            Some("rejected_elsewhere") => CallEndReason::RejectedElsewhere,
            _ => CallEndReason::CallerEnded,
        }
    }
}
