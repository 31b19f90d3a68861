//! The scripted model (`pane-model`): an OpenAI-compatible endpoint for the **real** Hermes
//! WebUI in tests. The agent inside Hermes calls it as its provider; the markers in the user's
//! message (`[[tokens=N]]`, `[[tool:CMD]]`, `[[clarify:Q|a|b]]`, `[[reasoning=N]]`,
//! `[[error]]`, pacing…) pick the answer through the stand-in's own [`Plan`], so one scenario
//! text drives either backend.
//!
//! One turn is several requests: the agent calls again after each tool result, so the answer
//! to a request is decided from the conversation it carries (how many tool results follow the
//! last user message) — the model keeps no state but a request counter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::agent::{make_title, tokenize, Plan, Step};

/// What the model answers one request with.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A streamed reply: reasoning, then prose, then (optionally) one tool call.
    Stream(Streamed),
    /// A non-streaming reply (the agent's auxiliary calls, e.g. the first turn's title).
    Text(String),
    /// A provider error: this HTTP status and an OpenAI-style error body.
    Error { status: u16, body: Value },
}

/// A streamed reply and its pacing.
#[derive(Debug, Clone, PartialEq)]
pub struct Streamed {
    pub ttft_ms: u64,
    pub pace_ms: u64,
    pub reasoning: Vec<String>,
    pub pieces: Vec<String>,
    pub tool_call: Option<ToolCall>,
}

/// A call of one of the agent's tools.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub name: &'static str,
    pub arguments: Value,
}

/// The text of a message's `content` (a string or a list of parts).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The user's own text of the turn: the agent prefixes each user message with a
/// `[Workspace::v1: <path>]` line, and merges a failed turn's prompt (it got no reply) with the
/// next one into one message — the last of those prompts is this turn's.
fn this_turns_prompt(text: &str) -> &str {
    let at = text
        .match_indices("[Workspace::")
        .filter(|(i, _)| *i == 0 || text[..*i].ends_with('\n'))
        .map(|(i, _)| i)
        .last();
    match at {
        Some(i) => text[i..].split_once('\n').map_or("", |(_, t)| t),
        None => text,
    }
}

/// The title for the agent's title request ("User question: …\n\nAssistant answer: …").
fn title_for(prompt: &str) -> String {
    let question = prompt
        .split_once("User question:")
        .map_or(prompt, |(_, q)| q);
    let question = question
        .split("Assistant answer:")
        .next()
        .unwrap_or(question)
        .trim();
    let plan = Plan::from_message(question);
    plan.title.unwrap_or_else(|| make_title(question))
}

/// What the model says after a tool's result, as the stand-in's agent does.
fn after_tool(step: &Step, result: &str) -> String {
    match step {
        Step::Tool {
            command,
            fail: true,
        } => format!("The command `{command}` failed."),
        Step::Todo(_) => "Plan updated.".to_string(),
        Step::Clarify { .. } => {
            let answer = serde_json::from_str::<Value>(result)
                .ok()
                .and_then(|v| v["user_response"].as_str().map(str::to_string));
            format!(
                "You chose: {}",
                answer.unwrap_or_else(|| result.to_string())
            )
        }
        _ => {
            // A steer the agent appended to the result is answered apart from it.
            let (own, steers) = pane_core::steer::split_steers(result);
            let mut said = format!("Tool said: {own}");
            for t in steers {
                said.push_str(&crate::agent::steered(&t));
            }
            said
        }
    }
}

