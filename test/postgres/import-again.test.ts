import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { callOk } from '../helpers/client.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { PG_UNAVAILABLE, runCli, serverOn, sleep, treeRows, withDatabase } from './pg-harness.js';

const S1 = { project_id: 'alpha', session_id: 's1' };
const S1_DIR = 'alpha/sessions/s1';
const PHASE_1 = `${S1_DIR}/phase_1_concept`;

/**
 * One moment for every save of these tests: the same content saved on either engine is then the same
 * bytes, as a tree and a database that agree hold it.
 */
const FIXED_CLOCK = () => new Date('2024-11-24T10:00:00.000Z');

function saveWriter(client: Client, output_content: string): Promise<unknown> {
  return callOk(client, 'save_agent_output', { ...S1, phase_num: 1, agent_name: 'writer', output_content });
}

/** The tree the file engine writes for two sessions, one with a kept version of an output. */
async function writeTree(base: string): Promise<void> {
  const { client, close } = await serverOn(await FsStore.open(base), FIXED_CLOCK);
  try {
    await callOk(client, 'create_project', {
      project_id: 'alpha',
      user_id: 'u1',
      project_name: 'Alpha',
      startup_idea: 'An idea.',
    });
    await callOk(client, 'create_session', { ...S1, user_id: 'u1' });
    await callOk(client, 'create_session', { project_id: 'alpha', session_id: 's2', user_id: 'u1' });
    await saveWriter(client, 'first draft');
    await saveWriter(client, 'second draft');
    await callOk(client, 'save_checkpoint', {
      ...S1,
      phase_num: 1,
      status: 'completed',
      agents: [{ agent_name: 'writer', status: 'completed' }],
    });
  } finally {
    await close();
  }
}

