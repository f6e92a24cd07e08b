//! The names of warming events on the event log, in one place (they map
//! onto the event-kind vocabulary of `wagate-core` when it has one).

pub const MESSAGE: &str = "warming.message";
pub const PAUSED: &str = "warming.paused";
pub const RESUMED: &str = "warming.resumed";
pub const FINISHED: &str = "warming.finished";
