//! The chat stream's event catalogue (§3.3) and its decoder.
//!
//! `decode(name, data)` never panics: a known name with a payload that is not the right JSON is
//! a [`DecodeError`]; an unknown name is kept as [`StreamEvent::Unknown`] so a newer backend's
//! events pass through harmlessly.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::wire::{Approval, Clarify, SessionDetail, TodoState};

/// `{text}` of `token` and `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TextDelta {
    pub text: String,
}

crate::from_json_fields!(TextDelta { text });

/// `interim_assistant`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InterimAssistant {
    pub text: String,
    pub already_streamed: bool,
    /// Text that was echoed into the thinking buffer and must be stripped from it.
    pub reasoning_echo: Value,
}

crate::from_json_fields!(InterimAssistant { text, already_streamed, reasoning_echo });

impl InterimAssistant {
    /// `reasoning_echo` is documented as optional; it may be a string or a boolean flag
    /// meaning "the interim text itself was echoed".
    pub fn echoed_text(&self) -> Option<&str> {
        match &self.reasoning_echo {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Bool(true) => Some(&self.text),
            _ => None,
        }
    }
}

/// `tool` and `tool_complete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolEvent {
    pub event_type: Option<String>,
    pub name: String,
    pub preview: Option<String>,
    pub args: Value,
    pub tid: Option<String>,
    pub duration: Option<f64>,
    pub is_error: bool,
}

crate::from_json_fields!(ToolEvent { event_type, name, preview, args, tid, duration, is_error });

impl ToolEvent {
    /// `args` as ordered `(key, value-as-text)` pairs (values are truncated strings upstream).
    pub fn args_pairs(&self) -> Vec<(String, String)> {
        args_pairs(&self.args)
    }
}

/// Flattens a JSON object of arguments into displayable pairs.
pub fn args_pairs(args: &Value) -> Vec<(String, String)> {
    match args {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                )
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![("args".to_string(), other.to_string())],
    }
}

/// `context_status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContextStatus {
    pub session_id: Option<String>,
    pub prefill: Value,
}

crate::from_json_fields!(ContextStatus { session_id, prefill });

/// `compressing`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Compressing {
    pub session_id: Option<String>,
    pub message: Option<String>,
}

crate::from_json_fields!(Compressing { session_id, message });

/// `compressed`: the session id may rotate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Compressed {
    pub session_id: Option<String>,
    pub old_session_id: Option<String>,
    pub new_session_id: Option<String>,
    pub continuation_session_id: Option<String>,
    pub message: Option<String>,
    pub usage: Value,
}

crate::from_json_fields!(Compressed { session_id, old_session_id, new_session_id, continuation_session_id, message, usage });

/// `warning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Warning {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
}

crate::from_json_fields!(Warning { kind = "type", message });

/// Token and cost counters (in `metering.usage` and `done.usage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    pub estimated_cost: Option<f64>,
    pub cache_read_tokens: Option<f64>,
    pub cache_write_tokens: Option<f64>,
    pub cache_hit_percent: Option<f64>,
    pub turn_cache_hit_percent: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub tps: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub used_model: Option<String>,
    pub context_length: Option<f64>,
    pub threshold_tokens: Option<f64>,
    pub last_prompt_tokens: Option<f64>,
    pub post_compression_context_tokens_estimate: Option<f64>,
}

crate::from_json_fields!(Usage {
    input_tokens,
    output_tokens,
    estimated_cost,
    cache_read_tokens,
    cache_write_tokens,
    cache_hit_percent,
    turn_cache_hit_percent,
    duration_seconds,
    tps,
    ttft_ms,
    used_model,
    context_length,
    threshold_tokens,
    last_prompt_tokens,
    post_compression_context_tokens_estimate
});

/// `metering`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metering {
    pub tps: Option<f64>,
    pub tps_available: bool,
    pub estimated: bool,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub ttft_ms: Option<f64>,
    /// Streams the server is metering at once.
    pub active: Option<f64>,
    pub session_id: Option<String>,
    pub usage: Option<Usage>,
}

