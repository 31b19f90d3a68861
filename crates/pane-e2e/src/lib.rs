//! The browser end-to-end harness: the backends (the stand-in with fault injection, or the
//! real Hermes WebUI in two embeddings: [`server`]), Debian's chromedriver + headless Chromium
//! driven over WebDriver ([`browser`], fantoccini), the live-text sampler ([`live`]), and
//! helpers that wait on conditions (never sleeps) with a hang guard on every wait.

pub mod browser;
pub mod live;
pub mod server;
pub mod tabs;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use browser::{Browser, Cdp, Driver};
pub use live::*;
pub use server::{dist, Backend, RealBackend, Server, ServerOpts};

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("pane-e2e-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The visible text of the saved assistant reply of the last turn (what the pane shows).
pub fn saved_reply(messages: &[Value]) -> String {
    let start = messages
        .iter()
        .rposition(|m| m["role"] == "user")
        .map_or(0, |i| i + 1);
    messages[start..]
        .iter()
        .filter(|m| m["role"] == "assistant" && m["_error"] != true)
        .filter_map(|m| m["content"].as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// JS: the shown pane's element (`document.querySelector` scope).
pub const SHOWN: &str = ".pane:not(.hidden)";

/// Opens the pane and waits until the app has started (the sidebar exists).
pub async fn open_app(b: &Browser, url: &str) {
    b.goto(url).await;
    b.wait(
        "the app to start",
        Duration::from_secs(30),
        "return document.querySelector('[data-testid=sidebar]') !== null && \
         performance.getEntriesByName('pane-interactive').length > 0",
    )
    .await;
}

/// Sends a message from the shown pane's composer.
pub async fn send(b: &Browser, text: &str) {
    let input = format!(
        "{SHOWN} [data-testid=composer-input], .route:not(.hidden) [data-testid=composer-input]"
    );
    b.type_into(&input, text).await;
    b.type_into(&input, "\u{E007}").await; // Enter
}

/// JS: the session the address names (`…/session/<id>`, or `index.html?session=<id>` where the
/// pane is served as a file, as in Hermes' `static/`), or null.
pub const ADDRESS_SESSION_JS: &str = "(new URLSearchParams(location.search).get('session') || \
    (location.pathname.includes('/session/') ? \
    decodeURIComponent(location.pathname.split('/session/')[1]) : null))";

/// Creates a session through the UI and returns its id.
pub async fn new_session(b: &Browser) -> String {
    let before = b.js(&format!("return {ADDRESS_SESSION_JS}")).await;
    b.click("[data-testid=new-session]").await;
    let v = b
        .wait(
            "the new session's URL",
            Duration::from_secs(10),
            &format!("const s = {ADDRESS_SESSION_JS}; return s && s !== {before} ? s : null"),
        )
        .await;
    v.as_str().unwrap().to_string()
}

/// The shown pane's settled assistant text (markdown rendered to text).
pub const SHOWN_REPLY_JS: &str = "const ms = [...document.querySelectorAll('.pane:not(.hidden) \
    [data-role=assistant]:not(.live)')]; \
    const last = ms.length ? ms[ms.length - 1] : null; \
    return last ? last.querySelector('.md').innerText : null";

/// Runs a test body with a fresh stand-in server and browser (see [`with_backend`]).
pub async fn with_stack<F, Fut>(opts: ServerOpts, body: F)
where
    F: FnOnce(Server, Browser) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    with_backend(Backend::StandIn, opts, body).await
}

/// Runs a test body with the pane on `kind` and a fresh browser (the live-text sampler
/// installed); both are torn down whatever happens, and the body's panic is re-raised
/// afterwards (no orphaned Chromium).
pub async fn with_backend<F, Fut>(kind: Backend, opts: ServerOpts, body: F)
where
    F: FnOnce(Server, Browser) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let server = Server::start_on(kind, opts).await;
    let (browser, driver) = Browser::start().await;
    install_sampler(&browser).await;
    let client = browser.client.clone();
    let result = tokio::spawn(body(server, browser)).await;
    // The app never panicked (a panic stops the wasm module; `show_fatal` marks the page).
    // Nor hit a bug it detects itself (`data-pane-bug`: a split view that could not render).
    let fatal = client
        .execute(
            "return document.body && (document.body.dataset.paneFatal || \
             document.body.dataset.paneBug) || null",
            vec![],
        )
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string));
    let _ = client.close().await;
    drop(driver);
    eprintln!("(test body took {:.1} s)", started.elapsed().as_secs_f64());
    if let Err(e) = result {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
    if let Some(f) = fatal {
        panic!("the pane panicked or hit a bug: {f}");
    }
}
