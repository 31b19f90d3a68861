//! Keyboard use: new session, next/previous session, focus the composer or search, stop, and
//! a help dialog listing them all.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::hub::SidebarViewStoreFields;
use crate::use_hub;

/// The shortcuts, as shown in the help.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Alt + N", "New session"),
    ("Alt + ↓ / Alt + ↑", "Next / previous session"),
    ("Alt + C", "Focus the message box"),
    ("Alt + K", "Search sessions"),
    ("Esc (in the message box)", "Stop the running reply"),
    ("Alt + .", "Stop the running reply"),
    ("Enter / Shift + Enter", "Send / new line"),
    ("?", "Show this help"),
];

fn focus(selector: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

fn typing(ev: &ev::KeyboardEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|e| {
            matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || e.has_attribute("contenteditable")
        })
}

/// The keyboard shortcuts, on the window. What a key does is in the later chunk: keys pressed
/// in the moment before it is in do nothing.
#[component]
pub fn Shortcuts(help: RwSignal<bool>) -> impl IntoView {
    let hub = use_hub();
    let handle = window_event_listener(ev::keydown, move |ev: ev::KeyboardEvent| {
        if crate::lazy::ready(crate::lazy::Chunk::Later) {
            let _ = crate::lazy::now(on_key(hub, help, ev));
        }
    });
    on_cleanup(move || handle.remove());
}

crate::later_fns! {
    fn on_key(
        hub: crate::hub::Hub,
        help: RwSignal<bool>,
        ev: ev::KeyboardEvent,
    ) -> () as preload_keys => on_key_body;
    fn shortcut_help(open: RwSignal<bool>) -> AnyView as preload_help => shortcut_help_body;
}

fn on_key_body(hub: crate::hub::Hub, help: RwSignal<bool>, ev: ev::KeyboardEvent) {
    let step = move |delta: i32| {
        let ids: Vec<String> = hub
            .sidebar
            .pinned()
            .with_untracked(|p| p.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
            .into_iter()
            .chain(
                hub.sidebar
                    .recent()
                    .with_untracked(|r| r.iter().map(|r| r.id.clone()).collect::<Vec<_>>()),
            )
            .collect();
        if ids.is_empty() {
            return;
        }
        let cur = hub
            .active
            .get_untracked()
            .and_then(|a| ids.iter().position(|i| *i == a));
        let next = match cur {
            Some(i) => (i as i32 + delta).rem_euclid(ids.len() as i32) as usize,
            None => 0,
        };
        hub.open(&ids[next]);
    };
    let key = ev.key();
    if ev.alt_key() && !ev.ctrl_key() && !ev.meta_key() {
        let code = ev.code();
        let handled = match (code.as_str(), key.as_str()) {
            ("KeyN", _) => {
                leptos::task::spawn_local(async move {
                    if let Err(e) = hub.new_session().await {
                        hub.toast(crate::hub::ToastKind::Error, e, None);
                    }
                });
                true
            }
            (_, "ArrowDown") => {
                step(1);
                true
            }
            (_, "ArrowUp") => {
                step(-1);
                true
            }
            ("KeyC", _) => {
                focus(
                    ".pane:not(.hidden) [data-testid=composer-input], \
                     .route:not(.hidden) [data-testid=composer-input]",
                );
                true
            }
            ("KeyK", _) => {
                focus("[data-testid=search]");
                true
            }
            ("Period", _) => {
                if let Some(a) = hub.active.get_untracked() {
                    hub.stop(&a);
                }
                true
            }
            ("Slash", _) => {
                help.update(|h| *h = !*h);
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    } else if key == "?" && !typing(&ev) {
        help.update(|h| *h = !*h);
        ev.prevent_default();
    } else if key == "Escape" && help.get_untracked() {
        help.set(false);
    }
}

fn shortcut_help_body(open: RwSignal<bool>) -> AnyView {
    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| open.set(false)></div>
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby="shortcut-title"
                data-testid="shortcut-help"
            >
                <h2 id="shortcut-title">"Keyboard shortcuts"</h2>
                <dl class="shortcut-list">
                    {SHORTCUTS
                        .iter()
                        .map(|(k, v)| {
                            view! {
                                <dt>
                                    <kbd>{*k}</kbd>
                                </dt>
                                <dd>{*v}</dd>
                            }
                        })
                        .collect_view()}
                </dl>
                <button type="button" class="btn" autofocus on:click=move |_| open.set(false)>
                    "Close"
                </button>
            </div>
        </Show>
    }
    .into_any()
}
/// The shortcut list (`?`); its code is in the later chunk.
#[component]
pub fn ShortcutHelp(open: RwSignal<bool>) -> impl IntoView {
    crate::lazy::view(
        move || crate::lazy::now(shortcut_help(open)),
        move || open.get().then(crate::lazy::loading).flatten(),
    )
}
