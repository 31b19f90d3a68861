//! File uploads, with progress (XMLHttpRequest: fetch reports no upload progress).

use super::*;

/// Uploads one file with progress, behind the CSRF gate like every POST: the token is read
/// first when auth is on, and a 403 "Session expired" re-reads it once and uploads again.
pub fn upload(
    api: std::rc::Rc<Api>,
    session_id: &str,
    file: &web_sys::File,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(Result<wire::UploadReply, ApiError>) + 'static,
) {
    let on_progress: std::rc::Rc<dyn Fn(f64)> = std::rc::Rc::new(on_progress);
    let (session_id, file) = (session_id.to_string(), file.clone());
    leptos::task::spawn_local(async move {
        api.ensure_csrf().await;
        let again = (
            api.clone(),
            session_id.clone(),
            file.clone(),
            on_progress.clone(),
        );
        let p = on_progress.clone();
        upload_once(
            &api,
            &session_id,
            &file,
            move |x| p(x),
            move |r| match r {
                Err(e)
                    if e.status == 403
                        && e.body
                            .as_ref()
                            .and_then(|b| b.error.as_deref())
                            .is_some_and(|t| t.contains("Session expired")) =>
                {
                    leptos::task::spawn_local(async move {
                        let (api, session_id, file, on_progress) = again;
                        api.refresh_csrf().await;
                        upload_once(&api, &session_id, &file, move |x| on_progress(x), on_done);
                    });
                }
                r => on_done(r),
            },
        );
    });
}

/// One upload with progress (`XMLHttpRequest`: fetch has no upload progress). The handlers
/// live exactly as long as the request: they are released once it settles.
fn upload_once(
    api: &Api,
    session_id: &str,
    file: &web_sys::File,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(Result<wire::UploadReply, ApiError>) + 'static,
) {
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    let fail = |m: String| ApiError {
        status: 0,
        message: m,
        body: None,
    };
    let (Ok(xhr), Ok(form)) = (web_sys::XmlHttpRequest::new(), web_sys::FormData::new()) else {
        on_done(Err(fail(
            "Upload failed: the browser refused to start it.".into(),
        )));
        return;
    };
    let _ = form.append_with_str("session_id", session_id);
    let _ = form.append_with_blob_and_filename("file", file, &file.name());
    let _ = xhr.open("POST", &api.url("api/upload"));
    if let Some(t) = api.csrf_token() {
        let _ = xhr.set_request_header("X-Hermes-CSRF-Token", &t);
    }
    type Handlers = (
        Closure<dyn FnMut(web_sys::ProgressEvent)>,
        Closure<dyn FnMut()>,
        Closure<dyn FnMut()>,
    );
    let keep: Rc<RefCell<Option<Handlers>>> = Rc::new(RefCell::new(None));
    let done = Rc::new(RefCell::new(Some(on_done)));
    let finish = {
        let keep = keep.clone();
        let done = done.clone();
        move |result: Result<wire::UploadReply, ApiError>| {
            if let Some(f) = done.borrow_mut().take() {
                f(result);
            }
            // Drop the handlers after this one returns (a closure cannot free itself).
            let handlers = keep.borrow_mut().take();
            leptos::prelude::set_timeout(move || drop(handlers), std::time::Duration::ZERO);
        }
    };
    let progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                on_progress(e.loaded() / e.total());
            }
        });
    let name = file.name();
    let x2 = xhr.clone();
    let finish_load = finish.clone();
    let onload = Closure::<dyn FnMut()>::new(move || {
        let status = x2.status().unwrap_or(0);
        let text = x2.response_text().ok().flatten().unwrap_or_default();
        let result = if (200..300).contains(&status) {
            pane_core::from_json::<wire::UploadReply>(&text)
                .map_err(|e| fail(format!("Upload of {name}: unexpected answer ({e}).")))
        } else {
            if status == 401 {
                redirect_to_login();
            }
            let body: Option<WireError> = pane_core::from_json(&text).ok();
            Err(ApiError {
                status,
                message: describe(&format!("Upload of {name}"), status, body.as_ref()),
                body,
            })
        };
        finish_load(result);
    });
    let onerror = Closure::<dyn FnMut()>::new(move || {
        finish(Err(fail(
            "Upload failed: the backend is unreachable.".into(),
        )))
    });
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    xhr.set_onload(Some(onload.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    *keep.borrow_mut() = Some((progress, onload, onerror));
    let _ = xhr.send_with_opt_form_data(Some(&form));
}
