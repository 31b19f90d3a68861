//! Password mode as upstream does it (§6): cookie `hermes_session`, 401 on `/api/*`, a login
//! page, a CSRF token embedded in the `/` shell, 403 on a bad token or a cross-origin POST.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::model::hex_id;

pub const COOKIE: &str = "hermes_session";

/// Logged-in browser sessions: cookie value → CSRF token.
#[derive(Debug, Default)]
pub struct AuthState {
    pub password: Option<String>,
    sessions: Mutex<HashMap<String, String>>,
    /// Origins the same-origin gate accepts besides the request's own host (upstream's
    /// `HERMES_WEBUI_ALLOWED_ORIGINS`: e.g. `trunk serve` on another port, whose proxy sends
    /// the backend's host).
    pub allowed_origins: Vec<String>,
}

impl AuthState {
    pub fn new(password: Option<String>) -> AuthState {
        AuthState {
            password,
            sessions: Mutex::new(HashMap::new()),
            allowed_origins: Vec::new(),
        }
    }

    /// Also accepts these origins (`scheme://host:port`, compared without a trailing slash,
    /// case-insensitively, as upstream does).
    pub fn allowing(mut self, origins: &[String]) -> AuthState {
        self.allowed_origins = origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        self
    }

    pub fn enabled(&self) -> bool {
        self.password.is_some()
    }

    /// Checks a password; on success returns the new cookie value.
    pub fn login(&self, password: &str) -> Option<String> {
        (self.password.as_deref() == Some(password)).then(|| {
            let value = format!("{}.{}", hex_id(32), hex_id(16));
            self.sessions
                .lock()
                .expect("auth")
                .insert(value.clone(), hex_id(40));
            value
        })
    }

    pub fn logout(&self, headers: &HeaderMap) {
        if let Some(c) = cookie(headers) {
            self.sessions.lock().expect("auth").remove(&c);
        }
    }

    /// The CSRF token of the request's login session (`None` when not logged in).
    pub fn csrf_for(&self, headers: &HeaderMap) -> Option<String> {
        let c = cookie(headers)?;
        self.sessions.lock().expect("auth").get(&c).cloned()
    }

    /// Gives every login a new CSRF token (test fault: the pane's copy goes stale).
    pub fn rotate_csrf(&self) {
        for v in self.sessions.lock().expect("auth").values_mut() {
            *v = hex_id(40);
        }
    }

    pub fn logged_in(&self, headers: &HeaderMap) -> bool {
        !self.enabled() || self.csrf_for(headers).is_some()
    }
}

/// The `hermes_session` cookie value.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_string())
        })
}

/// `Set-Cookie` for a login (HttpOnly, SameSite=Lax, Path=/, 30 days).
pub fn set_cookie(value: &str) -> String {
    format!("{COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000")
}

fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next()
}

/// The upstream CSRF/Origin gate for state-changing requests; `Err` is the 403 to send.
pub fn check_post(
    auth: &AuthState,
    method: &Method,
    headers: &HeaderMap,
    broken: bool,
) -> Result<(), Response> {
    if !matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return Ok(());
    }
    let deny =
        |msg: &str| (StatusCode::FORBIDDEN, axum::Json(json!({"error": msg}))).into_response();
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(deny("Cross-origin request blocked"));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    if let Some(o) = origin {
        let listed = || {
            let scheme_host = o
                .split_once("://")
                .map(|(s, r)| format!("{s}://{}", r.split('/').next().unwrap_or("")))
                .unwrap_or_default();
            auth.allowed_origins
                .contains(&scheme_host.to_ascii_lowercase())
        };
        if o != "null" && host_of(o) != Some(host) && !listed() {
            return Err(deny("Cross-origin mismatch"));
        }
    }
    if auth.enabled() && origin.is_some() {
        let sent = headers
            .get("x-hermes-csrf-token")
            .or_else(|| headers.get("x-csrf-token"))
            .and_then(|v| v.to_str().ok());
        let expected = auth.csrf_for(headers);
        if broken || sent.is_none() || sent.map(str::to_string) != expected {
            return Err(deny("Session expired - reload the page"));
        }
    }
    Ok(())
}

/// The login page (a plain form: no script, so it works under any CSP).
pub fn login_page(next: &str, failed: bool) -> String {
    let next = pane_core::markdown::escaped(next);
    let error = if failed {
        "<p class=\"error\" role=\"alert\">Wrong password.</p>"
    } else {
        ""
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>Sign in · Hermes</title><style>body{{font:16px system-ui;display:grid;place-items:center;\
min-height:100vh;margin:0;background:#0f1115;color:#e8e8e8}}form{{display:grid;gap:12px;\
min-width:280px}}input,button{{font:inherit;padding:10px;border-radius:8px;border:1px solid #444;\
background:#1a1d24;color:inherit}}button{{background:#3b82f6;border:0;color:#fff}}\
.error{{color:#f87171}}</style></head><body><form method=\"post\" action=\"login\" \
data-testid=\"login-form\"><h1>Hermes</h1>{error}<input type=\"hidden\" name=\"next\" \
value=\"{next}\"><label>Password <input type=\"password\" name=\"password\" autofocus \
data-testid=\"login-password\"></label><button type=\"submit\" data-testid=\"login-submit\">Sign \
in</button></form></body></html>"
    )
}

/// A safe post-login redirect target: same-origin paths only.
pub fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/".to_string()
    }
}
