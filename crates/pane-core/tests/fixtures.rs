//! The real backend's captured traffic decodes, and replaying it through the runtime gives what
//! the backend saved.

mod common;

use common::*;
use pane_core::event::KNOWN_EVENTS;
use pane_core::session::{Applied, Intent, SessionRuntime};
use pane_core::turn::{saved_turn_text, LiveTurn};
use pane_core::wire::*;
use pane_core::StreamEvent;

const STREAMS: &[&str] = &[
    "after_end",
    "approval_once",
    "basic",
    "cancel",
    "clarify",
    "late_replay_A",
    "late_replay_B",
    "reasoning",
    "second_turn_1",
    "second_turn_2",
    "tool",
    "two_clients_A",
    "two_clients_C_late",
];

#[test]
fn every_fixture_file_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for n in &names {
        let covered = n == "README.md"
            || n == "basic.headers"
            || n == "after_end_unknown.ts.sse"
            || n.ends_with(".json")
            || STREAMS.iter().any(|s| *n == format!("{s}.ts.sse"));
        assert!(covered, "fixture {n} is not exercised by these tests");
    }
}

#[test]
fn every_stream_fixture_decodes_with_no_unknown_contract_event() {
    let mut seen = std::collections::BTreeSet::new();
    for s in STREAMS {
        let fs = frames(&format!("{s}.ts.sse"));
        assert!(!fs.is_empty(), "{s}");
        for f in &fs {
            if let StreamEvent::Unknown { name, .. } = &f.event {
                assert!(
                    !KNOWN_EVENTS.contains(&name.as_str()),
                    "{s}: contract event {name} decoded as Unknown"
                );
                panic!("{s}: unexpected event {name}");
            }
            seen.insert(f.event.name().to_string());
            assert!(
                f.id.is_some(),
                "{s}: every captured frame carries a journal id"
            );
        }
    }
    for must in [
        "token",
        "reasoning",
        "tool",
        "tool_complete",
        "approval",
        "clarify",
        "metering",
        "done",
        "title",
        "title_status",
        "stream_end",
        "cancel",
        "context_status",
    ] {
        assert!(seen.contains(must), "no fixture exercised {must}");
    }
}

#[test]
fn every_json_fixture_decodes() {
    let j = |n: &str| read_fixture(n);
    let start: ChatStartReply = pane_core::from_json(&j("basic.start.json")).unwrap();
    assert_eq!(
        start.stream_id.as_deref(),
        Some("1b5988d4a99d4385b1fe6cafbbd671b0")
    );
    let _: ChatStartReply = pane_core::from_json(&j("tool.start.json")).unwrap();
    let st: StreamStatus = pane_core::from_json(&j("basic.status_after.json")).unwrap();
    assert!(!st.active && st.replay_available);
    assert_eq!(
        st.journal.unwrap().terminal_state.as_deref(),
        Some("completed")
    );
    let c: CancelReply = pane_core::from_json(&j("cancel.response.json")).unwrap();
    assert!(c.ok && c.cancelled);
    let ap: ApprovalPending = pane_core::from_json(&j("approval_once.pending.json")).unwrap();
    let ap = ap.pending.unwrap();
    assert_eq!(ap.command, "rm -rf ./hwui-danger-demo");
    assert_eq!(
        ap.gateway_mirror_token.as_deref(),
        Some("c1031b95af3a42809531154b77c77a6e")
    );
    let r: RespondReply = pane_core::from_json(&j("approval_once.respond.json")).unwrap();
    assert_eq!(r.outcome(), RespondOutcome::Accepted);
    let cp: ClarifyPending = pane_core::from_json(&j("clarify.pending.json")).unwrap();
    assert_eq!(cp.pending.unwrap().choices_offered, vec!["staging", "prod"]);
    let cr: RespondReply = pane_core::from_json(&j("clarify.respond.json")).unwrap();
    assert_eq!(cr.response.as_deref(), Some("staging"));
    for n in [
        "approval_once.session_after.json",
        "cancel.session_after.json",
        "tool.session_after.json",
    ] {
        let s: SessionEnvelope = pane_core::from_json(&j(n)).unwrap();
        assert!(!s.session.messages.is_empty(), "{n}");
        assert!(s.session.active_stream_id.is_none(), "{n}");
    }
    // after_end_unknown is a 404 body, not a stream.
    let body = raw_body(&read_fixture("after_end_unknown.ts.sse"));
    let e: ApiError = pane_core::from_json(&body).unwrap();
    assert_eq!(e.error.as_deref(), Some("stream not found"));
    let headers = read_fixture("basic.headers");
    assert!(headers.contains("Content-Type: text/event-stream"));
}

