import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from '../../src/checkpoint/model/errors.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, PG_UNAVAILABLE } from './pg-harness.js';

const SESSION = ['stale', 'sessions', 's1'];
const FILE = [...SESSION, 'phase_1_concept', 'checkpoint.md'];

/**
 * A holder that stops talking inside its transaction (a paused replica, a frozen VM) holds the session's
 * row lock. The file engine takes a stale lock over; here the database ends the holder's connection
 * after staleLockMs idle, which rolls its writes back and frees the session. Without that, the next
 * writer would wait until its own lock timeout and fail.
 */
describe.skipIf(PG_UNAVAILABLE !== undefined)('a holder silent inside its transaction', () => {
  let cluster: TestCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startCluster();
    url = await migratedDatabase(cluster, 'stale');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('loses the session to the next writer after staleLockMs, and nothing it wrote stays', async () => {
    const paused = await PgStore.open(url, { staleLockMs: 500, lockTimeoutMs: 60_000 });
    const next = await PgStore.open(url, { lockTimeoutMs: 15_000 });
    try {
      await next.ensureDirectory(SESSION);
      let resume: () => void = () => undefined;
      const resumed = new Promise<void>((resolve) => {
        resume = resolve;
      });
      let holding: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        holding = resolve;
      });
      const first = paused.withLock(SESSION, async () => {
        await paused.write(FILE, 'written by the holder before it paused\n', { keepHistory: true });
        holding();
        // Paused: nothing is sent until the next writer is through (which it can only be if freed).
        await resumed;
        await paused.write(FILE, 'written by the holder after it resumed\n', { keepHistory: true });
      });
      const firstOutcome = first.then(
        () => 'acknowledged',
        (error: unknown) => (isCheckpointError(error) ? error.code : String(error)),
      );
      await held;

      await next.withLock(SESSION, () =>
        next.write(FILE, 'written by the next writer\n', { keepHistory: true }),
      );
      resume();

      expect(await firstOutcome).toBe('UNAVAILABLE');
      expect(await next.read(FILE)).toBe('written by the next writer\n');
      // The holder's first write rolled back with its transaction: no version of it was kept.
      expect(await next.history(FILE)).toEqual([]);
    } finally {
      await paused.close();
      await next.close();
    }
  });
});
