//! The browser scenarios whose behaviour comes from the backend: each is defined once here and
//! runs on the stand-in (`tests/e2e.rs`) and on the real Hermes WebUI in both embeddings
//! (`tests/real.rs`). Each is named after what it pins; every wait is on a condition with a
//! hang guard. Where a check needs the stand-in's fault injector, or the real backend's
//! workspace, it says so with `server.kind`.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use pane_e2e::*;

mod control;
pub use control::*;
mod render;
pub use render::*;
use serde_json::{json, Value};

/// Hang guard for one condition.
pub const T: Duration = Duration::from_secs(45);

pub fn row(sid: &str) -> String {
    format!("[data-testid=session-row][data-session-id=\"{sid}\"]")
}

/// Clicks a session's sidebar row and waits until its pane is the shown one. Rows re-sort
/// when a turn ends (running rows first, as the backend orders them), so a click can land on
/// the row that just moved under the pointer: then the pane shows that other session, and the
/// click is repeated (said on stderr), as a person would.
pub async fn show(b: &Browser, sid: &str) {
    let shown = format!(
        "return document.querySelector('.pane:not(.hidden)')?.dataset.sessionId === '{sid}'"
    );
    let target = format!("{} .row-main", row(sid));
    for attempt in 1..=3 {
        // The pointer comes first, as a person's does: rows keep their places while it is over
        // the list, so the click lands on the row it was aimed at. (Clicked at once, the list
        // could re-order between WebDriver finding the row and the click — eight running
        // sessions re-order it often — and the click hit the row that had moved there.)
        b.hover(&target).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.click(&target).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if b.js(&shown).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let state = b
            .js("return JSON.stringify({path: location.pathname, shown: \
                 [...document.querySelectorAll('.pane:not(.hidden)')].map(p => \
                 p.dataset.sessionId), panes: [...document.querySelectorAll('.pane')].map(p => \
                 p.dataset.sessionId), fatal: document.body.dataset.paneFatal || null})")
            .await;
        eprintln!("click {attempt} on {sid}'s row did not show it: {state}");
    }
    b.wait("the pane to switch", T, &shown).await;
}

/// Starts a session with a first message through the UI; returns its id.
pub async fn start(b: &Browser, text: &str) -> String {
    let sid = new_session(b).await;
    send(b, text).await;
    b.wait(
        "the reply to start",
        T,
        &format!(
            "return document.querySelector('{SHOWN} [data-streaming]') !== null || \
             document.querySelector('{SHOWN} [data-role=assistant]:not(.live)') !== null"
        ),
    )
    .await;
    sid
}

/// Waits until the shown pane has settled (no live turn, not busy) and returns its reply text.
pub async fn settled_reply(b: &Browser) -> String {
    b.wait(
        "the shown reply to settle",
        T,
        &format!(
            "return document.querySelector('{SHOWN} [data-streaming]') === null && \
             document.querySelector('{SHOWN} [data-testid=pane-status]')?.dataset.status === 'idle'"
        ),
    )
    .await;
    b.js(SHOWN_REPLY_JS)
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits until the shown pane's last settled reply reads exactly `text`.
pub async fn wait_reply(b: &Browser, text: &str) {
    b.wait(
        &format!("the reply {text:?}"),
        T,
        &format!(
            "const r = (() => {{ {SHOWN_REPLY_JS} }})(); return r === {}",
            Value::from(text)
        ),
    )
    .await;
}

/// `window.__hermesPane.transports()` as JSON.
pub async fn transports(b: &Browser) -> Vec<Value> {
    let v = b.js("return window.__hermesPane.transports()").await;
    serde_json::from_str(v.as_str().unwrap()).unwrap()
}

pub fn expected_tokens(n: usize) -> String {
    (1..=n)
        .map(|i| format!("tok{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The live text of `sid` was painted as prefixes of the settled turn shown now (see
/// `pane_e2e::live`): no token doubled, lost or out of order while streaming.
pub async fn assert_live(b: &Browser, sid: &str) {
    let samples = live_samples(b).await;
    let settled = final_text(b).await;
    let n = assert_live_text(&samples, sid, &settled);
    eprintln!("{sid}: {n} live texts painted, each a prefix of the settled one");
}

/// A unique directory name for a real-workspace check.
fn unique(tag: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        % 1_000_000_000;
    format!("{tag}-{n}")
}

/// On the real backend, makes `dir` in its workspace (the terminal tool's cwd).
fn make_dir(server: &Server, dir: &str) {
    if let Some(ws) = server.workspace() {
        std::fs::create_dir_all(ws.join(dir)).expect("workspace dir");
    }
}

/// On the real backend, the command that was to remove `dir` really ran (the stand-in runs
/// no command: there the saved tool result is the evidence).
fn assert_ran(server: &Server, dir: &str, what: &str) {
    if let Some(ws) = server.workspace() {
        assert!(
            !ws.join(dir).exists(),
            "{what}: the command ran, {dir} is gone"
        );
    }
}

/// On the real backend, the command that was to remove `dir` did not run.
fn assert_not_ran(server: &Server, dir: &str, what: &str) {
    if let Some(ws) = server.workspace() {
        assert!(
            ws.join(dir).exists(),
            "{what}: the command did not run, {dir} is still there"
        );
    }
}

/// The content of the last saved `tool` message of `sid`.
async fn last_tool_result(server: &Server, sid: &str) -> String {
    let m = server.messages(sid).await;
    m.iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------------------------

pub async fn basic_turn_renders_markdown_and_code_and_the_sidebar_shows_the_title(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "Show me what you can render").await;
    let text = settled_reply(&b).await;
    assert!(text.contains("Here is what I can render"), "{text}");
    let langs = b
        .js(&format!(
            "return [...document.querySelectorAll('{SHOWN} .code-block code')].map(c => \
             c.className).join(' ')"
        ))
        .await;
    for l in [
        "language-rust",
        "language-python",
        "language-bash",
        "language-json",
    ] {
        assert!(langs.as_str().unwrap().contains(l), "{langs}");
    }
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll('{SHOWN} .md table tr').length"
        ))
        .await,
        3,
        "the markdown table rendered"
    );
    assert!(
        b.js(&format!(
            "return document.querySelectorAll('{SHOWN} .tok-keyword').length"
        ))
        .await
        .as_u64()
        .unwrap()
            > 3,
        "code is highlighted"
    );
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll('{SHOWN} [data-testid=copy-code]').length"
        ))
        .await,
        4,
        "each code block has a copy button"
    );
    let link = b
        .js(&format!(
            "return document.querySelector('{SHOWN} .md a').rel"
        ))
        .await;
    assert_eq!(link, "noopener noreferrer");
    server.wait_idle(&sid, T).await;
    let title = b
        .wait(
            "the generated title in the sidebar",
            T,
            &format!(
                "const r = document.querySelector('{} [data-testid=row-title]'); return r && \
                 r.textContent === 'Show me what you can render' ? r.textContent : null",
                row(&sid)
            ),
        )
        .await;
    assert_eq!(title, Value::from("Show me what you can render"));
    b.wait(
        "the row to show idle",
        T,
        &format!(
            "return document.querySelector('{}').dataset.state === 'idle' || null",
            row(&sid)
        ),
    )
    .await;
    // The title stays (a list answer that was on its way when it arrived must not put the
    // provisional one back): the pane header agrees, a second later too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{} [data-testid=row-title]').textContent",
            row(&sid)
        ))
        .await,
        "Show me what you can render"
    );
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=pane-title]').textContent"
        ))
        .await,
        "Show me what you can render"
    );
}

pub async fn a_tool_call_shows_a_card_that_completes_with_its_result(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let sid = start(
        &b,
        "Run it [[tool:echo hello-from-the-tool]] [[tokens=40]] [[delay=20]] [[ttft=0]]",
    )
    .await;
    b.wait(
        "a running or finished tool card",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=tool-card]') !== null"),
    )
    .await;
    server.wait_idle(&sid, T).await;
    let text = settled_reply(&b).await;
    assert!(
        text.starts_with("Tool said:") && text.ends_with(&expected_tokens(40)),
        "{text}"
    );
    let card = b
        .js(&format!(
            "const c = document.querySelector('{SHOWN} [data-testid=tool-card]'); return {{status: \
             c.dataset.status, tool: c.dataset.tool, n: document.querySelectorAll('{SHOWN} \
             [data-testid=tool-card]').length}}"
        ))
        .await;
    assert_eq!(card["status"], "done", "{card}");
    assert_eq!(card["tool"], "terminal", "{card}");
    assert_eq!(card["n"], 1, "one card: {card}");
    b.js(&format!(
        "document.querySelectorAll('{SHOWN} [data-testid=tool-card] details').forEach(d => d.open \
         = true); return true"
    ))
    .await;
    let preview = b
        .js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=tool-preview]')?.textContent || ''"
        ))
        .await;
    assert!(
        preview.as_str().unwrap().contains("hello-from-the-tool"),
        "the card shows the result: {preview}"
    );
    assert_eq!(text, saved_reply(&server.messages(&sid).await));
    assert_live(&b, &sid).await;
}

