//! Bot contacts: a phone backed by a real whatsapp-rust client running
//! inside the sandbox process. Only built with the `echo-bot` feature,
//! because the in-process client needs `danger-skip-cert-chain-verify`,
//! which the production gateway must never get.

#[cfg(not(feature = "echo-bot"))]
mod disabled {
    use std::sync::Arc;

    use crate::state::State;

    /// Whether `"bot": "echo"` can be served by this build.
    pub const AVAILABLE: bool = false;

    /// Never called in this build (the admin API refuses first).
    pub async fn spawn_echo(_state: Arc<State>, _phone: String) -> anyhow::Result<()> {
        anyhow::bail!("built without the echo-bot feature")
    }
}

#[cfg(not(feature = "echo-bot"))]
pub use disabled::*;
