//! Sessions: the list and search, loading one (with the turn in flight), create, rename, pin,
//! archive, delete, truncate, retry, and the list's invalidation channel.

#[allow(unused_imports)]
use super::*;

pub(super) fn is_streaming(app: &App, s: &Session) -> bool {
    s.active_stream_id
        .as_deref()
        .is_some_and(|id| app.is_live(id))
}

pub(super) fn listed(s: &Session) -> bool {
    s.persisted && (!s.messages.is_empty() || s.active_stream_id.is_some())
}

pub(super) async fn list_sessions(State(app): AppState, Query(q): Q) -> Response {
    let include_archived = q.get("include_archived").is_some_and(|v| v == "1");
    let sessions: Vec<Session> = app
        .sessions
        .lock()
        .expect("sessions")
        .values()
        .filter(|s| listed(s))
        .cloned()
        .collect();
    let archived_count = sessions.iter().filter(|s| s.archived).count();
    let mut rows: Vec<(bool, f64, Value)> = sessions
        .iter()
        .filter(|s| include_archived || !s.archived)
        .map(|s| {
            let live = is_streaming(&app, s);
            (
                live,
                s.last_message_at.unwrap_or(s.updated_at),
                row_json(s, live, app.attention_of(&s.session_id)),
            )
        })
        .collect();
    // Runtime-active rows first, then newest activity.
    rows.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal))
    });
    let n = rows.len();
    no_store(
        Json(json!({
            "sessions": rows.into_iter().map(|r| r.2).collect::<Vec<_>>(),
            "sidebar_reference_sessions": [],
            "cli_count": 0,
            "archived_count": archived_count,
            "archived_webui_count": archived_count,
            "archived_cli_count": 0,
            "webui_session_count": n,
            "cli_session_count": 0,
            "include_archived": include_archived,
            "all_profiles": false,
            "active_profile": "default",
            "other_profile_count": 0,
            "server_time": now(),
            "server_tz": "+0000",
            "archived_limit": 50,
            "archived_offset": 0,
        }))
        .into_response(),
    )
}

pub(super) async fn search_sessions(State(app): AppState, Query(q): Q) -> Response {
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
            let from = if depth == 0 {
                0
            } else {
                s.messages.len().saturating_sub(depth)
            };
            content
                && s.messages[from..]
                    .iter()
                    .any(|m| Session::text_of(m).to_lowercase().contains(&needle))
        })
        .map(|s| row_json(s, false, None))
        .collect();
    no_store(Json(Value::Array(rows)).into_response())
}

/// `runtime_journal_snapshot`: the run so far, projected from the journal.
pub(super) fn snapshot(c: &Channel) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tools: Vec<Value> = Vec::new();
    for f in c.frames.iter().filter(|f| f.journaled) {
        let d: Value = serde_json::from_str(&f.data).unwrap_or(Value::Null);
        match f.event.as_str() {
            "token" => text.push_str(d["text"].as_str().unwrap_or("")),
            "reasoning" => reasoning.push_str(d["text"].as_str().unwrap_or("")),
            "tool" if d["name"] != "clarify" => tools.push(
                json!({"name": d["name"], "tid": d["tid"], "args": d["args"], "done": false}),
            ),
            "tool_complete" => {
                let slot = tools
                    .iter_mut()
                    .rev()
                    .find(|t| t["tid"] == d["tid"] && !d["tid"].is_null());
                let entry = json!({
                    "name": d["name"],
                    "tid": d["tid"],
                    "args": d["args"],
                    "preview": d["preview"],
                    "done": true,
                    "is_error": d["is_error"],
                    "duration": d["duration"]
                });
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
        "session_id": c.session_id,
        "stream_id": c.stream_id,
        "last_seq": last,
        "last_event_id": if last > 0 {
            Value::from(format!("{}:{}", c.stream_id, last))
        } else {
            Value::Null
        },
        "event_count": c.frames.iter().filter(|f| f.journaled).count(),
        "last_assistant_text": text,
        "last_reasoning_text": reasoning,
        "tool_calls": tools,
        "messages": [],
        "activity_burst_anchors": [],
        "current_activity_burst_id": null,
        "current_live_segment_seq": last,
        "anchor_activity_scene": null,
    })
}

