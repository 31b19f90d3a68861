//! Steering a running turn (`/api/chat/steer`): what the backend's answer means, and where
//! the steer text shows in the saved transcript.
//!
//! The agent appends an accepted steer to the last tool result of its current tool batch,
//! wrapped in a marker ([`MARKER_OPEN`] … [`MARKER_CLOSE`]); the saved `tool` message carries
//! it. A steer the turn ended before using comes back as `pending_steer_leftover` and is queued
//! as the next message (see `session`).

use serde::Serialize;

use crate::json::FromJson;

/// The agent's opening marker line (`agent/prompt_builder.py`, `STEER_MARKER_OPEN`).
pub const MARKER_OPEN: &str = "[OUT-OF-BAND USER MESSAGE — a direct message from the user, \
delivered mid-turn; not tool output]";
/// The agent's closing marker line.
pub const MARKER_CLOSE: &str = "[/OUT-OF-BAND USER MESSAGE]";

/// `POST /api/chat/steer` → 200 `{accepted, fallback, stream_id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct SteerReply {
    pub accepted: bool,
    pub fallback: Option<String>,
    pub stream_id: Option<String>,
}

/// What became of a steer.
#[derive(Debug, Clone, PartialEq)]
pub enum SteerOutcome {
    /// The agent took it: it sees the text at its next tool result.
    Delivered,
    /// Not delivered; the text goes back to the composer with `message`. `run_ended`: the turn
    /// is over, so sending it as a normal message is the way on (not a retry of the steer).
    Refused {
        message: &'static str,
        run_ended: bool,
    },
}

impl SteerOutcome {
    /// Reads the backend's answer (the stock UI's wording for each fallback).
    pub fn of(reply: &SteerReply) -> SteerOutcome {
        if reply.accepted {
            return SteerOutcome::Delivered;
        }
        let fallback = reply.fallback.as_deref().unwrap_or("");
        let message = match fallback {
            "no_cached_agent" | "gateway_steer_queued" => {
                "No agent is available to steer this reply (queue the message instead)."
            }
            "agent_lacks_steer" => "This agent version cannot be steered.",
            "session_not_found" => "Session not found — it may have expired.",
            "not_running" => "The agent is not running any more.",
            "stream_dead" => "The reply has ended.",
            "steer_error" => "The steer could not be delivered — the agent may have finished.",
            _ => "Steering is unavailable.",
        };
        SteerOutcome::Refused {
            message,
            run_ended: matches!(fallback, "not_running" | "stream_dead" | "steer_error"),
        }
    }
}

/// Splits a tool result into its own text and the steers the agent appended to it (in
/// order). Text without a well-formed marker is returned whole: tool output that merely looks
/// like a marker's opening is not taken for one.
pub fn split_steers(result: &str) -> (String, Vec<String>) {
    let mut steers = Vec::new();
    let mut own = String::new();
    let mut rest = result;
    while let Some(open) = rest.find(MARKER_OPEN) {
        let after = &rest[open + MARKER_OPEN.len()..];
        let Some(close) = after.find(MARKER_CLOSE) else {
            break;
        };
        own.push_str(&rest[..open]);
        let text = after[..close].trim();
        if !text.is_empty() {
            steers.push(text.to_string());
        }
        rest = &after[close + MARKER_CLOSE.len()..];
    }
    own.push_str(rest);
    if steers.is_empty() {
        return (result.to_string(), steers);
    }
    (own.trim_end().to_string(), steers)
}

/// The marker the agent appends to a tool result for `text` (`format_steer_marker`).
pub fn marker(text: &str) -> String {
    format!("\n\n{MARKER_OPEN}\n{}\n{MARKER_CLOSE}", text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(fallback: &str) -> SteerOutcome {
        SteerOutcome::of(&SteerReply {
            accepted: false,
            fallback: Some(fallback.into()),
            stream_id: None,
        })
    }

    #[test]
    fn an_accepted_steer_is_delivered() {
        let r = SteerReply {
            accepted: true,
            ..Default::default()
        };
        assert_eq!(SteerOutcome::of(&r), SteerOutcome::Delivered);
    }

    #[test]
    fn every_fallback_is_a_clear_refusal_and_the_ended_run_ones_say_so() {
        for f in [
            "no_cached_agent",
            "gateway_steer_queued",
            "agent_lacks_steer",
            "session_not_found",
            "not_running",
            "stream_dead",
            "steer_error",
            "something_new",
        ] {
            let SteerOutcome::Refused { message, run_ended } = refused(f) else {
                panic!("{f} refused");
            };
            assert!(!message.is_empty(), "{f}");
            assert_eq!(
                run_ended,
                matches!(f, "not_running" | "stream_dead" | "steer_error"),
                "{f}"
            );
        }
        assert_ne!(refused("stream_dead"), refused("agent_lacks_steer"));
    }

    #[test]
    fn the_agents_marker_is_split_from_the_tool_result() {
        let result = format!("{{\"output\":\"done\"}}{}", marker("use the staging db"));
        let (own, steers) = split_steers(&result);
        assert_eq!(own, "{\"output\":\"done\"}");
        assert_eq!(steers, vec!["use the staging db".to_string()]);
        // Two steers joined by the agent arrive as one marker with two lines.
        let (_, steers) = split_steers(&format!("x{}", marker("a\nb")));
        assert_eq!(steers, vec!["a\nb".to_string()]);
    }

    #[test]
    fn an_unclosed_or_absent_marker_leaves_the_result_whole() {
        let half = format!("out {MARKER_OPEN}\nnot closed");
        assert_eq!(split_steers(&half), (half.clone(), vec![]));
        assert_eq!(split_steers("plain"), ("plain".into(), vec![]));
    }
}
