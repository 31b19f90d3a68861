//! The hub: created under the app's root owner and provided by context. It holds every
//! session's runtime (`pane-core`), the per-session view stores, the transports and the
//! active-pane signal. Views read stores; the hub alone opens and closes EventSources, so a
//! view unmounting never touches a transport.
//!
//! Flow: transport → [`Hub::on_report`] → `pane_core::Hub::deliver` (runtime updated at once,
//! even in hidden tabs) → actions executed → session marked dirty → painted at the next
//! animation frame ([`paint`]).

mod actions;
mod paint;
pub mod store;
pub mod transport;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use pane_core::hub::{Action, CloseReason};
use pane_core::transport::{Budget, ReadyState};
use pane_core::wire::{
    ApprovalChoice, ApprovalPending, ApprovalRespond, CancelReply, ChatStartReply, ChatStartRequest, ClarifyPending, ClarifyRespond, RespondOutcome,
    RespondReply, RetryReply, SearchReply, SessionEnvelope, SessionList, SessionRow, StreamStatus, UploadedFile,
};
use pane_core::{EventId, Frame};
use reactive_stores::Store;
use serde_json::json;

use crate::api::Api;
use crate::lazy;
pub use store::*;
use transport::{Registry, Report};

/// Messages loaded per page (first load and each scroll-up).
pub const WINDOW: usize = 60;
/// Session panes kept mounted (switching back is instant and keeps its DOM).
pub const KEEP_MOUNTED: usize = 6;

/// Scroll state of a session's transcript.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scroll {
    pub top: f64,
    /// Following the stream (at the bottom).
    pub pinned: bool,
}

impl Default for Scroll {
    fn default() -> Scroll {
        Scroll { top: 0.0, pinned: true }
    }
}

/// Changes the address: `(path relative to the mount, replace the history entry)`.
pub type Navigate = Rc<dyn Fn(&str, bool)>;

/// Non-reactive state behind the hub handle.
pub(crate) struct Inner {
    /// The app's root owner: per-session stores live as long as the app, not as the view
    /// that first asked for them (a pane unmounting must not dispose its session's store).
    root: Owner,
    core: pane_core::Hub,
    stores: HashMap<String, Store<SessionView>>,
    rows: Vec<SessionRow>,
    transports: Registry,
    sessions_channel: Option<Registry>,
    painter: paint::Painter,
    scroll: HashMap<String, Scroll>,
    loading: HashSet<String>,
    attention_seen: HashSet<String>,
    toast_seq: u64,
    search_seq: u64,
    last_announce: f64,
    /// Finished replies not announced yet (merged into one announcement).
    unannounced: Vec<String>,
    announce_scheduled: bool,
    list_refresh_pending: bool,
    /// After [`Hub::shutdown`]: no transport opens again.
    closed: bool,
    navigate: Option<Navigate>,
    /// Paints of each session's view (tests check background events never repaint the shown one).
    pub(crate) paints: HashMap<String, u64>,
    /// Token arrival → painted-frame latencies of the shown session (benchmarks only).
    #[cfg(feature = "test-hooks")]
    pub(crate) latency: paint::LatencyProbe,
}

