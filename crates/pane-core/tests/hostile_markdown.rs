//! A corpus of hostile markdown: the rendered HTML carries no executable markup. Every tag and
//! attribute in the output is checked against an allowlist, and every URL against the schemes
//! the pane follows.

use pane_core::markdown::{render, render_blocks};

const PAYLOADS: &[&str] = &[
    "<script>window.__pwned=1</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=\"window.__pwned=1\">",
    "<img src=x onerror=window.__pwned=1//",
    "<svg onload=window.__pwned=1>",
    "<svg><script>window.__pwned=1</script></svg>",
    "<body onload=window.__pwned=1>",
    "<iframe src=\"javascript:window.__pwned=1\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__pwned=1</script>\">",
    "<object data=\"javascript:window.__pwned=1\">",
    "<embed src=\"javascript:window.__pwned=1\">",
    "<a href=\"javascript:window.__pwned=1\">x</a>",
    "<a href=javascript:window.__pwned=1>x</a>",
    "<div onclick=\"window.__pwned=1\">click</div>",
    "<div onmouseover=window.__pwned=1>hover</div>",
    "<details open ontoggle=window.__pwned=1>",
    "<input autofocus onfocus=window.__pwned=1>",
    "<select autofocus onfocus=window.__pwned=1>",
    "<textarea autofocus onfocus=window.__pwned=1>",
    "<video><source onerror=\"window.__pwned=1\">",
    "<audio src=x onerror=window.__pwned=1>",
    "<marquee onstart=window.__pwned=1>",
    "<style>@import 'javascript:window.__pwned=1';</style>",
    "<link rel=stylesheet href=javascript:window.__pwned=1>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__pwned=1\">",
    "<base href=\"javascript:/\">",
    "<form action=javascript:window.__pwned=1><button>go</button></form>",
    "<math><mi xlink:href=\"javascript:window.__pwned=1\">x</mi></math>",
    "<table background=\"javascript:window.__pwned=1\">",
    "<scr<script>ipt>window.__pwned=1</scr</script>ipt>",
    "<<script>script>window.__pwned=1<</script>/script>",
    "<script\n>window.__pwned=1</script\n>",
    "<!--<script>-->window.__pwned=1<!--</script>-->",
    "<![CDATA[<script>window.__pwned=1</script>]]>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__pwned=1>\">",
    "<template><script>window.__pwned=1</script></template>",
    "\"><script>window.__pwned=1</script>",
    "'><img src=x onerror=window.__pwned=1>",
    "[x](javascript:window.__pwned=1)",
    "[x](JaVaScRiPt:window.__pwned=1)",
    "[x](  javascript:window.__pwned=1  )",
    "[x](java\tscript:window.__pwned=1)",
    "[x](&#106;avascript:window.__pwned=1)",
    "[x](&#x6A;avascript&#x3A;window.__pwned=1)",
    "[x](javascript&colon;window.__pwned=1)",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example)",
    "[x](https://ok.example \"title\\\" onmouseover=\\\"window.__pwned=1\")",
    "[x](https://ok.example\" onmouseover=\"window.__pwned=1)",
    "[x][ref]\n\n[ref]: javascript:window.__pwned=1",
    "![img](javascript:window.__pwned=1)",
    "![img\" onerror=\"window.__pwned=1](https://x.example/a.png)",
    "![img](https://x.example/a.png\"onerror=\"window.__pwned=1)",
    "<javascript:window.__pwned=1>",
    "<https://ok.example/\"onmouseover=\"window.__pwned=1>",
    "<mailto:a@b.c?subject=\"><script>window.__pwned=1</script>>",
    "```html\n<script>window.__pwned=1</script>\n```",
    "```\"><script>window.__pwned=1</script>\nx\n```",
    "``` onload=window.__pwned=1\ncode\n```",
    "    <script>window.__pwned=1</script>",
    "`<script>window.__pwned=1</script>`",
    "| a | b |\n|---|---|\n| <script>window.__pwned=1</script> | <img src=x \
     onerror=window.__pwned=1> |",
    "- [ ] <img src=x onerror=window.__pwned=1>",
    "> <iframe src=javascript:window.__pwned=1>",
    "# <svg onload=window.__pwned=1>",
    "**<img src=x onerror=window.__pwned=1>**",
    "~~<script>window.__pwned=1</script>~~",
    "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
    "&#60;script&#62;window.__pwned=1&#60;/script&#62;",
    "&#x3C;img src=x onerror=window.__pwned=1&#x3E;",
    "\u{0}<script>window.__pwned=1</script>",
    "<scrİpt>window.__pwned=1</scrİpt>",
    "<div style=\"background:url(javascript:window.__pwned=1)\">",
    "<p style=\"x:expression(window.__pwned=1)\">",
    "<unclosed <script>window.__pwned=1",
    "<div><div><div><script>window.__pwned=1",
    "<a href=\"https://ok.example\" onclick=\"window.__pwned=1\">ok</a>",
    "<x-foo onclick=window.__pwned=1>custom</x-foo>",
    "[a](https://ok.example)<script>window.__pwned=1</script>",
    "<img src=\"x\" onerror=\"&#119;indow.__pwned=1\">",
    "<svg><a xlink:href=\"javascript:window.__pwned=1\"><text>x</text></a></svg>",
    "<isindex type=image src=1 onerror=window.__pwned=1>",
    "<keygen autofocus onfocus=window.__pwned=1>",
    "<frameset onload=window.__pwned=1>",
    "<applet code=\"javascript:window.__pwned=1\">",
    "<portal src=javascript:window.__pwned=1>",
    "<dialog open onclose=window.__pwned=1>",
    "[<img src=x onerror=window.__pwned=1>](https://ok.example)",
    "[x](<javascript:window.__pwned=1>)",
    "[x]( https://ok.example )",
    "*[x](javascript:window.__pwned=1)*",
    "<https://ok.example/<script>>",
    "www.evil.example/<script>window.__pwned=1</script>",
    "\\<script>window.__pwned=1\\</script>",
    "<b onmouseover=window.__pwned=1>bold</b>",
    "<img/src=x/onerror=window.__pwned=1>",
    "<svg/onload=window.__pwned=1>",
    "<script/src=data:,window.__pwned=1></script>",
    "<iframe/src=\"data:text/html,<script>parent.__pwned=1</script>\">",
];

