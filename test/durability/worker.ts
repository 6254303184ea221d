// A child process of the durability tests: opens its own Store on a shared base directory and saves
// or reads as told by the JSON in argv[2]. It speaks JSON lines on stdout, written synchronously so
// that a line printed is a line the parent receives even when the process is killed right after.
import { createHash, randomBytes } from 'node:crypto';
import { readSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import { parseUserFeedback } from '../../src/checkpoint/formats/user-feedback.js';
import { CheckpointError } from '../../src/checkpoint/model/errors.js';
import { builtInPlan, type PhaseDefinition } from '../../src/checkpoint/model/phases.js';
import {
  FsStore as Store,
  type FsStoreOptions as StoreOptions,
} from '../../src/checkpoint/store/fs/fs-store.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { feedbackComment, type WorkerConfig } from './protocol.js';

const waiting: Array<(line: string) => void> = [];
const received: string[] = [];
let listening = false;

/** Starts reading stdin by lines: not before a mode asks, so that `hold` can read it synchronously. */
function listen(): void {
  if (listening) return;
  listening = true;
  createInterface({ input: process.stdin }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else received.push(line);
  });
}

/** The seven phases of a full session, in order. */
const FULL_PHASES = builtInPlan('full').phases;

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
await main(config);

async function main(config: WorkerConfig): Promise<void> {
  switch (config.mode) {
    case 'writer':
      return writer(config);
    case 'reader':
      return reader(config);
    case 'crash-loop':
      return crashLoop(config);
    case 'hold':
      return hold(config);
  }
}

/** Lost updates: `saves` manifest-changing saves, alternating checkpoint and feedback over the phases. */
async function writer(config: Extract<WorkerConfig, { mode: 'writer' }>): Promise<void> {
  const { checkpoints } = await open(config.base, config.store);
  emit({ ev: 'ready' });
  await nextLine();
  const { proc } = config;
  for (let j = 0; j < config.saves; j++) {
    const phase = (FULL_PHASES[(proc + j) % 7] as PhaseDefinition).num;
    if (j % 2 === 0) {
      const result = await checkpoints.saveCheckpoint({
        ...config.ref,
        phase_num: phase,
        status: j % 4 === 0 ? 'completed' : 'in_progress',
        agents: [{ agent_name: `p${proc}`, status: 'completed', tokens: j + 1, cost: 0.01 }],
        retry_count: proc * 1000 + j,
      });
      emit({ ev: 'ack', kind: 'checkpoint', phase, proc, j, revision: result.revision });
    } else {
      await checkpoints.saveUserFeedback({
        ...config.ref,
        phase_num: phase,
        reviewed: true,
        approved: true,
        comments: feedbackComment(proc, j),
      });
      emit({ ev: 'ack', kind: 'feedback', phase, proc, j });
    }
  }
  emit({ ev: 'done' });
  process.exit(0);
}

/** Reads the session's files as a human or another tool would, until told to stop; reports what it saw. */
async function reader(config: Extract<WorkerConfig, { mode: 'reader' }>): Promise<void> {
  const { checkpoints } = await open(config.base, config.store);
  const dir = join(config.base, config.ref.project_id, 'sessions', config.ref.session_id);
  let stop = false;
  void nextLine().then(() => {
    stop = true;
  });
  emit({ ev: 'ready' });
  const seen = { reads: 0, loads: 0, failures: [] as string[], revisions: 0, backwards: 0 };
  let lastRevision = 0;
  for (let round = 0; !stop; round++) {
    const parse = async (name: string, parser: (text: string, file: string) => unknown) => {
      const text = await fsp.readFile(join(dir, name), 'utf8').catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      });
      if (text === undefined) return undefined;
      seen.reads++;
      try {
        return parser(text, name);
      } catch (error) {
        seen.failures.push(`${name}: ${(error as Error).message}`);
        return undefined;
      }
    };
    const manifest = (await parse('session_manifest.md', parseManifest)) as { revision: number } | undefined;
    if (manifest) {
      if (manifest.revision < lastRevision) seen.backwards++;
      lastRevision = manifest.revision;
      seen.revisions = manifest.revision;
    }
    for (const { dir: phaseDir } of FULL_PHASES) {
      await parse(`${phaseDir}/checkpoint.md`, parseCheckpoint);
      await parse(`${phaseDir}/user_feedback.md`, parseUserFeedback);
    }
    // A short breath between rounds leaves the writers a CPU on small CI machines.
    await new Promise((resolve) => setTimeout(resolve, config.pauseMs));
    if (round % 4 === 0) {
      try {
        const state = await checkpoints.loadSession(config.ref);
        if (state.revision < lastRevision) seen.backwards++;
        lastRevision = state.revision;
        seen.loads++;
      } catch (error) {
        seen.failures.push(`load_session: ${describe(error)}`);
      }
    }
  }
  emit({ ev: 'summary', ...seen });
  process.exit(0);
}

