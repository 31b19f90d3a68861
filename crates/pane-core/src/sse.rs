//! A byte-stream → SSE frame parser following the WHATWG EventSource algorithm. The browser
//! uses its own `EventSource`; this one reads fixtures, the stand-in's output in tests, and
//! whatever a native client needs.

/// One dispatched SSE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The last event id *at dispatch* (it persists across frames, like
    /// `MessageEvent.lastEventId`).
    pub last_event_id: String,
    /// Whether this frame carried its own `id:` line.
    pub had_id: bool,
    /// `event:` or `"message"`.
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

/// What the parser yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    Frame(RawFrame),
    /// A `:` comment line (heartbeats), without the colon.
    Comment(String),
    /// A `retry:` value in ms.
    Retry(u64),
}

/// Incremental parser: feed text chunks as they arrive.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: String,
    last_event_id: String,
    event: String,
    data: String,
    has_data: bool,
    had_id: bool,
    started: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds a chunk; returns every item completed by it.
    pub fn push(&mut self, chunk: &str) -> Vec<SseItem> {
        self.buf.push_str(chunk);
        if !self.started && !self.buf.is_empty() {
            self.started = true;
            if let Some(rest) = self.buf.strip_prefix('\u{feff}') {
                self.buf = rest.to_string();
            }
        }
        let mut out = Vec::new();
        while let Some(pos) = self.buf.find(['\n', '\r']) {
            // A lone CR at the end of the buffer may be the first half of CRLF.
            if self.buf.as_bytes()[pos] == b'\r' && pos + 1 == self.buf.len() {
                break;
            }
            let line = self.buf[..pos].to_string();
            let skip = if self.buf[pos..].starts_with("\r\n") {
                2
            } else {
                1
            };
            self.buf.drain(..pos + skip);
            self.line(&line, &mut out);
        }
        out
    }

    /// Flushes at end of stream (an unterminated final event is dropped, per the spec).
    pub fn finish(&mut self) -> Vec<SseItem> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let rest = rest.trim_end_matches('\r').to_string();
            self.line(&rest, &mut out);
        }
        out
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseItem>) {
        if line.is_empty() {
            if self.has_data {
                out.push(SseItem::Frame(RawFrame {
                    last_event_id: self.last_event_id.clone(),
                    had_id: self.had_id,
                    event: if self.event.is_empty() {
                        "message".into()
                    } else {
                        std::mem::take(&mut self.event)
                    },
                    data: std::mem::take(&mut self.data),
                }));
            }
            self.event.clear();
            self.data.clear();
            self.has_data = false;
            self.had_id = false;
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            out.push(SseItem::Comment(
                comment.strip_prefix(' ').unwrap_or(comment).to_string(),
            ));
            return;
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => {
                self.last_event_id = value.to_string();
                self.had_id = true;
            }
            "retry" => {
                if let Ok(ms) = value.parse() {
                    out.push(SseItem::Retry(ms));
                }
            }
            _ => {}
        }
    }
}

/// Parses a whole SSE body at once.
pub fn parse_all(body: &str) -> Vec<SseItem> {
    let mut p = SseParser::new();
    let mut items = p.push(body);
    items.extend(p.finish());
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_persisting_last_event_id() {
        let items = parse_all(
            "id: s:1\nevent: token\ndata: {\"text\":\"a\"}\n\n: heartbeat\n\nevent: cancel\n\
             data: {}\n\n",
        );
        let frames: Vec<_> = items
            .iter()
            .filter_map(|i| {
                if let SseItem::Frame(f) = i {
                    Some(f)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].last_event_id, "s:1");
        assert!(frames[0].had_id);
        assert_eq!(
            frames[1].last_event_id, "s:1",
            "an id-less frame reuses the previous id"
        );
        assert!(!frames[1].had_id);
        assert!(items.contains(&SseItem::Comment("heartbeat".into())));
    }

    #[test]
    fn chunk_boundaries_and_crlf_do_not_matter() {
        let body = "id: s:1\r\nevent: token\r\ndata: {\"text\":\"x\"}\r\n\r\n";
        let whole = parse_all(body);
        let mut p = SseParser::new();
        let mut pieces = Vec::new();
        for ch in body.chars() {
            pieces.extend(p.push(&ch.to_string()));
        }
        pieces.extend(p.finish());
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 1);
    }

    #[test]
    fn multi_line_data_joins_with_newlines_and_empty_frames_are_not_dispatched() {
        let items = parse_all("data: a\ndata: b\n\nid: s:9\n\n");
        assert_eq!(
            items,
            vec![SseItem::Frame(RawFrame {
                last_event_id: String::new(),
                had_id: false,
                event: "message".into(),
                data: "a\nb".into()
            })]
        );
    }
}