/// What replaying a fixture gave.
struct Replay {
    rt: SessionRuntime,
    /// The live turn just before the settling event (`done` / `cancel`).
    live_before_settle: Option<LiveTurn>,
    effects: Vec<Intent>,
    saved: Option<SessionDetail>,
}

fn replay(name: &str) -> Replay {
    let fs = frames(&format!("{name}.ts.sse"));
    let stream = stream_of(&fs);
    let sid = fs
        .iter()
        .find_map(|f| match &f.event {
            StreamEvent::ContextStatus(c) => c.session_id.clone(),
            StreamEvent::StreamEnd(e) => e.session_id.clone(),
            _ => None,
        })
        .unwrap();
    let mut rt = SessionRuntime::new(&sid);
    rt.started(&stream);
    let mut live_before_settle = None;
    let mut effects = Vec::new();
    let mut saved = None;
    for f in &fs {
        match &f.event {
            StreamEvent::Done(d) => {
                live_before_settle = rt.live().cloned();
                saved = d.session.clone();
            }
            StreamEvent::Cancel(c) => {
                live_before_settle = rt.live().cloned();
                saved = c.session.clone();
            }
            _ => {}
        }
        let step = rt.apply(&stream, f.id.as_ref(), &f.event);
        assert_ne!(step.applied, Applied::Stale, "{name}");
        effects.extend(step.intents);
    }
    Replay {
        rt,
        live_before_settle,
        effects,
        saved,
    }
}

fn cards(turn: &LiveTurn) -> Vec<(Option<String>, String, Option<String>)> {
    turn.cards()
        .map(|c| (c.tid.clone(), c.name.clone(), c.preview.clone()))
        .collect()
}

fn saved_cards(s: &SessionDetail) -> Vec<(Option<String>, String, Option<String>)> {
    s.tool_calls
        .iter()
        .map(|t| (t.tid.clone(), t.name.clone(), t.snippet.clone()))
        .collect()
}

#[test]
fn replaying_each_full_stream_gives_the_saved_text_and_tool_cards() {
    for name in [
        "after_end",
        "approval_once",
        "basic",
        "clarify",
        "late_replay_A",
        "late_replay_B",
        "reasoning",
        "second_turn_1",
        "second_turn_2",
        "tool",
        "two_clients_A",
    ] {
        let r = replay(name);
        let saved = r
            .saved
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no saved session"));
        let live = r
            .live_before_settle
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no live turn"));
        assert_eq!(
            live.text(),
            saved_turn_text(&saved.messages),
            "{name}: live text differs from the saved reply"
        );
        assert_eq!(cards(live), saved_cards(saved), "{name}: tool cards differ");
        assert_eq!(
            r.rt.messages(),
            saved.messages,
            "{name}: settled transcript is the saved one"
        );
        assert!(r.rt.live().is_none(), "{name}");
        let s = r.rt.stream().unwrap();
        assert!(
            s.settled && s.ended,
            "{name}: done settles, stream_end ends"
        );
        assert!(
            r.effects
                .iter()
                .any(|e| matches!(e, Intent::CloseTransport { .. })),
            "{name}: transport closed at the end"
        );
        assert!(
            !r.effects.contains(&Intent::Reload),
            "{name}: nothing to re-fetch after a clean end"
        );
        assert!(!s.gap, "{name}");
    }
}

