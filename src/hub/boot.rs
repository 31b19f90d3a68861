//! Start, the session list, and showing and loading sessions.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use pane_core::transport::Budget;
use pane_core::Input;
use wasm_bindgen::JsCast;

use super::store::*;
use super::transport::{Registry, Report};
use super::{Hub, KEEP_MOUNTED};
use crate::api::Part;

impl Hub {
    /// The budget for the page's protocol: `nextHopProtocol` of the navigation, overridable
    /// with `?budget=N` or `localStorage["hermes-pane:budget"]`.
    pub fn detect_budget() -> Budget {
        let w = web_sys::window();
        let from_query = w
            .as_ref()
            .and_then(|w| w.location().search().ok())
            .and_then(|q| {
                q.split(['?', '&']).find_map(|kv| {
                    kv.strip_prefix("budget=")
                        .and_then(|v| v.parse::<usize>().ok())
                })
            });
        let from_storage = crate::persist::get("budget").and_then(|v| v.parse::<usize>().ok());
        if let Some(n) = from_query.or(from_storage) {
            return Budget::with_connections(n);
        }
        let protocol = w
            .and_then(|w| w.performance())
            .map(|p| p.get_entries_by_type("navigation"))
            .and_then(|entries| {
                entries
                    .get(0)
                    .dyn_into::<web_sys::PerformanceNavigationTiming>()
                    .ok()
            })
            .map(|n| n.next_hop_protocol())
            .unwrap_or_default();
        Budget::for_protocol(&protocol)
    }

    /// Loads the list and keeps it fresh with one `/api/sessions/events` connection.
    pub fn boot(&self) {
        // No chat stream until the tabs have agreed who holds them: the browser's
        // connections are shared by every tab.
        self.update(None, Input::Budget(Budget::share(0)));
        let hub = *self;
        // The session-list channel is opened by the tab that leads (or by each tab in the
        // fallback) once the tabs have agreed ([`super::tabs`]); its `open` re-fetches the
        // list, so no change between this fetch and it is missed.
        spawn_local(async move { hub.refresh_list().await });
        self.follow_visibility();
        // Leaving the page (maybe into the back/forward cache): free its connections, which are
        // shared with every other tab of this origin; coming back from that cache, start fresh.
        let hub = *self;
        std::mem::forget(window_event_listener_untyped("pagehide", move |_| {
            hub.shutdown()
        }));
        std::mem::forget(window_event_listener_untyped("pageshow", move |ev| {
            let persisted = ev
                .dyn_ref::<web_sys::PageTransitionEvent>()
                .is_some_and(|e| e.persisted());
            if persisted {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }
        }));
    }

    /// The first content is on screen (or 3 s passed): what the page holds back until then
    /// goes — the later chunk, and the sign-in check. Neither is needed for that paint: the
    /// first answers come without the check (signed out, they answer 401, which sends the
    /// browser to the login page as the check would), and a POST before it reads the token
    /// itself ([`crate::api::Api::ensure_csrf`]); both would compete with it for the main
    /// thread and the backend.
    pub(crate) fn after_first_paint(&self) {
        if !crate::lazy::first_paint_done() {
            return;
        }
        let api = self.api();
        spawn_local(async move {
            if let Ok(status) = api.auth_status().await {
                if status.auth_enabled && !status.logged_in {
                    crate::api::redirect_to_login();
                    return;
                }
                // The token before the first POST needs it (with auth off, none is needed).
                api.ensure_csrf().await;
            }
        });
    }

