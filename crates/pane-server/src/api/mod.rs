//! The stand-in's HTTP API: the part of the Hermes WebUI contract the pane uses, answering the
//! way the real backend does (shapes, status codes, error texts), in one router module per area.

mod chat;
mod commands;
mod login;
mod media;
mod prompts;
mod sessions;
mod test_only;
mod upload;

use chat::*;
use commands::*;
use login::*;
use media::*;
use prompts::*;
use sessions::*;
use test_only::*;
use upload::*;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;

use crate::agent;
use crate::auth;
use crate::model::{compact_json, hex_id, now, row_json, Session};
use crate::streams::{self, Channel};
use crate::{App, Prompt};

type Q = Query<HashMap<String, String>>;
type AppState = State<Arc<App>>;

fn err(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"error": msg}))).into_response()
}

/// Upstream's `read_body`: malformed JSON silently becomes `{}`.
fn body(bytes: &Bytes) -> Value {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Builds the demo-mode router: API, stand-in shell and login pages, and the bundle.
pub fn router(app: Arc<App>) -> Router {
    let upload_limit = app.config.max_upload_bytes + 1024 * 1024;
    let mut api = Router::new()
        .route("/api/sessions", get(list_sessions))
        .route("/api/sessions/search", get(search_sessions))
        .route("/api/sessions/events", get(sessions_events))
        .route("/api/session", get(load_session))
        .route("/api/session/new", post(new_session))
        .route("/api/session/rename", post(rename_session))
        .route("/api/session/pin", post(pin_session))
        .route("/api/session/archive", post(archive_session))
        .route("/api/session/delete", post(delete_session))
        .route("/api/session/truncate", post(truncate_session))
        .route("/api/session/retry", post(retry_session))
        .route("/api/session/undo", post(undo_session))
        .route("/api/session/update", post(update_session))
        .route("/api/models", get(models))
        .route("/api/settings", get(get_settings).post(post_settings))
        .route("/api/session/branch", post(branch_session))
        .route("/api/chat/start", post(chat_start))
        .route("/api/chat/steer", post(chat_steer))
        .route("/api/media", get(media))
        .route("/api/commands", get(commands))
        .route("/api/commands/exec", post(commands_exec))
        .route("/api/session/compress", post(compress_session))
        .route("/api/chat/stream", get(chat_stream))
        .route("/api/chat/stream/status", get(stream_status))
        .route("/api/chat/cancel", get(chat_cancel))
        .route("/api/approval/pending", get(approval_pending))
        .route("/api/approval/respond", post(approval_respond))
        .route("/api/clarify/pending", get(clarify_pending))
        .route("/api/clarify/respond", post(clarify_respond))
        .route(
            "/api/upload",
            post(upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/auth/status", get(auth_status))
        .route("/api/auth/login", post(auth_login))
        .route("/api/auth/logout", post(auth_logout))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/login", get(login_get).post(login_post));
    if app.config.faults {
        api = api
            .route("/api/__faults", post(set_faults))
            .route("/api/__stats", get(stats))
            .route("/api/__seed", post(seed));
    }
    api = api.route("/api/{*rest}", get(not_found).post(not_found));
    let mount = app.config.mount.clone();
    if mount != "/" {
        api = api.route("/", get(shell));
    }
    // JSON is gzipped above 1 KB like upstream; SSE and images never are (DefaultPredicate).
    let compression = CompressionLayer::new()
        .gzip(true)
        .compress_when(DefaultPredicate::new().and(SizeAbove::new(1024)));
    let mut router = api.with_state(app.clone()).layer(compression);
    if let Some(dist) = &app.config.dist {
        let inject = crate::bundle::Serving {
            csrf: app.auth.enabled(),
            wasm_as_text: app.config.wasm_as_text,
        };
        router = crate::bundle::mount(router, dist, &mount, inject, Some(app.clone()));
    }
    router.layer(middleware::from_fn_with_state(app, gate))
}

async fn not_found() -> Response {
    err(StatusCode::NOT_FOUND, "not found")
}

/// Auth, CSRF and injected delay, before any handler.
async fn gate(State(app): AppState, req: Request, next: Next) -> Response {
    if app.config.test_cors {
        return test_cors(req, next).await;
    }
    let path = req.uri().path().to_string();
    let is_api = path.starts_with("/api/");
    if is_api && !path.starts_with("/api/__") {
        let delay = app.faults.delay();
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }
    let public = path == "/health"
        || path == "/login"
        || path.starts_with("/api/auth/")
        || path.starts_with("/api/__");
    if app.auth.enabled() && !public && !app.auth.logged_in(req.headers()) {
        if is_api {
            return err(StatusCode::UNAUTHORIZED, "Authentication required");
        }
        if path == "/" && app.config.mount != "/" {
            let to = format!("login?next={}", pane_core::url_encode(&path));
            return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
        }
    }
    if is_api && path != "/api/auth/login" {
        if let Err(resp) = auth::check_post(
            &app.auth,
            req.method(),
            req.headers(),
            app.faults.csrf_broken(),
        ) {
            return resp;
        }
    }
    next.run(req).await
}

/// Test-only CORS: preflights answered, every response opened to the caller's origin.
async fn test_cors(req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    let mut resp = if req.method() == axum::http::Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, x-hermes-csrf-token"),
    );
    resp
}

// ---------------------------------------------------------------------------------------------
// Sessions
