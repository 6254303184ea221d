import net from 'node:net';
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
  folder: string[] = FOLDER,
): Promise<{ release: () => void; done: Promise<void> }> {
  const released = signal();
  const holding = signal();
  const done = store.withLock(folder, async () => {
    holding.fire();
    await released.promise;
    await afterRelease();
  });
  await holding.promise;
  return { release: released.fire, done };
}

/**
 * The statements `work` sends, by name, each with how many sent before it were still unanswered
 * (none: a new round trip). With `socketWrites`, each write to a socket is listed among them as
 * SOCKET_WRITE: what was sent before it left in it or earlier.
 */
async function statementsOf(
  work: () => Promise<unknown>,
  socketWrites = false,
): Promise<Array<{ statement: string; unanswered: number }>> {
  const sent: Array<{ statement: string; unanswered: number }> = [];
  let unanswered = 0;
  const query = pg.Client.prototype.query;
  const { _write, _writev } = net.Socket.prototype as unknown as Record<'_write' | '_writev', SocketWrite>;
  if (socketWrites) {
    const noted = (original: SocketWrite): SocketWrite =>
      function (this: net.Socket, ...args: unknown[]) {
        sent.push({ statement: SOCKET_WRITE, unanswered });
        return original.apply(this, args);
      };
    Object.assign(net.Socket.prototype, { _write: noted(_write), _writev: noted(_writev) });
  }
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
    await work();
  } finally {
    pg.Client.prototype.query = query;
    Object.assign(net.Socket.prototype, { _write, _writev });
  }
  return sent;
}

const SOCKET_WRITE = '(a write to the socket)';
type SocketWrite = (this: net.Socket, ...args: unknown[]) => void;

/** How many of `sent` are `statement`. */
function count(sent: ReadonlyArray<{ statement: string }>, statement: string): number {
  return sent.filter((entry) => entry.statement === statement).length;
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

  it('make a repeated save_checkpoint six statements that wait for one round trip', async () => {
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
    const sent = await statementsOf(save, true);
    // What this store's last save left is what the action reads: BEGIN, the lock, the check that it
    // still stands, the checkpoint, the manifest and COMMIT leave without waiting for an answer. The
    // first three leave before the action builds its writes, so the database works on them meanwhile.
    expect(sent).toStrictEqual([
      { statement: 'BEGIN', unanswered: 0 },
      { statement: 'lock', unanswered: 1 },
      { statement: 'fresh', unanswered: 2 },
      { statement: SOCKET_WRITE, unanswered: 3 },
      { statement: 'write', unanswered: 3 },
      { statement: 'write', unanswered: 4 },
      { statement: 'COMMIT', unanswered: 5 },
      { statement: SOCKET_WRITE, unanswered: 6 },
    ]);
    // Both saves committed: the manifest of create_session, then one revision each.
    expect((await manager.loadSession(ref)).revision).toBe(3);
  });
});