pub async fn reasoning_is_shown_apart_from_the_answer_live_and_after_a_reload(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let sid = start(
        &b,
        "Think first [[reasoning=12]] [[tokens=30]] [[delay=20]] [[ttft=0]]",
    )
    .await;
    b.wait(
        "the live reasoning",
        T,
        &format!(
            "return (document.querySelector('{SHOWN} [data-testid=reasoning]')?.textContent || \
             '').includes('think0')"
        ),
    )
    .await;
    server.wait_idle(&sid, T).await;
    assert_eq!(
        settled_reply(&b).await,
        expected_tokens(30),
        "the answer holds no reasoning"
    );
    let thought = (0..12)
        .map(|i| format!("think{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let shown = b
        .js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=reasoning] \
             .reasoning-text')?.textContent"
        ))
        .await;
    assert_eq!(
        shown,
        Value::from(thought.as_str()),
        "the settled turn keeps its reasoning"
    );
    assert_live(&b, &sid).await;
    b.js("location.reload(); return true").await;
    b.wait(
        "the app after reload",
        T,
        "return document.querySelector('[data-testid=sidebar]') !== null && window.__hermesPane \
         !== undefined",
    )
    .await;
    b.wait(
        "the reasoning after a reload",
        T,
        &format!(
            "return document.querySelector('{SHOWN} [data-testid=reasoning] \
             .reasoning-text')?.textContent === {}",
            Value::from(thought.as_str())
        ),
    )
    .await;
}

pub async fn a_second_turn_builds_on_the_first(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "first turn [[tokens=6]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(6)).await;
    server.wait_idle(&sid, T).await;
    send(&b, "second turn [[tokens=90]] [[delay=15]] [[ttft=0]]").await;
    b.wait(
        "the second reply streaming",
        T,
        &format!("return document.querySelector('{SHOWN} [data-streaming]') !== null"),
    )
    .await;
    server.wait_idle(&sid, T).await;
    wait_reply(&b, &expected_tokens(90)).await;
    assert_live(&b, &sid).await;
    let shown = b
        .js(&format!(
            "return [...document.querySelectorAll('{SHOWN} [data-role]:not(.live)')].map(e => \
             e.dataset.role + ':' + (e.querySelector('.md, [data-testid=user-text]')?.innerText || \
             '')).join('\\n')"
        ))
        .await;
    let expected = format!(
        "user:first turn [[tokens=6]] [[ttft=0]]\nassistant:{}\nuser:second turn [[tokens=90]] \
         [[delay=15]] [[ttft=0]]\nassistant:{}",
        expected_tokens(6),
        expected_tokens(90)
    );
    assert_eq!(
        shown,
        Value::from(expected.as_str()),
        "both turns, in order, as typed"
    );
    let saved = server.messages(&sid).await;
    assert_eq!(
        saved.iter().filter(|m| m["role"] == "user").count(),
        2,
        "{saved:?}"
    );
}

pub async fn switching_mid_stream_reuses_transports_and_every_text_matches_the_server(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            start(
                &b,
                &format!("session {i} [[tokens=700]] [[delay=15]] [[ttft=0]]"),
            )
            .await,
        );
    }
    // `start` returns once the reply shows (the optimistic turn paints before `chat/start`
    // answers): wait for the last session's transport to open.
    b.wait(
        "a transport per running session",
        T,
        "return JSON.parse(window.__hermesPane.transports()).filter(t => t.readyState === \
         1).length === 3 || null",
    )
    .await;
    let before = transports(&b).await;
    assert_eq!(
        before.len(),
        3,
        "one transport per running session: {before:?}"
    );
    let created = b.js("return window.__hermesPane.created()").await;
    // 50 pseudo-random switches (deterministic LCG), including back to the same one.
    let mut x: u64 = 12345;
    for _ in 0..50 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let sid = &ids[(x >> 33) as usize % 3];
        show(&b, sid).await;
    }
    let after = transports(&b).await;
    for t in &after {
        let same = before
            .iter()
            .find(|o| o["stream"] == t["stream"])
            .expect("no new stream appeared");
        assert_eq!(
            same["serial"], t["serial"],
            "the same EventSource object is reused on switch-back"
        );
    }
    assert_eq!(
        b.js("return window.__hermesPane.created()").await,
        created,
        "no transport was torn down and reopened"
    );
    for sid in &ids {
        server.wait_idle(sid, Duration::from_secs(90)).await;
    }
    for sid in &ids {
        show(&b, sid).await;
        let shown = settled_reply(&b).await;
        let saved = saved_reply(&server.messages(sid).await);
        assert_eq!(
            shown, saved,
            "session {sid}: visible text equals the saved reply"
        );
        assert_eq!(shown, expected_tokens(700));
        assert_live(&b, sid).await;
    }
    if server.kind == Backend::StandIn {
        let stats = server.stats().await;
        assert_eq!(
            stats["chat_streams_total"], 3,
            "the server saw exactly one stream connection per turn: {stats}"
        );
    }
}

pub async fn eight_running_sessions_stay_under_the_connection_budget_and_all_complete(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    // The list can paint before the tabs have agreed who holds the connections (it is asked
    // for before the wasm runs); the budget is set when they have.
    tabs::wait_role(&b, "leader", T).await;
    let budget = b
        .js("return window.__hermesPane.budget()")
        .await
        .as_u64()
        .unwrap();
    assert_eq!(
        budget, 3,
        "HTTP/1.1: 4 connections, one for the session list"
    );
    // Sample the open EventSources every 10 ms for the whole run.
    b.js("window.__maxOpen = 0; setInterval(() => { const n = \
          JSON.parse(window.__hermesPane.transports()).filter(t => t.readyState !== 2).length; \
          if (n > window.__maxOpen) window.__maxOpen = n; }, 10); return true")
        .await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(
            start(
                &b,
                &format!("run {i} [[tokens=260]] [[delay=25]] [[ttft=0]]"),
            )
            .await,
        );
        assert!(transports(&b).await.len() as u64 <= budget);
    }
    // While all eight run: list refreshes and session loads keep completing (hang guard 2 s).
    for sid in ids.iter().take(4) {
        let t = Instant::now();
        show(&b, sid).await;
        b.wait(
            "the session to be painted",
            Duration::from_secs(2),
            &format!("return document.querySelectorAll('{SHOWN} [data-role=user]').length > 0"),
        )
        .await;
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "switch took {:?}",
            t.elapsed()
        );
        let v = b
            .js_async(
                "const done = arguments[0]; const t = performance.now(); \
                 fetch('/api/sessions').then(r => r.json()).then(() => done(performance.now() - \
                 t), () => done(-1));",
            )
            .await;
        let ms = v.as_f64().unwrap();
        assert!(
            (0.0..2000.0).contains(&ms),
            "the session list fetch took {ms} ms"
        );
        assert!(
            transports(&b).await.len() as u64 <= budget,
            "never more transports than the budget"
        );
    }
    for sid in &ids {
        server.wait_idle(sid, Duration::from_secs(120)).await;
    }
    let max_open = b.js("return window.__maxOpen").await.as_u64().unwrap();
    assert!(
        max_open <= budget,
        "at most {budget} EventSources were ever open at once (saw {max_open})"
    );
    assert_eq!(max_open, budget, "the budget was used in full");
    if server.kind == Backend::StandIn {
        // The server notices a closed stream only at its next write, so its own count can lag
        // a park by a frame; it is reported, not asserted.
        eprintln!("server stats: {}", server.stats().await);
    }
    b.wait(
        "every transport to close",
        T,
        "return JSON.parse(window.__hermesPane.transports()).length === 0",
    )
    .await;
    for (i, sid) in ids.iter().enumerate() {
        show(&b, sid).await;
        let shown = settled_reply(&b).await;
        assert_eq!(
            shown,
            saved_reply(&server.messages(sid).await),
            "session {i}"
        );
        assert_eq!(shown, expected_tokens(260), "session {i} complete");
        if i < 4 {
            assert_live(&b, sid).await;
        }
    }
}

pub async fn reload_mid_stream_restores_the_live_turn_without_gaps_or_duplicates(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let sid = start(
        &b,
        "reload me [[tool:echo hi]] [[tokens=500]] [[delay=15]] [[ttft=0]]",
    )
    .await;
    b.wait(
        "some tokens",
        T,
        &format!(
            "return (document.querySelector('{SHOWN} [data-testid=streaming-md]')?.innerText || \
             '').includes('tok40')"
        ),
    )
    .await;
    b.js("location.reload(); return true").await;
    b.wait(
        "the app after reload",
        T,
        "return document.querySelector('[data-testid=sidebar]') !== null && window.__hermesPane \
         !== undefined",
    )
    .await;
    let live = b
        .wait(
            "the live turn back after reload",
            T,
            &format!(
                "const el = document.querySelector('{SHOWN} [data-testid=streaming-md]'); \
                 return el && el.innerText.includes('tok') ? el.innerText : null"
            ),
        )
        .await;
    let live = live.as_str().unwrap().to_string();
    let start_at = live.find("tok1 ").expect("the prefix is there");
    assert!(
        live[start_at..].starts_with("tok1 tok2 tok3"),
        "no missing prefix: {}",
        &live[..live.len().min(200)]
    );
    let counted: Vec<&str> = live[start_at..].split_whitespace().collect();
    for (i, w) in counted.iter().enumerate() {
        assert_eq!(
            *w,
            format!("tok{}", i + 1),
            "no duplicated or missing token at {i}"
        );
    }
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll('{SHOWN} [data-testid=tool-card]').length"
        ))
        .await,
        1,
        "one tool card, not two"
    );
    server.wait_idle(&sid, T).await;
    let shown = settled_reply(&b).await;
    assert_eq!(shown, saved_reply(&server.messages(&sid).await));
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll('{SHOWN} [data-testid=tool-card]').length"
        ))
        .await,
        1
    );
    // Across the reload too: every painted text, before and after, a prefix of the final one.
    assert_live(&b, &sid).await;
}

