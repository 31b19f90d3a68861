//! Wire types of the Hermes WebUI HTTP API (`shared/contract/hermes-webui-api.md` §2–§6).
//!
//! Decoding is lenient the way the backend is loose: unknown fields are ignored, missing
//! fields take their default, and `null` is accepted wherever the backend has been seen to
//! send it. Only a structurally wrong payload (not JSON, wrong top-level type) is an error.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// `null`, a missing field, `0`/`1` and booleans all decode; everything else is `false`.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.as_str(), "1" | "true"),
        _ => false,
    })
}

/// Any JSON scalar as text (`null` → `None`); ids are opaque and sometimes numeric.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    })
}

/// A JSON array of objects, tolerating `null` (→ empty).
pub(crate) fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `{"error": "...", "code"?: ..., "type"?: ...}` — every JSON error of the backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiError {
    #[serde(deserialize_with = "lenient_string")]
    pub error: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub code: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// Set on the 409 of `chat/start` while a turn runs.
    #[serde(deserialize_with = "lenient_string")]
    pub active_stream_id: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub stale: bool,
}

// ---------------------------------------------------------------------------------------------
// Sessions (§2)

/// `attention` of a sidebar row: the session waits for the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attention {
    /// `"approval"` or `"clarify"`.
    pub kind: String,
    pub count: u32,
    pub severity: Option<String>,
}

/// One row of `GET /api/sessions` (the fields a chat pane uses; the rest are ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionRow {
    pub session_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub display_title: Option<String>,
    pub created_at: Option<f64>,
    pub updated_at: Option<f64>,
    pub last_message_at: Option<f64>,
    pub message_count: Option<u64>,
    pub user_message_count: Option<u64>,
    #[serde(deserialize_with = "lenient_string")]
    pub model: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub workspace: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub profile: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub pinned: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub archived: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub active_stream_id: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_streaming: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub has_pending_user_message: bool,
    pub pending_started_at: Option<f64>,
    #[serde(deserialize_with = "lenient_bool")]
    pub cron_running: bool,
    pub attention: Option<Attention>,
    #[serde(deserialize_with = "lenient_bool")]
    pub read_only: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub parent_session_id: Option<String>,
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    pub estimated_cost: Option<f64>,
}

impl SessionRow {
    /// The title a person should see.
    pub fn shown_title(&self) -> String {
        self.display_title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| self.title.clone().filter(|t| !t.trim().is_empty()))
            .unwrap_or_else(|| "Untitled".to_string())
    }

    /// A turn is in flight according to the server (`is_streaming` needs the live set).
    pub fn is_running(&self) -> bool {
        self.is_streaming && self.active_stream_id.is_some()
    }
}

/// `GET /api/sessions` — a wrapper object, not a bare list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionList {
    #[serde(deserialize_with = "lenient_vec")]
    pub sessions: Vec<SessionRow>,
    #[serde(deserialize_with = "lenient_vec")]
    pub sidebar_reference_sessions: Vec<SessionRow>,
    pub cli_count: u64,
    pub archived_count: u64,
    pub webui_session_count: u64,
    #[serde(deserialize_with = "lenient_string")]
    pub active_profile: Option<String>,
    pub server_time: Option<f64>,
}

/// `GET /api/sessions/search` answers "a list of matching session rows"; accept the bare list
/// and the wrapper shapes seen in the wild.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SearchReply {
    Rows(Vec<SessionRow>),
    Sessions { sessions: Vec<SessionRow> },
    Results { results: Vec<SessionRow> },
}

impl SearchReply {
    pub fn into_rows(self) -> Vec<SessionRow> {
        match self {
            SearchReply::Rows(r) | SearchReply::Sessions { sessions: r } | SearchReply::Results { results: r } => r,
        }
    }
}

/// A part of a parts-list message content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "lenient_string")]
    pub text: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    pub input: Value,
}

/// `content` is a string or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
    /// Anything else the backend might send; shown as nothing rather than failing the load.
    Other(Value),
}

impl Content {
    /// The visible text: the string, or the text parts joined.
    pub fn text(&self) -> String {
        match self {
            Content::Text(s) => s.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter(|p| p.kind == "text" || p.kind.is_empty())
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join(""),
            Content::Other(_) => String::new(),
        }
    }
}

/// The `function` of an OpenAI-style tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionCall {
    pub name: String,
    /// A JSON document as a string.
    #[serde(deserialize_with = "lenient_string")]
    pub arguments: Option<String>,
}

/// An entry of a message's `tool_calls`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolCall {
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    pub function: FunctionCall,
}

/// A user message's attachment: a display name (legacy) or an upload result object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttachmentRef {
    Name(String),
    File(UploadedFile),
    Other(Value),
}