#[test]
fn reasoning_is_kept_apart_from_the_answer() {
    let r = replay("reasoning");
    let live = r.live_before_settle.unwrap();
    assert_eq!(
        live.reasoning_text(),
        "think0 think1 think2 think3 think4 think5 think6 think7 think8 think9"
    );
    assert_eq!(
        r.saved.unwrap().messages[1].reasoning.as_deref(),
        Some(live.reasoning_text().as_str())
    );
}

#[test]
fn title_after_done_updates_the_session_title() {
    let r = replay("basic");
    assert_eq!(r.rt.title(), Some("Fake title 2"));
}

#[test]
fn cancel_adopts_the_embedded_session_and_ends_the_stream() {
    let r = replay("cancel");
    let live = r.live_before_settle.unwrap();
    let after: SessionEnvelope =
        pane_core::from_json(&read_fixture("cancel.session_after.json")).unwrap();
    let partial = after.session.messages.iter().find(|m| m.partial).unwrap();
    assert_eq!(live.text(), partial.text());
    assert_eq!(r.rt.messages().len(), after.session.messages.len());
    assert!(r.rt.cancelled());
    assert!(r.rt.stream().unwrap().ended);
    assert!(!r.rt.is_busy());
    assert!(r
        .effects
        .iter()
        .any(|e| matches!(e, Intent::CloseTransport { .. })));
}

#[test]
fn cancel_reusing_the_previous_id_is_not_dropped() {
    let fs = frames("cancel.ts.sse");
    let n = fs.len();
    assert_eq!(
        fs[n - 1].id,
        fs[n - 2].id,
        "the capture really reuses the id"
    );
    let r = replay("cancel");
    assert!(r.rt.cancelled());
}

#[test]
fn approval_and_clarify_are_owned_by_the_session_and_cleared_at_done() {
    for (name, check) in [("approval_once", true), ("clarify", false)] {
        let fs = frames(&format!("{name}.ts.sse"));
        let stream = stream_of(&fs);
        let mut rt = SessionRuntime::new("s");
        rt.started(&stream);
        let mut saw_pending = false;
        for f in &fs {
            rt.apply(&stream, f.id.as_ref(), &f.event);
            if check {
                saw_pending |= rt.approval().is_some();
            } else {
                saw_pending |= rt.clarify().is_some_and(|c| c.question == "Which target?");
            }
        }
        assert!(saw_pending, "{name}");
        assert!(
            rt.approval().is_none() && rt.clarify().is_none(),
            "{name}: cleared once settled"
        );
    }
}

#[test]
fn saved_sessions_match_the_done_session() {
    for (stream, after) in [
        ("tool", "tool.session_after.json"),
        ("approval_once", "approval_once.session_after.json"),
    ] {
        let r = replay(stream);
        let after: SessionEnvelope = pane_core::from_json(&read_fixture(after)).unwrap();
        assert_eq!(r.rt.messages(), after.session.messages, "{stream}");
        assert_eq!(r.rt.tool_calls(), after.session.tool_calls, "{stream}");
    }
}

#[test]
fn two_clients_and_late_replay_end_identical_to_a_single_full_stream() {
    let a = replay("two_clients_A");
    let c = replay("two_clients_C_late");
    assert_eq!(a.rt.messages(), c.rt.messages());
    assert!(
        c.rt.stream().unwrap().gap,
        "C joined mid-stream without a cursor: a gap is noted"
    );
    // Live, C shows exactly the tail it was sent — a suffix of A's text, nothing doubled —
    // and `done.session` then fills in the part it missed.
    let (a_live, c_live) = (
        a.live_before_settle.unwrap().text(),
        c.live_before_settle.unwrap().text(),
    );
    assert!(
        !c_live.is_empty() && c_live.len() < a_live.len(),
        "C saw part of the reply: {c_live:?}"
    );
    assert!(
        a_live.ends_with(&c_live),
        "C's live text {c_live:?} is the tail of A's {a_live:?}"
    );
    assert_eq!(
        saved_turn_text(c.rt.messages()),
        a_live,
        "settled, C reads the whole reply"
    );
    let la = replay("late_replay_A");
    let lb = replay("late_replay_B");
    assert_eq!(la.rt.messages(), lb.rt.messages());
    assert_eq!(
        la.live_before_settle.unwrap().text(),
        lb.live_before_settle.unwrap().text()
    );
}

