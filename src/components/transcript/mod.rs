//! The transcript: settled messages (rendered once each), the live turn (only its growing
//! tail re-renders, one block at a time), tool cards, reasoning, error bubbles, dividers.
//! Follows the stream while the reader is at the bottom; any upward scroll unpins and shows
//! "Jump to latest"; the position is restored when the session is shown again.

use std::sync::Arc;

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use pane_core::markdown::BlockSplitter;
use pane_core::turn::{ToolCard, ToolStatus};
use reactive_stores::Store;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::hub::{
    Item, ItemKind, LiveSeg, LiveSegKind, Scroll, SessionView, SessionViewStoreFields, Status,
};
use crate::lazy;
use crate::use_hub;

mod entry;
mod media;
use entry::*;
use media::watch_broken_media_body;

mod live;
pub use live::StreamingMarkdown;
use live::*;

mod later;
use later::*;

/// How close to the bottom still counts as "at the bottom" (px).
const PIN_SLACK: f64 = 24.0;

#[component]
pub fn Transcript(id: String, store: Store<SessionView>, shown: Memo<bool>) -> impl IntoView {
    let hub = use_hub();
    // A transcript on screen will show markdown: ask for the renderer now, alongside its data.
    lazy::want(lazy::Chunk::Markdown);
    let sid = StoredValue::new(id.clone());
    let scroller = NodeRef::<html::Div>::new();
    let content = NodeRef::<html::Div>::new();
    let pinned = RwSignal::new(hub.scroll(&id).pinned);
    let last = StoredValue::new((0.0f64, 0.0f64));

    let to_bottom = move || {
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let top = f64::from(el.scroll_top());
        let height = f64::from(el.scroll_height());
        let max = height - f64::from(el.client_height());
        let (last_top, last_height) = last.get_value();
        // Upward movement the reader caused (not content shrinking under us) unpins.
        let went_up = top < last_top - 1.0 && height >= last_height;
        let p = if went_up {
            false
        } else if max - top <= PIN_SLACK {
            true
        } else {
            pinned.get_untracked()
        };
        last.set_value((top, height));
        if p != pinned.get_untracked() {
            pinned.set(p);
        }
        hub.set_scroll(&sid.get_value(), Scroll { top, pinned: p });
        if top < 200.0
            && store.has_older().get_untracked()
            && !store.loading_older().get_untracked()
        {
            hub.load_older(&sid.get_value());
        }
    };
    let on_wheel = move |ev: ev::WheelEvent| {
        if ev.delta_y() < 0.0 && pinned.get_untracked() {
            pinned.set(false);
        }
    };
    // Growing content keeps the view at the bottom while pinned.
    type Observer = (web_sys::ResizeObserver, Closure<dyn FnMut()>);
    let observer: StoredValue<Option<Observer>, LocalStorage> = StoredValue::new_local(None);
    Effect::new(move |_| {
        let Some(inner) = content.get() else { return };
        if observer.with_value(Option::is_some) {
            return;
        }
        let cb = Closure::<dyn FnMut()>::new(move || {
            if pinned.get_untracked() && shown.get_untracked() {
                to_bottom();
            }
        });
        if let Ok(ro) = web_sys::ResizeObserver::new(cb.as_ref().unchecked_ref()) {
            ro.observe(&inner);
            observer.set_value(Some((ro, cb)));
        }
    });
    on_cleanup(move || {
        observer.try_with_value(|o| {
            if let Some((ro, _)) = o {
                ro.disconnect();
            }
        });
    });
    // Shown again: restore where the reader was.
    Effect::new(move |_| {
        if shown.get() {
            let s = hub.scroll(&sid.get_value());
            pinned.set(s.pinned);
            request_animation_frame(move || {
                // The pane may have been unmounted before this frame: then there is nothing to do.
                if let Some(Some(el)) = scroller.try_get_untracked() {
                    if s.pinned {
                        el.set_scroll_top(el.scroll_height());
                    } else {
                        el.set_scroll_top(s.top as i32);
                    }
                }
            });
        }
    });
    let jump = move |_| {
        pinned.set(true);
        to_bottom();
        hub.set_scroll(
            &sid.get_value(),
            Scroll {
                top: 0.0,
                pinned: true,
            },
        );
    };
    let last_assistant = Memo::new(move |_| {
        store.items().with(|items| {
            items
                .iter()
                .rev()
                .find(|i| matches!(i.kind, ItemKind::Assistant { .. }))
                .map(|i| i.key)
        })
    });
    let idle = Memo::new(move |_| store.status().get() == Status::Idle);

    view! {
        <div
            class="transcript"
            node_ref=scroller
            role="log"
            aria-label="Conversation"
            aria-live="off"
            data-testid="transcript"
            on:scroll=on_scroll
            on:wheel=on_wheel
            on:click=copy_code
        >
            <div class="transcript-inner" node_ref=content>
                <Show when=move || store.has_older().get()>
                    <div class="older">
                        <button
                            type="button"
                            class="btn small"
                            data-testid="load-older"
                            disabled=move || store.loading_older().get()
                            on:click=move |_| hub.load_older(&sid.get_value())
                        >
                            {move || {
                                if store.loading_older().get() {
                                    "Loading older messages…"
                                } else {
                                    "Load older messages"
                                }
                            }}
                        </button>
                        // Find in page (Ctrl+F) only sees what is loaded: one click loads it all.
                        <button
                            type="button"
                            class="btn link small"
                            data-testid="load-all"
                            disabled=move || store.loading_older().get()
                            on:click=move |_| hub.load_all(&sid.get_value())
                            title="Load every message, so find in page (Ctrl+F) searches the \
                            whole conversation"
                        >
                            "Load all (to search with Ctrl+F)"
                        </button>
                    </div>
                </Show>
                <Show when=move || {
                    !store.loaded().get() && store.items().with(Vec::is_empty)
                        && store.live().with(Option::is_none)
                        && store.load_error().with(Option::is_none)
                }>
                    <p class="muted loading" data-testid="loading">
                        "Loading…"
                    </p>
                </Show>
                <For
                    each=move || store.items().get()
                    key={|it: &Arc<Item>| (it.key, it.version)}
                    children={move |it: Arc<Item>| {
                        let key = it.key;
                        view! {
                            <TranscriptEntry
                                item=it
                                id=sid.get_value()
                                last=Signal::derive(move || {
                                    last_assistant.get() == Some(key) && idle.get()
                                })
                            />
                        }
                    }}
                />
                <Show when=move || store.live().with(Option::is_some)>
                    <LiveReply store=store />
                </Show>
                <Show when=move || store.error().with(Option::is_some)>
                    <div class="msg assistant error-bubble" role="alert" data-testid="error-bubble">
                        <p class="error-title">{move || store.error().get().map(|e| e.message)}</p>
                        {move || {
                            store
                                .error()
                                .get()
                                .and_then(|e| e.hint)
                                .map(|h| {
                                    view! {
                                        <p class="hint" data-testid="error-hint">
                                            {h}
                                        </p>
                                    }
                                })
                        }}
                        <button
                            type="button"
                            class="btn small"
                            data-testid="retry"
                            on:click=move |_| hub.retry(&sid.get_value())
                        >
                            "Retry"
                        </button>
                    </div>
                </Show>
                <Show when=move || store.cancelled().get() && idle.get()>
                    <p class="cancelled-marker muted" data-testid="cancelled-marker">
                        "Stopped — the reply was cancelled."
                    </p>
                </Show>
            </div>
            <Show when=move || !pinned.get()>
                <button
                    type="button"
                    class="jump-latest btn"
                    data-testid="jump-latest"
                    on:click=jump
                >
                    "↓ Jump to latest"
                </button>
            </Show>
        </div>
    }
}

