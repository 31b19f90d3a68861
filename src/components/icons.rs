//! Small inline SVG icons (no icon font, no emoji: they render the same everywhere).

use leptos::prelude::*;

#[component]
pub fn Clip() -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 16 16"
            width="15"
            height="15"
            aria-hidden="true"
            fill="none"
            stroke="currentColor"
            stroke-width="1.5"
            stroke-linecap="round"
        >
            <path d="M10.5 4.5 5.6 9.4a1.5 1.5 0 0 0 2.1 2.1l5-5a3 3 0 0 0-4.2-4.2l-5 5a4.5 \
            4.5 0 0 0 6.4 6.4l4.4-4.4" />
        </svg>
    }
}

#[component]
pub fn Trash() -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 16 16"
            width="15"
            height="15"
            aria-hidden="true"
            fill="none"
            stroke="currentColor"
            stroke-width="1.5"
            stroke-linecap="round"
        >
            <path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 8.5h5.6l.7-8.5" />
        </svg>
    }
}
