import { constants, type PathLike, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { type Fault, FaultyFs } from '../durability/fault-fs.js';
import { tempFiles } from '../durability/harness.js';
import { managers } from '../helpers/base-dir.js';
import { rejected } from '../helpers/errors.js';

// The file engine's writeAll: every temporary file on disk first, then the renames in turn, then the folders' flushes.
const FIRST = ['p', 'one', 'first.md'];
const SECOND = ['p', 'second.md'];
const BOTH_NEW = [
  { rel: FIRST, content: 'first, new\n' },
  { rel: SECOND, content: 'second, new\n' },
];

const THIRD = ['p', 'one', 'third.md'];

/** The store's file calls, noting each temporary file made, each rename and each folder flushed. */
function recording(): { fs: StoreFs; events: string[] } {
  const events: string[] = [];
  const folders = new Map<number, string>();
  const fs: StoreFs = {
    ...nodeFs,
    openSync: ((path: PathLike, flags: string | number, mode?: number) => {
      const fd = nodeFs.openSync(path, flags, mode);
      if (basename(String(path)).endsWith('.tmp'))
        events.push(`temp ${basename(String(path)).split('.')[1]}`);
      if (typeof flags === 'number' && (flags & constants.O_DIRECTORY) !== 0)
        folders.set(fd, basename(String(path)));
      return fd;
    }) as StoreFs['openSync'],
    renameSync: (from: PathLike, to: PathLike) => {
      events.push(`rename ${basename(String(to))}`);
      renameSync(from, to);
    },
    closeSync: (fd: number) => {
      folders.delete(fd);
      nodeFs.closeSync(fd);
    },
    fsync: (fd: number) => {
      const folder = folders.get(fd);
      if (folder !== undefined) events.push(`flush ${folder}`);
      return nodeFs.fsync(fd);
    },
  };
  return { fs, events };
}

/**
 * writeAll of BOTH_NEW on a disk with `fault` (switched off once it has failed): its error, the two
 * documents as they are then, and the temporary files left.
 */
async function failingWriteAll(fault: Fault) {
  const faulty = new FaultyFs();
  const written = await withTwoDocuments(faulty.fs);
  faulty.fault = fault;
  const error = await rejected(written.store.writeAll(BOTH_NEW));
  faulty.fault = undefined;
  const documents = [written.read(FIRST), written.read(SECOND)];
  return { ...written, error, documents, temps: await tempFiles(written.base) };
}

async function withTwoDocuments(fs = nodeFs) {
  const m = await managers({ engine: 'file', store: { fs } });
  await m.store.ensureDirectory(['p', 'one']);
  await m.store.write(FIRST, 'first, old\n');
  await m.store.write(SECOND, 'second, old\n');
  const read = (rel: string[]) => readFileSync(join(m.base, ...rel), 'utf8');
  return { ...m, read };
}

describe('writeAll on the file engine', () => {
  it('writes every temporary file before the first rename, renames them in the order given, then flushes their folders', async () => {
    const { fs, events } = recording();
    const { store, read } = await withTwoDocuments(fs);
    events.length = 0;

    const written = await store.writeAll(BOTH_NEW);

    expect(written).toEqual([true, true]);
    expect(events).toEqual([
      'temp first',
      'temp second',
      'rename first.md',
      'rename second.md',
      'flush one',
      'flush p',
    ]);
    expect([read(FIRST), read(SECOND)]).toEqual(['first, new\n', 'second, new\n']);
  });

  it('flushes a folder once for all the writes renamed into it', async () => {
    const { fs, events } = recording();
    const { store, read } = await withTwoDocuments(fs);
    events.length = 0;

    await store.writeAll([...BOTH_NEW, { rel: THIRD, content: 'third\n' }]);

    expect(events.filter((event) => event.startsWith('flush')).sort()).toEqual(['flush one', 'flush p']);
    expect(events.indexOf('flush one')).toBeGreaterThan(events.indexOf('rename third.md'));
    expect(read(THIRD)).toBe('third\n');
  });

  it('a folder that cannot be flushed fails the call, after every write was renamed into place', async () => {
    const { store, error, documents, temps } = await failingWriteAll({
      step: 'directory-fsync',
      code: 'EIO',
      only: (path) => path.endsWith('one'),
    });

    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/^flushing the directory of p\/one\/first\.md failed \(EIO\)/);
    // Visible, not known to be durable: nothing was acknowledged, and calling again converges.
    expect(documents).toEqual(['first, new\n', 'second, new\n']);
    expect(temps).toEqual([]);
    expect(await store.writeAll(BOTH_NEW)).toEqual([true, true]);
  });

  it('answers false for a write with the same bytes kept, and still makes the others', async () => {
    const { store, read } = await withTwoDocuments();
    const written = await store.writeAll([
      { rel: FIRST, content: 'first, old\n', options: { keepHistory: true } },
      { rel: SECOND, content: 'second, new\n' },
    ]);
    expect(written).toEqual([false, true]);
    expect([read(FIRST), read(SECOND)]).toEqual(['first, old\n', 'second, new\n']);
    expect(await store.history(FIRST)).toEqual([]);
  });

  it('puts nothing in place when a later temporary file cannot be written, and leaves no temporary file', async () => {
    const { error, documents, temps } = await failingWriteAll({
      step: 'fsync',
      code: 'EIO',
      only: (path) => path.includes('second.md'),
    });

    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('EIO');
    expect(documents).toEqual(['first, old\n', 'second, old\n']);
    expect(temps).toEqual([]);
  });

  it('leaves the writes after one that fails to be put in place unwritten, and no temporary file', async () => {
    const { error, documents, temps } = await failingWriteAll({
      step: 'rename',
      code: 'EIO',
      only: (path) => path.endsWith('first.md'),
    });

    expect(error.code).toBe('INTERNAL');
    expect(documents).toEqual(['first, old\n', 'second, old\n']);
    expect(temps).toEqual([]);
  });
});