#[test]
fn second_turn_builds_on_the_first() {
    let one = replay("second_turn_1");
    let two = replay("second_turn_2");
    assert_eq!(two.rt.messages().len(), one.rt.messages().len() + 2);
    assert_eq!(
        two.rt.messages()[..one.rt.messages().len()],
        one.rt.messages()[..]
    );
}

#[test]
fn replaying_a_fixture_twice_is_idempotent() {
    for name in ["basic", "tool", "cancel"] {
        let fs = frames(&format!("{name}.ts.sse"));
        let stream = stream_of(&fs);
        let mut once = SessionRuntime::new("s");
        once.started(&stream);
        let mut twice = once.clone();
        for f in &fs {
            once.apply(&stream, f.id.as_ref(), &f.event);
        }
        for f in fs.iter().chain(fs.iter()) {
            twice.apply(&stream, f.id.as_ref(), &f.event);
        }
        assert_eq!(once.messages(), twice.messages(), "{name}");
        assert_eq!(once.live(), twice.live(), "{name}");
    }
}

#[test]
fn a_turns_own_usage_is_the_difference_of_the_cumulative_counters() {
    // `done.usage` counts the whole session (100/40 after turn 1, 200/80 after turn 2).
    let mut rt = SessionRuntime::new("s");
    for name in ["second_turn_1", "second_turn_2"] {
        let fs = frames(&format!("{name}.ts.sse"));
        let stream = stream_of(&fs);
        rt.started(&stream);
        for f in &fs {
            rt.apply(&stream, f.id.as_ref(), &f.event);
        }
    }
    let turn = rt.turn_usage().unwrap();
    assert_eq!(
        (turn.input_tokens, turn.output_tokens),
        (Some(100.0), Some(40.0))
    );
    assert_eq!(
        rt.last_usage().unwrap().output_tokens,
        Some(80.0),
        "the cumulative figure is kept too"
    );
    assert_eq!(rt.session_tokens(), Some((200.0, 80.0)));
}

#[test]
fn a_local_runs_approval_is_answered_without_the_gateway_relay_fields() {
    // The real backend's pending approval of a local run: a `_gateway_mirror_token`, no
    // `run_id`. Sent alone, the token makes the backend take the gateway-relay path and answer
    // 409 `gateway_run_unavailable` (checked against the unmodified backend).
    let ap: ApprovalPending =
        pane_core::from_json(&read_fixture("approval_once.pending.json")).unwrap();
    let ap = ap.pending.unwrap();
    for choice in [
        ApprovalChoice::Once,
        ApprovalChoice::Session,
        ApprovalChoice::Always,
        ApprovalChoice::Deny,
    ] {
        let body = serde_json::to_value(ApprovalRespond::new("s1", &ap, choice)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "session_id": "s1",
                "choice": choice.as_str(),
                "approval_id": "gwlocal:c1031b95af3a42809531154b77c77a6e"
            })
        );
    }
    // A gateway-mirrored approval of a run carries both, and both are sent.
    let relayed = Approval {
        run_id: Some("run-7".into()),
        ..ap.clone()
    };
    let body =
        serde_json::to_value(ApprovalRespond::new("s1", &relayed, ApprovalChoice::Once)).unwrap();
    assert_eq!(body["run_id"], "run-7");
    assert_eq!(body["mirror_token"], "c1031b95af3a42809531154b77c77a6e");
}
