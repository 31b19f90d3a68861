//! `GET /api/media?path=…&session_id=…&inline=1`: a file the agent named, as upstream serves
//! it (`api/routes.py` `_handle_media`): only from allowed places (`/tmp`, the state
//! directory's workspace), never the backend's own state; raster images inline, audio/video
//! inline with `inline=1`, SVG and everything else as a download.

use super::*;

/// Where the stand-in serves media from: `/tmp` (as upstream) and its own workspace.
fn allowed_roots(app: &App) -> Vec<std::path::PathBuf> {
    let mut roots = vec![std::path::PathBuf::from("/tmp"), std::env::temp_dir()];
    roots.push(app.config.data_dir.join("workspace"));
    roots
        .into_iter()
        .filter_map(|r| r.canonicalize().ok())
        .collect()
}

/// File names never served, wherever they are (upstream's secret basenames).
const SECRETS: &[&str] = &[
    "settings.json",
    "state.db",
    "auth.json",
    "config.yaml",
    ".env",
    "id_rsa",
    "credentials.json",
];

fn mime_of(path: &std::path::Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "ico" => "image/x-icon",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" | "oga" => "audio/ogg",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "pdf" => "application/pdf",
        "txt" | "md" | "log" => "text/plain",
        _ => "application/octet-stream",
    }
}

pub(super) async fn media(
    State(app): AppState,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(raw) = q.get("path").filter(|p| !p.trim().is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "path parameter required");
    };
    let expanded = match raw.strip_prefix("~/") {
        Some(rest) => std::env::var("HOME")
            .map(|h| std::path::Path::new(&h).join(rest))
            .unwrap_or_else(|_| raw.into()),
        None => std::path::PathBuf::from(raw),
    };
    let Ok(path) = expanded.canonicalize() else {
        return err(StatusCode::NOT_FOUND, "not found");
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let state = app.config.data_dir.canonicalize().ok();
    let in_state = state
        .as_ref()
        .is_some_and(|s| path.starts_with(s) && !path.starts_with(s.join("workspace")));
    let allowed = allowed_roots(&app).iter().any(|r| path.starts_with(r));
    if !allowed || in_state || SECRETS.contains(&name.as_str()) {
        return err(StatusCode::FORBIDDEN, "Path not in allowed location");
    }
    let Ok(bytes) = std::fs::read(&path) else {
        return err(StatusCode::NOT_FOUND, "not found");
    };
    let mime = mime_of(&path);
    let inline_wanted = q.get("inline").is_some_and(|v| v == "1");
    let inline = match mime {
        "image/svg+xml" => false,
        m if m.starts_with("image/") => true,
        m if m.starts_with("audio/") || m.starts_with("video/") || m == "application/pdf" => {
            inline_wanted
        }
        _ => false,
    };
    let disposition = if inline {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"{}\"", name.replace('"', ""))
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
