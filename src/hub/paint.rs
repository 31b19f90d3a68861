//! Painting: runtime state → view stores, at most once per animation frame. Tokens are taken
//! in as they arrive (the runtime is updated by the transport handler); only this projection
//! is batched. Only the shown session's view is painted; others get their sidebar row, and
//! are painted in full when shown.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use leptos::prelude::*;
use pane_core::turn::Segment;
use pane_core::view::{group_rows, sidebar_row, transcript, usage_line, TranscriptItem};
use pane_core::wire::SessionRow;

use super::store::*;
use super::{Hub, Inner};

/// The shown session's view is repainted at most this often while it streams (ms): one paint
/// every other frame at 60 Hz (30 ms, so frame jitter never stretches it to three). Token →
/// paint latency stays under a frame plus one batching period (2 frames, 33 ms).
pub const PAINT_INTERVAL_MS: f64 = 30.0;
/// The sidebar (previews of background sessions) is repainted at most this often (ms): four
/// times a second is lively enough for a one-line preview and costs a fraction of every frame.
pub const SIDEBAR_INTERVAL_MS: f64 = 250.0;

#[derive(Default)]
pub(crate) struct Painter {
    dirty: HashSet<String>,
    /// When the earliest scheduled paint runs (`performance.now()` ms), if one is scheduled.
    scheduled: Option<f64>,
    pub(crate) sidebar_dirty: bool,
    /// The sidebar changes in kind (a list arrived, a turn finished): paint it at the next
    /// frame, not at the preview pace.
    pub(crate) sidebar_urgent: bool,
    /// The pointer is over the session list: rows keep their places (fields still update), so
    /// a row never moves under a click; the backend's order comes back when it leaves.
    pub(crate) sidebar_hold: bool,
    /// When a listed row last changed its place (`performance.now()` ms): see
    /// [`Hub::rows_just_moved`].
    sidebar_moved_at: Option<f64>,
    cache: HashMap<String, Cache>,
    last_paint: f64,
    last_sidebar: f64,
}

impl Painter {
    /// The session's store is gone: its next paint projects everything again (reusing the
    /// rendered items).
    pub(crate) fn forget_projection(&mut self, id: &str) {
        if let Some(c) = self.cache.get_mut(id) {
            c.transcript_rev = None;
        }
    }
}

/// Per-session render caches: markdown is rendered once per item / sealed segment.
#[derive(Default)]
struct Cache {
    transcript_rev: Option<u64>,
    items: HashMap<u64, (u64, Arc<Item>)>,
    sealed: HashMap<(usize, usize), Arc<str>>,
}

