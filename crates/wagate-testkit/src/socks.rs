//! A SOCKS5 proxy on loopback for the proxy stories: username/password
//! authentication only (RFC 1928 + RFC 1929), `CONNECT` only, and a log of
//! every connection it relayed — where to, the first line the client sent
//! through it (`GET /ws/chat HTTP/1.1` for a WebSocket, `POST /mms/…` for
//! an upload) and the bytes each way, counted as they flow — plus the
//! logins it refused.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One connection the proxy relayed.
#[derive(Debug)]
pub struct Relayed {
    /// `host:port` the client asked for.
    pub target: String,
    /// The first line the client sent through the tunnel.
    pub first_line: Mutex<String>,
    /// Bytes client → target so far.
    pub up: AtomicU64,
    /// Bytes target → client so far.
    pub down: AtomicU64,
}

#[derive(Default)]
struct Log {
    relayed: Mutex<Vec<Arc<Relayed>>>,
    refused_logins: AtomicU64,
}

/// The proxy, listening until dropped with the test's runtime.
pub struct SocksProxy {
    pub addr: SocketAddr,
    user: String,
    pass: String,
    log: Arc<Log>,
}

impl SocksProxy {
    /// Starts a proxy that lets `user`/`pass` in.
    pub async fn start(user: &str, pass: &str) -> SocksProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Log::default());
        let (u, p, l) = (user.to_string(), pass.to_string(), log.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (u, p, l) = (u.clone(), p.clone(), l.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &u, &p, &l).await;
                });
            }
        });
        SocksProxy {
            addr,
            user: user.to_string(),
            pass: pass.to_string(),
            log,
        }
    }

    /// `socks5://user:pass@127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("socks5://{}:{}@{}", self.user, self.pass, self.addr)
    }

    /// The same with a wrong password.
    pub fn url_with_password(&self, pass: &str) -> String {
        format!("socks5://{}:{pass}@{}", self.user, self.addr)
    }

    /// Every connection relayed so far.
    pub fn relayed(&self) -> Vec<Arc<Relayed>> {
        self.log.relayed.lock().unwrap().clone()
    }

    /// Connections relayed to `target` (`host:port`).
    pub fn relayed_to(&self, target: &str) -> Vec<Arc<Relayed>> {
        self.relayed()
            .into_iter()
            .filter(|r| r.target == target)
            .collect()
    }

    /// Logins refused (a wrong user name or password).
    pub fn refused_logins(&self) -> u64 {
        self.log.refused_logins.load(Ordering::SeqCst)
    }
}

impl Relayed {
    pub fn first_line(&self) -> String {
        self.first_line.lock().unwrap().clone()
    }
}

async fn serve(mut client: TcpStream, user: &str, pass: &str, log: &Log) -> std::io::Result<()> {
    // Greeting: VER, NMETHODS, METHODS; only username/password (0x02).
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods).await?;
    if head[0] != 5 || !methods.contains(&2) {
        client.write_all(&[5, 0xFF]).await?;
        return Ok(());
    }
    client.write_all(&[5, 2]).await?;
    // RFC 1929: VER(1), ULEN, UNAME, PLEN, PASSWD.
    let given_user = read_short(&mut client, true).await?;
    let given_pass = read_short(&mut client, false).await?;
    if given_user != user.as_bytes() || given_pass != pass.as_bytes() {
        log.refused_logins.fetch_add(1, Ordering::SeqCst);
        client.write_all(&[1, 1]).await?;
        return Ok(());
    }
    client.write_all(&[1, 0]).await?;
    // Request: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    if req[1] != 1 {
        // Only CONNECT: "command not supported".
        client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let Ok(upstream) = TcpStream::connect(&target).await else {
        // "connection refused".
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    let relayed = Arc::new(Relayed {
        target,
        first_line: Mutex::new(String::new()),
        up: AtomicU64::new(0),
        down: AtomicU64::new(0),
    });
    log.relayed.lock().unwrap().push(relayed.clone());
    relay(client, upstream, relayed).await;
    Ok(())
}

async fn read_short(client: &mut TcpStream, with_version: bool) -> std::io::Result<Vec<u8>> {
    if with_version {
        let mut ver = [0u8; 1];
        client.read_exact(&mut ver).await?;
    }
    let mut len = [0u8; 1];
    client.read_exact(&mut len).await?;
    let mut value = vec![0u8; len[0] as usize];
    client.read_exact(&mut value).await?;
    Ok(value)
}

/// Copies both ways, counting, until either side closes.
async fn relay(client: TcpStream, upstream: TcpStream, log: Arc<Relayed>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let up_log = log.clone();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut first = true;
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if first {
                first = false;
                let text = String::from_utf8_lossy(&buf[..n.min(200)]).into_owned();
                *up_log.first_line.lock().unwrap() =
                    text.lines().next().unwrap_or_default().to_string();
            }
            up_log.up.fetch_add(n as u64, Ordering::SeqCst);
            if uw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = uw.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match ur.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            log.down.fetch_add(n as u64, Ordering::SeqCst);
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}
