//! Pacing: how fast one session may send, so a number does not send like a
//! machine.
//!
//! Three lanes share one session's budget:
//! - `direct`: sends a client waits for, and async sends marked urgent. They
//!   go as soon as the hard limits allow;
//! - `bulk`: messages of a bulk batch, spaced by the batch's own delay;
//! - `drip`: other queued traffic, at most `drip_per_minute` (3 by default,
//!   as seed 003's drip mode);
//! - `warming`: warming rooms' lines, spaced by the room's own intervals.
//!
//! The hard limits bind every lane: a minimum interval between two sends
//! plus random jitter, and caps per minute, hour and day. Quiet hours hold
//! `bulk` and `drip` (never what a client is waiting for).
//!
//! [`Gate`] is the memory of what was sent (the last day of send times),
//! loaded from the queue table when a session's dispatcher starts, so a
//! restart does not reset the caps.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Which lane a queued message waits in (the vocabulary lives in core).
pub use wagate_core::Lane;

/// A daily window (minutes after midnight at a fixed UTC offset) in which
/// bulk and drip traffic waits. `start > end` wraps past midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuietHours {
    /// `HH:MM`.
    pub start: HourMinute,
    /// `HH:MM`.
    pub end: HourMinute,
    /// The offset of the clock the window is written in, in minutes east
    /// of UTC (e.g. 420 for UTC+7). Default 0.
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

impl QuietHours {
    /// When the window that contains `now` ends, or `None` outside it.
    pub fn ends_after(&self, now: i64) -> Option<i64> {
        let day_min = 24 * 60;
        let local_min =
            (now.div_euclid(MINUTE) + i64::from(self.utc_offset_minutes)).rem_euclid(day_min);
        let (start, end) = (i64::from(self.start.0), i64::from(self.end.0));
        if start == end {
            return None;
        }
        let inside = if start < end {
            (start..end).contains(&local_min)
        } else {
            local_min >= start || local_min < end
        };
        if !inside {
            return None;
        }
        let wait_min = (end - local_min).rem_euclid(day_min);
        // From the start of the current minute, so the end is exact.
        Some((now - now.rem_euclid(MINUTE)).saturating_add(wait_min * MINUTE))
    }
}

/// Minutes after midnight, written `HH:MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourMinute(pub u16);

impl HourMinute {
    pub fn parse(s: &str) -> Option<HourMinute> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(HourMinute(h * 60 + m))
    }
}

impl Serialize for HourMinute {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}

impl<'de> Deserialize<'de> for HourMinute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HourMinute::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a time of day (HH:MM)")))
    }
}

/// A session's pacing. `0` turns a cap off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pacing {
    /// Least time between two sends, in ms.
    pub min_interval_ms: u64,
    /// Random extra time (0..=jitter) added to each interval, in ms.
    pub jitter_ms: u64,
    pub max_per_minute: u32,
    pub max_per_hour: u32,
    pub max_per_day: u32,
    /// The drip lane's pace.
    pub drip_per_minute: u32,
    pub quiet_hours: Option<QuietHours>,
    /// Bounds of the `composing` shown before a send with `simulateTyping`
    /// (defaults: `TYPING_DELAY_MIN`/`TYPING_DELAY_MAX`).
    pub typing_min_ms: u64,
    pub typing_max_ms: u64,
}

impl Pacing {
    /// The typing pause bounds as the presence module takes them.
    pub fn typing(&self) -> crate::config::TypingConfig {
        crate::config::TypingConfig {
            min: std::time::Duration::from_millis(self.typing_min_ms),
            max: std::time::Duration::from_millis(self.typing_max_ms.max(self.typing_min_ms)),
        }
    }
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            min_interval_ms: 0,
            jitter_ms: 0,
            max_per_minute: 0,
            max_per_hour: 0,
            max_per_day: 0,
            drip_per_minute: 3,
            quiet_hours: None,
            typing_min_ms: 1_000,
            typing_max_ms: 3_000,
        }
    }
}

/// A session's own settings over the deployment's: each field left out
/// keeps the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PacingOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_interval_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_minute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_hour: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_day: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drip_per_minute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typing_min_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typing_max_ms: Option<u64>,
}

/// The tighter of two caps, where `0` means no cap.
fn tighter_cap(operator: u32, own: Option<u32>) -> u32 {
    match own {
        None => operator,
        Some(own) if operator == 0 => own,
        Some(0) => operator,
        Some(own) => own.min(operator),
    }
}

