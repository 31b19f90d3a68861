//! `cargo xtask bench real`: the stock Hermes WebUI and the pane — embedded in Hermes'
//! `static/` and behind `pane-server --backend` — on the same real backend, with the same
//! seed (made through the API with the project's scripted model), back to back in one run.
//!
//! Each figure is defined so both UIs do the same work, measured in the page the same way: a
//! script installed before the document loads watches, at every animation frame, for the
//! element the figure waits on, and records `performance.now()` (time since the navigation
//! started) the frame it is there. Where the UIs cannot do the same work it is said: the stock UI
//! renders the last 30 messages of a session, the pane the window it loads (the backend's
//! `msg_limit`), so "open a session" waits for the session's last prompt in each.

use std::collections::BTreeMap;

use super::*;

/// The three UIs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ui {
    Stock,
    Embedded,
    Proxied,
}

impl Ui {
    fn name(self) -> &'static str {
        match self {
            Ui::Stock => "stock",
            Ui::Embedded => "pane embedded",
            Ui::Proxied => "pane proxied",
        }
    }

    /// The sidebar row of session `sid`.
    fn row(self, sid: &str) -> String {
        match self {
            Ui::Stock => format!("#sessionList .session-item[data-sid=\"{sid}\"]"),
            _ => format!("[data-testid=session-row][data-session-id=\"{sid}\"]"),
        }
    }

    /// The transcript of the session shown.
    fn transcript(self) -> &'static str {
        match self {
            Ui::Stock => "#msgInner",
            _ => ".pane:not(.hidden) [data-testid=transcript]",
        }
    }

    fn composer(self) -> &'static str {
        match self {
            Ui::Stock => "#msg",
            _ => ".pane:not(.hidden) [data-testid=composer-input]",
        }
    }

    /// The live reply's element.
    fn live(self) -> &'static str {
        match self {
            Ui::Stock => "#liveAssistantTurn",
            _ => ".pane:not(.hidden) [data-streaming]",
        }
    }
}

/// What was seeded: the sessions the figures use and each one's last prompt.
struct Seed {
    /// The newest session: its row is the "known row" of the load figures.
    known: String,
    short: Vec<String>,
    s20: String,
    s200: String,
    last: BTreeMap<String, String>,
}

async fn turn(api: &Server, sid: &str, text: &str) {
    api.start_turn(sid, text).await;
    api.wait_idle(sid, Duration::from_secs(120)).await;
}

/// A session with `turns` turns of prompts tagged `tag`; its id and last prompt.
async fn make(api: &Server, turns: usize, tag: &str) -> (String, String) {
    let sid = api.new_session().await;
    let mut text = String::new();
    for t in 0..turns {
        text = format!("{tag} prompt {t} [[tokens=6]] [[ttft=0]] [[delay=0]]");
        turn(api, &sid, &text).await;
    }
    (sid, text)
}

/// 24 sessions through the API: one of 200 messages, one of 20, 21 short ones, then the known
/// one (newest, so it is the top row in both UIs).
async fn seed(api: &Server) -> Seed {
    let mut last = BTreeMap::new();
    eprintln!("bench real: seeding 200 messages…");
    let (s200, t) = make(api, 100, "long").await;
    last.insert(s200.clone(), t);
    let (s20, t) = make(api, 10, "mid").await;
    last.insert(s20.clone(), t);
    eprintln!("bench real: seeding the short sessions…");
    let mut short = Vec::new();
    for i in 0..21 {
        let (s, t) = make(api, 1, &format!("short{i:02}")).await;
        last.insert(s.clone(), t);
        short.push(s);
    }
    let (known, t) = make(api, 1, "known").await;
    last.insert(known.clone(), t);
    Seed {
        known,
        short,
        s20,
        s200,
        last,
    }
}

