//! The real Hermes WebUI for the `real` test phase: installed once (idempotently) from the
//! source tarball in `../shared/hermes-webui/` (or a checkout: `--hermes DIR` /
//! `HERMES_WEBUI_DIR`) into a venv under `.tools/hermes/` with `hermes-agent` from PyPI, then
//! started per test run isolated on loopback — fresh state, home and workspace, the project's
//! scripted model (`pane-model`) as its provider, approvals manual — and stopped by PID
//! whatever happens (on drop, and a leftover of a killed run is stopped at the next start).

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cmd, root, run, say, step, Res};

/// The agent the webui imports in-process (the newest on PyPI; the fixtures came from it).
const HERMES_AGENT: &str = "hermes-agent==0.19.0";

fn tools_dir() -> PathBuf {
    root().join(".tools/hermes")
}

/// Where the Hermes WebUI source comes from.
pub fn source(args: &[String]) -> Result<PathBuf, String> {
    let flag = args
        .iter()
        .position(|a| a == "--hermes")
        .map(|i| args.get(i + 1).cloned().ok_or("--hermes needs a directory"));
    let given = match flag {
        Some(d) => Some(d?),
        None => std::env::var("HERMES_WEBUI_DIR")
            .ok()
            .filter(|d| !d.is_empty()),
    };
    if let Some(dir) = given {
        let dir = PathBuf::from(dir);
        if !dir.join("server.py").is_file() {
            return Err(format!(
                "{} is not a Hermes WebUI checkout (no server.py)",
                dir.display()
            ));
        }
        say(&format!("Hermes WebUI source: {}", dir.display()));
        return dir.canonicalize().map_err(|e| e.to_string());
    }
    let shared = root().join("../shared/hermes-webui");
    let tarball = std::fs::read_dir(&shared)
        .ok()
        .and_then(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        })
        .ok_or_else(|| {
            format!(
                "no Hermes WebUI source: the real-backend tests need {}/hermes-webui-*.tar.gz, \
                 or a checkout given with --hermes DIR or HERMES_WEBUI_DIR",
                shared.display()
            )
        })?;
    let stem = tarball
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("hermes-webui")
        .trim_end_matches(".tar.gz")
        .to_string();
    let into = tools_dir().join(&stem);
    let unpacked = into.join("hermes-webui");
    step(
        &format!("Hermes WebUI source ({stem})"),
        unpacked.join("server.py").is_file() && into.join(".complete").is_file(),
        || {
            let _ = std::fs::remove_dir_all(&into);
            std::fs::create_dir_all(&into).map_err(|e| e.to_string())?;
            let mut c = cmd("tar");
            c.arg("-xzf").arg(&tarball).arg("-C").arg(&into);
            run(c)?;
            std::fs::write(into.join(".complete"), "").map_err(|e| e.to_string())
        },
    )?;
    Ok(unpacked)
}

/// The venv with the agent and the webui's requirements; its `python`.
pub fn venv(source: &Path) -> Result<PathBuf, String> {
    let venv = tools_dir().join("venv");
    let python = venv.join("bin/python");
    let marker = venv.join(".hermes-pane-installed");
    let want = format!(
        "{HERMES_AGENT}\n{}",
        std::fs::read_to_string(source.join("requirements.txt")).unwrap_or_default()
    );
    let present = std::fs::read_to_string(&marker).is_ok_and(|m| m == want) && python.is_file();
    step(
        &format!("Python venv with {HERMES_AGENT} (PyPI)"),
        present,
        || {
            if !python.is_file() {
                let mut c = cmd("python3");
                c.args(["-m", "venv"]).arg(&venv);
                run(c).map_err(|e| format!("{e} (on Debian: apt-get install python3-venv)"))?;
            }
            let mut c = Command::new(&python);
            c.args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                HERMES_AGENT,
                "-r",
            ])
            .arg(source.join("requirements.txt"));
            run(c)?;
            std::fs::write(&marker, &want).map_err(|e| e.to_string())
        },
    )?;
    Ok(python)
}