impl PacingOverrides {
    /// The session's pacing over the deployment's. The operator's hard
    /// limits (`SEND_MIN_INTERVAL_MS`, `SEND_MAX_PER_*`) are ceilings: a
    /// session may only tighten them (a longer interval, a lower cap),
    /// never lift them.
    pub fn apply(&self, base: &Pacing) -> Pacing {
        Pacing {
            min_interval_ms: self
                .min_interval_ms
                .map_or(base.min_interval_ms, |own| own.max(base.min_interval_ms)),
            jitter_ms: self.jitter_ms.unwrap_or(base.jitter_ms),
            max_per_minute: tighter_cap(base.max_per_minute, self.max_per_minute),
            max_per_hour: tighter_cap(base.max_per_hour, self.max_per_hour),
            max_per_day: tighter_cap(base.max_per_day, self.max_per_day),
            drip_per_minute: self.drip_per_minute.unwrap_or(base.drip_per_minute),
            quiet_hours: self.quiet_hours.or(base.quiet_hours),
            typing_min_ms: self.typing_min_ms.unwrap_or(base.typing_min_ms),
            typing_max_ms: self.typing_max_ms.unwrap_or(base.typing_max_ms),
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &PacingOverrides::default()
    }
}

/// What one session has sent lately, and when it may send next.
#[derive(Debug, Default)]
pub struct Gate {
    /// Send times of the last day, oldest first.
    sent: VecDeque<i64>,
    /// The interval (minimum + this send's jitter) after the last send.
    gap_ms: i64,
    last_drip: Option<i64>,
}

impl Gate {
    /// A gate that remembers these send times (oldest first).
    pub fn with_history(times: Vec<i64>) -> Gate {
        Gate {
            sent: times.into(),
            ..Gate::default()
        }
    }

    /// Records a send of `lane` at `at`; `jitter` is this send's random
    /// extra interval (0..=jitter_ms).
    pub fn record(&mut self, lane: Lane, at: i64, pacing: &Pacing, jitter: u64) {
        self.sent.push_back(at);
        while self.sent.front().is_some_and(|t| *t <= at - DAY) {
            self.sent.pop_front();
        }
        let gap = pacing
            .min_interval_ms
            .saturating_add(jitter.min(pacing.jitter_ms));
        self.gap_ms = i64::try_from(gap).unwrap_or(i64::MAX);
        if lane == Lane::Drip {
            self.last_drip = Some(at);
        }
    }

    /// Sends within the window ending at `now`.
    pub fn count_since(&self, since: i64) -> usize {
        self.sent.iter().rev().take_while(|t| **t > since).count()
    }

