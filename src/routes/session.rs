//! `/session/:id`: shows that session (the URL is the source of the active-pane signal).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::use_hub;

#[component]
pub fn SessionRoute() -> impl IntoView {
    let hub = use_hub();
    let params = use_params_map();
    Effect::new(move |_| {
        let id = params.with(|p| p.get("id"));
        hub.show(id.filter(|i| !i.is_empty()));
    });
}
