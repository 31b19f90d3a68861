//! HTTP-level contract tests: the stand-in's traffic has the shape of the real backend's
//! captured traffic (event names, order pattern, payload fields), and its endpoints follow the
//! contract's rules (cursors, fan-out, late joins, 409, 404, 413).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// Event names with pre-`done` metering dropped and repeats collapsed: the order pattern.
fn pattern(names: &[String]) -> Vec<String> {
    let done_at = names
        .iter()
        .position(|n| n == "done")
        .unwrap_or(names.len());
    let mut out: Vec<String> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if n == "metering" && i < done_at {
            continue;
        }
        if out.last() != Some(n) {
            out.push(n.clone());
        }
    }
    out
}

fn keys(data: &str) -> BTreeSet<String> {
    match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

/// Fields the contract documents as optional, which the stand-in may send or not.
fn optional(event: &str) -> &'static [&'static str] {
    match event {
        "tool_complete" | "tool" => &["duration"],
        "metering" => &["usage", "ttft_ms"],
        "apperror" => &["session", "stream_id", "hint", "old_session_id"],
        _ => &[],
    }
}

/// Compares our frames' structure with a fixture's: same pattern, same payload fields.
fn assert_same_shape(ours: &[Got], fixture_name: &str) {
    let fx = fixture(fixture_name);
    let fx_names: Vec<String> = fx.iter().map(|f| f.1.clone()).collect();
    let our_names: Vec<String> = ours.iter().map(|f| f.event.clone()).collect();
    assert_eq!(
        pattern(&our_names),
        pattern(&fx_names),
        "event order pattern differs from {fixture_name}"
    );
    let mut required: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut allowed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, ev, data) in &fx {
        let k = keys(data);
        required
            .entry(ev.clone())
            .and_modify(|r| *r = r.intersection(&k).cloned().collect())
            .or_insert_with(|| k.clone());
        allowed.entry(ev.clone()).or_default().extend(k);
    }
    for f in ours {
        let k = keys(&f.data);
        let req = &required[&f.event];
        assert!(
            req.is_subset(&k),
            "{fixture_name}: `{}` lacks {:?}",
            f.event,
            req.difference(&k).collect::<Vec<_>>()
        );
        let mut ok = allowed[&f.event].clone();
        ok.extend(optional(&f.event).iter().map(|s| s.to_string()));
        assert!(
            k.is_subset(&ok),
            "{fixture_name}: `{}` has extra fields {:?}",
            f.event,
            k.difference(&ok).collect::<Vec<_>>()
        );
    }
    // The saved session inside `done`/`cancel` has the same fields as upstream's.
    for name in ["done", "cancel"] {
        let fx_session = fx
            .iter()
            .find(|f| f.1 == name)
            .map(|f| serde_json::from_str::<Value>(&f.2).unwrap()["session"].clone());
        let our_session = ours
            .iter()
            .find(|f| f.event == name)
            .map(|f| serde_json::from_str::<Value>(&f.data).unwrap()["session"].clone());
        if let (Some(Value::Object(a)), Some(Value::Object(b))) = (fx_session, our_session) {
            let a: BTreeSet<_> = a.keys().collect();
            let b: BTreeSet<_> = b
                .keys()
                .filter(|k| !["parent_session_id", "todo_state"].contains(&k.as_str()))
                .collect();
            assert_eq!(a, b, "{fixture_name}: `{name}.session` fields differ");
        }
    }
    // Ids: `stream:seq`, seq contiguous from 1 over journaled frames.
    let mut expect = 1;
    for f in ours {
        let (_, seq) = f.id.rsplit_once(':').expect("every frame has an id");
        let seq: u64 = seq.parse().unwrap();
        if f.event == "cancel" {
            assert_eq!(seq, expect - 1, "cancel reuses the previous id");
        } else {
            assert_eq!(seq, expect, "seq contiguous from 1");
            expect += 1;
        }
    }
    assert_pane_core_decodes(ours);
}

async fn run_turn(base: &str, message: &str) -> (String, String, Sse) {
    let sid = new_session(base).await;
    let stream = start_turn(base, &sid, message).await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    assert_eq!(s.status, 200);
    (sid, stream, {
        s.read_all().await;
        s
    })
}

