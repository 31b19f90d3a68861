//! One session's runtime: its transcript, the turn it is running, the stream it owns and the
//! prompts waiting on the user. `apply` is a pure step: new state plus [`Intent`]s for the
//! shell to perform. Nothing here knows which session is on screen.

use std::collections::BTreeSet;

use crate::cursor::{Advance, Cursor, EventId};
use crate::event::{StreamEvent, Usage};
use crate::turn::{LiveTurn, Segment};
use crate::wire::{
    Approval, AttachmentRef, Clarify, Message, SessionDetail, SessionToolCall, StreamStatus,
    TodoState, UploadedFile,
};

/// The stream a session owns and how far it has been applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnedStream {
    pub stream_id: String,
    pub cursor: Cursor,
    /// The server confirmed the stream is live (or replayable): busy may be shown and a
    /// transport may be opened. Local belief alone never sets this (§7 invariant 7).
    pub confirmed: bool,
    /// A status probe is outstanding; no transport until it answers.
    pub probing: bool,
    /// Failed connection attempts in a row (drives the probe back-off).
    pub failures: u32,
    /// `done` was applied: the transcript is settled; the transport may still carry `title`.
    pub settled: bool,
    /// A terminal event was applied: the transport must be closed and never reopened.
    pub ended: bool,
    /// A seq was skipped (joined without a cursor): only the saved session is complete.
    pub gap: bool,
    /// Ended by `apperror{recovery_control}`: the server may still run this stream (an
    /// overflowed offline buffer, §3.4), so a reload that names it live is followed again.
    pub recovering: bool,
    /// Reloads that came back still naming this ended stream live (bounded retries).
    pub stale_reloads: u32,
}

/// A message waiting for the running turn to end, with the uploads that go with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Queued {
    pub text: String,
    pub uploads: Vec<UploadedFile>,
}

impl Queued {
    pub fn text(text: &str) -> Queued {
        Queued {
            text: text.to_string(),
            uploads: Vec::new(),
        }
    }
}

/// Reloads that still name an ended stream live are retried this many times, then dropped.
const MAX_STALE_RELOADS: u32 = 3;

/// A non-fatal notice for a toast or status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Warning,
    Error,
}

/// The error bubble of a failed turn (an `apperror` that is not recovery control).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnError {
    pub kind: String,
    pub message: String,
    pub hint: Option<String>,
}

/// A compression divider in the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    /// Index in `messages` before which the divider sits.
    pub before_message: usize,
    pub message: String,
}

/// What a step of the runtime wants done; the hub turns it into [`crate::Command`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Close this stream's transport (terminal event, or a stream nobody owns).
    CloseTransport {
        stream_id: String,
    },
    /// Re-fetch the session from the server to settle it.
    Reload,
    /// Re-fetch it after a pause: the server had not caught up with the end of a stream.
    ReloadLater {
        delay_ms: u32,
    },
    /// Ask `/api/chat/stream/status` about the owned stream before (re)attaching.
    ProbeStatus {
        stream_id: String,
    },
    /// The session's id rotated (context compression).
    Renamed {
        old: String,
        new: String,
    },
    Notice(Notice),
    /// Send this message as the next turn (the current one has ended).
    Send(Queued),
    /// The turn did not end well (stopped, failed): the queued messages go back to the user
    /// instead of being sent into whatever went wrong.
    ReturnQueued(Vec<Queued>),
    /// A turn finished (announce it; mark unread when not shown).
    TurnFinished,
    /// The session started waiting on the person (a new approval or clarify request).
    Waits,
}

/// How a frame was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Seq already applied: dropped.
    Duplicate,
    /// From a stream this session does not own (any more): ignored.
    Stale,
    /// Known but with nothing to do (unknown names, events after the end).
    Ignored,
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub applied: Applied,
    pub intents: Vec<Intent>,
}

impl Step {
    fn new(applied: Applied) -> Step {
        Step {
            applied,
            intents: Vec::new(),
        }
    }
}