/// Decides the answer to one `/v1/chat/completions` request; `n` is the request counter (it
/// makes a reply unique where it would repeat an earlier one: the agent takes a reply equal to
/// the previous assistant message as no reply at all).
pub fn answer(request: &Value, n: u64) -> Answer {
    let empty = Vec::new();
    let messages = request["messages"].as_array().unwrap_or(&empty);
    let last_user = messages.iter().rposition(|m| m["role"] == "user");
    let user_text = last_user
        .map(|i| text_of(&messages[i]["content"]))
        .unwrap_or_default();
    if request["stream"] != true {
        return Answer::Text(if user_text.contains("User question:") {
            title_for(&user_text)
        } else {
            format!("Noted ({n}).")
        });
    }
    let user = this_turns_prompt(&user_text);
    let plan = Plan::from_message(user);
    if let Some(kind) = &plan.error {
        let status = error_status(kind);
        let code = match status {
            429 => "rate_limit_exceeded",
            402 => "insufficient_quota",
            401 => "invalid_api_key",
            404 => "model_not_found",
            _ => "server_error",
        };
        let body = json!({"error": {"message": error_message(kind), "type": code, "code": code}});
        return Answer::Error { status, body };
    }
    let after = last_user.map_or(&messages[..0], |i| &messages[i + 1..]);
    let results: Vec<String> = after
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| text_of(&m["content"]))
        .collect();
    let calls: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| !matches!(s, Step::Text(_)))
        .collect();
    let k = results.len();
    let mut text = String::new();
    if let (Some(step), Some(result)) =
        (k.checked_sub(1).and_then(|i| calls.get(i)), results.last())
    {
        text.push_str(&after_tool(step, result));
    }
    let tool_call = calls.get(k).map(|step| match step {
        Step::Clarify { question, choices } => ToolCall {
            name: "clarify",
            arguments: json!({"question": question, "choices": choices}),
        },
        Step::Tool { command, .. } => ToolCall {
            name: "terminal",
            arguments: json!({"command": command}),
        },
        Step::Todo(items) => ToolCall {
            name: "todo",
            arguments: json!({"todos": items
                .iter()
                .enumerate()
                .map(|(i, (c, st))| json!({"id": (i + 1).to_string(), "content": c, "status": st}))
                .collect::<Vec<_>>()}),
        },
        Step::Text(_) => unreachable!("calls holds tool steps only"),
    });
    if tool_call.is_none() {
        if user.contains("[[model]]") {
            // `[[model]]`: say which model the agent asked for (the session's model picker).
            text.push_str(&format!(
                "model: {}",
                request["model"].as_str().unwrap_or("")
            ));
        } else {
            for step in &plan.steps {
                if let Step::Text(t) = step {
                    text.push_str(t);
                }
            }
        }
        let earlier = after
            .iter()
            .chain(messages[..last_user.unwrap_or(0)].iter());
        let repeats = earlier
            .filter(|m| m["role"] == "assistant")
            .any(|m| text_of(&m["content"]).trim() == text.trim());
        if repeats {
            text.push_str(&format!(" (reply {n})"));
        }
    }
    let reasoning = if k == 0 && plan.reasoning_words > 0 {
        let words: Vec<String> = (0..plan.reasoning_words)
            .map(|i| format!("think{i}"))
            .collect();
        words
            .chunks(4)
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    c.join(" ")
                } else {
                    format!(" {}", c.join(" "))
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // Only the turn's first call waits for its first token; later calls follow a tool result.
    let ttft_ms = if k == 0 { plan.ttft_ms } else { 0 };
    Answer::Stream(Streamed {
        ttft_ms,
        pace_ms: plan.pace_ms,
        reasoning,
        pieces: tokenize(&text),
        tool_call,
    })
}

/// The error message of the model's answer to `[[error:KIND]]` (worded so the agent
/// classifies it as that kind).
pub fn error_message(kind: &str) -> String {
    match kind {
        "quota_exhausted" => format!("Scripted provider error ({kind}): quota exceeded"),
        _ => format!(
            "Scripted provider error ({kind}): HTTP {}",
            error_status(kind)
        ),
    }
}

/// The HTTP status the model answers `[[error:KIND]]` with.
pub fn error_status(kind: &str) -> u16 {
    match kind {
        "rate_limit" => 429,
        "quota_exhausted" => 402,
        "auth" => 401,
        "model_not_found" => 404,
        _ => 500,
    }
}

fn chunk(n: u64, delta: Value, finish: Option<&str>) -> String {
    let c = json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    format!("data: {c}\n\n")
}

