//! The tabs' shared transports (`pane_core::relay`): the leader's ranking across tabs, the
//! relay of frames through each tab's own hub, handoff from the cursors, and exactly-once
//! where a relayed frame and a replayed one overlap. Each tab is a real `pane_core::Hub`; the
//! channel and the server's journal are simulated.

use std::collections::BTreeSet;

use pane_core::relay::{Follower, Leader, Msg, Out, Rank, RawFrame, Solo, TabWants, Take, Want};
use pane_core::{Budget, Frame, Hub, Input};

const STREAM: &str = "st-1";

/// The server's journal of `stream`: `n` tokens `tok1 … tokN`, seq 1…n.
fn journal(stream: &str, n: u64) -> Vec<RawFrame> {
    (1..=n)
        .map(|i| RawFrame {
            id: format!("{stream}:{i}"),
            name: "token".into(),
            data: format!(r#"{{"text":"tok{i} "}}"#),
        })
        .collect()
}

fn want(session: &str, stream: &str, seq: u64, rank: Rank) -> Want {
    Want {
        session: session.into(),
        stream: stream.into(),
        seq,
        rank,
    }
}

fn tab(id: &str, visible: bool, wants: Vec<Want>) -> TabWants {
    TabWants {
        tab: id.into(),
        visible,
        wants,
    }
}

/// A tab's hub following `stream` in session `s1`, with everything it wants unlimited.
fn hub_following(stream: &str) -> Hub {
    let mut hub = Hub::new(Budget::unlimited());
    hub.update(Input::Started {
        session: "s1".into(),
        stream: stream.into(),
        uploads: Vec::new(),
    });
    hub
}

/// Applies relayed frames through the same decode → apply path a transport's take.
fn apply(hub: &mut Hub, stream: &str, frames: &[RawFrame]) {
    for f in frames {
        let frame = Frame::decode(&f.id, &f.name, &f.data).expect("decodes");
        hub.update(Input::Frame {
            stream: stream.into(),
            id: frame.id,
            event: frame.event,
        });
    }
}

fn text(hub: &Hub) -> String {
    hub.session("s1")
        .and_then(|s| s.live())
        .map(|l| l.text())
        .unwrap_or_default()
}

fn tokens(n: u64) -> String {
    let s: String = (1..=n).map(|i| format!("tok{i} ")).collect();
    s.trim_end().to_string()
}

fn seq(hub: &Hub) -> u64 {
    hub.session("s1")
        .and_then(|s| s.stream())
        .map_or(0, |s| s.cursor.seq)
}

fn opened(out: &[Out]) -> Vec<(String, String)> {
    out.iter()
        .filter_map(|o| match o {
            Out::Open { stream, query, .. } => Some((stream.clone(), query.clone())),
            _ => None,
        })
        .collect()
}

fn closed(out: &[Out]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Out::Close { stream } => Some(stream.clone()),
            _ => None,
        })
        .collect()
}

/// What a follower takes of the leader's posts, applied to its hub.
fn deliver(out: &[Out], f: &mut Follower, hub: &mut Hub) {
    for o in out {
        if let Out::Post(m) = o {
            // Through the channel's text, as in the browser.
            let m = Msg::decode(&m.encode()).expect("round-trips");
            if let Take::Frames { stream, frames } = f.receive(m) {
                apply(hub, &stream, &frames);
            }
        }
    }
}

fn local(out: &[Out], hub: &mut Hub) {
    for o in out {
        if let Out::Local { stream, frames } = o {
            apply(hub, stream, frames);
        }
    }
}

