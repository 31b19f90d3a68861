//! The session list: pinned and recent groups, server search, new, inline rename, delete with
//! confirmation, pin, archive; per row the running state, the needs-approval/needs-answer
//! badge, an unread dot, a live last-line preview and a Stop for *that row's* stream.

use leptos::ev;
use leptos::prelude::*;
use reactive_stores::{Field, KeyedSubfield, Store};

use super::theme::ThemeToggle;
use crate::hub::{RowView, RowViewStoreFields, SidebarView, SidebarViewStoreFields, ToastKind};
use crate::lazy;
use crate::use_hub;

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

/// Enter or Space: the key that activates a focused button (its click follows).
fn is_activation(ev: &ev::KeyboardEvent) -> bool {
    matches!(ev.key().as_str(), "Enter" | " ")
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

/// One row; reads its own fields, so it is updated in place, never replaced. Renaming and the
/// row's buttons (rename, pin, archive, delete with confirmation) are in the later chunk.
#[component]
fn Row(row: Field<RowView>) -> impl IntoView {
    let hub = use_hub();
    let id = StoredValue::new(row.id().get_untracked());
    let active = move || hub.active.get().as_deref() == Some(id.get_value().as_str());
    let running = move || row.state().with(|s| s != "idle");
    let edit = Rename {
        renaming: RwSignal::new(false),
        over: StoredValue::new(false),
    };
    // The next click on Stop comes from the keyboard (Enter or Space on the focused button).
    let keyed = StoredValue::new(false);
    view! {
        <li
            class="row"
            class:active=active
            class:running=running
            data-testid="session-row"
            data-session-id=id.get_value()
            data-state=move || row.state().get()
            data-stream-id=move || row.stream_id().get().unwrap_or_default()
        >
            <Show
                when=move || edit.renaming.get()
                fallback=move || {
                    view! {
                        <button
                            type="button"
                            class="row-main"
                            aria-current=move || if active() { "page" } else { "false" }
                            on:click=move |_| hub.open(&id.get_value())
                            on:dblclick=move |_| edit.start()
                        >
                            <span class="row-line">
                                <Show when=running>
                                    <span
                                        class="spinner"
                                        aria-label="running"
                                        data-testid="row-running"
                                    ></span>
                                </Show>
                                <span class="row-title" data-testid="row-title">
                                    {move || row.title().get()}
                                </span>
                                <Show when=move || row.unread().get()>
                                    <span
                                        class="unread-dot"
                                        data-testid="unread-dot"
                                        aria-label="unread"
                                    ></span>
                                </Show>
                            </span>
                            {move || {
                                row.badge()
                                    .get()
                                    .map(|b| {
                                        view! {
                                            <span class="badge" data-testid="row-badge">
                                                {b}
                                            </span>
                                        }
                                    })
                            }}
                            {move || {
                                row.preview()
                                    .get()
                                    .map(|p| {
                                        view! {
                                            <span class="row-preview" data-testid="row-preview">
                                                {p}
                                            </span>
                                        }
                                    })
                            }}
                        </button>
                    }
                }
            >
                {lazy::view(move || lazy::now(rename_input(row, id, edit)), lazy::nothing)}
            </Show>
            <div class="row-actions">
                <Show when=running>
                    <button
                        type="button"
                        class="icon-btn stop"
                        data-testid="row-stop"
                        title="Stop this reply"
                        aria-label="Stop this reply"
                        on:keydown=move |ev: ev::KeyboardEvent| keyed.set_value(is_activation(&ev))
                        on:click=move |_| {
                            if std::mem::take(&mut *keyed.write_value()) || !hub.rows_just_moved() {
                                hub.stop(&id.get_value())
                            }
                        }
                    >
                        "■"
                    </button>
                </Show>
                {lazy::view(move || lazy::now(row_actions(row, id, edit)), lazy::nothing)}
            </div>
        </li>
    }
}

/// A row's rename state. One edit ends once: Enter commits, Escape cancels, and the blur that
/// follows either (the input is removed) does nothing more; a plain blur commits.
#[derive(Clone, Copy)]
struct Rename {
    renaming: RwSignal<bool>,
    over: StoredValue<bool>,
}

impl Rename {
    /// Opens the rename field — once its code (the later chunk) is in; a double-click before
    /// that does nothing rather than hide the title.
    fn start(self) {
        if lazy::ready(lazy::Chunk::Later) {
            self.over.set_value(false);
            self.renaming.set(true);
        }
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

/// The backend's settings the pane honours, saved to `/api/settings` (so the stock UI agrees).
fn settings_panel_body() -> AnyView {
    use pane_core::view::SendKey;
    let hub = use_hub();
    let save = move |changes: serde_json::Value| {
        leptos::task::spawn_local(async move {
            match hub.api().save_settings(&changes).await {
                Ok(s) => hub.apply_settings(&s),
                Err(e) => hub.toast(ToastKind::Error, e.message, None),
            }
        })
    };
    let keys = [
        (SendKey::Enter, "Enter"),
        (SendKey::CtrlEnter, "Ctrl+Enter"),
        (SendKey::ShiftEnter, "Shift+Enter"),
    ];
    view! {
        <div class="settings" data-testid="settings-panel" role="group" aria-label="Settings">
            <label>
                "Send with "
                <select
                    data-testid="setting-send-key"
                    on:change=move |ev| {
                        let key = SendKey::from_setting(&event_target_value(&ev));
                        save(serde_json::json!({ "send_key": key.as_setting() }));
                    }
                >
                    {keys
                        .into_iter()
                        .map(|(k, label)| {
                            view! {
                                <option
                                    value=k.as_setting()
                                    prop:selected=move || hub.send_key.get() == k
                                >
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                <input
                    type="checkbox"
                    data-testid="setting-notifications"
                    prop:checked=move || hub.notifications.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        save(serde_json::json!({ "notifications_enabled": on }));
                    }
                />
                " Notifications"
            </label>
        </div>
    }
    .into_any()
}

/// The archived sessions (`include_archived=1`), each with Unarchive; fetched when opened and
/// after each unarchive.
fn archived_list_body() -> AnyView {
    let hub = use_hub();
    let rows = RwSignal::new(None::<Result<Vec<(String, String)>, String>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let r = hub.api().sessions_with_archived().await;
            rows.set(Some(r.map_err(|e| e.message).map(|l| {
                l.sessions
                    .into_iter()
                    .filter(|s| s.archived)
                    .map(|s| (s.shown_title(), s.session_id))
                    .map(|(title, id)| (id, title))
                    .collect()
            })));
        })
    };
    load();
    let unarchive = move |id: String| {
        leptos::task::spawn_local(async move {
            match hub
                .api()
                .set_flag(&id, crate::api::Flag::Archived, false)
                .await
            {
                Ok(_) => {
                    hub.toast(ToastKind::Info, "Unarchived.".into(), None);
                    hub.refresh_list().await;
                    load();
                }
                Err(e) => hub.toast(ToastKind::Error, e.message, None),
            }
        })
    };
    view! {
        <div class="archived" data-testid="archived-list">
            <h3 class="group-title">"Archived"</h3>
            {move || match rows.get() {
                None => view! { <p class="muted pad">"Loading…"</p> }.into_any(),
                Some(Err(e)) => {
                    view! {
                        <p class="sidebar-error" role="alert">
                            {e}
                        </p>
                    }
                        .into_any()
                }
                Some(Ok(v)) if v.is_empty() => {
                    view! { <p class="muted pad">"No archived sessions."</p> }.into_any()
                }
                Some(Ok(v)) => {
                    view! {
                        <ul class="rows">
                            {v
                                .into_iter()
                                .map(|(id, title)| {
                                    let open_id = id.clone();
                                    let row_id = id.clone();
                                    view! {
                                        <li
                                            class="archived-row"
                                            data-testid="archived-row"
                                            data-session-id=row_id
                                        >
                                            <button
                                                type="button"
                                                class="btn link row-title"
                                                on:click=move |_| hub.open(&open_id)
                                            >
                                                {title}
                                            </button>
                                            <button
                                                type="button"
                                                class="btn small"
                                                data-testid="row-unarchive"
                                                on:click=move |_| unarchive(id.clone())
                                            >
                                                "Unarchive"
                                            </button>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
        </div>
    }
    .into_any()
}

fn rename_input_body(row: Field<RowView>, id: StoredValue<String>, edit: Rename) -> AnyView {
    let hub = use_hub();
    let input = NodeRef::<leptos::html::Input>::new();
    let commit = move |value: String| {
        if std::mem::replace(&mut *edit.over.write_value(), true) {
            return;
        }
        edit.renaming.set(false);
        if !value.trim().is_empty() && value != row.title().get_untracked() {
            hub.rename(&id.get_value(), &value);
        }
    };
    let cancel = move || {
        edit.over.set_value(true);
        edit.renaming.set(false);
    };
    // `autofocus` works once per document; focus (and select) the field each time it appears.
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
            el.select();
        }
    });
    view! {
        <input
            class="rename-input"
            data-testid="row-rename-input"
            aria-label="New title"
            node_ref=input
            value=move || row.title().get_untracked()
            on:keydown=move |ev: ev::KeyboardEvent| match ev.key().as_str() {
                "Enter" => commit(event_target_value(&ev)),
                "Escape" => cancel(),
                _ => {}
            }
            on:blur=move |ev| commit(event_target_value(&ev))
        />
    }
    .into_any()
}

fn row_actions_body(row: Field<RowView>, id: StoredValue<String>, edit: Rename) -> AnyView {
    let hub = use_hub();
    let confirming = RwSignal::new(false);
    let pinned = move || row.pinned().get();
    let keyed = StoredValue::new(false);
    view! {
        <Show
            when=move || confirming.get()
            fallback=move || {
                view! {
                    <button
                        type="button"
                        class="icon-btn"
                        data-testid="row-rename"
                        title="Rename"
                        aria-label="Rename"
                        on:click=move |_| edit.start()
                    >
                        "✎"
                    </button>
                    <button
                        type="button"
                        class="icon-btn"
                        data-testid="row-pin"
                        title=move || if pinned() { "Unpin" } else { "Pin" }
                        aria-label=move || if pinned() { "Unpin" } else { "Pin" }
                        aria-pressed=move || pinned().to_string()
                        on:click=move |_| {
                            hub.set_flag(&id.get_value(), crate::api::Flag::Pinned, !pinned())
                        }
                    >
                        {move || if pinned() { "★" } else { "☆" }}
                    </button>
                    <button
                        type="button"
                        class="icon-btn"
                        data-testid="row-archive"
                        title="Archive"
                        aria-label="Archive"
                        on:keydown=move |ev: ev::KeyboardEvent| keyed.set_value(is_activation(&ev))
                        on:click=move |_| {
                            if std::mem::take(&mut *keyed.write_value()) || !hub.rows_just_moved() {
                                hub.set_flag(&id.get_value(), crate::api::Flag::Archived, true)
                            }
                        }
                    >
                        "⤓"
                    </button>
                    <button
                        type="button"
                        class="icon-btn"
                        data-testid="row-delete"
                        title="Delete"
                        aria-label="Delete"
                        on:click=move |_| confirming.set(true)
                    >
                        <super::icons::Trash />
                    </button>
                }
            }
        >
            <span class="confirm" role="group" aria-label="Confirm delete">
                "Delete?"
                <button
                    type="button"
                    class="btn danger small"
                    data-testid="row-delete-confirm"
                    on:click=move |_| {
                        confirming.set(false);
                        hub.delete(&id.get_value());
                    }
                >
                    "Delete"
                </button>
                <button
                    type="button"
                    class="btn small"
                    data-testid="row-delete-cancel"
                    on:click=move |_| confirming.set(false)
                >
                    "Keep"
                </button>
            </span>
        </Show>
    }
    .into_any()
}
