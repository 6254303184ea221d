import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RelPath } from '../../src/checkpoint/store/engine.js';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { nodeFs, OPEN_READ_NOW, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempDir } from '../helpers/base-dir.js';
import { fileOnly } from '../helpers/engine.js';

const PHASE = ['p1', 'sessions', 's1', 'phase_1_concept'];
const CHECKPOINT = [...PHASE, 'checkpoint.md'];
const FIRST = 'status: in_progress\n';
// The same length as FIRST, other bytes: a version the write can only tell from FIRST by its bytes.
const SECOND = 'status: failed_once\n';

/** A file engine whose every opening of a document for reading is counted, by path. */
async function countingStore(): Promise<{ store: FsStore; root: string; readsOf: (rel: RelPath) => number }> {
  const root = join(await tempDir(), 'base');
  const opened: string[] = [];
  const fs: StoreFs = {
    ...nodeFs,
    openSync: ((path: string, flags: number, mode?: number) => {
      if (flags === OPEN_READ_NOW) opened.push(path);
      return nodeFs.openSync(path, flags, mode);
    }) as StoreFs['openSync'],
  };
  const store = await FsStore.open(root, { fs, durable: false });
  await store.ensureDirectory(PHASE);
  const readsOf = (rel: RelPath) => opened.filter((path) => path === join(store.root, ...rel)).length;
  return { store, root: store.root, readsOf };
}

// A write that keeps history adds no version for the bytes already there. To know, it read the version
// it replaces back whenever the sizes matched; the digest of bytes this process read (save_checkpoint
// reads the checkpoint under the lock just before) tells most of them apart without that read. A digest
// can only ever spare the read back of a file it was taken of, and only when it says the bytes differ.
describe.skipIf(fileOnly('how the file engine compares a replaced version'))(
  'a replaced version of the same size',
  () => {
    it('is not read back when readAll digested it and the new bytes differ, and is still kept', async () => {
      const { store, readsOf } = await countingStore();
      await store.write(CHECKPOINT, FIRST, { keepHistory: true });
      await store.readAll([CHECKPOINT], []);
      const before = readsOf(CHECKPOINT);
      expect(await store.write(CHECKPOINT, SECOND, { keepHistory: true })).toBe(true);
      expect(readsOf(CHECKPOINT)).toBe(before);
      expect(await store.read(CHECKPOINT)).toBe(SECOND);
      const [kept] = await store.history(CHECKPOINT);
      expect(kept?.version).toBe(1);
      expect(await store.read(store.historyFile(CHECKPOINT, 1))).toBe(FIRST);
    });

    it('is read back when nothing digested it: the same bytes add no version', async () => {
      const { store, readsOf } = await countingStore();
      await store.write(CHECKPOINT, FIRST, { keepHistory: true });
      expect(await store.write(CHECKPOINT, SECOND, { keepHistory: true })).toBe(true);
      expect(readsOf(CHECKPOINT)).toBe(1);
      expect(await store.write(CHECKPOINT, SECOND, { keepHistory: true })).toBe(false);
      expect(await store.history(CHECKPOINT)).toHaveLength(1);
    });

    it('is read back when the digest says the same bytes: they add no version', async () => {
      const { store, readsOf } = await countingStore();
      await store.write(CHECKPOINT, FIRST, { keepHistory: true });
      await store.readAll([CHECKPOINT], []);
      const before = readsOf(CHECKPOINT);
      expect(await store.write(CHECKPOINT, FIRST, { keepHistory: true })).toBe(false);
      expect(readsOf(CHECKPOINT)).toBe(before + 1);
      expect(await store.history(CHECKPOINT)).toStrictEqual([]);
    });

    it('is read back once replaced since it was digested, and the bytes put there are not kept twice', async () => {
      const { store, root, readsOf } = await countingStore();
      await store.write(CHECKPOINT, FIRST, { keepHistory: true });
      await store.readAll([CHECKPOINT], []);
      // Another program puts SECOND there, a new file: the digest of FIRST no longer speaks for it.
      const path = join(root, ...CHECKPOINT);
      await writeFile(`${path}.edit`, SECOND);
      await rename(`${path}.edit`, path);
      const before = readsOf(CHECKPOINT);
      expect(await store.write(CHECKPOINT, SECOND, { keepHistory: true })).toBe(false);
      expect(readsOf(CHECKPOINT)).toBe(before + 1);
      expect(await store.read(CHECKPOINT)).toBe(SECOND);
    });
  },
);