impl AttachmentRef {
    pub fn display_name(&self) -> String {
        match self {
            AttachmentRef::Name(n) => n.clone(),
            AttachmentRef::File(f) => f.name.clone(),
            AttachmentRef::Other(v) => v.get("name").and_then(Value::as_str).unwrap_or("file").to_string(),
        }
    }
}

/// One transcript row (§2.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    pub role: String,
    pub content: Option<Content>,
    pub timestamp: Option<f64>,
    #[serde(deserialize_with = "lenient_string")]
    pub reasoning: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(deserialize_with = "lenient_vec")]
    pub attachments: Vec<AttachmentRef>,
    #[serde(rename = "_error", deserialize_with = "lenient_bool")]
    pub error: bool,
    #[serde(rename = "_partial", deserialize_with = "lenient_bool")]
    pub partial: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub provider_details: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub provider_details_label: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub tool_call_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(rename = "_turnDuration")]
    pub turn_duration: Option<f64>,
    #[serde(rename = "_turnTps")]
    pub turn_tps: Option<f64>,
    #[serde(rename = "_usedModel", deserialize_with = "lenient_string")]
    pub used_model: Option<String>,
    #[serde(rename = "_compressionRecovery", deserialize_with = "lenient_bool")]
    pub compression_recovery: bool,
    /// Server row id (numeric in the captures; opaque here).
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
}

impl Message {
    /// The visible text of the message.
    pub fn text(&self) -> String {
        self.content.as_ref().map(Content::text).unwrap_or_default()
    }
    pub fn is_user(&self) -> bool {
        self.role == "user"
    }
    pub fn is_assistant(&self) -> bool {
        self.role == "assistant"
    }
    pub fn is_tool(&self) -> bool {
        self.role == "tool"
    }
    /// The user typed this; the server appends `[Attached files: …]` which is not shown.
    pub fn typed_text(&self) -> String {
        let t = self.text();
        match t.rfind("\n\n[Attached files:") {
            Some(i) if self.is_user() => t[..i].to_string(),
            _ => t,
        }
    }
}

/// A session-level tool summary (`session.tool_calls[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionToolCall {
    pub name: String,
    #[serde(deserialize_with = "lenient_string")]
    pub snippet: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub tid: Option<String>,
    pub assistant_msg_idx: Option<i64>,
    pub args: Map<String, Value>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_error: bool,
    pub duration: Option<f64>,
}

/// `runtime_journal`: where a session's current/last run journal stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeJournal {
    #[serde(deserialize_with = "lenient_string")]
    pub session_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub run_id: Option<String>,
    pub last_seq: u64,
    #[serde(deserialize_with = "lenient_string")]
    pub last_event_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub last_event: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub terminal: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub terminal_state: Option<String>,
}

/// A tool call inside `runtime_journal_snapshot.tool_calls` (shape varies; all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SnapshotToolCall {
    pub name: String,
    #[serde(deserialize_with = "lenient_string")]
    pub tid: Option<String>,
    pub args: Map<String, Value>,
    #[serde(deserialize_with = "lenient_string")]
    pub preview: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub snippet: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub done: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_error: bool,
    pub duration: Option<f64>,
}

/// `runtime_journal_snapshot`: the run so far, to seed a live turn before resuming the stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JournalSnapshot {
    #[serde(deserialize_with = "lenient_string")]
    pub session_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub stream_id: Option<String>,
    pub last_seq: u64,
    #[serde(deserialize_with = "lenient_string")]
    pub last_event_id: Option<String>,
    pub event_count: u64,
    #[serde(deserialize_with = "lenient_string")]
    pub last_assistant_text: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub last_reasoning_text: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub tool_calls: Vec<SnapshotToolCall>,
    #[serde(deserialize_with = "lenient_vec")]
    pub messages: Vec<Message>,
}

/// `GET /api/session` → `{"session": {...}}` (§2.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionDetail {
    pub session_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub messages: Vec<Message>,
    pub message_count: Option<u64>,
    #[serde(deserialize_with = "lenient_vec")]
    pub tool_calls: Vec<SessionToolCall>,
    #[serde(deserialize_with = "lenient_string")]
    pub active_stream_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub pending_user_message: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub pending_attachments: Vec<AttachmentRef>,
    pub pending_started_at: Option<f64>,
    #[serde(deserialize_with = "lenient_bool")]
    pub has_pending_user_message: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_streaming: bool,
    pub runtime_journal: Option<RuntimeJournal>,
    pub runtime_journal_snapshot: Option<JournalSnapshot>,
    #[serde(rename = "_messages_truncated", deserialize_with = "lenient_bool")]
    pub messages_truncated: bool,
    #[serde(rename = "_messages_offset")]
    pub messages_offset: Option<u64>,
    pub todo_state: Option<TodoState>,
    #[serde(deserialize_with = "lenient_string")]
    pub continuation_session_id: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub pinned: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub archived: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub read_only: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub model: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub workspace: Option<String>,
    pub context_length: Option<f64>,
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    pub estimated_cost: Option<f64>,
    pub created_at: Option<f64>,
    pub updated_at: Option<f64>,
    pub last_message_at: Option<f64>,
}

