//! The deterministic scripted agent. A marker in the user's message picks the script
//! (`[[tokens=200]]`, `[[tool:echo hi]]`, `[[clarify:Which?|a|b]]`, …, the same style as the
//! captured fixtures); no marker gives a reply that shows off markdown. The agent emits the
//! same event sequence the real backend does for each kind of turn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{oneshot, watch};

use crate::model::{hex_id, now, saved_session_json, Session};
use crate::App;

/// One thing the scripted model does.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Stream this prose.
    Text(String),
    /// Call the terminal tool.
    Tool { command: String, fail: bool },
    /// Ask the user.
    Clarify {
        question: String,
        choices: Vec<String>,
    },
    /// Write the plan (the agent's `todo` tool): `(content, status)` per item.
    Todo(Vec<(String, String)>),
}

/// A turn's script.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub ttft_ms: u64,
    pub pace_ms: u64,
    pub reasoning_words: usize,
    pub steps: Vec<Step>,
    /// End with a provider error of this type instead of `done`.
    pub error: Option<String>,
    pub compress: bool,
    pub title: Option<String>,
    /// What the turn costs (added to the session's `estimated_cost`).
    pub cost: Option<f64>,
}

/// The help text listing every script (shown by the default reply).
pub const SCRIPTS_HELP: &str = "Scripts: `[[tokens=N]]` long reply · `[[bytes=N]]` huge reply · \
`[[slow]]` very slow reply · `[[para=N]]` paragraphs of N tokens · `[[delay=MS]]` token pace · \
`[[ttft=MS]]` first-token delay · `[[tool:CMD]]` tool call · `[[tool-error:CMD]]` failing tool · \
`[[tool:rm -rf X]]` dangerous command → approval · `[[clarify:Question?|a|b]]` clarify · \
`[[reasoning=N]]` thinking first · `[[error]]` / `[[error:rate_limit]]` provider error · \
`[[compress]]` context compression (session id rotates) · `[[echo]]` reply with your own text · \
`[[title:T]]` set the title · `[[todo:Step one=completed|Step two=in_progress|Step three]]` the \
plan · `[[cost=0.0123]]` price the turn.";

fn markers(message: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(i) = rest.find("[[") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("]]") else { break };
        let inner = &after[..j];
        let (k, v) = match inner.find([':', '=']) {
            Some(p) => (&inner[..p], &inner[p + 1..]),
            None => (inner, ""),
        };
        out.push((k.trim().to_ascii_lowercase(), v.to_string()));
        rest = &after[j + 2..];
    }
    out
}

/// What the scripted model says to a steer it found on a tool result.
pub fn steered(text: &str) -> String {
    format!("\n\nSteered: {}", text.trim().replace('\n', " / "))
}

