//! In-browser tests (wasm-bindgen-test in headless Chromium): components render what they
//! should, and the hub's browser glue keeps real EventSource objects as the design says.
//! The backend is a stand-in server started by `cargo xtask test` (`PANE_TEST_BACKEND`).
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use hermes_pane::api::Api;
use hermes_pane::components::cards::ApprovalCard;
use hermes_pane::components::composer::Composer;
use hermes_pane::components::pane::SessionPane;
use hermes_pane::components::sidebar::Sidebar;
use hermes_pane::components::transcript::ToolCardPanel;
use hermes_pane::hub::{Hub, SessionViewStoreFields};
use leptos::prelude::*;
use pane_core::transport::Budget;
use pane_core::turn::{ToolCard, ToolStatus};
use pane_core::wire::{Approval, ChatStartReply, Content, Message, SessionDetail, SessionEnvelope};
use pane_core::Input;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// Set at compile time by `cargo xtask test browser`; a plain `cargo test` says how to run these.
#[allow(clippy::option_env_unwrap)]
fn backend() -> &'static str {
    option_env!("PANE_TEST_BACKEND")
        .expect("run through `cargo xtask test browser` (it starts the stand-in backend)")
}

/// Panics anywhere in the page (a callback after a view was unmounted, say) — in the shipped
/// bundle a panic aborts the app, so every test fails on one, not only on its own assertions.
static PANICS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn record_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // The tests' own failed assertions are reported by the runner already.
            let app = info
                .location()
                .is_none_or(|l| !l.file().ends_with("tests/browser.rs"));
            if let (true, Ok(mut p)) = (app, PANICS.lock()) {
                p.push(info.to_string());
            }
            previous(info);
        }));
    });
}

/// Ends a test: closes the hub's connections and checks that nothing panicked meanwhile.
async fn done(hub: Hub) {
    hub.shutdown();
    sleep(50).await;
    let panics = std::mem::take(&mut *PANICS.lock().unwrap());
    assert!(panics.is_empty(), "panicked in the page: {panics:?}");
}

/// A hub under a fresh root owner (kept alive for the test's lifetime).
fn hub() -> Hub {
    record_panics();
    let owner = Owner::new();
    owner.set();
    let hub = Hub::new(Api::new(backend()), Budget::default());
    std::mem::forget(owner);
    hub
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh container in the page.
fn container() -> web_sys::HtmlElement {
    let el: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&el).unwrap();
    el
}

/// Mounts `view` (with the hub in context) into a fresh container in the page.
fn mount<V: IntoView + 'static>(
    hub: Hub,
    view: impl Fn() -> V + 'static,
) -> (web_sys::HtmlElement, leptos::mount::UnmountHandle<V::State>) {
    let el = container();
    let handle = leptos::mount::mount_to(el.clone(), move || {
        provide_context(hub);
        view()
    });
    (el, handle)
}

/// Mounts a session's pane (what the layout does for a shown session).
fn mount_pane(
    hub: Hub,
    id: &str,
) -> (
    web_sys::HtmlElement,
    leptos::mount::UnmountHandle<impl Mountable>,
) {
    let id = id.to_string();
    mount(hub, move || view! { <SessionPane id=id.clone()/> })
}

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// Polls `f` every 20 ms until it holds; panics after `timeout` (hang guard).
async fn until(what: &str, timeout: Duration, f: impl Fn() -> bool) {
    let mut waited = 0u32;
    while !f() {
        assert!(
            u128::from(waited) < timeout.as_millis(),
            "timed out waiting for {what}"
        );
        sleep(20).await;
        waited += 20;
    }
}

const LONG: Duration = Duration::from_secs(20);

/// The session ids of the sidebar rows under `root`, top to bottom.
fn row_ids(root: &web_sys::Element) -> Vec<String> {
    let rows = root
        .query_selector_all("[data-testid=session-row]")
        .unwrap();
    (0..rows.length())
        .filter_map(|i| {
            rows.item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.get_attribute("data-session-id"))
        })
        .collect()
}

