//! The OpenAPI document tells the truth. schemathesis (the `st` CLI, PyPI)
//! reads `/api/docs-json` of a gateway with one CONNECTED session and fuzzes
//! every operation, once with a tenant's key and once with the admin key,
//! with the checks `not_a_server_error`, `status_code_conformance` and
//! `response_schema_conformance`: no answer may be a 5xx, carry a status the
//! document does not declare, or break the schema it declares. A client
//! generated from the document can then rely on it.
//!
//! The one CONNECTED session is the `id` of every operation under
//! `/api/sessions/{id}`, so the handlers run for real. Operations that would
//! end it (delete, logout, stop, restart) act on a throwaway session
//! instead, and deleting a tenant acts on a throwaway tenant: they are
//! fuzzed, and the session survives (checked at the end). The two event
//! streams never end, so they are left out.
//!
//! `st` must be on PATH (`.ci/run` installs it: `pip install
//! schemathesis==4.32.5`).

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Seconds each run may fuzz for (it repeats fuzzing until they are spent),
/// unless `WAGATE_FUZZ_SECS` says otherwise.
const MAX_TIME_SECS: u32 = 75;
/// A fixed seed, so a failure can be replayed.
const SEED: u64 = 20261202;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_the_document_true() {
    // Step 1: a gateway whose rate limits the fuzzing does not reach, a
    // tenant with a key, and the tenant's session paired to CONNECTED.
    let sandbox = start_sandbox().await;
    let phone = create_phone(&sandbox, "628555000001", "Fuzz").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let big = "100000".to_string();
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[
            ("RATE_LIMIT_SESSION_PER_MIN", big.clone()),
            ("RATE_LIMIT_SEND_PER_MIN", big.clone()),
            ("RATE_LIMIT_READ_PER_MIN", big.clone()),
            ("RATE_LIMIT_WEBHOOK_PER_MIN", big),
        ],
    );
    let admin = gw.api(ADMIN_KEY);
    let (status, body) = admin
        .post("/api/tenants", json!({ "name": "fuzzed" }))
        .await;
    assert_eq!(status, 201, "create tenant: {body}");
    let tenant_id = body["data"]["tenant"]["id"].as_str().unwrap().to_string();
    let tenant_key = body["data"]["apiKey"].as_str().unwrap().to_string();
    let tenant = gw.api(&tenant_key);
    let session = create_and_pair(&tenant, "fuzzed", &phone).await;

    // Step 2: fuzz every operation as the tenant.
    let throwaway = throwaway_session(&tenant, "throwaway-tenant").await;
    let config = config_file(data.path(), "tenant", &session, &throwaway, None);
    tokio::task::block_in_place(|| schemathesis(&gw.base, &tenant_key, &config));
    tenant.wait_status(&session, "CONNECTED").await;

    // Step 3: fuzz every operation as admin; `/api/tenants/{id}` is the
    // tenant's, deleting one deletes a throwaway tenant.
    let throwaway = throwaway_session(&admin, "throwaway-admin").await;
    let (status, body) = admin
        .post("/api/tenants", json!({ "name": "throwaway" }))
        .await;
    assert_eq!(status, 201, "create tenant: {body}");
    let doomed_tenant = body["data"]["tenant"]["id"].as_str().unwrap().to_string();
    let config = config_file(
        data.path(),
        "admin",
        &session,
        &throwaway,
        Some((&tenant_id, &doomed_tenant)),
    );
    tokio::task::block_in_place(|| schemathesis(&gw.base, ADMIN_KEY, &config));

    // Step 4: the gateway is up and the session still CONNECTED.
    admin.wait_status(&session, "CONNECTED").await;
    let (status, _) = admin.get("/health").await;
    assert_eq!(status, 200);
}

/// A session that may be deleted, logged out, stopped and restarted.
async fn throwaway_session(api: &Api, name: &str) -> String {
    let (status, body) = api.post("/api/sessions", json!({ "name": name })).await;
    assert_eq!(status, 201, "create session {name}: {body}");
    body["data"]["id"].as_str().unwrap().to_string()
}

/// The schemathesis configuration for one run: which `id` each operation
/// uses, and which operations are left out.
fn config_file(
    dir: &Path,
    who: &str,
    session: &str,
    throwaway: &str,
    tenants: Option<(&str, &str)>,
) -> std::path::PathBuf {
    let max_time = std::env::var("WAGATE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_TIME_SECS);
    let mut toml = format!(
        r#"seed = {SEED}
max-time = {max_time}
# One worker: with two, hypothesis (describing its strategies with `ast.parse`
# from two threads) crashed on CPython 3.11.7 with "SystemError: AST
# constructor recursion depth mismatch".
workers = 1
request-timeout = 20

# The event streams never end.
[[operations]]
include-path-regex = '/events$'
enabled = false

# What would end the CONNECTED session acts on a throwaway one.
[[operations]]
include-path = "/api/sessions/{{id}}"
include-method = "DELETE"
parameters = {{ "path.id" = "{throwaway}" }}

[[operations]]
include-path-regex = '^/api/sessions/\{{id\}}/(logout|stop|restart)$'
parameters = {{ "path.id" = "{throwaway}" }}

# Everything else on a session runs on the CONNECTED one.
[[operations]]
include-path-regex = '^/api/sessions/\{{id\}}'
parameters = {{ "path.id" = "{session}" }}
"#
    );
    if let Some((tenant, doomed)) = tenants {
        toml.push_str(&format!(
            r#"
# Deleting a tenant deletes its sessions: a throwaway tenant is deleted.
[[operations]]
include-path = "/api/tenants/{{id}}"
include-method = "DELETE"
parameters = {{ "path.id" = "{doomed}" }}

[[operations]]
include-path-regex = '^/api/tenants/\{{id\}}'
parameters = {{ "path.id" = "{tenant}" }}
"#
        ));
    }
    let path = dir.join(format!("schemathesis-{who}.toml"));
    std::fs::write(&path, toml).unwrap();
    path
}

/// Runs `st run` against the gateway's document with `key`, failing the
/// test with its report unless it found nothing.
fn schemathesis(base: &str, key: &str, config: &Path) {
    let output = Command::new("st")
        .arg("--config-file")
        .arg(config)
        .args([
            "run",
            &format!("{base}/api/docs-json"),
            "--url",
            base,
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance",
            "--header",
            &format!("X-API-Key: {key}"),
            "--no-color",
        ])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("schemathesis runs: install it with `pip install schemathesis==4.32.5`");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found the document untrue:\n{report}"
    );
    println!("{report}");
}
