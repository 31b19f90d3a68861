//! Exactly once, under any interleaving: a model server with per-stream journals, a model shell
//! that carries out the hub's actions, and random deliveries, duplicates, pane switches,
//! dropped transports, reconnects with cursors, budget changes (park/unpark) and reloads
//! (rebuild from snapshot + cursor). After every step each session's live text and tool cards
//! equal the server's truth up to the session's cursor; at the end every transcript equals the
//! saved one, no transport is left open, and no pane switch ever changed a runtime.

use std::collections::BTreeMap;

use pane_core::event::*;
use pane_core::hub::{Command, Hub, Input};
use pane_core::session::SessionRuntime;
use pane_core::transport::{Budget, ReadyState};
use pane_core::turn::{LiveTurn, Segment, ToolStatus};
use pane_core::wire::*;
use pane_core::{EventId, StreamEvent};
use proptest::prelude::*;

/// What the model agent does in one step of a turn.
#[derive(Debug, Clone)]
enum Beat {
    Token(u8),
    Reasoning(u8),
    Tool,
    ToolDone,
    /// Mid-turn prose at a message boundary that was already streamed: seals the segment.
    Interim,
}

/// How the turn ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    DoneTitleEnd,
    Cancel,
    Interrupted,
}

struct Truth {
    sid: String,
    stream: String,
    /// Journaled frames; `journal[i]` has seq `i + 1`.
    journal: Vec<StreamEvent>,
    produced: usize,
    /// The saved transcript once the turn has settled.
    final_messages: Vec<Message>,
    /// Index of the first frame after which the server's saved transcript is final.
    settled_at: usize,
}

fn raw_text_of(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| {
            if let StreamEvent::Token(t) = e {
                Some(t.text.as_str())
            } else {
                None
            }
        })
        .collect()
}

fn cards_of(events: &[StreamEvent]) -> Vec<(String, bool)> {
    let mut cards: Vec<(String, bool)> = Vec::new();
    for e in events {
        match e {
            StreamEvent::Tool(t) => cards.push((t.tid.clone().unwrap(), false)),
            StreamEvent::ToolComplete(t) => {
                if let Some(c) = cards.iter_mut().find(|c| Some(&c.0) == t.tid.as_ref()) {
                    c.1 = true;
                }
            }
            _ => {}
        }
    }
    cards
}