pub async fn approval_and_clarify_in_a_background_session_badge_the_row_and_continue_when_answered(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let dir = unique("demo");
    make_dir(&server, &dir);
    let a = start(
        &b,
        &format!("Clean up [[tool:rm -rf ./{dir}]] [[ttft=2500]]"),
    )
    .await;
    let c = start(
        &b,
        "Deploy it [[clarify:Which target?|staging|prod]] [[ttft=2500]]",
    )
    .await;
    let other = start(&b, "meanwhile [[tokens=400]] [[delay=20]]").await;
    // `other` is shown; both background rows wait on the user.
    b.wait(
        "the approval badge",
        T,
        &format!(
            "const r = document.querySelector('{}'); return r && r.dataset.state === 'attention' \
             && r.querySelector('[data-testid=row-badge]')?.textContent === 'Needs approval'",
            row(&a)
        ),
    )
    .await;
    b.wait(
        "the clarify badge",
        T,
        &format!(
            "const r = document.querySelector('{}'); return r && r.dataset.state === 'attention' \
             && r.querySelector('[data-testid=row-badge]')?.textContent === 'Needs answer'",
            row(&c)
        ),
    )
    .await;
    b.wait(
        "a non-blocking notice",
        T,
        "return [...document.querySelectorAll('[data-testid=toast]')].some(t => \
         t.innerText.includes('needs your approval'))",
    )
    .await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN}').dataset.sessionId"
        ))
        .await,
        other.as_str(),
        "the notice did not steal the view"
    );
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=approval-card]')"
        ))
        .await,
        Value::Null,
        "the card belongs to its own session"
    );
    assert_not_ran(&server, &dir, "before the answer");
    // Open A: its card is there; approving continues the turn.
    show(&b, &a).await;
    b.wait(
        "the approval card",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=approval-card]') !== null"),
    )
    .await;
    b.click(&format!("{SHOWN} [data-testid=approve-once]"))
        .await;
    b.wait(
        "the card to go",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=approval-card]') === null"),
    )
    .await;
    server.wait_idle(&a, T).await;
    let text = settled_reply(&b).await;
    assert!(text.contains("approved by the user"), "{text}");
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=tool-card]').dataset.status"
        ))
        .await,
        "done"
    );
    assert_ran(&server, &dir, "approved");
    // Same for clarify.
    show(&b, &c).await;
    b.wait(
        "the clarify card",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=clarify-card]') !== null"),
    )
    .await;
    b.click(&format!("{SHOWN} [data-testid=clarify-choice]"))
        .await;
    server.wait_idle(&c, T).await;
    let text = settled_reply(&b).await;
    assert!(text.contains("You chose: staging"), "{text}");
    b.wait(
        "the badges to clear",
        T,
        &format!(
            "return document.querySelector('{}').dataset.state === 'idle' && \
             document.querySelector('{}').dataset.state === 'idle'",
            row(&a),
            row(&c)
        ),
    )
    .await;
}

/// One approval turn in the shown session: sends `text`, answers its card with `choice`
/// (`None`: no card must come — the command is already allowed), and returns the saved tool
/// result once the turn is over.
async fn approval_turn(
    server: &Server,
    b: &Browser,
    sid: &str,
    text: &str,
    choice: Option<&str>,
) -> String {
    send(b, text).await;
    if let Some(choice) = choice {
        b.wait(
            "the approval card",
            T,
            &format!(
                "return document.querySelector('{SHOWN} [data-testid=approval-card]') !== null"
            ),
        )
        .await;
        b.click(&format!("{SHOWN} [data-testid=approve-{choice}]"))
            .await;
        b.wait(
            "the card to go",
            T,
            &format!(
                "return document.querySelector('{SHOWN} [data-testid=approval-card]') === null"
            ),
        )
        .await;
    }
    server.wait_idle(sid, T).await;
    settled_reply(b).await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=approval-card]')"
        ))
        .await,
        Value::Null,
        "no card is left"
    );
    last_tool_result(server, sid).await
}

pub async fn each_approval_choice_really_runs_or_blocks_the_command(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let d: Vec<String> = ["once", "again", "sess1", "sess2", "sess3", "alw1", "alw2"]
        .iter()
        .map(|t| unique(t))
        .collect();
    for dir in &d {
        make_dir(&server, dir);
    }
    // Once: this command only; the next one asks again — and is denied, so it is blocked.
    let s1 = new_session(&b).await;
    let r = approval_turn(
        &server,
        &b,
        &s1,
        &format!("[[tool:rm -rf ./{}]] [[tokens=2]] [[ttft=0]]", d[0]),
        Some("once"),
    )
    .await;
    assert!(r.contains("approved by the user"), "{r}");
    assert_ran(&server, &d[0], "approved once");
    let r = approval_turn(
        &server,
        &b,
        &s1,
        &format!("[[tool:rm -rf ./{}]] [[tokens=2]] [[ttft=0]]", d[1]),
        Some("deny"),
    )
    .await;
    assert!(r.contains("BLOCKED"), "{r}");
    assert_not_ran(&server, &d[1], "denied");
    assert!(
        settled_reply(&b).await.contains("BLOCKED"),
        "the reply says so"
    );
    // Session: the same kind of command runs without asking in this session, not in another.
    let s2 = new_session(&b).await;
    approval_turn(
        &server,
        &b,
        &s2,
        &format!("[[tool:rm -rf ./{}]] [[tokens=2]] [[ttft=0]]", d[2]),
        Some("session"),
    )
    .await;
    assert_ran(&server, &d[2], "approved for the session");
    let r = approval_turn(
        &server,
        &b,
        &s2,
        &format!("[[tool:rm -rf ./{}]] [[tokens=2]] [[ttft=0]]", d[3]),
        None,
    )
    .await;
    assert!(
        !r.contains("approval"),
        "allowed for the session, not asked: {r}"
    );
    assert_ran(&server, &d[3], "allowed for the session");
    let s3 = new_session(&b).await;
    let r = approval_turn(
        &server,
        &b,
        &s3,
        &format!("[[tool:rm -rf ./{}]] [[tokens=2]] [[ttft=0]]", d[4]),
        Some("deny"),
    )
    .await;
    assert!(r.contains("BLOCKED"), "another session asks again: {r}");
    assert_not_ran(&server, &d[4], "denied in another session");
    // Always: that kind of command runs without asking anywhere from now on. (`find -delete`,
    // a pattern no other scenario uses: the allowlist outlives the session.)
    let s4 = new_session(&b).await;
    approval_turn(
        &server,
        &b,
        &s4,
        &format!("[[tool:find ./{} -delete]] [[tokens=2]] [[ttft=0]]", d[5]),
        Some("always"),
    )
    .await;
    assert_ran(&server, &d[5], "approved always");
    let s5 = new_session(&b).await;
    let r = approval_turn(
        &server,
        &b,
        &s5,
        &format!("[[tool:find ./{} -delete]] [[tokens=2]] [[ttft=0]]", d[6]),
        None,
    )
    .await;
    assert!(!r.contains("approval"), "allowed always, not asked: {r}");
    assert_ran(&server, &d[6], "allowed always");
}

pub async fn stop_from_the_sidebar_cancels_only_that_rows_stream_and_a_next_turn_works(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let a = start(&b, "stop me [[tokens=800]] [[delay=20]] [[ttft=0]]").await;
    let bb = start(&b, "keep me [[tokens=400]] [[delay=20]] [[ttft=0]]").await;
    // Both rows listed and running: the list has taken B in (its row came in above A's) —
    // then a person finds A's stop button and clicks it. (A click within 600 ms of rows
    // moving is ignored by design: it may have been aimed at the row that was there.)
    b.wait(
        "both rows running",
        T,
        &format!(
            "return document.querySelector('{}')?.dataset.state === 'running' && \
             document.querySelector('{}')?.dataset.state === 'running'",
            row(&a),
            row(&bb)
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    b.click(&format!("{} [data-testid=row-stop]", row(&a)))
        .await;
    b.wait(
        "A idle",
        T,
        &format!(
            "return document.querySelector('{}')?.dataset.state === 'idle'",
            row(&a)
        ),
    )
    .await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{}').dataset.state",
            row(&bb)
        ))
        .await,
        "running",
        "B keeps running"
    );
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN}').dataset.sessionId"
        ))
        .await,
        bb.as_str()
    );
    server.wait_idle(&a, T).await;
    let saved_a = server.messages(&a).await;
    let last = saved_a.last().unwrap();
    assert!(
        last["content"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("cancelled"),
        "A was cancelled: {saved_a:?}"
    );
    server.wait_idle(&bb, Duration::from_secs(60)).await;
    assert_eq!(
        settled_reply(&b).await,
        expected_tokens(400),
        "B finished untouched"
    );
    show(&b, &a).await;
    b.wait(
        "A's cancel marker",
        T,
        &format!(
            "return [...document.querySelectorAll('{SHOWN} [data-testid=error-message], \
             {SHOWN} [data-testid=cancelled-marker], {SHOWN} [data-role=assistant]')].some(e => \
             e.innerText.toLowerCase().includes('cancelled'))"
        ),
    )
    .await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status"
        ))
        .await,
        "idle",
        "no stale spinner"
    );
    // The next turn in A works and leaks nothing of the stopped one.
    send(&b, "after the stop [[tokens=5]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(5)).await;
    server.wait_idle(&a, T).await;
}

