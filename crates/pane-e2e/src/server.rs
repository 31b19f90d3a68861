//! The backend a scenario runs against, and the harness's own API calls to it.
//!
//! Three stacks, one interface ([`Server`]):
//! - [`Backend::StandIn`]: `pane-server` with its stand-in backend and fault injection;
//! - [`Backend::RealProxy`]: `pane-server --backend` in front of the **real** Hermes WebUI
//!   (README mode a);
//! - [`Backend::RealEmbedded`]: the bundle copied into the real server's `static/pane/` and
//!   opened there (README mode b: `.wasm` as `text/plain`, no SPA fallback).
//!
//! The real Hermes WebUI is started by `cargo xtask test real` (installed, isolated, stopped by
//! PID) and named here by environment variables ([`RealBackend::from_env`]).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{free_port, root, temp_dir};

/// The bundle under test (`PANE_DIST`, built by `cargo xtask test` with the `test-hooks` feature).
pub fn dist() -> PathBuf {
    std::env::var_os("PANE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/e2e-dist"))
}

fn server_bin() -> PathBuf {
    std::env::var_os("PANE_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/native-release/pane-server"))
}

/// Which backend the pane talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The stand-in (`pane-server`), fault injection on.
    StandIn,
    /// The real Hermes WebUI behind `pane-server --backend` (the pane under `/pane/`).
    RealProxy,
    /// The real Hermes WebUI serving the bundle from its own `static/pane/`.
    RealEmbedded,
}

impl Backend {
    pub fn is_real(self) -> bool {
        self != Backend::StandIn
    }
}

/// A real Hermes WebUI started for this test run (see `cargo xtask test real`).
#[derive(Debug, Clone)]
pub struct RealBackend {
    /// `http://127.0.0.1:port`
    pub url: String,
    /// The terminal tool's working directory (where a dangerous command really runs).
    pub workspace: PathBuf,
    /// Its password, when it runs in password mode.
    pub password: Option<String>,
    /// Where the test bundle is installed in its `static/` (`/static/pane/`).
    pub static_mount: String,
    /// The scripted model it uses as its provider (`http://127.0.0.1:port/v1`).
    pub model: String,
}

impl RealBackend {
    /// The instance `cargo xtask test real` started: the open one, or (`password`) the one in
    /// password mode. A missing variable is a clear failure, never a silent skip.
    pub fn from_env(password: bool) -> RealBackend {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: the real-backend scenarios run under `cargo xtask test \
                     real`, which starts Hermes WebUI"
                )
            })
        };
        let (url, pw) = if password {
            (var("PANE_REAL_PW_URL"), Some(var("PANE_REAL_PASSWORD")))
        } else {
            (var("PANE_REAL_URL"), None)
        };
        let workspace = PathBuf::from(var(if password {
            "PANE_REAL_PW_WORKSPACE"
        } else {
            "PANE_REAL_WORKSPACE"
        }));
        RealBackend {
            url,
            workspace,
            password: pw,
            static_mount: var("PANE_REAL_STATIC_MOUNT"),
            model: var("PANE_REAL_MODEL"),
        }
    }
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
        ServerOpts {
            mount: "/".into(),
            password: None,
            backend: None,
            dist: dist(),
            wasm_as_text: false,
        }
    }
}

/// Where the pane is served from and the API it talks to: a `pane-server` child (stand-in or
/// proxy), or the real server itself (embedded).
pub struct Server {
    child: Option<Child>,
    pub kind: Backend,
    pub port: u16,
    pub data: PathBuf,
    pub opts: ServerOpts,
    /// `http://127.0.0.1:port` of the pane-server (the real server's when embedded).
    pub base: String,
    /// Where the harness's own API calls go (`…/` + `api/…`).
    api: String,
    real: Option<RealBackend>,
    /// The login cookie of the harness's own API calls (password mode).
    cookie: std::sync::Mutex<Option<String>>,
}

impl Server {
    /// The stand-in (or, with `opts.backend`, a proxy to that URL).
    pub async fn start(opts: ServerOpts) -> Server {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut s = Server {
            child: None,
            kind: Backend::StandIn,
            port,
            data: temp_dir("data"),
            opts,
            api: base.clone(),
            base,
            real: None,
            cookie: std::sync::Mutex::new(None),
        };
        s.spawn().await;
        s
    }

    /// The pane on `kind`. For the real backends, `opts.password` picks the instance in
    /// password mode (its own password is used) and the mount is the embedding's own.
    pub async fn start_on(kind: Backend, opts: ServerOpts) -> Server {
        match kind {
            Backend::StandIn => Server::start(opts).await,
            Backend::RealProxy => {
                let real = RealBackend::from_env(opts.password.is_some());
                let opts = ServerOpts {
                    mount: "/pane/".into(),
                    backend: Some(real.url.clone()),
                    password: real.password.clone(),
                    ..opts
                };
                let mut s = Server::start(opts).await;
                s.kind = kind;
                s.api = real.url.clone();
                s.real = Some(real);
                s
            }
            Backend::RealEmbedded => {
                let real = RealBackend::from_env(opts.password.is_some());
                let port = real
                    .url
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                let opts = ServerOpts {
                    mount: real.static_mount.clone(),
                    password: real.password.clone(),
                    ..opts
                };
                Server {
                    child: None,
                    kind,
                    port,
                    data: temp_dir("data"),
                    opts,
                    base: real.url.clone(),
                    api: real.url.clone(),
                    real: Some(real),
                    cookie: std::sync::Mutex::new(None),
                }
            }
        }
    }

