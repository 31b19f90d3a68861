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

    /// The budget in force.
    pub fn budget(&self) -> Budget {
        self.with(|i| i.core.budget())
    }

    /// Token → paint latencies collected so far (ms), cleared (benchmarks; `test-hooks` only).
    #[cfg(feature = "test-hooks")]
    pub fn take_latencies(&self) -> Vec<f64> {
        self.with(|i| std::mem::take(&mut i.latency.samples))
    }
}
