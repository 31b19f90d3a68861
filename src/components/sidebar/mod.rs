//! The session list: pinned and recent groups, server search, new, inline rename, delete with
//! confirmation, pin, archive; per row the running state, the needs-approval/needs-answer
//! badge, an unread dot, a live last-line preview and a Stop for *that row's* stream.

use leptos::ev;
use leptos::prelude::*;
use reactive_stores::{Field, KeyedSubfield, Store};

use super::theme::ThemeToggle;
use crate::hub::{RowView, SidebarView, SidebarViewStoreFields, ToastKind};
use crate::lazy;
use crate::use_hub;
use panels::{archived_list_body, settings_panel_body};

mod panels;
mod row;

use row::{rename_input_body, row_actions_body, Rename, Row};

#[component]
pub fn Sidebar() -> impl IntoView {
    let hub = use_hub();
    let query = RwSignal::new(String::new());
    let pending: StoredValue<Option<leptos::prelude::TimeoutHandle>, LocalStorage> =
        StoredValue::new_local(None);
    let on_search = move |ev: ev::Event| {
        let q = event_target_value(&ev);
        query.set(q.clone());
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        // Debounced: one request after typing pauses.
        let h = set_timeout_with_handle(
            move || hub.search(Some(q)),
            std::time::Duration::from_millis(250),
        )
        .ok();
        pending.set_value(h);
    };
    let on_search_key = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            query.set(String::new());
            hub.search(None);
        }
    };
    let new_session = move |_| {
        leptos::task::spawn_local(async move {
            if let Err(e) = hub.new_session().await {
                hub.toast(ToastKind::Error, e, None);
            }
        });
    };
    let side = hub.sidebar;
    let archived = RwSignal::new(false);
    let settings = RwSignal::new(false);
    view! {
        <nav class="sidebar" aria-label="Sessions" data-testid="sidebar">
            <div class="sidebar-head">
                <span class="brand">"Hermes"</span>
                <ThemeToggle />
                <button
                    type="button"
                    class="icon-btn"
                    data-testid="settings-toggle"
                    title="Settings"
                    aria-label="Settings"
                    aria-expanded=move || settings.get().to_string()
                    on:click=move |_| settings.update(|s| *s = !*s)
                >
                    "⚙"
                </button>
                <button
                    type="button"
                    class="btn primary"
                    data-testid="new-session"
                    on:click=new_session
                    title="New session (Alt+N)"
                >
                    "+ New"
                </button>
            </div>
            <Show when=move || {
                settings.get()
            }>{lazy::view(move || lazy::now(settings_panel()), lazy::loading)}</Show>
            <input
                class="search"
                type="search"
                placeholder="Search sessions"
                aria-label="Search sessions (titles and messages)"
                data-testid="search"
                prop:value=move || query.get()
                on:input=on_search
                on:keydown=on_search_key
            />
            <div
                class="sidebar-scroll"
                on:pointerenter=move |_| hub.hold_sidebar(true)
                on:pointerleave=move |_| hub.hold_sidebar(false)
            >
                <Show when=move || side.error().get().is_some()>
                    <p class="sidebar-error" role="alert" data-testid="sidebar-error">
                        {move || side.error().get()}
                    </p>
                </Show>
                <div class:hidden=move || side.searching().get()>
                    <Show when=move || side.pinned().with(|r| !r.is_empty())>
                        <h3 class="group-title">"Pinned"</h3>
                    </Show>
                    <ul class="rows" data-testid="group-pinned">
                        <Rows rows=side.pinned() />
                    </ul>
                    <Show when=move || side.recent().with(|r| !r.is_empty())>
                        <h3 class="group-title">"Recent"</h3>
                    </Show>
                    <ul class="rows" data-testid="group-recent">
                        <Rows rows=side.recent() />
                    </ul>
                    <Show when=move || {
                        side.loaded().get() && side.recent().with(Vec::is_empty)
                            && side.pinned().with(Vec::is_empty)
                    }>
                        <p class="muted pad">"No sessions yet."</p>
                    </Show>
                </div>
                <button
                    type="button"
                    class="btn link small archived-toggle"
                    data-testid="show-archived"
                    aria-expanded=move || archived.get().to_string()
                    on:click=move |_| archived.update(|a| *a = !*a)
                >
                    {move || if archived.get() { "Hide archived" } else { "Archived sessions" }}
                </button>
                <Show when=move || {
                    archived.get()
                }>{lazy::view(move || lazy::now(archived_list()), lazy::loading)}</Show>
                <Show when=move || side.searching().get()>
                    <h3 class="group-title">"Search results"</h3>
                    <ul class="rows" data-testid="group-results">
                        <Rows rows=side.results() />
                    </ul>
                    <Show when=move || side.results().with(Vec::is_empty)>
                        <p class="muted pad" data-testid="no-results">
                            "No matching sessions."
                        </p>
                    </Show>
                </Show>
            </div>
        </nav>
    }
}

/// A group's rows, keyed by session id (one list component for the three groups: each `<For>`
/// is its own copy of the keyed-diff code in the wasm).
#[component]
fn Rows(
    rows: KeyedSubfield<Store<SidebarView>, SidebarView, String, Vec<RowView>>,
) -> impl IntoView {
    view! {
        <For
            each=move || rows
            key=|r| r.read().id.clone()
            children=|r| view! { <Row row=r.into() /> }
        />
    }
}

crate::later_fns! {
    fn rename_input(
        row: Field<RowView>,
        id: StoredValue<String>,
        edit: Rename,
    ) -> AnyView as preload_rename => rename_input_body;
    fn row_actions(
        row: Field<RowView>,
        id: StoredValue<String>,
        edit: Rename,
    ) -> AnyView as preload_row_actions => row_actions_body;
    fn archived_list() -> AnyView as preload_archived => archived_list_body;
    fn settings_panel() -> AnyView as preload_settings => settings_panel_body;
}
