//! The hub: every session's runtime by id, the active-pane id, and the transports the sessions
//! hold. The active pane is only a projection: changing it re-ranks who gets a connection but
//! never touches a runtime. Everything it learns is an [`Input`] to [`Hub::update`]; every
//! decision comes out as [`Command`]s for the shell.

use std::collections::{BTreeMap, BTreeSet};

use crate::cursor::EventId;
use crate::event::StreamEvent;
pub use crate::input::{CloseReason, Command, Input, Prompt};
use crate::session::{Applied, Intent, SessionRuntime};
use crate::transport::{
    attach_decision, plan, retry_delay_ms, AttachDecision, Budget, Candidate, Priority, ReadyState,
    TransportSlot,
};
use crate::wire::{SessionDetail, SessionRow, UploadedFile};

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
    /// The budget of the page's protocol; a hidden tab holds less ([`Budget::hidden_tab`]).
    full_budget: Budget,
    hidden: bool,
    /// How the last frame was taken (for tests and diagnostics).
    last_applied: Option<Applied>,
    /// Orders what the hub learns: requests take a [`Ticket`] when sent, events a tick when
    /// they arrive.
    clock: u64,
    /// When the newest session list taken was asked for: an older answer that lands after it
    /// describes the server before (say) an archive, and is dropped.
    list_at: Ticket,
}

/// When a request was sent, on the hub's clock ([`Hub::ticket`]). Its answer describes the
/// server as it was then: anything learnt from an event after that time is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Ticket(pub u64);

/// How many of the most recently viewed sessions rank as "recent".
const RECENT_VIEWS: usize = 4;

impl Hub {
    pub fn new(budget: Budget) -> Hub {
        Hub {
            budget,
            full_budget: budget,
            ..Default::default()
        }
    }

    /// The budget in force (the page's, or a hidden tab's).
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// How the last [`Input::Frame`] was taken.
    pub fn last_applied(&self) -> Option<Applied> {
        self.last_applied
    }

    /// Takes what the hub learns; returns what the shell must do about it.
    ///
    /// Inlined at every call site on purpose: the shell builds one kind of input per site, so
    /// only that arm remains there — the handling of a person's actions (called from the
    /// pane's lazily loaded chunk) then costs the first paint nothing.
    #[inline(always)]
    pub fn update(&mut self, input: Input) -> Vec<Command> {
        match input {
            Input::Listed { rows, at } => {
                if !self.takes_list(at) {
                    return Vec::new();
                }
                self.list_at = at;
                self.note_rows(&rows, at)
            }
            Input::Loaded {
                session,
                detail,
                messages,
                at,
            } => self.load(&session, at, &detail, messages),
            Input::PagedIn { session, detail } => self.with_runtime(&session, |rt| {
                rt.load_older(&detail);
                Vec::new()
            }),
            Input::Probed {
                session,
                stream,
                status,
            } => self.with_runtime(&session, |rt| rt.status_probed(&stream, status.as_ref())),
            Input::ProbeFailed { session, stream } => {
                self.with_runtime(&session, |rt| rt.probe_failed(&stream))
            }
            Input::PromptsPolled {
                session,
                approval,
                clarify,
                at,
            } => self.with_runtime(&session, |rt| {
                // "Nothing pending" from a poll sent before the stream showed a card is stale.
                let stale = at.0 < rt.prompt_known_at;
                let approval = approval.filter(|a| a.is_some() || !stale);
                let clarify = clarify.filter(|c| c.is_some() || !stale);
                if rt.prompts_polled(approval, clarify) {
                    vec![Intent::Waits]
                } else {
                    Vec::new()
                }
            }),
            Input::Started {
                session,
                stream,
                uploads,
            } => self.attach(&session, &stream, &uploads),
            Input::StartConflict {
                session,
                text,
                uploads,
            } => self.with_runtime(&session, |rt| rt.start_conflict(&text, &uploads)),
            Input::StartFailed { session, message } => {
                self.with_runtime(&session, |rt| rt.start_failed(&message))
            }
            Input::Answered { session, prompt } => self.with_runtime(&session, |rt| {
                rt.answered(prompt);
                Vec::new()
            }),
            Input::Renamed { session, title } => self.renamed(&session, &title),
            Input::Steered { session, text } => self.with_runtime(&session, |rt| {
                rt.steered(&text);
                Vec::new()
            }),
            Input::Removed { session } => self.remove(&session),
            Input::Frame { stream, id, event } => {
                let (applied, commands) = self.deliver(&stream, id.as_ref(), &event);
                self.last_applied = Some(applied);
                commands
            }
            Input::ReadyState { stream, state } => {
                self.transport_state(&stream, state);
                Vec::new()
            }
            Input::Failed { stream } => self.transport_failed(&stream),
            Input::Show(id) => self.set_active(id.as_deref()),
            Input::Budget(b) => {
                self.full_budget = b;
                self.apply_budget()
            }
            Input::Visibility { hidden } => {
                self.hidden = hidden;
                if !hidden {
                    // The shown session is seen again.
                    if let Some(a) = self.active.clone() {
                        self.unread.remove(&a);
                    }
                }
                self.apply_budget()
            }
            Input::Send {
                session,
                text,
                uploads,
            } => self.send(&session, &text, uploads),
            Input::Unqueue { session, index } => self.with_runtime(&session, |rt| {
                rt.unqueue(index);
                Vec::new()
            }),
        }
    }

