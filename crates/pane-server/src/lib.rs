//! `pane-server`: a faithful stand-in for the Hermes WebUI backend (demo mode), the server of
//! the pane's static bundle, and a streaming proxy to a real Hermes WebUI (`--backend`).
#![recursion_limit = "512"]
// Handlers answer early with `Err(Response)` (the axum idiom); a response is large by nature.
#![allow(clippy::result_large_err)]

pub mod agent;
pub mod api;
pub mod auth;
pub mod bundle;
pub mod faults;
pub mod model;
pub mod openai;
pub mod proxy;
pub mod store;
pub mod streams;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::{oneshot, watch};

use crate::model::{now, saved_session_json, Session};
use crate::store::{JournalRow, Store};
use crate::streams::{Channel, Channels};

/// Everything the server is told at start.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The pane's built bundle (Trunk `dist/`); `None` serves only the API.
    pub dist: Option<PathBuf>,
    /// Where the pane is mounted (`/` or `/pane/`).
    pub mount: String,
    /// Proxy to this Hermes WebUI instead of the stand-in backend.
    pub backend: Option<String>,
    /// Enables fault injection (`/api/__faults`) and connection stats (`/api/__stats`).
    pub faults: bool,
    /// Password mode: cookie login, CSRF token, 401/403 as upstream.
    pub password: Option<String>,
    /// Origins the same-origin gate also accepts (upstream's `HERMES_WEBUI_ALLOWED_ORIGINS`).
    pub allowed_origins: Vec<String>,
    pub max_upload_bytes: usize,
    /// Test only: answer CORS preflights and skip the same-origin gate, so the pane's
    /// in-browser unit tests (served from the test runner's own origin) can reach it.
    pub test_cors: bool,
    /// Test only: serve `.wasm` as `text/plain`, as Hermes WebUI's own `/static/` handler does
    /// (the pane compiles it from bytes then).
    pub wasm_as_text: bool,
}

impl Config {
    /// A config for tests and embedding: API only, faults on, given data dir.
    pub fn for_tests(data_dir: PathBuf) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            data_dir,
            dist: None,
            mount: "/".into(),
            backend: None,
            faults: true,
            password: None,
            allowed_origins: Vec::new(),
            max_upload_bytes: 20 * 1024 * 1024,
            test_cors: false,
            wasm_as_text: false,
        }
    }
}

/// An approval or clarify the agent waits on.
pub enum Prompt {
    Approval {
        id: String,
        value: Value,
        answer: oneshot::Sender<String>,
    },
    Clarify {
        id: String,
        value: Value,
        answer: oneshot::Sender<String>,
    },
}

impl Prompt {
    pub fn is_approval(&self) -> bool {
        matches!(self, Prompt::Approval { .. })
    }
}

/// `sessions_changed` payload state.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub version: u64,
    pub reason: String,
    pub session_id: Option<String>,
}

/// The stand-in backend's state.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub sessions: Mutex<BTreeMap<String, Session>>,
    pub channels: Channels,
    pub prompts: Mutex<HashMap<String, VecDeque<Prompt>>>,
    /// Cancel switches of running turns, by stream id.
    pub runs: Mutex<HashMap<String, watch::Sender<bool>>>,
    pub changes: watch::Sender<Change>,
    pub faults: faults::FaultState,
    pub auth: auth::AuthState,
    /// Kinds of dangerous command the user allowed: for a session ("session"), or for good
    /// ("always", upstream's permanent allowlist).
    pub allowed: Mutex<Allowed>,
    /// `/api/settings` values set so far (over upstream's defaults).
    pub settings: Mutex<serde_json::Map<String, serde_json::Value>>,
    /// Steers accepted for a running turn and not yet applied, by stream id (the agent's
    /// `_pending_steer`: several join with newlines).
    pub steers: Mutex<HashMap<String, String>>,
}

