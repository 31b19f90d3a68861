//! Wire types of the Hermes WebUI HTTP API (`shared/contract/hermes-webui-api.md` §2–§6).
//!
//! Unknown fields are ignored, missing fields take their default, and every field the backend
//! may send as `null` is an `Option`. Shapes that vary (`content`: string or parts; an
//! attachment: name or object; search: list or wrapper) are read by hand; every other type
//! derives [`FromJson`] (see [`crate::json`] for why not serde's `Deserialize`).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::json::{field, FromJson, JsonError};

/// `{"error": "...", "code"?: ..., "type"?: ...}` — every JSON error of the backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ApiError {
    pub error: Option<String>,
    pub code: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Set on the 409 of `chat/start` while a turn runs.
    pub active_stream_id: Option<String>,
    pub stale: bool,
}

// ---------------------------------------------------------------------------------------------
// Sessions (§2)

/// `attention` of a sidebar row: the session waits for the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Attention {
    /// `"approval"` or `"clarify"`.
    pub kind: String,
    pub count: u32,
    pub severity: Option<String>,
}

/// One row of `GET /api/sessions` (the fields a chat pane uses; the rest are ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SessionRow {
    pub session_id: String,
    pub title: Option<String>,
    pub display_title: Option<String>,
    pub created_at: Option<f64>,
    pub updated_at: Option<f64>,
    pub last_message_at: Option<f64>,
    pub message_count: Option<u64>,
    pub user_message_count: Option<u64>,
    pub model: Option<String>,
    pub workspace: Option<String>,
    pub profile: Option<String>,
    pub pinned: bool,
    pub archived: bool,
    pub active_stream_id: Option<String>,
    pub is_streaming: bool,
    pub has_pending_user_message: bool,
    pub pending_started_at: Option<f64>,
    pub cron_running: bool,
    pub attention: Option<Attention>,
    pub read_only: bool,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SessionList {
    pub sessions: Vec<SessionRow>,
    pub sidebar_reference_sessions: Vec<SessionRow>,
    pub cli_count: u64,
    pub archived_count: u64,
    pub webui_session_count: u64,
    pub active_profile: Option<String>,
    pub server_time: Option<f64>,
}

/// `GET /api/sessions/search` answers "a list of matching session rows"; the bare list and
/// the `{sessions}` / `{results}` wrappers are all accepted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchReply(pub Vec<SessionRow>);

impl SearchReply {
    pub fn into_rows(self) -> Vec<SessionRow> {
        self.0
    }
}

impl FromJson for SearchReply {
    fn from_json(v: &Value) -> Result<SearchReply, JsonError> {
        match v {
            Value::Array(_) => Vec::from_json(v).map(SearchReply),
            Value::Object(m) => {
                let rows = if m.contains_key("sessions") {
                    field(m, "sessions")?
                } else {
                    field(m, "results")?
                };
                Ok(SearchReply(rows))
            }
            other => Err(JsonError::expected(
                "a list of sessions or an object with `sessions`",
                other,
            )),
        }
    }
}

/// A part of a parts-list message content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub id: Option<Value>,
    pub name: Option<String>,
    pub input: Value,
}

/// `content` is a string or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
    /// Anything else the backend might send; shown as nothing rather than failing the load.
    Other(Value),
}

impl FromJson for Content {
    fn from_json(v: &Value) -> Result<Content, JsonError> {
        Ok(match v {
            Value::String(t) => Content::Text(t.clone()),
            Value::Array(_) => Content::Parts(Vec::from_json(v)?),
            Value::Number(n) => Content::Text(n.to_string()),
            // Anything else is shown as nothing rather than failing the load.
            _ => Content::Other(Value::Null),
        })
    }
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct FunctionCall {
    pub name: String,
    /// A JSON document as a string.
    pub arguments: Option<String>,
}

/// An entry of a message's `tool_calls`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ToolCall {
    pub id: Option<String>,
    pub function: FunctionCall,
}

/// A user message's attachment as displayed: its name (the backend sends display names, legacy
/// plain strings, or upload result objects with `name`/`filename`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct AttachmentRef(pub String);

impl AttachmentRef {
    pub fn display_name(&self) -> String {
        self.0.clone()
    }
}

