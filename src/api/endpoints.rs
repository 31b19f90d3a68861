//! Every endpoint of the contract the pane calls, as a typed function.

use super::*;

/// The endpoints the pane uses (§0 of the contract): the only place their paths are written.
impl Api {
    pub async fn auth_status(&self) -> Result<wire::AuthStatus, ApiError> {
        let s: wire::AuthStatus = self.get("Checking sign-in", "api/auth/status").await?;
        self.note_auth(s.auth_enabled);
        Ok(s)
    }

    pub async fn sessions(&self) -> Result<wire::SessionList, ApiError> {
        self.get("Loading the session list", "api/sessions").await
    }

    /// The list with the archived sessions mixed in (`archived: true`).
    pub async fn sessions_with_archived(&self) -> Result<wire::SessionList, ApiError> {
        self.get(
            "Loading the archived sessions",
            "api/sessions?include_archived=1",
        )
        .await
    }

    /// The session-list invalidation channel (`sessions_changed`).
    pub fn sessions_events_url(&self) -> String {
        self.url("api/sessions/events")
    }

    pub async fn session(&self, id: &str, part: Part) -> Result<wire::SessionEnvelope, ApiError> {
        let id = pane_core::url_encode(id);
        let (what, path) = match part {
            Part::Meta => (
                "Loading the session",
                format!("api/session?session_id={id}&messages=0&resolve_model=0"),
            ),
            Part::Window => (
                "Loading messages",
                format!("api/session?session_id={id}&msg_limit={WINDOW}"),
            ),
            Part::Before { before, limit } => (
                "Loading older messages",
                format!("api/session?session_id={id}&msg_before={before}&msg_limit={limit}"),
            ),
        };
        self.get(what, &path).await
    }

