//! Markdown for the transcript, from a chunk loaded after the first paint.
//!
//! The renderer (pulldown-cmark and `pane_core::highlight`) is a fifth of the wasm, so in the
//! release bundle it is the [`Chunk::Markdown`] chunk (see [`crate::lazy`]). Until it is in, a
//! message shows as its escaped text in a pre-wrapped paragraph — nothing is lost, only not
//! yet formatted — and every view renders again when it arrives.

use pane_core::markdown::{escaped, split_blocks};

use crate::lazy::{self, Chunk, NotLoaded};

/// The HTML of one block of markdown source: rendered when the renderer is in, else its
/// escaped text in a `md-plain` paragraph (pre-wrapped, so lines and code keep their shape).
pub fn block_html(src: &str) -> String {
    lazy::ready(Chunk::Markdown)
        .then(|| lazy::now(render(src)))
        .flatten()
        .unwrap_or_else(|| format!("<p class=\"md-plain\">{}</p>", escaped(src)))
}

/// The HTML of a whole message, block by block (the same HTML streaming produced).
pub fn message_html(text: &str) -> String {
    split_blocks(text)
        .iter()
        .map(|b| block_html(&b.source(text)))
        .collect()
}

/// The split point: everything only this reaches (the parser, its entity table, the
/// highlighter) goes to the markdown chunk.
#[cfg_attr(
    feature = "split",
    wasm_split_helpers::wasm_split(markdown, fallible, preload(preload_render))
)]
fn render(src: &str) -> Result<String, NotLoaded> {
    Ok(pane_core::markdown::render(src))
}

/// Loads the markdown chunk.
#[cfg(feature = "split")]
pub(crate) async fn preload() -> Result<(), NotLoaded> {
    Ok(preload_render().await?)
}
