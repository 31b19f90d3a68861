//! One sidebar row (its own fields, updated in place), and its parts in the later chunk:
//! the rename box and the row's buttons.

use leptos::ev;
use leptos::prelude::*;
use reactive_stores::Field;

use super::{rename_input, row_actions};
use crate::hub::{RowView, RowViewStoreFields};
use crate::lazy;
use crate::use_hub;

/// Enter or Space: the key that activates a focused button (its click follows).
fn is_activation(ev: &ev::KeyboardEvent) -> bool {
    matches!(ev.key().as_str(), "Enter" | " ")
}

/// One row; reads its own fields, so it is updated in place, never replaced. Renaming and the
/// row's buttons (rename, pin, archive, delete with confirmation) are in the later chunk.
#[component]
pub(super) fn Row(row: Field<RowView>) -> impl IntoView {
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
pub(super) struct Rename {
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
pub(super) fn rename_input_body(
    row: Field<RowView>,
    id: StoredValue<String>,
    edit: Rename,
) -> AnyView {
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

pub(super) fn row_actions_body(
    row: Field<RowView>,
    id: StoredValue<String>,
    edit: Rename,
) -> AnyView {
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
                        <crate::components::icons::Trash />
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
