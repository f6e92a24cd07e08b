//! The message brokers the event-bus output tests publish to, for real:
//! a NATS server with JetStream of the test's own (a child process on a
//! free port, its store in a temporary folder, so the test can kill and
//! restart it), and the machine's RabbitMQ (127.0.0.1:5672, guest/guest),
//! whose application the test can stop and start again.

use super::*;

/// A `nats-server -js` of the test's own.
pub struct NatsServer {
    pub port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    pub async fn start() -> NatsServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = NatsServer {
            port,
            store: tempfile::tempdir().expect("a store folder"),
            child: None,
        };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL), as a crash would: what JetStream had
    /// written stays in its store.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on the same port and store, and waits
    /// until it accepts connections.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (Debian package nats-server)");
        self.child = Some(child);
        let port = self.port;
        eventually(
            "nats-server listens",
            Duration::from_secs(20),
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(|_| ())
            },
        )
        .await;
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The machine's RabbitMQ.
pub const RABBITMQ_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Stops the machine's RabbitMQ application (connections drop, new ones
/// are refused; durable queues and persistent messages stay) and starts it
/// again when dropped, so a failing test never leaves the broker down.
pub struct RabbitMqOutage {
    started: bool,
}

fn rabbitmqctl(args: &[&str]) {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl runs");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl RabbitMqOutage {
    pub fn begin() -> RabbitMqOutage {
        rabbitmqctl(&["stop_app"]);
        RabbitMqOutage { started: false }
    }

    /// Starts the application again and waits until it accepts AMQP.
    pub async fn end(mut self) {
        rabbitmqctl(&["start_app"]);
        rabbitmqctl(&["await_startup"]);
        self.started = true;
        eventually("RabbitMQ listens", Duration::from_secs(60), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", 5672))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
    }
}

impl Drop for RabbitMqOutage {
    fn drop(&mut self) {
        if !self.started {
            rabbitmqctl(&["start_app"]);
        }
    }
}
