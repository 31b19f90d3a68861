//! Images and media in a reply: which references the pane shows inline, and how.
//!
//! A reference is a markdown image (`![alt](url)`) or the agent's `MEDIA:<path>` token. The
//! pane fetches only from its own origin: a local path (absolute, `~/…` or `file://…`) is
//! shown through the backend's `api/media?path=…&session_id=…`, which applies the session's
//! path rules (the backend refuses what it must not serve, and the pane shows a placeholder);
//! a raster `data:image/…` up to [`DATA_IMAGE_MAX`] is shown as it is. Anything else — an
//! off-origin `http(s)` URL (a tracking pixel, a hot-linked picture), `javascript:`, an SVG or
//! HTML `data:` URI — is never fetched: it stays a link (`http(s)`) or inert text. The CSP
//! (`img-src 'self' data:`) holds the same line in the browser.

use crate::markdown::escape;

/// The largest `data:image/…` URI shown inline (as the stock UI: 2 MiB).
pub const DATA_IMAGE_MAX: usize = 2 * 1024 * 1024;

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path on the backend's machine, served by `api/media` if its rules allow.
    Local(String),
    /// A raster image inlined as a `data:` URI.
    Data(String),
    /// An `http(s)` URL: never fetched, shown as a link.
    Remote(String),
    /// Nothing the pane follows (`javascript:`, SVG/HTML `data:`, other schemes, relative
    /// references in markdown): shown as text.
    Blocked,
}

/// What a local file is, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Audio,
    Video,
    File,
}

/// The kind of `path` by its extension (the stock UI's lists; SVG is a file: the backend
/// serves it only as a download).
pub fn kind_of(path: &str) -> Kind {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "bmp" | "ico" | "avif" => Kind::Image,
        "mp3" | "ogg" | "wav" | "m4a" | "aac" | "flac" | "opus" | "oga" => Kind::Audio,
        "mp4" | "webm" | "mkv" | "mov" | "m4v" | "ogv" => Kind::Video,
        _ => Kind::File,
    }
}

/// Where `reference` points. `token`: it came from a `MEDIA:` token, where a relative path is
/// the backend's (as the stock UI sends it); in markdown a relative reference is text.
pub fn classify(reference: &str, token: bool) -> Source {
    let r = reference.trim();
    let lower = r.to_ascii_lowercase();
    if lower.starts_with("data:") {
        return if safe_data_image(r) {
            Source::Data(r.to_string())
        } else {
            Source::Blocked
        };
    }
    if let Some(rest) = lower.strip_prefix("file://") {
        // `file:///tmp/a.png` → `/tmp/a.png`; a host part (`file://host/…`) is not ours.
        let path = &r[r.len() - rest.len()..];
        return match path.starts_with('/') {
            true => Source::Local(percent_decode(path)),
            false => Source::Blocked,
        };
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Source::Remote(r.to_string());
    }
    if r.is_empty() || r.chars().any(|c| c.is_control()) {
        return Source::Blocked;
    }
    let windows_drive =
        r.len() > 2 && r.as_bytes()[1] == b':' && r.as_bytes()[0].is_ascii_alphabetic();
    // `//host/…` is a URL without its scheme, not a path.
    if (r.starts_with('/') && !r.starts_with("//")) || r.starts_with("~/") || windows_drive {
        return Source::Local(r.to_string());
    }
    // `javascript:…`, `mailto:…`, any other scheme.
    let scheme = r.find(':').is_some_and(|i| !r[..i].contains('/'));
    if token && !scheme && !r.starts_with("//") {
        Source::Local(r.to_string())
    } else {
        Source::Blocked
    }
}

/// A raster `data:image/…` URI of safe characters, within the size cap (no SVG: it can carry
/// script, and the backend never serves SVG inline either).
fn safe_data_image(uri: &str) -> bool {
    if uri.len() > DATA_IMAGE_MAX {
        return false;
    }
    let lower = uri.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("data:image/") else {
        return false;
    };
    let Some((mime, data)) = rest.split_once(',') else {
        return false;
    };
    let mime = mime.strip_suffix(";base64").unwrap_or(mime);
    matches!(mime, "png" | "jpeg" | "jpg" | "gif" | "webp" | "avif")
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=%-_.".contains(&b))
}

/// Percent-decodes a `file://` path (invalid sequences are kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `encodeURIComponent`.
pub fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Where media of one session are fetched from: the backend root (the pane's API base,
/// ending in `/`) and the session whose path rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaCtx<'a> {
    pub base: &'a str,
    pub session: &'a str,
}

