//! The session list: pinned and recent groups, server search, new, inline rename, delete with
//! confirmation, pin, archive; per row the running state, the needs-approval/needs-answer
//! badge, an unread dot, a live last-line preview and a Stop for *that row's* stream.

use leptos::ev;
use leptos::prelude::*;
use pane_core::view::{AttentionKind, RowState, SidebarRow};

use super::theme::ThemeToggle;
use crate::hub::{row_key, SidebarViewStoreFields, ToastKind};
use crate::use_hub;

#[component]
pub fn Sidebar() -> impl IntoView {
    let hub = use_hub();
    let query = RwSignal::new(String::new());
    let searching = move || hub.sidebar.results().with(Option::is_some);
    let pending: StoredValue<Option<leptos::prelude::TimeoutHandle>, LocalStorage> = StoredValue::new_local(None);
    let on_search = move |ev: ev::Event| {
        let q = event_target_value(&ev);
        query.set(q.clone());
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        // Debounced: one request after typing pauses.
        let h = set_timeout_with_handle(move || hub.search(Some(q)), std::time::Duration::from_millis(250)).ok();
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
    view! {
        <nav class="sidebar" aria-label="Sessions" data-testid="sidebar">
            <div class="sidebar-head">
                <span class="brand">"Hermes"</span>
                <ThemeToggle/>
                <button type="button" class="btn primary" data-testid="new-session" on:click=new_session title="New session (Alt+N)">"+ New"</button>
            </div>
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
            <div class="sidebar-scroll">
                <Show when=move || hub.sidebar.error().get().is_some()>
                    <p class="sidebar-error" role="alert" data-testid="sidebar-error">{move || hub.sidebar.error().get()}</p>
                </Show>
                <Show
                    when=searching
                    fallback=move || {
                        view! {
                            <Group title="Pinned" rows=Signal::derive(move || hub.sidebar.pinned().get()) testid="group-pinned"/>
                            <Group title="Recent" rows=Signal::derive(move || hub.sidebar.recent().get()) testid="group-recent"/>
                            <Show when=move || hub.sidebar.loaded().get() && hub.sidebar.recent().with(Vec::is_empty) && hub.sidebar.pinned().with(Vec::is_empty)>
                                <p class="muted pad">"No sessions yet."</p>
                            </Show>
                        }
                    }
                >
                    <Group title="Search results" rows=Signal::derive(move || hub.sidebar.results().get().unwrap_or_default()) testid="group-results"/>
                    <Show when=move || hub.sidebar.results().with(|r| r.as_ref().is_some_and(Vec::is_empty))>
                        <p class="muted pad" data-testid="no-results">"No matching sessions."</p>
                    </Show>
                </Show>
            </div>
        </nav>
    }
}

#[component]
fn Group(title: &'static str, rows: Signal<Vec<SidebarRow>>, testid: &'static str) -> impl IntoView {
    view! {
        <Show when=move || rows.with(|r| !r.is_empty())>
            <h3 class="group-title">{title}</h3>
            <ul class="rows" data-testid=testid>
                <For each=move || rows.get() key=row_key children=move |row| view! { <Row row=row/> }/>
            </ul>
        </Show>
    }
}

#[component]
fn Row(row: SidebarRow) -> impl IntoView {
    let hub = use_hub();
    let id = StoredValue::new(row.id.clone());
    let active = move || hub.active.get().as_deref() == Some(id.get_value().as_str());
    let renaming = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let running = row.state != RowState::Idle;
    let badge = row.attention.map(|a| match a {
        AttentionKind::Approval => "Needs approval",
        AttentionKind::Clarify => "Needs answer",
    });
    let title = row.title.clone();
    let pinned = row.pinned;
    let commit_rename = move |value: String| {
        renaming.set(false);
        if !value.trim().is_empty() {
            hub.rename(&id.get_value(), &value);
        }
    };
    view! {
        <li
            class="row"
            class:active=active
            class:running=running
            data-testid="session-row"
            data-session-id=row.id.clone()
            data-state=row.state.as_str()
            data-stream-id=row.stream_id.clone().unwrap_or_default()
        >
            <Show
                when=move || renaming.get()
                fallback=move || {
                    let title = title.clone();
                    view! {
                        <button type="button" class="row-main" aria-current=move || if active() { "page" } else { "false" } on:click=move |_| hub.open(&id.get_value()) on:dblclick=move |_| renaming.set(true)>
                            <span class="row-line">
                                {running.then(|| view! { <span class="spinner" aria-label="running" data-testid="row-running"></span> })}
                                <span class="row-title" data-testid="row-title">{title}</span>
                                {row.unread.then(|| view! { <span class="unread-dot" data-testid="unread-dot" aria-label="unread"></span> })}
                            </span>
                            {badge.map(|b| view! { <span class="badge" data-testid="row-badge">{b}</span> })}
                            {row.preview.clone().map(|p| view! { <span class="row-preview" data-testid="row-preview">{p}</span> })}
                        </button>
                    }
                }
            >
                <input
                    class="rename-input"
                    data-testid="row-rename-input"
                    aria-label="New title"
                    value=row.title.clone()
                    autofocus
                    on:keydown=move |ev: ev::KeyboardEvent| match ev.key().as_str() {
                        "Enter" => commit_rename(event_target_value(&ev)),
                        "Escape" => renaming.set(false),
                        _ => {}
                    }
                    on:blur=move |ev| commit_rename(event_target_value(&ev))
                />
            </Show>
            <div class="row-actions">
                {running.then(|| view! {
                    <button type="button" class="icon-btn stop" data-testid="row-stop" title="Stop this reply" aria-label="Stop this reply" on:click=move |_| hub.stop(&id.get_value())>"■"</button>
                })}
                <Show
                    when=move || confirming.get()
                    fallback=move || view! {
                        <button type="button" class="icon-btn" data-testid="row-rename" title="Rename" aria-label="Rename" on:click=move |_| renaming.set(true)>"✎"</button>
                        <button type="button" class="icon-btn" data-testid="row-pin" title=if pinned { "Unpin" } else { "Pin" } aria-label=if pinned { "Unpin" } else { "Pin" } aria-pressed=pinned.to_string() on:click=move |_| hub.set_flag(&id.get_value(), "pinned", !pinned)>{if pinned { "★" } else { "☆" }}</button>
                        <button type="button" class="icon-btn" data-testid="row-archive" title="Archive" aria-label="Archive" on:click=move |_| hub.set_flag(&id.get_value(), "archived", true)>"⤓"</button>
                        <button type="button" class="icon-btn" data-testid="row-delete" title="Delete" aria-label="Delete" on:click=move |_| confirming.set(true)><super::icons::Trash/></button>
                    }
                >
                    <span class="confirm" role="group" aria-label="Confirm delete">
                        "Delete?"
                        <button type="button" class="btn danger small" data-testid="row-delete-confirm" on:click=move |_| { confirming.set(false); hub.delete(&id.get_value()); }>"Delete"</button>
                        <button type="button" class="btn small" data-testid="row-delete-cancel" on:click=move |_| confirming.set(false)>"Keep"</button>
                    </span>
                </Show>
            </div>
        </li>
    }
}
