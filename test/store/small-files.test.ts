import { spawnSync } from 'node:child_process';
import { fstatSync, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { mkdir, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/checkpoint/model/errors.js';
import { SYNC_WRITE_BYTES } from '../../src/checkpoint/store/fs/atomic-write.js';
import { FsBase, SYNC_READ_BYTES } from '../../src/checkpoint/store/fs/fs-base.js';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempDir } from '../helpers/base-dir.js';
import { fileOnly } from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';

const FOLDER = ['p1', 'sessions', 's1', 'phase_1_concept'];

async function storeWith(fs: StoreFs = nodeFs): Promise<{ store: FsStore; base: FsBase; folder: string }> {
  const root = await realpath(await tempDir());
  const folder = join(root, ...FOLDER);
  await mkdir(folder, { recursive: true });
  return {
    store: await FsStore.open(root, { fs, durable: false }),
    base: new FsBase(fs, root, false),
    folder,
  };
}

/** fstatSync that says every file is `size` bytes long, whatever it holds. */
function fstatSaying(size: number): StoreFs['fstatSync'] {
  return ((fd: number) => {
    const stat = fstatSync(fd);
    return Object.assign(Object.create(Object.getPrototypeOf(stat) as object) as Stats, stat, { size });
  }) as StoreFs['fstatSync'];
}

/** `fs` whose readSync returns at most `most` bytes a call, and what each call returned. */
function countingReads(fs: StoreFs, most = Number.POSITIVE_INFINITY): { fs: StoreFs; reads: number[] } {
  const reads: number[] = [];
  const readSync = ((fd: number, buffer: Buffer, offset: number, length: number, position: null) => {
    const count = fs.readSync(fd, buffer, offset, Math.min(length, most), position);
    reads.push(count);
    return count;
  }) as StoreFs['readSync'];
  return { fs: { ...fs, readSync }, reads };
}

/** Text of `bytes` bytes whose every line says where it is, so a missing or doubled piece shows. */
function textOf(bytes: number): string {
  let text = '';
  for (let line = 0; text.length < bytes; line++) text += `line ${line} é\n`;
  return Buffer.from(text).subarray(0, bytes).toString('latin1');
}

// Documents up to SYNC_READ_BYTES are read, and up to SYNC_WRITE_BYTES written, with synchronous calls,
// larger ones through the thread pool: both must give every byte, and neither may wait on, or follow,
// what is not a file.
describe.skipIf(fileOnly('how the file engine reads a file'))('reading a document on the file engine', () => {
  it('reads an empty file, one at the limit and ones past it, byte for byte, with their status', async () => {
    const { store, base, folder } = await storeWith();
    for (const [name, bytes] of [
      ['empty.md', 0],
      ['small.md', 1500],
      ['limit.md', SYNC_READ_BYTES],
      ['past.md', SYNC_READ_BYTES + 1],
      ['large.md', 3 * SYNC_READ_BYTES + 7],
    ] as const) {
      const text = textOf(bytes);
      await writeFile(join(folder, name), text, 'latin1');
      const read = await base.readWithStat([...FOLDER, name]);
      expect(read?.data.equals(Buffer.from(text, 'latin1')), name).toBe(true);
      expect(read?.stat.size, name).toBe(bytes);
      expect(await store.read([...FOLDER, name]), name).toBe(Buffer.from(text, 'latin1').toString('utf8'));
    }
  });

  it('reads on past the size fstat gave, as for a file that grew since', async () => {
    // fstat says 10 bytes of a 100 KB file: the read must go on until the file ends.
    const { base, folder } = await storeWith({ ...nodeFs, fstatSync: fstatSaying(10) });
    const text = textOf(100 * 1024);
    await writeFile(join(folder, 'grown.md'), text, 'latin1');
    expect((await base.readData([...FOLDER, 'grown.md']))?.equals(Buffer.from(text, 'latin1'))).toBe(true);
  });

  it('reads a document of the size fstat gave with one read, and no second one to hear it ended', async () => {
    const { fs, reads } = countingReads(nodeFs);
    const { base, folder } = await storeWith(fs);
    const text = textOf(1500);
    await writeFile(join(folder, 'one.md'), text, 'latin1');
    expect((await base.readData([...FOLDER, 'one.md']))?.equals(Buffer.from(text, 'latin1'))).toBe(true);
    expect(reads).toEqual([1500]);
  });

  it('reads on after short reads that stop before the size fstat gave', async () => {
    // A read may return less than asked before the end (a network file system): only the size counts.
    const { fs, reads } = countingReads(nodeFs, 700);
    const { base, folder } = await storeWith(fs);
    const text = textOf(2000);
    await writeFile(join(folder, 'slow.md'), text, 'latin1');
    expect((await base.readData([...FOLDER, 'slow.md']))?.equals(Buffer.from(text, 'latin1'))).toBe(true);
    expect(reads).toEqual([700, 700, 600]);
  });

  it('reads a file that shrank since its fstat until a read returns nothing', async () => {
    // fstat says 100 KB of a 10-byte file: the short first read is not taken for the end of 100 KB.
    const { fs, reads } = countingReads({ ...nodeFs, fstatSync: fstatSaying(100 * 1024) });
    const { base, folder } = await storeWith(fs);
    await writeFile(join(folder, 'shrunk.md'), 'ten bytes!', 'latin1');
    expect((await base.readData([...FOLDER, 'shrunk.md']))?.toString('latin1')).toBe('ten bytes!');
    expect(reads).toEqual([10, 0]);
  });

  it('answers CORRUPT_FILE at once for a FIFO in a document place, instead of waiting for a writer', async () => {
    const { store, folder } = await storeWith();
    const made = spawnSync('mkfifo', [join(folder, 'writer.md')]);
    expect(made.status).toBe(0);
    const error = await rejected(store.read([...FOLDER, 'writer.md']));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toBe(
      'p1/sessions/s1/phase_1_concept/writer.md is not a regular file (a FIFO, socket or device); remove it, or restore the document from history/',
    );
  });

  it('answers CORRUPT_FILE for a large document swapped for a FIFO between its look and its read', async () => {
    // Past SYNC_READ_BYTES the file is opened again through the pool: what is opened then is checked again.
    const swapping: StoreFs = {
      ...nodeFs,
      open: (async (path: string, flags?: number, mode?: number) => {
        if (path.endsWith('big.md')) {
          await rm(path);
          expect(spawnSync('mkfifo', [path]).status).toBe(0);
        }
        return fsp.open(path, flags, mode);
      }) as StoreFs['open'],
    };
    const { store, folder } = await storeWith(swapping);
    await writeFile(join(folder, 'big.md'), textOf(SYNC_READ_BYTES + 1));
    const error = await rejected(store.read([...FOLDER, 'big.md']));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toMatch(/big\.md is not a regular file \(a FIFO, socket or device\)/);
  });

  it('answers CORRUPT_FILE for a folder in a document place', async () => {
    const { store, folder } = await storeWith();
    await mkdir(join(folder, 'checkpoint.md'));
    const error = await rejected(store.read([...FOLDER, 'checkpoint.md']));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toBe(
      'p1/sessions/s1/phase_1_concept/checkpoint.md is a directory, expected a file',
    );
  });

  it('reads a missing document as none', async () => {
    const { store } = await storeWith();
    expect(await store.read([...FOLDER, 'nobody.md'])).toBeUndefined();
    expect(await store.read([...FOLDER, 'nowhere', 'nobody.md'])).toBeUndefined();
  });

  it('writes small and large documents whole, and keeps each replaced one in history/ with its own time', async () => {
    const { store, folder } = await storeWith();
    const rel = [...FOLDER, 'writer.md'];
    const sizes = [0, 1500, SYNC_WRITE_BYTES, SYNC_WRITE_BYTES + 1, 3 * SYNC_WRITE_BYTES + 7, 10];
    const written: Array<{ text: string; mtime: number }> = [];
    for (const [i, bytes] of sizes.entries()) {
      const text = `${i}\n${textOf(bytes)}`;
      expect(await store.write(rel, text, { keepHistory: true }), `version ${i + 1}`).toBe(true);
      expect(await store.read(rel), `version ${i + 1}`).toBe(text);
      written.push({ text, mtime: (await stat(join(folder, 'writer.md'))).mtime.getTime() });
    }
    const history = await store.history(rel);
    expect(history.map((version) => version.version)).toStrictEqual([1, 2, 3, 4, 5]);
    for (const version of history) {
      const kept = written[version.version - 1];
      expect(await store.read(store.historyFile(rel, version.version)), version.file).toBe(kept?.text);
      // The time a version was written, not the time it was archived.
      expect(Date.parse(version.saved_at), version.file).toBe(kept?.mtime);
    }
    expect((await readdir(folder)).filter((name) => name.endsWith('.tmp'))).toStrictEqual([]);
  });
});