/// The saved rows of a running turn's finished tool calls, from its journal: the assistant's
/// call and the tool's result (its preview standing in for the whole result).
pub(super) fn in_flight_rows(c: &Channel) -> Vec<Value> {
    let mut rows = Vec::new();
    for f in c
        .frames
        .iter()
        .filter(|f| f.journaled && f.event == "tool_complete")
    {
        let d: Value = serde_json::from_str(&f.data).unwrap_or(Value::Null);
        let call = json!({
            "id": d["tid"],
            "call_id": d["tid"],
            "type": "function",
            "function": {"name": d["name"], "arguments": d["args"].to_string()}
        });
        rows.push(
            json!({"role": "assistant", "content": "", "tool_calls": [call], "timestamp": now()}),
        );
        rows.push(json!({
            "role": "tool",
            "name": d["name"],
            "tool_name": d["name"],
            "content": d["preview"],
            "tool_call_id": d["tid"],
            "timestamp": now()
        }));
    }
    rows
}

pub(super) async fn load_session(State(app): AppState, Query(q): Q) -> Response {
    let Some(sid) = q.get("session_id").filter(|s| !s.is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "session_id is required");
    };
    let Some(mut s) = app.sessions.lock().expect("sessions").get(sid).cloned() else {
        return err(StatusCode::NOT_FOUND, "Session not found");
    };
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
    let limit: Option<usize> = q
        .get("msg_limit")
        .and_then(|v| v.parse().ok())
        .map(|n: usize| n.clamp(1, 500));
    let before: usize = q
        .get("msg_before")
        .and_then(|v| v.parse().ok())
        .unwrap_or(s.messages.len())
        .min(s.messages.len());
    let (window, offset) = if !with_messages {
        (Vec::new(), 0)
    } else {
        let start = limit.map_or(0, |n| before.saturating_sub(n));
        let end = if limit.is_some() || q.contains_key("msg_before") {
            before
        } else {
            s.messages.len()
        };
        (s.messages[start..end].to_vec(), start)
    };
    let live = is_streaming(&app, &s);
    let mut window = window;
    if live && with_messages && before == s.messages.len() {
        // As upstream: the turn in flight is already in `messages` — its prompt, and the
        // assistant and tool rows of each tool call it finished.
        if let Some(c) = s.active_stream_id.as_deref().and_then(|id| {
            app.channels
                .lock()
                .expect("channels")
                .get(id)
                .map(in_flight_rows)
        }) {
            let mut user = json!({
                "role": "user",
                "content": s.pending_user_message.clone().unwrap_or_default(),
                "timestamp": s.pending_started_at
            });
            if !s.pending_attachments.is_empty() {
                user["attachments"] = json!(s
                    .pending_attachments
                    .iter()
                    .filter_map(|a| a["name"].as_str())
                    .collect::<Vec<_>>());
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

pub(super) fn session_reply(app: &App, s: &Session, ok: bool) -> Response {
    let live = is_streaming(app, s);
    let mut v = json!({"session": compact_json(s, &s.messages, live)});
    if ok {
        v["ok"] = json!(true);
    }
    no_store(Json(v).into_response())
}

/// Runs `f` on a stored session and saves it.
pub(super) fn with_session(
    app: &App,
    v: &Value,
    f: impl FnOnce(&mut Session) -> Result<(), Response>,
) -> Result<Session, Response> {
    let Some(sid) = str_field(v, "session_id") else {
        return Err(err(StatusCode::BAD_REQUEST, "session_id is required"));
    };
    let mut map = app.sessions.lock().expect("sessions");
    let Some(s) = map.get_mut(sid) else {
        return Err(err(StatusCode::NOT_FOUND, "Session not found"));
    };
    f(s)?;
    s.updated_at = now();
    if s.persisted {
        app.store.save_session(s);
    }
    Ok(s.clone())
}

pub(super) async fn new_session(State(app): AppState, bytes: Bytes) -> Response {
    let _ = body(&bytes);
    let s = Session::new();
    app.sessions
        .lock()
        .expect("sessions")
        .insert(s.session_id.clone(), s.clone());
    session_reply(&app, &s, false)
}

pub(super) async fn rename_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(title) =
        str_field(&v, "title").map(|t| t.trim().chars().take(200).collect::<String>())
    else {
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

pub(super) async fn pin_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let pinned = v.get("pinned").and_then(Value::as_bool).unwrap_or(true);
    let pinned_now = app
        .sessions
        .lock()
        .expect("sessions")
        .values()
        .filter(|s| s.pinned && listed(s))
        .count();
    match with_session(&app, &v, |s| {
        if pinned && !s.pinned && pinned_now >= 3 {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "You can pin at most 3 sessions. Unpin one first.",
            ));
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

pub(super) async fn archive_session(State(app): AppState, bytes: Bytes) -> Response {
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

pub(super) async fn delete_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id") else {
        return err(StatusCode::BAD_REQUEST, "session_id is required");
    };
    // Deleting does not cancel a running stream (as upstream).
    if app.sessions.lock().expect("sessions").remove(sid).is_none() {
        return err(StatusCode::NOT_FOUND, "Session not found");
    }
    app.store.delete_session(sid);
    app.changed("session_delete", Some(sid));
    no_store(Json(json!({"ok": true, "state_db_cleanup_failed": false})).into_response())
}

pub(super) async fn truncate_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(keep) = v.get("keep_count").and_then(Value::as_u64) else {
        return err(
            StatusCode::BAD_REQUEST,
            "keep_count must be a non-negative integer",
        );
    };
    match with_session(&app, &v, |s| {
        if s.active_stream_id.is_some() {
            return Err(err(StatusCode::CONFLICT, "session has an active stream"));
        }
        s.keep_messages(keep as usize);
        Ok(())
    }) {
        Ok(s) => {
            app.changed("session_truncate", Some(&s.session_id));
            session_reply(&app, &s, true)
        }
        Err(r) => r,
    }
}

pub(super) async fn retry_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let mut reply = json!({});
    match with_session(&app, &v, |s| {
        if s.active_stream_id.is_some() {
            return Err(err(StatusCode::CONFLICT, "session has an active stream"));
        }
        let Some(i) = s.messages.iter().rposition(|m| m["role"] == "user") else {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "No previous message to retry.",
            ));
        };
        let mut text = Session::text_of(&s.messages[i]);
        if let Some(p) = text.rfind("\n\n[Attached files:") {
            text.truncate(p);
        }
        let removed = s.keep_messages(i);
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

/// Upstream's defaults of the settings the pane reads, with what was set over them.
fn settings_json(app: &App) -> Value {
    let mut v = json!({
        "send_key": "enter", "theme": "dark", "skin": "default", "notifications_enabled": false,
        "sound_enabled": false, "default_message_mode": "steer", "show_thinking": true,
        "language": "en", "bot_name": "Hermes", "auth_enabled": app.auth.enabled()
    });
    for (k, x) in app.settings.lock().expect("settings").iter() {
        v[k] = x.clone();
    }
    v
}

pub(super) async fn get_settings(State(app): AppState) -> Response {
    no_store(Json(settings_json(&app)).into_response())
}

/// A partial object; as upstream, an unknown key or an out-of-range value is ignored.
pub(super) async fn post_settings(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    {
        let mut set = app.settings.lock().expect("settings");
        if let Some(k) =
            str_field(&v, "send_key").filter(|k| ["enter", "ctrl+enter", "shift+enter"].contains(k))
        {
            set.insert("send_key".into(), json!(k));
        }
        if let Some(t) = str_field(&v, "theme").filter(|t| ["light", "dark", "system"].contains(t))
        {
            set.insert("theme".into(), json!(t));
        }
        if let Some(n) = v.get("notifications_enabled").and_then(Value::as_bool) {
            set.insert("notifications_enabled".into(), json!(n));
        }
    }
    no_store(Json(settings_json(&app)).into_response())
}

/// The models the scripted provider offers, in upstream's shape (one `custom` group).
pub(super) async fn models() -> Response {
    no_store(
        Json(json!({
            "active_provider": "custom",
            "default_model": "fake-model",
            "configured_model_badges": {
                "fake-model": {"role": "primary", "label": "Primary", "provider": "custom"}
            },
            "groups": [{
                "provider": "Custom",
                "provider_id": "custom",
                "models": [
                    {"id": "fake-model", "label": "fake-model"},
                    {"id": "fake-model-b", "label": "fake-model-b"}
                ]
            }],
            "aliases": {}
        }))
        .into_response(),
    )
}

/// As upstream: `model` and `model_provider` (absent or null keeps the provider); the reply
/// is the whole session.
pub(super) async fn update_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    match with_session(&app, &v, |s| {
        if let Some(m) = str_field(&v, "model").filter(|m| !m.is_empty()) {
            s.model = Some(m.to_string());
        }
        if let Some(p) = str_field(&v, "model_provider").filter(|p| !p.is_empty()) {
            s.model_provider = Some(p.to_string());
        }
        Ok(())
    }) {
        Ok(s) => session_reply(&app, &s, false),
        Err(r) => r,
    }
}

/// As upstream's `undo_last`: the last user message and everything after it go (one turn; no
/// stream check); nothing to undo is a 200 `{error}`.
pub(super) async fn undo_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let mut reply = json!({"error": "Nothing to undo."});
    match with_session(&app, &v, |s| {
        if let Some(i) = s.messages.iter().rposition(|m| m["role"] == "user") {
            let preview: String = Session::text_of(&s.messages[i]).chars().take(40).collect();
            let removed = s.keep_messages(i);
            reply = json!({"ok": true, "removed_count": removed, "removed_preview": preview});
        }
        Ok(())
    }) {
        Ok(s) => {
            if reply["ok"] == true {
                app.changed("session_undo", Some(&s.session_id));
            }
            no_store(Json(reply).into_response())
        }
        Err(r) => r,
    }
}

/// As upstream's branch: a new session with the first `keep_count` messages (all when
/// omitted), titled "<title> (fork)", saved (and announced) only when it has messages.
pub(super) async fn branch_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id") else {
        return err(StatusCode::BAD_REQUEST, "session_id is required");
    };
    let keep = match v.get("keep_count") {
        None | Some(Value::Null) => None,
        Some(k) => match k.as_u64() {
            Some(k) => Some(k as usize),
            None => return err(StatusCode::BAD_REQUEST, "keep_count must be an integer"),
        },
    };
    let Some(source) = app.sessions.lock().expect("sessions").get(sid).cloned() else {
        return err(StatusCode::NOT_FOUND, "Session not found");
    };
    let mut s = Session::new();
    s.messages = source.messages.clone();
    s.tool_calls = source.tool_calls.clone();
    s.keep_messages(keep.unwrap_or(usize::MAX));
    let title = str_field(&v, "title")
        .map(|t| t.trim().chars().take(80).collect::<String>())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("{} (fork)", source.shown_title()));
    s.title = Some(title.clone());
    s.parent_session_id = Some(source.session_id.clone());
    s.last_message_at = source.last_message_at;
    s.persisted = !s.messages.is_empty();
    if s.persisted {
        app.store.save_session(&s);
    }
    let id = s.session_id.clone();
    let saved = s.persisted;
    app.sessions.lock().expect("sessions").insert(id.clone(), s);
    if saved {
        app.changed("session_branch", Some(&id));
    }
    no_store(
        Json(json!({"session_id": id, "title": title, "parent_session_id": source.session_id}))
            .into_response(),
    )
}

// ---------------------------------------------------------------------------------------------
// Chat

pub(super) async fn sessions_events(State(app): AppState) -> Response {
    let rx = app.changes.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let c = rx.borrow_and_update().clone();
        let data = json!({
            "type": "sessions_changed",
            "version": c.version,
            "reason": c.reason,
            "profile": "default",
            "session_id": c.session_id
        });
        Some((
            Ok::<_, std::convert::Infallible>(
                Event::default()
                    .event("sessions_changed")
                    .data(data.to_string()),
            ),
            rx,
        ))
    });
    let mut resp = Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keepalive"),
        )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

// ---------------------------------------------------------------------------------------------
// Auth and pages
