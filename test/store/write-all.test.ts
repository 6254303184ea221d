import { type PathLike, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { FaultyFs } from '../durability/fault-fs.js';
import { tempFiles } from '../durability/harness.js';
import { managers } from '../helpers/base-dir.js';
import { rejected } from '../helpers/errors.js';

// The file engine's writeAll: every temporary file on disk first, then the renames in turn.
const FIRST = ['p', 'one', 'first.md'];
const SECOND = ['p', 'second.md'];
const BOTH_NEW = [
  { rel: FIRST, content: 'first, new\n' },
  { rel: SECOND, content: 'second, new\n' },
];

async function withTwoDocuments(fs = nodeFs) {
  const m = await managers({ engine: 'file', store: { fs } });
  await m.store.ensureDirectory(['p', 'one']);
  await m.store.write(FIRST, 'first, old\n');
  await m.store.write(SECOND, 'second, old\n');
  const read = (rel: string[]) => readFileSync(join(m.base, ...rel), 'utf8');
  return { ...m, read };
}

describe('writeAll on the file engine', () => {
  it('writes every temporary file before the first rename, then renames them in the order given', async () => {
    const events: string[] = [];
    const fs = {
      ...nodeFs,
      openSync: ((path: PathLike, flags: string | number, mode?: number) => {
        if (basename(String(path)).endsWith('.tmp'))
          events.push(`temp ${basename(String(path)).split('.')[1]}`);
        return nodeFs.openSync(path, flags, mode);
      }) as typeof nodeFs.openSync,
      renameSync: (from: PathLike, to: PathLike) => {
        events.push(`rename ${basename(String(to))}`);
        renameSync(from, to);
      },
    };
    const { store, read } = await withTwoDocuments(fs);
    events.length = 0;

    const written = await store.writeAll(BOTH_NEW);

    expect(written).toEqual([true, true]);
    expect(events).toEqual(['temp first', 'temp second', 'rename first.md', 'rename second.md']);
    expect([read(FIRST), read(SECOND)]).toEqual(['first, new\n', 'second, new\n']);
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
    const faulty = new FaultyFs();
    const { base, store, read } = await withTwoDocuments(faulty.fs);
    faulty.fault = { step: 'fsync', code: 'EIO', only: (path) => path.includes('second.md') };

    const error = await rejected(store.writeAll(BOTH_NEW));

    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('EIO');
    expect([read(FIRST), read(SECOND)]).toEqual(['first, old\n', 'second, old\n']);
    expect(await tempFiles(base)).toEqual([]);
  });

  it('leaves the writes after one that fails to be put in place unwritten, and no temporary file', async () => {
    const faulty = new FaultyFs();
    const { base, store, read } = await withTwoDocuments(faulty.fs);
    faulty.fault = { step: 'rename', code: 'EIO', only: (path) => path.endsWith('first.md') };

    const error = await rejected(store.writeAll(BOTH_NEW));

    expect(error.code).toBe('INTERNAL');
    expect([read(FIRST), read(SECOND)]).toEqual(['first, old\n', 'second, old\n']);
    expect(await tempFiles(base)).toEqual([]);
  });
});
