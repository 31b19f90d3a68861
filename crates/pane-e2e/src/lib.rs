//! The browser end-to-end harness: the stand-in server (with fault injection) as a real
//! process, Debian's chromedriver + headless Chromium driven over WebDriver (fantoccini), and
//! helpers that wait on conditions (never sleeps) with a hang guard on every wait.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let d = std::env::temp_dir().join(format!("pane-e2e-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bundle under test (`PANE_DIST`, built by `cargo xtask test` with the `test-hooks` feature).
pub fn dist() -> PathBuf {
    std::env::var_os("PANE_DIST").map(PathBuf::from).unwrap_or_else(|| root().join("target/e2e-dist"))
}

fn server_bin() -> PathBuf {
    std::env::var_os("PANE_SERVER_BIN").map(PathBuf::from).unwrap_or_else(|| root().join("target/native-release/pane-server"))
}

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerOpts {
    pub mount: String,
    pub password: Option<String>,
    pub backend: Option<String>,
    pub dist: PathBuf,
    /// Serve `.wasm` as `text/plain`, like Hermes WebUI's `/static/` handler.
    pub wasm_as_text: bool,
}

impl Default for ServerOpts {
    fn default() -> ServerOpts {
        ServerOpts { mount: "/".into(), password: None, backend: None, dist: dist(), wasm_as_text: false }
    }
}

/// The stand-in server as a child process.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub data: PathBuf,
    pub opts: ServerOpts,
    /// `http://127.0.0.1:port`
    pub base: String,
    /// The login cookie of the harness's own API calls (password mode).
    cookie: std::sync::Mutex<Option<String>>,
}

impl Server {
    pub async fn start(opts: ServerOpts) -> Server {
        let port = free_port();
        let data = temp_dir("data");
        let mut s = Server { child: None, port, data, opts, base: format!("http://127.0.0.1:{port}"), cookie: std::sync::Mutex::new(None) };
        s.spawn().await;
        s
    }

