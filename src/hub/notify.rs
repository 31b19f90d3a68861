//! Browser notifications (later chunk): a session the person is not looking at finished,
//! failed, or waits on them. Off unless the backend's `notifications_enabled` setting is on
//! and the browser granted the permission (asked when the person turns the setting on). What
//! to say and when is `pane_core::notify`'s; one per session at a time (its tag).

use pane_core::notify::{self, Happened, Note};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Notification, NotificationOptions, NotificationPermission, VisibilityState};

use leptos::prelude::*;

use super::Hub;

impl Hub {
    /// Asks the browser for the permission to notify (call it from a person's gesture: the
    /// settings switch).
    pub(crate) fn ask_to_notify(&self) {
        if Notification::permission() == NotificationPermission::Default {
            let _ = Notification::request_permission();
        }
    }

    /// `what` happened in session `id`; `detail` is the notification's body.
    pub(crate) fn notify(&self, id: &str, what: Happened, detail: &str) {
        let granted = js_sys::Reflect::has(&js_sys::global(), &"Notification".into())
            .unwrap_or(false)
            && Notification::permission() == NotificationPermission::Granted;
        let enabled = granted && self.notifications.get_untracked();
        let shown = self.active.get_untracked().as_deref() == Some(id);
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == VisibilityState::Visible);
        let title = self
            .with(|i| {
                i.core
                    .session(id)
                    .and_then(|s| s.title().map(str::to_string))
            })
            .unwrap_or_default();
        if let Some(note) = notify::note(
            enabled,
            notify::seen(shown, visible),
            id,
            &title,
            what,
            detail,
        ) {
            self.show_note(note);
        }
    }

    fn show_note(&self, note: Note) {
        let opts = NotificationOptions::new();
        opts.set_body(&note.body);
        opts.set_tag(&note.tag);
        let Ok(n) = Notification::new_with_options(&note.title, &opts) else {
            return;
        };
        let hub = *self;
        let id = note.session;
        let shown = n.clone();
        // A click brings the tab forward and shows that session.
        let on_click = Closure::once_into_js(move || {
            if let Some(w) = web_sys::window() {
                let _ = w.focus();
            }
            hub.open(&id);
            shown.close();
        });
        n.set_onclick(Some(on_click.unchecked_ref()));
    }
}
