//! What the agent produces, shown: images and media from the backend, math as MathML, the plan,
//! the context meter and a turn's cost. Shared by both backends.

use super::*;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0,
    0, 0, 31, 21, 196, 137, 0, 0, 0, 13, 73, 68, 65, 84, 120, 218, 99, 252, 207, 192, 80, 15, 0, 4,
    133, 1, 128, 132, 169, 140, 33, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// A directory under `/tmp` (a place both backends serve media from), made fresh.
fn media_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(format!("/tmp/pane-media-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("media dir");
    dir
}

/// Where the backend keeps its own state (never served as media).
fn state_dir(server: &Server) -> std::path::PathBuf {
    match server.workspace() {
        Some(w) => w
            .parent()
            .expect("the instance's folder")
            .join("state/sessions"),
        None => server.data.join("sessions"),
    }
}

/// Every resource the page fetched from another origin (none may be).
const OFF_ORIGIN_JS: &str = "return performance.getEntriesByType('resource').map(e => e.name)\
    .filter(n => !n.startsWith(location.origin) && !n.startsWith('data:'))";

pub async fn images_and_media_show_from_the_backend_and_nothing_loads_off_origin(
    server: Server,
    b: Browser,
) {
    let dir = media_dir("img");
    let chart = dir.join("chart.png");
    std::fs::write(&chart, PNG).expect("the picture");
    let refused = state_dir(&server).join("pane-secret.png");
    std::fs::create_dir_all(refused.parent().unwrap()).expect("state dir");
    std::fs::write(&refused, PNG).expect("a picture in the backend's state");
    let missing = dir.join("missing.png");
    let chart = chart.display();
    let reply = format!(
        "Here is the chart: MEDIA:{chart}\n\n\
         ![the inline chart]({chart})\n\n\
         Gone: MEDIA:{}\n\n\
         Refused: MEDIA:{}\n\n\
         Remote: ![tracker](https://evil.example/pixel.png)\n\n\
         Script: ![x](javascript:window.__pwned=1)\n\n\
         SVG: ![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9J3dpbmRvdy5fX3B3bmVkPTEnLz4=)\n\n\
         Done.",
        missing.display(),
        refused.display()
    );
    open_app(&b, &server.url()).await;
    // Through the API: typed into the composer, a newline would send the message.
    let sid = new_session(&b).await;
    server
        .start_turn(&sid, &format!("[[echo]] [[ttft=0]] [[delay=1]]\n{reply}"))
        .await;
    server.wait_idle(&sid, T).await;
    b.wait(
        "the reply settled with its pictures",
        T,
        &format!(
            "const m = [...document.querySelectorAll('{SHOWN} [data-role=assistant]:not(.live)')]\
             .pop(); return !!m && m.textContent.includes('Done.') && \
             m.querySelectorAll('img[data-testid=media-image]').length >= 2"
        ),
    )
    .await;
    // The two references to the chart loaded from this origin, through api/media.
    b.wait(
        "the chart loaded",
        T,
        &format!(
            "const imgs = [...document.querySelectorAll('{SHOWN} [data-role=assistant] \
             img[data-testid=media-image]')]; return imgs.length === 2 && imgs.every(i => \
             i.complete && i.naturalWidth === 1 && new URL(i.src).origin === location.origin \
             && i.src.includes('api/media?path=') && i.src.includes('session_id='))"
        ),
    )
    .await;
    let alt = b
        .js(&format!(
            "return [...document.querySelectorAll('{SHOWN} [data-role=assistant] \
             img[data-testid=media-image]')].map(i => i.alt)"
        ))
        .await;
    assert!(
        alt.to_string().contains("the inline chart") && alt.to_string().contains("chart.png"),
        "{alt}"
    );
    // A click opens the full size: the picture is a link to itself, in a new tab.
    let link = b
        .js(&format!(
            "const a = document.querySelector('{SHOWN} [data-role=assistant] a.media-open'); \
             return a && [a.target, a.href === a.querySelector('img').src]"
        ))
        .await;
    assert_eq!(link, json!(["_blank", true]));
    // What the backend would not serve is a clear placeholder naming it.
    b.wait(
        "two placeholders (gone, refused)",
        T,
        &format!(
            "const p = [...document.querySelectorAll('{SHOWN} [data-testid=media-broken]')]\
             .map(e => e.textContent); return p.length === 2 && p.some(t => \
             t.includes('missing.png')) && p.some(t => t.includes('pane-secret.png'))"
        ),
    )
    .await;
    // The off-origin picture is a link, never fetched; script and SVG are text.
    let checks = b
        .js(&format!(
            "const m = document.querySelector('{SHOWN} [data-role=assistant]:not(.live)'); \
             return {{ remote: !!m.querySelector('a.image-link[href=\"https://evil.example/\
             pixel.png\"]'), imgs: [...m.querySelectorAll('img')].map(i => i.src)\
             .filter(s => !s.startsWith(location.origin)), pwned: window.__pwned === undefined \
             ? null : window.__pwned, text: m.textContent }}"
        ))
        .await;
    assert_eq!(checks["remote"], true, "{checks}");
    assert_eq!(checks["imgs"], json!([]), "{checks}");
    assert_eq!(checks["pwned"], Value::Null, "{checks}");
    assert!(
        checks["text"].as_str().unwrap().contains("[image: svg]"),
        "{checks}"
    );
    let off = b.js(OFF_ORIGIN_JS).await;
    assert_eq!(off, json!([]), "nothing is fetched off-origin");
    // After a reload (the saved transcript) the same.
    b.js("location.reload(); return true").await;
    open_app(&b, &server.session_url(&sid)).await;
    b.wait(
        "the chart after a reload",
        T,
        &format!(
            "const imgs = [...document.querySelectorAll('{SHOWN} img[data-testid=media-image]')]; \
             return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth === 1)"
        ),
    )
    .await;
    assert_eq!(b.js(OFF_ORIGIN_JS).await, json!([]));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&refused);
}

