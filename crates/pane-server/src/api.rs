//! The stand-in's HTTP API: the part of the Hermes WebUI contract the pane uses, answering the
//! way the real backend does (shapes, status codes, error texts).

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
    serde_json::from_slice::<Value>(bytes).ok().filter(Value::is_object).unwrap_or_else(|| json!({}))
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
        .route("/api/chat/start", post(chat_start))
        .route("/api/chat/stream", get(chat_stream))
        .route("/api/chat/stream/status", get(stream_status))
        .route("/api/chat/cancel", get(chat_cancel))
        .route("/api/approval/pending", get(approval_pending))
        .route("/api/approval/respond", post(approval_respond))
        .route("/api/clarify/pending", get(clarify_pending))
        .route("/api/clarify/respond", post(clarify_respond))
        .route("/api/upload", post(upload).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/api/auth/status", get(auth_status))
        .route("/api/auth/login", post(auth_login))
        .route("/api/auth/logout", post(auth_logout))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/login", get(login_get).post(login_post));
    if app.config.faults {
        api = api.route("/api/__faults", post(set_faults)).route("/api/__stats", get(stats)).route("/api/__seed", post(seed));
    }
    api = api.route("/api/{*rest}", get(not_found).post(not_found));
    let mount = app.config.mount.clone();
    if mount != "/" {
        api = api.route("/", get(shell));
    }
    // JSON is gzipped above 1 KB like upstream; SSE and images never are (DefaultPredicate).
    let compression = CompressionLayer::new().gzip(true).compress_when(DefaultPredicate::new().and(SizeAbove::new(1024)));
    let mut router = api.with_state(app.clone()).layer(compression);
    if let Some(dist) = &app.config.dist {
        let inject = crate::bundle::Serving { csrf: app.auth.enabled(), wasm_as_text: app.config.wasm_as_text };
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
    let public = path == "/health" || path == "/login" || path.starts_with("/api/auth/") || path.starts_with("/api/__");
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
        if let Err(resp) = auth::check_post(&app.auth, req.method(), req.headers(), app.faults.csrf_broken()) {
            return resp;
        }
    }
    next.run(req).await
}

/// Test-only CORS: preflights answered, every response opened to the caller's origin.
async fn test_cors(req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned().unwrap_or(HeaderValue::from_static("*"));
    let mut resp = if req.method() == axum::http::Method::OPTIONS { StatusCode::NO_CONTENT.into_response() } else { next.run(req).await };
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, x-hermes-csrf-token"));
    resp
}

// ---------------------------------------------------------------------------------------------
// Sessions

fn is_streaming(app: &App, s: &Session) -> bool {
    s.active_stream_id.as_deref().is_some_and(|id| app.is_live(id))
}

fn listed(s: &Session) -> bool {
    s.persisted && (!s.messages.is_empty() || s.active_stream_id.is_some())
}

async fn list_sessions(State(app): AppState, Query(q): Q) -> Response {
    let include_archived = q.get("include_archived").is_some_and(|v| v == "1");
    let sessions: Vec<Session> = app.sessions.lock().expect("sessions").values().filter(|s| listed(s)).cloned().collect();
    let archived_count = sessions.iter().filter(|s| s.archived).count();
    let mut rows: Vec<(bool, f64, Value)> = sessions
        .iter()
        .filter(|s| include_archived || !s.archived)
        .map(|s| {
            let live = is_streaming(&app, s);
            (live, s.last_message_at.unwrap_or(s.updated_at), row_json(s, live, app.attention_of(&s.session_id)))
        })
        .collect();
    // Runtime-active rows first, then newest activity.
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal)));
    let n = rows.len();
    no_store(
        Json(json!({
            "sessions": rows.into_iter().map(|r| r.2).collect::<Vec<_>>(),
            "sidebar_reference_sessions": [],
            "cli_count": 0, "archived_count": archived_count, "archived_webui_count": archived_count, "archived_cli_count": 0,
            "webui_session_count": n, "cli_session_count": 0, "include_archived": include_archived, "all_profiles": false,
            "active_profile": "default", "other_profile_count": 0, "server_time": now(), "server_tz": "+0000",
            "archived_limit": 50, "archived_offset": 0,
        }))
        .into_response(),
    )
}

