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

/// Keeps Tab and Shift+Tab inside the dialog (a modal: what is behind it is out of reach).
fn trap_tab(ev: ev::KeyboardEvent, dialog: &web_sys::Element) {
    if ev.key() != "Tab" {
        return;
    }
    let Ok(list) = dialog.query_selector_all(
        "button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])",
    ) else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return;
    };
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let at = |el: &web_sys::HtmlElement| active.as_ref() == Some(el.unchecked_ref());
    let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
    if ev.shift_key() && (at(first) || !inside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (at(last) || !inside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

fn shortcut_help_body(open: RwSignal<bool>) -> AnyView {
    let dialog = NodeRef::<leptos::html::Div>::new();
    let close = NodeRef::<leptos::html::Button>::new();
    // Where focus was when the dialog opened: it goes back there when it closes.
    let opener: StoredValue<Option<web_sys::HtmlElement>, LocalStorage> =
        StoredValue::new_local(None);
    Effect::new(move |_| {
        if open.get() {
            let active = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            opener.set_value(active);
            request_animation_frame(move || {
                if let Some(b) = close.get_untracked() {
                    let _ = b.focus();
                }
            });
        } else if let Some(el) = opener.try_update_value(Option::take).flatten() {
            let _ = el.focus();
        }
    });
    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| open.set(false)></div>
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby="shortcut-title"
                data-testid="shortcut-help"
                node_ref=dialog
                on:keydown=move |ev: ev::KeyboardEvent| {
                    if let Some(d) = dialog.get_untracked() {
                        trap_tab(ev, &d);
                    }
                }
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
                <button
                    type="button"
                    class="btn"
                    node_ref=close
                    data-testid="shortcut-help-close"
                    on:click=move |_| open.set(false)
                >
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
