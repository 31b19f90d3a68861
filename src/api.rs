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
        ApiError { status: 0, message: format!("{what} failed: the backend is unreachable ({e})."), body: None }
    }

    /// The 409 of `chat/start`: the session's running stream.
    pub fn active_stream(&self) -> Option<&str> {
        (self.status == 409).then(|| self.body.as_ref().and_then(|b| b.active_stream_id.as_deref())).flatten()
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
}

impl Api {
    pub fn new(base: &str) -> Api {
        let mut base = base.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Api { base, csrf: RefCell::new(None), csrf_loaded: RefCell::new(false) }
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
        let (status, text) = self.fetch("GET", path, None).await.map_err(|e| ApiError::network(what, e))?;
        decode(what, status, &text)
    }

    /// POSTs JSON (with the CSRF token) and decodes JSON; a 403 "Session expired" re-reads
    /// the token once and retries.
    pub async fn post<T: FromJson>(&self, what: &str, path: &str, body: &impl Serialize) -> Result<T, ApiError> {
        let json = serde_json::to_string(body).map_err(|e| ApiError { status: 0, message: format!("{what}: {e}"), body: None })?;
        let (status, text) = self.post_json(path, json).await.map_err(|e| ApiError::network(what, e))?;
        if status == 403 && text.contains("Session expired") {
            return Err(ApiError { status: 403, message: format!("{what}: your session expired — reload the page to sign in again."), body: None });
        }
        decode(what, status, &text)
    }