fn hash_of(parts: impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// `performance.now()` in ms.
pub(crate) fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Token arrival times waiting for their paint, and finished samples (benchmarks only).
#[cfg(feature = "test-hooks")]
#[derive(Default)]
pub(crate) struct LatencyProbe {
    pending: Vec<(u64, f64)>,
    pub(crate) samples: Vec<f64>,
}

#[cfg(feature = "test-hooks")]
impl LatencyProbe {
    pub(crate) fn arrived(&mut self, revision: u64, at: f64) {
        self.pending.push((revision, at));
    }
}

/// What changed in a session's view (computed under the hub borrow, applied after it).
struct Projection {
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    revision: u64,
    title: String,
    status: Status,
    loaded: bool,
    items: Option<Vec<Arc<Item>>>,
    live: Option<Arc<LiveView>>,
    tail: Arc<str>,
    approval: Option<pane_core::wire::Approval>,
    clarify: Option<pane_core::wire::Clarify>,
    error: Option<ErrorView>,
    cancelled: bool,
    queued: Vec<String>,
    read_only: bool,
    has_older: bool,
    tps: Option<f64>,
    usage: Option<String>,
    stream_id: Option<String>,
}

fn render_markdown(text: &str) -> Arc<str> {
    Arc::from(crate::markdown::message_html(text))
}

fn project_items(rt: &pane_core::SessionRuntime, cache: &mut Cache) -> Vec<Arc<Item>> {
    let mut fresh = HashMap::new();
    let items: Vec<Arc<Item>> = transcript(rt)
        .into_iter()
        .map(|t| {
            let key = t.key();
            let content = t.content_hash();
            if let Some((h, item)) = cache.items.get(&key) {
                if *h == content {
                    fresh.insert(key, (content, item.clone()));
                    return item.clone();
                }
            }
            let kind = match t {
                TranscriptItem::User { text, attachments, key } => ItemKind::User { text, attachments, index: (key - 1) / 2 },
                TranscriptItem::Assistant { text, reasoning, tools, error, partial, details, duration, tps, .. } => ItemKind::Assistant {
                    html: render_markdown(&text),
                    text: Arc::from(text.as_str()),
                    reasoning,
                    tools,
                    error,
                    partial,
                    details,
                    usage: usage_line(None, None, tps, duration),
                },
                TranscriptItem::Divider { text, .. } => ItemKind::Divider { text },
            };
            // Only an assistant message renders markdown: a user message (maybe with its edit
            // box open) is not rebuilt when the renderer arrives.
            let markdown = matches!(kind, ItemKind::Assistant { .. }) && crate::lazy::ready(crate::lazy::Chunk::Markdown);
            let item = Arc::new(Item { key, version: hash_of((content, markdown)), kind });
            fresh.insert(key, (content, item.clone()));
            item
        })
        .collect();
    cache.items = fresh;
    with_turn_usage(items, rt)
}

/// The latest turn's own usage (tokens, rate, duration) goes on its last assistant message.
fn with_turn_usage(mut items: Vec<Arc<Item>>, rt: &pane_core::SessionRuntime) -> Vec<Arc<Item>> {
    let Some(u) = rt.turn_usage.as_ref() else { return items };
    let Some(last) = items.iter().rposition(|i| matches!(i.kind, ItemKind::Assistant { error: false, .. })) else { return items };
    if items[last + 1..].iter().any(|i| matches!(i.kind, ItemKind::User { .. })) {
        return items;
    }
    let mut item = (*items[last]).clone();
    if let ItemKind::Assistant { usage, .. } = &mut item.kind {
        *usage = usage_line(u.input_tokens, u.output_tokens, u.tps, u.duration_seconds).or(usage.take());
        item.version = hash_of((item.version, &*usage));
    }
    items[last] = Arc::new(item);
    items
}

fn project_live(l: &pane_core::turn::LiveTurn, cache: &mut Cache) -> (LiveView, Arc<str>) {
    let last = l.segments.len().saturating_sub(1);
    let mut tail: Arc<str> = Arc::from("");
    let segs = l
        .segments
        .iter()
        .enumerate()
        .map(|(idx, s)| match s {
            Segment::Text { text, sealed } if !sealed && idx == last => {
                tail = Arc::from(text.as_str());
                LiveSeg { key: hash_of((idx, 0u8)), kind: LiveSegKind::TextTail }
            }
            Segment::Text { text, .. } => {
                let html = cache.sealed.entry((idx, text.len())).or_insert_with(|| render_markdown(text)).clone();
                // Rebuilt once when the renderer arrives (it was plain text before).
                LiveSeg { key: hash_of((idx, 1u8, text.len(), crate::lazy::ready(crate::lazy::Chunk::Markdown))), kind: LiveSegKind::Text { html } }
            }
            Segment::Reasoning { text, sealed } if !sealed && idx == last => {
                tail = Arc::from(text.as_str());
                LiveSeg { key: hash_of((idx, 2u8)), kind: LiveSegKind::Reasoning { text: Arc::from(""), live: true } }
            }
            Segment::Reasoning { text, .. } => {
                LiveSeg { key: hash_of((idx, 3u8, text.len())), kind: LiveSegKind::Reasoning { text: Arc::from(text.as_str()), live: false } }
            }
            // Keyed by position and call id only: a card that completes updates in place (an
            // expanded card stays expanded).
            Segment::Tool(card) => LiveSeg { key: hash_of((idx, 4u8, &card.tid, &card.name)), kind: LiveSegKind::Tool(card.clone()) },
        })
        .collect();
    (LiveView { user: l.user_text.clone(), attachments: l.attachments.clone(), segs, compressing: l.compressing.clone() }, tail)
}

fn same_shape(a: &Option<Arc<LiveView>>, b: &Option<Arc<LiveView>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.user == b.user
                && a.attachments == b.attachments
                && a.compressing == b.compressing
                && a.segs.len() == b.segs.len()
                && a.segs.iter().zip(&b.segs).all(|(x, y)| {
                    x.key == y.key
                        && match (&x.kind, &y.kind) {
                            (LiveSegKind::Tool(c), LiveSegKind::Tool(d)) => c == d,
                            _ => true,
                        }
                })
        }
        _ => false,
    }
}