pub async fn math_renders_as_mathml_and_invalid_math_shows_its_source(server: Server, b: Browser) {
    let reply = "Inline $x^2 + y^2 = z^2$ and \\(\\alpha + \\beta\\).\n\n\
         $$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$\n\n\
         \\[\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}\\]\n\n\
         Money: it costs $5 and $10.\n\n\
         Broken: $\\frac{a$ stays.\n\n\
         Hostile: $\\operatorname{<img src=x onerror=window.__pwned=1>} x$\n\n\
         `$code$` is code.\n\n\
         ```mermaid\ngraph TD; A-->B\n```\n\nEnd.";
    open_app(&b, &server.url()).await;
    // Through the API: typed into the composer, a newline would send the message.
    let sid = new_session(&b).await;
    server
        .start_turn(&sid, &format!("[[echo]] [[ttft=0]] [[delay=15]]\n{reply}"))
        .await;
    server.wait_idle(&sid, T).await;
    let last =
        format!("[...document.querySelectorAll('{SHOWN} [data-role=assistant]:not(.live)')].pop()");
    b.wait(
        "the formulas as MathML",
        T,
        &format!(
            "const m = {last}; return !!m && m.textContent.includes('End.') && \
             m.querySelectorAll('[data-testid=math] math').length === 4"
        ),
    )
    .await;
    let checks = b
        .js(&format!(
            "const m = {last}; return {{ \
             display: m.querySelectorAll('.math.display math').length, \
             table: !!m.querySelector('math mtable'), frac: !!m.querySelector('math mfrac'), \
             text: m.textContent, code: [...m.querySelectorAll('code')].map(c => c.textContent), \
             imgs: m.querySelectorAll('img').length, \
             pwned: window.__pwned === undefined ? null : window.__pwned, \
             height: m.querySelector('.math.display math').getBoundingClientRect().height }}"
        ))
        .await;
    assert_eq!(checks["display"], 2, "{checks}");
    assert_eq!(checks["table"], true, "{checks}");
    assert_eq!(checks["frac"], true, "{checks}");
    assert!(
        checks["height"].as_f64().unwrap() > 20.0,
        "the browser lays MathML out (a display sum is taller than a line): {checks}"
    );
    let text = checks["text"].as_str().unwrap();
    assert!(
        text.contains("it costs $5 and $10"),
        "amounts stay text: {checks}"
    );
    // Unbalanced: not a formula to the parser, so its source shows as plain text.
    assert!(
        text.contains("Broken: $\\frac{a$ stays."),
        "invalid math shows its source: {checks}"
    );
    let code = checks["code"].to_string();
    assert!(code.contains("$code$"), "code is code: {checks}");
    assert!(
        code.contains("operatorname"),
        "hostile math shows its source: {checks}"
    );
    assert_eq!(checks["imgs"], 0, "{checks}");
    assert_eq!(checks["pwned"], Value::Null, "{checks}");
    // A diagram: its source, named, with a copy button.
    let diagram = b
        .js(&format!(
            "const c = [...{last}.querySelectorAll('.code-block')].find(c => \
             c.querySelector('.code-lang').textContent.startsWith('mermaid')); \
             return c && [c.querySelector('.code-lang').textContent, \
             !!c.querySelector('[data-testid=copy-code]'), c.querySelector('pre').textContent]"
        ))
        .await;
    assert_eq!(
        diagram,
        json!(["mermaid · diagram source", true, "graph TD; A-->B\n"]),
        "{diagram}"
    );
}