async fn search_sessions(State(app): AppState, Query(q): Q) -> Response {
    let needle = q.get("q").map(|s| s.to_lowercase()).unwrap_or_default();
    let content = q.get("content").is_some_and(|v| v == "1");
    let depth: usize = q.get("depth").and_then(|d| d.parse().ok()).unwrap_or(5);
    let map = app.sessions.lock().expect("sessions");
    let rows: Vec<Value> = map
        .values()
        .filter(|s| listed(s) && !s.archived)
        .filter(|s| {
            if needle.is_empty() {
                return false;
            }
            if s.shown_title().to_lowercase().contains(&needle) {
                return true;
            }
            let from = if depth == 0 { 0 } else { s.messages.len().saturating_sub(depth) };
            content && s.messages[from..].iter().any(|m| Session::text_of(m).to_lowercase().contains(&needle))
        })
        .map(|s| row_json(s, false, None))
        .collect();
    no_store(Json(Value::Array(rows)).into_response())
}

/// `runtime_journal_snapshot`: the run so far, projected from the journal.
fn snapshot(c: &Channel) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tools: Vec<Value> = Vec::new();
    for f in c.frames.iter().filter(|f| f.journaled) {
        let d: Value = serde_json::from_str(&f.data).unwrap_or(Value::Null);
        match f.event.as_str() {
            "token" => text.push_str(d["text"].as_str().unwrap_or("")),
            "reasoning" => reasoning.push_str(d["text"].as_str().unwrap_or("")),
            "tool" if d["name"] != "clarify" => tools.push(json!({"name": d["name"], "tid": d["tid"], "args": d["args"], "done": false})),
            "tool_complete" => {
                let slot = tools.iter_mut().rev().find(|t| t["tid"] == d["tid"] && !d["tid"].is_null());
                let entry = json!({"name": d["name"], "tid": d["tid"], "args": d["args"], "preview": d["preview"], "done": true, "is_error": d["is_error"], "duration": d["duration"]});
                match slot {
                    Some(t) => *t = entry,
                    None => tools.push(entry),
                }
            }
            _ => {}
        }
    }
    let last = c.last_seq();
    json!({
        "session_id": c.session_id, "stream_id": c.stream_id, "last_seq": last,
        "last_event_id": if last > 0 { Value::from(format!("{}:{}", c.stream_id, last)) } else { Value::Null },
        "event_count": c.frames.iter().filter(|f| f.journaled).count(),
        "last_assistant_text": text, "last_reasoning_text": reasoning, "tool_calls": tools, "messages": [],
        "activity_burst_anchors": [], "current_activity_burst_id": null, "current_live_segment_seq": last, "anchor_activity_scene": null,
    })
}

/// The saved rows of a running turn's finished tool calls, from its journal: the assistant's
/// call and the tool's result (its preview standing in for the whole result).
fn in_flight_rows(c: &Channel) -> Vec<Value> {
    let mut rows = Vec::new();
    for f in c.frames.iter().filter(|f| f.journaled && f.event == "tool_complete") {
        let d: Value = serde_json::from_str(&f.data).unwrap_or(Value::Null);
        let call = json!({"id": d["tid"], "call_id": d["tid"], "type": "function", "function": {"name": d["name"], "arguments": d["args"].to_string()}});
        rows.push(json!({"role": "assistant", "content": "", "tool_calls": [call], "timestamp": now()}));
        rows.push(json!({"role": "tool", "name": d["name"], "tool_name": d["name"], "content": d["preview"], "tool_call_id": d["tid"], "timestamp": now()}));
    }
    rows
}

