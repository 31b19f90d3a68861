//! The slash-command menu and the command's answer (later chunk): `/` opens the commands the
//! pane and the backend offer, filtered as one types; ↑/↓ move, Tab or Enter completes (Enter
//! on a command typed out in full runs it), Escape closes. What each command does is decided
//! in `pane_core::command`.

use pane_core::command::{self, MenuItem};

use super::*;

/// The menu's state, owned by the composer (so its code stays in this chunk).
#[derive(Clone, Copy)]
pub(super) struct Slash {
    pub items: RwSignal<Vec<MenuItem>>,
    pub sel: RwSignal<usize>,
}

impl Slash {
    pub fn new() -> Slash {
        Slash {
            items: RwSignal::new(Vec::new()),
            sel: RwSignal::new(0),
        }
    }

    pub fn is_open(self) -> bool {
        self.items.with_untracked(|i| !i.is_empty())
    }
}

/// The composer's text box and its text, to complete a command into.
#[derive(Clone, Copy)]
pub(super) struct Entry {
    pub sid: StoredValue<String>,
    pub text: RwSignal<String>,
    pub input: NodeRef<html::Textarea>,
}

impl Entry {
    fn set(self, value: &str) {
        self.text.set(value.to_string());
        persist::set_draft(&self.sid.get_value(), value);
        if let Some(el) = self.input.get_untracked() {
            el.set_value(value);
            autogrow(&el);
            let _ = el.focus();
        }
    }
}

/// Follows the text: the menu for a command being typed, closed otherwise.
pub(super) fn slash_update_body(value: String, slash: Slash) {
    let Some(prefix) = command::typing(&value).map(str::to_string) else {
        slash.items.set(Vec::new());
        return;
    };
    let hub = use_hub();
    leptos::task::spawn_local(async move {
        let list = crate::hub::backend_commands(hub).await;
        slash.items.set(command::menu(&prefix, &list));
        slash.sel.set(0);
    });
}

/// A key while the menu is open; `true` when the menu took it.
pub(super) fn slash_key_body(ev: ev::KeyboardEvent, slash: Slash, entry: Entry) -> bool {
    let n = slash.items.with_untracked(Vec::len);
    if n == 0 {
        return false;
    }
    let sel = slash.sel.get_untracked().min(n - 1);
    let taken = match ev.key().as_str() {
        "ArrowDown" => {
            slash.sel.set((sel + 1) % n);
            true
        }
        "ArrowUp" => {
            slash.sel.set((sel + n - 1) % n);
            true
        }
        "Escape" => {
            slash.items.set(Vec::new());
            true
        }
        // Enter on a command typed out in full runs it; otherwise it completes, as Tab does.
        "Enter" if typed_out(slash, entry, sel) => {
            slash.items.set(Vec::new());
            false
        }
        "Tab" | "Enter" if !ev.shift_key() && !ev.is_composing() => {
            pick(slash, entry, sel);
            true
        }
        _ => false,
    };
    if taken {
        ev.prevent_default();
    }
    taken
}

/// Whether the text is already the chosen command's whole name.
fn typed_out(slash: Slash, entry: Entry, index: usize) -> bool {
    let typed = entry.text.with_untracked(|t| t.trim().to_lowercase());
    slash.items.with_untracked(|i| {
        i.get(index)
            .is_some_and(|m| typed == format!("/{}", m.name))
    })
}

/// Completes the text to the chosen command (a space after it: its argument comes next).
fn pick(slash: Slash, entry: Entry, index: usize) {
    let Some(name) = slash
        .items
        .with_untracked(|i| i.get(index).map(|m| m.name.clone()))
    else {
        return;
    };
    slash.items.set(Vec::new());
    entry.set(&format!("/{name} "));
}

pub(super) fn slash_menu_body(slash: Slash, entry: Entry) -> AnyView {
    view! {
        <Show when=move || slash.items.with(|i| !i.is_empty())>
            <ul class="slash-menu" role="listbox" aria-label="Commands" data-testid="slash-menu">
                {move || {
                    slash
                        .items
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, m)| {
                            let selected = move || slash.sel.get() == i;
                            view! {
                                <li
                                    role="option"
                                    class="slash-item"
                                    class:selected=selected
                                    aria-selected=move || selected().to_string()
                                    data-testid="slash-item"
                                    data-name=m.name.clone()
                                    on:mousedown=move |ev: ev::MouseEvent| {
                                        ev.prevent_default();
                                        pick(slash, entry, i);
                                    }
                                >
                                    <code>"/" {m.name.clone()}</code>
                                    <span class="slash-hint muted">{m.hint.clone()}</span>
                                    <span class="slash-desc">
                                        {m.description.clone()}
                                        {m.cli_only.then_some(" (CLI only)")}
                                    </span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </Show>
    }
    .into_any()
}

/// What the last command answered, until dismissed.
pub(super) fn command_output_body(store: Store<SessionView>) -> AnyView {
    view! {
        {move || {
            store
                .command_output()
                .get()
                .map(|out| {
                    view! {
                        <div class="command-output" role="status" data-testid="command-output">
                            <pre>{out}</pre>
                            <button
                                type="button"
                                class="icon-btn"
                                aria-label="Dismiss"
                                data-testid="command-output-close"
                                on:click=move |_| store.command_output().set(None)
                            >
                                "×"
                            </button>
                        </div>
                    }
                })
        }}
    }
    .into_any()
}