/// What approvals answered "session" or "always" allow without asking again.
#[derive(Debug, Default)]
pub struct Allowed {
    pub by_session: HashMap<String, std::collections::HashSet<String>>,
    pub always: std::collections::HashSet<String>,
}

impl App {
    /// Takes the steer waiting for `stream_id`, if any (the agent's `_drain_pending_steer`).
    pub fn drain_steer(&self, stream_id: &str) -> Option<String> {
        self.steers.lock().expect("steers").remove(stream_id)
    }
}

impl Allowed {
    pub fn allows(&self, sid: &str, pattern: &str) -> bool {
        self.always.contains(pattern)
            || self
                .by_session
                .get(sid)
                .is_some_and(|s| s.contains(pattern))
    }

    /// Records an approval's answer.
    pub fn answered(&mut self, sid: &str, pattern: &str, choice: &str) {
        match choice {
            "session" => {
                self.by_session
                    .entry(sid.to_string())
                    .or_default()
                    .insert(pattern.to_string());
            }
            "always" => {
                self.always.insert(pattern.to_string());
            }
            _ => {}
        }
    }
}

impl App {
    /// Loads the data dir; turns a restart interrupted are settled as the real backend does.
    pub fn new(config: Config) -> std::io::Result<Arc<App>> {
        let store = Store::open(&config.data_dir)?;
        let mut sessions: BTreeMap<String, Session> = store
            .load_sessions()
            .into_iter()
            .map(|s| (s.session_id.clone(), s))
            .collect();
        let mut channels = HashMap::new();
        for (sid, stream, rows) in store.load_journals() {
            channels.insert(stream.clone(), Channel::from_journal(&sid, &stream, rows));
        }
        // A stream id with no live worker after a restart is stale: clear it and write what the
        // journal holds as an interrupted turn (upstream's `_clear_stale_stream_state`).
        for s in sessions.values_mut() {
            if let Some(stream) = s.active_stream_id.take() {
                recover_interrupted(s, channels.get(&stream));
                s.recovered_stream = Some(stream);
                store.save_session(s);
            }
        }
        let auth = auth::AuthState::new(config.password.clone()).allowing(&config.allowed_origins);
        Ok(Arc::new(App {
            store,
            sessions: Mutex::new(sessions),
            channels: Arc::new(Mutex::new(channels)),
            prompts: Mutex::new(HashMap::new()),
            runs: Mutex::new(HashMap::new()),
            changes: watch::channel(Change::default()).0,
            faults: faults::FaultState::default(),
            auth,
            allowed: Mutex::new(Allowed::default()),
            settings: Mutex::new(serde_json::Map::new()),
            steers: Mutex::new(HashMap::new()),
            config,
        }))
    }

    /// Publishes `sessions_changed`.
    pub fn changed(&self, reason: &str, session_id: Option<&str>) {
        self.changes.send_modify(|c| {
            c.version += 1;
            c.reason = reason.into();
            c.session_id = session_id.map(Into::into);
        });
    }

    /// Journals and broadcasts one event of `stream_id`.
    pub fn put(&self, stream_id: &str, event: &str, data: Value) {
        let data = data.to_string();
        let (frame, sid) = {
            let mut map = self.channels.lock().expect("channels");
            let Some(c) = map.get_mut(stream_id) else {
                return;
            };
            if !c.live {
                return;
            }
            (c.push(event, data, true), c.session_id.clone())
        };
        // A deleted session's run goes on (delete does not cancel), but its journal is gone
        // with it and is not written again.
        if !self.sessions.lock().expect("sessions").contains_key(&sid) {
            return;
        }
        self.store.append_journal(
            &sid,
            stream_id,
            &JournalRow {
                seq: frame.seq,
                event: frame.event,
                data: frame.data,
                ts: now(),
            },
        );
    }

    /// The worker of `stream_id` is done: later connects replay the journal.
    pub fn finish_stream(&self, stream_id: &str) {
        if let Some(c) = self.channels.lock().expect("channels").get_mut(stream_id) {
            c.finish();
        }
        self.runs.lock().expect("runs").remove(stream_id);
        self.steers.lock().expect("steers").remove(stream_id);
    }

