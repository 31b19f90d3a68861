//! The bodies of steering a running turn and of the slash commands, in the later chunk (see
//! [`crate::later!`]). What a command does is decided in `pane_core::command`; this runs it
//! against its endpoint and shows its result above the composer.

use std::cell::RefCell;
use std::rc::Rc;

use pane_core::command::{self, Action, CommandInfo};
use pane_core::steer::SteerOutcome;

use super::*;

thread_local! {
    /// The backend's commands, fetched once (empty when the backend has none to give).
    static COMMANDS: RefCell<Option<Rc<Vec<CommandInfo>>>> = const { RefCell::new(None) };
}

/// The backend's commands (fetched on first use; a failed fetch leaves the pane's own).
pub(crate) async fn backend_commands(hub: Hub) -> Rc<Vec<CommandInfo>> {
    if let Some(c) = COMMANDS.with(|c| c.borrow().clone()) {
        return c;
    }
    let list = match hub.api().commands().await {
        Ok(l) => Rc::new(l.commands),
        Err(e) => {
            leptos::logging::warn!("commands: {}", e.message);
            return Rc::new(Vec::new());
        }
    };
    COMMANDS.with(|c| *c.borrow_mut() = Some(list.clone()));
    list
}

later!(pub(super) steer(hub: Hub, id: String, text: String) -> Result<(), String> => steer_body);

/// Steers the running turn; with none running the text is sent as a message (as the stock
/// UI). `Err`: not delivered, and why (the composer takes the text back).
pub(super) async fn steer_body(hub: Hub, id: String, text: String) -> Result<(), String> {
    let busy = hub.with(|i| i.core.session(&id).is_some_and(|s| s.is_busy()));
    if !busy {
        return hub.send(&id, &text, Vec::new()).await;
    }
    let reply = hub.api().steer(&id, &text).await.map_err(|e| e.message)?;
    match SteerOutcome::of(&reply) {
        SteerOutcome::Delivered => {
            hub.update(
                Some(&id),
                Input::Steered {
                    session: id.clone(),
                    text,
                },
            );
            Ok(())
        }
        SteerOutcome::Refused { message, .. } => Err(message.to_string()),
    }
}

later!(pub(super) run_command(hub: Hub, id: String, text: String) -> Result<(), String>
    => run_command_body);

/// Runs the slash command `text` in session `id`. `Err` gives the text back with the reason.
pub(super) async fn run_command_body(hub: Hub, id: String, text: String) -> Result<(), String> {
    let list = backend_commands(hub).await;
    let show = |s: String| hub.store(&id).command_output().set(Some(s));
    match command::action(&text, &list) {
        Action::Help => show(command::help(&list)),
        Action::New => {
            hub.new_session().await?;
        }
        Action::Retry => hub.retry(&id),
        Action::Undo => hub.undo(&id),
        Action::Stop => hub.stop(&id),
        Action::Title(None) => {
            let title = hub.with(|i| {
                i.core
                    .session(&id)
                    .and_then(|s| s.title().map(String::from))
            });
            show(format!(
                "Title: {}\n\nSet it with /title <new title>.",
                title.unwrap_or_else(|| "(untitled)".into())
            ));
        }
        Action::Title(Some(t)) => {
            hub.rename(&id, &t);
            show(format!("Title set: {t}"));
        }
        Action::Model(query) => return model_command(hub, &id, query).await,
        Action::Compress(focus) => {
            let r = hub
                .api()
                .compress(&id, focus.as_deref())
                .await
                .map_err(|e| e.message)?;
            hub.reload_window(&id).await;
            let s = r.summary.unwrap_or_default();
            let lines: Vec<String> = [s.headline, s.token_line, s.note]
                .into_iter()
                .flatten()
                .filter(|l| !l.trim().is_empty())
                .collect();
            show(if lines.is_empty() {
                "Context compressed.".into()
            } else {
                lines.join("\n")
            });
        }
        Action::Steer(t) => return steer_body(hub, id, t).await,
        Action::Queue(t) | Action::Send(t) => return hub.send(&id, &t, Vec::new()).await,
        Action::Branch => {
            let keep = hub.with(|i| {
                i.core
                    .session(&id)
                    .map_or(0, |s| s.messages_offset() + s.messages().len() as u64)
            });
            hub.fork(&id, keep);
        }
        Action::Exec(c) => match hub.api().exec(&c).await {
            Ok(r) => show(r.output.unwrap_or_else(|| "(no output)".into())),
            Err(e) => show(format!("Agent command error: {}", e.message)),
        },
        Action::CliOnly { name, description } => show(command::cli_only_text(&name, &description)),
        Action::Usage(u) => return Err(u),
    }
    Ok(())
}

/// `/model` shows the session's model and the choices; `/model NAME` switches to it.
async fn model_command(hub: Hub, id: &str, query: Option<String>) -> Result<(), String> {
    let choices = hub.api().models().await.map_err(|e| e.message)?.choices();
    let show = |s: String| hub.store(id).command_output().set(Some(s));
    let Some(q) = query else {
        let current = hub.with(|i| {
            i.core
                .session(id)
                .and_then(|s| s.model().0.map(String::from))
        });
        let list: Vec<String> = choices.iter().map(|(m, _, _)| format!("- {m}")).collect();
        show(format!(
            "Model: {}\n\nAvailable:\n{}",
            current.unwrap_or_else(|| "(the default)".into()),
            list.join("\n")
        ));
        return Ok(());
    };
    let Some(i) = command::pick_model(&q, &choices) else {
        return Err(format!("No model matches “{q}”."));
    };
    let (model, provider, _) = &choices[i];
    let at = hub.ticket();
    let env = hub
        .api()
        .set_model(id, model, provider.as_deref())
        .await
        .map_err(|e| e.message)?;
    hub.update(
        Some(id),
        Input::Loaded {
            session: id.to_string(),
            detail: env.session,
            messages: false,
            at,
        },
    );
    show(format!("Model: {model} (the next turn uses it)"));
    Ok(())
}