/// The hub handle (`Copy`, provided by context).
#[derive(Clone, Copy)]
pub struct Hub {
    inner: StoredValue<Inner, LocalStorage>,
    api: StoredValue<Rc<Api>, LocalStorage>,
    /// The session shown in the pane (kept in sync with the URL).
    pub active: RwSignal<Option<String>>,
    /// Session panes kept mounted, most recent last.
    pub mounted: RwSignal<Vec<String>>,
    pub sidebar: Store<SidebarView>,
    pub toasts: RwSignal<Vec<Toast>>,
    /// Polite announcement for screen readers (finished replies, throttled).
    pub announce: RwSignal<String>,
    /// Set while the backend cannot be reached.
    pub offline: RwSignal<Option<String>>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Hub {
    /// Creates the hub under the current (root) owner.
    pub fn new(api: Api, budget: Budget) -> Hub {
        Hub {
            inner: StoredValue::new_local(Inner {
                root: Owner::current().expect("the hub is created inside the app"),
                core: pane_core::Hub::new(budget),
                stores: HashMap::new(),
                rows: Vec::new(),
                transports: Registry::default(),
                sessions_channel: None,
                painter: paint::Painter::default(),
                scroll: HashMap::new(),
                loading: HashSet::new(),
                attention_seen: HashSet::new(),
                toast_seq: 0,
                search_seq: 0,
                last_announce: 0.0,
                unannounced: Vec::new(),
                announce_scheduled: false,
                list_refresh_pending: false,
                closed: false,
                navigate: None,
                paints: HashMap::new(),
                #[cfg(feature = "test-hooks")]
                latency: Default::default(),
            }),
            api: StoredValue::new_local(Rc::new(api)),
            active: RwSignal::new(None),
            mounted: RwSignal::new(Vec::new()),
            sidebar: Store::new(SidebarView::default()),
            toasts: RwSignal::new(Vec::new()),
            announce: RwSignal::new(String::new()),
            offline: RwSignal::new(None),
        }
    }

    /// The budget for the page's protocol: `nextHopProtocol` of the navigation, overridable
    /// with `?budget=N` or `localStorage["hermes-pane:budget"]`.
    pub fn detect_budget() -> Budget {
        let w = web_sys::window();
        let from_query = w
            .as_ref()
            .and_then(|w| w.location().search().ok())
            .and_then(|q| q.split(['?', '&']).find_map(|kv| kv.strip_prefix("budget=").and_then(|v| v.parse::<usize>().ok())));
        let from_storage = crate::persist::get("budget").and_then(|v| v.parse::<usize>().ok());
        if let Some(n) = from_query.or(from_storage) {
            return Budget::with_connections(n);
        }
        let protocol = w
            .and_then(|w| w.performance())
            .map(|p| p.get_entries_by_type("navigation"))
            .and_then(|entries| entries.get(0).dyn_into::<web_sys::PerformanceNavigationTiming>().ok())
            .map(|n| n.next_hop_protocol())
            .unwrap_or_default();
        Budget::for_protocol(&protocol)
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        self.inner.try_update_value(f).expect("hub disposed")
    }

    pub fn api(&self) -> Rc<Api> {
        self.api.get_value()
    }

    /// Lets the routes give the hub a way to change the URL.
    pub fn set_navigate(&self, f: Navigate) {
        self.with(|i| i.navigate = Some(f));
    }

    /// Goes to a session's URL (the route then calls [`Hub::show`]).
    pub fn open(&self, id: &str) {
        let nav = self.with(|i| i.navigate.clone());
        match nav {
            Some(n) => n(&pane_core::Route::Session(id.to_string()).path(), false),
            None => self.show(Some(id.to_string())),
        }
    }

    /// The store of a session's view (created on first use).
    pub fn store(&self, id: &str) -> Store<SessionView> {
        if let Some(s) = self.with(|i| i.stores.get(id).copied()) {
            return s;
        }
        let root = self.with(|i| i.root.clone());
        let s = root.with(|| Store::new(SessionView::new(id)));
        self.with(|i| *i.stores.entry(id.to_string()).or_insert(s))
    }

    /// Drops the view store of a session whose pane was evicted (it is rebuilt, and painted in
    /// full, when the session is shown again). Leptos prunes an unmounted view's subscriptions
    /// from a signal only when that signal next changes; a store that outlives its views would
    /// collect them from every remount (≈ 9 KB per pane rebuild, measured). The runtime and the
    /// rendered-markdown cache are kept.
    fn retire_store(&self, id: String) {
        let hub = *self;
        // After the pane has unmounted (the keyed list updates synchronously; wait a tick).
        set_timeout(
            move || {
                if hub.mounted.with_untracked(|m| m.contains(&id)) {
                    return;
                }
                if let Some(store) = hub.with(|i| {
                    i.painter.forget_projection(&id);
                    i.stores.remove(&id)
                }) {
                    store.dispose();
                }
            },
            Duration::ZERO,
        );
    }

    /// Runs `f` on the core hub, executes the resulting actions, and marks `dirty` for paint.
    fn core(&self, dirty: Option<&str>, f: impl FnOnce(&mut pane_core::Hub) -> Vec<Action>) {
        let actions = self.with(|i| f(&mut i.core));
        if let Some(d) = dirty {
            self.mark_dirty(d);
        }
        self.execute(actions);
    }

    // -----------------------------------------------------------------------------------------
    // Boot and the session list

    /// Loads the list and keeps it fresh with one `/api/sessions/events` connection.
    pub fn boot(&self) {
        let hub = *self;
        spawn_local(async move {
            let api = hub.api();
            if let Ok(status) = api.get::<pane_core::wire::AuthStatus>("Checking sign-in", "api/auth/status").await {
                if status.auth_enabled && !status.logged_in {
                    crate::api::redirect_to_login();
                    return;
                }
                if status.auth_enabled {
                    api.ensure_csrf().await;
                }
            }
            // The channel first: a change between the list fetch and the channel connecting
            // would otherwise be missed (its `open` re-fetches the list as well).
            hub.open_sessions_channel();
            hub.refresh_list().await;
        });
        self.follow_visibility();
        // Leaving the page (maybe into the back/forward cache): free its connections, which are
        // shared with every other tab of this origin; coming back from that cache, start fresh.
        let hub = *self;
        std::mem::forget(window_event_listener_untyped("pagehide", move |_| hub.shutdown()));
        std::mem::forget(window_event_listener_untyped("pageshow", move |ev| {
            let persisted = ev.dyn_ref::<web_sys::PageTransitionEvent>().is_some_and(|e| e.persisted());
            if persisted {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }
        }));
    }

    /// Browsers share ~6 connections per origin across *all* tabs: a hidden tab keeps only
    /// the stream of the session it shows (the rest park with their cursors) and takes its
    /// full budget back when it is visible again.
    fn follow_visibility(&self) {
        let hub = *self;
        let full = self.budget();
        let apply = move || {
            let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
            let budget = if hidden { Budget::with_connections(2) } else { full };
            if hub.budget() != budget {
                hub.core(None, |c| c.set_budget(budget));
            }
        };
        let handle = window_event_listener_untyped("visibilitychange", move |_| apply());
        // Lives as long as the app (the hub is root-owned).
        std::mem::forget(handle);
    }

    /// Re-fetches `/api/sessions`.
    pub async fn refresh_list(&self) {
        let at = self.with(|i| i.core.ticket());
        match self.api().get::<SessionList>("Loading the session list", "api/sessions").await {
            Ok(list) => {
                self.offline.set(None);
                let rows = list.sessions;
                self.with(|i| i.rows = rows.clone());
                self.core(None, |c| c.note_rows(&rows, at));
                self.sidebar.error().set(None);
                if !self.sidebar.loaded().get_untracked() {
                    // "Interactive": the app is up and the list is there (read by the benchmarks).
                    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
                        let _ = p.mark("pane-interactive");
                    }
                }
                self.sidebar.loaded().set(true);
                self.sidebar_now();
            }
            Err(e) => {
                if e.status == 0 {
                    self.offline.set(Some("The Hermes backend is unreachable. Retrying…".into()));
                }
                self.sidebar.error().set(Some(e.message));
            }
        }
    }

