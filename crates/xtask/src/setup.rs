//! Installing the tools, each step skipped when it is already there.

use std::path::Path;
use std::process::Command;

use crate::{cmd, output, root, run, step, tools_bin, Res};

pub(crate) const TRUNK_VERSION: &str = "0.21.14";
pub(crate) const BINARYEN_VERSION: &str = "132.0.0";
pub(crate) const WASM_OPT_VERSION: &str = "version 132";
pub(crate) const ESBUILD_VERSION: &str = "0.24.2";
pub(crate) const LEPTOSFMT_VERSION: &str = "0.1.33";
/// The accessibility checker the browser suites inject into the page.
pub(crate) const AXE_CORE_VERSION: &str = "4.14.1";

/// The wasm-bindgen version Cargo.lock pins (the CLI must match it exactly).
pub(crate) fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
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

pub(crate) fn setup_build_tools() -> Res {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    step(
        "rust target wasm32-unknown-unknown",
        targets
            .lines()
            .any(|l| l.trim() == "wasm32-unknown-unknown"),
        || {
            let mut c = cmd("rustup");
            c.args(["target", "add", "wasm32-unknown-unknown"]);
            run(c)
        },
    )?;
    let components = output("rustup", &["component", "list", "--installed"]).unwrap_or_default();
    let has = |c: &str| components.lines().any(|l| l.starts_with(c));
    step(
        "rust components clippy, rustfmt",
        has("clippy") && has("rustfmt"),
        || {
            let mut c = cmd("rustup");
            c.args(["component", "add", "clippy", "rustfmt"]);
            run(c)
        },
    )?;
    let have = output("leptosfmt", &["--version"]).unwrap_or_default();
    step(
        &format!("leptosfmt {LEPTOSFMT_VERSION}"),
        have.contains(LEPTOSFMT_VERSION),
        || {
            // Formats the `view!` bodies rustfmt leaves alone (checked by the lint phase).
            let mut c = cmd("cargo");
            c.args([
                "install",
                "--locked",
                "leptosfmt",
                "--version",
                LEPTOSFMT_VERSION,
                "--force",
            ]);
            run(c)
        },
    )?;
    let wb = locked_wasm_bindgen()?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    step(
        &format!("wasm-bindgen-cli {wb}"),
        have.trim() == format!("wasm-bindgen {wb}"),
        || {
            // Not --locked: the CLI's own lockfile names a crate version the registry index lacks.
            let mut c = cmd("cargo");
            c.args(["install", "wasm-bindgen-cli", "--version", &wb, "--force"]);
            run(c)
        },
    )?;
    let have = output("trunk", &["--version"]).unwrap_or_default();
    step(
        &format!("trunk {TRUNK_VERSION}"),
        have.contains(TRUNK_VERSION),
        || {
            // trunk 0.22 needs a newer rustc. Built unoptimised (no debug info): 4 min instead of
            // 11, and a bundle build takes as long with it (46 s vs 43 s, measured) — the time is
            // cargo's and wasm-opt's, not Trunk's.
            let mut c = cmd("cargo");
            c.args([
                "install",
                "--locked",
                "--debug",
                "trunk",
                "--version",
                TRUNK_VERSION,
                "--force",
            ])
            .env("CARGO_PROFILE_DEV_DEBUG", "0");
            run(c)
        },
    )?;
    let wasm_opt = tools_bin().join("wasm-opt");
    let have = Command::new(&wasm_opt)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    step(
        &format!("wasm-opt (npm binaryen@{BINARYEN_VERSION})"),
        have.contains(WASM_OPT_VERSION),
        || {
            // Debian's binaryen (wasm-opt 108) silently breaks wasm-bindgen 0.2.130 output:
            // never use it.
            npm_install(&format!("binaryen@{BINARYEN_VERSION}"))
        },
    )?;
    let esbuild = tools_bin().join("esbuild");
    let have = Command::new(&esbuild)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    step(
        &format!("esbuild {ESBUILD_VERSION} (npm)"),
        have == ESBUILD_VERSION,
        || {
            // Minifies the bundle's JS and CSS (see split_bundle).
            npm_install(&format!("esbuild@{ESBUILD_VERSION}"))
        },
    )?;
    Ok(())
}

/// Installs a pinned npm package under `.tools/` (its binaries in `tools_bin()`).
pub(crate) fn npm_install(package: &str) -> Res {
    std::fs::create_dir_all(root().join(".tools")).map_err(|e| e.to_string())?;
    let mut c = cmd("npm");
    c.args([
        "install",
        "--prefix",
        ".tools",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        package,
    ]);
    run(c)
}

/// axe-core (npm), which the end-to-end suites inject to check the pane's accessibility.
fn setup_axe() -> Res {
    let manifest = root().join(".tools/node_modules/axe-core/package.json");
    let have = std::fs::read_to_string(&manifest).unwrap_or_default();
    step(
        &format!("axe-core {AXE_CORE_VERSION} (npm)"),
        have.contains(&format!("\"version\": \"{AXE_CORE_VERSION}\"")),
        || npm_install(&format!("axe-core@{AXE_CORE_VERSION}")),
    )
}

pub(crate) fn setup_browser() -> Res {
    setup_chromium()?;
    setup_axe()
}

fn setup_chromium() -> Res {
    let present =
        Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
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
        apt(&[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])
    })
}
