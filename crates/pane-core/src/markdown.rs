//! Markdown → safe HTML (pulldown-cmark), and a block splitter so a streaming reply re-renders
//! only its last, still-growing block.
//!
//! Safety rules: raw HTML in the source is escaped, never passed through; links keep only
//! `http`, `https` and `mailto` targets and get `rel="noopener noreferrer"`; images become
//! links (no remote loads, no `src` attribute ever); fenced code keeps its language as a class
//! and is highlighted by [`crate::highlight`] (which escapes every character it emits).

use std::borrow::Cow;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// Escapes text for an HTML body or a quoted attribute value.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Escaped copy of `s`.
pub fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape(s, &mut out);
    out
}

/// A link target the pane will follow, or `None`.
pub fn safe_href(dest: &str, link_type: LinkType) -> Option<String> {
    let d = dest.trim();
    if link_type == LinkType::Email {
        return (!d.is_empty() && !d.contains(':')).then(|| format!("mailto:{d}"));
    }
    let lower = d.to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|p| lower.starts_with(p))
        .then(|| d.to_string())
}

fn code_language(kind: &CodeBlockKind) -> String {
    match kind {
        CodeBlockKind::Fenced(info) => info
            .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "_+-.#".contains(*c))
            .take(32)
            .collect(),
        CodeBlockKind::Indented => String::new(),
    }
}

/// The HTML of a fenced/indented code block: language label, copy button, highlighted code.
pub fn code_block_html(lang: &str, code: &str) -> String {
    let mut out = String::with_capacity(code.len() * 2 + 200);
    out.push_str("<div class=\"code-block\"><div class=\"code-head\"><span class=\"code-lang\">");
    escape(if lang.is_empty() { "text" } else { lang }, &mut out);
    out.push_str(
        "</span><button type=\"button\" class=\"copy-code\" data-testid=\"copy-code\" \
         aria-label=\"Copy code\">Copy</button></div><pre><code",
    );
    if !lang.is_empty() {
        out.push_str(" class=\"language-");
        escape(lang, &mut out);
        out.push('"');
    }
    out.push('>');
    crate::highlight::highlight_into(lang, code, &mut out);
    out.push_str("</code></pre></div>");
    out
}

enum Open {
    Anchor,
    Plain,
}

/// Renders markdown to HTML that carries no executable markup.
pub fn render(src: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events: Vec<Event> = Vec::new();
    let mut code: Option<(String, String)> = None;
    let mut links: Vec<Open> = Vec::new();
    for ev in Parser::new_ext(src, opts) {
        if let Some((_, body)) = code.as_mut() {
            match ev {
                Event::Text(t) => body.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (lang, body) = code.take().expect("in code");
                    events.push(Event::Html(CowStr::from(code_block_html(&lang, &body))));
                }
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(Tag::CodeBlock(kind)) => {
                code = Some((code_language(&kind), String::new()))
            }
            // Source HTML is shown as text, never interpreted.
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::Start(Tag::HtmlBlock) => {
                events.push(Event::Html(CowStr::Borrowed("<p class=\"raw-html\">")))
            }
            Event::End(TagEnd::HtmlBlock) => events.push(Event::Html(CowStr::Borrowed("</p>"))),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) => match safe_href(&dest_url, link_type) {
                Some(href) => {
                    let mut a = String::from("<a href=\"");
                    escape(&href, &mut a);
                    a.push('"');
                    if !title.is_empty() {
                        a.push_str(" title=\"");
                        escape(&title, &mut a);
                        a.push('"');
                    }
                    a.push_str(" target=\"_blank\" rel=\"noopener noreferrer\">");
                    events.push(Event::InlineHtml(CowStr::from(a)));
                    links.push(Open::Anchor);
                }
                None => {
                    events.push(Event::InlineHtml(CowStr::Borrowed(
                        "<span class=\"blocked-link\">",
                    )));
                    links.push(Open::Plain);
                }
            },
            Event::End(TagEnd::Link) => {
                events.push(Event::InlineHtml(CowStr::Borrowed(match links.pop() {
                    Some(Open::Anchor) => "</a>",
                    _ => "</span>",
                })))
            }
            // Images are never loaded: shown as a link to the picture (when its URL is safe).
            Event::Start(Tag::Image { dest_url, .. }) => {
                match safe_href(&dest_url, LinkType::Inline) {
                    Some(href) => {
                        let mut a = String::from("<a class=\"image-link\" href=\"");
                        escape(&href, &mut a);
                        a.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\">[image: ");
                        events.push(Event::InlineHtml(CowStr::from(a)));
                        links.push(Open::Anchor);
                    }
                    None => {
                        events.push(Event::InlineHtml(CowStr::Borrowed(
                            "<span class=\"blocked-link\">[image: ",
                        )));
                        links.push(Open::Plain);
                    }
                }
            }
            Event::End(TagEnd::Image) => {
                events.push(Event::InlineHtml(CowStr::Borrowed(match links.pop() {
                    Some(Open::Anchor) => "]</a>",
                    _ => "]</span>",
                })));
            }
            other => events.push(other),
        }
    }
    if let Some((lang, body)) = code.take() {
        events.push(Event::Html(CowStr::from(code_block_html(&lang, &body))));
    }
    let mut out = String::with_capacity(src.len() + src.len() / 2 + 16);
    pulldown_cmark::html::push_html(&mut out, events.into_iter());
    // Table alignment as classes: the pane's CSP allows no inline style attributes.
    if out.contains(" style=\"text-align: ") {
        out = out
            .replace(" style=\"text-align: left\"", " class=\"al-l\"")
            .replace(" style=\"text-align: center\"", " class=\"al-c\"")
            .replace(" style=\"text-align: right\"", " class=\"al-r\"");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Block splitting for streaming

/// A block of a message: a byte range of the text, plus a fence opener to prepend when the
/// block starts inside a code fence that was force-split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub start: usize,
    pub end: usize,
    pub prefix: Option<String>,
}

