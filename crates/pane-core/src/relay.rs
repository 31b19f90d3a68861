//! One set of transports per browser, shared by every tab of the pane (same origin and mount).
//!
//! Browsers allow ~6 connections per origin on HTTP/1.1 for the whole browser, not per tab. So
//! the tabs elect a leader (the shell holds a Web Lock for the tab's life); the leader holds
//! every chat EventSource under the browser-wide budget and relays each frame unchanged to the
//! other tabs over a BroadcastChannel. Every tab applies a relayed frame through the same
//! decode → `apply` path as its own, so exactly-once still rests on each session's cursor:
//!
//! - a tab is *attached* to a stream before it takes any of its relayed frames; the leader
//!   attaches it with the frames it buffered after that tab's cursor, or — when the tab is
//!   behind what the buffer holds — reopens the transport from that cursor (the tabs that were
//!   ahead drop the replayed frames as duplicates);
//! - on handoff the new leader knows nothing: every tab sends its wants with its cursors again
//!   and the new leader opens each stream from the lowest of them.
//!
//! [`Leader`] is the leader's state machine, [`Follower`] a follower's, [`Solo`] the fallback
//! where the lock primitive is missing (per-tab transports, the budget split between the tabs
//! present). [`Msg`] is what goes over the channel, encoded as compact JSON.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{json, Value};

use crate::cursor::{Cursor, EventId};
use crate::transport::{plan, Candidate, Priority};

/// A frame as the transport handed it over: its id, event name and data, unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub id: String,
    pub name: String,
    pub data: String,
}

/// How a tab ranks one of the sessions it wants a transport for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// The session the tab shows.
    Shown,
    /// Waits on an approval or clarify answer.
    Attention,
    /// Viewed recently in that tab: 0 is the most recent.
    Recent(u32),
    Rest,
}

impl Rank {
    fn code(self) -> u64 {
        match self {
            Rank::Shown => 0,
            Rank::Attention => 1,
            Rank::Recent(r) => 2 + u64::from(r),
            Rank::Rest => u64::from(u32::MAX),
        }
    }

    fn from_code(c: u64) -> Rank {
        match c {
            0 => Rank::Shown,
            1 => Rank::Attention,
            c if c < u64::from(u32::MAX) => Rank::Recent((c - 2) as u32),
            _ => Rank::Rest,
        }
    }
}

/// A session a tab wants a transport for, with its cursor on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub session: String,
    pub stream: String,
    /// The last seq the tab applied (0: nothing yet).
    pub seq: u64,
    pub rank: Rank,
}

/// Everything one tab wants, sent whole each time (so it doubles as the tab's heartbeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabWants {
    pub tab: String,
    pub visible: bool,
    pub wants: Vec<Want>,
}

/// What the tabs tell each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// `tab` holds the lock now: every other tab sends its wants (with its cursors) again.
    Leader { tab: String },
    /// A tab's wants (also its heartbeat, every few seconds).
    Wants(TabWants),
    /// A tab is leaving (`pagehide`); a crashed one is dropped when its heartbeat stops.
    Bye { tab: String },
    /// A chat frame of `stream`, relayed unchanged.
    Frame { stream: String, frame: RawFrame },
    /// To `to`: take `stream`'s frames from now on; `frames` (those after its cursor) first.
    Attached {
        to: String,
        stream: String,
        frames: Vec<RawFrame>,
    },
    /// `stream`'s transport was closed (parked for budget, or unwanted): its frames stop.
    Detached { stream: String },
    /// `stream`'s transport failed: each tab's core probes it and asks again.
    Failed { stream: String },
    /// The session list changed (the leader's `/api/sessions/events` channel).
    SessionsChanged,
    /// An approval (or clarify) card was answered in one tab: it goes in every tab.
    Answered { session: String, approval: bool },
    /// The chat EventSources the leader holds (the browser-wide count).
    Held { count: usize },
    /// Fallback (no lock): a tab is present (sent at start, answered once by each peer, then
    /// as a heartbeat).
    Here { tab: String },
}

