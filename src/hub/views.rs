//! The per-session view stores (created under the root owner, so a pane unmounting never
//! disposes them; dropped when the pane is evicted) and each transcript's scroll position.

use std::time::Duration;

use leptos::prelude::*;
use reactive_stores::Store;

use super::{Hub, SessionView};

/// Scroll state of a session's transcript.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scroll {
    pub top: f64,
    /// Following the stream (at the bottom).
    pub pinned: bool,
}

impl Default for Scroll {
    fn default() -> Scroll {
        Scroll {
            top: 0.0,
            pinned: true,
        }
    }
}

impl Hub {
    /// The store of a session's view (created on first use).
    pub fn store(&self, id: &str) -> Store<SessionView> {
        if let Some(s) = self.with(|i| i.stores.get(id).copied()) {
            return s;
        }
        let root = self.with(|i| i.root.clone());
        let s = root.with(|| Store::new(SessionView::new(id)));
        self.with(|i| *i.stores.entry(id.to_string()).or_insert(s))
    }

    /// Drops the view store of a session whose pane was evicted (it is rebuilt, and painted in
    /// full, when the session is shown again). Leptos prunes an unmounted view's subscriptions
    /// from a signal only when that signal next changes; a store that outlives its views would
    /// collect them from every remount (≈ 9 KB per pane rebuild, measured). The runtime and the
    /// rendered-markdown cache are kept.
    pub(crate) fn retire_store(&self, id: String) {
        let hub = *self;
        // After the pane has unmounted (the keyed list updates synchronously; wait a tick).
        set_timeout(
            move || {
                if hub.mounted.with_untracked(|m| m.contains(&id)) {
                    return;
                }
                if let Some(store) = hub.with(|i| {
                    i.painter.forget_projection(&id);
                    i.stores.remove(&id)
                }) {
                    store.dispose();
                }
            },
            Duration::ZERO,
        );
    }

    pub fn scroll(&self, id: &str) -> Scroll {
        self.with(|i| i.scroll.get(id).copied().unwrap_or_default())
    }

    pub fn set_scroll(&self, id: &str, s: Scroll) {
        self.with(|i| i.scroll.insert(id.to_string(), s));
    }
}