    pub fn is_live(&self, stream_id: &str) -> bool {
        self.channels
            .lock()
            .expect("channels")
            .get(stream_id)
            .is_some_and(|c| c.live)
    }

    pub fn add_prompt(&self, sid: &str, p: Prompt) {
        self.prompts
            .lock()
            .expect("prompts")
            .entry(sid.to_string())
            .or_default()
            .push_back(p);
        self.changed("attention_pending", Some(sid));
    }

    pub fn clear_prompts(&self, sid: &str) {
        self.prompts.lock().expect("prompts").remove(sid);
        self.changed("attention_cleared", Some(sid));
    }

    /// `"approval"` / `"clarify"` when the session waits on the user.
    pub fn attention_of(&self, sid: &str) -> Option<&'static str> {
        self.prompts
            .lock()
            .expect("prompts")
            .get(sid)
            .and_then(|q| q.front())
            .map(|p| {
                if p.is_approval() {
                    "approval"
                } else {
                    "clarify"
                }
            })
    }

    pub fn is_first_turn(&self, sid: &str) -> bool {
        self.sessions
            .lock()
            .expect("sessions")
            .get(sid)
            .is_some_and(|s| s.turns == 0 && !s.manual_title)
    }

    pub fn set_title(&self, sid: &str, title: &str, manual: bool) {
        let mut map = self.sessions.lock().expect("sessions");
        if let Some(s) = map.get_mut(sid) {
            s.title = Some(title.to_string());
            s.manual_title |= manual;
            s.updated_at = now();
            self.store.save_session(s);
        }
        drop(map);
        self.changed("session_rename", Some(sid));
    }

    /// Context compression: a continuation session takes over; the old one becomes its parent.
    pub fn rotate_session(&self, old: &str) -> String {
        let mut map = self.sessions.lock().expect("sessions");
        let Some(mut s) = map.get(old).cloned() else {
            return old.to_string();
        };
        let new_id = model::hex_id(12);
        if let Some(o) = map.get_mut(old) {
            o.active_stream_id = None;
            o.archived = true;
            o.pending_user_message = None;
            self.store.save_session(o);
        }
        s.session_id = new_id.clone();
        s.parent_session_id = Some(old.to_string());
        s.messages = vec![json!({
            "role": "assistant",
            "content": "*Summary of the earlier conversation (context compressed).*",
            "_compressionRecovery": true,
            "timestamp": now()
        })];
        self.store.save_session(&s);
        map.insert(new_id.clone(), s);
        drop(map);
        self.changed("session_new", Some(&new_id));
        new_id
    }

    /// Saves a finished turn (the writeback of the stream's owner only) and returns the saved
    /// session JSON that `done` / `apperror` carry.
    #[allow(clippy::too_many_arguments)]
    pub fn settle_turn(
        &self,
        sid: &str,
        stream_id: &str,
        rows: &[Value],
        tools: &[Value],
        error: Option<&agent::ProviderError>,
        _title: Option<String>,
        duration: f64,
    ) -> Value {
        let mut map = self.sessions.lock().expect("sessions");
        let Some(s) = map.get_mut(sid) else {
            return Value::Null;
        };
        if s.active_stream_id.as_deref() != Some(stream_id) {
            // A stale or cancelled worker must not overwrite a newer turn.
            return saved_session_json(s);
        }
        let t = now();
        push_user_row(s);
        let n = rows.len();
        for (i, r) in rows.iter().enumerate() {
            let mut r = r.clone();
            r["timestamp"] = json!(t);
            r["id"] = json!(s.messages.len() + 1);
            r["_db_persisted"] = json!(true);
            if i + 1 == n && r["role"] == "assistant" && error.is_none() {
                r["_turnDuration"] = json!((duration * 1000.0).round() / 1000.0);
                r["_usedModel"] = json!("fake-model");
            }
            s.messages.push(r);
        }
        if let Some(e) = error {
            s.messages.push(json!({
                "role": "assistant",
                "content": e.bubble(),
                "_error": true,
                "provider_details": e.message,
                "timestamp": t
            }));
        }
        s.tool_calls.extend(tools.iter().cloned());
        s.finish_turn(t);
        s.revision += 1;
        s.input_tokens += 100;
        s.output_tokens += 40;
        self.store.save_session(s);
        let v = saved_session_json(s);
        drop(map);
        self.prompts.lock().expect("prompts").remove(sid);
        self.changed("turn_done", Some(sid));
        v
    }
}

