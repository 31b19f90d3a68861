//! Plain projections of runtime state that the UI renders: sidebar rows and their order, the
//! pane's header and composer state, transcript items and the last turn's usage line.
//! Computed here so they are tested natively; the Leptos layer only draws them.

use std::collections::BTreeMap;

use crate::hub::Hub;
use crate::session::SessionRuntime;
use crate::turn::{ToolCard, ToolStatus};
use crate::wire::{Message, SessionRow, SessionToolCall};

/// A sidebar row's state (the `data-state` hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Idle,
    Running,
    /// Waits on an approval or a clarify answer.
    Attention,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Idle => "idle",
            RowState::Running => "running",
            RowState::Attention => "attention",
        }
    }
}

/// Which answer a session waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionKind {
    Approval,
    Clarify,
}

/// Everything a sidebar row shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SidebarRow {
    pub id: String,
    pub title: String,
    pub state: RowState,
    pub attention: Option<AttentionKind>,
    /// Last line of the live reply while running.
    pub preview: Option<String>,
    pub unread: bool,
    pub pinned: bool,
    pub archived: bool,
    /// The stream a Stop on this row cancels: the row's own.
    pub stream_id: Option<String>,
    pub updated_at: f64,
}

/// Builds a sidebar row from the server row and, when known, the session's live runtime.
/// The runtime wins for anything live; the row covers sessions we do not follow.
pub fn sidebar_row(row: &SessionRow, hub: &Hub) -> SidebarRow {
    let rt = hub.session(&row.session_id);
    let attention = match rt {
        Some(r) if r.approval.is_some() => Some(AttentionKind::Approval),
        Some(r) if r.clarify.is_some() => Some(AttentionKind::Clarify),
        _ => row
            .attention
            .as_ref()
            .filter(|_| rt.is_none_or(|r| r.is_busy() || r.stream.is_none()))
            .map(|a| {
                if a.kind == "clarify" {
                    AttentionKind::Clarify
                } else {
                    AttentionKind::Approval
                }
            }),
    };
    let running = match rt {
        Some(r) if r.stream.is_some() => r.is_busy(),
        _ => row.is_running(),
    };
    let state = if attention.is_some() && running {
        RowState::Attention
    } else if running {
        RowState::Running
    } else {
        RowState::Idle
    };
    let title = rt
        .and_then(|r| r.title.clone())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| row.shown_title());
    SidebarRow {
        id: rt.map_or_else(|| row.session_id.clone(), |r| r.id.clone()),
        title,
        state,
        attention: attention.filter(|_| running),
        preview: rt.and_then(SessionRuntime::preview),
        unread: hub.is_unread(&row.session_id),
        // The list is asked again after every pin (here or in another tab, through the list
        // channel): its flag is the newest; a loaded session's may predate the pin.
        pinned: row.pinned,
        archived: row.archived,
        stream_id: if running {
            rt.and_then(|r| r.live_stream_id().map(str::to_string))
                .or_else(|| row.active_stream_id.clone())
        } else {
            None
        },
        updated_at: row.last_message_at.or(row.updated_at).unwrap_or(0.0),
    }
}

/// Splits rows into the pinned group and the recent group (running first, then newest).
pub fn group_rows(mut rows: Vec<SidebarRow>) -> (Vec<SidebarRow>, Vec<SidebarRow>) {
    rows.retain(|r| !r.archived);
    crate::sort_stable_by(&mut rows, |a, b| {
        (b.state != RowState::Idle)
            .cmp(&(a.state != RowState::Idle))
            .then(
                b.updated_at
                    .partial_cmp(&a.updated_at)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
    });
    rows.into_iter().partition(|r| r.pinned)
}

/// One item of the settled transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptItem {
    User {
        /// `2 × absolute message index + 1` (stable across paging).
        key: u64,
        text: String,
        attachments: Vec<String>,
    },
    Assistant {
        key: u64,
        text: String,
        reasoning: Option<String>,
        tools: Vec<ToolCard>,
        /// `_error` row: an error bubble with the backend's label/details.
        error: bool,
        /// Cut short (cancel).
        partial: bool,
        details: Option<String>,
        duration: Option<f64>,
        tps: Option<f64>,
    },
    Divider {
        key: u64,
        text: String,
    },
}

