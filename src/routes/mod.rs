//! Routes: one per file. The URL is the source of the active-pane signal: [`Location`] follows
//! `location.pathname` (relative to `document.baseURI`, so a sub-path mount works), the back and
//! forward buttons, and the hub's navigations; `pane_core::Route` says what a path shows. A route
//! only tells the hub which session to show — the session panes are kept by the layout, so
//! leaving a route never tears anything down.
//!
//! No router crate: two routes and a fallback are this file, and leptos_router was 44 KB of the
//! wasm (measured by symbol; the bundle size is a product feature).

mod home;

pub use home::Home;

use leptos::prelude::*;
use pane_core::Route;
use wasm_bindgen::JsCast;

use crate::use_hub;

/// The path of the page relative to the mount, kept in sync with the address bar.
#[derive(Clone, Copy)]
pub struct Location {
    path: RwSignal<String>,
    /// The mount, read once: `document.baseURI` follows the address when the page has no
    /// `<base>` (the shipped shell has one; a test page may not).
    base: StoredValue<String>,
    /// The page was opened as `…/index.html`: served as a file, where no server answers
    /// `…/session/<id>` with the pane (Hermes' own `static/` has no SPA fallback). Then the
    /// route lives in the query, `index.html?session=<id>`, so a reload or a shared link still
    /// opens the pane.
    file: bool,
}

impl Location {
    /// Reads the address bar and follows `popstate` for the life of the app.
    pub fn install() -> Location {
        let base = StoredValue::new(mount_base());
        let file = current_path(&base.get_value(), false) == "index.html";
        let path = RwSignal::new(current_path(&base.get_value(), file));
        let on_pop = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            path.set(current_path(&base.get_value(), file))
        });
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        }
        // One listener for the app, which is never unmounted.
        on_pop.forget();
        Location { path, base, file }
    }

    /// What the address shows (tracked).
    pub fn route(&self) -> Route {
        self.path.with(|p| Route::parse(p))
    }

    /// Goes to `path` (relative to the mount): a new history entry, or in place with `replace`.
    pub fn navigate(&self, path: &str, replace: bool) {
        let url = match (self.file, path.strip_prefix("session/")) {
            (true, Some(id)) => format!("{}/index.html?session={id}", self.base.get_value()),
            (true, None) => format!("{}/index.html", self.base.get_value()),
            (false, _) => format!("{}/{path}", self.base.get_value()),
        };
        if let Ok(h) = web_sys::window().expect("window").history() {
            let _ = if replace {
                h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
            } else {
                h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
            };
        }
        self.path.set(path.to_string());
    }
}

/// The mount's path: `document.baseURI`'s path without its trailing slash (`/pane`, or empty at
/// the root).
pub fn mount_base() -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .and_then(|b| web_sys::Url::new(&b).ok())
        .map(|u| u.pathname())
        .unwrap_or_default();
    base.trim_end_matches('/').to_string()
}

/// The route's path relative to the mount: the address's path, or where the pane is served as
/// a file (`file`), `session/<id>` from its `?session=<id>`.
fn current_path(base: &str, file: bool) -> String {
    let loc = web_sys::window().map(|w| w.location());
    if file {
        let query = loc.and_then(|l| l.search().ok()).unwrap_or_default();
        let id = query
            .trim_start_matches('?')
            .split('&')
            .find_map(|kv| kv.strip_prefix("session="));
        return id
            .filter(|id| !id.is_empty())
            .map(|id| format!("session/{id}"))
            .unwrap_or_default();
    }
    let path = loc.and_then(|l| l.pathname().ok()).unwrap_or_default();
    path.strip_prefix(base)
        .unwrap_or(&path)
        .trim_start_matches('/')
        .to_string()
}

/// The routed part of the page: tells the hub which session the address names and shows the
/// start page or the fallback. Session panes themselves live in the layout.
#[component]
pub fn Routes() -> impl IntoView {
    let hub = use_hub();
    let location = Location::install();
    hub.set_navigate(std::rc::Rc::new(move |path: &str, replace: bool| {
        location.navigate(path, replace)
    }));
    let route = Memo::new(move |_| location.route());
    Effect::new(move |_| hub.show(route.with(|r| r.session().map(str::to_string))));
    let page = Memo::new(move |_| match route.get() {
        Route::Home => 0,
        Route::Session(_) => 1,
        Route::NotFound => 2,
    });
    move || match page.get() {
        0 => view! { <Home /> }.into_any(),
        2 => view! { <NotFound location=location /> }.into_any(),
        _ => ().into_any(),
    }
}

/// Unknown paths.
#[component]
fn NotFound(location: Location) -> impl IntoView {
    let home = move |ev: web_sys::MouseEvent| {
        // A plain click stays in the app; modified clicks (new tab) keep the link's default.
        if !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0) {
            ev.prevent_default();
            location.navigate("", false);
        }
    };
    view! {
        <div class="empty-state" data-testid="not-found">
            <h2>"Nothing here"</h2>
            <p>"This address does not name a session."</p>
            <a href="./" on:click=home>
                "Back to the start"
            </a>
        </div>
    }
}