crate::from_json_fields!(Metering { tps, tps_available, estimated, high, low, ttft_ms, active, session_id, usage });

impl Metering {
    /// The contract's rule for showing a live TPS figure.
    pub fn shown_tps(&self) -> Option<f64> {
        match self.tps {
            Some(t) if self.tps_available && !self.estimated && t > 0.0 => Some(t),
            _ => None,
        }
    }
}

/// `state_saved`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StateSaved {
    pub session_id: Option<String>,
    pub kind: Option<String>,
    pub action: Option<String>,
    pub name: Option<String>,
}

crate::from_json_fields!(StateSaved { session_id, kind, action, name });

/// `pending_steer_leftover`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SteerLeftover {
    pub session_id: Option<String>,
    pub text: String,
}

crate::from_json_fields!(SteerLeftover { session_id, text });

/// `goal`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Goal {
    pub session_id: Option<String>,
    pub state: Option<String>,
    pub message: Option<String>,
    pub message_key: Option<String>,
    pub message_args: Value,
    pub decision: Value,
}

crate::from_json_fields!(Goal { session_id, state, message, message_key, message_args, decision });

/// `goal_continue`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GoalContinue {
    pub session_id: Option<String>,
    pub continuation_prompt: Option<String>,
    pub text: Option<String>,
    pub message: Option<String>,
    pub message_key: Option<String>,
    pub message_args: Value,
    pub decision: Value,
}

crate::from_json_fields!(GoalContinue { session_id, continuation_prompt, text, message, message_key, message_args, decision });

/// `done`: the turn is settled and saved; not the end of the transport.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Done {
    pub session: Option<SessionDetail>,
    pub usage: Option<Usage>,
    pub terminal_state: Option<String>,
    pub terminal_reason: Option<String>,
    pub ephemeral: bool,
    pub answer: Option<String>,
}

crate::from_json_fields!(Done { session, usage, terminal_state, terminal_reason, ephemeral, answer });

/// `title`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Title {
    pub session_id: Option<String>,
    pub title: String,
}

crate::from_json_fields!(Title { session_id, title });

/// `title_status` (diagnostics only).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TitleStatus {
    pub session_id: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub title: Option<String>,
}

crate::from_json_fields!(TitleStatus { session_id, status, reason, title });

/// `stream_end`: the transport fence. `session_id` is the *original* id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StreamEnd {
    pub session_id: Option<String>,
}

crate::from_json_fields!(StreamEnd { session_id });

/// `apperror`: terminal; no `stream_end` follows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AppError {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub hint: Option<String>,
    pub details: Value,
    pub session_id: Option<String>,
    pub old_session_id: Option<String>,
    pub new_session_id: Option<String>,
    pub continuation_session_id: Option<String>,
    pub session: Option<SessionDetail>,
    pub terminal_state: Option<String>,
    pub recovery_control: bool,
    pub compression_recovery: Value,
    pub recommended_recovery_action: Option<String>,
    pub stream_id: Option<String>,
    pub offline_dropped_events: Option<u64>,
}

crate::from_json_fields!(AppError { message, kind = "type", hint, details, session_id, old_session_id, new_session_id, continuation_session_id, session, terminal_state, recovery_control, compression_recovery, recommended_recovery_action, stream_id, offline_dropped_events });

/// `cancel`: terminal; the embedded `session` is the authoritative post-cancel transcript.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cancel {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub session: Option<SessionDetail>,
    pub session_id: Option<String>,
}

crate::from_json_fields!(Cancel { message, kind = "type", status, session, session_id });

/// Named `error` (external-runner relay only).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RelayError {
    pub error: Option<String>,
}

crate::from_json_fields!(RelayError { error });

/// `bg_task_complete` / `process_complete`: not journaled; dedupe by `event_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackgroundTask {
    pub session_id: Option<String>,
    pub task_id: Option<String>,
    pub completed_at: Option<f64>,
    pub summary: Option<String>,
    pub event_id: Option<String>,
}

crate::from_json_fields!(BackgroundTask { session_id, task_id, completed_at, summary, event_id });