impl FromJson for AttachmentRef {
    fn from_json(v: &Value) -> Result<AttachmentRef, JsonError> {
        match v {
            Value::String(t) => Ok(AttachmentRef(t.rsplit('/').next().unwrap_or(t).to_string())),
            Value::Object(m) => {
                let name: Option<String> = if m.get("name").is_some_and(|n| !n.is_null()) {
                    field(m, "name")?
                } else {
                    field(m, "filename")?
                };
                Ok(AttachmentRef(name.unwrap_or_else(|| "file".into())))
            }
            other => Err(JsonError::expected("an attachment name or object", other)),
        }
    }
}

/// One transcript row (§2.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Message {
    pub role: String,
    pub content: Option<Content>,
    pub timestamp: Option<f64>,
    pub reasoning: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub attachments: Vec<AttachmentRef>,
    #[serde(rename = "_error")]
    pub error: bool,
    #[serde(rename = "_partial")]
    pub partial: bool,
    pub provider_details: Option<String>,
    pub provider_details_label: Option<String>,
    pub tool_call_id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "_turnDuration")]
    pub turn_duration: Option<f64>,
    #[serde(rename = "_turnTps")]
    pub turn_tps: Option<f64>,
    #[serde(rename = "_usedModel")]
    pub used_model: Option<String>,
    #[serde(rename = "_compressionRecovery")]
    pub compression_recovery: bool,
    /// Server row id (numeric in the captures; opaque here).
    pub id: Option<Value>,
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
    /// The user typed this. The server appends `[Attached files: …]`, and where the agent's
    /// own copy of the turn is what was saved (a turn that failed), the text starts with the
    /// agent's `[Workspace::v1: <path>]` line: neither is shown (as the stock UI's
    /// `_stripWorkspaceDisplayPrefix`).
    pub fn typed_text(&self) -> String {
        let t = self.text();
        if !self.is_user() {
            return t;
        }
        let t = strip_workspace_prefix(&t);
        match t.rfind("\n\n[Attached files:") {
            Some(i) => t[..i].to_string(),
            _ => t.to_string(),
        }
    }
}

/// `text` without a leading `[Workspace::v1: <escaped path>]` (or legacy `[Workspace: <path>]`)
/// tag and the whitespace around it.
pub fn strip_workspace_prefix(text: &str) -> &str {
    let t = text.trim_start();
    let (body, escapes) = if let Some(b) = t.strip_prefix("[Workspace::v1:") {
        (b, true)
    } else if let Some(b) = t.strip_prefix("[Workspace:") {
        (b, false)
    } else {
        return text;
    };
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if escapes => {
                chars.next();
            }
            ']' if i > 0 => return body[i + 1..].trim(),
            _ => {}
        }
    }
    text
}

/// A session-level tool summary (`session.tool_calls[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SessionToolCall {
    pub name: String,
    pub snippet: Option<String>,
    pub tid: Option<String>,
    pub assistant_msg_idx: Option<i64>,
    pub args: Map<String, Value>,
    pub is_error: bool,
    pub duration: Option<f64>,
}

/// `runtime_journal`: where a session's current/last run journal stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct RuntimeJournal {
    pub session_id: Option<String>,
    pub run_id: Option<String>,
    pub last_seq: u64,
    pub last_event_id: Option<String>,
    pub last_event: Option<String>,
    pub terminal: bool,
    pub terminal_state: Option<String>,
}

/// A tool call inside `runtime_journal_snapshot.tool_calls` (shape varies; all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SnapshotToolCall {
    pub name: String,
    pub tid: Option<String>,
    pub args: Map<String, Value>,
    pub preview: Option<String>,
    pub snippet: Option<String>,
    pub done: bool,
    pub is_error: bool,
    pub duration: Option<f64>,
}

/// `runtime_journal_snapshot`: the run so far, to seed a live turn before resuming the stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct JournalSnapshot {
    pub session_id: Option<String>,
    pub stream_id: Option<String>,
    pub last_seq: u64,
    pub last_event_id: Option<String>,
    pub event_count: u64,
    pub last_assistant_text: Option<String>,
    pub last_reasoning_text: Option<String>,
    pub tool_calls: Vec<SnapshotToolCall>,
    pub messages: Vec<Message>,
}

