import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CheckpointError, isCheckpointError } from '../../src/checkpoint/model/errors.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, type Partition, PG_UNAVAILABLE, partitionable, sleep } from './pg-harness.js';

const SESSION = ['cut', 'sessions', 's1'];
const FILE = [...SESSION, 'phase_1_concept', 'checkpoint.md'];
const READS = { documents: [FILE], timed: [] };
const HELD_SESSION = ['cut', 'sessions', 'held'];
const HELD_FILE = [...HELD_SESSION, 'phase_1_concept', 'checkpoint.md'];

/** Small bounds, so that a test waits for them in well under a second each. */
const BOUNDS = { dbTimeoutMs: 400, lockTimeoutMs: 400, staleLockMs: 60_000 };
/** The longest a call may take to fail past its bounds (connection teardown, a loaded machine). */
const SLACK_MS = 1_500;

/**
 * A database that stops answering (a network partition: the sockets stay open, nothing comes back)
 * must not hold a call for ever: every round trip is bounded, the connection that waited is destroyed,
 * and what the caller is told matches what the database may have done.
 */
describe.skipIf(PG_UNAVAILABLE !== undefined)('a database that stops answering', () => {
  let cluster: TestCluster;
  let url: string;
  let partition: Partition;
  const stores: PgStore[] = [];

  const open = async (options: Parameters<typeof PgStore.open>[1], through = true) => {
    const store = await PgStore.open(through ? partition.url(url) : url, options);
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    cluster = await startCluster();
    url = await migratedDatabase(cluster, 'unanswered');
  });

  afterEach(async () => {
    partition?.heal();
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await partition?.close();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('fails a read on a pooled connection with UNAVAILABLE within its bound, and the next read after healing works', async () => {
    partition = await partitionable(cluster.port);
    const store = await open(BOUNDS);
    await store.ensureDirectory(SESSION);
    await store.withLock(SESSION, () => store.write(FILE, 'before\n'));
    expect(await store.read(FILE)).toBe('before\n');

    partition.cut();
    const started = Date.now();
    const failure = await failureOf(store.read(FILE));
    expect(failure.code).toBe('UNAVAILABLE');
    expect(failure.message).toMatch(/did not answer/);
    expect(failure.message).toContain('nothing was acknowledged');
    expect(Date.now() - started).toBeLessThan(BOUNDS.dbTimeoutMs + BOUNDS.lockTimeoutMs + SLACK_MS);

    partition.heal();
    expect(await store.read(FILE)).toBe('before\n');
  });

  it('fails a save whose COMMIT was never sent with "nothing was acknowledged", and nothing of it is stored', async () => {
    partition = await partitionable(cluster.port);
    const store = await open(BOUNDS);
    const direct = await open(BOUNDS, false);
    await store.ensureDirectory(SESSION);
    await store.withLock(SESSION, () => store.write(FILE, 'kept\n'));

    // The first save of a session by this store waits for its lock before the action runs.
    const fresh = await open(BOUNDS);
    partition.cut('answers');
    const started = Date.now();
    const failure = await failureOf(
      fresh.withLock(SESSION, () => fresh.write(FILE, 'never committed\n', { batched: true }), READS),
    );
    expect(failure.code).toBe('UNAVAILABLE');
    expect(failure.message).toContain('nothing was acknowledged');
    expect(failure.message).not.toMatch(/may or may not/);
    expect(Date.now() - started).toBeLessThan(BOUNDS.dbTimeoutMs + BOUNDS.lockTimeoutMs + SLACK_MS);
    partition.heal();
    expect(await direct.read(FILE)).toBe('kept\n');
  });

  it('fails a save whose COMMIT was sent but not answered saying it may or may not have been saved, and it was', async () => {
    partition = await partitionable(cluster.port);
    const store = await open(BOUNDS);
    const direct = await open(BOUNDS, false);
    await store.ensureDirectory(SESSION);
    const save = (text: string) =>
      store.withLock(SESSION, () => store.write(FILE, text, { keepHistory: true, batched: true }), READS);
    await save('first\n');

    // This store knows the session now: BEGIN, the lock, the write and COMMIT leave together, and the
    // database commits them; only its answers are held up.
    partition.cut('answers');
    const started = Date.now();
    const failure = await failureOf(save('second\n'));
    expect(failure.code).toBe('UNAVAILABLE');
    expect(failure.message).toMatch(/may or may not have been saved/);
    expect(failure.message).toMatch(/load_session|get_agent_output/);
    expect(failure.message).not.toContain('nothing was acknowledged');
    expect(Date.now() - started).toBeLessThan(BOUNDS.dbTimeoutMs + BOUNDS.lockTimeoutMs + SLACK_MS);
    partition.heal();
    expect(await direct.read(FILE)).toBe('second\n');
  });

  it('releases the session lock of a holder whose connection was cut: once healed, the next writer does not wait for it', async () => {
    partition = await partitionable(cluster.port);
    const holder = await open(BOUNDS);
    const next = await open({ ...BOUNDS, lockTimeoutMs: 20_000 }, false);
    await holder.ensureDirectory(HELD_SESSION);
    let holding: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      holding = resolve;
    });
    const first = failureOf(
      holder.withLock(HELD_SESSION, async () => {
        await holder.write(HELD_FILE, 'by the holder\n', { keepHistory: true });
        holding();
        // The partition begins while the lock is held: the holder's next statement gets no answer.
        await sleep(100);
        await holder.read(HELD_FILE);
        await holder.write(HELD_FILE, 'by the holder, again\n', { keepHistory: true });
      }),
    );
    await held;
    partition.cut();
    expect((await first).code).toBe('UNAVAILABLE');
    // The database hears the holder leave once packets flow again; a connection kept open (say, given
    // back to the pool) would hold the lock until the stale-lock bound.
    partition.heal();

    const started = Date.now();
    await next.withLock(HELD_SESSION, () =>
      next.write(HELD_FILE, 'by the next writer\n', { keepHistory: true }),
    );
    // Far below the holder's stale-lock bound (60 s) and the next writer's lock wait (20 s).
    expect(Date.now() - started).toBeLessThan(SLACK_MS);
    expect(await next.read(HELD_FILE)).toBe('by the next writer\n');
    expect(await next.history(HELD_FILE)).toEqual([]);
  });

  it('answers healthy() false within its bound, and true again once healed', async () => {
    partition = await partitionable(cluster.port);
    const store = await open(BOUNDS);
    expect(await store.healthy()).toBe(true);
    partition.cut();
    const started = Date.now();
    expect(await store.healthy()).toBe(false);
    expect(Date.now() - started).toBeLessThan(BOUNDS.dbTimeoutMs + BOUNDS.lockTimeoutMs + SLACK_MS);
    partition.heal();
    expect(await store.healthy()).toBe(true);
  });
});

/** The CheckpointError `promise` rejects with; fails the test when it resolves or throws anything else. */
async function failureOf(promise: Promise<unknown>): Promise<CheckpointError> {
  try {
    await promise;
  } catch (error) {
    if (isCheckpointError(error)) return error;
    throw error;
  }
  throw new Error('expected a CheckpointError, and the call succeeded');
}
