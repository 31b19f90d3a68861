//! Serves the pane's built bundle (Trunk `dist/`): `application/wasm`, precompressed brotli and
//! gzip (compressed once at start-up), immutable caching for hashed assets, an SPA fallback to
//! `index.html`, and a CSP that allows `'wasm-unsafe-eval'`, the document's own inline boot
//! script by its hash, and nothing looser.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::App;

/// The pane document's policy: scripts only from this origin (no eval; no inline script but
/// the ones [`csp_for`] names by hash), wasm compilation allowed; styles from this origin; API
/// calls same-origin; images and media from this origin (and inline raster `data:` images)
/// only, never off-origin.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; media-src 'self'; font-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
frame-ancestors 'none'";

/// How to serve the bundle.
#[derive(Debug, Clone, Copy)]
pub struct Serving {
    /// Embed the login session's CSRF token in `index.html` (a JSON data block, never executed).
    pub csrf: bool,
    /// Test only: `.wasm` as `text/plain`, like Hermes WebUI's `/static/` handler.
    pub wasm_as_text: bool,
}

struct Asset {
    raw: Vec<u8>,
    gzip: Option<Vec<u8>>,
    brotli: Option<Vec<u8>>,
    mime: &'static str,
    etag: String,
    immutable: bool,
}

struct Bundle {
    assets: HashMap<String, Asset>,
    index: String,
    mount: String,
    /// The backend root `index.html` names (`<meta name="hermes-backend">`), when it is a path
    /// on this origin: what the early-fetch hints are built on.
    api: Option<String>,
    /// [`CSP`] with the hashes of `index`'s inline scripts.
    csp: HeaderValue,
    inject: Serving,
    app: Option<Arc<App>>,
}