pub async fn a_turn_started_elsewhere_shows_up_running_in_the_sidebar_and_is_followed(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    // Started and finished by another client before the pane opens it: the saved transcript.
    let done = server.new_session().await;
    server
        .start_turn(&done, "ended elsewhere [[tokens=12]] [[ttft=0]]")
        .await;
    server.wait_idle(&done, T).await;
    // Started by another client while the pane is open: the list learns it from
    // `sessions_changed`, and the pane follows the stream in the background.
    let sid = server.new_session().await;
    server
        .start_turn(&sid, "elsewhere [[tokens=300]] [[delay=20]] [[ttft=0]]")
        .await;
    b.wait(
        "the row running with a live preview",
        T,
        &format!(
            "const r = document.querySelector('{}'); return r && r.dataset.state === 'running' && \
             (r.querySelector('[data-testid=row-preview]')?.textContent || '').includes('tok')",
            row(&sid)
        ),
    )
    .await;
    show(&b, &sid).await;
    b.wait(
        "the live turn",
        T,
        &format!("return document.querySelector('{SHOWN} [data-streaming]') !== null"),
    )
    .await;
    server.wait_idle(&sid, T).await;
    assert_eq!(settled_reply(&b).await, expected_tokens(300));
    assert_live(&b, &sid).await;
    show(&b, &done).await;
    assert_eq!(settled_reply(&b).await, expected_tokens(12));
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=user-text]')?.innerText"
        ))
        .await,
        "ended elsewhere [[tokens=12]] [[ttft=0]]"
    );
}

pub async fn a_provider_error_is_shown_clearly_and_nothing_is_lost(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "This will fail [[error]] [[ttft=0]]").await;
    server.wait_idle(&sid, T).await;
    let err = b
        .wait(
            "the error in the transcript",
            T,
            &format!(
                "return document.querySelector('{SHOWN} [data-testid=error-message]')?.innerText"
            ),
        )
        .await;
    let err = string(&err);
    assert!(
        err.contains("Rate limit") && err.contains("429"),
        "the provider's error, said plainly: {err}"
    );
    // The message that failed is there as typed (never the agent's workspace line).
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=user-text]')?.innerText"
        ))
        .await,
        "This will fail [[error]] [[ttft=0]]"
    );
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status"
        ))
        .await,
        "idle",
        "no stale spinner"
    );
    // The next turn works.
    send(&b, "try again [[tokens=4]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(4)).await;
    server.wait_idle(&sid, T).await;
    let users: Vec<String> = server
        .messages(&sid)
        .await
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| string(&m["content"]))
        .collect();
    assert_eq!(users.len(), 2, "both messages are saved: {users:?}");
}

/// Payloads that would set `window.__pwned` if any markup ran.
pub fn xss_payloads() -> Vec<String> {
    let actions = [
        "window.__pwned=1",
        "window.__pwned=2",
        "top.__pwned=3",
        "self['__pwned']=4",
        "(window.__pwned=5)",
    ];
    let templates = [
        "<script>{}</script>",
        "<img src=x onerror=\"{}\">",
        "<svg onload=\"{}\"></svg>",
        "<body onload=\"{}\">",
        "<iframe srcdoc=\"<script>parent.{}</script>\"></iframe>",
        "<details open ontoggle=\"{}\">x</details>",
        "<input autofocus onfocus=\"{}\">",
        "<a href=\"javascript:{}\">click</a>",
        "[click](javascript:{})",
        "<div style=\"background:url(javascript:{})\">x</div>",
        "<video><source onerror=\"{}\"></video>",
        "<math><mtext><img src=x onerror=\"{}\"></mtext></math>",
        "\"><img src=x onerror=\"{}\">",
        "<object data=\"javascript:{}\"></object>",
        "<embed src=\"javascript:{}\">",
        "<marquee onstart=\"{}\">m</marquee>",
        "<form><button formaction=\"javascript:{}\">b</button></form>",
        "<scr<script>ipt>{}</scr</script>ipt>",
        "<noscript><p title=\"</noscript><img src=x onerror={}>\">",
        "![x](javascript:{})",
        "<style onload=\"{}\"></style>",
        // Images, media and math, which the pane renders from the reply.
        "MEDIA:javascript:{}",
        "![x](data:image/svg+xml,<svg onload=\"{}\"/>)",
        "$\\operatorname{<img src=x onerror=\"{}\">} x$",
        "$$\\text{<img src=x onerror=\"{}\">}$$",
        "![x](https://evil.example/x.png?{})",
    ];
    let mut out = Vec::new();
    for t in templates {
        for a in actions {
            out.push(t.replace("{}", a));
        }
    }
    out
}

/// `s` as one shell word (single-quoted): the real backend's terminal tool really runs it.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub async fn hostile_content_never_runs_and_is_shown_as_text(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let payloads = xss_payloads();
    assert!(payloads.len() >= 100, "{} payloads", payloads.len());
    // User messages + assistant replies (the agent echoes them), 15 payloads per turn.
    let sid = new_session(&b).await;
    for chunk in payloads.chunks(15) {
        server
            .start_turn(
                &sid,
                &format!("[[echo]] [[ttft=0]] [[delay=1]]\n{}", chunk.join("\n")),
            )
            .await;
        server.wait_idle(&sid, T).await;
    }
    // Tool previews (the command really runs on the real backend: one shell word) and titles.
    let tools = new_session(&b).await;
    for p in payloads.iter().step_by(10) {
        server
            .start_turn(
                &tools,
                &format!("[[tool:echo {}]] [[ttft=0]]", shell_quote(p)),
            )
            .await;
        server.wait_idle(&tools, T).await;
    }
    for p in payloads.iter().step_by(20) {
        let s = server.new_session().await;
        server
            .start_turn(&s, &format!("[[title:{p}]] [[tokens=1]] [[ttft=0]]"))
            .await;
        server.wait_idle(&s, T).await;
    }
    b.js("location.reload(); return true").await;
    open_app(&b, &server.session_url(&sid)).await;
    b.wait(
        "the echoed transcript",
        T,
        &format!(
            "return document.querySelectorAll('{SHOWN} [data-role=assistant]').length >= {}",
            payloads.chunks(15).count()
        ),
    )
    .await;
    let shown_user = b
        .js(&format!(
            "return [...document.querySelectorAll('{SHOWN} [data-testid=user-text]')].map(e => \
             e.textContent).join('\\n')"
        ))
        .await;
    for p in &payloads {
        assert!(
            shown_user.as_str().unwrap().contains(p.as_str()),
            "payload not shown verbatim as text: {p}"
        );
    }
    show(&b, &tools).await;
    b.wait(
        "tool previews",
        T,
        &format!(
            "return document.querySelectorAll('{SHOWN} [data-testid=tool-preview]').length > 5"
        ),
    )
    .await;
    b.js(&format!(
        "document.querySelectorAll('{SHOWN} details').forEach(d => d.open = true); return true"
    ))
    .await;
    let previews = b
        .js(&format!(
            "return [...document.querySelectorAll('{SHOWN} [data-testid=tool-preview]')].map(e => \
             e.textContent).join('\\n')"
        ))
        .await;
    for p in payloads.iter().step_by(10) {
        assert!(
            previews.as_str().unwrap().contains(p.as_str()),
            "the tool's output is shown verbatim as text: {p}"
        );
    }
    tokio::task::yield_now().await;
    let checks = b
        .js(
            "return { pwned: window.__pwned === undefined ? null : window.__pwned, scripts: \
             document.querySelectorAll('main script, nav script').length, \
             handlers: [...document.querySelectorAll('main *, nav *')].filter(e => \
             [...e.attributes].some(a => a.name.startsWith('on'))).length, \
             jslinks: [...document.querySelectorAll('main a')].filter(a => \
             a.href.toLowerCase().startsWith('javascript')).length, \
             frames: document.querySelectorAll('main iframe, main object, main embed, \
             main svg:not(.icon), main img').length, \
             titles: [...document.querySelectorAll('[data-testid=row-title]')].map(t => \
             t.textContent) }",
        )
        .await;
    assert_eq!(checks["pwned"], Value::Null, "a payload ran: {checks}");
    assert_eq!(checks["scripts"], 0, "{checks}");
    assert_eq!(checks["handlers"], 0, "{checks}");
    assert_eq!(checks["jslinks"], 0, "{checks}");
    assert_eq!(checks["frames"], 0, "{checks}");
    let off = b
        .js(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .filter(n => !n.startsWith(location.origin))",
        )
        .await;
    assert_eq!(off, json!([]), "nothing was fetched off-origin");
    let titles = checks["titles"].to_string();
    assert!(
        titles.contains("<img src=x onerror"),
        "hostile titles are shown as text: {titles}"
    );
    // Clicking a neutralised javascript: link does nothing either.
    let blocked = b
        .js(&format!(
            "const s = document.querySelector('{SHOWN} .blocked-link, .pane .blocked-link'); \
             if (s) s.click(); return window.__pwned === undefined"
        ))
        .await;
    assert_eq!(blocked, true);
}

