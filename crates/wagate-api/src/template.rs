//! Bulk templates: `{name}` placeholders filled from a message's
//! variables in one linear pass, the output capped as it is written (a
//! template of many placeholders with large variables costs at most the
//! limit).

use std::collections::HashMap;

/// The filled text would be longer than its limit.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLong;

/// Fills `{name}` placeholders from `vars`; unknown ones stay as written.
///
/// One pass over the template, never re-reading what it wrote, and it stops
/// as soon as the output passes `max_chars`: a template of many
/// placeholders each filled with a large variable costs at most the limit.
pub fn fill(
    template: &str,
    vars: &HashMap<String, serde_json::Value>,
    max_chars: usize,
) -> Result<String, TooLong> {
    let mut out = Output {
        text: String::with_capacity(template.len().min(max_chars)),
        chars: 0,
        max_chars,
    };
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push(&rest[..open])?;
        let after = &rest[open + 1..];
        // A name is letters, digits and '_' right up to a '}'.
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if name_len == 0 || after.as_bytes().get(name_len) != Some(&b'}') {
            out.push("{")?;
            rest = after;
            continue;
        }
        let name = &after[..name_len];
        match vars.get(name) {
            Some(serde_json::Value::String(s)) => out.push(s)?,
            Some(serde_json::Value::Null) | None => {
                out.push("{")?;
                out.push(name)?;
                out.push("}")?;
            }
            Some(other) => out.push(&other.to_string())?,
        }
        rest = &after[name_len + 1..];
    }
    out.push(rest)?;
    Ok(out.text)
}

/// Text being filled, with its length in characters kept as it grows.
struct Output {
    text: String,
    chars: usize,
    max_chars: usize,
}

impl Output {
    fn push(&mut self, s: &str) -> Result<(), TooLong> {
        // A piece longer in bytes than what is left is checked in chars
        // (never more than the limit's worth of it).
        let left = self.max_chars - self.chars;
        let n = if s.len() <= left {
            s.chars().count()
        } else {
            s.chars().take(left + 1).count()
        };
        if n > left {
            return Err(TooLong);
        }
        self.chars += n;
        self.text.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagate_core::limits::TEXT_MAX_CHARS;

    #[test]
    fn templates_fill_known_variables_and_keep_the_rest() {
        let vars: HashMap<String, serde_json::Value> = [
            ("name".to_string(), serde_json::json!("John")),
            ("n".to_string(), serde_json::json!(3)),
        ]
        .into();
        let fill = |t: &str| fill(t, &vars, TEXT_MAX_CHARS).unwrap();
        assert_eq!(fill("Hello {name}!"), "Hello John!");
        assert_eq!(fill("{n} items for {name}"), "3 items for John");
        assert_eq!(fill("{unknown} {name}"), "{unknown} John");
        assert_eq!(fill("braces { stay } {"), "braces { stay } {");
        assert_eq!(fill("{}{name}"), "{}John");
        assert_eq!(fill("{{name}}"), "{John}");
        assert_eq!(fill("{na-me} {name"), "{na-me} {name");
    }

    #[test]
    fn filling_stops_at_the_limit() {
        let vars: HashMap<String, serde_json::Value> =
            [("x".to_string(), serde_json::json!("é".repeat(4096)))].into();
        let template = "{x}".repeat(100);
        assert_eq!(fill(&template, &vars, TEXT_MAX_CHARS), Err(TooLong));
        assert_eq!(
            fill("{x}{x}", &vars, 8192).map(|t| t.chars().count()),
            Ok(8192)
        );
        assert_eq!(fill("{x}{x}!", &vars, 8192), Err(TooLong));
        // Unclosed braces are read once, not once per brace.
        let braces = "{".repeat(200_000);
        assert_eq!(fill(&braces, &vars, 200_000).map(|t| t.len()), Ok(200_000));
    }
}