    /// One request; status and body text. Not generic: every call shares this code.
    async fn fetch(&self, method: &str, path: &str, body: Option<String>) -> Result<(u16, String), String> {
        let url = self.url(path);
        let req = if method == "POST" { self.with_csrf(Request::post(&url)).header("Content-Type", "application/json") } else { Request::get(&url) };
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

    pub async fn ensure_csrf(&self) {
        if !*self.csrf_loaded.borrow() {
            self.refresh_csrf().await;
        }
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

/// The endpoints the pane uses (§0 of the contract): the only place their paths are written.
impl Api {
    pub async fn auth_status(&self) -> Result<wire::AuthStatus, ApiError> {
        self.get("Checking sign-in", "api/auth/status").await
    }

    pub async fn sessions(&self) -> Result<wire::SessionList, ApiError> {
        self.get("Loading the session list", "api/sessions").await
    }

    /// The session-list invalidation channel (`sessions_changed`).
    pub fn sessions_events_url(&self) -> String {
        self.url("api/sessions/events")
    }

    pub async fn session(&self, id: &str, part: Part) -> Result<wire::SessionEnvelope, ApiError> {
        let id = pane_core::url_encode(id);
        let (what, path) = match part {
            Part::Meta => ("Loading the session", format!("api/session?session_id={id}&messages=0&resolve_model=0")),
            Part::Window => ("Loading messages", format!("api/session?session_id={id}&msg_limit={WINDOW}")),
            Part::Before { before, limit } => ("Loading older messages", format!("api/session?session_id={id}&msg_before={before}&msg_limit={limit}")),
        };
        self.get(what, &path).await
    }

    pub async fn new_session(&self) -> Result<wire::SessionEnvelope, ApiError> {
        self.post("Creating a session", "api/session/new", &serde_json::json!({})).await
    }

    pub async fn rename(&self, id: &str, title: &str) -> Result<wire::SessionEnvelope, ApiError> {
        self.post("Renaming", "api/session/rename", &serde_json::json!({"session_id": id, "title": title})).await
    }

    pub async fn set_flag(&self, id: &str, flag: Flag, on: bool) -> Result<serde_json::Value, ApiError> {
        match flag {
            Flag::Pinned => self.post("Pinning", "api/session/pin", &serde_json::json!({"session_id": id, "pinned": on})).await,
            Flag::Archived => self.post("Archiving", "api/session/archive", &serde_json::json!({"session_id": id, "archived": on})).await,
        }
    }

    pub async fn delete(&self, id: &str) -> Result<serde_json::Value, ApiError> {
        self.post("Deleting", "api/session/delete", &serde_json::json!({"session_id": id})).await
    }

    pub async fn retry(&self, id: &str) -> Result<wire::RetryReply, ApiError> {
        self.post("Retrying", "api/session/retry", &serde_json::json!({"session_id": id})).await
    }

    /// Keeps the first `keep` messages (edit & resend).
    pub async fn truncate(&self, id: &str, keep: u64) -> Result<wire::SessionEnvelope, ApiError> {
        self.post("Editing the message", "api/session/truncate", &serde_json::json!({"session_id": id, "keep_count": keep})).await
    }

    pub async fn search(&self, q: &str) -> Result<wire::SearchReply, ApiError> {
        self.get("Searching", &format!("api/sessions/search?q={}&content=1&depth=0", pane_core::url_encode(q.trim()))).await
    }

    pub async fn chat_start(&self, req: &wire::ChatStartRequest) -> Result<wire::ChatStartReply, ApiError> {
        self.post("Sending your message", "api/chat/start", req).await
    }

    /// A chat stream with its resume query (`stream_id=…&replay=1&after_seq=…`).
    pub fn chat_stream_url(&self, query: &str) -> String {
        self.url(&format!("api/chat/stream?{query}"))
    }

    pub async fn stream_status(&self, stream: &str) -> Result<wire::StreamStatus, ApiError> {
        self.get("Checking the stream", &format!("api/chat/stream/status?stream_id={}", pane_core::url_encode(stream))).await
    }

    /// Cancel is a GET (§3.6).
    pub async fn cancel(&self, stream: &str) -> Result<wire::CancelReply, ApiError> {
        self.get("Stopping the reply", &format!("api/chat/cancel?stream_id={}", pane_core::url_encode(stream))).await
    }

    pub async fn approval_pending(&self, id: &str) -> Result<wire::ApprovalPending, ApiError> {
        self.get("Checking approvals", &format!("api/approval/pending?session_id={}", pane_core::url_encode(id))).await
    }

    pub async fn clarify_pending(&self, id: &str) -> Result<wire::ClarifyPending, ApiError> {
        self.get("Checking questions", &format!("api/clarify/pending?session_id={}", pane_core::url_encode(id))).await
    }

    pub async fn approval_respond(&self, body: &wire::ApprovalRespond) -> Result<wire::RespondReply, ApiError> {
        self.post("Answering the approval", "api/approval/respond", body).await
    }

    pub async fn clarify_respond(&self, body: &wire::ClarifyRespond) -> Result<wire::RespondReply, ApiError> {
        self.post("Answering the question", "api/clarify/respond", body).await
    }
}

fn decode<T: FromJson>(what: &str, status: u16, text: &str) -> Result<T, ApiError> {
    if status == 401 {
        redirect_to_login();
    }
    if !(200..300).contains(&status) {
        let body: Option<WireError> = pane_core::from_json(text).ok();
        return Err(ApiError { status, message: describe(what, status, body.as_ref()), body });
    }
    pane_core::from_json(text).map_err(|e| ApiError { status, message: format!("{what}: the backend answered something unexpected ({e})."), body: None })
}

/// Sends the browser to the backend's login page, coming back here afterwards.
pub fn redirect_to_login() {
    let Some(w) = web_sys::window() else { return };
    let loc = w.location();
    let here = format!("{}{}{}", loc.pathname().unwrap_or_default(), loc.search().unwrap_or_default(), loc.hash().unwrap_or_default());
    let base = Api::from_document().base;
    let _ = loc.assign(&format!("{base}login?next={}", pane_core::url_encode(&here)));
}

/// Uploads one file with progress, behind the CSRF gate like every POST: the token is read
/// first when auth is on, and a 403 "Session expired" re-reads it once and uploads again.
pub fn upload(
    api: std::rc::Rc<Api>,
    session_id: &str,
    file: &web_sys::File,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(Result<wire::UploadReply, ApiError>) + 'static,
) {
    let on_progress: std::rc::Rc<dyn Fn(f64)> = std::rc::Rc::new(on_progress);
    let (session_id, file) = (session_id.to_string(), file.clone());
    leptos::task::spawn_local(async move {
        api.ensure_csrf().await;
        let again = (api.clone(), session_id.clone(), file.clone(), on_progress.clone());
        let p = on_progress.clone();
        upload_once(
            &api,
            &session_id,
            &file,
            move |x| p(x),
            move |r| match r {
                Err(e) if e.status == 403 && e.body.as_ref().and_then(|b| b.error.as_deref()).is_some_and(|t| t.contains("Session expired")) => {
                    leptos::task::spawn_local(async move {
                        let (api, session_id, file, on_progress) = again;
                        api.refresh_csrf().await;
                        upload_once(&api, &session_id, &file, move |x| on_progress(x), on_done);
                    });
                }
                r => on_done(r),
            },
        );
    });
}

/// One upload with progress (`XMLHttpRequest`: fetch has no upload progress). The handlers
/// live exactly as long as the request: they are released once it settles.
fn upload_once(
    api: &Api,
    session_id: &str,
    file: &web_sys::File,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(Result<wire::UploadReply, ApiError>) + 'static,
) {
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    let fail = |m: String| ApiError { status: 0, message: m, body: None };
    let (Ok(xhr), Ok(form)) = (web_sys::XmlHttpRequest::new(), web_sys::FormData::new()) else {
        on_done(Err(fail("Upload failed: the browser refused to start it.".into())));
        return;
    };
    let _ = form.append_with_str("session_id", session_id);
    let _ = form.append_with_blob_and_filename("file", file, &file.name());
    let _ = xhr.open("POST", &api.url("api/upload"));
    if let Some(t) = api.csrf_token() {
        let _ = xhr.set_request_header("X-Hermes-CSRF-Token", &t);
    }
    type Handlers = (Closure<dyn FnMut(web_sys::ProgressEvent)>, Closure<dyn FnMut()>, Closure<dyn FnMut()>);
    let keep: Rc<RefCell<Option<Handlers>>> = Rc::new(RefCell::new(None));
    let done = Rc::new(RefCell::new(Some(on_done)));
    let finish = {
        let keep = keep.clone();
        let done = done.clone();
        move |result: Result<wire::UploadReply, ApiError>| {
            if let Some(f) = done.borrow_mut().take() {
                f(result);
            }
            // Drop the handlers after this one returns (a closure cannot free itself).
            let handlers = keep.borrow_mut().take();
            leptos::prelude::set_timeout(move || drop(handlers), std::time::Duration::ZERO);
        }
    };
    let progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            on_progress(e.loaded() / e.total());
        }
    });
    let name = file.name();
    let x2 = xhr.clone();
    let finish_load = finish.clone();
    let onload = Closure::<dyn FnMut()>::new(move || {
        let status = x2.status().unwrap_or(0);
        let text = x2.response_text().ok().flatten().unwrap_or_default();
        let result = if (200..300).contains(&status) {
            pane_core::from_json::<wire::UploadReply>(&text).map_err(|e| fail(format!("Upload of {name}: unexpected answer ({e}).")))
        } else {
            if status == 401 {
                redirect_to_login();
            }
            let body: Option<WireError> = pane_core::from_json(&text).ok();
            Err(ApiError { status, message: describe(&format!("Upload of {name}"), status, body.as_ref()), body })
        };
        finish_load(result);
    });
    let onerror = Closure::<dyn FnMut()>::new(move || finish(Err(fail("Upload failed: the backend is unreachable.".into()))));
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    xhr.set_onload(Some(onload.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    *keep.borrow_mut() = Some((progress, onload, onerror));
    let _ = xhr.send_with_opt_form_data(Some(&form));
}