/// A session's whole client-side state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionRuntime {
    /// The current id (may rotate on compression).
    pub(crate) id: String,
    /// Ids this session had before a rotation.
    pub(crate) former_ids: Vec<String>,
    pub(crate) title: Option<String>,
    /// When the title was learnt, on the hub's clock ([`crate::hub::Ticket`]): an answer to a
    /// request sent before then must not put an older title back.
    pub(crate) title_known_at: u64,
    /// When the stream last showed an approval or clarify card (the hub's clock): a poll
    /// sent before that saying nothing is pending is stale.
    pub(crate) prompt_known_at: u64,
    /// The loaded window of the saved transcript.
    pub(crate) messages: Vec<Message>,
    /// Index of `messages[0]` in the full transcript.
    pub(crate) messages_offset: u64,
    /// Total rows in the full transcript.
    pub(crate) message_count: u64,
    /// The largest message count a session list gave that made this runtime re-read its
    /// transcript (so one count is re-read once).
    pub(crate) listed_count: u64,
    pub(crate) tool_calls: Vec<SessionToolCall>,
    pub(crate) read_only: bool,
    /// The session's model and its provider (`/api/session/update` sets them; the next turn
    /// uses them).
    pub(crate) model: Option<String>,
    pub(crate) model_provider: Option<String>,
    pub(crate) pinned: bool,
    pub(crate) archived: bool,
    /// A full load from the server has happened.
    pub(crate) loaded: bool,
    pub(crate) live: Option<LiveTurn>,
    pub(crate) stream: Option<OwnedStream>,
    /// Uploads riding with the current turn.
    pub(crate) pending_attachments: Vec<UploadedFile>,
    pub(crate) approval: Option<Approval>,
    pub(crate) clarify: Option<Clarify>,
    pub(crate) todos: Option<TodoState>,
    pub(crate) last_usage: Option<Usage>,
    /// The running turn's counters from `metering` (tokens so far, context).
    pub(crate) live_usage: Option<Usage>,
    /// The session's token counters as last saved (`input_tokens`, `output_tokens`).
    pub(crate) session_tokens: Option<(f64, f64)>,
    /// The session's cost so far as last saved (`estimated_cost`): a turn's cost is the
    /// difference.
    pub(crate) session_cost: Option<f64>,
    /// The context as the saved session last said it (window, prompt size, threshold).
    pub(crate) saved_context: Option<Usage>,
    /// The last finished turn's own usage: `done.usage` is cumulative per session, so its
    /// tokens are the difference from the counters before the turn (as the stock UI computes).
    pub(crate) turn_usage: Option<Usage>,
    pub(crate) live_tps: Option<f64>,
    pub(crate) error: Option<TurnError>,
    pub(crate) cancelled: bool,
    pub(crate) compressions: Vec<Compression>,
    /// Messages to send once the running turn ends (user-queued, steer leftovers, goals).
    pub(crate) queued: Vec<Queued>,
    /// Steers the agent accepted for the running turn and not yet seen used: on a tool result
    /// of the saved transcript, or handed back as `pending_steer_leftover`. What is left when
    /// the turn ends goes into the queue (see [`SessionRuntime::settle_steers`]).
    pub(crate) steers_open: Vec<String>,
    seen_tasks: BTreeSet<String>,
    /// Bumped on every change; the shell repaints a session when it moves.
    pub(crate) revision: u64,
    /// Bumped when the saved transcript (messages, tool summaries, dividers) changes, so the
    /// shell re-projects the transcript only then, not on every token.
    pub(crate) transcript_revision: u64,
}

/// Reading a runtime: its fields are the crate's; the shell and tests read them here.
impl SessionRuntime {
    /// The current id (may rotate on compression).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Ids this session had before a rotation.
    pub fn former_ids(&self) -> &[String] {
        &self.former_ids
    }

    /// `title`.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// When the title was learnt, on the hub's clock ([`crate::hub::Ticket`]): an answer to a
    /// request sent before then must not put an older title back.
    pub fn title_known_at(&self) -> u64 {
        self.title_known_at
    }

    /// The loaded window of the saved transcript.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Index of `messages[0]` in the full transcript.
    pub fn messages_offset(&self) -> u64 {
        self.messages_offset
    }

    /// The session's model and provider, as the server last said.
    pub fn model(&self) -> (Option<&str>, Option<&str>) {
        (self.model.as_deref(), self.model_provider.as_deref())
    }

    /// Total rows in the full transcript.
    pub fn message_count(&self) -> u64 {
        self.message_count
    }

    /// `tool_calls`.
    pub fn tool_calls(&self) -> &[SessionToolCall] {
        &self.tool_calls
    }

    /// `read_only`.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// `pinned`.
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// `archived`.
    pub fn archived(&self) -> bool {
        self.archived
    }

    /// A full load from the server has happened.
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    /// `live`.
    pub fn live(&self) -> Option<&LiveTurn> {
        self.live.as_ref()
    }

    /// `stream`.
    pub fn stream(&self) -> Option<&OwnedStream> {
        self.stream.as_ref()
    }

    /// Puts the uploads riding with the turn on its live user message, if it shows none.
    pub(crate) fn show_pending_attachments(&mut self) {
        let names: Vec<String> = self
            .pending_attachments
            .iter()
            .map(|a| a.name.clone())
            .collect();
        if let Some(l) = self.live.as_mut().filter(|l| l.attachments.is_empty()) {
            if !names.is_empty() {
                l.attachments = names;
                self.touch();
            }
        }
    }

    /// Uploads riding with the current turn.
    pub fn pending_attachments(&self) -> &[UploadedFile] {
        &self.pending_attachments
    }

    /// `approval`.
    pub fn approval(&self) -> Option<&Approval> {
        self.approval.as_ref()
    }

    /// `clarify`.
    pub fn clarify(&self) -> Option<&Clarify> {
        self.clarify.as_ref()
    }

    /// `todos`.
    pub fn todos(&self) -> Option<&TodoState> {
        self.todos.as_ref()
    }

    /// `last_usage`.
    pub fn last_usage(&self) -> Option<&Usage> {
        self.last_usage.as_ref()
    }

    /// The running turn's counters from `metering` (tokens so far, context).
    pub fn live_usage(&self) -> Option<&Usage> {
        self.live_usage.as_ref()
    }

    /// The session's token counters as last saved (`input_tokens`, `output_tokens`).
    pub fn session_tokens(&self) -> Option<(f64, f64)> {
        self.session_tokens
    }

    /// What is known of the context window, newest first: the running turn's `metering`,
    /// the last `done`, the session as saved.
    pub fn context_usage(&self) -> Usage {
        let live = self.live_usage.as_ref().filter(|_| self.is_busy());
        crate::context::merged(&[live, self.last_usage.as_ref(), self.saved_context.as_ref()])
    }

    /// The last finished turn's own usage: `done.usage` is cumulative per session, so its
    /// tokens are the difference from the counters before the turn (as the stock UI computes).
    pub fn turn_usage(&self) -> Option<&Usage> {
        self.turn_usage.as_ref()
    }

    /// `live_tps`.
    pub fn live_tps(&self) -> Option<f64> {
        self.live_tps
    }

    /// `error`.
    pub fn error(&self) -> Option<&TurnError> {
        self.error.as_ref()
    }