async fn load_session(State(app): AppState, Query(q): Q) -> Response {
    let Some(sid) = q.get("session_id").filter(|s| !s.is_empty()) else { return err(StatusCode::BAD_REQUEST, "session_id is required") };
    let Some(mut s) = app.sessions.lock().expect("sessions").get(sid).cloned() else { return err(StatusCode::NOT_FOUND, "Session not found") };
    // Upstream's `_clear_stale_stream_state`: a stream id the server no longer knows is cleared.
    if let Some(stream) = s.active_stream_id.clone() {
        if !app.channels.lock().expect("channels").contains_key(&stream) {
            let mut map = app.sessions.lock().expect("sessions");
            if let Some(live) = map.get_mut(sid) {
                live.active_stream_id = None;
                // The prompt of the lost turn is kept as a saved row, not dropped.
                crate::push_user_row(live);
                live.pending_attachments.clear();
                live.pending_started_at = None;
                app.store.save_session(live);
                s = live.clone();
            }
        }
    }
    let with_messages = q.get("messages").is_none_or(|m| m != "0");
    let limit: Option<usize> = q.get("msg_limit").and_then(|v| v.parse().ok()).map(|n: usize| n.clamp(1, 500));
    let before: usize = q.get("msg_before").and_then(|v| v.parse().ok()).unwrap_or(s.messages.len()).min(s.messages.len());
    let (window, offset) = if !with_messages {
        (Vec::new(), 0)
    } else {
        let start = limit.map_or(0, |n| before.saturating_sub(n));
        let end = if limit.is_some() || q.contains_key("msg_before") { before } else { s.messages.len() };
        (s.messages[start..end].to_vec(), start)
    };
    let live = is_streaming(&app, &s);
    let mut window = window;
    if live && with_messages && before == s.messages.len() {
        // As upstream: the turn in flight is already in `messages` — its prompt, and the
        // assistant and tool rows of each tool call it finished.
        if let Some(c) = s.active_stream_id.as_deref().and_then(|id| app.channels.lock().expect("channels").get(id).map(in_flight_rows)) {
            let mut user = json!({"role": "user", "content": s.pending_user_message.clone().unwrap_or_default(), "timestamp": s.pending_started_at});
            if !s.pending_attachments.is_empty() {
                user["attachments"] = json!(s.pending_attachments.iter().filter_map(|a| a["name"].as_str()).collect::<Vec<_>>());
            }
            window.push(user);
            window.extend(c);
        }
    }
    let mut obj = compact_json(&s, &window, live);
    obj.insert("pending_attachments".into(), json!(s.pending_attachments));
    obj.insert("pending_started_at".into(), json!(s.pending_started_at));
    obj.insert("pending_user_source".into(), Value::Null);
    obj.insert("_messages_truncated".into(), json!(offset > 0));
    obj.insert("_messages_offset".into(), json!(offset));
    obj.insert("_msg_limit_max".into(), json!(500));
    if let Some(stream) = s.active_stream_id.as_deref() {
        let map = app.channels.lock().expect("channels");
        if let Some(c) = map.get(stream) {
            obj.insert("runtime_journal".into(), c.journal_json());
            if c.live && (!with_messages || limit.is_none()) {
                obj.insert("runtime_journal_snapshot".into(), snapshot(c));
            }
        }
    }
    no_store(Json(json!({"session": obj})).into_response())
}

fn session_reply(app: &App, s: &Session, ok: bool) -> Response {
    let live = is_streaming(app, s);
    let mut v = json!({"session": compact_json(s, &s.messages, live)});
    if ok {
        v["ok"] = json!(true);
    }
    no_store(Json(v).into_response())
}

/// Runs `f` on a stored session and saves it.
fn with_session(app: &App, v: &Value, f: impl FnOnce(&mut Session) -> Result<(), Response>) -> Result<Session, Response> {
    let Some(sid) = str_field(v, "session_id") else { return Err(err(StatusCode::BAD_REQUEST, "session_id is required")) };
    let mut map = app.sessions.lock().expect("sessions");
    let Some(s) = map.get_mut(sid) else { return Err(err(StatusCode::NOT_FOUND, "Session not found")) };
    f(s)?;
    s.updated_at = now();
    if s.persisted {
        app.store.save_session(s);
    }
    Ok(s.clone())
}

async fn new_session(State(app): AppState, bytes: Bytes) -> Response {
    let _ = body(&bytes);
    let s = Session::new();
    app.sessions.lock().expect("sessions").insert(s.session_id.clone(), s.clone());
    session_reply(&app, &s, false)
}

async fn rename_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(title) = str_field(&v, "title").map(|t| t.trim().chars().take(200).collect::<String>()) else {
        return err(StatusCode::BAD_REQUEST, "title is required");
    };
    match with_session(&app, &v, |s| {
        s.title = Some(title);
        s.manual_title = true;
        Ok(())
    }) {
        Ok(s) => {
            app.changed("session_rename", Some(&s.session_id));
            session_reply(&app, &s, false)
        }
        Err(r) => r,
    }
}

async fn pin_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let pinned = v.get("pinned").and_then(Value::as_bool).unwrap_or(true);
    let pinned_now = app.sessions.lock().expect("sessions").values().filter(|s| s.pinned && listed(s)).count();
    match with_session(&app, &v, |s| {
        if pinned && !s.pinned && pinned_now >= 3 {
            return Err(err(StatusCode::BAD_REQUEST, "You can pin at most 3 sessions. Unpin one first."));
        }
        s.pinned = pinned;
        Ok(())
    }) {
        Ok(s) => {
            app.changed("session_pin", Some(&s.session_id));
            session_reply(&app, &s, true)
        }
        Err(r) => r,
    }
}

