//! Test only (`--faults`): fault injection, seeded sessions, connection statistics.

#[allow(unused_imports)]
use super::*;

pub(super) async fn set_faults(
    State(app): AppState,
    Json(f): Json<crate::faults::Faults>,
) -> Response {
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
pub(super) async fn seed(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    let n = v.get("messages").and_then(Value::as_u64).unwrap_or(20) as usize;
    let mut s = Session::new();
    s.title = Some(
        v.get("title")
            .and_then(Value::as_str)
            .unwrap_or("Seeded session")
            .to_string(),
    );
    s.persisted = true;
    let t = now() - n as f64;
    for i in 0..n {
        let content = if i % 2 == 0 {
            format!("Question {i}: how does part {i} work?")
        } else {
            format!(
                "### Answer {i}\n\nPart {i} works like **this**: a list,\n\n- one `item`\n\
                 - two items\n\n```rust\nfn part_{i}() -> u32 {{ {i} }}\n```\n\n\
                 That is all for part {i}."
            )
        };
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        s.messages.push(
            json!({"role": role, "content": content, "timestamp": t + i as f64, "id": i + 1}),
        );
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

pub(super) async fn stats(State(app): AppState, Query(q): Q) -> Response {
    if q.contains_key("reset") {
        app.faults.stats.reset_max();
    }
    no_store(Json(app.faults.stats.json()).into_response())
}
