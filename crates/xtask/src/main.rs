//! The project's task runner (`cargo xtask <task>`): set-up, run, test, bench.
//!
//! Every task first installs what it needs and is missing — idempotently, one printed line per
//! step — so the README's commands work on a fresh Debian 12 machine with only rustup/cargo,
//! Node, Python and apt. [`setup`] installs the tools, [`bundle`] builds the release bundle
//! (wasm-split's library cuts the release wasm into chunks; sha2/base64 recompute the
//! subresource-integrity digests), [`test`] runs the test phases, [`hermes`] installs, starts
//! and stops the real Hermes WebUI.

mod bundle;
mod hermes;
mod setup;
mod test;

use std::env;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use bundle::{build_bundle, task_build};
use setup::{setup_browser, setup_build_tools};
use test::{build_server, in_scratch, server_bin, task_test};

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

pub(crate) fn tools_bin() -> PathBuf {
    root().join(".tools/node_modules/.bin")
}

pub(crate) fn cargo_bin() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env::var("HOME").unwrap_or_default()).join(".cargo"))
        .join("bin")
}

/// PATH with the pinned tools first (npm wasm-opt before any system one).
pub(crate) fn tool_path() -> String {
    let mut parts = vec![
        tools_bin().display().to_string(),
        cargo_bin().display().to_string(),
    ];
    if let Ok(p) = env::var("PATH") {
        parts.push(p);
    }
    parts.join(":")
}

pub(crate) fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("PATH", tool_path()).current_dir(root());
    c
}

pub(crate) fn say(msg: &str) {
    println!("[xtask] {msg}");
}

pub(crate) type Res = Result<(), String>;

pub(crate) fn run(mut c: Command) -> Res {
    let shown = format!("{c:?}");
    let status = c.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

pub(crate) fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = cmd(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// One set-up step: skip when `present`, else install.
pub(crate) fn step(name: &str, present: bool, install: impl FnOnce() -> Res) -> Res {
    if present {
        say(&format!("{name}: already installed"));
        return Ok(());
    }
    say(&format!("{name}: installing…"));
    let t = Instant::now();
    install()?;
    say(&format!(
        "{name}: installed in {:.0} s",
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// `run [--real [--hermes DIR]] [-- server args]`: the pane with the stand-in, or (`--real`) in
/// proxy mode in front of a real Hermes WebUI installed and started here, isolated, with the
/// scripted model as its provider (to try the pane on the real backend without a model).
fn task_run(args: &[String]) -> Res {
    // `cargo xtask run -- --addr …` (as the README writes it) hands us a literal `--` first.
    let (ours, server_args) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    setup_build_tools()?;
    build_bundle("dist", None, "./")?;
    build_server()?;
    let mut c = cmd(server_bin().to_str().expect("utf-8 path"));
    c.args(["--dist", "dist"]);
    if !ours.iter().any(|a| a == "--real") {
        c.args(server_args);
        return run(c);
    }
    hermes::stop_leftovers();
    hermes::INTERACTIVE.store(true, std::sync::atomic::Ordering::Relaxed);
    let install = hermes::install(ours)?;
    let (_model, model) = hermes::start_model(&root().join("target/native-release/pane-model"))?;
    let dir = root().join("target/hermes-run");
    let webui = hermes::copy_webui(&install, &dir, &root().join("dist"), "/static/pane/")?;
    let hermes = hermes::start(
        &install,
        &webui,
        &dir.join("instance"),
        &model,
        None,
        "http://127.0.0.1:8080",
    )?;
    say(&format!(
        "Hermes WebUI (scripted model) at {} — its own UI at /, the pane also at \
         /static/pane/index.html",
        hermes.url
    ));
    c.args(["--backend", &hermes.url]).args(server_args);
    run(c)
}

fn task_bench(args: &[String]) -> Res {
    setup_build_tools()?;
    setup_browser()?;
    build_bundle("target/bench-dist", Some("test-hooks"), "./")?;
    build_bundle("dist", None, "./")?;
    build_server()?;
    let bench = |extra: &[(&str, String)]| {
        let mut c = cmd("cargo");
        c.args([
            "run",
            "--profile",
            "native-release",
            "-p",
            "pane-e2e",
            "--bin",
            "pane-bench",
            "--",
        ])
        .args(args)
        .env("PANE_DIST", root().join("target/bench-dist"))
        .env("PANE_SHIP_DIST", root().join("dist"))
        .env("PANE_SERVER_BIN", server_bin());
        for (k, v) in extra {
            c.env(k, v);
        }
        run(c)
    };
    if !args.iter().any(|a| a == "real") {
        return in_scratch("bench", || bench(&[]));
    }
    // `bench real`: the stock UI and the pane (the shipped bundle, embedded in Hermes' own
    // `static/pane/` and behind pane-server's proxy) on one real Hermes WebUI.
    in_scratch("bench", || {
        hermes::stop_leftovers();
        let install = hermes::install(args)?;
        let (_model, model) =
            hermes::start_model(&root().join("target/native-release/pane-model"))?;
        let mount = "/static/pane/";
        let scratch = env::temp_dir().join("hermes-bench");
        let webui = hermes::copy_webui(&install, &scratch, &root().join("dist"), mount)?;
        let open = hermes::start(&install, &webui, &scratch.join("open"), &model, None, "")?;
        bench(&[
            ("PANE_REAL_URL", open.url.clone()),
            ("PANE_REAL_WORKSPACE", open.workspace.display().to_string()),
            ("PANE_REAL_STATIC_MOUNT", mount.to_string()),
            ("PANE_REAL_MODEL", model.clone()),
        ])
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, r)) => (t.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match task {
        "setup" => setup_build_tools().and_then(|_| setup_browser()),
        "build" => setup_build_tools().and_then(|_| task_build(rest)),
        "run" => task_run(rest),
        "test" => task_test(rest),
        "bench" => task_bench(rest),
        _ => {
            println!(
                "usage: cargo xtask <task>

  run [server args]   build the pane and serve it with the stand-in backend
                      (e.g. `-- --backend http://127.0.0.1:8787` to use a real Hermes WebUI)
  test [lint|native|browser|e2e|real] [--hermes DIR] [--only NAME]
                      run every check and test (or one phase; `real` runs the browser
                      scenarios against the real Hermes WebUI, `--only` some of them)
  bench               measure the pane in headless Chromium, write BENCHMARKS data
  setup               install the tools only
  build [--features F] [--base PATH]  build the release bundle into dist/"
            );
            return if task == "help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[xtask] error: {e}");
            ExitCode::FAILURE
        }
    }
}