/// Every event of the chat stream, with its payload.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Token(TextDelta),
    Reasoning(TextDelta),
    InterimAssistant(InterimAssistant),
    Tool(ToolEvent),
    ToolComplete(ToolEvent),
    TodoState(TodoState),
    Approval(Approval),
    Clarify(Clarify),
    ContextStatus(ContextStatus),
    Compressing(Compressing),
    Compressed(Compressed),
    Warning(Warning),
    Metering(Box<Metering>),
    StateSaved(StateSaved),
    PendingSteerLeftover(SteerLeftover),
    Goal(Goal),
    GoalContinue(GoalContinue),
    Done(Box<Done>),
    Title(Title),
    TitleStatus(TitleStatus),
    StreamEnd(StreamEnd),
    AppError(Box<AppError>),
    Cancel(Box<Cancel>),
    Error(RelayError),
    BgTaskComplete(BackgroundTask),
    ProcessComplete(BackgroundTask),
    /// A name this build does not know; kept verbatim.
    Unknown {
        name: String,
        data: String,
    },
}

/// The names of every event in the contract's catalogue.
pub const KNOWN_EVENTS: &[&str] = &[
    "token",
    "reasoning",
    "interim_assistant",
    "tool",
    "tool_complete",
    "todo_state",
    "approval",
    "clarify",
    "context_status",
    "compressing",
    "compressed",
    "warning",
    "metering",
    "state_saved",
    "pending_steer_leftover",
    "goal",
    "goal_continue",
    "done",
    "title",
    "title_status",
    "stream_end",
    "apperror",
    "cancel",
    "error",
    "bg_task_complete",
    "process_complete",
];

/// A frame whose payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The event name of the frame.
    pub event: String,
    /// What was wrong, in words.
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed `{}` event from the server: {}", self.event, self.reason)
    }
}

impl std::error::Error for DecodeError {}

fn parse<T: crate::json::FromJson>(name: &str, data: &str) -> Result<T, DecodeError> {
    // An empty payload of a known event is treated as `{}` (all fields default), as the
    // backend's own handlers do with `JSON.parse(e.data || '{}')`.
    let data = if data.trim().is_empty() { "{}" } else { data };
    crate::from_json(data).map_err(|e| DecodeError { event: name.to_string(), reason: e.to_string() })
}

impl StreamEvent {
    /// Decodes one SSE frame's `event:` name and `data:` payload.
    pub fn decode(name: &str, data: &str) -> Result<StreamEvent, DecodeError> {
        use StreamEvent as E;
        Ok(match name {
            "token" => E::Token(parse(name, data)?),
            "reasoning" => E::Reasoning(parse(name, data)?),
            "interim_assistant" => E::InterimAssistant(parse(name, data)?),
            "tool" => E::Tool(parse(name, data)?),
            "tool_complete" => E::ToolComplete(parse(name, data)?),
            "todo_state" => E::TodoState(parse(name, data)?),
            "approval" => E::Approval(parse(name, data)?),
            "clarify" => E::Clarify(parse(name, data)?),
            "context_status" => E::ContextStatus(parse(name, data)?),
            "compressing" => E::Compressing(parse(name, data)?),
            "compressed" => E::Compressed(parse(name, data)?),
            "warning" => E::Warning(parse(name, data)?),
            "metering" => E::Metering(Box::new(parse(name, data)?)),
            "state_saved" => E::StateSaved(parse(name, data)?),
            "pending_steer_leftover" => E::PendingSteerLeftover(parse(name, data)?),
            "goal" => E::Goal(parse(name, data)?),
            "goal_continue" => E::GoalContinue(parse(name, data)?),
            "done" => E::Done(Box::new(parse(name, data)?)),
            "title" => E::Title(parse(name, data)?),
            "title_status" => E::TitleStatus(parse(name, data)?),
            "stream_end" => E::StreamEnd(parse(name, data)?),
            "apperror" => E::AppError(Box::new(parse(name, data)?)),
            "cancel" => E::Cancel(Box::new(parse(name, data)?)),
            "error" => E::Error(parse(name, data)?),
            "bg_task_complete" => E::BgTaskComplete(parse(name, data)?),
            "process_complete" => E::ProcessComplete(parse(name, data)?),
            _ => E::Unknown { name: name.to_string(), data: data.to_string() },
        })
    }

