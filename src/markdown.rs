//! Markdown for the transcript, from chunks loaded after the first paint.
//!
//! The renderer (pulldown-cmark and `pane_core::highlight`) is a fifth of the wasm, so in the
//! release bundle it is the [`Chunk::Markdown`] chunk (see [`crate::lazy`]). Until it is in, a
//! settled message shows its text as a text node and a streaming block its escaped text, both
//! pre-wrapped — nothing is lost, only not yet formatted — and every view renders again when it
//! arrives. Formulas go through the [`Chunk::Math`] chunk (LaTeX → MathML), asked for the first
//! time a reply shows one; until then a formula shows its source.

use std::cell::OnceCell;

use pane_core::markdown::{escaped, split_blocks, RenderCtx};
use pane_core::media::MediaCtx;

use crate::lazy::{self, Chunk, NotLoaded};

thread_local! {
    /// The backend root media are fetched from (the API's base, read once).
    static BASE: OnceCell<String> = const { OnceCell::new() };
}

fn base() -> String {
    BASE.with(|b| {
        b.get_or_init(|| crate::api::Api::from_document().base)
            .clone()
    })
}

/// What has arrived of the renderers: a view rendered before a change renders again.
pub fn generation() -> u8 {
    lazy::ready(Chunk::Markdown) as u8 | (lazy::ready(Chunk::Math) as u8) << 1
}

thread_local! {
    /// Formulas converted so far: a streaming reply's growing block is rendered again at every
    /// paint, and its formulas with it (cleared when it grows past a few hundred).
    static MATH: std::cell::RefCell<std::collections::HashMap<(String, bool), Option<String>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A formula as MathML once the math chunk is in; before, `None` (the source shows) and the
/// chunk is asked for.
fn mathml(tex: &str, display: bool) -> Option<String> {
    if !lazy::ready(Chunk::Math) {
        lazy::want(Chunk::Math);
        return None;
    }
    let key = (tex.to_string(), display);
    if let Some(hit) = MATH.with(|m| m.borrow().get(&key).cloned()) {
        return hit;
    }
    let out = lazy::now(math(tex, display)).flatten();
    MATH.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 400 {
            m.clear();
        }
        m.insert(key, out.clone());
    });
    out
}

/// The HTML of one block of markdown source of session `session`'s transcript: rendered when
/// the renderer is in, else its escaped text in a `md-plain` paragraph (pre-wrapped, so lines
/// and code keep their shape) and the renderer is asked for. `open_end`: the block may still
/// grow (a streaming tail).
pub fn block_html(src: &str, session: &str, open_end: bool) -> String {
    lazy::want(Chunk::Markdown);
    lazy::ready(Chunk::Markdown)
        .then(|| lazy::now(render(src, session, open_end)))
        .flatten()
        .unwrap_or_else(|| format!("<p class=\"md-plain\">{}</p>", escaped(src)))
}

/// The HTML of a whole message once the renderer is in; `None` before (it is asked for): the
/// view then shows the text as it is, pre-wrapped, as a text node — a transcript's first paint
/// parses no HTML.
pub fn rendered_message(text: &str, session: &str) -> Option<String> {
    lazy::want(Chunk::Markdown);
    lazy::ready(Chunk::Markdown).then(|| message_html(text, session))
}

/// The HTML of a whole message, block by block (the same HTML streaming produced).
pub fn message_html(text: &str, session: &str) -> String {
    split_blocks(text)
        .iter()
        .map(|b| block_html(&b.source(text), session, false))
        .collect()
}

/// The split point: everything only this reaches (the parser, its entity table, the
/// highlighter) goes to the markdown chunk.
#[cfg_attr(
    feature = "split",
    wasm_split_helpers::wasm_split(markdown, fallible, preload(preload_render))
)]
fn render(src: &str, session: &str, open_end: bool) -> Result<String, NotLoaded> {
    let base = base();
    let ctx = RenderCtx {
        media: Some(MediaCtx {
            base: &base,
            session,
        }),
        math: Some(&mathml),
        open_end,
    };
    Ok(pane_core::markdown::render_with(src, &ctx))
}

/// The math split point: the converter and its tables go to the math chunk.
#[cfg_attr(
    feature = "split",
    wasm_split_helpers::wasm_split(math, fallible, preload(preload_math_fn))
)]
fn math(tex: &str, display: bool) -> Result<Option<String>, NotLoaded> {
    Ok(pane_core::math::to_mathml(tex, display))
}

/// Shows `new` in `el`, which shows `old` (a streaming block's HTML), by appending to its last
/// text node when only text was added at the end (`pane_core::markdown::appended_text`): a long
/// paragraph streaming in is then not parsed, rebuilt and shaped again at every paint. `false`
/// (also before the renderer is in): render it whole.
pub fn append_in_place(el: &web_sys::Element, old: &str, new: &str) -> bool {
    lazy::ready(Chunk::Markdown) && lazy::now(append(el, old, new)).unwrap_or(false)
}

/// In the markdown chunk, with the renderer (the first paint never streams).
#[cfg_attr(
    feature = "split",
    wasm_split_helpers::wasm_split(markdown, fallible, preload(preload_append))
)]
fn append(el: &web_sys::Element, old: &str, new: &str) -> Result<bool, NotLoaded> {
    use wasm_bindgen::JsCast;
    let Some((text, closing)) = pane_core::markdown::appended_text(old, new) else {
        return Ok(false);
    };
    let mut node = el.clone();
    for _ in 0..closing {
        match node.last_element_child() {
            Some(child) => node = child,
            None => return Ok(false),
        }
    }
    Ok(
        match node.last_child().map(|n| n.dyn_into::<web_sys::Text>()) {
            Some(Ok(t)) => t.append_data(text).is_ok(),
            _ => false,
        },
    )
}

/// Loads the markdown chunk.
#[cfg(feature = "split")]
pub(crate) async fn preload() -> Result<(), NotLoaded> {
    preload_render().await?;
    Ok(preload_append().await?)
}

/// Loads the math chunk.
#[cfg(feature = "split")]
pub(crate) async fn preload_math() -> Result<(), NotLoaded> {
    Ok(preload_math_fn().await?)
}
