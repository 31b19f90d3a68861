//! End-to-end scenarios in headless Chromium against the stand-in server (fault injection on).
//! Each test is named after what it pins; every wait is on a condition with a hang guard.

use std::time::{Duration, Instant};

use pane_e2e::*;
use serde_json::{json, Value};

/// Hang guard for one condition.
const T: Duration = Duration::from_secs(45);

fn row(sid: &str) -> String {
    format!("[data-testid=session-row][data-session-id=\"{sid}\"]")
}

/// Clicks a session's sidebar row and waits until its pane is the shown one. Rows re-sort
/// when a turn ends (running rows first, as the backend orders them), so a click can land on
/// the row that just moved under the pointer: then the pane shows that other session, and the
/// click is repeated (said on stderr), as a person would.
async fn show(b: &Browser, sid: &str) {
    let shown = format!("return document.querySelector('.pane:not(.hidden)')?.dataset.sessionId === '{sid}'");
    for attempt in 1..=3 {
        b.click(&format!("{} .row-main", row(sid))).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if b.js(&shown).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let state = b
            .js("return JSON.stringify({path: location.pathname, shown: [...document.querySelectorAll('.pane:not(.hidden)')].map(p => p.dataset.sessionId), panes: [...document.querySelectorAll('.pane')].map(p => p.dataset.sessionId), fatal: document.body.dataset.paneFatal || null})")
            .await;
        eprintln!("click {attempt} on {sid}'s row did not show it: {state}");
    }
    b.wait("the pane to switch", T, &shown).await;
}

/// Starts a session with a first message through the UI; returns its id.
async fn start(b: &Browser, text: &str) -> String {
    let sid = new_session(b).await;
    send(b, text).await;
    b.wait(
        "the reply to start",
        T,
        &format!(
            "return document.querySelector('{SHOWN} [data-streaming]') !== null || document.querySelector('{SHOWN} [data-role=assistant]:not(.live)') !== null"
        ),
    )
    .await;
    sid
}

/// Waits until the shown pane has settled (no live turn, not busy) and returns its reply text.
async fn settled_reply(b: &Browser) -> String {
    b.wait("the shown reply to settle", T, &format!("return document.querySelector('{SHOWN} [data-streaming]') === null && document.querySelector('{SHOWN} [data-testid=pane-status]')?.dataset.status === 'idle'")).await;
    b.js(SHOWN_REPLY_JS).await.as_str().unwrap_or_default().to_string()
}

/// Waits until the shown pane's last settled reply reads exactly `text`.
async fn wait_reply(b: &Browser, text: &str) {
    b.wait(&format!("the reply {text:?}"), T, &format!("const r = (() => {{ {SHOWN_REPLY_JS} }})(); return r === {}", Value::from(text))).await;
}

/// `window.__hermesPane.transports()` as JSON.
async fn transports(b: &Browser) -> Vec<Value> {
    let v = b.js("return window.__hermesPane.transports()").await;
    serde_json::from_str(v.as_str().unwrap()).unwrap()
}

fn expected_tokens(n: usize) -> String {
    (1..=n).map(|i| format!("tok{i}")).collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn basic_turn_renders_markdown_and_code_and_the_sidebar_shows_the_title() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "Show me what you can render").await;
        let text = settled_reply(&b).await;
        assert!(text.contains("Here is what I can render"), "{text}");
        let langs = b.js(&format!("return [...document.querySelectorAll('{SHOWN} .code-block code')].map(c => c.className).join(' ')")).await;
        for l in ["language-rust", "language-python", "language-bash", "language-json"] {
            assert!(langs.as_str().unwrap().contains(l), "{langs}");
        }
        assert_eq!(b.js(&format!("return document.querySelectorAll('{SHOWN} .md table tr').length")).await, 3, "the markdown table rendered");
        assert!(b.js(&format!("return document.querySelectorAll('{SHOWN} .tok-keyword').length")).await.as_u64().unwrap() > 3, "code is highlighted");
        assert_eq!(b.js(&format!("return document.querySelectorAll('{SHOWN} [data-testid=copy-code]').length")).await, 4, "each code block has a copy button");
        let link = b.js(&format!("return document.querySelector('{SHOWN} .md a').rel")).await;
        assert_eq!(link, "noopener noreferrer");
        server.wait_idle(&sid, T).await;
        let title = b.wait("the generated title in the sidebar", T, &format!("const r = document.querySelector('{} [data-testid=row-title]'); return r && r.textContent === 'Show me what you can render' ? r.textContent : null", row(&sid))).await;
        assert_eq!(title, Value::from("Show me what you can render"));
        b.wait("the row to show idle", T, &format!("return document.querySelector('{}').dataset.state === 'idle' || null", row(&sid))).await;
    })
    .await;
}

