//! The hub: created under the app's root owner and provided by context. It holds every
//! session's runtime (`pane_core::Hub`), the per-session view stores, the transports and the
//! active-pane signal. Views read stores; the hub alone opens and closes EventSources, so a
//! view unmounting never touches a transport.
//!
//! Flow: whatever the pane learns becomes a `pane_core::Input` given to [`Hub::update`]; the
//! core's decisions come back as `pane_core::Command`s, carried out by [`Hub::execute`]; the
//! sessions that changed are painted at the next animation frame ([`paint`]).
//!
//! - [`boot`]: start, the session list, showing and loading sessions;
//! - [`streams`]: the transports' reports, opening them, status probes, id rotations;
//! - [`actions`]: what a person does (send, stop, approve, rename…), each in one place;
//! - [`notices`]: toasts, announcements, a message given back to the composer;
//! - [`paint`]: runtime → view stores; [`views`]: the view stores' lifetimes and scroll
//!   positions; [`probes`]: read-only accessors for tests.

mod actions;
pub(crate) use actions::backend_commands;
mod boot;
mod notices;
mod notify;
mod paint;
mod probes;
pub mod store;
mod streams;
pub(crate) mod tabs;
pub mod transport;
mod views;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use pane_core::transport::Budget;
use pane_core::{Command, Input};
use reactive_stores::Store;

use crate::api::Api;
pub use crate::api::WINDOW;
pub use store::*;
use transport::Registry;
pub use views::Scroll;

/// Session panes kept mounted (switching back is instant and keeps its DOM).
pub const KEEP_MOUNTED: usize = 6;

/// Changes the address: `(path relative to the mount, replace the history entry)`.
pub type Navigate = Rc<dyn Fn(&str, bool)>;