/// Installed before a document loads: the start of the first frame that renders `selector`
/// (holding `text`). The check runs first in each frame (its requestAnimationFrame callback is
/// asked for a frame ahead); an element another callback of that frame puts in is rendered by
/// the same frame, which a MutationObserver catches (it would otherwise count a frame late).
/// The frame's callbacks are over when its resize observations are delivered (after layout).
fn watch_js(selector: &str, text: &str) -> String {
    format!(
        "(() => {{ const sel = {}, text = {}; let frame = null; \
         const found = () => {{ const e = document.querySelector(sel); \
         return e && (!text || e.textContent.includes(text)); }}; \
         const done = t => {{ if (window.__paintedAt === undefined) {{ \
         window.__paintedAt = t; obs.disconnect(); }} }}; \
         const obs = new MutationObserver(() => {{ \
         if (frame !== null && found()) done(frame); }}); \
         obs.observe(document, {{ childList: true, subtree: true, characterData: true, \
         attributes: true }}); \
         const check = () => {{ if (window.__paintedAt !== undefined) return; \
         frame = performance.now(); if (found()) return done(frame); \
         const root = document.documentElement; \
         if (root) {{ ro.unobserve(root); ro.observe(root); }} \
         requestAnimationFrame(check); }}; \
         const ro = new ResizeObserver(() => {{ frame = null; }}); \
         requestAnimationFrame(check); }})();",
        Value::from(selector),
        Value::from(text)
    )
}

/// Navigates to `url` and returns the ms from navigation start to the frame `selector` (with
/// `text`) is on screen.
async fn painted_at(b: &Browser, url: &str, selector: &str, text: &str) -> f64 {
    let id = b
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": watch_js(selector, text) }),
        )
        .await["identifier"]
        .clone();
    b.goto(url).await;
    let v = b
        .wait(
            &format!("{selector} painted"),
            Duration::from_secs(60),
            "return window.__paintedAt || null",
        )
        .await;
    b.cdp(
        "Page.removeScriptToEvaluateOnNewDocument",
        json!({ "identifier": id }),
    )
    .await;
    if std::env::var_os("BENCH_WATERFALL").is_some() {
        eprintln!("{}", waterfall(b, url).await);
    }
    v.as_f64().unwrap_or(f64::NAN)
}

/// `BENCH_WATERFALL=1`: the page's Resource Timing waterfall (ms since navigation start: the
/// request queued, sent, first byte, last byte; bytes on the wire, 0 from the cache), its
/// user-timing marks and the painted frame. Diagnostics for finding what a load waits on.
async fn waterfall(b: &Browser, url: &str) -> String {
    let js = "const f = x => x.toFixed(1); \
              const n = performance.getEntriesByType('navigation')[0]; \
              const rows = performance.getEntriesByType('resource').map(e => \
              `  ${f(e.startTime)} ${f(e.requestStart)} ${f(e.responseStart)} \
              ${f(e.responseEnd)} ${e.transferSize} ${e.name}`); \
              const marks = performance.getEntriesByType('mark').map(e => \
              `  mark ${e.name} ${f(e.startTime)}`); \
              return [`  document ${f(n.requestStart)} ${f(n.responseStart)} \
              ${f(n.responseEnd)} domcontentloaded ${f(n.domContentLoadedEventStart)}`, \
              ...rows, ...marks, `  painted ${window.__paintedAt}`].join('\\n')";
    let w = b.js(js).await;
    format!("waterfall {url}\n{}", w.as_str().unwrap_or(""))
}

/// What [`open_steps`] reads, in order: (label, the step it follows, if it took time after it).
const OPEN_STEPS: [(&str, Option<usize>); 10] = [
    ("the window asked (a `Link` hint or `boot.js`)", None),
    ("the wasm asked (the preload tag)", None),
    (
        "the wasm's last byte, from its ask (out of the cache, compiled as it streams)",
        Some(1),
    ),
    (
        "the window's last byte, from its ask (the backend)",
        Some(0),
    ),
    (
        "`main` runs, from the wasm's last byte (handed over, instantiated)",
        Some(2),
    ),
    ("the app mounted", Some(4)),
    ("the session's load task runs", Some(5)),
    (
        "its window taken from the early answer and decoded",
        Some(6),
    ),
    ("applied to the session and its projection", Some(7)),
    // The transcript's DOM is built after the mark, in the same task (the store's writes run
    // its views), so its cost is in this step.
    (
        "the frame that shows it (the DOM built, then laid out)",
        Some(8),
    ),
];

