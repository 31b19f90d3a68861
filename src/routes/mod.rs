//! Routes: one per file. A route only tells the hub which session to show; the session panes
//! themselves are kept by the layout, so leaving a route never tears anything down.

mod home;
mod session;

pub use home::Home;
pub use session::SessionRoute;

use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

use crate::use_hub;

/// Hands the router's `navigate` to the hub (it must be called inside the router).
#[component]
pub fn NavBridge() -> impl IntoView {
    let hub = use_hub();
    let navigate = use_navigate();
    hub.set_navigate(Rc::new(move |path: &str, replace: bool| {
        navigate(&format!("/{path}"), NavigateOptions { replace, ..Default::default() });
    }));
}

/// Unknown paths.
#[component]
pub fn NotFound() -> impl IntoView {
    let hub = use_hub();
    Effect::new(move |_| hub.show(None));
    view! {
        <div class="empty-state" data-testid="not-found">
            <h2>"Nothing here"</h2>
            <p>"This address does not name a session."</p>
            <a href="./">"Back to the start"</a>
        </div>
    }
}
