//! The sidebar's panels in the later chunk: the settings the pane honours and the archived
//! sessions.

use leptos::prelude::*;

use crate::hub::ToastKind;
use crate::use_hub;

/// The backend's settings the pane honours, saved to `/api/settings` (so the stock UI agrees).
pub(super) fn settings_panel_body() -> AnyView {
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
                        if on {
                            hub.ask_to_notify();
                        }
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
pub(super) fn archived_list_body() -> AnyView {
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
