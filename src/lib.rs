//! hermes-pane: a Leptos (CSR) chat pane for Hermes WebUI.
//!
//! The active pane is only a projection; running state belongs to the session that owns the
//! stream. [`hub::Hub`] (root-owned, provided by context) holds every session's runtime from
//! `pane-core`, the view stores and the transports; components only read stores.

pub mod api;
pub mod components;
pub mod hub;
pub mod lazy;
pub mod markdown;
pub mod persist;
pub mod routes;
#[cfg(feature = "test-hooks")]
mod test_hooks;

use leptos::prelude::*;

use crate::api::Api;
use crate::hub::Hub;

/// The whole app: the hub under the root owner, the layout, the routes.
#[component]
pub fn App() -> impl IntoView {
    let hub = Hub::new(Api::from_document(), Hub::detect_budget());
    provide_context(hub);
    hub.boot();
    // The markdown renderer is asked for when a transcript is first on screen (at once on a
    // session's address; a page that shows none never fetches it; release bundle only).
    lazy::register(lazy::Chunk::Markdown, preload_markdown, move || {
        hub.markdown_arrived()
    });
    // The math renderer is asked for when a reply first shows a formula.
    lazy::register(lazy::Chunk::Math, preload_math, move || {
        hub.markdown_arrived()
    });
    // Asked for once the first content is painted (`Hub::after_first_paint`): until then a
    // view that needs it shows its stand-in. The tabs agree who holds the chat streams once
    // its code is in.
    lazy::start(lazy::Chunk::Later, preload_later, move || {
        hub.paint_title();
        hub::tabs::tell(hub, hub::tabs::Event::Start);
        hub.load_settings();
        components::transcript::watch_media();
    });
    // A page that cannot paint (a list that never answers, a hidden tab without frames) asks
    // for it all the same.
    set_timeout(
        move || hub.after_first_paint(),
        std::time::Duration::from_secs(3),
    );
    #[cfg(feature = "test-hooks")]
    test_hooks::install(hub);
    components::theme::init();
    view! {
        <components::layout::Layout>
            <routes::Routes />
        </components::layout::Layout>
    }
}

/// How each chunk is loaded (what `lazy` asks for; it names no module itself).
fn preload_markdown(
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), lazy::NotLoaded>>>> {
    #[cfg(feature = "split")]
    return Box::pin(markdown::preload());
    #[cfg(not(feature = "split"))]
    Box::pin(async { Ok(()) })
}

fn preload_math(
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), lazy::NotLoaded>>>> {
    #[cfg(feature = "split")]
    return Box::pin(markdown::preload_math());
    #[cfg(not(feature = "split"))]
    Box::pin(async { Ok(()) })
}

fn preload_later(
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), lazy::NotLoaded>>>> {
    #[cfg(feature = "split")]
    return Box::pin(components::preload_later());
    #[cfg(not(feature = "split"))]
    Box::pin(async { Ok(()) })
}

/// A user-timing mark (`performance.mark`): where a start goes, for the benchmarks' waterfalls
/// (`BENCH_WATERFALL=1 cargo xtask bench real` prints them, and a first open step by step) and
/// for anyone reading a trace of the shipped page. A handful per page, all at its start.
pub fn mark(name: &str) {
    with_performance(|p| {
        let _ = p.mark(name);
    });
}

/// Runs `f` with the page's `performance` object (`None` where there is none). Looked up once:
/// the paint clock reads it at every frame the stream delivers, and each lookup is two calls
/// into JS (`window`, `performance`) before the one that reads it.
pub(crate) fn with_performance<R>(f: impl FnOnce(&web_sys::Performance) -> R) -> Option<R> {
    thread_local! {
        static PERFORMANCE: Option<web_sys::Performance> =
            web_sys::window().and_then(|w| w.performance());
    }
    PERFORMANCE.with(|p| p.as_ref().map(f))
}

/// Shows that the pane stopped after an internal error (a panic aborts the wasm module), and
/// marks `<body data-pane-fatal>` so tests notice. Plain DOM calls: the app may be unusable.
pub fn show_fatal(detail: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(body) = doc.body() else { return };
    let _ = body.set_attribute("data-pane-fatal", detail);
    if let Ok(p) = doc.create_element("div") {
        let _ = p.set_attribute("role", "alert");
        let _ = p.set_attribute("class", "fatal");
        p.set_text_content(Some(
            "The pane hit an internal error and stopped. Reload the page to continue — your \
             drafts are kept, and running replies go on on the server.",
        ));
        let _ = body.prepend_with_node_1(&p);
    }
}

/// The hub from context (panics outside [`App`] — a programming error).
pub fn use_hub() -> Hub {
    use_context::<Hub>().expect("the hub is provided by App")
}
