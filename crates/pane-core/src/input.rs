//! The hub's one input type and its one output type: everything the pane learns — from the
//! server, its transports, the browser and the person using it — is an [`Input`] given to
//! [`crate::Hub::update`], and everything the shell must do about it is a [`Command`].

use crate::cursor::EventId;
use crate::event::StreamEvent;
use crate::hub::Ticket;
use crate::session::{Notice, Queued};
use crate::transport::{Budget, ReadyState};
use crate::wire::{Approval, Clarify, SessionDetail, SessionRow, StreamStatus, UploadedFile};

/// Something the hub learns.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    // -- the server's answers ------------------------------------------------------------
    /// `GET /api/sessions` answered; it was asked at `at`.
    Listed { rows: Vec<SessionRow>, at: Ticket },
    /// `GET /api/session` (or `POST /api/session/new`) answered; asked at `at`. `messages`:
    /// it carries the message window (false for a metadata-only load).
    Loaded {
        session: String,
        detail: SessionDetail,
        messages: bool,
        at: Ticket,
    },
    /// An older page of the transcript (`msg_before`).
    PagedIn {
        session: String,
        detail: SessionDetail,
    },
    /// `/api/chat/stream/status` answered (`None`: 404, an unknown stream).
    Probed {
        session: String,
        stream: String,
        status: Option<StreamStatus>,
    },
    /// The status probe could not reach the server.
    ProbeFailed { session: String, stream: String },
    /// `/api/approval/pending` and `/api/clarify/pending` answered (`None`: that poll failed
    /// and says nothing); asked at `at` — a card the stream showed after that stays.
    PromptsPolled {
        session: String,
        approval: Option<Option<Approval>>,
        clarify: Option<Option<Clarify>>,
        at: Ticket,
    },
    /// `chat/start` answered with a stream id (`uploads` ride with the turn).
    Started {
        session: String,
        stream: String,
        uploads: Vec<UploadedFile>,
    },
    /// `chat/start` answered 409: another turn runs there.
    StartConflict {
        session: String,
        text: String,
        uploads: Vec<UploadedFile>,
    },
    /// `chat/start` failed (or the backend suppressed the message).
    StartFailed { session: String, message: String },
    /// An approval or clarify card was answered (or found stale): it goes.
    Answered { session: String, prompt: Prompt },
    /// A rename went through.
    Renamed { session: String, title: String },
    /// `/api/chat/steer` accepted `text` for the session's running turn.
    Steered { session: String, text: String },
    /// The session was deleted.
    Removed { session: String },

    // -- the transports ------------------------------------------------------------------
    /// A frame of the transport of `stream`.
    Frame {
        stream: String,
        id: Option<EventId>,
        event: StreamEvent,
    },
    /// The browser reported a ready-state change of the transport of `stream` (opened; or
    /// CLOSED, after which it is reopened when next scheduled).
    ReadyState { stream: String, state: ReadyState },
    /// The transport of `stream` errored; the shell has closed it.
    Failed { stream: String },

    // -- the browser and the person ------------------------------------------------------
    /// The address now shows this session (or none).
    Show(Option<String>),
    /// The budget the page's protocol allows (at start).
    Budget(Budget),
    /// The tab was hidden or shown again.
    Visibility { hidden: bool },
    /// The person sends a message: queued behind a running reply, else a turn starts.
    Send {
        session: String,
        text: String,
        uploads: Vec<UploadedFile>,
    },
    /// The person removes a queued message.
    Unqueue { session: String, index: usize },
}

/// Which card was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Approval,
    Clarify,
}

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
pub enum Command {
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
    /// `POST /api/chat/start` with this message (its optimistic row is already shown); answer
    /// with [`Input::Started`], [`Input::StartConflict`] or [`Input::StartFailed`].
    StartTurn {
        session_id: String,
        message: String,
        text: String,
        uploads: Vec<UploadedFile>,
        queued: bool,
    },
    /// Give these queued messages back to the person (the turn was stopped or failed).
    GiveBack {
        session_id: String,
        messages: Vec<Queued>,
    },
    /// A turn finished in this session.
    Finished {
        session_id: String,
    },
    /// This session started waiting on the person (an approval, a question): the shell tells
    /// them even in a hidden tab, where nothing is painted.
    Waits {
        session_id: String,
    },
}