/// `GET /api/session` → `{"session": {...}}` (§2.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SessionDetail {
    pub session_id: String,
    pub title: Option<String>,
    pub messages: Vec<Message>,
    pub message_count: Option<u64>,
    pub tool_calls: Vec<SessionToolCall>,
    pub active_stream_id: Option<String>,
    pub pending_user_message: Option<String>,
    pub pending_attachments: Vec<AttachmentRef>,
    pub pending_started_at: Option<f64>,
    pub has_pending_user_message: bool,
    pub is_streaming: bool,
    pub runtime_journal: Option<RuntimeJournal>,
    pub runtime_journal_snapshot: Option<JournalSnapshot>,
    #[serde(rename = "_messages_truncated")]
    pub messages_truncated: bool,
    #[serde(rename = "_messages_offset")]
    pub messages_offset: Option<u64>,
    pub todo_state: Option<TodoState>,
    pub continuation_session_id: Option<String>,
    pub pinned: bool,
    pub archived: bool,
    pub read_only: bool,
    pub model: Option<String>,
    pub model_provider: Option<String>,
    pub workspace: Option<String>,
    pub context_length: Option<f64>,
    pub threshold_tokens: Option<f64>,
    pub last_prompt_tokens: Option<f64>,
    pub post_compression_context_tokens_estimate: Option<f64>,
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    pub estimated_cost: Option<f64>,
    pub created_at: Option<f64>,
    pub updated_at: Option<f64>,
    pub last_message_at: Option<f64>,
}

/// The envelope of every reply that carries a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SessionEnvelope {
    pub session: SessionDetail,
    pub ok: bool,
}

/// `POST /api/session/retry` reply (§11).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct RetryReply {
    pub ok: bool,
    pub last_user_text: Option<String>,
    pub removed_count: Option<u64>,
    pub error: Option<String>,
}

/// `GET/POST /api/settings` (a flat object; the pane reads what it honours).
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct Settings {
    pub send_key: Option<String>,
    pub theme: Option<String>,
    pub notifications_enabled: bool,
}

/// `GET /api/models`: the models the backend offers, by provider.
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct ModelList {
    pub active_provider: Option<String>,
    pub default_model: Option<String>,
    pub groups: Vec<ModelGroup>,
}

/// One provider's models (`provider_id` is what a session's `model_provider` names).
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct ModelGroup {
    pub provider: String,
    pub provider_id: Option<String>,
    pub models: Vec<ModelOption>,
}

#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct ModelOption {
    pub id: String,
    pub label: Option<String>,
}

impl ModelList {
    /// `(model, provider, label)` of every choice, in the backend's order. The provider is
    /// `None` for the "default" group (as the stock UI sends it: the server keeps the current
    /// one). An `@provider:model` id (a model two providers offer) names its provider.
    pub fn choices(&self) -> Vec<(String, Option<String>, String)> {
        let mut out = Vec::new();
        for g in &self.groups {
            let group_provider = g.provider_id.clone().filter(|p| p != "default");
            for m in &g.models {
                let provider =
                    m.id.strip_prefix('@')
                        .and_then(|r| r.split_once(':'))
                        .map(|(p, _)| p.to_string())
                        .or_else(|| group_provider.clone());
                let label = m.label.clone().unwrap_or_else(|| m.id.clone());
                out.push((m.id.clone(), provider, format!("{label} · {}", g.provider)));
            }
        }
        out
    }
}

/// `POST /api/session/undo`: `{ok, removed_count, removed_preview}`, or 200 `{error}` ("Nothing
/// to undo.").
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct UndoReply {
    pub ok: bool,
    pub removed_count: Option<u64>,
    pub removed_preview: Option<String>,
    pub error: Option<String>,
}

/// `POST /api/commands/exec`: the command's output.
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct ExecReply {
    pub output: Option<String>,
}

/// `POST /api/session/compress`'s `summary` (its lines as the stock UI shows them).
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct CompressSummary {
    pub headline: Option<String>,
    pub token_line: Option<String>,
    pub note: Option<String>,
}

/// `POST /api/session/compress`: `{ok, session, summary, focus_topic}`.
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct CompressReply {
    pub ok: bool,
    pub summary: Option<CompressSummary>,
}

/// `POST /api/session/branch`: the new session (no session object: load it).
#[derive(Debug, Clone, Default, PartialEq, FromJson)]
pub struct BranchReply {
    pub session_id: String,
    pub title: Option<String>,
    pub parent_session_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Chat turn (§3)

/// An upload result as sent back in `attachments` of `chat/start` (§5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct UploadedFile {
    pub name: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub is_image: bool,
}

