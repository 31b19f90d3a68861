//! End-to-end scenarios in headless Chromium against the stand-in server (fault injection on):
//! the shared scenarios of `scenarios/` (which also run on the real Hermes WebUI, `tests/real.rs`)
//! and those that need the stand-in's fault injector. Each test is named after what it pins;
//! every wait is on a condition with a hang guard.

mod scenarios;

use std::time::Duration;

use pane_e2e::*;
use scenarios::*;
use serde_json::{json, Value};

/// The shared scenarios, on the stand-in.
macro_rules! on_the_stand_in {
    ($($name:ident $({ $opts:expr })?),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                #[allow(unused_mut, unused_assignments)]
                let mut opts = ServerOpts::default();
                $(opts = $opts;)?
                with_backend(Backend::StandIn, opts, scenarios::$name).await
            }
        )*
    };
}

on_the_stand_in!(
    basic_turn_renders_markdown_and_code_and_the_sidebar_shows_the_title,
    a_tool_call_shows_a_card_that_completes_with_its_result,
    reasoning_is_shown_apart_from_the_answer_live_and_after_a_reload,
    a_second_turn_builds_on_the_first,
    switching_mid_stream_reuses_transports_and_every_text_matches_the_server,
    eight_running_sessions_stay_under_the_connection_budget_and_all_complete,
    reload_mid_stream_restores_the_live_turn_without_gaps_or_duplicates,
    approval_and_clarify_in_a_background_session_badge_the_row_and_continue_when_answered,
    each_approval_choice_really_runs_or_blocks_the_command,
    stop_from_the_sidebar_cancels_only_that_rows_stream_and_a_next_turn_works,
    a_turn_started_elsewhere_shows_up_running_in_the_sidebar_and_is_followed,
    a_provider_error_is_shown_clearly_and_nothing_is_lost,
    hostile_content_never_runs_and_is_shown_as_text,
    three_tabs_share_one_set_of_transports_under_the_browser_wide_budget,
    closing_the_leader_tab_mid_stream_hands_off_with_every_token_once,
    a_crashed_leader_tab_hands_off_with_every_token_once,
    an_approval_answered_in_one_tab_disappears_in_every_tab,
    without_web_locks_two_tabs_split_the_budget_and_never_exceed_it,
    undo_and_fork_from_a_messages_actions_act_on_the_backend,
    an_archived_session_is_listed_apart_and_comes_back_when_unarchived,
    the_model_picker_sets_the_sessions_model_and_its_next_turn_uses_it,
    the_send_key_setting_is_read_from_and_saved_to_the_backend,
    retry_edit_pin_search_copy_and_delete_each_do_what_they_say,
    uploads_sent_with_a_running_turn_show_on_it_across_a_switch_and_a_reload,
    the_queue_button_holds_a_message_until_the_running_turn_ends,
    steering_a_running_turn_by_keyboard_reaches_the_agent_and_shows_on_its_tool_result,
    a_refused_steer_goes_back_to_the_composer_and_a_leftover_is_sent_next,
    slash_commands_complete_by_keyboard_and_each_runs_against_the_backend,
    an_upload_shows_its_progress_moving_until_it_is_ready,
    images_and_media_show_from_the_backend_and_nothing_loads_off_origin,
    math_renders_as_mathml_and_invalid_math_shows_its_source,
    the_plan_shows_live_and_after_a_reload,
    the_context_meter_and_a_turns_cost_show_in_the_header,
    notifications_tell_of_background_sessions_and_a_click_shows_the_session,
    the_pane_is_accessible_announces_once_and_its_help_keeps_focus,
    the_theme_follows_the_backends_setting_and_a_pick_here_is_saved_to_it,
    the_first_list_and_window_are_each_asked_once_and_hinted_early,
    the_boot_script_runs_inline_and_the_wasm_is_downloaded_once,
    password_mode_goes_through_the_login_and_posts_carry_the_csrf_token {
        ServerOpts { password: Some("s3cret".into()), ..ServerOpts::default() }
    },
);

