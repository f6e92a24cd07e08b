//! Media on S3-compatible storage, end to end: a real S3 server on loopback
//! (`moto_server`, from `pip install "moto[server]"`) that checks SigV4
//! signatures (IAM auth on, with a user and key made by boto3, which moto
//! ships with), a bucket created by a signed request, and the gateway running
//! with `MEDIA_STORAGE=s3`. A sends B an image and a document through the
//! API; B's history carries them, the files endpoint returns the same bytes,
//! and the objects are in the bucket under `S3_PREFIX` (read back through
//! `object_store`); a queued image (`?async=true&urgent=true`) goes out from
//! the bucket too; nothing is written to `MEDIA_DIR`. A missing `S3_BUCKET`
//! stops start-up with one line.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use object_store::ObjectStore;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const BUCKET: &str = "wagate-media-test";
const PREFIX: &str = "media/e2e";
/// For the start-up check (no server).
const ACCESS_KEY: &str = "wagate-test-access";
const SECRET_KEY: &str = "wagate-test-secret-key";
/// The requests moto serves before it checks signatures: the IAM set-up.
const NO_AUTH_ACTIONS: &str = "3";

/// `moto_server` on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spawn = |program: &str, pre: &[&str]| {
        Command::new(program)
            .args(pre)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", NO_AUTH_ACTIONS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    let child = spawn("moto_server", &[])
        .or_else(|_| spawn("python3", &["-m", "moto.server"]))
        .expect("moto_server runs (python3 -m pip install \"moto[server]\")");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    eventually("moto_server to answer", WAIT, || async {
        http.get(format!("{}/moto-api/", moto.endpoint))
            .send()
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    moto
}

/// With boto3 (moto's own client): an IAM user allowed `s3:*` and its
/// access key (the unauthenticated set-up requests), then the bucket, by a
/// signed request. Returns the key id and secret.
fn create_bucket(endpoint: &str) -> (String, String) {
    let script = r#"import sys, json, boto3
ep, bucket = sys.argv[1], sys.argv[2]
iam = boto3.client('iam', endpoint_url=ep, region_name='us-east-1', aws_access_key_id='setup', aws_secret_access_key='setup')
iam.create_user(UserName='wagate')
iam.put_user_policy(UserName='wagate', PolicyName='s3', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}))
k = iam.create_access_key(UserName='wagate')['AccessKey']
boto3.client('s3', endpoint_url=ep, region_name='us-east-1', aws_access_key_id=k['AccessKeyId'], aws_secret_access_key=k['SecretAccessKey']).create_bucket(Bucket=bucket)
print(k['AccessKeyId'], k['SecretAccessKey'])
"#;
    let out = Command::new("python3")
        .args(["-c", script, endpoint, BUCKET])
        .stderr(Stdio::inherit())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "boto3 creates the user and the bucket"
    );
    let out = String::from_utf8(out.stdout).unwrap();
    let (id, secret) = out.trim().split_once(' ').expect("a key id and secret");
    (id.to_string(), secret.to_string())
}

/// The bucket, as the test sees it (not through the gateway).
fn bucket(endpoint: &str, key_id: &str, secret: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(BUCKET)
        .with_access_key_id(key_id)
        .with_secret_access_key(secret)
        .build()
        .unwrap()
}

