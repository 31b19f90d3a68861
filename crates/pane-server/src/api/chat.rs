//! Turns: `chat/start`, the chat stream with its replay cursors, its status, cancel.

#[allow(unused_imports)]
use super::*;

pub(super) async fn chat_start(State(app): AppState, bytes: Bytes) -> Response {
    if app.faults.take_start_failure() {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error (injected fault)",
        );
    }
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id").map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "session_id is required");
    };
    let Some(message) = str_field(&v, "message").map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "message is required");
    };
    let attachments: Vec<Value> = v
        .get("attachments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if attachments.len() > 20 {
        return err(StatusCode::BAD_REQUEST, "Too many attachments (max 20)");
    }
    let stream_id = hex_id(32);
    // The channel exists before the session names the stream, so a client that sees the id
    // (in the list, in `GET /api/session`) can always connect; it is dropped again on refusal.
    app.channels
        .lock()
        .expect("channels")
        .insert(stream_id.clone(), Channel::new(&sid, &stream_id));
    let refuse = |r: Response| {
        app.channels.lock().expect("channels").remove(&stream_id);
        r
    };
    let (started_at, title, model) = {
        let mut map = app.sessions.lock().expect("sessions");
        let Some(s) = map.get_mut(&sid) else {
            return refuse(err(StatusCode::NOT_FOUND, "Session not found"));
        };
        if message.trim() == "[SILENT]" {
            return refuse(
                Json(json!({"status": "suppressed", "reason": "silent_control_message"}))
                    .into_response(),
            );
        }
        if let Some(active) = s.active_stream_id.clone() {
            return refuse(
                (
                    StatusCode::CONFLICT,
                    Json(json!({
                        "error": "session already has an active stream",
                        "active_stream_id": active
                    })),
                )
                    .into_response(),
            );
        }
        let t = now();
        // A turn's own model becomes the session's (as upstream's chat/start).
        if let Some(m) = str_field(&v, "model").filter(|m| !m.is_empty()) {
            s.model = Some(m.to_string());
            if let Some(p) = str_field(&v, "model_provider") {
                s.model_provider = Some(p.to_string());
            }
        }
        let model = s.model_name().to_string();
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
        (t, s.shown_title(), model)
    };
    let (tx, rx) = watch::channel(false);
    app.runs.lock().expect("runs").insert(stream_id.clone(), tx);
    app.changed("turn_started", Some(&sid));
    tokio::spawn(agent::run(
        app.clone(),
        sid.clone(),
        stream_id.clone(),
        message,
        model.clone(),
        rx,
    ));
    no_store(
        Json(json!({
            "stream_id": stream_id,
            "session_id": sid,
            "pending_started_at": started_at,
            "turn_id": format!("{}-{}", chrono_like(started_at), hex_id(12)),
            "title": title,
            "effective_model": model,
            "effective_model_provider": "custom",
        }))
        .into_response(),
    )
}

/// `20261125T063030Z`-style stamp without a date crate.
pub(super) fn chrono_like(t: f64) -> String {
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
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Counts open chat streams for the stats (the connection-budget evidence).
pub(super) struct Counted<S> {
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
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

pub(super) async fn chat_stream(State(app): AppState, Query(q): Q, headers: HeaderMap) -> Response {
    let Some(stream_id) = q.get("stream_id").filter(|s| !s.is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "stream_id is required");
    };
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
    let Some(events) = streams::subscribe(&app.channels, stream_id, cursor, faults) else {
        return err(StatusCode::NOT_FOUND, "stream not found");
    };
    app.faults.stats.stream_opened();
    let counted = Counted {
        inner: Box::pin(events),
        stats: app.faults.stats.clone(),
    };
    let mut resp = Sse::new(counted)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(5))
                .text("heartbeat"),
        )
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

pub(super) async fn stream_status(State(app): AppState, Query(q): Q) -> Response {
    let Some(stream_id) = q.get("stream_id").filter(|s| !s.is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "stream_id is required");
    };
    let map = app.channels.lock().expect("channels");
    let v = match map.get(stream_id) {
        Some(c) => {
            json!({
                "active": c.live,
                "stream_id": stream_id,
                "replay_available": true,
                "journal": c.journal_json()
            })
        }
        None => json!({"active": false, "stream_id": stream_id, "replay_available": false}),
    };
    no_store(Json(v).into_response())
}

pub(super) async fn chat_cancel(State(app): AppState, Query(q): Q) -> Response {
    let Some(stream_id) = q.get("stream_id").filter(|s| !s.is_empty()).cloned() else {
        return err(StatusCode::BAD_REQUEST, "stream_id is required");
    };
    let not_cancelled = || {
        no_store(
            Json(json!({"ok": true, "cancelled": false, "stream_id": stream_id})).into_response(),
        )
    };
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
        let Some(s) = map
            .values_mut()
            .find(|s| s.active_stream_id.as_deref() == Some(stream_id.as_str()))
        else {
            return not_cancelled();
        };
        let t = now();
        crate::push_user_row(s);
        if !partial.is_empty() {
            s.messages.push(
                json!({"role": "assistant", "content": partial, "_partial": true, "timestamp": t}),
            );
        }
        s.messages.push(json!({
            "role": "assistant",
            "content": "**Task cancelled:** Task cancelled.\n\n*The run was cancelled by the user \
                        before Hermes finished. No provider failure occurred.*",
            "_error": true,
            "provider_details": "Task cancelled.",
            "provider_details_label": "Cancellation details",
            "timestamp": t
        }));
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
    let data = json!({
        "message": "Cancelled by user",
        "type": "cancelled",
        "status": "cancelled",
        "session": session,
        "session_id": sid
    })
    .to_string();
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
        app.store.append_journal(
            &sid,
            &stream_id,
            &crate::store::JournalRow {
                seq: row.seq,
                event: row.event,
                data: row.data,
                ts: now(),
            },
        );
    }
    app.changed("turn_cancelled", Some(&owner));
    no_store(Json(json!({"ok": true, "cancelled": true, "stream_id": stream_id})).into_response())
}

// ---------------------------------------------------------------------------------------------
// Approval and clarify