pub async fn the_plan_shows_live_and_after_a_reload(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let sid = start(
        &b,
        "plan it [[todo:Read the code=completed|Write the fix=in_progress|Run the tests]] \
         [[tool:sleep 3]] [[tokens=2]] [[ttft=0]]",
    )
    .await;
    let plan = format!(
        "const p = document.querySelector('{SHOWN} [data-testid=plan]'); if (!p) return null; \
         return {{ summary: p.querySelector('[data-testid=plan-summary]').textContent, \
         items: [...p.querySelectorAll('[data-testid=plan-item]')].map(i => \
         [i.dataset.status, i.textContent]) }}"
    );
    // Live: shown while the turn still runs (the sleep comes after the plan).
    let live = b.wait("the plan while the turn runs", T, &plan).await;
    let busy = b
        .js(&format!(
            "return document.querySelector('{SHOWN} [data-testid=pane-status]').dataset.status"
        ))
        .await;
    assert_eq!(busy, "busy", "the plan showed before the turn ended");
    let check = |v: &Value| {
        assert!(
            v["summary"].as_str().unwrap().contains("1/3 done")
                && v["summary"].as_str().unwrap().contains("Write the fix"),
            "{v}"
        );
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{v}");
        assert_eq!(items[0][0], "completed");
        assert_eq!(items[1][0], "in_progress");
        assert_eq!(items[2][0], "pending");
        assert!(
            items[2][1].as_str().unwrap().contains("Run the tests"),
            "{v}"
        );
    };
    check(&live);
    server.wait_idle(&sid, T).await;
    // After a reload: from the saved session.
    b.js("location.reload(); return true").await;
    open_app(&b, &server.session_url(&sid)).await;
    let after = b.wait("the plan after a reload", T, &plan).await;
    check(&after);
}

pub async fn the_context_meter_and_a_turns_cost_show_in_the_header(server: Server, b: Browser) {
    open_app(&b, &server.url()).await;
    let sid = start(&b, "measure [[tokens=3]] [[ttft=0]] [[cost=0.0123]]").await;
    wait_reply(&b, &expected_tokens(3)).await;
    server.wait_idle(&sid, T).await;
    let saved = server
        .get(&format!("api/session?session_id={sid}&messages=0"))
        .await;
    let window = saved["session"]["context_length"].as_f64().unwrap_or(0.0);
    let prompt = saved["session"]["last_prompt_tokens"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        window > 0.0 && prompt > 0.0,
        "the backend reports the context: {saved}"
    );
    let want = ((prompt / window * 100.0).round() as u64).min(100);
    let meter = b
        .wait(
            "the context meter",
            T,
            &format!(
                "const m = document.querySelector('{SHOWN} [data-testid=context-meter]'); \
                 return m && [m.dataset.percent, m.title, m.querySelector('meter').value]"
            ),
        )
        .await;
    assert_eq!(meter[0], want.to_string(), "{meter}");
    assert!(
        meter[1].as_str().unwrap().starts_with("Context "),
        "{meter}"
    );
    assert_eq!(meter[2].as_f64(), Some(want as f64), "{meter}");
    // A turn's cost, where the backend prices it (the stand-in's `[[cost=…]]`; the real
    // backend's custom provider has no price, so its turns show none).
    let usage = b
        .js(&format!(
            "return [...document.querySelectorAll('{SHOWN} [data-role=assistant]:not(.live)')]\
             .pop().textContent"
        ))
        .await;
    let priced = saved["session"]["estimated_cost"].as_f64().unwrap_or(0.0) > 0.0;
    assert_eq!(
        usage.as_str().unwrap().contains("~$0.01"),
        priced,
        "the turn shows its cost exactly when the backend gives one: {usage} / {saved}"
    );
    // A reload keeps the meter (from the saved session).
    b.js("location.reload(); return true").await;
    open_app(&b, &server.session_url(&sid)).await;
    let again = b
        .wait(
            "the meter after a reload",
            T,
            &format!(
                "const m = document.querySelector('{SHOWN} [data-testid=context-meter]'); \
                 return m && m.dataset.percent"
            ),
        )
        .await;
    assert_eq!(again, want.to_string());
}

