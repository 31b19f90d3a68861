//! Mounts the pane into `<body>`.

fn main() {
    hermes_pane::mark("pane-main");
    // A panic stops the wasm module for good (the release build aborts): log it, and tell the
    // reader plainly instead of leaving a page that silently stopped reacting.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        hermes_pane::show_fatal(&info.to_string());
    }));
    leptos::mount::mount_to_body(hermes_pane::App);
    hermes_pane::mark("pane-mounted");
}