async fn download(api: &Api, url: &str) -> (u16, String, Vec<u8>) {
    let resp = api
        .http
        .get(format!("{}{url}", api.base))
        .header("X-API-Key", api.key.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

async fn received(api: &Api, session: &str, from: &str, pick: impl Fn(&Value) -> bool) -> Value {
    eventually("the message in B's history", WAIT, || async {
        let (_, h) = api
            .get(&format!(
                "/api/sessions/{session}/chats/{from}/messages?limit=100"
            ))
            .await;
        let m = h["data"].as_array()?.iter().find(|m| pick(m)).cloned()?;
        // A received file is downloaded after the message is stored: wait
        // until its URL answers.
        if let Some(url) = m["media"]["url"].as_str()
            && download(api, url).await.0 != 200
        {
            return None;
        }
        Some(m)
    })
    .await
}

/// The object of a file in the bucket (key `<prefix>/<session>/<file id>.<ext>`,
/// the file id from its URL) and its bytes. A GET of the exact key: moto's
/// signature check rejects `object_store`'s ListObjectsV2 (the gateway never
/// lists).
async fn object_of(
    store: &object_store::aws::AmazonS3,
    session: &str,
    file_url: &str,
    ext: &str,
) -> (String, Vec<u8>) {
    let file_id = file_url.rsplit('/').next().unwrap();
    let key = format!("{PREFIX}/{session}/{file_id}.{ext}");
    let got = store
        .get(&object_store::path::Path::from(key.as_str()))
        .await
        .unwrap_or_else(|e| panic!("{key} is in the bucket: {e}"));
    (key, got.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn media_story_on_s3() {
    let moto = start_moto().await;
    let (key_id, secret) = create_bucket(&moto.endpoint);
    let store = bucket(&moto.endpoint, &key_id, &secret);
    // The server checks signatures: a wrong secret is refused.
    let wrong = bucket(&moto.endpoint, &key_id, "not-the-secret");
    let refused = wrong
        .put(&object_store::path::Path::from("probe"), vec![1u8].into())
        .await;
    assert!(refused.is_err(), "moto refuses a bad signature");

    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628333000001", "Alice").await;
    let bob = create_phone(&sandbox, "628333000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let media_dir = data.path().join("local-media");
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[
            ("MEDIA_DIR", media_dir.display().to_string()),
            ("MEDIA_STORAGE", "s3".into()),
            ("S3_ENDPOINT", moto.endpoint.clone()),
            ("S3_BUCKET", BUCKET.into()),
            ("S3_PREFIX", format!("/{PREFIX}/")),
            ("S3_ACCESS_KEY_ID", key_id.clone()),
            ("S3_SECRET_ACCESS_KEY", secret.clone()),
        ],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let send = |kind: &str| format!("/api/sessions/{a}/messages/send-{kind}");

    // An image, as base64.
    let photo = jpeg(40_000, 5);
    let (status, sent) = api
        .post(
            &send("image"),
            json!({ "chatId": "628333000002@c.us", "caption": "on s3",
                    "image": { "base64": base64::engine::general_purpose::STANDARD.encode(&photo) } }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628333000001", |m| m["body"] == "on s3").await;
    assert_eq!(got["type"], "image");
    assert_eq!(got["media"]["mimetype"], "image/jpeg");
    assert_eq!(got["media"]["size"], photo.len());
    let file_url = got["media"]["url"].as_str().unwrap().to_string();
    let (status, ct, bytes) = download(&api, &file_url).await;
    assert_eq!((status, ct.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, photo, "the image comes back from the bucket intact");
    let (_, object) = object_of(&store, &b, &file_url, "jpg").await;
    assert_eq!(
        object, photo,
        "B's received copy is an object in the bucket"
    );
    // The sender's copy is in the bucket too.
    let (_, h) = api
        .get(&format!("/api/sessions/{a}/chats/628333000002/messages"))
        .await;
    let mine = h["data"][0]["media"]["url"].as_str().unwrap().to_string();
    let (status, _, bytes) = download(&api, &mine).await;
    assert_eq!((status, &bytes), (200, &photo));
    assert_eq!(object_of(&store, &a, &mine, "jpg").await.1, photo);

    // A document, with its name.
    let notes = b"quarterly numbers\n1,2,3\n".to_vec();
    let (status, sent) = api
        .post(
            &send("document"),
            json!({ "chatId": "628333000002", "caption": "the doc", "filename": "numbers.txt",
                    "document": { "base64": base64::engine::general_purpose::STANDARD.encode(&notes), "mimetype": "text/plain" } }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628333000001", |m| m["body"] == "the doc").await;
    assert_eq!(got["type"], "document");
    assert_eq!(got["media"]["filename"], "numbers.txt");
    let doc_url = got["media"]["url"].as_str().unwrap().to_string();
    let resp = api
        .http
        .get(format!("{}{doc_url}", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    assert_eq!(h["content-type"], "text/plain");
    assert_eq!(h["content-length"], notes.len().to_string().as_str());
    // Not a raster image, audio or video: a download, never rendered (issue 11).
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"numbers.txt\""
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), notes);
    assert_eq!(object_of(&store, &b, &doc_url, "txt").await.1, notes);

    // A queued image: staged in the bucket, uploaded from it when it goes.
    let queued = jpeg(20_000, 9);
    let (status, body) = api
        .post(
            &format!("{}?async=true&urgent=true", send("image")),
            json!({ "chatId": "628333000002", "caption": "queued on s3",
                    "image": { "base64": base64::engine::general_purpose::STANDARD.encode(&queued) } }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["data"]["status"], "queued");
    let got = received(&api, &b, "628333000001", |m| m["body"] == "queued on s3").await;
    let (status, _, bytes) = download(&api, got["media"]["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes), (200, queued));

    // Unknown files and other sessions' files still answer 404.
    let file_id = file_url.rsplit('/').next().unwrap();
    for path in [
        format!("/api/sessions/{b}/files/f00000000000000000000000000000000"),
        format!("/api/sessions/{a}/files/{file_id}"),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    // An object gone from the bucket is a 404, not a 500.
    let (key, _) = object_of(&store, &b, &doc_url, "txt").await;
    store
        .delete(&object_store::path::Path::from(key))
        .await
        .unwrap();
    let (status, _, _) = download(&api, &doc_url).await;
    assert_eq!(status, 404);

    // Received files stream through a scratch file (`.incoming/`) that is
    // moved into the bucket: no file stays in MEDIA_DIR.
    assert!(
        files_under(&media_dir).is_empty(),
        "nothing is kept in MEDIA_DIR with MEDIA_STORAGE=s3: {:?}",
        files_under(&media_dir)
    );
    gw.stop();
}

#[test]
fn s3_without_a_bucket_stops_start_up_with_one_line() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .arg("serve")
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("DATA_DIR", data.path())
        .env("API_KEY", ADMIN_KEY)
        .env("MEDIA_STORAGE", "s3")
        .env("S3_ENDPOINT", "http://127.0.0.1:9")
        .env("S3_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("S3_ACCESS_KEY_ID", ACCESS_KEY)
        .env_remove("S3_BUCKET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("S3_BUCKET"), "{stderr}");
    assert!(!stderr.contains(SECRET_KEY), "the secret is never printed");
    let out = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .arg("serve")
        .env("PORT", "0")
        .env("DATA_DIR", data.path())
        .env("API_KEY", ADMIN_KEY)
        .env("MEDIA_STORAGE", "ftp")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MEDIA_STORAGE"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every regular file below `dir` (none when it does not exist).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}
