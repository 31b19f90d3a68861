//! Approval and clarify cards. They belong to their session: a card shows in its own pane,
//! wherever the reader is, and answering it talks about that session only. Their code is in
//! the later chunk ([`crate::lazy`]); a card that comes before it shows "Loading…".

use leptos::ev;
use leptos::prelude::*;
use pane_core::wire::ApprovalChoice;
use reactive_stores::Store;

use crate::hub::{SessionView, SessionViewStoreFields};
use crate::lazy;
use crate::use_hub;

#[component]
pub fn ApprovalCard(id: String, store: Store<SessionView>) -> impl IntoView {
    lazy::view(
        move || lazy::now(approval_card(id.clone(), store)),
        move || {
            store
                .approval()
                .with(Option::is_some)
                .then(lazy::loading)
                .flatten()
        },
    )
}

#[component]
pub fn ClarifyCard(id: String, store: Store<SessionView>) -> impl IntoView {
    lazy::view(
        move || lazy::now(clarify_card(id.clone(), store)),
        move || {
            store
                .clarify()
                .with(Option::is_some)
                .then(lazy::loading)
                .flatten()
        },
    )
}

crate::later_fns! {
    fn approval_card(
        id: String,
        store: Store<SessionView>,
    ) -> AnyView as preload_approval => approval_card_body;
    fn clarify_card(
        id: String,
        store: Store<SessionView>,
    ) -> AnyView as preload_clarify => clarify_card_body;
}

fn approval_card_body(id: String, store: Store<SessionView>) -> AnyView {
    let hub = use_hub();
    let id = StoredValue::new(id);
    let answer = move |c: ApprovalChoice| move |_| hub.approve(&id.get_value(), c);
    // While an answer is on its way the buttons wait: one click, one answer.
    let waiting = move || store.answering().get();
    view! {
        {move || {
            store
                .approval()
                .get()
                .map(|a| {
                    let allow_always = a.allow_permanent;
                    view! {
                        <div
                            class="card approval"
                            role="region"
                            aria-busy=move || waiting().to_string()
                            aria-label="Approval needed"
                            data-testid="approval-card"
                        >
                            <p class="card-title">"Approval needed"</p>
                            <p class="muted">
                                {a
                                    .description
                                    .clone()
                                    .unwrap_or_else(|| {
                                        "This command needs your approval.".into()
                                    })}
                            </p>
                            <pre class="command" data-testid="approval-command">
                                {a.command.clone()}
                            </pre>
                            <div class="card-actions">
                                <button
                                    type="button"
                                    class="btn primary"
                                    data-testid="approve-once"
                                    disabled=waiting
                                    on:click=answer(ApprovalChoice::Once)
                                >
                                    "Approve once"
                                </button>
                                <button
                                    type="button"
                                    class="btn"
                                    data-testid="approve-session"
                                    disabled=waiting
                                    on:click=answer(ApprovalChoice::Session)
                                >
                                    "For this session"
                                </button>
                                {allow_always
                                    .then(|| {
                                        view! {
                                            <button
                                                type="button"
                                                class="btn"
                                                data-testid="approve-always"
                                                disabled=waiting
                                                on:click=answer(ApprovalChoice::Always)
                                            >
                                                "Always"
                                            </button>
                                        }
                                    })}
                                <button
                                    type="button"
                                    class="btn danger"
                                    data-testid="approve-deny"
                                    disabled=waiting
                                    on:click=answer(ApprovalChoice::Deny)
                                >
                                    "Deny"
                                </button>
                            </div>
                        </div>
                    }
                })
        }}
    }
    .into_any()
}

fn clarify_card_body(id: String, store: Store<SessionView>) -> AnyView {
    let hub = use_hub();
    let id = StoredValue::new(id);
    let text = RwSignal::new(String::new());
    let waiting = move || store.answering().get();
    let send = move |value: String| {
        if !value.trim().is_empty() {
            hub.answer(&id.get_value(), &value);
            text.set(String::new());
        }
    };
    view! {
        {move || {
            store
                .clarify()
                .get()
                .map(|c| {
                    view! {
                        <div
                            class="card clarify"
                            role="region"
                            aria-label="Question from the agent"
                            data-testid="clarify-card"
                        >
                            <p class="card-title" data-testid="clarify-question">
                                {c.question.clone()}
                            </p>
                            <div class="card-actions">
                                {c
                                    .choices_offered
                                    .iter()
                                    .map(|choice| {
                                        let v = choice.clone();
                                        view! {
                                            <button
                                                type="button"
                                                class="btn"
                                                data-testid="clarify-choice"
                                                disabled=waiting
                                                on:click=move |_| send(v.clone())
                                            >
                                                {choice.clone()}
                                            </button>
                                        }
                                    })
                                    .collect_view()}
                            </div>
                            <form
                                class="clarify-free"
                                on:submit=move |ev: ev::SubmitEvent| {
                                    ev.prevent_default();
                                    send(text.get_untracked());
                                }
                            >
                                <input
                                    data-testid="clarify-input"
                                    aria-label="Your answer"
                                    placeholder="Or type an answer"
                                    prop:value=move || text.get()
                                    on:input=move |ev| text.set(event_target_value(&ev))
                                />
                                <button
                                    type="submit"
                                    class="btn primary"
                                    data-testid="clarify-send"
                                    disabled=waiting
                                >
                                    "Answer"
                                </button>
                            </form>
                        </div>
                    }
                })
        }}
    }
    .into_any()
}
