//! When to paint. Tokens are taken in as they arrive (the runtime is updated by the transport
//! handler); only the projection onto the screen is batched: the shown session's view at most
//! every [`PAINT_INTERVAL_MS`], the sidebar's previews every [`SIDEBAR_INTERVAL_MS`] — but a
//! change of kind (a list arrived, a turn finished) at the next frame. A paint that is not due
//! yet waits on a timer, not on animation frames that would paint nothing.

use std::collections::BTreeSet;

/// The shown session's view is repainted at most this often while it streams (ms): one paint
/// every other frame at 60 Hz (30 ms, so frame jitter never stretches it to three). Token →
/// paint latency stays under a frame plus one batching period (2 frames, 33 ms).
pub const PAINT_INTERVAL_MS: f64 = 30.0;
/// The sidebar (previews of background sessions) is repainted at most this often (ms): four
/// times a second is lively enough for a one-line preview and costs a fraction of every frame.
pub const SIDEBAR_INTERVAL_MS: f64 = 250.0;
/// How late a scheduled frame may be and still count as the one asked for (a frame, 16.7 ms).
const FRAME_MS: f64 = 17.0;

/// The paint schedule: which sessions changed, and when each view was last painted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaintClock {
    dirty: BTreeSet<String>,
    /// When the earliest scheduled paint runs (ms on the page's clock), if one is scheduled.
    scheduled: Option<f64>,
    sidebar_dirty: bool,
    sidebar_urgent: bool,
    last_paint: f64,
    last_sidebar: f64,
}

/// What one animation frame paints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FramePlan {
    /// Project the shown session's view now.
    pub paint_active: bool,
    /// Repaint the sidebar now.
    pub paint_sidebar: bool,
    /// The sessions that changed since the sidebar was last painted (when it is painted now).
    pub changed: Vec<String>,
    /// Come back after this many ms (a timer, then a frame): something is left for later.
    pub again: Option<f64>,
}

impl PaintClock {
    /// A session's runtime changed.
    pub fn mark(&mut self, id: &str) {
        self.dirty.insert(id.to_string());
    }

    /// The sidebar changed; `urgent`: in kind (paint it at the next frame).
    pub fn mark_sidebar(&mut self, urgent: bool) {
        self.sidebar_dirty = true;
        self.sidebar_urgent |= urgent;
    }

    /// Whether to schedule a paint at `now + ms`: not when one is due sooner anyway.
    pub fn schedule(&mut self, now: f64, ms: f64) -> bool {
        let at = now + ms;
        let sooner = self.scheduled.is_none_or(|s| s > at + FRAME_MS);
        if sooner {
            self.scheduled = Some(at);
        }
        sooner
    }

    /// How long after `now` the next paint is due, with `active` on screen (`None`: nothing is
    /// waiting). A change is painted at the pace of where it shows, so a token that arrives
    /// between two paints asks for no frame of its own: the frame it would get paints nothing.
    pub fn due_in(&self, now: f64, active: Option<&str>) -> Option<f64> {
        let active_left = active.is_some_and(|a| self.dirty.contains(a));
        let sidebar_left = self.sidebar_dirty || !self.dirty.is_empty();
        let due = |last: f64, every: f64| (last + every - now).max(0.0);
        let sidebar = if self.sidebar_urgent {
            0.0
        } else {
            due(self.last_sidebar, SIDEBAR_INTERVAL_MS)
        };
        let active_due = due(self.last_paint, PAINT_INTERVAL_MS);
        match (active_left, sidebar_left) {
            (false, false) => None,
            (true, false) => Some(active_due),
            (false, true) => Some(sidebar),
            // A preview rides on the shown session's next paint (one frame, not two).
            (true, true) if !self.sidebar_urgent => Some(active_due),
            (true, true) => Some(active_due.min(sidebar)),
        }
    }

