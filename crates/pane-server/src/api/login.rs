//! Auth: status, login and logout, the login page, and the `/` shell with the CSRF token.

#[allow(unused_imports)]
use super::*;

pub(super) async fn auth_status(State(app): AppState, headers: HeaderMap) -> Response {
    let on = app.auth.enabled();
    no_store(
        Json(json!({
            "auth_enabled": on,
            "logged_in": app.auth.logged_in(&headers),
            "oidc_enabled": false,
            "password_auth_enabled": on,
            "passkeys_enabled": false
        }))
        .into_response(),
    )
}

pub(super) async fn auth_login(State(app): AppState, bytes: Bytes) -> Response {
    let v = body(&bytes);
    match app
        .auth
        .login(v.get("password").and_then(Value::as_str).unwrap_or(""))
    {
        Some(cookie) => {
            let mut r = Json(json!({"ok": true})).into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&auth::set_cookie(&cookie)).expect("cookie header"),
            );
            r
        }
        None => err(StatusCode::UNAUTHORIZED, "Invalid password"),
    }
}

pub(super) async fn auth_logout(State(app): AppState, headers: HeaderMap) -> Response {
    app.auth.logout(&headers);
    let mut r = Json(json!({"ok": true})).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("hermes_session=; Path=/; Max-Age=0"),
    );
    r
}

pub(super) async fn login_get(State(app): AppState, Query(q): Q) -> Response {
    let next = auth::safe_next(q.get("next").map(String::as_str).unwrap_or("/"));
    if !app.auth.enabled() {
        return Redirect::to(&next).into_response();
    }
    Html(auth::login_page(&next, false)).into_response()
}

pub(super) async fn login_post(State(app): AppState, bytes: Bytes) -> Response {
    let form: HashMap<String, String> = url_form(&bytes);
    let next = auth::safe_next(form.get("next").map(String::as_str).unwrap_or("/"));
    match app
        .auth
        .login(form.get("password").map(String::as_str).unwrap_or(""))
    {
        Some(cookie) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&auth::set_cookie(&cookie)).expect("cookie header"),
            );
            r
        }
        None => (
            StatusCode::UNAUTHORIZED,
            Html(auth::login_page(&next, true)),
        )
            .into_response(),
    }
}

pub(super) fn url_form(bytes: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(bytes);
    text.split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((percent_decode(k), percent_decode(v)))
        })
        .collect()
}

pub(super) fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            out.push(b' ');
        } else if b == b'%' && i + 2 < bytes.len() {
            match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b),
            }
        } else {
            out.push(b);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// The stand-in's `/` app shell: like upstream it embeds the CSRF token in an inline config.
pub(super) async fn shell(State(app): AppState, headers: HeaderMap) -> Response {
    let token = app.auth.csrf_for(&headers).unwrap_or_default();
    let mount = pane_core::markdown::escaped(&app.config.mount);
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Hermes WebUI (stand-in)</title>\
<script>window.__HERMES_CONFIG__ = {{basePath:\"/\", csrfToken:\"{token}\"}};</script></head><body>\
<p>This is the stand-in Hermes WebUI backend. The pane lives at <a \
href=\"{mount}\">{mount}</a>.</p></body></html>"
    );
    let mut r = Html(html).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

// ---------------------------------------------------------------------------------------------
// Test controls (only with --faults)
