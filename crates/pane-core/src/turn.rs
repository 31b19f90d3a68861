//! The live (in-flight) turn: ordered segments of prose, reasoning and tool cards, built from
//! stream events exactly as the stock UI lays them out (§3.3).

use crate::event::{args_pairs, InterimAssistant, ToolEvent};
use crate::wire::{JournalSnapshot, Message, SessionToolCall};

/// Where a tool call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolStatus {
    Running,
    Done,
    Error,
}

impl ToolStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolStatus::Running => "running",
            ToolStatus::Done => "done",
            ToolStatus::Error => "error",
        }
    }
}

/// A tool card: one tool call, matched across `tool` / `tool_complete` by `tid`, else by name.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCard {
    pub tid: Option<String>,
    pub name: String,
    pub args: Vec<(String, String)>,
    /// The result snippet once complete.
    pub preview: Option<String>,
    pub status: ToolStatus,
    pub duration: Option<f64>,
    /// Steers the agent appended to this result ([`crate::steer`]), shown apart from it.
    pub steers: Vec<String>,
}

impl ToolCard {
    /// The card with its result's steers split off the preview.
    pub fn with_steers_split(mut self) -> ToolCard {
        if let Some(p) = self.preview.take() {
            let (own, steers) = crate::steer::split_steers(&p);
            self.preview = Some(own);
            if !steers.is_empty() {
                self.steers = steers;
            }
        }
        self
    }

    fn started(ev: &ToolEvent) -> ToolCard {
        ToolCard {
            tid: ev.tid.clone(),
            name: ev.name.clone(),
            args: ev.args_pairs(),
            preview: None,
            status: ToolStatus::Running,
            duration: None,
            steers: Vec::new(),
        }
    }

    fn complete(&mut self, ev: &ToolEvent) {
        self.status = if ev.is_error {
            ToolStatus::Error
        } else {
            ToolStatus::Done
        };
        let (preview, steers) = match ev.preview.as_deref() {
            Some(p) => {
                let (own, steers) = crate::steer::split_steers(p);
                (Some(own), steers)
            }
            None => (None, Vec::new()),
        };
        self.preview = preview;
        if !steers.is_empty() {
            self.steers = steers;
        }
        self.duration = ev.duration;
        if self.tid.is_none() {
            self.tid = ev.tid.clone();
        }
        let args = ev.args_pairs();
        if !args.is_empty() {
            self.args = args;
        }
    }

    /// A card for a saved session-level tool summary (`session.tool_calls[]`).
    pub fn from_saved(tc: &SessionToolCall) -> ToolCard {
        ToolCard {
            tid: tc.tid.clone(),
            name: tc.name.clone(),
            args: args_pairs(&serde_json::Value::Object(tc.args.clone())),
            preview: tc.snippet.clone(),
            status: if tc.is_error {
                ToolStatus::Error
            } else {
                ToolStatus::Done
            },
            duration: tc.duration,
            steers: Vec::new(),
        }
        .with_steers_split()
    }
}

/// One ordered piece of a live turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Visible answer prose. A sealed segment takes no more tokens.
    Text {
        text: String,
        sealed: bool,
    },
    /// A "Thinking" block.
    Reasoning {
        text: String,
        sealed: bool,
    },
    Tool(ToolCard),
}

/// The turn being streamed for a session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveTurn {
    /// The stream the turn belongs to; `None` while `chat/start` is in flight.
    pub stream_id: Option<String>,
    /// The user's prompt for this turn (optimistic, or the server's `pending_user_message`).
    pub user_text: Option<String>,
    /// Attachment display names of the prompt.
    pub attachments: Vec<String>,
    pub segments: Vec<Segment>,
    /// "Compressing context" while auto-compression runs.
    pub compressing: Option<String>,
    /// Steers the agent accepted for this turn, until the saved transcript shows them on the
    /// tool result they were appended to.
    pub steers: Vec<String>,
}

impl LiveTurn {
    /// A fresh turn for `stream_id` with the user's prompt.
    pub fn new(
        stream_id: Option<String>,
        user_text: Option<String>,
        attachments: Vec<String>,
    ) -> LiveTurn {
        LiveTurn {
            stream_id,
            user_text,
            attachments,
            ..Default::default()
        }
    }

