//! Several tabs of one browser (WebDriver windows; each command goes to the current one), and
//! what is measured across them: a log of every chat EventSource each document opened and
//! closed (timestamps on the browser's shared clock, merged into the browser-wide count), and a
//! loop timing `fetch('/api/sessions')`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{install_sampler, Browser};

/// Installed before the pane boots in every document of a tab: wraps `EventSource` so each
/// chat stream (`…/chat/stream?…`) logs `[t, +1]` when created and `[t, -1]` when closed (by
/// `close()` or by the browser), `t` being `performance.timeOrigin + now()` — one clock for
/// every tab of the browser.
pub const ES_LOG_JS: &str = r#"(() => {
  if (window.__esLog) return;
  const log = [];
  window.__esLog = log;
  const t = () => performance.timeOrigin + performance.now();
  const Native = window.EventSource;
  class Counted extends Native {
    constructor(url, init) {
      super(url, init);
      this.__chat = String(url).includes('chat/stream?');
      this.__live = true;
      if (this.__chat) log.push([t(), 1]);
      this.addEventListener('error', () => {
        if (this.readyState === 2 && this.__live) {
          this.__live = false;
          if (this.__chat) log.push([t(), -1]);
        }
      });
    }
    close() {
      if (this.__live) {
        this.__live = false;
        if (this.__chat) log.push([t(), -1]);
      }
      super.close();
    }
  }
  window.EventSource = Counted;
})();"#;

/// Makes this tab read as hidden to the page (headless Chromium shows every window): the
/// `hidden`/`visibilityState` the pane reads, and the event it listens to.
pub const HIDE_JS: &str = "Object.defineProperty(document, 'hidden', {configurable: true, get: () \
    => true}); Object.defineProperty(document, 'visibilityState', {configurable: true, get: () \
    => 'hidden'}); document.dispatchEvent(new Event('visibilitychange', {bubbles: true})); \
    return true";

/// Starts timing `fetch('/api/sessions')` every 250 ms in this tab (the hang guard reads the
/// slowest answer, and from Resource Timing how long each waited for a connection).
pub const FETCH_LOOP_JS: &str = "performance.setResourceTimingBufferSize(100000); \
    window.__fetchTimes = []; window.__fetchLoop = setInterval(() => \
    { const t = performance.now(); fetch('/api/sessions').then(r => r.text()).then(() => \
    window.__fetchTimes.push(performance.now() - t), () => window.__fetchTimes.push(-1)); }, \
    250); return true";

/// Like [`FETCH_LOOP_JS`], but one request at a time: the next `fetch('/api/sessions')` leaves
/// 250 ms after the previous one answered. Against the real backend (Python, 2 cores, 8 turns
/// running) a list can take over a second; three tabs asking 4 times a second would then queue
/// their own requests without end and the wait would measure the test's load, not the pool. An
/// exhausted pool still shows: the one request in flight waits until a connection frees.
pub const FETCH_POLL_JS: &str = "performance.setResourceTimingBufferSize(100000); \
    window.__fetchTimes = []; (async () => { for (;;) { const t = performance.now(); \
    try { await (await fetch('/api/sessions')).text(); \
    window.__fetchTimes.push(performance.now() - t); } catch (e) { \
    window.__fetchTimes.push(-1); } await new Promise(r => setTimeout(r, 250)); } })(); \
    return true";

/// Prepares the tab `b` drives now: the EventSource log and the live-text sampler in every
/// document it loads, and `extra` (a script run before the pane, e.g. removing an API).
pub async fn instrument(b: &Browser, extra: Option<&str>) {
    if let Some(js) = extra {
        b.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": js }),
        )
        .await;
    }
    b.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": ES_LOG_JS }),
    )
    .await;
    install_sampler(b).await;
}

/// Opens a new window, makes it current, instruments it and opens `url` there; returns its
/// handle.
pub async fn open_window(b: &Browser, url: &str, extra: Option<&str>) -> String {
    let w = b.client.new_window(false).await.expect("new window");
    b.client
        .switch_to_window(w.handle.clone())
        .await
        .expect("switch");
    instrument(b, extra).await;
    crate::open_app(b, url).await;
    String::from(w.handle)
}

/// The current window's handle.
pub async fn current(b: &Browser) -> String {
    String::from(b.client.window().await.expect("window handle"))
}

/// Makes the window `handle` current.
pub async fn on(b: &Browser, handle: &str) {
    let h = fantoccini::wd::WindowHandle::try_from(handle.to_string()).expect("handle");
    b.client.switch_to_window(h).await.expect("switch window");
}

/// This tab's role in the shared set of transports (`leader`, `follower`, `solo`).
pub async fn role(b: &Browser) -> String {
    b.js("return window.__hermesPane ? window.__hermesPane.role() : null")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits until this tab's role is `want`.
pub async fn wait_role(b: &Browser, want: &str, timeout: Duration) {
    b.wait(
        &format!("the tab to be {want}"),
        timeout,
        &format!("return window.__hermesPane && window.__hermesPane.role() === '{want}'"),
    )
    .await;
}

/// This tab's EventSource log: `(t, ±1)`.
pub async fn es_log(b: &Browser) -> Vec<(f64, i64)> {
    let v = b.js("return window.__esLog || []").await;
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| (e[0].as_f64().unwrap_or(0.0), e[1].as_i64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// The most chat EventSources open at once across the logs of every tab.
pub fn browser_wide_max(logs: &[Vec<(f64, i64)>]) -> i64 {
    let mut all: Vec<(f64, i64)> = logs.iter().flatten().copied().collect();
    // At one instant, closes count before opens (the scheduler closes before it opens).
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut max) = (0i64, 0i64);
    for (_, d) in all {
        open += d;
        max = max.max(open);
    }
    max
}

/// The longest any `/api/sessions` request of this tab waited before the browser sent it (ms:
/// Resource Timing's `requestStart - startTime`, the wait for a free connection, which is what
/// an exhausted per-origin pool makes grow without end; the backend's own time is not in it).
pub async fn connection_wait(b: &Browser) -> f64 {
    b.js(
        "return Math.max(0, ...performance.getEntriesByType('resource').filter(e => \
         e.name.endsWith('/api/sessions')).map(e => e.requestStart > 0 ? \
         e.requestStart - e.startTime : 0))",
    )
    .await
    .as_f64()
    .unwrap_or(f64::NAN)
}

/// The longest the backend took over any `/api/sessions` request of this tab, from sending it
/// to the last byte of its answer (ms: Resource Timing's `responseEnd - requestStart`; the wait
/// for a connection is not in it).
pub async fn slowest_answer(b: &Browser) -> f64 {
    b.js(
        "return Math.max(0, ...performance.getEntriesByType('resource').filter(e => \
         e.name.endsWith('/api/sessions') && e.requestStart > 0).map(e => e.responseEnd - \
         e.requestStart))",
    )
    .await
    .as_f64()
    .unwrap_or(f64::NAN)
}

/// The slowest `fetch('/api/sessions')` of this tab's loop so far (ms; -1 for a failure) and
/// how many answered.
pub async fn fetch_times(b: &Browser) -> (f64, usize) {
    let v: Value = b.js("return window.__fetchTimes || []").await;
    let times: Vec<f64> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let worst = if times.contains(&-1.0) {
        -1.0
    } else {
        times.iter().copied().fold(0.0, f64::max)
    };
    (worst, times.len())
}