// A store that saved a session last reads, on its next save there, what it left, and checks under the
// lock that it still stands: another writer in between must never be overwritten by what it did not see.
describe.skipIf(PG_UNAVAILABLE !== undefined)('speculative saves', () => {
  let cluster: TestCluster;
  let url: string;
  const stores: PgStore[] = [];
  const managerOf = async (options?: Parameters<typeof PgStore.open>[1]) => {
    const store = await PgStore.open(url, options);
    stores.push(store);
    return { store, manager: new CheckpointManager(store) };
  };
  let sessions = 0;
  /** A new session, saved twice by `manager`, so that its store knows what it left there. */
  const savedTwice = async (manager: CheckpointManager) => {
    const ref = { project_id: 'speculated', session_id: `s${++sessions}` };
    await manager.createSession({ ...ref, user_id: 'u', execution_mode: 'full' });
    await save(manager, ref, 'market');
    await save(manager, ref, 'market');
    return { ref, folder: ['speculated', 'sessions', ref.session_id] };
  };
  const save = (manager: CheckpointManager, ref: { project_id: string; session_id: string }, agent: string) =>
    manager.saveCheckpoint({
      ...ref,
      phase_num: 2,
      status: 'in_progress',
      agents: [{ agent_name: agent, status: 'in_progress' }],
    });

  beforeAll(async () => {
    cluster = await startCluster();
    url = await migratedDatabase(cluster, 'speculated');
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('after another writer saved, run again on what it left: no revision is lost', async () => {
    const a = await managerOf();
    const b = await managerOf();
    const { ref } = await savedTwice(a.manager);
    await save(b.manager, ref, 'legal');
    const sent = await statementsOf(() => save(a.manager, ref, 'market'));
    // The check failed, so the save ran again with its reads answered by the database.
    expect(count(sent, 'fresh')).toBe(1);
    expect(count(sent, 'readAll')).toBe(1);
    expect(count(sent, 'COMMIT')).toBe(2);
    // create_session, two saves of a, one of b, one of a: five revisions, the last built on b's.
    const session = await a.manager.loadSession(ref);
    expect(session.revision).toBe(5);
    expect((await b.manager.loadSession(ref)).revision).toBe(5);
  });

  it('wait for the lock, and check what stands once they hold it', async () => {
    const a = await managerOf();
    const b = await managerOf();
    const { ref, folder } = await savedTwice(a.manager);
    const held = await holdLock(
      b.store,
      async () => {
        await save(b.manager, ref, 'legal');
      },
      folder,
    );
    let sent: Array<{ statement: string; unanswered: number }> = [];
    const saved = statementsOf(() => save(a.manager, ref, 'market')).then((list) => {
      sent = list;
    });
    await until(async () => (await waitingForLock(cluster.url, 'speculated')) === 1);
    held.release();
    await held.done;
    await saved;
    // Only a speculative run sends the check (b's save, under its own lock, is counted here too).
    expect(count(sent, 'fresh')).toBe(1);
    // create_session, two saves of a, b's, then a's on top of it.
    expect((await a.manager.loadSession(ref)).revision).toBe(5);
  });

  it('refused the lock, report LOCK_TIMEOUT without waiting for it a second time', async () => {
    const a = await managerOf({ lockTimeoutMs: 200 });
    const b = await managerOf();
    const { ref, folder } = await savedTwice(a.manager);
    const held = await holdLock(b.store, async () => undefined, folder);
    let refused: unknown;
    const sent = await statementsOf(async () => {
      refused = await save(a.manager, ref, 'market').catch((error: unknown) => error);
    });
    held.release();
    await held.done;
    expect(refused).toBeInstanceOf(CheckpointError);
    expect((refused as CheckpointError).code).toBe('LOCK_TIMEOUT');
    expect(count(sent, 'lock')).toBe(1);
    // Nothing of the refused save stands; the next one goes through.
    expect((await a.manager.loadSession(ref)).revision).toBe(3);
    await save(a.manager, ref, 'market');
    expect((await a.manager.loadSession(ref)).revision).toBe(4);
  });

  it('that fail on what was replaced since run again, and do not report the failure', async () => {
    const a = await managerOf();
    const b = await managerOf();
    const folder = ['speculated', 'sessions', 'by-hand'];
    const doc = [...folder, 'session_manifest.md'];
    const reads = { documents: [doc], timed: [] };
    await a.store.ensureDirectory(folder);
    await a.store.write(doc, 'replaced\n');
    await a.store.withLock(folder, async () => a.store.read(doc), reads);
    await b.store.write(doc, 'standing\n');
    const readOnce = async () => {
      const text = await a.store.read(doc);
      if (text === 'replaced\n') throw new CheckpointError('CONFLICT', 'acted on a replaced document');
      return text;
    };
    let seen: unknown;
    const sent = await statementsOf(async () => {
      seen = await a.store.withLock(folder, readOnce, reads);
    });
    expect(seen).toBe('standing\n');
    expect(count(sent, 'fresh')).toBe(1);
  });

  it('go on after the database ended the connections, with what the store knew', async () => {
    const a = await managerOf();
    const { ref } = await savedTwice(a.manager);
    await withDatabase(cluster.url, (db) =>
      db.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        ['speculated'],
      ),
    );
    const sent = await statementsOf(() => save(a.manager, ref, 'market'));
    expect(count(sent, 'fresh')).toBe(1);
    expect((await a.manager.loadSession(ref)).revision).toBe(4);
  });
});
