//! A settled transcript entry: a user message (with edit & resend), an assistant message (its
//! markdown rendered once, tool cards, reasoning, usage, retry), an error or a divider.

use super::*;

#[component]
pub(super) fn TranscriptEntry(item: Arc<Item>, id: String, last: Signal<bool>) -> impl IntoView {
    match &item.kind {
        ItemKind::User {
            text,
            attachments,
            index,
        } => {
            let (text, attachments, index) = (text.clone(), attachments.clone(), *index);
            view! { <UserMessage id=id text=text attachments=attachments index=index /> }.into_any()
        }
        ItemKind::Assistant {
            html,
            text,
            reasoning,
            tools,
            error,
            partial,
            details,
            usage,
            fork,
        } => {
            let hub = use_hub();
            let keep = *fork;
            let fork_id = id.clone();
            let undo_id = StoredValue::new(id.clone());
            // Before the renderer is in, the text as it is: a text node, no HTML parsed.
            let body = match html {
                Some(html) => {
                    view! { <div class="md" inner_html=html.to_string()></div> }.into_any()
                }
                None => view! { <div class="md md-plain">{text.to_string()}</div> }.into_any(),
            };
            view! {
                <article
                    class="msg assistant"
                    class:error=*error
                    class:partial=*partial
                    data-testid=if *error { "error-message" } else { "message" }
                    data-role="assistant"
                    data-text-len=text.len()
                >
                    {reasoning
                        .clone()
                        .map(|r| {
                            view! {
                                <Reasoning text=Signal::stored(Arc::from(r.as_str())) live=false />
                            }
                        })}
                    {tools
                        .iter()
                        .cloned()
                        .map(|c| view! { <ToolCardPanel card=Signal::stored(c) /> })
                        .collect_view()}
                    {body}
                    {details
                        .clone()
                        .map(|d| {
                            view! {
                                <details class="details">
                                    <summary>"Details"</summary>
                                    <p>{d}</p>
                                </details>
                            }
                        })}
                    {partial.then(|| view! { <p class="muted small">"(cut short)"</p> })}
                    <footer class="msg-foot">
                        {usage
                            .clone()
                            .map(|u| {
                                view! {
                                    <span class="muted small" data-testid="turn-usage">
                                        {u}
                                    </span>
                                }
                            })} <Show when=move || last.get()>
                            <button
                                type="button"
                                class="btn link small"
                                data-testid="retry-last"
                                on:click={
                                    let id = id.clone();
                                    move |_| hub.retry(&id)
                                }
                            >
                                "Retry"
                            </button>
                            <button
                                type="button"
                                class="btn link small"
                                data-testid="undo-last"
                                title="Remove this turn from the session"
                                on:click=move |_| hub.undo(&undo_id.get_value())
                            >
                                "Undo"
                            </button>
                        </Show>
                        <button
                            type="button"
                            class="btn link small"
                            data-testid="fork"
                            title="A new session with the conversation up to here"
                            on:click=move |_| hub.fork(&fork_id, keep)
                        >
                            "Fork"
                        </button>
                    </footer>
                </article>
            }
            .into_any()
        }
        ItemKind::Divider { text } => view! {
            <div class="divider" role="separator" data-testid="compression-divider">
                <span>{text.clone()}</span>
            </div>
        }
        .into_any(),
    }
}

#[component]
pub(super) fn UserMessage(
    id: String,
    text: String,
    attachments: Vec<String>,
    index: u64,
) -> impl IntoView {
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
                fallback=move || {
                    view! {
                        <div class="bubble" data-testid="user-text">
                            {shown_text.clone()}
                        </div>
                        <button
                            type="button"
                            class="btn link small edit"
                            data-testid="edit-message"
                            on:click=move |_| editing.set(true)
                        >
                            "Edit"
                        </button>
                    }
                }
            >
                {lazy::view(
                    move || lazy::now(edit_box(id, index, draft, editing, error)),
                    lazy::loading,
                )}
            </Show>
            {(!attachments.is_empty())
                .then(|| {
                    view! {
                        <ul
                            class="attachments"
                            aria-label="Attachments"
                            data-testid="message-attachments"
                        >
                            {attachments
                                .iter()
                                .map(|a| {
                                    view! {
                                        <li>
                                            <crate::components::icons::Clip />
                                            " "
                                            {a.clone()}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="error-text" role="alert">
                                {e}
                            </p>
                        }
                    })
            }}
        </article>
    }
}
