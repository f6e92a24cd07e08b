//! A webhook receiver of the test's own: a real HTTP server on loopback
//! that answers 200 and keeps every request's raw body and headers, so a
//! story can check a signature over the exact bytes.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;

use super::*;

/// One request: its raw body and its headers.
pub type Hit = (Vec<u8>, HeaderMap);

#[derive(Clone)]
pub struct Receiver {
    /// Where to point a webhook.
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    /// Listens on a free loopback port; `path` is the URL's path.
    pub async fn start(path: &str) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let seen = hits.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app =
            axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push((body.to_vec(), headers));
                    axum::http::StatusCode::OK
                }
            });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}{path}"),
            hits,
        }
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The first request for which `wanted` holds (a minute at most).
    pub async fn first(&self, what: &str, wanted: impl Fn(&Hit) -> bool) -> Hit {
        eventually(what, Duration::from_secs(60), || async {
            self.hits().into_iter().find(|h| wanted(h))
        })
        .await
    }

    /// A header of a request, as text.
    pub fn header(hit: &Hit, name: &str) -> String {
        hit.1
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}
