//! A development aid: opens a URL in headless Chromium, waits, prints the console and saves a
//! screenshot. `cargo run -p pane-e2e --bin pane-shot -- URL [seconds] [out.png] [js-to-run]`

use std::time::Duration;

use pane_e2e::Browser;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080/".into());
    let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "/tmp/pane-shot.png".into());
    let (b, driver) = Browser::start().await;
    b.goto(&url).await;
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    if let Some(js) = args.get(3) {
        println!("js: {}", b.js(js).await);
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }
    for l in b.console().await {
        println!("console: {l}");
    }
    b.screenshot(std::path::Path::new(&out)).await;
    println!("screenshot: {out}");
    let _ = b.client.close().await;
    drop(driver);
}
