//! The project's task runner (`cargo xtask <task>`): set-up, run, test, bench.
//!
//! Every task first installs what it needs and is missing — idempotently, one printed line per
//! step — so the README's commands work on a fresh Debian 12 machine with only rustup/cargo,
//! Node and apt. Its dependencies serve the bundle step: wasm-split's library (cutting the
//! release wasm into chunks) and sha2/base64 (subresource-integrity digests).

mod hermes;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132.0.0";
const WASM_OPT_VERSION: &str = "version 132";
const ESBUILD_VERSION: &str = "0.24.2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

fn tools_bin() -> PathBuf {
    root().join(".tools/node_modules/.bin")
}

fn cargo_bin() -> PathBuf {
    env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env::var("HOME").unwrap_or_default()).join(".cargo")).join("bin")
}

/// PATH with the pinned tools first (npm wasm-opt before any system one).
fn tool_path() -> String {
    let mut parts = vec![tools_bin().display().to_string(), cargo_bin().display().to_string()];
    if let Ok(p) = env::var("PATH") {
        parts.push(p);
    }
    parts.join(":")
}

fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("PATH", tool_path()).current_dir(root());
    c
}

fn say(msg: &str) {
    println!("[xtask] {msg}");
}

type Res = Result<(), String>;

fn run(mut c: Command) -> Res {
    let shown = format!("{c:?}");
    let status = c.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = cmd(program).args(args).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// One set-up step: skip when `present`, else install.
fn step(name: &str, present: bool, install: impl FnOnce() -> Res) -> Res {
    if present {
        say(&format!("{name}: already installed"));
        return Ok(());
    }
    say(&format!("{name}: installing…"));
    let t = Instant::now();
    install()?;
    say(&format!("{name}: installed in {:.0} s", t.elapsed().as_secs_f64()));
    Ok(())
}

/// The wasm-bindgen version Cargo.lock pins (the CLI must match it exactly).
fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("wasm-bindgen not found in Cargo.lock".into())
}

fn setup_build_tools() -> Res {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    step("rust target wasm32-unknown-unknown", targets.lines().any(|l| l.trim() == "wasm32-unknown-unknown"), || {
        let mut c = cmd("rustup");
        c.args(["target", "add", "wasm32-unknown-unknown"]);
        run(c)
    })?;
    let components = output("rustup", &["component", "list", "--installed"]).unwrap_or_default();
    let has = |c: &str| components.lines().any(|l| l.starts_with(c));
    step("rust components clippy, rustfmt", has("clippy") && has("rustfmt"), || {
        let mut c = cmd("rustup");
        c.args(["component", "add", "clippy", "rustfmt"]);
        run(c)
    })?;
    let wb = locked_wasm_bindgen()?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    step(&format!("wasm-bindgen-cli {wb}"), have.trim() == format!("wasm-bindgen {wb}"), || {
        // Not --locked: the CLI's own lockfile names a crate version the registry index lacks.
        let mut c = cmd("cargo");
        c.args(["install", "wasm-bindgen-cli", "--version", &wb, "--force"]);
        run(c)
    })?;
    let have = output("trunk", &["--version"]).unwrap_or_default();
    step(&format!("trunk {TRUNK_VERSION}"), have.contains(TRUNK_VERSION), || {
        // trunk 0.22 needs a newer rustc. Built unoptimised (no debug info): 4 min instead of
        // 11, and a bundle build takes as long with it (46 s vs 43 s, measured) — the time is
        // cargo's and wasm-opt's, not Trunk's.
        let mut c = cmd("cargo");
        c.args(["install", "--locked", "--debug", "trunk", "--version", TRUNK_VERSION, "--force"]).env("CARGO_PROFILE_DEV_DEBUG", "0");
        run(c)
    })?;
    let wasm_opt = tools_bin().join("wasm-opt");
    let have = Command::new(&wasm_opt).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
    step(&format!("wasm-opt (npm binaryen@{BINARYEN_VERSION})"), have.contains(WASM_OPT_VERSION), || {
        // Debian's binaryen (wasm-opt 108) silently breaks wasm-bindgen 0.2.130 output: never use it.
        npm_install(&format!("binaryen@{BINARYEN_VERSION}"))
    })?;
    let esbuild = tools_bin().join("esbuild");
    let have = Command::new(&esbuild).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    step(&format!("esbuild {ESBUILD_VERSION} (npm)"), have == ESBUILD_VERSION, || {
        // Minifies the bundle's JS and CSS (see split_bundle).
        npm_install(&format!("esbuild@{ESBUILD_VERSION}"))
    })?;
    Ok(())
}

