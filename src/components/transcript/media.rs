//! An image or player the backend would not serve (refused by its path rules, gone, not a
//! picture) becomes a clear placeholder naming the file: a broken-image icon tells nothing.
//! Installed when the later chunk arrives (this code is in it); what failed before that is
//! found by a sweep then.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Replaces a failed `.media-img` / `.media-player` (and the link around a picture, which would
/// only open the error) with a placeholder naming the file.
fn placeholder(el: web_sys::Element) {
    if !el.matches(".media-img, .media-player").unwrap_or(false) {
        return;
    }
    let name = el
        .get_attribute("alt")
        .or_else(|| el.get_attribute("aria-label"))
        .unwrap_or_else(|| "file".into());
    let what = if el.tag_name() == "IMG" {
        "Image"
    } else {
        "Media"
    };
    let Some(doc) = el.owner_document() else {
        return;
    };
    let Ok(span) = doc.create_element("span") else {
        return;
    };
    span.set_class_name("media-broken");
    let _ = span.set_attribute("data-testid", "media-broken");
    let _ = span.set_attribute("role", "img");
    let text = format!("{what} unavailable: {name}");
    let _ = span.set_attribute("aria-label", &text);
    span.set_text_content(Some(&format!("⚠ {text}")));
    let target = el.closest(".media-open").ok().flatten().unwrap_or(el);
    let _ = target.replace_with_with_node_1(&span);
}

/// Watches the document for media that fail to load (one capturing listener for the app's
/// life: `error` does not bubble), after replacing the pictures that already failed.
pub(super) fn watch_broken_media_body() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(imgs) = doc.query_selector_all("img.media-img") {
        for i in 0..imgs.length() {
            let failed = imgs
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlImageElement>().ok())
                .filter(|img| img.complete() && img.natural_width() == 0);
            if let Some(img) = failed {
                placeholder(img.into());
            }
        }
    }
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
        if let Some(el) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            placeholder(el);
        }
    });
    let _ = doc.add_event_listener_with_callback_and_bool(
        "error",
        on_error.as_ref().unchecked_ref(),
        true,
    );
    on_error.forget();
}
