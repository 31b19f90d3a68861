//! The composer: auto-growing, Enter sends / Shift+Enter breaks the line (IME-safe), a draft
//! per session kept across switches and reloads, Stop while busy, a visible queue when
//! sending while busy, and attachments with upload progress and removal.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use pane_core::wire::UploadedFile;
use reactive_stores::Store;

use crate::hub::{Hub, SessionView, SessionViewStoreFields};
use crate::lazy::{self, NotLoaded, Task};
use crate::{persist, use_hub};

#[derive(Clone, Debug, PartialEq)]
struct Attachment {
    key: u64,
    name: String,
    progress: f64,
    done: Option<UploadedFile>,
    error: Option<String>,
}

/// Resizes a textarea to its content (CSS caps it).
fn autogrow(el: &web_sys::HtmlTextAreaElement) {
    let style = web_sys::HtmlElement::style(el);
    let _ = style.set_property("height", "auto");
    let _ = style.set_property("height", &format!("{}px", el.scroll_height()));
}

/// Enter sends unless Shift is held or an IME composition is in progress.
fn is_send_key(ev: &ev::KeyboardEvent) -> bool {
    ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() && ev.key_code() != 229
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
    let uploading = Memo::new(move |_| attachments.with(|a| a.iter().any(|x| x.done.is_none() && x.error.is_none())));

    Effect::new(move |_| {
        if let Some(el) = input.get() {
            el.set_value(&text.get_untracked());
            autogrow(&el);
        }
    });
    // A message the hub could not send for us (queued, retried, from the start page) comes
    // back here with the reason; the hub has already saved it as the draft.
    Effect::new(move |_| {
        let Some(r) = store.returned().get() else { return };
        text.set(r.text.clone());
        error.set(Some(r.error.clone()));
        for file in r.uploads {
            let key = next_key.get_value() + 1;
            next_key.set_value(key);
            attachments.update(|a| a.push(Attachment { key, name: file.name.clone(), progress: 1.0, done: Some(file), error: None }));
        }
        if let Some(el) = input.get_untracked() {
            el.set_value(&r.text);
            autogrow(&el);
        }
        store.returned().set(None);
    });

    let submit = move || {
        let value = text.get_untracked();
        let uploads: Vec<UploadedFile> = attachments.with_untracked(|a| a.iter().filter_map(|x| x.done.clone()).collect());
        if (value.trim().is_empty() && uploads.is_empty()) || uploading.get_untracked() {
            return;
        }
        error.set(None);
        let id = sid.get_value();
        // Cleared at once so a second Enter cannot double-send; restored if the send fails.
        text.set(String::new());
        persist::set_draft(&id, "");
        if let Some(el) = input.get_untracked() {
            el.set_value("");
            autogrow(&el);
        }
        let kept = attachments.get_untracked();
        attachments.set(Vec::new());
        leptos::task::spawn_local(async move {
            if let Err(e) = hub.send(&id, &value, uploads).await {
                error.set(Some(e));
                text.set(value.clone());
                persist::set_draft(&id, &value);
                attachments.set(kept);
                // The composer may be gone by now (its pane evicted): the draft above is kept.
                if let Some(Some(el)) = input.try_get_untracked() {
                    el.set_value(&value);
                    autogrow(&el);
                }
            }
        });
    };
    let on_keydown = move |ev: ev::KeyboardEvent| {
        if is_send_key(&ev) {
            ev.prevent_default();
            submit();
        } else if ev.key() == "Escape" && busy.get_untracked() {
            hub.stop(&sid.get_value());
        }
    };
    let on_input = move |ev: ev::Event| {
        let v = event_target_value(&ev);
        persist::set_draft(&sid.get_value(), &v);
        text.set(v);
        if let Some(el) = input.get_untracked() {
            autogrow(&el);
        }
    };
    let on_files = move |_| {
        let Some(el) = file_input.get_untracked() else { return };
        let Some(list) = el.files() else { return };
        // Taken out of the list now: clearing the input (so the same file can be chosen again)
        // empties that very list, and the uploads start after this handler returns.
        let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        el.set_value("");
        leptos::task::spawn_local(async move {
            if lazy::run(start_uploads(hub, sid.get_value(), files, attachments, next_key)).await.is_err() {
                error.set(Some(lazy::NOT_LOADED.to_string()));
            }
        });
    };
    let placeholder =
        move || if busy.get() { "Reply running — your message will be queued" } else { "Message Hermes (Enter to send, Shift+Enter for a new line)" };
    view! {
        <form class="composer" data-testid="composer" on:submit=move |ev: ev::SubmitEvent| { ev.prevent_default(); submit(); }>
            <QueueList sid=sid store=store/>
            <UploadList attachments=attachments/>
            <Show when=move || error.get().is_some()>
                <p class="composer-error" role="alert" data-testid="composer-error">{move || error.get()}</p>
            </Show>
            <div class="composer-row">
                <label class="icon-btn attach" title="Attach files" aria-label="Attach files">
                    <super::icons::Clip/>
                    <input type="file" multiple node_ref=file_input class="sr-only" data-testid="attach-input" on:change=on_files/>
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
                    <button type="button" class="btn danger" data-testid="stop" on:click=move |_| hub.stop(&sid.get_value()) title="Stop (Esc)">"Stop"</button>
                </Show>
                <button type="submit" class="btn primary" data-testid="send" disabled=move || uploading.get() || store.read_only().get()>
                    {move || if busy.get() { "Queue" } else { "Send" }}
                </button>
            </div>
            <span class="sr-only" aria-live="polite">{move || if shown.get() && busy.get() { "A reply is running." } else { "" }}</span>
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
    fn queue_list(sid: StoredValue<String>, store: Store<SessionView>) -> Result<AnyView, NotLoaded> as preload_queue {
        let hub = use_hub();
        Ok(view! {
            <Show when=move || store.queued().with(|q| !q.is_empty())>
                <ul class="queue" aria-label="Queued messages" data-testid="queue">
                    <For
                        each={move || store.queued().get().into_iter().enumerate().collect::<Vec<(usize, String)>>()}
                        key={|(i, t): &(usize, String)| (*i, t.clone())}
                        children={move |(i, t): (usize, String)| view! {
                            <li class="chip" data-testid="queued">
                                <span>"Queued: " {t}</span>
                                <button type="button" class="icon-btn" aria-label="Remove from queue" on:click=move |_| hub.unqueue(&sid.get_value(), i)>"×"</button>
                            </li>
                        }}
                    />
                </ul>
            </Show>
        }
        .into_any())
    }

    fn upload_list(attachments: RwSignal<Vec<Attachment>>) -> Result<AnyView, NotLoaded> as preload_uploads {
        Ok(view! {
            <Show when=move || attachments.with(|a| !a.is_empty())>
                <ul class="uploads" data-testid="attachments">
                    <For each=move || attachments.get() key={|a: &Attachment| (a.key, a.done.is_some(), a.error.clone(), (a.progress * 20.0) as u32)} children={move |a: Attachment| {
                        let key = a.key;
                        view! {
                            <li class="chip" data-testid="attachment" class:failed=a.error.is_some()>
                                <span><super::icons::Clip/> " " {a.name.clone()}</span>
                                {match (&a.done, &a.error) {
                                    (Some(_), _) => view! { <span class="muted">"ready"</span> }.into_any(),
                                    (_, Some(e)) => view! { <span class="error-text" role="alert">{e.clone()}</span> }.into_any(),
                                    _ => view! { <progress max="1" value=pane_core::view::fixed(a.progress, 3) data-testid="upload-progress"></progress> }.into_any(),
                                }}
                                <button type="button" class="icon-btn" aria-label="Remove attachment" data-testid="remove-attachment" on:click=move |_| attachments.update(|x| x.retain(|y| y.key != key))>"×"</button>
                            </li>
                        }
                    }}/>
                </ul>
            </Show>
        }
        .into_any())
    }

    fn new_chat_composer() -> Result<AnyView, NotLoaded> as preload_new_chat {
        let hub = use_hub();
        // The start page keeps its own draft too.
        const DRAFT: &str = "new-chat";
        let text = RwSignal::new(persist::draft(DRAFT));
        let error = RwSignal::new(None::<String>);
        let pending = RwSignal::new(false);
        let submit = move || {
            let value = text.get_untracked();
            if value.trim().is_empty() || pending.get_untracked() {
                return;
            }
            pending.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                let result = match hub.new_session().await {
                    Ok(id) => {
                        // The new session is on screen now: a failed send lands in its composer.
                        if let Err(e) = hub.send(&id, &value, Vec::new()).await {
                            hub.give_back(&id, &value, Vec::new(), &e);
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                pending.set(false);
                match result {
                    Ok(()) => {
                        text.set(String::new());
                        persist::set_draft(DRAFT, "");
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        };
        Ok(view! {
            <form class="composer start" data-testid="new-chat-composer" on:submit=move |ev: ev::SubmitEvent| { ev.prevent_default(); submit(); }>
                <Show when=move || error.get().is_some()>
                    <p class="composer-error" role="alert" data-testid="composer-error">{move || error.get()}</p>
                </Show>
                <div class="composer-row">
                    <textarea
                        rows="2"
                        data-testid="composer-input"
                        aria-label="Message"
                        placeholder="Ask anything (Enter to send)"
                        prop:value=move || text.get()
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            persist::set_draft(DRAFT, &v);
                            text.set(v);
                        }
                        on:keydown=move |ev: ev::KeyboardEvent| if is_send_key(&ev) { ev.prevent_default(); submit(); }
                    ></textarea>
                    <button type="submit" class="btn primary" data-testid="send" disabled=move || pending.get()>"Send"</button>
                </div>
            </form>
        }
        .into_any())
    }
}

/// The attachments being uploaded or ready to send (their code is in the later chunk, as is
/// the upload's).
#[component]
fn UploadList(attachments: RwSignal<Vec<Attachment>>) -> impl IntoView {
    lazy::view(move || lazy::now(upload_list(attachments)), lazy::nothing)
}

/// Starts uploading the chosen files, each with its own progress and outcome.
#[cfg_attr(feature = "split", wasm_split_helpers::wasm_split(later, fallible))]
fn start_uploads(
    hub: Hub,
    sid: String,
    files: Vec<web_sys::File>,
    attachments: RwSignal<Vec<Attachment>>,
    next_key: StoredValue<u64>,
) -> Result<Task<()>, NotLoaded> {
    for file in files {
        let key = next_key.get_value() + 1;
        next_key.set_value(key);
        attachments.update(|a| a.push(Attachment { key, name: file.name(), progress: 0.0, done: None, error: None }));
        let update = move |f: &dyn Fn(&mut Attachment)| attachments.update(|a| a.iter_mut().filter(|x| x.key == key).for_each(f));
        crate::api::upload(
            hub.api(),
            &sid,
            &file,
            move |p| update(&|x| x.progress = p),
            move |r| match r {
                Ok(reply) => update(&|x| x.done = Some(reply.clone().into())),
                Err(e) => update(&|x| x.error = Some(e.message.clone())),
            },
        );
    }
    Ok(Box::pin(async {}))
}

/// The composer of the start page: creates a session, then sends. Its code is in the later
/// chunk (the start page shows its welcome at once, the composer a moment later).
#[component]
pub fn NewChatComposer() -> impl IntoView {
    lazy::view(move || lazy::now(new_chat_composer()), lazy::loading)
}

