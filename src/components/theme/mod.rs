//! Light/dark theme: follows the system unless the user picks one (stored).

use leptos::prelude::*;

use crate::persist;

/// `""` (system), `"light"` or `"dark"`.
pub fn current() -> String {
    persist::get("theme").unwrap_or_default()
}

fn apply(theme: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = if theme.is_empty() {
            el.remove_attribute("data-theme")
        } else {
            el.set_attribute("data-theme", theme)
        };
    }
}

/// Applies the stored choice at start-up.
pub fn init() {
    apply(&current());
}

/// A button cycling system → light → dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(current());
    let label = move || match theme.get().as_str() {
        "light" => "Theme: light",
        "dark" => "Theme: dark",
        _ => "Theme: system",
    };
    let next = move |_| {
        let n = match theme.get_untracked().as_str() {
            "" => "light",
            "light" => "dark",
            _ => "",
        };
        persist::set("theme", n);
        apply(n);
        theme.set(n.to_string());
    };
    view! {
        <button
            type="button"
            class="icon-btn theme-toggle"
            data-testid="theme-toggle"
            on:click=next
            title=label
            aria-label=label
        >
            {move || match theme.get().as_str() {
                "light" => "☀",
                "dark" => "☾",
                _ => "◐",
            }}
        </button>
    }
}
