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

use crate::hub::{Item, ItemKind, LiveSeg, LiveSegKind, Scroll, SessionView, SessionViewStoreFields, Status};
use crate::lazy::{self, NotLoaded};
use crate::use_hub;

/// How close to the bottom still counts as "at the bottom" (px).
const PIN_SLACK: f64 = 24.0;

#[component]
pub fn Transcript(id: String, store: Store<SessionView>, shown: Memo<bool>) -> impl IntoView {
    let hub = use_hub();
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
        let Some(el) = scroller.get_untracked() else { return };
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
        if top < 200.0 && store.has_older().get_untracked() && !store.loading_older().get_untracked() {
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
        hub.set_scroll(&sid.get_value(), Scroll { top: 0.0, pinned: true });
    };
    let last_assistant =
        Memo::new(move |_| store.items().with(|items| items.iter().rev().find(|i| matches!(i.kind, ItemKind::Assistant { .. })).map(|i| i.key)));
    let idle = Memo::new(move |_| store.status().get() == Status::Idle);

    view! {
        <div class="transcript" node_ref=scroller role="log" aria-label="Conversation" aria-live="off" data-testid="transcript" on:scroll=on_scroll on:wheel=on_wheel on:click=copy_code>
            <div class="transcript-inner" node_ref=content>
                <Show when=move || store.has_older().get()>
                    <div class="older">
                        <button type="button" class="btn small" data-testid="load-older" disabled=move || store.loading_older().get() on:click=move |_| hub.load_older(&sid.get_value())>
                            {move || if store.loading_older().get() { "Loading older messages…" } else { "Load older messages" }}
                        </button>
                        // Find in page (Ctrl+F) only sees what is loaded: one click loads it all.
                        <button type="button" class="btn link small" data-testid="load-all" disabled=move || store.loading_older().get() on:click=move |_| hub.load_all(&sid.get_value()) title="Load every message, so find in page (Ctrl+F) searches the whole conversation">
                            "Load all (to search with Ctrl+F)"
                        </button>
                    </div>
                </Show>
                <Show when=move || !store.loaded().get() && store.items().with(Vec::is_empty) && store.live().with(Option::is_none) && store.load_error().with(Option::is_none)>
                    <p class="muted loading" data-testid="loading">"Loading…"</p>
                </Show>
                <For
                    each=move || store.items().get()
                    key={|it: &Arc<Item>| (it.key, it.version)}
                    children={move |it: Arc<Item>| {
                        let key = it.key;
                        view! { <TranscriptEntry item=it id=sid.get_value() last=Signal::derive(move || last_assistant.get() == Some(key) && idle.get())/> }
                    }}
                />
                <Show when=move || store.live().with(Option::is_some)>
                    <LiveReply store=store/>
                </Show>
                <Show when=move || store.error().with(Option::is_some)>
                    <div class="msg assistant error-bubble" role="alert" data-testid="error-bubble">
                        <p class="error-title">{move || store.error().get().map(|e| e.message)}</p>
                        {move || store.error().get().and_then(|e| e.hint).map(|h| view! { <p class="hint" data-testid="error-hint">{h}</p> })}
                        <button type="button" class="btn small" data-testid="retry" on:click=move |_| hub.retry(&sid.get_value())>"Retry"</button>
                    </div>
                </Show>
                <Show when=move || store.cancelled().get() && idle.get()>
                    <p class="cancelled-marker muted" data-testid="cancelled-marker">"Stopped — the reply was cancelled."</p>
                </Show>
            </div>
            <Show when=move || !pinned.get()>
                <button type="button" class="jump-latest btn" data-testid="jump-latest" on:click=jump>"↓ Jump to latest"</button>
            </Show>
        </div>
    }
}

/// Copy buttons of code blocks (event delegation: the markdown HTML has no handlers).
fn copy_code(ev: ev::MouseEvent) {
    let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
    let Ok(Some(btn)) = target.closest(".copy-code") else { return };
    let code =
        btn.closest(".code-block").ok().flatten().and_then(|b| b.query_selector("code").ok().flatten()).and_then(|c| c.text_content()).unwrap_or_default();
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(&code);
    }
    btn.set_text_content(Some("Copied"));
    set_timeout(move || btn.set_text_content(Some("Copy")), std::time::Duration::from_millis(1500));
}