    /// Seeds a turn from the server's `runtime_journal_snapshot` (§3.7). The snapshot is a
    /// projection without interleaving, so reasoning goes first, then tool cards, then prose.
    pub fn from_snapshot(
        stream_id: &str,
        snap: &JournalSnapshot,
        user_text: Option<String>,
        attachments: Vec<String>,
    ) -> LiveTurn {
        let mut turn = LiveTurn::new(Some(stream_id.to_string()), user_text, attachments);
        if let Some(r) = snap
            .last_reasoning_text
            .as_deref()
            .filter(|r| !r.is_empty())
        {
            turn.segments.push(Segment::Reasoning {
                text: r.to_string(),
                sealed: true,
            });
        }
        for tc in &snap.tool_calls {
            let done = tc.done || tc.preview.is_some() || tc.snippet.is_some() || tc.is_error;
            turn.segments.push(Segment::Tool(
                ToolCard {
                    tid: tc.tid.clone(),
                    name: tc.name.clone(),
                    args: args_pairs(&serde_json::Value::Object(tc.args.clone())),
                    preview: tc.preview.clone().or_else(|| tc.snippet.clone()),
                    status: if tc.is_error {
                        ToolStatus::Error
                    } else if done {
                        ToolStatus::Done
                    } else {
                        ToolStatus::Running
                    },
                    duration: tc.duration,
                    steers: Vec::new(),
                }
                .with_steers_split(),
            ));
        }
        if let Some(t) = snap
            .last_assistant_text
            .as_deref()
            .filter(|t| !t.is_empty())
        {
            turn.segments.push(Segment::Text {
                text: t.to_string(),
                sealed: false,
            });
        }
        turn
    }

    /// `token`: append to the open prose segment, or open one.
    pub fn token(&mut self, text: &str) {
        if let Some(Segment::Text {
            text: t,
            sealed: false,
        }) = self.segments.last_mut()
        {
            t.push_str(text);
        } else {
            self.segments.push(Segment::Text {
                text: text.to_string(),
                sealed: false,
            });
        }
    }

    /// `reasoning`: append to the open thinking block, or open one.
    pub fn reasoning(&mut self, text: &str) {
        if let Some(Segment::Reasoning {
            text: t,
            sealed: false,
        }) = self.segments.last_mut()
        {
            t.push_str(text);
        } else {
            self.seal_open();
            self.segments.push(Segment::Reasoning {
                text: text.to_string(),
                sealed: false,
            });
        }
    }

    /// `interim_assistant`: prose at a message boundary.
    pub fn interim(&mut self, ev: &InterimAssistant) {
        if let Some(echo) = ev.echoed_text() {
            self.strip_reasoning_echo(echo);
        }
        if ev.already_streamed {
            self.seal_open();
        } else if !ev.text.is_empty() {
            self.seal_open();
            self.segments.push(Segment::Text {
                text: ev.text.clone(),
                sealed: true,
            });
        }
    }

    /// `tool`: seal the prose, add a running card; the next token opens a fresh segment.
    /// `clarify` is not a card while it runs: its question is the clarify card.
    pub fn tool_started(&mut self, ev: &ToolEvent) {
        self.seal_open();
        if ev.name == "clarify" {
            return;
        }
        // A replayed `tool` for a card we already hold (same tid) must not add a second card.
        if let Some(tid) = ev.tid.as_deref() {
            if self.cards().any(|c| c.tid.as_deref() == Some(tid)) {
                return;
            }
        }
        self.segments.push(Segment::Tool(ToolCard::started(ev)));
    }

    /// `tool_complete`: match by `tid`, else the latest running card of that name; an
    /// unmatched completion creates a card.
    pub fn tool_completed(&mut self, ev: &ToolEvent) {
        let by_tid = ev
            .tid
            .as_deref()
            .and_then(|tid| self.card_index(|c| c.tid.as_deref() == Some(tid)));
        let idx = by_tid.or_else(|| {
            self.card_index(|c| {
                c.status == ToolStatus::Running
                    && c.name == ev.name
                    && (c.tid.is_none() || ev.tid.is_none())
            })
        });
        match idx {
            Some(i) => {
                if let Segment::Tool(card) = &mut self.segments[i] {
                    card.complete(ev);
                }
            }
            None => {
                self.seal_open();
                let mut card = ToolCard::started(ev);
                card.complete(ev);
                self.segments.push(Segment::Tool(card));
            }
        }
    }

    fn card_index(&self, pred: impl Fn(&ToolCard) -> bool) -> Option<usize> {
        self.segments
            .iter()
            .rposition(|s| matches!(s, Segment::Tool(c) if pred(c)))
    }

    fn seal_open(&mut self) {
        match self.segments.last_mut() {
            Some(Segment::Text { sealed, .. }) | Some(Segment::Reasoning { sealed, .. }) => {
                *sealed = true
            }
            _ => {}
        }
    }

    fn strip_reasoning_echo(&mut self, echo: &str) {
        let echo = echo.trim();
        if echo.is_empty() {
            return;
        }
        for seg in self.segments.iter_mut().rev() {
            if let Segment::Reasoning { text, .. } = seg {
                if let Some(i) = text.rfind(echo) {
                    text.replace_range(i..i + echo.len(), "");
                    let trimmed = text.trim_end().len();
                    text.truncate(trimmed);
                    return;
                }
            }
        }
    }

