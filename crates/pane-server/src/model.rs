//! The stand-in's sessions and the JSON shapes the real backend gives them (§2 of the contract;
//! key sets copied from the captured `done.session` and list rows).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Seconds since the epoch, as the backend stamps everything.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `n` random lowercase hex characters.
pub fn hex_id(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("hex digit"))
        .collect()
}

/// A pending approval or clarify, as the stand-in keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Session {
    pub session_id: String,
    pub title: Option<String>,
    pub manual_title: bool,
    pub created_at: f64,
    pub updated_at: f64,
    pub last_message_at: Option<f64>,
    /// Transcript rows (the backend's message objects).
    pub messages: Vec<Value>,
    /// Session-level tool summaries.
    pub tool_calls: Vec<Value>,
    pub pinned: bool,
    pub archived: bool,
    pub active_stream_id: Option<String>,
    pub pending_user_message: Option<String>,
    pub pending_attachments: Vec<Value>,
    pub pending_started_at: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// What the session's turns cost so far (`[[cost=X]]` scripts price a turn).
    #[serde(default)]
    pub estimated_cost: f64,
    pub turns: u64,
    /// Exists only in memory until its first turn starts (as upstream).
    pub persisted: bool,
    pub parent_session_id: Option<String>,
    /// The session's model and provider (`/api/session/update`, or a turn's own).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub model_provider: Option<String>,
    pub todo_state: Option<Value>,
    /// Bumped per saved turn (regeneration revision).
    pub revision: u64,
    /// Set when a restart interrupted a turn (the recovery marker).
    #[serde(default)]
    pub recovered_stream: Option<String>,
}

impl Session {
    /// The turn is over (settled or cancelled): no stream, no pending prompt, one more turn.
    pub fn finish_turn(&mut self, t: f64) {
        self.active_stream_id = None;
        self.pending_user_message = None;
        self.pending_attachments.clear();
        self.pending_started_at = None;
        self.updated_at = t;
        self.last_message_at = Some(t);
        self.turns += 1;
    }

    pub fn new() -> Session {
        let t = now();
        Session {
            session_id: hex_id(12),
            created_at: t,
            updated_at: t,
            ..Default::default()
        }
    }

    /// Keeps the first `keep` messages and the tool summaries of the assistant messages among
    /// them (truncate, retry, undo, branch); returns how many messages went.
    pub fn keep_messages(&mut self, keep: usize) -> usize {
        let keep = keep.min(self.messages.len());
        let removed = self.messages.len() - keep;
        self.messages.truncate(keep);
        self.tool_calls.retain(|t| {
            t["assistant_msg_idx"]
                .as_u64()
                .is_some_and(|x| (x as usize) < keep)
        });
        removed
    }

    /// The model a turn uses (the backend's default until one is chosen).
    pub fn model_name(&self) -> &str {
        self.model.as_deref().unwrap_or("fake-model")
    }

    pub fn provider_name(&self) -> &str {
        self.model_provider.as_deref().unwrap_or("custom")
    }

    pub fn user_message_count(&self) -> usize {
        self.messages.iter().filter(|m| m["role"] == "user").count()
    }

    /// Rows the UI shows (tool rows are part of `message_count` upstream too).
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    pub fn shown_title(&self) -> String {
        self.title.clone().unwrap_or_else(|| "Untitled".into())
    }

    /// Concatenated text of all messages (for content search).
    pub fn text_of(m: &Value) -> String {
        match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        }
    }
}

/// The `attention` field of a row: approval or clarify waiting.
pub fn attention(kind: Option<&str>) -> Value {
    match kind {
        Some("approval") => json!({"kind": "approval", "count": 1, "severity": "critical"}),
        Some("clarify") => json!({"kind": "clarify", "count": 1, "severity": "question"}),
        _ => Value::Null,
    }
}