fn project(i: &mut Inner, id: &str) -> Option<Projection> {
    let rt = i.core.session(id)?;
    let cache = i.painter.cache.entry(rt.id.clone()).or_default();
    let items = if cache.transcript_rev != Some(rt.transcript_revision) {
        cache.transcript_rev = Some(rt.transcript_revision);
        Some(project_items(rt, cache))
    } else {
        None
    };
    let (live, tail) = match &rt.live {
        Some(l) if !(l.segments.is_empty() && l.user_text.is_none()) => {
            let (v, t) = project_live(l, cache);
            (Some(Arc::new(v)), t)
        }
        _ => (None, Arc::from("")),
    };
    if rt.live.is_none() {
        cache.sealed.clear();
    }
    let status = match &rt.live {
        Some(l) if l.stream_id.is_none() && l.user_text.is_some() => Status::Sending,
        _ if rt.is_busy() => Status::Busy,
        _ if rt.is_unconfirmed() => Status::Checking,
        _ => Status::Idle,
    };
    let row_title = i.rows.iter().find(|r| r.session_id == rt.id).map(SessionRow::shown_title);
    Some(Projection {
        revision: rt.revision,
        title: rt.title.clone().filter(|t| !t.trim().is_empty()).or(row_title).unwrap_or_else(|| "New conversation".into()),
        status,
        loaded: rt.loaded,
        items,
        live,
        tail,
        approval: rt.approval.clone(),
        clarify: rt.clarify.clone(),
        error: rt.error.as_ref().map(|e| ErrorView { message: e.message.clone(), hint: e.hint.clone() }),
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
        // The header shows the session's totals (live from `metering` while a turn runs); each
        // turn's own figures sit under its reply.
        usage: rt
            .live_usage
            .as_ref()
            .filter(|_| rt.is_busy())
            .and_then(|u| u.input_tokens.zip(u.output_tokens))
            .or(rt.session_tokens)
            .filter(|(i, o)| *i + *o > 0.0)
            .map(|(i, o)| format!("Session: {} in · {} out", i as u64, o as u64)),
        stream_id: rt.live_stream_id().map(str::to_string),
    })
}

/// Sets a store field only when the value differs (no needless notifications).
macro_rules! set_if {
    ($store:expr, $field:ident, $value:expr, $changed:ident) => {{
        let v = $value;
        if $store.$field().with_untracked(|cur| *cur != v) {
            $store.$field().set(v);
            $changed = true;
        }
    }};
}

impl Hub {
    /// The sidebar must show a change of state soon (not at the preview pace).
    pub(crate) fn sidebar_now(&self) {
        self.with(|i| {
            i.painter.sidebar_dirty = true;
            i.painter.sidebar_urgent = true;
        });
        self.schedule_paint();
    }

    /// Notes that a session's runtime changed; it is painted at the next frame.
    pub(crate) fn mark_dirty(&self, id: &str) {
        self.with(|i| {
            i.painter.dirty.insert(id.to_string());
        });
        self.schedule_paint();
    }

    /// The markdown renderer arrived: every projection renders its messages again (they were
    /// plain text), the shown one at the next frame, the others when shown.
    pub fn markdown_arrived(&self) {
        let active = self.active.get_untracked();
        self.with(|i| {
            i.painter.cache.clear();
            i.painter.dirty.extend(active);
        });
        self.schedule_paint();
    }

    /// Schedules a paint at the next animation frame (unless one comes sooner anyway).
    pub(crate) fn schedule_paint(&self) {
        self.schedule_paint_in(0.0);
    }