#[component]
fn TranscriptEntry(item: Arc<Item>, id: String, last: Signal<bool>) -> impl IntoView {
    match &item.kind {
        ItemKind::User { text, attachments, index } => view! { <UserMessage id=id text=text.clone() attachments=attachments.clone() index=*index/> }.into_any(),
        ItemKind::Assistant { html, text, reasoning, tools, error, partial, details, usage } => {
            let hub = use_hub();
            let html = html.to_string();
            view! {
                <article class="msg assistant" class:error=*error class:partial=*partial data-testid=if *error { "error-message" } else { "message" } data-role="assistant" data-text-len=text.len()>
                    {reasoning.clone().map(|r| view! { <Reasoning text=Signal::stored(Arc::from(r.as_str())) live=false/> })}
                    {tools.iter().cloned().map(|c| view! { <ToolCardPanel card=Signal::stored(c)/> }).collect_view()}
                    <div class="md" inner_html=html></div>
                    {details.clone().map(|d| view! { <details class="details"><summary>"Details"</summary><p>{d}</p></details> })}
                    {partial.then(|| view! { <p class="muted small">"(cut short)"</p> })}
                    <footer class="msg-foot">
                        {usage.clone().map(|u| view! { <span class="muted small" data-testid="turn-usage">{u}</span> })}
                        <Show when=move || last.get()>
                            <button type="button" class="btn link small" data-testid="retry-last" on:click={
                                let id = id.clone();
                                move |_| hub.retry(&id)
                            }>"Retry"</button>
                        </Show>
                    </footer>
                </article>
            }
            .into_any()
        }
        ItemKind::Divider { text } => {
            view! { <div class="divider" role="separator" data-testid="compression-divider"><span>{text.clone()}</span></div> }.into_any()
        }
    }
}

#[component]
fn UserMessage(id: String, text: String, attachments: Vec<String>, index: u64) -> impl IntoView {
    let editing = RwSignal::new(false);
    // Kept here, not in the edit box: a failed resend reopens the box with the edit in it.
    let draft = RwSignal::new(text.clone());
    let error = RwSignal::new(None::<String>);
    let id = StoredValue::new(id);
    let shown_text = text.clone();
    view! {
        <article class="msg user" data-testid="message" data-role="user">
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <div class="bubble" data-testid="user-text">{shown_text.clone()}</div>
                    <button type="button" class="btn link small edit" data-testid="edit-message" on:click=move |_| editing.set(true)>"Edit"</button>
                }
            >
                {lazy::view(move || lazy::now(edit_box(id, index, draft, editing, error)), lazy::loading)}
            </Show>
            {(!attachments.is_empty()).then(|| view! {
                <ul class="attachments" aria-label="Attachments">{attachments.iter().map(|a| view! { <li><super::icons::Clip/> " " {a.clone()}</li> }).collect_view()}</ul>
            })}
            {move || error.get().map(|e| view! { <p class="error-text" role="alert">{e}</p> })}
        </article>
    }
}

crate::later_fns! {
    /// Edit & resend of a sent message (its code is in the later chunk).
    fn edit_box(
        id: StoredValue<String>,
        index: u64,
        draft: RwSignal<String>,
        editing: RwSignal<bool>,
        error: RwSignal<Option<String>>,
    ) -> Result<AnyView, NotLoaded> as preload_edit_box {
        let hub = use_hub();
        let resend = move |_| {
            let text = draft.get_untracked();
            editing.set(false);
            leptos::task::spawn_local(async move {
                if let Err(e) = hub.edit_resend(&id.get_value(), index, &text).await {
                    error.set(Some(e));
                    editing.set(true);
                }
            });
        };
        Ok(view! {
            <div class="edit-box">
                <textarea data-testid="edit-input" aria-label="Edit message" prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
                <div class="edit-actions">
                    <button type="button" class="btn primary small" data-testid="edit-resend" on:click=resend>"Save & resend"</button>
                    <button type="button" class="btn small" on:click=move |_| editing.set(false)>"Cancel"</button>
                </div>
            </div>
        }
        .into_any())
    }

    fn reasoning(text: Signal<Arc<str>>, live: bool) -> Result<AnyView, NotLoaded> as preload_reasoning {
        Ok(view! {
            <details class="reasoning" open=live data-testid="reasoning">
                <summary>{if live { "Thinking…" } else { "Thought process" }}</summary>
                <div class="reasoning-text">{move || text.get().to_string()}</div>
            </details>
        }
        .into_any())
    }

    fn tool_card(card: Signal<ToolCard>) -> Result<AnyView, NotLoaded> as preload_tool_card {
        let status = Memo::new(move |_| card.with(|c| c.status));
        let label = move || match status.get() {
            ToolStatus::Running => "running…",
            ToolStatus::Done => "done",
            ToolStatus::Error => "failed",
        };
        let icon = move || match status.get() {
            ToolStatus::Running => "⟳",
            ToolStatus::Done => "✓",
            ToolStatus::Error => "✕",
        };
        let duration = move || card.with(|c| c.duration.map(|d| format!("{} s", pane_core::view::fixed(d, 1))));
        let name = move || card.with(|c| c.name.clone());
        Ok(view! {
            <details class="tool-card" data-testid="tool-card" data-status=move || status.get().as_str() data-tool=name open=move || status.get() == ToolStatus::Error>
                <summary>
                    <span class="tool-icon" aria-hidden="true">{icon}</span>
                    <span class="tool-name">{name}</span>
                    <span class="tool-status" data-testid="tool-status">{label}</span>
                    {move || duration().map(|d| view! { <span class="tool-duration muted">{d}</span> })}
                </summary>
                <dl class="tool-args">
                    {move || card.with(|c| c.args.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd><code>{v.clone()}</code></dd> }).collect_view())}
                </dl>
                {move || card.with(|c| c.preview.clone()).map(|p| view! { <pre class="tool-preview" data-testid="tool-preview">{p}</pre> })}
            </details>
        }
        .into_any())
    }
}

