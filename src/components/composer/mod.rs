//! The composer: auto-growing, Enter sends / Shift+Enter breaks the line (IME-safe), a draft
//! per session kept across switches and reloads, Stop while busy, a visible queue when
//! sending while busy, steering the running reply (Steer, Alt+Enter), slash commands with a
//! completion menu, and attachments with upload progress and removal.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use pane_core::wire::UploadedFile;
use reactive_stores::Store;

use crate::hub::{Hub, SessionView, SessionViewStoreFields};
use crate::lazy::{self, NotLoaded, Task};
use crate::{persist, use_hub};

mod uploads;
use uploads::*;

mod new_chat;
pub use new_chat::NewChatComposer;
use new_chat::*;

mod slash;
use slash::*;

mod send;
use send::*;

#[derive(Clone, Debug, PartialEq)]
struct Attachment {
    key: u64,
    name: String,
    progress: f64,
    done: Option<UploadedFile>,
    error: Option<String>,
}

/// Whether the browser sizes the textarea to its text itself (`field-sizing: content` in the
/// stylesheet): then [`autogrow`] reads no layout, which would force one — at mount (on a
/// session's first open, before its messages can be painted) and on every keystroke.
fn sized_by_css() -> bool {
    web_sys::css::supports_with_value("field-sizing", "content").unwrap_or(false)
}

/// Resizes a textarea to its content (CSS caps it), with no scroll bar until it is capped —
/// where the stylesheet cannot ([`sized_by_css`]).
fn autogrow(el: &web_sys::HtmlTextAreaElement) {
    if sized_by_css() {
        return;
    }
    let style = web_sys::HtmlElement::style(el);
    let _ = style.set_property("height", "auto");
    // `scrollHeight` leaves out the borders, which a `border-box` height includes: without them
    // the box is 2 px short of one line of text and shows a scroll bar with its arrows.
    let borders = el.offset_height() - el.client_height();
    let wanted = el.scroll_height() + borders;
    let _ = style.set_property("height", &format!("{wanted}px"));
    // Scroll only once the stylesheet's max-height holds it shorter than its text.
    let capped = el.offset_height() < wanted;
    let _ = style.set_property("overflow-y", if capped { "auto" } else { "hidden" });
}

/// Enter sends as the backend's `send_key` setting says (Enter, Ctrl+Enter or Shift+Enter),
/// never during an IME composition.
fn is_send_key(ev: &ev::KeyboardEvent) -> bool {
    let key = crate::use_hub().send_key.get_untracked();
    ev.key() == "Enter"
        && !ev.is_composing()
        && ev.key_code() != 229
        && key.sends(ev.shift_key(), ev.ctrl_key() || ev.meta_key())
}

