//! The chat stream's event catalogue (§3.3) and its decoder.
//!
//! `decode(name, data)` never panics: a known name with a payload that is not the right JSON is
//! a [`DecodeError`]; an unknown name is kept as [`StreamEvent::Unknown`] so a newer backend's
//! events pass through harmlessly.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::json::FromJson;
use crate::wire::{Approval, Clarify, SessionDetail, TodoState};

/// `{text}` of `token` and `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct TextDelta {
    pub text: String,
}

/// `interim_assistant`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct InterimAssistant {
    pub text: String,
    pub already_streamed: bool,
    /// Text that was echoed into the thinking buffer and must be stripped from it.
    pub reasoning_echo: Value,
}

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
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ToolEvent {
    pub event_type: Option<String>,
    pub name: String,
    pub preview: Option<String>,
    pub args: Value,
    pub tid: Option<String>,
    pub duration: Option<f64>,
    pub is_error: bool,
}

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
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ContextStatus {
    pub session_id: Option<String>,
    pub prefill: Value,
}

/// `compressing`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Compressing {
    pub session_id: Option<String>,
    pub message: Option<String>,
}

/// `compressed`: the session id may rotate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Compressed {
    pub session_id: Option<String>,
    pub old_session_id: Option<String>,
    pub new_session_id: Option<String>,
    pub continuation_session_id: Option<String>,
    pub message: Option<String>,
    pub usage: Value,
}

/// `warning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Warning {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
}

/// Token and cost counters (in `metering.usage` and `done.usage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
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

/// `metering`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct StateSaved {
    pub session_id: Option<String>,
    pub kind: Option<String>,
    pub action: Option<String>,
    pub name: Option<String>,
}

/// `pending_steer_leftover`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SteerLeftover {
    pub session_id: Option<String>,
    pub text: String,
}

/// `goal`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Goal {
    pub session_id: Option<String>,
    pub state: Option<String>,
    pub message: Option<String>,
    pub message_key: Option<String>,
    pub message_args: Value,
    pub decision: Value,
}

/// `goal_continue`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct GoalContinue {
    pub session_id: Option<String>,
    pub continuation_prompt: Option<String>,
    pub text: Option<String>,
    pub message: Option<String>,
    pub message_key: Option<String>,
    pub message_args: Value,
    pub decision: Value,
}

/// `done`: the turn is settled and saved; not the end of the transport.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Done {
    pub session: Option<SessionDetail>,
    pub usage: Option<Usage>,
    pub terminal_state: Option<String>,
    pub terminal_reason: Option<String>,
    pub ephemeral: bool,
    pub answer: Option<String>,
}

/// `title`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Title {
    pub session_id: Option<String>,
    pub title: String,
}

/// `title_status` (diagnostics only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct TitleStatus {
    pub session_id: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub title: Option<String>,
}

/// `stream_end`: the transport fence. `session_id` is the *original* id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct StreamEnd {
    pub session_id: Option<String>,
}

/// `apperror`: terminal; no `stream_end` follows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
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

/// `cancel`: terminal; the embedded `session` is the authoritative post-cancel transcript.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct Cancel {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub session: Option<SessionDetail>,
    pub session_id: Option<String>,
}

/// Named `error` (external-runner relay only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct RelayError {
    pub error: Option<String>,
}

/// `bg_task_complete` / `process_complete`: not journaled; dedupe by `event_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct BackgroundTask {
    pub session_id: Option<String>,
    pub task_id: Option<String>,
    pub completed_at: Option<f64>,
    pub summary: Option<String>,
    pub event_id: Option<String>,
}

/// The chat stream's events, listed once: each variant with its payload and its wire name.
/// Generates [`StreamEvent`] (plus `Unknown`), [`KNOWN_EVENTS`], `decode` and `name`.
macro_rules! stream_events {
    ($($variant:ident($payload:ty) = $name:literal,)*) => {
        /// Every event of the chat stream, with its payload.
        #[derive(Debug, Clone, PartialEq)]
        pub enum StreamEvent {
            $($variant($payload),)*
            /// A name this build does not know; kept verbatim.
            Unknown { name: String, data: String },
        }

        /// The names of every event in the contract's catalogue.
        pub const KNOWN_EVENTS: &[&str] = &[$($name),*];

        impl StreamEvent {
            /// Decodes one SSE frame's `event:` name and `data:` payload.
            pub fn decode(name: &str, data: &str) -> Result<StreamEvent, DecodeError> {
                Ok(match name {
                    $($name => StreamEvent::$variant(parse(name, data)?),)*
                    _ => StreamEvent::Unknown { name: name.to_string(), data: data.to_string() },
                })
            }

            /// The event's wire name.
            pub fn name(&self) -> &str {
                match self {
                    $(StreamEvent::$variant(_) => $name,)*
                    StreamEvent::Unknown { name, .. } => name,
                }
            }
        }
    };
}

