//! `/`: no session shown — a welcome, and a composer that starts a new session.

use leptos::prelude::*;

use crate::components::composer::NewChatComposer;

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="home">
            <h2>"Hermes"</h2>
            <p>
                "Start a conversation, or pick one on the left. Replies keep running while you \
                 look elsewhere."
            </p>
            <NewChatComposer />
        </div>
    }
}