/// Installed before the pane boots: records every notification it shows (title, body, tag,
/// the object, to click it).
const NOTES_JS: &str = r#"(() => {
  const Native = window.Notification;
  if (!Native) return;
  window.__notes = [];
  class Recorded extends Native {
    constructor(title, opts) {
      super(title, opts);
      window.__notes.push({ title, body: opts && opts.body, tag: opts && opts.tag, n: this });
    }
  }
  window.Notification = Recorded;
})();"#;

const NOTES: &str = "return (window.__notes || []).map(n => [n.title, n.body, n.tag])";

pub async fn notifications_tell_of_background_sessions_and_a_click_shows_the_session(
    server: Server,
    b: Browser,
) {
    let origin = url::Url::parse(&server.url())
        .expect("the pane's URL")
        .origin()
        .ascii_serialization();
    b.cdp(
        "Browser.grantPermissions",
        json!({"permissions": ["notifications"], "origin": origin}),
    )
    .await;
    pane_e2e::tabs::instrument(&b, Some(NOTES_JS)).await;
    // Off to begin with (the real backend is shared by the scenarios of a run).
    server
        .post("api/settings", json!({"notifications_enabled": false}))
        .await;
    open_app(&b, &server.url()).await;
    // Notifications on, from the settings, with the keyboard.
    press_enter_on(&b, "[data-testid=settings-toggle]").await;
    b.wait(
        "the notifications switch",
        T,
        "return document.querySelector('[data-testid=setting-notifications]') !== null",
    )
    .await;
    b.js("document.querySelector('[data-testid=setting-notifications]').focus(); return true")
        .await;
    b.client
        .active_element()
        .await
        .expect("the switch")
        .send_keys("\u{E00D}")
        .await
        .expect("Space");
    let deadline = Instant::now() + T;
    while server.get("api/settings").await["notifications_enabled"] != true {
        assert!(
            Instant::now() < deadline,
            "the backend saved notifications_enabled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A reply finishes in a session the person is not looking at.
    let a = start(&b, "background work [[tokens=30]] [[delay=60]] [[ttft=0]]").await;
    new_session(&b).await;
    server.wait_idle(&a, T).await;
    let notes = b
        .wait(
            "a notification for the finished reply",
            T,
            &format!("const n = (() => {{ {NOTES} }})(); return n.length ? n : null"),
        )
        .await;
    let a_title = b
        .js(&format!(
            "return document.querySelector('{} [data-testid=row-title]').textContent",
            row(&a)
        ))
        .await;
    let a_title = a_title.as_str().unwrap().to_string();
    assert_eq!(
        notes.as_array().unwrap().len(),
        1,
        "one, not one per token: {notes}"
    );
    assert_eq!(
        notes[0][0],
        format!("Reply finished — {a_title}"),
        "{notes}"
    );
    assert!(
        notes[0][1].as_str().unwrap().starts_with("tok1 tok2"),
        "{notes}"
    );
    assert_eq!(notes[0][2], format!("hermes-pane-{a}"));
    // The tab's title counts it.
    let title = b
        .wait(
            "the tab title's count",
            T,
            "return document.title.startsWith('(1) ') && document.title",
        )
        .await;
    assert!(title.as_str().unwrap().contains("Hermes"), "{title}");
    // A click on it shows that session.
    b.js("window.__notes[0].n.dispatchEvent(new Event('click')); return true")
        .await;
    b.wait(
        "the session shown",
        T,
        &format!("return document.querySelector('{SHOWN}')?.dataset.sessionId === '{a}'"),
    )
    .await;
    b.wait(
        "no count once seen",
        T,
        "return !document.title.startsWith('(')",
    )
    .await;
    // A session waits on the person while another is shown: told too.
    new_session(&b).await;
    server
        .start_turn(&a, "[[tool:rm -rf ./pane-notify-dir]] [[ttft=0]]")
        .await;
    let notes = b
        .wait(
            "a notification for the approval",
            T,
            &format!("const n = (() => {{ {NOTES} }})(); return n.length > 1 ? n : null"),
        )
        .await;
    assert!(
        notes[1][0]
            .as_str()
            .unwrap()
            .starts_with("Approval needed — "),
        "{notes}"
    );
    assert!(notes[1][1].as_str().unwrap().contains("rm -rf"), "{notes}");
    // Answer it so the turn ends.
    show(&b, &a).await;
    b.click(&format!("{SHOWN} [data-testid=approve-deny]"))
        .await;
    server.wait_idle(&a, T).await;
}

/// Keys sent to the focused element.
async fn press(b: &Browser, keys: &str) {
    b.client
        .active_element()
        .await
        .expect("the focused element")
        .send_keys(keys)
        .await
        .expect("keys");
}

/// axe-core's serious and critical violations on the page as it is now (`what` names it).
async fn axe_check(b: &Browser, what: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/node_modules/axe-core/axe.min.js");
    let src = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (cargo xtask setup installs it)", path.display()));
    if b.js("return typeof window.axe").await != "object" {
        b.js(&format!("{src}\n;return true")).await;
    }
    let found = b
        .js_async(
            "const done = arguments[0]; axe.run(document, { resultTypes: ['violations'] })\
             .then(r => done(r.violations.filter(v => v.impact === 'serious' || \
             v.impact === 'critical').map(v => ({ id: v.id, impact: v.impact, help: v.help, \
             nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' — ' + \
             n.failureSummary) })))).catch(e => done({ error: String(e) }))",
        )
        .await;
    assert_eq!(found, json!([]), "axe on {what}: {found:#}");
}

pub async fn the_pane_is_accessible_announces_once_and_its_help_keeps_focus(
    server: Server,
    b: Browser,
) {
    open_app(&b, &server.url()).await;
    axe_check(&b, "the start page").await;
    // Every change of the two live regions, as a screen reader would get them.
    b.js("window.__said = { status: [], urgent: [] }; \
         for (const [k, id] of [['status', 'announcer'], ['urgent', 'announcer-urgent']]) { \
           const el = document.querySelector(`[data-testid=${id}]`); \
           new MutationObserver(() => { const t = el.textContent.replace(/\\u200b/g, ''); \
             if (t) window.__said[k].push(t); }).observe(el, \
             { childList: true, subtree: true, characterData: true }); } return true")
        .await;
    let a = start(&b, "with a tool [[tool:echo hi]] [[tokens=3]] [[ttft=0]]").await;
    b.wait(
        "the tool card done",
        T,
        &format!(
            "return document.querySelector('{SHOWN} [data-testid=tool-card][data-status=done]') \
             !== null"
        ),
    )
    .await;
    server.wait_idle(&a, T).await;
    let reply = settled_reply(&b).await;
    assert!(reply.contains("tok3"), "{reply}");
    axe_check(&b, "a session with a tool card").await;
    // Another session waits on the person while this one is shown... then shown itself.
    let other = new_session(&b).await;
    server
        .start_turn(&other, "[[tool:rm -rf ./a11y-dir]] [[ttft=0]]")
        .await;
    show(&b, &a).await;
    b.wait(
        "the urgent announcement",
        T,
        "return window.__said.urgent.length > 0",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let said = b.js("return window.__said").await;
    let urgent = said["urgent"].as_array().unwrap();
    assert_eq!(urgent.len(), 1, "said once: {said}");
    assert!(
        urgent[0].as_str().unwrap().contains("needs your approval")
            && urgent[0].as_str().unwrap().contains("rm -rf"),
        "{said}"
    );
    let finished = said["status"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t.as_str().unwrap().contains("Reply finished"))
        .count();
    assert_eq!(finished, 1, "one finished reply, said once: {said}");
    show(&b, &other).await;
    b.wait(
        "the approval card",
        T,
        &format!("return document.querySelector('{SHOWN} [data-testid=approval-card]') !== null"),
    )
    .await;
    axe_check(&b, "an approval").await;
    b.click(&format!("{SHOWN} [data-testid=approve-deny]"))
        .await;
    server.wait_idle(&other, T).await;
    // The shortcut help (`?`) keeps Tab inside it; Escape gives focus back.
    b.js("document.querySelector('[data-testid=new-session]').focus(); return true")
        .await;
    press(&b, "?").await;
    b.wait(
        "the help, focused",
        T,
        "return document.activeElement?.dataset.testid === 'shortcut-help-close'",
    )
    .await;
    axe_check(&b, "the shortcut help").await;
    let inside = "return !!document.activeElement.closest('[data-testid=shortcut-help]')";
    press(&b, "\u{E004}").await; // Tab
    assert_eq!(b.js(inside).await, true, "Tab stays in the dialog");
    press(&b, "\u{E008}\u{E004}\u{E000}").await; // Shift+Tab
    assert_eq!(b.js(inside).await, true, "Shift+Tab stays in the dialog");
    press(&b, "\u{E00C}").await; // Escape
    b.wait(
        "the help closed, focus back",
        T,
        "return document.querySelector('[data-testid=shortcut-help]') === null && \
         document.activeElement?.dataset.testid === 'new-session'",
    )
    .await;
}