fn frame_json(f: &RawFrame) -> Value {
    json!([f.id, f.name, f.data])
}

fn frame_from(v: &Value) -> Option<RawFrame> {
    Some(RawFrame {
        id: v.get(0)?.as_str()?.to_string(),
        name: v.get(1)?.as_str()?.to_string(),
        data: v.get(2)?.as_str()?.to_string(),
    })
}

impl Msg {
    /// The message as channel text.
    pub fn encode(&self) -> String {
        let v = match self {
            Msg::Leader { tab } => json!(["L", tab]),
            Msg::Wants(w) => {
                let wants: Vec<Value> = w
                    .wants
                    .iter()
                    .map(|x| json!([x.session, x.stream, x.seq, x.rank.code()]))
                    .collect();
                json!(["W", w.tab, w.visible, wants])
            }
            Msg::Bye { tab } => json!(["B", tab]),
            Msg::Frame { stream, frame } => json!(["F", stream, frame_json(frame)]),
            Msg::Attached { to, stream, frames } => {
                let frames: Vec<Value> = frames.iter().map(frame_json).collect();
                json!(["A", to, stream, frames])
            }
            Msg::Detached { stream } => json!(["D", stream]),
            Msg::Failed { stream } => json!(["X", stream]),
            Msg::SessionsChanged => json!(["S"]),
            Msg::Answered { session, approval } => json!(["P", session, approval]),
            Msg::Held { count } => json!(["H", count]),
            Msg::Here { tab } => json!(["I", tab]),
        };
        v.to_string()
    }