impl TranscriptItem {
    /// A hash of everything the item shows: an item is re-rendered only when it changes.
    pub fn content_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        match self {
            TranscriptItem::User {
                text, attachments, ..
            } => (0u8, text, attachments).hash(&mut h),
            TranscriptItem::Assistant {
                text,
                reasoning,
                tools,
                error,
                partial,
                details,
                duration,
                tps,
                ..
            } => {
                (1u8, text, reasoning, error, partial, details).hash(&mut h);
                duration.map(f64::to_bits).hash(&mut h);
                tps.map(f64::to_bits).hash(&mut h);
                for t in tools {
                    (&t.tid, &t.name, &t.args, &t.preview, t.status.as_str()).hash(&mut h);
                    t.steers.hash(&mut h);
                    t.duration.map(f64::to_bits).hash(&mut h);
                }
            }
            TranscriptItem::Divider { text, .. } => (2u8, text).hash(&mut h),
        }
        h.finish()
    }

    pub fn key(&self) -> u64 {
        match self {
            TranscriptItem::User { key, .. }
            | TranscriptItem::Assistant { key, .. }
            | TranscriptItem::Divider { key, .. } => *key,
        }
    }
}

fn card_for(
    call_id: Option<&str>,
    name: &str,
    args: Option<&str>,
    results: &BTreeMap<String, &Message>,
    saved: &[SessionToolCall],
) -> ToolCard {
    let saved_match = call_id.and_then(|id| saved.iter().find(|t| t.tid.as_deref() == Some(id)));
    let result = call_id.and_then(|id| results.get(id));
    let args_pairs = match saved_match {
        Some(s) => crate::event::args_pairs(&serde_json::Value::Object(s.args.clone())),
        None => args
            .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
            .map(|v| crate::event::args_pairs(&v))
            .unwrap_or_default(),
    };
    let preview = saved_match
        .and_then(|s| s.snippet.clone())
        .or_else(|| result.map(|m| m.text()));
    let is_error = saved_match.is_some_and(|s| s.is_error);
    // The saved snippet may be cut before the marker: the result message carries it whole.
    let steers = result
        .map(|m| crate::steer::split_steers(&m.text()).1)
        .unwrap_or_default();
    let card = ToolCard {
        tid: call_id.map(str::to_string),
        name: name.to_string(),
        args: args_pairs,
        preview,
        status: if is_error {
            ToolStatus::Error
        } else if result.is_some() || saved_match.is_some() {
            ToolStatus::Done
        } else {
            ToolStatus::Running
        },
        duration: saved_match.and_then(|s| s.duration),
        steers: Vec::new(),
    }
    .with_steers_split();
    ToolCard {
        steers: if steers.is_empty() {
            card.steers.clone()
        } else {
            steers
        },
        ..card
    }
}

