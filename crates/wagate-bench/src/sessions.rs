//! Building up and watching sessions: virtual phones in the sandbox, one
//! gateway session paired to each (QR scanned through the sandbox's admin
//! API), and how many sessions the gateway reports CONNECTED.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::json;

use crate::api::Api;
use wagate_testkit::SandboxProcess;

pub async fn create_phones(sandbox: &SandboxProcess, phones: &[String]) -> anyhow::Result<()> {
    create_phones_with(sandbox, phones, false).await
}

/// [`create_phones`]; with `lid`, WhatsApp knows each phone by a LID too
/// (as it knows every account today), so a sender learns the recipient's
/// LID once instead of asking for it before every message.
pub async fn create_phones_with(
    sandbox: &SandboxProcess,
    phones: &[String],
    lid: bool,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    futures::stream::iter(phones.iter().cloned())
        .map(|p| {
            let http = http.clone();
            let url = format!("{}/admin/phones", sandbox.http);
            async move {
                http.post(url)
                    .json(&json!({ "phone": p, "pushName": format!("Bench {p}"), "lid": lid }))
                    .send()
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(())
}

/// Creates and pairs one session per phone; returns the session ids in order.
pub async fn pair_many(
    api: &Api,
    sandbox: &SandboxProcess,
    phones: &[String],
    offset: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let results = futures::stream::iter(phones.iter().enumerate())
        .map(|(i, phone)| {
            let api = api.clone();
            let scan_url = format!("{}/admin/phones/{phone}/scan", sandbox.http);
            async move { pair_one(&api, &format!("bench-{}", offset + i), &scan_url).await }
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    results.into_iter().collect()
}

async fn pair_one(api: &Api, name: &str, scan_url: &str) -> anyhow::Result<String> {
    let (status, body) = api.post("/api/sessions", json!({ "name": name })).await?;
    if status != 201 {
        bail!("create session {name}: {status} {body}");
    }
    let id = body["data"]["id"]
        .as_str()
        .context("session id")?
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = api.get(&format!("/api/sessions/{id}/qr")).await?;
        if status == 200
            && let Some(code) = body["data"]["code"].as_str()
        {
            let r = api
                .http
                .post(scan_url)
                .json(&json!({ "qr": code }))
                .send()
                .await?;
            if r.status().is_success() {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("no scannable QR for {name}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        let (_, body) = api.get(&format!("/api/sessions/{id}")).await?;
        if body["data"]["status"] == "CONNECTED" {
            return Ok(id);
        }
        if Instant::now() > deadline {
            bail!("{name} never reached CONNECTED");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `n` sessions are CONNECTED; returns how many were, and when
/// the count last rose (seconds since `since`).
pub async fn wait_connected(
    api: &Api,
    n: usize,
    since: Instant,
    timeout: Duration,
) -> anyhow::Result<(usize, f64)> {
    let deadline = Instant::now() + timeout;
    let (mut best, mut at) = (0usize, 0.0f64);
    loop {
        let (_, body) = api.get("/health/detailed").await?;
        let connected = body["checks"]["sessions"]["connected"]
            .as_u64()
            .unwrap_or(0) as usize;
        if connected > best {
            best = connected;
            at = since.elapsed().as_secs_f64();
        }
        if connected >= n || Instant::now() > deadline {
            return Ok((best, at));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