async fn archive_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let archived = v.get("archived").and_then(Value::as_bool).unwrap_or(true);
    match with_session(&app, &v, |s| {
        s.archived = archived;
        Ok(())
    }) {
        Ok(s) => {
            app.changed("session_archive", Some(&s.session_id));
            session_reply(&app, &s, true)
        }
        Err(r) => r,
    }
}

async fn delete_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id") else { return err(StatusCode::BAD_REQUEST, "session_id is required") };
    // Deleting does not cancel a running stream (as upstream).
    if app.sessions.lock().expect("sessions").remove(sid).is_none() {
        return err(StatusCode::NOT_FOUND, "Session not found");
    }
    app.store.delete_session(sid);
    app.changed("session_delete", Some(sid));
    no_store(Json(json!({"ok": true, "state_db_cleanup_failed": false})).into_response())
}

async fn truncate_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(keep) = v.get("keep_count").and_then(Value::as_u64) else { return err(StatusCode::BAD_REQUEST, "keep_count must be a non-negative integer") };
    match with_session(&app, &v, |s| {
        if s.active_stream_id.is_some() {
            return Err(err(StatusCode::CONFLICT, "session has an active stream"));
        }
        let keep = (keep as usize).min(s.messages.len());
        s.messages.truncate(keep);
        s.tool_calls.retain(|t| t["assistant_msg_idx"].as_u64().is_some_and(|i| (i as usize) < keep));
        Ok(())
    }) {
        Ok(s) => {
            app.changed("session_truncate", Some(&s.session_id));
            session_reply(&app, &s, true)
        }
        Err(r) => r,
    }
}

async fn retry_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let mut reply = json!({});
    match with_session(&app, &v, |s| {
        if s.active_stream_id.is_some() {
            return Err(err(StatusCode::CONFLICT, "session has an active stream"));
        }
        let Some(i) = s.messages.iter().rposition(|m| m["role"] == "user") else { return Err(err(StatusCode::BAD_REQUEST, "No previous message to retry.")) };
        let mut text = Session::text_of(&s.messages[i]);
        if let Some(p) = text.rfind("\n\n[Attached files:") {
            text.truncate(p);
        }
        let removed = s.messages.len() - i;
        s.messages.truncate(i);
        s.tool_calls.retain(|t| t["assistant_msg_idx"].as_u64().is_some_and(|x| (x as usize) < i));
        reply = json!({"ok": true, "last_user_text": text, "removed_count": removed});
        Ok(())
    }) {
        Ok(s) => {
            app.changed("session_retry", Some(&s.session_id));
            no_store(Json(reply).into_response())
        }
        Err(r) => r,
    }
}

// ---------------------------------------------------------------------------------------------
// Chat

