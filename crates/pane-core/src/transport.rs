//! Transport decisions as pure functions: reuse / open / close-and-open, and the connection
//! budget scheduler that decides which sessions hold an open stream and which are parked.

use std::cmp::Reverse;
use std::collections::BTreeSet;

/// The browser's `EventSource.readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    Connecting,
    Open,
    Closed,
}

impl ReadyState {
    /// From the numeric `readyState` (0, 1, 2).
    pub fn from_code(code: u16) -> ReadyState {
        match code {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            _ => ReadyState::Closed,
        }
    }
}

/// A session's transport as the hub knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSlot {
    pub stream_id: String,
    pub state: ReadyState,
}

/// What to do with a session's transport for a wanted stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachDecision {
    /// Same stream, not CLOSED: keep it.
    Reuse,
    /// No transport, or the browser marked it CLOSED: open one.
    Open,
    /// A transport for another stream id: close it, open the new one.
    CloseAndOpen { close: String },
    /// Over the connection budget: no transport now; resume from the cursor later.
    Park,
}

/// The transport decision for one session, before the budget is considered.
pub fn attach_decision(current: Option<&TransportSlot>, stream_id: &str) -> AttachDecision {
    match current {
        Some(slot) if slot.stream_id == stream_id && slot.state != ReadyState::Closed => {
            AttachDecision::Reuse
        }
        Some(slot) if slot.stream_id != stream_id => AttachDecision::CloseAndOpen {
            close: slot.stream_id.clone(),
        },
        _ => AttachDecision::Open,
    }
}

/// How many long-lived connections the pane may hold on this origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// All long-lived connections (chat streams + the session-list channel).
    pub connections: usize,
    /// Connections held for other channels (`/api/sessions/events`).
    pub reserved: usize,
}

impl Budget {
    /// HTTP/1.1 allows ~6 connections per origin; 4 leaves two for fetches.
    pub const HTTP1_CONNECTIONS: usize = 4;
    /// h2/h3 multiplex streams over one connection.
    pub const MULTIPLEXED_CONNECTIONS: usize = 16;

    /// The default budget for the page's `nextHopProtocol` (`"http/1.1"`, `"h2"`, `"h3"`, …).
    pub fn for_protocol(protocol: &str) -> Budget {
        let p = protocol.to_ascii_lowercase();
        let connections = if p == "h2" || p.starts_with("h3") || p == "hq" {
            Budget::MULTIPLEXED_CONNECTIONS
        } else {
            Budget::HTTP1_CONNECTIONS
        };
        Budget {
            connections,
            reserved: 1,
        }
    }

    /// A configured total (clamped so at least one chat stream fits).
    pub fn with_connections(connections: usize) -> Budget {
        Budget {
            connections: connections.max(2),
            reserved: 1,
        }
    }

    /// What a hidden tab holds: the shown session's stream and the session list, so other
    /// tabs of the origin get the connections back.
    pub fn hidden_tab(&self) -> Budget {
        if *self == Budget::unlimited() {
            // A tab of a shared set: the leader decides for every tab.
            return *self;
        }
        Budget {
            connections: 2.min(self.connections),
            reserved: self.reserved,
        }
    }

    /// A tab's share of a budget split between tabs (the fallback without a leader):
    /// `chat` streams, possibly none, plus its session-list channel.
    pub fn share(chat: usize) -> Budget {
        Budget {
            connections: chat + 1,
            reserved: 1,
        }
    }

    /// As much as a tab's scheduler can want: in a shared set of transports the leader
    /// applies the browser-wide budget across tabs.
    pub fn unlimited() -> Budget {
        Budget {
            connections: usize::MAX / 2,
            reserved: 1,
        }
    }

    /// Chat stream slots (none for a tab whose share is nothing).
    pub fn chat_slots(&self) -> usize {
        self.connections.saturating_sub(self.reserved)
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::for_protocol("http/1.1")
    }
}

/// Who deserves a slot first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// The session on screen.
    Shown,
    /// Waits on an approval or clarify answer.
    Attention,
    /// Viewed recently; the larger the tick, the more recent.
    Recent(u64),
    Rest,
}

