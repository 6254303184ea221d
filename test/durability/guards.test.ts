import { randomBytes } from 'node:crypto';
import {
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  type PathLike,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import type * as fsp from 'node:fs/promises';
import { readdir, readFile, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, HeldLock, lockPathOf } from '../../src/checkpoint/store/fs/session-lock.js';
import { nodeFs, type StoreFs, sleep } from '../../src/checkpoint/store/fs/store-fs.js';
import { managers, tempDir } from '../helpers/base-dir.js';

/*
 * Guarantees whose loss the other suites do not see, because the final state stays the same: a lock
 * missing for a moment, a live lock thrown away in a race, a version's time. Each test fails on the one
 * small change to the code that breaks its guarantee (a mutation run found each surviving the rest).
 */

const REF = { project_id: 'p', session_id: 's' };

describe('releasing the session lock', () => {
  it('a holder whose lock was taken over releases it without the lock file going missing, even for a moment', async () => {
    const path = lockPathOf(await tempDir());
    const options = { timeoutMs: 5_000, staleMs: 200 };
    const watch = watchLockFile(path);
    const old = await acquireLock(watch.fs, path, 'session', options);
    await sleep(300);
    const taker = await acquireLock(nodeFs, path, 'session', options);

    watch.on = true;
    await old.release();
    watch.on = false;

    // Were the lock renamed aside and back, a third writer could link its own lock in the gap: two holders.
    expect(watch.gaps).toEqual([]);
    await taker.assertHeld();
    await taker.release();
  });

  it("a lock taken over between the release's token check and its rename is put back for its new holder", async () => {
    const dir = await tempDir();
    const path = lockPathOf(dir);
    const options = { timeoutMs: 5_000, staleMs: 200 };
    let taker: HeldLock | undefined;
    const pausedBeforeRename: StoreFs = {
      ...nodeFs,
      renameSync: (from: PathLike, to: PathLike) => {
        if (taker === undefined && basename(String(to)).startsWith('.lock.release-')) {
          // The holder stalls past the stale timeout right here, and another writer takes the lock over.
          taker = takeOverSync(path);
        }
        return nodeFs.renameSync(from, to);
      },
    };
    const old = await acquireLock(pausedBeforeRename, path, 'session', options);

    await old.release();

    if (taker === undefined) throw new Error('the release never renamed the lock aside');
    expect(await readdir(dir)).toEqual(['.lock']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ token: taker.token });
    await taker.assertHeld();
    await taker.release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('taking over a stale lock', () => {
  it('a waiter that finds a live lock where it moved the stale one aside puts it back, and waits', async () => {
    const dir = await tempDir();
    const path = lockPathOf(dir);
    const options = { timeoutMs: 500, staleMs: 10_000 };
    const stale = await acquireLock(nodeFs, path, 'session', options);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(path, minuteAgo, minuteAgo);
    let rival: HeldLock | undefined;
    const overtaken: StoreFs = {
      ...nodeFs,
      rename: async (from: Parameters<typeof fsp.rename>[0], to: Parameters<typeof fsp.rename>[1]) => {
        if (rival === undefined && basename(String(to)).startsWith('.lock.stale-')) {
          // Between this waiter's look at the stale lock and its rename, a quicker waiter took it over.
          rival = await acquireLock(nodeFs, path, 'session', options);
        }
        return nodeFs.rename(from, to);
      },
    };

    await expect(acquireLock(overtaken, path, 'session', options)).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
    });

    if (rival === undefined) throw new Error('the waiter never moved the stale lock aside');
    expect(await readdir(dir)).toEqual(['.lock']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ token: rival.token });
    await rival.assertHeld();
    await expect(stale.assertHeld()).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await rival.release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('history keeps the time each version was written', () => {
  it('list_history gives an archived version the time it was saved, not the time it was replaced', async () => {
    const { checkpoints } = await managers();
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    const output = (content: string) => ({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      output_content: content,
    });
    const before = Date.now();
    await checkpoints.saveAgentOutput(output('first'));
    const written = Date.now();
    // Longer than the coarsest file time (one second), so the two saves can never share a time.
    await sleep(1_100);
    await checkpoints.saveAgentOutput(output('second'));

    const { versions } = await checkpoints.listHistory({ ...REF, phase_num: 1 });
    expect(versions.map((entry) => [entry.file, entry.version])).toEqual([['writer.md', 1]]);
    const savedAt = Date.parse(versions[0]?.saved_at ?? '');
    // A file's time comes from the kernel's coarse clock, never ahead of Date.now(); at worst a second behind.
    expect(savedAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(savedAt).toBeLessThanOrEqual(written);
  });
});

/** The store's file calls that, while `on`, note every call after which the lock file was missing. */
function watchLockFile(lock: string): { fs: StoreFs; on: boolean; gaps: string[] } {
  const watch = { fs: { ...nodeFs } as StoreFs, on: false, gaps: [] as string[] };
  const noteGap = (name: string, args: unknown[]) => {
    if (watch.on && lstatSync(lock, { throwIfNoEntry: false }) === undefined) {
      watch.gaps.push(
        `${name}(${args
          .slice(0, 2)
          .map((arg) => basename(String(arg)))
          .join(', ')})`,
      );
    }
  };
  for (const name of ['open', 'rename', 'link', 'unlink', 'lstat', 'readFile'] as const) {
    const original = nodeFs[name] as (...args: unknown[]) => Promise<unknown>;
    Object.assign(watch.fs, {
      [name]: async (...args: unknown[]) => {
        try {
          return await original(...args);
        } finally {
          noteGap(name, args);
        }
      },
    });
  }
  for (const name of ['openSync', 'renameSync', 'linkSync', 'unlinkSync', 'closeSync'] as const) {
    const original = nodeFs[name] as (...args: unknown[]) => unknown;
    Object.assign(watch.fs, {
      [name]: (...args: unknown[]) => {
        try {
          return original(...args);
        } finally {
          noteGap(name, args);
        }
      },
    });
  }
  return watch;
}

/**
 * What a second writer does to a lock gone stale, on disk and at once: the lock is moved aside and
 * removed, and the writer's own is linked in its place. Returns the new holder.
 */
function takeOverSync(path: string): HeldLock {
  const token = randomBytes(12).toString('hex');
  const aside = `${path}.stale-${token}`;
  renameSync(path, aside);
  unlinkSync(aside);
  const draft = `${path}.${process.pid}.${token}.tmp`;
  writeFileSync(
    draft,
    `${JSON.stringify({ pid: process.pid, host: hostname(), token, acquired: new Date().toISOString() })}\n`,
  );
  linkSync(draft, path);
  // The holder keeps its lock file open, as acquireLock's does: release() closes it.
  const fd = openSync(draft, 'r');
  unlinkSync(draft);
  return new HeldLock(nodeFs, path, token, 'session', fd, fstatSync(fd, { bigint: true }));
}