async fn chat_start(State(app): AppState, bytes: Bytes) -> Response {
    if app.faults.take_start_failure() {
        return err(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error (injected fault)");
    }
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id").map(str::to_string) else { return err(StatusCode::BAD_REQUEST, "session_id is required") };
    let Some(message) = str_field(&v, "message").map(str::to_string) else { return err(StatusCode::BAD_REQUEST, "message is required") };
    let attachments: Vec<Value> = v.get("attachments").and_then(Value::as_array).cloned().unwrap_or_default();
    if attachments.len() > 20 {
        return err(StatusCode::BAD_REQUEST, "Too many attachments (max 20)");
    }
    let stream_id = hex_id(32);
    // The channel exists before the session names the stream, so a client that sees the id
    // (in the list, in `GET /api/session`) can always connect; it is dropped again on refusal.
    app.channels.lock().expect("channels").insert(stream_id.clone(), Channel::new(&sid, &stream_id));
    let refuse = |r: Response| {
        app.channels.lock().expect("channels").remove(&stream_id);
        r
    };
    let (started_at, title) = {
        let mut map = app.sessions.lock().expect("sessions");
        let Some(s) = map.get_mut(&sid) else { return refuse(err(StatusCode::NOT_FOUND, "Session not found")) };
        if message.trim() == "[SILENT]" {
            return refuse(Json(json!({"status": "suppressed", "reason": "silent_control_message"})).into_response());
        }
        if let Some(active) = s.active_stream_id.clone() {
            return refuse((StatusCode::CONFLICT, Json(json!({"error": "session already has an active stream", "active_stream_id": active}))).into_response());
        }
        let t = now();
        s.active_stream_id = Some(stream_id.clone());
        s.pending_user_message = Some(message.clone());
        s.pending_attachments = attachments
            .iter()
            .map(|a| match a {
                Value::String(n) => json!({"name": n, "path": n}),
                other => other.clone(),
            })
            .collect();
        s.pending_started_at = Some(t);
        s.persisted = true;
        s.updated_at = t;
        if s.title.is_none() {
            s.title = Some(message.chars().take(80).collect());
        }
        app.store.save_session(s);
        (t, s.shown_title())
    };
    let (tx, rx) = watch::channel(false);
    app.runs.lock().expect("runs").insert(stream_id.clone(), tx);
    app.changed("turn_started", Some(&sid));
    tokio::spawn(agent::run(app.clone(), sid.clone(), stream_id.clone(), message, rx));
    no_store(
        Json(json!({
            "stream_id": stream_id, "session_id": sid, "pending_started_at": started_at,
            "turn_id": format!("{}-{}", chrono_like(started_at), hex_id(12)), "title": title, "effective_model_provider": "custom",
        }))
        .into_response(),
    )
}

/// `20261125T063030Z`-style stamp without a date crate.
fn chrono_like(t: f64) -> String {
    let secs = t as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Counts open chat streams for the stats (the connection-budget evidence).
struct Counted<S> {
    inner: S,
    stats: Arc<crate::faults::Stats>,
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        self.stats.stream_closed();
    }
}

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;
    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<S::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

async fn chat_stream(State(app): AppState, Query(q): Q, headers: HeaderMap) -> Response {
    let Some(stream_id) = q.get("stream_id").filter(|s| !s.is_empty()) else { return err(StatusCode::BAD_REQUEST, "stream_id is required") };
    let last_seq = match app.channels.lock().expect("channels").get(stream_id) {
        Some(c) => c.last_seq(),
        None => return err(StatusCode::NOT_FOUND, "stream not found"),
    };
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let cursor = streams::resolve_cursor(
        stream_id,
        last_seq,
        q.get("replay").map(String::as_str),
        q.get("after_seq").map(String::as_str),
        q.get("after_event_id").map(String::as_str),
        last_event_id,
    );
    let faults = app.faults.take_stream_faults();
    let Some(events) = streams::subscribe(&app.channels, stream_id, cursor, faults) else { return err(StatusCode::NOT_FOUND, "stream not found") };
    app.faults.stats.stream_opened();
    let counted = Counted { inner: Box::pin(events), stats: app.faults.stats.clone() };
    let mut resp = Sse::new(counted).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)).text("heartbeat")).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

async fn stream_status(State(app): AppState, Query(q): Q) -> Response {
    let Some(stream_id) = q.get("stream_id").filter(|s| !s.is_empty()) else { return err(StatusCode::BAD_REQUEST, "stream_id is required") };
    let map = app.channels.lock().expect("channels");
    let v = match map.get(stream_id) {
        Some(c) => json!({"active": c.live, "stream_id": stream_id, "replay_available": true, "journal": c.journal_json()}),
        None => json!({"active": false, "stream_id": stream_id, "replay_available": false}),
    };
    no_store(Json(v).into_response())
}

