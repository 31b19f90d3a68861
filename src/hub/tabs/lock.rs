//! The Web Locks API through `js_sys` (web-sys has it behind `web_sys_unstable_apis`): asking
//! for a lock held for the tab's life, and which tabs hold theirs.

use std::collections::BTreeSet;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::*;

/// `navigator.locks.request(name, options, callback)`, or `None` without Web Locks.
pub(super) fn request_lock(
    name: &str,
    if_available: bool,
    granted: impl FnOnce(bool) + 'static,
) -> Option<()> {
    let nav = web_sys::window()?.navigator();
    let locks = Reflect::get(&nav, &"locks".into()).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let request: Function = Reflect::get(&locks, &"request".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let options = Object::new();
    if if_available {
        let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    }
    let cb = Closure::once(move |lock: JsValue| -> JsValue {
        let got = !lock.is_null() && !lock.is_undefined();
        granted(got);
        if got {
            // Held for the tab's life: the promise never settles.
            Promise::new(&mut |_, _| {}).into()
        } else {
            JsValue::UNDEFINED
        }
    });
    let r = request.call3(&locks, &name.into(), &options, cb.as_ref());
    // Called once by the browser, when granted (or refused), possibly much later.
    cb.forget();
    r.ok().map(|_| ())
}

/// Asks the browser which tabs hold their own lock; the leader drops the others' wants.
pub(super) fn query_alive(hub: Hub, prefix: String) {
    let Some(locks) = web_sys::window()
        .and_then(|w| Reflect::get(&w.navigator(), &"locks".into()).ok())
        .filter(|l| !l.is_undefined())
    else {
        return;
    };
    let Some(query) = Reflect::get(&locks, &"query".into())
        .ok()
        .and_then(|q| q.dyn_into::<Function>().ok())
    else {
        return;
    };
    let Ok(p) = query.call0(&locks).and_then(|p| p.dyn_into::<Promise>()) else {
        return;
    };
    leptos::task::spawn_local(async move {
        let Ok(state) = wasm_bindgen_futures::JsFuture::from(p).await else {
            return;
        };
        let held = Reflect::get(&state, &"held".into()).unwrap_or(JsValue::NULL);
        let alive: BTreeSet<String> = js_sys::Array::from(&held)
            .iter()
            .filter_map(|l| Reflect::get(&l, &"name".into()).ok()?.as_string())
            .filter_map(|n| n.strip_prefix(&prefix).map(str::to_string))
            .collect();
        let out = with(|t| match &mut t.role {
            Role::Leader(l) => l.alive(&alive, now()),
            _ => Vec::new(),
        });
        run(hub, out.unwrap_or_default());
    });
}