fn mime_of(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Trunk names hashed assets `name-<hash>[_bg].ext`, the hash a u64 in hex without leading zeros
/// (so 16 digits, or fewer: `style-24e2401be62a9be.css`); the split chunks carry the same hash.
fn is_hashed(path: &str) -> bool {
    let stem = path.rsplit('/').next().unwrap_or(path);
    let stem = stem
        .split('.')
        .next()
        .unwrap_or(stem)
        .trim_end_matches("_bg");
    stem.rsplit_once('-').is_some_and(|(_, h)| {
        (12..=16).contains(&h.len()) && h.chars().all(|c| c.is_ascii_hexdigit())
    })
}

fn fnv(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("\"{h:016x}\"")
}

fn compress(raw: &[u8], mime: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let compressible = mime.starts_with("text/")
        || mime.contains("javascript")
        || mime.contains("json")
        || mime == "application/wasm"
        || mime.contains("svg");
    if !compressible || raw.len() < 512 {
        return (None, None);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gzip = gz.write_all(raw).ok().and_then(|_| gz.finish().ok());
    (gzip, brotli_at(raw, 11))
}

/// `raw` brotli-compressed at `quality` (11 for what is stored; lower for what is compressed per
/// request).
fn brotli_at(raw: &[u8], quality: i32) -> Option<Vec<u8>> {
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &raw[..], &mut br, &params)
        .ok()
        .map(|_| br)
}

/// The request's `Accept-Encoding` ("" without one).
fn accepted(headers: &HeaderMap) -> &str {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn load(dir: &Path, base: &Path, out: &mut HashMap<String, Asset>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.is_dir() {
            load(&path, base, out)?;
            continue;
        }
        let rel = path
            .strip_prefix(base)
            .map_err(std::io::Error::other)?
            .to_string_lossy()
            .replace('\\', "/");
        let raw = std::fs::read(&path)?;
        let mime = mime_of(&rel);
        let (gzip, brotli) = compress(&raw, mime);
        out.insert(
            rel.clone(),
            Asset {
                etag: fnv(&raw),
                immutable: is_hashed(&rel),
                raw,
                gzip,
                brotli,
                mime,
            },
        );
    }
    Ok(())
}

/// The backend root in `index.html`'s `<meta name="hermes-backend" content="…">`, if it is an
/// absolute path (`/`, `/hermes/`) of this origin; anything else gets no hints.
fn backend_root(index: &str) -> Option<String> {
    let at = index.find("name=\"hermes-backend\"")?;
    let tag = &index[at..at + index[at..].find('>')?];
    let v = tag.split("content=\"").nth(1)?.split('"').next()?;
    let ok = v.starts_with('/')
        && !v.starts_with("//")
        && v.ends_with('/')
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/-_.~".contains(&c));
    ok.then(|| v.to_string())
}

/// The `Link: rel=preload` hint for the pane document at `rel` (`session/<id>`, `index.html`,
/// the start page): the first request `boot.js` makes, named so the browser sends it when the
/// response's headers arrive instead of once the head is parsed and the boot script (inline at
/// its end) runs — on a cold load here ~20 ms after navigation against ~60–80 ms (at
/// `DOMContentLoaded`, 27–90 ms, before the script went inline). `boot.js`'s own `fetch` of the
/// same URL takes the preloaded answer, so the backend is still asked once. On a session's address
/// that is its message window (`boot.js` asks the list after it); elsewhere the list. An id
/// with characters that `boot.js` would encode gets no hint (it asks as before).
fn early_hint(api: &str, rel: &str, query: Option<&str>) -> Option<String> {
    let id = if rel == "index.html" {
        query
            .unwrap_or("")
            .split('&')
            .find_map(|p| p.strip_prefix("session="))
    } else {
        rel.strip_prefix("session/")
            .map(|r| r.split('/').next().unwrap_or(""))
    }
    .filter(|id| !id.is_empty());
    let path = match id {
        // Must be the URL `boot.js` asks for, byte for byte, or the browser fetches twice.
        Some(id)
            if id
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.~".contains(&c)) =>
        {
            format!("api/session?session_id={id}&msg_limit=60")
        }
        Some(_) => return None,
        None => "api/sessions".to_string(),
    };
    Some(format!("<{api}{path}>; rel=preload; as=fetch; crossorigin"))
}

/// [`CSP`] with `'sha256-…'` of every script `index` runs inline added to `script-src`: the
/// release bundle's boot script (`boot.js`, put inline by `cargo xtask build` so it runs as the
/// head is parsed). A data block (`type="application/json"`) is not run and needs none.
fn csp_for(index: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut hashes = String::new();
    let mut rest = index;
    while let Some(at) = rest.find("<script") {
        let open_end = at + rest[at..].find('>').unwrap_or(rest.len() - at);
        let tag = &rest[at..open_end];
        let body_start = (open_end + 1).min(rest.len());
        let body_end = body_start + rest[body_start..].find("</script>").unwrap_or(0);
        let runs = !tag.contains(" src=")
            && (!tag.contains(" type=")
                || ["module", "text/javascript"]
                    .iter()
                    .any(|t| tag.contains(&format!("type=\"{t}\""))));
        if runs && body_end > body_start {
            let digest = sha2::Sha256::digest(&rest.as_bytes()[body_start..body_end]);
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            hashes.push_str(&format!(" 'sha256-{b64}'"));
        }
        rest = &rest[body_end.max(body_start)..];
    }
    CSP.replacen(
        "script-src 'self'",
        &format!("script-src 'self'{hashes}"),
        1,
    )
}

/// Rewrites `<base href>` to the mount so relative asset URLs work at any depth.
fn rebase(index: &str, mount: &str) -> String {
    match index.find("<base href=\"") {
        Some(i) => {
            let rest = &index[i + 12..];
            let end = rest.find('"').unwrap_or(0);
            format!(
                "{}<base href=\"{}\"{}",
                &index[..i],
                mount,
                &rest[end + 1..]
            )
        }
        None => index.replacen("<head>", &format!("<head><base href=\"{mount}\">"), 1),
    }
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
}

impl Bundle {
    fn index_response(&self, headers: &HeaderMap, hint: Option<String>) -> Response {
        let mut html = self.index.clone();
        if self.inject.csrf {
            let token = self
                .app
                .as_ref()
                .and_then(|a| a.auth.csrf_for(headers))
                .unwrap_or_default();
            let block = format!(
                "<script type=\"application/json\" \
                 id=\"hermes-config\">{{\"csrfToken\":\"{token}\"}}</script></head>"
            );
            html = html.replacen("</head>", &block, 1);
        }
        // Compressed per request (the page may carry this sign-in's token, so it is not stored
        // compressed); brotli at a fast level: the page is a few KB, most of it the inline boot
        // script. Nothing from the request is echoed in it, so the token cannot be guessed from
        // the compressed length (BREACH).
        let br = accept_encoding(accepted(headers), "br")
            .then(|| brotli_at(html.as_bytes(), 5))
            .flatten();
        let (body, encoding) = match br {
            Some(br) => (br, Some("br")),
            None => (html.into_bytes(), None),
        };
        let mut r = (StatusCode::OK, body).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Some(e) = encoding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
        }
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        if let Some(v) = hint.and_then(|l| HeaderValue::from_str(&l).ok()) {
            h.insert(header::LINK, v);
        }
        security_headers(h);
        r
    }

    fn asset_response(&self, a: &Asset, headers: &HeaderMap) -> Response {
        if headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            == Some(a.etag.as_str())
        {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut()
                .insert(header::ETAG, HeaderValue::from_str(&a.etag).expect("etag"));
            return r;
        }
        let accepts = |enc: &str| accept_encoding(accepted(headers), enc);
        let (body, encoding) = match (&a.brotli, &a.gzip) {
            (Some(br), _) if accepts("br") => (br.clone(), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.clone(), Some("gzip")),
            _ => (a.raw.clone(), None),
        };
        let mut r = (StatusCode::OK, body).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
        if let Some(e) = encoding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
        }
        if a.gzip.is_some() {
            h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        h.insert(header::ETAG, HeaderValue::from_str(&a.etag).expect("etag"));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if a.immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
        security_headers(h);
        r
    }
}

