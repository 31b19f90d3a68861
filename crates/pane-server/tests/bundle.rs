//! Serving the built bundle: MIME types, precompression, caching, CSP, SPA fallback, mount.

mod common;

use std::io::Read;

use common::*;

fn dist() -> std::path::PathBuf {
    let d = temp_dir("dist");
    std::fs::write(
        d.join("index.html"),
        "<!doctype html><html><head><base href=\"/\"><link rel=\"modulepreload\" \
         href=\"./hermes-pane-0123456789abcdef.js\"></head><body></body></html>",
    )
    .unwrap();
    let wasm: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.join("hermes-pane-0123456789abcdef_bg.wasm"), wasm).unwrap();
    std::fs::write(
        d.join("hermes-pane-0123456789abcdef.js"),
        "export default function init() {}\n".repeat(100),
    )
    .unwrap();
    std::fs::write(d.join("boot.js"), "// boot\n".repeat(100)).unwrap();
    d
}

#[tokio::test]
async fn bundle_is_served_with_mime_precompression_caching_and_csp() {
    let d = dist();
    let mut cfg = pane_server::Config::for_tests(temp_dir("bundle"));
    cfg.dist = Some(d.clone());
    cfg.mount = "/pane/".into();
    let (base, _s) = start_with(cfg).await;

    let index = get(&format!("{base}/pane/")).await;
    let csp = index.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("'wasm-unsafe-eval'"));
    assert!(
        !csp.contains("'unsafe-eval'") && !csp.contains("'unsafe-inline'"),
        "{csp}"
    );
    assert!(
        index.text.contains("<base href=\"/pane/\">"),
        "base rewritten to the mount"
    );
    assert_eq!(index.headers["cache-control"], "no-cache");

    let raw = std::fs::read(d.join("hermes-pane-0123456789abcdef_bg.wasm")).unwrap();
    let url = format!("{base}/pane/hermes-pane-0123456789abcdef_bg.wasm");
    let br = request(
        "GET",
        &url,
        None,
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(br.headers["content-type"], "application/wasm");
    assert_eq!(br.headers["content-encoding"], "br");
    assert_eq!(
        br.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let resp = client()
        .request(
            hyper::Request::get(&url)
                .header("accept-encoding", "br")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    use http_body_util::BodyExt;
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let mut out = Vec::new();
    brotli::Decompressor::new(&bytes[..], 4096)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, raw, "the brotli variant decodes to the file");
    let gz = request("GET", &url, None, &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let plain = request("GET", &url, None, &[]).await;
    assert!(plain.headers.get("content-encoding").is_none());
    let etag = plain.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(
        request("GET", &url, None, &[("if-none-match", &etag)])
            .await
            .status,
        304
    );

    let boot = get(&format!("{base}/pane/boot.js")).await;
    assert_eq!(
        boot.headers["cache-control"], "no-cache",
        "unhashed assets revalidate"
    );
    assert!(boot.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));

    let deep = get(&format!("{base}/pane/session/abc123")).await;
    assert!(
        deep.text.contains("<base href=\"/pane/\">"),
        "client routes get the app"
    );
    assert_eq!(get(&format!("{base}/pane/missing.js")).await.status, 404);
    assert_eq!(
        get(&format!("{base}/api/sessions")).await.status,
        200,
        "the API stays at the root"
    );
}

#[tokio::test]
async fn bundle_at_the_root_leaves_the_api_alone_and_embeds_the_csrf_token_as_data() {
    let d = dist();
    let mut cfg = pane_server::Config::for_tests(temp_dir("bundle-root"));
    cfg.dist = Some(d);
    cfg.password = Some("pw".into());
    let (base, _s) = start_with(cfg).await;
    let index = get(&format!("{base}/")).await;
    assert_eq!(
        index.status, 200,
        "the pane itself loads; its API calls get 401 and go to the login"
    );
    assert!(
        index
            .text
            .contains("<script type=\"application/json\" id=\"hermes-config\">"),
        "a data block, never executed"
    );
    assert_eq!(get(&format!("{base}/api/sessions")).await.status, 401);
}

#[tokio::test]
async fn the_page_comes_compressed_when_the_browser_accepts_brotli_token_and_all() {
    let mut cfg = pane_server::Config::for_tests(temp_dir("bundle-br"));
    cfg.dist = Some(dist());
    cfg.password = Some("pw".into());
    let (base, _s) = start_with(cfg).await;
    let plain = get(&format!("{base}/")).await;
    assert!(plain.headers.get("content-encoding").is_none());
    assert!(
        plain.text.contains("id=\"hermes-config\""),
        "{}",
        plain.text
    );
    let resp = client()
        .request(
            hyper::Request::get(format!("{base}/"))
                .header("accept-encoding", "gzip, deflate, br, zstd")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "br");
    assert_eq!(resp.headers()["vary"], "Accept-Encoding");
    assert!(resp.headers().contains_key("content-security-policy"));
    use http_body_util::BodyExt;
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let mut out = String::new();
    brotli::Decompressor::new(&bytes[..], 4096)
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(
        out, plain.text,
        "the same page, the token's data block included"
    );
}
