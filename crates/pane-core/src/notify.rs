//! Browser notifications: when a session the person is not looking at wants them — a reply
//! finished or failed, an approval or a question waits — and what the notification says.
//! One per session at a time (its `tag` replaces the previous one), never per token.

use crate::view::AttentionKind;

/// What happened in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    Finished,
    Failed,
    Waits(AttentionKind),
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub session: String,
    pub title: String,
    pub body: String,
    /// One notification per session: a newer one replaces it.
    pub tag: String,
}

/// Whether the person sees the session now: it is the one shown, in a visible tab.
pub fn seen(shown: bool, tab_visible: bool) -> bool {
    shown && tab_visible
}

/// The notification for `what` in session `id` (titled `title`), with `detail` (the reply's
/// start, the error, the command to approve, the question) as its body; `None` when the person
/// sees the session already or notifications are off.
pub fn note(
    enabled: bool,
    seen: bool,
    id: &str,
    title: &str,
    what: Happened,
    detail: &str,
) -> Option<Note> {
    if !enabled || seen {
        return None;
    }
    let name = if title.trim().is_empty() {
        "A conversation"
    } else {
        title.trim()
    };
    let title = match what {
        Happened::Finished => format!("Reply finished — {name}"),
        Happened::Failed => format!("Reply failed — {name}"),
        Happened::Waits(AttentionKind::Approval) => format!("Approval needed — {name}"),
        Happened::Waits(AttentionKind::Clarify) => format!("Question for you — {name}"),
    };
    Some(Note {
        session: id.to_string(),
        title,
        body: short(detail, 120),
        tag: format!("hermes-pane-{id}"),
    })
}

/// `s` on one line, at most `n` characters (an ellipsis when cut).
pub fn short(s: &str, n: usize) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= n {
        return line;
    }
    let mut out: String = line.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The tab's title: the shown session's title (or the app's name), after the count of
/// sessions that want the person, if any — `(2) Deploy plan — Hermes`.
pub fn tab_title(shown: Option<&str>, wanting: usize) -> String {
    let base = match shown.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => format!("{t} — Hermes"),
        None => "Hermes".to_string(),
    };
    if wanting == 0 {
        base
    } else {
        format!("({wanting}) {base}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_the_person_sees_gets_no_notification() {
        assert_eq!(note(true, true, "a", "T", Happened::Finished, "x"), None);
        assert_eq!(note(false, false, "a", "T", Happened::Finished, "x"), None);
        assert!(!seen(true, false), "shown in a hidden tab is not seen");
        assert!(!seen(false, true));
    }

    #[test]
    fn each_kind_says_what_happened_and_where() {
        let n = note(
            true,
            false,
            "a",
            "Deploy",
            Happened::Finished,
            "All   done\nnow",
        )
        .unwrap();
        assert_eq!(n.title, "Reply finished — Deploy");
        assert_eq!(n.body, "All done now");
        assert_eq!(n.tag, "hermes-pane-a");
        let n = note(
            true,
            false,
            "a",
            "",
            Happened::Waits(AttentionKind::Approval),
            "rm -rf x",
        )
        .unwrap();
        assert_eq!(n.title, "Approval needed — A conversation");
        let n = note(
            true,
            false,
            "b",
            "Q",
            Happened::Waits(AttentionKind::Clarify),
            "",
        )
        .unwrap();
        assert_eq!(n.title, "Question for you — Q");
        let n = note(true, false, "b", "Q", Happened::Failed, "boom").unwrap();
        assert_eq!(n.title, "Reply failed — Q");
        assert_eq!(short(&"x".repeat(200), 10).chars().count(), 10);
    }

    #[test]
    fn the_tab_title_counts_the_sessions_that_want_the_person() {
        assert_eq!(tab_title(None, 0), "Hermes");
        assert_eq!(tab_title(Some("Deploy"), 0), "Deploy — Hermes");
        assert_eq!(tab_title(Some("Deploy"), 2), "(2) Deploy — Hermes");
        assert_eq!(tab_title(Some("  "), 1), "(1) Hermes");
    }
}