// ---------------------------------------------------------------------------------------------
// Stand-in only: these need its fault injector (drops, restarts, delays, CSRF rotation) or
// stand-in scripts the real model cannot produce (a 1 MB reply at full speed).

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
        assert!(
            stats["chat_streams_total"].as_u64().unwrap() >= 2,
            "the pane reconnected after the drop: {stats}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_server_restart_mid_stream_ends_the_turn_as_interrupted_and_a_new_turn_works() {
    with_stack(ServerOpts::default(), |mut server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "restart me [[tokens=600]] [[delay=20]] [[ttft=0]]").await;
        b.wait(
            "some tokens",
            T,
            &format!(
                "return (document.querySelector('{SHOWN} [data-testid=streaming-md]')?.innerText \
                 || '').includes('tok30')"
            ),
        )
        .await;
        server.restart().await;
        b.wait(
            "the interrupted marker from the server",
            Duration::from_secs(60),
            &format!(
                "return [...document.querySelectorAll('{SHOWN} \
                 [data-testid=error-message]')].some(e => e.innerText.includes('Interrupted'))"
            ),
        )
        .await;
        let partial = b
            .js(&format!(
                "return [...document.querySelectorAll('{SHOWN} \
                 [data-role=assistant].partial')].length"
            ))
            .await;
        assert_eq!(partial, 1, "the partial reply is shown as saved");
        assert_eq!(
            b.js(&format!(
                "return document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status"
            ))
            .await,
            "idle",
            "no stale spinner"
        );
        assert!(b
            .js(&format!(
                "return document.querySelector('{SHOWN} [data-streaming]') === null"
            ))
            .await
            .as_bool()
            .unwrap());
        send(&b, "again [[tokens=5]] [[ttft=0]]").await;
        wait_reply(&b, "tok1 tok2 tok3 tok4 tok5").await;
        server.wait_idle(&sid, T).await;
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
        // Tab 2 is up (its later chunk, fetched after its first paint, is in) before the
        // responses slow down.
        b.wait(
            "tab 2's later chunk",
            T,
            "return performance.getEntriesByType('resource').some(r => \
             /split_later-[0-9a-f]+\\.wasm$/.test(r.name)) || null",
        )
        .await;
        // Slow responses so tab 2 cannot learn of tab 1's turn before it sends: its
        // `chat/start` meets the running turn and gets 409.
        server.faults(json!({"delay_ms": 1500})).await;
        b.client.switch_to_window(tab1.clone()).await.unwrap();
        send(&b, "first [[tokens=120]] [[delay=20]] [[ttft=0]]").await;
        b.client.switch_to_window(tab2.clone()).await.unwrap();
        send(&b, "second [[tokens=5]] [[ttft=0]]").await;
        b.wait(
            "tab 2 queued its message after the 409",
            T,
            &format!(
                "return [...document.querySelectorAll('{SHOWN} [data-testid=queued]')].some(q => \
                 q.innerText.includes('second'))"
            ),
        )
        .await;
        server.faults(json!({"delay_ms": 0})).await;
        b.wait(
            "tab 2 attached to the running turn",
            T,
            &format!("return document.querySelector('{SHOWN} [data-streaming]') !== null"),
        )
        .await;
        b.wait(
            "the queued turn to be sent and finish",
            Duration::from_secs(60),
            &format!(
                "return !document.querySelector('{SHOWN} [data-testid=queued]') && \
                 (() => {{ {SHOWN_REPLY_JS} }})() === 'tok1 tok2 tok3 tok4 tok5'"
            ),
        )
        .await;
        server.wait_idle(&sid, T).await;
        let transcript_js = format!(
            "[...document.querySelectorAll('{SHOWN} [data-role]:not(.live)')].map(e => \
             e.dataset.role + ':' + (e.querySelector('.md, [data-testid=user-text]')?.innerText || \
             '')).join('\\n')"
        );
        let t2 = b.js(&format!("return {transcript_js}")).await;
        b.client.switch_to_window(tab1).await.unwrap();
        let t1 = b
            .wait(
                "tab 1 to catch up",
                Duration::from_secs(60),
                &format!(
                    "const t = {transcript_js}; return t.includes('second') && t.endsWith('tok5') \
                     && !document.querySelector('{SHOWN} [data-streaming]') ? t : null"
                ),
            )
            .await;
        assert_eq!(t1, t2, "both tabs end with the same transcript");
        let saved = server.messages(&sid).await;
        let users: Vec<&str> = saved
            .iter()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str())
            .collect();
        assert_eq!(users.len(), 3, "{users:?}");
        assert!(
            users[2].starts_with("second"),
            "the queued message was sent after the first: {users:?}"
        );
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
        let err = b
            .wait(
                "the send error",
                T,
                &format!(
                    "return document.querySelector('{SHOWN} \
                     [data-testid=composer-error]')?.innerText"
                ),
            )
            .await;
        assert!(err.as_str().unwrap().contains("HTTP 500"), "{err}");
        assert_eq!(
            b.js(&format!(
                "return document.querySelector('{SHOWN} [data-testid=composer-input]').value"
            ))
            .await,
            "keep this draft [[tokens=3]]"
        );
        // Sending again works.
        b.type_into(&format!("{SHOWN} [data-testid=composer-input]"), "\u{E007}")
            .await;
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3");
        // A malformed frame: a clear notice, nothing lost.
        server.faults(json!({"malformed_once": true})).await;
        send(&b, "malformed [[tokens=50]] [[delay=5]] [[ttft=0]]").await;
        b.wait(
            "the malformed-frame notice",
            T,
            "return [...document.querySelectorAll('[data-testid=toast]')].some(t => \
             t.innerText.includes('malformed'))",
        )
        .await;
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, expected_tokens(50));
        // Unknown stream: the server forgets it mid-turn; the session settles from the server.
        send(&b, "forget me [[tokens=400]] [[delay=20]] [[ttft=0]]").await;
        b.wait(
            "streaming",
            T,
            &format!(
                "return (document.querySelector('{SHOWN} [data-testid=streaming-md]')?.innerText \
                 || '').includes('tok5')"
            ),
        )
        .await;
        let stream = b
            .js(&format!(
                "return document.querySelector('{}').dataset.streamId",
                row(&sid)
            ))
            .await;
        server.faults(json!({"forget_stream": stream})).await;
        b.wait(
            "the session to settle",
            T,
            &format!(
                "return document.querySelector('{SHOWN} [data-streaming]') === null && \
                 document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status === \
                 'idle'"
            ),
        )
        .await;
        assert_eq!(
            server
                .get(&format!("api/session?session_id={sid}&messages=0"))
                .await["session"]["active_stream_id"],
            Value::Null
        );
    })
    .await;
}

