//! The actions' bodies, in the later chunk: each `later!` split function builds the future of
//! the plain `async fn` below it (see [`crate::later!`]).

use super::*;

later!(
    pub(super) send(
        hub: Hub,
        id: String,
        text: String,
        uploads: Vec<UploadedFile>,
    ) -> Result<(), String> => send_body
);

/// The core decides: queued behind a running reply, or a turn to start now.
pub(super) async fn send_body(
    hub: Hub,
    id: String,
    text: String,
    uploads: Vec<UploadedFile>,
) -> Result<(), String> {
    let commands = hub.decide(Input::Send {
        session: id.clone(),
        text,
        uploads,
    });
    hub.mark_dirty(&id);
    let mut start = None;
    let rest: Vec<Command> = commands
        .into_iter()
        .filter_map(|c| match c {
            Command::StartTurn {
                session_id,
                message,
                text,
                uploads,
                queued: false,
            } if start.is_none() => {
                start = Some(Start {
                    session: session_id,
                    message,
                    text,
                    uploads,
                });
                None
            }
            other => Some(other),
        })
        .collect();
    hub.execute(rest);
    match start {
        Some(s) => {
            hub.paint_now(&s.session);
            start_turn_body(hub, s).await
        }
        None => Ok(()),
    }
}

later!(pub(super) start_turn(hub: Hub, start: Start) -> Result<(), String> => start_turn_body);

/// `chat/start` for a turn whose optimistic row shows; what it answered goes to the core.
pub(super) async fn start_turn_body(hub: Hub, s: Start) -> Result<(), String> {
    // The session's model, as the stock UI sends it (the picker set it on the server).
    let (model, model_provider) = hub.with(|i| {
        i.core.session(&s.session).map_or((None, None), |rt| {
            let (m, p) = rt.model();
            (m.map(str::to_string), p.map(str::to_string))
        })
    });
    let req = ChatStartRequest {
        session_id: s.session.clone(),
        message: s.message,
        attachments: s.uploads.clone(),
        model,
        model_provider,
        ..Default::default()
    };
    let (input, result) = match hub.api().chat_start(&req).await {
        Ok(reply) => match reply.stream_id {
            Some(stream) => (
                Input::Started {
                    session: s.session.clone(),
                    stream,
                    uploads: s.uploads,
                },
                Ok(()),
            ),
            None => {
                let message =
                    "The backend suppressed this message (a control message).".to_string();
                (
                    Input::StartFailed {
                        session: s.session.clone(),
                        message,
                    },
                    Ok(()),
                )
            }
        },
        Err(e) if e.active_stream().is_some() => (
            Input::StartConflict {
                session: s.session.clone(),
                text: s.text,
                uploads: s.uploads,
            },
            Ok(()),
        ),
        Err(e) => (
            Input::StartFailed {
                session: s.session.clone(),
                message: e.message.clone(),
            },
            Err(e.message),
        ),
    };
    let started = matches!(input, Input::Started { .. });
    hub.update(Some(&s.session), input);
    if started {
        hub.refresh_list_soon();
    }
    result
}

later!(pub(super) stop(hub: Hub, id: String, stream: String) -> () => stop_body);

pub(super) async fn stop_body(hub: Hub, id: String, stream: String) {
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
}

later!(pub(super) approve(hub: Hub, id: String, body: ApprovalRespond) -> () => approve_body);