/// A session that wants a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub session_id: String,
    pub priority: Priority,
    /// Holds an open (not CLOSED) transport for its stream now.
    pub open: bool,
    /// When it started wanting one (earlier first among equals).
    pub since: u64,
}

fn rank(c: &Candidate) -> (u8, Reverse<u64>, bool, u64, &str) {
    let (class, recency) = match c.priority {
        Priority::Shown => (0, 0),
        Priority::Attention => (1, 0),
        Priority::Recent(t) => (2, t),
        Priority::Rest => (3, 0),
    };
    // Within a class an open transport outranks a parked one, so equals never swap slots
    // back and forth (no churn); then first come, first served.
    (
        class,
        Reverse(recency),
        !c.open,
        c.since,
        c.session_id.as_str(),
    )
}

/// Which candidates hold a slot: the best `slots` by priority.
pub fn plan(candidates: &[Candidate], slots: usize) -> BTreeSet<String> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    crate::sort_stable_by(&mut sorted, |a, b| rank(a).cmp(&rank(b)));
    sorted
        .into_iter()
        .take(slots)
        .map(|c| c.session_id.clone())
        .collect()
}

/// Back-off before probing a failed stream again (the stock UI's staged probes).
pub fn retry_delay_ms(failures: u32) -> u32 {
    const STEPS: [u32; 7] = [500, 1_500, 3_000, 5_000, 8_000, 12_000, 20_000];
    STEPS[(failures.saturating_sub(1) as usize).min(STEPS.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(s: &str, state: ReadyState) -> TransportSlot {
        TransportSlot {
            stream_id: s.into(),
            state,
        }
    }

    #[test]
    fn attach_decisions() {
        assert_eq!(attach_decision(None, "a"), AttachDecision::Open);
        assert_eq!(
            attach_decision(Some(&slot("a", ReadyState::Open)), "a"),
            AttachDecision::Reuse
        );
        assert_eq!(
            attach_decision(Some(&slot("a", ReadyState::Connecting)), "a"),
            AttachDecision::Reuse
        );
        assert_eq!(
            attach_decision(Some(&slot("a", ReadyState::Closed)), "a"),
            AttachDecision::Open
        );
        assert_eq!(
            attach_decision(Some(&slot("a", ReadyState::Open)), "b"),
            AttachDecision::CloseAndOpen { close: "a".into() }
        );
    }

    #[test]
    fn budget_follows_the_protocol() {
        assert_eq!(Budget::for_protocol("http/1.1").chat_slots(), 3);
        assert_eq!(Budget::for_protocol("").chat_slots(), 3);
        assert_eq!(Budget::for_protocol("h2").chat_slots(), 15);
        assert_eq!(Budget::for_protocol("h3").chat_slots(), 15);
        assert_eq!(Budget::with_connections(0).chat_slots(), 1);
        assert_eq!(Budget::share(0).chat_slots(), 0);
        assert_eq!(Budget::share(0).hidden_tab().chat_slots(), 0);
        assert_eq!(Budget::share(2).hidden_tab().chat_slots(), 1);
    }

    #[test]
    fn plan_orders_shown_then_attention_then_recent_then_rest() {
        let c = |id: &str, p, open, since| Candidate {
            session_id: id.into(),
            priority: p,
            open,
            since,
        };
        let cands = vec![
            c("rest-open", Priority::Rest, true, 1),
            c("rest-new", Priority::Rest, false, 0),
            c("recent-old", Priority::Recent(1), false, 5),
            c("recent-new", Priority::Recent(9), false, 5),
            c("attn", Priority::Attention, false, 7),
            c("shown", Priority::Shown, false, 8),
        ];
        let got: Vec<_> = plan(&cands, 4).into_iter().collect();
        assert_eq!(got, vec!["attn", "recent-new", "recent-old", "shown"]);
        let got: Vec<_> = plan(&cands, 5).into_iter().collect();
        assert!(
            got.contains(&"rest-open".to_string()),
            "an open transport keeps its slot over a parked equal"
        );
    }

    #[test]
    fn retry_delays_grow_and_cap() {
        assert_eq!(retry_delay_ms(1), 500);
        assert_eq!(retry_delay_ms(2), 1_500);
        assert_eq!(retry_delay_ms(50), 20_000);
    }
}