/// `POST /api/upload` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct UploadReply {
    pub filename: String,
    pub path: String,
    pub size: Option<u64>,
    pub mime: Option<String>,
    pub is_image: bool,
}

impl From<UploadReply> for UploadedFile {
    fn from(r: UploadReply) -> Self {
        UploadedFile {
            name: r.filename,
            path: r.path,
            mime: r.mime,
            size: r.size,
            is_image: r.is_image,
        }
    }
}

/// `POST /api/chat/start` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The model was picked by the user: the server must not "repair" its provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_model_pick: Option<bool>,
    /// The regeneration variant: `{session_id, regenerate: true, regeneration_revision}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regenerate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regeneration_revision: Option<Value>,
}

/// `POST /api/chat/start` 200 reply. `stream_id` is absent for `[SILENT]` (`status: "suppressed"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ChatStartReply {
    pub stream_id: Option<String>,
    pub session_id: Option<String>,
    pub pending_started_at: Option<f64>,
    pub turn_id: Option<String>,
    pub title: Option<String>,
    pub effective_model: Option<String>,
    pub effective_model_provider: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
}

/// `GET /api/chat/stream/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct StreamStatus {
    pub active: bool,
    pub stream_id: Option<String>,
    pub replay_available: bool,
    pub journal: Option<RuntimeJournal>,
}

/// `GET /api/chat/cancel` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct CancelReply {
    pub ok: bool,
    pub cancelled: bool,
    pub stream_id: Option<String>,
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Approval and clarify (§4)

/// An approval request (in-band `approval` event or `GET /api/approval/pending`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Approval {
    pub approval_id: Option<String>,
    pub command: String,
    pub description: Option<String>,
    pub pattern_key: Option<String>,
    pub pattern_keys: Vec<String>,
    pub pending_count: Option<u32>,
    pub allow_permanent: bool,
    pub run_id: Option<String>,
    #[serde(rename = "_gateway_mirror_token")]
    pub gateway_mirror_token: Option<String>,
}

/// `GET /api/approval/pending`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ApprovalPending {
    pub pending: Option<Approval>,
    pub pending_count: Option<u32>,
}

/// The four answers to an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

impl ApprovalRespond {
    /// The answer to `approval`, as the stock UI builds it (`_approvalMirrorOwnerFor`): the
    /// gateway relay's `run_id` and `mirror_token` go together or not at all. A local run's
    /// approval carries a `_gateway_mirror_token` but no `run_id`; sending the token alone
    /// makes the backend take the gateway-relay path and answer 409 `gateway_run_unavailable`.
    pub fn new(session_id: &str, approval: &Approval, choice: ApprovalChoice) -> ApprovalRespond {
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (run_id, mirror_token) = match (
            nonempty(&approval.run_id),
            nonempty(&approval.gateway_mirror_token),
        ) {
            (Some(run), Some(token)) => (Some(run), Some(token)),
            _ => (None, None),
        };
        ApprovalRespond {
            session_id: session_id.to_string(),
            choice,
            approval_id: approval.approval_id.clone(),
            run_id,
            mirror_token,
        }
    }
}

/// `POST /api/approval/respond` and `/api/clarify/respond` replies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct RespondReply {
    pub ok: bool,
    pub choice: Option<String>,
    pub response: Option<String>,
    pub stale_cleared: bool,
    pub stale: bool,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Clarify {
    pub clarify_id: Option<String>,
    pub question: String,
    pub choices_offered: Vec<String>,
    pub session_id: Option<String>,
    pub kind: Option<String>,
    pub requested_at: Option<f64>,
    pub timeout_seconds: Option<f64>,
    pub expires_at: Option<f64>,
}

/// `GET /api/clarify/pending`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ClarifyPending {
    pub pending: Option<Clarify>,
}

/// `POST /api/clarify/respond` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClarifyRespond {
    pub session_id: String,
    pub response: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clarify_id: Option<String>,
}

/// A todo list snapshot (`todo_state` event or session field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct TodoState {
    pub session_id: Option<String>,
    pub stream_id: Option<String>,
    pub source: Option<String>,
    pub ts: Option<f64>,
    pub todos: Vec<Value>,
    pub summary: Value,
    pub version: Option<f64>,
}

/// `GET /api/auth/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct AuthStatus {
    pub auth_enabled: bool,
    pub logged_in: bool,
    pub password_auth_enabled: bool,
}

