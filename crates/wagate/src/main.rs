//! wagate: a self-hosted multi-session WhatsApp HTTP API gateway.
//!
//! `wagate serve` runs the gateway; `wagate sandbox` runs a local WhatsApp
//! server to try it against; `wagate worker` sends the rows of an outbox
//! table through the gateway (see `wagate-outbox`); `wagate healthcheck`
//! asks a running gateway whether it is up (container health checks);
//! `wagate pair` links a number from the terminal. Configuration comes
//! from flags, the environment, and an optional `.env` file (see
//! [`config`]).

mod config;
mod environment;
mod healthcheck;
mod http;
mod pair;
mod serve;
mod single_node;

use clap::{Parser, Subcommand};

/// jemalloc instead of glibc's malloc: on the send path glibc's malloc and
/// free took about a tenth of the gateway's CPU; with jemalloc the gateway
/// and the sandbox do 12–24 % more messages per second, for ~1 KB more
/// per idle session (mimalloc was as fast but took ~120 KB more per
/// session). BENCHMARKS.md has the runs.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "wagate",
    version,
    about = "Self-hosted multi-session WhatsApp HTTP API gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API gateway.
    #[command(after_help = environment::SERVE_ENVIRONMENT)]
    Serve(config::ServeArgs),
    /// Run the sandbox: a WhatsApp Web server on loopback with an admin API.
    Sandbox(config::SandboxArgs),
    /// Run an outbox worker: send the rows of an outbox table through the gateway.
    Worker(wagate_outbox::WorkerArgs),
    /// Link a number from the terminal: print its QR (or pairing code) and wait until CONNECTED.
    Pair(pair::PairArgs),
    /// Ask the gateway on this machine whether it is up (exit 0) or not (exit 1).
    Healthcheck(healthcheck::HealthcheckArgs),
}

fn main() {
    // A missing .env is normal; a malformed one is worth saying.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("wagate: ignoring .env: {e}");
    }
    let cli = Cli::parse();
    if let Command::Healthcheck(args) = &cli.command {
        match healthcheck::run(args) {
            Ok(()) => std::process::exit(0),
            Err(e) => {
                eprintln!("wagate: {e}");
                std::process::exit(1);
            }
        }
    }
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wagate: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Sandbox(args) => serve::run_sandbox(args).await,
            Command::Worker(args) => wagate_outbox::run(args).await,
            Command::Pair(args) => pair::run(args).await,
            Command::Healthcheck(_) => Ok(()),
        }
    });
    if let Err(e) = result {
        eprintln!("wagate: {e}");
        std::process::exit(1);
    }
}

/// Logs go to stderr, filtered by `RUST_LOG`, as text or, with
/// `LOG_FORMAT=json`, one JSON object a line (with the request's span:
/// method, redacted target, request id; and the session where known).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,whatsapp_rust=warn,wacore=warn,sqlx=warn"));
    let format = std::env::var("LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format.trim().to_ascii_lowercase().as_str() {
        "" | "text" => builder.init(), // not vocabulary: a log format
        "json" => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        other => {
            eprintln!("wagate: LOG_FORMAT must be text or json, not '{other}'");
            std::process::exit(2);
        }
    }
}
