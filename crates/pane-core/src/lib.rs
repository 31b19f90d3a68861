//! `pane-core`: every decision the hermes-pane makes, in plain Rust with no browser types.
//!
//! - [`wire`] and [`event`]: the Hermes WebUI wire contract (HTTP payloads, SSE events).
//! - [`sse`] and [`cursor`]: SSE framing and `stream_id:seq` replay cursors.
//! - [`turn`] and [`session`]: a session's runtime — the live turn, exactly-once application
//!   of stream events, terminal rules, approvals and clarifies owned by the session.
//! - [`transport`] and [`hub`]: sessions by id, the active pane, transport reuse decisions and
//!   the connection-budget scheduler; [`input`]: the hub's one input type ([`Input`], given to
//!   [`Hub::update`]) and its output ([`Command`]); [`relay`]: one set of transports shared by
//!   every tab of the browser (leader, followers, the fallback's split budget).
//! - [`markdown`] and [`highlight`]: safe, incrementally re-renderable markdown.
//! - [`command`]: slash commands (menu, completion, what each runs); [`steer`]: steering a
//!   running turn.
//! - [`view`]: plain projections the UI renders (sidebar rows and their order, the pane's
//!   state, transcript items); [`paint`]: when to paint them.

pub mod command;
pub mod context;
pub mod cursor;
pub mod event;
pub mod highlight;
pub mod hub;
pub mod input;
pub mod json;
pub mod markdown;
pub mod math;
pub mod media;
pub mod notify;
pub mod paint;
pub mod plan;
pub mod relay;
pub mod route;
pub mod session;
pub mod sse;
pub mod steer;
pub mod transport;
pub mod turn;
pub mod view;
pub mod wire;

pub use cursor::{Cursor, EventId};
pub use event::{DecodeError, StreamEvent};
pub use hub::{Hub, Ticket};
pub use input::{CloseReason, Command, Input, Prompt};
pub use route::Route;
pub use session::{Applied, Intent, SessionRuntime};
pub use transport::{AttachDecision, Budget, ReadyState};

/// Percent-encodes a query-string component (RFC 3986 unreserved characters pass).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub use json::{from_json, FromJson, JsonError};

/// Sorts `v` stably by `cmp`. Every `sort_by` closure type gets its own copy of the standard
/// sort (≈ 5 KB of wasm each); this sorts indices through one `dyn` comparator instead, so the
/// pane carries one copy. The lists sorted here are short (sessions, transports).
pub fn sort_stable_by<T>(v: &mut Vec<T>, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    sort_indices(&mut order, &|a, b| cmp(&v[a], &v[b]));
    let mut items: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(order.into_iter().filter_map(|i| items[i].take()));
}

#[inline(never)]
fn sort_indices(order: &mut [usize], cmp: &dyn Fn(usize, usize) -> std::cmp::Ordering) {
    order.sort_by(|&a, &b| cmp(a, b));
}

/// A decoded frame of the chat stream: its journal id (if it carried one) and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub id: Option<EventId>,
    pub event: StreamEvent,
}

impl Frame {
    /// Decodes an SSE frame as the browser hands it over (`lastEventId`, `type`, `data`).
    pub fn decode(last_event_id: &str, name: &str, data: &str) -> Result<Frame, DecodeError> {
        Ok(Frame {
            id: EventId::parse(last_event_id),
            event: StreamEvent::decode(name, data)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sort_stable_by_sorts_and_keeps_equal_items_in_order() {
        let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (0, 'd'), (1, 'e')];
        super::sort_stable_by(&mut v, |a, b| a.0.cmp(&b.0));
        assert_eq!(v, vec![(0, 'd'), (1, 'b'), (1, 'e'), (2, 'a'), (2, 'c')]);
        let mut empty: Vec<u8> = Vec::new();
        super::sort_stable_by(&mut empty, |a, b| a.cmp(b));
        assert!(empty.is_empty());
    }
}
