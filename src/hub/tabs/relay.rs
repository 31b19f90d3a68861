//! The channel's messages into this tab's hub, and the leader's decisions carried out: its
//! transports, its posts, the frames for its own hub.

use super::*;

pub(super) fn receive(hub: Hub, msg: Msg) {
    match msg {
        Msg::Answered { session, approval } => {
            let prompt = if approval {
                Prompt::Approval
            } else {
                Prompt::Clarify
            };
            hub.update(
                Some(&session),
                Input::Answered {
                    session: session.clone(),
                    prompt,
                },
            );
            return;
        }
        Msg::SessionsChanged => {
            hub.refresh_list_soon();
            return;
        }
        _ => {}
    }
    let role = hub.with(|i| i.role);
    match role {
        "leader" => {
            let out = with(|t| match (&mut t.role, msg) {
                (Role::Leader(l), Msg::Wants(w)) => l.wants(w, now()),
                (Role::Leader(l), Msg::Bye { tab }) => l.gone(&tab),
                _ => Vec::new(),
            });
            run(hub, out.unwrap_or_default());
        }
        "follower" => {
            let take = with(|t| match &mut t.role {
                Role::Follower(f) => f.receive(msg),
                _ => Take::Nothing,
            });
            match take.unwrap_or(Take::Nothing) {
                Take::Frames { stream, frames } => {
                    for f in frames {
                        hub.on_report(&stream, Report::Frame(raw(f)));
                    }
                }
                Take::SendWants => {
                    with(|t| t.posted = None);
                    changed_body(hub);
                }
                Take::Failed { stream } => local_failed(hub, &stream),
                Take::Nothing => {}
            }
        }
        "solo" => {
            let answer = with(|t| match (&mut t.role, &msg) {
                (Role::Solo(Some(s)), Msg::Here { tab }) => s.here(tab, now()),
                (Role::Solo(Some(s)), Msg::Bye { tab }) => {
                    s.gone(tab);
                    false
                }
                _ => false,
            });
            if answer == Some(true) {
                let me = with(|t| t.me.clone()).unwrap_or_default();
                post(&Msg::Here { tab: me });
            }
            solo_share(hub);
        }
        _ => {}
    }
}

pub(super) fn raw(f: RawFrame) -> RawEvent {
    RawEvent {
        name: f.name,
        data: f.data,
        last_event_id: f.id,
    }
}

/// The stream's transport failed: this tab's core probes it, if it still follows it.
pub(super) fn local_failed(hub: Hub, stream: &str) {
    let follows = hub.with(|i| i.core.transport_owner(stream).is_some());
    if follows {
        hub.update(
            None,
            Input::Failed {
                stream: stream.to_string(),
            },
        );
    }
}

/// Carries out the leader's decisions, one at a time and never inside another: applying a
/// frame to this tab's hub can change what it wants, which decides again.
pub(super) fn run(hub: Hub, out: Vec<Out>) {
    QUEUE.with(|q| q.borrow_mut().extend(out));
    if DRAINING.with(|d| d.replace(true)) {
        return;
    }
    while let Some(o) = QUEUE.with(|q| q.borrow_mut().pop_front()) {
        execute(hub, o);
    }
    DRAINING.with(|d| d.set(false));
    let held = hub.with(|i| i.transports.len());
    hub.with(|i| i.held = held);
}

pub(super) fn execute(hub: Hub, o: Out) {
    match o {
        Out::Open {
            session,
            stream,
            query,
        } => {
            if hub.with(|i| i.closed) {
                return;
            }
            let url = hub.api().chat_stream_url(&query);
            let events = pane_core::event::KNOWN_EVENTS;
            let opened = hub.with(|i| {
                i.transports
                    .open(&url, &session, &stream, events, move |s, r| {
                        leader_report(hub, s, r)
                    })
            });
            if hub.with(|i| i.transports.has_graveyard()) {
                hub.reap_soon();
            }
            if opened.is_err() {
                let out = with(|t| match &mut t.role {
                    Role::Leader(l) => l.failed(&stream),
                    _ => Vec::new(),
                });
                QUEUE.with(|q| q.borrow_mut().extend(out.unwrap_or_default()));
            }
        }
        Out::Close { stream } => {
            if hub.with(|i| i.transports.close(&stream)) {
                hub.reap_soon();
            }
        }
        Out::Post(m) => post(&m),
        Out::Local { stream, frames } => {
            for f in frames {
                hub.on_report(&stream, Report::Frame(raw(f)));
            }
        }
        Out::LocalFailed { stream } => local_failed(hub, &stream),
    }
}

/// What a transport the leader holds reports: frames to the relay (which hands them to this
/// tab's hub too, if it follows the stream), a failure to every tab's core.
pub(super) fn leader_report(hub: Hub, stream: &str, report: Report) {
    let out = match report {
        Report::Frame(f) => with(|t| match &mut t.role {
            Role::Leader(l) => l.frame(
                stream,
                RawFrame {
                    id: f.last_event_id,
                    name: f.name,
                    data: f.data,
                },
            ),
            _ => Vec::new(),
        }),
        Report::Open => {
            hub.on_report(stream, Report::Open);
            None
        }
        Report::Failed => {
            // Take control from the browser's own reconnect loop: close, let the cores probe.
            if hub.with(|i| i.transports.close(stream)) {
                hub.reap_soon();
            }
            with(|t| match &mut t.role {
                Role::Leader(l) => l.failed(stream),
                _ => Vec::new(),
            })
        }
    };
    run(hub, out.unwrap_or_default());
}
