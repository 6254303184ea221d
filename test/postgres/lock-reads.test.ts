import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { CheckpointError } from '../../src/checkpoint/model/errors.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, PG_UNAVAILABLE, withDatabase } from './pg-harness.js';

const FOLDER = ['reads', 'sessions', 's1'];
const DOC = [...FOLDER, 'session_manifest.md'];
const TIMED = [...FOLDER, 'phase_1_concept', 'user_feedback.md'];
const READS = { documents: [DOC], timed: [TIMED] };

/** Sessions of database `name` waiting for a lock another holds, as the server reports them. */
async function waitingForLock(adminUrl: string, name: string): Promise<number> {
  return withDatabase(adminUrl, async (db) => {
    const found = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
      [name],
    );
    return found.rows[0].n as number;
  });
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

/**
 * `store` holding FOLDER's lock until `release()`, then doing `afterRelease` under it; `done` settles
 * when its transaction has ended.
 */
async function holdLock(
  store: PgStore,
  afterRelease: () => Promise<void> = async () => undefined,
): Promise<{ release: () => void; done: Promise<void> }> {
  const released = signal();
  const holding = signal();
  const done = store.withLock(FOLDER, async () => {
    holding.fire();
    await released.promise;
    await afterRelease();
  });
  await holding.promise;
  return { release: released.fire, done };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((done) => setTimeout(done, 10));
  expect(await check()).toBe(true);
}

