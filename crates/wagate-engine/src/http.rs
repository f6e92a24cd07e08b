//! The engine's HTTP client (media upload and download), on reqwest with
//! rustls and WhatsApp's normal certificate checks.
//!
//! Against a sandbox (a plain `ws://` server URL) media URLs that the engine
//! builds as `https://<media host>/…` are sent to the sandbox's own
//! `http://host:port/…` instead. That is routing, not a weakened check:
//! nothing here ever accepts an unverified certificate.
//!
//! Downloads stream ([`HttpClient::execute_streaming`]): the engine decrypts
//! chunk by chunk into the caller's writer, so a 100 MB video never sits in
//! memory whole.
//!
//! A session with a proxy gets its own client [`through`](GatewayHttpClient::through)
//! it (SOCKS5 or HTTP, reqwest's own proxy support), or one that refuses
//! every request when its proxy may not be used: media never goes out
//! directly instead.

use async_trait::async_trait;
use std::time::Duration;
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};
use whatsapp_rust::wacore::net::StreamingHttpResponse;

/// How long a streamed download may wait for its next bytes.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct GatewayHttpClient {
    client: reqwest::Client,
    /// `Some("http://127.0.0.1:2786")` to send all media to a sandbox.
    media_base: Option<String>,
    /// Why every request fails (a proxy that may not be used).
    refused: Option<String>,
}

fn builder() -> reqwest::ClientBuilder {
    wagate_outbound::client_builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .read_timeout(READ_TIMEOUT)
}

impl GatewayHttpClient {
    pub fn new(media_base: Option<String>) -> Self {
        GatewayHttpClient {
            client: builder().build().unwrap_or_default(),
            media_base,
            refused: None,
        }
    }

    /// The same client, every request through `proxy`.
    pub fn through(&self, proxy: &wagate_core::ProxyUrl) -> Result<Self, crate::EngineError> {
        let unusable = |_| crate::EngineError::Engine(format!("the proxy {proxy} cannot be used"));
        let client = builder()
            .proxy(reqwest::Proxy::all(proxy.secret_url()).map_err(unusable)?)
            .build()
            .map_err(unusable)?;
        Ok(GatewayHttpClient {
            client,
            media_base: self.media_base.clone(),
            refused: None,
        })
    }

    /// A client that sends nothing and fails every request saying `why`.
    pub fn refusing(&self, why: String) -> Self {
        GatewayHttpClient {
            refused: Some(why),
            ..self.clone()
        }
    }

    fn check_refused(&self) -> anyhow::Result<()> {
        match &self.refused {
            Some(why) => Err(anyhow::anyhow!("{why}")),
            None => Ok(()),
        }
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
        self.check_refused()?;
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

    fn supports_streaming(&self) -> bool {
        true
    }

    /// Called on a blocking thread: drives the async request from there and
    /// hands the engine a reader that pulls one chunk at a time.
    fn execute_streaming(&self, request: HttpRequest) -> anyhow::Result<StreamingHttpResponse> {
        self.check_refused()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("streaming download outside the runtime"))?;
        let url = self.route(&request.url);
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut builder = self.client.request(method, url);
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        let response = runtime.block_on(builder.send())?;
        Ok(StreamingHttpResponse {
            status_code: response.status().as_u16(),
            body: Box::new(ChunkReader {
                runtime,
                response,
                chunk: bytes::Bytes::new(),
            }),
        })
    }
}

/// A response body as a blocking reader, one network chunk in memory.
struct ChunkReader {
    runtime: tokio::runtime::Handle,
    response: reqwest::Response,
    chunk: bytes::Bytes,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.response.chunk()) {
                Ok(Some(next)) => self.chunk = next,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
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