#[tokio::test]
async fn switching_mid_stream_reuses_transports_and_every_text_matches_the_server() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(start(&b, &format!("session {i} [[tokens=700]] [[delay=15]] [[ttft=0]]")).await);
        }
        // `start` returns once the reply shows (the optimistic turn paints before `chat/start`
        // answers): wait for the last session's transport to open.
        b.wait(
            "a transport per running session",
            T,
            "return JSON.parse(window.__hermesPane.transports()).filter(t => t.readyState === 1).length === 3 || null",
        )
        .await;
        let before = transports(&b).await;
        assert_eq!(before.len(), 3, "one transport per running session: {before:?}");
        let created = b.js("return window.__hermesPane.created()").await;
        // 50 pseudo-random switches (deterministic LCG), including back to the same one.
        let mut x: u64 = 12345;
        for _ in 0..50 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let sid = &ids[(x >> 33) as usize % 3];
            show(&b, sid).await;
        }
        let after = transports(&b).await;
        let still_running: Vec<&Value> = after.iter().collect();
        for t in &still_running {
            let same = before.iter().find(|o| o["stream"] == t["stream"]).expect("no new stream appeared");
            assert_eq!(same["serial"], t["serial"], "the same EventSource object is reused on switch-back");
        }
        assert_eq!(b.js("return window.__hermesPane.created()").await, created, "no transport was torn down and reopened");
        for sid in &ids {
            server.wait_idle(sid, T).await;
        }
        for sid in &ids {
            show(&b, sid).await;
            let shown = settled_reply(&b).await;
            let saved = saved_reply(&server.messages(sid).await);
            assert_eq!(shown, saved, "session {sid}: visible text equals the saved reply");
            assert_eq!(shown, expected_tokens(700));
        }
        let stats = server.stats().await;
        assert_eq!(stats["chat_streams_total"], 3, "the server saw exactly one stream connection per turn: {stats}");
    })
    .await;
}

#[tokio::test]
async fn eight_running_sessions_stay_under_the_connection_budget_and_all_complete() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let budget = b.js("return window.__hermesPane.budget()").await.as_u64().unwrap();
        assert_eq!(budget, 3, "HTTP/1.1: 4 connections, one for the session list");
        // Sample the open EventSources every 10 ms for the whole run.
        b.js("window.__maxOpen = 0; setInterval(() => { const n = JSON.parse(window.__hermesPane.transports()).filter(t => t.readyState !== 2).length; if (n > window.__maxOpen) window.__maxOpen = n; }, 10); return true").await;
        let mut ids = Vec::new();
        for i in 0..8 {
            ids.push(start(&b, &format!("run {i} [[tokens=260]] [[delay=25]] [[ttft=0]]")).await);
            assert!(transports(&b).await.len() as u64 <= budget);
        }
        // While all eight run: list refreshes and session loads keep completing (hang guard 2 s).
        for sid in ids.iter().take(4) {
            let t = Instant::now();
            show(&b, sid).await;
            b.wait("the session to be painted", Duration::from_secs(2), &format!("return document.querySelectorAll('{SHOWN} [data-role=user]').length > 0")).await;
            assert!(t.elapsed() < Duration::from_secs(2), "switch took {:?}", t.elapsed());
            let v = b.js_async("const done = arguments[0]; const t = performance.now(); fetch('api/sessions').then(r => r.json()).then(() => done(performance.now() - t), () => done(-1));").await;
            let ms = v.as_f64().unwrap();
            assert!((0.0..2000.0).contains(&ms), "the session list fetch took {ms} ms");
            assert!(transports(&b).await.len() as u64 <= budget, "never more transports than the budget");
        }
        for sid in &ids {
            server.wait_idle(sid, Duration::from_secs(90)).await;
        }
        let max_open = b.js("return window.__maxOpen").await.as_u64().unwrap();
        assert!(max_open <= budget, "at most {budget} EventSources were ever open at once (saw {max_open})");
        assert_eq!(max_open, budget, "the budget was used in full");
        // The server notices a closed stream only at its next write, so its own count can lag
        // a park by a frame; it is reported, not asserted.
        eprintln!("server stats: {}", server.stats().await);
        b.wait("every transport to close", T, "return JSON.parse(window.__hermesPane.transports()).length === 0").await;
        for (i, sid) in ids.iter().enumerate() {
            show(&b, sid).await;
            let shown = settled_reply(&b).await;
            assert_eq!(shown, saved_reply(&server.messages(sid).await), "session {i}");
            assert_eq!(shown, expected_tokens(260), "session {i} complete");
        }
    })
    .await;
}