#[tokio::test]
async fn basic_turn_has_the_shape_of_the_real_backends() {
    let (base, _srv) = start("basic").await;
    let (_, _, s) = run_turn(&base, "Hello there [[tokens=12]] [[delay=5]] [[ttft=0]]").await;
    assert!(s.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(s.headers["cache-control"], "no-cache");
    assert_eq!(s.headers["x-accel-buffering"], "no");
    assert_same_shape(&s.frames, "basic.ts.sse");
}

#[tokio::test]
async fn tool_turn_has_the_shape_of_the_real_backends() {
    let (base, _srv) = start("tool").await;
    let (sid, _, s) = run_turn(&base, "Please run [[tool:echo hi]] [[delay=5]] [[ttft=0]]").await;
    assert_same_shape(&s.frames, "tool.ts.sse");
    let saved = get(&format!("{base}/api/session?session_id={sid}"))
        .await
        .body;
    let fx: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../pane-core/tests/fixtures/hermes-webui/tool.session_after.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let a: BTreeSet<_> = fx["session"].as_object().unwrap().keys().cloned().collect();
    let b: BTreeSet<_> = saved["session"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(a, b, "GET /api/session fields");
    let roles: Vec<&str> = saved["session"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "tool", "assistant"],
        "same transcript rows as upstream"
    );
}

#[tokio::test]
async fn approval_turn_waits_for_the_answer_and_has_the_real_shape() {
    let (base, _srv) = start("approval").await;
    let sid = new_session(&base).await;
    let stream = start_turn(
        &base,
        &sid,
        "Clean up [[tool:rm -rf ./hwui-danger-demo]] [[delay=5]] [[ttft=0]]",
    )
    .await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    s.read_until(Duration::from_secs(10), |f| {
        f.iter().any(|f| f.event == "approval")
    })
    .await;
    let pending = get(&format!("{base}/api/approval/pending?session_id={sid}"))
        .await
        .body;
    let fx: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../pane-core/tests/fixtures/hermes-webui/approval_once.pending.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let a: BTreeSet<_> = fx["pending"].as_object().unwrap().keys().cloned().collect();
    let b: BTreeSet<_> = pending["pending"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(a, b);
    assert_eq!(pending["pending_count"], 1);
    let rows = get(&format!("{base}/api/sessions")).await.body;
    assert_eq!(
        rows["sessions"][0]["attention"]["kind"], "approval",
        "the sidebar row shows attention"
    );
    // A stale approval id is refused; the right one is taken.
    let wrong = post(
        &format!("{base}/api/approval/respond"),
        json!({"session_id": sid, "choice": "once", "approval_id": "nope"}),
    )
    .await;
    assert_eq!(
        wrong.body,
        json!({"ok": false, "error": "A different approval is pending"})
    );
    let id = pending["pending"]["approval_id"].as_str().unwrap();
    // The gateway-relay fields of a local run's approval are refused as upstream refuses them
    // (409 `gateway_run_unavailable`, the card stays): the token goes with a `run_id` or not at
    // all.
    let token = pending["pending"]["_gateway_mirror_token"]
        .as_str()
        .unwrap();
    let relay = post(
        &format!("{base}/api/approval/respond"),
        json!({"session_id": sid, "choice": "once", "approval_id": id, "mirror_token": token}),
    )
    .await;
    assert_eq!(relay.status, 409);
    assert_eq!(relay.body["code"], "gateway_run_unavailable");
    assert_eq!(
        get(&format!("{base}/api/approval/pending?session_id={sid}"))
            .await
            .body["pending"]["approval_id"],
        id,
        "still pending"
    );
    let ok = post(
        &format!("{base}/api/approval/respond"),
        json!({"session_id": sid, "choice": "once", "approval_id": id}),
    )
    .await;
    assert_eq!(ok.body, json!({"ok": true, "choice": "once"}));
    s.read_all().await;
    assert_same_shape(&s.frames, "approval_once.ts.sse");
    let again = post(
        &format!("{base}/api/approval/respond"),
        json!({"session_id": sid, "choice": "once", "approval_id": id}),
    )
    .await;
    assert_eq!(
        again.body,
        json!({"ok": true, "stale_cleared": true}),
        "nothing pending: clear the card"
    );
}

#[tokio::test]
async fn clarify_turn_takes_the_answer_and_stale_answers_get_409() {
    let (base, _srv) = start("clarify").await;
    let sid = new_session(&base).await;
    let stream = start_turn(
        &base,
        &sid,
        "Deploy it [[clarify:Which target?|staging|prod]] [[delay=5]] [[ttft=0]]",
    )
    .await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    s.read_until(Duration::from_secs(10), |f| {
        f.iter().any(|f| f.event == "clarify")
    })
    .await;
    let pending = get(&format!("{base}/api/clarify/pending?session_id={sid}"))
        .await
        .body;
    assert_eq!(
        pending["pending"]["choices_offered"],
        json!(["staging", "prod"])
    );
    let id = pending["pending"]["clarify_id"].as_str().unwrap();
    let r = post(
        &format!("{base}/api/clarify/respond"),
        json!({"session_id": sid, "response": "staging", "clarify_id": id}),
    )
    .await;
    assert_eq!(r.body, json!({"ok": true, "response": "staging"}));
    s.read_all().await;
    assert_same_shape(&s.frames, "clarify.ts.sse");
    let stale = post(
        &format!("{base}/api/clarify/respond"),
        json!({"session_id": sid, "response": "prod", "clarify_id": id}),
    )
    .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["stale"], true);
}

#[tokio::test]
async fn cancel_ends_with_a_cancel_event_carrying_the_saved_session() {
    let (base, _srv) = start("cancel").await;
    let sid = new_session(&base).await;
    let stream = start_turn(
        &base,
        &sid,
        "Cancel me [[tokens=200]] [[delay=20]] [[ttft=0]]",
    )
    .await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    s.read_until(Duration::from_secs(10), |f| {
        f.iter().filter(|f| f.event == "token").count() >= 10
    })
    .await;
    let r = get(&format!("{base}/api/chat/cancel?stream_id={stream}")).await;
    assert_eq!(
        r.body,
        json!({"ok": true, "cancelled": true, "stream_id": stream})
    );
    s.read_all().await;
    assert_same_shape(&s.frames, "cancel.ts.sse");
    let last = s.frames.last().unwrap();
    assert!(
        !last.had_id || last.id == s.frames[s.frames.len() - 2].id,
        "the cancel frame reuses the previous id"
    );
    let session: Value = serde_json::from_str(&last.data).unwrap();
    let msgs = session["session"]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[1]["_partial"], true);
    assert_eq!(msgs[2]["_error"], true);
    // A new turn is accepted at once; the status says the old run was interrupted by the user.
    let st = get(&format!("{base}/api/chat/stream/status?stream_id={stream}"))
        .await
        .body;
    assert_eq!(st["active"], false);
    assert_eq!(st["journal"]["terminal_state"], "interrupted-by-user");
    start_turn(&base, &sid, "again [[tokens=2]]").await;
}