    async fn spawn(&mut self) {
        let bin = server_bin();
        assert!(
            bin.exists(),
            "{} is missing: run `cargo xtask test`",
            bin.display()
        );
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
        match &self.opts.backend {
            Some(b) => {
                cmd.args(["--backend", b]);
            }
            None => {
                if let Some(p) = &self.opts.password {
                    cmd.args(["--password", p]);
                }
            }
        }
        if self.opts.wasm_as_text {
            cmd.arg("--wasm-as-text");
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
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

    /// The pane's URL (its start page).
    pub fn url(&self) -> String {
        match self.kind {
            // No SPA fallback there: the document is the file itself.
            Backend::RealEmbedded => format!("{}{}index.html", self.base, self.opts.mount),
            _ => format!("{}{}", self.base, self.opts.mount),
        }
    }

    /// The address that opens session `sid` directly (a deep link that survives a reload).
    pub fn session_url(&self, sid: &str) -> String {
        match self.kind {
            Backend::RealEmbedded => format!("{}?session={sid}", self.url()),
            _ => format!("{}session/{sid}", self.url()),
        }
    }

    /// The real backend behind the pane, if it is one.
    pub fn real(&self) -> Option<&RealBackend> {
        self.real.as_ref()
    }

    /// Where the agent's terminal tool runs (real backends only: the stand-in runs nothing).
    pub fn workspace(&self) -> Option<PathBuf> {
        self.real.as_ref().map(|r| r.workspace.clone())
    }

    fn stand_in_only(&self, what: &str) {
        assert_eq!(
            self.kind,
            Backend::StandIn,
            "{what} is the stand-in's fault injector: it does not exist on the real backend"
        );
    }

    /// SIGKILL: the server dies mid-whatever, like a crash.
    pub async fn kill(&mut self) {
        self.stand_in_only("kill");
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
            let (_, headers) = self
                .raw("POST", "api/auth/login", Some(json!({"password": pw})))
                .await;
            let c = headers
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(str::to_string);
            *self.cookie.lock().unwrap() = c;
        }
        let (resp, _) = self.raw(method, path, body).await;
        resp
    }

    async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> ((u16, Value), hyper::HeaderMap) {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, http_body_util::Full<hyper::body::Bytes>>(HttpConnector::new());
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}/{}", self.api, path.trim_start_matches('/')))
            .header("content-type", "application/json");
        let cookie = self.cookie.lock().unwrap().clone();
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let req = req
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(30), client.request(req))
            .await
            .expect("request hang guard")
            .expect("request");
        let headers = resp.headers().clone();
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ),
            headers,
        )
    }

    pub async fn get(&self, path: &str) -> Value {
        self.request("GET", path, None).await.1
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.request("POST", path, Some(body)).await.1
    }

    /// Sets fault injection (`/api/__faults`; stand-in only).
    pub async fn faults(&self, f: Value) {
        self.stand_in_only("faults");
        self.post("api/__faults", f).await;
    }

    /// Connection statistics (`/api/__stats`; stand-in only).
    pub async fn stats(&self) -> Value {
        self.stand_in_only("stats");
        self.get("api/__stats").await
    }

    /// A session's saved transcript.
    pub async fn messages(&self, sid: &str) -> Vec<Value> {
        self.get(&format!("api/session?session_id={sid}")).await["session"]["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Creates a session through the API; returns its id.
    pub async fn new_session(&self) -> String {
        self.post("api/session/new", json!({})).await["session"]["session_id"]
            .as_str()
            .expect("a session id")
            .to_string()
    }

    /// Starts a turn through the API (as another client would); returns the stream id. The
    /// real backend keeps a finished turn's stream registered until its title is generated
    /// (after `done`), answering 409 meanwhile: like a client, this tries again.
    pub async fn start_turn(&self, sid: &str, message: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, r) = self
                .request(
                    "POST",
                    "api/chat/start",
                    Some(json!({"session_id": sid, "message": message})),
                )
                .await;
            if status == 409 && r["active_stream_id"].is_string() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            assert_eq!(status, 200, "chat/start: {r}");
            return r["stream_id"].as_str().expect("a stream id").to_string();
        }
    }

    /// Waits until the server has no active stream for `sid`.
    pub async fn wait_idle(&self, sid: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self
                .get(&format!("api/session?session_id={sid}&messages=0"))
                .await;
            if s["session"]["active_stream_id"].is_null() && !s["session"].is_null() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "session {sid} did not finish within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the scripted model was asked (real backends only): `[{n, model, stream, user}]`.
    pub async fn model_requests(&self) -> Vec<Value> {
        let real = self
            .real
            .as_ref()
            .expect("the scripted model serves the real backend only");
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, http_body_util::Full<hyper::body::Bytes>>(HttpConnector::new());
        let req = hyper::Request::get(format!("{}/__requests", real.model))
            .body(http_body_util::Full::default())
            .unwrap();
        let resp = client
            .request(req)
            .await
            .expect("the scripted model answers");
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }
}