    fn refresh_list_soon(&self) {
        let already = self.with(|i| std::mem::replace(&mut i.list_refresh_pending, true));
        if already {
            return;
        }
        let hub = *self;
        set_timeout(
            move || {
                hub.with(|i| i.list_refresh_pending = false);
                spawn_local(async move { hub.refresh_list().await });
            },
            Duration::from_millis(150),
        );
    }

    fn open_sessions_channel(&self) {
        let hub = *self;
        let url = self.api().url("api/sessions/events");
        let mut reg = Registry::default();
        let opened = reg.open(&url, "", "sessions", &["sessions_changed"], move |_, r| match r {
            Report::Frame(f) if f.name == "sessions_changed" => hub.refresh_list_soon(),
            Report::Open => hub.refresh_list_soon(),
            Report::Failed => {
                // Drop it and come back later; the list is re-fetched on reconnect.
                hub.with(|i| {
                    if let Some(mut r) = i.sessions_channel.take() {
                        r.close("sessions");
                        let dead = r;
                        set_timeout(move || drop(dead), Duration::ZERO);
                    }
                });
                set_timeout(
                    move || {
                        hub.refresh_list_soon();
                        hub.open_sessions_channel();
                    },
                    Duration::from_secs(3),
                );
            }
            _ => {}
        });
        if opened.is_ok() {
            self.with(|i| i.sessions_channel = Some(reg));
        }
    }

    // -----------------------------------------------------------------------------------------
    // The active pane

    /// Shows `id`. Only the view changes: transports stay as they are (the budget may re-rank).
    pub fn show(&self, id: Option<String>) {
        if self.active.get_untracked() == id {
            return;
        }
        self.core(None, |c| c.set_active(id.as_deref()));
        if let Some(id) = &id {
            let mut evicted = None;
            self.mounted.update(|m| {
                m.retain(|x| x != id);
                m.push(id.clone());
                if m.len() > KEEP_MOUNTED {
                    evicted = Some(m.remove(0));
                }
            });
            if let Some(gone) = evicted {
                self.retire_store(gone);
            }
            let loaded = self.with(|i| i.core.session(id).is_some_and(|s| s.loaded));
            if !loaded {
                self.load(id);
            } else if self.with(|i| i.core.session(id).is_some_and(|s| s.is_busy())) {
                self.poll_prompts(id);
            }
        }
        self.active.set(id.clone());
        if let Some(id) = id {
            self.paint_now(&id);
        }
        // Its unread dot goes at once.
        self.sidebar_now();
    }

