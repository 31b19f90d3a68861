//! What a person does, each action in one place: a public method (checks that need no code of
//! the later chunk) and, behind it, the action's body as a split function of the later chunk
//! ([`crate::lazy::Chunk::Later`]), which only builds the action's future — so everything the
//! future runs is cut out with it. Run through [`lazy::run`], an action loads the chunk first if
//! it is not in yet (it normally is: the pane asks for it at start); if the chunk cannot be
//! loaded the person is told so, and a send keeps its draft.

use leptos::prelude::*;
use leptos::task::spawn_local;
use pane_core::wire::{
    ApprovalChoice, ApprovalRespond, ChatStartRequest, ClarifyRespond, RespondOutcome, UploadedFile,
};
use pane_core::{Command, Input, Prompt};

use super::store::*;
use super::{Hub, ToastKind};
use crate::api::{Flag, Part, WINDOW};
use crate::lazy::{self, NotLoaded};

use crate::later;

mod command;
mod later;
mod ops;
pub(crate) use command::backend_commands;
use command::*;
use later::*;
use ops::*;

/// A `StartTurn` command: what to post.
struct Start {
    session: String,
    message: String,
    text: String,
    uploads: Vec<UploadedFile>,
}

impl Hub {
    /// Runs an action whose code is in the later chunk; says so if it cannot be loaded.
    fn spawn_later(
        &self,
        task: impl std::future::Future<Output = Result<(), NotLoaded>> + 'static,
    ) {
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
    pub async fn send(
        &self,
        id: &str,
        text: &str,
        uploads: Vec<UploadedFile>,
    ) -> Result<(), String> {
        let task = send(*self, id.to_string(), text.to_string(), uploads);
        lazy::run(task)
            .await
            .unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    /// Steers the running turn of `id` (sent as a message when none runs). `Err`: not
    /// delivered, and why; the caller gives the text back.
    pub async fn steer(&self, id: &str, text: &str) -> Result<(), String> {
        lazy::run(steer(*self, id.to_string(), text.to_string()))
            .await
            .unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    /// Runs the slash command `text` in session `id`. `Err` as [`Hub::send`].
    pub async fn run_command(&self, id: &str, text: &str) -> Result<(), String> {
        lazy::run(run_command(*self, id.to_string(), text.to_string()))
            .await
            .unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    /// A turn the core started on its own (a queued message's turn came): if it cannot be
    /// sent, the message goes back to the composer.
    pub(crate) fn start_in_background(&self, command: Command) {
        let Command::StartTurn {
            session_id,
            message,
            text,
            uploads,
            ..
        } = command
        else {
            return;
        };
        let hub = *self;
        let start = Start {
            session: session_id,
            message,
            text,
            uploads,
        };
        spawn_local(async move {
            let (id, text, uploads) = (
                start.session.clone(),
                start.text.clone(),
                start.uploads.clone(),
            );
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
        let Some(a) = self.with(|i| i.core.session(id).and_then(|s| s.approval().cloned())) else {
            return;
        };
        let body = ApprovalRespond::new(id, &a, choice);
        self.answer_with(id, lazy::run(approve(*self, id.to_string(), body)));
    }

    /// Answers the session's clarify card.
    pub fn answer(&self, id: &str, response: &str) {
        let Some(c) = self.with(|i| i.core.session(id).and_then(|s| s.clarify().cloned())) else {
            return;
        };
        let body = ClarifyRespond {
            session_id: id.to_string(),
            response: response.to_string(),
            clarify_id: c.clarify_id.clone(),
        };
        self.answer_with(id, lazy::run(answer(*self, id.to_string(), body)));
    }

    /// Runs an answer, one at a time per session: the card shows it is on its way until the
    /// task ends, however it ends (a chunk that cannot load included).
    fn answer_with(
        &self,
        id: &str,
        task: impl std::future::Future<Output = Result<(), NotLoaded>> + 'static,
    ) {
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
            let own = i
                .core
                .session(id)
                .and_then(|s| s.live_stream_id().map(str::to_string));
            own.or_else(|| {
                i.rows
                    .iter()
                    .find(|r| r.session_id == id)
                    .and_then(|r| r.active_stream_id.clone())
            })
        });
        let Some(stream) = stream else { return };
        self.spawn_later(lazy::run(stop(*self, id.to_string(), stream)));
    }

    /// Creates a session and shows it.
    pub async fn new_session(&self) -> Result<String, String> {
        lazy::run(new_session(*self))
            .await
            .unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
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

    /// Saves a theme picked here to the backend's settings (the stock UI follows it).
    pub fn save_theme(&self, theme: &str) {
        self.spawn_later(lazy::run(save_theme(*self, theme.to_string())));
    }

    /// Reads the backend's settings (once the later chunk is in).
    pub fn load_settings(&self) {
        self.spawn_later(lazy::run(load_settings(*self)));
    }

    /// Undoes the last turn on the server, then shows what is left.
    pub fn undo(&self, id: &str) {
        self.spawn_later(lazy::run(undo(*self, id.to_string())));
    }

    /// Forks the session into a new one with its first `keep` messages, and opens it.
    pub fn fork(&self, id: &str, keep: u64) {
        self.spawn_later(lazy::run(fork(*self, id.to_string(), keep)));
    }

    /// Edit & resend: keep the messages before `index`, then send `text` as a new turn.
    pub async fn edit_resend(&self, id: &str, index: u64, text: &str) -> Result<(), String> {
        let task = edit_resend(*self, id.to_string(), index, text.to_string());
        lazy::run(task)
            .await
            .unwrap_or_else(|_| Err(lazy::NOT_LOADED.to_string()))
    }

    /// Removes a queued message.
    pub fn unqueue(&self, id: &str, index: usize) {
        self.update(
            Some(id),
            Input::Unqueue {
                session: id.to_string(),
                index,
            },
        );
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
            self.update(
                Some(id),
                Input::Loaded {
                    session: id.to_string(),
                    detail: w.session,
                    messages: true,
                    at,
                },
            );
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
