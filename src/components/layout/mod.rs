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
    view! {
        <Shortcuts help=help/>
        <div class="app" class:drawer-open=move || drawer.0.get()>
            <Sidebar/>
            <div class="drawer-backdrop" on:click=move |_| drawer.0.set(false)></div>
            <main class="main">
                <header class="mobile-bar">
                    <button type="button" class="icon-btn" data-testid="drawer-toggle" aria-label="Sessions" on:click=move |_| drawer.0.update(|o| *o = !*o)>"☰"</button>
                    <span class="brand">"Hermes"</span>
                </header>
                <OfflineBanner/>
                <div class="route" class:hidden=move || hub.active.get().is_some()>{children()}</div>
                <For each=move || hub.mounted.get() key=|id| id.clone() children=move |id| view! { <SessionPane id=id/> }/>
            </main>
            <Toasts/>
            <LiveRegion/>
            <ShortcutHelp open=help/>
        </div>
    }
}
