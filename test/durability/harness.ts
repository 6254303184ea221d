import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { WorkerConfig } from './protocol.js';

export type WorkerEvent = Record<string, unknown> & { ev: string };

let bundle: Promise<string> | undefined;

/**
 * The worker bundled into one plain .mjs file (esbuild, from the TypeScript sources): a child then
 * starts in about 0.15 s, where `node --import tsx` takes about a second, and never runs a stale dist/.
 * The file is named by its content under node_modules/.cache, so runs share it and none leaks.
 */
export function workerBundle(): Promise<string> {
  bundle ??= (async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const result = await build({
      entryPoints: [join(here, 'worker.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      outfile: 'worker.mjs',
      logLevel: 'warning',
    });
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    const dir = join(here, '..', '..', 'node_modules', '.cache', 'checkpoint-mcp-durability');
    const path = join(dir, `worker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
    if (!existsSync(path)) {
      await mkdir(dir, { recursive: true });
      // Test files run in parallel: each writes its own temporary file and renames it into place.
      const temp = `${path}.${process.pid}.tmp`;
      await writeFile(temp, code);
      await rename(temp, path);
    }
    return path;
  })();
  return bundle;
}

/** One worker process and the JSON events it printed. */
export class Worker {
  readonly events: WorkerEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private pending = '';
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.receive(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // A child killed while we write to it closes the pipe under us: that is expected here.
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.notify();
        resolve({ code, signal });
      });
    });
  }

  static async start(config: WorkerConfig): Promise<Worker> {
    const child = spawn(process.execPath, [await workerBundle(), JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Worker(child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get errorOutput(): string {
    return this.stderr;
  }

  send(line = 'go'): void {
    this.child.stdin.write(`${line}\n`);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The first event called `ev`, waiting for it up to `timeoutMs`. */
  async waitFor(ev: string, timeoutMs = 20_000): Promise<WorkerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((event) => event.ev === ev);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`worker ${this.pid} exited before "${ev}": ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`worker ${this.pid} printed no "${ev}" in ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        this.listeners.add(done);
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  private receive(chunk: string): void {
    this.pending += chunk;
    const lines = this.pending.split('\n');
    // A line cut short by a kill never gets its newline, so it is never counted.
    this.pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') this.events.push(JSON.parse(line) as WorkerEvent);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
  }
}

/** Every file below `dir` (names that start with "." included), as paths relative to it. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** Temporary files (`.*.tmp`) left anywhere below `dir`. */
/** How many descriptors this process has open (Linux): a count taken around work that must give back all it opens. */
export function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

export async function tempFiles(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((path) => /(^|\/)\.[^/]*\.tmp$/.test(path));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
