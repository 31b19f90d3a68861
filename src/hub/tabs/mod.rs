//! One set of transports per browser: the shell of `pane_core::relay` (the decisions are
//! there, tested natively). In the later chunk: it starts when that chunk is in, and until
//! then a tab opens no chat stream (its core's budget is nothing), so a new tab never adds
//! connections before it knows whether another tab leads.
//!
//! - Election: each tab holds a Web Lock of its own for its life (so the leader sees which
//!   tabs are alive: a crashed one's lock goes with it), then asks for the leader lock
//!   (`ifAvailable`); a tab that did not get it follows, and queues for it — the browser grants
//!   it to one waiter as soon as the leader's document is gone, however it went.
//! - The leader opens every chat EventSource (and the session-list channel) for every tab,
//!   relays each frame over a BroadcastChannel and hands its own to its hub; a follower hands
//!   the relayed frames of the streams it is attached to to its hub. Both go through
//!   `Hub::on_report`, the path a tab's own transport takes.
//! - Without Web Locks (or BroadcastChannel) each tab keeps its own transports under a share
//!   of the browser-wide budget ([`pane_core::relay::Solo`]).

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};

use pane_core::relay::{Follower, Leader, Msg, Out, RawFrame, Solo, TabWants, Take};
use pane_core::transport::Budget;
use pane_core::{Input, Prompt};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use super::transport::{RawEvent, Report};
use super::Hub;

mod lock;
mod relay;

use lock::{query_alive, request_lock};
use relay::{receive, run};

/// What the rest of the hub tells this module (one split function for all: each costs the
/// first paint a loader stub).
pub(crate) enum Event {
    /// The later chunk is in: start the election (at once in builds without chunks).
    Start,
    /// The core's opens and closes: carried out here (this tab's own transports), or, with a
    /// shared set, what this tab asks of the leader. (None come before the chunk is in: the
    /// core's budget is nothing until the tabs have agreed.)
    Transports(Vec<pane_core::Command>),
    /// This tab's core changed what it wants (a stream opened or closed, shown or hidden).
    Changed,
    /// The page is going: say so to the other tabs.
    Leaving,
    /// The leader's session-list channel saw a change: every tab re-fetches its list.
    ListChanged,
}

crate::later_fns! {
    fn call(hub: Hub, event: Event) -> () as preload_call => call_body;
}

/// Tells the tabs' module `event` (nothing before its chunk is in).
pub(crate) fn tell(hub: Hub, event: Event) {
    if crate::lazy::ready(crate::lazy::Chunk::Later) {
        let _ = crate::lazy::now(call(hub, event));
    }
}

fn call_body(hub: Hub, event: Event) {
    match event {
        Event::Start => start_body(hub),
        Event::Transports(commands) => transports(hub, commands),
        Event::Changed => changed_body(hub),
        Event::Leaving => leaving_body(hub),
        Event::ListChanged => list_changed_body(hub),
    }
}

enum Role {
    Pending,
    Leader(Leader),
    Follower(Follower),
    Solo(Option<Solo>),
}

struct Tabs {
    me: String,
    lock: String,
    channel: Option<BroadcastChannel>,
    role: Role,
    /// The wants last posted.
    posted: Option<Posted>,
}

/// What a follower last told the leader, without the cursors (they move with every frame and
/// matter only when a stream is attached).
#[derive(PartialEq)]
struct Posted {
    visible: bool,
    wants: Vec<(String, String, pane_core::relay::Rank)>,
}

thread_local! {
    static TABS: RefCell<Option<Tabs>> = const { RefCell::new(None) };
    static QUEUE: RefCell<VecDeque<Out>> = const { RefCell::new(VecDeque::new()) };
    static DRAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn with<R>(f: impl FnOnce(&mut Tabs) -> R) -> Option<R> {
    TABS.with(|t| t.borrow_mut().as_mut().map(f))
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn visible() -> bool {
    !web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

fn post(msg: &Msg) {
    let channel = with(|t| t.channel.clone()).flatten();
    if let Some(c) = channel {
        let _ = c.post_message(&JsValue::from_str(&msg.encode()));
    }
}

fn start_body(hub: Hub) {
    if with(|_| ()).is_some() {
        return;
    }
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    let lock = format!("hermes-pane:{base}");
    let me = format!(
        "{:x}{:08x}",
        now(),
        (js_sys::Math::random() * f64::from(u32::MAX)) as u32
    );
    let channel = BroadcastChannel::new(&lock).ok();
    if let Some(c) = &channel {
        let on = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let Some(msg) = ev.data().as_string().and_then(|s| Msg::decode(&s)) {
                receive(hub, msg);
            }
        });
        c.set_onmessage(Some(on.as_ref().unchecked_ref()));
        // Lives as long as the page.
        on.forget();
    }
    TABS.with(|t| {
        *t.borrow_mut() = Some(Tabs {
            me: me.clone(),
            lock: lock.clone(),
            channel: channel.clone(),
            role: Role::Pending,
            posted: None,
        })
    });
    let tab_lock = format!("{lock}:tab:{me}");
    let elected = channel.is_some()
        && request_lock(&tab_lock, false, move |_| {
            let leader_lock = format!("{lock}:leader");
            let queued = leader_lock.clone();
            request_lock(&leader_lock, true, move |got| {
                if got {
                    become_leader(hub);
                } else {
                    become_follower(hub);
                    // Granted when the leader's document is gone (closed, crashed, discarded).
                    request_lock(&queued, false, move |_| become_leader(hub));
                }
            });
        })
        .is_some();
    if !elected {
        start_solo(hub, channel.is_some());
    }
    let tick = Closure::<dyn FnMut()>::new(move || heartbeat(hub));
    if let Some(w) = web_sys::window() {
        let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            1_000,
        );
    }
    tick.forget();
}