/// The user row of the pending turn, as saved.
pub fn push_user_row(s: &mut Session) {
    if let Some(text) = s.pending_user_message.take() {
        let mut content = text;
        let names: Vec<String> = s
            .pending_attachments
            .iter()
            .filter_map(|a| a["path"].as_str().map(str::to_string))
            .collect();
        if !names.is_empty() {
            content.push_str(&format!("\n\n[Attached files: {}]", names.join(", ")));
        }
        let attachments: Vec<Value> = s
            .pending_attachments
            .iter()
            .filter_map(|a| a["name"].as_str().map(|n| json!(n)))
            .collect();
        let mut row = json!({
            "role": "user",
            "content": content,
            "_db_persisted": true,
            "timestamp": s.pending_started_at.unwrap_or_else(now),
            "id": s.messages.len() + 1
        });
        if !attachments.is_empty() {
            row["attachments"] = json!(attachments);
        }
        s.messages.push(row);
    }
}

/// Writes what an interrupted turn's journal holds: the prompt, the partial reply, a marker.
fn recover_interrupted(s: &mut Session, channel: Option<&Channel>) {
    push_user_row(s);
    if let Some(c) = channel {
        let text = partial_text(c);
        if !text.is_empty() {
            s.messages.push(
                json!({"role": "assistant", "content": text, "_partial": true, "timestamp": now()}),
            );
        }
    }
    s.messages.push(json!({
        "role": "assistant",
        "content": "**Interrupted:** The server restarted before this reply finished.\n\n\
                    *Send the message again to retry.*",
        "_error": true,
        "provider_details": "The stream's worker was lost in a restart.",
        "provider_details_label": "Recovery details",
        "timestamp": now()
    }));
    s.pending_attachments.clear();
    s.pending_started_at = None;
    s.updated_at = now();
    s.last_message_at = Some(now());
}

/// The prose a stream has produced so far, computed with the pane's own runtime.
pub fn partial_text(c: &Channel) -> String {
    let mut rt = pane_core::SessionRuntime::new(&c.session_id);
    rt.started(&c.stream_id);
    for f in c.frames.iter().filter(|f| f.journaled) {
        if let Ok(ev) = pane_core::StreamEvent::decode(&f.event, &f.data) {
            let id = pane_core::EventId {
                stream_id: c.stream_id.clone(),
                seq: f.seq,
            };
            rt.apply(&c.stream_id, Some(&id), &ev);
        }
    }
    rt.live().map(|l| l.text()).unwrap_or_default()
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Option<Arc<App>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The URL the pane is served at.
    pub fn url(&self, mount: &str) -> String {
        format!("http://{}{}", self.addr, mount)
    }
}

/// Binds and serves; returns once the socket is listening.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let (router, app, stats) = match &config.backend {
        Some(_) => {
            let stats = Arc::new(faults::Stats::default());
            (proxy::router(&config)?, None, stats)
        }
        None => {
            let app = App::new(config.clone())?;
            let stats = app.faults.stats.clone();
            (api::router(app.clone()), Some(app), stats)
        }
    };
    let refuse = app.as_ref().map(|a| a.faults.refuse_until.clone());
    let task = tokio::spawn(faults::serve(listener, router, stats, refuse));
    Ok(Running { addr, app, task })
}
