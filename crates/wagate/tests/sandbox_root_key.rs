//! `wagate sandbox --print-root-key` prints the public half of the key that
//! signs the sandbox's certificate chain, and the README documents the same
//! key, so a client pinning it can be pointed at the sandbox.

use std::process::Command;

#[test]
fn the_printed_root_key_is_the_sandboxs_and_the_readmes() {
    let out = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args(["sandbox", "--print-root-key"])
        .output()
        .expect("wagate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let printed = printed.trim();

    let key = hex::encode(wagate_sandbox::cert::root_public_key());
    assert_eq!(printed, key);

    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the README");
    assert!(
        readme.contains(&key),
        "the README names the sandbox root key"
    );
}