#[tokio::test]
async fn reload_mid_stream_restores_the_live_turn_without_gaps_or_duplicates() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "reload me [[tool:echo hi]] [[tokens=500]] [[delay=15]] [[ttft=0]]").await;
        b.wait("some tokens", T, &format!("return (document.querySelector('{SHOWN} [data-testid=streaming-md]')?.innerText || '').includes('tok40')")).await;
        b.js("location.reload(); return true").await;
        b.wait("the app after reload", T, "return document.querySelector('[data-testid=sidebar]') !== null && window.__hermesPane !== undefined").await;
        let live = b
            .wait(
                "the live turn back after reload",
                T,
                &format!(
                    "const el = document.querySelector('{SHOWN} [data-testid=streaming-md]'); return el && el.innerText.includes('tok') ? el.innerText : null"
                ),
            )
            .await;
        let live = live.as_str().unwrap().to_string();
        let start_at = live.find("tok1 ").expect("the prefix is there");
        assert!(live[start_at..].starts_with("tok1 tok2 tok3"), "no missing prefix: {}", &live[..live.len().min(200)]);
        let counted: Vec<&str> = live[start_at..].split_whitespace().collect();
        for (i, w) in counted.iter().enumerate() {
            assert_eq!(*w, format!("tok{}", i + 1), "no duplicated or missing token at {i}");
        }
        assert_eq!(b.js(&format!("return document.querySelectorAll('{SHOWN} [data-testid=tool-card]').length")).await, 1, "one tool card, not two");
        server.wait_idle(&sid, T).await;
        let shown = settled_reply(&b).await;
        assert_eq!(shown, saved_reply(&server.messages(&sid).await));
        assert_eq!(b.js(&format!("return document.querySelectorAll('{SHOWN} [data-testid=tool-card]').length")).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_dropped_connection_resumes_from_the_cursor_with_identical_text() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        server.faults(json!({"drop_after": 40})).await;
        let sid = start(&b, "drop me [[tokens=300]] [[delay=10]] [[ttft=0]]").await;
        server.wait_idle(&sid, T).await;
        let shown = settled_reply(&b).await;
        assert_eq!(shown, saved_reply(&server.messages(&sid).await));
        assert_eq!(shown, expected_tokens(300));
        let stats = server.stats().await;
        assert!(stats["chat_streams_total"].as_u64().unwrap() >= 2, "the pane reconnected after the drop: {stats}");
    })
    .await;
}

#[tokio::test]
async fn a_server_restart_mid_stream_ends_the_turn_as_interrupted_and_a_new_turn_works() {
    with_stack(ServerOpts::default(), |mut server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "restart me [[tokens=600]] [[delay=20]] [[ttft=0]]").await;
        b.wait("some tokens", T, &format!("return (document.querySelector('{SHOWN} [data-testid=streaming-md]')?.innerText || '').includes('tok30')")).await;
        server.restart().await;
        b.wait(
            "the interrupted marker from the server",
            Duration::from_secs(60),
            &format!("return [...document.querySelectorAll('{SHOWN} [data-testid=error-message]')].some(e => e.innerText.includes('Interrupted'))"),
        )
        .await;
        let partial = b.js(&format!("return [...document.querySelectorAll('{SHOWN} [data-role=assistant].partial')].length")).await;
        assert_eq!(partial, 1, "the partial reply is shown as saved");
        assert_eq!(b.js(&format!("return document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status")).await, "idle", "no stale spinner");
        assert!(b.js(&format!("return document.querySelector('{SHOWN} [data-streaming]') === null")).await.as_bool().unwrap());
        send(&b, "again [[tokens=5]] [[ttft=0]]").await;
        wait_reply(&b, "tok1 tok2 tok3 tok4 tok5").await;
        server.wait_idle(&sid, T).await;
    })
    .await;
}

