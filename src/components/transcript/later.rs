//! The transcript's views in the later chunk: edit & resend, reasoning, tool cards.

use super::*;

/// Edit & resend of a sent message (its code is in the later chunk).
pub(super) fn edit_box_body(
    id: StoredValue<String>,
    index: u64,
    draft: RwSignal<String>,
    editing: RwSignal<bool>,
    error: RwSignal<Option<String>>,
) -> AnyView {
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
    view! {
        <div class="edit-box">
            <textarea
                data-testid="edit-input"
                aria-label="Edit message"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
            ></textarea>
            <div class="edit-actions">
                <button
                    type="button"
                    class="btn primary small"
                    data-testid="edit-resend"
                    on:click=resend
                >
                    "Save & resend"
                </button>
                <button type="button" class="btn small" on:click=move |_| editing.set(false)>
                    "Cancel"
                </button>
            </div>
        </div>
    }
    .into_any()
}

pub(super) fn reasoning_body(text: Signal<Arc<str>>, live: bool) -> AnyView {
    view! {
        <details class="reasoning" open=live data-testid="reasoning">
            <summary>{if live { "Thinking…" } else { "Thought process" }}</summary>
            <div class="reasoning-text">{move || text.get().to_string()}</div>
        </details>
    }
    .into_any()
}

pub(super) fn tool_card_body(card: Signal<ToolCard>) -> AnyView {
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
    let duration = move || {
        card.with(|c| {
            c.duration
                .map(|d| format!("{} s", pane_core::view::fixed(d, 1)))
        })
    };
    let name = move || card.with(|c| c.name.clone());
    view! {
        <details
            class="tool-card"
            data-testid="tool-card"
            data-status=move || status.get().as_str()
            data-tool=name
            open=move || status.get() == ToolStatus::Error
        >
            <summary>
                <span class="tool-icon" aria-hidden="true">
                    {icon}
                </span>
                <span class="tool-name">{name}</span>
                <span class="tool-status" data-testid="tool-status">
                    {label}
                </span>
                {move || {
                    duration().map(|d| view! { <span class="tool-duration muted">{d}</span> })
                }}
            </summary>
            <dl class="tool-args">
                {move || {
                    card.with(|c| {
                        c.args
                            .iter()
                            .map(|(k, v)| {
                                view! {
                                    <dt>{k.clone()}</dt>
                                    <dd>
                                        <code>{v.clone()}</code>
                                    </dd>
                                }
                            })
                            .collect_view()
                    })
                }}
            </dl>
            {move || {
                card.with(|c| c.preview.clone())
                    .map(|p| {
                        view! {
                            <pre class="tool-preview" data-testid="tool-preview">
                                {p}
                            </pre>
                        }
                    })
            }}
            {move || steer_list(card.with(|c| c.steers.clone()), "tool-steer")}
        </details>
    }
    .into_any()
}

/// Steers sent to the agent: shown as the user's words, apart from any tool's output.
fn steer_list(steers: Vec<String>, testid: &'static str) -> Option<AnyView> {
    (!steers.is_empty()).then(|| {
        view! {
            <ul class="steers" aria-label="Steers">
                {steers
                    .into_iter()
                    .map(|t| {
                        view! {
                            <li class="steer" data-testid=testid>
                                <span class="steer-badge">"Steer"</span>
                                <span class="steer-body">{t}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    })
}

/// The live turn's accepted steers, until its saved tool result shows them.
pub(super) fn live_steers_body(store: Store<SessionView>) -> AnyView {
    let steers = Memo::new(move |_| {
        store
            .live()
            .with(|l| l.as_ref().map(|l| l.steers.clone()).unwrap_or_default())
    });
    (move || steer_list(steers.get(), "steer-pending")).into_any()
}
