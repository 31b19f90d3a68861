//! The reactive stores views read: one `Store<SessionView>` per session (plain data, narrow
//! fields) and the sidebar's rows. The painter writes them from `pane-core`'s runtime; views
//! never write them.

use std::sync::Arc;

use pane_core::turn::ToolCard;
use pane_core::view::SidebarRow;
use pane_core::wire::{Approval, Clarify};
use reactive_stores::Store;

/// What the session is doing, for the composer and the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Status {
    #[default]
    Idle,
    /// `chat/start` is in flight.
    Sending,
    /// Claims a live turn the server has not confirmed yet (no spinner).
    Checking,
    /// A confirmed live turn.
    Busy,
}

/// One settled transcript item, rendered once.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: u64,
    pub kind: ItemKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    User {
        text: String,
        attachments: Vec<String>,
        /// Absolute index in the transcript (for edit & resend).
        index: u64,
    },
    Assistant {
        /// Sanitized HTML of the markdown.
        html: Arc<str>,
        /// Raw text (copy, tests).
        text: Arc<str>,
        reasoning: Option<String>,
        tools: Vec<ToolCard>,
        error: bool,
        partial: bool,
        details: Option<String>,
        usage: Option<String>,
    },
    Divider {
        text: String,
    },
}

/// One piece of the live turn. `key` changes when the piece must re-render (sealed, card state).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSeg {
    pub key: u64,
    pub kind: LiveSegKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiveSegKind {
    /// Sealed prose, rendered once.
    Text {
        html: Arc<str>,
    },
    /// The growing prose: its text is the session's `tail` field.
    TextTail,
    Reasoning {
        text: Arc<str>,
        live: bool,
    },
    Tool(ToolCard),
}

/// The live turn's shape (changes only when a piece is added or changes state).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveView {
    pub user: Option<String>,
    pub attachments: Vec<String>,
    pub segs: Vec<LiveSeg>,
    pub compressing: Option<String>,
}

/// The error bubble of a failed turn.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorView {
    pub message: String,
    pub hint: Option<String>,
}

/// Everything the pane shows for one session.
#[derive(Debug, Clone, Default, Store)]
pub struct SessionView {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub loaded: bool,
    pub load_error: Option<String>,
    pub items: Vec<Arc<Item>>,
    pub has_older: bool,
    pub loading_older: bool,
    pub live: Option<Arc<LiveView>>,
    /// The growing text of the live turn's last piece (updated at most once per frame).
    pub tail: Arc<str>,
    pub approval: Option<Approval>,
    pub clarify: Option<Clarify>,
    pub error: Option<ErrorView>,
    pub cancelled: bool,
    pub queued: Vec<String>,
    pub read_only: bool,
    pub tps: Option<f64>,
    pub usage: Option<String>,
    /// The stream a Stop cancels.
    pub stream_id: Option<String>,
}

impl SessionView {
    pub fn new(id: &str) -> SessionView {
        SessionView { id: id.to_string(), title: "New conversation".into(), ..Default::default() }
    }
}

/// The sidebar: grouped rows (and search results when searching).
#[derive(Debug, Clone, Default, Store)]
pub struct SidebarView {
    pub pinned: Vec<SidebarRow>,
    pub recent: Vec<SidebarRow>,
    pub loaded: bool,
    pub error: Option<String>,
    /// `Some` while a search is shown.
    pub results: Option<Vec<SidebarRow>>,
}

/// A toast.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub text: String,
    /// Opens this session when clicked.
    pub open: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Warning,
    Error,
    Attention,
}

/// A stable key for a sidebar row's content (re-render only rows that changed).
pub fn row_key(r: &SidebarRow) -> (String, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.title.hash(&mut h);
    r.state.as_str().hash(&mut h);
    (r.attention.map(|a| a as u8)).hash(&mut h);
    r.preview.hash(&mut h);
    r.unread.hash(&mut h);
    r.pinned.hash(&mut h);
    r.stream_id.hash(&mut h);
    (r.id.clone(), h.finish())
}
