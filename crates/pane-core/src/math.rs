//! LaTeX math → MathML Core, which browsers render without JavaScript.
//!
//! The converter is `math-core` (MIT, fuzzed, no panics in ~1.6 M random inputs); around it the
//! pane holds two lines of its own, because its output is put into the page as HTML:
//!
//! - **Input caps**: the converter's parser is recursive and a wasm stack overflow aborts the
//!   module, so a formula longer than [`MAX_LEN`] bytes or nested deeper than [`MAX_DEPTH`]
//!   is not converted (its source shows instead).
//! - **An allowlist re-serializer** ([`sanitize`]): only MathML Core elements and presentation
//!   attributes pass, every `id` is dropped, and anything else (`\operatorname{<img …>}`
//!   reaches the output of math-core 0.7 unescaped; `\eqref` makes an `<a href>`) rejects the
//!   whole formula, which then shows as its source. Text and attribute values are re-escaped.
//!
//! `None` from [`to_mathml`] means "show the source": invalid math never breaks a message.

use crate::markdown::escape;

/// The longest formula converted, in bytes.
pub const MAX_LEN: usize = 4000;
/// The deepest nesting of groups (`{…}`, `\left…\right`, `\begin…\end`) converted.
pub const MAX_DEPTH: usize = 40;

/// `tex` as a `<math>` element (`display`: a block formula), or `None` to show the source.
pub fn to_mathml(tex: &str, display: bool) -> Option<String> {
    if tex.trim().is_empty() || tex.len() > MAX_LEN || depth(tex) > MAX_DEPTH {
        return None;
    }
    let config = math_core::MathCoreConfig {
        ignore_unknown_commands: true,
        ..Default::default()
    };
    let converter = math_core::LatexToMathML::new(config).ok()?;
    let mode = if display {
        math_core::MathDisplay::Block
    } else {
        math_core::MathDisplay::Inline
    };
    let out = converter.convert_with_local_state(tex, mode).ok()?;
    sanitize(&out.mathml)
}

/// How deeply `tex` nests groups (braces not escaped by a backslash, `\left`, `\begin`).
pub fn depth(tex: &str) -> usize {
    let b = tex.as_bytes();
    let (mut now, mut max) = (0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let rest = &tex[i + 1..];
                if rest.starts_with("left") || rest.starts_with("begin") {
                    now += 1;
                } else if rest.starts_with("right") || rest.starts_with("end") {
                    now = now.saturating_sub(1);
                }
                // `\{`, `\\` and any escaped byte are not structure.
                i += 2;
                max = max.max(now);
                continue;
            }
            b'{' => now += 1,
            b'}' => now = now.saturating_sub(1),
            _ => {}
        }
        max = max.max(now);
        i += 1;
    }
    max
}

/// MathML Core elements (and the few HTML elements math-core puts inside `<mtext>`).
const ELEMENTS: &[&str] = &[
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mmultiscripts",
    "mprescripts",
    "none",
    "mfrac",
    "msqrt",
    "mroot",
    "mtable",
    "mtr",
    "mtd",
    "mstyle",
    "mpadded",
    "mphantom",
    "menclose",
    "merror",
    "b",
    "i",
    "em",
    "code",
    "span",
];

/// Presentation attributes; `style` only with [`safe_style`] values.
const ATTRIBUTES: &[&str] = &[
    "display",
    "displaystyle",
    "scriptlevel",
    "mathvariant",
    "lspace",
    "rspace",
    "stretchy",
    "symmetric",
    "largeop",
    "movablelimits",
    "minsize",
    "maxsize",
    "width",
    "height",
    "depth",
    "voffset",
    "linethickness",
    "accent",
    "accentunder",
    "columnalign",
    "columnspacing",
    "rowspacing",
    "columnlines",
    "rowlines",
    "columnspan",
    "rowspan",
    "notation",
    "class",
    "form",
    "fence",
    "separator",
    "encoding",
    "mathcolor",
    "mathbackground",
    "style",
];

fn safe_style(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"#%.:;, -()".contains(&b))
        && !v.to_ascii_lowercase().contains("url")
        && !v.to_ascii_lowercase().contains("expression")
}

/// Re-serializes converter output keeping only allowlisted elements and attributes, with
/// every `id` dropped; `None` if anything else is in it or it is not well-formed.
pub fn sanitize(mathml: &str) -> Option<String> {
    let mut out = String::with_capacity(mathml.len());
    let mut open: Vec<&str> = Vec::new();
    let mut rest = mathml;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            text(rest, &mut out)?;
            break;
        };
        text(&rest[..lt], &mut out)?;
        rest = &rest[lt + 1..];
        let gt = rest.find('>')?;
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            if open.pop()? != name {
                return None;
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
            continue;
        }
        let (tag, self_closing) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let name_end = tag
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = &tag[..name_end];
        if !ELEMENTS.contains(&name) {
            return None;
        }
        out.push('<');
        out.push_str(name);
        attributes(&tag[name_end..], &mut out)?;
        if self_closing {
            out.push_str("></");
            out.push_str(name);
            out.push('>');
        } else {
            out.push('>');
            open.push(name);
        }
    }
    open.is_empty().then_some(out)
}