    /// The event's wire name.
    pub fn name(&self) -> &str {
        use StreamEvent as E;
        match self {
            E::Token(_) => "token",
            E::Reasoning(_) => "reasoning",
            E::InterimAssistant(_) => "interim_assistant",
            E::Tool(_) => "tool",
            E::ToolComplete(_) => "tool_complete",
            E::TodoState(_) => "todo_state",
            E::Approval(_) => "approval",
            E::Clarify(_) => "clarify",
            E::ContextStatus(_) => "context_status",
            E::Compressing(_) => "compressing",
            E::Compressed(_) => "compressed",
            E::Warning(_) => "warning",
            E::Metering(_) => "metering",
            E::StateSaved(_) => "state_saved",
            E::PendingSteerLeftover(_) => "pending_steer_leftover",
            E::Goal(_) => "goal",
            E::GoalContinue(_) => "goal_continue",
            E::Done(_) => "done",
            E::Title(_) => "title",
            E::TitleStatus(_) => "title_status",
            E::StreamEnd(_) => "stream_end",
            E::AppError(_) => "apperror",
            E::Cancel(_) => "cancel",
            E::Error(_) => "error",
            E::BgTaskComplete(_) => "bg_task_complete",
            E::ProcessComplete(_) => "process_complete",
            E::Unknown { name, .. } => name,
        }
    }

    /// Ends the transport: the server closes the socket after it (§3.2, §10.1).
    pub fn is_terminal(&self) -> bool {
        matches!(self, StreamEvent::StreamEnd(_) | StreamEvent::AppError(_) | StreamEvent::Cancel(_) | StreamEvent::Error(_))
    }

    /// Sent without a journal id of its own, i.e. with the *previous* frame's id (§3.5), so a
    /// seq already seen says nothing about whether this frame was seen.
    pub fn may_reuse_previous_id(&self) -> bool {
        matches!(self, StreamEvent::Cancel(_) | StreamEvent::BgTaskComplete(_) | StreamEvent::ProcessComplete(_))
    }
}

/// Events of `GET /api/sessions/events`.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionsEvent {
    Changed(crate::wire::SessionsChanged),
    Unknown { name: String, data: String },
}

impl SessionsEvent {
    pub fn decode(name: &str, data: &str) -> Result<SessionsEvent, DecodeError> {
        Ok(match name {
            "sessions_changed" => SessionsEvent::Changed(parse(name, data)?),
            _ => SessionsEvent::Unknown { name: name.to_string(), data: data.to_string() },
        })
    }
}

/// `initial` of `GET /api/session/stream` (the per-session channel, §3.8).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChannelInitial {
    pub session_id: Option<String>,
}

crate::from_json_fields!(ChannelInitial { session_id });

/// `server_turn_started`: the server itself started a turn (cron, self-wake, background
/// process), or a run was live when the channel subscribed (`recovered`: attach in replay mode).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerTurnStarted {
    pub session_id: Option<String>,
    pub stream_id: Option<String>,
    pub pending_started_at: Option<f64>,
    pub source: Option<String>,
    pub recovered: bool,
}

crate::from_json_fields!(ServerTurnStarted { session_id, stream_id, pending_started_at, source, recovered });

/// `session-updated`: the saved transcript is ahead of what the client knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionUpdated {
    pub session_id: Option<String>,
    pub message_count: Option<u64>,
    pub known_count: Option<u64>,
    pub source: Option<String>,
}

crate::from_json_fields!(SessionUpdated { session_id, message_count, known_count, source });