/// The message without its markers.
pub fn strip_markers(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(i) = rest.find("[[") {
        out.push_str(&rest[..i]);
        match rest[i..].find("]]") {
            Some(j) => rest = &rest[i + j + 2..],
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// The kind of dangerous command this is (upstream's `pattern_key`), if it is one: a few of
/// the agent's `DANGEROUS_PATTERNS`, named as it names them.
fn danger(command: &str) -> Option<&'static str> {
    let c = command.to_ascii_lowercase();
    let words: Vec<&str> = c.split_whitespace().collect();
    let recursive_rm = words
        .windows(2)
        .any(|w| w[0] == "rm" && w[1].starts_with('-') && w[1].contains('r'));
    if recursive_rm {
        Some("recursive delete")
    } else if words.first() == Some(&"find") && words.contains(&"-delete") {
        Some("find -delete")
    } else if words.first() == Some(&"chmod") && words.iter().any(|w| *w == "777" || *w == "666") {
        Some("world/other-writable permissions")
    } else if c.contains("mkfs") {
        Some("format filesystem")
    } else if c.contains("dd if=") {
        Some("disk copy")
    } else if c.contains("> /dev/sd") {
        Some("write to block device")
    } else if c.contains("drop table") || c.contains("drop database") {
        Some("SQL DROP")
    } else {
        None
    }
}

/// What `echo ARGS` prints, with the shell's quoting undone (quotes and backslashes).
fn echo_output(args: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = args.trim().chars();
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (None, '\\') => out.extend(chars.next()),
            (None, '\'' | '"') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// The terminal tool's answer to a denied command (upstream's, word for word).
const DENIED: &str = "BLOCKED: Command denied by user. The user has NOT consented to this action. \
Do NOT retry this command, do NOT rephrase it, and do NOT attempt the same outcome via a different \
command. Stop the current workflow and wait for the user to respond before taking any further \
destructive or irreversible action.";

const SHOWCASE: &str = "## Here is what I can render\n\nA **bold** claim, an *aside*, \
                        `inline code` and a [link to the Hermes \
                        docs](https://example.org/hermes).\n\n### A list\n\n\
                        - streaming markdown, one block at a time\n\
                        - code with **syntax highlighting** and a copy button\n- tables:\n\n\
                        | Session | State | Tokens |\n| --- | --- | ---: |\n\
                        | alpha | running | 1,204 |\n| beta | idle | 88 |\n\n\
                        ### Code in several languages\n\n```rust\nfn main() {\n    let greeting = \
                        \"hello\"; // a comment\n    println!(\"{greeting}, {}!\", 42);\n}\n```\n\n\
                        ```python\ndef fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) \
                        + fib(n - 2)  # recursion\n```\n\n```bash\nfor f in *.log; do echo \"$f\"; \
                        done\n```\n\n```json\n{\"ok\": true, \"count\": 3}\n```\n\n\
                        > Tip: try the scripts below in a message.\n\n";

fn long_text(tokens: usize) -> String {
    (1..=tokens).map(|i| format!(" tok{i}")).collect::<String>()
}

/// A long reply in paragraphs of `para` tokens (closer to what a model writes than one
/// paragraph of N tokens).
fn long_text_in_paragraphs(tokens: usize, para: usize) -> String {
    (1..=tokens)
        .map(|i| {
            if i > 1 && (i - 1) % para == 0 {
                format!("\n\ntok{i}")
            } else {
                format!(" tok{i}")
            }
        })
        .collect::<String>()
}

fn bulk_text(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 256);
    let mut para = 0;
    while s.len() < bytes {
        para += 1;
        if para % 25 == 0 {
            s.push_str(&format!(
                "```rust\nfn block_{para}() -> u32 {{\n    {para} * 2 // code block {para}\n}}\n\
                 ```\n\n"
            ));
        } else {
            s.push_str(&format!("Paragraph {para}: "));
            for w in 0..60 {
                s.push_str(&format!("word{}-{} ", para, w));
            }
            s.push_str("\n\n");
        }
    }
    s
}

impl Plan {
    /// Reads the markers of `message`.
    pub fn from_message(message: &str) -> Plan {
        let mut plan = Plan {
            ttft_ms: 250,
            pace_ms: 25,
            reasoning_words: 0,
            steps: Vec::new(),
            error: None,
            compress: false,
            title: None,
            cost: None,
        };
        let mut text: Option<String> = None;
        let para = markers(message)
            .into_iter()
            .find(|(k, _)| k == "para")
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0);
        for (k, v) in markers(message) {
            let num = v.trim().parse::<u64>().ok();
            match k.as_str() {
                "tokens" => {
                    let n = num.unwrap_or(100) as usize;
                    text = Some(match para {
                        Some(p) => long_text_in_paragraphs(n, p),
                        None => long_text(n),
                    });
                }
                "bytes" => {
                    text = Some(bulk_text(num.unwrap_or(1 << 20) as usize));
                    plan.pace_ms = plan.pace_ms.min(5);
                }
                "slow" => plan.pace_ms = 800,
                "delay" | "pace" => plan.pace_ms = num.unwrap_or(plan.pace_ms),
                "ttft" => plan.ttft_ms = num.unwrap_or(plan.ttft_ms),
                "tool" => plan.steps.push(Step::Tool {
                    command: v.trim().to_string(),
                    fail: false,
                }),
                "tool-error" => plan.steps.push(Step::Tool {
                    command: v.trim().to_string(),
                    fail: true,
                }),
                "clarify" => {
                    let mut parts = v.split('|').map(|p| p.trim().to_string());
                    let question = parts
                        .next()
                        .filter(|q| !q.is_empty())
                        .unwrap_or_else(|| "Which one?".into());
                    plan.steps.push(Step::Clarify {
                        question,
                        choices: parts.filter(|p| !p.is_empty()).collect(),
                    });
                }
                "todo" => plan.steps.push(Step::Todo(
                    v.split('|')
                        .map(str::trim)
                        .filter(|i| !i.is_empty())
                        .map(|i| match i.rsplit_once('=') {
                            Some((c, st)) => (c.trim().to_string(), st.trim().to_string()),
                            None => (i.to_string(), "pending".to_string()),
                        })
                        .collect(),
                )),
                "cost" => plan.cost = v.trim().parse::<f64>().ok(),
                "reasoning" => plan.reasoning_words = num.unwrap_or(10) as usize,
                "error" => {
                    plan.error = Some(if v.trim().is_empty() {
                        "rate_limit".into()
                    } else {
                        v.trim().to_string()
                    })
                }
                "compress" => plan.compress = true,
                "echo" => text = Some(strip_markers(message)),
                "title" => plan.title = Some(v.trim().to_string()),
                _ => {}
            }
        }
        let has_tools = plan.steps.iter().any(|s| !matches!(s, Step::Text(_)));
        let reply = match text {
            Some(t) => t,
            None if has_tools => String::new(),
            None if plan.error.is_some() => String::new(),
            None => format!("{SHOWCASE}{SCRIPTS_HELP}"),
        };
        if has_tools {
            plan.steps.push(Step::Text(String::new()));
        }
        if !reply.is_empty() || plan.steps.is_empty() {
            match plan.steps.last_mut() {
                Some(Step::Text(t)) => t.push_str(&reply),
                _ => plan.steps.push(Step::Text(reply)),
            }
        }
        plan
    }
}

/// Splits prose into token-sized pieces (each keeps its leading whitespace, like a model's).
pub fn tokenize(text: &str) -> Vec<String> {
    if text.len() > 64 * 1024 {
        // Huge replies stream in ~1 KB pieces so a 1 MB reply takes seconds, not minutes.
        let mut out = Vec::new();
        let mut start = 0;
        while start < text.len() {
            let mut end = (start + 1024).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            out.push(text[start..end].to_string());
            start = end;
        }
        return out;
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if (ch == ' ' || ch == '\n') && !cur.trim().is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Why a turn stopped early.
enum Stop {
    Cancelled,
}

/// Waits `ms`, or returns early when the run is cancelled.
async fn pause(cancel: &mut watch::Receiver<bool>, ms: u64) -> Result<(), Stop> {
    if *cancel.borrow() {
        return Err(Stop::Cancelled);
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(ms)) => Ok(()),
        _ = cancel.wait_for(|c| *c) => Err(Stop::Cancelled),
    }
}

/// What the turn has produced so far (saved at the end, or partially on cancel).
#[derive(Default)]
struct Produced {
    /// Saved assistant/tool rows of the finished steps.
    rows: Vec<Value>,
    tool_summaries: Vec<Value>,
    /// Prose of the current (unfinished) assistant message.
    text: String,
    reasoning: String,
    tokens: u64,
}

fn metering(
    sid: &str,
    tokens: u64,
    started: Instant,
    ttft: Option<u64>,
    with_usage: bool,
) -> Value {
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let tps = if tokens > 1 {
        Some(((tokens as f64 / secs) * 10.0).round() / 10.0)
    } else {
        None
    };
    let mut m = json!({
        "tps": tps,
        "tps_available": tps.is_some(),
        "estimated": false,
        "high": tps,
        "low": tps,
        "active": 1,
        "ttft_ms": ttft,
        "session_id": sid,
    });
    if with_usage {
        m["usage"] = json!({
            "input_tokens": 0,
            "output_tokens": 0,
            "estimated_cost": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "cache_hit_percent": null,
            "context_length": 131072,
            "threshold_tokens": 98304,
            "last_prompt_tokens": 0,
            "post_compression_context_tokens_estimate": null
        });
    }
    m
}

/// Runs one turn of `sid` on `stream_id`.
pub async fn run(
    app: Arc<App>,
    sid: String,
    stream_id: String,
    message: String,
    model: String,
    mut cancel: watch::Receiver<bool>,
) {
    let mut plan = Plan::from_message(&message);
    if message.contains("[[model]]") {
        // `[[model]]`: say which model the turn runs on (as the scripted model does for the
        // real backend).
        plan.steps = vec![Step::Text(format!("model: {model}"))];
    }
    let started = Instant::now();
    let mut out = Produced::default();
    let mut ttft: Option<u64> = None;
    let mut sid_now = sid.clone();
    app.put(
        &stream_id,
        "context_status",
        json!({
            "session_id": sid,
            "prefill": {
                "status": "not_configured",
                "source": "none",
                "label": "",
                "message_count": 0
            }
        }),
    );

    let result: Result<(), Stop> = async {
        pause(&mut cancel, plan.ttft_ms).await?;
        if plan.reasoning_words > 0 {
            let words: Vec<String> = (0..plan.reasoning_words)
                .map(|i| format!("think{i}"))
                .collect();
            for chunk in words.chunks(4) {
                let text = if out.reasoning.is_empty() {
                    chunk.join(" ")
                } else {
                    format!(" {}", chunk.join(" "))
                };
                out.reasoning.push_str(&text);
                app.put(&stream_id, "reasoning", json!({"text": text}));
                pause(&mut cancel, plan.pace_ms * 2).await?;
            }
        }
        if plan.compress {
            app.put(
                &stream_id,
                "compressing",
                json!({
                    "session_id": sid_now,
                    "message": "Compressing context"
                }),
            );
            pause(&mut cancel, 300).await?;
            let new_id = app.rotate_session(&sid_now);
            app.put(
                &stream_id,
                "compressed",
                json!({
                    "session_id": new_id,
                    "old_session_id": sid_now,
                    "new_session_id": new_id,
                    "continuation_session_id": new_id,
                    "message": "Context compressed: earlier messages were summarised",
                    "usage": {"input_tokens": 0, "output_tokens": 0}
                }),
            );
            sid_now = new_id;
        }
        let mut call_n = 0;
        let steps = plan.steps.clone();
        for (si, step) in steps.iter().enumerate() {
            match step {
                Step::Text(text) => {
                    let pieces = tokenize(text);
                    for (i, piece) in pieces.iter().enumerate() {
                        // A provider error comes before any token (the provider answers the
                        // agent's request with an HTTP error, as the scripted model does).
                        if plan.error.is_some() {
                            break;
                        }
                        let _ = i;
                        let piece =
                            if si > 0 && i == 0 && out.text.is_empty() && !out.rows.is_empty() {
                                format!("\n\n{}", piece.trim_start())
                            } else {
                                piece.clone()
                            };
                        out.text.push_str(&piece);
                        out.tokens += 1;
                        app.put(&stream_id, "token", json!({"text": piece}));
                        if ttft.is_none() {
                            ttft = Some(started.elapsed().as_millis() as u64);
                        }
                        if out.tokens % 4 == 0 {
                            app.put(
                                &stream_id,
                                "metering",
                                metering(&sid_now, out.tokens, started, ttft, true),
                            );
                        }
                        pause(&mut cancel, plan.pace_ms).await?;
                    }
                }
                Step::Tool { command, fail } => {
                    call_n += 1;
                    let tid = format!("call_{}", hex_id(8));
                    let args = json!({"command": command});
                    app.put(
                        &stream_id,
                        "tool",
                        json!({
                            "event_type": "tool.started",
                            "name": "terminal",
                            "preview": null,
                            "args": args,
                            "tid": tid
                        }),
                    );
                    let tool_started = Instant::now();
                    let mut approval_note = None;
                    let mut denied = false;
                    let pattern = danger(command)
                        .filter(|p| !app.allowed.lock().expect("allowed").allows(&sid_now, p));
                    if let Some(pattern) = pattern {
                        let token = hex_id(32);
                        let approval = json!({
                            "command": command,
                            "pattern_key": pattern,
                            "pattern_keys": [pattern],
                            "description": pattern,
                            "allow_permanent": true,
                            "_webui_mirror_token": token,
                            "approval_id": format!("gwlocal:{token}"),
                            "_gateway_mirror": true,
                            "_gateway_mirror_token": token,
                        });
                        let (tx, rx) = oneshot::channel();
                        app.add_prompt(
                            &sid_now,
                            crate::Prompt::Approval {
                                id: format!("gwlocal:{token}"),
                                value: approval.clone(),
                                answer: tx,
                            },
                        );
                        let mut ev = approval;
                        ev["pending_count"] = json!(1);
                        app.put(&stream_id, "approval", ev);
                        let choice = tokio::select! {
                            r = rx => r.unwrap_or_else(|_| "deny".into()),
                            _ = cancel.wait_for(|c| *c) => {
                                app.clear_prompts(&sid_now);
                                return Err(Stop::Cancelled)
                            }
                        };
                        denied = choice == "deny";
                        app.allowed
                            .lock()
                            .expect("allowed")
                            .answered(&sid_now, pattern, &choice);
                        if !denied {
                            approval_note = Some(format!(
                                "Command required approval ({pattern}) and was approved by the \
                                 user."
                            ));
                        }
                    }
                    // `sleep N` takes its N seconds, as the real terminal tool does.
                    let sleep_ms = command
                        .strip_prefix("sleep ")
                        .and_then(|n| n.trim().parse::<f64>().ok())
                        .map_or(150, |n| (n * 1000.0) as u64);
                    pause(&mut cancel, sleep_ms).await?;
                    let output = command
                        .strip_prefix("echo ")
                        .map(echo_output)
                        .unwrap_or_default();
                    let failed = *fail;
                    let mut result = if *fail {
                        json!({
                            "output": "",
                            "exit_code": 127,
                            "error": format!(
                                "{}: command not found",
                                command.split_whitespace().next().unwrap_or("")
                            )
                        })
                    } else if denied {
                        json!({"output": "", "exit_code": -1, "error": DENIED, "status": "blocked"})
                    } else {
                        json!({"output": output, "exit_code": 0, "error": null})
                    };
                    if let Some(n) = approval_note {
                        result["approval"] = json!(n);
                    }
                    // Upstream's card shows the output alone when there is one, the blocked
                    // message for a denial, and the whole result otherwise.
                    let preview = if denied {
                        DENIED.to_string()
                    } else if output.is_empty() || failed || result.get("approval").is_some() {
                        result.to_string()
                    } else {
                        output.clone()
                    };
                    let duration = (tool_started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
                    app.put(
                        &stream_id,
                        "tool_complete",
                        json!({
                            "event_type": "tool.completed",
                            "name": "terminal",
                            "preview": preview,
                            "args": args,
                            "tid": tid,
                            "duration": duration,
                            "is_error": failed
                        }),
                    );
                    out.rows.push(json!({
                        "role": "assistant",
                        "content": out.text.trim(),
                        "reasoning": null,
                        "finish_reason": "tool_calls",
                        "tool_calls": [{
                            "id": tid,
                            "call_id": tid,
                            "response_item_id": format!("fc_{}", &tid[5..]),
                            "type": "function",
                            "function": {"name": "terminal", "arguments": args.to_string()}
                        }]
                    }));
                    // As the agent: a steer that came during the tool is appended to its
                    // result, marked, and the model answers it.
                    let steer = app.drain_steer(&stream_id);
                    let content = match &steer {
                        Some(t) => format!("{result}{}", pane_core::steer::marker(t)),
                        None => result.to_string(),
                    };
                    out.rows.push(json!({
                        "role": "tool",
                        "name": "terminal",
                        "tool_name": "terminal",
                        "content": content,
                        "tool_call_id": tid
                    }));
                    out.tool_summaries.push(json!({
                        "name": "terminal",
                        "snippet": preview,
                        "tid": tid,
                        "assistant_msg_idx": call_n,
                        "args": args,
                        "is_error": failed,
                        "duration": duration
                    }));
                    out.text.clear();
                    let mut said = if failed {
                        format!("\n\nThe command `{command}` failed.")
                    } else {
                        format!("\n\nTool said: {result}")
                    };
                    if let Some(t) = steer {
                        said.push_str(&steered(&t));
                    }
                    for piece in tokenize(&said) {
                        out.text.push_str(&piece);
                        out.tokens += 1;
                        app.put(&stream_id, "token", json!({"text": piece}));
                        ttft.get_or_insert(started.elapsed().as_millis() as u64);
                        pause(&mut cancel, plan.pace_ms).await?;
                    }
                }
                Step::Clarify { question, choices } => {
                    let tid = format!("call_{}", hex_id(8));
                    let args = json!({"question": question, "choices": format!("{choices:?}")});
                    app.put(
                        &stream_id,
                        "tool",
                        json!({
                            "event_type": "tool.started",
                            "name": "clarify",
                            "preview": null,
                            "args": args,
                            "tid": tid
                        }),
                    );
                    let id = hex_id(12);
                    let t = now();
                    let clarify = json!({
                        "question": question,
                        "choices_offered": choices,
                        "session_id": sid_now,
                        "kind": "clarify",
                        "requested_at": t,
                        "timeout_seconds": 3600,
                        "expires_at": t + 3600.0,
                        "clarify_id": id
                    });
                    let (tx, rx) = oneshot::channel();
                    app.add_prompt(
                        &sid_now,
                        crate::Prompt::Clarify {
                            id: id.clone(),
                            value: clarify.clone(),
                            answer: tx,
                        },
                    );
                    app.put(&stream_id, "clarify", clarify);
                    let answer = tokio::select! {
                        r = rx => r.unwrap_or_default(),
                        _ = cancel.wait_for(|c| *c) => {
                            app.clear_prompts(&sid_now);
                            return Err(Stop::Cancelled)
                        }
                    };
                    let result = json!({
                        "question": question,
                        "choices_offered": choices,
                        "user_response": answer
                    });
                    app.put(
                        &stream_id,
                        "tool_complete",
                        json!({
                            "event_type": "tool.completed",
                            "name": "clarify",
                            "preview": result.to_string(),
                            "args": args,
                            "tid": tid,
                            "is_error": false
                        }),
                    );
                    out.rows.push(json!({
                        "role": "assistant",
                        "content": out.text.trim(),
                        "reasoning": null,
                        "finish_reason": "tool_calls",
                        "tool_calls": [{
                            "id": tid,
                            "call_id": tid,
                            "type": "function",
                            "function": {
                                "name": "clarify",
                                "arguments": json!({
                                    "question": question,
                                    "choices": choices
                                })
                                .to_string()
                            }
                        }]
                    }));
                    out.rows.push(json!({
                        "role": "tool",
                        "name": "clarify",
                        "tool_name": "clarify",
                        "content": result.to_string(),
                        "tool_call_id": tid
                    }));
                    out.tool_summaries.push(json!({
                        "name": "clarify",
                        "snippet": result.to_string(),
                        "tid": tid,
                        "assistant_msg_idx": out.rows.len() - 1,
                        "args": args
                    }));
                    out.text = format!("\n\nYou chose: {answer}");
                    app.put(&stream_id, "token", json!({"text": out.text}));
                    pause(&mut cancel, plan.pace_ms).await?;
                }
                Step::Todo(items) => {
                    // As the agent's `todo` tool: the whole list, then `todo_state`.
                    let tid = format!("call_{}", hex_id(8));
                    let todos: Vec<Value> = items
                        .iter()
                        .enumerate()
                        .map(|(i, (c, st))| {
                            json!({"id": (i + 1).to_string(), "content": c, "status": st})
                        })
                        .collect();
                    let count = |k: &str| todos.iter().filter(|t| t["status"] == k).count();
                    let summary = json!({
                        "total": todos.len(),
                        "pending": count("pending"),
                        "in_progress": count("in_progress"),
                        "completed": count("completed"),
                        "cancelled": count("cancelled")
                    });
                    let args = json!({"todos": todos});
                    app.put(
                        &stream_id,
                        "tool",
                        json!({
                            "event_type": "tool.started",
                            "name": "todo",
                            "preview": null,
                            "args": args,
                            "tid": tid
                        }),
                    );
                    pause(&mut cancel, 100).await?;
                    let result = json!({"todos": todos, "summary": summary});
                    app.put(
                        &stream_id,
                        "tool_complete",
                        json!({
                            "event_type": "tool.completed",
                            "name": "todo",
                            "preview": result.to_string(),
                            "args": args,
                            "tid": tid,
                            "is_error": false
                        }),
                    );
                    let t = now();
                    app.put(
                        &stream_id,
                        "todo_state",
                        json!({
                            "session_id": sid_now,
                            "stream_id": stream_id,
                            "source": "tool",
                            "ts": t,
                            "todos": todos,
                            "summary": summary,
                            "version": 1
                        }),
                    );
                    if let Some(s) = app.sessions.lock().expect("sessions").get_mut(&sid_now) {
                        s.todo_state = Some(json!({
                            "todos": todos, "summary": summary, "version": 1, "ts": t
                        }));
                    }
                    out.rows.push(json!({
                        "role": "assistant",
                        "content": out.text.trim(),
                        "reasoning": null,
                        "finish_reason": "tool_calls",
                        "tool_calls": [{
                            "id": tid,
                            "call_id": tid,
                            "type": "function",
                            "function": {"name": "todo", "arguments": args.to_string()}
                        }]
                    }));
                    out.rows.push(json!({
                        "role": "tool",
                        "name": "todo",
                        "tool_name": "todo",
                        "content": result.to_string(),
                        "tool_call_id": tid
                    }));
                    out.tool_summaries.push(json!({
                        "name": "todo",
                        "snippet": result.to_string(),
                        "tid": tid,
                        "assistant_msg_idx": out.rows.len() - 1,
                        "args": args
                    }));
                    out.text = "\n\nPlan updated.".to_string();
                    app.put(&stream_id, "token", json!({"text": out.text}));
                    pause(&mut cancel, plan.pace_ms).await?;
                }
            }
        }
        Ok(())
    }
    .await;

    let duration = started.elapsed().as_secs_f64();
    if let Err(Stop::Cancelled) = result {
        // The cancel endpoint already saved the partial turn and pushed `cancel`.
        app.finish_stream(&stream_id);
        return;
    }
    if let Some(kind) = plan.error.clone() {
        let e = ProviderError::of(&kind);
        if e.kind == "rate_limit" {
            app.put(&stream_id, "warning", json!({
                "type": "fallback",
                "message": format!("\u{274c} Rate limited after 1 retries \u{2014} {}", e.message)
            }));
        }
        let rows = if out.rows.is_empty() && out.text.trim().is_empty() {
            Vec::new()
        } else {
            out_rows(&out, true)
        };
        let session = app.settle_turn(
            &sid_now,
            &stream_id,
            &rows,
            &out.tool_summaries,
            Some(&e),
            plan.title.clone(),
            duration,
        );
        app.put(
            &stream_id,
            "apperror",
            json!({
                "message": e.message,
                "type": e.kind,
                "hint": e.hint,
                "details": e.message,
                "session_id": sid_now,
                "old_session_id": sid,
                "session": session,
                "stream_id": stream_id,
            }),
        );
        app.finish_stream(&stream_id);
        return;
    }
    // A steer the turn ended before using (no tool result after it) is dropped, as the real
    // backend does: its webui would send `pending_steer_leftover`, but hermes-agent 0.19 moves
    // the leftover into its result's `pending_steer` first, which the webui does not read. The
    // pane re-sends what it sees unused (`SessionRuntime::settle_steers`).
    app.drain_steer(&stream_id);
    let rows = out_rows(&out, false);
    let first_turn = app.is_first_turn(&sid_now);
    if let Some(c) = plan.cost {
        if let Some(s) = app.sessions.lock().expect("sessions").get_mut(&sid_now) {
            s.estimated_cost += c;
        }
    }
    let session = app.settle_turn(
        &sid_now,
        &stream_id,
        &rows,
        &out.tool_summaries,
        None,
        plan.title.clone(),
        duration,
    );
    let tps = ((out.tokens as f64 / duration.max(0.001)) * 10.0).round() / 10.0;
    app.put(
        &stream_id,
        "done",
        json!({
            "session": session,
            "usage": {
                "input_tokens": 100,
                "output_tokens": out.tokens,
                "estimated_cost": session["estimated_cost"].as_f64().unwrap_or(0.0),
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "cache_hit_percent": null,
                "turn_cache_hit_percent": null,
                "duration_seconds": (duration * 1000.0).round() / 1000.0,
                "tps": tps,
                "ttft_ms": ttft,
                "used_model": "fake-model",
                "context_length": 131072,
                "threshold_tokens": 98304,
                "last_prompt_tokens": 100,
                "post_compression_context_tokens_estimate": null
            }
        }),
    );
    app.put(
        &stream_id,
        "metering",
        metering(&sid_now, out.tokens, started, ttft, false),
    );
    if first_turn || plan.title.is_some() {
        let title = plan.title.clone().unwrap_or_else(|| make_title(&message));
        tokio::time::sleep(Duration::from_millis(40)).await;
        app.put(
            &stream_id,
            "title_status",
            json!({"session_id": sid_now, "status": "llm", "reason": "llm", "title": title}),
        );
        app.set_title(&sid_now, &title, false);
        app.put(
            &stream_id,
            "title",
            json!({"session_id": sid_now, "title": title}),
        );
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    app.put(&stream_id, "stream_end", json!({"session_id": sid}));
    app.finish_stream(&stream_id);
}

/// A provider error as upstream words it (`_classify_provider_error`) for the HTTP error the
/// scripted model answers `[[error:KIND]]` with.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    pub kind: String,
    pub label: &'static str,
    pub message: String,
    pub hint: &'static str,
}

impl ProviderError {
    pub fn of(kind: &str) -> ProviderError {
        let status = crate::openai::error_status(kind);
        let message = format!("HTTP {status}: {}", crate::openai::error_message(kind));
        let (kind, label, hint) = match kind {
            "rate_limit" => (
                "rate_limit",
                "Rate limit reached",
                "Rate limit reached. The fallback model (if configured) was also exhausted. \
                 Try again in a moment.",
            ),
            "quota_exhausted" => (
                "quota_exhausted",
                "Out of credits",
                "Your provider account is out of credits or usage. Top up, wait for the plan \
                 window to reset, or switch providers via `hermes model`.",
            ),
            "auth" => (
                "auth_mismatch",
                "Authentication failed",
                "The selected model may not be supported by your configured provider or your API \
                 key is invalid. Run `hermes model` in your terminal to update credentials, \
                 then restart the WebUI.",
            ),
            "model_not_found" => (
                "model_not_found",
                "Model not found",
                "The selected model was not found by the provider. Check the model ID in Settings \
                 or run `hermes model` to verify it exists for your provider.",
            ),
            _ => ("error", "Error", ""),
        };
        ProviderError {
            kind: kind.to_string(),
            label,
            message,
            hint,
        }
    }

    /// The saved error bubble's text.
    pub fn bubble(&self) -> String {
        if self.hint.is_empty() {
            format!("**{}:** {}", self.label, self.message)
        } else {
            format!("**{}:** {}\n\n*{}*", self.label, self.message, self.hint)
        }
    }
}

fn out_rows(out: &Produced, partial: bool) -> Vec<Value> {
    let mut rows = out.rows.clone();
    let text = out.text.trim();
    if !text.is_empty() || rows.is_empty() {
        let mut m = json!({
            "role": "assistant",
            "content": text,
            "reasoning": if out.reasoning.is_empty() { Value::Null } else { json!(out.reasoning) },
            "finish_reason": "stop"
        });
        if !out.reasoning.is_empty() {
            m["reasoning_content"] = json!(out.reasoning);
        }
        if partial {
            m["_partial"] = json!(true);
        }
        rows.push(m);
    }
    rows
}

/// A short title from the first message (the "title generation" of the first turn).
pub fn make_title(message: &str) -> String {
    let stripped = strip_markers(message);
    let words: Vec<&str> = stripped.split_whitespace().take(6).collect();
    if words.is_empty() {
        return "New conversation".into();
    }
    let mut t = words.join(" ");
    if let Some(first) = t.get(..1) {
        t = first.to_uppercase() + &t[1..];
    }
    t.chars().take(60).collect()
}

/// The saved session JSON after a turn (used by settle).
pub fn session_value(s: &Session) -> Value {
    saved_session_json(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reply_can_come_in_paragraphs() {
        let p = Plan::from_message("x [[tokens=5]] [[para=2]]");
        assert_eq!(
            p.steps,
            vec![Step::Text(" tok1 tok2\n\ntok3 tok4\n\ntok5".into())]
        );
    }

    #[test]
    fn markers_pick_the_script() {
        let p = Plan::from_message("Please run [[tool:echo hi]]");
        assert_eq!(
            p.steps[0],
            Step::Tool {
                command: "echo hi".into(),
                fail: false
            }
        );
        let p = Plan::from_message("Cancel me [[tokens=3]] [[delay=50]]");
        assert_eq!(p.pace_ms, 50);
        assert_eq!(p.steps, vec![Step::Text(" tok1 tok2 tok3".into())]);
        let p = Plan::from_message("Deploy it [[clarify:Which target?|staging|prod]]");
        assert_eq!(
            p.steps[0],
            Step::Clarify {
                question: "Which target?".into(),
                choices: vec!["staging".into(), "prod".into()]
            }
        );
        let p = Plan::from_message("hello");
        assert!(matches!(&p.steps[0], Step::Text(t) if t.contains("```rust")));
        assert_eq!(strip_markers("a [[echo]] b"), "a  b");
    }

    #[test]
    fn tokens_keep_their_leading_space_and_rejoin_exactly() {
        let text = "Hello there, world.\n\nNext  line";
        assert_eq!(tokenize(text).concat(), text);
        let big = bulk_text(200_000);
        assert_eq!(tokenize(&big).concat(), big);
    }

    #[test]
    fn dangerous_commands_need_approval_by_kind() {
        assert_eq!(danger("rm -rf ./x"), Some("recursive delete"));
        assert_eq!(danger("find ./x -delete"), Some("find -delete"));
        assert_eq!(
            danger("chmod -R 777 ./x"),
            Some("world/other-writable permissions")
        );
        assert_eq!(danger("echo hi"), None);
        assert_eq!(danger("rm ./file"), None);
    }

    #[test]
    fn echo_undoes_the_shells_quoting() {
        assert_eq!(echo_output("hi"), "hi");
        assert_eq!(echo_output("'a b'  \"c\""), "a b c");
        assert_eq!(
            echo_output("'self['\\''__pwned'\\'']=4'"),
            "self['__pwned']=4"
        );
    }
}