/// The settled transcript as items: tool results are folded into their assistant's tool cards,
/// compression dividers are placed where they happened.
pub fn transcript(rt: &SessionRuntime) -> Vec<TranscriptItem> {
    let results: BTreeMap<String, &Message> = rt
        .messages
        .iter()
        .filter(|m| m.is_tool())
        .filter_map(|m| m.tool_call_id.clone().map(|id| (id, m)))
        .collect();
    let mut items = Vec::with_capacity(rt.messages.len());
    let mut dividers = rt.compressions.iter().peekable();
    for (i, m) in rt.messages.iter().enumerate() {
        let abs = rt.messages_offset + i as u64;
        let key = 2 * abs + 1;
        // Dividers take the even key before their message; two at one spot share nothing else.
        if let Some(d) = dividers.next_if(|d| d.before_message <= i) {
            items.push(TranscriptItem::Divider {
                key: 2 * abs,
                text: d.message.clone(),
            });
        }
        if m.is_user() {
            items.push(TranscriptItem::User {
                key,
                text: m.typed_text(),
                attachments: m.attachments.iter().map(|a| a.display_name()).collect(),
            });
        } else if m.is_assistant() {
            let tools: Vec<ToolCard> = m
                .tool_calls
                .iter()
                .map(|tc| {
                    card_for(
                        tc.id.as_deref(),
                        &tc.function.name,
                        tc.function.arguments.as_deref(),
                        &results,
                        &rt.tool_calls,
                    )
                })
                .collect();
            let text = m.text();
            let reasoning = m.reasoning.clone().filter(|r| !r.trim().is_empty());
            if text.trim().is_empty() && tools.is_empty() && reasoning.is_none() && !m.error {
                continue;
            }
            items.push(TranscriptItem::Assistant {
                key,
                text,
                reasoning,
                tools,
                error: m.error,
                partial: m.partial,
                details: m.provider_details.clone(),
                duration: m.turn_duration,
                tps: m.turn_tps,
            });
        }
    }
    if let Some(d) = dividers.next() {
        items.push(TranscriptItem::Divider {
            key: 2 * (rt.messages_offset + rt.messages.len() as u64),
            text: d.message.clone(),
        });
    }
    items
}

/// Which key combination sends the composer's message (the backend's `send_key` setting,
/// shared with the stock UI); the other Enter combinations insert a new line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SendKey {
    /// Enter sends, Shift+Enter is a new line.
    #[default]
    Enter,
    /// Ctrl (or Cmd) + Enter sends, Enter is a new line.
    CtrlEnter,
    /// Shift+Enter sends, Enter is a new line.
    ShiftEnter,
}

impl SendKey {
    /// From the setting's value (`enter`, `ctrl+enter`, `shift+enter`); anything else is the
    /// default, as the backend treats it.
    pub fn from_setting(value: &str) -> SendKey {
        match value {
            "ctrl+enter" => SendKey::CtrlEnter,
            "shift+enter" => SendKey::ShiftEnter,
            _ => SendKey::Enter,
        }
    }

    /// The setting's value.
    pub fn as_setting(self) -> &'static str {
        match self {
            SendKey::Enter => "enter",
            SendKey::CtrlEnter => "ctrl+enter",
            SendKey::ShiftEnter => "shift+enter",
        }
    }

    /// Whether Enter with these modifiers sends (`ctrl` is Ctrl or Cmd). Never while an IME
    /// composition is in progress (the caller checks).
    pub fn sends(self, shift: bool, ctrl: bool) -> bool {
        match self {
            SendKey::Enter => !shift && !ctrl,
            SendKey::CtrlEnter => ctrl,
            SendKey::ShiftEnter => shift && !ctrl,
        }
    }

    /// The composer's hint.
    pub fn hint(self) -> &'static str {
        match self {
            SendKey::Enter => "Enter to send, Shift+Enter for a new line",
            SendKey::CtrlEnter => "Ctrl+Enter to send, Enter for a new line",
            SendKey::ShiftEnter => "Shift+Enter to send, Enter for a new line",
        }
    }
}

/// The pane's theme (`""` = the system's) for the backend's `theme` setting (`light`, `dark`,
/// `system`; anything else is upstream's default, dark).
pub fn theme_from_setting(value: &str) -> &'static str {
    match value {
        "light" => "light",
        "system" => "",
        _ => "dark",
    }
}

/// The backend's `theme` setting for the pane's theme.
pub fn theme_setting(theme: &str) -> &'static str {
    match theme {
        "light" => "light",
        "dark" => "dark",
        _ => "system",
    }
}

/// For each item, how many messages a fork "from here" keeps (`/api/session/branch`
/// `keep_count`): everything up to the next user message — the whole turn the item belongs to,
/// its tool results included — or the whole transcript for the last turn. `total` is the
/// transcript's length (the window is its tail).
pub fn fork_counts(items: &[TranscriptItem], total: u64) -> Vec<u64> {
    let mut next_user = total;
    let mut out = vec![0; items.len()];
    for (i, item) in items.iter().enumerate().rev() {
        out[i] = next_user;
        if let TranscriptItem::User { key, .. } = item {
            next_user = (key - 1) / 2;
        }
    }
    out
}