#[tokio::test]
async fn approval_and_clarify_in_a_background_session_badge_the_row_and_continue_when_answered() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let a = start(&b, "Clean up [[tool:rm -rf ./demo]] [[ttft=2500]]").await;
        let c = start(&b, "Deploy it [[clarify:Which target?|staging|prod]] [[ttft=2500]]").await;
        let other = start(&b, "meanwhile [[tokens=400]] [[delay=20]]").await;
        // `other` is shown; both background rows wait on the user.
        b.wait("the approval badge", T, &format!("const r = document.querySelector('{}'); return r && r.dataset.state === 'attention' && r.querySelector('[data-testid=row-badge]')?.textContent === 'Needs approval'", row(&a))).await;
        b.wait("the clarify badge", T, &format!("const r = document.querySelector('{}'); return r && r.dataset.state === 'attention' && r.querySelector('[data-testid=row-badge]')?.textContent === 'Needs answer'", row(&c))).await;
        b.wait("a non-blocking notice", T, "return [...document.querySelectorAll('[data-testid=toast]')].some(t => t.innerText.includes('needs your approval'))").await;
        assert_eq!(b.js(&format!("return document.querySelector('{SHOWN}').dataset.sessionId")).await, other.as_str(), "the notice did not steal the view");
        assert_eq!(b.js(&format!("return document.querySelector('{SHOWN} [data-testid=approval-card]')")).await, Value::Null, "the card belongs to its own session");
        // Open A: its card is there; approving continues the turn.
        show(&b, &a).await;
        b.wait("the approval card", T, &format!("return document.querySelector('{SHOWN} [data-testid=approval-card]') !== null")).await;
        b.click(&format!("{SHOWN} [data-testid=approve-once]")).await;
        b.wait("the card to go", T, &format!("return document.querySelector('{SHOWN} [data-testid=approval-card]') === null")).await;
        server.wait_idle(&a, T).await;
        let text = settled_reply(&b).await;
        assert!(text.contains("approved by the user"), "{text}");
        assert_eq!(b.js(&format!("return document.querySelector('{SHOWN} [data-testid=tool-card]').dataset.status")).await, "done");
        // Same for clarify.
        show(&b, &c).await;
        b.wait("the clarify card", T, &format!("return document.querySelector('{SHOWN} [data-testid=clarify-card]') !== null")).await;
        b.click(&format!("{SHOWN} [data-testid=clarify-choice]")).await;
        server.wait_idle(&c, T).await;
        let text = settled_reply(&b).await;
        assert!(text.contains("You chose: staging"), "{text}");
        b.wait("the badges to clear", T, &format!("return document.querySelector('{}').dataset.state === 'idle' && document.querySelector('{}').dataset.state === 'idle'", row(&a), row(&c))).await;
    })
    .await;
}

#[tokio::test]
async fn stop_from_the_sidebar_cancels_only_that_rows_stream() {
    with_stack(ServerOpts::default(), |server, b| async move {
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
                "return document.querySelector('{}')?.dataset.state === 'running' && document.querySelector('{}')?.dataset.state === 'running'",
                row(&a),
                row(&bb)
            ),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        b.click(&format!("{} [data-testid=row-stop]", row(&a))).await;
        b.wait("A idle", T, &format!("return document.querySelector('{}')?.dataset.state === 'idle'", row(&a))).await;
        assert_eq!(b.js(&format!("return document.querySelector('{}').dataset.state", row(&bb))).await, "running", "B keeps running");
        assert_eq!(b.js(&format!("return document.querySelector('{SHOWN}').dataset.sessionId")).await, bb.as_str());
        let saved_a = server.messages(&a).await;
        assert_eq!(saved_a.last().unwrap()["_error"], true, "A was cancelled: {saved_a:?}");
        assert!(saved_a.last().unwrap()["content"].as_str().unwrap().contains("cancelled"));
        server.wait_idle(&bb, T).await;
        assert_eq!(settled_reply(&b).await, expected_tokens(400), "B finished untouched");
        show(&b, &a).await;
        b.wait(
            "A's cancel marker",
            T,
            &format!("return [...document.querySelectorAll('{SHOWN} [data-testid=error-message]')].some(e => e.innerText.includes('cancelled'))"),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn a_second_tab_sending_to_a_busy_session_attaches_and_queues_and_both_tabs_agree() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "warm up [[tokens=2]] [[ttft=0]]").await;
        server.wait_idle(&sid, T).await;
        wait_reply(&b, "tok1 tok2").await;
        let tab1 = b.client.window().await.unwrap();
        let tab2 = b.client.new_window(true).await.unwrap().handle;
        b.client.switch_to_window(tab2.clone()).await.unwrap();
        open_app(&b, &format!("{}session/{sid}", server.url())).await;
        wait_reply(&b, "tok1 tok2").await;
        // Slow responses so tab 2 cannot learn of tab 1's turn before it sends: its
        // `chat/start` meets the running turn and gets 409.
        server.faults(json!({"delay_ms": 1500})).await;
        b.client.switch_to_window(tab1.clone()).await.unwrap();
        send(&b, "first [[tokens=120]] [[delay=20]] [[ttft=0]]").await;
        b.client.switch_to_window(tab2.clone()).await.unwrap();
        send(&b, "second [[tokens=5]] [[ttft=0]]").await;
        b.wait("tab 2 queued its message after the 409", T, &format!("return [...document.querySelectorAll('{SHOWN} [data-testid=queued]')].some(q => q.innerText.includes('second'))")).await;
        server.faults(json!({"delay_ms": 0})).await;
        b.wait("tab 2 attached to the running turn", T, &format!("return document.querySelector('{SHOWN} [data-streaming]') !== null")).await;
        b.wait("the queued turn to be sent and finish", Duration::from_secs(60), &format!("return !document.querySelector('{SHOWN} [data-testid=queued]') && (() => {{ {SHOWN_REPLY_JS} }})() === 'tok1 tok2 tok3 tok4 tok5'")).await;
        server.wait_idle(&sid, T).await;
        let transcript_js = format!("[...document.querySelectorAll('{SHOWN} [data-role]:not(.live)')].map(e => e.dataset.role + ':' + (e.querySelector('.md, [data-testid=user-text]')?.innerText || '')).join('\\n')");
        let t2 = b.js(&format!("return {transcript_js}")).await;
        b.client.switch_to_window(tab1).await.unwrap();
        let t1 = b.wait("tab 1 to catch up", Duration::from_secs(60), &format!("const t = {transcript_js}; return t.includes('second') && t.endsWith('tok5') && !document.querySelector('{SHOWN} [data-streaming]') ? t : null")).await;
        assert_eq!(t1, t2, "both tabs end with the same transcript");
        let saved = server.messages(&sid).await;
        let users: Vec<&str> = saved.iter().filter(|m| m["role"] == "user").filter_map(|m| m["content"].as_str()).collect();
        assert_eq!(users.len(), 3, "{users:?}");
        assert!(users[2].starts_with("second"), "the queued message was sent after the first: {users:?}");
    })
    .await;
}

