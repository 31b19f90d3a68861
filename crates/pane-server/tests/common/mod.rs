//! A tiny HTTP/SSE client and server launcher for the stand-in's tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use http_body_util::BodyExt;
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pane_core::sse::{SseItem, SseParser};
use serde_json::{json, Value};

pub fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A fresh temporary data directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "pane-server-test-{tag}-{}-{}",
        std::process::id(),
        pane_server::model::hex_id(6)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts an in-process stand-in; returns its base URL.
pub async fn start(tag: &str) -> (String, pane_server::Running) {
    let cfg = pane_server::Config::for_tests(temp_dir(tag));
    start_with(cfg).await
}

pub async fn start_with(cfg: pane_server::Config) -> (String, pane_server::Running) {
    let r = pane_server::start(cfg).await.unwrap();
    (format!("http://{}", r.addr), r)
}

pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
    pub text: String,
}

pub async fn request(
    method: &str,
    url: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let resp = tokio::time::timeout(Duration::from_secs(20), client().request(req))
        .await
        .expect("request hang guard")
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

pub async fn get(url: &str) -> Reply {
    request("GET", url, None, &[]).await
}

pub async fn post(url: &str, body: Value) -> Reply {
    request("POST", url, Some(body), &[]).await
}

/// A new session id.
pub async fn new_session(base: &str) -> String {
    post(&format!("{base}/api/session/new"), json!({}))
        .await
        .body["session"]["session_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Starts a turn; returns the stream id.
pub async fn start_turn(base: &str, sid: &str, message: &str) -> String {
    let r = post(
        &format!("{base}/api/chat/start"),
        json!({"session_id": sid, "message": message}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["stream_id"].as_str().unwrap().to_string()
}

/// One received SSE frame with the time it arrived.
#[derive(Debug, Clone)]
pub struct Got {
    pub id: String,
    pub had_id: bool,
    pub event: String,
    pub data: String,
    pub at: Instant,
}

/// An open SSE connection.
pub struct Sse {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    body: Option<hyper::body::Incoming>,
    parser: SseParser,
    pub frames: Vec<Got>,
    pub comments: Vec<String>,
    pub ended: bool,
}

pub async fn sse(url: &str, headers: &[(&str, &str)]) -> Sse {
    let mut b = Request::builder()
        .uri(url)
        .header("accept", "text/event-stream");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(20),
        client().request(b.body(Body::empty()).unwrap()),
    )
    .await
    .expect("sse hang guard")
    .unwrap();
    Sse {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: Some(resp.into_body()),
        parser: SseParser::new(),
        frames: Vec::new(),
        comments: Vec::new(),
        ended: false,
    }
}

impl Sse {
    /// Reads until `pred` holds for the frames so far, the stream ends, or `timeout`.
    pub async fn read_until(&mut self, timeout: Duration, pred: impl Fn(&[Got]) -> bool) {
        let deadline = Instant::now() + timeout;
        while !pred(&self.frames) && !self.ended {
            let Some(body) = self.body.as_mut() else {
                return;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match tokio::time::timeout(left, body.frame()).await {
                Err(_) => return,
                Ok(None) | Ok(Some(Err(_))) => {
                    self.ended = true;
                    for item in self.parser.finish() {
                        self.take(item);
                    }
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        let items = self.parser.push(&String::from_utf8_lossy(&data));
                        for item in items {
                            self.take(item);
                        }
                    }
                }
            }
        }
    }

    fn take(&mut self, item: SseItem) {
        match item {
            SseItem::Frame(f) => self.frames.push(Got {
                id: f.last_event_id,
                had_id: f.had_id,
                event: f.event,
                data: f.data,
                at: Instant::now(),
            }),
            SseItem::Comment(c) => self.comments.push(c),
            SseItem::Retry(_) => {}
        }
    }

    /// Reads to the end of the stream (hang guard: 30 s).
    pub async fn read_all(&mut self) {
        self.read_until(Duration::from_secs(30), |_| false).await;
        assert!(self.ended, "stream did not end within the hang guard");
    }

    pub fn names(&self) -> Vec<String> {
        self.frames.iter().map(|f| f.event.clone()).collect()
    }

    pub fn close(mut self) {
        self.body.take();
    }
}

/// Every frame decodes with pane-core: no error, no unknown event.
pub fn assert_pane_core_decodes(frames: &[Got]) {
    for f in frames {
        let ev = pane_core::StreamEvent::decode(&f.event, &f.data)
            .unwrap_or_else(|e| panic!("{e}: {}", f.data));
        assert!(
            !matches!(ev, pane_core::StreamEvent::Unknown { .. }),
            "unknown event {}",
            f.event
        );
    }
}

/// The captured fixture of the real backend, as frames.
pub fn fixture(name: &str) -> Vec<(String, String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../pane-core/tests/fixtures/hermes-webui")
        .join(name);
    let captured = std::fs::read_to_string(path).unwrap();
    let body: String = captured
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let n = t.chars().take_while(char::is_ascii_digit).count();
            if n > 0 && t[n..].starts_with(' ') {
                t[n + 1..].to_string()
            } else if n > 0 && t.len() == n {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    pane_core::sse::parse_all(&body)
        .into_iter()
        .filter_map(|i| {
            if let SseItem::Frame(f) = i {
                Some((f.last_event_id, f.event, f.data))
            } else {
                None
            }
        })
        .collect()
}

/// Polls `f` until it returns `Some`, with a hang guard.
pub async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