/**
 * Saves agent outputs, checkpoints and feedback in a loop until killed. Before each save it prints
 * what it is about to write ("begin"), after the save resolves what was acknowledged ("ack").
 */
async function crashLoop(config: Extract<WorkerConfig, { mode: 'crash-loop' }>): Promise<void> {
  const { checkpoints } = await open(config.base, config.store);
  emit({ ev: 'ready' });
  for (let i = config.first; ; i++) {
    const phase = FULL_PHASES[i % 7] as PhaseDefinition;
    const kind = (['agent', 'checkpoint', 'feedback'] as const)[i % 3] as 'agent' | 'checkpoint' | 'feedback';
    if (kind === 'agent') {
      const agent = `agent_${Math.floor(i / 3) % 2}`;
      const content = `# Output ${i}\n\n${randomBytes(1 + Math.floor(Math.random() * 24_000)).toString('base64')}\n`;
      const fp = sha256(content);
      const file = `${phase.dir}/${agent}.md`;
      emit({ ev: 'begin', kind, file, fp });
      await checkpoints.saveAgentOutput({
        ...config.ref,
        phase_num: phase.num,
        agent_name: agent,
        output_content: content,
      });
      emit({ ev: 'ack', kind, file, fp });
    } else if (kind === 'checkpoint') {
      const file = `${phase.dir}/checkpoint.md`;
      const fp = `retry:${i}`;
      emit({ ev: 'begin', kind, file, fp });
      await checkpoints.saveCheckpoint({
        ...config.ref,
        phase_num: phase.num,
        status: 'in_progress',
        agents: [{ agent_name: 'agent_0', status: 'completed', tokens: i }],
        retry_count: i,
      });
      emit({ ev: 'ack', kind, file, fp });
    } else {
      const file = `${phase.dir}/user_feedback.md`;
      const comments = `Feedback ${i}: ${randomBytes(1 + Math.floor(Math.random() * 2_000)).toString('hex')}`;
      const fp = sha256(comments);
      emit({ ev: 'begin', kind, file, fp });
      await checkpoints.saveUserFeedback({
        ...config.ref,
        phase_num: phase.num,
        reviewed: true,
        approved: true,
        comments,
      });
      emit({ ev: 'ack', kind, file, fp });
    }
  }
}

/**
 * A save of phase 1's checkpoint that stops while holding the session lock, just before it writes its
 * temporary file, and goes on when a line arrives on stdin: the parent kills or pauses it there. A
 * small file is created with openSync, so the whole process waits there, reading stdin synchronously.
 */
async function hold(config: Extract<WorkerConfig, { mode: 'hold' }>): Promise<void> {
  let paused = false;
  const pause = (path: unknown) => {
    if (paused || !basename(String(path)).startsWith('.checkpoint.md.')) return;
    paused = true;
    emit({ ev: 'paused' });
    nextLineSync();
  };
  const fs: StoreFs = {
    ...nodeFs,
    open: (async (path: Parameters<typeof fsp.open>[0], ...rest: [string | number, number?]) => {
      pause(path);
      return fsp.open(path, ...rest);
    }) as typeof fsp.open,
    openSync: ((path: Parameters<StoreFs['openSync']>[0], flags: string | number, mode?: number) => {
      pause(path);
      return nodeFs.openSync(path, flags, mode);
    }) as StoreFs['openSync'],
  };
  const { checkpoints } = await open(config.base, { ...config.store, fs });
  try {
    const result = await checkpoints.saveCheckpoint({
      ...config.ref,
      phase_num: 1,
      status: 'failed',
      agents: [{ agent_name: 'holder', status: 'failed' }],
      retry_count: config.retryCount,
    });
    emit({ ev: 'result', ok: true, revision: result.revision });
  } catch (error) {
    emit({ ev: 'result', ok: false, code: error instanceof CheckpointError ? error.code : 'raw' });
  }
  process.exit(0);
}

async function open(base: string, options: StoreOptions = {}): Promise<{ checkpoints: CheckpointManager }> {
  const store = await Store.open(base, options);
  return { checkpoints: new CheckpointManager(store) };
}

function nextLine(): Promise<string> {
  listen();
  const line = received.shift();
  if (line !== undefined) return Promise.resolve(line);
  return new Promise((resolve) => waiting.push(resolve));
}

/** The next line on stdin, the whole process waiting for it (stdin is never read otherwise in this mode). */
function nextLineSync(): string {
  const byte = Buffer.alloc(1);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let line = '';
  for (;;) {
    let count: number;
    try {
      count = readSync(0, byte, 0, 1, null);
    } catch (error) {
      // A non-blocking stdin has nothing yet: wait a little and look again.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(nap, 0, 0, 10);
      continue;
    }
    if (count === 0 || byte[0] === 0x0a) return line;
    line += String.fromCharCode(byte[0] ?? 0);
  }
}

function emit(event: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify(event)}\n`);
}

function describe(error: unknown): string {
  return error instanceof CheckpointError ? `${error.code}: ${error.message}` : String(error);
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
