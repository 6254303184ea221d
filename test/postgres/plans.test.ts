import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, PG_UNAVAILABLE, withDatabase } from './pg-harness.js';

// A save looks its session's documents up by key, whatever plan a connection keeps for its statements:
// read whole, the table of all sessions' documents would cost every save more as it grows. The table
// here has no statistics (nothing analysed it), the case in which a join of the keys with the table
// was planned as a scan of the whole table, on each call.
describe.skipIf(PG_UNAVAILABLE !== undefined)('PostgreSQL plans of a save', () => {
  let cluster: TestCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startCluster();
    url = await migratedDatabase(cluster, 'plans');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /**
   * Whole-table scans of checkpoint_documents so far, as the server counts them: read once no other
   * connection to the database is left, each having reported its counts as it ended.
   */
  const wholeScans = () =>
    withDatabase(url, async (db) => {
      for (;;) {
        const others = await db.query(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        if (others.rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const found = await db.query(
        "SELECT seq_scan::int AS n FROM pg_stat_user_tables WHERE relname = 'checkpoint_documents'",
      );
      return found.rows[0].n as number;
    });

  /** `work` with a store of its own, closed after it: its connections end, and report their counts. */
  const withManager = async (work: (manager: CheckpointManager) => Promise<void>) => {
    const store = await PgStore.open(url);
    try {
      await work(new CheckpointManager(store));
    } finally {
      await store.close();
    }
  };

  it('scans no table of documents whole, over more saves and loads than a plan is kept after', async () => {
    const ref = { project_id: 'plans', session_id: 's1' };
    const save = (manager: CheckpointManager, i: number) =>
      manager.saveCheckpoint({
        ...ref,
        phase_num: 1 + (i % 7),
        status: 'in_progress',
        agents: [{ agent_name: `agent_${i % 3}`, status: 'in_progress' }],
      });
    await withManager(async (manager) => {
      await manager.createSession({ ...ref, user_id: 'u', execution_mode: 'full' });
      // Other sessions' documents in the table.
      for (let s = 2; s <= 6; s++)
        await manager.createSession({ ...ref, session_id: `s${s}`, user_id: 'u', execution_mode: 'full' });
    });
    const before = await wholeScans();
    await withManager(async (manager) => {
      // The first save reads what it needs with its lock (readAll), the next ones check what they know
      // (fresh); PostgreSQL keeps a generic plan after five calls of a statement. Then outputs, new
      // (looked up for a case twin) and replaced (kept as history).
      for (let i = 0; i < 12; i++) await save(manager, i);
      for (let i = 0; i < 8; i++) await manager.loadSession(ref);
      for (let i = 0; i < 12; i++)
        await manager.saveAgentOutput({ ...ref, phase_num: 1, agent_name: `out_${i}`, output_content: 'x' });
      for (let i = 0; i < 12; i++)
        await manager.saveAgentOutput({ ...ref, phase_num: 1, agent_name: `out_${i}`, output_content: 'y' });
    });
    expect(await wholeScans()).toBe(before);
    // The count moves for a scan of the whole table: one made on purpose is counted.
    await withDatabase(url, async (db) => {
      await db.query(
        'SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off',
      );
      await db.query('SELECT count(*) FROM checkpoint_documents');
    });
    expect(await wholeScans()).toBe(before + 1);
  });
});