/// `BENCH_WATERFALL=1`, a pane's first open: when each step of [`OPEN_STEPS`] happened (ms since
/// navigation start; the pane's `pane-*` marks, `hermes_pane::mark`).
async fn open_steps(b: &Browser) -> Vec<f64> {
    let v = b
        .js("const r = performance.getEntriesByType('resource'); \
             const win = r.find(e => e.name.includes('api/session?')) || {}; \
             const wasm = r.find(e => e.name.includes('_bg.wasm')) || {}; \
             const m = n => (performance.getEntriesByName(n)[0] || {}).startTime; \
             return [win.startTime, wasm.startTime, wasm.responseEnd, win.responseEnd, \
               m('pane-main'), m('pane-mounted'), m('pane-load'), m('pane-window'), \
               m('pane-applied'), window.__paintedAt]")
        .await;
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

/// The medians of [`open_steps`] over a UI's first opens: when, and how long after the step
/// before it.
fn print_open_steps(ui: Ui, runs: &[Vec<f64>]) -> String {
    let median = |f: &dyn Fn(&[f64]) -> f64| {
        let v = runs
            .iter()
            .map(|r| f(r))
            .filter(|x| x.is_finite())
            .collect();
        percentile(&sorted(v), 50.0)
    };
    let mut out = format!(
        "bench real: {} — a first open, step by step (medians of {}; ms since navigation start; \
         ms it took, from the step before unless it says):",
        ui.name(),
        runs.len()
    );
    for (i, (label, after)) in OPEN_STEPS.iter().enumerate() {
        let step = |r: &[f64], k: usize| r.get(k).copied().unwrap_or(f64::NAN);
        let at = median(&|r| step(r, i));
        let took = after.map(|j| median(&|r| step(r, i) - step(r, j)));
        out += &format!(
            "\n  {at:6.1}  {}  {label}",
            took.map_or("      ".into(), |t| format!("{t:6.1}"))
        );
    }
    out
}

/// Clicks a sidebar row the way a person does (the stock rows answer pointer events only).
fn click_row_js(ui: Ui, sid: &str) -> String {
    match ui {
        Ui::Stock => format!(
            "const t = document.querySelector('{} .session-title'); const b = \
             t.getBoundingClientRect(); const o = {{ bubbles: true, cancelable: true, \
             pointerType: 'mouse', button: 0, buttons: 1, isPrimary: true, pointerId: 1, \
             clientX: b.left + 5, clientY: b.top + 5 }}; \
             t.dispatchEvent(new PointerEvent('pointerdown', o)); \
             t.dispatchEvent(new PointerEvent('pointerup', {{ ...o, buttons: 0 }}));",
            ui.row(sid)
        ),
        _ => format!(
            "document.querySelector('{} .row-main').click();",
            ui.row(sid)
        ),
    }
}

/// Switches to `sid` in the page and returns (ms from the click to its last prompt painted,
/// animation frames waited).
async fn switch_to(b: &Browser, ui: Ui, sid: &str, text: &str) -> (f64, f64) {
    let script = format!(
        "const done = arguments[0]; const t0 = performance.now(); {} let frames = 0; \
         const tick = () => {{ frames++; const e = document.querySelector({}); \
         if (e && e.textContent.includes({}) && (SHOWN_OK)) {{ done([performance.now() - t0, \
         frames]); return; }} if (performance.now() - t0 > 20000) {{ done([-1, frames]); \
         return; }} requestAnimationFrame(tick); }}; requestAnimationFrame(tick);",
        click_row_js(ui, sid),
        Value::from(ui.transcript()),
        Value::from(text),
    )
    .replace(
        "SHOWN_OK",
        &match ui {
            // The stock UI keeps one transcript: its turn must be this session's.
            Ui::Stock => format!(
                "document.querySelector('#msgInner .assistant-turn[data-session-id=\"{sid}\"]')"
            ),
            _ => format!(
                "document.querySelector('.pane:not(.hidden)')?.dataset.sessionId === '{sid}'"
            ),
        },
    );
    let v = b.js_async(&script).await;
    (
        v[0].as_f64().unwrap_or(f64::NAN),
        v[1].as_f64().unwrap_or(f64::NAN),
    )
}

/// Main-thread busy share and script time over three 3 s windows while something streams.
async fn busy_windows(b: &Browser) -> (Vec<f64>, f64, usize) {
    b.js(
        "window.__long = []; new PerformanceObserver(l => l.getEntries().forEach(e => \
         window.__long.push(e.duration))).observe({type: 'longtask'}); return true",
    )
    .await;
    b.cdp("Performance.enable", json!({"timeDomain": "timeTicks"}))
        .await;
    let get = |m: &Value, name: &str| {
        m["metrics"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name))
            .and_then(|x| x["value"].as_f64())
            .unwrap_or(0.0)
    };
    let m0 = b.cdp("Performance.getMetrics", json!({})).await;
    let (mut task0, mut ts0) = (get(&m0, "TaskDuration"), get(&m0, "Timestamp"));
    let script0 = get(&m0, "ScriptDuration");
    let mut busy = Vec::new();
    let mut script1 = script0;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let m = b.cdp("Performance.getMetrics", json!({})).await;
        let (task1, ts1) = (get(&m, "TaskDuration"), get(&m, "Timestamp"));
        script1 = get(&m, "ScriptDuration");
        busy.push(100.0 * (task1 - task0) / (ts1 - ts0));
        (task0, ts0) = (task1, ts1);
    }
    // Where the busy time went (the rest of it is paint, commit and the browser's own tasks).
    let m1 = b.cdp("Performance.getMetrics", json!({})).await;
    let span = get(&m1, "Timestamp") - get(&m0, "Timestamp");
    let share = |name: &str| 100.0 * (get(&m1, name) - get(&m0, name)) / span;
    eprintln!(
        "bench real:   busy {:.1} % = script {:.1} + layout {:.1} ({:.0} a second) + style {:.1} \
         + the rest",
        share("TaskDuration"),
        share("ScriptDuration"),
        share("LayoutDuration"),
        (get(&m1, "LayoutCount") - get(&m0, "LayoutCount")) / span,
        share("RecalcStyleDuration"),
    );
    let long = b
        .js("return window.__long.length")
        .await
        .as_u64()
        .unwrap_or(0) as usize;
    (busy, script1 - script0, long)
}

