//! How full a session's context window is: a meter in its header, coloured as compression
//! nears (the backend compresses at its threshold). Its code is in the later chunk.

use leptos::prelude::*;
use reactive_stores::Store;

use crate::hub::{SessionView, SessionViewStoreFields};
use crate::lazy;

/// The context meter of one session's pane (nothing until the backend reports the window).
#[component]
pub fn ContextMeter(store: Store<SessionView>) -> impl IntoView {
    lazy::view(move || lazy::now(context_meter(store)), lazy::nothing)
}

crate::later_fns! {
    fn context_meter(store: Store<SessionView>) -> AnyView as preload_meter => context_meter_body;
}

fn context_meter_body(store: Store<SessionView>) -> AnyView {
    view! {
        {move || {
            store
                .context()
                .with(pane_core::context::meter)
                .map(|m| {
                    let high = m.threshold_percent.unwrap_or(75).to_string();
                    let low = (m.threshold_percent.unwrap_or(75) * 6 / 10).to_string();
                    view! {
                        <span
                            class="ctx"
                            data-testid="context-meter"
                            data-level=m.level.as_str()
                            data-percent=m.percent.to_string()
                            title=m.label.clone()
                        >
                            <meter
                                min="0"
                                max="100"
                                low=low
                                high=high
                                optimum="0"
                                value=m.percent.to_string()
                                aria-label=m.label.clone()
                            ></meter>
                            <span class="ctx-pct" aria-hidden="true">
                                {m.percent.to_string()}
                                "%"
                            </span>
                        </span>
                    }
                })
        }}
    }
    .into_any()
}