    /// Tells the core when the tab is hidden or shown (it holds fewer connections hidden).
    fn follow_visibility(&self) {
        let hub = *self;
        let apply = move || {
            if hub.with(|i| i.shared) {
                // The leader ranks what each tab shows; a hidden leader keeps leading.
                super::tabs::tell(hub, super::tabs::Event::Changed);
                return;
            }
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.hidden());
            hub.update(None, Input::Visibility { hidden });
            if !hidden {
                // The shown session is seen now: its unread mark and the tab's count go.
                hub.sidebar_now();
            }
        };
        let handle = window_event_listener_untyped("visibilitychange", move |_| apply());
        // Lives as long as the app (the hub is root-owned).
        std::mem::forget(handle);
    }

    /// Re-fetches `/api/sessions`.
    pub async fn refresh_list(&self) {
        let at = self.ticket();
        match self.api().sessions().await {
            Ok(list) => {
                self.offline.set(None);
                let rows = list.sessions;
                if !self.with(|i| i.core.takes_list(at)) {
                    return;
                }
                self.with(|i| {
                    i.listed.extend(rows.iter().map(|r| r.session_id.clone()));
                    i.rows = rows.clone();
                });
                self.update(None, Input::Listed { rows, at });
                self.sidebar.error().set(None);
                if !self.sidebar.loaded().get_untracked() {
                    // "Interactive": the app is up and the list is there (read by the benchmarks).
                    crate::mark("pane-interactive");
                }
                self.sidebar.loaded().set(true);
                self.sidebar_now();
            }
            Err(e) => {
                if e.status == 0 {
                    self.offline
                        .set(Some("The Hermes backend is unreachable. Retrying…".into()));
                }
                self.sidebar.error().set(Some(e.message));
                // A frame, so the first paint counts as done (`after_first_paint`).
                self.sidebar_now();
            }
        }
    }

    pub(crate) fn refresh_list_soon(&self) {
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

    pub(crate) fn open_sessions_channel(&self) {
        if self.with(|i| i.closed || i.sessions_channel.is_some()) {
            return;
        }
        let hub = *self;
        let url = self.api().sessions_events_url();
        let mut reg = Registry::default();
        let opened = reg.open(
            &url,
            "",
            "sessions",
            &["sessions_changed"],
            move |_, r| match r {
                Report::Frame(f) if f.name == "sessions_changed" => hub.list_changed(),
                Report::Open => hub.list_changed(),
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
            },
        );
        if opened.is_ok() {
            self.with(|i| i.sessions_channel = Some(reg));
        }
    }

    /// The session list changed (or its channel reconnected): re-fetch it, and so does every
    /// other tab when this one leads.
    fn list_changed(&self) {
        self.refresh_list_soon();
        if self.with(|i| i.shared) {
            super::tabs::tell(*self, super::tabs::Event::ListChanged);
        }
    }

    /// Shows `id`. Only the view changes: transports stay as they are (the budget may re-rank).
    pub fn show(&self, id: Option<String>) {
        if self.active.get_untracked() == id {
            return;
        }
        self.update(None, Input::Show(id.clone()));
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
            let (loaded, busy) = self.with(|i| {
                i.core
                    .session(id)
                    .map_or((false, false), |s| (s.loaded(), s.is_busy()))
            });
            if !loaded {
                self.load(id);
            } else if busy {
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

    /// Loads a session: its message window; first its metadata if it runs (the live snapshot
    /// shows before the window arrives: [`pane_core::Hub::wants_meta_first`]).
    pub fn load(&self, id: &str) {
        let hub = *self;
        let id = id.to_string();
        if !self.with(|i| i.loading.insert(id.clone())) {
            return;
        }
        let meta_first = self.with(|i| i.core.wants_meta_first(&id));
        spawn_local(async move {
            let api = hub.api();
            if meta_first {
                let at = hub.ticket();
                let meta = match api.session(&id, Part::Meta).await {
                    Ok(m) => m,
                    Err(e) => {
                        hub.with(|i| i.loading.remove(&id));
                        hub.store(&id).load_error().set(Some(e.message));
                        // A frame, so the first paint counts as done (`after_first_paint`).
                        hub.sidebar_now();
                        return;
                    }
                };
                hub.update(
                    Some(&id),
                    Input::Loaded {
                        session: id.clone(),
                        detail: meta.session,
                        messages: false,
                        at,
                    },
                );
            }
            let at = hub.ticket();
            // Where the page's first open goes (`crate::mark`); later opens add no marks.
            let starting = crate::lazy::before_first_paint();
            let mark = |name| {
                if starting {
                    crate::mark(name)
                }
            };
            mark("pane-load");
            let window = api.session(&id, Part::Window).await;
            mark("pane-window");
            hub.with(|i| i.loading.remove(&id));
            match window {
                Ok(w) => {
                    hub.store(&id).load_error().set(None);
                    let running = w.session.active_stream_id.is_some();
                    hub.update(
                        Some(&id),
                        Input::Loaded {
                            session: id.clone(),
                            detail: w.session,
                            messages: true,
                            at,
                        },
                    );
                    if running {
                        hub.poll_prompts(&id);
                    }
                }
                Err(e) => {
                    hub.store(&id).load_error().set(Some(e.message));
                    hub.sidebar_now();
                }
            }
            hub.paint_now(&id);
            mark("pane-applied");
        });
    }

    /// Re-fetches a session's window to settle it (the `Reload` command).
    pub(crate) fn reload(&self, id: &str) {
        let hub = *self;
        let id = id.to_string();
        spawn_local(async move {
            let at = hub.ticket();
            match hub.api().session(&id, Part::Window).await {
                Ok(w) => hub.update(
                    Some(&id),
                    Input::Loaded {
                        session: id.clone(),
                        detail: w.session,
                        messages: true,
                        at,
                    },
                ),
                Err(e) if e.status == 404 => hub.toast(
                    super::ToastKind::Warning,
                    "This session no longer exists on the server.".into(),
                    None,
                ),
                Err(e) => {
                    // Try again shortly: the turn must settle from the server.
                    hub.toast(super::ToastKind::Warning, e.message, None);
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
}
