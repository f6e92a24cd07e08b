//! Rendering a line: variables first (`{TIME_GREETING}`, `{DAY_NAME}`,
//! `{DATE}`, `{NAME}`, `{OTHER_NAME}`), then spintax (`{Hi|Hello|Hey}`,
//! nested). A brace group without `|` that is not a known variable is kept
//! as written, so a literal `{x}` survives.

use chrono::{Datelike, FixedOffset, TimeZone, Timelike};
use rand::Rng;

/// What a line's variables stand for.
#[derive(Clone, Debug, Default)]
pub struct Variables {
    /// The moment, in ms since the epoch.
    pub now_ms: i64,
    /// The room's clock, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// The speaker's name.
    pub name: String,
    /// The name of the actor spoken to.
    pub other_name: String,
}

impl Variables {
    fn local(&self) -> chrono::DateTime<FixedOffset> {
        let tz = FixedOffset::east_opt(self.utc_offset_minutes * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
        tz.timestamp_millis_opt(self.now_ms)
            .single()
            .unwrap_or_else(|| tz.timestamp_millis_opt(0).single().expect("epoch"))
    }

    /// The value of a variable, if `name` is one.
    pub fn get(&self, name: &str) -> Option<String> {
        let local = self.local();
        Some(match name {
            "TIME_GREETING" => time_greeting(local.hour()).to_string(),
            "DAY_NAME" => local.format("%A").to_string(),
            "DATE" => format!(
                "{:04}-{:02}-{:02}",
                local.year(),
                local.month(),
                local.day()
            ),
            "NAME" | "MY_NAME" => self.name.clone(),
            "OTHER_NAME" | "PARTNER_NAME" => self.other_name.clone(),
            _ => return None,
        })
    }
}

/// "Good morning" … by the hour of the room's clock.
pub fn time_greeting(hour: u32) -> &'static str {
    match hour {
        5..=11 => "Good morning",
        12..=16 => "Good afternoon",
        17..=20 => "Good evening",
        _ => "Good night",
    }
}

/// A line's text with its variables filled and its spintax resolved.
pub fn render(text: &str, vars: &Variables, rng: &mut impl Rng) -> String {
    spintax(&fill(text, vars), rng)
}

/// Replaces `{VARIABLE}` groups by their values.
fn fill(text: &str, vars: &Variables) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(['}', '{', '|']);
        match close {
            Some(c) if after.as_bytes()[c] == b'}' => match vars.get(&after[..c]) {
                Some(v) => {
                    out.push_str(&v);
                    rest = &after[c + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            },
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Resolves spintax: each `{a|b|c}` becomes one of its options (options
/// may nest). Unbalanced braces are kept as text.
pub fn spintax(text: &str, rng: &mut impl Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let mut out = String::with_capacity(text.len());
    while pos < chars.len() {
        out.push_str(&parse_group_or_char(&chars, &mut pos, rng, 0));
    }
    out
}

/// Nesting deeper than this is kept as text (bounded recursion).
const MAX_DEPTH: usize = 32;

fn parse_group_or_char(
    chars: &[char],
    pos: &mut usize,
    rng: &mut impl Rng,
    depth: usize,
) -> String {
    if chars[*pos] != '{' || depth >= MAX_DEPTH {
        *pos += 1;
        return chars[*pos - 1].to_string();
    }
    let start = *pos;
    *pos += 1;
    let mut options: Vec<String> = vec![String::new()];
    while *pos < chars.len() {
        match chars[*pos] {
            '}' => {
                *pos += 1;
                if options.len() == 1 {
                    // Not spintax: keep the braces.
                    return format!("{{{}}}", options[0]);
                }
                let pick = rng.random_range(0..options.len());
                return options.swap_remove(pick);
            }
            '|' => {
                *pos += 1;
                options.push(String::new());
            }
            _ => {
                let piece = parse_group_or_char(chars, pos, rng, depth + 1);
                options.last_mut().expect("one option").push_str(&piece);
            }
        }
    }
    // Unbalanced: the opening brace is text, go on after it.
    *pos = start + 1;
    "{".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    #[test]
    fn spintax_picks_one_option_of_each_group() {
        let mut r = rng();
        for _ in 0..50 {
            let s = spintax("{Hi|Hello|Hey} there{!|.}", &mut r);
            let (greet, end) = s.split_once(" there").unwrap();
            assert!(["Hi", "Hello", "Hey"].contains(&greet), "{s}");
            assert!(["!", "."].contains(&end), "{s}");
        }
    }

    #[test]
    fn nested_spintax_resolves_inside_out() {
        let mut r = rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let s = spintax("{a|{b|c}d}", &mut r);
            assert!(["a", "bd", "cd"].contains(&s.as_str()), "{s}");
            seen.insert(s);
        }
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn plain_braces_and_unbalanced_text_are_kept() {
        let mut r = rng();
        assert_eq!(spintax("a {x} b", &mut r), "a {x} b");
        assert_eq!(spintax("a {b|c", &mut r), "a {b|c");
        assert_eq!(spintax("}{", &mut r), "}{");
        let deep = "{".repeat(100) + &"}".repeat(100);
        assert!(!spintax(&deep, &mut r).is_empty());
    }

    #[test]
    fn variables_follow_the_room_clock() {
        // 2026-02-02T02:00:00Z is a Monday; at UTC+7 it is 09:00.
        let vars = Variables {
            now_ms: 1_769_997_600_000,
            utc_offset_minutes: 7 * 60,
            name: "Ana".into(),
            other_name: "Budi".into(),
        };
        let mut r = rng();
        assert_eq!(
            render(
                "{TIME_GREETING} {OTHER_NAME}, {DAY_NAME} {DATE} from {NAME}",
                &vars,
                &mut r
            ),
            "Good morning Budi, Monday 2026-02-02 from Ana"
        );
        let utc = Variables {
            utc_offset_minutes: 0,
            ..vars.clone()
        };
        assert_eq!(render("{TIME_GREETING}", &utc, &mut r), "Good night");
        // Variables inside spintax options.
        let s = render("{{TIME_GREETING}|Hey} {OTHER_NAME}", &vars, &mut r);
        assert!(s == "Good morning Budi" || s == "Hey Budi", "{s}");
        assert_eq!(render("{UNKNOWN}", &vars, &mut r), "{UNKNOWN}");
    }
}