#[tokio::test]
async fn a_one_megabyte_reply_streams_without_freezing_the_page() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        b.js(
            "window.__long = []; new PerformanceObserver(l => l.getEntries().forEach(e => \
             window.__long.push(e.duration))).observe({type: 'longtask', buffered: true}); \
             return true",
        )
        .await;
        let sid = start(&b, "huge [[bytes=1048576]] [[ttft=0]]").await;
        server.wait_idle(&sid, Duration::from_secs(120)).await;
        b.wait(
            "the huge reply to settle",
            Duration::from_secs(60),
            &format!(
                "return document.querySelector('{SHOWN} [data-streaming]') === null && \
                 (document.querySelector('{SHOWN} [data-role=assistant]:not(.live) \
                 .md')?.innerText.length || 0) > 900000"
            ),
        )
        .await;
        let saved = saved_reply(&server.messages(&sid).await);
        assert!(saved.len() > 1_000_000);
        let longest = b
            .js("return Math.max(0, ...window.__long)")
            .await
            .as_f64()
            .unwrap();
        eprintln!("longest task while streaming 1 MB: {longest:.0} ms");
        assert!(
            longest < 1000.0,
            "a single task blocked the page for {longest:.0} ms"
        );
        // Still responsive: the composer takes input right away.
        send(&b, "after [[tokens=2]] [[ttft=0]]").await;
        server.wait_idle(&sid, T).await;
        wait_reply(&b, "tok1 tok2").await;
    })
    .await;
}