#[tokio::test]
async fn attach_after_the_end_replays_the_journal_then_closes() {
    let (base, _srv) = start("after-end").await;
    let (_, stream, live) =
        run_turn(&base, "Hello there [[tokens=12]] [[delay=5]] [[ttft=0]]").await;
    let mut late = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    late.read_all().await;
    assert_same_shape(&late.frames, "after_end.ts.sse");
    assert_eq!(late.names(), live.names(), "the whole journal, in order");
    let status = get(&format!("{base}/api/chat/stream/status?stream_id={stream}"))
        .await
        .body;
    let fx: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../pane-core/tests/fixtures/hermes-webui/basic.status_after.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(status["active"], fx["active"]);
    assert_eq!(status["replay_available"], fx["replay_available"]);
    assert_eq!(status["journal"]["terminal_state"], "completed");
    assert_eq!(status["journal"]["last_event"], "stream_end");
    let a: BTreeSet<_> = fx["journal"].as_object().unwrap().keys().collect();
    let b: BTreeSet<_> = status["journal"].as_object().unwrap().keys().collect();
    assert_eq!(a, b);
}

#[tokio::test]
async fn unknown_stream_is_404_and_unknown_session_too() {
    let (base, _srv) = start("404").await;
    let r = get(&format!(
        "{base}/api/chat/stream?stream_id=ffffffffffffffffffffffffffffffff"
    ))
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!({"error": "stream not found"}),
        "as in after_end_unknown.ts.sse"
    );
    assert_eq!(
        post(
            &format!("{base}/api/chat/start"),
            json!({"session_id": "nope", "message": "hi"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        get(&format!("{base}/api/session?session_id=nope"))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&format!("{base}/api/nope")).await.body,
        json!({"error": "not found"})
    );
}

#[tokio::test]
async fn start_validates_and_a_running_session_answers_409_with_its_stream() {
    let (base, _srv) = start("409").await;
    let sid = new_session(&base).await;
    let r = post(
        &format!("{base}/api/chat/start"),
        json!({"session_id": sid, "message": "   "}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = request(
        "POST",
        &format!("{base}/api/chat/start"),
        None,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(
        r.status, 400,
        "malformed JSON becomes {{}} and fails validation"
    );
    let stream = start_turn(&base, &sid, "long [[tokens=200]] [[delay=20]]").await;
    let r = post(
        &format!("{base}/api/chat/start"),
        json!({"session_id": sid, "message": "second"}),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body,
        json!({"error": "session already has an active stream", "active_stream_id": stream})
    );
    let silent = new_session(&base).await;
    let r = post(
        &format!("{base}/api/chat/start"),
        json!({"session_id": silent, "message": "[SILENT]"}),
    )
    .await;
    assert_eq!(
        r.body,
        json!({"status": "suppressed", "reason": "silent_control_message"})
    );
}

#[tokio::test]
async fn replay_cursors_follow_the_precedence_rules() {
    let (base, _srv) = start("cursor").await;
    let (_, stream, full) = run_turn(&base, "x [[tokens=10]] [[delay=1]] [[ttft=0]]").await;
    let ids = |s: &Sse| s.frames.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    let url = |q: &str| format!("{base}/api/chat/stream?stream_id={stream}{q}");
    let mut a = sse(&url("&after_seq=5"), &[]).await;
    a.read_all().await;
    assert_eq!(
        ids(&a),
        ids(&full)[5..].to_vec(),
        "after_seq=5 replays seq 6 onwards"
    );
    let mut b = sse(
        &url(&format!("&after_seq=2&after_event_id={stream}:7")),
        &[],
    )
    .await;
    b.read_all().await;
    assert_eq!(
        ids(&b),
        ids(&full)[7..].to_vec(),
        "after_event_id wins over after_seq"
    );
    let mut c = sse(&url(""), &[("last-event-id", &format!("{stream}:9"))]).await;
    c.read_all().await;
    assert_eq!(
        ids(&c),
        ids(&full)[9..].to_vec(),
        "Last-Event-ID is honoured without query cursors"
    );
    let mut d = sse(
        &url("&replay=1"),
        &[("last-event-id", &format!("{stream}:9"))],
    )
    .await;
    d.read_all().await;
    assert_eq!(ids(&d), ids(&full), "query params beat Last-Event-ID");
    let mut e = sse(&url("&after_event_id=otherstream:3"), &[]).await;
    e.read_all().await;
    assert_eq!(
        ids(&e),
        ids(&full),
        "a cursor naming another stream replays from the start"
    );
    let mut f = sse(&url("&after_seq=9999"), &[]).await;
    f.read_all().await;
    assert_eq!(
        ids(&f),
        ids(&full),
        "a cursor ahead of the stream replays from the start"
    );
}

#[tokio::test]
async fn two_clients_get_every_event_and_late_joiners_follow_the_cursor_rules() {
    let (base, _srv) = start("fanout").await;
    let sid = new_session(&base).await;
    let stream = start_turn(&base, &sid, "x [[tokens=60]] [[delay=25]] [[ttft=0]]").await;
    let url = format!("{base}/api/chat/stream?stream_id={stream}");
    let mut a = sse(&url, &[]).await;
    a.read_until(Duration::from_secs(10), |f| f.len() >= 3)
        .await;
    let mut b = sse(&url, &[]).await;
    a.read_until(Duration::from_secs(10), |f| {
        f.iter().filter(|f| f.event == "token").count() >= 20
    })
    .await;
    // Late without a cursor: only from "now". Late with after_seq=0: replay first, then live.
    let mut late = sse(&url, &[]).await;
    let mut replay = sse(&format!("{url}&replay=1&after_seq=0"), &[]).await;
    a.read_all().await;
    b.read_all().await;
    late.read_all().await;
    replay.read_all().await;
    let ids = |s: &Sse| s.frames.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&replay),
        ids(&a),
        "replay from 0 then live = the whole stream, once"
    );
    let first_b = ids(&a).iter().position(|i| *i == ids(&b)[0]).unwrap();
    assert_eq!(
        ids(&b),
        ids(&a)[first_b..].to_vec(),
        "fan-out: B gets every event from its join on"
    );
    let first_late = ids(&a).iter().position(|i| *i == ids(&late)[0]).unwrap();
    assert!(
        first_late > 3,
        "a cursor-less late joiner gets only events from now (joined at {first_late})"
    );
    assert_eq!(ids(&late), ids(&a)[first_late..].to_vec());
    assert_eq!(late.frames.last().unwrap().event, "stream_end");
}

#[tokio::test]
async fn first_subscriber_gets_the_offline_buffer() {
    let (base, _srv) = start("buffer").await;
    let sid = new_session(&base).await;
    let stream = start_turn(&base, &sid, "x [[tokens=8]] [[delay=1]] [[ttft=0]]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    s.read_all().await;
    assert!(
        s.frames[0].id.ends_with(":1"),
        "events produced before anyone connected are not lost"
    );
}

#[tokio::test]
async fn heartbeats_are_comments_every_five_seconds_while_idle() {
    let (base, _srv) = start("heartbeat").await;
    let sid = new_session(&base).await;
    let stream = start_turn(&base, &sid, "x [[tool:echo hi]] [[ttft=6000]]").await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    s.read_until(Duration::from_secs(8), |f| f.len() >= 2).await;
    assert!(
        s.comments.iter().any(|c| c == "heartbeat"),
        "comments: {:?}",
        s.comments
    );
}

#[tokio::test]
async fn upload_stores_the_file_and_refuses_oversize_with_413() {
    let mut cfg = pane_server::Config::for_tests(temp_dir("upload"));
    cfg.max_upload_bytes = 1024;
    let (base, _srv) = start_with(cfg).await;
    let sid = new_session(&base).await;
    let multipart = |size: usize| {
        let boundary = "XBOUNDARY";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"session_id\"\r\n\r\n{sid}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        body.extend(std::iter::repeat_n(b'a', size));
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        body
    };
    for (size, expect) in [(100usize, 200u16), (5000, 413)] {
        let req = hyper::Request::post(format!("{base}/api/upload"))
            .header("content-type", "multipart/form-data; boundary=XBOUNDARY")
            .body(axum::body::Body::from(multipart(size)))
            .unwrap();
        let resp = client().request(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), expect);
        use http_body_util::BodyExt;
        let v: Value =
            serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
        if expect == 200 {
            assert_eq!(v["filename"], "notes.txt");
            assert_eq!(v["size"], 100);
            assert_eq!(v["is_image"], false);
            assert!(std::path::Path::new(v["path"].as_str().unwrap()).exists());
        } else {
            assert!(v["error"].as_str().unwrap().contains("too large"));
        }
    }
}

#[tokio::test]
async fn sessions_list_wrapper_rows_and_ordering() {
    let (base, _srv) = start("list").await;
    let empty = new_session(&base).await;
    let (done_sid, _, _) = run_turn(&base, "finished [[tokens=2]] [[ttft=0]]").await;
    let running = new_session(&base).await;
    start_turn(&base, &running, "running [[tokens=300]] [[delay=50]]").await;
    let list = get(&format!("{base}/api/sessions")).await.body;
    for k in [
        "sessions",
        "sidebar_reference_sessions",
        "cli_count",
        "archived_count",
        "server_time",
        "active_profile",
    ] {
        assert!(list.get(k).is_some(), "wrapper lacks {k}");
    }
    let ids: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [running.as_str(), done_sid.as_str()],
        "running first; empty sessions are not listed"
    );
    assert!(!ids.contains(&empty.as_str()));
    let row = &list["sessions"][0];
    assert_eq!(row["is_streaming"], true);
    assert!(row["active_stream_id"].is_string());
    for k in [
        "pinned",
        "archived",
        "created_at",
        "updated_at",
        "message_count",
        "attention",
        "title",
    ] {
        assert!(row.get(k).is_some(), "row lacks {k}");
    }
    let search = get(&format!("{base}/api/sessions/search?q=finished&content=1"))
        .await
        .body;
    assert_eq!(search.as_array().unwrap().len(), 1);
    let by_content = get(&format!(
        "{base}/api/sessions/search?q=tok2&content=1&depth=0"
    ))
    .await
    .body;
    assert_eq!(by_content[0]["session_id"], done_sid.as_str());
}

#[tokio::test]
async fn session_windowing_and_snapshot_while_live() {
    let (base, _srv) = start("window").await;
    let sid = new_session(&base).await;
    for i in 0..3 {
        let s = start_turn(
            &base,
            &sid,
            &format!("turn {i} [[tokens=3]] [[ttft=0]] [[delay=1]]"),
        )
        .await;
        let mut c = sse(&format!("{base}/api/chat/stream?stream_id={s}"), &[]).await;
        c.read_all().await;
    }
    let all = get(&format!("{base}/api/session?session_id={sid}"))
        .await
        .body["session"]
        .clone();
    assert_eq!(all["messages"].as_array().unwrap().len(), 6);
    let tail = get(&format!("{base}/api/session?session_id={sid}&msg_limit=2"))
        .await
        .body["session"]
        .clone();
    assert_eq!(tail["messages"].as_array().unwrap().len(), 2);
    assert_eq!(tail["_messages_offset"], 4);
    assert_eq!(tail["_messages_truncated"], true);
    let older = get(&format!(
        "{base}/api/session?session_id={sid}&msg_limit=2&msg_before=4"
    ))
    .await
    .body["session"]
        .clone();
    assert_eq!(older["_messages_offset"], 2);
    assert_eq!(older["messages"][0], all["messages"][2]);
    let meta = get(&format!("{base}/api/session?session_id={sid}&messages=0"))
        .await
        .body["session"]
        .clone();
    assert_eq!(meta["messages"], json!([]));
    assert_eq!(meta["message_count"], 6);
    // While a turn runs: pending prompt, runtime_journal, and a snapshot for metadata loads.
    let stream = start_turn(
        &base,
        &sid,
        "live one [[tokens=100]] [[delay=30]] [[ttft=0]]",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let live = get(&format!("{base}/api/session?session_id={sid}&messages=0"))
        .await
        .body["session"]
        .clone();
    assert_eq!(live["active_stream_id"], stream.as_str());
    assert_eq!(
        live["pending_user_message"],
        "live one [[tokens=100]] [[delay=30]] [[ttft=0]]"
    );
    assert_eq!(live["runtime_journal"]["run_id"], stream.as_str());
    let snap = &live["runtime_journal_snapshot"];
    assert_eq!(snap["stream_id"], stream.as_str());
    let last_seq = snap["last_seq"].as_u64().unwrap();
    assert!(last_seq > 2);
    // Seeding from the snapshot and resuming after its cursor gives exactly the whole reply.
    let mut rest = sse(
        &format!("{base}/api/chat/stream?stream_id={stream}&replay=1&after_seq={last_seq}&after_event_id={stream}:{last_seq}"),
        &[],
    )
    .await;
    rest.read_all().await;
    let mut text = snap["last_assistant_text"].as_str().unwrap().to_string();
    for f in rest.frames.iter().filter(|f| f.event == "token") {
        text.push_str(
            serde_json::from_str::<Value>(&f.data).unwrap()["text"]
                .as_str()
                .unwrap(),
        );
    }
    let expected: String = (1..=100).map(|i| format!(" tok{i}")).collect();
    assert_eq!(text, expected);
    let windowed = get(&format!("{base}/api/session?session_id={sid}&msg_limit=2"))
        .await
        .body["session"]
        .clone();
    assert!(
        windowed.get("runtime_journal_snapshot").is_none(),
        "no snapshot for windowed loads (as upstream)"
    );
}

#[tokio::test]
async fn mutations_rename_pin_archive_truncate_retry_delete() {
    let (base, _srv) = start("mutate").await;
    let (sid, _, _) = run_turn(&base, "first [[tokens=2]] [[ttft=0]]").await;
    let mut events = sse(&format!("{base}/api/sessions/events"), &[]).await;
    let r = post(
        &format!("{base}/api/session/rename"),
        json!({"session_id": sid, "title": "Renamed"}),
    )
    .await;
    assert_eq!(r.body["session"]["title"], "Renamed");
    events
        .read_until(Duration::from_secs(5), |f| !f.is_empty())
        .await;
    let ev: Value = serde_json::from_str(&events.frames[0].data).unwrap();
    assert_eq!(events.frames[0].event, "sessions_changed");
    assert_eq!(ev["reason"], "session_rename");
    assert_eq!(
        post(
            &format!("{base}/api/session/pin"),
            json!({"session_id": sid, "pinned": true})
        )
        .await
        .body["session"]["pinned"],
        true
    );
    assert_eq!(
        post(
            &format!("{base}/api/session/archive"),
            json!({"session_id": sid, "archived": true})
        )
        .await
        .body["session"]["archived"],
        true
    );
    assert_eq!(
        get(&format!("{base}/api/sessions")).await.body["sessions"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "archived rows are hidden by default"
    );
    assert_eq!(
        get(&format!("{base}/api/sessions?include_archived=1"))
            .await
            .body["sessions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let retry = post(
        &format!("{base}/api/session/retry"),
        json!({"session_id": sid}),
    )
    .await
    .body;
    assert_eq!(
        retry,
        json!({"ok": true, "last_user_text": "first [[tokens=2]] [[ttft=0]]", "removed_count": 2})
    );
    let none = post(
        &format!("{base}/api/session/retry"),
        json!({"session_id": sid}),
    )
    .await;
    assert_eq!(none.body["error"], "No previous message to retry.");
    let bad = post(
        &format!("{base}/api/session/truncate"),
        json!({"session_id": sid, "keep_count": -1}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        post(
            &format!("{base}/api/session/truncate"),
            json!({"session_id": sid, "keep_count": 0})
        )
        .await
        .body["ok"],
        true
    );
    assert_eq!(
        post(
            &format!("{base}/api/session/delete"),
            json!({"session_id": sid})
        )
        .await
        .body["ok"],
        true
    );
    assert_eq!(
        get(&format!("{base}/api/session?session_id={sid}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn csrf_gate_and_password_mode() {
    let mut cfg = pane_server::Config::for_tests(temp_dir("auth"));
    cfg.password = Some("hunter2".into());
    cfg.mount = "/pane/".into();
    let (base, _srv) = start_with(cfg).await;
    let host = base.trim_start_matches("http://").to_string();
    assert_eq!(get(&format!("{base}/api/sessions")).await.status, 401);
    assert_eq!(
        get(&format!("{base}/api/sessions")).await.body,
        json!({"error": "Authentication required"})
    );
    let shell = get(&format!("{base}/")).await;
    assert_eq!(shell.status, 302, "pages redirect to the login");
    assert!(shell.headers["location"]
        .to_str()
        .unwrap()
        .starts_with("login?next="));
    let bad = post(
        &format!("{base}/api/auth/login"),
        json!({"password": "nope"}),
    )
    .await;
    assert_eq!(bad.status, 401);
    let ok = post(
        &format!("{base}/api/auth/login"),
        json!({"password": "hunter2"}),
    )
    .await;
    let cookie = ok.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let shell = request("GET", &format!("{base}/"), None, &[("cookie", &cookie)]).await;
    let token =
        pane_core::wire::csrf_token_from_shell(&shell.text).expect("token embedded in the shell");
    let origin = format!("http://{host}");
    let url = format!("{base}/api/session/new");
    async fn new_with(url: &str, hdrs: Vec<(&str, &str)>) -> Reply {
        request("POST", url, Some(json!({})), &hdrs).await
    }
    macro_rules! new {
        ($h:expr) => {
            new_with(&url, $h)
        };
    }
    assert_eq!(
        new!(vec![("cookie", &cookie), ("origin", &origin)])
            .await
            .status,
        403,
        "browser POST without the token"
    );
    assert_eq!(
        new!(vec![("cookie", &cookie), ("origin", &origin)])
            .await
            .body["error"],
        "Session expired - reload the page"
    );
    assert_eq!(
        new!(vec![
            ("cookie", &cookie),
            ("origin", &origin),
            ("x-hermes-csrf-token", "bad")
        ])
        .await
        .status,
        403
    );
    assert_eq!(
        new!(vec![
            ("cookie", &cookie),
            ("origin", &origin),
            ("x-hermes-csrf-token", &token)
        ])
        .await
        .status,
        200
    );
    assert_eq!(
        new!(vec![
            ("cookie", &cookie),
            ("origin", "http://evil.example"),
            ("x-hermes-csrf-token", &token)
        ])
        .await
        .body["error"],
        "Cross-origin mismatch"
    );
    assert_eq!(
        new!(vec![("cookie", &cookie)]).await.status,
        200,
        "non-browser clients without Origin skip the token"
    );
    let status = request(
        "GET",
        &format!("{base}/api/auth/status"),
        None,
        &[("cookie", &cookie)],
    )
    .await
    .body;
    assert_eq!(status["auth_enabled"], true);
    assert_eq!(status["logged_in"], true);
}

#[tokio::test]
async fn provider_error_ends_with_apperror_and_no_stream_end() {
    let (base, _srv) = start("apperror").await;
    let (sid, _, s) = run_turn(
        &base,
        "fail please [[error:rate_limit]] [[ttft=0]] [[delay=1]]",
    )
    .await;
    assert_eq!(s.frames.last().unwrap().event, "apperror");
    assert!(!s.names().contains(&"stream_end".to_string()));
    let e: Value = serde_json::from_str(&s.frames.last().unwrap().data).unwrap();
    assert_eq!(e["type"], "rate_limit");
    assert!(e["hint"].is_string());
    assert_pane_core_decodes(&s.frames);
    let saved = get(&format!("{base}/api/session?session_id={sid}"))
        .await
        .body;
    assert_eq!(
        saved["session"]["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["_error"],
        true
    );
}

#[tokio::test]
async fn compression_rotates_the_session_id() {
    let (base, _srv) = start("compress").await;
    let (sid, _, s) = run_turn(
        &base,
        "squash [[compress]] [[tokens=3]] [[ttft=0]] [[delay=1]]",
    )
    .await;
    let names = s.names();
    assert!(
        names.contains(&"compressing".to_string()) && names.contains(&"compressed".to_string())
    );
    let c: Value = serde_json::from_str(
        &s.frames
            .iter()
            .find(|f| f.event == "compressed")
            .unwrap()
            .data,
    )
    .unwrap();
    assert_eq!(c["old_session_id"], sid.as_str());
    let new_id = c["new_session_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, sid);
    let done: Value =
        serde_json::from_str(&s.frames.iter().find(|f| f.event == "done").unwrap().data).unwrap();
    assert_eq!(
        done["session"]["session_id"],
        new_id.as_str(),
        "done carries the rotated id"
    );
    let end: Value = serde_json::from_str(&s.frames.last().unwrap().data).unwrap();
    assert_eq!(
        end["session_id"],
        sid.as_str(),
        "stream_end names the original id"
    );
    assert_pane_core_decodes(&s.frames);
}

#[tokio::test]
async fn a_cursor_at_the_end_of_a_finished_stream_gets_nothing_and_no_fake_interruption() {
    // §3.5's gotcha: a browser's own reconnect sends Last-Event-ID at the end; the server
    // replays nothing and closes — it must not invent an `interrupted` error.
    let (base, _srv) = start("cursor-end").await;
    let (_, stream, full) = run_turn(&base, "x [[tokens=4]] [[delay=1]] [[ttft=0]]").await;
    let last = full.frames.last().unwrap().id.clone();
    assert!(last.ends_with(&format!(":{}", full.frames.len())));
    let mut again = sse(
        &format!("{base}/api/chat/stream?stream_id={stream}"),
        &[("last-event-id", &last)],
    )
    .await;
    again.read_all().await;
    assert!(
        again.frames.is_empty(),
        "nothing after the last id: {:?}",
        again.names()
    );
    let mut q = sse(
        &format!(
            "{base}/api/chat/stream?stream_id={stream}&replay=1&after_seq={}",
            full.frames.len()
        ),
        &[],
    )
    .await;
    q.read_all().await;
    assert!(q.frames.is_empty(), "{:?}", q.names());
}

#[tokio::test]
async fn a_cancelled_stream_replays_to_its_cancel_and_keeps_its_terminal_state() {
    let (base, _srv) = start("cancel-replay").await;
    let sid = new_session(&base).await;
    let stream = start_turn(
        &base,
        &sid,
        "Cancel me [[tokens=200]] [[delay=20]] [[ttft=0]]",
    )
    .await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    s.read_until(Duration::from_secs(10), |f| {
        f.iter().filter(|f| f.event == "token").count() >= 5
    })
    .await;
    assert_eq!(
        get(&format!("{base}/api/chat/cancel?stream_id={stream}"))
            .await
            .body["cancelled"],
        true
    );
    s.read_all().await;
    let mut replay = sse(
        &format!("{base}/api/chat/stream?stream_id={stream}&replay=1&after_seq=0"),
        &[],
    )
    .await;
    replay.read_all().await;
    assert_eq!(
        replay.frames.last().unwrap().event,
        "cancel",
        "replay ends with the journaled cancel: {:?}",
        replay.names()
    );
    assert!(
        !replay.names().contains(&"apperror".to_string()),
        "no synthetic interruption after a cancel"
    );
    assert_pane_core_decodes(&replay.frames);
    let st = get(&format!("{base}/api/chat/stream/status?stream_id={stream}"))
        .await
        .body;
    assert_eq!(st["journal"]["terminal"], true);
    assert_eq!(st["journal"]["terminal_state"], "interrupted-by-user");
    assert_eq!(st["journal"]["last_event"], "cancel");
}

#[tokio::test]
async fn cancelling_a_turn_that_already_settled_cancels_nothing() {
    let (base, _srv) = start("cancel-late").await;
    let (sid, stream, s) = run_turn(&base, "quick [[tokens=3]] [[delay=1]] [[ttft=0]]").await;
    assert_eq!(s.frames.last().unwrap().event, "stream_end");
    let r = get(&format!("{base}/api/chat/cancel?stream_id={stream}"))
        .await
        .body;
    assert_eq!(r["cancelled"], false);
    let saved = get(&format!("{base}/api/session?session_id={sid}"))
        .await
        .body;
    assert!(
        saved["session"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["_error"] != true),
        "no cancellation row on a finished turn"
    );
}

/// While `chat/start` runs, a second client polls the session; the moment it sees the new
/// stream id it subscribes, and that must never be a 404 (the channel exists before the
/// session names the stream). The poller races the start on purpose, so it can only catch the
/// window when it lands in it; every round must still see the id and subscribe successfully.
#[tokio::test]
async fn a_started_stream_can_be_subscribed_as_soon_as_the_session_names_it() {
    let (base, _srv) = start("no-404-window").await;
    for _ in 0..20 {
        let sid = new_session(&base).await;
        let (b2, s2) = (base.clone(), sid.clone());
        let poller = tokio::spawn(async move {
            for _ in 0..400 {
                let named = get(&format!("{b2}/api/session?session_id={s2}&messages=0"))
                    .await
                    .body["session"]["active_stream_id"]
                    .clone();
                if let Some(id) = named.as_str() {
                    return (
                        id.to_string(),
                        sse(
                            &format!("{b2}/api/chat/stream?stream_id={id}&replay=1&after_seq=0"),
                            &[],
                        )
                        .await
                        .status,
                    );
                }
            }
            panic!("the session never named its stream");
        });
        let stream = start_turn(&base, &sid, "x [[tokens=40]] [[ttft=0]] [[delay=5]]").await;
        let (seen, status) = poller.await.unwrap();
        assert_eq!(seen, stream);
        assert_eq!(
            status, 200,
            "subscribing to a stream the session names is never a 404"
        );
    }
}

#[tokio::test]
async fn every_script_decodes_in_pane_core_with_no_unknown_event() {
    // The stand-in's whole repertoire — not just the shapes compared with fixtures — is
    // something the pane decodes without an error or an `Unknown`.
    let (base, _srv) = start("scripts").await;
    for script in [
        "default reply [[ttft=0]] [[delay=1]]",
        "think first [[reasoning=4]] [[tokens=3]] [[ttft=0]] [[delay=1]]",
        "tool error [[tool-error:ls /nope]] [[ttft=0]] [[delay=1]]",
        "slow [[tokens=2]] [[ttft=0]] [[slow]]",
        "echo me [[echo]] [[ttft=0]] [[delay=1]]",
        "named [[title:A name]] [[tokens=2]] [[ttft=0]] [[delay=1]]",
        "big [[bytes=20000]] [[ttft=0]] [[delay=1]]",
        "squash [[compress]] [[tokens=3]] [[ttft=0]] [[delay=1]]",
        "fail [[error:quota_exhausted]] [[ttft=0]] [[delay=1]]",
    ] {
        let (_, _, s) = run_turn(&base, script).await;
        assert!(!s.frames.is_empty(), "{script}");
        assert_pane_core_decodes(&s.frames);
    }
    let mut events = sse(&format!("{base}/api/sessions/events"), &[]).await;
    new_session(&base).await;
    let sid = new_session(&base).await;
    post(
        &format!("{base}/api/session/rename"),
        json!({"session_id": sid, "title": "x"}),
    )
    .await;
    events
        .read_until(Duration::from_secs(5), |f| !f.is_empty())
        .await;
    for f in &events.frames {
        match pane_core::event::SessionsEvent::decode(&f.event, &f.data).unwrap() {
            pane_core::event::SessionsEvent::Changed(c) => {
                assert!(c.version.is_some_and(|v| v > 0.0), "{c:?}")
            }
            other => panic!("unknown sessions event {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_running_turn_is_already_in_the_window_as_upstream_returns_it() {
    // Seen on the real backend: while a turn runs, `GET /api/session` windows hold its prompt
    // (stamped with `pending_started_at`), and after a tool call its assistant and tool rows.
    let (base, _srv) = start("inflight").await;
    let sid = new_session(&base).await;
    let stream = start_turn(
        &base,
        &sid,
        "run it [[tool:echo hi]] [[tokens=200]] [[delay=10]] [[ttft=0]]",
    )
    .await;
    let mut s = sse(&format!("{base}/api/chat/stream?stream_id={stream}"), &[]).await;
    s.read_until(Duration::from_secs(10), |f| {
        f.iter().filter(|f| f.event == "token").count() > 20
    })
    .await;
    let w = get(&format!("{base}/api/session?session_id={sid}&msg_limit=60"))
        .await
        .body["session"]
        .clone();
    let roles: Vec<&str> = w["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool"], "{w}");
    assert_eq!(w["messages"][0]["timestamp"], w["pending_started_at"]);
    assert_eq!(w["messages"][0]["content"], w["pending_user_message"]);
    assert_eq!(
        w["messages"][1]["tool_calls"][0]["function"]["name"],
        "terminal"
    );
    s.read_all().await;
    let done = get(&format!("{base}/api/session?session_id={sid}"))
        .await
        .body["session"]["messages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(done, 4, "after the turn: the saved rows, once");
}

#[tokio::test]
async fn an_allowed_origin_passes_the_same_origin_gate_as_upstreams_allowed_origins() {
    // `trunk serve`'s proxy sends the backend's own host, not the page's: upstream accepts the
    // page's origin only when it is listed in HERMES_WEBUI_ALLOWED_ORIGINS; so does the stand-in.
    let mut cfg = pane_server::Config::for_tests(temp_dir("origins"));
    cfg.allowed_origins = vec!["http://127.0.0.1:8080/".into()];
    let (base, _srv) = start_with(cfg).await;
    let url = format!("{base}/api/session/new");
    let listed = request(
        "POST",
        &url,
        Some(json!({})),
        &[("host", "127.0.0.1"), ("origin", "http://127.0.0.1:8080")],
    )
    .await;
    assert_eq!(listed.status, 200, "the listed origin");
    let other = request(
        "POST",
        &url,
        Some(json!({})),
        &[("host", "127.0.0.1"), ("origin", "http://127.0.0.1:9999")],
    )
    .await;
    assert_eq!(other.status, 403, "any other origin still fails");
    assert_eq!(other.body["error"], "Cross-origin mismatch");
}
