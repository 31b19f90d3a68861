//! Checks the live text, not only the settled one. `done` carries the saved session and the
//! pane adopts it, so "shown text equals the server" after a turn passes even if tokens were
//! doubled while streaming. The sampler records, at every animation frame, the text of the live
//! message of the shown pane (per session, consecutive duplicates dropped), and survives
//! reloads (kept in `sessionStorage` across `pagehide`); [`assert_live_text`] then asserts that
//! every painted text is a prefix of the final one and every scripted token appeared once, in
//! order.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::Browser;

/// The sampler, installed on every new document of the tab
/// (`Page.addScriptToEvaluateOnNewDocument`). A message's text is its markdown blocks'
/// `textContent` joined by spaces, whitespace collapsed (no layout work per frame);
/// [`final_text_js`] reads a settled turn the same way.
pub const SAMPLER_JS: &str = r#"(() => {
  if (window.__paneLive) return;
  const key = '__paneLiveSamples';
  let store = {};
  try { store = JSON.parse(sessionStorage.getItem(key) || '{}'); } catch (e) {}
  const norm = s => s.replace(/\s+/g, ' ').trim();
  const textOf = el => norm([...el.querySelectorAll('.md')]
    .map(md => [...md.children].map(c => c.textContent).join(' ') || md.textContent)
    .join(' '));
  window.__paneLive = { textOf, samples: () => store };
  const tick = () => {
    for (const live of document.querySelectorAll('.pane:not(.hidden) [data-streaming]')) {
      const sid = live.closest('.pane')?.dataset.sessionId;
      if (!sid) continue;
      const text = textOf(live);
      const list = store[sid] || (store[sid] = []);
      if (text && list[list.length - 1] !== text) list.push(text);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  addEventListener('pagehide', () => {
    try { sessionStorage.setItem(key, JSON.stringify(store)); } catch (e) {}
  });
})();"#;

/// Installs the sampler in the tab `b` drives (every document it loads from now on, and the
/// current one).
pub async fn install_sampler(b: &Browser) {
    b.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": SAMPLER_JS}),
    )
    .await;
    b.js(&format!("{SAMPLER_JS}; return true")).await;
}

/// The samples so far, by session id.
pub async fn live_samples(b: &Browser) -> BTreeMap<String, Vec<String>> {
    let v = b
        .js("return window.__paneLive ? JSON.stringify(window.__paneLive.samples()) : '{}'")
        .await;
    serde_json::from_str(v.as_str().unwrap_or("{}")).unwrap_or_default()
}

/// JS: the settled text of the shown pane's last turn (its assistant messages after the last
/// user message), read as the sampler reads the live message.
pub fn final_text_js() -> &'static str {
    "const msgs = [...document.querySelectorAll('.pane:not(.hidden) [data-role]:not(.live)')]; \
     let i = msgs.length; while (i > 0 && msgs[i - 1].dataset.role !== 'user') i--; \
     return msgs.slice(i).filter(m => m.dataset.role === 'assistant').map(m => \
     window.__paneLive.textOf(m)).filter(t => t).join(' ')"
}

/// The `tok<N>` numbers of a text, in order.
pub fn token_numbers(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(|w| w.strip_prefix("tok")?.parse().ok())
        .collect()
}

/// Every painted text of `sid` is a prefix of `final_text`, its scripted tokens are
/// `tok1..tokK` exactly (each once, in order), and some painting happened. Returns how many
/// distinct texts were painted.
pub fn assert_live_text(
    samples: &BTreeMap<String, Vec<String>>,
    sid: &str,
    final_text: &str,
) -> usize {
    let list = samples.get(sid).unwrap_or_else(|| {
        panic!(
            "no live text of {sid} was ever painted (sampled: {:?})",
            samples.keys().collect::<Vec<_>>()
        )
    });
    let final_text = final_text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (i, s) in list.iter().enumerate() {
        if !final_text.starts_with(s.as_str()) {
            // Everything painted, for a look (the run's temporary files are kept when it fails).
            let dump = std::env::temp_dir().join(format!("pane-e2e-live-{sid}.json"));
            let _ = std::fs::write(
                &dump,
                json!({"painted": list, "final": final_text}).to_string(),
            );
            eprintln!("live texts of {sid}: {}", dump.display());
            let at = s
                .char_indices()
                .zip(final_text.chars())
                .find(|((_, a), b)| a != b)
                .map_or(s.len().min(final_text.len()), |((i, _), _)| i);
            panic!(
                "{sid}: painted text #{i} (of {}) is not a prefix of the final text; \
                 they part at byte {at}\n  painted: …{}\n  final:   …{}",
                list.len(),
                around(s, at),
                around(&final_text, at)
            );
        }
        let toks = token_numbers(s);
        for (j, t) in toks.iter().enumerate() {
            assert_eq!(
                *t,
                j as u64 + 1,
                "{sid}: painted text #{i} has token tok{t} at position {j}: a token doubled or \
                 missing"
            );
        }
    }
    let finals = token_numbers(&final_text);
    assert!(
        finals.iter().enumerate().all(|(j, t)| *t == j as u64 + 1),
        "{sid}: the final text's tokens are not tok1..tokN in order"
    );
    list.len()
}

/// `s` from 60 bytes before `at` to 60 after.
fn around(s: &str, at: usize) -> &str {
    let (mut a, mut b) = (at.saturating_sub(60), (at + 60).min(s.len()));
    while !s.is_char_boundary(a) {
        a += 1;
    }
    while !s.is_char_boundary(b) {
        b -= 1;
    }
    &s[a..b]
}

/// The shown pane's settled turn text, read like the samples (see [`final_text_js`]).
pub async fn final_text(b: &Browser) -> String {
    b.js(final_text_js())
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A JSON value's string, or empty.
pub fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doubled_token_in_a_painted_text_fails_the_check() {
        let mut s = BTreeMap::new();
        s.insert(
            "a".to_string(),
            vec!["tok1".to_string(), "tok1 tok2".to_string()],
        );
        assert_eq!(assert_live_text(&s, "a", "tok1 tok2 tok3"), 2);
        s.insert("b".to_string(), vec!["tok1 tok1".to_string()]);
        assert!(std::panic::catch_unwind(|| assert_live_text(&s, "b", "tok1 tok2")).is_err());
        s.insert("c".to_string(), vec!["tok1 tok3".to_string()]);
        assert!(
            std::panic::catch_unwind(|| assert_live_text(&s, "c", "tok1 tok3")).is_err(),
            "a gap fails too"
        );
        s.insert("d".to_string(), vec!["Tool said: x tok1".to_string()]);
        assert!(
            std::panic::catch_unwind(|| assert_live_text(&s, "d", "Tool said: y tok1")).is_err(),
            "not a prefix"
        );
    }
}
