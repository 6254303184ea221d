// Section: the PostgreSQL engine on a throwaway local cluster (fsync off, as the file runs keep fsync on:
// see the report's note). save_agent_output and save_checkpoint against their floors (after a warm-up,
// in turns; the fresh server's first saves apart), 8 writers on one session and on 8
// sessions beside the file engine, and load_session at 10,000 sessions.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { startCluster } from '../test/helpers/postgres.js';
import { proseOfSize } from './lib/fixtures.js';
import { SCALE_PROJECT, seedSessions, sessionId } from './lib/seed.js';
import { callTool, SERVER_ENTRY, startCheckpointServer } from './lib/server.js';
import {
  nowMs,
  type Summary,
  summarize,
  summarizeAll,
  timeInterleaved,
  timeSequential,
} from './lib/stats.js';
import { type ProfiledCalls, profileCalls } from './profiles.js';
import { benchWriters, type WritersRow } from './writers.js';

export interface PostgresResult {
  /** save_agent_output of 1 KB over stdio on the PostgreSQL engine, after `warmup` saves. */
  save: Summary;
  /** The first saves of the fresh server, before its warm-up. */
  fresh: Summary;
  warmup: number;
  /** The same transaction sent by hand in one round trip, and an MCP ping over stdio. */
  floor: { transaction: Summary; ping: Summary };
  /** save_checkpoint over stdio, and its floor: checkpoint (with history) and manifest in one round trip. */
  checkpoint: { save: Summary; transaction: Summary };
  /** save_checkpoint on a profiled server. */
  profile: ProfiledCalls;
  writers: WritersRow[];
  loadSession: { sessions: number; importSeconds: number; summary: Summary };
}

const REF = { project_id: 'bench', session_id: 'pg-save' };

export async function benchPostgres(
  workDir: string,
  count: number,
  seconds: number,
): Promise<PostgresResult> {
  const cluster = await startCluster();
  try {
    const url = await cluster.database('bench');
    cli('migrate', '--store', url);
    const save = await saveAndFloor(workDir, url, count);
    const profile = await profileCheckpoint(workDir, url, Math.max(count, 1000));
    const writers = [
      ...(await benchWriters(workDir, { store: url, sessions: 1, processes: 8, seconds })),
      ...(await benchWriters(workDir, { store: url, sessions: 8, processes: 8, seconds })),
      ...(await benchWriters(workDir, { sessions: 1, processes: 8, seconds })),
      ...(await benchWriters(workDir, { sessions: 8, processes: 8, seconds })),
    ];
    const loadSession = await loadAtScale(workDir, await cluster.database('scale'), count);
    return { ...save, profile, writers, loadSession };
  } finally {
    await cluster.stop();
  }
}

/** The benchmark's save_checkpoint number i: the seven phases in turn, one agent each. */
function checkpointArgs(ref: typeof REF, i: number): Record<string, unknown> {
  return {
    ...ref,
    phase_num: 1 + (((i % 7) + 7) % 7),
    status: 'in_progress',
    execution_mode: 'parallel',
    agents: [
      { agent_name: `agent-${i % 50}`, status: 'in_progress', input_tokens: 1200, output_tokens: 800 },
    ],
  };
}

/** save_checkpoint on a profiled server: where its time goes (see bench/profiles.ts). */
async function profileCheckpoint(workDir: string, url: string, count: number): Promise<ProfiledCalls> {
  const ref = { project_id: 'bench', session_id: 'pg-profile' };
  const profiled = await profileCalls(
    workDir,
    ['--base-dir', join(workDir, 'unused'), '--store', url],
    async (client) => {
      await callTool(client, 'create_session', { ...ref, user_id: 'bench', execution_mode: 'full' });
      // The saves of the timed run's warm-up, so that V8 has compiled what the timed saves run.
      for (let i = 0; i < WARMUP_CHECKPOINTS; i++)
        await callTool(client, 'save_checkpoint', checkpointArgs(ref, i));
    },
    { checkpoint: (client, i) => callTool(client, 'save_checkpoint', checkpointArgs(ref, i)) },
    count,
  );
  return profiled.checkpoint as ProfiledCalls;
}

/**
 * Calls a fresh server takes to reach its steady pace: V8 compiles the hot paths of the SDK, zod, pg
 * and ours over the first ~2,000 requests (a save's median falls from ~2 ms to ~1 ms, a ping's from
 * ~0.4 ms to ~0.08 ms). The ratios compare the steady pace of both sides; the fresh pace is shown apart.
 */
const WARMUP_SAVES = 2000;
const WARMUP_CHECKPOINTS = 600;

