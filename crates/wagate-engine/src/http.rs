//! The engine's HTTP client (media upload and download), on reqwest with
//! rustls and WhatsApp's normal certificate checks.
//!
//! Against a sandbox (a plain `ws://` server URL) media URLs that the engine
//! builds as `https://<media host>/…` are sent to the sandbox's own
//! `http://host:port/…` instead. That is routing, not a weakened check:
//! nothing here ever accepts an unverified certificate.

use async_trait::async_trait;
use std::time::Duration;
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};

#[derive(Clone)]
pub struct GatewayHttpClient {
    client: reqwest::Client,
    /// `Some("http://127.0.0.1:2786")` to send all media to a sandbox.
    media_base: Option<String>,
}

impl GatewayHttpClient {
    pub fn new(media_base: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap_or_default();
        GatewayHttpClient { client, media_base }
    }

    fn route(&self, url: &str) -> String {
        match (&self.media_base, url::Url::parse(url)) {
            (Some(base), Ok(parsed)) => {
                let mut out = format!("{base}{}", parsed.path());
                if let Some(q) = parsed.query() {
                    out.push('?');
                    out.push_str(q);
                }
                out
            }
            _ => url.to_string(),
        }
    }
}

#[async_trait]
impl HttpClient for GatewayHttpClient {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let url = self.route(&request.url);
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut builder = self.client.request(method, url);
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await?;
        let status_code = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(HttpResponse { status_code, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_media_to_the_sandbox_only_when_configured() {
        let c = GatewayHttpClient::new(Some("http://127.0.0.1:9".into()));
        assert_eq!(
            c.route("https://mmg.whatsapp.net/v/t62/abc?auth=x&mms-type=image"),
            "http://127.0.0.1:9/v/t62/abc?auth=x&mms-type=image"
        );
        let d = GatewayHttpClient::new(None);
        assert_eq!(
            d.route("https://mmg.whatsapp.net/a"),
            "https://mmg.whatsapp.net/a"
        );
    }
}
