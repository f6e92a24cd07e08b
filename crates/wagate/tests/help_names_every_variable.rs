//! Every variable the README's configuration tables name is in the help of
//! the command that reads it (`wagate serve`, `wagate worker` or `wagate
//! sandbox`), so an operator finds each one from the binary alone.

use std::process::Command;

fn help(sub: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args([sub, "--help"])
        .output()
        .expect("wagate runs");
    assert!(out.status.success(), "{sub} --help failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_readme_variable_is_in_the_help() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the README");
    let helps = format!("{}{}{}", help("serve"), help("worker"), help("sandbox"));
    let mut missing = Vec::new();
    for row in readme.lines().filter(|l| l.starts_with("| `")) {
        let first = row
            .trim_start_matches('|')
            .split('|')
            .next()
            .unwrap_or_default();
        for name in first.split('`').skip(1).step_by(2) {
            let is_var = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if is_var && !helps.contains(name) {
                missing.push(name.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in any --help (add them to crates/wagate/src/environment.rs): {missing:?}"
    );
}