#[component]
fn LiveReply(store: Store<SessionView>) -> impl IntoView {
    let user = Memo::new(move |_| store.live().with(|l| l.as_ref().and_then(|l| l.user.clone())));
    let attachments = Memo::new(move |_| store.live().with(|l| l.as_ref().map(|l| l.attachments.clone()).unwrap_or_default()));
    let segs = move || store.live().with(|l| l.as_ref().map(|l| l.segs.clone()).unwrap_or_default());
    let compressing = Memo::new(move |_| store.live().with(|l| l.as_ref().and_then(|l| l.compressing.clone())));
    let waiting = Memo::new(move |_| store.live().with(|l| l.as_ref().is_some_and(|l| l.segs.is_empty())));
    view! {
        {move || user.get().map(|u| view! {
            <article class="msg user" data-testid="message" data-role="user" data-pending="true">
                <div class="bubble" data-testid="user-text">{u}</div>
                {move || {
                    let a = attachments.get();
                    (!a.is_empty()).then(|| view! { <ul class="attachments">{a.into_iter().map(|a| view! { <li><super::icons::Clip/> " " {a}</li> }).collect_view()}</ul> })
                }}
            </article>
        })}
        <article class="msg assistant live" data-testid="message" data-role="assistant" data-streaming="true" aria-busy="true">
            <Show when=move || waiting.get()>
                <span class="typing" aria-label="Waiting for the reply"><i></i><i></i><i></i></span>
            </Show>
            <For each=segs key={|s: &LiveSeg| s.key} children={move |s: LiveSeg| view! { <LivePart seg=s store=store/> }}/>
            {move || compressing.get().map(|c| view! { <div class="divider" role="status" data-testid="compressing"><span>{c} "…"</span></div> })}
        </article>
    }
}

#[component]
fn LivePart(seg: LiveSeg, store: Store<SessionView>) -> impl IntoView {
    match seg.kind {
        LiveSegKind::Text { html } => view! { <div class="md" inner_html=html.to_string()></div> }.into_any(),
        LiveSegKind::TextTail => view! { <StreamingMarkdown text=Signal::derive(move || store.tail().get())/> }.into_any(),
        LiveSegKind::Reasoning { text, live: false } => view! { <Reasoning text=Signal::stored(text) live=false/> }.into_any(),
        LiveSegKind::Reasoning { live: true, .. } => view! { <Reasoning text=Signal::derive(move || store.tail().get()) live=true/> }.into_any(),
        LiveSegKind::Tool(first) => {
            // The current state of this card (same key) from the live view.
            let key = seg.key;
            let card = Memo::new(move |_| {
                store.live().with(|l| {
                    l.as_ref()
                        .and_then(|l| l.segs.iter().find(|s| s.key == key))
                        .and_then(|s| if let LiveSegKind::Tool(c) = &s.kind { Some(c.clone()) } else { None })
                        .unwrap_or_else(|| first.clone())
                })
            });
            view! { <ToolCardPanel card=card/> }.into_any()
        }
    }
}

/// Streaming markdown: finished blocks are rendered once and appended; only the growing last
/// block is re-rendered when the text changes (at most once per frame).
#[component]
pub fn StreamingMarkdown(text: Signal<Arc<str>>) -> impl IntoView {
    let done_el = NodeRef::<html::Div>::new();
    let tail_el = NodeRef::<html::Div>::new();
    // (splitter, blocks appended, text length, rendered as markdown rather than plain text)
    let state: StoredValue<(BlockSplitter, usize, usize, bool), LocalStorage> = StoredValue::new_local((BlockSplitter::new(), 0, 0, false));
    Effect::new(move |_| {
        let text = text.get();
        let ready = crate::lazy::ready(crate::lazy::Chunk::Markdown);
        if !ready {
            crate::lazy::track(crate::lazy::Chunk::Markdown);
        }
        let (Some(done), Some(tail)) = (done_el.get(), tail_el.get()) else { return };
        state.update_value(|(splitter, rendered, last_len, was_ready)| {
            // A shorter text is a new one; the renderer's arrival re-renders the plain blocks.
            if text.len() < *last_len || ready != *was_ready {
                *was_ready = ready;
                *splitter = BlockSplitter::new();
                *rendered = 0;
                done.set_inner_html("");
            }
            splitter.update(&text);
            for b in &splitter.done()[*rendered..] {
                let _ = done.insert_adjacent_html("beforeend", &crate::markdown::block_html(&b.source(&text)));
            }
            *rendered = splitter.done().len();
            tail.set_inner_html(&crate::markdown::block_html(&splitter.tail(&text).source(&text)));
            *last_len = text.len();
        });
    });
    view! {
        <div class="md streaming" data-testid="streaming-md">
            <div node_ref=done_el></div>
            <div node_ref=tail_el></div>
        </div>
    }
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

