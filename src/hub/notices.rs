//! What the pane tells a person outside the transcript: toasts, the screen-reader
//! announcement of finished replies, a notice when a background session waits on them, and a
//! message given back to its composer.

use std::collections::HashSet;
use std::time::Duration;

use leptos::prelude::*;
use pane_core::notify::Happened;
use pane_core::session::{Notice, NoticeKind};
use pane_core::view::AttentionKind;
use pane_core::wire::UploadedFile;

use super::store::*;
use super::{Hub, Returned, Toast, ToastKind};

/// The notices' own state.
#[derive(Default)]
pub(crate) struct Notices {
    toast_seq: u64,
    last_announce: f64,
    /// Finished replies not announced yet (merged into one announcement).
    unannounced: Vec<String>,
    announce_scheduled: bool,
    /// Sessions whose wait on the person was already noticed.
    attention_seen: HashSet<String>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Hub {
    pub fn toast(&self, kind: ToastKind, text: String, open: Option<String>) {
        let id = self.with(|i| {
            i.notices.toast_seq += 1;
            i.notices.toast_seq
        });
        self.toasts.update(|t| {
            t.push(Toast {
                id,
                kind,
                text,
                open,
            });
            if t.len() > 5 {
                t.remove(0);
            }
        });
        let hub = *self;
        let ttl = if kind == ToastKind::Attention { 15 } else { 8 };
        set_timeout(move || hub.dismiss(id), Duration::from_secs(ttl));
    }

    pub fn dismiss(&self, id: u64) {
        self.toasts.update(|t| t.retain(|x| x.id != id));
    }

    /// A notice of the core about a session (a toast that opens it unless it is shown).
    pub(crate) fn notice(&self, session_id: &str, notice: Notice) {
        let kind = match notice.kind {
            NoticeKind::Info => ToastKind::Info,
            NoticeKind::Warning => ToastKind::Warning,
            NoticeKind::Error => ToastKind::Error,
        };
        let shown = self.active.get_untracked().as_deref() == Some(session_id);
        self.toast(kind, notice.text, (!shown).then(|| session_id.to_string()));
    }

    /// A message sent on the person's behalf (queued, retried, from the start page) could not
    /// be sent: it goes back into that session's composer with the reason, so nothing is lost.
    pub fn give_back(&self, id: &str, text: &str, uploads: Vec<UploadedFile>, error: &str) {
        let draft = crate::persist::draft(id);
        let merged = if draft.trim().is_empty() {
            text.to_string()
        } else {
            format!("{draft}\n\n{text}")
        };
        crate::persist::set_draft(id, &merged);
        self.store(id).returned().set(Some(Returned {
            text: merged,
            uploads,
            error: error.to_string(),
        }));
        let shown = self.active.get_untracked().as_deref() == Some(id);
        self.toast(
            ToastKind::Error,
            format!("{error} Your message is back in the composer."),
            (!shown).then(|| id.to_string()),
        );
    }

    /// A turn finished: announced (by the later chunk's code, which is in by then).
    pub(crate) fn finished(&self, id: &str) {
        let task = finished(*self, id.to_string());
        // Not Leptos' executor: notices may come before the app has mounted (in tests).
        wasm_bindgen_futures::spawn_local(async move {
            let _ = crate::lazy::run(task).await;
        });
    }

    /// A session started waiting on the person: a notification if they do not see it (the
    /// code is in the later chunk, which is in by the time a stream runs).
    pub(crate) fn waits(&self, id: &str) {
        let task = waits(*self, id.to_string());
        wasm_bindgen_futures::spawn_local(async move {
            let _ = crate::lazy::run(task).await;
        });
    }

    /// Throttled and merged, never per token: replies finishing close together make one
    /// announcement at most every 1.5 s.
    fn announce_finished(&self, id: &str) {
        let shown = self.active.get_untracked().as_deref() == Some(id);
        let title = self
            .with(|i| {
                i.core
                    .session(id)
                    .and_then(|s| s.title().map(str::to_string))
            })
            .unwrap_or_default();
        let what = if shown {
            "this conversation".to_string()
        } else {
            format!("“{title}”")
        };
        let wait = self.with(|i| {
            let n = &mut i.notices;
            if !n.unannounced.contains(&what) {
                n.unannounced.push(what);
            }
            let wait = (n.last_announce + 1500.0 - now_ms()).max(0.0);
            let schedule = !std::mem::replace(&mut n.announce_scheduled, true);
            schedule.then_some(wait)
        });
        if let Some(wait) = wait {
            let hub = *self;
            set_timeout(
                move || hub.announce_now(),
                Duration::from_millis(wait as u64),
            );
        }
    }

    fn announce_now(&self) {
        let (names, toggle) = self.with(|i| {
            let n = &mut i.notices;
            n.announce_scheduled = false;
            n.last_announce = now_ms();
            (
                std::mem::take(&mut n.unannounced),
                n.last_announce as u64 % 2 == 1,
            )
        });
        let text = match names.as_slice() {
            [] => return,
            [one] => format!("Reply finished in {one}."),
            many => format!("{} replies finished: {}.", many.len(), many.join(", ")),
        };
        // A trailing zero-width space alternates so the same sentence twice is still read.
        self.announce.set(if toggle {
            format!("{text}\u{200b}")
        } else {
            text
        });
    }

    /// A background session that starts waiting on the person gets a non-blocking notice (the
    /// notices' code is in the later chunk).
    pub(crate) fn attention_notices(&self, changed: Vec<String>) {
        // Once its code is in: the first list's paint does not wait for (or compete with) it.
        // The shown session is read then: the person may have opened one of them meanwhile.
        let hub = *self;
        crate::lazy::load(crate::lazy::Chunk::Later, move || {
            let task = attention(hub, changed, hub.active.get_untracked());
            // Not Leptos' executor: notices may come before the app has mounted (in tests).
            wasm_bindgen_futures::spawn_local(async move {
                let _ = crate::lazy::run(task).await;
            });
        });
    }

    fn notice_attention(&self, changed: &[String], active: Option<&str>) {
        for id in changed {
            let (waits, title, fresh) = self.with(|i| {
                let s = i.core.session(id);
                let waits = s.and_then(pane_core::view::waits_on);
                let title = s
                    .and_then(|s| s.title().map(str::to_string))
                    .unwrap_or_else(|| "A session".into());
                let fresh = match waits {
                    Some(_) => i.notices.attention_seen.insert(id.clone()),
                    None => {
                        // Answered: a later request is news again.
                        i.notices.attention_seen.remove(id);
                        false
                    }
                };
                (waits, title, fresh)
            });
            if let (Some(kind), true, false) = (waits, fresh, active == Some(id.as_str())) {
                let what = match kind {
                    AttentionKind::Approval => "needs your approval",
                    AttentionKind::Clarify => "has a question for you",
                };
                self.toast(
                    ToastKind::Attention,
                    format!("“{title}” {what}."),
                    Some(id.clone()),
                );
            }
        }
    }
}

crate::later!(finished(hub: Hub, id: String) -> () => finished_body);

async fn finished_body(hub: Hub, id: String) {
    hub.announce_finished(&id);
    super::paint::tab_title_body(hub).await;
    // A notification if the person does not see it: the reply's start, or what failed (a
    // stop is theirs: nothing to tell).
    let what = hub.with(|i| {
        let s = i.core.session(&id)?;
        if s.cancelled() {
            return None;
        }
        Some(match s.error() {
            Some(e) => (Happened::Failed, e.message.clone()),
            None => (
                Happened::Finished,
                s.messages()
                    .iter()
                    .rev()
                    .find(|m| m.role == "assistant")
                    .map(|m| m.text())
                    .unwrap_or_default(),
            ),
        })
    });
    if let Some((what, detail)) = what {
        hub.notify(&id, what, &detail);
    }
}

crate::later!(waits(hub: Hub, id: String) -> () => waits_body);

async fn waits_body(hub: Hub, id: String) {
    super::paint::tab_title_body(hub).await;
    let what = hub.with(|i| {
        let s = i.core.session(&id)?;
        let kind = pane_core::view::waits_on(s)?;
        let detail = match kind {
            AttentionKind::Approval => s.approval().map(|a| {
                a.description
                    .clone()
                    .filter(|d| !d.is_empty() && *d != a.command)
                    .map(|d| format!("{d}: {}", a.command))
                    .unwrap_or_else(|| a.command.clone())
            }),
            AttentionKind::Clarify => s.clarify().map(|c| c.question.clone()),
        };
        Some((kind, detail.unwrap_or_default()))
    });
    if let Some((kind, detail)) = what {
        // Said once per request (the core says `Waits` once), in the urgent region.
        let title = hub
            .with(|i| {
                i.core
                    .session(&id)
                    .and_then(|s| s.title().map(str::to_string))
            })
            .unwrap_or_else(|| "A conversation".into());
        let need = match kind {
            AttentionKind::Approval => "needs your approval",
            AttentionKind::Clarify => "has a question for you",
        };
        let toggle = hub
            .announce_urgent
            .with_untracked(|t| t.ends_with('\u{200b}'));
        let text = format!(
            "“{title}” {need}: {}",
            pane_core::notify::short(&detail, 120)
        );
        // A zero-width space alternates so the same sentence twice is still read.
        hub.announce_urgent.set(if toggle {
            text
        } else {
            format!("{text}\u{200b}")
        });
        hub.notify(&id, Happened::Waits(kind), &detail);
    }
}

crate::later!(
    attention(
        hub: Hub,
        changed: Vec<String>,
        active: Option<String>,
    ) -> () => attention_body
);

async fn attention_body(hub: Hub, changed: Vec<String>, active: Option<String>) {
    hub.notice_attention(&changed, active.as_deref())
}
