// Section 4: 1, 4 and 8 client processes, each with its own server, saving into one session of one
// shared base directory; then every acknowledged save is checked on disk.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openManager, parseManifest, splitVerbatim } from './lib/core.js';
import { proseOfSize, sha256 } from './lib/fixtures.js';
import { durableLink, durableWrite } from './lib/floor.js';
import { PHASE_DIRS, type Ref } from './lib/workflow.js';
import type { WorkerReport, WorkerStart } from './throughput-worker.js';

export interface ThroughputRow {
  processes: number;
  /** Saves each server made before the timed run (see WorkerStart.warmup); 0: fresh servers. */
  warmup: number;
  seconds: number;
  outputSaves: number;
  checkpointSaves: number;
  outputsPerSecond: number;
  savesPerSecond: number;
  failures: number;
  /** Acknowledged outputs missing on disk or with other content. */
  lostOutputs: number;
  revision: { expected: number; actual: number };
  /** Acknowledged checkpoint saves the manifest Revision does not count. */
  lostCheckpoints: number;
  /** CPU time per save (of either kind), all servers together and all clients together. */
  serverCpuMsPerSave: number;
  clientCpuMsPerSave: number;
  /** Saves/s of each timed window, in order; the row's pace and CPU are the median window's. */
  windows: number[];
}

/**
 * Timed windows of a warmed-up run, one after another on the same servers: the row reports the median
 * one, so that a few seconds of another tenant's load on this machine do not decide it.
 */
export const WINDOWS = 3;

const WORKER = new URL('./throughput-worker.ts', import.meta.url).pathname;

/** Section 4's run of `processes` processes: of warmed-up servers, or with `fresh` of fresh ones. */
export function throughputRow(
  rows: readonly ThroughputRow[] | undefined,
  processes: number,
  fresh = false,
): ThroughputRow | undefined {
  return rows?.find((row) => row.processes === processes && (row.warmup === 0) === fresh);
}

/**
 * Saves each server of section 4 makes before its timed run. After 300, V8's optimising compiler was
 * still at work in each server and client (its code log: ~40 functions optimised a second at 1 process;
 * perf: 15-17 % of a server's CPU at 1 and at 8 processes): a server of a long-running agent is past
 * that. 2,000, as the PostgreSQL section's servers.
 */
export const WARMUP_SAVES = 2000;

/** Section 4's floor: a warmed-up run, each server the floor server (bench/floor-server.ts). */
export interface FloorServerRow {
  processes: number;
  warmup: number;
  seconds: number;
  savesPerSecond: number;
  failures: number;
  serverCpuMsPerSave: number;
  clientCpuMsPerSave: number;
  /** As ThroughputRow.windows. */
  windows: number[];
}

/**
 * Each of `levels` processes saving for `seconds`, with servers warmed up by WARMUP_SAVES saves each,
 * then the largest level once more with fresh servers.
 */
export async function benchThroughput(
  workDir: string,
  levels: readonly number[],
  seconds: number,
  checkpointEvery = 10,
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  const runs = [
    ...levels.map((processes) => ({ processes, warmup: WARMUP_SAVES })),
    { processes: Math.max(...levels), warmup: 0 },
  ];
  for (const { processes, warmup } of runs) {
    const ref: Ref = { project_id: 'bench', session_id: `throughput-${processes}-${warmup}` };
    // A base of its own for each run, so that none pays for the files the one before it removed (see
    // spreadFolders in bench/run.ts).
    const base = join(workDir, ref.session_id);
    const manager = await openManager(base, true);
    await manager.createSession({ ...ref, user_id: 'bench', execution_mode: 'full' });
    // A fresh server is fresh for one window only.
    const windows = warmup === 0 ? 1 : WINDOWS;
    const reports = await runWorkers({ base, ref, processes, warmup, seconds, checkpointEvery, windows });
    rows.push({ ...(await verify(base, ref, processes, reports)), warmup });
  }
  return rows;
}

/**
 * The warmed-up run of `processes` processes again, each with the floor server: what saves/s any
 * server on this SDK reaches on this machine, making the same durable writes.
 */
export async function benchFloorServer(
  workDir: string,
  processes: number,
  seconds: number,
  checkpointEvery = 10,
): Promise<FloorServerRow> {
  const base = join(workDir, `throughput-floor-server-${processes}`);
  const ref: Ref = { project_id: 'bench', session_id: `floor-${processes}` };
  const windows = await runWorkers({
    base,
    ref,
    processes,
    warmup: WARMUP_SAVES,
    seconds,
    checkpointEvery,
    windows: WINDOWS,
    floor: true,
  });
  const paces = windows.map(pace);
  const median = medianOf(paces);
  return {
    processes,
    warmup: WARMUP_SAVES,
    seconds: median.seconds,
    savesPerSecond: median.savesPerSecond,
    failures: sum(windows.flat().map((report) => report.failures.length)),
    serverCpuMsPerSave: median.serverCpuMsPerSave,
    clientCpuMsPerSave: median.clientCpuMsPerSave,
    windows: paces.map((window) => window.savesPerSecond),
  };
}