pub(super) async fn approve_body(hub: Hub, id: String, body: ApprovalRespond) {
    match hub.api().approval_respond(&body).await {
        Ok(r) => match r.outcome() {
            RespondOutcome::Accepted | RespondOutcome::StaleCleared => {
                hub.update(
                    Some(&id),
                    Input::Answered {
                        session: id.clone(),
                        prompt: Prompt::Approval,
                    },
                );
                crate::hub::tabs::answered(&id, Prompt::Approval);
            }
            RespondOutcome::Superseded => hub.poll_prompts(&id),
        },
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
}

later!(pub(super) answer(hub: Hub, id: String, body: ClarifyRespond) -> () => answer_body);

pub(super) async fn answer_body(hub: Hub, id: String, body: ClarifyRespond) {
    match hub.api().clarify_respond(&body).await {
        Ok(_) => {}
        // 409 stale: nothing is pending any more; the card goes away.
        Err(e) if e.status == 409 => {}
        Err(e) => {
            hub.toast(ToastKind::Error, e.message, None);
            return;
        }
    }
    hub.update(
        Some(&id),
        Input::Answered {
            session: id.clone(),
            prompt: Prompt::Clarify,
        },
    );
    crate::hub::tabs::answered(&id, Prompt::Clarify);
}

later!(pub(super) poll_prompts(hub: Hub, id: String) -> () => poll_prompts_body);

pub(super) async fn poll_prompts_body(hub: Hub, id: String) {
    let api = hub.api();
    let at = hub.ticket();
    let approval = api.approval_pending(&id).await.ok().map(|a| a.pending);
    let clarify = api.clarify_pending(&id).await.ok().map(|c| c.pending);
    hub.update(
        Some(&id),
        Input::PromptsPolled {
            session: id.clone(),
            approval,
            clarify,
            at,
        },
    );
}

later!(pub(super) new_session(hub: Hub) -> Result<String, String> => new_session_body);

pub(super) async fn new_session_body(hub: Hub) -> Result<String, String> {
    let at = hub.ticket();
    let r = hub.api().new_session().await.map_err(|e| e.message)?;
    let id = r.session.session_id.clone();
    hub.update(
        Some(&id),
        Input::Loaded {
            session: id.clone(),
            detail: r.session,
            messages: true,
            at,
        },
    );
    hub.open(&id);
    Ok(id)
}

later!(pub(super) rename(hub: Hub, id: String, title: String) -> () => rename_body);

pub(super) async fn rename_body(hub: Hub, id: String, title: String) {
    match hub.api().rename(&id, &title).await {
        Ok(_) => {
            hub.update(
                Some(&id),
                Input::Renamed {
                    session: id.clone(),
                    title,
                },
            );
            hub.refresh_list().await;
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
}

later!(pub(super) set_flag(hub: Hub, id: String, flag: Flag, on: bool) -> () => set_flag_body);

pub(super) async fn set_flag_body(hub: Hub, id: String, flag: Flag, on: bool) {
    match hub.api().set_flag(&id, flag, on).await {
        Ok(_) => {
            if flag == Flag::Archived && on {
                // Archived before any list showed it: the next list leaves it out, and it must
                // not come back as "started here, not listed yet".
                hub.with(|i| i.listed.insert(id.clone()));
            }
            hub.refresh_list().await
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
}

later!(pub(super) delete(hub: Hub, id: String) -> () => delete_body);

pub(super) async fn delete_body(hub: Hub, id: String) {
    match hub.api().delete(&id).await {
        Ok(_) => {
            hub.update(
                None,
                Input::Removed {
                    session: id.clone(),
                },
            );
            hub.mounted.update(|m| m.retain(|x| *x != id));
            hub.retire_store(id.clone());
            if hub.active.get_untracked().as_deref() == Some(id.as_str()) {
                hub.navigate("", false);
            }
            hub.refresh_list().await;
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
}

later!(pub(super) retry(hub: Hub, id: String) -> () => retry_body);

pub(super) async fn retry_body(hub: Hub, id: String) {
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
}

later!(
    pub(super) edit_resend(
        hub: Hub,
        id: String,
        index: u64,
        text: String,
    ) -> Result<(), String> => edit_resend_body
);

pub(super) async fn edit_resend_body(
    hub: Hub,
    id: String,
    index: u64,
    text: String,
) -> Result<(), String> {
    hub.api()
        .truncate(&id, index)
        .await
        .map_err(|e| e.message)?;
    hub.reload_window(&id).await;
    // The edited message is gone from the transcript now (truncated): if the resend fails, its
    // text goes to the composer rather than into an edit box that no longer exists.
    if let Err(e) = hub.send(&id, &text, Vec::new()).await {
        hub.give_back(&id, &text, Vec::new(), &e);
    }
    Ok(())
}

later!(pub(super) search(hub: Hub, q: String, seq: u64) -> () => search_body);

pub(super) async fn search_body(hub: Hub, q: String, seq: u64) {
    let reply = hub.api().search(&q).await;
    // A newer query was typed meanwhile: its answer is the one shown.
    if hub.with(|i| i.search_seq) != seq {
        return;
    }
    match reply {
        Ok(r) => {
            let rows: Vec<RowView> = hub.with(|i| {
                r.into_rows()
                    .iter()
                    .map(|row| RowView::from(&pane_core::view::sidebar_row(row, &i.core)))
                    .collect()
            });
            hub.sidebar.results().patch(rows);
            hub.sidebar.searching().set(true);
        }
        Err(e) => hub.toast(ToastKind::Error, e.message, None),
    }
}

later!(pub(super) page_in(hub: Hub, id: String, all: bool, key: String) -> () => page_in_body);

pub(super) async fn page_in_body(hub: Hub, id: String, all: bool, key: String) {
    let store = hub.store(&id);
    let limit = if all { 500 } else { WINDOW };
    while let Some(before) = hub
        .with(|i| i.core.session(&id).map(|s| s.messages_offset()))
        .filter(|o| *o > 0)
    {
        match hub.api().session(&id, Part::Before { before, limit }).await {
            Ok(w) => hub.update(
                Some(&id),
                Input::PagedIn {
                    session: id.clone(),
                    detail: w.session,
                },
            ),
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
}
