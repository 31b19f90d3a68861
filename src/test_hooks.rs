//! A read-only window hook for the browser end-to-end suite (built only with the
//! `test-hooks` feature, never in the shipped bundle): `window.__hermesPane`.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;

use crate::hub::Hub;

fn set(obj: &js_sys::Object, name: &str, f: &JsValue) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(name), f);
}

/// Installs `window.__hermesPane` with `transports()`, `created()`, `parked()`, `budget()`,
/// `paints(id)`, `runtime(id)`, `role()`, `held()`, `loadOlder(id)`, `latencies()` and
/// `wasmMemory()`.
pub fn install(hub: Hub) {
    let obj = js_sys::Object::new();
    let transports = Closure::<dyn Fn() -> String>::new(move || {
        let list: Vec<_> = hub
            .transports()
            .into_iter()
            .map(|(s, st, serial, rs)| {
                serde_json::json!({
                    "session": s, "stream": st, "serial": serial, "readyState": rs
                })
            })
            .collect();
        serde_json::Value::Array(list).to_string()
    });
    let created = Closure::<dyn Fn() -> f64>::new(move || hub.transports_created() as f64);
    let parked = Closure::<dyn Fn() -> String>::new(move || {
        serde_json::to_string(&hub.parked()).unwrap_or_default()
    });
    let budget = Closure::<dyn Fn() -> f64>::new(move || hub.budget().chat_slots() as f64);
    let paints =
        Closure::<dyn Fn(String) -> f64>::new(move |id: String| hub.paint_count(&id) as f64);
    let runtime = Closure::<dyn Fn(String) -> String>::new(move |id: String| {
        hub.runtime(&id)
            .map(|rt| {
                serde_json::json!({
                    "busy": rt.is_busy(), "text": rt.reply_text(), "messages": rt.messages().len(),
                    "stream": rt.stream().map(|s| s.stream_id.clone()),
                    "cursor": rt.stream().map(|s| s.cursor.seq),
                })
                .to_string()
            })
            .unwrap_or_else(|| "null".into())
    });
    let load_older = Closure::<dyn Fn(String)>::new(move |id: String| hub.load_older(&id));
    let latencies = Closure::<dyn Fn() -> String>::new(move || {
        serde_json::to_string(&hub.take_latencies()).unwrap_or_default()
    });
    let memory = Closure::<dyn Fn() -> f64>::new(|| {
        use wasm_bindgen::JsCast;
        wasm_bindgen::memory()
            .unchecked_into::<js_sys::WebAssembly::Memory>()
            .buffer()
            .unchecked_into::<js_sys::ArrayBuffer>()
            .byte_length() as f64
    });
    let role = Closure::<dyn Fn() -> String>::new(move || hub.role().to_string());
    let held = Closure::<dyn Fn() -> f64>::new(move || hub.held() as f64);
    set(&obj, "role", role.as_ref());
    set(&obj, "held", held.as_ref());
    role.forget();
    held.forget();
    set(&obj, "loadOlder", load_older.as_ref());
    set(&obj, "latencies", latencies.as_ref());
    set(&obj, "wasmMemory", memory.as_ref());
    load_older.forget();
    latencies.forget();
    memory.forget();
    set(&obj, "transports", transports.as_ref());
    set(&obj, "created", created.as_ref());
    set(&obj, "parked", parked.as_ref());
    set(&obj, "budget", budget.as_ref());
    set(&obj, "paints", paints.as_ref());
    set(&obj, "runtime", runtime.as_ref());
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &JsValue::from_str("__hermesPane"), &obj);
    }
    // Installed once per page for its lifetime.
    transports.forget();
    created.forget();
    parked.forget();
    budget.forget();
    paints.forget();
    runtime.forget();
}