fn live_raw_text(l: &LiveTurn) -> String {
    l.segments
        .iter()
        .filter_map(|s| {
            if let Segment::Text { text, .. } = s {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect()
}

fn live_cards(l: &LiveTurn) -> Vec<(String, bool)> {
    l.cards()
        .map(|c| {
            (
                c.tid.clone().unwrap_or_default(),
                c.status != ToolStatus::Running,
            )
        })
        .collect()
}

fn build_truth(i: usize, beats: &[Beat], ending: Ending) -> Truth {
    let sid = format!("s{i}");
    let stream = format!("st{i}");
    let mut journal = vec![StreamEvent::ContextStatus(ContextStatus {
        session_id: Some(sid.clone()),
        prefill: serde_json::Value::Null,
    })];
    let mut open_tools: Vec<String> = Vec::new();
    let mut n_tools = 0;
    for b in beats {
        match b {
            Beat::Token(x) => journal.push(StreamEvent::Token(TextDelta {
                text: format!(" {sid}t{}x{x}", journal.len()),
            })),
            Beat::Reasoning(x) => journal.push(StreamEvent::Reasoning(TextDelta {
                text: format!("r{x}"),
            })),
            Beat::Tool => {
                n_tools += 1;
                let tid = format!("{sid}-call{n_tools}");
                open_tools.push(tid.clone());
                journal.push(StreamEvent::Tool(ToolEvent {
                    name: "terminal".into(),
                    tid: Some(tid),
                    args: serde_json::json!({"command": "ls"}),
                    ..Default::default()
                }));
            }
            Beat::Interim => journal.push(StreamEvent::InterimAssistant(InterimAssistant {
                text: "(already streamed)".into(),
                already_streamed: true,
                ..Default::default()
            })),
            Beat::ToolDone => {
                if let Some(tid) = open_tools.pop() {
                    journal.push(StreamEvent::ToolComplete(ToolEvent {
                        name: "terminal".into(),
                        tid: Some(tid),
                        preview: Some("ok".into()),
                        ..Default::default()
                    }));
                }
            }
        }
        if journal.len() % 5 == 0 {
            journal.push(StreamEvent::Metering(Box::new(Metering {
                tps: Some(10.0),
                tps_available: true,
                ..Default::default()
            })));
        }
    }
    let text = raw_text_of(&journal);
    let user = Message {
        role: "user".into(),
        content: Some(Content::Text(format!("question {i}"))),
        ..Default::default()
    };
    let reply = Message {
        role: "assistant".into(),
        content: Some(Content::Text(text.trim().to_string())),
        ..Default::default()
    };
    let settled_at;
    let final_messages;
    match ending {
        Ending::DoneTitleEnd => {
            final_messages = vec![user, reply];
            let session = SessionDetail {
                session_id: sid.clone(),
                messages: final_messages.clone(),
                ..Default::default()
            };
            journal.push(StreamEvent::Done(Box::new(Done {
                session: Some(session),
                ..Default::default()
            })));
            settled_at = journal.len();
            journal.push(StreamEvent::Title(Title {
                session_id: Some(sid.clone()),
                title: format!("Title {i}"),
            }));
            journal.push(StreamEvent::StreamEnd(StreamEnd {
                session_id: Some(sid.clone()),
            }));
        }
        Ending::Cancel => {
            let mut partial = reply;
            partial.partial = true;
            let marker = Message {
                role: "assistant".into(),
                content: Some(Content::Text("**Task cancelled:**".into())),
                error: true,
                ..Default::default()
            };
            final_messages = vec![user, partial, marker];
            let session = SessionDetail {
                session_id: sid.clone(),
                messages: final_messages.clone(),
                ..Default::default()
            };
            journal.push(StreamEvent::Cancel(Box::new(Cancel {
                session: Some(session),
                ..Default::default()
            })));
            settled_at = journal.len();
        }
        Ending::Interrupted => {
            let mut partial = reply;
            partial.partial = true;
            final_messages = vec![user, partial];
            journal.push(StreamEvent::AppError(Box::new(AppError {
                kind: Some("interrupted".into()),
                recovery_control: true,
                ..Default::default()
            })));
            settled_at = journal.len();
        }
    }
    Truth {
        sid,
        stream,
        journal,
        produced: 0,
        final_messages,
        settled_at,
    }
}

/// A model EventSource: delivers journal frames from `next` as the server produces them.
#[derive(Debug, Clone)]
struct Conn {
    session: usize,
    stream: String,
    next: usize,
    last: Option<usize>,
}

struct World {
    truths: Vec<Truth>,
    hub: Hub,
    conns: Vec<Conn>,
    budget_connections: usize,
}

impl World {
    fn idx(&self, sid: &str) -> usize {
        let resolved = self.hub.resolve(sid);
        self.truths
            .iter()
            .position(|t| t.sid == resolved || t.sid == sid)
            .expect("known session")
    }

    fn finished(&self, i: usize) -> bool {
        self.truths[i].produced == self.truths[i].journal.len()
    }

    /// What `GET /api/session` answers now.
    fn detail(&self, i: usize) -> SessionDetail {
        let t = &self.truths[i];
        let settled = t.produced >= t.settled_at;
        let live = !self.finished(i);
        let prefix = &t.journal[..t.produced];
        SessionDetail {
            session_id: t.sid.clone(),
            messages: if settled {
                t.final_messages.clone()
            } else {
                Vec::new()
            },
            active_stream_id: live.then(|| t.stream.clone()),
            runtime_journal_snapshot: (live && !settled).then(|| JournalSnapshot {
                stream_id: Some(t.stream.clone()),
                last_seq: t.produced as u64,
                last_event_id: Some(format!("{}:{}", t.stream, t.produced)),
                last_assistant_text: Some(raw_text_of(prefix)),
                tool_calls: cards_of(prefix)
                    .into_iter()
                    .map(|(tid, done)| SnapshotToolCall {
                        name: "terminal".into(),
                        tid: Some(tid),
                        done,
                        preview: done.then(|| "ok".into()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn run(&mut self, actions: Vec<Command>) {
        let mut queue: std::collections::VecDeque<Command> = actions.into();
        while let Some(a) = queue.pop_front() {
            match a {
                Command::Open {
                    session_id,
                    stream_id,
                    query,
                } => {
                    let after: usize = query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("after_seq="))
                        .and_then(|v| v.parse().ok())
                        .expect("cursor in query");
                    assert!(query.contains("replay=1"));
                    let session = self.idx(&session_id);
                    assert_eq!(self.truths[session].stream, stream_id);
                    self.conns.push(Conn {
                        session,
                        stream: stream_id,
                        next: after,
                        last: None,
                    });
                }
                Command::Close { stream_id, .. } => self.conns.retain(|c| c.stream != stream_id),
                Command::Probe {
                    session_id,
                    stream_id,
                    ..
                } => {
                    let i = self.idx(&session_id);
                    let status = StreamStatus {
                        active: !self.finished(i),
                        replay_available: true,
                        stream_id: Some(stream_id.clone()),
                        journal: None,
                    };
                    queue.extend(self.hub.update(Input::Probed {
                        session: session_id,
                        stream: stream_id,
                        status: Some(status),
                    }));
                }
                Command::Reload { session_id, .. } => {
                    let d = self.detail(self.idx(&session_id));
                    let at = self.hub.ticket();
                    queue.extend(self.hub.update(Input::Loaded {
                        session: session_id,
                        detail: d,
                        messages: true,
                        at,
                    }));
                }
                Command::Renamed { .. }
                | Command::Notice { .. }
                | Command::StartTurn { .. }
                | Command::GiveBack { .. }
                | Command::Finished { .. }
                | Command::Waits { .. } => {}
            }
        }
        // Never more transports than the budget allows.
        assert!(
            self.conns.len() <= Budget::with_connections(self.budget_connections).chat_slots(),
            "{} open > budget",
            self.conns.len()
        );
        assert_eq!(self.conns.len(), self.hub.open_transports().len());
    }

    fn deliver(&mut self, c: usize, duplicate: bool) {
        let conn = self.conns[c].clone();
        let t = &self.truths[conn.session];
        let idx = if duplicate {
            match conn.last {
                Some(l) => l,
                None => return,
            }
        } else {
            if conn.next >= t.produced {
                return;
            }
            conn.next
        };
        let event = t.journal[idx].clone();
        // The immediate `cancel` is sent with the previous frame's id (§3.5).
        let seq = if matches!(event, StreamEvent::Cancel(_)) {
            idx as u64
        } else {
            idx as u64 + 1
        };
        let id = EventId {
            stream_id: conn.stream.clone(),
            seq,
        };
        if !duplicate {
            self.conns[c].next += 1;
            self.conns[c].last = Some(idx);
        }
        self.hub.update(Input::ReadyState {
            stream: conn.stream.clone(),
            state: ReadyState::Open,
        });
        let actions = self.hub.update(Input::Frame {
            stream: conn.stream.clone(),
            id: Some(id),
            event,
        });
        self.run(actions);
    }

    fn reload_all(&mut self) {
        self.conns.clear();
        let active = self.hub.active().map(str::to_string);
        self.hub = Hub::new(Budget::with_connections(self.budget_connections));
        let mut actions = self.hub.update(Input::Show(active));
        for i in 0..self.truths.len() {
            let d = self.detail(i);
            let sid = self.truths[i].sid.clone();
            let at = self.hub.ticket();
            actions.extend(self.hub.update(Input::Loaded {
                session: sid,
                detail: d,
                messages: true,
                at,
            }));
        }
        self.run(actions);
    }

    fn check(&self) {
        for (i, t) in self.truths.iter().enumerate() {
            let Some(rt) = self.hub.session(&t.sid) else {
                continue;
            };
            check_session(i, t, rt);
        }
    }
}

fn check_session(i: usize, t: &Truth, rt: &SessionRuntime) {
    let Some(s) = rt.stream() else { return };
    assert_eq!(s.stream_id, t.stream, "session {i} follows its own stream");
    let cursor = s.cursor.seq as usize;
    assert!(
        cursor <= t.produced,
        "session {i}: cursor {cursor} ahead of the server {}",
        t.produced
    );
    if cursor >= t.settled_at || s.settled {
        if rt.live().is_none() && rt.loaded() {
            assert_eq!(
                rt.messages(),
                t.final_messages,
                "session {i}: settled transcript"
            );
        }
        return;
    }
    if let Some(l) = rt.live().filter(|_| !s.ended) {
        let prefix = &t.journal[..cursor];
        assert_eq!(
            live_raw_text(l),
            raw_text_of(prefix),
            "session {i}: live text at seq {cursor}"
        );
        assert_eq!(
            live_cards(l),
            cards_of(prefix),
            "session {i}: tool cards at seq {cursor}"
        );
    }
}

fn beat() -> impl Strategy<Value = Beat> {
    prop_oneof![
        6 => any::<u8>().prop_map(Beat::Token),
        1 => any::<u8>().prop_map(Beat::Reasoning),
        1 => Just(Beat::Tool),
        1 => Just(Beat::ToolDone),
        1 => Just(Beat::Interim),
    ]
}

fn ending() -> impl Strategy<Value = Ending> {
    prop_oneof![
        6 => Just(Ending::DoneTitleEnd),
        1 => Just(Ending::Cancel),
        1 => Just(Ending::Interrupted),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Produce(u8),
    Deliver(u8),
    Duplicate(u8),
    Switch(u8),
    Drop(u8),
    Budget(u8),
    Reload,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => any::<u8>().prop_map(Op::Produce),
        10 => any::<u8>().prop_map(Op::Deliver),
        2 => any::<u8>().prop_map(Op::Duplicate),
        3 => any::<u8>().prop_map(Op::Switch),
        1 => any::<u8>().prop_map(Op::Drop),
        1 => any::<u8>().prop_map(Op::Budget),
        1 => Just(Op::Reload),
    ]
}

/// Per-session streams (beats and how they end), the ops interleaved with them, the budget.
type Scenario = (Vec<(Vec<Beat>, Ending)>, Vec<Op>, usize);

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec((prop::collection::vec(beat(), 1..14), ending()), 3..=4),
        prop::collection::vec(op(), 10..120),
        2usize..=4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_session_ends_exactly_once_whatever_the_interleaving(
        (scripts, ops, budget) in scenario()
    ) {
        let truths: Vec<Truth> = scripts
            .iter()
            .enumerate()
            .map(|(i, (b, e))| build_truth(i, b, *e))
            .collect();
        let mut w = World {
            truths,
            hub: Hub::new(Budget::with_connections(budget)),
            conns: Vec::new(),
            budget_connections: budget,
        };
        let n = w.truths.len();
        // Every turn was started by this client.
        let mut actions = w.hub.update(Input::Show(Some("s0".into())));
        for i in 0..n {
            let (sid, stream) = (w.truths[i].sid.clone(), w.truths[i].stream.clone());
            actions.extend(w.hub.update(Input::Send {
                session: sid.clone(),
                text: format!("question {i}"),
                uploads: Vec::new(),
            }));
            actions.extend(w.hub.update(Input::Started {
                session: sid,
                stream,
                uploads: Vec::new(),
            }));
        }
        w.run(actions);
        for op in ops {
            match op {
                Op::Produce(i) => {
                    let i = i as usize % n;
                    if !w.finished(i) { w.truths[i].produced += 1; }
                }
                Op::Deliver(c) if !w.conns.is_empty() => {
                    let c = c as usize % w.conns.len();
                    w.deliver(c, false)
                }
                Op::Duplicate(c) if !w.conns.is_empty() => {
                    let c = c as usize % w.conns.len();
                    w.deliver(c, true)
                }
                Op::Switch(i) => {
                    let before: BTreeMap<String, SessionRuntime> = w
                        .hub
                        .sessions()
                        .map(|s| (s.id().to_string(), s.clone()))
                        .collect();
                    let target = format!("s{}", i as usize % n);
                    let actions = w.hub.update(Input::Show(Some(target)));
                    let after: BTreeMap<String, SessionRuntime> = w
                        .hub
                        .sessions()
                        .map(|s| (s.id().to_string(), s.clone()))
                        .collect();
                    prop_assert_eq!(&before, &after, "a pane switch changed a runtime");
                    let only_transport = actions
                        .iter()
                        .all(|a| matches!(a, Command::Open { .. } | Command::Close { .. }));
                    prop_assert!(only_transport, "a switch only opens or closes transports");
                    w.run(actions);
                }
                Op::Drop(c) if !w.conns.is_empty() => {
                    let conn = w.conns.remove(c as usize % w.conns.len());
                    let actions = w.hub.update(Input::Failed { stream: conn.stream.clone() });
                    w.run(actions);
                }
                Op::Budget(b) => {
                    w.budget_connections = 2 + b as usize % 3;
                    let actions = w
                        .hub
                        .update(Input::Budget(Budget::with_connections(w.budget_connections)));
                    w.run(actions);
                }
                Op::Reload => w.reload_all(),
                _ => {}
            }
            w.check();
        }
        // Drain: the server finishes every turn and the client takes everything in.
        for _ in 0..10_000 {
            let mut progressed = false;
            for i in 0..n {
                if !w.finished(i) { w.truths[i].produced += 1; progressed = true; }
            }
            for c in 0..w.conns.len() {
                if c < w.conns.len() && w.conns[c].next < w.truths[w.conns[c].session].produced {
                    w.deliver(c, false);
                    progressed = true;
                }
            }
            w.check();
            if !progressed { break; }
        }
        for (i, t) in w.truths.iter().enumerate() {
            let rt = w.hub.session(&t.sid).expect("session kept");
            prop_assert_eq!(&rt.messages(), &t.final_messages, "session {}: final transcript", i);
            prop_assert!(rt.live().is_none(), "session {}: live turn settled", i);
            prop_assert!(!rt.is_busy(), "session {}: not busy", i);
            prop_assert!(!rt.wants_transport(), "session {}: wants no transport", i);
        }
        prop_assert!(w.conns.is_empty(), "transports left open: {:?}", w.conns);
        prop_assert!(w.hub.open_transports().is_empty());
    }
}