/// The envelope of every reply that carries a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionEnvelope {
    pub session: SessionDetail,
    #[serde(deserialize_with = "lenient_bool")]
    pub ok: bool,
}

/// `POST /api/session/retry` reply (§11).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryReply {
    #[serde(deserialize_with = "lenient_bool")]
    pub ok: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub last_user_text: Option<String>,
    pub removed_count: Option<u64>,
    #[serde(deserialize_with = "lenient_string")]
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Chat turn (§3)

/// An upload result as sent back in `attachments` of `chat/start` (§5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadedFile {
    pub name: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_image: bool,
}

/// `POST /api/upload` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadReply {
    pub filename: String,
    pub path: String,
    pub size: Option<u64>,
    #[serde(deserialize_with = "lenient_string")]
    pub mime: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_image: bool,
}

impl From<UploadReply> for UploadedFile {
    fn from(r: UploadReply) -> Self {
        UploadedFile { name: r.filename, path: r.path, mime: r.mime, size: r.size, is_image: r.is_image }
    }
}

/// `POST /api/chat/start` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatStartRequest {
    pub session_id: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<UploadedFile>,
}

/// `POST /api/chat/start` 200 reply. `stream_id` is absent for `[SILENT]` (`status: "suppressed"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatStartReply {
    #[serde(deserialize_with = "lenient_string")]
    pub stream_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub session_id: Option<String>,
    pub pending_started_at: Option<f64>,
    #[serde(deserialize_with = "lenient_string")]
    pub turn_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub effective_model: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub effective_model_provider: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub reason: Option<String>,
}

/// `GET /api/chat/stream/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamStatus {
    #[serde(deserialize_with = "lenient_bool")]
    pub active: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub stream_id: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub replay_available: bool,
    pub journal: Option<RuntimeJournal>,
}

/// `GET /api/chat/cancel` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CancelReply {
    #[serde(deserialize_with = "lenient_bool")]
    pub ok: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub cancelled: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub stream_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Approval and clarify (§4)

/// An approval request (in-band `approval` event or `GET /api/approval/pending`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Approval {
    #[serde(deserialize_with = "lenient_string")]
    pub approval_id: Option<String>,
    pub command: String,
    #[serde(deserialize_with = "lenient_string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub pattern_key: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub pattern_keys: Vec<String>,
    pub pending_count: Option<u32>,
    #[serde(deserialize_with = "lenient_bool")]
    pub allow_permanent: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub run_id: Option<String>,
    #[serde(rename = "_gateway_mirror_token", deserialize_with = "lenient_string")]
    pub gateway_mirror_token: Option<String>,
}

/// `GET /api/approval/pending`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApprovalPending {
    pub pending: Option<Approval>,
    pub pending_count: Option<u32>,
}

/// The four answers to an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalChoice {
    Once,
    Session,
    Always,
    Deny,
}

impl ApprovalChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalChoice::Once => "once",
            ApprovalChoice::Session => "session",
            ApprovalChoice::Always => "always",
            ApprovalChoice::Deny => "deny",
        }
    }
}

/// `POST /api/approval/respond` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRespond {
    pub session_id: String,
    pub choice: ApprovalChoice,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror_token: Option<String>,
}

/// `POST /api/approval/respond` and `/api/clarify/respond` replies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RespondReply {
    #[serde(deserialize_with = "lenient_bool")]
    pub ok: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub choice: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub response: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub stale_cleared: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub stale: bool,
    #[serde(deserialize_with = "lenient_string")]
    pub error: Option<String>,
}

/// What answering a card means for the card, per §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespondOutcome {
    /// Accepted: the card goes away, the turn continues.
    Accepted,
    /// Nothing was pending any more (`stale_cleared`, or clarify's 409 `stale`): clear the card.
    StaleCleared,
    /// A different request is pending now (`ok:false`): re-fetch the pending one.
    Superseded,
}

impl RespondReply {
    /// Classifies a reply (HTTP 409 bodies included).
    pub fn outcome(&self) -> RespondOutcome {
        if self.stale_cleared || self.stale {
            RespondOutcome::StaleCleared
        } else if self.ok {
            RespondOutcome::Accepted
        } else {
            RespondOutcome::Superseded
        }
    }
}