/// A minimal HTML scanner: yields `(tag name, attributes)` for every start tag.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off + 1;
        let end = html[start..]
            .find('>')
            .map(|e| start + e)
            .expect("every `<` in output opens a tag that closes");
        let inner = &html[start..end];
        i = end + 1;
        if inner.starts_with('/') {
            continue;
        }
        let mut parts = inner.splitn(2, |c: char| c.is_whitespace());
        let name = parts.next().unwrap().to_ascii_lowercase();
        let mut attrs = Vec::new();
        let rest = parts.next().unwrap_or("");
        let mut r = rest.trim().trim_end_matches('/').trim_end();
        while !r.is_empty() {
            let eq = r.find('=');
            let sp = r.find(char::is_whitespace);
            match (eq, sp) {
                (Some(e), s) if s.is_none_or(|s| e < s) => {
                    let key = r[..e].trim().to_ascii_lowercase();
                    let after = &r[e + 1..];
                    assert!(
                        after.starts_with('"'),
                        "unquoted attribute value in {inner}"
                    );
                    let close = after[1..].find('"').expect("closed quote") + 1;
                    attrs.push((key, after[1..close].to_string()));
                    r = after[close + 1..].trim_start();
                }
                _ => {
                    let end = sp.unwrap_or(r.len());
                    attrs.push((
                        r[..end].trim_end_matches('/').to_ascii_lowercase(),
                        String::new(),
                    ));
                    r = r[end..].trim_start();
                }
            }
        }
        out.push((name, attrs));
    }
    out
}

const ALLOWED_TAGS: &[&str] = &[
    "p",
    "a",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "input",
    "div",
    "span",
    "button",
];
const ALLOWED_ATTRS: &[&str] = &[
    "href",
    "rel",
    "target",
    "class",
    "data-testid",
    "type",
    "disabled",
    "checked",
    "start",
    "title",
    "aria-label",
];

