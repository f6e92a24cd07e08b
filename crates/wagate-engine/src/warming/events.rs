//! The warming events on the event log, as kinds of `wagate-core`'s one
//! event vocabulary.

use wagate_core::EventKind;

pub const MESSAGE: EventKind = EventKind::WarmingMessage;
pub const PAUSED: EventKind = EventKind::WarmingPaused;
pub const RESUMED: EventKind = EventKind::WarmingResumed;
pub const FINISHED: EventKind = EventKind::WarmingFinished;