    async fn spawn(&mut self) {
        let bin = server_bin();
        assert!(bin.exists(), "{} is missing: run `cargo xtask test`", bin.display());
        let mut cmd = Command::new(bin);
        cmd.args([
            "--addr",
            &format!("127.0.0.1:{}", self.port),
            "--data-dir",
            self.data.to_str().unwrap(),
            "--dist",
            self.opts.dist.to_str().unwrap(),
            "--mount",
            &self.opts.mount,
            "--faults",
        ]);
        if let Some(p) = &self.opts.password {
            cmd.args(["--password", p]);
        }
        if let Some(b) = &self.opts.backend {
            cmd.args(["--backend", b]);
        }
        if self.opts.wasm_as_text {
            cmd.arg("--wasm-as-text");
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
        let mut child = cmd.spawn().expect("start pane-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(l)) = lines.next_line().await {
                if l.contains("serving the pane at") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(ready, Ok(true)), "pane-server did not start");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// The pane's URL.
    pub fn url(&self) -> String {
        format!("{}{}", self.base, self.opts.mount)
    }

    /// SIGKILL: the server dies mid-whatever, like a crash.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
    }

    /// Kill and start again on the same port and data directory.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let logged_in = self.cookie.lock().unwrap().is_some();
        if let (Some(pw), false) = (self.opts.password.clone(), logged_in) {
            // Log the harness in once (a non-browser client: no Origin, so no CSRF token needed).
            let (_, headers) = self.raw("POST", "api/auth/login", Some(json!({"password": pw}))).await;
            let c = headers.get("set-cookie").and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).map(str::to_string);
            *self.cookie.lock().unwrap() = c;
        }
        let (resp, _) = self.raw(method, path, body).await;
        resp
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> ((u16, Value), hyper::HeaderMap) {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build::<_, http_body_util::Full<hyper::body::Bytes>>(HttpConnector::new());
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req =
            hyper::Request::builder().method(method).uri(format!("{}/{}", self.base, path.trim_start_matches('/'))).header("content-type", "application/json");
        let cookie = self.cookie.lock().unwrap().clone();
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let req = req.body(http_body_util::Full::new(hyper::body::Bytes::from(body))).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(20), client.request(req)).await.expect("request hang guard").expect("request");
        let headers = resp.headers().clone();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        ((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)), headers)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.request("GET", path, None).await.1
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.request("POST", path, Some(body)).await.1
    }

    /// Sets fault injection (`/api/__faults`).
    pub async fn faults(&self, f: Value) {
        self.post("api/__faults", f).await;
    }

    /// Connection statistics (`/api/__stats`).
    pub async fn stats(&self) -> Value {
        self.get("api/__stats").await
    }

    /// A session's saved transcript.
    pub async fn messages(&self, sid: &str) -> Vec<Value> {
        self.get(&format!("api/session?session_id={sid}")).await["session"]["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the server has no active stream for `sid`.
    pub async fn wait_idle(&self, sid: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.get(&format!("api/session?session_id={sid}&messages=0")).await;
            if s["session"]["active_stream_id"].is_null() && !s["session"].is_null() {
                return;
            }
            assert!(Instant::now() < deadline, "session {sid} did not finish within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The visible text of the saved assistant reply of the last turn (what the pane shows).
pub fn saved_reply(messages: &[Value]) -> String {
    let start = messages.iter().rposition(|m| m["role"] == "user").map_or(0, |i| i + 1);
    messages[start..]
        .iter()
        .filter(|m| m["role"] == "assistant" && m["_error"] != true)
        .filter_map(|m| m["content"].as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[derive(Debug)]
struct GetLog;

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
pub struct Cdp(pub &'static str, pub Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"cmd": self.0, "params": self.1}).to_string()))
    }
}

/// Headless Chromium through Debian's chromedriver.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
}

/// The chromedriver process (kept by the harness so the session is closed before it dies).
pub struct Driver {
    _child: Child,
    _profile: PathBuf,
}

impl Browser {
    pub async fn start() -> (Browser, Driver) {
        Browser::start_with(&[]).await
    }

    /// Starts Chromium with extra command-line flags.
    pub async fn start_with(extra: &[&str]) -> (Browser, Driver) {
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver (apt install chromium-driver)");
        let profile = temp_dir("profile");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(extra.iter().map(|s| s.to_string()));
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        });
        let caps: fantoccini::wd::Capabilities = caps.as_object().unwrap().clone().into_iter().collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(c) => break c,
                Err(e) => {
                    assert!(Instant::now() < deadline, "chromedriver did not start: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        (Browser { client }, Driver { _child: driver, _profile: profile })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
    }

    /// Runs `script` (a function body; use `return`) and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs an async script (`arguments[0]` is the callback).
    pub async fn js_async(&self, script: &str) -> Value {
        self.client.execute_async(script, vec![]).await.unwrap_or_else(|e| panic!("async script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy; returns it. Hang guard: `timeout`.
    pub async fn wait(&self, what: &str, timeout: Duration, script: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap_or(Value::Null);
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(_) => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let logs = self.console().await;
                let shot = self.client.screenshot().await.ok();
                if let Some(png) = shot {
                    let p = std::env::temp_dir().join(format!("pane-e2e-timeout-{}.png", std::process::id()));
                    let _ = std::fs::write(&p, png);
                    eprintln!("screenshot: {}", p.display());
                }
                let logs: Vec<String> = logs.iter().rev().take(6).map(|l| l.chars().take(400).collect()).collect();
                panic!("timed out after {timeout:?} waiting for {what}\nlast value: {v}\nlast console lines: {logs:#?}");
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let el = self.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css}: {e}"));
        el.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types into the element (appends).
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css}: {e}"));
        el.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The browser console so far (chromedriver's log).
    pub async fn console(&self) -> Vec<String> {
        match self.client.issue_cmd(GetLog).await {
            Ok(Value::Array(entries)) => {
                entries.iter().map(|e| format!("{} {}", e["level"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or(""))).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Runs a CDP command and returns its result.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client.issue_cmd(Cdp(cmd, params)).await.unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(path, png);
        }
    }
}

/// JS: the shown pane's element (`document.querySelector` scope).
pub const SHOWN: &str = ".pane:not(.hidden)";

/// Opens the pane and waits until the app has started (the sidebar exists).
pub async fn open_app(b: &Browser, url: &str) {
    b.goto(url).await;
    b.wait(
        "the app to start",
        Duration::from_secs(30),
        "return document.querySelector('[data-testid=sidebar]') !== null && performance.getEntriesByName('pane-interactive').length > 0",
    )
    .await;
}

/// Sends a message from the shown pane's composer.
pub async fn send(b: &Browser, text: &str) {
    let input = format!("{SHOWN} [data-testid=composer-input], .route:not(.hidden) [data-testid=composer-input]");
    b.type_into(&input, text).await;
    b.type_into(&input, "\u{E007}").await; // Enter
}

/// Creates a session through the UI and returns its id.
pub async fn new_session(b: &Browser) -> String {
    let before = b.js("return location.pathname").await;
    b.click("[data-testid=new-session]").await;
    let v = b
        .wait(
            "the new session's URL",
            Duration::from_secs(10),
            &format!("const p = location.pathname; return p !== {before} && p.includes('/session/') ? p.split('/session/')[1] : null"),
        )
        .await;
    v.as_str().unwrap().to_string()
}

/// The shown pane's settled assistant text (markdown rendered to text).
pub const SHOWN_REPLY_JS: &str = "const ms = [...document.querySelectorAll('.pane:not(.hidden) [data-role=assistant]:not(.live)')]; \
    const last = ms.length ? ms[ms.length - 1] : null; return last ? last.querySelector('.md').innerText : null";

/// Runs a test body with a fresh server and browser; both are torn down whatever happens, and
/// the body's panic is re-raised afterwards (no orphaned Chromium).
pub async fn with_stack<F, Fut>(opts: ServerOpts, body: F)
where
    F: FnOnce(Server, Browser) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let server = Server::start(opts).await;
    let (browser, driver) = Browser::start().await;
    let client = browser.client.clone();
    let result = tokio::spawn(body(server, browser)).await;
    // The app never panicked (a panic stops the wasm module; `show_fatal` marks the page).
    // Nor hit a bug it detects itself (`data-pane-bug`: a split view that could not render).
    let fatal = client
        .execute("return document.body && (document.body.dataset.paneFatal || document.body.dataset.paneBug) || null", vec![])
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string));
    let _ = client.close().await;
    drop(driver);
    eprintln!("(test body took {:.1} s)", started.elapsed().as_secs_f64());
    if let Err(e) = result {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
    if let Some(f) = fatal {
        panic!("the pane panicked or hit a bug: {f}");
    }
}
