//! Bot contacts: a phone backed by a real whatsapp-rust client running
//! inside the sandbox process. Only built with the `echo-bot` feature,
//! because the in-process client needs `danger-skip-cert-chain-verify`,
//! which the production gateway must never get.

#[cfg(not(feature = "echo-bot"))]
mod disabled {
    use std::sync::Arc;

    use crate::state::State;

    /// Whether `"bot": "echo"` can be served by this build.
    pub const AVAILABLE: bool = false;

    /// Never called in this build (the admin API refuses first).
    pub async fn spawn_echo(_state: Arc<State>, _phone: String) -> anyhow::Result<()> {
        anyhow::bail!("built without the echo-bot feature")
    }
}

#[cfg(not(feature = "echo-bot"))]
pub use disabled::*;

#[cfg(feature = "echo-bot")]
mod echo {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::oneshot;
    use whatsapp_rust::bot::Bot;
    use whatsapp_rust::transport::TokioWebSocketTransportFactory;
    use whatsapp_rust::types::events::Event;

    use crate::state::{State, lock};

    /// Whether `"bot": "echo"` can be served by this build.
    pub const AVAILABLE: bool = true;

    const LINK_TIMEOUT: Duration = Duration::from_secs(30);
    const VERSION: (u32, u32, u32) = (2, 3000, 1027868167);

    /// The echo bot only handles text, so it never fetches media.
    struct NoHttp;

    #[whatsapp_rust::async_trait]
    impl wacore::net::HttpClient for NoHttp {
        async fn execute(
            &self,
            request: wacore::net::HttpRequest,
        ) -> anyhow::Result<wacore::net::HttpResponse> {
            anyhow::bail!("the echo bot does not fetch {}", request.url)
        }
    }

    fn text_of(m: &whatsapp_rust::waproto::whatsapp::Message) -> Option<String> {
        m.conversation.clone().or_else(|| {
            m.extended_text_message
                .as_option()
                .and_then(|e| e.text.clone())
        })
    }

    /// Starts an in-process whatsapp-rust client for `phone` (in-memory
    /// store), links it by scanning its own QR, and answers every text with
    /// the same text. Returns once the device is linked.
    pub async fn spawn_echo(state: Arc<State>, phone: String) -> anyhow::Result<()> {
        let backend: Arc<dyn whatsapp_rust::store::traits::Backend> =
            Arc::new(wacore::store::InMemoryBackend::new());
        let (linked_tx, linked_rx) = oneshot::channel::<anyhow::Result<()>>();
        let linked_tx = Arc::new(std::sync::Mutex::new(Some(linked_tx)));
        let scan_state = state.clone();
        let bot_phone = phone.clone();
        let bot = Bot::builder()
            .with_backend_arc(backend)
            .with_transport_factory(
                TokioWebSocketTransportFactory::new()
                    .with_url(format!("ws://{}/ws/chat", state.media_host)),
            )
            .with_http_client(NoHttp)
            .with_version(VERSION)
            .skip_history_sync()
            .on_event(move |event, client| {
                let state = scan_state.clone();
                let phone = bot_phone.clone();
                let linked_tx = linked_tx.clone();
                async move {
                    match &*event {
                        Event::PairingQrCode(qr) => {
                            let res = crate::pairing::scan(&state, &phone, &qr.code)
                                .map(|_| ())
                                .map_err(|e| anyhow::anyhow!("{e}"));
                            if res.is_err()
                                && let Some(tx) = lock_opt(&linked_tx)
                            {
                                let _ = tx.send(res);
                            }
                        }
                        Event::PairSuccess(_) => {
                            if let Some(tx) = lock_opt(&linked_tx) {
                                let _ = tx.send(Ok(()));
                            }
                        }
                        Event::Messages(batch) => {
                            for m in batch.iter() {
                                let src = &m.info.source;
                                if src.is_from_me || src.is_group {
                                    continue;
                                }
                                if let Some(text) = text_of(&m.message)
                                    && let Err(e) = client.send_text(src.chat.clone(), text).await
                                {
                                    tracing::warn!("echo bot {phone}: reply failed: {e}");
                                }
                            }
                        }
                        _ => {}
                    }
                }
            })
            .build()
            .await?;
        let handle = bot.spawn();
        lock(&state.bots).push(handle);
        match tokio::time::timeout(LINK_TIMEOUT, linked_rx).await {
            Ok(Ok(res)) => res,
            _ => anyhow::bail!("echo bot did not link in time"),
        }
    }

    fn lock_opt<T>(m: &std::sync::Mutex<Option<T>>) -> Option<T> {
        m.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

#[cfg(feature = "echo-bot")]
pub use echo::*;