    /// An animation frame at `now`, with `active` on screen: what to paint, and when to come
    /// back for what is left.
    pub fn frame(&mut self, now: f64, active: Option<&str>) -> FramePlan {
        self.scheduled = None;
        let active_dirty = active.is_some_and(|a| self.dirty.contains(a));
        let paint_active = active_dirty && now - self.last_paint >= PAINT_INTERVAL_MS;
        // While the shown session waits for its own paint, a preview that is due waits for that
        // frame (≤ one paint interval) instead of taking a frame of its own: each frame costs
        // the browser a full style, layout, paint and commit, whatever changed.
        let paint_sidebar = (self.sidebar_dirty || !self.dirty.is_empty())
            && (self.sidebar_urgent
                || (now - self.last_sidebar >= SIDEBAR_INTERVAL_MS
                    && (paint_active || !active_dirty)));
        let changed: Vec<String> = if paint_sidebar {
            std::mem::take(&mut self.dirty).into_iter().collect()
        } else {
            Vec::new()
        };
        if paint_active {
            self.last_paint = now;
            // Its sidebar row (state, preview) follows at the sidebar's pace.
            self.sidebar_dirty = true;
            if let Some(a) = active {
                self.dirty.remove(a);
            }
        } else if let (true, Some(a)) = (active_dirty, active) {
            // Not due yet: it stays dirty for a later frame.
            self.dirty.insert(a.to_string());
        }
        if paint_sidebar {
            self.last_sidebar = now;
            self.sidebar_dirty = false;
            self.sidebar_urgent = false;
        }
        let again = self.due_in(now, active);
        FramePlan {
            paint_active,
            paint_sidebar,
            changed,
            again,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of a 60 Hz display from `from` ms.
    fn frames(from: f64, n: usize) -> impl Iterator<Item = f64> {
        (0..n).map(move |i| from + i as f64 * 16.7)
    }

    #[test]
    fn the_shown_session_paints_at_most_every_paint_interval_while_it_streams() {
        let mut c = PaintClock::default();
        let mut painted = Vec::new();
        for t in frames(1000.0, 30) {
            c.mark("a"); // a token arrived before every frame
            if c.frame(t, Some("a")).paint_active {
                painted.push(t);
            }
        }
        assert!(
            painted.len() >= 14 && painted.len() <= 16,
            "every other frame: {painted:?}"
        );
        assert!(
            painted.windows(2).all(|w| w[1] - w[0] >= PAINT_INTERVAL_MS),
            "{painted:?}"
        );
    }

    #[test]
    fn a_paint_that_is_not_due_waits_on_a_timer_for_the_rest_of_its_interval() {
        let mut c = PaintClock::default();
        c.mark("a");
        assert!(c.frame(1000.0, Some("a")).paint_active);
        c.mark("a");
        let plan = c.frame(1010.0, Some("a"));
        assert!(!plan.paint_active, "10 ms after a paint");
        assert_eq!(
            plan.again,
            Some(20.0),
            "comes back when it is due, not at every frame"
        );
        assert!(c.frame(1030.0, Some("a")).paint_active);
        let plan = c.frame(1047.0, Some("a"));
        assert!(!plan.paint_active, "nothing new to paint");
        assert_eq!(
            plan.again,
            Some(203.0),
            "only its sidebar row is left, at the sidebar's pace"
        );
        c.frame(1250.0, Some("a"));
        assert_eq!(
            c.frame(1267.0, Some("a")).again,
            None,
            "nothing left: no frame asked for"
        );
    }

    #[test]
    fn the_sidebar_paints_previews_at_four_hertz_and_a_change_of_kind_at_the_next_frame() {
        let mut c = PaintClock::default();
        c.mark("b");
        let first = c.frame(1000.0, Some("a"));
        assert!(
            first.paint_sidebar && first.changed == vec!["b".to_string()],
            "{first:?}"
        );
        c.mark("b"); // a background preview changed
        let plan = c.frame(1100.0, Some("a"));
        assert!(
            !plan.paint_sidebar,
            "a preview waits for the sidebar's pace"
        );
        assert_eq!(plan.again, Some(150.0));
        c.mark_sidebar(true); // e.g. a turn finished
        let plan = c.frame(1117.0, Some("a"));
        assert!(plan.paint_sidebar, "a change of kind shows at once");
        assert_eq!(plan.changed, vec!["b".to_string()]);
    }

    #[test]
    fn previews_ride_on_the_shown_sessions_paints_while_it_streams() {
        let mut c = PaintClock::default();
        let (mut sidebar, mut frames_run) = (Vec::new(), 0);
        // A token every 20 ms for 2 s; the shown session "a" and a background "b" stream.
        let mut next_frame = Some(1000.0);
        let mut t = 1000.0;
        while t < 3000.0 {
            c.mark("a");
            c.mark("b");
            // As the hub does: a change asks for the frame its paint is due in, if sooner.
            if let Some(ms) = c.due_in(t, Some("a")) {
                next_frame = Some(next_frame.map_or(t + ms, |f: f64| f.min(t + ms)));
            }
            if next_frame.is_some_and(|f| f <= t) {
                frames_run += 1;
                let plan = c.frame(t, Some("a"));
                if plan.paint_sidebar {
                    assert!(plan.paint_active, "a preview alone took a frame at {t}");
                    sidebar.push(t);
                }
                next_frame = plan.again.map(|ms| t + ms);
            }
            t += 20.0;
        }
        assert!(
            sidebar
                .windows(2)
                .all(|w| w[1] - w[0] <= SIDEBAR_INTERVAL_MS + 40.0)
                && sidebar.len() >= 7,
            "previews still at about four a second: {sidebar:?}"
        );
        assert!(frames_run <= 2000 / 30 + 1, "{frames_run} frames");
        // A change of kind does not wait.
        c.mark("a");
        c.mark_sidebar(true);
        assert!(c.frame(t + 1.0, Some("a")).paint_sidebar);
    }

    #[test]
    fn a_background_change_never_paints_the_shown_view() {
        let mut c = PaintClock::default();
        c.mark("b");
        let plan = c.frame(1000.0, Some("a"));
        assert!(!plan.paint_active);
    }

    #[test]
    fn a_token_between_two_paints_waits_for_the_next_paint_instead_of_a_frame() {
        let mut c = PaintClock::default();
        c.mark("a");
        assert_eq!(
            c.due_in(1000.0, Some("a")),
            Some(0.0),
            "the first one at once"
        );
        assert!(c.frame(1000.0, Some("a")).paint_active);
        c.mark("a");
        assert_eq!(
            c.due_in(1010.0, Some("a")),
            Some(PAINT_INTERVAL_MS - 10.0),
            "the shown session streams: at its paint pace"
        );
        c.mark("b");
        assert_eq!(
            c.due_in(1010.0, None),
            Some(SIDEBAR_INTERVAL_MS - 10.0),
            "nothing shown: only the sidebar waits"
        );
        c.mark_sidebar(true);
        assert_eq!(
            c.due_in(1010.0, None),
            Some(0.0),
            "a change of kind: at once"
        );
        assert_eq!(PaintClock::default().due_in(1000.0, Some("a")), None);
    }

    #[test]
    fn a_later_request_does_not_replace_a_paint_scheduled_sooner() {
        let mut c = PaintClock::default();
        assert!(c.schedule(1000.0, 0.0), "nothing scheduled: schedule");
        assert!(!c.schedule(1000.0, 100.0), "one is due sooner");
        assert!(
            !c.schedule(1005.0, 0.0),
            "within a frame of the scheduled one"
        );
        c.frame(1016.0, None);
        assert!(
            c.schedule(1020.0, 100.0),
            "after the frame ran, a new one is scheduled"
        );
        assert!(
            c.schedule(1020.0, 0.0),
            "and a sooner one replaces a later one"
        );
    }
}
