//! Slash commands: the backend's list (`GET /api/commands`), completion as the user types,
//! and what running one does. As the stock UI, the commands a chat pane needs run here against
//! their endpoints; a few agent commands run on the backend (`/api/commands/exec`); a CLI-only
//! one says so; anything else is sent to the agent as a message.

use serde::Serialize;

use crate::json::FromJson;

/// One entry of `GET /api/commands` → `{commands: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct CommandInfo {
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub aliases: Vec<String>,
    pub args_hint: Option<String>,
    pub cli_only: bool,
    pub gateway_only: bool,
}

/// `GET /api/commands`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromJson)]
pub struct CommandList {
    pub commands: Vec<CommandInfo>,
}

/// What the pane runs itself (name, argument hint, description): always offered, so the menu
/// works against a backend whose agent is missing (its list is then empty).
const PANE_COMMANDS: &[(&str, &str, &str)] = &[
    ("help", "", "Show available commands"),
    ("new", "", "Start a new session"),
    ("retry", "", "Retry the last message"),
    ("undo", "", "Remove the last turn"),
    ("title", "[title]", "Show or set this session's title"),
    ("model", "[model]", "Show or switch this session's model"),
    (
        "compress",
        "[focus topic]",
        "Compress the conversation's context",
    ),
    (
        "steer",
        "<message>",
        "Steer the running reply without interrupting it",
    ),
    (
        "queue",
        "<message>",
        "Queue a message for when the running reply ends",
    ),
    ("stop", "", "Stop the running reply"),
    ("branch", "", "Fork this session from its last message"),
];

/// The agent commands the backend runs for the web UI (`_ALLOWED_AGENT_COMMANDS`).
const EXEC_COMMANDS: &[&str] = &["reload-mcp", "reload-skills", "codex-runtime", "credits"];

/// One line of the menu.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuItem {
    pub name: String,
    pub hint: String,
    pub description: String,
    /// Shown, but it cannot run here (`cli_only`).
    pub cli_only: bool,
}

/// The command being typed: `text` is a single line starting with `/` and no space yet.
pub fn typing(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('/')?;
    (!rest.contains(char::is_whitespace)).then_some(rest)
}

/// `"/name args"` → `(name, args)`; `None` when the text is not a command.
pub fn parse(text: &str) -> Option<(String, String)> {
    let rest = text.trim_start().strip_prefix('/')?;
    let mut parts = rest.splitn(2, char::is_whitespace);
    let name = parts.next().unwrap_or("").trim().to_lowercase();
    if name.is_empty() || name.contains('/') {
        // `/path/to/file` is not a command.
        return None;
    }
    Some((name, parts.next().unwrap_or("").trim().to_string()))
}

/// The menu for `prefix` (what follows the `/`): the pane's own commands first, then the
/// backend's (gateway-only ones never), each once, names starting with the prefix before
/// names that merely contain it or match by alias.
pub fn menu(prefix: &str, backend: &[CommandInfo]) -> Vec<MenuItem> {
    let p = prefix.to_lowercase();
    let mut all: Vec<MenuItem> = PANE_COMMANDS
        .iter()
        .map(|(n, h, d)| MenuItem {
            name: n.to_string(),
            hint: h.to_string(),
            description: d.to_string(),
            cli_only: false,
        })
        .collect();
    let mut aliases: Vec<(String, Vec<String>)> = Vec::new();
    for c in backend.iter().filter(|c| !c.gateway_only) {
        aliases.push((c.name.clone(), c.aliases.clone()));
        if all.iter().any(|m| m.name == c.name) {
            continue;
        }
        all.push(MenuItem {
            name: c.name.clone(),
            hint: c.args_hint.clone().unwrap_or_default(),
            description: c.description.clone().unwrap_or_default(),
            cli_only: c.cli_only,
        });
    }
    let rank = |m: &MenuItem| -> Option<u8> {
        if m.name.starts_with(&p) {
            Some(0)
        } else if aliases
            .iter()
            .any(|(n, a)| *n == m.name && a.iter().any(|a| a.to_lowercase().starts_with(&p)))
        {
            Some(1)
        } else if m.name.contains(&p) {
            Some(2)
        } else {
            None
        }
    };
    let mut ranked: Vec<(u8, usize, MenuItem)> = all
        .into_iter()
        .enumerate()
        .filter_map(|(i, m)| rank(&m).map(|r| (r, i, m)))
        .collect();
    ranked.sort_by_key(|(r, i, _)| (*r, *i));
    ranked.into_iter().map(|(_, _, m)| m).collect()
}