    /// The earliest time a message of `lane` may go, given `now`.
    pub fn earliest(&self, lane: Lane, pacing: &Pacing, now: i64) -> i64 {
        let mut at = now;
        if let Some(last) = self.sent.back() {
            at = at.max(last.saturating_add(self.gap_ms));
        }
        for (cap, window) in [
            (pacing.max_per_minute, MINUTE),
            (pacing.max_per_hour, HOUR),
            (pacing.max_per_day, DAY),
        ] {
            let cap = cap as usize;
            if cap == 0 {
                continue;
            }
            // The cap-th newest send must have left the window.
            if self.count_since(now - window) >= cap {
                let idx = self.sent.len() - cap;
                at = at.max(self.sent[idx] + window);
            }
        }
        if lane == Lane::Drip
            && pacing.drip_per_minute > 0
            && let Some(last) = self.last_drip
        {
            at = at.max(last + MINUTE / i64::from(pacing.drip_per_minute));
        }
        if lane != Lane::Direct
            && let Some(q) = pacing.quiet_hours
            && let Some(end) = q.ends_after(at)
        {
            at = at.max(end);
        }
        at
    }
}

/// Of the lanes with messages waiting (`backlog`), the one to serve next
/// and when: the earliest of each lane's (oldest `not_before`, gate time),
/// direct before bulk before drip on a tie.
pub fn next_send(
    backlog: &[wagate_store::app::LaneBacklog],
    gate: &Gate,
    pacing: &Pacing,
    now: i64,
) -> Option<(Lane, i64)> {
    let mut best: Option<(Lane, i64)> = None;
    for &lane in Lane::ALL {
        let Some(b) = backlog.iter().find(|b| b.lane == lane) else {
            continue;
        };
        let at = gate.earliest(lane, pacing, now).max(b.earliest);
        if best.is_none_or(|(_, t)| at < t) {
            best = Some((lane, at));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_caps_are_ceilings_a_session_can_only_tighten() {
        let operator = Pacing {
            min_interval_ms: 2_000,
            max_per_minute: 10,
            max_per_hour: 0,
            max_per_day: 100,
            ..Pacing::default()
        };
        let lifted = PacingOverrides {
            min_interval_ms: Some(0),
            max_per_minute: Some(1_000),
            max_per_hour: Some(50),
            max_per_day: Some(0),
            ..PacingOverrides::default()
        }
        .apply(&operator);
        assert_eq!(lifted.min_interval_ms, 2_000);
        assert_eq!(lifted.max_per_minute, 10);
        assert_eq!(
            lifted.max_per_hour, 50,
            "no operator cap: the session's own"
        );
        assert_eq!(
            lifted.max_per_day, 100,
            "0 cannot turn the operator's cap off"
        );
        let tightened = PacingOverrides {
            min_interval_ms: Some(5_000),
            max_per_minute: Some(3),
            ..PacingOverrides::default()
        }
        .apply(&operator);
        assert_eq!(tightened.min_interval_ms, 5_000);
        assert_eq!(tightened.max_per_minute, 3);
    }

    #[test]
    fn huge_intervals_saturate_instead_of_overflowing() {
        let p = Pacing {
            min_interval_ms: u64::MAX,
            jitter_ms: u64::MAX,
            ..pacing()
        };
        let mut g = Gate::default();
        g.record(Lane::Direct, 1_000, &p, u64::MAX);
        assert_eq!(g.earliest(Lane::Direct, &p, 1_000), i64::MAX);
    }

    fn pacing() -> Pacing {
        Pacing {
            drip_per_minute: 0,
            ..Pacing::default()
        }
    }

    #[test]
    fn an_empty_gate_lets_everything_go_now() {
        let g = Gate::default();
        for &lane in Lane::ALL {
            assert_eq!(g.earliest(lane, &Pacing::default(), 1_000), 1_000);
        }
    }

    #[test]
    fn minimum_interval_and_jitter_space_sends() {
        let p = Pacing {
            min_interval_ms: 2_000,
            jitter_ms: 500,
            ..pacing()
        };
        let mut g = Gate::default();
        g.record(Lane::Direct, 10_000, &p, 300);
        assert_eq!(g.earliest(Lane::Direct, &p, 10_001), 12_300);
        // Jitter never exceeds the configured maximum.
        g.record(Lane::Direct, 20_000, &p, 9_999);
        assert_eq!(g.earliest(Lane::Direct, &p, 20_000), 22_500);
    }

    #[test]
    fn caps_wait_for_the_oldest_send_to_leave_the_window() {
        let p = Pacing {
            max_per_minute: 3,
            ..pacing()
        };
        let mut g = Gate::default();
        for t in [0, 1_000, 2_000] {
            g.record(Lane::Direct, t, &p, 0);
        }
        assert_eq!(g.earliest(Lane::Direct, &p, 3_000), MINUTE);
        assert_eq!(g.earliest(Lane::Direct, &p, MINUTE + 1), MINUTE + 1);
    }

    #[test]
    fn caps_survive_a_restart_through_the_history() {
        let p = Pacing {
            max_per_day: 2,
            ..pacing()
        };
        let g = Gate::with_history(vec![5_000, 6_000]);
        assert_eq!(g.earliest(Lane::Direct, &p, 7_000), 5_000 + DAY);
    }

    #[test]
    fn drip_paces_only_its_own_lane() {
        let p = Pacing::default(); // 3 per minute
        let mut g = Gate::default();
        g.record(Lane::Drip, 0, &p, 0);
        assert_eq!(g.earliest(Lane::Drip, &p, 1), 20_000);
        assert_eq!(g.earliest(Lane::Direct, &p, 1), 1);
        assert_eq!(g.earliest(Lane::Bulk, &p, 1), 1);
    }

    #[test]
    fn quiet_hours_hold_bulk_and_drip_but_not_direct() {
        let q = QuietHours {
            start: HourMinute::parse("22:00").unwrap(),
            end: HourMinute::parse("07:00").unwrap(),
            utc_offset_minutes: 0,
        };
        let p = Pacing {
            quiet_hours: Some(q),
            ..pacing()
        };
        let g = Gate::default();
        let at_23h = 23 * HOUR + 5 * MINUTE;
        assert_eq!(g.earliest(Lane::Direct, &p, at_23h), at_23h);
        assert_eq!(g.earliest(Lane::Bulk, &p, at_23h), DAY + 7 * HOUR);
        let at_noon = 12 * HOUR;
        assert_eq!(g.earliest(Lane::Drip, &p, at_noon), at_noon);
        // With an offset: 23:00 at UTC+7 is 16:00 UTC.
        let q7 = QuietHours {
            utc_offset_minutes: 7 * 60,
            ..q
        };
        assert_eq!(q7.ends_after(16 * HOUR), Some(DAY));
        assert_eq!(q7.ends_after(12 * HOUR), None);
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let o: PacingOverrides = serde_json::from_str(r#"{"dripPerMinute": 10}"#).unwrap();
        let p = o.apply(&Pacing::default());
        assert_eq!(p.drip_per_minute, 10);
        assert_eq!(p.min_interval_ms, 0);
        assert!(serde_json::from_str::<PacingOverrides>(r#"{"bogus": 1}"#).is_err());
        assert!(
            serde_json::from_str::<PacingOverrides>(
                r#"{"quietHours": {"start": "25:00", "end": "07:00"}}"#
            )
            .is_err()
        );
    }
}