/// Installs a pinned npm package under `.tools/` (its binaries in `tools_bin()`).
fn npm_install(package: &str) -> Res {
    std::fs::create_dir_all(root().join(".tools")).map_err(|e| e.to_string())?;
    let mut c = cmd("npm");
    c.args(["install", "--prefix", ".tools", "--no-audit", "--no-fund", "--loglevel=error", package]);
    run(c)
}

fn setup_browser() -> Res {
    let present = Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
    step("chromium + chromium-driver (apt)", present, || {
        let is_root = output("id", &["-u"]).is_some_and(|u| u.trim() == "0");
        let apt = |args: &[&str]| {
            let mut c = if is_root {
                cmd("apt-get")
            } else {
                let mut s = cmd("sudo");
                s.arg("apt-get");
                s
            };
            c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            run(c)
        };
        apt(&["update", "-qq"])?;
        apt(&["install", "-y", "-qq", "--no-install-recommends", "chromium", "chromium-driver"])
    })
}

/// Builds the release bundle into `dist_dir` with Trunk + wasm-opt, never downloading tools.
fn build_bundle(dist_dir: &str, features: Option<&str>, public_url: &str) -> Res {
    say(&format!("building the release bundle → {dist_dir}"));
    let mut fetch = cmd("cargo");
    fetch.args(["fetch", "--quiet"]);
    run(fetch)?;
    let mut c = cmd("trunk");
    // Offline: a tool version mismatch is an error instead of a GitHub download (the crates
    // were fetched just above); no self-update check against the registry's web API.
    c.args(["build", "--release", "--dist", dist_dir, "--public-url", public_url]).env("TRUNK_OFFLINE", "true").env("TRUNK_SKIP_VERSION_CHECK", "true");
    // `split`: the release bundle's lazily loaded chunks (see split_bundle).
    let features = features.map_or("split".to_string(), |f| format!("split,{f}"));
    c.args(["--features", &features]);
    let t = Instant::now();
    run(c)?;
    split_bundle(&root().join(dist_dir))?;
    say(&format!("bundle built in {:.0} s", t.elapsed().as_secs_f64()));
    Ok(())
}

/// Minifies a JS module or a stylesheet with esbuild (npm, pinned; see setup_build_tools).
fn esbuild(from: &Path, to: &Path) -> Res {
    let mut c = cmd(tools_bin().join("esbuild").to_str().expect("utf-8 path"));
    c.arg(from).args(["--minify", "--log-level=warning", "--allow-overwrite"]).arg(format!("--outfile={}", to.display()));
    if from.extension().is_some_and(|e| e == "js") {
        c.arg("--format=esm");
    }
    run(c)
}

/// Replaces Trunk's stylesheet links (one per component) with one minified, content-hashed
/// stylesheet holding them all, in the same order.
fn bundle_css(dist: &Path, index: &mut String) -> Res {
    let mut css = String::new();
    let mut first = None;
    while let Some(at) = index.find("<link rel=\"stylesheet\"") {
        let end = at + index[at..].find('>').ok_or("unterminated <link>")? + 1;
        let tag = index[at..end].to_string();
        let href = tag.split("href=\"./").nth(1).and_then(|r| r.split('"').next()).ok_or_else(|| format!("no href in {tag}"))?.to_string();
        css.push_str(&std::fs::read_to_string(dist.join(&href)).map_err(|e| format!("{href}: {e}"))?);
        css.push('\n');
        std::fs::remove_file(dist.join(&href)).map_err(|e| e.to_string())?;
        // Keep the line's indentation and newline tidy: drop the tag and the whitespace after it.
        let after = index[end..].len() - index[end..].trim_start().len();
        index.replace_range(at..end + after, "");
        first.get_or_insert(at);
    }
    let Some(at) = first else { return Ok(()) };
    let joined = env::temp_dir().join(format!("hermes-pane-style-{}.css", std::process::id()));
    std::fs::write(&joined, css).map_err(|e| e.to_string())?;
    let tmp = dist.join("style.min.css");
    esbuild(&joined, &tmp)?;
    let _ = std::fs::remove_file(&joined);
    let digest = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(std::fs::read(&tmp).map_err(|e| e.to_string())?);
        d.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
    };
    let name = format!("style-{digest}.css");
    std::fs::rename(&tmp, dist.join(&name)).map_err(|e| e.to_string())?;
    index.insert_str(at, &format!("<link rel=\"stylesheet\" href=\"./{name}\" integrity=\"{}\"/>\n", sri(&dist.join(&name))?));
    Ok(())
}

