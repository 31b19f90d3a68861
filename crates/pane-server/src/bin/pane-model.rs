//! `pane-model`: the scripted OpenAI-compatible model the real Hermes WebUI uses as its
//! provider in tests (see `pane_server::openai`).

use clap::Parser;

/// Serve the scripted model (`GET /v1/models`, `POST /v1/chat/completions`).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0: any free port; the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: std::net::SocketAddr,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pane-model: cannot listen on {}: {e}", args.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().expect("bound address");
    println!("pane-model: listening on http://{addr}/v1");
    match axum::serve(listener, pane_server::openai::router()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pane-model: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