/// The backend's login page (the stand-in's or Hermes' own): types the password, submits.
pub async fn log_in(b: &Browser, password: &str) {
    b.wait(
        "the login page",
        T,
        "return location.pathname.endsWith('/login') && document.querySelector('form \
         input[type=password]') !== null",
    )
    .await;
    b.type_into("form input[type=password]", password).await;
    b.type_into("form input[type=password]", "\u{E007}").await; // Enter submits
}

pub async fn password_mode_goes_through_the_login_and_posts_carry_the_csrf_token(
    server: Server,
    b: Browser,
) {
    let password = server
        .opts
        .password
        .clone()
        .expect("a password-mode backend");
    let deep = server.session_url("nowhere");
    b.goto(&deep).await;
    b.wait(
        "the login page",
        T,
        "return location.pathname.endsWith('/login')",
    )
    .await;
    let next = string(
        &b.js("return new URLSearchParams(location.search).get('next')")
            .await,
    );
    assert!(
        deep.ends_with(&next),
        "the login page will come back to {deep}: next={next}"
    );
    log_in(&b, &password).await;
    b.wait(
        "back at the pane",
        T,
        "return !location.pathname.endsWith('/login') && \
         document.querySelector('[data-testid=sidebar]') !== null",
    )
    .await;
    assert!(deep.ends_with(&format!(
        "{}{}",
        b.js("return location.pathname").await.as_str().unwrap(),
        b.js("return location.search").await.as_str().unwrap()
    )));
    // POSTs carry the CSRF token: creating a session and sending succeed.
    open_app(&b, &server.url()).await;
    let sid = start(&b, "authenticated [[tokens=3]] [[ttft=0]]").await;
    server.wait_idle(&sid, T).await;
    assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3");
    // Without the token the backend's gate refuses a browser POST: the pane's success above
    // is the token's doing, not an open door.
    let refused = b
        .js_async(
            "const done = arguments[0]; fetch('/api/session/new', {method: 'POST', headers: \
             {'Content-Type': 'application/json'}, body: '{}'}).then(r => done(r.status))",
        )
        .await;
    assert_eq!(refused, 403, "a POST without the token is refused");
    if server.kind == Backend::StandIn {
        // The token goes stale: the pane re-reads it once and the POST goes through.
        server.faults(json!({"rotate_csrf": true})).await;
        send(&b, "after rotation [[tokens=2]] [[ttft=0]]").await;
        wait_reply(&b, "tok1 tok2").await;
        // A token that can never be right: a clear message, the draft kept.
        server.faults(json!({"break_csrf": true})).await;
        send(&b, "bad token").await;
        let err = b
            .wait(
                "the CSRF error",
                T,
                &format!(
                    "return document.querySelector('{SHOWN} \
                     [data-testid=composer-error]')?.innerText"
                ),
            )
            .await;
        assert!(
            err.as_str()
                .unwrap()
                .to_lowercase()
                .contains("session expired"),
            "{err}"
        );
        assert_eq!(
            b.js(&format!(
                "return document.querySelector('{SHOWN} [data-testid=composer-input]').value"
            ))
            .await,
            "bad token"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Several tabs of one browser: one set of transports, led by one tab.

/// The first window of the test's browser, instrumented as every other one
/// ([`tabs::instrument`]: `extra` before the pane), then the app; returns its handle.
async fn first_tab(b: &Browser, url: &str, extra: Option<&str>) -> String {
    tabs::instrument(b, extra).await;
    open_app(b, url).await;
    tabs::current(b).await
}

/// How many times this tab asked the backend to answer an approval.
async fn approval_posts(b: &Browser) -> u64 {
    b.js(
        "return performance.getEntriesByType('resource').filter(r => \
          r.name.includes('approval/respond')).length",
    )
    .await
    .as_u64()
    .unwrap()
}

/// The shown session's settled reply in this tab equals the backend's and the scripted
/// tokens; its live text was painted as prefixes only.
async fn assert_settled_in_tab(b: &Browser, server: &Server, sid: &str, tokens: usize) {
    show(b, sid).await;
    let shown = settled_reply(b).await;
    assert_eq!(shown, saved_reply(&server.messages(sid).await), "{sid}");
    assert_eq!(shown, expected_tokens(tokens), "{sid} complete");
}

pub async fn three_tabs_share_one_set_of_transports_under_the_browser_wide_budget(
    server: Server,
    b: Browser,
) {
    let a = first_tab(&b, &server.url(), None).await;
    tabs::wait_role(&b, "leader", T).await;
    let budget = b
        .js("return window.__hermesPane.budget()")
        .await
        .as_u64()
        .unwrap();
    assert_eq!(
        budget, 3,
        "HTTP/1.1: 4 connections for the browser, one for the list"
    );
    let w2 = tabs::open_window(&b, &server.url(), None).await;
    tabs::wait_role(&b, "follower", T).await;
    let w3 = tabs::open_window(&b, &server.url(), None).await;
    tabs::wait_role(&b, "follower", T).await;
    b.js(tabs::HIDE_JS).await;
    let all = [a.clone(), w2.clone(), w3.clone()];
    for w in &all {
        tabs::on(&b, w).await;
        b.js(tabs::FETCH_POLL_JS).await;
    }
    tabs::on(&b, &a).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(
            start(
                &b,
                // 8 × 16 tok/s: the real backend (Python, on 2 cores) answers the list within
                // the guard while they run; 40 tok/s each made its own answers slow, not the
                // browser's connections.
                &format!("run {i} [[tokens=110]] [[delay=60]] [[ttft=0]]"),
            )
            .await,
        );
    }
    // The second window shows the second session, the hidden tab the third.
    tabs::on(&b, &w2).await;
    show(&b, &ids[1]).await;
    tabs::on(&b, &w3).await;
    show(&b, &ids[2]).await;
    for sid in &ids {
        server.wait_idle(sid, Duration::from_secs(120)).await;
    }
    let mut logs = Vec::new();
    for (w, shown) in [(&w2, &ids[1]), (&w3, &ids[2]), (&a, &ids[7])] {
        tabs::on(&b, w).await;
        let (worst, answered) = tabs::fetch_times(&b).await;
        assert!(answered > 0, "the fetch loop ran in every tab");
        // The stand-in answers in microseconds: 1 s is a hang guard there. The real backend
        // (Python, 2 cores, 8 turns running) took 1.4 s to compute a list on this machine and
        // more on a slower one; each tab's loop has one request in flight, so a request waits at
        // most for a couple of others' answers on the 2 connections the budget leaves free:
        // there the guard is 5 s or four of the slowest answers, whichever is longer. (A loop
        // that asked every 250 ms regardless queued its own requests behind those answers and
        // once waited 5.1 s on a slower machine.) An exhausted pool (the bug this guards
        // against) frees no connection until a turn ends, however fast the backend answers.
        let waited = tabs::connection_wait(&b).await;
        let answer = tabs::slowest_answer(&b).await;
        let guard = if server.kind == Backend::StandIn {
            1000.0
        } else {
            f64::max(5000.0, 4.0 * answer)
        };
        assert!(
            (0.0..guard).contains(&waited),
            "no /api/sessions request waited {guard} ms for a connection in any tab ({waited} ms; \
             the slowest answer took {answer} ms)"
        );
        assert!(
            (0.0..guard).contains(&worst),
            "every fetch('/api/sessions') answered within {guard} ms in every tab (slowest \
             {worst} ms)"
        );
        assert_settled_in_tab(&b, &server, shown, 110).await;
        assert_live(&b, shown).await;
        logs.push(tabs::es_log(&b).await);
    }
    assert!(
        logs[0].is_empty() && logs[1].is_empty(),
        "a follower never opens a chat EventSource of its own: {:?}",
        &logs[..2]
    );
    let max = tabs::browser_wide_max(&logs);
    eprintln!("chat EventSources open at once across the 3 tabs: at most {max}");
    assert!(
        max as u64 <= budget,
        "never more than the budget across tabs ({max})"
    );
    assert_eq!(max as u64, budget, "the budget was used in full");
    // Every transcript, in a follower too (it followed the sessions it did not show).
    tabs::on(&b, &w2).await;
    for sid in &ids {
        assert_settled_in_tab(&b, &server, sid, 110).await;
    }
}

/// Three sessions stream; the leader tab goes (closed with `pagehide`, or its renderer
/// crashed); a follower takes over, and the transcripts in the remaining tabs are the
/// backend's with every token once.
async fn leader_goes_mid_stream(server: Server, b: Browser, crash: bool) {
    let a = first_tab(&b, &server.url(), None).await;
    tabs::wait_role(&b, "leader", T).await;
    let w2 = tabs::open_window(&b, &server.url(), None).await;
    let w3 = tabs::open_window(&b, &server.url(), None).await;
    tabs::on(&b, &a).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            start(
                &b,
                &format!("handoff {i} [[tokens=500]] [[delay=20]] [[ttft=0]]"),
            )
            .await,
        );
    }
    tabs::on(&b, &w2).await;
    show(&b, &ids[0]).await;
    tabs::on(&b, &w3).await;
    show(&b, &ids[1]).await;
    b.wait(
        "tokens in the follower",
        T,
        &format!(
            "return (document.querySelector('{SHOWN} [data-testid=streaming-md]')?.innerText \
             || '').includes('tok60')"
        ),
    )
    .await;
    // The leader goes to the background first: hidden, it keeps leading (hidden tabs still
    // run EventSource handlers); only the ranking of what it shows changes.
    tabs::on(&b, &a).await;
    b.js(tabs::HIDE_JS).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        tabs::role(&b).await,
        "leader",
        "a hidden leader keeps leading"
    );
    assert_eq!(
        b.js("return window.__hermesPane.held()").await.as_u64(),
        Some(3),
        "and keeps every stream"
    );
    let gone = Instant::now();
    if crash {
        // The renderer dies: no `pagehide`, no goodbye; the browser drops its locks.
        let _ = b.client.issue_cmd(Cdp("Page.crash", json!({}))).await;
    } else {
        b.client
            .close_window()
            .await
            .expect("close the leader's window");
    }
    let mut leader = None;
    let deadline = Instant::now() + T;
    while leader.is_none() && Instant::now() < deadline {
        for w in [&w2, &w3] {
            tabs::on(&b, w).await;
            if tabs::role(&b).await == "leader" {
                leader = Some(w.clone());
            }
        }
    }
    let leader = leader.expect("a follower took the lead");
    eprintln!("a new leader within {:?}", gone.elapsed());
    tabs::on(&b, &leader).await;
    b.wait(
        "the new leader to hold the streams",
        T,
        "return window.__hermesPane.held() > 0 || null",
    )
    .await;
    for sid in &ids {
        server.wait_idle(sid, Duration::from_secs(120)).await;
    }
    for (w, sid) in [(&w2, &ids[0]), (&w3, &ids[1])] {
        tabs::on(&b, w).await;
        assert_settled_in_tab(&b, &server, sid, 500).await;
        // The live text across the handoff: prefixes only, each token once.
        assert_live(&b, sid).await;
    }
    // The session only the old leader showed was resumed too.
    tabs::on(&b, &leader).await;
    assert_settled_in_tab(&b, &server, &ids[2], 500).await;
}

