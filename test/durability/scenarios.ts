// The multi-process scenarios, shared by the tests (CI sizes) and scripts/stress.ts (large sizes).
// Each returns counts and a list of problems; an empty list is a pass.
import { join } from 'node:path';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import type { SessionRef } from '../../src/checkpoint/model/paths.js';
import { FsStore as Store } from '../../src/checkpoint/store/fs/fs-store.js';
import { tempFiles, Worker, type WorkerEvent } from './harness.js';
import { feedbackComment } from './protocol.js';
import { manifestMatchesCheckpoints, scanSession, sha256 } from './session-scan.js';

export const REF: SessionRef = { project_id: 'durability', session_id: 'shared' };

export function sessionPath(base: string, ref: SessionRef = REF): string {
  return join(base, ref.project_id, 'sessions', ref.session_id);
}

export async function createFullSession(base: string, ref: SessionRef = REF): Promise<CheckpointManager> {
  const checkpoints = new CheckpointManager(await Store.open(base));
  await checkpoints.createSession({ ...ref, user_id: 'tester', execution_mode: 'full' });
  return checkpoints;
}

export interface LostUpdateReport {
  saves: number;
  acknowledged: number;
  expectedRevision: number;
  revision: number | undefined;
  lostWrites: number;
  tornReads: number;
  readerReads: number;
  readerLoads: number;
  problems: string[];
}

/**
 * `processes` writers each make `saves` manifest-changing saves (checkpoints and feedback, spread
 * over the seven phases of one full-mode session) while a reader parses the files and loads the
 * session; then every save is looked for in the final files and their history.
 */
export async function runLostUpdates(
  base: string,
  processes: number,
  saves: number,
  lockTimeoutMs = 60_000,
): Promise<LostUpdateReport> {
  await createFullSession(base);
  const store = { lockTimeoutMs };
  const writers = await Promise.all(
    Array.from({ length: processes }, (_, proc) =>
      Worker.start({ mode: 'writer', base, ref: REF, store, proc, saves }),
    ),
  );
  const reader = await Worker.start({ mode: 'reader', base, ref: REF, store, pauseMs: 5 });
  await Promise.all([...writers, reader].map((worker) => worker.waitFor('ready')));
  for (const writer of writers) writer.send();
  const problems: string[] = [];
  for (const writer of writers) {
    const exit = await writer.exited;
    if (exit.code !== 0)
      problems.push(`writer ${writer.pid} exited with ${exit.code ?? exit.signal}: ${writer.errorOutput}`);
  }
  reader.send('stop');
  const summary = (await reader.waitFor('summary', 60_000)) as WorkerEvent & {
    reads: number;
    loads: number;
    failures: string[];
    backwards: number;
  };
  problems.push(...summary.failures.map((failure) => `reader: ${failure}`));
  if (summary.backwards > 0) problems.push(`reader saw the revision go backwards ${summary.backwards} times`);

  const acks = writers.flatMap((writer) => writer.events.filter((event) => event.ev === 'ack'));
  const expectedRevision = 1 + processes * saves;
  const checkpoints = new CheckpointManager(await Store.open(base));
  const scan = await scanSession(sessionPath(base));
  problems.push(...scan.torn.map((torn) => `torn file ${torn}`));
  const revision = scan.manifest?.revision;
  if (revision !== expectedRevision)
    problems.push(`manifest revision ${revision}, expected ${expectedRevision}`);
  if (scan.manifest && !(await manifestMatchesCheckpoints(checkpoints.files, REF, scan.manifest)))
    problems.push('the manifest disagrees with the checkpoints');
  const revisions = acks.filter((ack) => ack.kind === 'checkpoint').map((ack) => ack.revision);
  if (new Set(revisions).size !== revisions.length)
    problems.push('two checkpoint saves returned one revision');

  let lostWrites = Math.max(0, expectedRevision - (revision ?? 0));
  const latest = new Map<number, WorkerEvent>();
  for (const ack of acks) {
    const phase = ack.phase as number;
    const dir = (await checkpoints.phaseOf({ ...REF, phase_num: phase })).dir;
    const kind = ack.kind as string;
    const file = `${dir}/${kind === 'checkpoint' ? 'checkpoint' : 'user_feedback'}.md`;
    const fp =
      kind === 'checkpoint'
        ? `retry:${(ack.proc as number) * 1000 + (ack.j as number)}`
        : sha256(feedbackComment(ack.proc as number, ack.j as number));
    if (scan.current.get(file) !== fp && !scan.history.get(file)?.includes(fp)) {
      lostWrites++;
      problems.push(
        `${kind} save ${ack.j} of writer ${ack.proc} (phase ${phase}) is nowhere in ${file} or its history`,
      );
    }
    const before = latest.get(phase);
    if (kind === 'checkpoint' && (!before || (before.revision as number) < (ack.revision as number)))
      latest.set(phase, ack);
  }
  for (const [phase, ack] of latest) {
    const dir = (await checkpoints.phaseOf({ ...REF, phase_num: phase })).dir;
    const fp = `retry:${(ack.proc as number) * 1000 + (ack.j as number)}`;
    if (scan.current.get(`${dir}/checkpoint.md`) !== fp)
      problems.push(
        `phase ${phase}: checkpoint.md is not the save with the highest revision (${ack.revision})`,
      );
  }
  const temps = await tempFiles(base);
  if (temps.length > 0) problems.push(`temporary files left: ${temps.join(', ')}`);
  return {
    saves: processes * saves,
    acknowledged: acks.length,
    expectedRevision,
    revision,
    lostWrites,
    tornReads: summary.failures.length + scan.torn.length,
    readerReads: summary.reads,
    readerLoads: summary.loads,
    problems,
  };
}