/// `sessions_changed` on `GET /api/sessions/events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SessionsChanged {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub version: Option<f64>,
    pub reason: Option<String>,
    pub profile: Option<String>,
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
                    if !token.is_empty()
                        && token
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.=+/".contains(c))
                    {
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
        let html = concat!(
            r#"<script>window.__HERMES_CONFIG__ = {"basePath":"/", "#,
            r#"csrfToken:"ab12.cd-34"};</script>"#
        );
        assert_eq!(csrf_token_from_shell(html).as_deref(), Some("ab12.cd-34"));
        let quoted = r#"{"csrfToken": "tok_1"}"#;
        assert_eq!(csrf_token_from_shell(quoted).as_deref(), Some("tok_1"));
        assert_eq!(csrf_token_from_shell("<html>no auth</html>"), None);
        assert_eq!(csrf_token_from_shell(r#"csrfToken:"<script>""#), None);
    }

    #[test]
    fn content_parts_join_text_parts_only() {
        let m: Message = crate::from_json(concat!(
            r#"{"role":"assistant","content":[{"type":"text","text":"a"},"#,
            r#"{"type":"tool_use","id":"x","name":"t","input":{}},{"type":"text","text":"b"}]}"#
        ))
        .unwrap();
        assert_eq!(m.text(), "ab");
    }

    #[test]
    fn nullable_fields_and_varying_shapes_decode() {
        let m: Message = crate::from_json(concat!(
            r#"{"role":"user","content":null,"reasoning":null,"id":7,"tool_calls":[],"#,
            r#""attachments":["a.png",{"name":"b.txt","path":"/x"},{"filename":"c.pdf"}]}"#
        ))
        .unwrap();
        assert_eq!(m.id, Some(Value::from(7)));
        assert!(!m.error);
        assert_eq!(
            m.attachments
                .iter()
                .map(AttachmentRef::display_name)
                .collect::<Vec<_>>(),
            ["a.png", "b.txt", "c.pdf"]
        );
        let odd: Message =
            crate::from_json(r#"{"role":"assistant","content":{"weird":true}}"#).unwrap();
        assert_eq!(odd.text(), "");
        let bare: SearchReply = crate::from_json(r#"[{"session_id":"a"}]"#).unwrap();
        let wrapped: SearchReply =
            crate::from_json(r#"{"query":"x","sessions":[{"session_id":"a"}]}"#).unwrap();
        assert_eq!(bare, wrapped);
        assert_eq!(bare.into_rows()[0].session_id, "a");
        assert!(crate::from_json::<SearchReply>("42").is_err());
    }

    #[test]
    fn typed_text_drops_the_attached_files_suffix() {
        let m = Message {
            role: "user".into(),
            content: Some(Content::Text("hi\n\n[Attached files: /a]".into())),
            ..Default::default()
        };
        assert_eq!(m.typed_text(), "hi");
    }

    #[test]
    fn typed_text_drops_the_agents_workspace_line() {
        let m = |t: &str| Message {
            role: "user".into(),
            content: Some(Content::Text(t.into())),
            ..Default::default()
        };
        assert_eq!(
            m("[Workspace::v1: /tmp/w]\nFail [[error]]").typed_text(),
            "Fail [[error]]"
        );
        assert_eq!(
            m("[Workspace::v1: /a\\]b]\nhi\n\n[Attached files: /x]").typed_text(),
            "hi"
        );
        assert_eq!(m("[Workspace: /old]\nlegacy").typed_text(), "legacy");
        assert_eq!(
            m("[Workspace::v1: unterminated").typed_text(),
            "[Workspace::v1: unterminated"
        );
        assert_eq!(
            m("say [Workspace::v1: /x] later").typed_text(),
            "say [Workspace::v1: /x] later"
        );
    }

    #[test]
    fn respond_outcomes_follow_the_contract() {
        let r = |s: &str| crate::from_json::<RespondReply>(s).unwrap().outcome();
        assert_eq!(
            r(r#"{"ok":true,"choice":"once"}"#),
            RespondOutcome::Accepted
        );
        assert_eq!(
            r(r#"{"ok":true,"stale_cleared":true}"#),
            RespondOutcome::StaleCleared
        );
        assert_eq!(
            r(r#"{"ok":false,"stale":true,"error":"x"}"#),
            RespondOutcome::StaleCleared
        );
        assert_eq!(r(r#"{"ok":false}"#), RespondOutcome::Superseded);
    }
}
