//! The HTTP side of the Hermes WebUI contract: typed calls, clear errors, CSRF and auth.
//!
//! Every POST carries `X-Hermes-CSRF-Token` once auth is on (the token is scraped from the
//! backend's `/` shell and re-read once on a 403 "Session expired"); a 401 sends the browser
//! to the backend's login page with `next=` pointing back here.

use std::cell::RefCell;
use std::fmt;

use gloo_net::http::{Request, RequestBuilder};
use pane_core::wire::{self, ApiError as WireError};
use pane_core::FromJson;
use serde::Serialize;
use wasm_bindgen::JsCast;

mod endpoints;
mod upload;
pub use upload::upload;

/// A failed request, with a message a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (0: the request never got an answer).
    pub status: u16,
    /// What went wrong, in words.
    pub message: String,
    /// The backend's error body, when it sent one.
    pub body: Option<WireError>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    fn network(what: &str, e: String) -> ApiError {
        ApiError {
            status: 0,
            message: format!("{what} failed: the backend is unreachable ({e})."),
            body: None,
        }
    }

    /// The 409 of `chat/start`: the session's running stream.
    pub fn active_stream(&self) -> Option<&str> {
        (self.status == 409)
            .then(|| {
                self.body
                    .as_ref()
                    .and_then(|b| b.active_stream_id.as_deref())
            })
            .flatten()
    }
}

/// Describes an HTTP failure the way a user needs it.
pub fn describe(what: &str, status: u16, body: Option<&WireError>) -> String {
    let server = body.and_then(|b| b.error.clone()).filter(|e| !e.is_empty());
    let base = match status {
        400 => "the request was rejected",
        401 => "you are signed out",
        403 => "the backend refused it",
        404 => "it no longer exists",
        409 => "it conflicts with a running reply",
        413 => "the file is too large",
        429 => "the backend is rate limiting",
        500..=599 => "the backend failed",
        _ => "it failed",
    };
    match server {
        Some(s) => format!("{what}: {base} — {s} (HTTP {status})."),
        None => format!("{what}: {base} (HTTP {status})."),
    }
}

/// Where the backend lives (same origin) and the CSRF token once known.
pub struct Api {
    /// The backend root, ending in `/` (e.g. `/` or `http://127.0.0.1:8080/` in tests).
    pub base: String,
    csrf: RefCell<Option<String>>,
    csrf_loaded: RefCell<bool>,
    /// Whether the backend asks for sign-in (`/api/auth/status`), once known: with auth off
    /// no POST needs the token, so the shell (~224 KB on Hermes) is never fetched for it.
    auth: RefCell<Option<bool>>,
}

impl Api {
    pub fn new(base: &str) -> Api {
        let mut base = base.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Api {
            base,
            csrf: RefCell::new(None),
            csrf_loaded: RefCell::new(false),
            auth: RefCell::new(None),
        }
    }

    /// The backend root from `<meta name="hermes-backend">`, else the origin root.
    pub fn from_document() -> Api {
        let meta = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("meta[name=hermes-backend]").ok().flatten())
            .and_then(|m| m.get_attribute("content"))
            .filter(|c| !c.trim().is_empty());
        Api::new(meta.as_deref().unwrap_or("/"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// GETs `path` and decodes JSON.
    pub async fn get<T: FromJson>(&self, what: &str, path: &str) -> Result<T, ApiError> {
        let (status, text) = self
            .fetch("GET", path, None)
            .await
            .map_err(|e| ApiError::network(what, e))?;
        decode(what, status, &text)
    }

    /// POSTs JSON (with the CSRF token) and decodes JSON; a 403 "Session expired" re-reads
    /// the token once and retries.
    pub async fn post<T: FromJson>(
        &self,
        what: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        let json = serde_json::to_string(body).map_err(|e| ApiError {
            status: 0,
            message: format!("{what}: {e}"),
            body: None,
        })?;
        let (status, text) = self
            .post_json(path, json)
            .await
            .map_err(|e| ApiError::network(what, e))?;
        if status == 403 && text.contains("Session expired") {
            return Err(ApiError {
                status: 403,
                message: format!(
                    "{what}: your session expired — reload the page to sign in again."
                ),
                body: None,
            });
        }
        decode(what, status, &text)
    }

    /// One request; status and body text. Not generic: every call shares this code.
    async fn fetch(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, String), String> {
        if method == "GET" {
            if let Some(answer) = early(path).await {
                return Ok(answer);
            }
        }
        let url = self.url(path);
        let req = if method == "POST" {
            self.with_csrf(Request::post(&url))
                .header("Content-Type", "application/json")
        } else {
            Request::get(&url)
        };
        let resp = match body {
            Some(b) => req.body(b).map_err(|e| e.to_string())?.send().await,
            None => req.send().await,
        }
        .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, text))
    }

