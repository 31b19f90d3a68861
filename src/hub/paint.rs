//! Painting: runtime state → view stores, when `pane_core::paint::PaintClock` says so. What a
//! view shows is decided in the core (`pane_core::view`); here it is rendered (markdown → HTML,
//! cached per item and sealed segment) and written into the stores, each field only when it
//! changed. Only the shown session's view is painted; others get their sidebar row, and are
//! painted in full when shown.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use leptos::prelude::*;
use pane_core::paint::PaintClock;
use pane_core::turn::Segment;
use pane_core::view::{
    group_rows, keep_places, pane_state, places_changed, sidebar_row, transcript, turn_usage,
    usage_line, TranscriptItem,
};
use pane_core::wire::SessionRow;

use super::store::*;
use super::{Hub, Inner};

mod project;
use project::*;

#[derive(Default)]
pub(crate) struct Painter {
    clock: PaintClock,
    /// The pointer is over the session list: rows keep their places (fields still update), so
    /// a row never moves under a click; the backend's order comes back when it leaves.
    sidebar_hold: bool,
    /// When a listed row last changed its place (`performance.now()` ms): see
    /// [`Hub::rows_just_moved`].
    sidebar_moved_at: Option<f64>,
    cache: HashMap<String, Cache>,
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

/// `performance.now()` in ms.
pub(crate) fn now() -> f64 {
    crate::with_performance(|p| p.now()).unwrap_or(0.0)
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
        self.with(|i| i.painter.clock.mark_sidebar(true));
        self.schedule_paint_in(0.0);
    }

    /// Notes that a session's runtime changed; it is painted when the clock says so (a frame
    /// is asked for only when that paint is due).
    pub(crate) fn mark_dirty(&self, id: &str) {
        let active = self.active.get_untracked();
        let wait = self.with(|i| {
            i.painter.clock.mark(id);
            i.painter.clock.due_in(now(), active.as_deref())
        });
        self.schedule_paint_in(wait.unwrap_or(0.0));
    }

    /// The markdown renderer arrived: every projection renders its messages again (they were
    /// plain text), the shown one at the next frame, the others when shown.
    pub fn markdown_arrived(&self) {
        let active = self.active.get_untracked();
        self.with(|i| {
            i.painter.cache.clear();
            if let Some(a) = &active {
                i.painter.clock.mark(a);
            }
        });
        self.schedule_paint_in(0.0);
    }

    fn paint_frame(&self) {
        let active = self.active.get_untracked();
        let plan = self.with(|i| i.painter.clock.frame(now(), active.as_deref()));
        if let (true, Some(a)) = (plan.paint_active, &active) {
            self.paint_now(a);
        }
        if plan.paint_sidebar {
            if !plan.changed.is_empty() {
                self.attention_notices(plan.changed);
            }
            self.paint_sidebar();
        }
        if plan.paint_sidebar {
            self.paint_title();
        }
        if let Some(wait) = plan.again {
            self.schedule_paint_in(wait);
        }
        if crate::lazy::before_first_paint() && self.first_content_shown(active.as_deref()) {
            // After this frame has rendered: what follows must not delay it.
            let hub = *self;
            set_timeout(move || hub.after_first_paint(), std::time::Duration::ZERO);
        }
    }

    /// The page shows what it was opened for: the list (or why there is none) and the shown
    /// session's messages (or why they are not; as text if the renderer is not in yet, which
    /// is fetched alongside: waiting for it would put the two chunks one after the other).
    fn first_content_shown(&self, active: Option<&str>) -> bool {
        let list = self.sidebar.loaded().get_untracked()
            || self.sidebar.error().with_untracked(Option::is_some);
        list && active.is_none_or(|a| {
            let view = self.store(a);
            view.loaded().get_untracked() || view.load_error().with_untracked(Option::is_some)
        })
    }

    /// Schedules a paint for the first frame after `ms` (the next frame when that is less than
    /// a frame away), unless one is already scheduled sooner.
    fn schedule_paint_in(&self, ms: f64) {
        if !self.with(|i| i.painter.clock.schedule(now(), ms)) {
            return;
        }
        let hub = *self;
        if ms < 12.0 {
            request_animation_frame(move || hub.paint_frame());
        } else {
            // Wake a little early: the frame after the timer is the one that paints.
            let wait = std::time::Duration::from_millis((ms - 8.0) as u64);
            set_timeout(
                move || request_animation_frame(move || hub.paint_frame()),
                wait,
            );
        }
    }

    /// Paints one session's view now (used when it becomes the shown one).
    pub(crate) fn paint_now(&self, id: &str) {
        let store = self.store(id);
        let Some(p) = self.with(|i| project(i, id)) else {
            return;
        };
        let mut changed = false;
        #[cfg(feature = "test-hooks")]
        let revision = p.revision;
        let s = p.state;
        set_if!(store, title, s.title, changed);
        set_if!(store, status, s.status, changed);
        set_if!(store, loaded, s.loaded, changed);
        if let Some(items) = p.items {
            let same = store.items().with_untracked(|cur| {
                cur.len() == items.len() && cur.iter().zip(&items).all(|(a, b)| Arc::ptr_eq(a, b))
            });
            if !same {
                store.items().set(items);
                changed = true;
            }
        }
        if !store.live().with_untracked(|cur| same_shape(cur, &p.live)) {
            store.live().set(p.live);
            changed = true;
        }
        if store
            .tail()
            .with_untracked(|cur| cur.len() != p.tail.len() || **cur != *p.tail)
        {
            store.tail().set(p.tail);
            changed = true;
        }
        set_if!(store, approval, s.approval, changed);
        set_if!(store, clarify, s.clarify, changed);
        set_if!(store, error, s.error, changed);
        set_if!(store, cancelled, s.cancelled, changed);
        set_if!(store, queued, s.queued, changed);
        set_if!(store, read_only, s.read_only, changed);
        set_if!(store, has_older, s.has_older, changed);
        set_if!(store, tps, s.tps, changed);
        set_if!(store, usage, s.usage, changed);
        set_if!(store, stream_id, s.stream_id, changed);
        set_if!(store, model, s.model, changed);
        set_if!(store, context, s.context, changed);
        set_if!(store, todos, s.todos, changed);
        if changed {
            self.with(|i| *i.paints.entry(id.to_string()).or_default() += 1);
        }
        #[cfg(feature = "test-hooks")]
        self.painted_tokens(id, revision);
    }