/// Non-reactive state behind the hub handle.
pub(crate) struct Inner {
    /// The app's root owner: per-session stores live as long as the app, not as the view
    /// that first asked for them (a pane unmounting must not dispose its session's store).
    root: Owner,
    core: pane_core::Hub,
    stores: HashMap<String, Store<SessionView>>,
    rows: Vec<pane_core::wire::SessionRow>,
    /// Every session a list answer has named (or archived here): one left out later (archived,
    /// deleted) is not shown again as "started here, not listed yet".
    listed: HashSet<String>,
    transports: Registry,
    sessions_channel: Option<Registry>,
    painter: paint::Painter,
    scroll: HashMap<String, Scroll>,
    loading: HashSet<String>,
    notices: notices::Notices,
    search_seq: u64,
    list_refresh_pending: bool,
    /// After [`Hub::shutdown`]: no transport opens again.
    closed: bool,
    /// The budget of the whole browser for this origin (the page's protocol).
    browser_budget: Budget,
    /// The chat streams go through the tab that leads ([`tabs`]): this tab's core wants, the
    /// leader holds.
    shared: bool,
    /// `pending`, `leader`, `follower` or `solo` (the fallback without a leader).
    role: &'static str,
    /// The chat EventSources held for the whole browser (by the leader; by this tab alone
    /// in the fallback).
    held: usize,
    /// The fallback's share of the budget, as last given to the core.
    solo_budget: Option<Budget>,
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
    /// What the live region's urgent part says: a session that waits on the person.
    pub announce_urgent: RwSignal<String>,
    /// Set while the backend cannot be reached.
    pub offline: RwSignal<Option<String>>,
    /// The backend's settings the pane honours (`/api/settings`, shared with the stock UI).
    pub send_key: RwSignal<pane_core::view::SendKey>,
    pub notifications: RwSignal<bool>,
    /// The theme shown: `""` (the system's), `"light"` or `"dark"` — this browser's choice, or
    /// the backend's setting until one is made here.
    pub theme: RwSignal<String>,
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
                listed: HashSet::new(),
                transports: Registry::default(),
                sessions_channel: None,
                painter: paint::Painter::default(),
                scroll: HashMap::new(),
                loading: HashSet::new(),
                notices: notices::Notices::default(),
                search_seq: 0,
                list_refresh_pending: false,
                closed: false,
                browser_budget: budget,
                shared: false,
                role: "pending",
                held: 0,
                solo_budget: None,
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
            announce_urgent: RwSignal::new(String::new()),
            offline: RwSignal::new(None),
            send_key: RwSignal::new(Default::default()),
            notifications: RwSignal::new(false),
            theme: RwSignal::new(crate::persist::get("theme").unwrap_or_default()),
        }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        self.inner.try_update_value(f).expect("hub disposed")
    }

    pub fn api(&self) -> Rc<Api> {
        self.api.get_value()
    }

    /// Gives the core what it learnt, marks `dirty` for paint, and carries out its commands.
    #[inline(always)]
    pub fn update(&self, dirty: Option<&str>, input: Input) {
        let commands = self.decide(input);
        if let Some(d) = dirty {
            self.mark_dirty(d);
        }
        self.execute(commands);
    }

    /// The core's decisions about `input`. Inlined, like `pane_core::Hub::update`, so each call
    /// site keeps only its own input's handling — what a person's actions need stays with them
    /// in the lazily loaded chunk. (The core is taken out of the hub's cell for the call: the
    /// cell's accessor is an opaque generic call the input's kind would not be seen through.)
    #[inline(always)]
    pub(crate) fn decide(&self, input: Input) -> Vec<Command> {
        let mut core = self.with(|i| std::mem::take(&mut i.core));
        let commands = core.update(input);
        // The empty hub left in its place owns no allocation: no drop glue for it.
        self.with(|i| std::mem::forget(std::mem::replace(&mut i.core, core)));
        commands
    }

    /// A ticket for a request about to be sent: its answer goes back with it.
    pub fn ticket(&self) -> pane_core::Ticket {
        self.with(|i| i.core.ticket())
    }

    /// Lets the routes give the hub a way to change the URL.
    pub fn set_navigate(&self, f: Navigate) {
        self.with(|i| i.navigate = Some(f));
    }

    fn navigate(&self, path: &str, replace: bool) {
        let nav = self.with(|i| i.navigate.clone());
        if let Some(n) = nav {
            n(path, replace);
        }
    }

    /// Goes to a session's URL (the route then calls [`Hub::show`]).
    pub fn open(&self, id: &str) {
        match self.with(|i| i.navigate.is_some()) {
            true => self.navigate(&pane_core::Route::Session(id.to_string()).path(), false),
            false => self.show(Some(id.to_string())),
        }
    }

    /// Carries out the core's decisions.
    pub(crate) fn execute(&self, commands: Vec<Command>) {
        // Opens and closes go to the tabs' module (the later chunk), which holds the transports
        // — or, with a shared set, tells the leader what this tab wants — once per batch.
        let mut transports = Vec::new();
        for c in commands {
            match c {
                c @ (Command::Open { .. } | Command::Close { .. }) => transports.push(c),
                Command::Reload {
                    session_id,
                    delay_ms: 0,
                } => self.reload(&session_id),
                Command::Reload {
                    session_id,
                    delay_ms,
                } => {
                    let hub = *self;
                    set_timeout(
                        move || hub.reload(&session_id),
                        Duration::from_millis(u64::from(delay_ms)),
                    );
                }
                Command::Probe {
                    session_id,
                    stream_id,
                    delay_ms,
                } => {
                    let hub = *self;
                    set_timeout(
                        move || hub.probe(session_id, stream_id),
                        Duration::from_millis(u64::from(delay_ms)),
                    );
                }
                Command::Renamed { old, new } => self.renamed(&old, &new),
                Command::Notice { session_id, notice } => self.notice(&session_id, notice),
                start @ Command::StartTurn { .. } => self.start_in_background(start),
                Command::GiveBack {
                    session_id,
                    messages,
                } => {
                    let text = messages
                        .iter()
                        .map(|m| m.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n\n");
                    let uploads = messages.into_iter().flat_map(|m| m.uploads).collect();
                    self.give_back(
                        &session_id,
                        &text,
                        uploads,
                        "The reply ended before your queued message went out.",
                    );
                }
                Command::Finished { session_id } => {
                    // Running → idle shows at once; previews keep their slower pace.
                    self.sidebar_now();
                    self.finished(&session_id);
                    self.refresh_list_soon();
                }
                Command::Waits { session_id } => self.waits(&session_id),
            }
        }
        if !transports.is_empty() {
            tabs::tell(*self, tabs::Event::Transports(transports));
        }
    }
}