    /// Browsers share ~6 connections per origin across *all* tabs: a hidden tab keeps only the
    /// stream of the session it shows (the rest park with their cursors) and takes its full
    /// budget back when it is visible again.
    fn apply_budget(&mut self) -> Vec<Command> {
        let budget = if self.hidden {
            self.full_budget.hidden_tab()
        } else {
            self.full_budget
        };
        if budget == self.budget {
            return Vec::new();
        }
        self.budget = budget;
        self.schedule()
    }

    /// The person sends `text`: behind a running (or starting) reply it is queued; else its
    /// optimistic turn shows at once and the shell starts it.
    fn send(&mut self, session: &str, text: &str, uploads: Vec<UploadedFile>) -> Vec<Command> {
        let text = text.trim();
        if text.is_empty() && uploads.is_empty() {
            return Vec::new();
        }
        let id = self.resolve(session);
        let busy = self
            .session(&id)
            .is_some_and(|s| s.is_busy() || s.live.as_ref().is_some_and(|l| l.stream_id.is_none()));
        if busy {
            return self.with_runtime(&id, |rt| {
                rt.enqueue(text, &uploads);
                Vec::new()
            });
        }
        let queued = crate::session::Queued {
            text: text.to_string(),
            uploads,
        };
        let mut commands = vec![self.start_turn(&id, queued, false)];
        commands.extend(self.schedule());
        commands
    }

    /// Shows the optimistic turn of `message` and asks the shell to start it.
    fn start_turn(&mut self, id: &str, message: crate::session::Queued, queued: bool) -> Command {
        let rt = self
            .sessions
            .entry(id.to_string())
            .or_insert_with(|| SessionRuntime::new(id));
        rt.begin_send(&message.text, &message.uploads);
        let mut wire = message.text.clone();
        if !message.uploads.is_empty() {
            let paths: Vec<&str> = message.uploads.iter().map(|u| u.path.as_str()).collect();
            wire.push_str(&format!("\n\n[Attached files: {}]", paths.join(", ")));
        }
        Command::StartTurn {
            session_id: id.to_string(),
            message: wire,
            text: message.text,
            uploads: message.uploads,
            queued,
        }
    }

    /// A rename went through: the title, learnt now.
    fn renamed(&mut self, session: &str, title: &str) -> Vec<Command> {
        self.clock += 1;
        let now = self.clock;
        self.with_runtime(session, |rt| {
            rt.set_title(title);
            rt.title_known_at = now;
            Vec::new()
        })
    }

    // -----------------------------------------------------------------------------------------
    // Sessions and the active pane

    /// The session shown in the pane.
    pub fn active(&self) -> Option<&str> {
        self.active.as_deref()
    }

    /// Shows `id` (or nothing). Touches no runtime: only the view and who ranks first for a slot.
    fn set_active(&mut self, id: Option<&str>) -> Vec<Command> {
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
        self.sessions
            .values()
            .find(|s| s.answers_to(id))
            .map_or_else(|| id.to_string(), |s| s.id.clone())
    }

    pub fn session(&self, id: &str) -> Option<&SessionRuntime> {
        self.sessions
            .get(id)
            .or_else(|| self.sessions.values().find(|s| s.answers_to(id)))
    }

    pub fn sessions(&self) -> impl Iterator<Item = &SessionRuntime> {
        self.sessions.values()
    }