    fn paint_frame(&self) {
        let t = now();
        let active = self.active.get_untracked();
        // Batching: the shown view at most every PAINT_INTERVAL_MS, the sidebar every
        // SIDEBAR_INTERVAL_MS; what is not painted yet stays dirty for a later frame.
        let (paint_active, paint_sidebar, dirty, again) = self.with(|i| {
            let p = &mut i.painter;
            p.scheduled = None;
            let active_dirty = active.as_ref().is_some_and(|a| p.dirty.contains(a));
            let paint_active = active_dirty && t - p.last_paint >= PAINT_INTERVAL_MS;
            let paint_sidebar = (p.sidebar_dirty || !p.dirty.is_empty()) && (p.sidebar_urgent || t - p.last_sidebar >= SIDEBAR_INTERVAL_MS);
            let dirty: HashSet<String> = if paint_sidebar { std::mem::take(&mut p.dirty) } else { p.dirty.clone() };
            if paint_active {
                p.last_paint = t;
                // Its sidebar row (state, preview) follows at the sidebar's pace.
                p.sidebar_dirty = true;
                if let Some(a) = &active {
                    p.dirty.remove(a);
                }
            } else if active_dirty {
                if let Some(a) = &active {
                    p.dirty.insert(a.clone());
                }
            }
            if paint_sidebar {
                p.last_sidebar = t;
                p.sidebar_dirty = false;
                p.sidebar_urgent = false;
            }
            // When the next paint is due: what is left waits for its interval (a timer, then a
            // frame) rather than spinning on animation frames that would paint nothing.
            let active_left = active.as_ref().is_some_and(|a| p.dirty.contains(a));
            let sidebar_left = p.sidebar_dirty || !p.dirty.is_empty();
            let due = |last: f64, every: f64| (last + every - t).max(0.0);
            let again = match (active_left, sidebar_left) {
                (false, false) => None,
                (true, false) => Some(due(p.last_paint, PAINT_INTERVAL_MS)),
                (false, true) => Some(due(p.last_sidebar, SIDEBAR_INTERVAL_MS)),
                (true, true) => Some(due(p.last_paint, PAINT_INTERVAL_MS).min(due(p.last_sidebar, SIDEBAR_INTERVAL_MS))),
            };
            (paint_active, paint_sidebar, dirty, again)
        });
        if let (true, Some(a)) = (paint_active, &active) {
            self.paint_now(a);
        }
        if paint_sidebar {
            self.attention_notices(&dirty, active.as_deref());
            self.paint_sidebar();
        }
        if let Some(wait) = again {
            self.schedule_paint_in(wait);
        }
    }

    /// Schedules a paint for the first frame after `ms` (the next frame when that is less than a
    /// frame away), unless one is already scheduled sooner.
    fn schedule_paint_in(&self, ms: f64) {
        let at = now() + ms;
        let sooner = self.with(|i| {
            let sooner = i.painter.scheduled.is_none_or(|s| s > at + 17.0);
            if sooner {
                i.painter.scheduled = Some(at);
            }
            sooner
        });
        if !sooner {
            return;
        }
        let hub = *self;
        if ms < 12.0 {
            request_animation_frame(move || hub.paint_frame());
        } else {
            // Wake a little early: the frame after the timer is the one that paints.
            set_timeout(move || request_animation_frame(move || hub.paint_frame()), std::time::Duration::from_millis((ms - 8.0) as u64));
        }
    }

    /// Paints one session's view now (used when it becomes the shown one).
    pub(crate) fn paint_now(&self, id: &str) {
        let store = self.store(id);
        let Some(p) = self.with(|i| project(i, id)) else { return };
        let mut changed = false;
        #[cfg(feature = "test-hooks")]
        let revision = p.revision;
        set_if!(store, title, p.title, changed);
        set_if!(store, status, p.status, changed);
        set_if!(store, loaded, p.loaded, changed);
        if let Some(items) = p.items {
            let same = store.items().with_untracked(|cur| cur.len() == items.len() && cur.iter().zip(&items).all(|(a, b)| Arc::ptr_eq(a, b)));
            if !same {
                store.items().set(items);
                changed = true;
            }
        }
        if !store.live().with_untracked(|cur| same_shape(cur, &p.live)) {
            store.live().set(p.live);
            changed = true;
        }
        if store.tail().with_untracked(|cur| cur.len() != p.tail.len() || **cur != *p.tail) {
            store.tail().set(p.tail);
            changed = true;
        }
        set_if!(store, approval, p.approval, changed);
        set_if!(store, clarify, p.clarify, changed);
        set_if!(store, error, p.error, changed);
        set_if!(store, cancelled, p.cancelled, changed);
        set_if!(store, queued, p.queued, changed);
        set_if!(store, read_only, p.read_only, changed);
        set_if!(store, has_older, p.has_older, changed);
        set_if!(store, tps, p.tps, changed);
        set_if!(store, usage, p.usage, changed);
        set_if!(store, stream_id, p.stream_id, changed);
        if changed {
            self.with(|i| *i.paints.entry(id.to_string()).or_default() += 1);
        }
        // Painted = the next animation frame after the DOM reflects the tokens.
        #[cfg(feature = "test-hooks")]
        if self.active.get_untracked().as_deref() == Some(id) {
            let done: Vec<f64> = self.with(|i| {
                let (painted, rest): (Vec<_>, Vec<_>) = i.latency.pending.drain(..).partition(|(r, _)| *r <= revision);
                i.latency.pending = rest;
                painted.into_iter().map(|(_, t)| t).collect()
            });
            if !done.is_empty() {
                let hub = *self;
                request_animation_frame(move || {
                    let t = now();
                    hub.with(|i| i.latency.samples.extend(done.iter().map(|a| t - a)));
                });
            }
        }
    }

