//! The agent's plan for a session: its todo list, live from `todo_state` while a turn runs and
//! from the saved session after a reload. One line when folded (n/m done, the item being
//! worked on); open, every item with its status. Its code is in the later chunk.

use leptos::prelude::*;
use pane_core::plan::{plan as project, ItemStatus};
use reactive_stores::Store;

use crate::hub::{SessionView, SessionViewStoreFields};
use crate::lazy;

/// The plan panel of one session's pane (nothing while the session has no plan).
#[component]
pub fn PlanPanel(store: Store<SessionView>) -> impl IntoView {
    lazy::view(move || lazy::now(plan_panel(store)), lazy::nothing)
}

crate::later_fns! {
    fn plan_panel(store: Store<SessionView>) -> AnyView as preload_plan => plan_panel_body;
}

fn mark(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Pending => "○",
        ItemStatus::InProgress => "◐",
        ItemStatus::Completed => "✓",
        ItemStatus::Cancelled => "✕",
    }
}

fn plan_panel_body(store: Store<SessionView>) -> AnyView {
    let plan = Memo::new(move |_| store.todos().with(|t| t.as_ref().and_then(project)));
    view! {
        {move || {
            plan.get()
                .map(|p| {
                    let current = p
                        .current()
                        .map(|i| format!(" — {}", i.content))
                        .unwrap_or_default();
                    view! {
                        <details class="plan" data-testid="plan" open>
                            <summary data-testid="plan-summary">
                                <span class="plan-heading">{p.heading()}</span>
                                <span class="plan-current muted">{current}</span>
                            </summary>
                            <ol class="plan-items">
                                {p
                                    .items
                                    .into_iter()
                                    .map(|i| {
                                        view! {
                                            <li
                                                class="plan-item"
                                                data-testid="plan-item"
                                                data-status=i.status.as_str()
                                            >
                                                <span class="plan-mark" aria-hidden="true">
                                                    {mark(i.status)}
                                                </span>
                                                <span class="sr-only">{i.status.label()} ": "</span>
                                                <span class="plan-text">{i.content}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ol>
                        </details>
                    }
                })
        }}
    }
    .into_any()
}