async fn chat_cancel(State(app): AppState, Query(q): Q) -> Response {
    let Some(stream_id) = q.get("stream_id").filter(|s| !s.is_empty()).cloned() else { return err(StatusCode::BAD_REQUEST, "stream_id is required") };
    let not_cancelled = || no_store(Json(json!({"ok": true, "cancelled": false, "stream_id": stream_id})).into_response());
    let (sid, partial) = {
        let map = app.channels.lock().expect("channels");
        match map.get(&stream_id) {
            Some(c) if c.live => (c.session_id.clone(), crate::partial_text(c)),
            _ => return not_cancelled(),
        }
    };
    // Decided under the sessions lock, where the worker's writeback also checks ownership: a
    // turn that already settled (its `done` may be on the way) is not cancelled, and a
    // cancelled one can no longer be settled by the worker.
    let (owner, session) = {
        let mut map = app.sessions.lock().expect("sessions");
        let Some(s) = map.values_mut().find(|s| s.active_stream_id.as_deref() == Some(stream_id.as_str())) else { return not_cancelled() };
        let t = now();
        crate::push_user_row(s);
        if !partial.is_empty() {
            s.messages.push(json!({"role": "assistant", "content": partial, "_partial": true, "timestamp": t}));
        }
        s.messages.push(json!({"role": "assistant", "content": "**Task cancelled:** Task cancelled.\n\n*The run was cancelled by the user before Hermes finished. No provider failure occurred.*",
            "_error": true, "provider_details": "Task cancelled.", "provider_details_label": "Cancellation details", "timestamp": t}));
        s.finish_turn(t);
        app.store.save_session(s);
        // Upstream's cancel snapshot carries no session-level `tool_calls`.
        let mut v = crate::model::saved_session_json(s);
        if let Some(o) = v.as_object_mut() {
            o.remove("tool_calls");
        }
        (s.session_id.clone(), v)
    };
    if let Some(tx) = app.runs.lock().expect("runs").remove(&stream_id) {
        let _ = tx.send(true);
    }
    // The session may have rotated (compression): its prompts live under the current id.
    app.prompts.lock().expect("prompts").remove(&owner);
    let data = json!({"message": "Cancelled by user", "type": "cancelled", "status": "cancelled", "session": session, "session_id": sid}).to_string();
    let journaled = {
        let mut map = app.channels.lock().expect("channels");
        map.get_mut(&stream_id).map(|c| {
            // Live subscribers get it at once with the previous journal id, not journaled (as
            // upstream's cancel_stream); the worker's own `cancel` is journaled, so a later
            // replay ends with it and the status reads `interrupted-by-user`, also after a restart.
            c.push("cancel", data.clone(), false);
            let row = c.push("cancel", data, true);
            c.terminal_state = Some("interrupted-by-user".into());
            c.finish();
            row
        })
    };
    if let Some(row) = journaled {
        app.store.append_journal(&sid, &stream_id, &crate::store::JournalRow { seq: row.seq, event: row.event, data: row.data, ts: now() });
    }
    app.changed("turn_cancelled", Some(&owner));
    no_store(Json(json!({"ok": true, "cancelled": true, "stream_id": stream_id})).into_response())
}

// ---------------------------------------------------------------------------------------------
// Approval and clarify

async fn approval_pending(State(app): AppState, Query(q): Q) -> Response {
    let sid = q.get("session_id").cloned().unwrap_or_default();
    let prompts = app.prompts.lock().expect("prompts");
    let approvals: Vec<&Value> = prompts
        .get(&sid)
        .map(|qq| qq.iter().filter_map(|p| if let Prompt::Approval { value, .. } = p { Some(value) } else { None }).collect())
        .unwrap_or_default();
    no_store(Json(json!({"pending": approvals.first(), "pending_count": approvals.len()})).into_response())
}

async fn approval_respond(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id").map(str::to_string) else { return err(StatusCode::BAD_REQUEST, "session_id is required") };
    let choice = str_field(&v, "choice").unwrap_or("").to_string();
    if !["once", "session", "always", "deny"].contains(&choice.as_str()) {
        return err(StatusCode::BAD_REQUEST, "choice must be once, session, always or deny");
    }
    let wanted = str_field(&v, "approval_id").map(str::to_string);
    // As upstream (`_handle_approval_respond`): a `run_id` or `mirror_token` asks for the
    // gateway relay, and the stand-in's runs are all local, so there is no run to relay to.
    if str_field(&v, "run_id").is_some_and(|r| !r.trim().is_empty()) || str_field(&v, "mirror_token").is_some_and(|t| !t.trim().is_empty()) {
        let error = "Gateway approval could not be relayed because the active run is unavailable. Reopen the session or retry after it reconnects.";
        let body = json!({"ok": false, "choice": choice, "relayed": false, "code": "gateway_run_unavailable", "error": error});
        return (StatusCode::CONFLICT, Json(body)).into_response();
    }
    let mut prompts = app.prompts.lock().expect("prompts");
    let Some(queue) = prompts.get_mut(&sid) else { return Json(json!({"ok": true, "stale_cleared": true})).into_response() };
    let pos = queue.iter().position(|p| p.is_approval());
    let Some(pos) = pos else { return Json(json!({"ok": true, "stale_cleared": true})).into_response() };
    if let (Some(w), Prompt::Approval { id, .. }) = (&wanted, &queue[pos]) {
        if w != id {
            return Json(json!({"ok": false, "error": "A different approval is pending"})).into_response();
        }
    }
    if let Some(Prompt::Approval { answer, .. }) = queue.remove(pos) {
        let _ = answer.send(choice.clone());
    }
    drop(prompts);
    app.changed("attention_cleared", Some(&sid));
    no_store(Json(json!({"ok": true, "choice": choice})).into_response())
}