    /// Loads a session: metadata first (it carries the live snapshot), then the message window.
    pub fn load(&self, id: &str) {
        let hub = *self;
        let id = id.to_string();
        if !self.with(|i| i.loading.insert(id.clone())) {
            return;
        }
        spawn_local(async move {
            let api = hub.api();
            let at = hub.with(|i| i.core.ticket());
            let meta = api
                .get::<SessionEnvelope>("Loading the session", &format!("api/session?session_id={}&messages=0&resolve_model=0", pane_core::url_encode(&id)))
                .await;
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    hub.with(|i| i.loading.remove(&id));
                    hub.store(&id).load_error().set(Some(e.message));
                    return;
                }
            };
            hub.core(Some(&id), |c| c.load(&id, at, &meta.session, false));
            let at = hub.with(|i| i.core.ticket());
            let window =
                api.get::<SessionEnvelope>("Loading messages", &format!("api/session?session_id={}&msg_limit={WINDOW}", pane_core::url_encode(&id))).await;
            hub.with(|i| i.loading.remove(&id));
            match window {
                Ok(w) => {
                    hub.store(&id).load_error().set(None);
                    hub.core(Some(&id), |c| c.load(&id, at, &w.session, true));
                    if w.session.active_stream_id.is_some() {
                        hub.poll_prompts(&id);
                    }
                }
                Err(e) => hub.store(&id).load_error().set(Some(e.message)),
            }
            hub.paint_now(&id);
        });
    }

    /// Re-fetches a session to settle it (the `Reload` action).
    fn reload(&self, id: &str) {
        let hub = *self;
        let id = id.to_string();
        spawn_local(async move {
            let at = hub.with(|i| i.core.ticket());
            let r = hub
                .api()
                .get::<SessionEnvelope>("Refreshing the session", &format!("api/session?session_id={}&msg_limit={WINDOW}", pane_core::url_encode(&id)))
                .await;
            match r {
                Ok(w) => hub.core(Some(&id), |c| c.load(&id, at, &w.session, true)),
                Err(e) if e.status == 404 => hub.toast(ToastKind::Warning, "This session no longer exists on the server.".into(), None),
                Err(e) => {
                    // Try again shortly: the turn must settle from the server.
                    hub.toast(ToastKind::Warning, e.message, None);
                    set_timeout(move || hub.reload(&id), Duration::from_secs(3));
                }
            }
            hub.refresh_list_soon();
        });
    }

    /// Pages older messages in (`msg_before`).
    pub fn load_older(&self, id: &str) {
        self.page_in(id, false);
    }

    /// Pages the whole transcript in (the server's largest pages), so the browser's own find
    /// sees every message of a long session.
    pub fn load_all(&self, id: &str) {
        self.page_in(id, true);
    }

    /// One older page (`WINDOW` messages), or every older page (`all`, 500 at a time).
    fn page_in(&self, id: &str, all: bool) {
        let key = format!("{id}#older");
        let has_older = self.with(|i| i.core.session(id).is_some_and(|s| s.messages_offset > 0));
        if !has_older || !self.with(|i| i.loading.insert(key.clone())) {
            return;
        }
        let id = id.to_string();
        let store = self.store(&id);
        store.loading_older().set(true);
        let hub = *self;
        spawn_local(async move {
            if lazy::run(actions::page_in(hub, id, all, key.clone())).await.is_err() {
                hub.toast(ToastKind::Error, lazy::NOT_LOADED.to_string(), None);
                hub.with(|i| i.loading.remove(&key));
                store.loading_older().set(false);
            }
        });
    }

    async fn page_in_now(self, id: String, all: bool, key: String) {
        let hub = self;
        let store = self.store(&id);
        let (what, limit) = if all { ("Loading the whole conversation", 500) } else { ("Loading older messages", WINDOW) };
        while let Some(offset) = hub.with(|i| i.core.session(&id).map(|s| s.messages_offset)).filter(|o| *o > 0) {
            let path = format!("api/session?session_id={}&msg_before={offset}&msg_limit={limit}", pane_core::url_encode(&id));
            match hub.api().get::<SessionEnvelope>(what, &path).await {
                Ok(w) => hub.core(Some(&id), |c| {
                    c.with_session(&id, |rt| {
                        rt.load_older(&w.session);
                        Vec::new()
                    })
                }),
                Err(e) => {
                    hub.toast(ToastKind::Error, e.message, None);
                    break;
                }
            }
            if !all {
                break;
            }
        }
        hub.with(|i| i.loading.remove(&key));
        store.loading_older().set(false);
    }

    /// Asks the server for prompts this session may be waiting on (survives missed events).
    fn poll_prompts(&self, id: &str) {
        let hub = *self;
        let id = id.to_string();
        spawn_local(async move {
            // In the background: the next poll (or event) tries again.
            if lazy::run(actions::poll_prompts(hub, id)).await.is_err() {
                leptos::logging::warn!("prompt check skipped: {}", lazy::NOT_LOADED);
            }
        });
    }

    async fn poll_prompts_now(self, id: String) {
        let hub = self;
        let api = hub.api();
        let q = format!("session_id={}", pane_core::url_encode(&id));
        if let Ok(a) = api.get::<ApprovalPending>("Checking approvals", &format!("api/approval/pending?{q}")).await {
            hub.core(Some(&id), |c| {
                c.with_session(&id, |rt| {
                    if a.pending.is_some() || rt.approval.is_some() {
                        rt.set_approval(a.pending);
                    }
                    Vec::new()
                })
            });
        }
        if let Ok(cl) = api.get::<ClarifyPending>("Checking questions", &format!("api/clarify/pending?{q}")).await {
            hub.core(Some(&id), |c| {
                c.with_session(&id, |rt| {
                    if cl.pending.is_some() || rt.clarify.is_some() {
                        rt.set_clarify(cl.pending);
                    }
                    Vec::new()
                })
            });
        }
    }

    // -----------------------------------------------------------------------------------------
    // Transports

    fn on_report(&self, stream: &str, report: Report) {
        match report {
            Report::Frame(raw) => match Frame::decode(&raw.last_event_id, &raw.name, &raw.data) {
                Ok(frame) => {
                    let (owner, actions) = self.with(|i| {
                        let (_, actions) = i.core.deliver(stream, frame.id.as_ref(), &frame.event);
                        (i.transports.get(stream).map(|t| t.session.clone()), actions)
                    });
                    if let Some(o) = owner {
                        let o = self.with(|i| i.core.resolve(&o));
                        #[cfg(feature = "test-hooks")]
                        if matches!(frame.event, pane_core::StreamEvent::Token(_)) && self.active.get_untracked().as_deref() == Some(o.as_str()) {
                            self.with(|i| {
                                let rev = i.core.session(&o).map_or(0, |s| s.revision);
                                i.latency.arrived(rev, paint::now());
                            });
                        }
                        self.mark_dirty(&o);
                    }
                    self.execute(actions);
                }
                Err(e) => {
                    // Nothing is lost: the frame is skipped, the cursor does not move past it, and
                    // the saved session settles the turn.
                    let owner = self.with(|i| i.transports.get(stream).map(|t| t.session.clone()));
                    let open = owner.as_ref().filter(|o| self.active.get_untracked().as_deref() == Some(o.as_str())).cloned();
                    self.toast(ToastKind::Warning, format!("{e}. It was skipped; the reply will be re-read from the server when it ends."), open);
                    let _ = EventId::parse(&raw.last_event_id);
                }
            },
            Report::Open => self.with(|i| i.core.transport_state(stream, ReadyState::Open)),
            Report::Failed => {
                // Take control from the browser's own reconnect loop: close, probe, resume.
                let known = self.with(|i| i.transports.close(stream));
                if known {
                    self.reap_soon();
                    let actions = self.with(|i| i.core.transport_failed(stream));
                    self.execute(actions);
                }
            }
        }
    }

    fn open_transport(&self, session: &str, stream: &str, query: &str) {
        if self.with(|i| i.closed) {
            return;
        }
        let hub = *self;
        let url = self.api().url(&format!("api/chat/stream?{query}"));
        let result = self.with(|i| i.transports.open(&url, session, stream, pane_core::event::KNOWN_EVENTS, move |s, r| hub.on_report(s, r)));
        if self.with(|i| i.transports.has_graveyard()) {
            // An open that replaced a transport of the same stream retired the old one.
            self.reap_soon();
        }
        if let Err(e) = result {
            self.toast(ToastKind::Error, e, None);
            let actions = self.with(|i| i.core.transport_failed(stream));
            self.execute(actions);
        }
    }

    fn reap_soon(&self) {
        let hub = *self;
        set_timeout(move || hub.with(|i| i.transports.reap()), Duration::ZERO);
    }

    /// Carries out the core's decisions.
    pub(crate) fn execute(&self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Open { session_id, stream_id, query } => self.open_transport(&session_id, &stream_id, &query),
                Action::Close { stream_id, reason } => {
                    if self.with(|i| i.transports.close(&stream_id)) {
                        self.reap_soon();
                    }
                    if reason == CloseReason::Ended {
                        self.refresh_list_soon();
                    }
                }
                Action::Reload { session_id, delay_ms: 0 } => self.reload(&session_id),
                Action::Reload { session_id, delay_ms } => {
                    let hub = *self;
                    set_timeout(move || hub.reload(&session_id), Duration::from_millis(u64::from(delay_ms)));
                }
                Action::Probe { session_id, stream_id, delay_ms } => {
                    let hub = *self;
                    set_timeout(move || hub.probe(session_id, stream_id), Duration::from_millis(u64::from(delay_ms)));
                }
                Action::Renamed { old, new } => self.renamed(&old, &new),
                Action::Notice { session_id, notice } => {
                    let kind = match notice.kind {
                        pane_core::session::NoticeKind::Info => ToastKind::Info,
                        pane_core::session::NoticeKind::Warning => ToastKind::Warning,
                        pane_core::session::NoticeKind::Error => ToastKind::Error,
                    };
                    let shown = self.active.get_untracked().as_deref() == Some(session_id.as_str());
                    self.toast(kind, notice.text, (!shown).then_some(session_id));
                }
                Action::Send { session_id, message } => {
                    let hub = *self;
                    spawn_local(async move {
                        if let Err(e) = hub.send(&session_id, &message.text, message.uploads.clone()).await {
                            hub.give_back(&session_id, &message.text, message.uploads, &e);
                        }
                    });
                }
                Action::GiveBack { session_id, messages } => {
                    let text = messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>().join("\n\n");
                    let uploads = messages.into_iter().flat_map(|m| m.uploads).collect();
                    self.give_back(&session_id, &text, uploads, "The reply ended before your queued message went out.");
                }
                Action::Finished { session_id } => {
                    // Running → idle shows at once; previews keep their slower pace.
                    self.sidebar_now();
                    self.finished(&session_id);
                    self.refresh_list_soon();
                }
            }
        }
    }

    fn probe(&self, session: String, stream: String) {
        let hub = *self;
        spawn_local(async move {
            let r = hub.api().get::<StreamStatus>("Checking the stream", &format!("api/chat/stream/status?stream_id={}", pane_core::url_encode(&stream))).await;
            match r {
                Ok(st) => {
                    hub.offline.set(None);
                    hub.core(Some(&session), |c| c.status_probed(&session, &stream, Some(&st)));
                }
                Err(e) if e.status == 404 => hub.core(Some(&session), |c| c.status_probed(&session, &stream, None)),
                Err(e) => {
                    if e.status == 0 {
                        hub.offline.set(Some("The Hermes backend is unreachable. Your running replies will resume when it is back.".into()));
                    }
                    hub.core(Some(&session), |c| c.probe_failed(&session, &stream));
                }
            }
        });
    }

    fn renamed(&self, old: &str, new: &str) {
        // The draft follows the session to its new id (the pane is re-keyed under it).
        let draft = crate::persist::draft(old);
        if !draft.is_empty() && crate::persist::draft(new).is_empty() {
            crate::persist::set_draft(new, &draft);
        }
        crate::persist::set_draft(old, "");
        self.with(|i| {
            if let Some(s) = i.stores.remove(old) {
                i.stores.insert(new.to_string(), s);
            }
            if let Some(s) = i.scroll.remove(old) {
                i.scroll.insert(new.to_string(), s);
            }
        });
        self.store(new).id().set(new.to_string());
        self.mounted.update(|m| m.iter_mut().filter(|x| *x == old).for_each(|x| *x = new.to_string()));
        if self.active.get_untracked().as_deref() == Some(old) {
            self.active.set(Some(new.to_string()));
            let nav = self.with(|i| i.navigate.clone());
            if let Some(n) = nav {
                n(&pane_core::Route::Session(new.to_string()).path(), true);
            }
        }
        self.refresh_list_soon();
    }

    fn finished(&self, id: &str) {
        let shown = self.active.get_untracked().as_deref() == Some(id);
        let title = self.with(|i| i.core.session(id).and_then(|s| s.title.clone())).unwrap_or_default();
        let what = if shown { "this conversation".to_string() } else { format!("“{title}”") };
        // Throttled, never per token: replies finishing close together are merged into one
        // announcement at most every 1.5 s.
        let wait = self.with(|i| {
            if !i.unannounced.contains(&what) {
                i.unannounced.push(what);
            }
            let wait = (i.last_announce + 1500.0 - now_ms()).max(0.0);
            let schedule = !std::mem::replace(&mut i.announce_scheduled, true);
            schedule.then_some(wait)
        });
        if let Some(wait) = wait {
            let hub = *self;
            set_timeout(move || hub.announce_now(), Duration::from_millis(wait as u64));
        }
    }

    fn announce_now(&self) {
        let (names, toggle) = self.with(|i| {
            i.announce_scheduled = false;
            i.last_announce = now_ms();
            (std::mem::take(&mut i.unannounced), i.last_announce as u64 % 2 == 1)
        });
        let text = match names.as_slice() {
            [] => return,
            [one] => format!("Reply finished in {one}."),
            many => format!("{} replies finished: {}.", many.len(), many.join(", ")),
        };
        // A trailing zero-width space alternates so the same sentence twice is still read.
        self.announce.set(if toggle { format!("{text}\u{200b}") } else { text });
    }

    // -----------------------------------------------------------------------------------------
    // User actions

    /// Sends `text` in session `id` (queued when a reply is running). `Err` keeps the draft.
    pub async fn send(&self, id: &str, text: &str, uploads: Vec<UploadedFile>) -> Result<(), String> {
        lazy::run(actions::send(*self, id.to_string(), text.to_string(), uploads)).await.unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    async fn send_now(self, id: &str, text: &str, uploads: Vec<UploadedFile>) -> Result<(), String> {
        let text = text.trim().to_string();
        if text.is_empty() && uploads.is_empty() {
            return Ok(());
        }
        let busy = self.with(|i| i.core.session(id).is_some_and(|s| s.is_busy() || s.live.as_ref().is_some_and(|l| l.stream_id.is_none())));
        if busy {
            self.core(Some(id), |c| {
                c.with_session(id, |rt| {
                    rt.enqueue(&text, &uploads);
                    Vec::new()
                })
            });
            return Ok(());
        }
        self.core(Some(id), |c| {
            c.with_session(id, |rt| {
                rt.begin_send(&text, &uploads);
                Vec::new()
            })
        });
        self.paint_now(id);
        let mut message = text.clone();
        if !uploads.is_empty() {
            message.push_str(&format!("\n\n[Attached files: {}]", uploads.iter().map(|u| u.path.as_str()).collect::<Vec<_>>().join(", ")));
        }
        let req = ChatStartRequest { session_id: id.to_string(), message, attachments: uploads.clone(), ..Default::default() };
        match self.api().post::<ChatStartReply>("Sending your message", "api/chat/start", &req).await {
            Ok(reply) => match reply.stream_id {
                Some(stream) => {
                    let (_, actions) = self.with(|i| i.core.attach(id, &stream, &uploads));
                    self.mark_dirty(id);
                    self.execute(actions);
                    self.refresh_list_soon();
                    Ok(())
                }
                None => {
                    self.core(Some(id), |c| c.with_session(id, |rt| rt.start_failed("The backend suppressed this message (a control message).")));
                    Ok(())
                }
            },
            Err(e) if e.active_stream().is_some() => {
                self.core(Some(id), |c| c.with_session(id, |rt| rt.start_conflict(&text, &uploads)));
                Ok(())
            }
            Err(e) => {
                self.core(Some(id), |c| c.with_session(id, |rt| rt.start_failed(&e.message)));
                Err(e.message)
            }
        }
    }

    /// A message sent on the user's behalf (queued, retried, from the start page) could not be
    /// sent: it goes back into that session's composer with the reason, so nothing is lost.
    pub fn give_back(&self, id: &str, text: &str, uploads: Vec<UploadedFile>, error: &str) {
        let draft = crate::persist::draft(id);
        let merged = if draft.trim().is_empty() { text.to_string() } else { format!("{draft}\n\n{text}") };
        crate::persist::set_draft(id, &merged);
        self.store(id).returned().set(Some(Returned { text: merged, uploads, error: error.to_string() }));
        let shown = self.active.get_untracked().as_deref() == Some(id);
        self.toast(ToastKind::Error, format!("{error} Your message is back in the composer."), (!shown).then(|| id.to_string()));
    }

    /// Stops the reply of session `id` — its own stream, wherever it is shown.
    pub fn stop(&self, id: &str) {
        let stream = self.with(|i| {
            i.core
                .session(id)
                .and_then(|s| s.live_stream_id().map(str::to_string))
                .or_else(|| i.rows.iter().find(|r| r.session_id == id).and_then(|r| r.active_stream_id.clone()))
        });
        let Some(stream) = stream else { return };
        self.spawn_later(lazy::run(actions::stop(*self, id.to_string(), stream)));
    }

    /// Runs a user action whose code is in the later chunk; says so if it cannot be loaded.
    fn spawn_later(&self, task: impl std::future::Future<Output = Result<(), lazy::NotLoaded>> + 'static) {
        let hub = *self;
        spawn_local(async move {
            if task.await.is_err() {
                hub.toast(ToastKind::Error, lazy::NOT_LOADED.to_string(), None);
            }
        });
    }

    async fn stop_now(self, id: String, stream: String) {
        let hub = self;
        match hub.api().get::<CancelReply>("Stopping the reply", &format!("api/chat/cancel?stream_id={}", pane_core::url_encode(&stream))).await {
            Ok(r) => {
                // The `cancel` event settles it; a parked session has no transport to
                // carry it, so it is re-read from the server instead.
                let has_transport = hub.with(|i| i.transports.get(&stream).is_some());
                if !has_transport || !r.cancelled {
                    hub.reload(&id);
                }
            }
            Err(e) => hub.toast(ToastKind::Error, e.message, None),
        }
    }

    /// Answers the session's approval card.
    pub fn approve(&self, id: &str, choice: ApprovalChoice) {
        let Some(a) = self.with(|i| i.core.session(id).and_then(|s| s.approval.clone())) else { return };
        if !self.begin_answer(id) {
            return;
        }
        // The guard ends the answer however the task ends, a chunk that cannot load included.
        let done = AnswerGuard(*self, id.to_string());
        let task = lazy::run(actions::approve(*self, id.to_string(), a, choice));
        self.spawn_later(async move {
            let _done = done;
            task.await
        });
    }

    async fn approve_now(self, id: String, a: pane_core::wire::Approval, choice: ApprovalChoice) {
        let hub = self;
        let body = ApprovalRespond::new(&id, &a, choice);
        match hub.api().post::<RespondReply>("Answering the approval", "api/approval/respond", &body).await {
            Ok(r) => match r.outcome() {
                RespondOutcome::Accepted | RespondOutcome::StaleCleared => hub.core(Some(&id), |c| {
                    c.with_session(&id, |rt| {
                        rt.clear_approval();
                        Vec::new()
                    })
                }),
                RespondOutcome::Superseded => hub.poll_prompts(&id),
            },
            Err(e) => hub.toast(ToastKind::Error, e.message, None),
        }
    }

    /// Answers the session's clarify card.
    pub fn answer(&self, id: &str, response: &str) {
        let Some(c) = self.with(|i| i.core.session(id).and_then(|s| s.clarify.clone())) else { return };
        let hub = *self;
        let id = id.to_string();
        let body = ClarifyRespond { session_id: id.clone(), response: response.to_string(), clarify_id: c.clarify_id.clone() };
        if !self.begin_answer(&id) {
            return;
        }
        let done = AnswerGuard(hub, id.clone());
        let task = lazy::run(actions::answer(hub, id, body));
        self.spawn_later(async move {
            let _done = done;
            task.await
        });
    }

    async fn answer_now(self, id: String, body: ClarifyRespond) {
        let hub = self;
        let r = hub.api().post::<RespondReply>("Answering the question", "api/clarify/respond", &body).await;
        match r {
            Ok(_) => {}
            // 409 stale: nothing is pending any more; the card goes away.
            Err(e) if e.status == 409 => {}
            Err(e) => {
                hub.toast(ToastKind::Error, e.message, None);
                return;
            }
        }
        hub.core(Some(&id), |c| {
            c.with_session(&id, |rt| {
                rt.clear_clarify();
                Vec::new()
            })
        });
    }

    /// Marks an answer of session `id` as on its way; false if one already is.
    fn begin_answer(&self, id: &str) -> bool {
        let flag = self.store(id).answering();
        let fresh = !flag.get_untracked();
        if fresh {
            flag.set(true);
        }
        fresh
    }

    /// Creates a session and shows it.
    pub async fn new_session(&self) -> Result<String, String> {
        lazy::run(actions::new_session(*self)).await.unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    async fn new_session_now(self) -> Result<String, String> {
        let at = self.with(|i| i.core.ticket());
        let r = self.api().post::<SessionEnvelope>("Creating a session", "api/session/new", &json!({})).await.map_err(|e| e.message)?;
        let id = r.session.session_id.clone();
        self.core(Some(&id), |c| c.load(&id, at, &r.session, true));
        self.open(&id);
        Ok(id)
    }

    pub fn rename(&self, id: &str, title: &str) {
        let (hub, id, title) = (*self, id.to_string(), title.trim().to_string());
        if title.is_empty() {
            return;
        }
        self.spawn_later(lazy::run(actions::rename(hub, id, title)));
    }

    async fn rename_now(self, id: String, title: String) {
        let hub = self;
        match hub.api().post::<SessionEnvelope>("Renaming", "api/session/rename", &json!({"session_id": id, "title": title})).await {
            Ok(_) => {
                hub.core(Some(&id), |c| {
                    c.with_session(&id, |rt| {
                        rt.set_title(&title);
                        Vec::new()
                    })
                });
                hub.refresh_list().await;
            }
            Err(e) => hub.toast(ToastKind::Error, e.message, None),
        }
    }

    pub fn set_flag(&self, id: &str, flag: &'static str, on: bool) {
        self.spawn_later(lazy::run(actions::set_flag(*self, id.to_string(), flag, on)));
    }

    async fn set_flag_now(self, id: String, flag: &'static str, on: bool) {
        let hub = self;
        let what = if flag == "pinned" { "Pinning" } else { "Archiving" };
        let path = if flag == "pinned" { "api/session/pin" } else { "api/session/archive" };
        match hub.api().post::<serde_json::Value>(what, path, &json!({"session_id": id, flag: on})).await {
            Ok(_) => hub.refresh_list().await,
            Err(e) => hub.toast(ToastKind::Error, e.message, None),
        }
    }

    pub fn delete(&self, id: &str) {
        self.spawn_later(lazy::run(actions::delete(*self, id.to_string())));
    }

    async fn delete_now(self, id: String) {
        let hub = self;
        match hub.api().post::<serde_json::Value>("Deleting", "api/session/delete", &json!({"session_id": id})).await {
            Ok(_) => {
                hub.core(None, |c| c.remove(&id));
                hub.mounted.update(|m| m.retain(|x| *x != id));
                hub.retire_store(id.clone());
                if hub.active.get_untracked().as_deref() == Some(id.as_str()) {
                    let nav = hub.with(|i| i.navigate.clone());
                    if let Some(n) = nav {
                        n("", false);
                    }
                }
                hub.refresh_list().await;
            }
            Err(e) => hub.toast(ToastKind::Error, e.message, None),
        }
    }

    /// Retries the last turn: the server truncates it; its text is sent again.
    pub fn retry(&self, id: &str) {
        self.spawn_later(lazy::run(actions::retry(*self, id.to_string())));
    }

    async fn retry_now(self, id: String) {
        let hub = self;
        match hub.api().post::<RetryReply>("Retrying", "api/session/retry", &json!({"session_id": id})).await {
            Ok(r) => {
                hub.reload_now(&id).await;
                if let Some(t) = r.last_user_text {
                    // The server already removed the turn: if the resend fails, the text
                    // must not be lost with it.
                    if let Err(e) = hub.send(&id, &t, Vec::new()).await {
                        hub.give_back(&id, &t, Vec::new(), &e);
                    }
                }
            }
            Err(e) => hub.toast(ToastKind::Error, e.message, None),
        }
    }

    /// Edit & resend: keep the messages before `index`, then send `text` as a new turn.
    pub async fn edit_resend(&self, id: &str, index: u64, text: &str) -> Result<(), String> {
        lazy::run(actions::edit_resend(*self, id.to_string(), index, text.to_string())).await.unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    async fn edit_resend_now(self, id: &str, index: u64, text: &str) -> Result<(), String> {
        self.api()
            .post::<SessionEnvelope>("Editing the message", "api/session/truncate", &json!({"session_id": id, "keep_count": index}))
            .await
            .map_err(|e| e.message)?;
        self.reload_now(id).await;
        // The edited message is gone from the transcript now (truncated): if the resend fails,
        // its text goes to the composer rather than into an edit box that no longer exists.
        if let Err(e) = self.send(id, text, Vec::new()).await {
            self.give_back(id, text, Vec::new(), &e);
        }
        Ok(())
    }

    async fn reload_now(&self, id: &str) {
        let at = self.with(|i| i.core.ticket());
        if let Ok(w) = self
            .api()
            .get::<SessionEnvelope>("Refreshing the session", &format!("api/session?session_id={}&msg_limit={WINDOW}", pane_core::url_encode(id)))
            .await
        {
            self.core(Some(id), |c| c.load(id, at, &w.session, true));
        }
    }

    /// Removes a queued message.
    pub fn unqueue(&self, id: &str, index: usize) {
        self.core(Some(id), |c| {
            c.with_session(id, |rt| {
                rt.unqueue(index);
                Vec::new()
            })
        });
    }

    /// Searches titles and content on the server (`None` clears the search).
    pub fn search(&self, q: Option<String>) {
        let hub = *self;
        // Only the newest query's answer is shown (a slow older one must not overwrite it).
        let seq = self.with(|i| {
            i.search_seq += 1;
            i.search_seq
        });
        match q.filter(|q| !q.trim().is_empty()) {
            None => self.sidebar.searching().set(false),
            Some(q) => self.spawn_later(lazy::run(actions::search(hub, q, seq))),
        }
    }

    async fn search_now(self, q: String, seq: u64) {
        let hub = self;
        let path = format!("api/sessions/search?q={}&content=1&depth=0", pane_core::url_encode(q.trim()));
        let reply = hub.api().get::<SearchReply>("Searching", &path).await;
        // A newer query was typed meanwhile: its answer is the one shown.
        if hub.with(|i| i.search_seq) != seq {
            return;
        }
        match reply {
            Ok(r) => {
                let rows: Vec<RowView> = hub.with(|i| r.into_rows().iter().map(|row| RowView::from(&pane_core::view::sidebar_row(row, &i.core))).collect());
                hub.sidebar.results().patch(rows);
                hub.sidebar.searching().set(true);
            }
            Err(e) => hub.toast(ToastKind::Error, e.message, None),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Toasts, scroll, test hooks

    pub fn toast(&self, kind: ToastKind, text: String, open: Option<String>) {
        let id = self.with(|i| {
            i.toast_seq += 1;
            i.toast_seq
        });
        self.toasts.update(|t| {
            t.push(Toast { id, kind, text, open });
            if t.len() > 5 {
                t.remove(0);
            }
        });
        let hub = *self;
        let ttl = if kind == ToastKind::Attention { 15 } else { 8 };
        set_timeout(move || hub.dismiss(id), Duration::from_secs(ttl));
    }

    pub fn dismiss(&self, id: u64) {
        self.toasts.update(|t| t.retain(|x| x.id != id));
    }

    pub fn scroll(&self, id: &str) -> Scroll {
        self.with(|i| i.scroll.get(id).copied().unwrap_or_default())
    }

    pub fn set_scroll(&self, id: &str, s: Scroll) {
        self.with(|i| i.scroll.insert(id.to_string(), s));
    }

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

    pub fn budget(&self) -> Budget {
        self.with(|i| i.core.budget())
    }

    /// Closes every connection for good (page teardown; tests end with it).
    pub fn shutdown(&self) {
        let streams: Vec<String> = self.transports().into_iter().map(|t| t.1).collect();
        self.with(|i| {
            i.closed = true;
            for s in &streams {
                i.transports.close(s);
            }
            if let Some(mut r) = i.sessions_channel.take() {
                r.close("sessions");
            }
        });
        self.reap_soon();
    }

    /// Token → paint latencies collected so far (ms), cleared (benchmarks; `test-hooks` only).
    #[cfg(feature = "test-hooks")]
    pub fn take_latencies(&self) -> Vec<f64> {
        self.with(|i| std::mem::take(&mut i.latency.samples))
    }

    /// Runs `f` on the core and executes its actions (tests and advanced callers).
    pub fn drive(&self, dirty: Option<&str>, f: impl FnOnce(&mut pane_core::Hub) -> Vec<Action>) {
        self.core(dirty, f);
    }
}

use wasm_bindgen::JsCast;

/// Clears a session's "answer on its way" mark when the answer's task ends, however it ends.
struct AnswerGuard(Hub, String);

impl Drop for AnswerGuard {
    fn drop(&mut self) {
        self.0.store(&self.1).answering().set(false);
    }
}