#[test]
fn every_message_round_trips_through_the_channel_text() {
    let frame = RawFrame {
        id: "s:3".into(),
        name: "token".into(),
        data: r#"{"text":"a \"quoted\" line\n"}"#.into(),
    };
    let msgs = vec![
        Msg::Leader { tab: "t1".into() },
        Msg::Wants(tab(
            "t2",
            false,
            vec![
                want("a", "s", 4, Rank::Shown),
                want("b", "s2", 0, Rank::Recent(3)),
                want("c", "s3", 9, Rank::Rest),
                want("d", "s4", 1, Rank::Attention),
            ],
        )),
        Msg::Bye { tab: "t2".into() },
        Msg::Frame {
            stream: "s".into(),
            frame: frame.clone(),
        },
        Msg::Attached {
            to: "t2".into(),
            stream: "s".into(),
            frames: vec![frame.clone(), frame],
        },
        Msg::Detached { stream: "s".into() },
        Msg::Failed { stream: "s".into() },
        Msg::SessionsChanged,
        Msg::Answered {
            session: "a".into(),
            approval: true,
        },
        Msg::Held { count: 3 },
        Msg::Here { tab: "t3".into() },
    ];
    for m in msgs {
        assert_eq!(Msg::decode(&m.encode()), Some(m.clone()), "{m:?}");
    }
    assert_eq!(Msg::decode("not json"), None);
    assert_eq!(
        Msg::decode(r#"["Z", 1]"#),
        None,
        "another version's message"
    );
    assert_eq!(
        Msg::decode(r#"["F", "s"]"#),
        None,
        "a malformed frame message"
    );
}

#[test]
fn every_visible_tabs_shown_session_outranks_attention_hidden_tabs_and_recency() {
    let mut l = Leader::new("t1", 3);
    l.wants(
        tab(
            "t1",
            true,
            vec![
                want("a", "sa", 0, Rank::Shown),
                want("r1", "sr1", 0, Rank::Recent(0)),
                want("x1", "sx1", 0, Rank::Rest),
            ],
        ),
        0,
    );
    assert_eq!(
        l.held(),
        vec!["sa", "sr1", "sx1"],
        "free slots are all used"
    );
    // A second visible window shows `b`; a hidden tab shows `h` and has one waiting on an
    // approval.
    l.wants(tab("t2", true, vec![want("b", "sb", 0, Rank::Shown)]), 1);
    let out = l.wants(
        tab(
            "t3",
            false,
            vec![
                want("h", "sh", 0, Rank::Shown),
                want("q", "sq", 0, Rank::Attention),
            ],
        ),
        2,
    );
    assert_eq!(
        l.held(),
        vec!["sa", "sb", "sq"],
        "both visible tabs' shown sessions, then the one waiting on the person"
    );
    assert!(
        closed(&out).contains(&"sr1".to_string()) && !closed(&out).contains(&"sa".to_string()),
        "the recently viewed session was parked: {out:?}"
    );
    let posts: Vec<&Msg> = out
        .iter()
        .filter_map(|o| match o {
            Out::Post(m) => Some(m),
            _ => None,
        })
        .collect();
    assert!(posts.contains(&&Msg::Detached {
        stream: "sr1".into()
    }));
    // The approval is answered: the hidden tab's shown session ranks before recency.
    l.wants(tab("t3", false, vec![want("h", "sh", 0, Rank::Shown)]), 3);
    assert_eq!(l.held(), vec!["sa", "sb", "sh"]);
    // The second window closes: its slot goes to the best of the rest.
    l.gone("t2");
    assert_eq!(l.held(), vec!["sa", "sh", "sr1"]);
    let budget = 3;
    assert!(l.held().len() <= budget);
}

#[test]
fn a_stream_two_tabs_want_is_held_once_and_opened_from_the_lowest_cursor() {
    let mut l = Leader::new("t1", 3);
    l.wants(tab("t2", true, vec![want("s1", STREAM, 7, Rank::Shown)]), 0);
    let out = l.wants(tab("t1", false, vec![want("s1", STREAM, 4, Rank::Rest)]), 0);
    // t2 asked first (opened after 7), t1 is behind that: reopened from 4.
    assert_eq!(
        opened(&out),
        vec![(
            STREAM.to_string(),
            "stream_id=st-1&replay=1&after_seq=4&after_event_id=st-1%3A4".to_string()
        )]
    );
    assert_eq!(l.held(), vec![STREAM]);
    assert!(l.is_attached("t1", STREAM) && l.is_attached("t2", STREAM));
}

#[test]
fn relayed_frames_reach_every_tab_once_through_its_own_hub() {
    let j = journal(STREAM, 30);
    let mut l = Leader::new("t1", 3);
    let mut lead_hub = hub_following(STREAM);
    let mut f = Follower::new("t2");
    let mut f_hub = hub_following(STREAM);

    let out = l.wants(tab("t1", true, vec![want("s1", STREAM, 0, Rank::Shown)]), 0);
    assert_eq!(opened(&out).len(), 1);
    for fr in &j[..10] {
        let out = l.frame(STREAM, fr.clone());
        local(&out, &mut lead_hub);
        deliver(&out, &mut f, &mut f_hub);
    }
    assert_eq!(text(&f_hub), "", "a tab not attached takes no frame");
    // The follower joins having loaded the session's snapshot up to seq 3.
    apply(&mut f_hub, STREAM, &j[..3]);
    let out = l.wants(tab("t2", true, vec![want("s1", STREAM, 3, Rank::Shown)]), 1);
    assert!(opened(&out).is_empty(), "the open transport is reused");
    deliver(&out, &mut f, &mut f_hub);
    assert!(f.is_attached(STREAM));
    assert_eq!(
        text(&f_hub),
        tokens(10),
        "caught up from the leader's buffer"
    );
    for fr in &j[10..] {
        let out = l.frame(STREAM, fr.clone());
        local(&out, &mut lead_hub);
        deliver(&out, &mut f, &mut f_hub);
    }
    assert_eq!(text(&lead_hub), tokens(30));
    assert_eq!(text(&f_hub), tokens(30));
    // The transport's own reconnect replays frames already relayed: relayed to nobody.
    assert!(l.frame(STREAM, j[5].clone()).is_empty());
}

#[test]
fn a_tab_behind_the_buffer_gets_a_replay_and_the_tabs_ahead_apply_nothing_twice() {
    let j = journal(STREAM, 40);
    let mut l = Leader::new("t1", 3);
    let mut lead_hub = hub_following(STREAM);
    // The leader joined at seq 12 (its snapshot): the transport opens after 12.
    apply(&mut lead_hub, STREAM, &j[..12]);
    let out = l.wants(
        tab("t1", true, vec![want("s1", STREAM, 12, Rank::Shown)]),
        0,
    );
    assert!(opened(&out)[0].1.contains("after_seq=12"));
    for fr in &j[12..25] {
        local(&l.frame(STREAM, fr.clone()), &mut lead_hub);
    }
    // A follower with only seq 5 applied: the buffer starts at 13, so the leader reopens.
    let mut f = Follower::new("t2");
    let mut f_hub = hub_following(STREAM);
    apply(&mut f_hub, STREAM, &j[..5]);
    let out = l.wants(tab("t2", true, vec![want("s1", STREAM, 5, Rank::Shown)]), 1);
    assert_eq!(closed(&out), vec![STREAM]);
    assert!(opened(&out)[0].1.contains("after_seq=5"), "{out:?}");
    deliver(&out, &mut f, &mut f_hub);
    // The server replays 6…40 on the new transport; the leader had 1…25 already.
    for fr in &j[5..] {
        let out = l.frame(STREAM, fr.clone());
        local(&out, &mut lead_hub);
        deliver(&out, &mut f, &mut f_hub);
    }
    assert_eq!(
        text(&lead_hub),
        tokens(40),
        "each token once in the tab that was ahead"
    );
    assert_eq!(
        text(&f_hub),
        tokens(40),
        "each token once in the tab that was behind"
    );
    assert_eq!(seq(&lead_hub), 40);
}

#[test]
fn handoff_resumes_every_stream_from_the_cursors_the_tabs_hold() {
    let j = journal(STREAM, 50);
    let mut old = Leader::new("t1", 3);
    let mut f2 = Follower::new("t2");
    let mut hub2 = hub_following(STREAM);
    let mut f3 = Follower::new("t3");
    let mut hub3 = hub_following(STREAM);
    old.wants(tab("t1", true, vec![want("s1", STREAM, 0, Rank::Shown)]), 0);
    let out = old.wants(tab("t2", true, vec![want("s1", STREAM, 0, Rank::Shown)]), 0);
    deliver(&out, &mut f2, &mut hub2);
    let out = old.wants(
        tab("t3", false, vec![want("s1", STREAM, 0, Rank::Recent(0))]),
        0,
    );
    deliver(&out, &mut f3, &mut hub3);
    for fr in &j[..20] {
        let out = old.frame(STREAM, fr.clone());
        deliver(&out, &mut f2, &mut hub2);
        // The leader crashes while posting: t3 missed 15…20.
        if fr.id != "st-1:15" && seq(&hub3) < 14 {
            deliver(&out, &mut f3, &mut hub3);
        }
    }
    assert_eq!((seq(&hub2), seq(&hub3)), (20, 14));

    // t2 takes the lock: it announces itself, and t3 sends its wants again.
    let mut new = Leader::new("t2", 3);
    assert_eq!(f3.receive(new.announce()), Take::SendWants);
    assert!(
        !f3.is_attached(STREAM),
        "attachments belong to the leader that made them"
    );
    let out = new.wants(
        tab(
            "t2",
            true,
            vec![want("s1", STREAM, seq(&hub2), Rank::Shown)],
        ),
        1,
    );
    assert!(opened(&out)[0].1.contains("after_seq=20"));
    local(&out, &mut hub2);
    let out = new.wants(
        tab(
            "t3",
            false,
            vec![want("s1", STREAM, seq(&hub3), Rank::Rest)],
        ),
        1,
    );
    assert!(
        opened(&out)[0].1.contains("after_seq=14"),
        "reopened from the lowest cursor: {out:?}"
    );
    local(&out, &mut hub2);
    deliver(&out, &mut f3, &mut hub3);
    for fr in &j[14..] {
        let out = new.frame(STREAM, fr.clone());
        local(&out, &mut hub2);
        deliver(&out, &mut f3, &mut hub3);
    }
    assert_eq!(
        text(&hub2),
        tokens(50),
        "nothing lost, nothing doubled in the new leader"
    );
    assert_eq!(text(&hub3), tokens(50), "nor in the tab that missed frames");
}

#[test]
fn a_failed_transport_is_given_back_to_the_tabs_cores_and_not_reopened_until_asked() {
    let mut l = Leader::new("t1", 3);
    let mut f = Follower::new("t2");
    let mut hub = hub_following(STREAM);
    l.wants(tab("t1", true, vec![want("s1", STREAM, 0, Rank::Shown)]), 0);
    let out = l.wants(tab("t2", true, vec![want("s1", STREAM, 0, Rank::Shown)]), 0);
    deliver(&out, &mut f, &mut hub);
    let out = l.failed(STREAM);
    assert!(out.contains(&Out::LocalFailed {
        stream: STREAM.into()
    }));
    assert!(
        opened(&out).is_empty(),
        "no reconnect loop on a dead backend"
    );
    let failed = out.iter().find_map(|o| match o {
        Out::Post(m) => Some(f.receive(m.clone())),
        _ => None,
    });
    assert_eq!(
        failed,
        Some(Take::Failed {
            stream: STREAM.into()
        })
    );
    assert!(l.held().is_empty());
    // The probe said it is live: the tab asks again and it opens from its cursor.
    let out = l.wants(tab("t2", true, vec![want("s1", STREAM, 9, Rank::Shown)]), 3);
    assert!(opened(&out)[0].1.contains("after_seq=9"));
}

#[test]
fn a_crashed_tab_drops_out_when_its_lock_goes_and_a_new_one_is_kept() {
    let mut l = Leader::new("t1", 1);
    l.wants(tab("t1", true, vec![want("a", "sa", 0, Rank::Rest)]), 0);
    l.wants(tab("t2", true, vec![want("b", "sb", 0, Rank::Shown)]), 0);
    assert_eq!(l.held(), vec!["sb"]);
    let alive: BTreeSet<String> = ["t1".to_string()].into();
    assert!(
        l.alive(&alive, 100).is_empty(),
        "heard from just now: its lock may be on its way"
    );
    let out = l.alive(&alive, 5_000);
    assert_eq!(closed(&out), vec!["sb"]);
    assert_eq!(l.held(), vec!["sa"]);
    assert_eq!(l.tabs(), vec!["t1"]);
}

#[test]
fn without_a_leader_the_tabs_split_the_budget_and_never_exceed_it_together() {
    // 4 connections: each tab holds its own session-list channel; chat gets the rest.
    for n in 1..=6usize {
        let ids: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        let total: usize = ids
            .iter()
            .map(|me| {
                let mut s = Solo::new(me, 0);
                for p in &ids {
                    s.here(p, 0);
                }
                assert_eq!(
                    s.share(4, 100),
                    0,
                    "a new tab listens before taking a share"
                );
                s.share(4, 1_000)
            })
            .sum();
        assert_eq!(total, 4usize.saturating_sub(n), "{n} tabs");
    }
    let mut s = Solo::new("t0", 0);
    assert!(s.here("t1", 0), "a new peer is answered");
    assert!(!s.here("t1", 10), "once");
    assert!(!s.here("t0", 10), "not itself");
    assert_eq!(s.share(4, 1_000), 1);
    s.expire(10_000);
    assert_eq!(s.share(4, 10_000), 3, "a silent peer's share comes back");
}
