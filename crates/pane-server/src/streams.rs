//! Stream channels: a journal per stream, fan-out to every subscriber, replay cursors with the
//! contract's precedence (§3.2, §3.4, §3.5), and the three server paths — live, finished
//! (replay then close, with a synthetic `interrupted` when the journal has no terminal row),
//! unknown (404).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::response::sse::Event;
use futures::Stream;
use serde_json::json;
use tokio::sync::watch;

use crate::store::JournalRow;

/// Events after which the server closes the connection.
pub fn is_relay_close(event: &str) -> bool {
    matches!(event, "stream_end" | "cancel" | "apperror" | "error")
}

/// A frame on a channel.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The id's seq: its own for journaled frames, the previous one otherwise.
    pub seq: u64,
    pub journaled: bool,
    pub event: String,
    pub data: String,
}

/// One stream's channel.
#[derive(Debug)]
pub struct Channel {
    pub session_id: String,
    pub stream_id: String,
    pub frames: Vec<Frame>,
    /// The worker still runs (upstream: the id is in `STREAMS`).
    pub live: bool,
    /// Where a subscriber without a cursor starts: the offline buffer (cleared by a live
    /// broadcast).
    pub buffer_start: usize,
    pub subscribers: usize,
    /// Set by cancel (not a journal row upstream).
    pub terminal_state: Option<String>,
    tx: watch::Sender<usize>,
}

impl Channel {
    pub fn new(session_id: &str, stream_id: &str) -> Channel {
        Channel {
            session_id: session_id.into(),
            stream_id: stream_id.into(),
            frames: Vec::new(),
            live: true,
            buffer_start: 0,
            subscribers: 0,
            terminal_state: None,
            tx: watch::channel(0).0,
        }
    }

    /// A finished channel rebuilt from a journal on disk.
    pub fn from_journal(session_id: &str, stream_id: &str, rows: Vec<JournalRow>) -> Channel {
        let mut c = Channel::new(session_id, stream_id);
        c.frames = rows
            .into_iter()
            .map(|r| Frame {
                seq: r.seq,
                journaled: true,
                event: r.event,
                data: r.data,
            })
            .collect();
        c.live = false;
        c
    }

    pub fn last_seq(&self) -> u64 {
        self.frames
            .iter()
            .rev()
            .find(|f| f.journaled)
            .map_or(0, |f| f.seq)
    }

    fn journal_terminal(&self) -> Option<&Frame> {
        self.frames
            .iter()
            .rev()
            .find(|f| f.journaled && is_relay_close(&f.event))
    }

    /// Appends a frame (journaled frames get the next seq) and wakes subscribers.
    pub fn push(&mut self, event: &str, data: String, journaled: bool) -> Frame {
        let seq = if journaled {
            self.last_seq() + 1
        } else {
            self.last_seq()
        };
        let f = Frame {
            seq,
            journaled,
            event: event.into(),
            data,
        };
        self.frames.push(f.clone());
        if self.subscribers > 0 {
            // A live broadcast clears the offline buffer.
            self.buffer_start = self.frames.len();
        }
        self.tx.send_replace(self.frames.len());
        f
    }

    /// The worker finished (or was cancelled): no more frames.
    pub fn finish(&mut self) {
        self.live = false;
        self.tx.send_replace(self.frames.len());
    }

    /// `/api/chat/stream/status`'s `journal` object.
    pub fn journal_json(&self) -> serde_json::Value {
        let last = self.frames.iter().rev().find(|f| f.journaled);
        let terminal = self.journal_terminal().is_some() || self.terminal_state.is_some();
        let terminal_state = match (
            self.terminal_state.as_deref(),
            self.journal_terminal().map(|f| f.event.as_str()),
        ) {
            (Some(s), _) => s.to_string(),
            (None, Some("stream_end")) => "completed".into(),
            (None, Some("apperror")) | (None, Some("error")) => "errored".into(),
            (None, Some("cancel")) => "interrupted-by-user".into(),
            _ if self.live => "running".into(),
            _ => "lost-worker-bookkeeping".into(),
        };
        json!({
            "session_id": self.session_id,
            "run_id": self.stream_id,
            "last_seq": self.last_seq(),
            "last_event_id": last.map(|f| format!("{}:{}", self.stream_id, f.seq)),
            "last_event": last.map(|f| f.event.clone()),
            "terminal": terminal,
            "terminal_state": terminal_state,
        })
    }
}