fn set_role(hub: Hub, role: Role) {
    let name = match &role {
        Role::Pending => "pending",
        Role::Leader(_) => "leader",
        Role::Follower(_) => "follower",
        Role::Solo(_) => "solo",
    };
    let shared = matches!(role, Role::Leader(_) | Role::Follower(_));
    with(|t| t.role = role);
    hub.with(|i| {
        i.role = name;
        i.shared = shared;
    });
}

fn become_leader(hub: Hub) {
    let (me, slots) = (
        with(|t| t.me.clone()).unwrap_or_default(),
        hub.with(|i| i.browser_budget.chat_slots()),
    );
    let leader = Leader::new(&me, slots);
    let announce = leader.announce();
    set_role(hub, Role::Leader(leader));
    post(&announce);
    with(|t| t.posted = None);
    hub.open_sessions_channel();
    // Every session that follows a live stream: the leader ranks them with the other tabs'.
    hub.update(None, Input::Budget(Budget::unlimited()));
    changed_body(hub);
    hub.refresh_list_soon();
}

fn become_follower(hub: Hub) {
    let me = with(|t| t.me.clone()).unwrap_or_default();
    set_role(hub, Role::Follower(Follower::new(&me)));
    hub.update(None, Input::Budget(Budget::unlimited()));
    changed_body(hub);
}

fn start_solo(hub: Hub, with_channel: bool) {
    let me = with(|t| t.me.clone()).unwrap_or_default();
    if with_channel {
        set_role(hub, Role::Solo(Some(Solo::new(&me, now()))));
        post(&Msg::Here { tab: me });
        // The share is taken once the peers have answered (the heartbeat recomputes it).
    } else {
        // Nobody to agree with: today's per-tab budget (a hidden tab holds less).
        set_role(hub, Role::Solo(None));
        let b = hub.with(|i| i.browser_budget);
        hub.update(None, Input::Budget(b));
    }
    hub.open_sessions_channel();
}

fn solo_share(hub: Hub) {
    let connections = hub.with(|i| i.browser_budget.connections);
    let share = with(|t| match &t.role {
        Role::Solo(Some(s)) => Some(s.share(connections, now())),
        _ => None,
    })
    .flatten();
    if let Some(n) = share {
        let b = Budget::share(n);
        if hub.with(|i| i.solo_budget != Some(b)) {
            hub.with(|i| i.solo_budget = Some(b));
            hub.update(None, Input::Budget(b));
        }
    }
}

fn heartbeat(hub: Hub) {
    let me = with(|t| t.me.clone()).unwrap_or_default();
    let role = hub.with(|i| i.role);
    match role {
        "solo" => {
            with(|t| {
                if let Role::Solo(Some(s)) = &mut t.role {
                    s.expire(now());
                }
            });
            post(&Msg::Here { tab: me });
            solo_share(hub);
        }
        "leader" => {
            let lock = with(|t| t.lock.clone()).unwrap_or_default();
            query_alive(hub, format!("{lock}:tab:"));
        }
        _ => {}
    }
    let held = with(|t| match &t.role {
        Role::Follower(f) => Some(f.held),
        _ => None,
    })
    .flatten();
    hub.with(|i| i.held = held.unwrap_or(i.transports.len()));
}

fn changed_body(hub: Hub) {
    let (wants, me) = (
        hub.with(|i| i.core.wants()),
        with(|t| t.me.clone()).unwrap_or_default(),
    );
    let w = TabWants {
        tab: me,
        visible: visible(),
        wants,
    };
    let key = Posted {
        visible: w.visible,
        wants: w
            .wants
            .iter()
            .map(|x| (x.session.clone(), x.stream.clone(), x.rank))
            .collect(),
    };
    let out = with(|t| match &mut t.role {
        Role::Leader(l) => Some(l.wants(w, now())),
        Role::Follower(f) => {
            let streams: BTreeSet<String> = w.wants.iter().map(|x| x.stream.clone()).collect();
            f.keep_only(&streams);
            if t.posted.as_ref() != Some(&key) {
                t.posted = Some(key);
                Some(vec![Out::Post(Msg::Wants(w))])
            } else {
                None
            }
        }
        _ => None,
    })
    .flatten();
    if let Some(out) = out {
        run(hub, out);
    }
}

fn transports(hub: Hub, commands: Vec<pane_core::Command>) {
    use pane_core::{CloseReason, Command};
    let shared = hub.with(|i| i.shared);
    for c in commands {
        match c {
            Command::Close {
                reason: CloseReason::Ended,
                ..
            } if shared => hub.refresh_list_soon(),
            _ if shared => {}
            Command::Open {
                session_id,
                stream_id,
                query,
            } => hub.open_transport(&session_id, &stream_id, &query),
            Command::Close { stream_id, reason } => hub.close_transport(&stream_id, reason),
            _ => {}
        }
    }
    if shared {
        changed_body(hub);
    }
}

fn leaving_body(hub: Hub) {
    let me = with(|t| t.me.clone());
    if let Some(tab) = me {
        post(&Msg::Bye { tab });
    }
    let _ = hub;
}

fn list_changed_body(hub: Hub) {
    if hub.with(|i| i.role == "leader") {
        post(&Msg::SessionsChanged);
    }
}

/// An approval or clarify card was answered here: it goes in every tab.
pub(crate) fn answered(session: &str, prompt: Prompt) {
    post(&Msg::Answered {
        session: session.to_string(),
        approval: prompt == Prompt::Approval,
    });
}
