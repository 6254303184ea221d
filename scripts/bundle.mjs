// Bundles the server (replacing tsc's dist/server.js): a host starts it several times faster than it
// could resolve and load the hundreds of modules it is made of.
//
//   dist/server.cjs  src/server.ts and everything it imports, one CommonJS file
//   dist/server.js   the bin (src/launch.ts): runs server.cjs with V8's code cache (src/code-cache.ts)
//
// What only some runs need (the PostgreSQL engine, the HTTP transport) is imported with import(),
// which esbuild turns into a module evaluated on first use, so a stdio server on files neither
// evaluates it nor loads the node:http, node:tls or undici it would bring.
//
// The SDK's Node shims are replaced by src/sdk-shims.ts, which leaves out Ajv (some 280 KB the server
// never runs). The SDK's four checks of a JSON-RPC message's kind ask src/transports/jsonrpc-verdicts.ts
// first, and their schemas only where it cannot tell.
//
// Two passes: the first bundle is started and asked for tools/list, and the second carries those
// listed schemas (src/tools/bundled-schemas.ts), so the built server never converts a zod schema to
// JSON Schema at run time and lists exactly what the first one converted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = join(ROOT, 'dist', 'server.cjs');
const ENTRY = join(ROOT, 'dist', 'server.js');
const BUNDLED_SCHEMAS = join(ROOT, 'src', 'tools', 'bundled-schemas.ts');
const SDK_SHIMS = join(ROOT, 'src', 'sdk-shims.ts');
const VERDICTS = join(ROOT, 'src', 'transports', 'jsonrpc-verdicts.ts');
/** The SDK's message checks, each `(value) => Schema.safeParse(value).success`, and the verdict each asks first. */
const CHECKS = {
  isJSONRPCRequest: 'requestVerdict',
  isJSONRPCNotification: 'notificationVerdict',
  isJSONRPCResultResponse: 'resultVerdict',
  isJSONRPCErrorResponse: 'errorVerdict',
};

await bundleServer(new Map());
await bundleLauncher();
await bundleServer(await listedSchemas(ENTRY));

/** dist/server.cjs, with `schemas` as the module BUNDLED_SCHEMAS. */
async function bundleServer(schemas) {
  const shims = { used: false, verdicts: 0 };
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/server.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // src/launch.ts passes its own URL in: import.meta has no meaning in CommonJS.
    define: { 'import.meta.url': '__entryUrl' },
    logLevel: 'warning',
    write: false,
    metafile: true,
    // Whitespace and syntax only, the names kept (stack traces still name functions): every start reads
    // the bundle, checks it is ASCII, hashes it for its code cache and makes a string of it, each in
    // proportion to its size (1.69 MB -> 1.20 MB: a start some 7 ms shorter here, medians of 15).
    minifyWhitespace: true,
    minifySyntax: true,
    // dist/server.cjs.map, which nothing loads (no sourceMappingURL): the bench tells the bundle's
    // modules apart by it in its CPU profiles, the minified bundle having no module comments left.
    sourcemap: 'external',
    sourcesContent: false,
    outfile: SERVER,
    plugins: [bundledSchemas(schemas), sdkShims(shims), sdkVerdicts(shims)],
  });
  refuseSurprises(result, shims);
  const output = result.outputFiles.find((file) => file.path === SERVER);
  const map = result.outputFiles.find((file) => file.path === `${SERVER}.map`);
  // The launcher compiles the text inside a function: the #! line of src/server.ts would not parse there
  // (its line stays, empty, so the map's lines still hold). esbuild's ASCII charset leaves toAscii nothing
  // to do today; were it to escape a character, only that line's columns in the map would be off.
  const text = toAscii(output.text.replace(/^#!.*/, ''));
  // vm.Script is given no loader for import(): esbuild must have bundled every one.
  if (/\bimport\(/.test(text)) throw new Error(`${SERVER} calls import(), which the launcher cannot run`);
  await writeWhole(`${SERVER}.map`, map.text);
  await writeWhole(SERVER, text);
}

/** What would make the bundle run wrong, or start slowly again, fails the build. */
function refuseSurprises(result, shims) {
  // A warning (import.meta other than its url, say) is code that would run wrong in CommonJS.
  if (result.warnings.length > 0) throw new Error(`${SERVER}: esbuild warned, see above`);
  if (!shims.used)
    throw new Error('@modelcontextprotocol/server/_shims is no longer imported: see src/sdk-shims.ts');
  if (shims.verdicts !== 1)
    throw new Error(
      `the SDK's isJSONRPC* checks were found in ${shims.verdicts} files, not one: see src/transports/jsonrpc-verdicts.ts`,
    );
  const bundled = Object.values(result.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => (bytesInOutput > 0 ? [input] : [])),
  );
  const ajv = bundled.find((input) => /ajvProvider|node_modules\/ajv\//.test(input));
  if (ajv !== undefined) throw new Error(`Ajv is bundled again (${ajv}): see src/sdk-shims.ts`);
  // `import * as z from 'zod'` lets esbuild keep only what is used; one `import { z } from 'zod'` keeps
  // all of zod, its 50 translations included, some 500 KB to compile and evaluate on every start.
  const locales = bundled.filter((input) => /zod\/v4\/locales\/(?!en\.js|index\.js)/.test(input));
  if (locales.length > 0)
    throw new Error(`zod's translations are bundled (${locales[0]}): write import * as z from 'zod'`);
}

async function bundleLauncher() {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/launch.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    write: false,
    outfile: ENTRY,
  });
  await writeWhole(ENTRY, result.outputFiles[0].text);
}

