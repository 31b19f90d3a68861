//! Markdown → safe HTML (pulldown-cmark), and a block splitter so a streaming reply re-renders
//! only its last, still-growing block.
//!
//! Safety rules: raw HTML in the source is escaped, never passed through; links keep only
//! `http`, `https` and `mailto` targets and get `rel="noopener noreferrer"`; images and the
//! agent's `MEDIA:` tokens load only from the pane's own origin, through the session's media
//! rules ([`crate::media`]; without a session they stay links); formulas become sanitized
//! MathML ([`crate::math`], through the caller's converter) or show their source; fenced code
//! keeps its language as a class and is highlighted by [`crate::highlight`] (which escapes
//! every character it emits).

use std::borrow::Cow;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::media::{MediaCtx, Piece};

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

/// Fenced languages that are diagrams.
const DIAGRAMS: &[&str] = &["mermaid", "plantuml", "graphviz", "dot", "d2"];

/// The HTML of a fenced/indented code block: language label, copy button, highlighted code.
pub fn code_block_html(lang: &str, code: &str) -> String {
    let mut out = String::with_capacity(code.len() * 2 + 200);
    out.push_str("<div class=\"code-block\"><div class=\"code-head\"><span class=\"code-lang\">");
    escape(if lang.is_empty() { "text" } else { lang }, &mut out);
    // Diagrams are not drawn (no script from a CDN: the CSP forbids it); their source is
    // shown, clearly named, with its copy button.
    if DIAGRAMS.contains(&lang.to_ascii_lowercase().as_str()) {
        out.push_str(" · diagram source");
    }
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

/// LaTeX → MathML: `(tex, display)` → the `<math>` element, or `None` to show the source.
pub type MathFn<'a> = &'a dyn Fn(&str, bool) -> Option<String>;

/// What a render can use beyond the text.
#[derive(Clone, Copy, Default)]
pub struct RenderCtx<'a> {
    /// Where the session's media are fetched from; without it images stay links.
    pub media: Option<MediaCtx<'a>>,
    /// LaTeX → MathML (`None` from it: show the source); without it formulas show their source.
    pub math: Option<MathFn<'a>>,
    /// The text may still grow (a streaming reply's last block): a `MEDIA:` token that reaches
    /// its end stays text until it is complete.
    pub open_end: bool,
}

/// Renders markdown to HTML that carries no executable markup (images as links, formulas as
/// their source).
pub fn render(src: &str) -> String {
    render_with(src, &RenderCtx::default())
}

/// The HTML of a formula: MathML when the converter gives it, else its source as code.
fn math_html(tex: &str, display: bool, ctx: &RenderCtx) -> String {
    let mut out = String::new();
    match ctx.math.and_then(|f| f(tex, display)) {
        Some(mathml) => {
            out.push_str(if display {
                "<span class=\"math display\" data-testid=\"math\">"
            } else {
                "<span class=\"math\" data-testid=\"math\">"
            });
            out.push_str(&mathml);
            out.push_str("</span>");
        }
        None => {
            out.push_str("<code class=\"math-src\" data-testid=\"math-src\">");
            let delim = if display { "$$" } else { "$" };
            escape(&format!("{delim}{tex}{delim}"), &mut out);
            out.push_str("</code>");
        }
    }
    out
}

