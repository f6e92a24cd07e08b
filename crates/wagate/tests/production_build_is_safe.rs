//! The default build must keep WhatsApp's certificate check.
//!
//! whatsapp-rust skips it only with `danger-skip-cert-chain-verify`, which
//! only our `sandbox` feature may turn on. Cargo unifies features across a
//! workspace, so a stray dependency line could switch it on for everyone:
//! this test asks cargo for the feature set of the default (non-test) build
//! and fails if the flag is in it — and checks that the same query does see
//! it with `--features sandbox`, so the check itself cannot rot.

use std::process::Command;

const DANGER: &str = "danger-skip-cert-chain-verify";

fn features_of(extra: &[&str]) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(env!("CARGO"))
        .current_dir(root)
        // Who turns on which feature of wacore, through normal and build
        // dependencies only (dev-dependencies are not in the shipped binary).
        .args([
            "tree",
            "--offline",
            "-p",
            "wagate",
            "-e",
            "normal,build,features",
            "-i",
            "wacore",
            "--prefix",
            "none",
        ])
        .args(extra)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn default_build_keeps_whatsapps_certificate_check() {
    let tree = features_of(&[]);
    assert!(
        tree.contains("whatsapp-rust feature"),
        "the engine is in the build: {tree}"
    );
    assert!(
        !tree.contains(DANGER),
        "the default build enables {DANGER}; only the `sandbox` feature may"
    );
}

#[test]
fn sandbox_feature_is_the_only_way_in() {
    let tree = features_of(&["--features", "sandbox"]);
    assert!(
        tree.contains(DANGER),
        "the check must see the flag when it is on: {tree}"
    );
}