    /// Finished a turn while not shown (or while the tab was hidden), and not viewed since.
    pub fn is_unread(&self, id: &str) -> bool {
        self.unread.contains(id)
    }

    /// How many sessions want the person: waiting on an answer, or with a reply not seen yet
    /// (the tab's title carries the count).
    pub fn wanting(&self) -> usize {
        // A plain count, not a set collected from the ids: collecting a B-tree sorts its input,
        // a whole stable sort more in the first paint's wasm for a handful of ids.
        self.unread.len()
            + self
                .attention
                .iter()
                .filter(|id| !self.unread.contains(*id))
                .count()
            + self
                .sessions
                .values()
                .filter(|s| {
                    s.needs_attention()
                        && !self.unread.contains(&s.id)
                        && !self.attention.contains(&s.id)
                })
                .count()
    }

    /// The server says this session waits on the user (sidebar `attention`), or its runtime does.
    pub fn needs_attention(&self, id: &str) -> bool {
        self.attention.contains(id)
            || self
                .session(id)
                .is_some_and(SessionRuntime::needs_attention)
    }

    /// Runs `f` on the session's runtime (created if new) and turns its intents into commands.
    fn with_runtime(
        &mut self,
        id: &str,
        f: impl FnOnce(&mut SessionRuntime) -> Vec<Intent>,
    ) -> Vec<Command> {
        let id = self.resolve(id);
        let rt = self
            .sessions
            .entry(id.clone())
            .or_insert_with(|| SessionRuntime::new(&id));
        let intents = f(rt);
        let mut actions = self.intents_to_commands(&id, intents);
        actions.extend(self.schedule());
        actions
    }