/// Renders markdown to HTML that carries no executable markup, with `ctx`'s media and math.
pub fn render_with(src: &str, ctx: &RenderCtx) -> String {
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH;
    let normalized = tex_delimiters(src);
    let src: &str = &normalized;
    let open_from = if ctx.open_end {
        src.trim_end().len()
    } else {
        usize::MAX
    };
    let mut events: Vec<Event> = Vec::new();
    let mut code: Option<(String, String)> = None;
    let mut links: Vec<Open> = Vec::new();
    // An image being read: its target and its alt text so far.
    let mut image: Option<(CowStr, String)> = None;
    for (ev, range) in Parser::new_ext(src, opts).into_offset_iter() {
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
        if let Some((_, alt)) = image.as_mut() {
            match ev {
                Event::Text(t) | Event::Code(t) | Event::InlineMath(t) => alt.push_str(&t),
                Event::End(TagEnd::Image) => {
                    let (dest, alt) = image.take().expect("in an image");
                    events.push(Event::InlineHtml(CowStr::from(image_html(
                        &dest, &alt, ctx,
                    ))));
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
            Event::Text(t) if ctx.media.is_some() && t.contains("MEDIA:") => {
                let media = ctx.media.expect("checked");
                let open = range.end >= open_from;
                for piece in crate::media::pieces(&t, open) {
                    match piece {
                        Piece::Text(p) => events.push(Event::Text(CowStr::from(p.to_string()))),
                        Piece::Media(r) => events.push(Event::InlineHtml(CowStr::from(
                            crate::media::html(&media, r, "", true),
                        ))),
                    }
                }
            }
            // `$5 and $10`: an amount, not a formula (as the stock UI reads it).
            Event::InlineMath(t) if t.starts_with(|c: char| c.is_ascii_digit()) => {
                events.push(Event::Text(CowStr::from(format!("${t}$"))))
            }
            Event::InlineMath(t) => {
                events.push(Event::InlineHtml(CowStr::from(math_html(&t, false, ctx))))
            }
            Event::DisplayMath(t) => {
                events.push(Event::InlineHtml(CowStr::from(math_html(&t, true, ctx))))
            }
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
            Event::Start(Tag::Image { dest_url, .. }) => image = Some((dest_url, String::new())),
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

/// A markdown image: through the session's media rules when there are some, else a link to
/// it (never loaded) when its URL is safe, else text.
fn image_html(dest: &str, alt: &str, ctx: &RenderCtx) -> String {
    if let Some(media) = &ctx.media {
        return crate::media::html(media, dest, alt, false);
    }
    let mut out = String::new();
    match safe_href(dest, LinkType::Inline) {
        Some(href) => {
            out.push_str("<a class=\"image-link\" href=\"");
            escape(&href, &mut out);
            out.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\">[image: ");
            escape(alt, &mut out);
            out.push_str("]</a>");
        }
        None => {
            out.push_str("<span class=\"blocked-link\">[image: ");
            escape(alt, &mut out);
            out.push_str("]</span>");
        }
    }
    out
}

/// Rewrites the `\(…\)` and `\[…\]` math delimiters to `$…$` and `$$…$$` (which the parser
/// reads), outside code spans and fenced code; an escaped backslash (`\\[2pt]` in a matrix)
/// is not a delimiter, and a formula never runs past a blank line.
pub fn tex_delimiters(src: &str) -> Cow<'_, str> {
    if !src.contains("\\(") && !src.contains("\\[") {
        return Cow::Borrowed(src);
    }
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut fence: Option<(char, usize)> = None;
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        if line_start {
            line_start = false;
            let end = src[i..].find('\n').map_or(b.len(), |e| i + e);
            let line = &src[i..end];
            let marker = fence_marker(line);
            let inside = fence.is_some();
            match (fence, marker) {
                (None, Some(m)) => fence = Some(m),
                (Some((c, n)), Some((mc, mn))) if c == mc && mn >= n => {
                    let rest = line.trim_start_matches(' ')[mn..].trim();
                    if rest.is_empty() {
                        fence = None;
                    }
                }
                _ => {}
            }
            if inside || marker.is_some() {
                let next = (end + 1).min(b.len());
                out.push_str(&src[i..next]);
                i = next;
                line_start = true;
                continue;
            }
        }
        match b[i] {
            b'\n' => {
                out.push('\n');
                i += 1;
                line_start = true;
            }
            b'`' => {
                let n = b[i..].iter().take_while(|&&c| c == b'`').count();
                let close = closing_ticks(src, i + n, n);
                let to = close.map_or(i + n, |c| c + n);
                out.push_str(&src[i..to]);
                i = to;
            }
            b'\\' if i + 1 < b.len() && (b[i + 1] == b'(' || b[i + 1] == b'[') => {
                let display = b[i + 1] == b'[';
                let close = if display { b']' } else { b')' };
                match closing_delimiter(src, i + 2, close, display) {
                    Some(j) if !src[i + 2..j].contains('$') && !src[i + 2..j].trim().is_empty() => {
                        let d = if display { "$$" } else { "$" };
                        out.push_str(d);
                        out.push_str(src[i + 2..j].trim());
                        out.push_str(d);
                        i = j + 2;
                    }
                    _ => {
                        out.push_str(&src[i..i + 2]);
                        i += 2;
                    }
                }
            }
            b'\\' if i + 1 < b.len() && b[i + 1].is_ascii() => {
                out.push_str(&src[i..i + 2]);
                i += 2;
            }
            _ => {
                // Up to the next byte this loop looks at (ASCII, so a char boundary).
                let next = b[i + 1..]
                    .iter()
                    .position(|c| matches!(c, b'\n' | b'`' | b'\\'))
                    .map_or(b.len(), |n| i + 1 + n);
                out.push_str(&src[i..next]);
                i = next;
            }
        }
    }
    Cow::Owned(out)
}

/// Where the closing run of exactly `n` backticks starts, before a blank line.
fn closing_ticks(src: &str, from: usize, n: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut j = from;
    while j < b.len() {
        if b[j] == b'\n' && b.get(j + 1) == Some(&b'\n') {
            return None;
        }
        if b[j] == b'`' {
            let run = b[j..].iter().take_while(|&&c| c == b'`').count();
            if run == n {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

/// Where `\` + `close` ends a formula opened before `from`: not an escaped backslash's, on the
/// same line (inline) or before a blank line (display).
fn closing_delimiter(src: &str, from: usize, close: u8, multiline: bool) -> Option<usize> {
    let b = src.as_bytes();
    let mut j = from;
    while j < b.len() {
        match b[j] {
            b'\n' if !multiline || b.get(j + 1) == Some(&b'\n') => return None,
            b'\\' if b.get(j + 1) == Some(&close) => return Some(j),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    None
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

/// How a streaming block's new HTML differs from what is on screen, when only text was added
/// at the end of its innermost last element: `new` is `old` with `text` inserted before `old`'s
/// last `closing` end tags (and the whitespace between them). `text` holds no markup and no
/// character reference, so it can be appended to the DOM's last text node as it is — the
/// browser then keeps the shaping of what was there instead of rebuilding the block.
/// `None`: anything else changed (a new element, an entity, a re-parse): render it again.
pub fn appended_text<'a>(old: &str, new: &'a str) -> Option<(&'a str, usize)> {
    if old.is_empty() || new.len() <= old.len() {
        return None;
    }
    // Walk the end tags at the end of `old` outward in; the last that fits is the innermost,
    // the deepest element the text can go into.
    let (mut cut, mut closing, mut found) = (old.len(), 0, None);
    loop {
        let rest = old[..cut].trim_end();
        let Some(open) = rest.rfind("</") else { break };
        let name = rest[open + 2..].strip_suffix('>').unwrap_or_default();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            break;
        }
        (cut, closing) = (open, closing + 1);
        let (head, tail) = old.split_at(cut);
        if new.starts_with(head) && new.ends_with(tail) {
            let text = &new[cut..new.len() - tail.len()];
            if !text.contains(['<', '&']) {
                found = Some((text, closing));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_added_to_the_end_of_a_paragraph_is_appended_not_rendered_again() {
        let old = render("tok1 tok2");
        let new = render("tok1 tok2 tok3");
        assert_eq!(appended_text(&old, &new), Some((" tok3", 1)));
        // Inside the innermost element it ends in.
        let old = render("a *b c");
        let new = render("a *b c d");
        let got = appended_text(&old, &new);
        assert_eq!(got, Some((" d", 1)), "{old:?} → {new:?}");
        let old = render("**bold");
        let new = render("**bold text");
        assert!(appended_text(&old, &new).is_some(), "{old:?} → {new:?}");
    }

    #[test]
    fn anything_but_plain_text_at_the_end_renders_again() {
        for (a, b) in [
            ("tok1 tok2", "tok1 tok2 & tok3"), // an entity
            ("tok1 *tok2", "tok1 *tok2*"),     // emphasis closed: markup changed
            ("tok1", "tok1 `code`"),           // a new element
            ("one", "one\n\ntwo"),             // a second block
            ("tok1 tok2", "tok1"),             // shorter
        ] {
            let (old, new) = (render(a), render(b));
            assert_eq!(
                appended_text(&old, &new),
                None,
                "{a:?} → {b:?}: {old:?} → {new:?}"
            );
        }
        assert_eq!(appended_text("", "<p>x</p>"), None, "nothing on screen yet");
    }

    proptest::proptest! {
        #[test]
        fn an_appended_text_rebuilds_the_new_html_exactly(
            a in "[a-z *_`]{0,40}",
            b in "[a-z *_`\n]{0,20}",
        ) {
            let (old, new) = (render(&a), render(&format!("{a}{b}")));
            if let Some((text, closing)) = appended_text(&old, &new) {
                // `old` = head + `closing` end tags; `new` = head + text + the same end tags.
                let mut k = old.len();
                for _ in 0..closing {
                    k = old[..k].rfind("</").expect("an end tag");
                }
                let rebuilt = format!("{}{}{}", &old[..k], text, &old[k..]);
                proptest::prop_assert_eq!(&rebuilt, &new);
                proptest::prop_assert!(!text.contains(['<', '&']));
                proptest::prop_assert!(old[k..].trim_end().ends_with('>'));
            }
        }
    }

    use super::*;

    fn with_math(src: &str) -> String {
        let math = |tex: &str, display: bool| crate::math::to_mathml(tex, display);
        render_with(
            src,
            &RenderCtx {
                math: Some(&math),
                ..Default::default()
            },
        )
    }

    #[test]
    fn formulas_in_every_delimiter_become_mathml_but_amounts_and_code_do_not() {
        for src in [
            r"a $x^2$ b",
            r"a \(x^2\) b",
            r"$$x^2$$",
            r"\[x^2\]",
            "\\[\nx^2\n\\]",
        ] {
            let h = with_math(src);
            assert!(h.contains("<math") && h.contains("<msup>"), "{src}: {h}");
        }
        assert!(with_math(r"\[x\]").contains("class=\"math display\""));
        let h = with_math("It costs $5 and $10 today.");
        assert!(!h.contains("<math"), "{h}");
        assert!(h.contains("$5 and $10"), "{h}");
        let h = with_math("`$x$` and `\\(y\\)`\n\n```\n$$z$$\n\\[w\\]\n```");
        assert!(!h.contains("<math"), "{h}");
        assert!(h.contains("\\(y\\)") && h.contains("\\[w\\]"), "{h}");
        // A matrix's `\\[2pt]` is not a delimiter.
        let h = with_math(r"$$\begin{pmatrix}a\\[2pt]b\end{pmatrix}$$");
        assert!(h.contains("<mtable"), "{h}");
    }

    #[test]
    fn a_formula_shows_its_source_until_it_closes_or_when_it_is_invalid() {
        // Streaming: the closing delimiter has not arrived yet.
        let h = with_math(r"so $\frac{a}{b");
        assert!(!h.contains("<math") && h.contains(r"\frac{a}{b"), "{h}");
        let h = with_math(r"$\frac{a$ and more");
        assert!(!h.contains("<math"), "{h}");
        // Without a converter (its chunk not in yet) the source shows, escaped.
        let h = render(r"$a<b$");
        assert!(
            h.contains("<code class=\"math-src\" data-testid=\"math-src\">$a&lt;b$</code>"),
            "{h}"
        );
        let deep = format!("${}x{}$", "{".repeat(100), "}".repeat(100));
        assert!(with_math(&deep).contains("math-src"));
    }

    #[test]
    fn images_and_media_tokens_load_from_the_session_only() {
        let media = MediaCtx {
            base: "/",
            session: "s1",
        };
        let ctx = RenderCtx {
            media: Some(media),
            ..Default::default()
        };
        let h = render_with("![chart](/tmp/c.png) and MEDIA:/tmp/d.png", &ctx);
        assert_eq!(h.matches("<img").count(), 2, "{h}");
        assert!(h.contains("alt=\"chart\""), "{h}");
        let h = render_with("![x](https://evil.example/p.png) `MEDIA:/tmp/e.png`", &ctx);
        assert!(!h.contains("<img"), "{h}");
        // Streaming: a token at the end may still grow.
        let open = RenderCtx {
            open_end: true,
            ..ctx
        };
        assert!(!render_with("see MEDIA:/tmp/a.pn", &open).contains("<img"));
        assert!(render_with("see MEDIA:/tmp/a.png\n\nmore", &open).contains("<img"));
        // Without a session, images stay links and tokens text.
        assert!(!render("![chart](/tmp/c.png) MEDIA:/tmp/d.png").contains("<img"));
    }

    #[test]
    fn a_diagram_is_its_source_named_with_a_copy_button() {
        let h = render("```mermaid\ngraph TD; A-->B\n```");
        assert!(h.contains("mermaid · diagram source"), "{h}");
        assert!(h.contains("data-testid=\"copy-code\""), "{h}");
        assert!(h.contains("A--&gt;B"), "{h}");
    }

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