impl MediaCtx<'_> {
    /// `api/media?path=…&session_id=…` (`inline`: play audio/video in place rather than
    /// download).
    pub fn url(&self, path: &str, inline: bool) -> String {
        let mut u = format!("{}api/media?path=", self.base);
        percent_encode(path, &mut u);
        if !self.session.is_empty() {
            u.push_str("&session_id=");
            percent_encode(self.session, &mut u);
        }
        if inline {
            u.push_str("&inline=1");
        }
        u
    }
}

/// The file name of a path, for labels.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or(path)
}

/// The HTML for a reference: an inline image, player or download link from this origin; a
/// link for an off-origin URL (never fetched); text for anything else. `alt` is the image's
/// description (the file name when empty). Every value is escaped.
pub fn html(ctx: &MediaCtx, reference: &str, alt: &str, token: bool) -> String {
    let mut out = String::new();
    match classify(reference, token) {
        Source::Local(path) => {
            let name = file_name(&path);
            let alt = if alt.trim().is_empty() { name } else { alt };
            match kind_of(&path) {
                Kind::Image => {
                    let url = ctx.url(&path, false);
                    // The link opens the picture at full size; the picture itself is capped.
                    out.push_str("<a class=\"media-open\" href=\"");
                    escape(&url, &mut out);
                    out.push_str(
                        "\" target=\"_blank\" rel=\"noopener\" title=\"Open full size\">\
                         <img class=\"media-img\" data-testid=\"media-image\" loading=\"lazy\" \
                         decoding=\"async\" src=\"",
                    );
                    escape(&url, &mut out);
                    out.push_str("\" alt=\"");
                    escape(alt, &mut out);
                    out.push_str("\"></a>");
                }
                kind @ (Kind::Audio | Kind::Video) => {
                    let tag = if kind == Kind::Audio {
                        "audio"
                    } else {
                        "video"
                    };
                    out.push('<');
                    out.push_str(tag);
                    out.push_str(" class=\"media-player\" data-testid=\"media-");
                    out.push_str(tag);
                    out.push_str("\" controls preload=\"metadata\" src=\"");
                    escape(&ctx.url(&path, true), &mut out);
                    out.push_str("\" aria-label=\"");
                    escape(alt, &mut out);
                    out.push_str("\"></");
                    out.push_str(tag);
                    out.push('>');
                }
                Kind::File => {
                    out.push_str("<a class=\"media-file\" data-testid=\"media-file\" href=\"");
                    escape(&ctx.url(&path, false), &mut out);
                    out.push_str("\" download=\"");
                    escape(name, &mut out);
                    out.push_str("\">📎 ");
                    escape(name, &mut out);
                    out.push_str("</a>");
                }
            }
        }
        Source::Data(uri) => {
            out.push_str(
                "<img class=\"media-img\" data-testid=\"media-image\" loading=\"lazy\" src=\"",
            );
            escape(&uri, &mut out);
            out.push_str("\" alt=\"");
            escape(if alt.trim().is_empty() { "image" } else { alt }, &mut out);
            out.push_str("\">");
        }
        Source::Remote(url) => {
            out.push_str("<a class=\"image-link\" href=\"");
            escape(&url, &mut out);
            out.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\">[image: ");
            escape(if alt.trim().is_empty() { &url } else { alt }, &mut out);
            out.push_str("]</a>");
        }
        Source::Blocked => {
            out.push_str("<span class=\"blocked-link\">[image: ");
            let shown: String = if alt.trim().is_empty() {
                reference.chars().take(64).collect()
            } else {
                alt.to_string()
            };
            escape(&shown, &mut out);
            out.push_str("]</span>");
        }
    }
    out
}

/// A piece of text: prose, or a `MEDIA:` token's reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Media(&'a str),
}

