//! One session's pane: header, transcript, prompt cards, composer. Kept mounted while it is
//! among the recently shown (hidden, not destroyed), so switching back is instant; it reads
//! only its own session's store.

use leptos::prelude::*;

use super::cards::{ApprovalCard, ClarifyCard};
use super::composer::Composer;
use super::transcript::Transcript;
use crate::hub::{SessionViewStoreFields, Status};
use crate::use_hub;

#[component]
pub fn SessionPane(id: String) -> impl IntoView {
    let hub = use_hub();
    let store = hub.store(&id);
    let sid = StoredValue::new(id.clone());
    let shown = Memo::new(move |_| hub.active.get().as_deref() == Some(sid.get_value().as_str()));
    let status = move || store.status().get().as_str();
    view! {
        <section
            class="pane"
            class:hidden=move || !shown.get()
            data-testid="pane"
            data-session-id=id.clone()
            aria-label=move || store.title().get()
        >
            <header class="pane-head">
                <h1 class="pane-title" data-testid="pane-title">
                    {move || store.title().get()}
                </h1>
                <span class="status-pill" data-testid="pane-status" data-status=status>
                    {move || match store.status().get() {
                        Status::Idle => String::new(),
                        Status::Sending => "Sending…".into(),
                        Status::Checking => "Checking…".into(),
                        Status::Busy => {
                            store
                                .tps()
                                .get()
                                .map(|t| {
                                    format!("Replying · {} tok/s", pane_core::view::fixed(t, 0))
                                })
                                .unwrap_or_else(|| "Replying…".into())
                        }
                    }}
                </span>
                <super::models::ModelPicker
                    id=sid
                    model=Signal::derive(move || store.model().get())
                />
                <span class="usage muted" data-testid="pane-usage">
                    {move || store.usage().get()}
                </span>
                <super::meter::ContextMeter store=store />
            </header>
            <super::plan::PlanPanel store=store />
            <Show when=move || store.load_error().get().is_some()>
                <p class="load-error" role="alert" data-testid="load-error">
                    {move || store.load_error().get()}
                    " "
                    <button
                        type="button"
                        class="btn small"
                        on:click=move |_| hub.load(&sid.get_value())
                    >
                        "Try again"
                    </button>
                </p>
            </Show>
            <Transcript id=id.clone() store=store shown=shown />
            <div class="prompt-cards">
                <ApprovalCard id=id.clone() store=store />
                <ClarifyCard id=id.clone() store=store />
            </div>
            <Composer id=id.clone() store=store shown=shown />
        </section>
    }
}
