//! When a room may speak: its active hours (a daily window on the room's
//! clock) and the ramp-up plan (a daily message budget per session that
//! starts small and grows each day up to a ceiling).

use serde::{Deserialize, Serialize};

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// `+07:00`, `-03:30`, `UTC`, `Z` → minutes east of UTC.
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" || s.is_empty() {
        return Some(0);
    }
    let s = s.strip_prefix("UTC").unwrap_or(s);
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && (0..60).contains(&m)).then_some(sign * (h * 60 + m))
}

/// `HH:MM` → minutes after midnight.
fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// A daily window (`08:00`–`21:00`) on a clock `utc_offset_minutes` east of
/// UTC. `start > end` wraps past midnight; `start == end` is all day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveHours {
    pub start: String,
    pub end: String,
}

impl ActiveHours {
    /// Whether both ends are `HH:MM`.
    pub fn is_valid(&self) -> bool {
        parse_hhmm(&self.start).is_some() && parse_hhmm(&self.end).is_some()
    }

    /// `now` if it is inside the window, else when the window next opens.
    pub fn next_open(&self, now: i64, utc_offset_minutes: i32) -> i64 {
        let (Some(start), Some(end)) = (parse_hhmm(&self.start), parse_hhmm(&self.end)) else {
            return now;
        };
        if start == end {
            return now;
        }
        let day_min = 24 * 60;
        let local = (now.div_euclid(MINUTE) + i64::from(utc_offset_minutes)).rem_euclid(day_min);
        let inside = if start < end {
            (start..end).contains(&local)
        } else {
            local >= start || local < end
        };
        if inside {
            return now;
        }
        let wait = (start - local).rem_euclid(day_min);
        now - now.rem_euclid(MINUTE) + wait * MINUTE
    }
}

/// The ramp-up plan: `start` messages on the first day, `step` more each
/// day, never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RampUp {
    pub start: u32,
    pub step: u32,
    pub max: u32,
}

impl Default for RampUp {
    fn default() -> Self {
        RampUp {
            start: 10,
            step: 5,
            max: 80,
        }
    }
}

impl RampUp {
    /// The budget of day `day` (0 = the first day).
    pub fn budget(&self, day: u32) -> u32 {
        self.start
            .saturating_add(self.step.saturating_mul(day))
            .min(self.max.max(self.start))
    }

    /// The day number of `now` for a plan that began at `began` (both ms),
    /// counted in days of the room's clock.
    pub fn day_of(began: i64, now: i64, utc_offset_minutes: i32) -> u32 {
        let off = i64::from(utc_offset_minutes) * MINUTE;
        let d = (now + off).div_euclid(DAY) - (began + off).div_euclid(DAY);
        d.clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Where the day containing `now` began and ends (ms), on the room's
    /// clock.
    pub fn day_bounds(now: i64, utc_offset_minutes: i32) -> (i64, i64) {
        let off = i64::from(utc_offset_minutes) * MINUTE;
        let start = (now + off).div_euclid(DAY) * DAY - off;
        (start, start + DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_utc_offset("+07:00"), Some(420));
        assert_eq!(parse_utc_offset("-03:30"), Some(-210));
        assert_eq!(parse_utc_offset("UTC"), Some(0));
        assert_eq!(parse_utc_offset("UTC+7"), Some(420));
        assert_eq!(parse_utc_offset("Asia/Jakarta"), None);
        assert_eq!(parse_utc_offset("+15:00"), None);
    }

    #[test]
    fn active_hours_open_at_their_start() {
        let w = ActiveHours {
            start: "08:00".into(),
            end: "21:00".into(),
        };
        let h = 60 * MINUTE;
        assert_eq!(w.next_open(9 * h, 0), 9 * h);
        assert_eq!(w.next_open(22 * h, 0), DAY + 8 * h);
        assert_eq!(w.next_open(3 * h, 0), 8 * h);
        // At UTC+7, 02:00 UTC is 09:00 local: open.
        assert_eq!(w.next_open(2 * h, 420), 2 * h);
        let night = ActiveHours {
            start: "22:00".into(),
            end: "06:00".into(),
        };
        assert_eq!(night.next_open(23 * h, 0), 23 * h);
        assert_eq!(night.next_open(12 * h, 0), 22 * h);
        assert!(
            !ActiveHours {
                start: "8".into(),
                end: "21:00".into()
            }
            .is_valid()
        );
    }

    #[test]
    fn ramp_up_grows_daily_to_its_ceiling() {
        let plan = RampUp::default();
        assert_eq!(plan.budget(0), 10);
        assert_eq!(plan.budget(1), 15);
        assert_eq!(plan.budget(14), 80);
        assert_eq!(plan.budget(1000), 80);
        assert_eq!(plan.budget(u32::MAX), 80);
        let h = 60 * MINUTE;
        assert_eq!(RampUp::day_of(23 * h, DAY + h, 0), 1);
        assert_eq!(RampUp::day_of(h, 2 * h, 0), 0);
        // At UTC+7, 16:59 and 17:01 UTC are different local days.
        assert_eq!(RampUp::day_of(17 * h - MINUTE, 17 * h + MINUTE, 420), 1);
        assert_eq!(RampUp::day_bounds(DAY + h, 0), (DAY, 2 * DAY));
    }
}
