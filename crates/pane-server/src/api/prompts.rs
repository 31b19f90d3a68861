//! Approvals and clarify questions: pending, and the answers.

#[allow(unused_imports)]
use super::*;

pub(super) async fn approval_pending(State(app): AppState, Query(q): Q) -> Response {
    let sid = q.get("session_id").cloned().unwrap_or_default();
    let prompts = app.prompts.lock().expect("prompts");
    let approvals: Vec<&Value> = prompts
        .get(&sid)
        .map(|qq| {
            qq.iter()
                .filter_map(|p| {
                    if let Prompt::Approval { value, .. } = p {
                        Some(value)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    no_store(
        Json(json!({"pending": approvals.first(), "pending_count": approvals.len()}))
            .into_response(),
    )
}

pub(super) async fn approval_respond(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id").map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "session_id is required");
    };
    let choice = str_field(&v, "choice").unwrap_or("").to_string();
    if !["once", "session", "always", "deny"].contains(&choice.as_str()) {
        return err(
            StatusCode::BAD_REQUEST,
            "choice must be once, session, always or deny",
        );
    }
    let wanted = str_field(&v, "approval_id").map(str::to_string);
    // As upstream (`_handle_approval_respond`): a `run_id` or `mirror_token` asks for the
    // gateway relay, and the stand-in's runs are all local, so there is no run to relay to.
    if str_field(&v, "run_id").is_some_and(|r| !r.trim().is_empty())
        || str_field(&v, "mirror_token").is_some_and(|t| !t.trim().is_empty())
    {
        let error = "Gateway approval could not be relayed because the active run is unavailable. \
                     Reopen the session or retry after it reconnects.";
        let body = json!({
            "ok": false,
            "choice": choice,
            "relayed": false,
            "code": "gateway_run_unavailable",
            "error": error
        });
        return (StatusCode::CONFLICT, Json(body)).into_response();
    }
    let mut prompts = app.prompts.lock().expect("prompts");
    let Some(queue) = prompts.get_mut(&sid) else {
        return Json(json!({"ok": true, "stale_cleared": true})).into_response();
    };
    let pos = queue.iter().position(|p| p.is_approval());
    let Some(pos) = pos else {
        return Json(json!({"ok": true, "stale_cleared": true})).into_response();
    };
    if let (Some(w), Prompt::Approval { id, .. }) = (&wanted, &queue[pos]) {
        if w != id {
            return Json(json!({"ok": false, "error": "A different approval is pending"}))
                .into_response();
        }
    }
    if let Some(Prompt::Approval { answer, .. }) = queue.remove(pos) {
        let _ = answer.send(choice.clone());
    }
    drop(prompts);
    app.changed("attention_cleared", Some(&sid));
    no_store(Json(json!({"ok": true, "choice": choice})).into_response())
}

pub(super) async fn clarify_pending(State(app): AppState, Query(q): Q) -> Response {
    let sid = q.get("session_id").cloned().unwrap_or_default();
    let prompts = app.prompts.lock().expect("prompts");
    let head = prompts.get(&sid).and_then(|qq| {
        qq.iter().find_map(|p| {
            if let Prompt::Clarify { value, .. } = p {
                Some(value.clone())
            } else {
                None
            }
        })
    });
    no_store(Json(json!({"pending": head})).into_response())
}

pub(super) async fn clarify_respond(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let Some(sid) = str_field(&v, "session_id").map(str::to_string) else {
        return err(StatusCode::BAD_REQUEST, "session_id is required");
    };
    let response = ["response", "answer", "choice"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    let wanted = str_field(&v, "clarify_id").map(str::to_string);
    let stale = || {
        (
            StatusCode::CONFLICT,
            Json(
                json!({"ok": false, "stale": true, "error": "This question is no longer pending."}),
            ),
        )
            .into_response()
    };
    let mut prompts = app.prompts.lock().expect("prompts");
    let Some(queue) = prompts.get_mut(&sid) else {
        return stale();
    };
    let Some(pos) = queue.iter().position(|p| !p.is_approval()) else {
        return stale();
    };
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
