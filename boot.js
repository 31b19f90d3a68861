// Starts the pane. Trunk names the hashed wasm-bindgen files in this script tag's data
// attributes; loading them from here keeps the page free of inline script (the CSP allows
// scripts from this origin only, plus 'wasm-unsafe-eval' to compile the module).
const tag = document.querySelector("script[data-js][data-wasm]");
const base = document.baseURI;
// The list (and a session's window) are asked for while the wasm compiles; the pane takes
// each answer once by its path (src/api.rs `early`).
const early = {};
try {
  const meta = document.querySelector("meta[name=hermes-backend]");
  const api = new URL((meta && meta.content) || "/", base);
  const ask = (path) => {
    early[path] = fetch(new URL(path, api))
      .then(async (r) => [r.status, await r.text()])
      .catch(() => null);
  };
  ask("api/sessions");
  const rel = location.pathname.slice(new URL(base).pathname.length);
  const id = rel === "index.html"
    ? new URLSearchParams(location.search).get("session")
    : (rel.match(/^session\/([^/?#]+)/) || [])[1];
  if (id) ask(`api/session?session_id=${encodeURIComponent(decodeURIComponent(id))}&msg_limit=60`);
} catch (_) {}
window.__paneEarly = early;
try {
  const { default: init } = await import(new URL(tag.dataset.js, base).href);
  await init({ module_or_path: new URL(tag.dataset.wasm, base).href });
} catch (err) {
  const p = document.createElement("p");
  p.textContent = "The pane could not start: " + err;
  document.body.append(p);
  throw err;
}
