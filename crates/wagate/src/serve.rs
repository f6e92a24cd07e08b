//! Wiring: open the store, boot the sessions, serve HTTP until a signal,
//! then stop every session gracefully.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};
use wagate_api::{ApiConfig, AppState};
use wagate_engine::SessionManager;
use wagate_sandbox::{Sandbox, SandboxConfig};
use wagate_store::Store;

use crate::config::{SandboxArgs, ServeArgs};

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.check().map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        anyhow::anyhow!("cannot create DATA_DIR {}: {e}", config.data_dir.display())
    })?;
    // Held until `run` returns: one process per SQLite file.
    let _sqlite_claim = crate::single_node::claim(&config.database_url)?;
    let store = Store::connect_with(&config.database_url, config.database_max_connections)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .ensure_admin_tenant()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    info!(database = ?store.kind(), "store ready");
    if config.engine.server_url.is_some() {
        info!(
            accepts_sandbox_certificates = wagate_engine::ACCEPTS_SANDBOX_CERTIFICATES,
            "using a custom WhatsApp server"
        );
    }

    if config.dashboard.is_some() {
        info!("dashboard enabled at /dashboard");
    } else {
        info!(
            "dashboard off: set DASHBOARD_USERNAME, DASHBOARD_PASSWORD and JWT_SECRET to enable it"
        );
    }
    // Bound before anything starts: the node's address is part of its
    // identity in a cluster.
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e} (is the port in use? set PORT)",
                config.bind
            )
        })?;
    let addr = listener.local_addr()?;
    let mut config = config;
    if store.clusterable() {
        let cluster = config
            .cluster
            .config(&config.data_dir, &config.host, addr)
            .map_err(anyhow::Error::msg)?;
        info!(node = %cluster.node_id, url = %cluster.node_url, "cluster node (PostgreSQL)");
        if cluster.secret.is_none() {
            warn!("CLUSTER_SECRET is not set: set the same secret on every node of a cluster");
        }
        config.engine.cluster = Some(cluster);
    }
    let events_config = wagate_events::EventsConfig::from_env().map_err(anyhow::Error::msg)?;
    let warming_config =
        wagate_engine::warming::WarmingConfig::from_env().map_err(anyhow::Error::msg)?;
    let manager = SessionManager::new(store, config.engine.clone());
    let warming = wagate_engine::warming::Warming::new(manager.clone(), warming_config);
    let state = AppState::new(
        manager.clone(),
        ApiConfig {
            admin_key: config.api_key,
            max_body_bytes: config.max_body_bytes,
            qr_wait: Duration::from_secs(20),
            webhook_max_per_session: events_config.max_per_session,
            rate_limit: config.rate_limit,
            streams_max_per_tenant: config.streams_max_per_tenant,
            max_sessions_per_tenant: config.max_sessions_per_tenant,
            dashboard: config.dashboard,
            cors: config.cors,
            metrics_token: config.metrics_token,
            compat_session: config.compat_session,
        },
    )
    .with_warming(warming.clone());
    let metrics = state.metrics.clone();
    let observer: wagate_events::deliver::DeliveryObserver =
        Arc::new(move |outcome, took| metrics.observe_webhook(outcome, took.as_secs_f64()));
    let dispatcher =
        wagate_events::Dispatcher::start_observed(manager.clone(), events_config, Some(observer))
            .await
            .map_err(anyhow::Error::msg)?;
    let app = wagate_api::router(state);

    manager
        .reset_after_restart()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Tests and scripts read this line to find the port.
    println!("wagate listening on http://{addr}");

    let boot = {
        let manager = manager.clone();
        tokio::spawn(async move {
            if let Err(e) = manager.boot().await {
                warn!("resuming sessions failed: {e}");
            }
            // Warming rooms speak once sessions are back.
            warming.start();
        })
    };

    // In a cluster, SIGTERM first hands the sessions over while this node
    // still answers (forwarding to their new nodes), then stops serving.
    let stop = {
        let manager = manager.clone();
        async move {
            shutdown_signal().await;
            manager.hand_over().await;
        }
    };
    crate::http::serve(listener, app, config.http, stop).await;
    info!("shutting down: stopping sessions");
    boot.abort();
    dispatcher.shutdown();
    manager.shutdown().await;
    Ok(())
}

pub async fn run_sandbox(args: SandboxArgs) -> anyhow::Result<()> {
    if args.print_root_key {
        println!("{}", hex::encode(wagate_sandbox::cert::root_public_key()));
        return Ok(());
    }
    let sandbox = Sandbox::start(SandboxConfig {
        listen: args.listen,
        data_dir: args.data,
        latency: std::time::Duration::from_millis(args.latency_ms),
    })
    .await?;
    println!(
        "wagate sandbox listening: WhatsApp at {}  admin API at {}/admin",
        sandbox.ws_url(),
        sandbox.http_url()
    );
    sandbox.run_until_shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