/// A sidebar row (`_SIDEBAR_SESSION_RESPONSE_FIELDS` + `attention`).
pub fn row_json(s: &Session, is_streaming: bool, attention_kind: Option<&str>) -> Value {
    json!({
        "session_id": s.session_id,
        "title": s.shown_title(),
        "display_title": s.shown_title(),
        "workspace": "/srv/hermes/workspace",
        "model": s.model_name(),
        "model_provider": s.provider_name(),
        "message_count": s.message_count(),
        "user_message_count": s.user_message_count(),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "last_message_at": s.last_message_at,
        "pinned": s.pinned,
        "archived": s.archived,
        "project_id": null,
        "profile": "default",
        "personality": null,
        "input_tokens": s.input_tokens,
        "output_tokens": s.output_tokens,
        "estimated_cost": s.estimated_cost,
        "context_length": 131072,
        "window_usage_percent": 0,
        "active_stream_id": s.active_stream_id,
        "is_streaming": is_streaming,
        "has_pending_user_message": s.pending_user_message.is_some(),
        "pending_started_at": s.pending_started_at,
        "cron_running": false,
        "read_only": false,
        "is_cli_session": false,
        "is_messaging_session": false,
        "source_tag": null,
        "source_label": null,
        "parent_session_id": s.parent_session_id,
        "_lineage_root_id": s.parent_session_id.clone().unwrap_or_else(|| s.session_id.clone()),
        "_compression_segment_count": if s.parent_session_id.is_some() { 2 } else { 1 },
        "attention": attention(attention_kind),
    })
}

/// `Session.compact()` plus the fields the loaders merge in, with `messages` as given.
pub fn compact_json(s: &Session, messages: &[Value], is_streaming: bool) -> Map<String, Value> {
    let v = json!({
        "session_id": s.session_id,
        "title": s.shown_title(),
        "workspace": "/srv/hermes/workspace",
        "model": s.model_name(),
        "model_provider": s.provider_name(),
        "message_count": s.message_count(),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "last_message_at": s.last_message_at,
        "pinned": s.pinned,
        "archived": s.archived,
        "project_id": null,
        "profile": "default",
        "input_tokens": s.input_tokens,
        "output_tokens": s.output_tokens,
        "estimated_cost": s.estimated_cost,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cache_hit_percent": null,
        "personality": null,
        "compression_anchor_visible_idx": null,
        "compression_anchor_message_key": null,
        "compression_anchor_summary": null,
        "pre_compression_snapshot": false,
        "context_engine": null,
        "compression_anchor_engine": null,
        "compression_anchor_mode": null,
        "compression_anchor_details": {},
        "context_engine_state": {},
        "context_length": 131072,
        "threshold_tokens": 98304,
        "last_prompt_tokens": if s.turns > 0 { 100 } else { 0 },
        "post_compression_context_tokens_estimate": null,
        "compression_recovery": {},
        "recommended_recovery_action": null,
        "gateway_routing": null,
        "gateway_routing_history": [],
        "manual_title": s.manual_title,
        "created_workspace": "/srv/hermes/workspace",
        "user_message_count": s.user_message_count(),
        "active_stream_id": s.active_stream_id,
        "pending_user_message": s.pending_user_message,
        "has_pending_user_message": s.pending_user_message.is_some(),
        "is_cli_session": false,
        "source_tag": null,
        "raw_source": null,
        "session_source": null,
        "source_label": null,
        "read_only": false,
        "enabled_toolsets": null,
        "composer_draft": {},
        "process_wakeup_pause": {},
        "share_token": null,
        "share_created_at": null,
        "is_streaming": is_streaming,
        "messages": messages,
        "tool_calls": s.tool_calls,
        "regeneration_revision": format!("{:064x}", s.revision),
    });
    let Value::Object(mut map) = v else {
        unreachable!("object literal")
    };
    if let Some(p) = &s.parent_session_id {
        map.insert("parent_session_id".into(), json!(p));
    }
    if let Some(t) = &s.todo_state {
        map.insert("todo_state".into(), t.clone());
    }
    map
}

/// The full saved session as `done`/`cancel` carry it (all messages).
pub fn saved_session_json(s: &Session) -> Value {
    Value::Object(compact_json(s, &s.messages, false))
}
