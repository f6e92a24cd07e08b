//! Warming rooms, their script lines and what they said.
//!
//! A room row keeps where it is (`round`, `position`) and when it may speak
//! next (`next_at`). Workers of every process share the table: a worker
//! claims a room with a lease (`lease_owner`, `lease_until`) through one
//! conditional `UPDATE`, so two processes on one PostgreSQL never drive the
//! same room at once. The room's settings and actors are JSON owned by the
//! engine.
//!
//! One concept per file:
//! - `rooms`: the room row, its edits and its status;
//! - `lease`: due rooms, the workers' lease, advancing a room;
//! - `lines`: the room's script;
//! - `history`: what the room said;
//! - `health`: a session's warming numbers.

mod health;
mod history;
mod lease;
mod lines;
mod rooms;

pub use health::WarmingHealth;
pub use history::WarmingMessage;
pub use lines::WarmingLine;
pub use rooms::WarmingRoom;