/// What the session is doing, for the composer and the header (the `data-status` hook).
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

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Sending => "sending",
            Status::Checking => "checking",
            Status::Busy => "busy",
        }
    }

    /// A reply is on its way (the composer queues instead of sending).
    pub fn is_busy(self) -> bool {
        matches!(self, Status::Sending | Status::Busy)
    }
}

/// A turn's error as the pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorLine {
    pub message: String,
    pub hint: Option<String>,
}

/// The pane's header and composer state: everything it shows but the transcript and the live
/// turn (those are projected by [`transcript`] and read from the live turn).
#[derive(Debug, Clone, PartialEq)]
pub struct PaneState {
    pub title: String,
    pub status: Status,
    pub loaded: bool,
    pub approval: Option<crate::wire::Approval>,
    pub clarify: Option<crate::wire::Clarify>,
    pub error: Option<ErrorLine>,
    pub cancelled: bool,
    /// Queued messages as the composer lists them (`text (+n files)`).
    pub queued: Vec<String>,
    pub read_only: bool,
    pub has_older: bool,
    pub tps: Option<f64>,
    /// The session's totals (live from `metering` while a turn runs).
    pub usage: Option<String>,
    pub stream_id: Option<String>,
    /// The session's model (the picker's value).
    pub model: Option<String>,
    /// What is known of the context window (the header's meter projects it:
    /// [`crate::context::meter`], in the views' own chunk).
    pub context: crate::event::Usage,
    /// The agent's plan as last reported (projected by [`crate::plan::plan`]).
    pub todos: Option<crate::wire::TodoState>,
}

/// The pane's state for `rt`; `row` is its sidebar row, whose title stands in until the
/// runtime knows one.
pub fn pane_state(rt: &SessionRuntime, row: Option<&SessionRow>) -> PaneState {
    let status = match &rt.live {
        Some(l) if l.stream_id.is_none() && l.user_text.is_some() => Status::Sending,
        _ if rt.is_busy() => Status::Busy,
        _ if rt.is_unconfirmed() => Status::Checking,
        _ => Status::Idle,
    };
    let title = rt
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| row.map(SessionRow::shown_title));
    PaneState {
        title: title.unwrap_or_else(|| "New conversation".into()),
        status,
        loaded: rt.loaded,
        approval: rt.approval.clone(),
        clarify: rt.clarify.clone(),
        error: rt.error.as_ref().map(|e| ErrorLine {
            message: e.message.clone(),
            hint: e.hint.clone(),
        }),
        cancelled: rt.cancelled,
        queued: rt
            .queued
            .iter()
            .map(|q| match q.uploads.len() {
                0 => q.text.clone(),
                n => format!("{} (+{n} file{})", q.text, if n == 1 { "" } else { "s" }),
            })
            .collect(),
        read_only: rt.read_only,
        has_older: rt.messages_offset > 0,
        tps: rt.live_tps,
        usage: rt
            .live_usage
            .as_ref()
            .filter(|_| rt.is_busy())
            .and_then(|u| u.input_tokens.zip(u.output_tokens))
            .or(rt.session_tokens)
            .filter(|(i, o)| *i + *o > 0.0)
            .map(|(i, o)| format!("Session: {} in · {} out", i as u64, o as u64)),
        stream_id: rt.live_stream_id().map(str::to_string),
        model: rt.model.clone(),
        context: rt.context_usage(),
        todos: rt.todos.clone(),
    }
}

/// What the session waits on the person for, if anything.
pub fn waits_on(rt: &SessionRuntime) -> Option<AttentionKind> {
    if rt.approval.is_some() {
        Some(AttentionKind::Approval)
    } else if rt.clarify.is_some() {
        Some(AttentionKind::Clarify)
    } else {
        None
    }
}

