import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { FsStore as Store } from '../../src/checkpoint/store/fs/fs-store.js';
import { tempDir } from '../helpers/base-dir.js';
import { listFiles, tempFiles, Worker } from './harness.js';
import { createFullSession, REF, sessionPath } from './scenarios.js';

const STALE_MS = 1_500;

async function otherWriter(base: string, staleLockMs = STALE_MS): Promise<CheckpointManager> {
  return new CheckpointManager(await Store.open(base, { lockTimeoutMs: 30_000, staleLockMs }));
}

async function saveAndTime(checkpoints: CheckpointManager): Promise<{ ms: number; revision: number }> {
  const start = performance.now();
  const { revision } = await checkpoints.saveCheckpoint({
    ...REF,
    phase_num: 1,
    status: 'completed',
    agents: [{ agent_name: 'newer', status: 'completed' }],
    retry_count: 7,
  });
  return { ms: performance.now() - start, revision };
}

async function phaseOneCheckpoint(base: string) {
  const path = join(sessionPath(base), 'phase_1_concept', 'checkpoint.md');
  return parseCheckpoint(await readFile(path, 'utf8'), path);
}

describe('a lock holder that dies or stops', () => {
  it('a holder killed with SIGKILL while holding the session lock does not block the next writer', async () => {
    const base = await tempDir();
    await createFullSession(base);
    const holder = await Worker.start({ mode: 'hold', base, ref: REF, retryCount: 99 });
    await holder.waitFor('paused');
    expect(await listFiles(sessionPath(base))).toContain('.lock');
    holder.kill('SIGKILL');
    await holder.exited;

    // The holder's pid is gone on this host, so its lock is taken over at once, not after the stale timeout.
    const { ms, revision } = await saveAndTime(await otherWriter(base, 20_000));
    expect(ms).toBeLessThan(10_000);
    expect(revision).toBe(2);
    expect((await phaseOneCheckpoint(base)).retry_count).toBe(7);
    expect(await tempFiles(base)).toEqual([]);
    expect((await listFiles(sessionPath(base))).filter((name) => name.startsWith('.lock'))).toEqual([]);
  });

  it('a writer already waiting for a live holder takes the lock over once the holder dies, not after the stale timeout', async () => {
    const base = await tempDir();
    await createFullSession(base);
    const holder = await Worker.start({ mode: 'hold', base, ref: REF, retryCount: 99 });
    await holder.waitFor('paused');
    // The waiter reads the holder's lock file while its pid is alive, then polls the same file.
    const waiting = saveAndTime(await otherWriter(base, 20_000));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await listFiles(sessionPath(base))).toContain('.lock');
    const killedAt = performance.now();
    holder.kill('SIGKILL');
    await holder.exited;
    const { revision } = await waiting;
    expect(performance.now() - killedAt).toBeLessThan(10_000);
    expect(revision).toBe(2);
    expect((await phaseOneCheckpoint(base)).retry_count).toBe(7);
    expect((await listFiles(sessionPath(base))).filter((name) => name.startsWith('.lock'))).toEqual([]);
  });

  it('a holder paused with SIGSTOP is taken over after the stale timeout, not before, and once resumed writes nothing', async () => {
    const base = await tempDir();
    await createFullSession(base);
    const holder = await Worker.start({ mode: 'hold', base, ref: REF, retryCount: 99 });
    await holder.waitFor('paused');
    // SIGSTOP: the holder is alive, so only the lock's age can free it.
    holder.kill('SIGSTOP');
    try {
      const lockedAt = (await stat(join(sessionPath(base), '.lock'))).mtimeMs;
      const { revision } = await saveAndTime(await otherWriter(base));
      expect(Date.now()).toBeGreaterThanOrEqual(lockedAt + STALE_MS);
      expect(Date.now()).toBeLessThan(lockedAt + STALE_MS + 10_000);
      expect(revision).toBe(2);
    } finally {
      holder.kill('SIGCONT');
    }
    // Resumed, the old holder goes on with its save: its token check fails and it writes nothing.
    holder.send();
    expect(await holder.waitFor('result')).toMatchObject({ ok: false, code: 'LOCK_TIMEOUT' });
    expect((await holder.exited).code).toBe(0);

    const checkpoint = await phaseOneCheckpoint(base);
    expect(checkpoint).toMatchObject({ retry_count: 7, status: 'completed' });
    expect(checkpoint.agents.map((agent) => agent.agent_name)).toEqual(['newer']);
    const reader = new CheckpointManager(await Store.open(base));
    expect((await reader.loadSession(REF)).revision).toBe(2);
    await reader.orphanSweeps();
    expect(await tempFiles(base)).toEqual([]);
    expect((await listFiles(sessionPath(base))).filter((name) => name.includes('history'))).toEqual([]);
  });
});