#[tokio::test]
async fn the_same_bundle_works_under_a_sub_path_and_in_proxy_mode() {
    // Mounted under /pane/ on the stand-in.
    let opts = ServerOpts {
        mount: "/pane/".into(),
        ..ServerOpts::default()
    };
    with_stack(opts, |server, b| async move {
        open_app(&b, &server.url()).await;
        let sid = start(&b, "under a sub-path [[tokens=4]] [[ttft=0]]").await;
        assert!(b
            .js("return location.pathname")
            .await
            .as_str()
            .unwrap()
            .starts_with("/pane/session/"));
        server.wait_idle(&sid, T).await;
        assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3 tok4");
        b.js("location.reload(); return true").await;
        open_app(&b, &format!("{}session/{sid}", server.url())).await;
        b.wait(
            "the deep link reloads into the session",
            T,
            &format!(
                "return document.querySelector('{SHOWN}')?.dataset.sessionId === '{sid}' && \
                 document.querySelectorAll('{SHOWN} [data-role=assistant]').length === 1"
            ),
        )
        .await;
    })
    .await;
    // Proxy mode: a pane-server in front of another one acting as the real backend, with its
    // password on: the backend's login page and `/` shell (CSRF token) come through the proxy,
    // and its same-origin gate accepts the pane's POSTs.
    let backend = std::sync::Arc::new(
        Server::start(ServerOpts {
            password: Some("pw".into()),
            ..ServerOpts::default()
        })
        .await,
    );
    let opts = ServerOpts {
        mount: "/pane/".into(),
        backend: Some(backend.base.clone()),
        ..ServerOpts::default()
    };
    let behind = backend.clone();
    with_stack(opts, |proxy, b| async move {
        b.goto(&proxy.url()).await;
        b.wait(
            "the backend's login page, through the proxy",
            T,
            "return location.pathname === '/login' && \
             document.querySelector('[data-testid=login-form]') !== null",
        )
        .await;
        b.type_into("[data-testid=login-password]", "pw").await;
        b.click("[data-testid=login-submit]").await;
        b.wait(
            "back at the pane",
            T,
            "return location.pathname.startsWith('/pane/') && \
             document.querySelector('[data-testid=sidebar]') !== null",
        )
        .await;
        open_app(&b, &proxy.url()).await;
        let sid = start(&b, "through the proxy [[tokens=6]] [[delay=20]] [[ttft=0]]").await;
        assert_eq!(settled_reply(&b).await, "tok1 tok2 tok3 tok4 tok5 tok6");
        let saved = behind.messages(&sid).await;
        assert_eq!(
            saved_reply(&saved),
            "tok1 tok2 tok3 tok4 tok5 tok6",
            "the backend behind the proxy saved it"
        );
    })
    .await;
    drop(backend);
}

