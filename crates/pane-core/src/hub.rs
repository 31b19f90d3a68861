//! The hub: every session's runtime by id, the active-pane id, and the transports the sessions
//! hold. The active pane is only a projection: changing it re-ranks who gets a connection but
//! never touches a runtime. Every decision comes out as [`Action`]s for the shell.

use std::collections::{BTreeMap, BTreeSet};

use crate::cursor::EventId;
use crate::event::StreamEvent;
use crate::session::{Applied, Effect, Notice, Queued, SessionRuntime};
use crate::transport::{attach_decision, plan, retry_delay_ms, AttachDecision, Budget, Candidate, Priority, ReadyState, TransportSlot};
use crate::wire::{SessionRow, StreamStatus, UploadedFile};

/// Why a transport is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The stream ended (`stream_end`, `apperror`, `cancel`) or the server says it is over.
    Ended,
    /// Over budget: the session keeps its cursor and resumes later.
    Parked,
    /// The session now follows another stream.
    Replaced,
    /// Nobody owns this stream.
    Stale,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open an EventSource on `/api/chat/stream?{query}` for `stream_id`.
    Open {
        session_id: String,
        stream_id: String,
        query: String,
    },
    /// Close the EventSource of `stream_id` (and drop its handlers).
    Close {
        stream_id: String,
        reason: CloseReason,
    },
    /// Re-fetch the session (`GET /api/session`) after `delay_ms`.
    Reload {
        session_id: String,
        delay_ms: u32,
    },
    /// Ask `/api/chat/stream/status` after `delay_ms`.
    Probe {
        session_id: String,
        stream_id: String,
        delay_ms: u32,
    },
    /// A session's id rotated: follow it in the URL and the view stores.
    Renamed {
        old: String,
        new: String,
    },
    Notice {
        session_id: String,
        notice: Notice,
    },
    /// Start a turn with this message (a queued message whose turn came).
    Send {
        session_id: String,
        message: Queued,
    },
    /// Give these queued messages back to the user (the turn was stopped or failed).
    GiveBack {
        session_id: String,
        messages: Vec<Queued>,
    },
    /// A turn finished in this session.
    Finished {
        session_id: String,
    },
}

/// Sessions, the active pane, transports and the connection budget.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    sessions: BTreeMap<String, SessionRuntime>,
    active: Option<String>,
    transports: BTreeMap<String, TransportSlot>,
    viewed: BTreeMap<String, u64>,
    wanting_since: BTreeMap<String, u64>,
    tick: u64,
    attention: BTreeSet<String>,
    unread: BTreeSet<String>,
    budget: Budget,
    /// Orders what the hub learns: requests take a [`Ticket`] when sent, events a tick when
    /// they arrive.
    clock: u64,
}

/// When a request was sent, on the hub's clock ([`Hub::ticket`]). Its answer describes the
/// server as it was then: anything learnt from an event after that time is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Ticket(pub u64);

/// How many of the most recently viewed sessions rank as "recent".
const RECENT_VIEWS: usize = 4;