#[component]
pub fn Composer(id: String, store: Store<SessionView>, shown: Memo<bool>) -> impl IntoView {
    let hub = use_hub();
    let sid = StoredValue::new(id.clone());
    let input = NodeRef::<html::Textarea>::new();
    let file_input = NodeRef::<html::Input>::new();
    let text = RwSignal::new(persist::draft(&id));
    let error = RwSignal::new(None::<String>);
    let attachments = RwSignal::new(Vec::<Attachment>::new());
    let next_key = StoredValue::new(0u64);
    let busy = Memo::new(move |_| store.status().get().is_busy());
    let uploading = Memo::new(move |_| {
        attachments.with(|a| a.iter().any(|x| x.done.is_none() && x.error.is_none()))
    });

    Effect::new(move |_| {
        if let Some(el) = input.get() {
            el.set_value(&text.get_untracked());
            autogrow(&el);
        }
    });
    // A message the hub could not send for us (queued, retried, from the start page) comes
    // back here with the reason; the hub has already saved it as the draft.
    Effect::new(move |_| {
        let Some(r) = store.returned().get() else {
            return;
        };
        text.set(r.text.clone());
        error.set(Some(r.error.clone()));
        for file in r.uploads {
            let key = next_key.get_value() + 1;
            next_key.set_value(key);
            attachments.update(|a| {
                a.push(Attachment {
                    key,
                    name: file.name.clone(),
                    progress: 1.0,
                    done: Some(file),
                    error: None,
                })
            });
        }
        if let Some(el) = input.get_untracked() {
            el.set_value(&r.text);
            autogrow(&el);
        }
        store.returned().set(None);
    });

    let slash = Slash::new();
    let entry = Entry { sid, text, input };
    let parts = Parts {
        hub,
        sid,
        text,
        input,
        error,
        attachments,
        uploading,
        slash,
    };
    // `steer`: steer the running reply with the text (attachments stay for a message). The
    // code of sending is in the later chunk, as every action's.
    let submit = move |steer: bool| {
        leptos::task::spawn_local(async move {
            if lazy::run(submit_message(parts, steer)).await.is_err() {
                error.set(Some(lazy::NOT_LOADED.to_string()));
            }
        });
    };
    let on_keydown = move |ev: ev::KeyboardEvent| {
        if slash.is_open() && lazy::now(slash_key(ev.clone(), slash, entry)).unwrap_or(false) {
            return;
        }
        if ev.key() == "Enter" && ev.alt_key() && busy.get_untracked() && !ev.is_composing() {
            ev.prevent_default();
            submit(true);
        } else if is_send_key(&ev) {
            ev.prevent_default();
            submit(false);
        } else if ev.key() == "Escape" && busy.get_untracked() {
            hub.stop(&sid.get_value());
        }
    };
    let on_input = move |ev: ev::Event| {
        let v = event_target_value(&ev);
        persist::set_draft(&sid.get_value(), &v);
        if v.starts_with('/') || slash.is_open() {
            let _ = lazy::now(slash_update(v.clone(), slash));
        }
        text.set(v);
        if let Some(el) = input.get_untracked() {
            autogrow(&el);
        }
    };
    let on_files = move |_| {
        let Some(el) = file_input.get_untracked() else {
            return;
        };
        let Some(list) = el.files() else { return };
        // Taken out of the list now: clearing the input (so the same file can be chosen again)
        // empties that very list, and the uploads start after this handler returns.
        let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        el.set_value("");
        leptos::task::spawn_local(async move {
            if lazy::run(start_uploads(
                hub,
                sid.get_value(),
                files,
                attachments,
                next_key,
            ))
            .await
            .is_err()
            {
                error.set(Some(lazy::NOT_LOADED.to_string()));
            }
        });
    };
    let placeholder = move || {
        if busy.get() {
            "Reply running — Enter queues your message, Alt+Enter steers the reply".to_string()
        } else {
            format!("Message Hermes ({})", hub.send_key.get().hint())
        }
    };
    view! {
        <form
            class="composer"
            data-testid="composer"
            on:submit=move |ev: ev::SubmitEvent| {
                ev.prevent_default();
                submit(false);
            }
        >
            <QueueList sid=sid store=store />
            {lazy::view(move || lazy::now(command_output(store)), lazy::nothing)}
            {lazy::view(move || lazy::now(slash_menu(slash, entry)), lazy::nothing)}
            <UploadList attachments=attachments />
            <Show when=move || error.get().is_some()>
                <p class="composer-error" role="alert" data-testid="composer-error">
                    {move || error.get()}
                </p>
            </Show>
            <div class="composer-row">
                <label class="icon-btn attach" title="Attach files" aria-label="Attach files">
                    <crate::components::icons::Clip />
                    <input
                        type="file"
                        multiple
                        node_ref=file_input
                        class="sr-only"
                        data-testid="attach-input"
                        on:change=on_files
                    />
                </label>
                <textarea
                    node_ref=input
                    rows="1"
                    data-testid="composer-input"
                    aria-label="Message"
                    placeholder=placeholder
                    disabled=move || store.read_only().get()
                    on:input=on_input
                    on:keydown=on_keydown
                ></textarea>
                <Show when=move || busy.get()>
                    <button
                        type="button"
                        class="btn danger"
                        data-testid="stop"
                        on:click=move |_| hub.stop(&sid.get_value())
                        title="Stop (Esc)"
                    >
                        "Stop"
                    </button>
                    <button
                        type="button"
                        class="btn"
                        data-testid="steer"
                        on:click=move |_| submit(true)
                        title="Steer the running reply with this text, without stopping it \
                        (Alt+Enter)"
                    >
                        "Steer"
                    </button>
                </Show>
                <button
                    type="submit"
                    class="btn primary"
                    data-testid="send"
                    disabled=move || uploading.get() || store.read_only().get()
                >
                    {move || if busy.get() { "Queue" } else { "Send" }}
                </button>
            </div>
            <span class="sr-only" aria-live="polite">
                {move || if shown.get() && busy.get() { "A reply is running." } else { "" }}
            </span>
        </form>
    }
}

/// Messages waiting for the running reply to end; the list's code is in the later chunk (a
/// queue only forms once a message was sent, which needs that chunk too).
#[component]
fn QueueList(sid: StoredValue<String>, store: Store<SessionView>) -> impl IntoView {
    lazy::view(move || lazy::now(queue_list(sid, store)), lazy::nothing)
}

crate::later_fns! {
    fn queue_list(
        sid: StoredValue<String>,
        store: Store<SessionView>,
    ) -> AnyView as preload_queue => queue_list_body;
    fn upload_list(
        attachments: RwSignal<Vec<Attachment>>,
    ) -> AnyView as preload_uploads => upload_list_body;
    fn new_chat_composer() -> AnyView as preload_new_chat => new_chat_composer_body;
    fn slash_update(value: String, slash: Slash) -> () as preload_slash_update => slash_update_body;
    fn slash_key(
        ev: ev::KeyboardEvent,
        slash: Slash,
        entry: Entry,
    ) -> bool as preload_slash_key => slash_key_body;
    fn slash_menu(slash: Slash, entry: Entry) -> AnyView as preload_slash_menu => slash_menu_body;
    fn command_output(
        store: Store<SessionView>,
    ) -> AnyView as preload_command_output => command_output_body;
}

fn queue_list_body(sid: StoredValue<String>, store: Store<SessionView>) -> AnyView {
    let hub = use_hub();
    view! {
        <Show when=move || store.queued().with(|q| !q.is_empty())>
            <ul class="queue" aria-label="Queued messages" data-testid="queue">
                <For
                    each={move || {
                        store
                            .queued()
                            .get()
                            .into_iter()
                            .enumerate()
                            .collect::<Vec<(usize, String)>>()
                    }}
                    key={|(i, t): &(usize, String)| (*i, t.clone())}
                    children={move |(i, t): (usize, String)| {
                        view! {
                            <li class="chip" data-testid="queued">
                                <span>"Queued: " {t}</span>
                                <button
                                    type="button"
                                    class="icon-btn"
                                    aria-label="Remove from queue"
                                    on:click=move |_| hub.unqueue(&sid.get_value(), i)
                                >
                                    "×"
                                </button>
                            </li>
                        }
                    }}
                />
            </ul>
        </Show>
    }
    .into_any()
}