async fn serve(State(b): State<Arc<Bundle>>, req: Request) -> Response {
    let path = req.uri().path();
    let rel = path
        .strip_prefix(b.mount.as_str())
        .unwrap_or("")
        .trim_start_matches('/');
    let hint = || early_hint(b.api.as_deref()?, rel, req.uri().query());
    if rel.is_empty() || rel == "index.html" {
        return b.index_response(req.headers(), hint());
    }
    if let Some(a) = b.assets.get(rel) {
        return b.asset_response(a, req.headers());
    }
    // Client-side routes (`session/<id>`) get the app; a missing file is a 404.
    let last = rel.rsplit('/').next().unwrap_or(rel);
    if !last.contains('.') {
        return b.index_response(req.headers(), hint());
    }
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// Adds the bundle at `mount` to `router`.
pub fn mount(
    router: Router,
    dist: &Path,
    mount: &str,
    inject: Serving,
    app: Option<Arc<App>>,
) -> Router {
    let mut assets = HashMap::new();
    if let Err(e) = load(dist, dist, &mut assets) {
        eprintln!(
            "pane-server: cannot read the bundle in {}: {e} (build it with `cargo xtask build`)",
            dist.display()
        );
    }
    if inject.wasm_as_text {
        for a in assets.values_mut().filter(|a| a.mime == "application/wasm") {
            a.mime = "text/plain; charset=utf-8";
        }
    }
    let index = assets
        .remove("index.html")
        .map(|a| String::from_utf8_lossy(&a.raw).to_string())
        .unwrap_or_else(|| {
            "<!doctype html><title>hermes-pane</title><p>The pane bundle is missing: \
             run <code>cargo xtask build</code>.</p>"
                .into()
        });
    let bundle = Arc::new(Bundle {
        api: backend_root(&index),
        // Never the plain policy instead: it would block the inline boot script, and the page
        // would not start. (Hashes are base64: always a valid header.)
        csp: HeaderValue::from_str(&csp_for(&index)).expect("the CSP is a header value"),
        index: rebase(&index, mount),
        assets,
        mount: mount.to_string(),
        inject,
        app,
    });
    let handler = get(serve).with_state(bundle);
    if mount == "/" {
        router.fallback_service(handler)
    } else {
        let bare = mount.trim_end_matches('/').to_string();
        let target = mount.to_string();
        router
            .route(
                &bare,
                get(move || async move { Redirect::permanent(&target) }),
            )
            .route(mount, handler.clone())
            .route(&format!("{mount}{{*path}}"), handler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("hermes-pane-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("hermes-pane-0123456789abcdef.js"));
        assert!(is_hashed("style-0123456789abcdef.css"));
        // Trunk drops leading zeros: 15 and 14 digits happen (1 build in 16, in 256).
        assert!(is_hashed("style-24e2401be62a9be.css"));
        assert!(is_hashed("split_later-8ac80a7b6cde0f.wasm"));
        assert!(!is_hashed("boot.js"));
        assert!(!is_hashed("index.html"));
    }

    #[test]
    fn the_csp_allows_the_inline_boot_script_by_its_hash_and_nothing_else_inline() {
        let index = "<head><script type=\"module\" src=\"./x.js\"></script>\
            <script data-js=\"./a.js\" data-wasm=\"./a.wasm\">window.x=1;</script>\
            <script type=\"application/json\" id=\"c\">{\"csrfToken\":\"t\"}</script></head>";
        let csp = csp_for(index);
        // sha256("window.x=1;") in base64, computed apart (Python's hashlib).
        let hash = "'sha256-g7sq2RbwbLEHSBobiM09D+ctI3iVsKqmfbqIiETF4t4='";
        assert!(
            csp.contains(&format!("script-src 'self' {hash} 'wasm-unsafe-eval'")),
            "{csp}"
        );
        assert_eq!(
            csp.matches("'sha256-").count(),
            1,
            "the data block is not hashed: {csp}"
        );
        assert!(!csp.contains("'unsafe-inline'"));
        // A document with no inline script keeps the policy as it was.
        assert_eq!(
            csp_for("<head><script src=\"./b.js\"></script></head>"),
            CSP
        );
    }

    #[test]
    fn the_hint_names_the_first_request_boot_js_makes() {
        let hint = |rel, q| early_hint("/", rel, q);
        let list = Some("</api/sessions>; rel=preload; as=fetch; crossorigin".to_string());
        let window = |id: &str| {
            Some(format!(
                "</api/session?session_id={id}&msg_limit=60>; rel=preload; as=fetch; crossorigin"
            ))
        };
        assert_eq!(hint("", None), list);
        assert_eq!(hint("index.html", None), list);
        assert_eq!(hint("index.html", Some("session=")), list);
        assert_eq!(hint("session/20251206_ab-c", None), window("20251206_ab-c"));
        assert_eq!(hint("session/abc/", None), window("abc"));
        assert_eq!(hint("index.html", Some("x=1&session=abc")), window("abc"));
        // What `boot.js` would percent-encode (or a header could not carry) gets no hint.
        assert_eq!(hint("session/a%20b", None), None);
        assert_eq!(hint("index.html", Some("session=a>b")), None);
        assert_eq!(
            early_hint("/hermes/", "", None).as_deref(),
            Some("</hermes/api/sessions>; rel=preload; as=fetch; crossorigin")
        );
    }

    #[test]
    fn only_a_same_origin_backend_path_gets_hints() {
        let meta = |c: &str| format!("<meta name=\"hermes-backend\" content=\"{c}\" />");
        assert_eq!(backend_root(&meta("/")).as_deref(), Some("/"));
        assert_eq!(backend_root(&meta("/hermes/")).as_deref(), Some("/hermes/"));
        assert_eq!(backend_root(&meta("//evil.example/")), None);
        assert_eq!(backend_root(&meta("https://h.example/")), None);
        assert_eq!(backend_root(&meta("../")), None);
        assert_eq!(backend_root("<head></head>"), None);
    }

    #[test]
    fn base_is_rewritten_to_the_mount() {
        assert_eq!(
            rebase("<head><base href=\"/\"><x>", "/pane/"),
            "<head><base href=\"/pane/\"><x>"
        );
        assert_eq!(rebase("<head><x>", "/p/"), "<head><base href=\"/p/\"><x>");
    }
}

/// Whether an `Accept-Encoding` header accepts `enc` (`br;q=0` refuses it).
fn accept_encoding(header: &str, enc: &str) -> bool {
    header.split(',').any(|p| {
        let mut parts = p.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|x| x.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        name.eq_ignore_ascii_case(enc) && q > 0.0
    })
}

#[cfg(test)]
mod accept_tests {
    use super::accept_encoding;

    #[test]
    fn q_zero_refuses_an_encoding() {
        assert!(accept_encoding("gzip, deflate, br, zstd", "br"));
        assert!(!accept_encoding("gzip, br;q=0", "br"));
        assert!(accept_encoding("gzip;q=0.5, br;q=1.0", "gzip"));
        assert!(!accept_encoding("identity", "gzip"));
    }
}
