//! Steering a running turn and the slash commands' endpoints, as upstream answers them
//! (`api/streaming.py` `_handle_chat_steer`, `api/commands.py`, `/api/session/compress`).

use super::*;

/// `POST /api/chat/steer {session_id, text}` → 200 `{accepted, fallback, stream_id}`.
pub(super) async fn chat_steer(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id").filter(|s| !s.trim().is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "session_id required");
    };
    let Some(text) = str_field(&v, "text")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return err(StatusCode::BAD_REQUEST, "text required");
    };
    let refused = |fallback: &str| {
        no_store(
            Json(json!({"accepted": false, "fallback": fallback, "stream_id": null}))
                .into_response(),
        )
    };
    let (stream, turns) = {
        let map = app.sessions.lock().expect("sessions");
        match map.get(sid) {
            Some(s) => (s.active_stream_id.clone(), s.turns),
            None => return refused("no_cached_agent"),
        }
    };
    let Some(stream) = stream else {
        // Upstream keeps the session's agent cached after its first turn: "not running";
        // before any turn there is no agent to steer.
        return refused(if turns > 0 {
            "not_running"
        } else {
            "no_cached_agent"
        });
    };
    if !app.runs.lock().expect("runs").contains_key(&stream) {
        return refused("stream_dead");
    }
    app.steers
        .lock()
        .expect("steers")
        .entry(stream.clone())
        .and_modify(|t| {
            t.push('\n');
            t.push_str(text);
        })
        .or_insert_with(|| text.to_string());
    no_store(Json(json!({"accepted": true, "fallback": null, "stream_id": stream})).into_response())
}

/// `GET /api/commands`: a few of the agent registry's entries, as upstream lists them.
pub(super) async fn commands() -> Response {
    let c = |name: &str, description: &str, category: &str, args: &str, cli_only: bool| {
        json!({
            "name": name, "description": description, "category": category, "aliases": [],
            "args_hint": args, "subcommands": [], "cli_only": cli_only, "gateway_only": false
        })
    };
    let mut reload = c(
        "reload-mcp",
        "Reload MCP servers from config",
        "Tools & Skills",
        "",
        false,
    );
    reload["aliases"] = json!(["reload_mcp"]);
    no_store(
        Json(json!({"commands": [
            c("new", "Start a new session (fresh session ID + history)", "Session", "", false),
            c("retry", "Retry the last message (resend to agent)", "Session", "", false),
            c("undo", "Back up N user turns and re-prompt (default 1)", "Session", "[N]", false),
            c("title", "Set a title for the current session", "Session", "[name]", false),
            c("compress", "Compress conversation context", "Session", "[focus topic]", false),
            c("steer", "Inject a message after the next tool call without interrupting",
              "Session", "<prompt>", false),
            c("model", "Switch model (session-scoped; --global to persist)", "Configuration",
              "[model] [--provider name] [--global]", false),
            reload,
            c("browser", "Connect browser tools to your live Chromium-family browser via CDP",
              "Tools & Skills", "[connect|disconnect|status]", true),
            c("help", "Show available commands", "Info", "", false),
        ]}))
        .into_response(),
    )
}

/// `POST /api/commands/exec {command}`: the agent commands upstream runs for the web UI.
pub(super) async fn commands_exec(bytes: Bytes) -> Response {
    let v = body(&bytes);
    let command = str_field(&v, "command").unwrap_or("").trim();
    if command.is_empty() {
        return err(StatusCode::BAD_REQUEST, "command is required");
    }
    let name = command
        .trim_start_matches('/')
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase()
        .replace('_', "-");
    match name.as_str() {
        "reload-mcp" => no_store(
            Json(json!({"output": "🔄 Reloading MCP servers...\n  No MCP servers configured."}))
                .into_response(),
        ),
        _ => err(StatusCode::NOT_FOUND, "Plugin command not found"),
    }
}

/// `POST /api/session/compress {session_id, focus_topic}`: upstream summarises with the model;
/// the stand-in keeps the transcript and answers with upstream's fallback summary.
pub(super) async fn compress_session(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let focus = str_field(&v, "focus_topic")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string);
    let mut before = 0;
    let result = with_session(&app, &v, |s| {
        if s.active_stream_id.is_some() {
            return Err(err(
                StatusCode::CONFLICT,
                "Session is still streaming; wait for the current turn to finish.",
            ));
        }
        if s.messages.len() < 4 {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "Not enough conversation to compress (need at least 4 messages).",
            ));
        }
        before = s.messages.len();
        Ok(())
    });
    match result {
        Ok(s) => {
            let headline = format!("Compressed: {before} \u{2192} 2 messages");
            no_store(
                Json(json!({
                    "ok": true,
                    "session": crate::agent::session_value(&s),
                    "summary": {
                        "headline": headline,
                        "token_line": format!(
                            "Rough transcript estimate: ~{} \u{2192} ~40 tokens",
                            before * 20
                        ),
                        "note": focus.as_ref().map(|f| format!("Focus: {f}")),
                    },
                    "focus_topic": focus,
                }))
                .into_response(),
            )
        }
        Err(r) => r,
    }
}