/// What running a command does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Help,
    New,
    Retry,
    Undo,
    /// `None`: show the current title.
    Title(Option<String>),
    /// `None`: show the current model and the choices.
    Model(Option<String>),
    /// The focus topic, if any.
    Compress(Option<String>),
    Steer(String),
    Queue(String),
    Stop,
    Branch,
    /// `POST /api/commands/exec {command}` with the whole text.
    Exec(String),
    /// A CLI-only command: say so, run nothing.
    CliOnly {
        name: String,
        description: String,
    },
    /// Not a command the pane or the backend runs: send the text to the agent as a message.
    Send(String),
    /// A command that needs an argument was given none.
    Usage(String),
}

/// Decides what `text` (starting with `/`) does, given the backend's list.
pub fn action(text: &str, backend: &[CommandInfo]) -> Action {
    let Some((name, args)) = parse(text) else {
        return Action::Send(text.to_string());
    };
    // An alias of a backend command runs as that command.
    let info = backend
        .iter()
        .find(|c| c.name == name || c.aliases.iter().any(|a| a.to_lowercase() == name));
    let canonical = info.map(|c| c.name.clone()).unwrap_or(name.clone());
    let arg = || Some(args.clone()).filter(|a| !a.is_empty());
    let needs = |make: fn(String) -> Action| match arg() {
        Some(a) => make(a),
        None => Action::Usage(format!("Usage: /{canonical} <message>")),
    };
    match canonical.as_str() {
        "help" => Action::Help,
        "new" | "clear" => Action::New,
        "retry" => Action::Retry,
        "undo" => Action::Undo,
        "title" => Action::Title(arg()),
        "model" => Action::Model(arg()),
        "compress" | "compact" => Action::Compress(arg()),
        "steer" => needs(Action::Steer),
        "queue" => needs(Action::Queue),
        "stop" => Action::Stop,
        "branch" | "fork" => Action::Branch,
        n if EXEC_COMMANDS.contains(&n) || info.is_some_and(is_plugin) => {
            Action::Exec(text.trim().to_string())
        }
        _ => match info {
            Some(c) if c.cli_only => Action::CliOnly {
                name: c.name.clone(),
                description: c.description.clone().unwrap_or_default(),
            },
            _ => Action::Send(text.to_string()),
        },
    }
}

fn is_plugin(c: &CommandInfo) -> bool {
    c.category.as_deref() == Some("Plugin")
}

/// The help text (markdown): every command the menu offers, with its hint.
pub fn help(backend: &[CommandInfo]) -> String {
    let mut out = String::from("Available commands:\n\n");
    for m in menu("", backend) {
        let hint = if m.hint.is_empty() {
            String::new()
        } else {
            format!(" {}", m.hint)
        };
        let cli = if m.cli_only { " (CLI only)" } else { "" };
        out.push_str(&format!("- `/{}{hint}` — {}{cli}\n", m.name, m.description));
    }
    out
}

/// What a CLI-only command answers (the stock UI's wording).
pub fn cli_only_text(name: &str, description: &str) -> String {
    let detail = if description.trim().is_empty() {
        String::new()
    } else {
        format!("\n\n{}", description.trim())
    };
    format!("`/{name}` is a Hermes CLI-only command and cannot run inside the WebUI.{detail}")
}