/// Where the latest turn's own usage (tokens, rate, duration) goes: the index in `items` of
/// its last assistant message (not an error, and not followed by a newer prompt), and the line.
pub fn turn_usage(
    rt: &SessionRuntime,
    items: &[TranscriptItem],
) -> Option<(usize, Option<String>)> {
    let u = rt.turn_usage.as_ref()?;
    let last = items
        .iter()
        .rposition(|i| matches!(i, TranscriptItem::Assistant { error: false, .. }))?;
    if items[last + 1..]
        .iter()
        .any(|i| matches!(i, TranscriptItem::User { .. }))
    {
        return None;
    }
    let TranscriptItem::Assistant { tps, duration, .. } = &items[last] else {
        return None;
    };
    let line = usage_line(u.input_tokens, u.output_tokens, u.tps, u.duration_seconds)
        .or_else(|| usage_line(None, None, *tps, *duration));
    // The turn's cost, where the backend prices it.
    let line = match (line, u.estimated_cost.filter(|c| *c > 0.0)) {
        (Some(l), Some(c)) => Some(format!("{l} · {}", crate::context::cost(c))),
        (None, Some(c)) => Some(crate::context::cost(c)),
        (l, None) => l,
    };
    Some((last, line))
}

/// Whether a row shown at some index of `current` sits at another one in `next` (a row that
/// left, or a new one, moves the rows after it).
pub fn places_changed(current: &[&str], next: &[&str]) -> bool {
    // A hash map, not a B-tree: collecting into one sorts its input (a whole stable sort more
    // in the wasm for a handful of rows).
    let place: std::collections::HashMap<&str, usize> =
        next.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    current
        .iter()
        .enumerate()
        .any(|(i, r)| place.get(r).is_some_and(|&j| j != i))
}

/// Orders `rows` like `current` (the ids shown now): rows already shown keep their places, new
/// ones go last. The sidebar does this while the pointer is over it, so a row never moves
/// under a click.
pub fn keep_places<T>(current: &[&str], rows: &mut Vec<T>, id: impl Fn(&T) -> &str) {
    let place = |r: &T| {
        current
            .iter()
            .position(|c| *c == id(r))
            .unwrap_or(usize::MAX)
    };
    crate::sort_stable_by(rows, |a, b| place(a).cmp(&place(b)));
}

