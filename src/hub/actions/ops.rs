//! The bodies of the session operations of the later chunk that act on the whole session
//! or the pane's settings: reading the settings, undo, fork (see [`crate::later!`]).

use super::*;

later!(pub(super) load_settings(hub: Hub) -> () => load_settings_body);

pub(super) async fn load_settings_body(hub: Hub) {
    match hub.api().settings().await {
        Ok(s) => hub.apply_settings(&s),
        // The defaults stay (Enter sends); said on the console only.
        Err(e) => leptos::logging::warn!("settings: {}", e.message),
    }
}

impl Hub {
    /// Takes the settings the backend answered (a load or a save).
    pub(crate) fn apply_settings(&self, s: &pane_core::wire::Settings) {
        let key = pane_core::view::SendKey::from_setting(s.send_key.as_deref().unwrap_or(""));
        self.send_key.set(key);
        self.notifications.set(s.notifications_enabled);
        // The backend's theme, unless a theme was picked in this browser (as the stock UI: an
        // explicit local choice wins).
        if crate::persist::get("theme").is_none() {
            if let Some(t) = s.theme.as_deref() {
                let t = pane_core::view::theme_from_setting(t);
                self.theme.set(t.to_string());
            }
        }
    }
}

later!(pub(super) save_theme(hub: Hub, theme: String) -> () => save_theme_body);

/// Saves a theme picked here (`""` is the system's: `system` on the wire).
pub(super) async fn save_theme_body(hub: Hub, theme: String) {
    let value = pane_core::view::theme_setting(&theme);
    if let Err(e) = hub
        .api()
        .save_settings(&serde_json::json!({ "theme": value }))
        .await
    {
        hub.toast(ToastKind::Error, e.message, None);
    }
}

later!(pub(super) undo(hub: Hub, id: String) -> () => undo_body);

pub(super) async fn undo_body(hub: Hub, id: String) {
    match hub.api().undo(&id).await {
        Ok(r) => match r.error {
            Some(e) => hub.toast(ToastKind::Warning, e, Some(id.clone())),
            None => {
                hub.reload_window(&id).await;
                let n = r.removed_count.unwrap_or(0);
                let text = format!("Undid the last turn ({n} message{}).", plural(n));
                hub.toast(ToastKind::Info, text, None);
                hub.refresh_list_soon();
            }
        },
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

later!(pub(super) fork(hub: Hub, id: String, keep: u64) -> () => fork_body);

pub(super) async fn fork_body(hub: Hub, id: String, keep: u64) {
    match hub.api().branch(&id, keep).await {
        Ok(r) => {
            hub.refresh_list().await;
            hub.open(&r.session_id);
            let title = r.title.unwrap_or_else(|| "a new session".into());
            hub.toast(ToastKind::Info, format!("Forked into “{title}”."), None);
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
}