/// The model `/model QUERY` means among `(model, provider, label)` choices: an exact id or
/// label (any case), else the shortest whose id or label contains the query (as the stock UI:
/// a specific query is not shadowed by a longer variant).
pub fn pick_model(query: &str, choices: &[(String, Option<String>, String)]) -> Option<usize> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return None;
    }
    let exact = choices
        .iter()
        .position(|(m, _, l)| m.to_lowercase() == q || l.to_lowercase() == q);
    exact.or_else(|| {
        choices
            .iter()
            .enumerate()
            .filter(|(_, (m, _, l))| m.to_lowercase().contains(&q) || l.to_lowercase().contains(&q))
            .min_by_key(|(_, (m, _, _))| m.len())
            .map(|(i, _)| i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, aliases: &[&str], cli_only: bool, category: &str) -> CommandInfo {
        CommandInfo {
            name: name.into(),
            description: Some(format!("{name} it")),
            category: Some(category.into()),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            cli_only,
            ..Default::default()
        }
    }

    fn backend() -> Vec<CommandInfo> {
        vec![
            info("retry", &[], false, "Session"),
            info("reload-mcp", &["reload_mcp"], false, "Tools & Skills"),
            info("browser", &[], true, "Tools & Skills"),
            info("weather", &[], false, "Plugin"),
            info("status", &[], false, "Session"),
            CommandInfo {
                gateway_only: true,
                ..info("sethome", &[], false, "Session")
            },
        ]
    }

    #[test]
    fn typing_a_slash_opens_the_menu_until_a_space() {
        assert_eq!(typing("/"), Some(""));
        assert_eq!(typing("/ret"), Some("ret"));
        assert_eq!(typing("/retry now"), None);
        assert_eq!(typing("hello /x"), None);
    }

    #[test]
    fn the_menu_offers_the_panes_commands_and_the_backends_each_once() {
        let all = menu("", &backend());
        let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.iter().filter(|n| **n == "retry").count(), 1);
        for n in [
            "help",
            "new",
            "undo",
            "title",
            "model",
            "compress",
            "steer",
            "reload-mcp",
        ] {
            assert!(names.contains(&n), "{n} offered");
        }
        assert!(!names.contains(&"sethome"), "gateway-only never offered");
        let re: Vec<String> = menu("re", &backend()).into_iter().map(|m| m.name).collect();
        assert_eq!(
            re,
            vec!["retry", "reload-mcp", "compress"],
            "prefix matches first"
        );
        // A name containing the prefix ranks after names starting with it.
        let t: Vec<String> = menu("t", &backend()).into_iter().map(|m| m.name).collect();
        assert_eq!(t[0], "title");
        assert!(t.contains(&"status".to_string()));
    }

    #[test]
    fn each_command_maps_to_what_it_does() {
        let b = backend();
        assert_eq!(action("/help", &b), Action::Help);
        assert_eq!(action("/new", &b), Action::New);
        assert_eq!(action("/retry", &b), Action::Retry);
        assert_eq!(action("/undo", &b), Action::Undo);
        assert_eq!(action("/title", &b), Action::Title(None));
        assert_eq!(
            action("/title  My name ", &b),
            Action::Title(Some("My name".into()))
        );
        assert_eq!(
            action("/model fake-b", &b),
            Action::Model(Some("fake-b".into()))
        );
        assert_eq!(
            action("/compress auth", &b),
            Action::Compress(Some("auth".into()))
        );
        assert_eq!(
            action("/steer use prod", &b),
            Action::Steer("use prod".into())
        );
        assert!(matches!(action("/steer", &b), Action::Usage(_)));
        assert_eq!(
            action("/RELOAD_MCP", &b),
            Action::Exec("/RELOAD_MCP".into())
        );
        assert_eq!(
            action("/weather today", &b),
            Action::Exec("/weather today".into())
        );
        assert!(matches!(action("/browser", &b), Action::CliOnly { .. }));
        assert_eq!(action("/status", &b), Action::Send("/status".into()));
        assert_eq!(
            action("/etc/hosts is odd", &b),
            Action::Send("/etc/hosts is odd".into())
        );
    }

    #[test]
    fn a_model_query_picks_the_exact_one_before_a_longer_variant() {
        let c: Vec<(String, Option<String>, String)> = ["fake-model-b", "fake-model", "other"]
            .iter()
            .map(|m| (m.to_string(), None, m.to_uppercase()))
            .collect();
        assert_eq!(pick_model("fake-model", &c), Some(1));
        assert_eq!(pick_model("FAKE-MODEL-B", &c), Some(0));
        assert_eq!(
            pick_model("fake", &c),
            Some(1),
            "the shortest containing it"
        );
        assert_eq!(pick_model("nothing", &c), None);
        assert_eq!(pick_model(" ", &c), None);
    }

    #[test]
    fn help_lists_every_offered_command() {
        let h = help(&backend());
        assert!(h.contains("`/steer <message>`"));
        assert!(h.contains("`/browser` — browser it (CLI only)"));
        assert!(!h.contains("sethome"));
    }
}
