//! The shared browser scenarios (`scenarios/`) against the **real**, unmodified Hermes WebUI,
//! both ways a user embeds the pane: behind `pane-server --backend` (`proxy`) and copied into
//! the server's own `static/pane/` (`embedded`: `.wasm` served as `text/plain`, no SPA
//! fallback). Run by `cargo xtask test real`, which installs and starts the backend (with the
//! project's scripted model as its provider) and names it in `PANE_REAL_*`; without them every
//! test here fails with that message — none is skipped.

mod scenarios;

use pane_e2e::*;

/// Each shared scenario, in both embeddings (`<scenario>::proxy`, `<scenario>::embedded`).
macro_rules! on_the_real_backend {
    ($($name:ident $({ $opts:expr })?),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                fn opts() -> ServerOpts {
                    #[allow(unused_mut, unused_assignments)]
                    let mut opts = ServerOpts::default();
                    $(opts = $opts;)?
                    opts
                }

                #[tokio::test]
                async fn proxy() {
                    with_backend(Backend::RealProxy, opts(), scenarios::$name).await
                }

                #[tokio::test]
                async fn embedded() {
                    with_backend(Backend::RealEmbedded, opts(), scenarios::$name).await
                }
            }
        )*
    };
}

on_the_real_backend!(
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
        ServerOpts { password: Some(String::new()), ..ServerOpts::default() }
    },
);

/// `trunk serve` (README mode c), killed with everything it started (cargo, rustc) on drop.
struct TrunkServe(tokio::process::Child);

impl Drop for TrunkServe {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// README mode (c), the development loop: `trunk serve` with the committed `Trunk.toml` (the
/// pane on 8080, `[[proxy]]` forwarding `/api/` to 127.0.0.1:8081, where the real Hermes WebUI
/// answers with the dev page's origin allowed) builds the pane and streams a turn through its
/// proxy.
#[tokio::test]
async fn trunk_serve_streams_a_turn_through_its_proxy_to_the_real_backend() {
    use std::time::{Duration, Instant};
    use tokio::io::AsyncBufReadExt;
    let backend = Server::start_on(Backend::RealEmbedded, ServerOpts::default()).await;
    let real = backend.real().unwrap().clone();
    let toml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Trunk.toml")).unwrap();
    assert!(
        toml.contains("backend = \"http://127.0.0.1:8081/api/\""),
        "the test follows the committed [[proxy]]"
    );
    assert!(
        toml.contains("port = 8080"),
        "the test follows the committed [serve] port"
    );
    // Hermes as README mode (c) has it: on Trunk.toml's proxy port (a byte-for-byte relay to
    // the instance of this run), with the dev page's origin allowed.
    let relay = tokio::net::TcpListener::bind("127.0.0.1:8081")
        .await
        .expect("port 8081 (Trunk.toml's [[proxy]]) is taken: stop what listens there");
    assert!(
        std::net::TcpListener::bind("127.0.0.1:8080").is_ok(),
        "port 8080 (Trunk.toml's [serve]) is taken: stop what listens there"
    );
    let upstream = real.url.trim_start_matches("http://").to_string();
    let api = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = relay.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let port = 8080;
    let dist = temp_dir("trunk-dist");
    let mut child = tokio::process::Command::new("trunk");
    child
        .args(["serve", "--dist"])
        .arg(&dist)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("TRUNK_SKIP_VERSION_CHECK", "true")
        .env("NO_COLOR", "true")
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = child
        .spawn()
        .expect("trunk (cargo xtask setup installs it)");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut err = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let tx2 = tx.clone();
    tokio::spawn(async move {
        while let Ok(Some(l)) = err.next_line().await {
            let _ = tx2.send(l);
        }
    });
    tokio::spawn(async move {
        while let Ok(Some(l)) = out.next_line().await {
            let _ = tx.send(l);
        }
    });
    let trunk = TrunkServe(child);
    // The first build compiles the pane in the dev profile (its dependencies are shared with
    // the in-browser tests' build).
    let started = Instant::now();
    let served = tokio::time::timeout(Duration::from_secs(900), async {
        while let Some(l) = rx.recv().await {
            if l.contains("ERROR") || l.contains("error:") {
                eprintln!("trunk: {l}");
            }
            if l.contains("server listening at") {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(served, Ok(true)), "trunk serve did not come up");
    eprintln!(
        "trunk serve: built and serving in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let url = format!("http://127.0.0.1:{port}/");
    let expected = (1..=60)
        .map(|i| format!("tok{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (b, driver) = Browser::start().await;
    install_sampler(&b).await;
    let client = b.client.clone();
    let body = tokio::spawn({
        let (b, expected) = (b.clone(), expected.clone());
        async move {
            open_app(&b, &url).await;
            let sid = new_session(&b).await;
            send(
                &b,
                "through trunk serve [[tokens=60]] [[delay=20]] [[ttft=0]]",
            )
            .await;
            b.wait(
                "the live reply",
                Duration::from_secs(45),
                &format!("return document.querySelector('{SHOWN} [data-streaming]') !== null"),
            )
            .await;
            b.wait(
                "the reply",
                Duration::from_secs(60),
                &format!("const r = (() => {{ {SHOWN_REPLY_JS} }})(); return r === '{expected}'"),
            )
            .await;
            let samples = live_samples(&b).await;
            assert_live_text(&samples, &sid, &final_text(&b).await);
            sid
        }
    })
    .await;
    let _ = client.close().await;
    drop(driver);
    drop(trunk);
    api.abort();
    let sid = body.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    backend.wait_idle(&sid, Duration::from_secs(30)).await;
    assert_eq!(
        saved_reply(&backend.messages(&sid).await),
        expected,
        "the real backend saved it"
    );
}
