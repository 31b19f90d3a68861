//! `cargo xtask test`: the phases (lint, native, browser, e2e, real), each timed.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use crate::bundle::build_bundle;
use crate::hermes;
use crate::setup::{setup_browser, setup_build_tools};
use crate::{cmd, root, run, say, Res};

pub(crate) fn build_server() -> Res {
    let mut c = cmd("cargo");
    c.args(["build", "--profile", "native-release", "-p", "pane-server"]);
    run(c)
}

pub(crate) fn server_bin() -> PathBuf {
    root().join("target/native-release/pane-server")
}

/// A stand-in server for the in-browser tests, killed on drop.
pub(crate) struct StandIn {
    child: std::process::Child,
    url: String,
}

impl StandIn {
    fn start(extra: &[&str]) -> Result<StandIn, String> {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let data =
            std::env::temp_dir().join(format!("hermes-pane-browser-tests-{}", std::process::id()));
        let mut child = cmd(server_bin().to_str().expect("utf-8 path"))
            .args([
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
                data.to_str().expect("utf-8"),
                "--dist",
                "target/no-dist",
                "--faults",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("pane-server: {e}"))?;
        let out = child.stdout.take().expect("piped");
        let mut lines = std::io::BufReader::new(out).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("serving the pane at") => break,
                Some(Ok(_)) => {}
                _ => return Err("pane-server did not start".into()),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Ok(StandIn {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        })
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn task_test(args: &[String]) -> Res {
    let started = Instant::now();
    setup_build_tools()?;
    setup_browser()?;
    let only = args
        .first()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"));
    in_scratch("tests", || test_phases(only, args))?;
    say(&format!(
        "all tests passed in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Runs `f` with every temporary file of its processes (stand-in data dirs, Chromium profiles,
/// chromedriver's own) under one directory: removed when `f` succeeds, kept for a look when not.
pub(crate) fn in_scratch(what: &str, f: impl FnOnce() -> Res) -> Res {
    let scratch = env::temp_dir().join(format!("hermes-pane-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let before = env::var_os("TMPDIR");
    env::set_var("TMPDIR", &scratch);
    let result = f();
    match before {
        Some(t) => env::set_var("TMPDIR", t),
        None => env::remove_var("TMPDIR"),
    }
    match &result {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        Err(_) => say(&format!(
            "temporary files of this run are kept in {}",
            scratch.display()
        )),
    }
    result
}

/// The NAME of `--only NAME` (a test-name filter for the browser suites).
fn only_filter(args: &[String]) -> Option<&str> {
    args.iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The password of the real backend's password-mode instance in the `real` phase.
const REAL_PASSWORD: &str = "pane-test-secret";

pub(crate) fn test_phases(only: Option<&str>, args: &[String]) -> Res {
    let mut phases: Vec<(&str, f64)> = Vec::new();
    let mut phase = |name: &'static str, f: &mut dyn FnMut() -> Res| -> Res {
        if only.is_some_and(|o| o != name) {
            return Ok(());
        }
        say(&format!("── {name} ──"));
        let t = Instant::now();
        f()?;
        phases.push((name, t.elapsed().as_secs_f64()));
        Ok(())
    };
    phase("lint", &mut || {
        // Formatting and every clippy warning, for the native crates and the wasm pane.
        let mut c = cmd("cargo");
        c.args(["fmt", "--all", "--check"]);
        run(c)?;
        // The `view!` bodies (leptosfmt.toml), and what neither formatter breaks.
        let mut c = cmd("leptosfmt");
        c.args(["--check", "--quiet", "src/"]);
        run(c).map_err(|e| format!("{e} (run `leptosfmt src/` to format the views)"))?;
        long_lines()?;
        clippy(&[
            "-p",
            "pane-core",
            "-p",
            "pane-server",
            "-p",
            "pane-e2e",
            "-p",
            "xtask",
        ])?;
        let wasm = ["-p", "hermes-pane", "--target", "wasm32-unknown-unknown"];
        clippy(&wasm)?;
        // The release bundle's code paths (`split`: the lazily loaded chunks; `test-hooks`).
        clippy(&[&wasm[..], &["--all-features"]].concat())
    })?;
    phase("native", &mut || {
        let mut c = cmd("cargo");
        c.args(["test", "-p", "pane-core", "-p", "pane-server"]);
        run(c)
    })?;
    phase("browser", &mut || {
        // The in-browser tests talk to a real stand-in backend (cross-origin, test mode only).
        build_server()?;
        let backend = StandIn::start(&["--test-cors"])?;
        let mut c = cmd("cargo");
        c.args([
            "test",
            "-p",
            "hermes-pane",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "180")
        .env("PANE_TEST_BACKEND", &backend.url);
        let r = run(c);
        drop(backend);
        r
    })?;
    // The browser suites' bundle (with test hooks), built once for both phases.
    let mut bundle_built = false;
    let mut e2e_bundle = || -> Res {
        if !std::mem::replace(&mut bundle_built, true) {
            build_bundle("target/e2e-dist", Some("test-hooks"), "./")?;
        }
        Ok(())
    };
    phase("e2e", &mut || {
        e2e_bundle()?;
        build_server()?;
        let mut c = cmd("cargo");
        c.args([
            "test",
            "-p",
            "pane-e2e",
            "--lib",
            "--test",
            "e2e",
            "--",
            "--test-threads=1",
        ])
        // `test e2e --only NAME`: just the tests whose name contains NAME.
        .args(only_filter(args))
        .env("PANE_DIST", root().join("target/e2e-dist"))
        .env("PANE_SERVER_BIN", server_bin());
        run(c)
    })?;
    phase("real", &mut || {
        // The shared browser scenarios against the unmodified Hermes WebUI, once per embedding,
        // each against fresh instances (an "always" approval outlives its session).
        hermes::stop_leftovers();
        let install = hermes::install(args)?;
        e2e_bundle()?;
        build_server()?;
        let (_model, model) =
            hermes::start_model(&root().join("target/native-release/pane-model"))?;
        let mount = "/static/pane/";
        // `test real --only NAME`: just the tests whose name contains NAME, on one set of
        // instances (for working on one scenario).
        let only = only_filter(args);
        let groups: Vec<(&str, Vec<&str>)> = match only {
            Some(f) => vec![("only", vec![f])],
            None => vec![
                ("proxy", vec!["::proxy", "trunk_serve"]),
                ("embedded", vec!["::embedded"]),
            ],
        };
        for (embedding, filters) in groups {
            let scratch = env::temp_dir().join(format!("hermes-{embedding}"));
            let webui =
                hermes::copy_webui(&install, &scratch, &root().join("target/e2e-dist"), mount)?;
            // `trunk serve` (README mode c, on Trunk.toml's port 8080) proxies with the backend's
            // host: its page's origin is allowed as the README says to allow it.
            let open = hermes::start(
                &install,
                &webui,
                &scratch.join("open"),
                &model,
                None,
                "http://127.0.0.1:8080",
            )?;
            let locked = hermes::start(
                &install,
                &webui,
                &scratch.join("password"),
                &model,
                Some(REAL_PASSWORD),
                "",
            )?;
            say(&format!("real backend, {embedding}: the scenarios"));
            let mut c = cmd("cargo");
            c.args([
                "test",
                "-p",
                "pane-e2e",
                "--test",
                "real",
                "--",
                "--test-threads=1",
            ])
            .args(&filters)
            .env("PANE_DIST", root().join("target/e2e-dist"))
            .env("PANE_SERVER_BIN", server_bin())
            .env("PANE_REAL_URL", &open.url)
            .env("PANE_REAL_WORKSPACE", &open.workspace)
            .env("PANE_REAL_PW_URL", &locked.url)
            .env("PANE_REAL_PW_WORKSPACE", &locked.workspace)
            .env("PANE_REAL_PASSWORD", REAL_PASSWORD)
            .env("PANE_REAL_STATIC_MOUNT", mount)
            .env("PANE_REAL_MODEL", &model);
            let r = run(c);
            if r.is_err() {
                say(&format!(
                    "Hermes WebUI logs: {} and {}",
                    open.log.display(),
                    locked.log.display()
                ));
            }
            r?;
        }
        Ok(())
    })?;
    for (name, secs) in &phases {
        say(&format!("{name}: {secs:.0} s"));
    }
    Ok(())
}

/// The widest a line of Rust may be (rustfmt.toml, leptosfmt.toml).
const MAX_WIDTH: usize = 100;

/// No line of Rust over [`MAX_WIDTH`] columns: rustfmt and leptosfmt leave macro bodies and long
/// string literals alone. A line may be longer only for a literal with no space in it (a URL),
/// which cannot break.
fn long_lines() -> Res {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if p.is_dir() {
                if name != "target"
                    && name != "node_modules"
                    && !name.to_string_lossy().starts_with('.')
                {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for d in ["src", "tests", "crates", "build.rs"] {
        let p = root().join(d);
        if p.is_file() {
            files.push(p);
        } else {
            walk(&p, &mut files);
        }
    }
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.chars().count() <= MAX_WIDTH {
                continue;
            }
            let unbreakable = match (line.find('"'), line.rfind('"')) {
                (Some(a), Some(b)) if b > a => !line[a..b].contains(' '),
                _ => false,
            };
            if !unbreakable {
                let rel = f.strip_prefix(root()).unwrap_or(f);
                bad.push(format!("{}:{}", rel.display(), n + 1));
            }
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} line(s) over {MAX_WIDTH} columns (break the macro body or the string by hand): {}",
        bad.len(),
        bad.join(", ")
    ))
}

/// Clippy on every target of what `args` selects, every warning an error.
fn clippy(args: &[&str]) -> Res {
    let mut c = cmd("cargo");
    c.args(["clippy", "--quiet"])
        .args(args)
        .args(["--all-targets", "--", "-D", "warnings"]);
    run(c)
}
