import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempDir } from '../helpers/base-dir.js';
import { fileOnly } from '../helpers/engine.js';

const SESSION = ['p1', 'sessions', 's1'];
const MANIFEST = [...SESSION, 'session_manifest.md'];
const CHECKPOINT = [...SESSION, 'phase_1_concept', 'checkpoint.md'];

interface Seen {
  /** The link count of the file at each rename's target just before the rename, by target name. */
  linksBeforeRename: Array<{ name: string; nlink: number | undefined }>;
  /** Names given by linkSync outside history/. */
  asides: string[];
  /** Paths removed through the thread pool. */
  pooledUnlinks: string[];
}

async function watchedStore(
  change: (fs: StoreFs) => Partial<StoreFs> = () => ({}),
): Promise<{ store: FsStore; seen: Seen }> {
  const seen: Seen = { linksBeforeRename: [], asides: [], pooledUnlinks: [] };
  const fs: StoreFs = {
    ...nodeFs,
    renameSync: (from, to) => {
      const name = basename(String(to));
      if (!name.startsWith('.'))
        seen.linksBeforeRename.push({ name, nlink: lstatSync(to, { throwIfNoEntry: false })?.nlink });
      nodeFs.renameSync(from, to);
    },
    linkSync: (from, to) => {
      if (!String(to).includes('/history/')) seen.asides.push(String(to));
      nodeFs.linkSync(from, to);
    },
    unlink: async (path) => {
      seen.pooledUnlinks.push(String(path));
      return nodeFs.unlink(path);
    },
  };
  const store = await FsStore.open(join(await tempDir(), 'base'), {
    fs: { ...fs, ...change(fs) },
    durable: false,
  });
  await store.ensureDirectory([...SESSION, 'phase_1_concept']);
  return { store, seen };
}

async function namesIn(store: FsStore, rel: string[]): Promise<string[]> {
  return (await readdir(join(store.root, ...rel))).sort();
}

// A rename over the last name of a file frees its blocks, and freeing can wait on the disk (ext4 on a
// mount with `discard` trims them then and there). The file replaced by a write that keeps no history is
// given a second, temporary name first, so the rename frees nothing; that name goes through the thread
// pool. What the folder holds afterwards, and what a reader reads, is as before.
describe.skipIf(fileOnly('how the file engine frees a replaced file'))(
  'a file replaced without history',
  () => {
    it('still has a second name when the rename replaces it, removed through the pool, and none is left', async () => {
      const { store, seen } = await watchedStore();
      await store.write(MANIFEST, 'revision 1\n');
      expect(seen.asides).toStrictEqual([]);
      await store.write(MANIFEST, 'revision 2\n');
      expect(seen.linksBeforeRename).toStrictEqual([
        { name: 'session_manifest.md', nlink: undefined },
        { name: 'session_manifest.md', nlink: 2 },
      ]);
      expect(seen.asides).toHaveLength(1);
      // A temporary name of this process: one left by a crash is an orphan the sweep removes.
      expect(basename(seen.asides[0] ?? '')).toMatch(
        new RegExp(`^\\.session_manifest\\.md\\.${process.pid}\\.[0-9a-f]+\\.tmp$`),
      );
      expect(seen.pooledUnlinks).toStrictEqual(seen.asides);
      expect(await store.read(MANIFEST)).toBe('revision 2\n');
      expect(await namesIn(store, SESSION)).toStrictEqual(['phase_1_concept', 'session_manifest.md']);
    });

    it('does the same for each write of a batch, and not for a write whose old version history keeps', async () => {
      const { store, seen } = await watchedStore();
      await store.write(CHECKPOINT, 'checkpoint 1\n', { keepHistory: true });
      await store.write(MANIFEST, 'revision 1\n');
      await store.writeAll([
        { rel: CHECKPOINT, content: 'checkpoint 2\n', options: { keepHistory: true } },
        { rel: MANIFEST, content: 'revision 2\n' },
      ]);
      expect(seen.linksBeforeRename.slice(-2)).toStrictEqual([
        { name: 'checkpoint.md', nlink: 2 },
        { name: 'session_manifest.md', nlink: 2 },
      ]);
      expect(seen.asides.map((aside) => basename(aside).split('.')[1])).toStrictEqual(['session_manifest']);
      expect(await namesIn(store, SESSION)).toStrictEqual(['phase_1_concept', 'session_manifest.md']);
      expect(await namesIn(store, [...SESSION, 'phase_1_concept'])).toStrictEqual([
        'checkpoint.md',
        'history',
      ]);
      expect(await store.read(MANIFEST)).toBe('revision 2\n');
    });

    it('is replaced as before where a file can take no second name', async () => {
      const { store, seen } = await watchedStore(() => ({
        linkSync: () => {
          throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
        },
      }));
      await store.write(MANIFEST, 'revision 1\n');
      await store.write(MANIFEST, 'revision 2\n');
      expect(seen.linksBeforeRename.at(-1)).toStrictEqual({ name: 'session_manifest.md', nlink: 1 });
      expect(await store.read(MANIFEST)).toBe('revision 2\n');
      expect(await namesIn(store, SESSION)).toStrictEqual(['phase_1_concept', 'session_manifest.md']);
    });

    it('keeps its only name when the rename fails: the second one is removed, the old version stands', async () => {
      let failing = false;
      const { store } = await watchedStore((fs) => ({
        renameSync: (from, to) => {
          if (failing) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
          fs.renameSync(from, to);
        },
      }));
      await store.write(MANIFEST, 'revision 1\n');
      failing = true;
      await expect(store.write(MANIFEST, 'revision 2\n')).rejects.toThrow(/EIO/);
      expect(await store.read(MANIFEST)).toBe('revision 1\n');
      expect(await namesIn(store, SESSION)).toStrictEqual(['phase_1_concept', 'session_manifest.md']);
      expect(lstatSync(join(store.root, ...MANIFEST)).nlink).toBe(1);
    });
  },
);
