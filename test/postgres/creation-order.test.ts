import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { callOk } from '../helpers/client.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, PG_UNAVAILABLE, runCli, serverOn, sleep } from './pg-harness.js';

/** Created in this order: newest first is the reverse, and neither is the order of their names. */
const CREATED = ['mango', 'zebra', 'apple', 'kiwi'];
const NEWEST_FIRST = [...CREATED].reverse();

async function sessionIds(client: Client): Promise<string[]> {
  const listed = await callOk<{ sessions: Array<{ session_id: string }> }>(client, 'list_sessions', {
    project_id: 'alpha',
  });
  return listed.sessions.map((session) => session.session_id);
}

describe.skipIf(PG_UNAVAILABLE !== undefined)(
  'export and import keep the order sessions were created in',
  () => {
    let cluster: TestCluster;
    let root: string;
    let source: string;

    beforeAll(async () => {
      cluster = await startCluster();
      root = await mkdtemp(join(tmpdir(), 'checkpoint-pg-order-'));
      source = await migratedDatabase(cluster, 'order_source');
      const pg = await serverOn(await PgStore.open(source));
      try {
        for (const session_id of CREATED) {
          await callOk(pg.client, 'create_session', { project_id: 'alpha', session_id, user_id: 'u1' });
          // Apart by more than the millisecond a creation time is kept to.
          await sleep(5);
        }
        expect(await sessionIds(pg.client)).toEqual(NEWEST_FIRST);
      } finally {
        await pg.close();
      }
    });

    afterAll(async () => {
      await cluster?.stop();
      await rm(root, { recursive: true, force: true });
    });

    it('list_sessions on the file engine over an export is newest first, as on the database', async () => {
      const out = join(root, 'export');
      const exported = await runCli(['export', '--store', source, '--to', out]);
      expect(exported.code, exported.stderr).toBe(0);
      const files = await serverOn(await FsStore.open(out));
      try {
        expect(await sessionIds(files.client)).toEqual(NEWEST_FIRST);
      } finally {
        await files.close();
      }
    });

    it('list_sessions after importing an export into another database is newest first', async () => {
      const out = join(root, 'export-to-import');
      expect((await runCli(['export', '--store', source, '--to', out])).code).toBe(0);
      const target = await cluster.database('order_target');
      const imported = await runCli(['import', '--from', out, '--store', target]);
      expect(imported.code, imported.stderr).toBe(0);
      const pg = await serverOn(await PgStore.open(target));
      try {
        expect(await sessionIds(pg.client)).toEqual(NEWEST_FIRST);
      } finally {
        await pg.close();
      }
    });
  },
);