#[tokio::test]
async fn faults_on_start_and_in_the_stream_give_clear_messages_and_lose_nothing() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        // 500 on start: a clear error, the draft kept.
        let sid = new_session(&b).await;
        server.faults(json!({"fail_start": 1})).await;
        send(&b, "keep this draft [[tokens=3]]").await;
        let err = b.wait("the send error", T, &format!("return document.querySelector('{SHOWN} [data-testid=composer-error]')?.innerText")).await;
        assert!(err.as_str().unwrap().contains("HTTP 500"), "{err}");
        assert_eq!(b.js(&format!("return document.querySelector('{SHOWN} [data-testid=composer-input]').value")).await, "keep this draft [[tokens=3]]");
        // Sending again works.
        b.type_into(&format!("{SHOWN} [data-testid=composer-input]"), "\u{E007}").await;
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3");
        // A malformed frame: a clear notice, nothing lost.
        server.faults(json!({"malformed_once": true})).await;
        send(&b, "malformed [[tokens=50]] [[delay=5]] [[ttft=0]]").await;
        b.wait("the malformed-frame notice", T, "return [...document.querySelectorAll('[data-testid=toast]')].some(t => t.innerText.includes('malformed'))").await;
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, expected_tokens(50));
        // Unknown stream: the server forgets it mid-turn; the session settles from the server.
        send(&b, "forget me [[tokens=400]] [[delay=20]] [[ttft=0]]").await;
        b.wait("streaming", T, &format!("return (document.querySelector('{SHOWN} [data-testid=streaming-md]')?.innerText || '').includes('tok5')")).await;
        let stream = b.js(&format!("return document.querySelector('{}').dataset.streamId", row(&sid))).await;
        server.faults(json!({"forget_stream": stream})).await;
        b.wait("the session to settle", T, &format!("return document.querySelector('{SHOWN} [data-streaming]') === null && document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status === 'idle'")).await;
        assert_eq!(server.get(&format!("api/session?session_id={sid}&messages=0")).await["session"]["active_stream_id"], Value::Null);
    })
    .await;
}

/// Payloads that would set `window.__pwned` if any markup ran.
fn xss_payloads() -> Vec<String> {
    let actions = ["window.__pwned=1", "window.__pwned=2", "top.__pwned=3", "self['__pwned']=4", "(window.__pwned=5)"];
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
    ];
    let mut out = Vec::new();
    for t in templates {
        for a in actions {
            out.push(t.replace("{}", a));
        }
    }
    out
}