fn text_of(root: &web_sys::Element, css: &str) -> String {
    root.query_selector(css)
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

/// The stream a session follows now.
fn stream_of(hub: &Hub, sid: &str) -> Option<String> {
    hub.runtime(sid)
        .and_then(|r| r.live_stream_id().map(str::to_string))
}

async fn running_session(hub: &Hub, message: &str) -> (String, String) {
    let sid = hub
        .new_session()
        .await
        .expect("session created on the test backend");
    hub.send(&sid, message, Vec::new())
        .await
        .expect("chat/start");
    let stream = stream_of(hub, &sid).expect("a stream");
    until("the transport to open", LONG, || {
        hub.event_source(&stream)
            .is_some_and(|es| es.ready_state() == 1)
    })
    .await;
    (sid, stream)
}

#[wasm_bindgen_test]
async fn switching_away_and_back_keeps_the_same_event_source_open() {
    let hub = hub();
    let (a, stream) = running_session(&hub, "a [[tokens=150]] [[delay=20]] [[ttft=0]]").await;
    let es = hub.event_source(&stream).unwrap();
    let serial = |hub: &Hub| {
        hub.transports()
            .into_iter()
            .find(|t| t.1 == stream)
            .map(|t| t.2)
    };
    let first_serial = serial(&hub);
    let b = hub.new_session().await.unwrap();
    hub.show(Some(b.clone()));
    sleep(100).await;
    hub.show(Some(a.clone()));
    sleep(100).await;
    hub.show(Some(b));
    hub.show(Some(a));
    let again = hub.event_source(&stream).expect("still open");
    assert!(
        js_sys::Object::is(&es, &again),
        "the very same EventSource object"
    );
    assert_eq!(again.ready_state(), 1, "OPEN");
    assert_eq!(serial(&hub), first_serial, "never torn down and reopened");
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_new_stream_id_replaces_the_event_source() {
    let hub = hub();
    let (sid, first) = running_session(&hub, "one [[tokens=3]] [[ttft=0]]").await;
    let old = hub.event_source(&first).unwrap();
    until("the first turn to end", LONG, || {
        hub.runtime(&sid)
            .is_some_and(|r| !r.is_busy() && r.live_stream_id().is_none())
    })
    .await;
    hub.send(
        &sid,
        "two [[tokens=200]] [[delay=20]] [[ttft=0]]",
        Vec::new(),
    )
    .await
    .unwrap();
    let second = stream_of(&hub, &sid).unwrap();
    assert_ne!(first, second);
    until("the new transport", LONG, || {
        hub.event_source(&second).is_some()
    })
    .await;
    let new = hub.event_source(&second).unwrap();
    assert!(!js_sys::Object::is(&old, &new));
    assert_eq!(old.ready_state(), 2, "the old one is CLOSED");
    assert!(hub.event_source(&first).is_none());
    // (The shared test backend may run other tests' sessions, which this hub also follows.)
    assert_eq!(
        hub.transports().iter().filter(|t| t.0 == sid).count(),
        1,
        "one transport for the session"
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_new_stream_id_closes_the_open_event_source_and_opens_one_for_the_new_stream() {
    // Close-and-open while the old transport is still OPEN (not after it ended).
    let hub = hub();
    let (sid, first) = running_session(&hub, "first [[tokens=300]] [[delay=20]] [[ttft=0]]").await;
    let old = hub.event_source(&first).unwrap();
    assert_eq!(old.ready_state(), 1);
    // Another run is started elsewhere; the session is told to follow it.
    let other = hub
        .api()
        .post::<SessionEnvelope>("new", "api/session/new", &serde_json::json!({}))
        .await
        .unwrap()
        .session
        .session_id;
    let body = serde_json::json!({
        "session_id": other,
        "message": "second [[tokens=200]] [[delay=20]] [[ttft=0]]"
    });
    let second = hub
        .api()
        .post::<ChatStartReply>("start", "api/chat/start", &body)
        .await
        .unwrap()
        .stream_id
        .unwrap();
    hub.update(
        Some(&sid),
        Input::Started {
            session: sid.clone(),
            stream: second.clone(),
            uploads: Vec::new(),
        },
    );
    until("the new transport", LONG, || {
        hub.event_source(&second)
            .is_some_and(|es| es.ready_state() == 1)
    })
    .await;
    assert_eq!(old.ready_state(), 2, "the old one was closed by the pane");
    assert!(hub.event_source(&first).is_none());
    assert_eq!(
        hub.transports()
            .iter()
            .filter(|t| t.0 == sid)
            .map(|t| t.1.clone())
            .collect::<Vec<_>>(),
        vec![second]
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn unmounting_a_sessions_pane_leaves_its_event_source_open() {
    let hub = hub();
    let (sid, stream) = running_session(&hub, "keep [[tokens=200]] [[delay=20]] [[ttft=0]]").await;
    let es = hub.event_source(&stream).unwrap();
    hub.show(Some(sid.clone()));
    let (el, handle) = mount_pane(hub, &sid);
    until("the live turn on screen", LONG, || {
        el.query_selector("[data-streaming]").unwrap().is_some()
    })
    .await;
    drop(handle); // the view goes away (switched off, or evicted from the kept panes)
    el.remove();
    sleep(300).await;
    let now = hub.event_source(&stream).expect("still registered");
    assert!(js_sys::Object::is(&es, &now), "the very same EventSource");
    assert_eq!(now.ready_state(), 1, "still OPEN");
    let seq = hub.runtime(&sid).unwrap().stream().unwrap().cursor.seq;
    sleep(300).await;
    assert!(
        hub.runtime(&sid).unwrap().stream().unwrap().cursor.seq > seq,
        "and still taking tokens in"
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_closed_event_source_is_reopened_from_its_cursor() {
    let hub = hub();
    let (sid, stream) =
        running_session(&hub, "reopen [[tokens=120]] [[delay=15]] [[ttft=0]]").await;
    until("some tokens", LONG, || {
        hub.runtime(&sid)
            .is_some_and(|r| r.stream().is_some_and(|s| s.cursor.seq > 10))
    })
    .await;
    let es = hub.event_source(&stream).unwrap();
    // The browser gives up on a connection: CLOSED, then an `error` event.
    es.close();
    es.dispatch_event(&web_sys::Event::new("error").unwrap())
        .unwrap();
    until("a new EventSource for the same stream", LONG, || {
        hub.event_source(&stream)
            .is_some_and(|n| !js_sys::Object::is(&n, &es))
    })
    .await;
    until("the turn to finish", LONG, || {
        hub.runtime(&sid)
            .is_some_and(|r| !r.is_busy() && !r.messages().is_empty())
    })
    .await;
    let expected: String = (1..=120)
        .map(|i| format!("tok{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        hub.runtime(&sid).unwrap().reply_text(),
        expected,
        "resumed from the cursor: nothing lost or doubled"
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn stream_end_closes_the_event_source() {
    let hub = hub();
    let (sid, stream) = running_session(&hub, "short [[tokens=5]] [[ttft=0]]").await;
    let es = hub.event_source(&stream).unwrap();
    until("stream_end", LONG, || {
        hub.runtime(&sid)
            .is_some_and(|r| r.stream().is_some_and(|s| s.ended))
    })
    .await;
    sleep(50).await;
    assert_eq!(
        es.ready_state(),
        2,
        "closed by the pane, not left to reconnect"
    );
    assert!(
        hub.event_source(&stream).is_none(),
        "gone from the registry"
    );
    // The browser's own reconnect would come after ~3 s: nothing reopens this stream.
    sleep(3500).await;
    assert_eq!(es.ready_state(), 2);
    assert!(
        hub.event_source(&stream).is_none(),
        "no reconnect to a finished stream"
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_background_event_does_not_repaint_the_shown_transcript() {
    let hub = hub();
    let shown = hub.new_session().await.unwrap();
    hub.send(&shown, "shown [[tokens=2]] [[ttft=0]]", Vec::new())
        .await
        .unwrap();
    until("the shown turn to end", LONG, || {
        hub.runtime(&shown)
            .is_some_and(|r| !r.is_busy() && r.messages().len() == 2)
    })
    .await;
    let (bg, _) = running_session(&hub, "background [[tokens=200]] [[delay=10]] [[ttft=0]]").await;
    hub.show(Some(shown.clone()));
    let (el, _mounted) = mount_pane(hub, &shown);
    sleep(200).await;
    // Count DOM mutations in the shown pane and its paints while the other session streams.
    let mutations = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let m2 = mutations.clone();
    let cb = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(
        move |records: js_sys::Array| m2.set(m2.get() + records.length()),
    );
    let observer = web_sys::MutationObserver::new(cb.as_ref().unchecked_ref()).unwrap();
    let opts = web_sys::MutationObserverInit::new();
    opts.set_subtree(true);
    opts.set_child_list(true);
    opts.set_character_data(true);
    opts.set_attributes(true);
    observer.observe_with_options(&el, &opts).unwrap();
    let paints = hub.paint_count(&shown);
    let before = hub.runtime(&bg).unwrap().stream().unwrap().cursor.seq;
    sleep(1200).await;
    let after = hub
        .runtime(&bg)
        .unwrap()
        .stream()
        .map(|s| s.cursor.seq)
        .unwrap_or(u64::MAX);
    assert!(
        after > before + 20,
        "the background session kept streaming ({before} → {after})"
    );
    assert_eq!(
        hub.paint_count(&shown),
        paints,
        "no repaint of the shown session"
    );
    assert_eq!(mutations.get(), 0, "no DOM change in the shown transcript");
    observer.disconnect();
    done(hub).await;
}

fn msg(role: &str, text: &str) -> Message {
    Message {
        role: role.into(),
        content: Some(Content::Text(text.into())),
        ..Default::default()
    }
}

#[wasm_bindgen_test]
async fn messages_render_markdown_code_and_hostile_content_inert() {
    let hub = hub();
    let detail = SessionDetail {
        session_id: "render".into(),
        title: Some("Rendering".into()),
        messages: vec![
            msg(
                "user",
                "<img src=x onerror=\"window.__pwned=1\"> **not bold**",
            ),
            msg(
                "assistant",
                "# Title\n\nSome **bold** and a [link](https://example.org).\n\n\
                 ```rust\nfn main() {}\n```\n\n<script>window.__pwned=2</script>\n\n\
                 [bad](javascript:window.__pwned=3)",
            ),
        ],
        ..Default::default()
    };
    let at = hub.ticket();
    hub.update(
        Some("render"),
        Input::Loaded {
            session: "render".into(),
            detail: detail.clone(),
            messages: true,
            at,
        },
    );
    hub.show(Some("render".into()));
    let (el, _m) = mount_pane(hub, "render");
    until("the transcript", LONG, || {
        el.query_selector("[data-role=assistant] h1")
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(
        text_of(&el, "[data-role=user] [data-testid=user-text]"),
        "<img src=x onerror=\"window.__pwned=1\"> **not bold**",
        "user text is shown as typed"
    );
    assert_eq!(text_of(&el, "[data-role=assistant] strong"), "bold");
    let a: web_sys::Element = el
        .query_selector("[data-role=assistant] a")
        .unwrap()
        .unwrap();
    assert_eq!(
        a.get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );
    assert!(el
        .query_selector("[data-role=assistant] .code-block code.language-rust")
        .unwrap()
        .is_some());
    assert!(el
        .query_selector("[data-testid=copy-code]")
        .unwrap()
        .is_some());
    assert!(
        el.query_selector("[data-role] script, [data-role] img")
            .unwrap()
            .is_none(),
        "no executable markup"
    );
    assert!(
        text_of(&el, "[data-role=assistant]").contains("<script>window.__pwned=2</script>"),
        "hostile HTML shown as text"
    );
    assert!(el.query_selector("a[href^=javascript]").unwrap().is_none());
    sleep(50).await;
    assert!(
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"__pwned".into())
            .unwrap()
            .is_undefined()
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn tool_cards_show_running_done_and_error() {
    let card = |status, preview: Option<&str>| ToolCard {
        tid: Some("t".into()),
        name: "terminal".into(),
        args: vec![("command".into(), "ls -la".into())],
        preview: preview.map(Into::into),
        status,
        duration: Some(1.25),
        steers: Vec::new(),
    };
    let el = container();
    let cards = vec![
        card(ToolStatus::Running, None),
        card(ToolStatus::Done, Some("total 0")),
        card(ToolStatus::Error, Some("boom")),
    ];
    let _m = leptos::mount::mount_to(el.clone(), move || {
        cards
            .clone()
            .into_iter()
            .map(|c| view! { <ToolCardPanel card=Signal::stored(c)/> })
            .collect_view()
    });
    sleep(20).await;
    let all = el.query_selector_all("[data-testid=tool-card]").unwrap();
    assert_eq!(all.length(), 3);
    let status = |i: u32| {
        all.item(i)
            .unwrap()
            .unchecked_into::<web_sys::Element>()
            .get_attribute("data-status")
            .unwrap()
    };
    assert_eq!(
        (status(0), status(1), status(2)),
        ("running".into(), "done".into(), "error".into())
    );
    let third: web_sys::HtmlDetailsElement = all.item(2).unwrap().unchecked_into();
    assert!(third.open(), "a failed tool opens by default");
    let second: web_sys::Element = all.item(1).unwrap().unchecked_into();
    assert_eq!(text_of(&second, "[data-testid=tool-preview]"), "total 0");
    assert!(
        second.text_content().unwrap().contains("ls -la"),
        "the arguments are shown"
    );
    assert!(
        second.text_content().unwrap().contains("1.2 s")
            || second.text_content().unwrap().contains("1.3 s"),
        "duration shown"
    );
}

#[wasm_bindgen_test]
async fn approval_card_offers_every_choice_and_clears_when_nothing_is_pending() {
    let hub = hub();
    let sid = hub.new_session().await.unwrap();
    let approval = Approval {
        approval_id: Some("gwlocal:x".into()),
        command: "rm -rf /tmp/x".into(),
        description: Some("recursive delete".into()),
        allow_permanent: true,
        ..Default::default()
    };
    hub.update(
        Some(&sid),
        Input::PromptsPolled {
            session: sid.clone(),
            approval: Some(Some(approval)),
            clarify: None,
            at: hub.ticket(),
        },
    );
    hub.show(Some(sid.clone()));
    let store = hub.store(&sid);
    let s2 = sid.clone();
    let (el, _m) = mount(
        hub,
        move || view! { <ApprovalCard id=s2.clone() store=store/> },
    );
    until("the card", LONG, || {
        el.query_selector("[data-testid=approval-card]")
            .unwrap()
            .is_some()
    })
    .await;
    for b in [
        "approve-once",
        "approve-session",
        "approve-always",
        "approve-deny",
    ] {
        assert!(
            el.query_selector(&format!("[data-testid={b}]"))
                .unwrap()
                .is_some(),
            "{b}"
        );
    }
    assert_eq!(
        text_of(&el, "[data-testid=approval-command]"),
        "rm -rf /tmp/x"
    );
    el.query_selector("[data-testid=approve-once]")
        .unwrap()
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
    // Nothing is pending on the backend: it answers stale_cleared and the card goes.
    until("the card to clear", LONG, || {
        el.query_selector("[data-testid=approval-card]")
            .unwrap()
            .is_none()
    })
    .await;
    assert!(hub.runtime(&sid).unwrap().approval().is_none());
    done(hub).await;
}

#[wasm_bindgen_test]
async fn denying_a_real_approval_sends_deny_and_the_turn_goes_on_without_the_command() {
    let hub = hub();
    let (sid, _) = running_session(
        &hub,
        "clean up [[tool:rm -rf ./demo]] [[ttft=0]] [[delay=5]]",
    )
    .await;
    until("the approval to arrive", LONG, || {
        hub.runtime(&sid).is_some_and(|r| r.approval().is_some())
    })
    .await;
    hub.show(Some(sid.clone()));
    let store = hub.store(&sid);
    let (el, _m) = mount_pane(hub, &sid);
    until("the card", LONG, || {
        el.query_selector("[data-testid=approve-deny]")
            .unwrap()
            .is_some()
    })
    .await;
    let deny: web_sys::HtmlElement = el
        .query_selector("[data-testid=approve-deny]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    deny.click();
    // A double click answers once (the second is ignored while the first is on its way).
    deny.click();
    until("the turn to finish", LONG, || {
        hub.runtime(&sid)
            .is_some_and(|r| !r.is_busy() && r.messages().len() >= 3)
    })
    .await;
    // The agent saw "deny": the command was blocked, not run.
    let rt = hub.runtime(&sid).unwrap();
    let blocked = rt
        .messages()
        .iter()
        .any(|m| m.is_tool() && m.text().contains("BLOCKED"));
    assert!(
        blocked,
        "the tool result says the user denied it: {:?}",
        rt.messages().iter().map(|m| m.text()).collect::<Vec<_>>()
    );
    assert!(store.approval().get_untracked().is_none());
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_live_tool_card_that_completes_updates_in_place_and_stays_expanded() {
    let card = RwSignal::new(ToolCard {
        tid: Some("t".into()),
        name: "terminal".into(),
        args: vec![],
        preview: None,
        status: ToolStatus::Running,
        duration: None,
        steers: Vec::new(),
    });
    let el = container();
    let _m = leptos::mount::mount_to(el.clone(), move || view! { <ToolCardPanel card=card/> });
    sleep(20).await;
    let before: web_sys::HtmlDetailsElement = el
        .query_selector("[data-testid=tool-card]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    before.set_open(true); // the reader expands it while it runs
    card.update(|c| {
        c.status = ToolStatus::Done;
        c.preview = Some("hi".into());
    });
    sleep(50).await;
    let after: web_sys::HtmlDetailsElement = el
        .query_selector("[data-testid=tool-card]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert!(
        js_sys::Object::is(&before, &after),
        "the same element, not a rebuilt one"
    );
    assert!(after.open(), "still expanded");
    assert_eq!(after.get_attribute("data-status").as_deref(), Some("done"));
    assert_eq!(text_of(&after, "[data-testid=tool-preview]"), "hi");
}

fn key(el: &web_sys::HtmlElement, init: &web_sys::KeyboardEventInit) {
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", init).unwrap();
    el.dispatch_event(&ev).unwrap();
}

/// The composer's own stylesheet in the test page (the box-sizing and the height cap are part
/// of what is tested).
fn composer_style() {
    let doc = web_sys::window().unwrap().document().unwrap();
    if doc.get_element_by_id("composer-style").is_none() {
        let style = doc.create_element("style").unwrap();
        style.set_id("composer-style");
        style.set_text_content(Some(include_str!("../src/components/composer/style.css")));
        doc.head().unwrap().append_child(&style).unwrap();
    }
}

/// A browser without `field-sizing` (older Firefox and Safari), for as long as it lives:
/// `CSS.supports` says no to it, and the page's stylesheet turns it off.
struct WithoutFieldSizing {
    css: wasm_bindgen::JsValue,
    supports: wasm_bindgen::JsValue,
}

impl WithoutFieldSizing {
    fn emulate() -> WithoutFieldSizing {
        let css = js_sys::Reflect::get(&js_sys::global(), &"CSS".into()).unwrap();
        let supports = js_sys::Reflect::get(&css, &"supports".into()).unwrap();
        let no = js_sys::Function::new_with_args(
            "real",
            "return (p, v) => p === 'field-sizing' ? false : real.call(CSS, p, v)",
        )
        .call1(&wasm_bindgen::JsValue::NULL, &supports)
        .unwrap();
        js_sys::Reflect::set(&css, &"supports".into(), &no).unwrap();
        let style = document().create_element("style").unwrap();
        style.set_id("no-field-sizing");
        style.set_text_content(Some("textarea { field-sizing: fixed !important; }"));
        document().head().unwrap().append_child(&style).unwrap();
        WithoutFieldSizing { css, supports }
    }
}

impl Drop for WithoutFieldSizing {
    fn drop(&mut self) {
        let _ = js_sys::Reflect::set(&self.css, &"supports".into(), &self.supports);
        if let Some(style) = document().get_element_by_id("no-field-sizing") {
            style.remove();
        }
    }
}

/// Types into the composer of a new session and checks its box against its text: it fits one
/// line and its placeholder with no scroll bar, grows with more lines, is capped by the
/// stylesheet (then it scrolls), and shrinks back when emptied.
async fn composer_fits_its_text(css_sizing: bool) {
    composer_style();
    let hub = hub();
    let sid = hub.new_session().await.unwrap();
    let store = hub.store(&sid);
    let shown = Memo::new(|_| true);
    let _old = (!css_sizing).then(WithoutFieldSizing::emulate);
    let (el, _h) = mount(
        hub,
        move || view! { <Composer id=sid.clone() store=store shown=shown/> },
    );
    let input: web_sys::HtmlTextAreaElement = el
        .query_selector("[data-testid=composer-input]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let type_text = |text: &str| {
        input.set_value(text);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
    };
    let overflow_y = |el: &web_sys::HtmlTextAreaElement| {
        web_sys::window()
            .unwrap()
            .get_computed_style(el)
            .unwrap()
            .unwrap()
            .get_property_value("overflow-y")
            .unwrap()
    };
    // No scroll bar: the text fits its box, and (sized in script) none could appear.
    let fits = |what: &str| {
        assert!(
            input.scroll_height() <= input.client_height(),
            "{what} fits its box: content {} px, box {} px",
            input.scroll_height(),
            input.client_height()
        );
        if !css_sizing {
            assert_eq!(overflow_y(&input), "hidden", "{what}: no scroll bar");
        }
    };
    let inline_height = || {
        web_sys::HtmlElement::style(&input)
            .get_property_value("height")
            .unwrap()
    };
    type_text("");
    sleep(20).await;
    // Empty, the box fits its placeholder (which may wrap in the test page's narrow container).
    let empty = input.offset_height();
    fits("the placeholder");
    type_text("one line");
    sleep(20).await;
    let one = input.offset_height();
    fits("one line");
    type_text("one\ntwo\nthree");
    sleep(20).await;
    assert!(input.offset_height() > one, "three lines grow the box");
    fits("three lines");
    type_text(&"many lines\n".repeat(200));
    sleep(20).await;
    assert!(
        input.scroll_height() > input.client_height(),
        "200 lines are capped by the stylesheet's max-height"
    );
    assert!(
        matches!(overflow_y(&input).as_str(), "auto" | "scroll"),
        "capped, it scrolls"
    );
    type_text("");
    sleep(20).await;
    assert_eq!(input.offset_height(), empty, "emptied, it shrinks back");
    fits("emptied, the placeholder");
    if css_sizing {
        // The stylesheet did it all: the script never read the box's layout to size it.
        assert_eq!(inline_height(), "", "no height set in script");
    } else {
        assert!(inline_height().ends_with("px"), "sized in script");
    }
}

#[wasm_bindgen_test]
async fn composer_grows_with_its_text_and_scrolls_only_once_capped() {
    composer_fits_its_text(true).await;
}

#[wasm_bindgen_test]
async fn composer_grows_with_its_text_where_the_browser_cannot_size_it() {
    composer_fits_its_text(false).await;
}

#[wasm_bindgen_test]
async fn composer_enter_sends_but_shift_enter_and_ime_do_not_and_drafts_persist() {
    let hub = hub();
    let sid = hub.new_session().await.unwrap();
    hub.show(Some(sid.clone()));
    let store = hub.store(&sid);
    let shown = Memo::new(|_| true);
    let mount_composer = |hub: Hub, sid: String| {
        mount(
            hub,
            move || view! { <Composer id=sid.clone() store=store shown=shown/> },
        )
    };
    let (el, handle) = mount_composer(hub, sid.clone());
    let input: web_sys::HtmlTextAreaElement = el
        .query_selector("[data-testid=composer-input]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_value("hello [[tokens=2]] [[ttft=0]]");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    // The draft survives unmounting (switching away) and comes back.
    drop(handle);
    let (el, _h2) = mount_composer(hub, sid.clone());
    let input: web_sys::HtmlTextAreaElement = el
        .query_selector("[data-testid=composer-input]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    sleep(20).await;
    assert_eq!(
        input.value(),
        "hello [[tokens=2]] [[ttft=0]]",
        "draft restored"
    );
    let stored = web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(&format!("hermes-pane:draft:{sid}"))
        .unwrap();
    assert_eq!(
        stored.as_deref(),
        Some("hello [[tokens=2]] [[ttft=0]]"),
        "kept across reloads"
    );
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_shift_key(true);
    key(&input, &init);
    let ime = web_sys::KeyboardEventInit::new();
    ime.set_key("Enter");
    ime.set_is_composing(true);
    key(&input, &ime);
    sleep(100).await;
    assert!(
        hub.runtime(&sid)
            .is_none_or(|r| r.live().is_none() && r.messages().is_empty()),
        "Shift+Enter and IME Enter do not send"
    );
    let enter = web_sys::KeyboardEventInit::new();
    enter.set_key("Enter");
    key(&input, &enter);
    until("the message to be sent", LONG, || {
        hub.runtime(&sid)
            .is_some_and(|r| r.live().is_some() || !r.messages().is_empty())
    })
    .await;
    assert_eq!(input.value(), "", "cleared after sending");
    until("the reply", LONG, || {
        hub.runtime(&sid).is_some_and(|r| r.messages().len() == 2)
    })
    .await;
    assert_eq!(hub.runtime(&sid).unwrap().reply_text(), "tok1 tok2");
    done(hub).await;
}

#[wasm_bindgen_test]
async fn chosen_files_each_upload_to_ready_and_the_input_is_cleared_to_choose_again() {
    let hub = hub();
    let sid = hub.new_session().await.unwrap();
    let store = hub.store(&sid);
    let shown = Memo::new(|_| true);
    let s2 = sid.clone();
    let (el, _m) = mount(
        hub,
        move || view! { <Composer id=s2.clone() store=store shown=shown/> },
    );
    let input: web_sys::HtmlInputElement = el
        .query_selector("[data-testid=attach-input]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let chosen = web_sys::DataTransfer::new().unwrap();
    for (name, body) in [("a.txt", "alpha"), ("b.txt", "beta")] {
        let file =
            web_sys::File::new_with_str_sequence(&js_sys::Array::of1(&body.into()), name).unwrap();
        chosen.items().add_with_file(&file).unwrap();
    }
    input.set_files(Some(&chosen.files().unwrap()));
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    until("both files uploaded", LONG, || {
        el.query_selector_all("[data-testid=attachment]")
            .unwrap()
            .length()
            == 2
            && text_of(&el, "[data-testid=attachments]")
                .matches("ready")
                .count()
                == 2
    })
    .await;
    assert!(
        text_of(&el, "[data-testid=attachments]").contains("a.txt")
            && text_of(&el, "[data-testid=attachments]").contains("b.txt")
    );
    assert_eq!(
        input.value(),
        "",
        "cleared, so the same file can be chosen again"
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_failed_send_keeps_the_draft_and_says_why() {
    let hub = hub();
    let sid = "no-such-session-here".to_string();
    let store = hub.store(&sid);
    let shown = Memo::new(|_| true);
    let s2 = sid.clone();
    let (el, _m) = mount(
        hub,
        move || view! { <Composer id=s2.clone() store=store shown=shown/> },
    );
    let input: web_sys::HtmlTextAreaElement = el
        .query_selector("[data-testid=composer-input]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_value("important words");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let enter = web_sys::KeyboardEventInit::new();
    enter.set_key("Enter");
    key(&input, &enter);
    until("the error", LONG, || {
        el.query_selector("[data-testid=composer-error]")
            .unwrap()
            .is_some()
    })
    .await;
    assert!(
        text_of(&el, "[data-testid=composer-error]").contains("not found"),
        "{}",
        text_of(&el, "[data-testid=composer-error]")
    );
    assert_eq!(
        input.value(),
        "important words",
        "the text is back in the box"
    );
    let stored = web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(&format!("hermes-pane:draft:{sid}"))
        .unwrap();
    assert_eq!(
        stored.as_deref(),
        Some("important words"),
        "and in the saved draft"
    );
    // A message the hub sends for the user (a queued one, a retry) comes back the same way.
    input.set_value("");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    hub.give_back(
        &sid,
        "queued words",
        Vec::new(),
        "Sending your message: the backend is unreachable.",
    );
    until("the returned text", LONG, || {
        input.value() == "queued words"
    })
    .await;
    assert!(text_of(&el, "[data-testid=composer-error]").contains("unreachable"));
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .remove_item(&format!("hermes-pane:draft:{sid}"))
        .unwrap();
    done(hub).await;
}

#[wasm_bindgen_test]
async fn inline_rename_escape_cancels_and_enter_renames_once() {
    let hub = hub();
    let sid = hub.new_session().await.unwrap();
    hub.send(&sid, "to rename [[tokens=1]] [[ttft=0]]", Vec::new())
        .await
        .unwrap();
    // `stream_end` comes after the generated title: the title is settled then.
    until("the turn to end", LONG, || {
        hub.runtime(&sid)
            .is_some_and(|r| r.messages().len() == 2 && r.stream().is_some_and(|s| s.ended))
    })
    .await;
    hub.refresh_list().await;
    let (el, _m) = mount(hub, || view! { <Sidebar/> });
    let row = format!("[data-testid=session-row][data-session-id=\"{sid}\"]");
    // The sidebar is painted at its own pace: wait until the row shows the settled title.
    let settled_title = hub
        .runtime(&sid)
        .and_then(|r| r.title().map(str::to_string))
        .unwrap_or_default();
    until("the row with its title", LONG, || {
        text_of(&el, &format!("{row} [data-testid=row-title]")) == settled_title
    })
    .await;
    let title_before = settled_title.clone();
    let click = |css: &str| {
        el.query_selector(css)
            .unwrap()
            .unwrap()
            .unchecked_into::<web_sys::HtmlElement>()
            .click()
    };
    click(&format!("{row} [data-testid=row-rename]"));
    until("the rename field", LONG, || {
        el.query_selector(&format!("{row} [data-testid=row-rename-input]"))
            .unwrap()
            .is_some()
    })
    .await;
    let field: web_sys::HtmlInputElement = el
        .query_selector(&format!("{row} [data-testid=row-rename-input]"))
        .unwrap()
        .unwrap()
        .unchecked_into();
    sleep(20).await;
    assert_eq!(
        document()
            .active_element()
            .map(|a| js_sys::Object::is(&a, &field)),
        Some(true),
        "the field has focus"
    );
    field.set_value("Should not stick");
    let esc = web_sys::KeyboardEventInit::new();
    esc.set_key("Escape");
    key(field.unchecked_ref(), &esc);
    sleep(300).await;
    assert!(el
        .query_selector(&format!("{row} [data-testid=row-rename-input]"))
        .unwrap()
        .is_none());
    assert_eq!(
        text_of(&el, &format!("{row} [data-testid=row-title]")),
        title_before,
        "Escape renames nothing"
    );
    // Enter renames (once, though the field's removal blurs it too).
    click(&format!("{row} [data-testid=row-rename]"));
    until("the rename field again", LONG, || {
        el.query_selector(&format!("{row} [data-testid=row-rename-input]"))
            .unwrap()
            .is_some()
    })
    .await;
    let field: web_sys::HtmlInputElement = el
        .query_selector(&format!("{row} [data-testid=row-rename-input]"))
        .unwrap()
        .unwrap()
        .unchecked_into();
    field.set_value("Renamed here");
    let enter = web_sys::KeyboardEventInit::new();
    enter.set_key("Enter");
    key(field.unchecked_ref(), &enter);
    until("the new title", LONG, || {
        text_of(&el, &format!("{row} [data-testid=row-title]")) == "Renamed here"
    })
    .await;
    done(hub).await;
}

#[wasm_bindgen_test]
async fn load_all_pages_a_long_session_in_so_find_in_page_sees_every_message() {
    let hub = hub();
    let seeded = hub
        .api()
        .post::<serde_json::Value>(
            "seed",
            "api/__seed",
            &serde_json::json!({"messages": 1200, "title": "long"}),
        )
        .await
        .unwrap();
    let sid = seeded["session_id"].as_str().unwrap().to_string();
    hub.show(Some(sid.clone()));
    let (el, _m) = mount_pane(hub, &sid);
    until("the last page", LONG, || {
        el.query_selector_all("[data-testid=message]")
            .unwrap()
            .length()
            > 0
    })
    .await;
    let first_page = el
        .query_selector_all("[data-testid=message]")
        .unwrap()
        .length();
    assert!(
        first_page < 1200,
        "only a window is loaded at first ({first_page})"
    );
    el.query_selector("[data-testid=load-all]")
        .unwrap()
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
    until("every message", LONG, || {
        el.query_selector_all("[data-testid=message]")
            .unwrap()
            .length()
            == 1200
    })
    .await;
    assert!(
        el.query_selector("[data-testid=load-all]")
            .unwrap()
            .is_none(),
        "nothing older is left to load"
    );
    let rt = hub.runtime(&sid).unwrap();
    assert_eq!((rt.messages_offset(), rt.messages().len()), (0, 1200));
    done(hub).await;
}

#[wasm_bindgen_test]
async fn sidebar_rows_keep_their_places_under_the_pointer_and_re_sort_after() {
    let hub = hub();
    let a = hub.new_session().await.unwrap();
    hub.send(&a, "older [[tokens=1]] [[ttft=0]]", Vec::new())
        .await
        .unwrap();
    until("A to end", LONG, || {
        hub.runtime(&a)
            .is_some_and(|r| r.stream().is_some_and(|s| s.ended))
    })
    .await;
    let b = hub.new_session().await.unwrap();
    hub.send(&b, "newer [[tokens=1]] [[ttft=0]]", Vec::new())
        .await
        .unwrap();
    until("B to end", LONG, || {
        hub.runtime(&b)
            .is_some_and(|r| r.stream().is_some_and(|s| s.ended))
    })
    .await;
    hub.refresh_list().await;
    let (el, _m) = mount(hub, || view! { <Sidebar/> });
    let order = || {
        row_ids(&el)
            .into_iter()
            .filter(|id| *id == a || *id == b)
            .collect::<Vec<_>>()
    };
    until("newest first", LONG, || {
        order() == vec![b.clone(), a.clone()]
    })
    .await;
    // The pointer is over the list; A starts running (the backend now lists it first).
    hub.hold_sidebar(true);
    hub.send(
        &a,
        "again [[tokens=300]] [[delay=10]] [[ttft=0]]",
        Vec::new(),
    )
    .await
    .unwrap();
    hub.refresh_list().await;
    let row_a = format!("[data-testid=session-row][data-session-id=\"{a}\"]");
    until("A's row to show it running", LONG, || {
        el.query_selector(&row_a)
            .unwrap()
            .and_then(|r| r.get_attribute("data-state"))
            .as_deref()
            == Some("running")
    })
    .await;
    assert_eq!(
        order(),
        vec![b.clone(), a.clone()],
        "no row moved under the pointer"
    );
    hub.hold_sidebar(false);
    until("the backend's order back", LONG, || {
        order() == vec![a.clone(), b.clone()]
    })
    .await;
    done(hub).await;
}

#[wasm_bindgen_test]
async fn the_address_bar_drives_the_shown_session_with_back_forward_and_a_fallback() {
    let hub = hub();
    let window = web_sys::window().unwrap();
    let history = window.history().unwrap();
    let start = window.location().pathname().unwrap();
    let path = || window.location().pathname().unwrap();
    let a = hub.new_session().await.unwrap();
    let (el, _m) = mount(hub, || view! { <hermes_pane::routes::Routes/> });
    // The address (the start page) decides what is shown, not what the hub showed before.
    until("the start page, nothing shown", LONG, || {
        hub.active.get_untracked().is_none()
            && el.query_selector("[data-testid=home]").unwrap().is_some()
    })
    .await;

    // Opening a session is a history entry naming it; the hub shows it.
    hub.open(&a);
    assert!(
        path().ends_with(&format!("/session/{}", pane_core::url_encode(&a))),
        "{}",
        path()
    );
    until("A shown", LONG, || {
        hub.active.get_untracked().as_deref() == Some(a.as_str())
    })
    .await;
    assert!(el.query_selector("[data-testid=home]").unwrap().is_none());

    // Back: the start page again, nothing shown; forward: A again.
    history.back().unwrap();
    until("back to the start", LONG, || {
        hub.active.get_untracked().is_none()
            && el.query_selector("[data-testid=home]").unwrap().is_some()
    })
    .await;
    history.forward().unwrap();
    until("forward to A", LONG, || {
        hub.active.get_untracked().as_deref() == Some(a.as_str())
    })
    .await;

    // An address that names nothing: the fallback, whose link goes home without a page load.
    history
        .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/no/such/page"))
        .unwrap();
    window
        .dispatch_event(&web_sys::Event::new("popstate").unwrap())
        .unwrap();
    until("the fallback", LONG, || {
        el.query_selector("[data-testid=not-found]")
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(
        hub.active.get_untracked(),
        None,
        "nothing is shown behind the fallback"
    );
    let link: web_sys::HtmlElement = el
        .query_selector("[data-testid=not-found] a")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    link.click();
    until("home from the fallback", LONG, || {
        el.query_selector("[data-testid=home]").unwrap().is_some()
    })
    .await;
    assert!(path().ends_with('/'), "{}", path());

    history
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&start))
        .unwrap();
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_stop_click_right_after_the_rows_moved_is_ignored_and_a_later_one_stops_that_row() {
    let hub = hub();
    let a = hub.new_session().await.unwrap();
    hub.send(
        &a,
        "long [[tokens=400]] [[delay=20]] [[ttft=0]]",
        Vec::new(),
    )
    .await
    .unwrap();
    let (el, _m) = mount(hub, || view! { <Sidebar/> });
    let row_a = format!("[data-testid=session-row][data-session-id=\"{a}\"]");
    let state = |css: &str| {
        el.query_selector(css)
            .unwrap()
            .and_then(|r| r.get_attribute("data-state"))
    };
    until("A running in the list", LONG, || {
        state(&row_a).as_deref() == Some("running")
    })
    .await;
    sleep(700).await;
    // B starts: its row comes in above A's, so A's row moves down under a pointer aimed at it.
    let b = hub.new_session().await.unwrap();
    hub.send(
        &b,
        "other [[tokens=400]] [[delay=20]] [[ttft=0]]",
        Vec::new(),
    )
    .await
    .unwrap();
    let row_b = format!("[data-testid=session-row][data-session-id=\"{b}\"]");
    // (Checked together: the click below follows in the same task, inside the window.)
    until("B listed above A, just now", LONG, || {
        let ids = row_ids(&el);
        ids.iter().position(|x| *x == b) < ids.iter().position(|x| *x == a) && hub.rows_just_moved()
    })
    .await;
    let stop = |css: &str| {
        el.query_selector(&format!("{css} [data-testid=row-stop]"))
            .unwrap()
            .expect("a stop button")
            .dyn_into::<web_sys::HtmlElement>()
            .unwrap()
            .click()
    };
    stop(&row_a);
    sleep(400).await;
    assert_eq!(
        state(&row_a).as_deref(),
        Some("running"),
        "a click as the rows moved stops nothing"
    );
    assert_eq!(state(&row_b).as_deref(), Some("running"));
    until("the rows to have stood still a moment", LONG, || {
        !hub.rows_just_moved()
    })
    .await;
    stop(&row_a);
    until("A stopped", LONG, || {
        state(&row_a).as_deref() == Some("idle")
    })
    .await;
    assert_eq!(
        state(&row_b).as_deref(),
        Some("running"),
        "only that row's reply stops"
    );
    done(hub).await;
}

#[wasm_bindgen_test]
async fn a_paragraph_streaming_in_grows_in_place_and_ends_as_a_full_render_would_show_it() {
    use hermes_pane::components::transcript::StreamingMarkdown;
    let hub = hub();
    let text = RwSignal::new(std::sync::Arc::<str>::from("tok1"));
    let (el, _m) = mount(hub, move || {
        view! { <StreamingMarkdown text=text.into() session=Signal::stored("s".to_string()) /> }
    });
    sleep(20).await;
    let paragraph = |el: &web_sys::HtmlElement| el.query_selector(".streaming p").unwrap();
    assert!(
        paragraph(&el).is_some(),
        "the first token shows as a paragraph"
    );
    // Each step's tail, as rendering it whole shows it.
    let fresh = |src: &str| {
        let d = document().create_element("div").unwrap();
        d.set_inner_html(&hermes_pane::markdown::block_html(src, "s", true));
        d
    };
    let tail = |el: &web_sys::HtmlElement| {
        el.query_selector(".streaming > div:last-child")
            .unwrap()
            .unwrap()
    };
    let mut src = String::from("tok1");
    for (i, piece) in [
        " tok2", " tok3", " *em", " still", "* after", " & amp", " <b>", " end",
    ]
    .iter()
    .enumerate()
    {
        src.push_str(piece);
        text.set(src.as_str().into());
        sleep(20).await;
        assert!(
            tail(&el).is_equal_node(Some(&fresh(&src))),
            "step {i}: {:?} is not what {:?} renders to",
            tail(&el).inner_html(),
            src
        );
    }
    // Plain text added at the end went into the paragraph on screen, not into a rebuilt one.
    src = "tok1".into();
    text.set(src.as_str().into());
    sleep(20).await;
    let kept = paragraph(&el).expect("the paragraph");
    for piece in [" tok2", " tok3", " tok4"] {
        src.push_str(piece);
        text.set(src.as_str().into());
        sleep(20).await;
        assert!(
            paragraph(&el).is_some_and(|p| p.is_same_node(Some(&kept))),
            "appended in place"
        );
    }
    assert_eq!(kept.text_content().unwrap(), "tok1 tok2 tok3 tok4");
    done(hub).await;
}