async fn clarify_pending(State(app): AppState, Query(q): Q) -> Response {
    let sid = q.get("session_id").cloned().unwrap_or_default();
    let prompts = app.prompts.lock().expect("prompts");
    let head = prompts.get(&sid).and_then(|qq| qq.iter().find_map(|p| if let Prompt::Clarify { value, .. } = p { Some(value.clone()) } else { None }));
    no_store(Json(json!({"pending": head})).into_response())
}

async fn clarify_respond(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id").map(str::to_string) else { return err(StatusCode::BAD_REQUEST, "session_id is required") };
    let response = ["response", "answer", "choice"].iter().find_map(|k| v.get(*k).and_then(Value::as_str)).unwrap_or("").to_string();
    let wanted = str_field(&v, "clarify_id").map(str::to_string);
    let stale = || (StatusCode::CONFLICT, Json(json!({"ok": false, "stale": true, "error": "This question is no longer pending."}))).into_response();
    let mut prompts = app.prompts.lock().expect("prompts");
    let Some(queue) = prompts.get_mut(&sid) else { return stale() };
    let Some(pos) = queue.iter().position(|p| !p.is_approval()) else { return stale() };
    if let (Some(w), Prompt::Clarify { id, .. }) = (&wanted, &queue[pos]) {
        if w != id {
            return stale();
        }
    }
    if let Some(Prompt::Clarify { answer, .. }) = queue.remove(pos) {
        let _ = answer.send(response.clone());
    }
    drop(prompts);
    app.changed("attention_cleared", Some(&sid));
    no_store(Json(json!({"ok": true, "response": response})).into_response())
}

// ---------------------------------------------------------------------------------------------
// Upload

async fn upload(State(app): AppState, mut form: Multipart) -> Response {
    let limit = app.config.max_upload_bytes;
    let too_big = || err(StatusCode::PAYLOAD_TOO_LARGE, &format!("File too large (max {} MB)", limit / (1024 * 1024)));
    let mut sid: Option<String> = None;
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_big() } else { err(StatusCode::BAD_REQUEST, &format!("Malformed upload: {e}")) };
            }
        };
        match field.name() {
            Some("session_id") => sid = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.bin").to_string();
                let mime = field.content_type().unwrap_or("application/octet-stream").to_string();
                let mut data = Vec::new();
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(c)) => {
                            if data.len() + c.len() > limit {
                                return too_big();
                            }
                            data.extend_from_slice(&c);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            return if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                                too_big()
                            } else {
                                err(StatusCode::BAD_REQUEST, &format!("Malformed upload: {e}"))
                            }
                        }
                    }
                }
                file = Some((name, mime, data));
            }
            _ => {}
        }
    }
    let Some(sid) = sid.filter(|s| !s.is_empty()) else { return err(StatusCode::BAD_REQUEST, "session_id is required") };
    if !app.sessions.lock().expect("sessions").contains_key(&sid) {
        return err(StatusCode::NOT_FOUND, "Session not found");
    }
    let Some((name, mime, data)) = file else { return err(StatusCode::BAD_REQUEST, "file is required") };
    let path = app.store.upload_path(&sid, &name);
    if let Err(e) = std::fs::write(&path, &data) {
        return err(StatusCode::INTERNAL_SERVER_ERROR, &format!("Could not store the file: {e}"));
    }
    let is_image = mime.starts_with("image/");
    no_store(Json(json!({"filename": name, "path": path.display().to_string(), "size": data.len(), "mime": mime, "is_image": is_image})).into_response())
}

// ---------------------------------------------------------------------------------------------
// Session-list invalidation

async fn sessions_events(State(app): AppState) -> Response {
    let rx = app.changes.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let c = rx.borrow_and_update().clone();
        let data = json!({"type": "sessions_changed", "version": c.version, "reason": c.reason, "profile": "default", "session_id": c.session_id});
        Some((Ok::<_, std::convert::Infallible>(Event::default().event("sessions_changed").data(data.to_string())), rx))
    });
    let mut resp = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keepalive")).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

// ---------------------------------------------------------------------------------------------
// Auth and pages

async fn auth_status(State(app): AppState, headers: HeaderMap) -> Response {
    let on = app.auth.enabled();
    no_store(Json(json!({"auth_enabled": on, "logged_in": app.auth.logged_in(&headers), "oidc_enabled": false, "password_auth_enabled": on, "passkeys_enabled": false})).into_response())
}