    fn paint_sidebar(&self) {
        let rows = self.with(|i| {
            let mut rows = i.rows.clone();
            // Sessions started here that the list has not caught up with yet.
            for s in i.core.sessions() {
                let known = rows.iter().any(|r| s.answers_to(&r.session_id));
                if !known && (s.is_busy() || s.has_live_content() || !s.messages.is_empty()) {
                    rows.insert(
                        0,
                        SessionRow { session_id: s.id.clone(), title: s.title.clone(), updated_at: Some(js_sys::Date::now() / 1000.0), ..Default::default() },
                    );
                }
            }
            rows.iter().map(|r| sidebar_row(r, &i.core)).collect::<Vec<_>>()
        });
        let (pinned, recent) = group_rows(rows);
        let mut pinned: Vec<RowView> = pinned.iter().map(RowView::from).collect();
        let mut recent: Vec<RowView> = recent.iter().map(RowView::from).collect();
        if self.with(|i| i.painter.sidebar_hold) {
            self.sidebar.pinned().with_untracked(|cur| keep_places(cur, &mut pinned));
            self.sidebar.recent().with_untracked(|cur| keep_places(cur, &mut recent));
        }
        // Keyed patches: only the rows (and fields) that changed notify their views.
        let mut moved = false;
        if self.sidebar.pinned().with_untracked(|c| *c != pinned) {
            moved |= self.sidebar.pinned().with_untracked(|c| places_changed(c, &pinned));
            self.sidebar.pinned().patch(pinned);
        }
        if self.sidebar.recent().with_untracked(|c| *c != recent) {
            moved |= self.sidebar.recent().with_untracked(|c| places_changed(c, &recent));
            self.sidebar.recent().patch(recent);
        }
        if moved {
            self.with(|i| i.painter.sidebar_moved_at = Some(now()));
        }
    }

    /// A row of the list changed its place less than 600 ms ago. A click then may have been
    /// aimed at the row that was there before (a touch lands as the list moves; the pointer
    /// arrived just after a re-sort), so the rows' immediate actions (stop, archive) ignore it:
    /// stopping the wrong reply is worse than a second click.
    pub fn rows_just_moved(&self) -> bool {
        self.with(|i| i.painter.sidebar_moved_at).is_some_and(|t| now() - t < 600.0)
    }

    /// Holds (or releases) the sidebar's row order while the pointer is over it.
    pub fn hold_sidebar(&self, hold: bool) {
        let changed = self.with(|i| std::mem::replace(&mut i.painter.sidebar_hold, hold) != hold);
        if changed && !hold {
            self.sidebar_now();
        }
    }

    /// A background session that starts waiting on the user gets a non-blocking notice.
    fn attention_notices(&self, dirty: &HashSet<String>, active: Option<&str>) {
        for id in dirty {
            let (needs, title, fresh) = self.with(|i| {
                let s = i.core.session(id);
                let needs = s
                    .map(|s| {
                        if s.approval.is_some() {
                            1
                        } else if s.clarify.is_some() {
                            2
                        } else {
                            0
                        }
                    })
                    .unwrap_or(0);
                let title = s.and_then(|s| s.title.clone()).unwrap_or_else(|| "A session".into());
                let fresh = if needs > 0 {
                    i.attention_seen.insert(id.clone())
                } else {
                    // Answered: a later request is news again.
                    i.attention_seen.remove(id);
                    false
                };
                (needs, title, fresh)
            });
            if needs > 0 && fresh && active != Some(id.as_str()) {
                let what = if needs == 1 { "needs your approval" } else { "has a question for you" };
                self.toast(ToastKind::Attention, format!("“{title}” {what}."), Some(id.clone()));
            }
        }
    }
}

/// Whether a row shown in `current` sits at another index in `next` (one that left, or a new
/// one, moves the rows after it).
fn places_changed(current: &[RowView], next: &[RowView]) -> bool {
    let place: HashMap<&str, usize> = next.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    current.iter().enumerate().any(|(i, r)| place.get(r.id.as_str()).is_some_and(|&j| j != i))
}

/// Orders `rows` like `current` (rows already shown keep their places; new ones go last).
fn keep_places(current: &[RowView], rows: &mut Vec<RowView>) {
    let place = |id: &str| current.iter().position(|r| r.id == id).unwrap_or(usize::MAX);
    pane_core::sort_stable_by(rows, |a, b| place(&a.id).cmp(&place(&b.id)));
}