// A locked action's first reads travel with BEGIN and the lock, unanswered in between: they must run
// after the lock is granted (seeing what its holder before committed), give way to the action's own
// writes, and leave the connection fit for the next transaction when the lock is refused.
describe.skipIf(PG_UNAVAILABLE !== undefined)('reads sent with the session lock', () => {
  let cluster: TestCluster;
  let url: string;
  const stores: PgStore[] = [];
  const open = async (options?: Parameters<typeof PgStore.open>[1]) => {
    const store = await PgStore.open(url, options);
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    cluster = await startCluster();
    url = await migratedDatabase(cluster, 'reads');
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('see what the holder before them committed, not what stood when they were sent', async () => {
    const holder = await open();
    const next = await open();
    await holder.ensureDirectory(FOLDER);
    await holder.write(DOC, 'first\n');
    const first = await holdLock(holder, async () => {
      await holder.write(DOC, 'second\n');
      await holder.write(TIMED, 'review\n', { createFolder: true });
    });
    const seen = next.withLock(
      FOLDER,
      async () => ({ text: await next.read(DOC), reviewed: await next.modifiedMs(TIMED) }),
      READS,
    );
    // The next one's statements are at the server, its lock waiting behind the holder's.
    await until(async () => (await waitingForLock(cluster.url, 'reads')) === 1);
    first.release();
    await first.done;
    const { text, reviewed } = await seen;
    expect(text).toBe('second\n');
    expect(reviewed).toBe(await holder.modifiedMs(TIMED));
    expect(reviewed).toBeTypeOf('number');
  });

  it('give way to the action’s own writes', async () => {
    const store = await open();
    await store.ensureDirectory(FOLDER);
    await store.write(DOC, 'before\n');
    const read = await store.withLock(
      FOLDER,
      async () => {
        expect(await store.read(DOC)).toBe('before\n');
        await store.write(DOC, 'during\n');
        return store.readAll([DOC], []);
      },
      READS,
    );
    expect(read.documents[0]?.text).toBe('during\n');
  });

  it('fail with a refused lock, and the connection serves the next transaction', async () => {
    // One connection, so the next transaction runs on the very connection the refused one used.
    const store = await open({ poolSize: 1, lockTimeoutMs: 200 });
    const holder = await open();
    await store.ensureDirectory(FOLDER);
    await store.write(DOC, 'kept\n');
    const first = await holdLock(holder);
    const refused = await store.withLock(FOLDER, async () => 'ran', READS).catch((error: unknown) => error);
    first.release();
    await first.done;
    expect(refused).toBeInstanceOf(CheckpointError);
    expect((refused as CheckpointError).code).toBe('LOCK_TIMEOUT');
    for (let i = 0; i < 3; i++) {
      const text = await store.withLock(FOLDER, async () => store.read(DOC), READS);
      expect(text).toBe('kept\n');
    }
  });

  it('batched writes: one that fails rolls all back, and the action runs once more, unbatched', async () => {
    // A database whose trigger refuses writes of REFUSED: the first only, or every one.
    const refusing = await migratedDatabase(cluster, 'refusals');
    await withDatabase(refusing, (db) =>
      db.query(`
CREATE SEQUENCE refusals;
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- nextval is not rolled back with the transaction it ran in: it counts every attempt.
  IF NEW.name = 'refused_once.md' AND nextval('refusals') = 1 OR NEW.name = 'refused.md' THEN
    RAISE EXCEPTION 'refused';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON checkpoint_documents FOR EACH ROW EXECUTE FUNCTION refuse();`),
    );
    const store = await PgStore.open(refusing);
    stores.push(store);
    await store.ensureDirectory(FOLDER);
    await store.write(DOC, 'before\n');
    let runs = 0;
    const twoWrites = (second: string) => async () => {
      runs++;
      await store.write(DOC, `${second} run ${runs}\n`, { batched: true });
      await store.write([...FOLDER, second], `${second} run ${runs}\n`, { batched: true });
      return runs;
    };
    expect(await store.withLock(FOLDER, twoWrites('refused_once.md'))).toBe(2);
    expect(await store.read(DOC)).toBe('refused_once.md run 2\n');
    expect(await store.read([...FOLDER, 'refused_once.md'])).toBe('refused_once.md run 2\n');

    runs = 0;
    const refused = await store.withLock(FOLDER, twoWrites('refused.md')).catch((error: unknown) => error);
    expect(runs).toBe(2);
    expect(refused).toBeInstanceOf(CheckpointError);
    // The error an unbatched write gives: the database's own code, P0001 for RAISE.
    expect((refused as CheckpointError).code).toBe('INTERNAL');
    expect((refused as CheckpointError).message).toContain('(P0001)');
    // Neither write of either run stands.
    expect(await store.read(DOC)).toBe('refused_once.md run 2\n');
    expect(await store.read([...FOLDER, 'refused.md'])).toBeUndefined();
  });

  it('a batched first save that another first save beat is written by the run again, not lost', async () => {
    const store = await open();
    await store.ensureDirectory(FOLDER);
    const raced = [...FOLDER, 'raced.md'];
    await withDatabase(url, async (other) => {
      await other.query('BEGIN');
      await other.query(
        'INSERT INTO checkpoint_documents (path, parent, name, body, write_id) VALUES ($1, $2, $3, $4, gen_random_uuid())',
        [raced.join('/'), FOLDER.join('/'), 'raced.md', Buffer.from('theirs\n')],
      );
      const ours = store.withLock(FOLDER, async () => {
        await store.write(raced, 'ours\n', { batched: true });
      });
      // Our insert waits on theirs; once theirs commits, ours inserts nothing.
      await until(async () => (await waitingForLock(cluster.url, 'reads')) === 1);
      await other.query('COMMIT');
      await ours;
    });
    expect(await store.read(raced)).toBe('ours\n');
  });

  it('make a repeated save_checkpoint six statements in two round trips', async () => {
    const store = await open();
    const manager = new CheckpointManager(store);
    const ref = { project_id: 'counted', session_id: 's1' };
    await manager.createSession({ ...ref, user_id: 'u', execution_mode: 'full' });
    const save = () =>
      manager.saveCheckpoint({
        ...ref,
        phase_num: 2,
        status: 'in_progress',
        agents: [{ agent_name: 'market', status: 'in_progress' }],
      });
    await save();
    // Each statement, and how many sent before it were still unanswered: none means a new round trip.
    const sent: Array<{ statement: string; unanswered: number }> = [];
    let unanswered = 0;
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [config] = args as [string | { name?: string }];
      sent.push({ statement: typeof config === 'string' ? config : (config.name ?? 'unnamed'), unanswered });
      unanswered++;
      const answer = (query as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      answer.then(
        () => unanswered--,
        () => unanswered--,
      );
      return answer;
    } as typeof query;
    try {
      await save();
    } finally {
      pg.Client.prototype.query = query;
    }
    // BEGIN, the lock and the reads leave together; then the checkpoint, the manifest and COMMIT.
    expect(sent).toStrictEqual([
      { statement: 'BEGIN', unanswered: 0 },
      { statement: 'lock', unanswered: 1 },
      { statement: 'readAll', unanswered: 2 },
      { statement: 'write', unanswered: 0 },
      { statement: 'write', unanswered: 1 },
      { statement: 'COMMIT', unanswered: 2 },
    ]);
    // Both saves committed: the manifest of create_session, then one revision each.
    expect((await manager.loadSession(ref)).revision).toBe(3);
  });
});