    /// Forgets a session (deleted): closes its transport.
    fn remove(&mut self, id: &str) -> Vec<Command> {
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
            actions.push(Command::Close {
                stream_id: slot.stream_id,
                reason: CloseReason::Stale,
            });
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

    /// Whether opening `id` should ask for its metadata before its messages: only when it is
    /// known to run (the list or a stream says so) — the metadata carries the live turn's
    /// snapshot, which then shows without waiting for the message window. An idle session
    /// needs one request, not two: the window's answer carries the same metadata (and, should
    /// a turn have started meanwhile, the same snapshot).
    pub fn wants_meta_first(&self, id: &str) -> bool {
        self.sessions
            .get(&self.resolve(id))
            .is_some_and(|rt| rt.stream.as_ref().is_some_and(|s| !s.ended))
    }

    /// Whether a session list asked for at `at` is newer than the one in force: answers on
    /// separate connections can land out of order, and the older one must not bring back a
    /// row archived or deleted in between.
    pub fn takes_list(&self, at: Ticket) -> bool {
        at >= self.list_at
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
    fn load(
        &mut self,
        id: &str,
        at: Ticket,
        detail: &SessionDetail,
        with_messages: bool,
    ) -> Vec<Command> {
        self.with_runtime(id, |rt| {
            let (title, known_at) = (rt.title.clone(), rt.title_known_at);
            let intents = rt.load(detail, with_messages);
            rt.title = title;
            Hub::answered_title(rt, detail.title.clone(), at);
            rt.title_known_at = rt.title_known_at.max(known_at);
            intents
        })
    }

    /// Takes the sidebar rows of a list requested at `at`: server-side attention, titles (unless
    /// a newer one arrived since), and running sessions we do not follow yet (they get a
    /// transport when the budget allows, replaying from the start).
    fn note_rows(&mut self, rows: &[SessionRow], at: Ticket) -> Vec<Command> {
        self.attention = rows
            .iter()
            .filter(|r| {
                r.attention
                    .as_ref()
                    .is_some_and(|a| a.count > 0 || !a.kind.is_empty())
            })
            .map(|r| self.resolve(&r.session_id))
            .collect();
        let mut reload = Vec::new();
        for row in rows {
            let id = self.resolve(&row.session_id);
            let rt = self
                .sessions
                .entry(id.clone())
                .or_insert_with(|| SessionRuntime::new(&id));
            Hub::answered_title(
                rt,
                row.display_title.clone().or_else(|| row.title.clone()),
                at,
            );
            if let (true, Some(asid)) = (row.is_running(), row.active_stream_id.as_deref()) {
                let known = rt.stream.as_ref().is_some_and(|s| s.stream_id == asid);
                // A stream another runtime already follows (a compression continuation listed
                // under its new id before our `compressed` arrived) keeps its one owner.
                let rt_id = rt.id.clone();
                let owned_elsewhere = self.sessions.values().any(|o| {
                    o.id != rt_id && o.stream.as_ref().is_some_and(|s| s.stream_id == asid)
                });
                let rt = self.sessions.get_mut(&id).expect("just inserted");
                if !known && !owned_elsewhere {
                    // `is_streaming` is the server's confirmation of a live stream.
                    rt.stream = Some(crate::session::OwnedStream {
                        stream_id: asid.to_string(),
                        confirmed: true,
                        ..Default::default()
                    });
                    rt.live = Some(crate::turn::LiveTurn::new(
                        Some(asid.to_string()),
                        None,
                        Vec::new(),
                    ));
                }
            } else if let Some(n) = row.message_count.filter(|n| {
                *n > rt.message_count.max(rt.listed_count)
                    && rt.loaded
                    && !rt.is_busy()
                    && rt.live.is_none()
            }) {
                // Messages this runtime has not seen (a turn another client ran and finished
                // between two lists): its transcript is re-read, once per count.
                rt.listed_count = n;
                reload.push(id.clone());
            }
        }
        let mut commands: Vec<Command> = reload
            .into_iter()
            .map(|session_id| Command::Reload {
                session_id,
                delay_ms: 0,
            })
            .collect();
        commands.extend(self.schedule());
        commands
    }

    // -----------------------------------------------------------------------------------------
    // Transports

    /// `session` follows `stream_id` now (`chat/start` answered, or a 409 named it): its
    /// transport is reused, opened, or replaced by the scheduler. The session's pending
    /// attachments are updated first — even when the transport is reused.
    fn attach(&mut self, session: &str, stream_id: &str, uploads: &[UploadedFile]) -> Vec<Command> {
        let id = self.resolve(session);
        let rt = self
            .sessions
            .entry(id.clone())
            .or_insert_with(|| SessionRuntime::new(&id));
        rt.pending_attachments = uploads.to_vec();
        let already_ended = rt
            .stream
            .as_ref()
            .is_some_and(|s| s.stream_id == stream_id && s.ended);
        if already_ended {
            // That stream is over here: never replay it on top of the settled transcript.
            return self.schedule();
        }
        let mut intents = Vec::new();
        if rt.live_stream_id() != Some(stream_id) {
            intents = rt.started(stream_id);
        } else if let Some(s) = rt.stream.as_mut() {
            s.confirmed = true;
        }
        // The turn's uploads show on its user message (a reattach after a 409 starts a live
        // turn of its own).
        rt.show_pending_attachments();
        let mut commands = self.intents_to_commands(&id, intents);
        commands.extend(self.schedule());
        commands
    }

    /// The browser reported a ready-state change of `stream_id`'s transport.
    fn transport_state(&mut self, stream_id: &str, state: ReadyState) {
        if let Some(slot) = self
            .transports
            .values_mut()
            .find(|s| s.stream_id == stream_id)
        {
            slot.state = state;
        }
    }

    /// The transport of `stream_id` failed; the shell has closed it. Probe, then resume.
    fn transport_failed(&mut self, stream_id: &str) -> Vec<Command> {
        let owner = self
            .transports
            .iter()
            .find(|(_, s)| s.stream_id == stream_id)
            .map(|(k, _)| k.clone());
        if let Some(o) = &owner {
            self.transports.remove(o);
        }
        let Some(id) = self.owner_of(stream_id) else {
            return self.schedule();
        };
        self.with_runtime(&id, |rt| rt.transport_failed(stream_id))
    }

    /// What attaching `session` to `stream_id` would do with its transport now (reuse it, open
    /// one, or close its other stream's and open one).
    pub fn attach_decision(&self, session: &str, stream_id: &str) -> AttachDecision {
        attach_decision(self.transports.get(&self.resolve(session)), stream_id)
    }

    /// Open transports: `(session, stream)`.
    pub fn open_transports(&self) -> Vec<(String, String)> {
        self.transports
            .iter()
            .map(|(k, s)| (k.clone(), s.stream_id.clone()))
            .collect()
    }

    /// The transports this tab's scheduler holds, each with its session's cursor and its rank
    /// here — what a tab tells the leader of a shared set of transports
    /// ([`crate::relay::TabWants`]).
    pub fn wants(&self) -> Vec<crate::relay::Want> {
        let recent = self.recent();
        self.transports
            .iter()
            .filter_map(|(id, slot)| {
                let rt = self.sessions.get(id)?;
                let seq = rt
                    .stream
                    .as_ref()
                    .filter(|s| s.stream_id == slot.stream_id)
                    .map_or(0, |s| s.cursor.seq);
                use crate::relay::Rank;
                let rank = match self.priority(id, &recent) {
                    Priority::Shown => Rank::Shown,
                    Priority::Attention => Rank::Attention,
                    Priority::Recent(_) => {
                        Rank::Recent(recent.iter().position(|r| *r == id).unwrap_or(0) as u32)
                    }
                    Priority::Rest => Rank::Rest,
                };
                Some(crate::relay::Want {
                    session: id.clone(),
                    stream: slot.stream_id.clone(),
                    seq,
                    rank,
                })
            })
            .collect()
    }

    /// The session whose transport carries `stream` (its own, or one a leader tab holds).
    pub fn transport_owner(&self, stream: &str) -> Option<&str> {
        self.transports
            .iter()
            .find(|(_, s)| s.stream_id == stream)
            .map(|(k, _)| k.as_str())
    }

    /// Sessions that want a transport but are over the budget.
    pub fn parked(&self) -> Vec<String> {
        self.sessions
            .values()
            .filter(|s| s.wants_transport() && !self.transports.contains_key(&s.id))
            .map(|s| s.id.clone())
            .collect()
    }

    fn owner_of(&self, stream_id: &str) -> Option<String> {
        self.sessions
            .values()
            .find(|s| {
                s.stream
                    .as_ref()
                    .is_some_and(|st| st.stream_id == stream_id)
            })
            .map(|s| s.id.clone())
    }

    // -----------------------------------------------------------------------------------------
    // Events

    /// Applies a frame from the transport of `stream_id` to the session that owns that stream,
    /// whichever session is on screen.
    fn deliver(
        &mut self,
        stream_id: &str,
        id: Option<&EventId>,
        event: &StreamEvent,
    ) -> (Applied, Vec<Command>) {
        let Some(owner) = self.owner_of(stream_id) else {
            let mut actions = Vec::new();
            if let Some(k) = self
                .transports
                .iter()
                .find(|(_, s)| s.stream_id == stream_id)
                .map(|(k, _)| k.clone())
            {
                self.transports.remove(&k);
            }
            actions.push(Command::Close {
                stream_id: stream_id.to_string(),
                reason: CloseReason::Stale,
            });
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
        if matches!(event, StreamEvent::Approval(_) | StreamEvent::Clarify(_)) {
            self.clock += 1;
            rt.prompt_known_at = self.clock;
        }
        let rt = self.sessions.get_mut(&owner).expect("owner exists");
        if rt.title != title || matches!(event, StreamEvent::Title(_)) {
            self.clock += 1;
            let rt = self.sessions.get_mut(&owner).expect("owner exists");
            rt.title_known_at = self.clock;
        }
        let mut actions = self.intents_to_commands(&owner, step.intents);
        if step.applied == Applied::Applied || event.is_terminal() {
            actions.extend(self.schedule());
        }
        (step.applied, actions)
    }

    fn intents_to_commands(&mut self, id: &str, intents: Vec<Intent>) -> Vec<Command> {
        let mut id = id.to_string();
        let mut actions = Vec::new();
        for e in intents {
            match e {
                Intent::CloseTransport { stream_id } => {
                    if let Some(k) = self
                        .transports
                        .iter()
                        .find(|(_, s)| s.stream_id == stream_id)
                        .map(|(k, _)| k.clone())
                    {
                        self.transports.remove(&k);
                    }
                    actions.push(Command::Close {
                        stream_id,
                        reason: CloseReason::Ended,
                    });
                }
                Intent::Reload => actions.push(Command::Reload {
                    session_id: id.clone(),
                    delay_ms: 0,
                }),
                Intent::ReloadLater { delay_ms } => actions.push(Command::Reload {
                    session_id: id.clone(),
                    delay_ms,
                }),
                Intent::ProbeStatus { stream_id } => {
                    let failures = self.sessions.get(&id).map_or(0, SessionRuntime::failures);
                    let delay_ms = if failures == 0 {
                        0
                    } else {
                        retry_delay_ms(failures)
                    };
                    actions.push(Command::Probe {
                        session_id: id.clone(),
                        stream_id,
                        delay_ms,
                    });
                }
                Intent::Renamed { old, new } => {
                    actions.extend(self.rekey(&old, &new));
                    id = new.clone();
                    actions.push(Command::Renamed { old, new });
                }
                Intent::Notice(n) => actions.push(Command::Notice {
                    session_id: id.clone(),
                    notice: n,
                }),
                Intent::Send(message) => {
                    let start = self.start_turn(&id, message, true);
                    actions.push(start);
                }
                Intent::ReturnQueued(messages) => actions.push(Command::GiveBack {
                    session_id: id.clone(),
                    messages,
                }),
                Intent::TurnFinished => {
                    // Not seen: another session is shown, or the tab is hidden.
                    if self.active.as_deref() != Some(id.as_str()) || self.hidden {
                        self.unread.insert(id.clone());
                    }
                    actions.push(Command::Finished {
                        session_id: id.clone(),
                    });
                }
                Intent::Waits => actions.push(Command::Waits {
                    session_id: id.clone(),
                }),
            }
        }
        actions
    }

    /// Moves everything known under `old` to `new` (a compression rotated the id). A runtime
    /// already known under `new` (from the session list) is superseded by the one that lived
    /// through the rotation, and a transport it held is closed.
    fn rekey(&mut self, old: &str, new: &str) -> Vec<Command> {
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
            actions.push(Command::Close {
                stream_id: slot.stream_id,
                reason: CloseReason::Replaced,
            });
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
    /// The most recently viewed sessions, most recent first.
    fn recent(&self) -> Vec<&String> {
        let mut by_recency: Vec<(&String, &u64)> = self.viewed.iter().collect();
        crate::sort_stable_by(&mut by_recency, |a, b| b.1.cmp(a.1));
        by_recency
            .into_iter()
            .take(RECENT_VIEWS)
            .map(|(k, _)| k)
            .collect()
    }

    fn schedule(&mut self) -> Vec<Command> {
        let recent: Vec<String> = self.recent().into_iter().cloned().collect();
        let recent: Vec<&String> = recent.iter().collect();

        let wanting: Vec<(String, String)> = self
            .sessions
            .values()
            .filter(|s| s.wants_transport())
            .map(|s| {
                (
                    s.id.clone(),
                    s.stream.as_ref().expect("wants").stream_id.clone(),
                )
            })
            .collect();
        self.wanting_since
            .retain(|k, _| wanting.iter().any(|(w, _)| w == k));
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
                open: self
                    .transports
                    .get(id)
                    .is_some_and(|t| &t.stream_id == stream && t.state != ReadyState::Closed),
                since: self.wanting_since[id],
            })
            .collect();
        let chosen = plan(&candidates, self.budget.chat_slots());

        let mut closes = Vec::new();
        let mut opens = Vec::new();
        let held: Vec<String> = self.transports.keys().cloned().collect();
        for id in held {
            let slot = self.transports[&id].clone();
            let wanted = wanting
                .iter()
                .find(|(w, _)| *w == id)
                .map(|(_, s)| s.as_str());
            let reason = match wanted {
                None => Some(CloseReason::Ended),
                Some(s) if s != slot.stream_id => Some(CloseReason::Replaced),
                Some(_) if !chosen.contains(&id) => Some(CloseReason::Parked),
                Some(_) if slot.state == ReadyState::Closed => Some(CloseReason::Replaced),
                _ => None,
            };
            if let Some(reason) = reason {
                self.transports.remove(&id);
                closes.push(Command::Close {
                    stream_id: slot.stream_id,
                    reason,
                });
            }
        }
        for (id, stream) in &wanting {
            if !chosen.contains(id) {
                continue;
            }
            match attach_decision(self.transports.get(id), stream) {
                AttachDecision::Reuse => {}
                _ => {
                    let cursor = self.sessions[id]
                        .stream
                        .as_ref()
                        .expect("wants")
                        .cursor
                        .clone();
                    self.transports.insert(
                        id.clone(),
                        TransportSlot {
                            stream_id: stream.clone(),
                            state: ReadyState::Connecting,
                        },
                    );
                    opens.push(Command::Open {
                        session_id: id.clone(),
                        stream_id: stream.clone(),
                        query: cursor.resume_query(stream),
                    });
                }
            }
        }
        closes.extend(opens);
        closes
    }
}
