//! Uploads (multipart, one file per request, with the size limit).

#[allow(unused_imports)]
use super::*;

pub(super) async fn upload(State(app): AppState, mut form: Multipart) -> Response {
    let limit = app.config.max_upload_bytes;
    let too_big = || {
        err(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("File too large (max {} MB)", limit / (1024 * 1024)),
        )
    };
    let mut sid: Option<String> = None;
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_big()
                } else {
                    err(StatusCode::BAD_REQUEST, &format!("Malformed upload: {e}"))
                };
            }
        };
        match field.name() {
            Some("session_id") => sid = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.bin").to_string();
                let mime = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                let mut data = Vec::new();
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(c)) => {
                            if data.len() + c.len() > limit {
                                return too_big();
                            }
                            data.extend_from_slice(&c);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            return if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                                too_big()
                            } else {
                                err(StatusCode::BAD_REQUEST, &format!("Malformed upload: {e}"))
                            }
                        }
                    }
                }
                file = Some((name, mime, data));
            }
            _ => {}
        }
    }
    let Some(sid) = sid.filter(|s| !s.is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "session_id is required");
    };
    if !app.sessions.lock().expect("sessions").contains_key(&sid) {
        return err(StatusCode::NOT_FOUND, "Session not found");
    }
    let Some((name, mime, data)) = file else {
        return err(StatusCode::BAD_REQUEST, "file is required");
    };
    let path = app.store.upload_path(&sid, &name);
    if let Err(e) = std::fs::write(&path, &data) {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Could not store the file: {e}"),
        );
    }
    let is_image = mime.starts_with("image/");
    no_store(
        Json(json!({
            "filename": name,
            "path": path.display().to_string(),
            "size": data.len(),
            "mime": mime,
            "is_image": is_image
        }))
        .into_response(),
    )
}

// ---------------------------------------------------------------------------------------------
// Session-list invalidation
