//! The EventSource registry, owned by the hub at the app root (never by a view).
//!
//! One listener closure per event name feeds frames, in arrival order, to the hub. A closed
//! transport's closures are dropped — after the handler that closed it has returned (a
//! closure cannot free itself while running), so nothing is leaked per connection.

use std::collections::HashMap;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, MessageEvent};

/// A frame as the browser hands it over.
pub struct RawEvent {
    pub name: String,
    pub data: String,
    pub last_event_id: String,
}

/// What a transport reports to its owner.
pub enum Report {
    Frame(RawEvent),
    Open,
    /// The connection failed or dropped (not the named `error` event, which is a frame).
    Failed,
}

struct Handlers {
    _message: Closure<dyn FnMut(MessageEvent)>,
    _error: Closure<dyn FnMut(Event)>,
    _open: Closure<dyn FnMut(Event)>,
}

/// One open EventSource.
pub struct Transport {
    pub es: EventSource,
    pub session: String,
    /// Distinguishes EventSource objects (tests check reuse by identity and by serial).
    pub serial: u64,
    _handlers: Handlers,
}

/// Open transports by stream id.
#[derive(Default)]
pub struct Registry {
    open: HashMap<String, Transport>,
    graveyard: Vec<Transport>,
    serial: u64,
}

impl Registry {
    /// Opens an EventSource on `url` for `stream`, listening to `events` (plus `message` and the
    /// named `error`); reports go to `report(stream, report)`.
    pub fn open(
        &mut self,
        url: &str,
        session: &str,
        stream: &str,
        events: &[&str],
        report: impl Fn(&str, Report) + Clone + 'static,
    ) -> Result<u64, String> {
        let es = EventSource::new(url).map_err(|e| format!("could not open the stream: {e:?}"))?;
        let s1 = stream.to_string();
        let r1 = report.clone();
        let message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data().as_string().unwrap_or_default();
            r1(
                &s1,
                Report::Frame(RawEvent {
                    name: ev.type_(),
                    data,
                    last_event_id: ev.last_event_id(),
                }),
            );
        });
        for name in events
            .iter()
            .copied()
            .filter(|n| *n != "error")
            .chain(["message"])
        {
            let _ = es.add_event_listener_with_callback(name, message.as_ref().unchecked_ref());
        }
        let s2 = stream.to_string();
        let r2 = report.clone();
        // The backend's named `error` event shares its name with the transport's error event:
        // a MessageEvent with data is a frame, anything else is a failure.
        let error =
            Closure::<dyn FnMut(Event)>::new(move |ev: Event| match ev.dyn_ref::<MessageEvent>() {
                Some(m) if m.data().as_string().is_some_and(|d| !d.is_empty()) => r2(
                    &s2,
                    Report::Frame(RawEvent {
                        name: "error".into(),
                        data: m.data().as_string().unwrap_or_default(),
                        last_event_id: m.last_event_id(),
                    }),
                ),
                _ => r2(&s2, Report::Failed),
            });
        let _ = es.add_event_listener_with_callback("error", error.as_ref().unchecked_ref());
        let s3 = stream.to_string();
        let open = Closure::<dyn FnMut(Event)>::new(move |_| report(&s3, Report::Open));
        let _ = es.add_event_listener_with_callback("open", open.as_ref().unchecked_ref());
        self.serial += 1;
        let t = Transport {
            es,
            session: session.to_string(),
            serial: self.serial,
            _handlers: Handlers {
                _message: message,
                _error: error,
                _open: open,
            },
        };
        if let Some(old) = self.open.insert(stream.to_string(), t) {
            old.es.close();
            self.graveyard.push(old);
        }
        Ok(self.serial)
    }

    /// Closes the transport of `stream` now; its closures are freed by [`Registry::reap`].
    pub fn close(&mut self, stream: &str) -> bool {
        match self.open.remove(stream) {
            Some(t) => {
                t.es.close();
                self.graveyard.push(t);
                true
            }
            None => false,
        }
    }

    /// Frees closed transports' closures (call from a fresh task).
    pub fn reap(&mut self) {
        self.graveyard.clear();
    }

    pub fn has_graveyard(&self) -> bool {
        !self.graveyard.is_empty()
    }

    pub fn get(&self, stream: &str) -> Option<&Transport> {
        self.open.get(stream)
    }

    /// `(session, stream, serial, readyState)` of every open transport.
    pub fn list(&self) -> Vec<(String, String, u64, u16)> {
        let mut v: Vec<_> = self
            .open
            .iter()
            .map(|(s, t)| (t.session.clone(), s.clone(), t.serial, t.es.ready_state()))
            .collect();
        pane_core::sort_stable_by(&mut v, |a, b| a.cmp(b));
        v
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// EventSource objects created so far.
    pub fn created(&self) -> u64 {
        self.serial
    }
}
