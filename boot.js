// Starts the pane. Trunk names the hashed wasm-bindgen files in this script tag's data
// attributes; loading them from here keeps the page free of inline script (the CSP allows
// scripts from this origin only, plus 'wasm-unsafe-eval' to compile the module).
const tag = document.querySelector("script[data-js][data-wasm]");
const base = document.baseURI;
try {
  const { default: init } = await import(new URL(tag.dataset.js, base).href);
  await init({ module_or_path: new URL(tag.dataset.wasm, base).href });
} catch (err) {
  const p = document.createElement("p");
  p.textContent = "The pane could not start: " + err;
  document.body.append(p);
  throw err;
}
