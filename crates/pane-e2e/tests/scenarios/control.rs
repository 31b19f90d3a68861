//! Turn control from the composer: steering a running reply, slash commands, and an upload's
//! visible progress. Shared by both backends (the stand-in and the real Hermes WebUI).

use super::*;

/// Installed before the pane boots: while `window.__holdEnd` is set, the chat streams' ending
/// events (and their errors) wait, so the page still shows a turn the server has finished —
/// the moment a steer races the end of a turn. `window.__releaseEnd()` delivers them.
const HOLD_END_JS: &str = r#"(() => {
  const Native = window.EventSource;
  const held = [];
  window.__holdEnd = false;
  window.__releaseEnd = () => { window.__holdEnd = false; held.splice(0).forEach(f => f()); };
  class Held extends Native {
    addEventListener(type, fn, opts) {
      if (['done', 'stream_end', 'apperror', 'error'].includes(type)
          && String(this.url).includes('chat/stream?')) {
        const me = this;
        const wrapped = function (ev) {
          // A closed EventSource dispatches nothing more, as in the browser.
          const run = () => { if (me.readyState !== 2) fn.call(me, ev); };
          if (window.__holdEnd) held.push(run); else fn.call(me, ev);
        };
        return super.addEventListener(type, wrapped, opts);
      }
      return super.addEventListener(type, fn, opts);
    }
  }
  window.EventSource = Held;
})();"#;

const INPUT: &str = ".pane:not(.hidden) [data-testid=composer-input]";

/// The composer's current text.
async fn composer_text(b: &Browser) -> String {
    b.js(&format!("return document.querySelector('{INPUT}').value"))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Types `text` into the shown composer, then the keys `keys` (WebDriver key codes).
async fn type_keys(b: &Browser, text: &str, keys: &str) {
    b.type_into(INPUT, text).await;
    if !keys.is_empty() {
        b.type_into(INPUT, keys).await;
    }
}

/// The shown pane's command output (or "").
const OUTPUT_JS: &str = "return document.querySelector('.pane:not(.hidden) \
    [data-testid=command-output]')?.textContent || ''";

async fn wait_output(b: &Browser, what: &str, needle: &str) {
    b.wait(
        what,
        T,
        &format!(
            "return (() => {{ {OUTPUT_JS} }})().includes({})",
            Value::from(needle)
        ),
    )
    .await;
}

pub async fn steering_a_running_turn_by_keyboard_reaches_the_agent_and_shows_on_its_tool_result(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "deploy it [[tool:sleep 4]] [[tokens=2]] [[ttft=0]]").await;
    b.wait(
        "the tool running",
        T,
        &format!(
            "return document.querySelector('{SHOWN} [data-testid=tool-card][data-status=running]') \
             !== null"
        ),
    )
    .await;
    // Keyboard only: Alt+Enter steers (Enter alone would queue).
    let steer = "use the staging db";
    type_keys(&b, steer, "\u{E00A}\u{E007}\u{E000}").await;
    b.wait(
        "the steer on the live turn",
        T,
        &format!(
            "return [...document.querySelectorAll('{SHOWN} [data-testid=steer-pending]')]\
             .some(e => e.textContent.includes({}))",
            Value::from(steer)
        ),
    )
    .await;
    assert_eq!(composer_text(&b).await, "", "the steer left the composer");
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=queued]')"
        ))
        .await,
        Value::Null,
        "a steer is not queued"
    );
    server.wait_idle(&sid, T).await;
    // The agent saw it on the tool's result and answered it.
    let reply = settled_reply(&b).await;
    assert!(
        reply.contains(&format!("Steered: {steer}")),
        "the reply answers the steer: {reply:?}"
    );
    let tool = server
        .messages(&sid)
        .await
        .into_iter()
        .find(|m| m["role"] == "tool")
        .expect("the saved tool result");
    let content = tool["content"].as_str().unwrap_or_default();
    assert!(
        content.contains("[OUT-OF-BAND USER MESSAGE") && content.contains(steer),
        "the backend appended it to the tool result, marked: {tool}"
    );
    // The settled transcript shows it on that tool's card, apart from the tool's output.
    b.wait(
        "the steer on the saved tool card",
        T,
        &format!(
            "const c = document.querySelector('{SHOWN} [data-role=assistant]:not(.live) \
             [data-testid=tool-card]'); return !!c && [...c.querySelectorAll(\
             '[data-testid=tool-steer]')].some(e => e.textContent.includes({})) && \
             !(c.querySelector('[data-testid=tool-preview]')?.textContent || '')\
             .includes('OUT-OF-BAND')",
            Value::from(steer)
        ),
    )
    .await;
    // No Steer button once the reply is over.
    assert_eq!(
        b.js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=steer]')"
        ))
        .await,
        Value::Null
    );
}

