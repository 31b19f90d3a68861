//! The reactive stores views read: one `Store<SessionView>` per session (plain data, narrow
//! fields) and the sidebar's rows. The painter writes them from `pane-core`'s runtime; views
//! never write them.

use std::sync::Arc;

use pane_core::turn::ToolCard;
use pane_core::view::{AttentionKind, SidebarRow};
use pane_core::wire::{Approval, Clarify};
use reactive_stores::{Patch, Store};

/// What the session is doing (decided in the core).
pub use pane_core::view::{ErrorLine, Status};

/// One settled transcript item, rendered once per version.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its place in the transcript.
    pub key: u64,
    /// Changes whenever what it shows changes (content, usage line, markdown rendered or still
    /// plain): the transcript's rows are keyed by `(key, version)`, so a changed item is
    /// rendered again and an unchanged one is kept.
    pub version: u64,
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
        /// Sanitized HTML of the markdown; `None` until the renderer is in (the text shows
        /// as it is meanwhile).
        html: Option<Arc<str>>,
        /// Raw text (copy, tests).
        text: Arc<str>,
        reasoning: Option<String>,
        tools: Vec<ToolCard>,
        error: bool,
        partial: bool,
        details: Option<String>,
        usage: Option<String>,
        /// How many messages a fork from this reply keeps (its whole turn).
        fork: u64,
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
    /// Steers the agent accepted, not yet on a saved tool result.
    pub steers: Vec<String>,
}

/// A message given back to the composer, with why it was not sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Returned {
    pub text: String,
    /// Uploads that were to go with it (they go back to the composer's attachments).
    pub uploads: Vec<pane_core::wire::UploadedFile>,
    pub error: String,
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
    pub error: Option<ErrorLine>,
    pub cancelled: bool,
    pub queued: Vec<String>,
    /// A message the hub could not send on the user's behalf, handed back to the composer.
    pub returned: Option<Returned>,
    /// An approval or clarify answer is on its way (the card's buttons wait).
    pub answering: bool,
    pub read_only: bool,
    pub tps: Option<f64>,
    pub usage: Option<String>,
    /// The stream a Stop cancels.
    pub stream_id: Option<String>,
    /// The session's model (the model picker's value).
    pub model: Option<String>,
    /// What the last slash command answered (help, the title, an agent command's output),
    /// shown above the composer until dismissed.
    pub command_output: Option<String>,
    /// What is known of the context window (the header's meter).
    pub context: pane_core::event::Usage,
    /// The agent's plan as last reported.
    pub todos: Option<pane_core::wire::TodoState>,
}

impl SessionView {
    pub fn new(id: &str) -> SessionView {
        SessionView {
            id: id.to_string(),
            title: "New conversation".into(),
            ..Default::default()
        }
    }
}

/// One sidebar row as the view reads it: plain data, patched field by field, so a row whose
/// preview changes every frame updates in place (its element is never replaced under the
/// pointer).
#[derive(Debug, Clone, Default, PartialEq, Store, Patch)]
pub struct RowView {
    pub id: String,
    pub title: String,
    /// `idle` / `running` / `attention` (the `data-state` hook).
    pub state: String,
    pub badge: Option<String>,
    pub preview: Option<String>,
    pub unread: bool,
    pub pinned: bool,
    /// The stream a Stop on this row cancels: the row's own.
    pub stream_id: Option<String>,
}

impl From<&SidebarRow> for RowView {
    fn from(r: &SidebarRow) -> RowView {
        RowView {
            id: r.id.clone(),
            title: r.title.clone(),
            state: r.state.as_str().to_string(),
            badge: r.attention.map(|a| match a {
                AttentionKind::Approval => "Needs approval".to_string(),
                AttentionKind::Clarify => "Needs answer".to_string(),
            }),
            preview: r.preview.clone(),
            unread: r.unread,
            pinned: r.pinned,
            stream_id: r.stream_id.clone(),
        }
    }
}

/// The sidebar: grouped rows, keyed by session id (and search results when searching).
#[derive(Debug, Clone, Default, Store)]
pub struct SidebarView {
    #[store(key: String = |r| r.id.clone())]
    pub pinned: Vec<RowView>,
    #[store(key: String = |r| r.id.clone())]
    pub recent: Vec<RowView>,
    #[store(key: String = |r| r.id.clone())]
    pub results: Vec<RowView>,
    /// A search is shown.
    pub searching: bool,
    pub loaded: bool,
    pub error: Option<String>,
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