async function saveAndFloor(workDir: string, url: string, count: number) {
  const server = await startCheckpointServer(join(workDir, 'unused'), ['--store', url]);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  try {
    await callTool(server.client, 'create_session', { ...REF, user_id: 'bench', execution_mode: 'full' });
    const content = proseOfSize(1024, 3);
    const save = (i: number) =>
      callTool(server.client, 'save_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: `agent-${(i + 100) % 50}`,
        output_content: `${i}\n${content}`,
      });
    const checkpointSave = (i: number) => callTool(server.client, 'save_checkpoint', checkpointArgs(REF, i));
    // The fresh server's first saves, as a host that starts one per conversation sees them.
    const fresh = summarize(await timeSequential(count, 0, (i) => save(i)));
    for (let i = count; i < WARMUP_SAVES; i++) await save(i);
    for (let i = 0; i < WARMUP_CHECKPOINTS; i++) await checkpointSave(i);

    // The floor: what one save must do at least, as one round trip of the same statements by hand.
    // One document's save: lock the row, keep the old version as history, write the new, notify.
    const kept = (
      path: string,
      body: string,
    ) => `SELECT body FROM checkpoint_documents WHERE path = ${path} FOR UPDATE;
INSERT INTO checkpoint_history (path, parent, version, body, saved_at)
  SELECT d.path, d.parent, coalesce((SELECT max(h.version) FROM checkpoint_history h WHERE h.path = d.path), 0) + 1, d.body, d.updated_at
  FROM checkpoint_documents d WHERE d.path = ${path};
${written(path, body)}`;
    const written = (path: string, body: string) =>
      `INSERT INTO checkpoint_documents (path, parent, name, body, write_id) VALUES (${path}, 'floor', 'x', convert_to(${body}, 'UTF8'), gen_random_uuid())
  ON CONFLICT (path) DO UPDATE SET body = excluded.body, write_id = excluded.write_id, updated_at = clock_timestamp();
SELECT pg_notify('checkpoint_changes', ${path});`;
    const literal = (text: string) => client.escapeLiteral(text);
    const transaction = (i: number) =>
      client.query(
        `BEGIN;\n${kept(literal(`floor/agent-${(i + 100) % 50}.md`), literal(`${i}\n${content}`))}\nCOMMIT;`,
      );
    const checkpoint = await client.query(
      "SELECT body FROM checkpoint_documents WHERE path LIKE '%/checkpoint.md' LIMIT 1",
    );
    const manifest = await client.query(
      "SELECT body FROM checkpoint_documents WHERE path LIKE '%/session_manifest.md' LIMIT 1",
    );
    const bodyOf = (result: pg.QueryResult) => {
      const body = result.rows[0]?.body as Buffer | undefined;
      if (body === undefined) throw new Error('the session has no checkpoint or manifest to copy');
      return body.toString('utf8');
    };
    // The checkpoint's floor: its save (with history) and the manifest's, in one round trip.
    const checkpointTransaction = (i: number) =>
      client.query(
        `BEGIN;\n${kept(literal(`floor/phase_${i % 7}/checkpoint.md`), literal(`${i}\n${bodyOf(checkpoint)}`))}\n${written(literal('floor/session_manifest.md'), literal(`${i}\n${bodyOf(manifest)}`))}\nCOMMIT;`,
      );
    const floors = { transaction, checkpointTransaction, ping: () => server.client.ping() };
    for (let i = 0; i < 200; i++) for (const floor of Object.values(floors)) await floor(i);
    // Both sides in turns, so that load from elsewhere on the machine falls on them alike.
    const times = summarizeAll(
      await timeInterleaved(10, Math.ceil(count / 10), {
        save: (i) => save(WARMUP_SAVES + i),
        checkpointSave: (i) => checkpointSave(WARMUP_CHECKPOINTS + i),
        ...floors,
      }),
    );
    return {
      save: times.save,
      fresh,
      warmup: WARMUP_SAVES,
      floor: { transaction: times.transaction, ping: times.ping },
      checkpoint: { save: times.checkpointSave, transaction: times.checkpointTransaction },
    };
  } finally {
    client.release();
    await pool.end();
    await server.close();
  }
}

async function loadAtScale(workDir: string, url: string, count: number) {
  const base = join(workDir, 'pg-scale');
  await seedSessions(base, 10_000);
  cli('migrate', '--store', url);
  const started = nowMs();
  cli('import', '--from', base, '--store', url);
  const importSeconds = (nowMs() - started) / 1000;
  const server = await startCheckpointServer(join(workDir, 'unused'), ['--store', url]);
  try {
    const ref = { project_id: SCALE_PROJECT, session_id: sessionId(0) };
    const summary = summarize(
      await timeSequential(count, 20, () => callTool(server.client, 'load_session', ref)),
    );
    return { sessions: 10_000, importSeconds, summary };
  } finally {
    await server.close();
  }
}

function cli(...args: string[]): void {
  const run = spawnSync(process.execPath, [SERVER_ENTRY, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`checkpoint-mcp ${args[0]} failed: ${run.stderr}`);
}
