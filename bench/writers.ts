// 8 client processes, each with its own server, saving for a fixed time into one session or into one
// session each, on the file engine or the PostgreSQL engine; every acknowledged output is checked.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { openManager, splitVerbatim } from './lib/core.js';
import { sha256 } from './lib/fixtures.js';
import { callTool, startCheckpointServer } from './lib/server.js';
import { PHASE_DIRS, type Ref } from './lib/workflow.js';
import { runWorkers } from './throughput.js';

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
  const [reports = []] = await runWorkers({
    base,
    ref: (worker) => refs[worker % refs.length] as Ref,
    processes: options.processes,
    warmup: 0,
    seconds: options.seconds,
    checkpointEvery: 10,
    windows: 1,
    serverArgs,
  });
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
