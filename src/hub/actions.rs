//! What a person does, each action in one place: a public method (checks that need no code of
//! the later chunk) and, behind it, the action's body as a split function of the later chunk
//! ([`crate::lazy::Chunk::Later`]), which only builds the action's future — so everything the
//! future runs is cut out with it. Run through [`lazy::run`], an action loads the chunk first if
//! it is not in yet (it normally is: the pane asks for it at start); if the chunk cannot be
//! loaded the person is told so, and a send keeps its draft.

use leptos::prelude::*;
use leptos::task::spawn_local;
use pane_core::wire::{ApprovalChoice, ApprovalRespond, ChatStartRequest, ClarifyRespond, RespondOutcome, UploadedFile};
use pane_core::{Command, Input, Prompt};

use super::store::*;
use super::{Hub, ToastKind};
use crate::api::{Flag, Part, WINDOW};
use crate::lazy::{self, NotLoaded};

use crate::later;

/// A `StartTurn` command: what to post.
struct Start {
    session: String,
    message: String,
    text: String,
    uploads: Vec<UploadedFile>,
}

impl Hub {
    /// Runs an action whose code is in the later chunk; says so if it cannot be loaded.
    fn spawn_later(&self, task: impl std::future::Future<Output = Result<(), NotLoaded>> + 'static) {
        let hub = *self;
        spawn_local(async move {
            if task.await.is_err() {
                hub.toast(ToastKind::Error, lazy::NOT_LOADED.to_string(), None);
            }
        });
    }

    // -------------------------------------------------------------------------------------
    // Sending

