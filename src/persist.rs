//! Small `localStorage` helpers (drafts, theme, budget override). Storage may be unavailable
//! (private modes, quotas): every call degrades to "nothing stored".

const PREFIX: &str = "hermes-pane:";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Reads `key`.
pub fn get(key: &str) -> Option<String> {
    storage()?
        .get_item(&format!("{PREFIX}{key}"))
        .ok()
        .flatten()
}

/// Writes `key` (an empty value removes it).
pub fn set(key: &str, value: &str) {
    if let Some(s) = storage() {
        let k = format!("{PREFIX}{key}");
        let _ = if value.is_empty() {
            s.remove_item(&k)
        } else {
            s.set_item(&k, value)
        };
    }
}

/// The composer draft of a session.
pub fn draft(session: &str) -> String {
    get(&format!("draft:{session}")).unwrap_or_default()
}

pub fn set_draft(session: &str, text: &str) {
    set(&format!("draft:{session}"), text);
}
