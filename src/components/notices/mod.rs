//! Toasts (non-blocking; a background session's prompt offers "Open"), the polite live region
//! for finished replies, and the "backend unreachable" banner.

use leptos::prelude::*;

use crate::hub::ToastKind;
use crate::use_hub;

#[component]
pub fn Toasts() -> impl IntoView {
    let hub = use_hub();
    view! {
        <div class="toasts" role="region" aria-label="Notifications" data-testid="toasts">
            <For
                each=move || hub.toasts.get()
                key=|t| t.id
                children=move |t| {
                    let id = t.id;
                    let kind = match t.kind {
                        ToastKind::Info => "info",
                        ToastKind::Warning => "warning",
                        ToastKind::Error => "error",
                        ToastKind::Attention => "attention",
                    };
                    view! {
                        <div
                            class="toast"
                            data-kind=kind
                            data-testid="toast"
                            role=if matches!(t.kind, ToastKind::Error) { "alert" } else { "status" }
                        >
                            <span class="toast-text">{t.text.clone()}</span>
                            {t
                                .open
                                .clone()
                                .map(|sid| {
                                    view! {
                                        <button
                                            type="button"
                                            class="btn small primary"
                                            data-testid="toast-open"
                                            on:click=move |_| {
                                                hub.open(&sid);
                                                hub.dismiss(id);
                                            }
                                        >
                                            "Open"
                                        </button>
                                    }
                                })}
                            <button
                                type="button"
                                class="icon-btn"
                                aria-label="Dismiss"
                                on:click=move |_| hub.dismiss(id)
                            >
                                "×"
                            </button>
                        </div>
                    }
                }
            />
        </div>
    }
}

#[component]
pub fn LiveRegion() -> impl IntoView {
    let hub = use_hub();
    view! {
        // Two regions, as LibreChat splits them: finished replies are a polite status; a
        // session that waits on the person is urgent. Each says a thing once.
        <div class="sr-only" role="status" aria-live="polite" data-testid="announcer">
            {move || hub.announce.get()}
        </div>
        <div class="sr-only" role="log" aria-live="assertive" data-testid="announcer-urgent">
            {move || hub.announce_urgent.get()}
        </div>
    }
}

#[component]
pub fn OfflineBanner() -> impl IntoView {
    let hub = use_hub();
    view! {
        <Show when=move || hub.offline.get().is_some()>
            <div class="offline" role="alert" data-testid="offline-banner">
                {move || hub.offline.get()}
            </div>
        </Show>
    }
}