pub async fn a_refused_steer_goes_back_to_the_composer_and_a_leftover_is_sent_next(
    server: Server,
    b: Browser,
) {
    pane_e2e::tabs::instrument(&b, Some(HOLD_END_JS)).await;
    open_app(&b, &server.url()).await;
    // A turn with no tool: the agent takes the steer but never reaches a tool result, so it
    // is not used. The real backend (and the stand-in, matched to it) never hands it back
    // (no `pending_steer_leftover` with hermes-agent 0.19): the pane sees it on no tool result
    // of the saved turn and sends it as the next message, once.
    let sid = start(&b, "long answer [[tokens=120]] [[delay=40]] [[ttft=0]]").await;
    // Steer once the agent runs (before, the backend has no agent to steer: a refusal).
    b.wait(
        "the first tokens",
        T,
        &format!(
            "return (document.querySelector('{SHOWN} [data-streaming]')?.textContent || '')\
             .includes('tok2')"
        ),
    )
    .await;
    let leftover = "and then this [[tokens=2]] [[ttft=0]]";
    b.type_into(INPUT, leftover).await;
    b.click(&format!("{SHOWN} [data-testid=steer]")).await;
    b.wait(
        "the steer on the live turn",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=steer-pending]') !== null"),
    )
    .await;
    wait_reply(&b, &expected_tokens(2)).await;
    server.wait_idle(&sid, T).await;
    assert_eq!(
        saved_user_texts(&server, &sid)
            .await
            .last()
            .map(String::as_str),
        Some(leftover),
        "the leftover steer went as the next message, once"
    );

    // A steer that meets a finished turn: the server has ended it, the page has not heard yet.
    b.js("window.__holdEnd = true; return true").await;
    send(&b, "short [[tokens=3]] [[ttft=0]]").await;
    b.wait(
        "the turn running",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=steer]') !== null"),
    )
    .await;
    server.wait_idle(&sid, T).await;
    // The real backend clears the session's stream a moment before its agent stops counting as
    // running (a steer in between was accepted once, on a loaded machine): let it finish. The
    // page still holds the turn's end, so it has not heard of it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let late = "too late for this";
    b.type_into(INPUT, late).await;
    b.click(&format!("{SHOWN} [data-testid=steer]")).await;
    b.wait(
        "the refusal",
        T,
        &format!(
            "return (document.querySelector('{SHOWN} [data-testid=composer-error]')?.textContent \
             || '').includes('not running')"
        ),
    )
    .await;
    assert_eq!(
        composer_text(&b).await,
        late,
        "the text is back in the composer"
    );
    b.js("window.__releaseEnd(); return true").await;
    wait_reply(&b, &expected_tokens(3)).await;
    assert_eq!(composer_text(&b).await, late, "and stays there");
    assert!(
        !saved_user_texts(&server, &sid)
            .await
            .contains(&late.to_string()),
        "nothing was sent"
    );
}