#[tokio::test]
async fn hostile_content_never_runs_and_is_shown_as_text() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let payloads = xss_payloads();
        assert!(payloads.len() >= 100, "{} payloads", payloads.len());
        // User messages + assistant replies (the agent echoes them), 15 payloads per turn.
        let sid = new_session(&b).await;
        for chunk in payloads.chunks(15) {
            let text = format!("[[echo]] [[ttft=0]] [[delay=1]]\n{}", chunk.join("\n"));
            let (status, _) = server.request("POST", "api/chat/start", Some(json!({"session_id": sid, "message": text}))).await;
            assert_eq!(status, 200);
            server.wait_idle(&sid, T).await;
        }
        // Tool previews and titles.
        let tools = new_session(&b).await;
        for p in payloads.iter().step_by(10) {
            let (status, _) =
                server.request("POST", "api/chat/start", Some(json!({"session_id": tools, "message": format!("[[tool:echo {p}]] [[ttft=0]]")}))).await;
            assert_eq!(status, 200);
            server.wait_idle(&tools, T).await;
        }
        for p in payloads.iter().step_by(20) {
            let s = server.post("api/session/new", json!({})).await["session"]["session_id"].as_str().unwrap().to_string();
            server.request("POST", "api/chat/start", Some(json!({"session_id": s, "message": format!("[[title:{p}]] [[tokens=1]] [[ttft=0]]")}))).await;
            server.wait_idle(&s, T).await;
        }
        b.js("location.reload(); return true").await;
        open_app(&b, &format!("{}session/{sid}", server.url())).await;
        b.wait(
            "the echoed transcript",
            T,
            &format!("return document.querySelectorAll('{SHOWN} [data-role=assistant]').length >= {}", payloads.chunks(15).count()),
        )
        .await;
        let shown_user = b.js(&format!("return [...document.querySelectorAll('{SHOWN} [data-testid=user-text]')].map(e => e.textContent).join('\\n')")).await;
        for p in &payloads {
            assert!(shown_user.as_str().unwrap().contains(p.as_str()), "payload not shown verbatim as text: {p}");
        }
        show(&b, &tools).await;
        b.wait("tool previews", T, &format!("return document.querySelectorAll('{SHOWN} [data-testid=tool-preview]').length > 5")).await;
        b.js(&format!("document.querySelectorAll('{SHOWN} details').forEach(d => d.open = true); return true")).await;
        tokio::task::yield_now().await;
        let checks = b
            .js("return { pwned: window.__pwned === undefined ? null : window.__pwned, scripts: document.querySelectorAll('main script, nav script').length, \
                 handlers: [...document.querySelectorAll('main *, nav *')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length, \
                 jslinks: [...document.querySelectorAll('main a')].filter(a => a.href.toLowerCase().startsWith('javascript')).length, \
                 frames: document.querySelectorAll('main iframe, main object, main embed, main svg:not(.icon), main img').length, \
                 titles: [...document.querySelectorAll('[data-testid=row-title]')].map(t => t.textContent) }")
            .await;
        assert_eq!(checks["pwned"], Value::Null, "a payload ran: {checks}");
        assert_eq!(checks["scripts"], 0, "{checks}");
        assert_eq!(checks["handlers"], 0, "{checks}");
        assert_eq!(checks["jslinks"], 0, "{checks}");
        assert_eq!(checks["frames"], 0, "{checks}");
        let titles = checks["titles"].to_string();
        assert!(titles.contains("<img src=x onerror"), "hostile titles are shown as text: {titles}");
        // Clicking a neutralised javascript: link does nothing either.
        let blocked = b
            .js(&format!(
                "const s = document.querySelector('{SHOWN} .blocked-link, .pane .blocked-link'); if (s) s.click(); return window.__pwned === undefined"
            ))
            .await;
        assert_eq!(blocked, true);
    })
    .await;
}

#[tokio::test]
async fn a_one_megabyte_reply_streams_without_freezing_the_page() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        b.js("window.__long = []; new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration))).observe({type: 'longtask', buffered: true}); return true").await;
        let sid = start(&b, "huge [[bytes=1048576]] [[ttft=0]]").await;
        server.wait_idle(&sid, Duration::from_secs(120)).await;
        b.wait("the huge reply to settle", Duration::from_secs(60), &format!("return document.querySelector('{SHOWN} [data-streaming]') === null && (document.querySelector('{SHOWN} [data-role=assistant]:not(.live) .md')?.innerText.length || 0) > 900000")).await;
        let saved = saved_reply(&server.messages(&sid).await);
        assert!(saved.len() > 1_000_000);
        let longest = b.js("return Math.max(0, ...window.__long)").await.as_f64().unwrap();
        eprintln!("longest task while streaming 1 MB: {longest:.0} ms");
        assert!(longest < 1000.0, "a single task blocked the page for {longest:.0} ms");
        // Still responsive: the composer takes input right away.
        send(&b, "after [[tokens=2]] [[ttft=0]]").await;
        server.wait_idle(&sid, T).await;
        wait_reply(&b, "tok1 tok2").await;
    })
    .await;
}