/// All channels by stream id.
pub type Channels = Arc<Mutex<HashMap<String, Channel>>>;

/// The cursor a subscriber asked for (§3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorRequest {
    /// No cursor: live subscribers get the offline buffer, then live.
    None,
    /// Replay journal rows with seq greater than this.
    After(u64),
}

/// Applies the precedence rules: `after_event_id` > `after_seq` > `replay`; `Last-Event-ID`
/// only when none of the three query params is present. A cursor naming another stream,
/// malformed, or ahead of the stream means "from the start" (never "skip").
pub fn resolve_cursor(
    stream_id: &str,
    last_seq: u64,
    replay: Option<&str>,
    after_seq: Option<&str>,
    after_event_id: Option<&str>,
    last_event_id: Option<&str>,
) -> CursorRequest {
    let parse_id = |raw: &str| -> u64 {
        match raw.trim().rsplit_once(':') {
            Some((s, n)) if s == stream_id => n.parse::<u64>().unwrap_or(0),
            _ => 0,
        }
    };
    let clamp = |c: u64| if c > last_seq { 0 } else { c };
    if replay.is_some() || after_seq.is_some() || after_event_id.is_some() {
        if let Some(id) = after_event_id.filter(|s| !s.trim().is_empty()) {
            return CursorRequest::After(clamp(parse_id(id)));
        }
        if let Some(n) = after_seq {
            return CursorRequest::After(clamp(n.trim().parse().unwrap_or(0)));
        }
        return CursorRequest::After(0);
    }
    match last_event_id.filter(|s| !s.trim().is_empty()) {
        Some(id) => CursorRequest::After(clamp(parse_id(id))),
        None => CursorRequest::None,
    }
}

/// Per-connection fault injection.
#[derive(Debug, Clone, Default)]
pub struct ConnFaults {
    /// Close the connection after this many frames.
    pub drop_after: Option<u32>,
    /// Send one malformed frame before the next real one.
    pub malformed: bool,
}

struct SubGuard {
    channels: Channels,
    stream_id: String,
}

impl Drop for SubGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.channels.lock() {
            if let Some(c) = map.get_mut(&self.stream_id) {
                c.subscribers = c.subscribers.saturating_sub(1);
            }
        }
    }
}

struct SubState {
    _guard: SubGuard,
    channels: Channels,
    stream_id: String,
    rx: watch::Receiver<usize>,
    idx: usize,
    /// Finished-stream path: only journal rows are replayed.
    dead: bool,
    done: bool,
    sent: u32,
    faults: ConnFaults,
}

fn sse_event(stream_id: &str, f: &Frame) -> Event {
    let mut e = Event::default();
    if f.seq > 0 {
        e = e.id(format!("{stream_id}:{}", f.seq));
    }
    e.event(&f.event).data(&f.data)
}