/// The agent's modules install as top-level modules: site-packages is a valid agent dir.
fn agent_dir(python: &Path) -> Result<PathBuf, String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import run_agent, os; print(os.path.dirname(run_agent.__file__))",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "the venv has no hermes agent: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Processes of this project that a killed run may have left running (`.tools/hermes/pids`).
fn pid_file() -> PathBuf {
    tools_dir().join("pids")
}

fn remember(pid: u32) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(pid_file())
    {
        let _ = writeln!(f, "{pid}");
    }
}

/// Stops what an earlier run that was killed before it could stop its servers left behind
/// (only processes that are still ours: a Hermes `server.py` or a `pane-model`).
pub fn stop_leftovers() {
    let Ok(pids) = std::fs::read_to_string(pid_file()) else {
        return;
    };
    for pid in pids.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        if cmdline.contains("server.py") || cmdline.contains("pane-model") {
            say(&format!(
                "stopping a leftover of an earlier run (pid {pid})"
            ));
            stop_group(pid);
        }
    }
    let _ = std::fs::remove_file(pid_file());
}

/// SIGTERM to the process group, SIGKILL after 5 s.
fn stop_group(pid: u32) {
    let group = format!("-{pid}");
    let _ = Command::new("kill")
        .args(["-TERM", "--", &group])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        // A zombie (exited, not reaped yet) still has /proc/<pid>; its state says so.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state.split(' ').nth(2) == Some("Z") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
}

/// A child in its own process group, stopped (with everything it started) on drop. Where a
/// person runs it in a terminal (`INTERACTIVE`), it stays in the terminal's group instead, so
/// Ctrl-C stops it with the task.
pub struct Guard {
    child: Child,
    what: String,
}

impl Drop for Guard {
    fn drop(&mut self) {
        stop_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        say(&format!("{} stopped", self.what));
    }
}

/// Set by `cargo xtask run --real`: the servers belong to the terminal's process group.
pub static INTERACTIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn spawn_guarded(mut c: Command, what: &str) -> Result<Guard, String> {
    use std::os::unix::process::CommandExt;
    if !INTERACTIVE.load(std::sync::atomic::Ordering::Relaxed) {
        c.process_group(0);
    }
    let child = c.spawn().map_err(|e| format!("{what}: {e}"))?;
    remember(child.id());
    Ok(Guard {
        child,
        what: what.to_string(),
    })
}

/// The scripted model (`pane-model`) on a free port; its `/v1` URL.
pub fn start_model(bin: &Path) -> Result<(Guard, String), String> {
    let mut c = Command::new(bin);
    c.args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut g = spawn_guarded(c, "the scripted model")?;
    let out = g.child.stdout.take().expect("piped");
    let mut lines = std::io::BufReader::new(out).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(u) = l.strip_prefix("pane-model: listening on ") {
                    break u.trim().to_string();
                }
            }
            _ => return Err("pane-model did not start".into()),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((g, url))
}

/// One running Hermes WebUI.
pub struct Hermes {
    _guard: Guard,
    pub url: String,
    pub workspace: PathBuf,
    pub log: PathBuf,
}

/// Everything a run needs to start servers.
pub struct Install {
    pub source: PathBuf,
    pub python: PathBuf,
    pub agent_dir: PathBuf,
}

/// Installs (or finds) the source and the venv.
pub fn install(args: &[String]) -> Result<Install, String> {
    let source = source(args)?;
    let python = venv(&source)?;
    let agent_dir = agent_dir(&python)?;
    Ok(Install {
        source,
        python,
        agent_dir,
    })
}

/// A copy of the webui for this run (its `static/` gets the test bundle; a user's checkout is
/// never touched). `cp -a` keeps the compiled `.pyc` files valid, so a start takes ~5 s, not 11.
pub fn copy_webui(
    install: &Install,
    scratch: &Path,
    bundle: &Path,
    mount: &str,
) -> Result<PathBuf, String> {
    let to = scratch.join("hermes-webui");
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut c = cmd("cp");
    c.arg("-a").arg(&install.source).arg(&to);
    run(c)?;
    // README mode (b): the bundle built for its base, copied into `static/pane/`.
    let pane = to.join(mount.trim_matches('/'));
    std::fs::create_dir_all(&pane).map_err(|e| e.to_string())?;
    let mut c = cmd("cp");
    c.arg("-a")
        .arg(format!("{}/.", bundle.display()))
        .arg(&pane);
    run(c)?;
    let index = pane.join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    if !html.contains("<base href=\"/\"") {
        return Err(
            "the test bundle's index.html has no <base href=\"/\"> to point at the mount".into(),
        );
    }
    std::fs::write(
        &index,
        html.replacen("<base href=\"/\"", &format!("<base href=\"{mount}\""), 1),
    )
    .map_err(|e| e.to_string())?;
    Ok(to)
}