    /// All tool cards in order.
    pub fn cards(&self) -> impl Iterator<Item = &ToolCard> {
        self.segments.iter().filter_map(|s| {
            if let Segment::Tool(c) = s {
                Some(c)
            } else {
                None
            }
        })
    }

    /// The visible prose of the turn, each segment trimmed, non-empty ones joined by a blank line.
    pub fn text(&self) -> String {
        join_prose(self.segments.iter().filter_map(|s| {
            if let Segment::Text { text, .. } = s {
                Some(text.as_str())
            } else {
                None
            }
        }))
    }

    /// The thinking text of the turn.
    pub fn reasoning_text(&self) -> String {
        join_prose(self.segments.iter().filter_map(|s| {
            if let Segment::Reasoning { text, .. } = s {
                Some(text.as_str())
            } else {
                None
            }
        }))
    }

    /// The last non-empty line of prose (or the running tool), for the sidebar preview.
    pub fn last_line(&self) -> Option<String> {
        for seg in self.segments.iter().rev() {
            match seg {
                Segment::Text { text, .. } => {
                    if let Some(line) = text.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
                        return Some(clip(line, 120));
                    }
                }
                Segment::Tool(c) if c.status == ToolStatus::Running => {
                    return Some(format!("Running {}…", c.name))
                }
                Segment::Reasoning { text, .. } if !text.trim().is_empty() => {
                    return Some("Thinking…".to_string())
                }
                _ => {}
            }
        }
        None
    }
}

/// Trims each piece and joins the non-empty ones with a blank line.
pub fn join_prose<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The assistant prose of a saved turn, joined like [`LiveTurn::text`], for comparisons.
pub fn saved_turn_text(messages: &[Message]) -> String {
    let start = messages
        .iter()
        .rposition(Message::is_user)
        .map_or(0, |i| i + 1);
    // Parts content (`[{type:"text"}, {type:"tool_use"}, …]`) counts by its text parts.
    let texts: Vec<String> = messages[start..]
        .iter()
        .filter(|m| m.is_assistant() && !m.error)
        .map(Message::text)
        .collect();
    join_prose(texts.iter().map(String::as_str))
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, tid: Option<&str>) -> ToolEvent {
        ToolEvent {
            name: name.into(),
            tid: tid.map(Into::into),
            args: serde_json::json!({"command": "ls"}),
            ..Default::default()
        }
    }

    #[test]
    fn tool_seals_prose_and_next_token_opens_a_fresh_segment() {
        let mut t = LiveTurn::default();
        t.token("a");
        t.tool_started(&tool("terminal", Some("c1")));
        t.token("b");
        assert_eq!(t.segments.len(), 3);
        assert!(matches!(&t.segments[0], Segment::Text { text, sealed: true } if text == "a"));
        assert!(matches!(&t.segments[2], Segment::Text { text, sealed: false } if text == "b"));
    }

    #[test]
    fn tool_complete_matches_by_tid_then_by_name_then_creates() {
        let mut t = LiveTurn::default();
        t.tool_started(&tool("a", Some("1")));
        t.tool_started(&tool("b", None));
        let mut done = tool("a", Some("1"));
        done.preview = Some("ok".into());
        t.tool_completed(&done);
        t.tool_completed(&tool("b", None));
        t.tool_completed(&tool("c", Some("9")));
        let cards: Vec<_> = t.cards().collect();
        assert_eq!(cards.len(), 3);
        assert_eq!(cards[0].status, ToolStatus::Done);
        assert_eq!(cards[0].preview.as_deref(), Some("ok"));
        assert_eq!(cards[1].status, ToolStatus::Done);
        assert_eq!(cards[2].name, "c");
    }

    #[test]
    fn interim_already_streamed_only_seals_and_echo_is_stripped_from_thinking() {
        let mut t = LiveTurn::default();
        t.reasoning("plan. Hello there");
        t.token("Hello there");
        t.interim(&InterimAssistant {
            text: "Hello there".into(),
            already_streamed: true,
            reasoning_echo: serde_json::json!("Hello there"),
        });
        assert_eq!(t.reasoning_text(), "plan.");
        assert!(matches!(
            t.segments.last(),
            Some(Segment::Text { sealed: true, .. })
        ));
        t.interim(&InterimAssistant {
            text: "Next".into(),
            already_streamed: false,
            reasoning_echo: serde_json::Value::Null,
        });
        assert_eq!(t.text(), "Hello there\n\nNext");
    }

    #[test]
    fn running_clarify_tool_is_not_a_card_but_its_completion_is() {
        let mut t = LiveTurn::default();
        t.tool_started(&tool("clarify", Some("q")));
        assert_eq!(t.cards().count(), 0);
        t.tool_completed(&tool("clarify", Some("q")));
        assert_eq!(t.cards().count(), 1);
    }
}