/// Text between tags: characters as they are, entities kept only when well-formed.
fn text(s: &str, out: &mut String) -> Option<()> {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        escape(&rest[..amp], out);
        let after = &rest[amp + 1..];
        let end = after.find(';')?;
        let body = &after[..end];
        let ok = match body.strip_prefix('#') {
            Some(n) => match n.strip_prefix(['x', 'X']) {
                Some(h) => {
                    !h.is_empty() && h.len() <= 6 && h.bytes().all(|b| b.is_ascii_hexdigit())
                }
                None => !n.is_empty() && n.len() <= 7 && n.bytes().all(|b| b.is_ascii_digit()),
            },
            None => {
                !body.is_empty()
                    && body.len() <= 32
                    && body.bytes().all(|b| b.is_ascii_alphanumeric())
            }
        };
        if !ok {
            return None;
        }
        out.push('&');
        out.push_str(body);
        out.push(';');
        rest = &after[end + 1..];
    }
    escape(rest, out);
    Some(())
}

/// ` name="value" …`: allowlisted ones kept (values re-escaped), `id` dropped, anything else
/// (an event handler, `href`, an unquoted value) rejects the formula.
fn attributes(mut s: &str, out: &mut String) -> Option<()> {
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Some(());
        }
        let eq = s.find('=')?;
        let name = s[..eq].trim();
        let after = s[eq + 1..].trim_start();
        let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let close = after[1..].find(quote)? + 1;
        let raw = &after[1..close];
        s = &after[close + 1..];
        if name == "id" {
            continue;
        }
        if !ATTRIBUTES.contains(&name) || raw.contains('<') {
            return None;
        }
        // Entities in a value are decoded by the browser: keep only the ones `text` accepts.
        let mut value = String::new();
        text(raw, &mut value)?;
        if name == "style" && !safe_style(raw) {
            return None;
        }
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(&value);
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_mathml() {
        let m = to_mathml(r"\frac{a}{b} + \sqrt{x^2}", false).expect("converted");
        assert!(m.starts_with("<math"), "{m}");
        assert!(m.contains("<mfrac>") && m.contains("<msqrt>"), "{m}");
        let d = to_mathml(r"\sum_{i=1}^n i = \frac{n(n+1)}{2}", true).expect("display");
        assert!(d.contains("display=\"block\""), "{d}");
        let m = to_mathml(r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}", true).unwrap();
        assert!(m.contains("<mtable"), "{m}");
        let m = to_mathml(r"\mathbb{R} \text{ is real}", false).unwrap();
        assert!(m.contains("mtext"), "{m}");
    }

    #[test]
    fn invalid_math_gives_no_mathml_and_never_panics() {
        for bad in [r"\frac{", r"}", r"\begin{pmatrix}", r"x^^", r"\left(", ""] {
            // Either converted to something safe or refused: never a panic.
            if let Some(m) = to_mathml(bad, false) {
                assert!(sanitize(&m).is_some(), "{bad}: {m}");
            }
        }
    }

    #[test]
    fn deep_or_long_formulas_are_not_converted() {
        let deep = format!(
            "{}x{}",
            "{".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(to_mathml(&deep, false), None);
        let sqrt = format!("{}x{}", r"\sqrt{".repeat(600), "}".repeat(600));
        assert_eq!(to_mathml(&sqrt, false), None);
        assert_eq!(to_mathml(&"x+".repeat(MAX_LEN), false), None);
        assert_eq!(depth(r"\{ \} \\ {a}"), 1);
        assert_eq!(depth(r"\left( \left[ x \right] \right)"), 2);
    }

    #[test]
    fn hostile_tex_never_yields_markup_beyond_mathml() {
        for tex in [
            r"\operatorname{<img/src/onerror=alert(1)>} x",
            r"\begin{pmatrix}\operatorname{<img/src/onerror=alert(1)>}\limits_x^y & x\end{pmatrix}",
            r"\text{<script>alert(1)</script>}",
            r"\href{javascript:alert(1)}{x}",
            r"\label{x}\tag{1} y",
            r#"\color{red" onmouseover="alert(1)}{x}"#,
            r"a<b>c",
        ] {
            for display in [false, true] {
                if let Some(m) = to_mathml(tex, display) {
                    let lower = m.to_ascii_lowercase();
                    for bad in [
                        "<img",
                        "<script",
                        "<a ",
                        "href=",
                        "onerror=",
                        "onmouseover=",
                        " id=",
                    ] {
                        assert!(!lower.contains(bad), "{tex}: {m}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_sanitizer_keeps_mathml_and_refuses_the_rest() {
        let ok = concat!(
            r#"<math display="block"><mrow><mi mathvariant="normal">x</mi><mo>&lt;</mo>"#,
            r#"<mn>1</mn><mspace width="1em"/></mrow></math>"#
        );
        let want = concat!(
            r#"<math display="block"><mrow><mi mathvariant="normal">x</mi><mo>&lt;</mo>"#,
            r#"<mn>1</mn><mspace width="1em"></mspace></mrow></math>"#
        );
        assert_eq!(sanitize(ok).as_deref(), Some(want));
        assert_eq!(
            sanitize(r#"<math><mtd id="x"><mi>a</mi></mtd></math>"#).as_deref(),
            Some("<math><mtd><mi>a</mi></mtd></math>")
        );
        for bad in [
            "<math><img src=x onerror=alert(1)></math>",
            r#"<math><mi onclick="x">a</mi></math>"#,
            r##"<math><a href="#x">1</a></math>"##,
            "<math><mi>a</mi>",
            "<math><mi>a</mo></math>",
            r#"<math><mi style="background:url(x)">a</mi></math>"#,
            "<math><mi>&bogus entity;</mi></math>",
            "<math><mi>a</mi></math",
        ] {
            assert_eq!(sanitize(bad), None, "{bad}");
        }
    }
}
