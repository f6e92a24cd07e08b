//! How many clients are connecting at once: from the WebSocket's accept
//! until the client is connected (it left passive mode and takes its
//! messages) or its connection ended. What WhatsApp's edge sees of a
//! gateway's reconnect storm; `GET /admin/handshakes` shows the peak, so a
//! test can hold a gateway to its connect pacing, and `DELETE` starts a new
//! peak from now.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

#[derive(Default)]
pub struct Handshakes {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicU64,
}

/// Counts one connecting client while it lives.
pub struct Handshaking(Arc<Handshakes>);

impl Drop for Handshaking {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What `GET /admin/handshakes` answers.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandshakeCounts {
    pub in_flight: usize,
    /// Most at once since the start (or the last reset).
    pub peak: usize,
    /// Handshakes begun since the sandbox started.
    pub total: u64,
}

impl Handshakes {
    pub fn begin(self: &Arc<Self>) -> Handshaking {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        Handshaking(self.clone())
    }

    pub fn counts(&self) -> HandshakeCounts {
        HandshakeCounts {
            in_flight: self.in_flight.load(Ordering::SeqCst),
            peak: self.peak.load(Ordering::SeqCst),
            total: self.total.load(Ordering::SeqCst),
        }
    }

    /// The peak starts again from what is in flight now.
    pub fn reset_peak(&self) {
        self.peak
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}
