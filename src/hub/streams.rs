//! The chat streams' transports: their reports into the core, opening and closing them, the
//! status probes that decide whether to resume, and following a session whose id rotated.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use pane_core::{CloseReason, Frame, Input, ReadyState};

use super::store::*;
use super::transport::Report;
use super::{Hub, ToastKind};

impl Hub {
    /// What a transport reports: a frame (decoded, then applied to the session that owns its
    /// stream, whichever is shown), its opening, or its failure.
    pub(crate) fn on_report(&self, stream: &str, report: Report) {
        match report {
            Report::Frame(raw) => match Frame::decode(&raw.last_event_id, &raw.name, &raw.data) {
                Ok(frame) => {
                    #[cfg(feature = "test-hooks")]
                    let token = matches!(frame.event, pane_core::StreamEvent::Token(_));
                    let owner = self.owner_of(stream);
                    let commands = self.decide(Input::Frame {
                        stream: stream.to_string(),
                        id: frame.id,
                        event: frame.event,
                    });
                    if let Some(o) = owner {
                        let o = self.with(|i| i.core.resolve(&o));
                        #[cfg(feature = "test-hooks")]
                        if token && self.active.get_untracked().as_deref() == Some(o.as_str()) {
                            self.with(|i| {
                                let rev = i.core.session(&o).map_or(0, |s| s.revision());
                                i.latency.arrived(rev, super::paint::now());
                            });
                        }
                        self.mark_dirty(&o);
                    }
                    self.execute(commands);
                }
                Err(e) => {
                    // Nothing is lost: the frame is skipped, the cursor does not move past it, and
                    // the saved session settles the turn.
                    let owner = self.owner_of(stream);
                    let open = owner
                        .filter(|o| self.active.get_untracked().as_deref() == Some(o.as_str()));
                    let text = format!(
                        "{e}. It was skipped; the reply will be re-read from the server when it \
                         ends."
                    );
                    self.toast(ToastKind::Warning, text, open);
                }
            },
            Report::Open => self.update(
                None,
                Input::ReadyState {
                    stream: stream.to_string(),
                    state: ReadyState::Open,
                },
            ),
            Report::Failed => {
                // Take control from the browser's own reconnect loop: close, probe, resume.
                if self.with(|i| i.transports.close(stream)) {
                    self.reap_soon();
                    self.update(
                        None,
                        Input::Failed {
                            stream: stream.to_string(),
                        },
                    );
                }
            }
        }
    }

    /// The session whose core follows `stream` (through a transport of this tab's, or frames
    /// relayed by the tab that leads).
    fn owner_of(&self, stream: &str) -> Option<String> {
        self.with(|i| i.core.transport_owner(stream).map(str::to_string))
    }

    pub(crate) fn open_transport(&self, session: &str, stream: &str, query: &str) {
        if self.with(|i| i.closed) {
            return;
        }
        let hub = *self;
        let url = self.api().chat_stream_url(query);
        let events = pane_core::event::KNOWN_EVENTS;
        let result = self.with(|i| {
            i.transports
                .open(&url, session, stream, events, move |s, r| {
                    hub.on_report(s, r)
                })
        });
        if self.with(|i| i.transports.has_graveyard()) {
            // An open that replaced a transport of the same stream retired the old one.
            self.reap_soon();
        }
        if let Err(e) = result {
            self.toast(ToastKind::Error, e, None);
            self.update(
                None,
                Input::Failed {
                    stream: stream.to_string(),
                },
            );
        }
    }

    pub(crate) fn close_transport(&self, stream: &str, reason: CloseReason) {
        if self.with(|i| i.transports.close(stream)) {
            self.reap_soon();
        }
        if reason == CloseReason::Ended {
            self.refresh_list_soon();
        }
    }

    /// Drops closed transports' handlers after the handler that closed them returns.
    pub(crate) fn reap_soon(&self) {
        let hub = *self;
        set_timeout(move || hub.with(|i| i.transports.reap()), Duration::ZERO);
    }

    /// Asks whether a stream is live or replayable before (re)attaching to it (its code in the
    /// later chunk, with the transports it leads to; a chunk that cannot load fails the probe,
    /// which the core retries with back-off).
    pub(crate) fn probe(&self, session: String, stream: String) {
        let hub = *self;
        spawn_local(async move {
            let task = probe_task(hub, session.clone(), stream.clone());
            if crate::lazy::run(task).await.is_err() {
                hub.update(
                    Some(&session),
                    Input::ProbeFailed {
                        session: session.clone(),
                        stream,
                    },
                );
            }
        });
    }

    /// A session's id rotated (context compression): its draft, view store and scroll follow
    /// it, and so does the address when it is shown.
    pub(crate) fn renamed(&self, old: &str, new: &str) {
        let draft = crate::persist::draft(old);
        if !draft.is_empty() && crate::persist::draft(new).is_empty() {
            crate::persist::set_draft(new, &draft);
        }
        crate::persist::set_draft(old, "");
        self.with(|i| {
            if let Some(s) = i.stores.remove(old) {
                i.stores.insert(new.to_string(), s);
            }
            if let Some(s) = i.scroll.remove(old) {
                i.scroll.insert(new.to_string(), s);
            }
        });
        self.store(new).id().set(new.to_string());
        self.mounted.update(|m| {
            m.iter_mut()
                .filter(|x| *x == old)
                .for_each(|x| *x = new.to_string())
        });
        if self.active.get_untracked().as_deref() == Some(old) {
            self.active.set(Some(new.to_string()));
            self.navigate(&pane_core::Route::Session(new.to_string()).path(), true);
        }
        self.refresh_list_soon();
    }

    /// Closes every connection for good (page teardown; tests end with it).
    pub fn shutdown(&self) {
        super::tabs::tell(*self, super::tabs::Event::Leaving);
        self.with(|i| {
            i.closed = true;
            for (_, stream, _, _) in i.transports.list() {
                i.transports.close(&stream);
            }
            if let Some(mut r) = i.sessions_channel.take() {
                r.close("sessions");
            }
        });
        self.reap_soon();
    }
}

crate::later!(probe_task(hub: Hub, session: String, stream: String) -> () => probe_body);

pub(crate) async fn probe_body(hub: Hub, session: String, stream: String) {
    let input = match hub.api().stream_status(&stream).await {
        Ok(st) => {
            hub.offline.set(None);
            Input::Probed {
                session: session.clone(),
                stream,
                status: Some(st),
            }
        }
        Err(e) if e.status == 404 => Input::Probed {
            session: session.clone(),
            stream,
            status: None,
        },
        Err(e) => {
            if e.status == 0 {
                let text = "The Hermes backend is unreachable. Your running replies will \
                            resume when it is back.";
                hub.offline.set(Some(text.into()));
            }
            Input::ProbeFailed {
                session: session.clone(),
                stream,
            }
        }
    };
    hub.update(Some(&session), input);
}