#[tokio::test]
async fn auth_mode_goes_through_the_login_and_posts_carry_the_csrf_token() {
    let opts = ServerOpts { password: Some("s3cret".into()), ..ServerOpts::default() };
    with_stack(opts, |server, b| async move {
        b.goto(&format!("{}session/nowhere", server.url())).await;
        b.wait("the login page", T, "return location.pathname.endsWith('/login') && document.querySelector('[data-testid=login-form]') !== null").await;
        assert!(b.js("return location.search").await.as_str().unwrap().contains("next=%2Fsession%2Fnowhere"));
        b.type_into("[data-testid=login-password]", "s3cret").await;
        b.click("[data-testid=login-submit]").await;
        b.wait("back at the pane", T, "return location.pathname === '/session/nowhere' && document.querySelector('[data-testid=sidebar]') !== null").await;
        // A POST with the CSRF token: creating a session and sending succeed.
        open_app(&b, &server.url()).await;
        let sid = start(&b, "authenticated [[tokens=3]] [[ttft=0]]").await;
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3");
        // The token goes stale: the pane re-reads it once and the POST goes through.
        server.faults(json!({"rotate_csrf": true})).await;
        send(&b, "after rotation [[tokens=2]] [[ttft=0]]").await;
        wait_reply(&b, "tok1 tok2").await;
        // A token that can never be right: a clear message, the draft kept.
        server.faults(json!({"break_csrf": true})).await;
        send(&b, "bad token").await;
        let err = b.wait("the CSRF error", T, &format!("return document.querySelector('{SHOWN} [data-testid=composer-error]')?.innerText")).await;
        assert!(err.as_str().unwrap().to_lowercase().contains("session expired"), "{err}");
        assert_eq!(b.js(&format!("return document.querySelector('{SHOWN} [data-testid=composer-input]').value")).await, "bad token");
    })
    .await;
}

#[tokio::test]
async fn the_same_bundle_works_under_a_sub_path_and_in_proxy_mode() {
    // Mounted under /pane/ on the stand-in.
    let opts = ServerOpts { mount: "/pane/".into(), ..ServerOpts::default() };
    with_stack(opts, |server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "under a sub-path [[tokens=4]] [[ttft=0]]").await;
        assert!(b.js("return location.pathname").await.as_str().unwrap().starts_with("/pane/session/"));
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3 tok4");
        b.js("location.reload(); return true").await;
        open_app(&b, &format!("{}session/{sid}", server.url())).await;
        b.wait("the deep link reloads into the session", T, &format!("return document.querySelector('{SHOWN}')?.dataset.sessionId === '{sid}' && document.querySelectorAll('{SHOWN} [data-role=assistant]').length === 1")).await;
    })
    .await;
    // Proxy mode: a pane-server in front of another one acting as the real backend, with its
    // password on: the backend's login page and `/` shell (CSRF token) come through the proxy,
    // and its same-origin gate accepts the pane's POSTs.
    let backend = std::sync::Arc::new(Server::start(ServerOpts { password: Some("pw".into()), ..ServerOpts::default() }).await);
    let opts = ServerOpts { mount: "/pane/".into(), backend: Some(backend.base.clone()), ..ServerOpts::default() };
    let behind = backend.clone();
    with_stack(opts, |proxy, b| async move {
        b.goto(&proxy.url()).await;
        b.wait(
            "the backend's login page, through the proxy",
            T,
            "return location.pathname === '/login' && document.querySelector('[data-testid=login-form]') !== null",
        )
        .await;
        b.type_into("[data-testid=login-password]", "pw").await;
        b.click("[data-testid=login-submit]").await;
        b.wait("back at the pane", T, "return location.pathname.startsWith('/pane/') && document.querySelector('[data-testid=sidebar]') !== null").await;
        open_app(&b, &proxy.url()).await;
        let sid = start(&b, "through the proxy [[tokens=6]] [[delay=20]] [[ttft=0]]").await;
        assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3 tok4 tok5 tok6");
        let saved = behind.messages(&sid).await;
        assert_eq!(saved_reply(&saved), "tok1 tok2 tok3 tok4 tok5 tok6", "the backend behind the proxy saved it");
    })
    .await;
    drop(backend);
}

