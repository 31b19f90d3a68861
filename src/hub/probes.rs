//! Read-only accessors for the in-browser tests, the `window.__hermesPane` test hooks and the
//! benchmarks: what is open, parked and painted.

use pane_core::transport::Budget;

use super::Hub;

impl Hub {
    /// Open transports: `(session, stream, serial, readyState)`.
    pub fn transports(&self) -> Vec<(String, String, u64, u16)> {
        self.with(|i| i.transports.list())
    }

    /// EventSource objects created so far.
    pub fn transports_created(&self) -> u64 {
        self.with(|i| i.transports.created())
    }

    /// The EventSource of `stream` (tests compare identity).
    pub fn event_source(&self, stream: &str) -> Option<web_sys::EventSource> {
        self.with(|i| i.transports.get(stream).map(|t| t.es.clone()))
    }

    /// How often a session's view was painted.
    pub fn paint_count(&self, id: &str) -> u64 {
        self.with(|i| i.paints.get(id).copied().unwrap_or(0))
    }

    /// The runtime of a session (read-only snapshot).
    pub fn runtime(&self, id: &str) -> Option<pane_core::SessionRuntime> {
        self.with(|i| i.core.session(id).cloned())
    }

    /// Sessions that want a transport but are parked by the budget.
    pub fn parked(&self) -> Vec<String> {
        self.with(|i| i.core.parked())
    }

    /// The chat streams this tab may hold: the browser-wide budget when the tabs share one
    /// set of transports, else this tab's own (its fallback share, or a hidden tab's).
    pub fn budget(&self) -> Budget {
        self.with(|i| match i.shared {
            true => i.browser_budget,
            false => i.core.budget(),
        })
    }

    /// `pending`, `leader`, `follower` or `solo` (see [`super::tabs`]).
    pub fn role(&self) -> &'static str {
        self.with(|i| i.role)
    }

    /// The chat EventSources open for the whole browser: the leader's (as it last said, in a
    /// follower), or this tab's own in the fallback.
    pub fn held(&self) -> usize {
        self.with(|i| {
            if i.role == "follower" {
                i.held
            } else {
                i.transports.len()
            }
        })
    }

    /// Token → paint latencies collected so far (ms), cleared (benchmarks; `test-hooks` only).
    #[cfg(feature = "test-hooks")]
    pub fn take_latencies(&self) -> Vec<f64> {
        self.with(|i| std::mem::take(&mut i.latency.samples))
    }
}
