//! A real browser for the dashboard tests: Debian's `chromium` driven by
//! `chromedriver` over the W3C WebDriver protocol (plain JSON over HTTP, so
//! a few calls with reqwest are the whole client).
//!
//! Each [`Browser`] starts its own chromedriver on a free port with a fresh
//! profile directory, and saves screenshots under a per-test directory
//! (printed, and kept after the test for a person to look at).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const W3C_ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    driver_url: String,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
    pub shots: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn chromium_binary() -> Option<&'static str> {
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

impl Browser {
    /// Starts chromedriver and a headless chromium, `width` × `height`
    /// pixels; screenshots go to `$TMPDIR/wagate-dashboard-e2e/<test>/`.
    pub async fn start(test: &str, width: u32, height: u32) -> Browser {
        let chromium = chromium_binary()
            .expect("chromium is not installed: apt-get install -y chromium chromium-driver");
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver runs (apt-get install -y chromium-driver)");
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let ready = async {
            loop {
                if let Ok(r) = http.get(format!("{driver_url}/status")).send().await
                    && let Ok(v) = r.json::<Value>().await
                    && v["value"]["ready"] == true
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .expect("chromedriver becomes ready");
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "unhandledPromptBehavior": "ignore",
                "goog:chromeOptions": { "binary": chromium, "args": args },
            }}
        });
        let resp: Value = http
            .post(format!("{driver_url}/session"))
            .json(&caps)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .unwrap();
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a browser session starts: {resp}"))
            .to_string();
        let shots = std::env::temp_dir().join("wagate-dashboard-e2e").join(test);
        std::fs::create_dir_all(&shots).unwrap();
        eprintln!("screenshots of {test}: {}", shots.display());
        let b = Browser {
            http,
            driver_url,
            session,
            driver,
            _profile: profile,
            shots,
        };
        b.set_size(width, height).await;
        b
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.driver_url, self.session, path);
        let mut r = self.http.request(method, url);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("chromedriver answers");
        resp.json::<Value>().await.unwrap_or(Value::Null)
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let v = self.call(method, path, body).await;
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub async fn set_size(&self, width: u32, height: u32) {
        self.ok(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    pub async fn goto(&self, url: &str) {
        self.ok(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.ok(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Option<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v["value"][W3C_ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits (a hang guard) for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> String {
        for _ in 0..600 {
            if let Some(e) = self.find(css).await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(&format!("timeout-{}", sanitize(css))).await;
        panic!("timed out waiting for {css}");
    }

    /// Waits until `script` (a function body) returns a truthy value, and returns it.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        for _ in 0..600 {
            let v = self.exec(script, json!([])).await;
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(&format!("timeout-{}", sanitize(what)))
            .await;
        panic!("timed out waiting for {what}");
    }

    pub async fn click(&self, css: &str) {
        let e = self.wait_for(css).await;
        self.ok(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Clears the field matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.wait_for(css).await;
        self.ok(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.ok(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.wait_for(css).await;
        self.ok(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn exec(&self, script: &str, args: Value) -> Value {
        let v = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({ "script": script, "args": args })),
            )
            .await;
        if v["value"]["error"].is_string() {
            return Value::Null;
        }
        v["value"].clone()
    }

    /// The text of an open JavaScript dialog (alert/confirm/prompt), if one is open.
    pub async fn open_dialog(&self) -> Option<String> {
        let v = self.call(reqwest::Method::GET, "/alert/text", None).await;
        match v["value"]["error"].as_str() {
            Some(_) => None,
            None => Some(v["value"].as_str().unwrap_or_default().to_string()),
        }
    }

    /// Saves a PNG of the viewport as `<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let path = self.shots.join(format!("{name}.png"));
        if let Some(b64) = v["value"].as_str()
            && let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64)
        {
            std::fs::write(&path, png).unwrap();
        }
        path
    }

    /// Logs in on the dashboard's login form at `base` as the operator.
    pub async fn login(&self, base: &str, username: &str, password: &str) {
        self.goto(&format!("{base}/dashboard")).await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click("#login-submit").await;
        self.wait_for("nav#nav").await;
    }

    pub async fn quit(mut self) {
        let _ = self.call(reqwest::Method::DELETE, "", None).await;
        self.kill();
    }

    fn kill(&mut self) {
        // The driver's process group (chromedriver and its chromium), named
        // with pkill's `-g`: procps 4.0.2's `kill -KILL -<pgid>` misreads
        // the negative id and signals every process on the machine.
        let _ = Command::new("pkill")
            .args(["-KILL", "-g", &self.driver.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(60)
        .collect()
}