#[tokio::test]
async fn a_turn_started_elsewhere_shows_up_running_in_the_sidebar_and_is_followed() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = server.post("api/session/new", json!({})).await["session"]["session_id"].as_str().unwrap().to_string();
        let (status, _) = server.request("POST", "api/chat/start", Some(json!({"session_id": sid, "message": "elsewhere [[tokens=300]] [[delay=20]] [[ttft=0]]"}))).await;
        assert_eq!(status, 200);
        // The list learns it from `sessions_changed`; the pane follows the stream in the background.
        b.wait("the row running with a live preview", T, &format!("const r = document.querySelector('{}'); return r && r.dataset.state === 'running' && (r.querySelector('[data-testid=row-preview]')?.textContent || '').includes('tok')", row(&sid))).await;
        show(&b, &sid).await;
        b.wait("the live turn", T, &format!("return document.querySelector('{SHOWN} [data-streaming]') !== null")).await;
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, expected_tokens(300));
    })
    .await;
}

#[tokio::test]
async fn the_first_paint_does_not_wait_for_the_lazy_chunks_and_a_blocked_chunk_is_asked_for_again() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "Show me what you can render [[reasoning=6]]").await;
        settled_reply(&b).await;
        server.wait_idle(&sid, T).await;
        // The release bundle fetched its chunks (markdown; views) apart from the main module.
        let chunks = b.js("return performance.getEntriesByType('resource').map(r => r.name).filter(n => /split_\\w+-[0-9a-f]+\\.wasm$/.test(n)).length").await;
        assert!(chunks.as_u64().unwrap() >= 2, "the lazily loaded chunks were fetched: {chunks}");

        // Reload with the chunks unreachable: the pane starts, and the reply is all there, as text.
        b.cdp("Network.enable", json!({})).await;
        b.cdp("Network.setBlockedURLs", json!({"urls": ["*split_*.wasm"]})).await;
        open_app(&b, &format!("{}session/{sid}", server.url())).await;
        b.wait("the reply as plain text", T, &format!("return document.querySelector('{SHOWN} .md-plain') !== null || null")).await;
        let plain = b.js(SHOWN_REPLY_JS).await;
        let plain = plain.as_str().unwrap();
        for part in ["## Here is what I can render", "fn main() {", "| alpha | running | 1,204 |"] {
            assert!(plain.contains(part), "the unformatted reply keeps {part:?}: {plain}");
        }
        assert_eq!(b.js(&format!("return document.querySelectorAll('{SHOWN} .code-block, {SHOWN} [data-testid=reasoning]').length")).await, 0);
        assert_eq!(b.js("return document.body.dataset.paneFatal || null").await, Value::Null, "a missing chunk is not fatal");

        // Reachable again: the chunks are asked for again within seconds and the reply is formatted.
        b.cdp("Network.setBlockedURLs", json!({"urls": []})).await;
        b.wait("the reply formatted", T, &format!("return document.querySelectorAll('{SHOWN} .code-block').length === 4 || null")).await;
        assert_eq!(b.js(&format!("return document.querySelectorAll('{SHOWN} .md-plain').length")).await, 0, "no plain-text stand-in is left");
        b.wait("the reasoning view", T, &format!("return document.querySelector('{SHOWN} [data-testid=reasoning]') !== null || null")).await;
    })
    .await;
}

#[tokio::test]
async fn where_wasm_is_served_as_text_like_hermes_static_the_pane_and_its_chunks_still_load() {
    let opts = ServerOpts { mount: "/static/pane/".into(), wasm_as_text: true, ..ServerOpts::default() };
    with_stack(opts, |server, b| async move {
        open_app(&b, &server.url()).await;
        let mime = b
            .js_async(
                "const done = arguments[0]; fetch(document.querySelector('script[data-wasm]').dataset.wasm).then(r => done(r.headers.get('content-type')))",
            )
            .await;
        assert!(mime.as_str().unwrap().starts_with("text/plain"), "served like Hermes' /static/: {mime}");
        let sid = start(&b, "Show me what you can render [[reasoning=4]]").await;
        server.wait_idle(&sid, T).await;
        b.wait(
            "the reply formatted (the markdown chunk compiled from bytes)",
            T,
            &format!("return document.querySelectorAll('{SHOWN} .code-block').length === 4 || null"),
        )
        .await;
        b.wait("the reasoning view (the later chunk)", T, &format!("return document.querySelector('{SHOWN} [data-testid=reasoning]') !== null || null")).await;
    })
    .await;
}