pub async fn closing_the_leader_tab_mid_stream_hands_off_with_every_token_once(
    server: Server,
    b: Browser,
) {
    leader_goes_mid_stream(server, b, false).await
}

pub async fn a_crashed_leader_tab_hands_off_with_every_token_once(server: Server, b: Browser) {
    leader_goes_mid_stream(server, b, true).await
}

pub async fn an_approval_answered_in_one_tab_disappears_in_every_tab(server: Server, b: Browser) {
    let a = first_tab(&b, &server.url(), None).await;
    let dir = unique("tabs");
    make_dir(&server, &dir);
    let sid = start(
        &b,
        &format!("Clean up [[tool:rm -rf ./{dir}]] [[ttft=500]]"),
    )
    .await;
    let w2 = tabs::open_window(&b, &server.session_url(&sid), None).await;
    let card =
        format!("return document.querySelector('{SHOWN} [data-testid=approval-card]') !== null");
    for w in [&a, &w2] {
        tabs::on(&b, w).await;
        b.wait("the approval card", T, &card).await;
    }
    b.click(&format!("{SHOWN} [data-testid=approve-once]"))
        .await;
    for w in [&w2, &a] {
        tabs::on(&b, w).await;
        b.wait(
            "the card gone",
            T,
            &format!(
                "return document.querySelector('{SHOWN} [data-testid=approval-card]') === null"
            ),
        )
        .await;
    }
    server.wait_idle(&sid, T).await;
    assert_ran(&server, &dir, "approved in the second tab");
    tabs::on(&b, &a).await;
    assert_eq!(approval_posts(&b).await, 0, "the first tab sent no answer");
    tabs::on(&b, &w2).await;
    assert_eq!(approval_posts(&b).await, 1, "the backend got one answer");
}

/// Removes the Web Locks API before the pane boots.
const NO_LOCKS_JS: &str = "Object.defineProperty(Navigator.prototype, 'locks', \
    {configurable: true, get: () => undefined});";

pub async fn without_web_locks_two_tabs_split_the_budget_and_never_exceed_it(
    server: Server,
    b: Browser,
) {
    let a = first_tab(&b, &server.url(), Some(NO_LOCKS_JS)).await;
    tabs::wait_role(&b, "solo", T).await;
    let w2 = tabs::open_window(&b, &server.url(), Some(NO_LOCKS_JS)).await;
    tabs::wait_role(&b, "solo", T).await;
    tabs::on(&b, &a).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            start(
                &b,
                &format!("solo {i} [[tokens=200]] [[delay=25]] [[ttft=0]]"),
            )
            .await,
        );
    }
    tabs::on(&b, &w2).await;
    show(&b, &ids[0]).await;
    for sid in &ids {
        server.wait_idle(sid, Duration::from_secs(120)).await;
    }
    let mut logs = Vec::new();
    for w in [&a, &w2] {
        tabs::on(&b, w).await;
        logs.push(tabs::es_log(&b).await);
    }
    let max = tabs::browser_wide_max(&logs);
    eprintln!("without a leader, 2 tabs held at most {max} chat EventSources at once");
    assert!(
        max <= 3,
        "never more than the browser-wide budget across the tabs ({max})"
    );
    assert!(!logs[1].is_empty(), "each tab held its own transports");
    tabs::on(&b, &w2).await;
    assert_settled_in_tab(&b, &server, &ids[0], 200).await;
    tabs::on(&b, &a).await;
    for sid in &ids {
        assert_settled_in_tab(&b, &server, sid, 200).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Turn control from a message's actions.

/// `(role, content)` of saved messages (what a fork copies and an undo keeps).
fn roles_and_texts(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_string(),
                m["content"].to_string(),
            )
        })
        .collect()
}

pub async fn undo_and_fork_from_a_messages_actions_act_on_the_backend(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "first turn [[tokens=6]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(6)).await;
    server.wait_idle(&sid, T).await;
    send(&b, "second turn [[tokens=4]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(4)).await;
    server.wait_idle(&sid, T).await;
    let before = server.messages(&sid).await;
    let second = before
        .iter()
        .rposition(|m| m["role"] == "user")
        .expect("two turns");

    // Fork from the first reply — with the keyboard: focus its Fork button, press Enter.
    b.js(&format!(
        "document.querySelector('{SHOWN} [data-role=assistant]:not(.live) \
         [data-testid=fork]').focus(); return true"
    ))
    .await;
    b.client
        .active_element()
        .await
        .expect("the focused button")
        .send_keys("\u{E007}")
        .await
        .expect("Enter");
    let fork = b
        .wait(
            "the fork's URL",
            T,
            &format!("const s = {ADDRESS_SESSION_JS}; return s && s !== '{sid}' ? s : null"),
        )
        .await;
    let fork = fork.as_str().unwrap().to_string();
    b.wait(
        "the fork's transcript",
        T,
        &format!(
            "return document.querySelector('{SHOWN}')?.dataset.sessionId === '{fork}' && \
             document.querySelectorAll('{SHOWN} [data-testid=user-text]').length === 1"
        ),
    )
    .await;
    wait_reply(&b, &expected_tokens(6)).await;
    let forked = server.messages(&fork).await;
    assert_eq!(
        roles_and_texts(&forked),
        roles_and_texts(&before[..second]),
        "the fork holds the first turn, as the source had it"
    );
    b.wait(
        "the fork in the sidebar",
        T,
        &format!("return document.querySelector('{}') !== null", row(&fork)),
    )
    .await;

    // Back in the source, undo its last turn.
    show(&b, &sid).await;
    b.click(&format!("{SHOWN} [data-testid=undo-last]")).await;
    b.wait(
        "the undone turn gone",
        T,
        &format!(
            "return document.querySelectorAll('{SHOWN} [data-testid=user-text]').length === 1"
        ),
    )
    .await;
    wait_reply(&b, &expected_tokens(6)).await;
    let after = server.messages(&sid).await;
    assert_eq!(
        roles_and_texts(&after),
        roles_and_texts(&before[..second]),
        "the backend dropped the last turn and kept the first"
    );
}

/// Focuses the element `css` and presses Enter on it (the keyboard path of a control).
async fn press_enter_on(b: &Browser, css: &str) {
    b.wait(
        &format!("{css} to exist"),
        T,
        &format!(
            "const e = document.querySelector('{css}'); if (!e) return null; e.focus(); \
                  return document.activeElement === e"
        ),
    )
    .await;
    b.client
        .active_element()
        .await
        .expect("the focused element")
        .send_keys("\u{E007}")
        .await
        .expect("Enter");
}

/// The backend lists `sid` with `archived` as given (`include_archived=1`).
async fn archived_on(server: &Server, sid: &str, archived: bool) -> bool {
    let all = server.get("api/sessions?include_archived=1").await;
    all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["session_id"] == sid && s["archived"] == archived)
}