impl Block {
    /// The markdown source of the block (borrowed from `text` unless a fence opener is
    /// prepended: the streaming tail calls this every paint).
    pub fn source<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let body = &text[self.start..self.end];
        match &self.prefix {
            Some(p) => Cow::Owned(format!("{p}{body}")),
            None => Cow::Borrowed(body),
        }
    }

    /// Renders the block.
    pub fn render(&self, text: &str) -> String {
        render(&self.source(text))
    }
}

/// Blocks larger than this are split at a line boundary even without a blank line, so one
/// huge paragraph or code block never makes each frame re-render everything.
pub const MAX_BLOCK: usize = 16 * 1024;
/// A single line longer than this is split at a space.
pub const MAX_LINE: usize = 64 * 1024;

/// Splits append-only text into finished blocks and a growing tail, incrementally: each call
/// scans only the bytes added since the last one.
#[derive(Debug, Clone, Default)]
pub struct BlockSplitter {
    done: Vec<Block>,
    block_start: usize,
    block_prefix: Option<String>,
    scan: usize,
    fence: Option<(char, usize, String)>,
    after_blank: bool,
}

fn fence_marker(line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let t = &line[indent..];
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    (n >= 3).then_some((c, n))
}

impl BlockSplitter {
    pub fn new() -> BlockSplitter {
        BlockSplitter::default()
    }

    /// Takes the text as it is now (an extension of what it was). Restarts if it shrank.
    pub fn update(&mut self, text: &str) {
        if text.len() < self.scan || !text.is_char_boundary(self.scan) {
            *self = BlockSplitter::default();
        }
        while let Some(nl) = text[self.scan..].find('\n') {
            let line_start = self.scan;
            let line_end = self.scan + nl;
            self.line(text, line_start, line_end);
            self.scan = line_end + 1;
        }
        // A pathological single line: cut at a space so the tail stays bounded.
        while self.fence.is_none() && text.len() - self.scan > MAX_LINE {
            let mut end = self.scan + MAX_LINE;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            match text[self.scan..end].rfind(' ') {
                Some(i) if i > 0 => {
                    let at = self.scan + i + 1;
                    self.cut(at);
                    self.scan = at;
                }
                _ => break,
            }
        }
    }

    fn cut(&mut self, at: usize) {
        if at > self.block_start {
            self.done.push(Block {
                start: self.block_start,
                end: at,
                prefix: self.block_prefix.take(),
            });
            self.block_start = at;
        }
    }

