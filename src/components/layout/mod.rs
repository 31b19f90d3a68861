//! The page layout: sidebar (a drawer on narrow screens), the main area with the kept-alive
//! session panes, toasts, the polite live region and the keyboard shortcuts.

use leptos::prelude::*;

use super::notices::{LiveRegion, OfflineBanner, Toasts};
use super::pane::SessionPane;
use super::shortcuts::{ShortcutHelp, Shortcuts};
use super::sidebar::Sidebar;
use crate::use_hub;

/// Whether the mobile drawer is open (context).
#[derive(Clone, Copy)]
pub struct Drawer(pub RwSignal<bool>);

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let hub = use_hub();
    let drawer = Drawer(RwSignal::new(false));
    provide_context(drawer);
    let help = RwSignal::new(false);
    // Picking a session closes the drawer.
    Effect::new(move |_| {
        hub.active.track();
        drawer.0.set(false);
    });
    // On a narrow screen the closed drawer is off screen: make it inert too, so keyboard focus
    // and screen readers do not wander into it.
    let narrow = narrow_screen();
    let sidebar_inert = move || narrow.get() && !drawer.0.get();
    view! {
        <Shortcuts help=help />
        <div class="app" class:drawer-open=move || drawer.0.get()>
            <div class="sidebar-slot" inert=sidebar_inert>
                <Sidebar />
            </div>
            <div class="drawer-backdrop" on:click=move |_| drawer.0.set(false)></div>
            <main class="main">
                <header class="mobile-bar">
                    <button
                        type="button"
                        class="icon-btn"
                        data-testid="drawer-toggle"
                        aria-label="Sessions"
                        on:click=move |_| drawer.0.update(|o| *o = !*o)
                    >
                        "☰"
                    </button>
                    <span class="brand">"Hermes"</span>
                </header>
                <OfflineBanner />
                <div class="route" class:hidden=move || hub.active.get().is_some()>
                    {children()}
                </div>
                <For
                    each=move || hub.mounted.get()
                    key=|id| id.clone()
                    children=move |id| view! { <SessionPane id=id /> }
                />
            </main>
            <Toasts />
            <LiveRegion />
            <ShortcutHelp open=help />
        </div>
    }
}

/// Whether the layout is the narrow (drawer) one; follows the same media query as the CSS.
fn narrow_screen() -> RwSignal<bool> {
    use wasm_bindgen::JsCast;
    let narrow = RwSignal::new(false);
    let Some(mq) =
        web_sys::window().and_then(|w| w.match_media("(max-width: 760px)").ok().flatten())
    else {
        return narrow;
    };
    narrow.set(mq.matches());
    let on_change = wasm_bindgen::closure::Closure::<dyn FnMut()>::new({
        let mq = mq.clone();
        move || narrow.set(mq.matches())
    });
    let _ = mq.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
    // Lives as long as the app (one listener for the layout, which is never unmounted).
    on_change.forget();
    narrow
}