/// A subresource-integrity value (`sha384-…`) of a file.
fn sri(path: &Path) -> Result<String, String> {
    use base64::Engine;
    use sha2::Digest;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(&bytes))))
}

/// Finishes the bundle Trunk just built with the `split` feature. Cuts the lazily loaded chunks
/// (see `src/lazy.rs`) out of the wasm: wasm-split on cargo's output (linked with relocations),
/// wasm-bindgen on the main part, wasm-opt on every part (Trunk's own wasm-opt is off in
/// `index.html`: it would only optimise a file replaced here). The main part keeps Trunk's two
/// file names; the loader and the chunks carry Trunk's content hash in theirs (immutable
/// caching). Then minifies the JS, joins the stylesheets, and fixes the digests in `index.html`.
fn split_bundle(dist: &Path) -> Res {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let js = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("hermes-pane-") && n.ends_with(".js"))
        .ok_or_else(|| format!("no hermes-pane-<hash>.js in {}", dist.display()))?;
    let stem = js.trim_end_matches(".js").to_string();
    let hash = stem.rsplit('-').next().unwrap_or_default().to_string();
    let target = env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let input = std::fs::read(target.join("wasm32-unknown-unknown/release/hermes-pane.wasm")).map_err(|e| format!("cargo's wasm: {e}"))?;
    let work = env::temp_dir().join(format!("hermes-pane-split-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (link, main_js, main_wasm) = (format!("./split-{hash}.js"), format!("./{stem}.js"), work.join("main.wasm"));
    let split = wasm_split_cli_support::transform({
        let mut o = wasm_split_cli_support::Options::new(&input);
        o.output_dir = &work;
        o.main_out_path = &main_wasm;
        o.link_name = &link;
        o.main_module = &main_js;
        o
    })
    .map_err(|e| format!("wasm-split: {e:#}"))?;
    if split.split_modules.is_empty() {
        return Err("wasm-split found no split point: was the bundle built with the `split` feature?".into());
    }
    let mut c = cmd("wasm-bindgen");
    c.args(["--target", "web", "--weak-refs", "--keep-lld-exports", "--no-typescript", "--out-name", &stem, "--out-dir"]).arg(dist).arg(&main_wasm);
    run(c)?;
    let opt = |from: &Path, to: &Path| {
        let mut c = cmd(tools_bin().join("wasm-opt").to_str().expect("utf-8 path"));
        c.arg("-Oz").arg(from).arg("-o").arg(to);
        run(c)
    };
    let bg = dist.join(format!("{stem}_bg.wasm"));
    opt(&bg, &bg)?;
    let mut loader = std::fs::read_to_string(work.join(&link)).map_err(|e| format!("wasm-split's loader: {e}"))?;
    // The loader compiles chunks with `instantiateStreaming` only, which refuses a `.wasm` not
    // served as `application/wasm` — Hermes' own /static/ handler serves it as text/plain. Fall
    // back to compiling the bytes then (as wasm-bindgen's glue does for the main module), and
    // name an HTTP error rather than failing on its body.
    const STREAMING: &str = "WebAssembly.instantiateStreaming(src, imports)";
    if !loader.contains(STREAMING) {
        return Err(format!("wasm-split's loader changed: no `{STREAMING}` to give a fallback"));
    }
    loader = loader.replace(STREAMING, "instantiateChunk(src, imports)");
    loader.push_str(
        "async function instantiateChunk(src, imports) {\n\
         \x20   const r = await src;\n\
         \x20   if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status}`);\n\
         \x20   if ((r.headers.get('Content-Type') || '').startsWith('application/wasm')) return WebAssembly.instantiateStreaming(r, imports);\n\
         \x20   return WebAssembly.instantiate(await r.arrayBuffer(), imports);\n\
         }\n",
    );
    for chunk in &split.split_modules {
        let name = chunk.file_stem().and_then(|n| n.to_str()).ok_or("chunk name")?;
        let hashed = format!("{name}-{hash}.wasm");
        loader = loader.replace(&format!("\"./{name}.wasm\""), &format!("\"./{hashed}\""));
        opt(chunk, &dist.join(&hashed))?;
    }
    std::fs::write(dist.join(&link), loader).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    // Minified JS (wasm-bindgen's glue is written for reading); the stylesheets, one file per
    // component in the source, as one minified file (fewer requests, and brotli does better on
    // one text than on nine).
    for js in [format!("{stem}.js"), link.trim_start_matches("./").to_string(), "boot.js".to_string()] {
        esbuild(&dist.join(&js), &dist.join(&js))?;
    }
    let index_path = dist.join("index.html");
    let mut index = std::fs::read_to_string(&index_path).map_err(|e| e.to_string())?;
    bundle_css(dist, &mut index)?;
    // Trunk's preload tags pin the old files' digests: give them the new ones, and preload the
    // loader (the main module imports it) in parallel too.
    for file in [format!("{stem}.js"), format!("{stem}_bg.wasm")] {
        let at = index.find(&format!("href=\"./{file}\"")).ok_or_else(|| format!("index.html does not preload {file}"))?;
        let tag_end = at + index[at..].find('>').ok_or("unterminated preload tag")?;
        let start =
            at + index[at..tag_end].find("integrity=\"").ok_or_else(|| format!("the preload of {file} has no integrity attribute"))? + "integrity=\"".len();
        let end = start + index[start..].find('"').ok_or("unterminated integrity")?;
        index.replace_range(start..end, &sri(&dist.join(&file))?);
    }
    let tag = format!("<link rel=\"modulepreload\" href=\"{link}\" crossorigin=\"anonymous\" integrity=\"{}\">\n", sri(&dist.join(&link))?);
    let at = index.find("</head>").ok_or("index.html has no </head>")?;
    index.insert_str(at, &tag);
    std::fs::write(&index_path, index).map_err(|e| e.to_string())?;
    say(&format!("split the wasm: {} lazily loaded chunk(s)", split.split_modules.len()));
    Ok(())
}

/// `build [--features F] [--base /static/pane/]`: the release bundle in `dist/`, its `<base href>`
/// set for where it will be served from (pane-server rewrites it itself).
fn task_build(args: &[String]) -> Res {
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).map(String::as_str);
    build_bundle("dist", value("--features"), "./")?;
    if let Some(base) = value("--base") {
        let path = root().join("dist/index.html");
        let html = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
        std::fs::write(&path, html.replacen("<base href=\"/\"", &format!("<base href=\"{base}\""), 1)).map_err(|e| e.to_string())?;
        say(&format!("dist/index.html: base set to {base}"));
    }
    Ok(())
}

