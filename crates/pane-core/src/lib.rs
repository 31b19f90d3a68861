//! `pane-core`: every decision the hermes-pane makes, in plain Rust with no browser types.
//!
//! - [`wire`] and [`event`]: the Hermes WebUI wire contract (HTTP payloads, SSE events).
//! - [`sse`] and [`cursor`]: SSE framing and `stream_id:seq` replay cursors.
//! - [`turn`] and [`session`]: a session's runtime — the live turn, exactly-once application
//!   of stream events, terminal rules, approvals and clarifies owned by the session.
//! - [`transport`] and [`hub`]: sessions by id, the active pane, transport reuse decisions and
//!   the connection-budget scheduler.
//! - [`markdown`] and [`highlight`]: safe, incrementally re-renderable markdown.
//! - [`view`]: plain projections the UI renders (sidebar rows, transcript items).

pub mod cursor;
pub mod event;
pub mod highlight;
pub mod hub;
pub mod json;
pub mod markdown;
pub mod route;
pub mod session;
pub mod sse;
pub mod transport;
pub mod turn;
pub mod view;
pub mod wire;

pub use cursor::{Cursor, EventId};
pub use event::{DecodeError, StreamEvent};
pub use hub::{Action, CloseReason, Hub};
pub use route::Route;
pub use session::{Applied, Effect, SessionRuntime};
pub use transport::{AttachDecision, Budget, ReadyState};

/// Percent-encodes a query-string component (RFC 3986 unreserved characters pass).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub use json::{from_json, FromJson, JsonError};

/// A decoded frame of the chat stream: its journal id (if it carried one) and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub id: Option<EventId>,
    pub event: StreamEvent,
}

impl Frame {
    /// Decodes an SSE frame as the browser hands it over (`lastEventId`, `type`, `data`).
    pub fn decode(last_event_id: &str, name: &str, data: &str) -> Result<Frame, DecodeError> {
        Ok(Frame { id: EventId::parse(last_event_id), event: StreamEvent::decode(name, data)? })
    }
}
