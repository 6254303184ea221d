#!/usr/bin/env node
// The bin, bundled into dist/server.js: runs dist/server.cjs (src/server.ts and all it imports, in one
// CommonJS file by scripts/bundle.mjs) with V8's compiled code from an earlier start, so a start reads
// the compiled server instead of parsing and compiling 1.2 MB of JavaScript. vm.Script takes a code
// cache on every Node.js >= 20; Node's own (module.enableCompileCache) needs 22.1 and vm has none for
// ES modules without a flag, hence the CommonJS bundle.
import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { CodeCache } from './code-cache.js';
import { allowCollections } from './transports/memory.js';

runBundle(fileURLToPath(new URL('./server.cjs', import.meta.url)));

/** Compiles the bundle, with the code cache of an earlier start when there is one, and runs it. */
function runBundle(bundle: string): void {
  const bytes = readFileSync(bundle);
  // The bundle is ASCII (the build escapes the rest), which Latin-1 reads without a UTF-8 decode.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  // Before the compile: the server collects garbage after large requests, and a flag set later
  // would make the code cache it writes one that the next start's V8 rejects.
  allowCollections();
  // Regular expressions are compiled once, to machine code, on their first run, not to bytecode first
  // and again to machine code on their second: a fresh process runs dozens for the first time (the
  // documents' heads, the arguments' rules), none in the code cache. The first load_session of a fresh
  // server took 1.0-1.4 ms less here (medians of 20-24 fresh processes, three runs), its start no longer.
  setFlagsFromString('--no-regexp-tier-up');
  const cache = new CodeCache(bundle, bytes);
  const cached = cache.read();
  // Strict as the ES modules it was bundled from. __entryUrl stands for import.meta.url: this file's
  // URL, beside which the server finds ../package.json and by which it knows it is the entry point.
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname, __entryUrl) {'use strict';${source}\n})`,
    { filename: bundle, cachedData: cached?.data },
  );
  cache.update(script, cached);
  const module = { exports: {} };
  script.runInThisContext()(
    module.exports,
    createRequire(bundle),
    module,
    bundle,
    dirname(bundle),
    import.meta.url,
  );
}