    /// Sends `text` in session `id` (queued when a reply is running). `Err` keeps the draft.
    pub async fn send(&self, id: &str, text: &str, uploads: Vec<UploadedFile>) -> Result<(), String> {
        let task = send(*self, id.to_string(), text.to_string(), uploads);
        lazy::run(task).await.unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    /// A turn the core started on its own (a queued message's turn came): if it cannot be
    /// sent, the message goes back to the composer.
    pub(crate) fn start_in_background(&self, command: Command) {
        let Command::StartTurn { session_id, message, text, uploads, .. } = command else { return };
        let hub = *self;
        let start = Start { session: session_id, message, text, uploads };
        spawn_local(async move {
            let (id, text, uploads) = (start.session.clone(), start.text.clone(), start.uploads.clone());
            let sent = match lazy::run(start_turn(hub, start)).await {
                Ok(r) => r,
                Err(_) => Err(lazy::NOT_LOADED.to_string()),
            };
            if let Err(e) = sent {
                hub.give_back(&id, &text, uploads, &e);
            }
        });
    }

    // -------------------------------------------------------------------------------------
    // Approvals and questions

    /// Answers the session's approval card.
    pub fn approve(&self, id: &str, choice: ApprovalChoice) {
        let Some(a) = self.with(|i| i.core.session(id).and_then(|s| s.approval().cloned())) else { return };
        let body = ApprovalRespond::new(id, &a, choice);
        self.answer_with(id, lazy::run(approve(*self, id.to_string(), body)));
    }

    /// Answers the session's clarify card.
    pub fn answer(&self, id: &str, response: &str) {
        let Some(c) = self.with(|i| i.core.session(id).and_then(|s| s.clarify().cloned())) else { return };
        let body = ClarifyRespond { session_id: id.to_string(), response: response.to_string(), clarify_id: c.clarify_id.clone() };
        self.answer_with(id, lazy::run(answer(*self, id.to_string(), body)));
    }

    /// Runs an answer, one at a time per session: the card shows it is on its way until the
    /// task ends, however it ends (a chunk that cannot load included).
    fn answer_with(&self, id: &str, task: impl std::future::Future<Output = Result<(), NotLoaded>> + 'static) {
        let flag = self.store(id).answering();
        if flag.get_untracked() {
            return;
        }
        flag.set(true);
        let done = AnswerGuard(*self, id.to_string());
        self.spawn_later(async move {
            let _done = done;
            task.await
        });
    }

    /// Asks the server for prompts this session may be waiting on (survives missed events).
    pub(crate) fn poll_prompts(&self, id: &str) {
        let task = poll_prompts(*self, id.to_string());
        spawn_local(async move {
            // In the background: the next poll (or event) tries again.
            if lazy::run(task).await.is_err() {
                leptos::logging::warn!("prompt check skipped: {}", lazy::NOT_LOADED);
            }
        });
    }

    // -------------------------------------------------------------------------------------
    // Sessions

    /// Stops the reply of session `id` — its own stream, wherever it is shown.
    pub fn stop(&self, id: &str) {
        let stream = self.with(|i| {
            let own = i.core.session(id).and_then(|s| s.live_stream_id().map(str::to_string));
            own.or_else(|| i.rows.iter().find(|r| r.session_id == id).and_then(|r| r.active_stream_id.clone()))
        });
        let Some(stream) = stream else { return };
        self.spawn_later(lazy::run(stop(*self, id.to_string(), stream)));
    }

    /// Creates a session and shows it.
    pub async fn new_session(&self) -> Result<String, String> {
        lazy::run(new_session(*self)).await.unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    pub fn rename(&self, id: &str, title: &str) {
        let title = title.trim().to_string();
        if !title.is_empty() {
            self.spawn_later(lazy::run(rename(*self, id.to_string(), title)));
        }
    }

    pub fn set_flag(&self, id: &str, flag: Flag, on: bool) {
        self.spawn_later(lazy::run(set_flag(*self, id.to_string(), flag, on)));
    }

    pub fn delete(&self, id: &str) {
        self.spawn_later(lazy::run(delete(*self, id.to_string())));
    }

    /// Retries the last turn: the server truncates it; its text is sent again.
    pub fn retry(&self, id: &str) {
        self.spawn_later(lazy::run(retry(*self, id.to_string())));
    }

    /// Edit & resend: keep the messages before `index`, then send `text` as a new turn.
    pub async fn edit_resend(&self, id: &str, index: u64, text: &str) -> Result<(), String> {
        let task = edit_resend(*self, id.to_string(), index, text.to_string());
        lazy::run(task).await.unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    /// Removes a queued message.
    pub fn unqueue(&self, id: &str, index: usize) {
        self.update(Some(id), Input::Unqueue { session: id.to_string(), index });
    }

    /// Searches titles and content on the server (`None` clears the search).
    pub fn search(&self, q: Option<String>) {
        // Only the newest query's answer is shown (a slow older one must not overwrite it).
        let seq = self.with(|i| {
            i.search_seq += 1;
            i.search_seq
        });
        match q.filter(|q| !q.trim().is_empty()) {
            None => self.sidebar.searching().set(false),
            Some(q) => self.spawn_later(lazy::run(search(*self, q, seq))),
        }
    }

    /// One older page (`WINDOW` messages), or every older page (`all`, 500 at a time).
    pub(crate) fn page_in(&self, id: &str, all: bool) {
        let key = format!("{id}#older");
        let has_older = self.with(|i| i.core.session(id).is_some_and(|s| s.messages_offset() > 0));
        if !has_older || !self.with(|i| i.loading.insert(key.clone())) {
            return;
        }
        let store = self.store(id);
        store.loading_older().set(true);
        let (hub, task) = (*self, page_in(*self, id.to_string(), all, key.clone()));
        spawn_local(async move {
            if lazy::run(task).await.is_err() {
                hub.toast(ToastKind::Error, lazy::NOT_LOADED.to_string(), None);
                hub.with(|i| i.loading.remove(&key));
                store.loading_older().set(false);
            }
        });
    }

    /// Loads the window again and waits for it (before a resend).
    async fn reload_window(&self, id: &str) {
        let at = self.ticket();
        if let Ok(w) = self.api().session(id, Part::Window).await {
            self.update(Some(id), Input::Loaded { session: id.to_string(), detail: w.session, messages: true, at });
        }
    }
}

/// Clears a session's "answer on its way" mark when the answer's task ends, however it ends.
struct AnswerGuard(Hub, String);

impl Drop for AnswerGuard {
    fn drop(&mut self) {
        self.0.store(&self.1).answering().set(false);
    }
}

// -----------------------------------------------------------------------------------------
// The bodies (the later chunk)

later!(
    /// The core decides: queued behind a running reply, or a turn to start now.
    send(hub: Hub, id: String, text: String, uploads: Vec<UploadedFile>) -> Result<(), String> => {
        let commands = hub.decide(Input::Send { session: id.clone(), text, uploads });
        hub.mark_dirty(&id);
        let mut start = None;
        let rest: Vec<Command> = commands.into_iter().filter_map(|c| match c {
            Command::StartTurn { session_id, message, text, uploads, queued: false } if start.is_none() => {
                start = Some(Start { session: session_id, message, text, uploads });
                None
            }
            other => Some(other),
        }).collect();
        hub.execute(rest);
        match start {
            Some(s) => {
                hub.paint_now(&s.session);
                start_turn_now(hub, s).await
            }
            None => Ok(()),
        }
    }
);

later!(start_turn(hub: Hub, start: Start) -> Result<(), String> => start_turn_now(hub, start).await);

/// `chat/start` for a turn whose optimistic row shows; what it answered goes to the core.
async fn start_turn_now(hub: Hub, s: Start) -> Result<(), String> {
    let req = ChatStartRequest { session_id: s.session.clone(), message: s.message, attachments: s.uploads.clone(), ..Default::default() };
    let (input, result) = match hub.api().chat_start(&req).await {
        Ok(reply) => match reply.stream_id {
            Some(stream) => (Input::Started { session: s.session.clone(), stream, uploads: s.uploads }, Ok(())),
            None => {
                let message = "The backend suppressed this message (a control message).".to_string();
                (Input::StartFailed { session: s.session.clone(), message }, Ok(()))
            }
        },
        Err(e) if e.active_stream().is_some() => (Input::StartConflict { session: s.session.clone(), text: s.text, uploads: s.uploads }, Ok(())),
        Err(e) => (Input::StartFailed { session: s.session.clone(), message: e.message.clone() }, Err(e.message)),
    };
    let started = matches!(input, Input::Started { .. });
    hub.update(Some(&s.session), input);
    if started {
        hub.refresh_list_soon();
    }
    result
}

later!(stop(hub: Hub, id: String, stream: String) -> () => {
    match hub.api().cancel(&stream).await {
        Ok(r) => {
            // The `cancel` event settles it; a parked session has no transport to carry it, so
            // it is re-read from the server instead.
            let has_transport = hub.with(|i| i.transports.get(&stream).is_some());
            if !has_transport || !r.cancelled {
                hub.reload(&id);
            }
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
});

later!(approve(hub: Hub, id: String, body: ApprovalRespond) -> () => {
    match hub.api().approval_respond(&body).await {
        Ok(r) => match r.outcome() {
            RespondOutcome::Accepted | RespondOutcome::StaleCleared => {
                hub.update(Some(&id), Input::Answered { session: id.clone(), prompt: Prompt::Approval });
            }
            RespondOutcome::Superseded => hub.poll_prompts(&id),
        },
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
});

later!(answer(hub: Hub, id: String, body: ClarifyRespond) -> () => {
    match hub.api().clarify_respond(&body).await {
        Ok(_) => {}
        // 409 stale: nothing is pending any more; the card goes away.
        Err(e) if e.status == 409 => {}
        Err(e) => {
            hub.toast(ToastKind::Error, e.message, None);
            return;
        }
    }
    hub.update(Some(&id), Input::Answered { session: id.clone(), prompt: Prompt::Clarify });
});

later!(poll_prompts(hub: Hub, id: String) -> () => {
    let api = hub.api();
    let approval = api.approval_pending(&id).await.ok().map(|a| a.pending);
    let clarify = api.clarify_pending(&id).await.ok().map(|c| c.pending);
    hub.update(Some(&id), Input::PromptsPolled { session: id.clone(), approval, clarify });
});

later!(new_session(hub: Hub) -> Result<String, String> => {
    let at = hub.ticket();
    let r = hub.api().new_session().await.map_err(|e| e.message)?;
    let id = r.session.session_id.clone();
    hub.update(Some(&id), Input::Loaded { session: id.clone(), detail: r.session, messages: true, at });
    hub.open(&id);
    Ok(id)
});

later!(rename(hub: Hub, id: String, title: String) -> () => {
    match hub.api().rename(&id, &title).await {
        Ok(_) => {
            hub.update(Some(&id), Input::Renamed { session: id.clone(), title });
            hub.refresh_list().await;
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
});

later!(set_flag(hub: Hub, id: String, flag: Flag, on: bool) -> () => {
    match hub.api().set_flag(&id, flag, on).await {
        Ok(_) => hub.refresh_list().await,
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
});

later!(delete(hub: Hub, id: String) -> () => {
    match hub.api().delete(&id).await {
        Ok(_) => {
            hub.update(None, Input::Removed { session: id.clone() });
            hub.mounted.update(|m| m.retain(|x| *x != id));
            hub.retire_store(id.clone());
            if hub.active.get_untracked().as_deref() == Some(id.as_str()) {
                hub.navigate("", false);
            }
            hub.refresh_list().await;
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
});

later!(retry(hub: Hub, id: String) -> () => {
    match hub.api().retry(&id).await {
        Ok(r) => {
            hub.reload_window(&id).await;
            if let Some(t) = r.last_user_text {
                // The server already removed the turn: if the resend fails, the text must not
                // be lost with it.
                if let Err(e) = hub.send(&id, &t, Vec::new()).await {
                    hub.give_back(&id, &t, Vec::new(), &e);
                }
            }
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
});

later!(edit_resend(hub: Hub, id: String, index: u64, text: String) -> Result<(), String> => {
    hub.api().truncate(&id, index).await.map_err(|e| e.message)?;
    hub.reload_window(&id).await;
    // The edited message is gone from the transcript now (truncated): if the resend fails, its
    // text goes to the composer rather than into an edit box that no longer exists.
    if let Err(e) = hub.send(&id, &text, Vec::new()).await {
        hub.give_back(&id, &text, Vec::new(), &e);
    }
    Ok(())
});

later!(search(hub: Hub, q: String, seq: u64) -> () => {
    let reply = hub.api().search(&q).await;
    // A newer query was typed meanwhile: its answer is the one shown.
    if hub.with(|i| i.search_seq) != seq {
        return;
    }
    match reply {
        Ok(r) => {
            let rows: Vec<RowView> = hub.with(|i| {
                r.into_rows().iter().map(|row| RowView::from(&pane_core::view::sidebar_row(row, &i.core))).collect()
            });
            hub.sidebar.results().patch(rows);
            hub.sidebar.searching().set(true);
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
});

later!(page_in(hub: Hub, id: String, all: bool, key: String) -> () => {
    let store = hub.store(&id);
    let limit = if all { 500 } else { WINDOW };
    while let Some(before) = hub.with(|i| i.core.session(&id).map(|s| s.messages_offset())).filter(|o| *o > 0) {
        match hub.api().session(&id, Part::Before { before, limit }).await {
            Ok(w) => hub.update(Some(&id), Input::PagedIn { session: id.clone(), detail: w.session }),
            Err(e) => {
                hub.toast(ToastKind::Error, e.message, None);
                break;
            }
        }
        if !all {
            break;
        }
    }
    hub.with(|i| i.loading.remove(&key));
    store.loading_older().set(false);
});