describe.skipIf(PG_UNAVAILABLE !== undefined)('importing a tree into a database that has it already', () => {
  let cluster: TestCluster;
  let base: string;
  const scratch: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    const root = await mkdtemp(join(tmpdir(), 'checkpoint-pg-again-'));
    scratch.push(root);
    base = join(root, 'base');
    await writeTree(base);
  });

  afterAll(async () => {
    await cluster?.stop();
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function imported(name: string): Promise<string> {
    const url = await cluster.database(name);
    const run = await runCli(['import', '--from', base, '--store', url]);
    expect(run.code, run.stderr).toBe(0);
    return url;
  }

  async function copyOfTree(): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), 'checkpoint-pg-again-copy-'));
    scratch.push(folder);
    const copy = join(folder, 'base');
    await cp(base, copy, { recursive: true, preserveTimestamps: true });
    return copy;
  }

  it('saves acknowledged after an import survive importing the same tree again, which names the session it left alone', async () => {
    const url = await imported('saved_since');
    const pg = await serverOn(await PgStore.open(url), FIXED_CLOCK);
    let revision: number;
    try {
      await saveWriter(pg.client, 'LIVE: saved after the import');
      const saved = await callOk<{ revision: number }>(pg.client, 'save_checkpoint', {
        ...S1,
        phase_num: 1,
        status: 'failed',
        agents: [{ agent_name: 'writer', status: 'failed' }],
        errors: ['LIVE: acknowledged'],
      });
      revision = saved.revision;
    } finally {
      await pg.close();
    }
    const before = await treeRows(url);

    const again = await runCli(['import', '--from', base, '--store', url]);
    expect(again.code, again.stderr).toBe(0);
    const skipped = again.stdout.split('\n').filter((line) => line.startsWith(`skipped ${S1_DIR}:`));
    expect(skipped).toHaveLength(1);
    for (const file of [`${PHASE_1}/writer.md`, `${PHASE_1}/checkpoint.md`, `${S1_DIR}/session_manifest.md`])
      expect(skipped[0]).toContain(file);
    expect(again.stdout).not.toContain('skipped alpha/sessions/s2');
    expect(await treeRows(url)).toEqual(before);

    const after = await serverOn(await PgStore.open(url), FIXED_CLOCK);
    try {
      const session = await callOk<{ revision: number; phase_statuses: Record<string, string> }>(
        after.client,
        'load_session',
        S1,
      );
      expect(session.revision).toBe(revision);
      expect(session.phase_statuses['1']).toBe('failed');
      const output = await callOk<{ content: string }>(after.client, 'get_agent_output', {
        ...S1,
        phase_num: 1,
        agent_name: 'writer',
      });
      expect(output.content).toBe('LIVE: saved after the import');
    } finally {
      await after.close();
    }
  });

  it('waits for the holder of the session lock row, and compares the tree with what it committed', async () => {
    const url = await imported('held');
    const manifest = `${S1_DIR}/session_manifest.md`;
    await withDatabase(url, async (holder) => {
      await holder.query('BEGIN');
      await holder.query(
        'INSERT INTO checkpoint_locks (path) VALUES ($1) ON CONFLICT (path) DO UPDATE SET path = excluded.path',
        [S1_DIR],
      );
      const running = runCli(['import', '--from', base, '--store', url]);
      // The import is seen waiting for the lock row before the holder writes and commits (watched from
      // a connection of its own: inside a transaction pg_stat_activity stays as it first read).
      await withDatabase(url, async (watcher) => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const waiting = await watcher.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%checkpoint_locks%'",
          );
          if (waiting.rowCount !== 0) return;
          if (Date.now() > deadline) throw new Error('the import never waited for the session lock row');
          await sleep(50);
        }
      });
      await holder.query(
        'UPDATE checkpoint_documents SET body = body || $2::bytea, write_id = gen_random_uuid() WHERE path = $1',
        [manifest, Buffer.from('\n')],
      );
      await holder.query('COMMIT');
      const run = await running;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`skipped ${S1_DIR}: the database holds other content for ${manifest}`);
      const body = await holder.query('SELECT body FROM checkpoint_documents WHERE path = $1', [manifest]);
      expect((body.rows[0] as { body: Buffer }).body.toString('utf8').endsWith('\n\n')).toBe(true);
    });
  });

  it('never overwrites a kept version: a tree whose history/ file differs leaves the session as stored', async () => {
    const url = await imported('history_differs');
    const before = await treeRows(url);
    const copy = await copyOfTree();
    await writeFile(join(copy, PHASE_1, 'history', 'writer.v1.md'), 'another first draft');
    const run = await runCli(['import', '--from', copy, '--store', url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `skipped ${S1_DIR}: the database holds other content for ${PHASE_1}/history/writer.v1.md,`,
    );
    expect(await treeRows(url)).toEqual(before);
  });

  it('adds what the tree has beyond the database, and replaces nothing', async () => {
    const url = await imported('tree_has_more');
    const before = await treeRows(url);
    const copy = await copyOfTree();
    await writeFile(join(copy, PHASE_1, 'critic.md'), 'written by hand after the first import');
    const run = await runCli(['import', '--from', copy, '--store', url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('skipped');
    const after = await treeRows(url);
    expect(after.checkpoint_history).toEqual(before.checkpoint_history);
    expect(after.checkpoint_documents.filter((row) => row[0] !== `${PHASE_1}/critic.md`)).toEqual(
      before.checkpoint_documents,
    );
    expect(after.checkpoint_documents.map((row) => row[0])).toContain(`${PHASE_1}/critic.md`);
  });

  it("keeps a document's version counter where saves left it, so the next save takes a new number", async () => {
    const url = await imported('counter');
    const pg = await serverOn(await PgStore.open(url), FIXED_CLOCK);
    try {
      // Back to the tree's body: the tree and the database agree on it, the database kept two more versions.
      await saveWriter(pg.client, 'third draft');
      await saveWriter(pg.client, 'second draft');
    } finally {
      await pg.close();
    }
    const again = await runCli(['import', '--from', base, '--store', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain(`skipped ${S1_DIR}`);
    // What was there already is not counted as imported.
    expect(again.stdout).toContain('imported 0 folders, 0 documents and 0 kept versions');
    const after = await serverOn(await PgStore.open(url), FIXED_CLOCK);
    try {
      await saveWriter(after.client, 'fourth draft');
      const history = await callOk<{ versions: Array<{ file: string; version: number }> }>(
        after.client,
        'list_history',
        { ...S1, phase_num: 1 },
      );
      expect(history.versions.filter((v) => v.file.startsWith('writer')).map((v) => v.version)).toEqual([
        1, 2, 3, 4,
      ]);
    } finally {
      await after.close();
    }
  });
});