fn assert_inert(src: &str, html: &str) {
    for (name, attrs) in tags(html) {
        assert!(
            ALLOWED_TAGS.contains(&name.as_str()),
            "tag <{name}> from {src:?}:\n{html}"
        );
        for (k, v) in attrs {
            assert!(
                ALLOWED_ATTRS.contains(&k.as_str()),
                "attribute {k} on <{name}> from {src:?}:\n{html}"
            );
            assert!(!k.starts_with("on"), "event handler {k} from {src:?}");
            if k == "href" {
                let l = v.to_ascii_lowercase();
                assert!(
                    l.starts_with("http://")
                        || l.starts_with("https://")
                        || l.starts_with("mailto:"),
                    "href {v} from {src:?}"
                );
            }
            if k == "type" {
                assert!(v == "checkbox" || v == "button", "type {v} from {src:?}");
            }
            if name == "a" && k == "target" {
                assert_eq!(v, "_blank");
            }
        }
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{src:?}");
}

#[test]
fn corpus_is_large_enough() {
    assert!(PAYLOADS.len() >= 100, "{} payloads", PAYLOADS.len());
}

#[test]
fn hostile_markdown_renders_with_no_executable_markup() {
    for p in PAYLOADS {
        for src in [
            p.to_string(),
            format!("Intro text\n\n{p}\n\nOutro"),
            format!("- item {p}"),
            format!("> {p}"),
            format!("a {p} b"),
        ] {
            let html = render(&src);
            assert_inert(&src, &html);
            for block in render_blocks(&src) {
                assert_inert(&src, &block);
            }
        }
    }
}

#[test]
fn hostile_text_is_shown_not_dropped() {
    let html = render("<script>window.__pwned=1</script>");
    assert!(
        html.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"),
        "{html}"
    );
    let html = render("[click](javascript:window.__pwned=1)");
    assert!(html.contains("click"), "{html}");
}

#[test]
fn every_link_in_the_output_is_noopener() {
    for p in PAYLOADS {
        let html = render(p);
        for (name, attrs) in tags(&html) {
            if name == "a" {
                assert!(
                    attrs
                        .iter()
                        .any(|(k, v)| k == "rel" && v == "noopener noreferrer"),
                    "{p}: {html}"
                );
            }
        }
    }
}

/// Payloads aimed at the images, media and math the session renderers show.
const MEDIA_MATH: &[&str] = &[
    "MEDIA:javascript:window.__pwned=1",
    "MEDIA:/tmp/a.png\"onerror=\"window.__pwned=1",
    "MEDIA:/tmp/\"><script>window.__pwned=1</script>.png",
    "MEDIA:https://evil.example/track.png",
    "MEDIA://evil.example/track.png",
    "MEDIA:data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9J3dpbmRvdy5fX3B3bmVkPTEnLz4=",
    "MEDIA:data:text/html,<script>window.__pwned=1</script>",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9J3dpbmRvdy5fX3B3bmVkPTEnLz4=)",
    "![x](data:image/png;base64,AAAA\"onerror=\"window.__pwned=1)",
    "![x](https://evil.example/pixel.png)",
    "![x](//evil.example/pixel.png)",
    "![x](file:///etc/passwd)",
    "![x\" onerror=\"window.__pwned=1](/tmp/a.png)",
    "![<img src=x onerror=window.__pwned=1>](/tmp/a.mp4)",
    "$\\operatorname{<img src=x onerror=window.__pwned=1>} x$",
    "$$\\begin{pmatrix}\\operatorname{<img/src/onerror=window.__pwned=1>}\\limits_x^y & \
     x\\end{pmatrix}$$",
    "$\\href{javascript:window.__pwned=1}{x}$",
    "$\\text{<script>window.__pwned=1</script>}$",
    "$\\label{x}\\tag{1} y$",
    "\\(\\color{red\" onmouseover=\"window.__pwned=1}{x}\\)",
    "\\[a<b>c\\]",
    "<math href=\"javascript:window.__pwned=1\"><mi>x</mi></math>",
];

const MEDIA_TAGS: &[&str] = &[
    "img",
    "audio",
    "video",
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
];
const MEDIA_ATTRS: &[&str] = &[
    "src",
    "alt",
    "loading",
    "decoding",
    "download",
    "controls",
    "preload",
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
    "notation",
    "form",
    "fence",
    "separator",
    "encoding",
    "style",
];

/// Like [`assert_inert`], with what the session renderers add: same-origin media
/// (`/api/media?…`, raster `data:` images) and sanitized MathML. Nothing points off-origin
/// but a link, and no `src` is ever off-origin.
fn assert_inert_media(src: &str, html: &str) {
    for (name, attrs) in tags(html) {
        assert!(
            ALLOWED_TAGS.contains(&name.as_str()) || MEDIA_TAGS.contains(&name.as_str()),
            "tag <{name}> from {src:?}:\n{html}"
        );
        for (k, v) in attrs {
            assert!(
                ALLOWED_ATTRS.contains(&k.as_str()) || MEDIA_ATTRS.contains(&k.as_str()),
                "attribute {k} on <{name}> from {src:?}:\n{html}"
            );
            let l = v.to_ascii_lowercase();
            if k == "href" {
                assert!(
                    l.starts_with("http://")
                        || l.starts_with("https://")
                        || l.starts_with("mailto:")
                        || l.starts_with("/api/media?"),
                    "href {v} from {src:?}"
                );
            }
            if k == "src" {
                assert!(
                    l.starts_with("/api/media?")
                        || l.starts_with("data:image/png")
                        || l.starts_with("data:image/jpeg"),
                    "src {v} from {src:?}: only this origin's media"
                );
            }
            if k == "style" {
                assert!(!l.contains("url") && !l.contains("expression"), "{v}");
            }
        }
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{src:?}");
}

#[test]
fn hostile_media_and_math_render_inert_with_the_session_renderers() {
    use pane_core::markdown::{render_with, RenderCtx};
    use pane_core::media::MediaCtx;
    let math = |tex: &str, display: bool| pane_core::math::to_mathml(tex, display);
    let ctx = RenderCtx {
        media: Some(MediaCtx {
            base: "/",
            session: "s\"><script>",
        }),
        math: Some(&math),
        open_end: false,
    };
    let huge = format!(
        "![x](data:image/png;base64,{})",
        "A".repeat(3 * 1024 * 1024)
    );
    let all = PAYLOADS
        .iter()
        .chain(MEDIA_MATH)
        .map(|p| p.to_string())
        .chain([huge]);
    for p in all {
        for src in [
            p.clone(),
            format!("Intro\n\n{p}\n\nOutro"),
            format!("a {p} b"),
        ] {
            let html = render_with(&src, &ctx);
            assert_inert_media(&src, &html);
            let open = RenderCtx {
                open_end: true,
                ..ctx
            };
            assert_inert_media(&src, &render_with(&src, &open));
        }
    }
}
