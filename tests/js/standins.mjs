// Shared by the extension tests: load one of the pack's js/ files as an ES module under node, with
// ComfyUI's `app` and `api` replaced by stand-ins read from globalThis.__comfy at call time (each
// test sets its own), and every other import resolved to a file of the pack (anything else fails).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const JS = new URL("../../js/", import.meta.url);
export const dataUrl = (code) => `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;
// The stubs forward to the current stand-ins, so a module loaded once still meets each test's own.
const forward = (name) => `export const ${name} = new Proxy({}, {
  get: (_, key) => globalThis.__comfy.${name}[key],
  set: (_, key, value) => { globalThis.__comfy.${name}[key] = value; return true; },
});`;
const COMFY = { "../../scripts/app.js": forward("app"), "../../scripts/api.js": forward("api") };

/** A data: URL of js/<name> with its imports rewritten as described above. */
export async function moduleUrl(name) {
  let source = await readFile(new URL(name, JS), "utf8");
  for (const [spec] of source.matchAll(/(?<=from\s+["'])[^"']+(?=["'])/g)) {
    const target = COMFY[spec] ?? (spec.startsWith("./") ? await moduleUrl(spec.slice(2)) : null);
    assert.ok(target, `${name} imports ${spec}: only ComfyUI's scripts and the pack's own files are allowed`);
    source = source.replace(`"${spec}"`, `"${COMFY[spec] ? dataUrl(COMFY[spec]) : target}"`);
  }
  return dataUrl(source);
}