fn wait_health(url: &str, guard: &mut Guard, log: &Path) -> Res {
    let addr = url.trim_start_matches("http://").to_string();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = write!(
                s,
                "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            );
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200") {
                return Ok(());
            }
        }
        if let Ok(Some(status)) = guard.child.try_wait() {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(20).collect();
            return Err(format!(
                "Hermes WebUI exited with {status} before answering /health; its log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "Hermes WebUI did not answer /health within 90 s (log: {})",
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts `server.py` of `webui` isolated under `dir`: its own HOME, HERMES_HOME (config: the
/// scripted model, approvals manual), state dir and workspace; loopback only, outbound network
/// blocked by the webui's own guard.
pub fn start(
    install: &Install,
    webui: &Path,
    dir: &Path,
    model: &str,
    password: Option<&str>,
    allowed_origins: &str,
) -> Result<Hermes, String> {
    let (home, hermes_home, state, workspace) = (
        dir.join("home"),
        dir.join("hermes-home"),
        dir.join("state"),
        dir.join("workspace"),
    );
    for d in [&home, &hermes_home, &state, &workspace] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let config = format!(
        "model:\n  provider: custom\n  base_url: {model}\n  default: fake-model\n  api_key: \
         sk-any\n  context_length: 131072\n\
         security:\n  allow_lazy_installs: false\n  tirith_enabled: false\n\
         approvals:\n  mode: manual\n\
         agent:\n  api_max_retries: 1\n"
    );
    std::fs::write(hermes_home.join("config.yaml"), config).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let log = dir.join("server.log");
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let bin = install.python.parent().expect("venv/bin").to_path_buf();
    let mut c = Command::new(&install.python);
    c.arg("server.py")
        .current_dir(webui)
        .env_clear()
        .env("HOME", &home)
        .env("HERMES_HOME", &hermes_home)
        .env("HERMES_BASE_HOME", &hermes_home)
        .env("HERMES_CONFIG_PATH", hermes_home.join("config.yaml"))
        .env("HERMES_WEBUI_STATE_DIR", &state)
        .env("HERMES_WEBUI_DEFAULT_WORKSPACE", &workspace)
        .env("HERMES_WEBUI_HOST", "127.0.0.1")
        .env("HERMES_WEBUI_PORT", port.to_string())
        .env("HERMES_WEBUI_SKIP_ONBOARDING", "1")
        .env("HERMES_WEBUI_PASSWORD", password.unwrap_or(""))
        .env("HERMES_WEBUI_ALLOWED_ORIGINS", allowed_origins)
        .env("HERMES_WEBUI_AGENT_DIR", &install.agent_dir)
        .env("HERMES_WEBUI_PYTHON", &install.python)
        .env("HERMES_WEBUI_TEST_NETWORK_BLOCK", "1")
        .env("HERMES_DISABLE_LAZY_INSTALLS", "1")
        .env("TIRITH_ENABLED", "false")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PYTHONUNBUFFERED", "1")
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        )
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file);
    let what = if password.is_some() {
        "Hermes WebUI (password mode)"
    } else {
        "Hermes WebUI"
    };
    let mut guard = spawn_guarded(c, what)?;
    let url = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    wait_health(&url, &mut guard, &log)?;
    say(&format!(
        "{what} up at {url} in {:.1} s (log: {})",
        t.elapsed().as_secs_f64(),
        log.display()
    ));
    Ok(Hermes {
        _guard: guard,
        url,
        workspace,
        log,
    })
}
