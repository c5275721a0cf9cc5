// Replays a self-replaying wasm-rr component (`wasm-rr wrap --replay`) on Node.js:
//   node runners/node/replay.mjs app.replay.wasm [work-dir]
// transpiles it with jco into work-dir (default: a temporary directory) and calls its
// `wasi:cli/run.run` with @bytecodealliance/preview2-shim as the host. Its stdout, stderr and
// exit status are the replay's. A WORK-DIR must be inside this directory (for node_modules). A self-replaying component imports only wasi:io, stdout,
// stderr and exit, so the shim needs no preopens, environment or network.
import { transpile } from "@bytecodealliance/jco";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [component, workArg] = process.argv.slice(2);
if (!component) {
  console.error("usage: node replay.mjs COMPONENT [WORK-DIR]");
  process.exit(2);
}
// Beside this script by default, so that the transpiled module finds preview2-shim.
const here = dirname(fileURLToPath(import.meta.url));
const work = workArg ?? (await mkdtemp(join(here, ".work-")));
let files;
try {
  // The WASI 0.3 imports a self-replaying component may have (an app printing through 0.3's
  // stdout or stderr stream keeps them) come from @bytecodealliance/preview3-shim; WASI 0.2's
  // from preview2-shim (jco's default). (jco matches a version wildcard, not an interface one.)
  const map = Object.fromEntries(
    ["stdout", "stderr", "types"].map((name) => [
      `wasi:cli/${name}@0.3.*`,
      `@bytecodealliance/preview3-shim/cli#${name}`,
    ]),
  );
  ({ files } = await transpile(await readFile(component), { name: "replay", map }));
} catch (e) {
  console.error(`wasm-rr: error: cannot transpile ${component} with jco: ${e.message ?? e}`);
  process.exit(2);
}
for (const [name, bytes] of Object.entries(files)) {
  const path = join(work, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
let module;
try {
  module = await import(pathToFileURL(join(work, "replay.js")).href);
} catch (e) {
  if (typeof WebAssembly.Suspending !== "function" && String(e).includes("Suspending")) {
    console.error(
      `wasm-rr: error: ${component} uses the component model's async ABI, which jco runs with JSPI: this Node.js (${process.version}) has none; use Node.js 22 or later (scripts/replay-node passes it --experimental-wasm-jspi)`,
    );
    if (!workArg) await rm(work, { recursive: true, force: true });
    process.exit(2);
  }
  throw e;
}
// WASI 0.3's run when the component exports it (an async function: jco runs the component
// model's async ABI with JSPI, Node 22 and later with --experimental-wasm-jspi), as wasmtime
// calls it when a component exports both runs; else WASI 0.2's.
const p3 = Object.keys(module).find((k) => k.startsWith("wasi:cli/run@0.3."));
const run = p3 ? module[p3] : (module.run ?? module["wasi:cli/run@0.2.12"]);
let status = 0;
try {
  await run.run();
} catch (e) {
  // preview2-shim reports `exit` as an exception carrying the code; jco reports `run`'s
  // `err` as a ComponentError (exit status 1, as wasmtime gives); anything else is a trap.
  if (e && typeof e.exitError !== "undefined") {
    status = e.code ?? 1;
  } else if (e && e.name === "ComponentError") {
    status = 1;
  } else {
    console.error(e);
    status = 134;
  }
}
if (!workArg) await rm(work, { recursive: true, force: true });
process.exit(status);