pub async fn an_archived_session_is_listed_apart_and_comes_back_when_unarchived(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "archive me [[tokens=3]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(3)).await;
    server.wait_idle(&sid, T).await;
    let listed = |archived: bool| {
        format!(
            "return document.querySelector('[data-testid=group-recent] {}, \
             [data-testid=group-pinned] {}') {} null",
            row(&sid),
            row(&sid),
            if archived { "===" } else { "!==" }
        )
    };
    // Archive it from its row, with the keyboard.
    press_enter_on(&b, &format!("{} [data-testid=row-archive]", row(&sid))).await;
    b.wait("the row gone from the list", T, &listed(true)).await;
    assert!(
        archived_on(&server, &sid, true).await,
        "the backend has it archived"
    );
    // The archived view lists it; Unarchive brings it back.
    press_enter_on(&b, "[data-testid=show-archived]").await;
    let archived_row = format!("[data-testid=archived-row][data-session-id=\"{sid}\"]");
    b.wait(
        "the archived row",
        T,
        &format!("return document.querySelector('{archived_row}') !== null"),
    )
    .await;
    press_enter_on(&b, &format!("{archived_row} [data-testid=row-unarchive]")).await;
    b.wait(
        "the archived row gone",
        T,
        &format!("return document.querySelector('{archived_row}') === null"),
    )
    .await;
    b.wait("the row back in the list", T, &listed(false)).await;
    assert!(
        archived_on(&server, &sid, false).await,
        "the backend has it unarchived"
    );
}

/// The session's model as the backend has it.
async fn session_model(server: &Server, sid: &str) -> String {
    let v = server
        .get(&format!("api/session?session_id={sid}&messages=0"))
        .await;
    v["session"]["model"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub async fn the_model_picker_sets_the_sessions_model_and_its_next_turn_uses_it(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "first [[tokens=2]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(2)).await;
    server.wait_idle(&sid, T).await;
    let picker = format!("{SHOWN} [data-testid=model-picker]");
    b.wait(
        "the model picker with the backend's models",
        T,
        &format!(
            "const p = document.querySelector('{picker}'); return p && \
             [...p.options].some(o => o.value === 'fake-model-b') && p.value === 'fake-model'"
        ),
    )
    .await;
    assert_eq!(session_model(&server, &sid).await, "fake-model");
    // Keyboard only: focus the picker, the next option with the arrow key.
    b.js(&format!(
        "document.querySelector('{picker}').focus(); return true"
    ))
    .await;
    b.client
        .active_element()
        .await
        .expect("the picker")
        .send_keys("\u{E015}")
        .await
        .expect("ArrowDown");
    let deadline = Instant::now() + T;
    while session_model(&server, &sid).await != "fake-model-b" {
        assert!(
            Instant::now() < deadline,
            "the backend took the session's new model"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        b.js(&format!("return document.querySelector('{picker}').value"))
            .await,
        "fake-model-b",
        "the header shows the session's model"
    );
    send(&b, "which model [[model]] [[ttft=0]]").await;
    wait_reply(&b, "model: fake-model-b").await;
}

pub async fn the_send_key_setting_is_read_from_and_saved_to_the_backend(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    // Keyboard only: open the settings, pick Ctrl+Enter with the arrow key.
    press_enter_on(&b, "[data-testid=settings-toggle]").await;
    b.wait(
        "the send-key setting",
        T,
        "return document.querySelector('[data-testid=setting-send-key]')?.value === 'enter'",
    )
    .await;
    b.js("document.querySelector('[data-testid=setting-send-key]').focus(); return true")
        .await;
    b.client
        .active_element()
        .await
        .expect("the select")
        .send_keys("\u{E015}")
        .await
        .expect("ArrowDown");
    let deadline = Instant::now() + T;
    while server.get("api/settings").await["send_key"] != "ctrl+enter" {
        assert!(Instant::now() < deadline, "the backend saved send_key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sid = new_session(&b).await;
    let input = format!("{SHOWN} [data-testid=composer-input]");
    b.wait(
        "the hint follows the setting",
        T,
        &format!(
            "return (document.querySelector('{input}')?.placeholder || '').includes('Ctrl+Enter')"
        ),
    )
    .await;
    // Enter is a new line now; Ctrl+Enter sends.
    b.type_into(&input, "line one\u{E007}line two [[tokens=2]] [[ttft=0]]")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll('{SHOWN} [data-testid=user-text]').length"
        ))
        .await,
        0,
        "Enter did not send"
    );
    b.type_into(&input, "\u{E009}\u{E007}\u{E000}").await;
    wait_reply(&b, &expected_tokens(2)).await;
    let sent = b
        .js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=user-text]').innerText"
        ))
        .await;
    assert!(
        sent.as_str().unwrap().contains("line one\nline two"),
        "one message with its new line: {sent}"
    );
    server.wait_idle(&sid, T).await;
    // A reload reads the setting from the backend again.
    b.js("location.reload(); return true").await;
    b.wait(
        "the setting after a reload",
        T,
        &format!(
            "return (document.querySelector('{input}')?.placeholder || '').includes('Ctrl+Enter')"
        ),
    )
    .await;
    // Back to the default for the scenarios after this one (same backend).
    server
        .post("api/settings", json!({"send_key": "enter"}))
        .await;
}