fn build_server() -> Res {
    let mut c = cmd("cargo");
    c.args(["build", "--profile", "native-release", "-p", "pane-server"]);
    run(c)
}

fn server_bin() -> PathBuf {
    root().join("target/native-release/pane-server")
}

/// A stand-in server for the in-browser tests, killed on drop.
struct StandIn {
    child: std::process::Child,
    url: String,
}

impl StandIn {
    fn start(extra: &[&str]) -> Result<StandIn, String> {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let data = std::env::temp_dir().join(format!("hermes-pane-browser-tests-{}", std::process::id()));
        let mut child = cmd(server_bin().to_str().expect("utf-8 path"))
            .args(["--addr", &format!("127.0.0.1:{port}"), "--data-dir", data.to_str().expect("utf-8"), "--dist", "target/no-dist", "--faults"])
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
        Ok(StandIn { child, url: format!("http://127.0.0.1:{port}/") })
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let hermes = hermes::start(&install, &webui, &dir.join("instance"), &model, None, "http://127.0.0.1:8080")?;
    say(&format!("Hermes WebUI (scripted model) at {} — its own UI at /, the pane also at /static/pane/index.html", hermes.url));
    c.args(["--backend", &hermes.url]).args(server_args);
    run(c)
}

fn task_test(args: &[String]) -> Res {
    let started = Instant::now();
    setup_build_tools()?;
    setup_browser()?;
    let only = args.first().map(String::as_str).filter(|a| !a.starts_with("--"));
    in_scratch("tests", || test_phases(only, args))?;
    say(&format!("all tests passed in {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Runs `f` with every temporary file of its processes (stand-in data dirs, Chromium profiles,
/// chromedriver's own) under one directory: removed when `f` succeeds, kept for a look when not.
fn in_scratch(what: &str, f: impl FnOnce() -> Res) -> Res {
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
        Err(_) => say(&format!("temporary files of this run are kept in {}", scratch.display())),
    }
    result
}

/// The password of the real backend's password-mode instance in the `real` phase.
const REAL_PASSWORD: &str = "pane-test-secret";

fn test_phases(only: Option<&str>, args: &[String]) -> Res {
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
        let mut c = cmd("cargo");
        c.args(["clippy", "--quiet", "-p", "pane-core", "-p", "pane-server", "-p", "pane-e2e", "-p", "xtask", "--all-targets", "--", "-D", "warnings"]);
        run(c)?;
        let mut c = cmd("cargo");
        c.args(["clippy", "--quiet", "-p", "hermes-pane", "--target", "wasm32-unknown-unknown", "--all-targets", "--", "-D", "warnings"]);
        run(c)?;
        // The release bundle's code paths (`split`: the lazily loaded chunks; `test-hooks`).
        let mut c = cmd("cargo");
        c.args(["clippy", "--quiet", "-p", "hermes-pane", "--target", "wasm32-unknown-unknown", "--all-targets", "--all-features", "--", "-D", "warnings"]);
        run(c)
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
        c.args(["test", "-p", "hermes-pane", "--target", "wasm32-unknown-unknown"])
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
        c.args(["test", "-p", "pane-e2e", "--lib", "--test", "e2e", "--", "--test-threads=1"])
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
        let (_model, model) = hermes::start_model(&root().join("target/native-release/pane-model"))?;
        let mount = "/static/pane/";
        // `test real --only NAME`: just the tests whose name contains NAME, on one set of
        // instances (for working on one scenario).
        let only: Option<&str> = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(String::as_str);
        let groups: Vec<(&str, Vec<&str>)> = match only {
            Some(f) => vec![("only", vec![f])],
            None => vec![("proxy", vec!["::proxy", "trunk_serve"]), ("embedded", vec!["::embedded"])],
        };
        for (embedding, filters) in groups {
            let scratch = env::temp_dir().join(format!("hermes-{embedding}"));
            let webui = hermes::copy_webui(&install, &scratch, &root().join("target/e2e-dist"), mount)?;
            // `trunk serve` (README mode c, on Trunk.toml's port 8080) proxies with the backend's
            // host: its page's origin is allowed as the README says to allow it.
            let open = hermes::start(&install, &webui, &scratch.join("open"), &model, None, "http://127.0.0.1:8080")?;
            let locked = hermes::start(&install, &webui, &scratch.join("password"), &model, Some(REAL_PASSWORD), "")?;
            say(&format!("real backend, {embedding}: the scenarios"));
            let mut c = cmd("cargo");
            c.args(["test", "-p", "pane-e2e", "--test", "real", "--", "--test-threads=1"])
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
                say(&format!("Hermes WebUI logs: {} and {}", open.log.display(), locked.log.display()));
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

fn task_bench(args: &[String]) -> Res {
    setup_build_tools()?;
    setup_browser()?;
    build_bundle("target/bench-dist", Some("test-hooks"), "./")?;
    build_bundle("dist", None, "./")?;
    build_server()?;
    let mut c = cmd("cargo");
    c.args(["run", "--profile", "native-release", "-p", "pane-e2e", "--bin", "pane-bench", "--"])
        .args(args)
        .env("PANE_DIST", root().join("target/bench-dist"))
        .env("PANE_SHIP_DIST", root().join("dist"))
        .env("PANE_SERVER_BIN", server_bin());
    in_scratch("bench", || run(c))
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
                "usage: cargo xtask <task>\n\n  run [server args]   build the pane and serve it with the stand-in backend\n                      (e.g. `-- --backend http://127.0.0.1:8787` to use a real Hermes WebUI)\n  test [lint|native|browser|e2e|real] [--hermes DIR] [--only NAME]
                      run every check and test (or one phase; `real` runs the browser
                      scenarios against the real Hermes WebUI, `--only` some of them)\n  bench               measure the pane in headless Chromium, write BENCHMARKS data\n  setup               install the tools only\n  build [--features F] [--base PATH]  build the release bundle into dist/"
            );
            return if task == "help" { ExitCode::SUCCESS } else { ExitCode::FAILURE };
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