/** One timed window of all workers: its saves, pace and CPU per save. */
function pace(reports: readonly WorkerReport[]) {
  const outputSaves = sum(reports.map((report) => report.outputs.length));
  const checkpointSaves = sum(reports.map((report) => report.checkpoints));
  const saves = outputSaves + checkpointSaves;
  const seconds = Math.max(...reports.map((report) => report.elapsedMs)) / 1000;
  return {
    outputSaves,
    checkpointSaves,
    seconds,
    savesPerSecond: saves / seconds,
    serverCpuMsPerSave: sum(reports.map((report) => report.serverCpuMs)) / saves,
    clientCpuMsPerSave: sum(reports.map((report) => report.clientCpuMs)) / saves,
  };
}

/** The window of median pace (of an even count, the slower of the two in the middle). */
function medianOf<T extends { savesPerSecond: number }>(windows: readonly T[]): T {
  const sorted = [...windows].sort((a, b) => a.savesPerSecond - b.savesPerSecond);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (median === undefined) throw new Error('no timed window');
  return median;
}

/**
 * Starts `processes` workers and lets them warm up; then, `windows` times, has them all save until one
 * deadline; then closes them. The reports of each window. Worker `w` saves into `run.ref`, or into
 * `run.ref(w)` when it is a function (the PostgreSQL section's writers, spread over sessions).
 */
export async function runWorkers(run: {
  base: string;
  ref: Ref | ((worker: number) => Ref);
  processes: number;
  warmup: number;
  seconds: number;
  checkpointEvery: number;
  windows: number;
  floor?: boolean;
  serverArgs?: string[];
}): Promise<WorkerReport[][]> {
  const children = Array.from({ length: run.processes }, () =>
    fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  await Promise.all(
    children.map((child, worker) => {
      const start: WorkerStart = {
        base: run.base,
        ref: typeof run.ref === 'function' ? run.ref(worker) : run.ref,
        worker,
        checkpointEvery: run.checkpointEvery,
        warmup: run.warmup,
        ...(run.floor && { floor: true }),
        ...(run.serverArgs && { serverArgs: run.serverArgs }),
      };
      child.send(start);
      return nextMessage(child);
    }),
  );
  const windows: WorkerReport[][] = [];
  for (let window = 0; window < run.windows; window++) {
    const deadline = Date.now() + run.seconds * 1000;
    windows.push(
      await Promise.all(
        children.map((child) => {
          child.send({ go: deadline });
          return nextMessage(child).then((message) => (message as { report: WorkerReport }).report);
        }),
      ),
    );
  }
  await Promise.all(
    children.map((child) => {
      child.send({ close: true });
      return nextMessage(child);
    }),
  );
  return windows;
}

/** Every window's acknowledged saves checked on disk; the pace and CPU of the median window. */
async function verify(
  base: string,
  ref: Ref,
  processes: number,
  windows: WorkerReport[][],
): Promise<Omit<ThroughputRow, 'warmup'>> {
  const reports = windows.flat();
  const session = join(base, ref.project_id, 'sessions', ref.session_id);
  let lostOutputs = 0;
  for (const output of reports.flatMap((report) => report.outputs)) {
    const path = join(session, PHASE_DIRS[output.phase_num] ?? '', `${output.agent_name}.md`);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    const body = text === undefined ? undefined : splitVerbatim(text, 'Output').body;
    if (
      body === undefined ||
      sha256(body) !== output.sha256 ||
      !text?.includes(`- Content SHA-256: ${output.sha256}`)
    )
      lostOutputs++;
  }
  const manifestPath = join(session, 'session_manifest.md');
  const manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
  const expected = 1 + sum(reports.map((report) => report.checkpoints));
  const paces = windows.map(pace);
  const median = medianOf(paces);
  return {
    processes,
    seconds: median.seconds,
    outputSaves: median.outputSaves,
    checkpointSaves: median.checkpointSaves,
    outputsPerSecond: median.outputSaves / median.seconds,
    savesPerSecond: median.savesPerSecond,
    failures: sum(reports.map((report) => report.failures.length)),
    lostOutputs,
    revision: { expected, actual: manifest.revision },
    lostCheckpoints: Math.max(0, expected - manifest.revision),
    serverCpuMsPerSave: median.serverCpuMsPerSave,
    clientCpuMsPerSave: median.clientCpuMsPerSave,
    windows: paces.map((window) => window.savesPerSecond),
  };
}

function nextMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`throughput worker exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * The CPU (user + system, this process) per save of the durable writes the 1-process run must do at
 * least, done directly in Node: one 1 KB write per output; per checkpoint, the version replaced linked
 * into history/ and two writes (the checkpoint, the manifest), in the run's proportion.
 */
export async function floorCpuMsPerSave(
  workDir: string,
  saves: number,
  checkpointEvery = 10,
): Promise<number> {
  const directory = join(workDir, 'throughput-floor');
  await mkdir(directory, { recursive: true });
  const data = Buffer.from(proseOfSize(1024, 1));
  const history = join(directory, 'history');
  await mkdir(history, { recursive: true });
  const checkpoint = (n: number) => n % checkpointEvery === checkpointEvery - 1;
  let kept = 0;
  const save = async (n: number, name: (w: number) => string) => {
    for (let w = 0; w < (checkpoint(n) ? 2 : 1); w++) await durableWrite(directory, name(w), data);
    if (checkpoint(n)) await durableLink(directory, name(0), history, `v${++kept}.md`);
  };
  for (let n = 0; n < 50; n++) await save(n, (w) => `w${w}.md`);
  const started = process.cpuUsage();
  for (let n = 0; n < saves; n++) await save(n, (w) => `s${n % 50}-${w}.md`);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000 / saves;
}