/// The user messages the backend saved for `sid`, as typed (the content's text).
async fn saved_user_texts(server: &Server, sid: &str) -> Vec<String> {
    server
        .messages(sid)
        .await
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

pub async fn retry_edit_pin_search_copy_and_delete_each_do_what_they_say(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let first = "alpha topic [[tokens=3]] [[delay=300]] [[ttft=0]]";
    let sid = start(&b, first).await;
    wait_reply(&b, &expected_tokens(3)).await;
    server.wait_idle(&sid, T).await;
    let status =
        format!("document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status");

    // Retry: the turn runs again in place of the old one.
    b.click(&format!("{SHOWN} [data-testid=retry-last]")).await;
    b.wait(
        "the retried turn running",
        T,
        &format!("return {status} !== 'idle'"),
    )
    .await;
    b.wait(
        "the retried turn done",
        T,
        &format!("return {status} === 'idle'"),
    )
    .await;
    server.wait_idle(&sid, T).await;
    wait_reply(&b, &expected_tokens(3)).await;
    assert_eq!(
        saved_user_texts(&server, &sid).await,
        vec![first.to_string()],
        "replaced, once"
    );

    // Edit & resend: the message is replaced by the edit, and answered again.
    b.click(&format!("{SHOWN} [data-testid=edit-message]"))
        .await;
    let edited = "edited topic [[tokens=2]] [[ttft=0]]";
    b.js(&format!(
        "const e = document.querySelector('{SHOWN} [data-testid=edit-input]'); e.value = ''; \
         e.dispatchEvent(new Event('input', {{bubbles: true}})); return true"
    ))
    .await;
    b.type_into(&format!("{SHOWN} [data-testid=edit-input]"), edited)
        .await;
    b.click(&format!("{SHOWN} [data-testid=edit-resend]")).await;
    wait_reply(&b, &expected_tokens(2)).await;
    server.wait_idle(&sid, T).await;
    assert_eq!(
        saved_user_texts(&server, &sid).await,
        vec![edited.to_string()]
    );

    // Pin: the row moves to the pinned group, and the backend has it pinned.
    b.click(&format!("{} [data-testid=row-pin]", row(&sid)))
        .await;
    // Rows keep their places while the pointer is over the list: it moves away.
    b.click(&format!("{SHOWN} [data-testid=pane-title]")).await;
    b.wait(
        "the row pinned",
        T,
        &format!(
            "return document.querySelector('[data-testid=group-pinned] {}') !== null",
            row(&sid)
        ),
    )
    .await;
    let pinned = server.get("api/sessions").await["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["session_id"] == sid.as_str() && s["pinned"] == true);
    assert!(pinned, "the backend has it pinned");

    // Search: the backend's search finds it by its content; nonsense finds nothing.
    b.type_into("[data-testid=search]", "edited").await;
    b.wait(
        "the session in the results",
        T,
        &format!(
            "return document.querySelector('[data-testid=group-results] {}') !== null",
            row(&sid)
        ),
    )
    .await;
    b.type_into("[data-testid=search]", "zzqx").await;
    b.wait(
        "no results",
        T,
        "return document.querySelector('[data-testid=no-results]') !== null",
    )
    .await;
    b.type_into("[data-testid=search]", "\u{E00C}").await; // Escape
    b.wait(
        "the list back",
        T,
        &format!(
            "return document.querySelector('[data-testid=group-pinned] {}') !== null",
            row(&sid)
        ),
    )
    .await;

    // Copy: a code block's button puts its code on the clipboard.
    b.cdp(
        "Browser.grantPermissions",
        json!({"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
    )
    .await;
    send(&b, "Show me what you can render [[ttft=0]]").await;
    b.wait(
        "a code block",
        T,
        &format!(
            "return document.querySelector('{SHOWN} [data-role=assistant]:not(.live) \
             [data-testid=copy-code]') !== null"
        ),
    )
    .await;
    server.wait_idle(&sid, T).await;
    b.click(&format!(
        "{SHOWN} [data-role=assistant]:not(.live) [data-testid=copy-code]"
    ))
    .await;
    let copied = b
        .js_async(
            "const done = arguments[0]; navigator.clipboard.readText().then(done, e => \
             done('ERR ' + e))",
        )
        .await;
    let code = b
        .js(&format!(
            "return document.querySelector('{SHOWN} [data-role=assistant]:not(.live) .code-block \
             code').textContent"
        ))
        .await;
    assert_eq!(copied, code, "the clipboard holds the code block's code");

    // Delete: asks first; cancel keeps it, confirm deletes it on the backend.
    b.click(&format!("{} [data-testid=row-delete]", row(&sid)))
        .await;
    b.click(&format!("{} [data-testid=row-delete-cancel]", row(&sid)))
        .await;
    assert!(
        b.js(&format!(
            "return document.querySelector('{}') !== null",
            row(&sid)
        ))
        .await
            == true
    );
    b.click(&format!("{} [data-testid=row-delete]", row(&sid)))
        .await;
    b.click(&format!("{} [data-testid=row-delete-confirm]", row(&sid)))
        .await;
    b.wait(
        "the row gone",
        T,
        &format!("return document.querySelector('{}') === null", row(&sid)),
    )
    .await;
    let listed = server.get("api/sessions").await["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["session_id"] == sid.as_str());
    assert!(!listed, "the backend deleted it");
}

pub async fn uploads_sent_with_a_running_turn_show_on_it_across_a_switch_and_a_reload(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let other = start(&b, "elsewhere [[tokens=2]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(2)).await;
    let sid = new_session(&b).await;
    let name = format!("{}.txt", unique("notes"));
    let path = std::env::temp_dir().join(&name);
    std::fs::write(&path, "a file that rides with the turn\n").expect("temp file");
    b.client
        .find(fantoccini::Locator::Css(&format!(
            "{SHOWN} [data-testid=attach-input]"
        )))
        .await
        .expect("the file input")
        .send_keys(&path.display().to_string())
        .await
        .expect("choose the file");
    b.wait(
        "the upload ready",
        T,
        &format!(
            "return [...document.querySelectorAll('{SHOWN} [data-testid=attachment]')].some(a \
             => a.textContent.includes('ready'))"
        ),
    )
    .await;
    // Long enough that the reload below lands while it still runs, on a loaded machine too.
    send(&b, "read it [[tokens=3000]] [[delay=20]] [[ttft=0]]").await;
    let on_turn = format!(
        "const m = [...document.querySelectorAll('{SHOWN} [data-role=user]')].pop(); return m \
         && [...m.querySelectorAll('[data-testid=message-attachments] li')].some(li => \
         li.textContent.includes('{name}')) && document.querySelector('{SHOWN} \
         [data-streaming]') !== null"
    );
    b.wait("the file on the running turn", T, &on_turn).await;
    show(&b, &other).await;
    show(&b, &sid).await;
    b.wait("the file on the turn after switching back", T, &on_turn)
        .await;
    b.js("location.reload(); return true").await;
    b.wait("the file on the turn after a reload", T, &on_turn)
        .await;
    server.wait_idle(&sid, Duration::from_secs(150)).await;
    b.wait(
        "the file on the settled user message",
        T,
        &format!(
            "const m = [...document.querySelectorAll('{SHOWN} [data-role=user]')].pop(); return \
             m && m.querySelector('[data-testid=message-attachments]')?.textContent \
             .includes('{name}')"
        ),
    )
    .await;
    let _ = std::fs::remove_file(&path);
}

pub async fn the_queue_button_holds_a_message_until_the_running_turn_ends(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let first = "keep going [[tokens=300]] [[delay=20]] [[ttft=0]]";
    let sid = start(&b, first).await;
    let input = format!("{SHOWN} [data-testid=composer-input]");
    let next = "then this [[tokens=2]] [[ttft=0]]";
    b.type_into(&input, next).await;
    // The composer's button reads "Queue" while a reply runs.
    let button = format!("{SHOWN} [data-testid=send]");
    b.wait(
        "the Queue button",
        T,
        &format!("return document.querySelector('{button}')?.textContent.trim() === 'Queue'"),
    )
    .await;
    b.click(&button).await;
    b.wait(
        "the queued chip",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=queued]') !== null"),
    )
    .await;
    // (The real backend saves a turn's prompt when the turn ends: only the queued text is
    // checked here.)
    assert!(
        !saved_user_texts(&server, &sid)
            .await
            .contains(&next.to_string()),
        "the queued message is not sent while the turn runs"
    );
    wait_reply(&b, &expected_tokens(2)).await;
    server.wait_idle(&sid, T).await;
    assert_eq!(
        saved_user_texts(&server, &sid).await,
        vec![first.to_string(), next.to_string()],
        "the queued message went after the turn"
    );
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=queued]')"
        ))
        .await,
        Value::Null,
        "its chip is gone"
    );
}

pub async fn the_theme_follows_the_backends_setting_and_a_pick_here_is_saved_to_it(
    server: Server,
    b: Browser,
) {
    server.post("api/settings", json!({"theme": "light"})).await;
    open_app(&b, &server.url()).await;
    let shown = "return document.documentElement.dataset.theme || ''";
    b.wait(
        "the backend's theme",
        T,
        &format!("return (() => {{ {shown} }})() === 'light'"),
    )
    .await;
    // Keyboard only: the toggle goes light → dark, and the backend is told.
    press_enter_on(&b, "[data-testid=theme-toggle]").await;
    b.wait(
        "the theme picked",
        T,
        &format!("return (() => {{ {shown} }})() === 'dark'"),
    )
    .await;
    let deadline = Instant::now() + T;
    while server.get("api/settings").await["theme"] != "dark" {
        assert!(Instant::now() < deadline, "the backend saved the theme");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // This browser's pick wins over the backend's from now on.
    server.post("api/settings", json!({"theme": "light"})).await;
    b.js("location.reload(); return true").await;
    open_app(&b, &server.url()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.js(shown).await, "dark", "the local pick wins");
    server.post("api/settings", json!({"theme": "dark"})).await;
}

/// The page's first requests of the backend — the list on the start page, a session's message
/// window on its address — are each made once before the pane shows them, and where pane-server
/// serves the page (stand-in, proxy) they leave with the document's headers (its `Link` preload
/// hint), before the page is parsed; `boot.js` takes that answer instead of asking again. (Hermes'
/// own `static/` sends no hint: there `boot.js` asks, once.)
pub async fn the_first_list_and_window_are_each_asked_once_and_hinted_early(
    server: Server,
    b: Browser,
) {
    let sid = server.new_session().await;
    server
        .start_turn(
            &sid,
            "[[title:Asked once]] hinted early [[tokens=4]] [[ttft=0]]",
        )
        .await;
    server.wait_idle(&sid, T).await;
    let hinted = server.kind != Backend::RealEmbedded;
    // Resource Timing entries of `path` + `search` made before the pane showed its first content
    // (`pane-interactive`): [initiator, start], and the page's DOMContentLoaded.
    let asked = |path: &'static str, search: String| {
        let b = &b;
        async move {
            let r = b
                .js(&format!(
                    "const nav = performance.getEntriesByType('navigation')[0]; \
                     const shown = performance.getEntriesByName('pane-interactive')[0].startTime; \
                     const hits = performance.getEntriesByType('resource').filter(r => {{ \
                       const u = new URL(r.name); \
                       return u.pathname.endsWith('{path}') && u.search === '{search}' \
                         && r.startTime <= shown; }}) \
                     .map(r => [r.initiatorType, r.startTime]); \
                     return [hits, nav.domContentLoadedEventStart]"
                ))
                .await;
            let hits: Vec<(String, f64)> = r[0]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_f64().unwrap()))
                .collect();
            (hits, r[1].as_f64().unwrap())
        }
    };
    let check = |what: &str, hits: &[(String, f64)], dcl: f64| {
        assert_eq!(
            hits.len(),
            1,
            "{what} was asked once before it showed: {hits:?}"
        );
        if hinted {
            let (by, at) = &hits[0];
            assert_eq!(by, "link", "{what} was asked by the server's preload hint");
            assert!(
                *at < dcl,
                "{what} left at {at} ms, before the page was parsed ({dcl} ms)"
            );
        }
    };

    open_app(&b, &server.url()).await;
    b.wait(
        "the session's row",
        T,
        &format!(
            "return document.querySelector('{}') !== null || null",
            row(&sid)
        ),
    )
    .await;
    let (hits, dcl) = asked("/api/sessions", String::new()).await;
    check("the list", &hits, dcl);

    open_app(&b, &server.session_url(&sid)).await;
    b.wait(
        "the session's reply",
        T,
        &format!("return document.querySelector('{SHOWN} [data-role=assistant]') !== null || null"),
    )
    .await;
    let (hits, dcl) = asked("/api/session", format!("?session_id={sid}&msg_limit=60")).await;
    check("the session's window", &hits, dcl);
}

/// The release page starts from its boot script inline in the head (where pane-server serves
/// the page, its CSP allows the script by its hash; Hermes' `static/` enforces none), so the
/// script runs as the head is parsed; and that script's `fetch` of the wasm takes the preload
/// tag's answer: the module is downloaded once.
pub async fn the_boot_script_runs_inline_and_the_wasm_is_downloaded_once(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    b.wait(
        "the pane started",
        T,
        "return performance.getEntriesByName('pane-interactive').length > 0 || null",
    )
    .await;
    let r = b
        .js(
            "const s = document.querySelector('script[data-js][data-wasm]'); \
             return [s !== null && !s.src && s.textContent.includes('compileStreaming'), \
               performance.getEntriesByType('resource') \
                 .filter(e => new URL(e.name).pathname.endsWith('_bg.wasm')).length]",
        )
        .await;
    assert_eq!(r[0], true, "the boot script is inline in the page: {r}");
    assert_eq!(r[1], 1, "the wasm was downloaded once: {r}");
}