export interface CrashTrialReport {
  acknowledged: number;
  inFlight: boolean;
  lostWrites: number;
  tornFiles: number;
  problems: string[];
}

/**
 * Kill -9 trials on one session, one after another: each starts a child that saves in a loop, kills
 * it after a random delay, then restarts (a new Store and load_session) and checks what the child
 * was told against what is on disk. The state a trial leaves is the starting point of the next.
 */
export class CrashChain {
  private readonly current = new Map<string, string>();
  private readonly acked = new Map<string, Set<string>>();
  private revision = 1;
  private trials = 0;

  private constructor(private readonly base: string) {}

  static async create(base: string): Promise<CrashChain> {
    await createFullSession(base);
    return new CrashChain(base);
  }

  async trial(maxKillDelayMs: number): Promise<CrashTrialReport> {
    const first = ++this.trials * 1_000_000;
    const child = await Worker.start({ mode: 'crash-loop', base: this.base, ref: REF, first });
    await child.waitFor('ready');
    await new Promise((resolve) => setTimeout(resolve, Math.random() * maxKillDelayMs));
    child.kill('SIGKILL');
    const exit = await child.exited;
    const problems: string[] = [];
    if (exit.signal !== 'SIGKILL')
      problems.push(`child ended by ${exit.code ?? exit.signal}: ${child.errorOutput}`);
    return this.verify(child.events, problems);
  }

  private async verify(events: WorkerEvent[], problems: string[]): Promise<CrashTrialReport> {
    const begins = events.filter((event) => event.ev === 'begin');
    const acks = events.filter((event) => event.ev === 'ack');
    const last = begins.at(-1);
    const inFlight = last !== undefined && acks.at(-1)?.fp !== last.fp ? last : undefined;

    const checkpoints = new CheckpointManager(await Store.open(this.base));
    let loaded: number | undefined;
    try {
      loaded = (await checkpoints.loadSession(REF)).revision;
      // The sweep of the session's orphans follows the answer.
      await checkpoints.orphanSweeps();
    } catch (error) {
      problems.push(`load_session after the kill failed: ${(error as Error).message}`);
    }
    const temps = await tempFiles(this.base);
    if (temps.length > 0) problems.push(`temporary files left after load_session: ${temps.join(', ')}`);
    const scan = await scanSession(sessionPath(this.base));
    problems.push(...scan.torn.map((torn) => `torn file ${torn}`));
    if (!scan.manifest) problems.push('no readable manifest after load_session');
    else if (!(await manifestMatchesCheckpoints(checkpoints.files, REF, scan.manifest)))
      problems.push('the manifest disagrees with the checkpoints after load_session');
    if (scan.manifest && loaded !== scan.manifest.revision)
      problems.push(`load_session said revision ${loaded}, the file says ${scan.manifest.revision}`);

    let lostWrites = 0;
    const lastAck = new Map<string, string>();
    for (const ack of acks) {
      const file = ack.file as string;
      lastAck.set(file, ack.fp as string);
      const all = this.acked.get(file) ?? new Set<string>();
      all.add(ack.fp as string);
      this.acked.set(file, all);
    }
    const files = new Set([...this.current.keys(), ...lastAck.keys(), ...scan.current.keys()]);
    if (inFlight) files.add(inFlight.file as string);
    for (const file of files) {
      const observed = scan.current.get(file);
      const allowed = new Set([lastAck.has(file) ? lastAck.get(file) : this.current.get(file)]);
      if (inFlight?.file === file) allowed.add(inFlight.fp as string);
      if (!allowed.has(observed)) {
        lostWrites++;
        problems.push(`${file} holds ${observed ?? 'nothing'}, expected one of ${[...allowed].join(', ')}`);
      }
      for (const fp of this.acked.get(file) ?? []) {
        if (fp !== observed && !scan.history.get(file)?.includes(fp)) {
          lostWrites++;
          problems.push(`${file}: acknowledged version ${fp} is neither current nor in history/`);
        }
      }
      if (observed === undefined) this.current.delete(file);
      else this.current.set(file, observed);
    }

    const manifestOps = acks.filter((ack) => ack.kind !== 'agent').length;
    const inFlightManifestOp = inFlight !== undefined && inFlight.kind !== 'agent' ? 1 : 0;
    const revision = scan.manifest?.revision ?? 0;
    if (revision < this.revision + manifestOps) {
      lostWrites += this.revision + manifestOps - revision;
      problems.push(`manifest revision ${revision}, at least ${this.revision + manifestOps} expected`);
    } else if (revision > this.revision + manifestOps + inFlightManifestOp) {
      problems.push(
        `manifest revision ${revision}, at most ${this.revision + manifestOps + inFlightManifestOp} expected`,
      );
    }
    this.revision = revision;
    return {
      acknowledged: acks.length,
      inFlight: inFlight !== undefined,
      lostWrites,
      tornFiles: scan.torn.length,
      problems,
    };
  }
}