    /// Painted = the next animation frame after the DOM reflects the tokens (benchmarks).
    #[cfg(feature = "test-hooks")]
    fn painted_tokens(&self, id: &str, revision: u64) {
        if self.active.get_untracked().as_deref() != Some(id) {
            return;
        }
        let done: Vec<f64> = self.with(|i| {
            let (painted, rest): (Vec<_>, Vec<_>) = i
                .latency
                .pending
                .drain(..)
                .partition(|(r, _)| *r <= revision);
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

    fn paint_sidebar(&self) {
        let rows = self.with(|i| {
            let mut rows = i.rows.clone();
            // Sessions started here that the list has not caught up with yet.
            for s in i.core.sessions() {
                // Not one the list had and left out since (archived or deleted).
                let known =
                    rows.iter().any(|r| s.answers_to(&r.session_id)) || i.listed.contains(s.id());
                if !known && (s.is_busy() || s.has_live_content() || !s.messages().is_empty()) {
                    let updated_at = Some(js_sys::Date::now() / 1000.0);
                    rows.insert(
                        0,
                        SessionRow {
                            session_id: s.id().to_string(),
                            title: s.title().map(str::to_string),
                            updated_at,
                            ..Default::default()
                        },
                    );
                }
            }
            rows.iter()
                .map(|r| sidebar_row(r, &i.core))
                .collect::<Vec<_>>()
        });
        let (pinned, recent) = group_rows(rows);
        let mut pinned: Vec<RowView> = pinned.iter().map(RowView::from).collect();
        let mut recent: Vec<RowView> = recent.iter().map(RowView::from).collect();
        let ids = |rows: &[RowView]| rows.iter().map(|r| r.id.clone()).collect::<Vec<String>>();
        let (shown_pinned, shown_recent) = (
            self.sidebar.pinned().with_untracked(|c| ids(c)),
            self.sidebar.recent().with_untracked(|c| ids(c)),
        );
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        if self.with(|i| i.painter.sidebar_hold) {
            keep_places(&refs(&shown_pinned), &mut pinned, |r| r.id.as_str());
            keep_places(&refs(&shown_recent), &mut recent, |r| r.id.as_str());
        }
        // Keyed patches: only the rows (and fields) that changed notify their views.
        let mut moved = false;
        if self.sidebar.pinned().with_untracked(|c| *c != pinned) {
            moved |= places_changed(&refs(&shown_pinned), &refs(&ids(&pinned)));
            self.sidebar.pinned().patch(pinned);
        }
        if self.sidebar.recent().with_untracked(|c| *c != recent) {
            moved |= places_changed(&refs(&shown_recent), &refs(&ids(&recent)));
            self.sidebar.recent().patch(recent);
        }
        if moved {
            self.with(|i| i.painter.sidebar_moved_at = Some(now()));
        }
    }

    /// The tab's title: the shown session, after the count of sessions that want the person
    /// (its code in the later chunk; a hidden tab paints nothing, so a finished turn and a
    /// new wait set it too, from `notices`).
    pub(crate) fn paint_title(&self) {
        // Not worth bringing the chunk in before the first paint: its arrival paints it.
        if !crate::lazy::ready(crate::lazy::Chunk::Later) {
            return;
        }
        let task = tab_title(*self);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = crate::lazy::run(task).await;
        });
    }

    /// A row of the list changed its place less than 600 ms ago. A click then may have been
    /// aimed at the row that was there before (a touch lands as the list moves; the pointer
    /// arrived just after a re-sort), so the rows' immediate actions (stop, archive) ignore it:
    /// stopping the wrong reply is worse than a second click.
    pub fn rows_just_moved(&self) -> bool {
        self.with(|i| i.painter.sidebar_moved_at)
            .is_some_and(|t| now() - t < 600.0)
    }

    /// Holds (or releases) the sidebar's row order while the pointer is over it.
    pub fn hold_sidebar(&self, hold: bool) {
        let changed = self.with(|i| std::mem::replace(&mut i.painter.sidebar_hold, hold) != hold);
        if changed && !hold {
            self.sidebar_now();
        }
    }
}

crate::later!(tab_title(hub: Hub) -> () => tab_title_body);

pub(crate) async fn tab_title_body(hub: Hub) {
    let title = hub.with(|i| {
        let shown = i.core.active().and_then(|a| i.core.session(a));
        pane_core::notify::tab_title(shown.and_then(|s| s.title()), i.core.wanting())
    });
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if doc.title() != title {
            doc.set_title(&title);
        }
    }
}