    /// Reads channel text; `None` for anything else (another version's message, noise).
    pub fn decode(text: &str) -> Option<Msg> {
        let v: Value = serde_json::from_str(text).ok()?;
        let s = |i: usize| v.get(i).and_then(Value::as_str).map(str::to_string);
        Some(match v.get(0)?.as_str()? {
            "L" => Msg::Leader { tab: s(1)? },
            "W" => Msg::Wants(TabWants {
                tab: s(1)?,
                visible: v.get(2)?.as_bool()?,
                wants: v
                    .get(3)?
                    .as_array()?
                    .iter()
                    .map(|w| {
                        Some(Want {
                            session: w.get(0)?.as_str()?.to_string(),
                            stream: w.get(1)?.as_str()?.to_string(),
                            seq: w.get(2)?.as_u64()?,
                            rank: Rank::from_code(w.get(3)?.as_u64()?),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?,
            }),
            "B" => Msg::Bye { tab: s(1)? },
            "F" => Msg::Frame {
                stream: s(1)?,
                frame: frame_from(v.get(2)?)?,
            },
            "A" => Msg::Attached {
                to: s(1)?,
                stream: s(2)?,
                frames: v
                    .get(3)?
                    .as_array()?
                    .iter()
                    .map(frame_from)
                    .collect::<Option<Vec<_>>>()?,
            },
            "D" => Msg::Detached { stream: s(1)? },
            "X" => Msg::Failed { stream: s(1)? },
            "S" => Msg::SessionsChanged,
            "P" => Msg::Answered {
                session: s(1)?,
                approval: v.get(2)?.as_bool()?,
            },
            "H" => Msg::Held {
                count: v.get(1)?.as_u64()? as usize,
            },
            "I" => Msg::Here { tab: s(1)? },
            _ => return None,
        })
    }
}

/// What the leader's shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Open an EventSource on `/api/chat/stream?{query}`.
    Open {
        session: String,
        stream: String,
        query: String,
    },
    /// Close the EventSource of `stream`.
    Close { stream: String },
    /// Post to every other tab.
    Post(Msg),
    /// Frames for the leader tab's own hub (in order).
    Local {
        stream: String,
        frames: Vec<RawFrame>,
    },
    /// The transport of `stream` failed: the leader tab's own hub probes it (if it wants it).
    LocalFailed { stream: String },
}

/// Fallback: how long a tab may stay silent before its peers drop it (it says `Here` every
/// second; a crashed tab sends no `Bye`).
pub const TAB_TIMEOUT_MS: u64 = 6_000;
/// The frames a held stream keeps for tabs that attach late (a long turn's tokens).
const BUFFER_FRAMES: usize = 20_000;
const BUFFER_BYTES: usize = 8 << 20;

#[derive(Debug, Clone)]
struct Tab {
    visible: bool,
    wants: Vec<Want>,
    seen: u64,
}

#[derive(Debug, Clone)]
struct Held {
    /// Opened after this seq: the buffer holds every journaled frame after it.
    from: u64,
    /// The last seq relayed (replays of older frames are not relayed twice).
    last: u64,
    buffer: VecDeque<(u64, RawFrame)>,
    bytes: usize,
    attached: BTreeSet<String>,
}

impl Held {
    fn new(from: u64) -> Held {
        Held {
            from,
            last: from,
            buffer: VecDeque::new(),
            bytes: 0,
            attached: BTreeSet::new(),
        }
    }

    fn after(&self, seq: u64) -> Vec<RawFrame> {
        self.buffer
            .iter()
            .filter(|(s, _)| *s > seq)
            .map(|(_, f)| f.clone())
            .collect()
    }
}

/// The leader: every tab's wants (its own included), the transports it holds under the
/// browser-wide budget, and which tab takes which stream's frames.
#[derive(Debug, Clone)]
pub struct Leader {
    me: String,
    slots: usize,
    tabs: BTreeMap<String, Tab>,
    held: BTreeMap<String, Held>,
    wanted_since: BTreeMap<String, u64>,
    tick: u64,
    last_count: Option<usize>,
}

impl Leader {
    /// The tab `me` took the lead; it may hold `slots` chat streams for the whole browser.
    pub fn new(me: &str, slots: usize) -> Leader {
        Leader {
            me: me.to_string(),
            slots,
            tabs: BTreeMap::new(),
            held: BTreeMap::new(),
            wanted_since: BTreeMap::new(),
            tick: 0,
            last_count: None,
        }
    }

    /// The message announcing this leader.
    pub fn announce(&self) -> Msg {
        Msg::Leader {
            tab: self.me.clone(),
        }
    }

    /// The streams held now.
    pub fn held(&self) -> Vec<String> {
        self.held.keys().cloned().collect()
    }

    /// The tabs known (this one included).
    pub fn tabs(&self) -> Vec<String> {
        self.tabs.keys().cloned().collect()
    }

    /// Whether `tab` takes the frames of `stream` now.
    pub fn is_attached(&self, tab: &str, stream: &str) -> bool {
        self.held
            .get(stream)
            .is_some_and(|h| h.attached.contains(tab))
    }

    /// A tab's wants (the leader's own too), at `now` ms.
    pub fn wants(&mut self, w: TabWants, now: u64) -> Vec<Out> {
        let known = self.tabs.get(&w.tab);
        if known.is_some_and(|t| t.visible == w.visible && t.wants == w.wants) {
            // A heartbeat: nothing changed.
            self.tabs.get_mut(&w.tab).expect("known").seen = now;
            return Vec::new();
        }
        self.tabs.insert(
            w.tab,
            Tab {
                visible: w.visible,
                wants: w.wants,
                seen: now,
            },
        );
        self.replan()
    }

    /// A tab left (`Bye`).
    pub fn gone(&mut self, tab: &str) -> Vec<Out> {
        if tab == self.me || self.tabs.remove(tab).is_none() {
            return Vec::new();
        }
        for h in self.held.values_mut() {
            h.attached.remove(tab);
        }
        self.replan()
    }

    /// Keeps only the tabs still alive: those in `alive` (each tab holds a lock of its own for
    /// its life, so a crashed or discarded one drops out of the browser's lock list), or heard
    /// from within the last [`LISTEN_MS`] (a new tab's lock may not be listed yet).
    pub fn alive(&mut self, alive: &BTreeSet<String>, now: u64) -> Vec<Out> {
        let dead: Vec<String> = self
            .tabs
            .iter()
            .filter(|(k, t)| **k != self.me && !alive.contains(*k) && t.seen + LISTEN_MS < now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for d in dead {
            out.extend(self.gone(&d));
        }
        out
    }

    /// A frame from the transport of `stream`: buffered for late tabs and relayed to the
    /// attached ones. A replay of a frame already relayed goes nowhere.
    pub fn frame(&mut self, stream: &str, frame: RawFrame) -> Vec<Out> {
        let Some(h) = self.held.get_mut(stream) else {
            return Vec::new();
        };
        if let Some(id) = EventId::parse(&frame.id).filter(|i| i.stream_id == stream) {
            if id.seq <= h.last {
                return Vec::new();
            }
            h.last = id.seq;
            h.bytes += frame.data.len() + frame.name.len() + frame.id.len();
            h.buffer.push_back((id.seq, frame.clone()));
            while h.buffer.len() > BUFFER_FRAMES || h.bytes > BUFFER_BYTES {
                let Some((seq, f)) = h.buffer.pop_front() else {
                    break;
                };
                h.bytes -= f.data.len() + f.name.len() + f.id.len();
                // A tab behind this point makes the leader reopen from its cursor.
                h.from = seq;
            }
        }
        let mut out = Vec::new();
        if h.attached.iter().any(|t| *t != self.me) {
            out.push(Out::Post(Msg::Frame {
                stream: stream.to_string(),
                frame: frame.clone(),
            }));
        }
        if h.attached.contains(&self.me) {
            out.push(Out::Local {
                stream: stream.to_string(),
                frames: vec![frame],
            });
        }
        out
    }

    /// The transport of `stream` failed (the shell closed it). Every tab's core probes the
    /// stream and asks for it again if it is still live; until then nobody wants it.
    pub fn failed(&mut self, stream: &str) -> Vec<Out> {
        let Some(h) = self.held.remove(stream) else {
            return Vec::new();
        };
        for t in self.tabs.values_mut() {
            t.wants.retain(|w| w.stream != stream);
        }
        let mut out = vec![Out::Post(Msg::Failed {
            stream: stream.to_string(),
        })];
        if h.attached.contains(&self.me) {
            out.push(Out::LocalFailed {
                stream: stream.to_string(),
            });
        }
        out.extend(self.replan());
        out
    }

    /// The best rank any tab gives `stream`: each visible tab's shown session outranks
    /// everything else, then attention, then a hidden tab's shown session, then recency.
    fn priority(visible: bool, rank: Rank) -> Priority {
        match rank {
            Rank::Shown if visible => Priority::Shown,
            Rank::Attention => Priority::Attention,
            Rank::Shown => Priority::Recent(u64::MAX),
            Rank::Recent(r) => Priority::Recent(u64::MAX - 1 - u64::from(r)),
            Rank::Rest => Priority::Rest,
        }
    }

    fn replan(&mut self) -> Vec<Out> {
        // Per stream: its best priority, the session that owns it, and the lowest cursor.
        let mut streams: BTreeMap<String, (Priority, String, u64)> = BTreeMap::new();
        for t in self.tabs.values() {
            for w in &t.wants {
                let p = Leader::priority(t.visible, w.rank);
                let e = streams
                    .entry(w.stream.clone())
                    .or_insert((p, w.session.clone(), w.seq));
                if better(p, e.0) {
                    e.0 = p;
                }
                e.2 = e.2.min(w.seq);
            }
        }
        self.wanted_since.retain(|k, _| streams.contains_key(k));
        for k in streams.keys() {
            if !self.wanted_since.contains_key(k) {
                self.tick += 1;
                self.wanted_since.insert(k.clone(), self.tick);
            }
        }
        let candidates: Vec<Candidate> = streams
            .iter()
            .map(|(s, (p, _, _))| Candidate {
                session_id: s.clone(),
                priority: *p,
                open: self.held.contains_key(s),
                since: self.wanted_since[s],
            })
            .collect();
        let chosen = plan(&candidates, self.slots);

        let mut closes = Vec::new();
        let mut rest = Vec::new();
        let held: Vec<String> = self.held.keys().cloned().collect();
        for s in held {
            if !chosen.contains(&s) {
                self.held.remove(&s);
                closes.push(Out::Close { stream: s.clone() });
                closes.push(Out::Post(Msg::Detached { stream: s }));
            }
        }
        for s in &chosen {
            let (_, session, min_seq) = streams[s].clone();
            let wanting: BTreeMap<String, u64> = self
                .tabs
                .iter()
                .filter_map(|(id, t)| {
                    let w = t.wants.iter().find(|w| &w.stream == s)?;
                    Some((id.clone(), w.seq))
                })
                .collect();
            // A tab that is not attached yet and is behind what the buffer holds needs the
            // stream replayed from its cursor (an attached tab's reported cursor may be older
            // than what it has applied: it only moves on).
            let behind = self.held.get(s).and_then(|h| {
                wanting
                    .iter()
                    .filter(|(t, seq)| !h.attached.contains(*t) && **seq < h.from)
                    .map(|(_, seq)| *seq)
                    .min()
            });
            let opened = match (self.held.get(s), behind) {
                (None, _) => Some((min_seq, BTreeSet::new())),
                (Some(h), Some(from)) => Some((from, h.attached.clone())),
                (Some(_), None) => None,
            };
            if let Some((from, attached)) = opened {
                if self.held.contains_key(s) {
                    closes.push(Out::Close { stream: s.clone() });
                }
                let mut h = Held::new(from);
                // Tabs already attached stay so: the replay is duplicates to them.
                h.attached = attached;
                self.held.insert(s.clone(), h);
                rest.push(Out::Open {
                    session,
                    stream: s.clone(),
                    query: Cursor::at(s, from).resume_query(s),
                });
            }
            let h = self.held.get_mut(s).expect("held");
            h.attached.retain(|t| wanting.contains_key(t));
            for (tab, seq) in wanting {
                if h.attached.insert(tab.clone()) {
                    let frames = h.after(seq);
                    if tab == self.me {
                        rest.push(Out::Local {
                            stream: s.clone(),
                            frames,
                        });
                    } else {
                        rest.push(Out::Post(Msg::Attached {
                            to: tab,
                            stream: s.clone(),
                            frames,
                        }));
                    }
                }
            }
        }
        let count = self.held.len();
        if self.last_count != Some(count) {
            self.last_count = Some(count);
            rest.push(Out::Post(Msg::Held { count }));
        }
        // Closes first, so their connections are free for the opens.
        closes.extend(rest);
        closes
    }
}

/// Whether `a` outranks `b` (the scheduler's order).
fn better(a: Priority, b: Priority) -> bool {
    let key = |p: Priority| match p {
        Priority::Shown => (0, 0),
        Priority::Attention => (1, 0),
        Priority::Recent(t) => (2, u64::MAX - t),
        Priority::Rest => (3, 0),
    };
    key(a) < key(b)
}

/// What a follower does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// Nothing for this tab.
    Nothing,
    /// Apply these frames of `stream`, in order.
    Frames {
        stream: String,
        frames: Vec<RawFrame>,
    },
    /// A new leader: send the wants again (with the cursors).
    SendWants,
    /// The stream's transport failed: probe it.
    Failed { stream: String },
}

/// A follower: which streams it takes relayed frames of. A frame of a stream it is not
/// attached to is dropped — its frames up to the attach point come with the `Attached`
/// message, so none is applied out of order (the cursor would take it for a gap) or twice.
#[derive(Debug, Clone, Default)]
pub struct Follower {
    me: String,
    attached: BTreeSet<String>,
    /// The chat EventSources the leader holds, as it last said.
    pub held: usize,
}

impl Follower {
    pub fn new(me: &str) -> Follower {
        Follower {
            me: me.to_string(),
            ..Default::default()
        }
    }

    /// Whether this tab takes `stream`'s frames now.
    pub fn is_attached(&self, stream: &str) -> bool {
        self.attached.contains(stream)
    }

    /// This tab's core wants only `streams` now: it let go of the others (they ended, or
    /// their sessions went), whose relayed frames it no longer takes.
    pub fn keep_only(&mut self, streams: &BTreeSet<String>) {
        self.attached.retain(|s| streams.contains(s));
    }

    /// A message from the channel.
    pub fn receive(&mut self, msg: Msg) -> Take {
        match msg {
            Msg::Leader { tab } if tab != self.me => {
                // The new leader attaches every stream again, from the cursors sent to it.
                self.attached.clear();
                Take::SendWants
            }
            Msg::Frame { stream, frame } if self.attached.contains(&stream) => Take::Frames {
                stream,
                frames: vec![frame],
            },
            Msg::Attached { to, stream, frames } if to == self.me => {
                self.attached.insert(stream.clone());
                Take::Frames { stream, frames }
            }
            Msg::Detached { stream } => {
                self.attached.remove(&stream);
                Take::Nothing
            }
            Msg::Failed { stream } if self.attached.remove(&stream) => Take::Failed { stream },
            Msg::Held { count } => {
                self.held = count;
                Take::Nothing
            }
            _ => Take::Nothing,
        }
    }
}

/// The fallback where tabs cannot elect a leader (no Web Locks): each tab holds its own
/// transports, and the browser-wide budget is split between the tabs present, so together
/// they never hold more. A tab takes no chat stream until it has heard its peers.
#[derive(Debug, Clone)]
pub struct Solo {
    me: String,
    peers: BTreeMap<String, u64>,
    started: u64,
}

/// How long a new tab listens for its peers before taking its share.
pub const LISTEN_MS: u64 = 400;

impl Solo {
    pub fn new(me: &str, now: u64) -> Solo {
        Solo {
            me: me.to_string(),
            peers: BTreeMap::new(),
            started: now,
        }
    }

    /// A peer's `Here`; true when it is new (answer it once so it learns of this tab).
    pub fn here(&mut self, tab: &str, now: u64) -> bool {
        tab != self.me && self.peers.insert(tab.to_string(), now).is_none()
    }

    /// A peer's `Bye`.
    pub fn gone(&mut self, tab: &str) {
        self.peers.remove(tab);
    }

    /// Drops the peers silent since before `now - TAB_TIMEOUT_MS`.
    pub fn expire(&mut self, now: u64) {
        self.peers.retain(|_, seen| *seen + TAB_TIMEOUT_MS >= now);
    }

    /// The tabs present (this one included).
    pub fn tabs(&self) -> usize {
        self.peers.len() + 1
    }

    /// This tab's chat streams out of a browser-wide budget of `connections` (chat streams
    /// plus one session-list channel per tab): what is left after every tab's list channel,
    /// split evenly, the remainder going to the tabs first in id order. Zero while listening.
    pub fn share(&self, connections: usize, now: u64) -> usize {
        if now < self.started + LISTEN_MS {
            return 0;
        }
        let n = self.tabs();
        let chat = connections.saturating_sub(n);
        let index = self.peers.keys().filter(|p| **p < self.me).count();
        chat / n + usize::from(index < chat % n)
    }
}