async fn auth_login(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    match app.auth.login(v.get("password").and_then(Value::as_str).unwrap_or("")) {
        Some(cookie) => {
            let mut r = Json(json!({"ok": true})).into_response();
            r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&auth::set_cookie(&cookie)).expect("cookie header"));
            r
        }
        None => err(StatusCode::UNAUTHORIZED, "Invalid password"),
    }
}

async fn auth_logout(State(app): AppState, headers: HeaderMap) -> Response {
    app.auth.logout(&headers);
    let mut r = Json(json!({"ok": true})).into_response();
    r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("hermes_session=; Path=/; Max-Age=0"));
    r
}

async fn login_get(State(app): AppState, Query(q): Q) -> Response {
    let next = auth::safe_next(q.get("next").map(String::as_str).unwrap_or("/"));
    if !app.auth.enabled() {
        return Redirect::to(&next).into_response();
    }
    Html(auth::login_page(&next, false)).into_response()
}

async fn login_post(State(app): AppState, bytes: Bytes) -> Response {
    let form: HashMap<String, String> = url_form(&bytes);
    let next = auth::safe_next(form.get("next").map(String::as_str).unwrap_or("/"));
    match app.auth.login(form.get("password").map(String::as_str).unwrap_or("")) {
        Some(cookie) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&auth::set_cookie(&cookie)).expect("cookie header"));
            r
        }
        None => (StatusCode::UNAUTHORIZED, Html(auth::login_page(&next, true))).into_response(),
    }
}

fn url_form(bytes: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(bytes);
    text.split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((percent_decode(k), percent_decode(v)))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            out.push(b' ');
        } else if b == b'%' && i + 2 < bytes.len() {
            match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b),
            }
        } else {
            out.push(b);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// The stand-in's `/` app shell: like upstream it embeds the CSRF token in an inline config.
async fn shell(State(app): AppState, headers: HeaderMap) -> Response {
    let token = app.auth.csrf_for(&headers).unwrap_or_default();
    let mount = pane_core::markdown::escaped(&app.config.mount);
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Hermes WebUI (stand-in)</title>\
<script>window.__HERMES_CONFIG__ = {{basePath:\"/\", csrfToken:\"{token}\"}};</script></head>\
<body><p>This is the stand-in Hermes WebUI backend. The pane lives at <a href=\"{mount}\">{mount}</a>.</p></body></html>"
    );
    let mut r = Html(html).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

// ---------------------------------------------------------------------------------------------
// Test controls (only with --faults)

async fn set_faults(State(app): AppState, Json(f): Json<crate::faults::Faults>) -> Response {
    if let Some(stream) = &f.forget_stream {
        let gone = app.channels.lock().expect("channels").remove(stream);
        if let Some(c) = gone {
            app.store.forget_journal(&c.session_id, stream);
        }
        if let Some(tx) = app.runs.lock().expect("runs").remove(stream) {
            let _ = tx.send(true);
        }
    }
    if f.rotate_csrf {
        app.auth.rotate_csrf();
    }
    app.faults.set(f);
    Json(json!({"ok": true})).into_response()
}

/// Creates a session with `messages` saved rows (alternating user/assistant, with markdown) for
/// benchmarks of long sessions.
async fn seed(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let n = v.get("messages").and_then(Value::as_u64).unwrap_or(20) as usize;
    let mut s = Session::new();
    s.title = Some(v.get("title").and_then(Value::as_str).unwrap_or("Seeded session").to_string());
    s.persisted = true;
    let t = now() - n as f64;
    for i in 0..n {
        let content = if i % 2 == 0 {
            format!("Question {i}: how does part {i} work?")
        } else {
            format!("### Answer {i}\n\nPart {i} works like **this**: a list,\n\n- one `item`\n- two items\n\n```rust\nfn part_{i}() -> u32 {{ {i} }}\n```\n\nThat is all for part {i}.")
        };
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        s.messages.push(json!({"role": role, "content": content, "timestamp": t + i as f64, "id": i + 1}));
    }
    s.turns = (n / 2) as u64;
    s.updated_at = t + n as f64;
    s.last_message_at = Some(t + n as f64);
    app.store.save_session(&s);
    let id = s.session_id.clone();
    app.sessions.lock().expect("sessions").insert(id.clone(), s);
    app.changed("session_new", Some(&id));
    Json(json!({"session_id": id})).into_response()
}

async fn stats(State(app): AppState, Query(q): Q) -> Response {
    if q.contains_key("reset") {
        app.faults.stats.reset_max();
    }
    no_store(Json(app.faults.stats.json()).into_response())
}