/// Splits `text` at the agent's `MEDIA:<path>` tokens (the reference runs to whitespace, `)`
/// or `]`; trailing sentence punctuation is not part of it). `open_end`: the text may still
/// grow (a streaming reply), so a token that reaches its end stays text until it is complete.
pub fn pieces(text: &str, open_end: bool) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("MEDIA:") {
        let after = &rest[at + 6..];
        let len = after
            .find(|c: char| c.is_whitespace() || c == ')' || c == ']')
            .unwrap_or(after.len());
        let reaches_end = len == after.len();
        let mut reference = &after[..len];
        reference = reference.trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'']);
        // A word like `XMEDIA:` is not a token.
        let glued = rest[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if reference.is_empty() || glued || (open_end && reaches_end) {
            let upto = at + 6;
            out.push(Piece::Text(&rest[..upto]));
            rest = &rest[upto..];
            continue;
        }
        if at > 0 {
            out.push(Piece::Text(&rest[..at]));
        }
        out.push(Piece::Media(reference));
        rest = &after[reference.len()..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    // Adjacent text pieces read as one.
    let mut merged: Vec<Piece> = Vec::with_capacity(out.len());
    for p in out {
        match (merged.last_mut(), p) {
            (Some(Piece::Text(a)), Piece::Text(b)) => {
                // Both are slices of `text`, one right after the other.
                let start = a.as_ptr() as usize - text.as_ptr() as usize;
                *a = &text[start..start + a.len() + b.len()];
            }
            (_, p) => merged.push(p),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: MediaCtx = MediaCtx {
        base: "/",
        session: "s1",
    };

    #[test]
    fn local_paths_go_through_the_backends_media_endpoint_with_the_session() {
        assert_eq!(
            classify("/tmp/a.png", false),
            Source::Local("/tmp/a.png".into())
        );
        assert_eq!(
            classify("file:///tmp/my%20pic.png", false),
            Source::Local("/tmp/my pic.png".into())
        );
        assert_eq!(classify("~/x.png", false), Source::Local("~/x.png".into()));
        assert_eq!(
            CTX.url("/tmp/my pic.png", false),
            "/api/media?path=%2Ftmp%2Fmy%20pic.png&session_id=s1"
        );
        let h = html(&CTX, "/tmp/a.png", "", true);
        assert!(h.contains("<img class=\"media-img\""), "{h}");
        assert!(
            h.contains("src=\"/api/media?path=%2Ftmp%2Fa.png&amp;session_id=s1\""),
            "{h}"
        );
        assert!(h.contains("loading=\"lazy\""));
        assert!(h.contains("alt=\"a.png\""));
    }

    #[test]
    fn off_origin_urls_are_never_fetched_only_linked() {
        let h = html(&CTX, "https://evil.example/pixel.png", "x", false);
        assert!(!h.contains("<img"), "{h}");
        assert!(h.contains("href=\"https://evil.example/pixel.png\""));
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:image/svg+xml;base64,PHN2Zz4=",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "//evil.example/a.png",
        ] {
            let h = html(&CTX, bad, "", false);
            assert!(!h.contains("<img") && !h.contains("href="), "{bad}: {h}");
            assert!(!h.contains("<script"), "{bad}: {h}");
        }
    }

    #[test]
    fn a_raster_data_image_is_shown_within_its_cap() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        assert_eq!(classify(png, false), Source::Data(png.into()));
        let huge = format!("data:image/png;base64,{}", "A".repeat(DATA_IMAGE_MAX));
        assert_eq!(classify(&huge, false), Source::Blocked);
        assert_eq!(
            classify("data:image/png;base64,\"><script>", false),
            Source::Blocked
        );
    }

    #[test]
    fn kinds_follow_the_extension() {
        assert_eq!(kind_of("/a/B.PNG"), Kind::Image);
        assert_eq!(kind_of("/a/b.mp3"), Kind::Audio);
        assert_eq!(kind_of("/a/b.mp4"), Kind::Video);
        assert_eq!(kind_of("/a/b.svg"), Kind::File);
        assert_eq!(kind_of("/a/report"), Kind::File);
        let h = html(&CTX, "/w/notes.pdf", "", true);
        assert!(
            h.contains("download=\"notes.pdf\"") && !h.contains("<img"),
            "{h}"
        );
        let h = html(&CTX, "/w/a.mp4", "", true);
        assert!(h.contains("<video") && h.contains("inline=1"), "{h}");
    }

    #[test]
    fn media_tokens_split_from_prose_and_wait_for_their_end_while_streaming() {
        assert_eq!(
            pieces("Here: MEDIA:/tmp/a.png. Done", false),
            vec![
                Piece::Text("Here: "),
                Piece::Media("/tmp/a.png"),
                Piece::Text(". Done")
            ]
        );
        assert_eq!(
            pieces("(MEDIA:/tmp/a.png)", false),
            vec![
                Piece::Text("("),
                Piece::Media("/tmp/a.png"),
                Piece::Text(")")
            ]
        );
        assert_eq!(
            pieces("see MEDIA:/tmp/a.p", true),
            vec![Piece::Text("see MEDIA:/tmp/a.p")]
        );
        assert_eq!(
            pieces("see MEDIA:/tmp/a.png", false),
            vec![Piece::Text("see "), Piece::Media("/tmp/a.png")]
        );
        assert_eq!(
            pieces("XMEDIA:/a.png", false),
            vec![Piece::Text("XMEDIA:/a.png")]
        );
        assert_eq!(
            pieces("MEDIA: nothing", false),
            vec![Piece::Text("MEDIA: nothing")]
        );
    }

    #[test]
    fn hostile_names_are_escaped() {
        let h = html(&CTX, "/tmp/\"><script>alert(1)</script>.png", "", true);
        assert!(!h.contains("<script"), "{h}");
        let h = html(&CTX, "/tmp/a.png", "\"><img src=x onerror=alert(1)>", true);
        assert!(!h.contains("<img src=x"), "{h}");
    }
}
