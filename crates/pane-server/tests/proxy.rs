//! Proxy mode against a minimal in-test upstream: SSE frames arrive unbuffered, cookies and the
//! CSRF header pass through both ways, `Origin` still matches `Host` for the backend's gate.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use serde_json::json;

type Sent = Arc<Mutex<Vec<Instant>>>;

async fn upstream() -> (String, Sent) {
    let sent: Sent = Arc::default();
    let s2 = sent.clone();
    let app = Router::new()
        .route(
            "/api/chat/stream",
            get(move || {
                let sent = s2.clone();
                async move {
                    let stream = futures::stream::unfold(0u32, move |i| {
                        let sent = sent.clone();
                        async move {
                            if i >= 3 {
                                return None;
                            }
                            tokio::time::sleep(Duration::from_millis(400)).await;
                            sent.lock().unwrap().push(Instant::now());
                            Some((
                                Ok::<_, Infallible>(
                                    Event::default()
                                        .id(format!("s:{}", i + 1))
                                        .event("token")
                                        .data(format!("{{\"text\":\"t{i}\"}}")),
                                ),
                                i + 1,
                            ))
                        }
                    });
                    Sse::new(stream)
                }
            }),
        )
        .route(
            "/api/echo",
            post(|headers: HeaderMap| async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let mut r = Json(json!({
                    "cookie": h("cookie"),
                    "csrf": h("x-hermes-csrf-token"),
                    "host": h("host"),
                    "origin": h("origin")
                }))
                .into_response();
                r.headers_mut().insert(
                    header::SET_COOKIE,
                    "hermes_session=abc.def; HttpOnly; Path=/".parse().unwrap(),
                );
                r
            }),
        )
        .route(
            "/",
            get(|| async {
                Html("<script>window.__HERMES_CONFIG__ = {csrfToken:\"tok123\"};</script>")
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), sent)
}

async fn proxy_to(backend: &str) -> (String, pane_server::Running) {
    let mut cfg = pane_server::Config::for_tests(temp_dir("proxy"));
    cfg.backend = Some(backend.to_string());
    cfg.mount = "/pane/".into();
    start_with(cfg).await
}

#[tokio::test]
async fn sse_frames_pass_through_the_proxy_unbuffered() {
    let (up, sent) = upstream().await;
    let (base, _p) = proxy_to(&up).await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id=s"), &[]).await;
    assert_eq!(s.status, 200);
    s.read_all().await;
    assert_eq!(s.frames.len(), 3);
    let sent = sent.lock().unwrap().clone();
    for (f, t) in s.frames.iter().zip(sent.iter()) {
        let lag = f.at.duration_since(*t);
        assert!(
            lag < Duration::from_millis(250),
            "frame {} arrived {lag:?} after the upstream sent it",
            f.id
        );
    }
    // Frames arrive as sent (spaced), not in one burst at the end.
    assert!(s.frames[2].at.duration_since(s.frames[0].at) > Duration::from_millis(600));
}

#[tokio::test]
async fn cookies_and_csrf_pass_through_and_origin_matches_host() {
    let (up, _) = upstream().await;
    let (base, _p) = proxy_to(&up).await;
    let host = base.trim_start_matches("http://").to_string();
    let origin = format!("http://{host}");
    let r = request(
        "POST",
        &format!("{base}/api/echo"),
        Some(json!({})),
        &[
            ("cookie", "hermes_session=abc.def"),
            ("x-hermes-csrf-token", "tok123"),
            ("origin", &origin),
        ],
    )
    .await;
    assert_eq!(r.body["cookie"], "hermes_session=abc.def");
    assert_eq!(r.body["csrf"], "tok123");
    assert_eq!(r.body["origin"], origin.as_str());
    assert_eq!(
        r.body["host"],
        host.as_str(),
        "the browser's Host is kept so Origin == Host upstream"
    );
    assert_eq!(
        r.headers["set-cookie"],
        "hermes_session=abc.def; HttpOnly; Path=/"
    );
    let shell = common::get(&format!("{base}/")).await;
    assert_eq!(
        pane_core::wire::csrf_token_from_shell(&shell.text).as_deref(),
        Some("tok123"),
        "the backend shell is reachable for the token"
    );
}

#[tokio::test]
async fn a_dead_backend_is_a_clear_502() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (base, _p) = proxy_to(&dead).await;
    let r = common::get(&format!("{base}/api/sessions")).await;
    assert_eq!(r.status, 502);
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("backend unreachable"));
}