/** Replaces src/tools/bundled-schemas.ts with `schemas`; JSON.parse reads them faster than a literal. */
function bundledSchemas(schemas) {
  const json = JSON.stringify(Object.fromEntries(schemas));
  return {
    name: 'bundled-schemas',
    setup(plugin) {
      plugin.onLoad({ filter: /[\\/]src[\\/]tools[\\/]bundled-schemas\.ts$/ }, (args) => {
        if (args.path !== BUNDLED_SCHEMAS) return undefined;
        return {
          contents: `export const BUNDLED_SCHEMAS = new Map(Object.entries(JSON.parse(${JSON.stringify(json)})));\n`,
          loader: 'js',
        };
      });
    },
  };
}

/** Resolves the SDK's Node shims to src/sdk-shims.ts, which leaves Ajv out. */
function sdkShims(shims) {
  return {
    name: 'sdk-shims',
    setup(plugin) {
      plugin.onResolve({ filter: /^@modelcontextprotocol\/server\/_shims$/ }, () => {
        shims.used = true;
        return { path: SDK_SHIMS };
      });
    },
  };
}

/**
 * Puts a verdict of src/transports/jsonrpc-verdicts.ts in front of each SDK message check: the schema
 * decides only where the verdict is undefined. A file holding some of the checks but not all four in
 * the expected form fails the build, as does finding them in no file or in two.
 */
function sdkVerdicts(found) {
  const check = /const (isJSONRPC\w+) = \(value\) => (JSONRPC\w+Schema)\.safeParse\(value\)\.success;/g;
  return {
    name: 'sdk-verdicts',
    setup(plugin) {
      plugin.onLoad(
        { filter: /[\\/]@modelcontextprotocol[\\/]server[\\/]dist[\\/][^\\/]+\.mjs$/ },
        async (args) => {
          const text = await readFile(args.path, 'utf8');
          if (!text.includes('const isJSONRPC')) return undefined;
          const patched = new Set();
          const contents = text.replace(check, (line, name, schema) => {
            const verdict = CHECKS[name];
            if (verdict === undefined) return line;
            patched.add(name);
            return `const ${name} = (value) => __verdicts.${verdict}(value) ?? ${schema}.safeParse(value).success;`;
          });
          if (patched.size !== Object.keys(CHECKS).length)
            throw new Error(
              `${args.path}: found ${[...patched].join(', ') || 'none'} of ${Object.keys(CHECKS).join(', ')}`,
            );
          found.verdicts++;
          return {
            contents: `import * as __verdicts from ${JSON.stringify(VERDICTS)};\n${contents}`,
            loader: 'js',
          };
        },
      );
    },
  };
}

/**
 * esbuild escapes what is not ASCII in strings, but not in comments and regular expressions, where a
 * \u escape means the same. An ASCII bundle is read without a UTF-8 decode (src/launch.ts), and V8
 * keeps it in one byte a character.
 */
function toAscii(text) {
  return text.replace(/[^\0-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes beside `file` and renames: a server starting meanwhile reads the old file or the new, never half. */
async function writeWhole(file, text) {
  const temporary = `${file}.${process.pid}.tmp`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/**
 * Each tool's inputSchema and outputSchema, as the server at `entry` sends them in its tools/list
 * answer: read off the wire, not through a client that could reshape them.
 */
async function listedSchemas(entry) {
  const base = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-bundle-'));
  const env = {
    // Only the defaults: a CHECKPOINT_TOOLS=core in this shell must not shrink the tool list.
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CHECKPOINT_'))),
    // The code cache of this first bundle, which nothing will start again, goes with the directory.
    TMPDIR: base,
  };
  const server = spawn(process.execPath, [entry, '--base-dir', join(base, 'checkpoints')], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const closed = once(server, 'close');
  let stderr = '';
  server.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const answers = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
  let id = 0;
  const call = async (method, params) => {
    server.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params })}\n`);
    const { value, done } = await answers.next();
    if (done) throw new Error(`${entry} ended before it answered ${method}: ${stderr}`);
    const answer = JSON.parse(value);
    if (answer.id !== id || answer.result === undefined)
      throw new Error(`${entry} answered ${method} with ${value.slice(0, 500)}`);
    return answer.result;
  };
  try {
    await call('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'bundle', version: '1.0.0' },
    });
    server.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const schemas = new Map();
    let cursor;
    do {
      const page = await call('tools/list', cursor === undefined ? {} : { cursor });
      for (const { name, inputSchema, outputSchema } of page.tools)
        schemas.set(name, { inputSchema, outputSchema });
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    if (schemas.size === 0) throw new Error(`${entry} listed no tools`);
    return schemas;
  } finally {
    server.stdin.end();
    await closed;
    await rm(base, { recursive: true, force: true });
  }
}
