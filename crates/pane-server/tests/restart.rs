//! Persistence across a restart, and a turn interrupted by one (the real server process is
//! killed with SIGKILL mid-turn and started again on the same data directory).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn spawn(data: &std::path::Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_pane-server"))
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            data.to_str().unwrap(),
            "--dist",
            data.join("no-dist").to_str().unwrap(),
            "--faults",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for("server up", Duration::from_secs(20), async || {
        let req = hyper::Request::get(format!("{base}/health"))
            .body(axum::body::Body::empty())
            .unwrap();
        client().request(req).await.ok().map(|_| ())
    })
    .await;
    Server(child)
}

#[tokio::test]
async fn sessions_and_journals_survive_a_restart_and_an_interrupted_turn_ends_as_upstream() {
    let data = temp_dir("restart");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = spawn(&data, port).await;

    let done_sid = new_session(&base).await;
    let done_stream = start_turn(
        &base,
        &done_sid,
        "keep me [[tokens=5]] [[ttft=0]] [[delay=1]]",
    )
    .await;
    let mut s = sse(
        &format!("{base}/api/chat/stream?stream_id={done_stream}"),
        &[],
    )
    .await;
    s.read_all().await;
    let before = get(&format!("{base}/api/session?session_id={done_sid}"))
        .await
        .body["session"]["messages"]
        .clone();

    let stopped_sid = new_session(&base).await;
    let stopped_stream = start_turn(
        &base,
        &stopped_sid,
        "stop me [[tokens=300]] [[delay=20]] [[ttft=0]]",
    )
    .await;
    let mut st = sse(
        &format!("{base}/api/chat/stream?stream_id={stopped_stream}"),
        &[],
    )
    .await;
    st.read_until(Duration::from_secs(10), |f| {
        f.iter().filter(|f| f.event == "token").count() >= 3
    })
    .await;
    get(&format!(
        "{base}/api/chat/cancel?stream_id={stopped_stream}"
    ))
    .await;
    st.read_all().await;

    let cut_sid = new_session(&base).await;
    let cut_stream = start_turn(
        &base,
        &cut_sid,
        "interrupt me [[tokens=300]] [[delay=30]] [[ttft=0]]",
    )
    .await;
    let mut live = sse(
        &format!("{base}/api/chat/stream?stream_id={cut_stream}"),
        &[],
    )
    .await;
    live.read_until(Duration::from_secs(10), |f| {
        f.iter().filter(|f| f.event == "token").count() >= 10
    })
    .await;
    drop(server); // SIGKILL mid-turn
    live.read_until(Duration::from_secs(5), |_| false).await;
    assert!(live.ended, "the client sees the connection drop");

    let _server = spawn(&data, port).await;
    let after = get(&format!("{base}/api/session?session_id={done_sid}"))
        .await
        .body["session"]["messages"]
        .clone();
    assert_eq!(
        before, after,
        "a finished session is unchanged by the restart"
    );
    let mut replay = sse(
        &format!("{base}/api/chat/stream?stream_id={done_stream}"),
        &[],
    )
    .await;
    replay.read_all().await;
    assert_eq!(
        replay.names(),
        s.names(),
        "its journal replays after the restart"
    );

    let cut = get(&format!("{base}/api/session?session_id={cut_sid}"))
        .await
        .body["session"]
        .clone();
    assert!(
        cut["active_stream_id"].is_null(),
        "the stale stream id is cleared: the session reloads idle"
    );
    let msgs = cut["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[1]["_partial"], true, "the partial reply is kept");
    assert!(msgs[1]["content"]
        .as_str()
        .unwrap()
        .starts_with("tok1 tok2"));
    assert_eq!(
        msgs.last().unwrap()["_error"],
        true,
        "an interruption marker ends the turn"
    );

    let status = get(&format!(
        "{base}/api/chat/stream/status?stream_id={cut_stream}"
    ))
    .await
    .body;
    assert_eq!(status["active"], false);
    assert_eq!(status["replay_available"], true);
    assert_eq!(status["journal"]["terminal"], false);
    assert_eq!(
        status["journal"]["terminal_state"],
        "lost-worker-bookkeeping"
    );
    let mut dead = sse(
        &format!("{base}/api/chat/stream?stream_id={cut_stream}&replay=1&after_seq=3"),
        &[],
    )
    .await;
    dead.read_all().await;
    let last = dead.frames.last().unwrap();
    assert_eq!(last.event, "apperror");
    let e: Value = serde_json::from_str(&last.data).unwrap();
    assert_eq!(e["type"], "interrupted");
    assert_eq!(e["recovery_control"], true);
    let last_seq: u64 = dead.frames[dead.frames.len() - 2]
        .id
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(
        last.id.ends_with(&format!(":{}", last_seq + 1)),
        "the synthetic frame takes the next seq"
    );
    assert_pane_core_decodes(&dead.frames);

    // A cancelled run stays cancelled: its journal ends with its `cancel`, not an interruption.
    let stopped = get(&format!(
        "{base}/api/chat/stream/status?stream_id={stopped_stream}"
    ))
    .await
    .body;
    assert_eq!(
        stopped["journal"]["terminal_state"], "interrupted-by-user",
        "{stopped}"
    );
    let mut r = sse(
        &format!("{base}/api/chat/stream?stream_id={stopped_stream}&replay=1&after_seq=0"),
        &[],
    )
    .await;
    r.read_all().await;
    assert_eq!(r.names().last().unwrap(), "cancel");

    // A new turn works afterwards.
    let next = start_turn(&base, &cut_sid, "again [[tokens=3]] [[ttft=0]]").await;
    let mut n = sse(&format!("{base}/api/chat/stream?stream_id={next}"), &[]).await;
    n.read_all().await;
    assert_eq!(n.names().last().unwrap(), "stream_end");
}
