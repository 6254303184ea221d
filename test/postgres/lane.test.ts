import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, PG_UNAVAILABLE, withDatabase } from './pg-harness.js';

const FOLDER = ['lane', 'sessions', 's1', 'phase_1_concept'];
const doc = (i: number) => [...FOLDER, `agent_${i}.md`];

/** Connections the store under test has open to database `name`, as the server counts them. */
async function connectionsTo(adminUrl: string, name: string): Promise<number> {
  return withDatabase(adminUrl, async (db) => {
    const found = await db.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [
      name,
    ]);
    return found.rows[0].n as number;
  });
}

/**
 * connectionsTo once the connections a store closed are gone: a backend leaves pg_stat_activity a moment
 * after its client hangs up, not at once. A connection the store left open stays, and is counted.
 */
async function connectionsLeft(adminUrl: string, name: string, withinMs = 2_000): Promise<number> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const open = await connectionsTo(adminUrl, name);
    if (open === 0 || Date.now() >= deadline) return open;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Statements outside a transaction run on one connection the store keeps (the pool's checkout and
// return cost as much CPU as the statement), or on the pool while it is busy: neither may lose a call.
describe.skipIf(PG_UNAVAILABLE !== undefined)('statements outside a transaction', () => {
  let cluster: TestCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startCluster();
    url = await migratedDatabase(cluster, 'lane');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('run side by side, many at once, each answered as its own', async () => {
    const store = await PgStore.open(url);
    try {
      await store.ensureDirectory(FOLDER);
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.write(doc(i), `text ${i}\n`)));
      const texts = await Promise.all(Array.from({ length: 40 }, (_, i) => store.read(doc(i))));
      expect(texts).toStrictEqual(Array.from({ length: 40 }, (_, i) => `text ${i}\n`));
    } finally {
      await store.close();
    }
  });

  it('go on after the database ended the connection they ran on, and close leaves none open', async () => {
    const store = await PgStore.open(url);
    try {
      await store.ensureDirectory(FOLDER);
      await store.write(doc(0), 'before\n');
      const ended = await withDatabase(cluster.url, async (db) => {
        const result = await db.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          ['lane'],
        );
        return result.rowCount;
      });
      expect(ended).toBeGreaterThan(0);
      // Each is tried once more on a fresh connection: the caller never hears of the lost one.
      expect(await store.write(doc(0), 'after\n')).toBe(true);
      expect(await store.read(doc(0))).toBe('after\n');
    } finally {
      await store.close();
    }
    expect(await connectionsLeft(cluster.url, 'lane')).toBe(0);
  });
});
