//! Fault injection (off unless `--faults`), connection statistics, and the accept loop.
//!
//! The accept loop is ours (on hyper's HTTP/1.1 connection builder) so the server can count
//! open connections — the evidence that the pane stays under its connection budget — and can
//! refuse connections for a while to play a dead backend.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::{json, Value};

/// Faults to inject (set through `POST /api/__faults`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// The next chat-stream connection is cut after this many frames.
    pub drop_after: Option<u32>,
    /// Every API response waits this long.
    pub delay_ms: u64,
    /// The next N `chat/start` calls fail with 500.
    pub fail_start: u32,
    /// The next chat-stream connection gets one malformed frame.
    pub malformed_once: bool,
    /// Refuse (reset) every new connection for this long.
    pub refuse_for_ms: Option<u64>,
    /// Forget this stream (channel and journal), as if the server lost it.
    pub forget_stream: Option<String>,
    /// Issue new CSRF tokens to every login (the pane's copy goes stale once).
    pub rotate_csrf: bool,
    /// Reject every CSRF token (a token that can never be right).
    pub break_csrf: bool,
}

/// Counters the tests read through `GET /api/__stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections_open: AtomicUsize,
    pub connections_max: AtomicUsize,
    pub connections_total: AtomicU64,
    pub chat_streams_open: AtomicUsize,
    pub chat_streams_max: AtomicUsize,
    pub chat_streams_total: AtomicU64,
}

impl Stats {
    fn up(open: &AtomicUsize, max: &AtomicUsize) {
        let now = open.fetch_add(1, Ordering::SeqCst) + 1;
        max.fetch_max(now, Ordering::SeqCst);
    }

    pub fn stream_opened(&self) {
        Stats::up(&self.chat_streams_open, &self.chat_streams_max);
        self.chat_streams_total.fetch_add(1, Ordering::SeqCst);
    }

    pub fn stream_closed(&self) {
        self.chat_streams_open.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn json(&self) -> Value {
        json!({
            "connections_open": self.connections_open.load(Ordering::SeqCst),
            "connections_max": self.connections_max.load(Ordering::SeqCst),
            "connections_total": self.connections_total.load(Ordering::SeqCst),
            "chat_streams_open": self.chat_streams_open.load(Ordering::SeqCst),
            "chat_streams_max": self.chat_streams_max.load(Ordering::SeqCst),
            "chat_streams_total": self.chat_streams_total.load(Ordering::SeqCst),
        })
    }

    /// Resets the maxima (between test phases).
    pub fn reset_max(&self) {
        self.connections_max.store(
            self.connections_open.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
        self.chat_streams_max.store(
            self.chat_streams_open.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }
}

/// The server's fault switches and stats.
#[derive(Debug, Default)]
pub struct FaultState {
    pub faults: Mutex<Faults>,
    pub stats: Arc<Stats>,
    pub refuse_until: Arc<Mutex<Option<Instant>>>,
}

impl FaultState {
    pub fn set(&self, f: Faults) {
        if let Some(ms) = f.refuse_for_ms {
            *self.refuse_until.lock().expect("refuse") =
                Some(Instant::now() + Duration::from_millis(ms));
        }
        *self.faults.lock().expect("faults") = f;
    }

    /// Takes the one-shot stream faults for a new chat-stream connection.
    pub fn take_stream_faults(&self) -> crate::streams::ConnFaults {
        let mut f = self.faults.lock().expect("faults");
        crate::streams::ConnFaults {
            drop_after: f.drop_after.take(),
            malformed: std::mem::take(&mut f.malformed_once),
        }
    }

    /// Whether this `chat/start` must fail.
    pub fn take_start_failure(&self) -> bool {
        let mut f = self.faults.lock().expect("faults");
        if f.fail_start > 0 {
            f.fail_start -= 1;
            true
        } else {
            false
        }
    }

    pub fn delay(&self) -> u64 {
        self.faults.lock().expect("faults").delay_ms
    }

    pub fn csrf_broken(&self) -> bool {
        self.faults.lock().expect("faults").break_csrf
    }
}

struct ConnGuard(Arc<Stats>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accepts connections and serves each over HTTP/1.1 (like the real backend: no h2).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stats: Arc<Stats>,
    refuse: Option<Arc<Mutex<Option<Instant>>>>,
) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if let Some(r) = &refuse {
            let until = *r.lock().expect("refuse");
            if until.is_some_and(|u| Instant::now() < u) {
                drop(stream);
                continue;
            }
        }
        let _ = stream.set_nodelay(true);
        Stats::up(&stats.connections_open, &stats.connections_max);
        stats.connections_total.fetch_add(1, Ordering::SeqCst);
        let guard = ConnGuard(stats.clone());
        let svc = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _guard = guard;
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