    pub async fn new_session(&self) -> Result<wire::SessionEnvelope, ApiError> {
        self.post(
            "Creating a session",
            "api/session/new",
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn rename(&self, id: &str, title: &str) -> Result<wire::SessionEnvelope, ApiError> {
        self.post(
            "Renaming",
            "api/session/rename",
            &serde_json::json!({"session_id": id, "title": title}),
        )
        .await
    }

    pub async fn set_flag(
        &self,
        id: &str,
        flag: Flag,
        on: bool,
    ) -> Result<serde_json::Value, ApiError> {
        match flag {
            Flag::Pinned => {
                self.post(
                    "Pinning",
                    "api/session/pin",
                    &serde_json::json!({"session_id": id, "pinned": on}),
                )
                .await
            }
            Flag::Archived => {
                self.post(
                    "Archiving",
                    "api/session/archive",
                    &serde_json::json!({"session_id": id, "archived": on}),
                )
                .await
            }
        }
    }

    pub async fn delete(&self, id: &str) -> Result<serde_json::Value, ApiError> {
        self.post(
            "Deleting",
            "api/session/delete",
            &serde_json::json!({"session_id": id}),
        )
        .await
    }

    pub async fn retry(&self, id: &str) -> Result<wire::RetryReply, ApiError> {
        self.post(
            "Retrying",
            "api/session/retry",
            &serde_json::json!({"session_id": id}),
        )
        .await
    }

    pub async fn settings(&self) -> Result<wire::Settings, ApiError> {
        self.get("Loading the settings", "api/settings").await
    }

    /// Saves some settings (a partial object); the reply is all of them.
    pub async fn save_settings(
        &self,
        changes: &serde_json::Value,
    ) -> Result<wire::Settings, ApiError> {
        self.post("Saving the settings", "api/settings", changes)
            .await
    }

    /// The models the backend offers.
    pub async fn models(&self) -> Result<wire::ModelList, ApiError> {
        self.get("Loading the models", "api/models").await
    }

    /// Sets the session's model (and provider: `None` keeps the session's).
    pub async fn set_model(
        &self,
        id: &str,
        model: &str,
        provider: Option<&str>,
    ) -> Result<wire::SessionEnvelope, ApiError> {
        self.post(
            "Changing the model",
            "api/session/update",
            &serde_json::json!({"session_id": id, "model": model, "model_provider": provider}),
        )
        .await
    }

    /// Undoes the last turn (its user message and everything after it).
    pub async fn undo(&self, id: &str) -> Result<wire::UndoReply, ApiError> {
        self.post(
            "Undoing the last turn",
            "api/session/undo",
            &serde_json::json!({"session_id": id}),
        )
        .await
    }

    /// A new session with the first `keep` messages of `id` (fork from a message).
    pub async fn branch(&self, id: &str, keep: u64) -> Result<wire::BranchReply, ApiError> {
        self.post(
            "Forking the session",
            "api/session/branch",
            &serde_json::json!({"session_id": id, "keep_count": keep}),
        )
        .await
    }

    /// Steers the session's running turn (`{accepted, fallback, stream_id}`).
    pub async fn steer(
        &self,
        id: &str,
        text: &str,
    ) -> Result<pane_core::steer::SteerReply, ApiError> {
        self.post(
            "Steering the reply",
            "api/chat/steer",
            &serde_json::json!({"session_id": id, "text": text}),
        )
        .await
    }

    /// The backend's slash commands.
    pub async fn commands(&self) -> Result<pane_core::command::CommandList, ApiError> {
        self.get("Loading the commands", "api/commands").await
    }

    /// Runs an agent command on the backend (the whole `/name args` text).
    pub async fn exec(&self, command: &str) -> Result<wire::ExecReply, ApiError> {
        self.post(
            "Running the command",
            "api/commands/exec",
            &serde_json::json!({"command": command}),
        )
        .await
    }

    /// Compresses the session's context now (409 while a turn runs).
    pub async fn compress(
        &self,
        id: &str,
        focus: Option<&str>,
    ) -> Result<wire::CompressReply, ApiError> {
        self.post(
            "Compressing the context",
            "api/session/compress",
            &serde_json::json!({"session_id": id, "focus_topic": focus}),
        )
        .await
    }

    /// Keeps the first `keep` messages (edit & resend).
    pub async fn truncate(&self, id: &str, keep: u64) -> Result<wire::SessionEnvelope, ApiError> {
        self.post(
            "Editing the message",
            "api/session/truncate",
            &serde_json::json!({"session_id": id, "keep_count": keep}),
        )
        .await
    }

    pub async fn search(&self, q: &str) -> Result<wire::SearchReply, ApiError> {
        self.get(
            "Searching",
            &format!(
                "api/sessions/search?q={}&content=1&depth=0",
                pane_core::url_encode(q.trim())
            ),
        )
        .await
    }

    pub async fn chat_start(
        &self,
        req: &wire::ChatStartRequest,
    ) -> Result<wire::ChatStartReply, ApiError> {
        self.post("Sending your message", "api/chat/start", req)
            .await
    }

    /// A chat stream with its resume query (`stream_id=…&replay=1&after_seq=…`).
    pub fn chat_stream_url(&self, query: &str) -> String {
        self.url(&format!("api/chat/stream?{query}"))
    }

    pub async fn stream_status(&self, stream: &str) -> Result<wire::StreamStatus, ApiError> {
        self.get(
            "Checking the stream",
            &format!(
                "api/chat/stream/status?stream_id={}",
                pane_core::url_encode(stream)
            ),
        )
        .await
    }

    /// Cancel is a GET (§3.6).
    pub async fn cancel(&self, stream: &str) -> Result<wire::CancelReply, ApiError> {
        self.get(
            "Stopping the reply",
            &format!(
                "api/chat/cancel?stream_id={}",
                pane_core::url_encode(stream)
            ),
        )
        .await
    }

    pub async fn approval_pending(&self, id: &str) -> Result<wire::ApprovalPending, ApiError> {
        self.get(
            "Checking approvals",
            &format!(
                "api/approval/pending?session_id={}",
                pane_core::url_encode(id)
            ),
        )
        .await
    }

    pub async fn clarify_pending(&self, id: &str) -> Result<wire::ClarifyPending, ApiError> {
        self.get(
            "Checking questions",
            &format!(
                "api/clarify/pending?session_id={}",
                pane_core::url_encode(id)
            ),
        )
        .await
    }

    pub async fn approval_respond(
        &self,
        body: &wire::ApprovalRespond,
    ) -> Result<wire::RespondReply, ApiError> {
        self.post("Answering the approval", "api/approval/respond", body)
            .await
    }

    pub async fn clarify_respond(
        &self,
        body: &wire::ClarifyRespond,
    ) -> Result<wire::RespondReply, ApiError> {
        self.post("Answering the question", "api/clarify/respond", body)
            .await
    }
}
