// Starts the pane. Trunk names the hashed wasm-bindgen files in this script tag's data
// attributes. The release build (`cargo xtask build`) puts this script inline at the end of
// the document's head, after the preload tags and before the stylesheet: a classic inline
// script runs as soon as the parser reaches it, while a module file waits for its own
// download and for `DOMContentLoaded` (tens of ms on a cold load, which the wasm's compile then
// waited for). The CSP allows it by its hash (pane-server) — no `'unsafe-inline'`. Development
// builds load it as a module file; it is written to work either way (no top-level await, no
// static import).
(() => {
  const tag = document.querySelector("script[data-js][data-wasm]");
  const base = document.baseURI;
  // The list (and a session's window) are asked for while the wasm compiles; the pane takes
  // each answer once by its path (src/api.rs `early`). Where pane-server serves the page, the
  // first of them already left with the document's headers (its `Link` preload hint, built on
  // the same URL: crates/pane-server/src/bundle.rs `early_hint`), and `fetch` takes that answer.
  const early = {};
  try {
    const meta = document.querySelector("meta[name=hermes-backend]");
    const api = new URL((meta && meta.content) || "/", base);
    const ask = (path, after) => {
      early[path] = after
        .then(() => fetch(new URL(path, api)))
        .then(async (r) => [r.status, await r.text()])
        .catch(() => null);
      return early[path];
    };
    const rel = location.pathname.slice(new URL(base).pathname.length);
    let id = null;
    try {
      // A malformed address only loses its own early answer, not the list's.
      id = rel === "index.html"
        ? new URLSearchParams(location.search).get("session")
        : decodeURIComponent((rel.match(/^session\/([^/?#]+)/) || [])[1] || "") || null;
    } catch (_) {}
    // A session's address asks for its window first, the list once it is in (or 100 ms on, a
    // slow answer must not hold the list back): the backend answers one request faster than
    // two at once, and the transcript is what was opened.
    const opened = id
      ? ask(`api/session?session_id=${encodeURIComponent(id)}&msg_limit=60`,
        Promise.resolve())
      : Promise.resolve();
    ask("api/sessions", Promise.race([opened, new Promise((go) => setTimeout(go, 100))]));
  } catch (_) {}
  window.__paneEarly = early;
  // The module compiles while it downloads (the `<link rel=preload>` above already asked for
  // it; this `fetch` takes that answer) and while the JS glue loads. The browser compiles a
  // module as it arrives only if it comes as `application/wasm`; Hermes' own /static/ handler
  // says text/plain, so its body is handed on under that type.
  const module = WebAssembly.compileStreaming(
    fetch(new URL(tag.dataset.wasm, base).href).then((r) =>
      !r.ok || (r.headers.get("Content-Type") || "").startsWith("application/wasm")
        ? r
        : new Response(r.body, { headers: { "Content-Type": "application/wasm" } })),
  );
  module.catch(() => {});
  // Run inline in the head, the body may not be parsed yet: the app mounts into it.
  const body = () => document.body
    ? Promise.resolve()
    : new Promise((go) => document.addEventListener("DOMContentLoaded", go, { once: true }));
  import(new URL(tag.dataset.js, base).href)
    .then(async ({ default: init }) => {
      await body();
      await init({ module_or_path: module });
    })
    .catch(async (err) => {
      await body();
      const p = document.createElement("p");
      p.textContent = "The pane could not start: " + err;
      document.body.append(p);
      console.error(err);
    });
})();
