//! Light/dark theme: this browser's pick (stored), else the backend's `theme` setting (shared
//! with the stock UI; a pick here is saved to it), else the system's.

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

/// Applies the theme at start-up (the stored choice), and whenever it changes (the backend's
/// setting arriving, a pick here).
pub fn init() {
    apply(&current());
    let hub = crate::use_hub();
    Effect::new(move |_| apply(&hub.theme.get()));
}

/// A button cycling system → light → dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let hub = crate::use_hub();
    let theme = hub.theme;
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
        theme.set(n.to_string());
        hub.save_theme(n);
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
