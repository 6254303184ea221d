// 8 client processes, each with its own server, saving for a fixed time into one session or into one
// session each, on the file engine or the PostgreSQL engine; every acknowledged output is checked.
import { type ChildProcess, fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { openManager, splitVerbatim } from './lib/core.js';
import { sha256 } from './lib/fixtures.js';
import { callTool, startCheckpointServer } from './lib/server.js';
import { PHASE_DIRS, type Ref } from './lib/workflow.js';
import type { WorkerReport, WorkerStart } from './throughput-worker.js';

export interface WritersRow {
  engine: 'file' | 'postgres';
  processes: number;
  sessions: number;
  seconds: number;
  saves: number;
  savesPerSecond: number;
  failures: number;
  /** Acknowledged outputs missing or with other content. */
  lost: number;
}

const WORKER = new URL('./throughput-worker.ts', import.meta.url).pathname;
let run = 0;

export async function benchWriters(
  workDir: string,
  options: { store?: string; sessions: number; processes: number; seconds: number },
): Promise<WritersRow[]> {
  const base = join(workDir, `writers-${++run}`);
  const serverArgs = options.store ? ['--store', options.store] : [];
  const refs: Ref[] = Array.from({ length: options.sessions }, (_, i) => ({
    project_id: 'writers',
    session_id: `run${run}-s${i}`,
  }));
  if (options.store) {
    const setup = await startCheckpointServer(base, serverArgs);
    for (const ref of refs)
      await callTool(setup.client, 'create_session', { ...ref, user_id: 'bench', execution_mode: 'full' });
    await setup.close();
  } else {
    const manager = await openManager(base, true);
    for (const ref of refs) await manager.createSession({ ...ref, user_id: 'bench', execution_mode: 'full' });
  }
  const children = Array.from({ length: options.processes }, () =>
    fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  await Promise.all(
    children.map((child, worker) => {
      const start: WorkerStart = {
        base,
        ref: refs[worker % refs.length] as Ref,
        worker,
        checkpointEvery: 10,
        serverArgs,
      };
      child.send(start);
      return nextMessage(child);
    }),
  );
  const deadline = Date.now() + options.seconds * 1000;
  const reports = await Promise.all(
    children.map((child) => {
      child.send({ go: deadline });
      return nextMessage(child).then((message) => (message as { report: WorkerReport }).report);
    }),
  );
  await Promise.all(
    children.map((child) => {
      child.send({ close: true });
      return nextMessage(child);
    }),
  );
  const read = options.store ? await pgReader(options.store) : fileReader(base);
  let lost = 0;
  for (const [worker, report] of reports.entries()) {
    const ref = refs[worker % refs.length] as Ref;
    for (const output of report.outputs) {
      const path = [
        ref.project_id,
        'sessions',
        ref.session_id,
        PHASE_DIRS[output.phase_num] ?? '',
        `${output.agent_name}.md`,
      ];
      const text = await read(path);
      const body = text === undefined ? undefined : splitVerbatim(text, 'Output').body;
      if (body === undefined || sha256(body) !== output.sha256) lost++;
    }
  }
  await read.close?.();
  const saves = reports.reduce((sum, report) => sum + report.outputs.length + report.checkpoints, 0);
  const seconds = Math.max(...reports.map((report) => report.elapsedMs)) / 1000;
  return [
    {
      engine: options.store ? 'postgres' : 'file',
      processes: options.processes,
      sessions: options.sessions,
      seconds,
      saves,
      savesPerSecond: saves / seconds,
      failures: reports.reduce((sum, report) => sum + report.failures.length, 0),
      lost,
    },
  ];
}

type Reader = ((path: string[]) => Promise<string | undefined>) & { close?: () => Promise<void> };

function fileReader(base: string): Reader {
  return (path) => readFile(join(base, ...path), 'utf8').catch(() => undefined);
}

async function pgReader(url: string): Promise<Reader> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const reader: Reader = async (path) =>
    (
      await pool.query('SELECT body FROM checkpoint_documents WHERE path = $1', [path.join('/')])
    ).rows[0]?.body?.toString('utf8');
  reader.close = () => pool.end();
  return reader;
}

function nextMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`writer exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}