/// Subscribes to `stream_id`; `None` when the stream is unknown (404).
pub fn subscribe(
    channels: &Channels,
    stream_id: &str,
    cursor: CursorRequest,
    faults: ConnFaults,
) -> Option<impl Stream<Item = Result<Event, Infallible>> + Send + 'static> {
    let (idx, dead, rx) = {
        let mut map = channels.lock().ok()?;
        let c = map.get_mut(stream_id)?;
        let dead = !c.live;
        let idx = match cursor {
            CursorRequest::After(n) => c
                .frames
                .iter()
                .position(|f| f.journaled && f.seq > n)
                .unwrap_or(c.frames.len()),
            CursorRequest::None if dead => 0,
            CursorRequest::None => c.buffer_start.min(c.frames.len()),
        };
        c.subscribers += 1;
        (idx, dead, c.tx.subscribe())
    };
    let state = SubState {
        _guard: SubGuard {
            channels: channels.clone(),
            stream_id: stream_id.into(),
        },
        channels: channels.clone(),
        stream_id: stream_id.into(),
        rx,
        idx,
        dead,
        done: false,
        sent: 0,
        faults,
    };
    Some(futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            if st.faults.drop_after.is_some_and(|n| st.sent >= n) {
                return None;
            }
            let next = {
                let map = st.channels.lock().ok()?;
                let c = map.get(&st.stream_id)?;
                if st.idx < c.frames.len() {
                    let f = c.frames[st.idx].clone();
                    st.idx += 1;
                    if st.dead && !f.journaled {
                        continue;
                    }
                    Some(Ok(f))
                } else if !c.live && c.journal_terminal().is_some() {
                    // Finished and the journal ends it: nothing more, close (a cursor at the
                    // end, e.g. a browser's own reconnect with Last-Event-ID, gets nothing).
                    return None;
                } else if !c.live {
                    // Finished with no terminal row: one synthetic `interrupted`, then close.
                    let data = json!({
                        "message": "The reply was interrupted before it finished.",
                        "type": "interrupted",
                        "recovery_control": true,
                        "session_id": c.session_id,
                        "stream_id": c.stream_id,
                    });
                    Some(Err(Frame {
                        seq: c.last_seq() + 1,
                        journaled: false,
                        event: "apperror".into(),
                        data: data.to_string(),
                    }))
                } else {
                    None
                }
            };
            match next {
                Some(Ok(f)) => {
                    if st.faults.malformed {
                        st.faults.malformed = false;
                        st.idx -= 1;
                        let bad = Event::default()
                            .event("token")
                            .data("{\"text\": \"unterminated");
                        return Some((Ok(bad), st));
                    }
                    st.sent += 1;
                    if is_relay_close(&f.event) {
                        st.done = true;
                    }
                    let e = sse_event(&st.stream_id, &f);
                    return Some((Ok(e), st));
                }
                Some(Err(synthetic)) => {
                    st.done = true;
                    let e = sse_event(&st.stream_id, &synthetic);
                    return Some((Ok(e), st));
                }
                None => {
                    if st.rx.changed().await.is_err() {
                        return None;
                    }
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_precedence_follows_the_contract() {
        let r = |replay, after_seq, after_id, last| {
            resolve_cursor("s", 10, replay, after_seq, after_id, last)
        };
        assert_eq!(r(None, None, None, None), CursorRequest::None);
        assert_eq!(r(None, None, None, Some("s:4")), CursorRequest::After(4));
        assert_eq!(
            r(Some("1"), None, None, Some("s:4")),
            CursorRequest::After(0),
            "query params beat Last-Event-ID"
        );
        assert_eq!(r(Some("1"), Some("3"), None, None), CursorRequest::After(3));
        assert_eq!(
            r(Some("1"), Some("3"), Some("s:5"), None),
            CursorRequest::After(5),
            "after_event_id wins"
        );
        assert_eq!(
            r(Some("1"), Some("3"), Some(""), None),
            CursorRequest::After(3),
            "an empty after_event_id is absent"
        );
        assert_eq!(
            r(None, None, Some("other:5"), None),
            CursorRequest::After(0),
            "another stream → from the start"
        );
        assert_eq!(
            r(None, Some("x"), None, None),
            CursorRequest::After(0),
            "malformed → from the start"
        );
        assert_eq!(
            r(None, Some("11"), None, None),
            CursorRequest::After(0),
            "ahead → from the start"
        );
    }
}