stream_events! {
    Token(TextDelta) = "token",
    Reasoning(TextDelta) = "reasoning",
    InterimAssistant(InterimAssistant) = "interim_assistant",
    Tool(ToolEvent) = "tool",
    ToolComplete(ToolEvent) = "tool_complete",
    TodoState(TodoState) = "todo_state",
    Approval(Approval) = "approval",
    Clarify(Clarify) = "clarify",
    ContextStatus(ContextStatus) = "context_status",
    Compressing(Compressing) = "compressing",
    Compressed(Compressed) = "compressed",
    Warning(Warning) = "warning",
    Metering(Box<Metering>) = "metering",
    StateSaved(StateSaved) = "state_saved",
    PendingSteerLeftover(SteerLeftover) = "pending_steer_leftover",
    Goal(Goal) = "goal",
    GoalContinue(GoalContinue) = "goal_continue",
    Done(Box<Done>) = "done",
    Title(Title) = "title",
    TitleStatus(TitleStatus) = "title_status",
    StreamEnd(StreamEnd) = "stream_end",
    AppError(Box<AppError>) = "apperror",
    Cancel(Box<Cancel>) = "cancel",
    Error(RelayError) = "error",
    BgTaskComplete(BackgroundTask) = "bg_task_complete",
    ProcessComplete(BackgroundTask) = "process_complete",
}

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
        write!(
            f,
            "malformed `{}` event from the server: {}",
            self.event, self.reason
        )
    }
}

impl std::error::Error for DecodeError {}

fn parse<T: crate::json::FromJson>(name: &str, data: &str) -> Result<T, DecodeError> {
    // An empty payload of a known event is treated as `{}` (all fields default), as the
    // backend's own handlers do with `JSON.parse(e.data || '{}')`.
    let data = if data.trim().is_empty() { "{}" } else { data };
    crate::from_json(data).map_err(|e| DecodeError {
        event: name.to_string(),
        reason: e.to_string(),
    })
}

impl StreamEvent {
    /// Ends the transport: the server closes the socket after it (§3.2, §10.1).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            StreamEvent::StreamEnd(_)
                | StreamEvent::AppError(_)
                | StreamEvent::Cancel(_)
                | StreamEvent::Error(_)
        )
    }

    /// Sent without a journal id of its own, i.e. with the *previous* frame's id (§3.5), so a
    /// seq already seen says nothing about whether this frame was seen.
    pub fn may_reuse_previous_id(&self) -> bool {
        matches!(
            self,
            StreamEvent::Cancel(_)
                | StreamEvent::BgTaskComplete(_)
                | StreamEvent::ProcessComplete(_)
        )
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
            _ => SessionsEvent::Unknown {
                name: name.to_string(),
                data: data.to_string(),
            },
        })
    }
}

/// `initial` of `GET /api/session/stream` (the per-session channel, §3.8).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ChannelInitial {
    pub session_id: Option<String>,
}

/// `server_turn_started`: the server itself started a turn (cron, self-wake, background
/// process), or a run was live when the channel subscribed (`recovered`: attach in replay mode).
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct ServerTurnStarted {
    pub session_id: Option<String>,
    pub stream_id: Option<String>,
    pub pending_started_at: Option<f64>,
    pub source: Option<String>,
    pub recovered: bool,
}

/// `session-updated`: the saved transcript is ahead of what the client knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SessionUpdated {
    pub session_id: Option<String>,
    pub message_count: Option<u64>,
    pub known_count: Option<u64>,
    pub source: Option<String>,
}

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
            _ => SessionChannelEvent::Unknown {
                name: name.to_string(),
                data: data.to_string(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_session_channel_events_decode() {
        let e = SessionChannelEvent::decode(
            "server_turn_started",
            r#"{"session_id":"a","stream_id":"s","recovered":true,"source":"cron"}"#,
        )
        .unwrap();
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
        assert!(matches!(
            SessionChannelEvent::decode(
                "session-updated",
                r#"{"message_count":4,"known_count":2}"#
            )
            .unwrap(),
            SessionChannelEvent::SessionUpdated(u) if u.message_count == Some(4)
        ));
        assert!(matches!(
            SessionChannelEvent::decode("initial", "{}").unwrap(),
            SessionChannelEvent::Initial(_)
        ));
        assert!(SessionChannelEvent::decode("session-updated", "{oops").is_err());
    }

    #[test]
    fn explicit_nulls_read_as_absent_fields() {
        // `null` where a string, bool or list is expected must not fail the whole payload.
        let e = StreamEvent::decode("title", r#"{"session_id":null,"title":null}"#).unwrap();
        assert_eq!(e, StreamEvent::Title(Title::default()));
        let e = StreamEvent::decode(
            "approval",
            r#"{"approval_id":"x","command":null,"pattern_keys":null}"#,
        )
        .unwrap();
        assert!(matches!(
            e,
            StreamEvent::Approval(a)
                if a.approval_id.as_deref() == Some("x") && a.command.is_empty()
        ));
    }

    #[test]
    fn unknown_event_names_are_kept_verbatim() {
        let e = StreamEvent::decode("brand_new", "{\"x\":1}").unwrap();
        assert_eq!(
            e,
            StreamEvent::Unknown {
                name: "brand_new".into(),
                data: "{\"x\":1}".into()
            }
        );
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
        let b: InterimAssistant =
            crate::from_json(r#"{"text":"x","reasoning_echo":true}"#).unwrap();
        assert_eq!(b.echoed_text(), Some("x"));
        let c: InterimAssistant = crate::from_json(r#"{"text":"x"}"#).unwrap();
        assert_eq!(c.echoed_text(), None);
    }
}
