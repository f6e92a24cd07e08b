//! The vocabulary lives in this crate. Outside it, no source file spells an
//! event name, a queue status, a lane or a message kind/type as a string
//! literal: it names the enum value instead, so a word cannot drift or be
//! misspelt in one place.
//!
//! What is not the vocabulary even though it is spelt the same is allowed:
//! a JSON key (`"text": …`), an index or column name (`["text"]`,
//! `try_get("text")`), and a line that says why with `// not vocabulary`.
//! Event names (with their dot) are never allowed. Test code is not scanned
//! (tests assert on the wire, which is made of these words), nor is the
//! sandbox, which is WhatsApp's server and does not speak the gateway's
//! vocabulary.

use std::path::{Path, PathBuf};

use wagate_core::{EventKind, Lane, MessageKind, MessageType, QueueStatus};

fn words() -> Vec<&'static str> {
    let mut w: Vec<&'static str> = Vec::new();
    w.extend(QueueStatus::ALL.iter().map(|v| v.as_str()));
    w.extend(Lane::ALL.iter().map(|v| v.as_str()));
    w.extend(MessageKind::ALL.iter().map(|v| v.as_str()));
    w.extend(MessageType::ALL.iter().map(|v| v.as_str()));
    w
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every string literal on `line` with the text that follows it.
fn literals(line: &str) -> Vec<(&str, &str, &str)> {
    let mut found = Vec::new();
    let mut rest = line;
    let mut consumed = 0;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let before = &line[..consumed + open];
        found.push((before, &after[..close], &after[close + 1..]));
        consumed += open + 1 + close + 1;
        rest = &after[close + 1..];
    }
    found
}

fn allowed_use(before: &str, after: &str) -> bool {
    let after = after.trim_start();
    let before = before.trim_end();
    after.starts_with(':') && !after.starts_with("::")
        || before.ends_with('[')
        || before.ends_with("try_get(")
        || before.ends_with(".get(")
}

#[test]
fn no_vocabulary_literal_outside_core() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let words = words();
    let mut offences = Vec::new();
    for krate in std::fs::read_dir(crates).unwrap() {
        let krate = krate.unwrap().path();
        let name = krate.file_name().unwrap().to_string_lossy().to_string();
        if name == "wagate-core" || name == "wagate-sandbox" || !krate.join("src").is_dir() {
            continue;
        }
        let mut files = Vec::new();
        sources(&krate.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                // A test module inline, or a file of tests (`#![cfg(test)]`).
                if code.starts_with("#[cfg(test)]") || code.starts_with("#![cfg(test)]") {
                    break;
                }
                if code.starts_with("//") || code.starts_with("#[") {
                    continue;
                }
                for (before, literal, after) in literals(line) {
                    let event = EventKind::parse(literal).is_some();
                    let word = words.contains(&literal)
                        && !allowed_use(before, after)
                        && !line.contains("// not vocabulary");
                    if event || word {
                        offences.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "spell these with wagate-core's enums:\n{}",
        offences.join("\n")
    );
}
