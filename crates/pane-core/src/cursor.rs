//! Event ids (`<stream_id>:<seq>`) and the per-stream replay cursor (§3.5).

use std::fmt;

/// A parsed journal event id. `seq` is per stream, 1-based and contiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    pub stream_id: String,
    pub seq: u64,
}

impl EventId {
    /// Parses `stream:seq`; anything else (empty, no colon, non-numeric seq) is `None`.
    pub fn parse(raw: &str) -> Option<EventId> {
        let (stream, seq) = raw.trim().rsplit_once(':')?;
        if stream.is_empty() {
            return None;
        }
        let seq = seq.parse().ok()?;
        Some(EventId {
            stream_id: stream.to_string(),
            seq,
        })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.stream_id, self.seq)
    }
}

/// How far a session has applied one stream: the last journal seq taken in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Last applied seq; 0 means "nothing yet" (replay from the start).
    pub seq: u64,
    /// The raw id of that frame, sent back as `after_event_id`.
    pub event_id: Option<String>,
}

/// Where an incoming journaled frame stands relative to the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// The next frame (or the first one): apply it.
    Next,
    /// Already applied: drop it.
    Duplicate,
    /// Later than the next expected seq: apply it, but the turn has a hole the saved session
    /// must fill.
    Gap,
}

impl Cursor {
    /// A cursor at `seq` of `stream_id`.
    pub fn at(stream_id: &str, seq: u64) -> Cursor {
        Cursor {
            seq,
            event_id: (seq > 0).then(|| format!("{stream_id}:{seq}")),
        }
    }

    /// Classifies `seq` and moves the cursor when the frame is new.
    pub fn advance(&mut self, id: &EventId) -> Advance {
        if id.seq <= self.seq {
            return Advance::Duplicate;
        }
        let kind = if id.seq == self.seq + 1 {
            Advance::Next
        } else {
            Advance::Gap
        };
        self.seq = id.seq;
        self.event_id = Some(id.to_string());
        kind
    }

    /// The query string that resumes a stream after this cursor (the stock UI's shape).
    pub fn resume_query(&self, stream_id: &str) -> String {
        format!(
            "stream_id={}&replay=1&after_seq={}&after_event_id={}",
            crate::url_encode(stream_id),
            self.seq,
            crate::url_encode(self.event_id.as_deref().unwrap_or(""))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_parse_on_the_last_colon() {
        let id = EventId::parse("1b5988d4a99d4385b1fe6cafbbd671b0:57").unwrap();
        assert_eq!(id.stream_id, "1b5988d4a99d4385b1fe6cafbbd671b0");
        assert_eq!(id.seq, 57);
        assert_eq!(id.to_string(), "1b5988d4a99d4385b1fe6cafbbd671b0:57");
        assert_eq!(EventId::parse("a:b:3").unwrap().stream_id, "a:b");
        for bad in ["", "abc", ":3", "abc:", "abc:x", "abc:-1"] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn cursor_advances_only_forward() {
        let mut c = Cursor::default();
        let id = |s| EventId {
            stream_id: "s".into(),
            seq: s,
        };
        assert_eq!(c.advance(&id(1)), Advance::Next);
        assert_eq!(c.advance(&id(1)), Advance::Duplicate);
        assert_eq!(c.advance(&id(3)), Advance::Gap);
        assert_eq!(c.advance(&id(2)), Advance::Duplicate);
        assert_eq!(c.seq, 3);
        assert_eq!(c.event_id.as_deref(), Some("s:3"));
        assert_eq!(
            c.resume_query("s"),
            "stream_id=s&replay=1&after_seq=3&after_event_id=s%3A3"
        );
    }
}