#[tokio::test]
async fn lazy_chunks_follow_first_paint_renderer_once_a_transcript_shows_blocked_one_again() {
    with_stack(ServerOpts::default(), |server, b| async move {
        open_app(&b, &server.url()).await;
        // A page that shows no session has no use for the markdown renderer: it is not fetched
        // (the later chunk is: the tabs need it to agree who holds the streams).
        let fetched = |name: &'static str| {
            let b = &b;
            async move {
                b.js(&format!(
                    "return performance.getEntriesByType('resource').filter(r => \
                     /split_{name}-[0-9a-f]+\\.wasm$/.test(r.name)).length"
                ))
                .await
                .as_u64()
                .unwrap()
            }
        };
        b.wait(
            "the later chunk",
            T,
            "return performance.getEntriesByType('resource').some(r => \
             /split_later-[0-9a-f]+\\.wasm$/.test(r.name)) || null",
        )
        .await;
        // It is asked for only after the list has arrived (once it is painted): its download
        // and start do not compete with the first paint.
        let order = b
            .js(
                "const later = performance.getEntriesByType('resource').find(r => \
                 /split_later-[0-9a-f]+\\.wasm$/.test(r.name)); \
                 const shown = performance.getEntriesByName('pane-interactive')[0]; \
                 return [later.startTime, shown ? shown.startTime : null]",
            )
            .await;
        let (asked, listed) = (order[0].as_f64().unwrap(), order[1].as_f64());
        assert!(
            listed.is_some_and(|l| asked > l),
            "the later chunk was asked for at {asked} ms, the list applied at {listed:?} ms"
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(fetched("markdown").await, 0, "no transcript, no renderer");
        let sid = start(&b, "Show me what you can render [[reasoning=6]]").await;
        settled_reply(&b).await;
        assert_eq!(
            fetched("markdown").await,
            1,
            "asked for by the first transcript"
        );
        server.wait_idle(&sid, T).await;
        // The release bundle fetched its chunks (markdown; views) apart from the main module.
        let chunks = b
            .js(
                "return performance.getEntriesByType('resource').map(r => r.name).filter(n => \
                 /split_\\w+-[0-9a-f]+\\.wasm$/.test(n)).length",
            )
            .await;
        assert!(
            chunks.as_u64().unwrap() >= 2,
            "the lazily loaded chunks were fetched: {chunks}"
        );

        // Reload with the chunks unreachable: the pane starts, and the reply is all there, as text.
        // Every HTML string a message body is given is counted (the `innerHTML` setter, wrapped
        // before the page loads): the plain text needs none.
        b.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": "window.__mdHtml = 0; \
                const d = Object.getOwnPropertyDescriptor(Element.prototype, 'innerHTML'); \
                Object.defineProperty(Element.prototype, 'innerHTML', { configurable: true, \
                  get() { return d.get.call(this); }, \
                  set(v) { if (this.classList.contains('md')) window.__mdHtml++; \
                    d.set.call(this, v); } });"}),
        )
        .await;
        b.cdp("Network.enable", json!({})).await;
        b.cdp("Network.setBlockedURLs", json!({"urls": ["*split_*.wasm"]}))
            .await;
        open_app(&b, &format!("{}session/{sid}", server.url())).await;
        b.wait(
            "the reply as plain text",
            T,
            &format!("return document.querySelector('{SHOWN} .md-plain') !== null || null"),
        )
        .await;
        let plain = b.js(SHOWN_REPLY_JS).await;
        let plain = plain.as_str().unwrap();
        assert_eq!(
            b.js(&format!(
                "return [window.__mdHtml, document.querySelectorAll('{SHOWN} .md-plain *').length]"
            ))
            .await,
            json!([0, 0]),
            "the stand-in is text nodes: no HTML parsed for it, no element in it"
        );
        for part in [
            "## Here is what I can render",
            "fn main() {",
            "| alpha | running | 1,204 |",
        ] {
            assert!(
                plain.contains(part),
                "the unformatted reply keeps {part:?}: {plain}"
            );
        }
        assert_eq!(
            b.js(&format!(
                "return document.querySelectorAll('{SHOWN} .code-block, \
                 {SHOWN} [data-testid=reasoning]').length"
            ))
            .await,
            0
        );
        assert_eq!(
            b.js("return document.body.dataset.paneFatal || null").await,
            Value::Null,
            "a missing chunk is not fatal"
        );

        // Reachable again: the chunks are asked for again within seconds and the reply is
        // formatted.
        b.cdp("Network.setBlockedURLs", json!({"urls": []})).await;
        b.wait(
            "the reply formatted",
            T,
            &format!(
                "return document.querySelectorAll('{SHOWN} .code-block').length === 4 || null"
            ),
        )
        .await;
        assert_eq!(
            b.js(&format!(
                "return document.querySelectorAll('{SHOWN} .md-plain').length"
            ))
            .await,
            0,
            "no plain-text stand-in is left"
        );
        assert!(
            b.js("return window.__mdHtml").await.as_u64().unwrap() > 0,
            "the formatted reply is HTML (the count above is live)"
        );
        b.wait(
            "the reasoning view",
            T,
            &format!(
                "return document.querySelector('{SHOWN} [data-testid=reasoning]') !== null || null"
            ),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn where_wasm_is_served_as_text_like_hermes_static_the_pane_and_its_chunks_still_load() {
    let opts = ServerOpts {
        mount: "/static/pane/".into(),
        wasm_as_text: true,
        ..ServerOpts::default()
    };
    with_stack(opts, |server, b| async move {
        open_app(&b, &server.url()).await;
        let mime = b
            .js_async(
                "const done = arguments[0]; \
                 fetch(document.querySelector('script[data-wasm]').dataset.wasm).then(r => \
                 done(r.headers.get('content-type')))",
            )
            .await;
        assert!(
            mime.as_str().unwrap().starts_with("text/plain"),
            "served like Hermes' /static/: {mime}"
        );
        let sid = start(&b, "Show me what you can render [[reasoning=4]]").await;
        server.wait_idle(&sid, T).await;
        b.wait(
            "the reply formatted (the markdown chunk compiled from bytes)",
            T,
            &format!(
                "return document.querySelectorAll('{SHOWN} .code-block').length === 4 || null"
            ),
        )
        .await;
        b.wait(
            "the reasoning view (the later chunk)",
            T,
            &format!(
                "return document.querySelector('{SHOWN} [data-testid=reasoning]') !== null || null"
            ),
        )
        .await;
    })
    .await;
}
