//! `pane-server`: serves the hermes-pane bundle with a stand-in Hermes WebUI backend (default),
//! or in front of a real one (`--backend`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Serve the hermes-pane (and a stand-in Hermes WebUI backend, or a proxy to a real one).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Where sessions, journals and uploads are kept (demo mode).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The pane's built bundle (Trunk's dist/).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Where the pane is mounted. Default: `/` in demo mode, `/pane/` in proxy mode.
    #[arg(long)]
    mount: Option<String>,
    /// Proxy to a real Hermes WebUI at this URL instead of the stand-in
    /// (e.g. http://127.0.0.1:8787).
    #[arg(long)]
    backend: Option<String>,
    /// Enable fault injection and connection stats (`/api/__faults`, `/api/__stats`) for tests.
    #[arg(long)]
    faults: bool,
    /// Password mode (as HERMES_WEBUI_PASSWORD upstream): login page, cookie, CSRF token.
    #[arg(long, env = "PANE_PASSWORD")]
    password: Option<String>,
    /// Origins (`http://host:port`, comma-separated) whose POSTs the stand-in's same-origin gate
    /// also accepts, as upstream's variable of the same name: e.g. `http://127.0.0.1:8080` for
    /// `trunk serve`, whose proxy sends this server's host, not the page's.
    #[arg(long, env = "HERMES_WEBUI_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Upload size limit in MB (larger uploads get 413).
    #[arg(long, default_value_t = 20)]
    max_upload_mb: usize,
    /// Test only (requires --faults): allow cross-origin calls from the in-browser test runner.
    #[arg(long, requires = "faults")]
    test_cors: bool,
    /// Test only (requires --faults): serve `.wasm` as text/plain, as Hermes WebUI's `/static/`
    /// handler does, to check the pane still starts and loads its chunks there.
    #[arg(long, requires = "faults")]
    wasm_as_text: bool,
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("hermes-pane/demo")
}

fn normalize_mount(m: &str) -> String {
    let t = m.trim().trim_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        format!("/{t}/")
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let proxy = args.backend.is_some();
    let mount =
        normalize_mount(
            args.mount
                .as_deref()
                .unwrap_or(if proxy { "/pane/" } else { "/" }),
        );
    if proxy && mount == "/" {
        eprintln!(
            "pane-server: in proxy mode the backend owns `/` (its app shell, \
             login and CSRF token); mount the pane elsewhere, e.g. --mount /pane/"
        );
        return std::process::ExitCode::FAILURE;
    }
    let config = pane_server::Config {
        addr: args.addr,
        data_dir: args.data_dir.unwrap_or_else(default_data_dir),
        dist: Some(args.dist.clone()),
        mount: mount.clone(),
        backend: args.backend.clone(),
        faults: args.faults,
        password: args.password,
        allowed_origins: args.allowed_origins,
        max_upload_bytes: args.max_upload_mb * 1024 * 1024,
        test_cors: args.test_cors,
        wasm_as_text: args.wasm_as_text,
    };
    if !args.dist.join("index.html").exists() {
        eprintln!(
            "pane-server: warning: {} has no index.html (build the pane with `cargo xtask build`)",
            args.dist.display()
        );
    }
    let running = match pane_server::start(config.clone()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pane-server: cannot start on {}: {e}", args.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    match &args.backend {
        Some(b) => println!("pane-server: proxying to Hermes WebUI at {b}"),
        None => println!(
            "pane-server: stand-in Hermes backend, data in {}",
            config.data_dir.display()
        ),
    }
    println!("pane-server: serving the pane at {}", running.url(&mount));
    let _ = running.task.await;
    std::process::ExitCode::SUCCESS
}