/// Cold loads (each in a new browser) and warm reloads per UI: the cold figure is the noisiest,
/// and its median moved by ±0.05× between runs of 5.
const COLD_LOADS: usize = 9;

/// First opens per session and UI: 3 until the fifth step, whose medians moved by ±0.03× between
/// runs of 3.
const OPENS: usize = 9;

/// 900 tokens at 50 tok/s.
const PACE: &str = "[[tokens=900]] [[delay=20]] [[ttft=0]]";

/// Sends `text` in the shown session and measures the main thread while its reply streams
/// (see [`busy_windows`]); returns once the reply has ended.
async fn streamed(b: &Browser, ui: Ui, text: &str) -> (Vec<f64>, f64, usize) {
    type_and_send(b, ui, text).await;
    b.wait(
        "the live reply",
        Duration::from_secs(60),
        &format!("return document.querySelector('{}') !== null", ui.live()),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let profile = start_profile(b).await;
    let figures = busy_windows(b).await;
    if profile {
        stop_profile(b, &format!("{} streaming", ui.name())).await;
    }
    b.wait(
        "the reply's end",
        Duration::from_secs(90),
        &format!("return document.querySelector('{}') === null", ui.live()),
    )
    .await;
    figures
}

/// Types `text` into the shown composer and sends it.
async fn type_and_send(b: &Browser, ui: Ui, text: &str) {
    b.type_into(ui.composer(), text).await;
    b.type_into(ui.composer(), "\u{E007}").await;
}

/// The figures of one UI.
#[derive(Default)]
struct Figures {
    cold: Vec<f64>,
    warm: Vec<f64>,
    open20: Vec<f64>,
    open200: Vec<f64>,
    switch_back: Vec<f64>,
    switch_frames: Vec<f64>,
    busy1: Vec<f64>,
    busy3: Vec<f64>,
    script3: Vec<f64>,
    long: usize,
    bytes: Vec<f64>,
    encodings: BTreeMap<String, (usize, f64)>,
    /// Responses at cold load by path (no query): how many, bytes.
    paths: BTreeMap<String, (usize, f64)>,
}

/// Per content encoding (or path): how many responses, how many bytes.
type Tally = BTreeMap<String, (usize, f64)>;

/// The bytes a cold load of a page on `origin` moved, by content encoding and by path. Only
/// the page's origin counts: a fresh Chromium profile also loads its own new-tab page
/// (`chrome://`, ~600 KB) before the first navigation.
fn wire(log: &[(String, Value)], origin: &str) -> (f64, Tally, Tally) {
    let mut enc: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut total = 0.0;
    let (mut by, mut paths) = (Tally::new(), Tally::new());
    for (m, p) in log {
        if m == "Network.responseReceived" {
            let h = &p["response"]["headers"];
            let e = ["Content-Encoding", "content-encoding"]
                .iter()
                .find_map(|k| h[*k].as_str())
                .unwrap_or("identity")
                .to_string();
            let url = p["response"]["url"].as_str().unwrap_or("");
            if !url.starts_with(origin) {
                continue;
            }
            let path = url.split('?').next().unwrap_or("");
            let path = path.splitn(4, '/').nth(3).unwrap_or(path).to_string();
            enc.insert(p["requestId"].as_str().unwrap_or("").to_string(), (e, path));
        }
    }
    for (m, p) in log {
        if m == "Network.loadingFinished" {
            let n = p["encodedDataLength"].as_f64().unwrap_or(0.0);
            let Some((e, path)) = enc.get(p["requestId"].as_str().unwrap_or("")).cloned() else {
                continue;
            };
            total += n;
            for (tally, key) in [(&mut by, e), (&mut paths, path)] {
                let slot = tally.entry(key).or_default();
                slot.0 += 1;
                slot.1 += n;
            }
        }
    }
    (total, by, paths)
}

/// Writes the trace of the first open just measured to
/// `target/bench/traces/<ui>-<20|200>-<n>.json` (open it in Perfetto or DevTools).
async fn write_trace(b: &Browser, ui: Ui, n: usize, s20: bool) {
    // The frame the figure waits for is committed a little after it starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = b.trace_events().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/traces");
    let _ = std::fs::create_dir_all(&dir);
    let key = ui.name().rsplit(' ').next().unwrap_or("ui");
    let file = dir.join(format!("{key}-{}-{n}.json", if s20 { 20 } else { 200 }));
    let _ = std::fs::write(&file, json!({ "traceEvents": events }).to_string());
}

/// Whether this run measures `part` (loads, opens, switch, stream) of each UI: all of them
/// unless `BENCH_REAL_PARTS` (a comma list) says which — for working on one figure; the others
/// show "–".
fn part(part: &str) -> bool {
    std::env::var("BENCH_REAL_PARTS").map_or(true, |v| v.split(',').any(|p| p.trim() == part))
}

/// Whether this run measures `ui`: all three unless `BENCH_REAL_UIS` (a comma list of stock,
/// embedded, proxied) says which.
fn wanted(ui: Ui) -> bool {
    let key = ui.name().rsplit(' ').next().unwrap_or("");
    std::env::var("BENCH_REAL_UIS").map_or(true, |v| v.split(',').any(|u| u.trim() == key))
}

async fn measure(
    api: &Server,
    ui: Ui,
    start: &str,
    session_url: &dyn Fn(&str) -> String,
    seed: &Seed,
) -> Figures {
    let mut f = Figures::default();
    if !wanted(ui) {
        return f;
    }
    let known_row = ui.row(&seed.known);
    eprintln!("bench real: {} — loads…", ui.name());
    for _ in 0..if part("loads") { COLD_LOADS } else { 0 } {
        // Cold: a fresh browser profile (no HTTP cache, no service worker).
        let (b, driver) = Browser::start_with_network_log(&[]).await;
        b.cdp("Network.enable", json!({})).await;
        f.cold.push(painted_at(&b, start, &known_row, "").await);
        // Let the page finish what it loads at start, then count its bytes.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let origin = start.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        let (bytes, by, paths) = wire(&b.network_log().await, &origin);
        f.bytes.push(bytes);
        f.encodings = by;
        f.paths = paths;
        // Warm: the same page again, its cache warm.
        f.warm.push(painted_at(&b, start, &known_row, "").await);
        let _ = b.client.clone().close().await;
        drop(driver);
    }
    // `BENCH_TRACE=1`: Chromium records a trace, and each first open is written out.
    let tracing = std::env::var_os("BENCH_TRACE").is_some();
    let (b, driver) = if tracing {
        Browser::start_with_network_log(&[]).await
    } else {
        Browser::start().await
    };
    // Warm the cache once, then open each session as a fresh page.
    painted_at(&b, start, &known_row, "").await;
    eprintln!("bench real: {} — first opens and switches…", ui.name());
    let mut steps = Vec::new();
    for _ in 0..if part("opens") { OPENS } else { 0 } {
        for (sid, out) in [(&seed.s20, &mut f.open20), (&seed.s200, &mut f.open200)] {
            let text = seed.last[sid].clone();
            if tracing {
                b.trace_events().await; // what came before this open
            }
            out.push(painted_at(&b, &session_url(sid), ui.transcript(), &text).await);
            if tracing {
                write_trace(&b, ui, out.len(), sid == &seed.s20).await;
            }
            if ui != Ui::Stock && std::env::var_os("BENCH_WATERFALL").is_some() {
                steps.push(open_steps(&b).await);
            }
        }
    }
    if !steps.is_empty() {
        eprintln!("{}", print_open_steps(ui, &steps));
    }
    // Switching back: the 20-message session is open; go to a short one and back.
    painted_at(
        &b,
        &session_url(&seed.s20),
        ui.transcript(),
        &seed.last[&seed.s20],
    )
    .await;
    for i in 0..if part("switch") { 8 } else { 0 } {
        let other = &seed.short[i % seed.short.len()];
        b.wait(
            "the other row",
            Duration::from_secs(30),
            &format!(
                "return document.querySelector('{}') !== null",
                ui.row(other)
            ),
        )
        .await;
        switch_to(&b, ui, other, &seed.last[other]).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (ms, frames) = switch_to(&b, ui, &seed.s20, &seed.last[&seed.s20]).await;
        f.switch_back.push(ms);
        f.switch_frames.push(frames);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if !part("stream") {
        let _ = b.client.clone().close().await;
        drop(driver);
        return f;
    }
    // One turn streaming at 50 tok/s in the shown session.
    eprintln!("bench real: {} — streaming…", ui.name());
    let shown = &seed.short[0];
    painted_at(&b, &session_url(shown), ui.transcript(), &seed.last[shown]).await;
    let n = ui as usize;
    let (busy, _, long1) = streamed(&b, ui, &format!("bench stream {n} {PACE}")).await;
    f.busy1 = busy;
    // Three turns: two in other sessions (through the API, as other tabs would), one shown.
    for s in [&seed.short[1], &seed.short[2]] {
        api.start_turn(s, &format!("bench bg {n} {PACE}")).await;
    }
    let (busy, script, long3) = streamed(&b, ui, &format!("bench three {n} {PACE}")).await;
    f.busy3 = busy;
    f.script3 = vec![script];
    f.long = long1 + long3;
    for s in [&seed.short[0], &seed.short[1], &seed.short[2]] {
        api.wait_idle(s, Duration::from_secs(120)).await;
    }
    let _ = b.client.clone().close().await;
    drop(driver);
    f
}

/// Runs the comparison; adds the figures and returns the markdown table.
pub(crate) async fn real(figs: &mut Vec<Figure>) -> String {
    let api = Server::start_on(Backend::RealEmbedded, ServerOpts::default()).await;
    let seed = seed(&api).await;
    let real = api.real().expect("a real backend").clone();
    let proxy = Server::start_on(
        Backend::RealProxy,
        ServerOpts {
            dist: ship_dist(),
            ..ServerOpts::default()
        },
    )
    .await;
    let stock_start = format!("{}/", real.url);
    let embedded = api.url();
    let proxied = proxy.url();
    let mut all: Vec<(Ui, Figures)> = Vec::new();
    let stock_url = |sid: &str| format!("{}/session/{sid}", real.url);
    all.push((
        Ui::Stock,
        measure(&api, Ui::Stock, &stock_start, &stock_url, &seed).await,
    ));
    let emb_url = |sid: &str| api.session_url(sid);
    all.push((
        Ui::Embedded,
        measure(&api, Ui::Embedded, &embedded, &emb_url, &seed).await,
    ));
    let prox_url = |sid: &str| proxy.session_url(sid);
    all.push((
        Ui::Proxied,
        measure(&api, Ui::Proxied, &proxied, &prox_url, &seed).await,
    ));

    type Pick = fn(&Figures) -> &Vec<f64>;
    let rows: [(&str, &str, Pick); 9] = [
        ("cold load → the known row painted", "ms", |f| &f.cold),
        ("warm reload → the row painted", "ms", |f| &f.warm),
        ("first open, 20 messages (fresh page)", "ms", |f| &f.open20),
        ("first open, 200 messages (fresh page)", "ms", |f| {
            &f.open200
        }),
        ("switch back to an open session", "ms", |f| &f.switch_back),
        (
            "switch back: animation frames until painted",
            "frames",
            |f| &f.switch_frames,
        ),
        ("1 turn at 50 tok/s: main-thread busy", "%", |f| &f.busy1),
        ("3 turns at 50 tok/s: main-thread busy", "%", |f| &f.busy3),
        ("bytes on the wire, cold load", "B", |f| &f.bytes),
    ];
    let med = |v: &Vec<f64>| {
        let s = sorted(v.clone());
        (percentile(&s, 50.0), percentile(&s, 95.0))
    };
    let mut md = String::from(
        "### Against the stock UI on the real backend (`cargo xtask bench real`)\n\n\
         | figure (median / p95) | stock | pane embedded | pane proxied | pane ÷ stock (median) |\n\
         | --- | ---: | ---: | ---: | --- |\n",
    );
    for (name, unit, pick) in rows {
        let s = med(pick(&all[0].1));
        let e = med(pick(&all[1].1));
        let p = med(pick(&all[2].1));
        md.push_str(&format!(
            "| {name} ({unit}) | {} / {} | {} / {} | {} / {} | {} – {} |\n",
            fmt(s.0),
            fmt(s.1),
            fmt(e.0),
            fmt(e.1),
            fmt(p.0),
            fmt(p.1),
            fmt2(e.0 / s.0),
            fmt2(p.0 / s.0)
        ));
        for (ui, f) in &all {
            figs.push(fig(
                "real",
                format!("{name}: {}", ui.name()),
                unit,
                pick(f).clone(),
                None,
                "the real Hermes WebUI, same seed and machine, one run",
            ));
        }
    }
    let script = |f: &Figures| f.script3.first().copied().unwrap_or(f64::NAN);
    md.push_str(&format!(
        "| 3 turns: script time in the 9 s window (s) | {} | {} | {} | {} – {} |\n",
        fmt2(script(&all[0].1)),
        fmt2(script(&all[1].1)),
        fmt2(script(&all[2].1)),
        fmt2(script(&all[1].1) / script(&all[0].1)),
        fmt2(script(&all[2].1) / script(&all[0].1)),
    ));
    md.push_str(&format!(
        "| long tasks (> 50 ms) while streaming | {} | {} | {} | |\n\n",
        all[0].1.long, all[1].1.long, all[2].1.long
    ));
    md.push_str("Encodings at cold load (responses, bytes):\n\n");
    for (ui, f) in &all {
        let list: Vec<String> = f
            .encodings
            .iter()
            .map(|(e, (n, b))| format!("{e}: {n} responses, {} B", *b as u64))
            .collect();
        md.push_str(&format!("- {}: {}\n", ui.name(), list.join("; ")));
    }
    md.push_str("\nThe largest paths at cold load (responses, bytes):\n\n");
    for (ui, f) in &all {
        let mut top: Vec<_> = f.paths.iter().collect();
        top.sort_by(|a, b| {
            b.1 .1
                .partial_cmp(&a.1 .1)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let list: Vec<String> = top
            .iter()
            .take(8)
            .map(|(p, (n, b))| format!("`{p}` {n}× {} B", *b as u64))
            .collect();
        md.push_str(&format!("- {}: {}\n", ui.name(), list.join("; ")));
    }
    md.push('\n');
    md
}

fn fmt2(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}
