//! The start page's composer (later chunk): creates a session, then sends.

use super::*;

pub(super) fn new_chat_composer_body() -> AnyView {
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
    view! {
        <form
            class="composer start"
            data-testid="new-chat-composer"
            on:submit=move |ev: ev::SubmitEvent| {
                ev.prevent_default();
                submit();
            }
        >
            <Show when=move || error.get().is_some()>
                <p class="composer-error" role="alert" data-testid="composer-error">
                    {move || error.get()}
                </p>
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
                    on:keydown=move |ev: ev::KeyboardEvent| {
                        if is_send_key(&ev) {
                            ev.prevent_default();
                            submit();
                        }
                    }
                ></textarea>
                <button
                    type="submit"
                    class="btn primary"
                    data-testid="send"
                    disabled=move || pending.get()
                >
                    "Send"
                </button>
            </div>
        </form>
    }
    .into_any()
}

/// The composer of the start page: creates a session, then sends. Its code is in the later
/// chunk (the start page shows its welcome at once, the composer a moment later).
#[component]
pub fn NewChatComposer() -> impl IntoView {
    lazy::view(move || lazy::now(new_chat_composer()), lazy::loading)
}