impl Hub {
    pub fn new(budget: Budget) -> Hub {
        Hub { budget, ..Default::default() }
    }

    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Changes the budget (e.g. once the page's protocol is known) and reschedules.
    pub fn set_budget(&mut self, budget: Budget) -> Vec<Action> {
        self.budget = budget;
        self.schedule()
    }

    // -----------------------------------------------------------------------------------------
    // Sessions and the active pane

    /// The session shown in the pane.
    pub fn active(&self) -> Option<&str> {
        self.active.as_deref()
    }

    /// Shows `id` (or nothing). Touches no runtime: only the view and who ranks first for a slot.
    pub fn set_active(&mut self, id: Option<&str>) -> Vec<Action> {
        let id = id.map(|i| self.resolve(i));
        if let Some(i) = &id {
            self.tick += 1;
            self.viewed.insert(i.clone(), self.tick);
            self.unread.remove(i);
        }
        self.active = id;
        self.schedule()
    }

    /// The current id for `id` (follows rotations).
    pub fn resolve(&self, id: &str) -> String {
        if self.sessions.contains_key(id) {
            return id.to_string();
        }
        self.sessions.values().find(|s| s.answers_to(id)).map_or_else(|| id.to_string(), |s| s.id.clone())
    }

    pub fn session(&self, id: &str) -> Option<&SessionRuntime> {
        self.sessions.get(id).or_else(|| self.sessions.values().find(|s| s.answers_to(id)))
    }

    pub fn sessions(&self) -> impl Iterator<Item = &SessionRuntime> {
        self.sessions.values()
    }

    /// Finished a turn while not shown, and not viewed since.
    pub fn is_unread(&self, id: &str) -> bool {
        self.unread.contains(id)
    }

    /// The server says this session waits on the user (sidebar `attention`), or its runtime does.
    pub fn needs_attention(&self, id: &str) -> bool {
        self.attention.contains(id) || self.session(id).is_some_and(SessionRuntime::needs_attention)
    }

    /// Runs `f` on the session's runtime (created if new) and turns its effects into actions.
    /// A title it sets (a rename) counts as learnt now.
    pub fn with_session(&mut self, id: &str, f: impl FnOnce(&mut SessionRuntime) -> Vec<Effect>) -> Vec<Action> {
        self.clock += 1;
        let now = self.clock;
        self.with_runtime(id, |rt| {
            let title = rt.title.clone();
            let effects = f(rt);
            if rt.title != title {
                rt.title_known_at = now;
            }
            effects
        })
    }

    fn with_runtime(&mut self, id: &str, f: impl FnOnce(&mut SessionRuntime) -> Vec<Effect>) -> Vec<Action> {
        let id = self.resolve(id);
        let rt = self.sessions.entry(id.clone()).or_insert_with(|| SessionRuntime::new(&id));
        let effects = f(rt);
        let mut actions = self.effects_to_actions(&id, effects);
        actions.extend(self.schedule());
        actions
    }

    /// Forgets a session (deleted): closes its transport.
    pub fn remove(&mut self, id: &str) -> Vec<Action> {
        let id = self.resolve(id);
        self.sessions.remove(&id);
        self.viewed.remove(&id);
        self.attention.remove(&id);
        self.unread.remove(&id);
        self.wanting_since.remove(&id);
        if self.active.as_deref() == Some(id.as_str()) {
            self.active = None;
        }
        let mut actions = Vec::new();
        if let Some(slot) = self.transports.remove(&id) {
            actions.push(Action::Close { stream_id: slot.stream_id, reason: CloseReason::Stale });
        }
        actions.extend(self.schedule());
        actions
    }

    /// A ticket for a request about to be sent (`/api/sessions`, `/api/session`): pass it
    /// back with the answer.
    pub fn ticket(&mut self) -> Ticket {
        self.clock += 1;
        Ticket(self.clock)
    }

    /// Takes a title from an answer to a request sent at `at`, unless a newer one was learnt
    /// since (a `title` event that arrived while the answer was on its way: the list computed
    /// before it still carries the provisional title).
    fn answered_title(rt: &mut SessionRuntime, title: Option<String>, at: Ticket) {
        if let Some(t) = title.filter(|t| !t.trim().is_empty()) {
            if at.0 > rt.title_known_at {
                rt.title = Some(t);
                rt.title_known_at = at.0;
            }
        }
    }

    /// Takes a `GET /api/session` answer to a request sent at `at` (see
    /// [`SessionRuntime::load`]); a title learnt after `at` stays.
    pub fn load(&mut self, id: &str, at: Ticket, detail: &crate::wire::SessionDetail, with_messages: bool) -> Vec<Action> {
        self.with_runtime(id, |rt| {
            let (title, known_at) = (rt.title.clone(), rt.title_known_at);
            let effects = rt.load(detail, with_messages);
            rt.title = title;
            Hub::answered_title(rt, detail.title.clone(), at);
            rt.title_known_at = rt.title_known_at.max(known_at);
            effects
        })
    }

    /// Takes the sidebar rows of a list requested at `at`: server-side attention, titles (unless
    /// a newer one arrived since), and running sessions we do not follow yet (they get a
    /// transport when the budget allows, replaying from the start).
    pub fn note_rows(&mut self, rows: &[SessionRow], at: Ticket) -> Vec<Action> {
        self.attention =
            rows.iter().filter(|r| r.attention.as_ref().is_some_and(|a| a.count > 0 || !a.kind.is_empty())).map(|r| self.resolve(&r.session_id)).collect();
        for row in rows {
            let id = self.resolve(&row.session_id);
            let rt = self.sessions.entry(id.clone()).or_insert_with(|| SessionRuntime::new(&id));
            Hub::answered_title(rt, row.display_title.clone().or_else(|| row.title.clone()), at);
            if let (true, Some(asid)) = (row.is_running(), row.active_stream_id.as_deref()) {
                let known = rt.stream.as_ref().is_some_and(|s| s.stream_id == asid);
                // A stream another runtime already follows (a compression continuation listed
                // under its new id before our `compressed` arrived) keeps its one owner.
                let rt_id = rt.id.clone();
                let owned_elsewhere = self.sessions.values().any(|o| o.id != rt_id && o.stream.as_ref().is_some_and(|s| s.stream_id == asid));
                let rt = self.sessions.get_mut(&id).expect("just inserted");
                if !known && !owned_elsewhere {
                    // `is_streaming` is the server's confirmation of a live stream.
                    rt.stream = Some(crate::session::OwnedStream { stream_id: asid.to_string(), confirmed: true, ..Default::default() });
                    rt.live = Some(crate::turn::LiveTurn::new(Some(asid.to_string()), None, Vec::new()));
                }
            }
        }
        self.schedule()
    }

    // -----------------------------------------------------------------------------------------
    // Transports

    /// The transport decision for `session` following `stream_id`. The session's pending
    /// attachments are updated first — even when the answer is "reuse".
    pub fn attach(&mut self, session: &str, stream_id: &str, uploads: &[UploadedFile]) -> (AttachDecision, Vec<Action>) {
        let id = self.resolve(session);
        let rt = self.sessions.entry(id.clone()).or_insert_with(|| SessionRuntime::new(&id));
        rt.pending_attachments = uploads.to_vec();
        let mut effects = Vec::new();
        let already_ended = rt.stream.as_ref().is_some_and(|s| s.stream_id == stream_id && s.ended);
        if already_ended {
            // That stream is over here: never replay it on top of the settled transcript.
            let actions = self.schedule();
            return (AttachDecision::Park, actions);
        }
        if rt.live_stream_id() != Some(stream_id) {
            effects = rt.started(stream_id);
        } else if let Some(s) = rt.stream.as_mut() {
            s.confirmed = true;
        }
        let decision = attach_decision(self.transports.get(&id), stream_id);
        let mut actions = self.effects_to_actions(&id, effects);
        actions.extend(self.schedule());
        let decision = if decision != AttachDecision::Reuse && !self.transports.contains_key(&id) { AttachDecision::Park } else { decision };
        (decision, actions)
    }

    /// The browser reported a ready-state change of `stream_id`'s transport.
    pub fn transport_state(&mut self, stream_id: &str, state: ReadyState) {
        if let Some(slot) = self.transports.values_mut().find(|s| s.stream_id == stream_id) {
            slot.state = state;
        }
    }

    /// The transport of `stream_id` failed; the shell has closed it. Probe, then resume.
    pub fn transport_failed(&mut self, stream_id: &str) -> Vec<Action> {
        let owner = self.transports.iter().find(|(_, s)| s.stream_id == stream_id).map(|(k, _)| k.clone());
        if let Some(o) = &owner {
            self.transports.remove(o);
        }
        let Some(id) = self.owner_of(stream_id) else { return self.schedule() };
        self.with_session(&id, |rt| rt.transport_failed(stream_id))
    }

    /// The status probe of `stream_id` answered (`None`: 404).
    pub fn status_probed(&mut self, session: &str, stream_id: &str, status: Option<&StreamStatus>) -> Vec<Action> {
        self.with_session(session, |rt| rt.status_probed(stream_id, status))
    }

    /// The status probe could not reach the server.
    pub fn probe_failed(&mut self, session: &str, stream_id: &str) -> Vec<Action> {
        self.with_session(session, |rt| rt.probe_failed(stream_id))
    }

    /// Open transports: `(session, stream)`.
    pub fn open_transports(&self) -> Vec<(String, String)> {
        self.transports.iter().map(|(k, s)| (k.clone(), s.stream_id.clone())).collect()
    }

    /// Sessions that want a transport but are over the budget.
    pub fn parked(&self) -> Vec<String> {
        self.sessions.values().filter(|s| s.wants_transport() && !self.transports.contains_key(&s.id)).map(|s| s.id.clone()).collect()
    }

    fn owner_of(&self, stream_id: &str) -> Option<String> {
        self.sessions.values().find(|s| s.stream.as_ref().is_some_and(|st| st.stream_id == stream_id)).map(|s| s.id.clone())
    }

    // -----------------------------------------------------------------------------------------
    // Events

    /// Applies a frame from the transport of `stream_id` to the session that owns that stream,
    /// whichever session is on screen.
    pub fn deliver(&mut self, stream_id: &str, id: Option<&EventId>, event: &StreamEvent) -> (Applied, Vec<Action>) {
        let Some(owner) = self.owner_of(stream_id) else {
            let mut actions = Vec::new();
            if let Some(k) = self.transports.iter().find(|(_, s)| s.stream_id == stream_id).map(|(k, _)| k.clone()) {
                self.transports.remove(&k);
            }
            actions.push(Action::Close { stream_id: stream_id.to_string(), reason: CloseReason::Stale });
            return (Applied::Stale, actions);
        };
        if let Some(slot) = self.transports.get_mut(&owner) {
            if slot.stream_id == stream_id {
                slot.state = ReadyState::Open;
            }
        }
        let rt = self.sessions.get_mut(&owner).expect("owner exists");
        let title = rt.title.clone();
        let step = rt.apply(stream_id, id, event);
        if rt.title != title || matches!(event, StreamEvent::Title(_)) {
            self.clock += 1;
            let rt = self.sessions.get_mut(&owner).expect("owner exists");
            rt.title_known_at = self.clock;
        }
        let mut actions = self.effects_to_actions(&owner, step.effects);
        if step.applied == Applied::Applied || event.is_terminal() {
            actions.extend(self.schedule());
        }
        (step.applied, actions)
    }

    fn effects_to_actions(&mut self, id: &str, effects: Vec<Effect>) -> Vec<Action> {
        let mut id = id.to_string();
        let mut actions = Vec::new();
        for e in effects {
            match e {
                Effect::CloseTransport { stream_id } => {
                    if let Some(k) = self.transports.iter().find(|(_, s)| s.stream_id == stream_id).map(|(k, _)| k.clone()) {
                        self.transports.remove(&k);
                    }
                    actions.push(Action::Close { stream_id, reason: CloseReason::Ended });
                }
                Effect::Reload => actions.push(Action::Reload { session_id: id.clone(), delay_ms: 0 }),
                Effect::ReloadLater { delay_ms } => actions.push(Action::Reload { session_id: id.clone(), delay_ms }),
                Effect::ProbeStatus { stream_id } => {
                    let failures = self.sessions.get(&id).map_or(0, SessionRuntime::failures);
                    let delay_ms = if failures == 0 { 0 } else { retry_delay_ms(failures) };
                    actions.push(Action::Probe { session_id: id.clone(), stream_id, delay_ms });
                }
                Effect::Renamed { old, new } => {
                    actions.extend(self.rekey(&old, &new));
                    id = new.clone();
                    actions.push(Action::Renamed { old, new });
                }
                Effect::Notice(n) => actions.push(Action::Notice { session_id: id.clone(), notice: n }),
                Effect::Send(message) => actions.push(Action::Send { session_id: id.clone(), message }),
                Effect::ReturnQueued(messages) => actions.push(Action::GiveBack { session_id: id.clone(), messages }),
                Effect::TurnFinished => {
                    if self.active.as_deref() != Some(id.as_str()) {
                        self.unread.insert(id.clone());
                    }
                    actions.push(Action::Finished { session_id: id.clone() });
                }
            }
        }
        actions
    }

    /// Moves everything known under `old` to `new` (a compression rotated the id). A runtime
    /// already known under `new` (from the session list) is superseded by the one that lived
    /// through the rotation, and a transport it held is closed.
    fn rekey(&mut self, old: &str, new: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(rt) = self.sessions.remove(old) {
            if let Some(prev) = self.sessions.insert(new.to_string(), rt) {
                let rt = self.sessions.get_mut(new).expect("just inserted");
                if rt.title.is_none() {
                    rt.title = prev.title;
                }
            }
        }
        let moved = self.transports.remove(old);
        let superseded = match moved {
            Some(slot) => self.transports.insert(new.to_string(), slot),
            None => self.transports.remove(new),
        };
        if let Some(slot) = superseded {
            actions.push(Action::Close { stream_id: slot.stream_id, reason: CloseReason::Replaced });
        }
        for map in [&mut self.viewed, &mut self.wanting_since] {
            if let Some(v) = map.remove(old) {
                map.insert(new.to_string(), v);
            }
        }
        for set in [&mut self.attention, &mut self.unread] {
            if set.remove(old) {
                set.insert(new.to_string());
            }
        }
        if self.active.as_deref() == Some(old) {
            self.active = Some(new.to_string());
        }
        actions
    }

    // -----------------------------------------------------------------------------------------
    // The budget scheduler

    fn priority(&self, id: &str, recent: &[&String]) -> Priority {
        if self.active.as_deref() == Some(id) {
            Priority::Shown
        } else if self.needs_attention(id) {
            Priority::Attention
        } else if recent.iter().any(|r| r.as_str() == id) {
            Priority::Recent(self.viewed[id])
        } else {
            Priority::Rest
        }
    }

    /// Decides which sessions hold a transport under the budget and returns the opens and
    /// closes that get there. Closes come first so their connections are free for the opens.
    pub fn schedule(&mut self) -> Vec<Action> {
        let mut by_recency: Vec<(&String, &u64)> = self.viewed.iter().collect();
        crate::sort_stable_by(&mut by_recency, |a, b| b.1.cmp(a.1));
        let recent: Vec<&String> = by_recency.into_iter().take(RECENT_VIEWS).map(|(k, _)| k).collect();

        let wanting: Vec<(String, String)> =
            self.sessions.values().filter(|s| s.wants_transport()).map(|s| (s.id.clone(), s.stream.as_ref().expect("wants").stream_id.clone())).collect();
        self.wanting_since.retain(|k, _| wanting.iter().any(|(w, _)| w == k));
        for (w, _) in &wanting {
            if !self.wanting_since.contains_key(w) {
                self.tick += 1;
                self.wanting_since.insert(w.clone(), self.tick);
            }
        }
        let candidates: Vec<Candidate> = wanting
            .iter()
            .map(|(id, stream)| Candidate {
                session_id: id.clone(),
                priority: self.priority(id, &recent),
                open: self.transports.get(id).is_some_and(|t| &t.stream_id == stream && t.state != ReadyState::Closed),
                since: self.wanting_since[id],
            })
            .collect();
        let chosen = plan(&candidates, self.budget.chat_slots());

        let mut closes = Vec::new();
        let mut opens = Vec::new();
        let held: Vec<String> = self.transports.keys().cloned().collect();
        for id in held {
            let slot = self.transports[&id].clone();
            let wanted = wanting.iter().find(|(w, _)| *w == id).map(|(_, s)| s.as_str());
            let reason = match wanted {
                None => Some(CloseReason::Ended),
                Some(s) if s != slot.stream_id => Some(CloseReason::Replaced),
                Some(_) if !chosen.contains(&id) => Some(CloseReason::Parked),
                Some(_) if slot.state == ReadyState::Closed => Some(CloseReason::Replaced),
                _ => None,
            };
            if let Some(reason) = reason {
                self.transports.remove(&id);
                closes.push(Action::Close { stream_id: slot.stream_id, reason });
            }
        }
        for (id, stream) in &wanting {
            if !chosen.contains(id) {
                continue;
            }
            match attach_decision(self.transports.get(id), stream) {
                AttachDecision::Reuse => {}
                _ => {
                    let cursor = self.sessions[id].stream.as_ref().expect("wants").cursor.clone();
                    self.transports.insert(id.clone(), TransportSlot { stream_id: stream.clone(), state: ReadyState::Connecting });
                    opens.push(Action::Open { session_id: id.clone(), stream_id: stream.clone(), query: cursor.resume_query(stream) });
                }
            }
        }
        closes.extend(opens);
        closes
    }
}
