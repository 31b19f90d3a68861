//! What a URL path (relative to where the pane is mounted) shows. Two routes and a fallback do
//! not need a router: this is the whole of it, and the URL stays the source of the active pane.

use crate::url_encode;

/// The page a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: no session shown (welcome + a composer that starts one).
    Home,
    /// `/session/:id`: that session.
    Session(String),
    /// Anything else.
    NotFound,
}

impl Route {
    /// Reads a path relative to the mount (`""`, `"session/abc"`; a leading `/` is ignored).
    /// The id is percent-decoded; an empty or undecodable id is not a session.
    pub fn parse(path: &str) -> Route {
        let path = path.trim_start_matches('/');
        if path.is_empty() || path == "index.html" {
            return Route::Home;
        }
        match path.strip_prefix("session/") {
            Some(id) if !id.is_empty() && !id.contains('/') => match url_decode(id) {
                Some(id) if !id.is_empty() => Route::Session(id),
                _ => Route::NotFound,
            },
            _ => Route::NotFound,
        }
    }

    /// The path of this route, relative to the mount (inverse of [`Route::parse`]).
    pub fn path(&self) -> String {
        match self {
            Route::Home | Route::NotFound => String::new(),
            Route::Session(id) => format!("session/{}", url_encode(id)),
        }
    }

    /// The session this route shows, if any.
    pub fn session(&self) -> Option<&str> {
        match self {
            Route::Session(id) => Some(id),
            _ => None,
        }
    }
}

/// Percent-decodes a path segment (`None` for a bad escape or bytes that are not UTF-8).
pub fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_index_are_home() {
        assert_eq!(Route::parse(""), Route::Home);
        assert_eq!(Route::parse("/"), Route::Home);
        assert_eq!(Route::parse("index.html"), Route::Home);
    }

    #[test]
    fn session_ids_round_trip_through_the_path() {
        for id in ["20260501_abc", "a b/c?d#e%f", "ü-ñ", "x"] {
            let r = Route::Session(id.to_string());
            assert_eq!(Route::parse(&r.path()), r, "{id}");
            assert_eq!(Route::parse(&format!("/{}", r.path())), r, "{id}");
        }
    }

    #[test]
    fn anything_else_is_not_found() {
        for p in [
            "session",
            "session/",
            "session/a/b",
            "sessions/a",
            "session/%zz",
            "session/%ff",
            "x",
        ] {
            assert_eq!(Route::parse(p), Route::NotFound, "{p}");
        }
    }
}