/// Copy buttons of code blocks (event delegation: the markdown HTML has no handlers).
fn copy_code(ev: ev::MouseEvent) {
    let Some(target) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(Some(btn)) = target.closest(".copy-code") else {
        return;
    };
    let code = btn
        .closest(".code-block")
        .ok()
        .flatten()
        .and_then(|b| b.query_selector("code").ok().flatten())
        .and_then(|c| c.text_content())
        .unwrap_or_default();
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(&code);
    }
    btn.set_text_content(Some("Copied"));
    set_timeout(
        move || btn.set_text_content(Some("Copy")),
        std::time::Duration::from_millis(1500),
    );
}

crate::later_fns! {
    fn edit_box(
        id: StoredValue<String>,
        index: u64,
        draft: RwSignal<String>,
        editing: RwSignal<bool>,
        error: RwSignal<Option<String>>,
    ) -> AnyView as preload_edit_box => edit_box_body;
    fn reasoning(
        text: Signal<Arc<str>>,
        live: bool,
    ) -> AnyView as preload_reasoning => reasoning_body;
    fn tool_card(card: Signal<ToolCard>) -> AnyView as preload_tool_card => tool_card_body;
    fn live_steers(store: Store<SessionView>) -> AnyView as preload_live_steers => live_steers_body;
    fn watch_broken_media() -> () as preload_watch_media => watch_broken_media_body;
}

/// Replaces media the backend would not serve with placeholders, from now on (once the later
/// chunk is in).
pub(crate) fn watch_media() {
    let _ = lazy::now(watch_broken_media());
}

/// Reasoning, collapsible (open while it streams); its code is in the later chunk.
#[component]
fn Reasoning(text: Signal<Arc<str>>, live: bool) -> impl IntoView {
    lazy::view(move || lazy::now(reasoning(text, live)), lazy::nothing)
}

/// A tool card: name, arguments, running/done/error, duration, result preview; collapsible.
/// Reactive in `card`, so a live card that completes updates in place (and stays expanded if
/// the reader expanded it); a failed call opens itself. Its code is in the later chunk.
#[component]
pub fn ToolCardPanel(#[prop(into)] card: Signal<ToolCard>) -> impl IntoView {
    lazy::view(move || lazy::now(tool_card(card)), lazy::loading)
}
