// Section 5: from spawning the server to the answer of its first tools/list, as a host sees it, for
// the built server, for the same source bundled and minified by esbuild here (in the temporary
// directory, to compare), and for a bare `node -e 0` for reference.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { CodeCache } from '../src/code-cache.js';
import { FLOOR_BUNDLE, FLOOR_LAUNCHER } from './lib/floor-build.js';
import { nowUs } from './lib/profile.js';
import { callTool, connect, SERVER_ENTRY, startFloorServer } from './lib/server.js';
import { nowMs, type Summary, summarize } from './lib/stats.js';

export interface ColdStartResult {
  runs: number;
  tools: number;
  /** Whether dist/server.js is the built bin (launcher and bundle), or imports its modules as tsc emitted them. */
  builtIsBundle: boolean;
  /** Spawn to the tools/list answer read off the pipe, by a client that does nothing more. */
  server: Summary;
  /** The same through the SDK client, whose listTools also compiles every tool's output schema (Ajv). */
  sdkClient: Summary;
  bundled: Summary;
  bundleBytes: number;
  /** The floor server (bench/floor-server.ts), bundled and started as the server is: this SDK's start alone. */
  floorServer: Summary;
  /**
   * The floor server's first tools/call after the handshake (its load_session, which does nothing), in a
   * fresh process: what this SDK's first call costs, timed as section 3 times the server's first calls.
   */
  floorFirstCall: Summary;
  bareNode: Summary;
  /**
   * What each start reads before it runs: the bundle (dist/server.cjs; the floor server's own) and the
   * code cache the runs left for it (V8's compiled code of a start and its first calls), in bytes.
   */
  loaded?: { server: LoadedBytes; floorServer: LoadedBytes };
}

export interface LoadedBytes {
  bundle: number;
  codeCache: number | undefined;
}

/** The sizes of `bundle` and of the code cache its launcher reads (see src/code-cache.ts). */
async function loadedBytes(bundle: string): Promise<LoadedBytes> {
  const source = await readFile(bundle);
  return { bundle: source.length, codeCache: new CodeCache(bundle, source).read()?.data.length };
}

export async function benchColdStart(workDir: string, runs: number): Promise<ColdStartResult> {
  const bundle = await bundleServer(join(workDir, 'bundle'));
  const base = join(workDir, 'cold-start');
  const times = {
    server: [] as number[],
    sdkClient: [] as number[],
    bundled: [] as number[],
    bare: [] as number[],
    floor: [] as number[],
    floorFirst: [] as number[],
  };
  const floorBase = join(workDir, 'cold-start-floor');
  let tools = 0;
  for (let run = 0; run < runs; run++) {
    const start = await rawToolsList([SERVER_ENTRY, '--base-dir', base]);
    tools = start.tools;
    times.server.push(start.ms);
    await firstToolsList(SERVER_ENTRY, base, times.sdkClient);
    times.bundled.push((await rawToolsList([bundle.entry, '--base-dir', base])).ms);
    times.bare.push(await bareNode());
    times.floor.push((await rawToolsList([FLOOR_LAUNCHER, '--base-dir', floorBase])).ms);
    times.floorFirst.push(await floorFirstCall(floorBase));
  }
  const built = await readFile(SERVER_ENTRY, 'utf8');
  return {
    runs,
    tools,
    builtIsBundle: !/from ["']\.\/checkpoint\//.test(built),
    server: summarize(times.server),
    sdkClient: summarize(times.sdkClient),
    bundled: summarize(times.bundled),
    bundleBytes: bundle.bytes,
    bareNode: summarize(times.bare),
    floorServer: summarize(times.floor),
    floorFirstCall: summarize(times.floorFirst),
    loaded: {
      server: await loadedBytes(SERVER_ENTRY.replace(/server\.js$/, 'server.cjs')),
      floorServer: await loadedBytes(FLOOR_BUNDLE),
    },
  };
}

async function floorFirstCall(base: string): Promise<number> {
  const server = await startFloorServer(base);
  try {
    const started = nowMs();
    await callTool(server.client, 'load_session', { project_id: 'cold', session_id: 'start' });
    return nowMs() - started;
  } finally {
    await server.close();
  }
}

async function firstToolsList(entry: string, base: string, times: number[]): Promise<number> {
  const started = nowMs();
  const connection = await connect([entry, '--base-dir', base]);
  const tools = (await connection.client.listTools()).tools.length;
  times.push(nowMs() - started);
  await connection.close();
  return tools;
}

/**
 * Spawn of `node ...args` to the answer of its first tools/list, read off its stdout by a bare JSON-RPC
 * client: initialize, then (once answered) notifications/initialized and tools/list, as a host sends
 * them. The tools listed, the milliseconds taken, and when the answer came (monotonic microseconds).
 */
export async function rawToolsList(
  args: string[],
): Promise<{ tools: number; ms: number; answeredUs: number }> {
  const started = nowMs();
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const lines = createInterface({ input: child.stdout });
  const closed = new Promise((resolve) => child.once('close', resolve));
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'checkpoint-mcp-bench', version: '1.0.0' },
    },
  });
  let tools = -1;
  let ms = 0;
  let answeredUs = 0;
  for await (const line of lines) {
    const message = JSON.parse(line) as { id?: number; result?: { tools?: unknown[] }; error?: unknown };
    if (message.error !== undefined) throw new Error(`${args.join(' ')}: ${JSON.stringify(message.error)}`);
    if (message.id === 1) {
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    } else if (message.id === 2) {
      ms = nowMs() - started;
      answeredUs = nowUs();
      tools = message.result?.tools?.length ?? 0;
      break;
    }
  }
  child.stdin.end();
  await closed;
  if (tools <= 0) throw new Error(`${args.join(' ')} listed no tools`);
  return { tools, ms, answeredUs };
}

/** dist/server.js's source as one ES module; package.json beside it, where the server reads its version. */
async function bundleServer(dir: string): Promise<{ entry: string; bytes: number }> {
  await mkdir(join(dir, 'dist'), { recursive: true });
  await copyFile(new URL('../package.json', import.meta.url), join(dir, 'package.json'));
  const entry = join(dir, 'dist', 'server.js');
  const result = await build({
    entryPoints: [new URL('../src/server.ts', import.meta.url).pathname],
    outfile: entry,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'warning',
    // CommonJS dependencies inside an ES module bundle need a require.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return { entry, bytes };
}

async function bareNode(): Promise<number> {
  const started = nowMs();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('close', resolve));
  return nowMs() - started;
}