    fn line(&mut self, text: &str, start: usize, end: usize) {
        let line = &text[start..end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some((c, n, _)) = &self.fence {
            if let Some((c2, n2)) = fence_marker(line) {
                if c2 == *c
                    && n2 >= *n
                    && line.trim_start().trim_start_matches(c2).trim().is_empty()
                {
                    self.fence = None;
                    self.after_blank = false;
                    return;
                }
            }
            if start - self.block_start > MAX_BLOCK {
                // Force-split inside a fence: the next block reopens it.
                let opener = self.fence.as_ref().map(|f| f.2.clone()).expect("in fence");
                self.cut(start);
                self.block_prefix = Some(opener);
            }
            return;
        }
        if line.trim().is_empty() {
            self.after_blank = true;
            return;
        }
        let starts_flush = !line.starts_with(' ') && !line.starts_with('\t');
        if starts_flush && (self.after_blank || start - self.block_start > MAX_BLOCK) {
            self.cut(start);
        }
        self.after_blank = false;
        if let Some((c, n)) = fence_marker(line) {
            let info_ok = c != '`' || !line.trim_start().trim_start_matches('`').contains('`');
            if info_ok {
                self.fence = Some((c, n, format!("{line}\n")));
            }
        }
    }

    /// Finished blocks; they never change again.
    pub fn done(&self) -> &[Block] {
        &self.done
    }

    /// The growing tail up to the end of `text`.
    pub fn tail(&self, text: &str) -> Block {
        Block {
            start: self.block_start.min(text.len()),
            end: text.len(),
            prefix: self.block_prefix.clone(),
        }
    }
}

/// All blocks of a finished text (finished blocks plus the tail, if not empty).
pub fn split_blocks(text: &str) -> Vec<Block> {
    let mut s = BlockSplitter::new();
    s.update(text);
    let mut blocks = s.done.clone();
    let tail = s.tail(text);
    if tail.end > tail.start {
        blocks.push(tail);
    }
    blocks
}

/// Renders a finished text block by block (same HTML as streaming produced).
pub fn render_blocks(text: &str) -> Vec<String> {
    split_blocks(text).iter().map(|b| b.render(text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped() {
        let h = render("hi <script>alert(1)</script>\n\n<div onclick=\"x()\">a</div>");
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("<div onclick"), "{h}");
        assert!(h.contains("&lt;script&gt;"), "{h}");
    }

    #[test]
    fn links_are_filtered_and_get_rel() {
        let h = render("[a](https://x.org) [b](javascript:alert(1)) <mailto:me@x.org> <me@y.org>");
        assert!(
            h.contains(
                "<a href=\"https://x.org\" target=\"_blank\" rel=\"noopener noreferrer\">a</a>"
            ),
            "{h}"
        );
        assert!(!h.contains("javascript:"), "{h}");
        assert!(h.contains("href=\"mailto:me@y.org\""), "{h}");
    }

    #[test]
    fn fenced_code_keeps_its_language_and_is_escaped() {
        let h = render("```rust\nlet a = \"<b>\";\n```");
        assert!(h.contains("class=\"language-rust\""), "{h}");
        assert!(h.contains("&lt;b&gt;"), "{h}");
        assert!(h.contains("data-testid=\"copy-code\""), "{h}");
    }

    #[test]
    fn splitter_is_incremental_and_matches_the_batch_split() {
        let text =
            "# Title\n\npara one\nstill one\n\n```\ncode\n\nmore code\n```\n\n- a\n- b\n\nlast";
        let batch = split_blocks(text);
        let mut s = BlockSplitter::new();
        for i in 1..=text.len() {
            if text.is_char_boundary(i) {
                s.update(&text[..i]);
            }
        }
        let mut inc = s.done().to_vec();
        inc.push(s.tail(text));
        assert_eq!(batch, inc);
        let sources: Vec<_> = batch.iter().map(|b| b.source(text)).collect();
        assert_eq!(sources[0], "# Title\n\n");
        assert!(
            sources.iter().any(|s| s.contains("code\n\nmore code")),
            "a blank line inside a fence does not split: {sources:?}"
        );
    }

    #[test]
    fn huge_fenced_code_is_force_split_and_reopens_the_fence() {
        let mut text = String::from("```python\n");
        for i in 0..4000 {
            text.push_str(&format!("x_{i} = {i}\n"));
        }
        text.push_str("```\n");
        let blocks = split_blocks(&text);
        assert!(blocks.len() > 1);
        assert!(blocks.iter().all(|b| b.end - b.start <= MAX_BLOCK + 64));
        assert_eq!(blocks[1].prefix.as_deref(), Some("```python\n"));
        assert!(blocks[1].render(&text).contains("language-python"));
    }

    #[test]
    fn a_giant_single_line_is_cut_at_spaces() {
        let text = "word ".repeat(40_000);
        let blocks = split_blocks(&text);
        assert!(blocks.len() > 1);
        assert_eq!(
            blocks.iter().map(|b| b.source(&text)).collect::<String>(),
            text
        );
    }
}