    /// POSTs with the CSRF token; a 403 "Session expired" re-reads the token once and retries.
    async fn post_json(&self, path: &str, json: String) -> Result<(u16, String), String> {
        self.ensure_csrf().await;
        let first = self.fetch("POST", path, Some(json.clone())).await?;
        if first.0 == 403 && first.1.contains("Session expired") {
            self.refresh_csrf().await;
            return self.fetch("POST", path, Some(json)).await;
        }
        Ok(first)
    }

    fn with_csrf(&self, req: RequestBuilder) -> RequestBuilder {
        match self.csrf.borrow().as_deref() {
            Some(t) => req.header("X-Hermes-CSRF-Token", t),
            None => req,
        }
    }

    /// The CSRF token header value, if any (uploads send it too).
    pub fn csrf_token(&self) -> Option<String> {
        self.csrf.borrow().clone()
    }

    /// Reads the token once, if the backend wants one (auth on; asked once if not known yet).
    /// With auth off the backend checks no token; should that change under a running page, a
    /// 403 "Session expired" re-reads it ([`Api::refresh_csrf`]).
    pub async fn ensure_csrf(&self) {
        if *self.csrf_loaded.borrow() {
            return;
        }
        let known = *self.auth.borrow();
        let auth = match known {
            Some(a) => a,
            None => self.auth_status().await.map_or(true, |s| s.auth_enabled),
        };
        if auth {
            self.refresh_csrf().await;
        }
    }

    /// Notes what `/api/auth/status` said (boot asks it alongside the session list).
    pub fn note_auth(&self, enabled: bool) {
        *self.auth.borrow_mut() = Some(enabled);
    }

    /// Reads the token from the backend's `/` shell (same origin, with the cookie).
    pub async fn refresh_csrf(&self) {
        *self.csrf_loaded.borrow_mut() = true;
        if let Ok(resp) = Request::get(&self.base).send().await {
            if resp.ok() {
                let html = resp.text().await.unwrap_or_default();
                *self.csrf.borrow_mut() = wire::csrf_token_from_shell(&html);
            }
        }
    }
}

/// An answer `boot.js` asked for before the wasm started (`window.__paneEarly[path]`), taken
/// once: the first list (and a session's first window) need not wait for the module to compile.
async fn early(path: &str) -> Option<(u16, String)> {
    let window: wasm_bindgen::JsValue = web_sys::window()?.into();
    let map = js_sys::Reflect::get(&window, &"__paneEarly".into()).ok()?;
    if !map.is_object() {
        return None;
    }
    let key = wasm_bindgen::JsValue::from_str(path);
    let answer = js_sys::Reflect::get(&map, &key).ok()?;
    let _ = js_sys::Reflect::delete_property(map.unchecked_ref::<js_sys::Object>(), &key);
    let answer = wasm_bindgen_futures::JsFuture::from(answer.dyn_into::<js_sys::Promise>().ok()?)
        .await
        .ok()?;
    let pair: js_sys::Array = answer.dyn_into().ok()?;
    Some((pair.get(0).as_f64()? as u16, pair.get(1).as_string()?))
}

/// Messages loaded per page (a session's first window and each page further back).
pub const WINDOW: usize = 60;

/// Which part of a session to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Metadata only (it carries the live turn's journal snapshot).
    Meta,
    /// The newest [`WINDOW`] messages.
    Window,
    /// `limit` messages before absolute index `before`.
    Before { before: u64, limit: usize },
}

/// A session flag set by its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Pinned,
    Archived,
}

fn decode<T: FromJson>(what: &str, status: u16, text: &str) -> Result<T, ApiError> {
    if status == 401 {
        redirect_to_login();
    }
    if !(200..300).contains(&status) {
        let body: Option<WireError> = pane_core::from_json(text).ok();
        return Err(ApiError {
            status,
            message: describe(what, status, body.as_ref()),
            body,
        });
    }
    pane_core::from_json(text).map_err(|e| ApiError {
        status,
        message: format!("{what}: the backend answered something unexpected ({e})."),
        body: None,
    })
}

/// Sends the browser to the backend's login page, coming back here afterwards.
pub fn redirect_to_login() {
    let Some(w) = web_sys::window() else { return };
    let loc = w.location();
    let here = format!(
        "{}{}{}",
        loc.pathname().unwrap_or_default(),
        loc.search().unwrap_or_default(),
        loc.hash().unwrap_or_default()
    );
    let base = Api::from_document().base;
    let _ = loc.assign(&format!(
        "{base}login?next={}",
        pane_core::url_encode(&here)
    ));
}
