//! Headless Chromium through Debian's chromedriver (WebDriver, plus CDP commands).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::{free_port, temp_dir};

#[derive(Debug)]
/// chromedriver's log of one type (`browser`: the console; `performance`: DevTools events).
struct GetLog(&'static str);

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": self.0}).to_string()),
        )
    }
}

/// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
pub struct Cdp(pub &'static str, pub Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.0, "params": self.1}).to_string()),
        )
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
        Browser::launch(extra, false).await
    }

    /// Starts Chromium with the DevTools network events logged ([`Browser::network_log`]).
    pub async fn start_with_network_log(extra: &[&str]) -> (Browser, Driver) {
        Browser::launch(extra, true).await
    }

    /// The DevTools `Network.*` events since the last call (with
    /// [`Browser::start_with_network_log`]): `(method, params)`.
    pub async fn network_log(&self) -> Vec<(String, Value)> {
        self.performance_log(|m| m.starts_with("Network.")).await
    }

    /// The trace events Chromium recorded since the last call, as a Chrome trace file's
    /// `traceEvents` (with [`Browser::start_with_network_log`] and `BENCH_TRACE` set: main
    /// thread tasks, layout and style, V8 and wasm compiling, user-timing marks, loading).
    pub async fn trace_events(&self) -> Vec<Value> {
        let log = self.performance_log(|m| m == "Tracing.dataCollected").await;
        log.into_iter().map(|(_, params)| params).collect()
    }

    /// chromedriver's performance log since the last call (each call drains it: every entry
    /// goes to one caller), the DevTools messages whose method `keep` takes.
    async fn performance_log(&self, keep: impl Fn(&str) -> bool) -> Vec<(String, Value)> {
        let Ok(Value::Array(entries)) = self.client.issue_cmd(GetLog("performance")).await else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|e| {
                let m: Value = serde_json::from_str(e["message"].as_str()?).ok()?;
                let method = m["message"]["method"].as_str()?.to_string();
                keep(&method).then(|| (method, m["message"]["params"].clone()))
            })
            .collect()
    }

    async fn launch(extra: &[&str], network: bool) -> (Browser, Driver) {
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
        let mut caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        });
        if network {
            caps["goog:loggingPrefs"]["performance"] = json!("ALL");
            caps["goog:chromeOptions"]["perfLoggingPrefs"] = json!({"enableNetwork": true});
            if std::env::var_os("BENCH_TRACE").is_some() {
                caps["goog:chromeOptions"]["perfLoggingPrefs"]["traceCategories"] = json!(
                    "toplevel,devtools.timeline,disabled-by-default-devtools.timeline,\
                     blink.user_timing,v8,v8.wasm,loading,blink"
                );
            }
        }
        let caps: fantoccini::wd::Capabilities =
            caps.as_object().unwrap().clone().into_iter().collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(Instant::now() < deadline, "chromedriver did not start: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        (
            Browser { client },
            Driver {
                _child: driver,
                _profile: profile,
            },
        )
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
    }

    /// Runs `script` (a function body; use `return`) and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs an async script (`arguments[0]` is the callback).
    pub async fn js_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("async script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy; returns it. Hang guard: `timeout`.
    pub async fn wait(&self, what: &str, timeout: Duration, script: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self
                .client
                .execute(script, vec![])
                .await
                .unwrap_or(Value::Null);
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
                    let p = std::env::temp_dir()
                        .join(format!("pane-e2e-timeout-{}.png", std::process::id()));
                    let _ = std::fs::write(&p, png);
                    eprintln!("screenshot: {}", p.display());
                }
                let logs: Vec<String> = logs
                    .iter()
                    .rev()
                    .take(6)
                    .map(|l| l.chars().take(400).collect())
                    .collect();
                panic!(
                    "timed out after {timeout:?} waiting for {what}\nlast value: {v}\n\
                     last console lines: {logs:#?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// The element `css` selects, waited for up to 10 s.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn click(&self, css: &str) {
        let el = self.element(css).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Moves the pointer onto the element's centre, as a person's pointer arrives before a
    /// click (WebDriver's click alone jumps there and clicks at once).
    pub async fn hover(&self, css: &str) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction};
        let el = self.element(css).await;
        let to = MouseActions::new("pointer".to_string()).then(PointerAction::MoveToElement {
            element: el,
            duration: None,
            x: 0.0,
            y: 0.0,
        });
        self.client
            .perform_actions(to)
            .await
            .unwrap_or_else(|e| panic!("hover {css}: {e}"));
    }

    /// Types into the element (appends).
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The browser console so far (chromedriver's log).
    pub async fn console(&self) -> Vec<String> {
        match self.client.issue_cmd(GetLog("browser")).await {
            Ok(Value::Array(entries)) => entries
                .iter()
                .map(|e| {
                    format!(
                        "{} {}",
                        e["level"].as_str().unwrap_or(""),
                        e["message"].as_str().unwrap_or("")
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Runs a CDP command and returns its result.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp(cmd, params))
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(path, png);
        }
    }
}