/// The SSE frames of a streamed reply, each with the pause before it.
pub fn frames(n: u64, s: &Streamed) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut first = true;
    let mut wait = |out: &mut Vec<(u64, String)>, frame: String| {
        out.push((
            if std::mem::take(&mut first) {
                s.ttft_ms
            } else {
                s.pace_ms
            },
            frame,
        ));
    };
    for r in &s.reasoning {
        wait(
            &mut out,
            chunk(
                n,
                json!({"role": "assistant", "reasoning_content": r}),
                None,
            ),
        );
    }
    for p in &s.pieces {
        wait(
            &mut out,
            chunk(n, json!({"role": "assistant", "content": p}), None),
        );
    }
    let finish = match &s.tool_call {
        Some(t) => {
            let call = json!([{"index": 0, "id": format!("call_{n}"), "type": "function",
                "function": {"name": t.name, "arguments": t.arguments.to_string()}}]);
            wait(
                &mut out,
                chunk(n, json!({"role": "assistant", "tool_calls": call}), None),
            );
            "tool_calls"
        }
        None => "stop",
    };
    out.push((0, chunk(n, json!({}), Some(finish))));
    let usage = json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": s.pieces.len(),
            "total_tokens": 100 + s.pieces.len()
        }
    });
    out.push((0, format!("data: {usage}\n\n")));
    out.push((0, "data: [DONE]\n\n".to_string()));
    out
}

/// What one request asked for, kept for tests (`GET /v1/__requests`).
#[derive(Default)]
pub struct Log {
    requests: Mutex<Vec<Value>>,
    counter: AtomicU64,
}

async fn models() -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [
            {
                "id": "fake-model",
                "object": "model",
                "owned_by": "hermes-pane",
                "context_length": 131072
            },
            {
                "id": "fake-model-b",
                "object": "model",
                "owned_by": "hermes-pane",
                "context_length": 65536
            },
        ]
    }))
}

async fn requests(State(log): State<Arc<Log>>) -> Json<Value> {
    Json(Value::Array(log.requests.lock().expect("log").clone()))
}

