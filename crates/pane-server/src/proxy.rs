//! Proxy mode: the bundle at its mount, everything else forwarded to a real Hermes WebUI
//! unchanged — bodies streamed (SSE included) with no buffering, cookies both ways, and the
//! browser's `Host` kept so the backend's same-origin CSRF gate sees `Origin` == `Host`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::Config;

struct Proxy {
    backend: String,
    client: Client<HttpConnector, Body>,
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
];

fn strip_hop_by_hop(h: &mut HeaderMap) {
    let listed: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
        .collect();
    for n in listed {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(*n);
    }
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let path_q = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let Ok(uri) = format!("{}{}", p.backend, path_q).parse::<Uri>() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "bad request path"})),
        )
            .into_response();
    };
    let (mut parts, body) = req.into_parts();
    let client_host = parts.headers.get(header::HOST).cloned();
    strip_hop_by_hop(&mut parts.headers);
    if let Some(h) = &client_host {
        parts.headers.insert("x-forwarded-host", h.clone());
    }
    parts
        .headers
        .insert("x-forwarded-proto", HeaderValue::from_static("http"));
    parts.uri = uri;
    let upstream = Request::from_parts(parts, body);
    match p.client.request(upstream).await {
        Ok(resp) => {
            let (mut parts, incoming) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            // Streamed frame by frame: an SSE event is passed on the moment it arrives.
            Response::from_parts(parts, Body::new(incoming))
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(
                json!({"error": format!("Hermes WebUI backend unreachable ({}): {e}", p.backend)}),
            ),
        )
            .into_response(),
    }
}

/// The proxy-mode router.
pub fn router(config: &Config) -> std::io::Result<Router> {
    let backend = config
        .backend
        .clone()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    if !backend.starts_with("http://") {
        return Err(std::io::Error::other(format!(
            "--backend must be an http:// URL, got {backend:?}"
        )));
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let proxy = Arc::new(Proxy { backend, client });
    let mut router = Router::new().fallback(forward).with_state(proxy);
    if let Some(dist) = &config.dist {
        router = crate::bundle::mount(
            router,
            dist,
            &config.mount,
            crate::bundle::Serving {
                csrf: false,
                wasm_as_text: config.wasm_as_text,
            },
            None,
        );
    }
    Ok(router)
}
