//! Plain projections of runtime state that the UI renders: sidebar rows and transcript items.
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
        _ => row.attention.as_ref().filter(|_| rt.is_none_or(|r| r.is_busy() || r.stream.is_none())).map(|a| {
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
    let title = rt.and_then(|r| r.title.clone()).filter(|t| !t.trim().is_empty()).unwrap_or_else(|| row.shown_title());
    SidebarRow {
        id: rt.map_or_else(|| row.session_id.clone(), |r| r.id.clone()),
        title,
        state,
        attention: attention.filter(|_| running),
        preview: rt.and_then(SessionRuntime::preview),
        unread: hub.is_unread(&row.session_id),
        pinned: rt.filter(|r| r.loaded).map_or(row.pinned, |r| r.pinned),
        archived: row.archived,
        stream_id: if running { rt.and_then(|r| r.live_stream_id().map(str::to_string)).or_else(|| row.active_stream_id.clone()) } else { None },
        updated_at: row.last_message_at.or(row.updated_at).unwrap_or(0.0),
    }
}

/// Splits rows into the pinned group and the recent group (running first, then newest).
pub fn group_rows(mut rows: Vec<SidebarRow>) -> (Vec<SidebarRow>, Vec<SidebarRow>) {
    rows.retain(|r| !r.archived);
    crate::sort_stable_by(&mut rows, |a, b| {
        (b.state != RowState::Idle).cmp(&(a.state != RowState::Idle)).then(b.updated_at.partial_cmp(&a.updated_at).unwrap_or(std::cmp::Ordering::Equal))
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
            TranscriptItem::User { text, attachments, .. } => (0u8, text, attachments).hash(&mut h),
            TranscriptItem::Assistant { text, reasoning, tools, error, partial, details, duration, tps, .. } => {
                (1u8, text, reasoning, error, partial, details).hash(&mut h);
                duration.map(f64::to_bits).hash(&mut h);
                tps.map(f64::to_bits).hash(&mut h);
                for t in tools {
                    (&t.tid, &t.name, &t.args, &t.preview, t.status.as_str()).hash(&mut h);
                    t.duration.map(f64::to_bits).hash(&mut h);
                }
            }
            TranscriptItem::Divider { text, .. } => (2u8, text).hash(&mut h),
        }
        h.finish()
    }

    pub fn key(&self) -> u64 {
        match self {
            TranscriptItem::User { key, .. } | TranscriptItem::Assistant { key, .. } | TranscriptItem::Divider { key, .. } => *key,
        }
    }
}

fn card_for(call_id: Option<&str>, name: &str, args: Option<&str>, results: &BTreeMap<String, &Message>, saved: &[SessionToolCall]) -> ToolCard {
    let saved_match = call_id.and_then(|id| saved.iter().find(|t| t.tid.as_deref() == Some(id)));
    let result = call_id.and_then(|id| results.get(id));
    let args_pairs = match saved_match {
        Some(s) => crate::event::args_pairs(&serde_json::Value::Object(s.args.clone())),
        None => args.and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()).map(|v| crate::event::args_pairs(&v)).unwrap_or_default(),
    };
    let preview = saved_match.and_then(|s| s.snippet.clone()).or_else(|| result.map(|m| m.text()));
    let is_error = saved_match.is_some_and(|s| s.is_error);
    ToolCard {
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
    }
}

/// The settled transcript as items: tool results are folded into their assistant's tool cards,
/// compression dividers are placed where they happened.
pub fn transcript(rt: &SessionRuntime) -> Vec<TranscriptItem> {
    let results: BTreeMap<String, &Message> = rt.messages.iter().filter(|m| m.is_tool()).filter_map(|m| m.tool_call_id.clone().map(|id| (id, m))).collect();
    let mut items = Vec::with_capacity(rt.messages.len());
    let mut dividers = rt.compressions.iter().peekable();
    for (i, m) in rt.messages.iter().enumerate() {
        let abs = rt.messages_offset + i as u64;
        let key = 2 * abs + 1;
        // Dividers take the even key before their message; two at one spot share nothing else.
        if let Some(d) = dividers.next_if(|d| d.before_message <= i) {
            items.push(TranscriptItem::Divider { key: 2 * abs, text: d.message.clone() });
        }
        if m.is_user() {
            items.push(TranscriptItem::User { key, text: m.typed_text(), attachments: m.attachments.iter().map(|a| a.display_name()).collect() });
        } else if m.is_assistant() {
            let tools: Vec<ToolCard> = m
                .tool_calls
                .iter()
                .map(|tc| card_for(tc.id.as_deref(), &tc.function.name, tc.function.arguments.as_deref(), &results, &rt.tool_calls))
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
        items.push(TranscriptItem::Divider { key: 2 * (rt.messages_offset + rt.messages.len() as u64), text: d.message.clone() });
    }
    items
}

/// Formats a token count / rate / duration line for a finished turn.
pub fn usage_line(input: Option<f64>, output: Option<f64>, tps: Option<f64>, duration: Option<f64>) -> Option<String> {
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
    format!("{sign}{}.{}{frac}", n / scale, "0".repeat(d as usize - frac.len()))
}

#[cfg(test)]
mod tests {
    use super::fixed;

    #[test]
    fn fixed_agrees_with_the_float_formatter_on_labels() {
        for x in [0.0, 0.04, 0.05, 0.96, 1.0, 12.345, 49.95, 1234.5678, 3.0e7, -2.25, -0.0001] {
            for d in 0..=3u32 {
                let want = format!("{x:.*}", d as usize);
                let got = fixed(x, d);
                // Exact binary ties may round differently (half to even vs half away from
                // zero): at most one unit in the last place apart, and always `d` decimals.
                let diff = (want.parse::<f64>().unwrap() - got.parse::<f64>().unwrap()).abs();
                assert!(diff <= 10f64.powi(-(d as i32)) + 1e-9, "{x} {d}: {want} vs {got}");
                assert_eq!(got.split('.').nth(1).map_or(0, str::len), d as usize, "{got}");
            }
        }
        assert_eq!(fixed(12.345, 1), "12.3");
        assert_eq!(fixed(0.96, 1), "1.0");
        assert_eq!(fixed(5.0, 0), "5");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(f64::NAN, 1), "–");
    }
}