/// Events of the per-session channel `GET /api/session/stream?session_id=&known_count=`.
/// The pane learns the same facts from the session list (`is_streaming`, `sessions_changed`)
/// and so holds no per-session channel; the types keep the whole contract decodable.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionChannelEvent {
    Initial(ChannelInitial),
    ServerTurnStarted(ServerTurnStarted),
    SessionUpdated(SessionUpdated),
    BgTaskComplete(BackgroundTask),
    Unknown { name: String, data: String },
}

impl SessionChannelEvent {
    pub fn decode(name: &str, data: &str) -> Result<SessionChannelEvent, DecodeError> {
        Ok(match name {
            "initial" => SessionChannelEvent::Initial(parse(name, data)?),
            "server_turn_started" => SessionChannelEvent::ServerTurnStarted(parse(name, data)?),
            "session-updated" => SessionChannelEvent::SessionUpdated(parse(name, data)?),
            "bg_task_complete" => SessionChannelEvent::BgTaskComplete(parse(name, data)?),
            _ => SessionChannelEvent::Unknown { name: name.to_string(), data: data.to_string() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_session_channel_events_decode() {
        let e = SessionChannelEvent::decode("server_turn_started", r#"{"session_id":"a","stream_id":"s","recovered":true,"source":"cron"}"#).unwrap();
        assert_eq!(
            e,
            SessionChannelEvent::ServerTurnStarted(ServerTurnStarted {
                session_id: Some("a".into()),
                stream_id: Some("s".into()),
                source: Some("cron".into()),
                recovered: true,
                ..Default::default()
            })
        );
        assert!(
            matches!(SessionChannelEvent::decode("session-updated", r#"{"message_count":4,"known_count":2}"#).unwrap(), SessionChannelEvent::SessionUpdated(u) if u.message_count == Some(4))
        );
        assert!(matches!(SessionChannelEvent::decode("initial", "{}").unwrap(), SessionChannelEvent::Initial(_)));
        assert!(SessionChannelEvent::decode("session-updated", "{oops").is_err());
    }

    #[test]
    fn explicit_nulls_read_as_absent_fields() {
        // `null` where a string, bool or list is expected must not fail the whole payload.
        let e = StreamEvent::decode("title", r#"{"session_id":null,"title":null}"#).unwrap();
        assert_eq!(e, StreamEvent::Title(Title::default()));
        let e = StreamEvent::decode("approval", r#"{"approval_id":"x","command":null,"pattern_keys":null}"#).unwrap();
        assert!(matches!(e, StreamEvent::Approval(a) if a.approval_id.as_deref() == Some("x") && a.command.is_empty()));
    }

    #[test]
    fn unknown_event_names_are_kept_verbatim() {
        let e = StreamEvent::decode("brand_new", "{\"x\":1}").unwrap();
        assert_eq!(e, StreamEvent::Unknown { name: "brand_new".into(), data: "{\"x\":1}".into() });
    }

    #[test]
    fn malformed_json_is_a_typed_error_not_a_panic() {
        let err = StreamEvent::decode("token", "{not json").unwrap_err();
        assert_eq!(err.event, "token");
        assert!(err.to_string().contains("malformed `token` event"));
        assert!(StreamEvent::decode("done", "[1,2]").is_err());
        assert!(StreamEvent::decode("token", "\"just a string\"").is_err());
    }

    #[test]
    fn every_catalogue_name_decodes_from_an_empty_object() {
        for name in KNOWN_EVENTS {
            let e = StreamEvent::decode(name, "{}").unwrap();
            assert_eq!(e.name(), *name);
            assert!(!matches!(e, StreamEvent::Unknown { .. }));
        }
    }

    #[test]
    fn interim_reasoning_echo_accepts_text_or_flag() {
        let a: InterimAssistant = crate::from_json(r#"{"text":"x","reasoning_echo":"y"}"#).unwrap();
        assert_eq!(a.echoed_text(), Some("y"));
        let b: InterimAssistant = crate::from_json(r#"{"text":"x","reasoning_echo":true}"#).unwrap();
        assert_eq!(b.echoed_text(), Some("x"));
        let c: InterimAssistant = crate::from_json(r#"{"text":"x"}"#).unwrap();
        assert_eq!(c.echoed_text(), None);
    }
}