/// A clarify question.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Clarify {
    #[serde(deserialize_with = "lenient_string")]
    pub clarify_id: Option<String>,
    pub question: String,
    #[serde(deserialize_with = "lenient_vec")]
    pub choices_offered: Vec<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub session_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    pub requested_at: Option<f64>,
    pub timeout_seconds: Option<f64>,
    pub expires_at: Option<f64>,
}

/// `GET /api/clarify/pending`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClarifyPending {
    pub pending: Option<Clarify>,
}

/// `POST /api/clarify/respond` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClarifyRespond {
    pub session_id: String,
    pub response: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clarify_id: Option<String>,
}

/// A todo list snapshot (`todo_state` event or session field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TodoState {
    #[serde(deserialize_with = "lenient_string")]
    pub session_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub stream_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub source: Option<String>,
    pub ts: Option<f64>,
    #[serde(deserialize_with = "lenient_vec")]
    pub todos: Vec<Value>,
    pub summary: Value,
    pub version: Option<f64>,
}

/// `GET /api/auth/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthStatus {
    #[serde(deserialize_with = "lenient_bool")]
    pub auth_enabled: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub logged_in: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub password_auth_enabled: bool,
}

/// `sessions_changed` on `GET /api/sessions/events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionsChanged {
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    pub version: Option<f64>,
    #[serde(deserialize_with = "lenient_string")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub profile: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub session_id: Option<String>,
}

/// Extracts the CSRF token the backend embeds in its `/` shell
/// (`window.__HERMES_CONFIG__ = {... csrfToken:"…" ...}`, §6.2). Accepts both quote styles
/// and a quoted key; returns `None` when auth is off (no token in the page).
pub fn csrf_token_from_shell(html: &str) -> Option<String> {
    let mut rest = html;
    while let Some(i) = rest.find("csrfToken") {
        let after = &rest[i + "csrfToken".len()..];
        let after = after.trim_start_matches(['"', '\'']).trim_start();
        if let Some(after) = after.strip_prefix(':') {
            let after = after.trim_start();
            let quote = after.chars().next()?;
            if quote == '"' || quote == '\'' {
                let body = &after[1..];
                if let Some(end) = body.find(quote) {
                    let token = &body[..end];
                    if !token.is_empty() && token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=+/".contains(c)) {
                        return Some(token.to_string());
                    }
                }
            }
        }
        rest = &rest[i + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_token_is_read_from_the_shell_literal() {
        let html = r#"<script>window.__HERMES_CONFIG__ = {"basePath":"/", csrfToken:"ab12.cd-34"};</script>"#;
        assert_eq!(csrf_token_from_shell(html).as_deref(), Some("ab12.cd-34"));
        let quoted = r#"{"csrfToken": "tok_1"}"#;
        assert_eq!(csrf_token_from_shell(quoted).as_deref(), Some("tok_1"));
        assert_eq!(csrf_token_from_shell("<html>no auth</html>"), None);
        assert_eq!(csrf_token_from_shell(r#"csrfToken:"<script>""#), None);
    }

    #[test]
    fn content_parts_join_text_parts_only() {
        let m: Message = serde_json::from_str(
            r#"{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"x","name":"t","input":{}},{"type":"text","text":"b"}]}"#,
        )
        .unwrap();
        assert_eq!(m.text(), "ab");
    }

    #[test]
    fn nulls_and_numbers_decode_leniently() {
        let m: Message = serde_json::from_str(
            r#"{"role":"user","content":null,"_error":null,"id":7,"tool_calls":null,"attachments":["a.png",{"name":"b.txt","path":"/x"}]}"#,
        )
        .unwrap();
        assert_eq!(m.id.as_deref(), Some("7"));
        assert!(!m.error);
        assert_eq!(m.attachments.iter().map(AttachmentRef::display_name).collect::<Vec<_>>(), ["a.png", "b.txt"]);
    }

    #[test]
    fn typed_text_drops_the_attached_files_suffix() {
        let m = Message { role: "user".into(), content: Some(Content::Text("hi\n\n[Attached files: /a]".into())), ..Default::default() };
        assert_eq!(m.typed_text(), "hi");
    }

    #[test]
    fn respond_outcomes_follow_the_contract() {
        let r = |s: &str| serde_json::from_str::<RespondReply>(s).unwrap().outcome();
        assert_eq!(r(r#"{"ok":true,"choice":"once"}"#), RespondOutcome::Accepted);
        assert_eq!(r(r#"{"ok":true,"stale_cleared":true}"#), RespondOutcome::StaleCleared);
        assert_eq!(r(r#"{"ok":false,"stale":true,"error":"x"}"#), RespondOutcome::StaleCleared);
        assert_eq!(r(r#"{"ok":false}"#), RespondOutcome::Superseded);
    }
}