pub async fn slash_commands_complete_by_keyboard_and_each_runs_against_the_backend(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "first [[tokens=2]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(2)).await;
    server.wait_idle(&sid, T).await;
    send(&b, "second [[tokens=3]] [[ttft=0]]").await;
    wait_reply(&b, &expected_tokens(3)).await;
    server.wait_idle(&sid, T).await;

    // `/` opens the menu; typing filters it; ↓ moves; Tab completes.
    b.type_into(INPUT, "/he").await;
    b.wait(
        "the menu with /help first",
        T,
        "return document.querySelector('.pane:not(.hidden) [data-testid=slash-item]')\
         ?.dataset.name === 'help'",
    )
    .await;
    b.type_into(INPUT, "\u{E004}").await; // Tab
    assert_eq!(composer_text(&b).await, "/help ");
    b.type_into(INPUT, "\u{E007}").await; // Enter runs it
    wait_output(&b, "the help", "/steer").await;
    assert_eq!(composer_text(&b).await, "", "a command leaves the composer");

    // /undo removes the last turn: the backend answers what it removed, and the pane says so.
    type_keys(&b, "/undo", "\u{E007}").await;
    b.wait(
        "the backend's answer to the undo",
        T,
        "return [...document.querySelectorAll('[data-testid=toast]')].some(t => \
         /Undid the last turn \\([1-9][0-9]* messages?\\)/.test(t.textContent))",
    )
    .await;
    // Read back, on the stand-in: one turn left, shown. The real backend reads a session back
    // merged with the agent's state.db (`merge_session_messages_append_only`), and the removed
    // turn came back on that read in about half of the runs on this machine, whatever came
    // before the undo — a backend matter; its answer above is what the pane acts on.
    if server.kind == Backend::StandIn {
        let deadline = Instant::now() + T;
        while saved_user_texts(&server, &sid).await.len() != 1 {
            assert!(Instant::now() < deadline, "the backend undid the last turn");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_reply(&b, &expected_tokens(2)).await;
    }

    // /retry runs the (now) last turn again in place of the old one. (Undo first: the real
    // backend reads a session back by merging its JSON with the agent's state.db, and an undo
    // of a turn that was itself retried — the same prompt twice in state.db — can come back on
    // that read under load; a backend matter, `merge_session_messages_append_only`.)
    let before = saved_user_texts(&server, &sid).await;
    type_keys(&b, "/retry", "\u{E007}").await;
    let status =
        format!("document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status");
    b.wait(
        "the retried turn",
        T,
        &format!("return {status} !== 'idle'"),
    )
    .await;
    // The last turn's reply again (the first turn's, unless the real backend's read brought
    // the undone one back).
    let tokens = if before.last().is_some_and(|t| t.contains("tokens=3")) {
        3
    } else {
        2
    };
    wait_reply(&b, &expected_tokens(tokens)).await;
    server.wait_idle(&sid, T).await;
    assert_eq!(
        saved_user_texts(&server, &sid).await,
        before,
        "retried in place"
    );

    // ↓ and ↑ move the selection; Enter completes the selected entry.
    b.type_into(INPUT, "/t").await;
    b.wait(
        "the menu for /t",
        T,
        "return document.querySelector('.pane:not(.hidden) [data-testid=slash-item]')\
         ?.dataset.name === 'title'",
    )
    .await;
    let selected = "return document.querySelector('.pane:not(.hidden) \
        [data-testid=slash-item][aria-selected=true]')?.dataset.name";
    let second = b
        .js(
            "return document.querySelectorAll('.pane:not(.hidden) [data-testid=slash-item]')[1]\
             ?.dataset.name",
        )
        .await;
    assert!(second.is_string(), "/t offers more than one command");
    b.type_into(INPUT, "\u{E015}").await; // ↓
    assert_eq!(b.js(selected).await, second);
    b.type_into(INPUT, "\u{E013}").await; // ↑
    assert_eq!(b.js(selected).await, "title");
    b.type_into(INPUT, "i\u{E007}").await;
    assert_eq!(composer_text(&b).await, "/title ");
    let title = "Named by a command";
    type_keys(&b, title, "\u{E007}").await;
    b.wait(
        "the row renamed",
        T,
        &format!(
            "return document.querySelector('{} [data-testid=row-title]')?.textContent === {}",
            row(&sid),
            Value::from(title)
        ),
    )
    .await;
    let backend_title = || async {
        server
            .get(&format!("api/session?session_id={sid}&messages=0"))
            .await["session"]["title"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let deadline = Instant::now() + T;
    while backend_title().await != title {
        assert!(Instant::now() < deadline, "the backend has the title");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // /model NAME switches the session's model.
    type_keys(&b, "/model fake-model-b", "\u{E007}").await;
    wait_output(&b, "the model switched", "fake-model-b").await;
    assert_eq!(
        server
            .get(&format!("api/session?session_id={sid}&messages=0"))
            .await["session"]["model"],
        "fake-model-b"
    );

    // An agent command runs on the backend; a CLI-only one says so.
    type_keys(&b, "/reload-mcp", "\u{E007}").await;
    wait_output(&b, "reload-mcp's output", "MCP").await;
    type_keys(&b, "/browser", "\u{E007}").await;
    wait_output(&b, "the CLI-only answer", "CLI-only").await;

    // /compress compresses on the backend and says what it did (the real agent leaves a
    // conversation this short as it is: "No changes from compression: 4 messages"; it needs 4).
    // After the turn commands: once it had run, the real backend's read merged the agent's
    // state.db back in and an /undo that followed came back on read.
    send(&b, "second [[tokens=2]] [[ttft=0]]").await;
    server.wait_idle(&sid, T).await;
    b.wait(
        "the second turn settled",
        T,
        &format!("return {status} === 'idle'"),
    )
    .await;
    type_keys(&b, "/compress", "\u{E007}").await;
    b.wait(
        "the compression's summary",
        T,
        &format!(
            "const o = (() => {{ {OUTPUT_JS} }})(); \
             return /compress/i.test(o) && /\\d+ messages/.test(o)"
        ),
    )
    .await;

    // /new opens a new session.
    type_keys(&b, "/new", "\u{E007}").await;
    b.wait(
        "a new session shown",
        T,
        &format!(
            "const s = document.querySelector('{SHOWN}')?.dataset.sessionId; \
             return !!s && s !== {}",
            Value::from(sid.as_str())
        ),
    )
    .await;
}

pub async fn an_upload_shows_its_progress_moving_until_it_is_ready(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let _sid = new_session(&b).await;
    let dir = std::env::temp_dir().join(format!("pane-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big-notes.txt");
    // 3 MB at 512 KB/s: about six seconds of progress to watch.
    std::fs::write(&path, "0123456789abcdef".repeat(3 * 65536)).expect("temp file");
    b.cdp("Network.enable", json!({})).await;
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": false, "latency": 0, "downloadThroughput": -1,
               "uploadThroughput": 512 * 1024}),
    )
    .await;
    // Every value the progress bar shows, sampled each 20 ms.
    b.js(
        "window.__progress = []; window.__progressLoop = setInterval(() => { \
         const p = document.querySelector('.pane:not(.hidden) [data-testid=upload-progress]'); \
         if (p) window.__progress.push(Number(p.value)); }, 20); return true",
    )
    .await;
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
        "the file ready",
        Duration::from_secs(90),
        &format!(
            "return [...document.querySelectorAll('{SHOWN} [data-testid=attachment]')]\
             .some(a => a.textContent.includes('big-notes.txt') && a.textContent.includes('ready'))"
        ),
    )
    .await;
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await;
    let seen = b
        .js("clearInterval(window.__progressLoop); return window.__progress")
        .await;
    let seen: Vec<f64> = seen
        .as_array()
        .expect("samples")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let mut distinct: Vec<f64> = seen
        .iter()
        .copied()
        .filter(|v| *v > 0.0 && *v < 1.0)
        .collect();
    distinct.dedup();
    assert!(
        distinct.len() >= 3,
        "the progress bar moved through several values on its way: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "and never went back: {seen:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
