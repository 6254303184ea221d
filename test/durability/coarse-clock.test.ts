import { fstatSync, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { FsStore as Store } from '../../src/checkpoint/store/fs/fs-store.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempDir } from '../helpers/base-dir.js';

/** Modification times in whole seconds, as ext3, HFS+ and many network file systems keep them. */
function coarse(stats: Stats): Stats {
  const mtimeMs = Math.floor(stats.mtimeMs / 1000) * 1000;
  return Object.assign(Object.create(Object.getPrototypeOf(stats)), stats, {
    mtimeMs,
    mtime: new Date(mtimeMs),
  });
}

const coarseFs: StoreFs = {
  ...nodeFs,
  fstatSync: ((fd: number) => coarse(fstatSync(fd))) as StoreFs['fstatSync'],
  lstat: (async (...args: Parameters<typeof fsp.lstat>) =>
    coarse((await fsp.lstat(...args)) as Stats)) as typeof fsp.lstat,
  open: (async (...args: Parameters<typeof fsp.open>) => {
    const handle = await fsp.open(...args);
    return new Proxy(handle, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property === 'stat') return async () => coarse((await target.stat()) as Stats);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }) as typeof fsp.open,
};

const REF = { project_id: 'p', session_id: 's' };

describe('a file system with a coarse clock', () => {
  it('two processes never lose a manifest update, even when versions share inode, size and mtime', async () => {
    const base = await tempDir();
    const a = new CheckpointManager(await Store.open(base, { fs: coarseFs, durable: false }));
    const b = new CheckpointManager(await Store.open(base, { fs: coarseFs, durable: false }));
    await a.createSession({ ...REF, user_id: 'u' });
    const save = (manager: CheckpointManager, retry: number) =>
      manager.saveCheckpoint({ ...REF, phase_num: 1, status: 'in_progress', agents: [], retry_count: retry });
    let expected = 1;
    for (let round = 0; round < 30; round++) {
      await a.loadSession(REF);
      expect((await save(b, 2)).revision).toBe(++expected);
      expect((await save(b, 3)).revision).toBe(++expected);
      expect((await save(a, 4)).revision).toBe(++expected);
    }
  });
});