    /// `cancelled`.
    pub fn cancelled(&self) -> bool {
        self.cancelled
    }

    /// `compressions`.
    pub fn compressions(&self) -> &[Compression] {
        &self.compressions
    }

    /// Messages to send once the running turn ends (user-queued, steer leftovers, goals).
    pub fn queued(&self) -> &[Queued] {
        &self.queued
    }

    /// Bumped on every change; the shell repaints a session when it moves.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Bumped when the saved transcript (messages, tool summaries, dividers) changes, so the
    /// shell re-projects the transcript only then, not on every token.
    pub fn transcript_revision(&self) -> u64 {
        self.transcript_revision
    }
}

impl SessionRuntime {
    /// An empty runtime for `id`.
    pub fn new(id: &str) -> SessionRuntime {
        SessionRuntime {
            id: id.to_string(),
            ..Default::default()
        }
    }

    /// Answers to this id, including ids it had before a rotation.
    pub fn answers_to(&self, id: &str) -> bool {
        self.id == id || self.former_ids.iter().any(|f| f == id)
    }

    /// Owns `stream_id` and it is still going (busy shows only when the server confirmed it).
    pub fn is_busy(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| s.confirmed && !s.settled && !s.ended)
    }

    /// Claims a live turn the server has not confirmed yet.
    pub fn is_unconfirmed(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| !s.confirmed && !s.ended)
    }

    /// The session wants an open transport for its stream.
    pub fn wants_transport(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| s.confirmed && !s.ended && !s.probing)
    }

    /// The owned stream id, if any and not ended.
    pub fn live_stream_id(&self) -> Option<&str> {
        self.stream
            .as_ref()
            .filter(|s| !s.ended)
            .map(|s| s.stream_id.as_str())
    }

    /// Waits on the user (approval or clarify).
    pub fn needs_attention(&self) -> bool {
        self.approval.is_some() || self.clarify.is_some()
    }

    fn touch(&mut self) {
        self.revision += 1;
    }

    /// A steer the agent accepted: shown on the live turn until the saved transcript has it on
    /// its tool result. With no live turn (it ended as the answer came) there is nothing to
    /// show it on: a leftover comes back as `pending_steer_leftover`.
    pub fn steered(&mut self, text: &str) {
        let text = text.trim().to_string();
        if let Some(live) = self.live.as_mut() {
            live.steers.push(text.clone());
        }
        self.steers_open.push(text);
        self.touch();
    }

    /// The turn ended: the open steers the saved transcript (`saved`, when the end carried it)
    /// shows on a tool result it did not show them on before are used; the others go into the
    /// queue, so a steer the agent never used is sent after a finished turn or handed back
    /// after a stopped or failed one — never lost. The real backend with hermes-agent 0.19
    /// keeps such a leftover to itself (the agent moves it to its result's `pending_steer`,
    /// which the webui does not read), so the pane cannot wait for `pending_steer_leftover`.
    fn settle_steers(&mut self, saved: Option<&[Message]>) {
        if self.steers_open.is_empty() {
            return;
        }
        let open = std::mem::take(&mut self.steers_open);
        let mut new_markers = match saved {
            Some(after) => {
                let mut after = steer_markers(after);
                // A marker already there before the turn is not this steer's.
                for m in steer_markers(&self.messages) {
                    if let Some(i) = after.iter().position(|a| *a == m) {
                        after.remove(i);
                    }
                }
                after
            }
            None => Vec::new(),
        };
        for text in open {
            match new_markers.iter().position(|m| marker_holds(m, &text)) {
                // Used: its lines are taken out of the marker (which may hold others too).
                Some(i) => new_markers[i] = without_lines(&new_markers[i], &text),
                None => self.queued.push(Queued::text(&text)),
            }
        }
    }

    /// The live turn's accepted steers, oldest first.
    pub fn live_steers(&self) -> &[String] {
        self.live.as_ref().map_or(&[], |l| l.steers.as_slice())
    }

    // -----------------------------------------------------------------------------------------
    // Loading

    /// Takes a `GET /api/session` reply. `with_messages` is false for a metadata-only load.
    pub fn load(&mut self, detail: &SessionDetail, with_messages: bool) -> Vec<Intent> {
        let mut intents = Vec::new();
        // A reply that still calls a stream live which we have already seen settle or end was
        // computed before those events: its transcript and stream claim are stale. Except after
        // a recovery-control `apperror`: then the server may really still run it (§3.4), and
        // the reply's snapshot is the way back in.
        let stale = detail.active_stream_id.as_deref().is_some_and(|asid| {
            self.stream
                .as_ref()
                .is_some_and(|s| s.stream_id == asid && (s.settled || (s.ended && !s.recovering)))
        });
        if stale {
            if let Some(t) = detail
                .title
                .clone()
                .filter(|t| !t.is_empty() && self.title.is_none())
            {
                self.title = Some(t);
            }
            // Ended without `done` and the server has not saved the turn yet: ask again soon,
            // a few times, so the unsettled live turn does not stay on screen.
            if let Some(s) = self
                .stream
                .as_mut()
                .filter(|s| s.ended && !s.settled && s.stale_reloads < MAX_STALE_RELOADS)
            {
                s.stale_reloads += 1;
                intents.push(Intent::ReloadLater {
                    delay_ms: 1_000 * s.stale_reloads,
                });
            }
            return intents;
        }
        self.adopt_meta(detail, &mut intents);
        if with_messages {
            self.messages = detail.messages.clone();
            self.messages_offset = detail.messages_offset.unwrap_or(0);
            self.tool_calls = detail.tool_calls.clone();
            self.loaded = true;
            self.transcript_revision += 1;
        }
        if let Some(t) = &detail.todo_state {
            self.todos = Some(t.clone());
        }
        match detail.active_stream_id.as_deref() {
            Some(asid) => {
                let owned_live = self
                    .stream
                    .as_ref()
                    .is_some_and(|s| s.stream_id == asid && !s.ended);
                let recovering = self
                    .stream
                    .as_ref()
                    .is_some_and(|s| s.stream_id == asid && s.ended && s.recovering);
                if with_messages {
                    // The turn in flight is the live turn's to show, whatever of it the server
                    // already saved (the real backend returns its prompt, and after a tool call
                    // its assistant and tool rows, in `messages` while it runs).
                    if let Some(at) = in_flight_start(&self.messages, detail) {
                        self.messages.truncate(at);
                    }
                }
                // The pending prompt is shown once: by the live turn (its saved copy was cut
                // above), unless an earlier window holds it and this load has no messages.
                let pending = detail.pending_user_message.clone().filter(|p| {
                    with_messages
                        || !self
                            .messages
                            .last()
                            .is_some_and(|m| m.is_user() && m.typed_text().trim() == p.trim())
                });
                if owned_live {
                    // A live turn the session list started (it names the stream before any load)
                    // has no prompt: this answer's is it (the window just cut its saved copy).
                    if let Some(l) = self.live.as_mut().filter(|l| l.user_text.is_none()) {
                        l.user_text = pending;
                    }
                } else {
                    let names = detail
                        .pending_attachments
                        .iter()
                        .map(AttachmentRef::display_name)
                        .collect();
                    let snap = detail
                        .runtime_journal_snapshot
                        .as_ref()
                        .filter(|s| s.stream_id.as_deref() == Some(asid));
                    let (live, cursor) = match snap {
                        Some(s) => (
                            LiveTurn::from_snapshot(asid, s, pending, names),
                            Cursor::at(asid, s.last_seq),
                        ),
                        None => (
                            LiveTurn::new(Some(asid.to_string()), pending, names),
                            Cursor::default(),
                        ),
                    };
                    if let Some(old) = self.stream.as_ref().filter(|s| !s.ended) {
                        intents.push(Intent::CloseTransport {
                            stream_id: old.stream_id.clone(),
                        });
                    }
                    if recovering && snap.is_none() {
                        // No snapshot to seed from: the journal is replayed from the start.
                        self.live = Some(LiveTurn::new(Some(asid.to_string()), None, Vec::new()));
                    } else {
                        self.live = Some(live);
                    }
                    self.stream = Some(OwnedStream {
                        stream_id: asid.to_string(),
                        cursor,
                        probing: true,
                        ..Default::default()
                    });
                    self.error = None;
                    self.cancelled = false;
                    intents.push(Intent::ProbeStatus {
                        stream_id: asid.to_string(),
                    });
                }
                // Else the stream is ours and live: keep what was applied; the cursor is exact.
                // The turn's uploads: the real backend lists them only with the messages
                // (`messages=1`), so the metadata load that seeded the live turn had none.
                let names: Vec<String> = detail
                    .pending_attachments
                    .iter()
                    .map(AttachmentRef::display_name)
                    .collect();
                if let Some(l) = self
                    .live
                    .as_mut()
                    .filter(|l| l.attachments.is_empty() && !names.is_empty())
                {
                    l.attachments = names;
                }
            }
            None => {
                // The server has no live turn: whatever we were following is over.
                if let Some(s) = self.stream.as_mut().filter(|s| !s.ended) {
                    s.ended = true;
                    intents.push(Intent::CloseTransport {
                        stream_id: s.stream_id.clone(),
                    });
                }
                // Messages queued behind a turn that is over (e.g. after a 409 whose turn ended
                // before we could follow it) go now — unless a send of ours is in flight.
                let sending = self
                    .live
                    .as_ref()
                    .is_some_and(|l| l.stream_id.is_none() && l.user_text.is_some());
                if !sending && !self.queued.is_empty() {
                    intents.push(Intent::Send(self.queued.remove(0)));
                }
                if with_messages {
                    self.live = None;
                }
                self.approval = None;
                self.clarify = None;
            }
        }
        self.touch();
        intents
    }

    /// Prepends an older page (`msg_before`) to the loaded window.
    pub fn load_older(&mut self, detail: &SessionDetail) {
        let offset = detail.messages_offset.unwrap_or(0);
        if offset >= self.messages_offset {
            return;
        }
        let take = (self.messages_offset - offset) as usize;
        let mut older: Vec<Message> = detail.messages.iter().take(take).cloned().collect();
        let added = older.len();
        older.append(&mut self.messages);
        self.messages = older;
        self.messages_offset = offset;
        for c in &mut self.compressions {
            c.before_message += added;
        }
        self.transcript_revision += 1;
        self.touch();
    }

    fn adopt_meta(&mut self, d: &SessionDetail, intents: &mut Vec<Intent>) {
        if !d.session_id.is_empty() && d.session_id != self.id {
            intents.extend(self.rename(&d.session_id.clone()));
        }
        if let Some(t) = d.title.clone().filter(|t| !t.is_empty()) {
            self.title = Some(t);
        }
        self.read_only = d.read_only;
        if d.model.is_some() {
            self.model = d.model.clone();
            self.model_provider = d.model_provider.clone();
        }
        self.pinned = d.pinned;
        self.archived = d.archived;
        if let Some(c) = d.message_count {
            self.message_count = c;
        }
        if let (Some(i), Some(o)) = (d.input_tokens, d.output_tokens) {
            self.session_tokens = Some((i, o));
        }
        if d.estimated_cost.is_some() {
            self.session_cost = d.estimated_cost;
        }
        if d.context_length.is_some() || d.last_prompt_tokens.is_some() {
            self.saved_context = Some(Usage {
                context_length: d.context_length,
                threshold_tokens: d.threshold_tokens,
                last_prompt_tokens: d.last_prompt_tokens,
                post_compression_context_tokens_estimate: d
                    .post_compression_context_tokens_estimate,
                ..Default::default()
            });
        }
    }

    /// Adopts a full saved session (`done`, `cancel`, `apperror`): authoritative.
    fn adopt(&mut self, d: &SessionDetail, intents: &mut Vec<Intent>) {
        self.adopt_meta(d, intents);
        self.messages = d.messages.clone();
        self.messages_offset = d.messages_offset.unwrap_or(0);
        self.message_count = d
            .message_count
            .unwrap_or(d.messages.len() as u64)
            .max(self.messages_offset + self.messages.len() as u64);
        self.tool_calls = d.tool_calls.clone();
        if let Some(t) = &d.todo_state {
            self.todos = Some(t.clone());
        }
        self.loaded = true;
        self.live = None;
        self.transcript_revision += 1;
    }

    fn rename(&mut self, new: &str) -> Option<Intent> {
        if new.is_empty() || new == self.id {
            return None;
        }
        let old = std::mem::replace(&mut self.id, new.to_string());
        if !self.former_ids.contains(&old) {
            self.former_ids.push(old.clone());
        }
        Some(Intent::Renamed {
            old,
            new: new.to_string(),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Starting a turn

    /// The user sent `text`: show it at once (optimistic row) while `chat/start` runs.
    pub fn begin_send(&mut self, text: &str, attachments: &[UploadedFile]) {
        self.live = Some(LiveTurn::new(
            None,
            Some(text.to_string()),
            attachments.iter().map(|a| a.name.clone()).collect(),
        ));
        self.pending_attachments = attachments.to_vec();
        self.error = None;
        self.cancelled = false;
        self.touch();
    }

    /// `chat/start` answered with a stream: own it, confirmed (the server just created it).
    pub fn started(&mut self, stream_id: &str) -> Vec<Intent> {
        let mut intents = Vec::new();
        if let Some(old) = self
            .stream
            .as_ref()
            .filter(|s| !s.ended && s.stream_id != stream_id)
        {
            intents.push(Intent::CloseTransport {
                stream_id: old.stream_id.clone(),
            });
        }
        let live = self.live.get_or_insert_with(LiveTurn::default);
        live.stream_id = Some(stream_id.to_string());
        self.stream = Some(OwnedStream {
            stream_id: stream_id.to_string(),
            confirmed: true,
            ..Default::default()
        });
        self.touch();
        intents
    }

    /// `chat/start` failed: drop the optimistic row; the caller keeps the draft.
    pub fn start_failed(&mut self, message: &str) -> Vec<Intent> {
        if self.live.as_ref().is_some_and(|l| l.stream_id.is_none()) {
            self.live = None;
        }
        self.pending_attachments.clear();
        self.touch();
        vec![Intent::Notice(Notice {
            kind: NoticeKind::Error,
            text: message.to_string(),
        })]
    }

    /// `chat/start` answered 409 (another turn runs): queue the message (with its uploads) and
    /// reattach to the running turn.
    pub fn start_conflict(&mut self, text: &str, uploads: &[UploadedFile]) -> Vec<Intent> {
        if self.live.as_ref().is_some_and(|l| l.stream_id.is_none()) {
            self.live = None;
        }
        self.pending_attachments.clear();
        self.queued.push(Queued {
            text: text.to_string(),
            uploads: uploads.to_vec(),
        });
        self.touch();
        vec![
            Intent::Notice(Notice {
                kind: NoticeKind::Info,
                text:
                    "A reply is still running here; your message is queued and will be sent when \
                     it ends."
                        .into(),
            }),
            Intent::Reload,
        ]
    }

    /// Queues a message (and its uploads) to send after the running turn.
    pub fn enqueue(&mut self, text: &str, uploads: &[UploadedFile]) {
        self.queued.push(Queued {
            text: text.to_string(),
            uploads: uploads.to_vec(),
        });
        self.touch();
    }

    /// Removes a queued message.
    pub fn unqueue(&mut self, index: usize) {
        if index < self.queued.len() {
            self.queued.remove(index);
            self.touch();
        }
    }

    // -----------------------------------------------------------------------------------------
    // Status probes and transport failures

    /// The answer of `/api/chat/stream/status` (`None`: 404, unknown stream).
    pub fn status_probed(&mut self, stream_id: &str, status: Option<&StreamStatus>) -> Vec<Intent> {
        let Some(s) = self
            .stream
            .as_mut()
            .filter(|s| s.stream_id == stream_id && !s.ended)
        else {
            return Vec::new();
        };
        s.probing = false;
        let intents = match status {
            Some(st) if st.active || st.replay_available => {
                s.confirmed = true;
                Vec::new()
            }
            _ => {
                // Neither live nor replayable: settle from the saved session.
                s.ended = true;
                vec![Intent::Reload]
            }
        };
        self.touch();
        intents
    }

    /// The status probe itself failed (backend unreachable): try again later.
    pub fn probe_failed(&mut self, stream_id: &str) -> Vec<Intent> {
        match self
            .stream
            .as_mut()
            .filter(|s| s.stream_id == stream_id && !s.ended)
        {
            Some(s) => {
                s.failures += 1;
                s.probing = true;
                vec![Intent::ProbeStatus {
                    stream_id: stream_id.to_string(),
                }]
            }
            None => Vec::new(),
        }
    }

    /// The transport of `stream_id` errored or was dropped: probe before reconnecting.
    pub fn transport_failed(&mut self, stream_id: &str) -> Vec<Intent> {
        match self
            .stream
            .as_mut()
            .filter(|s| s.stream_id == stream_id && !s.ended)
        {
            Some(s) => {
                s.failures += 1;
                s.probing = true;
                vec![Intent::ProbeStatus {
                    stream_id: stream_id.to_string(),
                }]
            }
            None => Vec::new(),
        }
    }

    /// Failures in a row of the owned stream (0 when none).
    pub fn failures(&self) -> u32 {
        self.stream.as_ref().map_or(0, |s| s.failures)
    }

    // -----------------------------------------------------------------------------------------
    // Stream events

    /// Applies one frame delivered by the transport of `stream_id`.
    pub fn apply(&mut self, stream_id: &str, id: Option<&EventId>, event: &StreamEvent) -> Step {
        let owned = self
            .stream
            .as_ref()
            .is_some_and(|s| s.stream_id == stream_id);
        let id_names_other = id.is_some_and(|i| i.stream_id != stream_id);
        if !owned || id_names_other {
            let mut step = Step::new(Applied::Stale);
            if !owned {
                step.intents.push(Intent::CloseTransport {
                    stream_id: stream_id.to_string(),
                });
            }
            return step;
        }
        let stream = self.stream.as_mut().expect("owned");
        if stream.ended {
            // After a terminal event nothing applies; a repeated terminal just closes again.
            let mut step = Step::new(if event.is_terminal() {
                Applied::Duplicate
            } else {
                Applied::Ignored
            });
            if event.is_terminal() {
                step.intents.push(Intent::CloseTransport {
                    stream_id: stream_id.to_string(),
                });
            }
            return step;
        }
        if let (Some(id), false) = (id, event.may_reuse_previous_id()) {
            match stream.cursor.advance(id) {
                Advance::Duplicate if !event.is_terminal() => return Step::new(Applied::Duplicate),
                Advance::Gap => stream.gap = true,
                _ => {}
            }
        }
        stream.failures = 0;
        let mut step = Step::new(Applied::Applied);
        self.dispatch(stream_id, event, &mut step);
        if step.applied == Applied::Applied {
            self.touch();
        }
        step
    }

    fn live_mut(&mut self, stream_id: &str) -> Option<&mut LiveTurn> {
        if self.stream.as_ref().is_some_and(|s| s.settled) {
            return None;
        }
        Some(
            self.live.get_or_insert_with(|| {
                LiveTurn::new(Some(stream_id.to_string()), None, Vec::new())
            }),
        )
    }

    fn dispatch(&mut self, stream_id: &str, event: &StreamEvent, step: &mut Step) {
        use StreamEvent as E;
        let fx = &mut step.intents;
        match event {
            E::Token(d) => {
                if let Some(l) = self.live_mut(stream_id) {
                    l.token(&d.text)
                }
            }
            E::Reasoning(d) => {
                if let Some(l) = self.live_mut(stream_id) {
                    l.reasoning(&d.text)
                }
            }
            E::InterimAssistant(ia) => {
                if let Some(l) = self.live_mut(stream_id) {
                    l.interim(ia)
                }
            }
            E::Tool(t) => {
                if let Some(l) = self.live_mut(stream_id) {
                    l.tool_started(t)
                }
            }
            E::ToolComplete(t) => {
                if let Some(l) = self.live_mut(stream_id) {
                    l.tool_completed(t)
                }
            }
            E::TodoState(t) => {
                let newer = match (&self.todos, t.ts) {
                    (Some(cur), Some(ts)) => cur.ts.is_none_or(|c| ts >= c),
                    _ => true,
                };
                if newer {
                    self.todos = Some(t.clone());
                } else {
                    step.applied = Applied::Ignored;
                }
            }
            E::Approval(a) => {
                if self.approval.as_ref() != Some(a) {
                    fx.push(Intent::Waits);
                }
                self.approval = Some(a.clone());
            }
            E::Clarify(c) => {
                if self.clarify.as_ref() != Some(c) {
                    fx.push(Intent::Waits);
                }
                self.clarify = Some(c.clone());
            }
            E::ContextStatus(_) | E::TitleStatus(_) => step.applied = Applied::Ignored,
            E::Compressing(c) => {
                if let Some(l) = self.live_mut(stream_id) {
                    l.compressing = Some(
                        c.message
                            .clone()
                            .unwrap_or_else(|| "Compressing context".into()),
                    );
                }
            }
            E::Compressed(c) => {
                if let Some(l) = self.live.as_mut() {
                    l.compressing = None;
                }
                let new = c
                    .new_session_id
                    .clone()
                    .or_else(|| c.continuation_session_id.clone());
                let mine = [c.old_session_id.as_deref(), c.session_id.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|i| self.answers_to(i))
                    || (c.old_session_id.is_none() && c.session_id.is_none());
                if let (Some(new), true) = (new, mine) {
                    fx.extend(self.rename(&new));
                }
                self.compressions.push(Compression {
                    before_message: self.messages.len(),
                    message: c
                        .message
                        .clone()
                        .unwrap_or_else(|| "Context compressed".into()),
                });
                self.transcript_revision += 1;
            }
            E::Warning(w) => fx.push(Intent::Notice(Notice {
                kind: NoticeKind::Warning,
                text: w
                    .message
                    .clone()
                    .unwrap_or_else(|| w.kind.clone().unwrap_or_else(|| "Warning".into())),
            })),
            E::Metering(m) => {
                // The 1 Hz ticker keeps going after `done`: a settled turn shows no live rate.
                let settled = self.stream.as_ref().is_some_and(|s| s.settled);
                self.live_tps = if settled { None } else { m.shown_tps() };
                if let (Some(u), false) = (&m.usage, settled) {
                    self.live_usage = Some(u.clone());
                }
                if m.usage.is_none() && self.live_tps.is_none() {
                    step.applied = Applied::Ignored;
                }
            }
            E::StateSaved(s) => fx.push(Intent::Notice(Notice {
                kind: NoticeKind::Info,
                text: format!(
                    "Saved {}{}",
                    s.kind.as_deref().unwrap_or("state"),
                    s.name
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ),
            })),
            E::PendingSteerLeftover(s) => {
                if !s.text.trim().is_empty() {
                    // Handed back: these open steers are accounted for.
                    self.steers_open.retain(|t| !marker_holds(&s.text, t));
                    self.queued.push(Queued::text(&s.text));
                }
            }
            E::Goal(g) => {
                if let Some(m) = g.message.clone().filter(|m| !m.is_empty()) {
                    fx.push(Intent::Notice(Notice {
                        kind: NoticeKind::Info,
                        text: m,
                    }));
                }
            }
            E::GoalContinue(g) => {
                if let Some(p) = g
                    .continuation_prompt
                    .clone()
                    .filter(|p| !p.trim().is_empty())
                {
                    self.queued.push(Queued::text(&p));
                }
            }
            E::Done(d) => {
                if let Some(s) = self.stream.as_mut() {
                    s.settled = true;
                }
                self.approval = None;
                self.clarify = None;
                self.live_tps = None;
                self.live_usage = None;
                if let Some(u) = &d.usage {
                    self.last_usage = Some(u.clone());
                    let mut turn = u.clone();
                    let before = self.session_tokens;
                    turn.input_tokens = u
                        .input_tokens
                        .zip(before)
                        .map(|(now, (b, _))| (now - b).max(0.0));
                    turn.output_tokens = u
                        .output_tokens
                        .zip(before)
                        .map(|(now, (_, b))| (now - b).max(0.0));
                    // Cumulative too: this turn's cost is the difference (none before the
                    // first priced turn counts as nothing spent).
                    turn.estimated_cost = u
                        .estimated_cost
                        .map(|now| (now - self.session_cost.unwrap_or(0.0)).max(0.0));
                    if u.estimated_cost.is_some() {
                        self.session_cost = u.estimated_cost;
                    }
                    self.turn_usage = Some(turn);
                    if let (Some(i), Some(o)) = (u.input_tokens, u.output_tokens) {
                        self.session_tokens = Some((i, o));
                    }
                }
                self.settle_steers(d.session.as_ref().map(|s| s.messages.as_slice()));
                match &d.session {
                    Some(session) => self.adopt(session, fx),
                    // Without the saved session the live text stays until a reload settles it.
                    None => fx.push(Intent::Reload),
                }
                if d.ephemeral {
                    if let Some(a) = &d.answer {
                        fx.push(Intent::Notice(Notice {
                            kind: NoticeKind::Info,
                            text: a.clone(),
                        }));
                    }
                }
                fx.push(Intent::TurnFinished);
            }
            E::Title(t) => {
                if !t.title.is_empty() {
                    self.title = Some(t.title.clone());
                }
            }
            E::StreamEnd(_) => {
                self.settle_steers(None);
                let settled = self.end(stream_id, fx, true);
                if !settled {
                    // `stream_end` without `done`: re-fetch to settle (§3.3).
                    fx.push(Intent::Reload);
                    fx.push(Intent::TurnFinished);
                }
            }
            E::AppError(e) => {
                self.settle_steers(e.session.as_ref().map(|s| s.messages.as_slice()));
                self.end(stream_id, fx, false);
                if let Some(session) = &e.session {
                    self.adopt(session, fx);
                }
                for id in [&e.new_session_id, &e.continuation_session_id]
                    .into_iter()
                    .flatten()
                {
                    fx.extend(self.rename(id));
                }
                if e.recovery_control {
                    // Not an error to show: reload — the settled session, or the run's snapshot
                    // if the server still runs it.
                    if let Some(s) = self.stream.as_mut() {
                        s.recovering = true;
                    }
                    fx.push(Intent::Reload);
                } else if !self.messages.last().is_some_and(|m| m.error) || e.session.is_none() {
                    self.error = Some(TurnError {
                        kind: e.kind.clone().unwrap_or_else(|| "error".into()),
                        message: e
                            .message
                            .clone()
                            .unwrap_or_else(|| "The reply failed.".into()),
                        hint: e.hint.clone(),
                    });
                }
                fx.push(Intent::TurnFinished);
            }
            E::Cancel(c) => {
                self.settle_steers(c.session.as_ref().map(|s| s.messages.as_slice()));
                self.end(stream_id, fx, false);
                self.cancelled = true;
                match &c.session {
                    Some(session) => self.adopt(session, fx),
                    None => fx.push(Intent::Reload),
                }
                fx.push(Intent::TurnFinished);
            }
            E::Error(e) => {
                self.settle_steers(None);
                self.end(stream_id, fx, false);
                self.error = Some(TurnError {
                    kind: "error".into(),
                    message: e
                        .error
                        .clone()
                        .unwrap_or_else(|| "The stream reported an error.".into()),
                    hint: None,
                });
                fx.push(Intent::Reload);
                fx.push(Intent::TurnFinished);
            }
            E::BgTaskComplete(t) | E::ProcessComplete(t) => {
                let key = t
                    .event_id
                    .clone()
                    .or_else(|| t.task_id.clone())
                    .unwrap_or_default();
                if !key.is_empty() && !self.seen_tasks.insert(key) {
                    step.applied = Applied::Duplicate;
                    return;
                }
                fx.push(Intent::Notice(Notice {
                    kind: NoticeKind::Info,
                    text: t
                        .summary
                        .clone()
                        .unwrap_or_else(|| "A background task finished.".into()),
                }));
            }
            E::Unknown { .. } => step.applied = Applied::Ignored,
        }
    }

    /// Marks the owned stream ended; returns whether `done` had settled it. The queue moves on
    /// after a turn that finished (`send_queue`), and is handed back after one that did not.
    fn end(&mut self, stream_id: &str, fx: &mut Vec<Intent>, send_queue: bool) -> bool {
        let s = self.stream.as_mut().expect("owned");
        s.ended = true;
        self.approval = None;
        self.clarify = None;
        self.live_tps = None;
        self.live_usage = None;
        self.pending_attachments.clear();
        fx.push(Intent::CloseTransport {
            stream_id: stream_id.to_string(),
        });
        if !self.queued.is_empty() {
            if send_queue || s.settled {
                fx.push(Intent::Send(self.queued.remove(0)));
            } else {
                fx.push(Intent::ReturnQueued(std::mem::take(&mut self.queued)));
            }
        }
        s.settled
    }

    /// Clears a card once it was answered (or found stale).
    pub(crate) fn answered(&mut self, prompt: crate::input::Prompt) {
        match prompt {
            crate::input::Prompt::Approval => self.approval = None,
            crate::input::Prompt::Clarify => self.clarify = None,
        }
        self.touch();
    }

    /// The `/pending` polls answered (`None`: that poll failed; `Some(None)`: nothing
    /// pending). A card the stream showed stays until a poll says nothing is pending.
    /// What `/pending` said; `true` when a new request now waits on the person.
    pub(crate) fn prompts_polled(
        &mut self,
        approval: Option<Option<Approval>>,
        clarify: Option<Option<Clarify>>,
    ) -> bool {
        let mut waits = false;
        if let Some(a) = approval.filter(|a| a.is_some() || self.approval.is_some()) {
            if self.approval != a {
                waits |= a.is_some();
                self.approval = a;
                self.touch();
            }
        }
        if let Some(c) = clarify.filter(|c| c.is_some() || self.clarify.is_some()) {
            if self.clarify != c {
                waits |= c.is_some();
                self.clarify = c;
                self.touch();
            }
        }
        waits
    }

    /// Sets the title (rename).
    pub fn set_title(&mut self, title: &str) {
        self.title = Some(title.to_string());
        self.touch();
    }

    /// The sidebar's one-line preview of a running session.
    pub fn preview(&self) -> Option<String> {
        if !self.is_busy() {
            return None;
        }
        self.live.as_ref().and_then(LiveTurn::last_line)
    }

    /// The visible assistant text of the current turn (live, else the saved tail) — what a
    /// person reads as "the reply".
    pub fn reply_text(&self) -> String {
        match &self.live {
            Some(l) if !l.segments.is_empty() => l.text(),
            _ => crate::turn::saved_turn_text(&self.messages),
        }
    }

    /// Whether a live segment list holds anything to paint.
    pub fn has_live_content(&self) -> bool {
        self.live.as_ref().is_some_and(|l| {
            l.user_text.is_some()
                || l.segments
                    .iter()
                    .any(|s| !matches!(s, Segment::Text { text, .. } if text.is_empty()))
        })
    }
}

/// Where the saved rows of the turn in flight start in a loaded window: its prompt, the last
/// user message sent when the turn started (`pending_started_at`) or reading as the pending
/// prompt. The rows from there on are the live turn's (seeded from the journal snapshot and
/// the stream), not the settled transcript's.
fn in_flight_start(messages: &[Message], detail: &SessionDetail) -> Option<usize> {
    let at = messages.iter().rposition(Message::is_user)?;
    let user = &messages[at];
    let same_time = matches!(
        (user.timestamp, detail.pending_started_at),
        (Some(t), Some(p)) if (t - p).abs() < 1.0
    );
    let same_text = detail
        .pending_user_message
        .as_deref()
        .is_some_and(|p| p.trim() == user.typed_text().trim());
    (same_time || same_text).then_some(at)
}

/// Whether a marker's text holds the steer `text`: the agent joins the steers it takes at
/// once with newlines, so a marker may hold several, each on whole lines.
fn marker_holds(marker: &str, text: &str) -> bool {
    let lines: Vec<&str> = marker.lines().map(str::trim).collect();
    let want: Vec<&str> = text.lines().map(str::trim).collect();
    !want.is_empty() && lines.windows(want.len()).any(|w| w == want.as_slice())
}

/// `marker` without the first whole-line run of `text` (see [`marker_holds`]).
fn without_lines(marker: &str, text: &str) -> String {
    let lines: Vec<&str> = marker.lines().map(str::trim).collect();
    let want: Vec<&str> = text.lines().map(str::trim).collect();
    match lines.windows(want.len()).position(|w| w == want.as_slice()) {
        Some(at) => [&lines[..at], &lines[at + want.len()..]]
            .concat()
            .join("\n"),
        None => marker.to_string(),
    }
}

/// The steer texts the agent appended to the tool results of `messages`, in order.
fn steer_markers(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.role == "tool")
        .flat_map(|m| crate::steer::split_steers(&m.text()).1)
        .collect()
}