/// Formats a token count / rate / duration line for a finished turn.
pub fn usage_line(
    input: Option<f64>,
    output: Option<f64>,
    tps: Option<f64>,
    duration: Option<f64>,
) -> Option<String> {
    let mut parts = Vec::new();
    if let (Some(i), Some(o)) = (input, output) {
        parts.push(format!("{} in · {} out", i as u64, o as u64));
    }
    if let Some(t) = tps.filter(|t| *t > 0.0) {
        parts.push(format!("{} tok/s", fixed(t, 1)));
    }
    if let Some(d) = duration.filter(|d| *d > 0.0) {
        parts.push(format!("{} s", fixed(d, 1)));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// `x` with `decimals` (0–3) digits after the point. Integer arithmetic on purpose: any use of
/// the float formatter (`{:.1}`, an `f64` attribute) pulls ≈ 12 KB of wasm in for a few labels.
pub fn fixed(x: f64, decimals: u32) -> String {
    if !x.is_finite() {
        return "–".to_string();
    }
    let d = decimals.min(3);
    let scale = 10u64.pow(d);
    let n = (x.abs() * scale as f64).round() as u64;
    let sign = if x < 0.0 && n != 0 { "-" } else { "" };
    if d == 0 {
        return format!("{sign}{n}");
    }
    let frac = (n % scale).to_string();
    format!(
        "{sign}{}.{}{frac}",
        n / scale,
        "0".repeat(d as usize - frac.len())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Queued;
    use crate::turn::LiveTurn;
    use crate::wire::UploadedFile;

    #[test]
    fn the_pane_title_falls_back_to_the_row_then_to_new_conversation() {
        let mut rt = SessionRuntime::new("a");
        assert_eq!(pane_state(&rt, None).title, "New conversation");
        let row = SessionRow {
            session_id: "a".into(),
            title: Some("From the list".into()),
            ..Default::default()
        };
        assert_eq!(pane_state(&rt, Some(&row)).title, "From the list");
        rt.title = Some("  ".into());
        assert_eq!(
            pane_state(&rt, Some(&row)).title,
            "From the list",
            "a blank title is no title"
        );
        rt.title = Some("Its own".into());
        assert_eq!(pane_state(&rt, Some(&row)).title, "Its own");
    }

    #[test]
    fn the_status_is_sending_then_busy_only_once_the_server_confirmed_the_stream() {
        let mut rt = SessionRuntime::new("a");
        assert_eq!(pane_state(&rt, None).status, Status::Idle);
        rt.begin_send("hi", &[]);
        assert_eq!(pane_state(&rt, None).status, Status::Sending);
        rt.started("s");
        assert_eq!(pane_state(&rt, None).status, Status::Busy);
        rt.stream.as_mut().unwrap().confirmed = false;
        rt.live = Some(LiveTurn::new(Some("s".into()), None, Vec::new()));
        assert_eq!(
            pane_state(&rt, None).status,
            Status::Checking,
            "a claim the server has not confirmed shows no spinner"
        );
        assert_eq!(Status::Checking.as_str(), "checking");
        assert!(Status::Sending.is_busy() && !Status::Checking.is_busy());
    }

    #[test]
    fn queued_messages_say_how_many_files_ride_with_them() {
        let mut rt = SessionRuntime::new("a");
        let file = |n: &str| UploadedFile {
            name: n.into(),
            ..Default::default()
        };
        rt.queued = vec![
            Queued::text("plain"),
            Queued {
                text: "one".into(),
                uploads: vec![file("a")],
            },
            Queued {
                text: "two".into(),
                uploads: vec![file("a"), file("b")],
            },
        ];
        assert_eq!(
            pane_state(&rt, None).queued,
            vec!["plain", "one (+1 file)", "two (+2 files)"]
        );
    }

    #[test]
    fn the_header_shows_live_counters_while_busy_and_the_saved_totals_otherwise() {
        let mut rt = SessionRuntime::new("a");
        assert_eq!(pane_state(&rt, None).usage, None);
        rt.session_tokens = Some((100.0, 40.0));
        assert_eq!(
            pane_state(&rt, None).usage.as_deref(),
            Some("Session: 100 in · 40 out")
        );
        rt.live_usage = Some(crate::event::Usage {
            input_tokens: Some(150.0),
            output_tokens: Some(60.0),
            ..Default::default()
        });
        assert_eq!(
            pane_state(&rt, None).usage.as_deref(),
            Some("Session: 100 in · 40 out"),
            "live counters only while a turn runs"
        );
        rt.begin_send("x", &[]);
        rt.started("s");
        assert_eq!(
            pane_state(&rt, None).usage.as_deref(),
            Some("Session: 150 in · 60 out")
        );
        rt.session_tokens = Some((0.0, 0.0));
        rt.live_usage = None;
        assert_eq!(
            pane_state(&rt, None).usage,
            None,
            "nothing counted yet: no line"
        );
    }

    #[test]
    fn rows_keep_their_places_and_a_move_is_seen_only_when_a_shown_row_moves() {
        let mut rows = vec!["c", "a", "new", "b"];
        keep_places(&["a", "b", "c"], &mut rows, |r| r);
        assert_eq!(rows, vec!["a", "b", "c", "new"]);
        assert!(
            !places_changed(&["a", "b"], &["a", "b", "c"]),
            "a row added at the end moves nothing"
        );
        assert!(
            places_changed(&["a", "b"], &["c", "a", "b"]),
            "a row added on top moves the others"
        );
        assert!(places_changed(&["a", "b"], &["b", "a"]));
        assert!(
            !places_changed(&["a", "b"], &["a"]),
            "a row that left moves nothing before it"
        );
    }

    #[test]
    fn the_send_key_setting_decides_which_enter_sends() {
        let all = [(false, false), (true, false), (false, true), (true, true)];
        let sending = |k: SendKey| all.iter().map(|(s, c)| k.sends(*s, *c)).collect::<Vec<_>>();
        assert_eq!(sending(SendKey::Enter), vec![true, false, false, false]);
        assert_eq!(sending(SendKey::CtrlEnter), vec![false, false, true, true]);
        assert_eq!(
            sending(SendKey::ShiftEnter),
            vec![false, true, false, false]
        );
        for k in [SendKey::Enter, SendKey::CtrlEnter, SendKey::ShiftEnter] {
            assert_eq!(SendKey::from_setting(k.as_setting()), k);
        }
        assert_eq!(
            SendKey::from_setting("alt+enter"),
            SendKey::Enter,
            "unknown: the default"
        );
    }

    #[test]
    fn themes_map_to_the_backends_setting_and_back() {
        for t in ["", "light", "dark"] {
            assert_eq!(theme_from_setting(theme_setting(t)), t);
        }
        assert_eq!(
            theme_from_setting("solarized"),
            "dark",
            "upstream's default"
        );
    }

    #[test]
    fn a_fork_from_a_reply_keeps_its_whole_turn() {
        let user = |key| TranscriptItem::User {
            key,
            text: "q".into(),
            attachments: Vec::new(),
        };
        let reply = |key| TranscriptItem::Assistant {
            key,
            text: "r".into(),
            reasoning: None,
            tools: Vec::new(),
            error: false,
            partial: false,
            details: None,
            duration: None,
            tps: None,
        };
        // Messages 10 (user), 11 (assistant with a tool call), 12 (tool, folded), 13 (reply),
        // 14 (user), 15 (reply): a window from 10 of a transcript of 16.
        let items = vec![user(21), reply(23), reply(27), user(29), reply(31)];
        assert_eq!(fork_counts(&items, 16), vec![14, 14, 14, 16, 16]);
    }

    #[test]
    fn the_latest_turns_usage_goes_on_its_last_assistant_message() {
        let mut rt = SessionRuntime::new("a");
        let user = |key| TranscriptItem::User {
            key,
            text: "q".into(),
            attachments: Vec::new(),
        };
        let reply = |key, error| TranscriptItem::Assistant {
            key,
            text: "r".into(),
            reasoning: None,
            tools: Vec::new(),
            error,
            partial: false,
            details: None,
            duration: None,
            tps: None,
        };
        let items = vec![user(1), reply(3, false), reply(5, true)];
        assert_eq!(turn_usage(&rt, &items), None, "no usage known");
        rt.turn_usage = Some(crate::event::Usage {
            input_tokens: Some(12.0),
            output_tokens: Some(34.0),
            ..Default::default()
        });
        assert_eq!(
            turn_usage(&rt, &items),
            Some((1, Some("12 in · 34 out".into()))),
            "not on the error bubble"
        );
        let newer = vec![user(1), reply(3, false), user(5)];
        assert_eq!(
            turn_usage(&rt, &newer),
            None,
            "a newer prompt: that turn is not the latest"
        );
        assert_eq!(waits_on(&rt), None);
        rt.clarify = Some(Default::default());
        assert_eq!(waits_on(&rt), Some(AttentionKind::Clarify));
    }

    #[test]
    fn fixed_agrees_with_the_float_formatter_on_labels() {
        for x in [
            0.0, 0.04, 0.05, 0.96, 1.0, 12.345, 49.95, 1234.5678, 3.0e7, -2.25, -0.0001,
        ] {
            for d in 0..=3u32 {
                let want = format!("{x:.*}", d as usize);
                let got = fixed(x, d);
                // Exact binary ties may round differently (half to even vs half away from
                // zero): at most one unit in the last place apart, and always `d` decimals.
                let diff = (want.parse::<f64>().unwrap() - got.parse::<f64>().unwrap()).abs();
                assert!(
                    diff <= 10f64.powi(-(d as i32)) + 1e-9,
                    "{x} {d}: {want} vs {got}"
                );
                assert_eq!(
                    got.split('.').nth(1).map_or(0, str::len),
                    d as usize,
                    "{got}"
                );
            }
        }
        assert_eq!(fixed(12.345, 1), "12.3");
        assert_eq!(fixed(0.96, 1), "1.0");
        assert_eq!(fixed(5.0, 0), "5");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(f64::NAN, 1), "–");
    }
}