async fn completions(State(log): State<Arc<Log>>, Json(request): Json<Value>) -> Response {
    let n = log.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let last_user = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| text_of(&m["content"]));
    log.requests.lock().expect("log").push(json!({
        "n": n,
        "model": request["model"],
        "stream": request["stream"] == true,
        "user": last_user
    }));
    match answer(&request, n) {
        Answer::Error { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(body),
        )
            .into_response(),
        Answer::Text(text) => Json(json!({
            "id": format!("chatcmpl-{n}"),
            "object": "chat.completion",
            "created": 0,
            "model": request["model"],
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}
        }))
        .into_response(),
        Answer::Stream(s) => {
            let (mut tx, rx) =
                futures::channel::mpsc::channel::<Result<String, std::io::Error>>(16);
            tokio::spawn(async move {
                use futures::SinkExt;
                for (wait, frame) in frames(n, &s) {
                    if wait > 0 {
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                    // The agent hung up (the turn was cancelled): stop.
                    if tx.send(Ok(frame)).await.is_err() {
                        return;
                    }
                }
            });
            (
                [
                    (header::CONTENT_TYPE, "text/event-stream"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                Body::from_stream(rx),
            )
                .into_response()
        }
    }
}

/// The model's routes: `GET /v1/models`, `POST /v1/chat/completions`, `GET /v1/__requests`.
pub fn router() -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(completions))
        .route("/v1/__requests", get(requests))
        .with_state(Arc::new(Log::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(user: &str, rest: &[Value]) -> Value {
        let mut messages = vec![
            json!({"role": "system", "content": "You are Hermes."}),
            json!({"role": "user", "content": format!("[Workspace::v1: /w]\n{user}")}),
        ];
        messages.extend(rest.iter().cloned());
        json!({
            "model": "fake-model",
            "stream": true,
            "messages": messages,
            "tools": [{"type": "function"}]
        })
    }

    fn streamed(a: Answer) -> Streamed {
        match a {
            Answer::Stream(s) => s,
            other => panic!("not streamed: {other:?}"),
        }
    }

    #[test]
    fn a_failed_turns_prompt_merged_into_the_next_one_does_not_script_it() {
        let merged = "[Workspace::v1: /w]\nThis will fail [[error]]\n\n[Workspace::v1: /w]\n\
                      try again [[tokens=2]]";
        let req = json!({
            "model": "m",
            "stream": true,
            "messages": [{"role": "user", "content": merged}]
        });
        assert_eq!(streamed(answer(&req, 1)).pieces.concat(), " tok1 tok2");
    }

    #[test]
    fn the_markers_of_the_stand_in_pick_the_reply_and_its_pace() {
        let s = streamed(answer(
            &turn("go [[tokens=3]] [[delay=7]] [[ttft=0]]", &[]),
            1,
        ));
        assert_eq!(s.pieces.concat(), " tok1 tok2 tok3");
        assert_eq!((s.ttft_ms, s.pace_ms), (0, 7));
        assert!(s.tool_call.is_none());
    }

    #[test]
    fn a_tool_turn_calls_the_tool_first_then_answers_from_its_result() {
        let first = streamed(answer(
            &turn("Clean [[tool:rm -rf ./x]] [[tokens=2]]", &[]),
            1,
        ));
        assert_eq!(
            first.tool_call,
            Some(ToolCall {
                name: "terminal",
                arguments: json!({"command": "rm -rf ./x"})
            })
        );
        assert!(first.pieces.is_empty());
        let result = r#"{"output": "", "exit_code": 0}"#;
        let rest = [
            json!({"role": "assistant", "content": "", "tool_calls": []}),
            json!({"role": "tool", "content": result}),
        ];
        let second = streamed(answer(
            &turn("Clean [[tool:rm -rf ./x]] [[tokens=2]]", &rest),
            2,
        ));
        assert_eq!(
            second.pieces.concat(),
            format!("Tool said: {result} tok1 tok2")
        );
        assert!(second.tool_call.is_none());
        assert_eq!(second.ttft_ms, 0, "only the turn's first call waits");
    }

    #[test]
    fn clarify_asks_and_then_says_the_answer() {
        let q = "Deploy [[clarify:Which?|staging|prod]]";
        let first = streamed(answer(&turn(q, &[]), 1));
        assert_eq!(
            first.tool_call,
            Some(ToolCall {
                name: "clarify",
                arguments: json!({"question": "Which?", "choices": ["staging", "prod"]})
            })
        );
        let rest = [
            json!({"role": "assistant", "content": ""}),
            json!({"role": "tool", "content": r#"{"question":"Which?","user_response":"prod"}"#}),
        ];
        assert_eq!(
            streamed(answer(&turn(q, &rest), 2)).pieces.concat(),
            "You chose: prod"
        );
    }

    #[test]
    fn a_reply_that_would_repeat_an_earlier_one_is_made_unique() {
        let rest = [
            json!({"role": "assistant", "content": "tok1 tok2"}),
            json!({"role": "user", "content": "again [[tokens=2]]"}),
        ];
        let mut req = turn("again [[tokens=2]]", &[]);
        let msgs = req["messages"].as_array_mut().unwrap();
        msgs.splice(1..1, rest.iter().cloned());
        let s = streamed(answer(&req, 9));
        assert_eq!(s.pieces.concat(), " tok1 tok2 (reply 9)");
        let fresh = streamed(answer(&turn("x [[tokens=2]]", &[]), 10));
        assert_eq!(
            fresh.pieces.concat(),
            " tok1 tok2",
            "no suffix where nothing repeats"
        );
    }

    #[test]
    fn reasoning_comes_first_and_errors_are_http_statuses() {
        let s = streamed(answer(&turn("think [[reasoning=6]] [[tokens=1]]", &[]), 1));
        assert_eq!(
            s.reasoning.concat(),
            "think0 think1 think2 think3 think4 think5"
        );
        let frames = frames(1, &s);
        assert!(frames[0].1.contains("reasoning_content"));
        assert!(frames.last().unwrap().1.contains("[DONE]"));
        match answer(&turn("x [[error]]", &[]), 1) {
            Answer::Error { status, .. } => assert_eq!(status, 429),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_title_request_gets_a_title_from_the_question() {
        let req = json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "Title it"},
                {
                    "role": "user",
                    "content": "User question:\nShow me what you can render [[tokens=3]]\n\n\
                                Assistant answer:\ntok1 tok2"
                }
            ]
        });
        assert_eq!(
            answer(&req, 1),
            Answer::Text("Show me what you can render".into())
        );
        let req = json!({
            "model": "m",
            "messages": [{
                "role": "user",
                "content": "User question:\n[[title:Deploy plan]] go\n\nAssistant answer:\nok"
            }]
        });
        assert_eq!(answer(&req, 2), Answer::Text("Deploy plan".into()));
    }

    #[test]
    fn the_model_can_say_which_model_it_was_asked_for() {
        let mut req = turn("which? [[model]]", &[]);
        req["model"] = json!("fake-model-b");
        assert!(streamed(answer(&req, 1))
            .pieces
            .concat()
            .starts_with("model: fake-model-b"));
    }
}
