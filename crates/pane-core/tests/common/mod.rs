//! Helpers shared by the fixture and invariant tests.
#![allow(dead_code)]

use std::path::PathBuf;

use pane_core::sse::{parse_all, SseItem};
use pane_core::{EventId, Frame, StreamEvent};

/// The captured traffic of the real backend (a copy of `shared/fixtures/hermes-webui`).
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hermes-webui")
}

pub fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Strips the `<ms> ` prefix of each captured line, giving the raw SSE body.
pub fn raw_body(captured: &str) -> String {
    captured
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let digits = t.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 && t[digits..].starts_with(' ') {
                t[digits + 1..].to_string()
            } else if digits > 0 && t.len() == digits {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Every frame of a captured `.ts.sse` file, decoded.
pub fn frames(name: &str) -> Vec<Frame> {
    parse_all(&raw_body(&read_fixture(name)))
        .into_iter()
        .filter_map(|i| match i {
            SseItem::Frame(f) => Some(
                Frame::decode(&f.last_event_id, &f.event, &f.data)
                    .unwrap_or_else(|e| panic!("{name}: {e}")),
            ),
            _ => None,
        })
        .collect()
}

/// The stream id of a fixture (from its first id).
pub fn stream_of(frames: &[Frame]) -> String {
    frames
        .iter()
        .find_map(|f| f.id.as_ref().map(|i| i.stream_id.clone()))
        .expect("has ids")
}

/// Builds a journaled frame.
pub fn frame(stream: &str, seq: u64, event: StreamEvent) -> Frame {
    Frame {
        id: Some(EventId {
            stream_id: stream.into(),
            seq,
        }),
        event,
    }
}
