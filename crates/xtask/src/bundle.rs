//! The release bundle: Trunk, then the split step (wasm-split, wasm-bindgen, wasm-opt, esbuild,
//! subresource-integrity digests).

use std::env;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{cmd, root, run, say, tools_bin, Res};

/// Flags added to `.cargo/config.toml`'s for the wasm build (Cargo joins a target's
/// `rustflags` from the environment with the config's): the crate registry's source directories
/// remapped to their crate-relative names. Every panic location keeps its file's path in the
/// wasm; the registry's absolute prefix (`$CARGO_HOME/registry/src/index.crates.io-<hash>/`)
/// made those strings depend on the machine, and cost bytes in the initial part for nothing.
fn wasm_remap_flags() -> String {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(Ok(dirs)) = cargo_home.map(|h| std::fs::read_dir(h.join("registry").join("src")))
    else {
        return String::new();
    };
    let mut dirs: Vec<String> = dirs
        .flatten()
        .map(|d| d.path().display().to_string())
        // The variable is split at whitespace: a path with a space is left as it is.
        .filter(|d| !d.contains(char::is_whitespace))
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|d| format!("--remap-path-prefix={d}/="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the release bundle into `dist_dir` with Trunk + wasm-opt, never downloading tools.
pub(crate) fn build_bundle(dist_dir: &str, features: Option<&str>, public_url: &str) -> Res {
    say(&format!("building the release bundle → {dist_dir}"));
    let mut fetch = cmd("cargo");
    fetch.args(["fetch", "--quiet"]);
    run(fetch)?;
    let mut c = cmd("trunk");
    // Offline: a tool version mismatch is an error instead of a GitHub download (the crates
    // were fetched just above); no self-update check against the registry's web API.
    c.args([
        "build",
        "--release",
        "--dist",
        dist_dir,
        "--public-url",
        public_url,
    ])
    .env("TRUNK_OFFLINE", "true")
    .env("TRUNK_SKIP_VERSION_CHECK", "true")
    .env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        wasm_remap_flags(),
    );
    // `split`: the release bundle's lazily loaded chunks (see split_bundle).
    let features = features.map_or("split".to_string(), |f| format!("split,{f}"));
    c.args(["--features", &features]);
    let t = Instant::now();
    run(c)?;
    split_bundle(&root().join(dist_dir))?;
    say(&format!(
        "bundle built in {:.0} s",
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Minifies a JS module or a stylesheet with esbuild (npm, pinned; see setup_build_tools).
pub(crate) fn esbuild(from: &Path, to: &Path) -> Res {
    let mut c = cmd(tools_bin().join("esbuild").to_str().expect("utf-8 path"));
    c.arg(from)
        .args(["--minify", "--log-level=warning", "--allow-overwrite"])
        .arg(format!("--outfile={}", to.display()));
    if from.extension().is_some_and(|e| e == "js") {
        c.arg("--format=esm");
    }
    run(c)
}

/// Replaces Trunk's stylesheet links (one per component) with one minified, content-hashed
/// stylesheet holding them all, in the same order.
pub(crate) fn bundle_css(dist: &Path, index: &mut String) -> Res {
    let mut css = String::new();
    let mut first = None;
    while let Some(at) = index.find("<link rel=\"stylesheet\"") {
        let end = at + index[at..].find('>').ok_or("unterminated <link>")? + 1;
        let tag = index[at..end].to_string();
        let href = tag
            .split("href=\"./")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .ok_or_else(|| format!("no href in {tag}"))?
            .to_string();
        css.push_str(
            &std::fs::read_to_string(dist.join(&href)).map_err(|e| format!("{href}: {e}"))?,
        );
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
        d.iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let name = format!("style-{digest}.css");
    std::fs::rename(&tmp, dist.join(&name)).map_err(|e| e.to_string())?;
    index.insert_str(
        at,
        &format!(
            "<link rel=\"stylesheet\" href=\"./{name}\" integrity=\"{}\"/>\n",
            sri(&dist.join(&name))?
        ),
    );
    Ok(())
}

/// A subresource-integrity value (`sha384-…`) of a file.
pub(crate) fn sri(path: &Path) -> Result<String, String> {
    use base64::Engine;
    use sha2::Digest;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(&bytes))
    ))
}

/// Finishes the bundle Trunk just built with the `split` feature. Cuts the lazily loaded chunks
/// (see `src/lazy.rs`) out of the wasm: wasm-split on cargo's output (linked with relocations),
/// wasm-bindgen on the main part, wasm-opt on every part (Trunk's own wasm-opt is off in
/// `index.html`: it would only optimise a file replaced here). The main part keeps Trunk's two
/// file names; the loader and the chunks carry Trunk's content hash in theirs (immutable
/// caching). Then minifies the JS, joins the stylesheets, and fixes the digests in `index.html`.
pub(crate) fn split_bundle(dist: &Path) -> Res {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let js = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("hermes-pane-") && n.ends_with(".js"))
        .ok_or_else(|| format!("no hermes-pane-<hash>.js in {}", dist.display()))?;
    let stem = js.trim_end_matches(".js").to_string();
    let hash = stem.rsplit('-').next().unwrap_or_default().to_string();
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let input = std::fs::read(target.join("wasm32-unknown-unknown/release/hermes-pane.wasm"))
        .map_err(|e| format!("cargo's wasm: {e}"))?;
    let work = env::temp_dir().join(format!("hermes-pane-split-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (link, main_js, main_wasm) = (
        format!("./split-{hash}.js"),
        format!("./{stem}.js"),
        work.join("main.wasm"),
    );
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
        return Err(
            "wasm-split found no split point: was the bundle built with the `split` feature?"
                .into(),
        );
    }
    let mut c = cmd("wasm-bindgen");
    c.args([
        "--target",
        "web",
        "--weak-refs",
        "--keep-lld-exports",
        "--no-typescript",
        "--out-name",
        &stem,
        "--out-dir",
    ])
    .arg(dist)
    .arg(&main_wasm);
    run(c)?;
    let opt = |from: &Path, to: &Path| {
        let mut c = cmd(tools_bin().join("wasm-opt").to_str().expect("utf-8 path"));
        // The `producers` and `target_features` sections are for tools; no browser reads them.
        c.args(["-Oz", "--strip-producers", "--strip-target-features"]);
        // `PANE_WASM_NAMES=1`: keep the functions' names (a profile then reads them; the bundle
        // grows by its name section — never for the size figures).
        if env::var_os("PANE_WASM_NAMES").is_some() {
            c.arg("-g");
        }
        c.arg(from).arg("-o").arg(to);
        run(c)
    };
    let bg = dist.join(format!("{stem}_bg.wasm"));
    opt(&bg, &bg)?;
    let mut loader = std::fs::read_to_string(work.join(&link))
        .map_err(|e| format!("wasm-split's loader: {e}"))?;
    // The loader compiles chunks with `instantiateStreaming` only, which refuses a `.wasm` not
    // served as `application/wasm` — Hermes' own /static/ handler serves it as text/plain. Then
    // the body is handed on under the right type, so the chunk still compiles as it downloads
    // (as `boot.js` does for the main module); an HTTP error is named rather than compiled.
    const STREAMING: &str = "WebAssembly.instantiateStreaming(src, imports)";
    if !loader.contains(STREAMING) {
        return Err(format!(
            "wasm-split's loader changed: no `{STREAMING}` to give a fallback"
        ));
    }
    loader = loader.replace(STREAMING, "instantiateChunk(src, imports)");
    loader.push_str(
        "async function instantiateChunk(src, imports) {\n\
         \x20   const r = await src;\n\
         \x20   if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status}`);\n\
         \x20   const wasm = (r.headers.get('Content-Type') || '').startsWith('application/wasm') \
         ? r : new Response(r.body, { headers: { 'Content-Type': 'application/wasm' } });\n\
         \x20   return WebAssembly.instantiateStreaming(wasm, imports);\n\
         }\n",
    );
    for chunk in &split.split_modules {
        let name = chunk
            .file_stem()
            .and_then(|n| n.to_str())
            .ok_or("chunk name")?;
        let hashed = format!("{name}-{hash}.wasm");
        loader = loader.replace(&format!("\"./{name}.wasm\""), &format!("\"./{hashed}\""));
        opt(chunk, &dist.join(&hashed))?;
    }
    std::fs::write(dist.join(&link), loader).map_err(|e| e.to_string())?;
    // `PANE_SPLIT_KEEP=DIR`: keep the parts as wasm-split cut them, with their names (for size
    // work: `twiggy top DIR/main.wasm`), before wasm-bindgen and wasm-opt.
    if let Some(keep) = env::var_os("PANE_SPLIT_KEEP") {
        let _ = std::fs::remove_dir_all(&keep);
        std::fs::rename(&work, &keep).map_err(|e| format!("PANE_SPLIT_KEEP: {e}"))?;
    }
    let _ = std::fs::remove_dir_all(&work);
    // Minified JS (wasm-bindgen's glue is written for reading); the stylesheets, one file per
    // component in the source, as one minified file (fewer requests, and brotli does better on
    // one text than on nine).
    for js in [
        format!("{stem}.js"),
        link.trim_start_matches("./").to_string(),
        "boot.js".to_string(),
    ] {
        esbuild(&dist.join(&js), &dist.join(&js))?;
    }
    let index_path = dist.join("index.html");
    let mut index = std::fs::read_to_string(&index_path).map_err(|e| e.to_string())?;
    bundle_css(dist, &mut index)?;
    // `boot.js` goes inline (see its head comment): Trunk's module tag for it is taken out, and
    // its data attributes go on the inline script, which is put at the end of the head below.
    let at = index
        .find("<script type=\"module\" src=\"./boot.js\"")
        .ok_or("index.html does not load ./boot.js")?;
    let end = at
        + index[at..]
            .find("</script>")
            .ok_or("unterminated boot tag")?
        + "</script>".len();
    let boot_tag = index[at..end].to_string();
    index.replace_range(at..end, "");
    let attrs = |name: &str| -> Result<String, String> {
        let key = format!("{name}=\"");
        let from = boot_tag
            .find(&key)
            .ok_or(format!("the boot tag has no {name}"))?
            + key.len();
        let to = from + boot_tag[from..].find('"').ok_or("unterminated attribute")?;
        Ok(boot_tag[from..to].to_string())
    };
    let (js, wasm) = (attrs("data-js")?, attrs("data-wasm")?);
    let boot =
        std::fs::read_to_string(dist.join("boot.js")).map_err(|e| format!("boot.js: {e}"))?;
    if boot.contains("</") {
        return Err("boot.js holds `</`: it cannot go inline".into());
    }
    std::fs::remove_file(dist.join("boot.js")).map_err(|e| e.to_string())?;
    // Trunk's preload tags pin the old files' digests: give them the new ones, and preload the
    // loader (the main module imports it) in parallel too.
    for file in [format!("{stem}.js"), format!("{stem}_bg.wasm")] {
        let at = index
            .find(&format!("href=\"./{file}\""))
            .ok_or_else(|| format!("index.html does not preload {file}"))?;
        let tag_end = at + index[at..].find('>').ok_or("unterminated preload tag")?;
        let start = at
            + index[at..tag_end]
                .find("integrity=\"")
                .ok_or_else(|| format!("the preload of {file} has no integrity attribute"))?
            + "integrity=\"".len();
        let end = start + index[start..].find('"').ok_or("unterminated integrity")?;
        index.replace_range(start..end, &sri(&dist.join(&file))?);
    }
    let tag = format!(
        "<link rel=\"modulepreload\" href=\"{link}\" crossorigin=\"anonymous\" integrity=\"{}\">\n",
        sri(&dist.join(&link))?
    );
    let at = index.find("</head>").ok_or("index.html has no </head>")?;
    index.insert_str(at, &tag);
    // The boot script after the preload tags (its `fetch` of the wasm takes their answer) and
    // before the stylesheet (a classic script after a pending stylesheet waits for it).
    let css_at = index
        .find("<link rel=\"stylesheet\"")
        .ok_or("index.html has no stylesheet")?;
    let css_end = css_at + index[css_at..].find('>').ok_or("unterminated <link>")? + 1;
    let css = index[css_at..css_end].to_string();
    index.replace_range(css_at..css_end, "");
    let at = index.find("</head>").ok_or("index.html has no </head>")?;
    index.insert_str(
        at,
        &format!(
            "<script data-js=\"{js}\" data-wasm=\"{wasm}\">{}</script>\n{css}\n",
            boot.trim_end()
        ),
    );
    std::fs::write(&index_path, index).map_err(|e| e.to_string())?;
    say(&format!(
        "split the wasm: {} lazily loaded chunk(s)",
        split.split_modules.len()
    ));
    Ok(())
}

/// `build [--features F] [--base /static/pane/]`: the release bundle in `dist/`, its `<base href>`
/// set for where it will be served from (pane-server rewrites it itself).
pub(crate) fn task_build(args: &[String]) -> Res {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    build_bundle("dist", value("--features"), "./")?;
    if let Some(base) = value("--base") {
        let path = root().join("dist/index.html");
        let html = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let base = if base.ends_with('/') {
            base.to_string()
        } else {
            format!("{base}/")
        };
        std::fs::write(
            &path,
            html.replacen("<base href=\"/\"", &format!("<base href=\"{base}\""), 1),
        )
        .map_err(|e| e.to_string())?;
        say(&format!("dist/index.html: base set to {base}"));
    }
    Ok(())
}
