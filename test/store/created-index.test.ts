import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { LEGACY_CREATED_INDEX } from '../../src/checkpoint/store/fs/listing.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { openDescriptors } from '../durability/harness.js';
import { tempDir } from '../helpers/base-dir.js';

const SESSIONS = ['p1', 'sessions'];
const HEADER = '# checkpoint-mcp: the folders here and their creation times, a cache; safe to delete';
const HOUR_S = 3600;

/** A base with session folders s1..s3 made by hand, the path of their parent and of its index. */
async function setup() {
  const base = join(await tempDir(), 'base');
  const dir = join(base, ...SESSIONS);
  for (const name of ['s1', 's2', 's3']) await mkdir(join(dir, name), { recursive: true });
  return { base, dir, index: join(base, 'p1', '.sessions-index') };
}

/** The times of s1..s3 in the index an earlier version kept inside the folder (see writeLegacyIndex). */
const LEGACY_TIMES = new Map([
  ['s1', 7],
  ['s2', 8],
  ['s3', 9],
]);

/** The index as an earlier version wrote it, inside the folder, with LEGACY_TIMES. */
async function writeLegacyIndex(dir: string): Promise<void> {
  const lines = [...LEGACY_TIMES].map(([name, ms]) => `${ms} ${name}\n`).join('');
  await writeFile(
    join(dir, LEGACY_CREATED_INDEX),
    `# checkpoint-mcp: creation times of the folders here, a cache; safe to delete\n${lines}`,
  );
}

/** What a fresh process lists: a store opened anew, with nothing remembered. */
async function listFresh(base: string, fs?: StoreFs): Promise<Map<string, number>> {
  const store = await FsStore.open(base, fs ? { fs } : {});
  try {
    const listed = await store.listDirectoriesCreated(SESSIONS);
    return new Map(listed.map((folder) => [folder.name, folder.createdMs]));
  } finally {
    await store.close();
  }
}

/** Sets the folder's modification time `seconds` from now: in the past, its last change is long gone. */
async function touch(dir: string, seconds: number): Promise<void> {
  const when = Date.now() / 1000 + seconds;
  await utimes(dir, when, when);
}

/** The stamp a listing of `dir` records now: inode, modification time and link count. */
async function stampOf(dir: string): Promise<string> {
  const stats = await stat(dir);
  return `${stats.ino}:${stats.mtimeMs}:${stats.nlink}`;
}

/** The index's stamp line (or undefined) and its `{ms} {name}` lines, sorted. */
async function readIndex(index: string): Promise<{ stamp: string | undefined; lines: string[] }> {
  const lines = (await readFile(index, 'utf8')).split('\n');
  expect(lines[0]).toBe(HEADER);
  const stamp = lines[1]?.startsWith('stamp ') ? lines[1].slice('stamp '.length) : undefined;
  return { stamp, lines: lines.slice(stamp === undefined ? 1 : 2, -1).sort() };
}

// The creation times of session folders are kept in a cache file beside the folder so that the first
// list_sessions of a fresh process reads one file instead of taking an lstat of every folder, and, while
// the folder is as the cache records it, instead of reading the folder at all. The cache may only ever
// save work: what is listed must be what the folder holds, whatever the cache says, once the folder changed.
describe('the index of folder creation times', () => {
  it('is written by the first listing, and a fresh process lists the same folders and times from it', async () => {
    const { base, index } = await setup();
    const first = await listFresh(base);
    expect([...first.keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
    const { lines } = await readIndex(index);
    expect(lines).toStrictEqual(['s1', 's2', 's3'].map((name) => `${first.get(name)} ${name}`));
    expect(await listFresh(base)).toStrictEqual(first);
  });

  it('records the folder stamp once the file system clock has passed its last change, and is then the listing itself', async () => {
    const { base, dir, index } = await setup();
    await touch(dir, -HOUR_S);
    const truth = await listFresh(base);
    const { stamp, lines } = await readIndex(index);
    expect(stamp).toBe(await stampOf(dir));
    // Proof that the folder is not read while its stamp stands: an index edited by hand is listed as it says.
    const edited = lines
      .filter((line) => !line.endsWith(' s3'))
      .map((line) => line.replace(/^\S+ s2$/, '12345 s2'));
    await writeFile(index, `${HEADER}\nstamp ${stamp}\n${edited.join('\n')}\n`);
    expect(await listFresh(base)).toStrictEqual(
      new Map([...truth].filter(([name]) => name !== 's3')).set('s2', 12345),
    );
    // A folder made changes the stamp: the folder is read again, and all it holds is listed.
    await mkdir(join(dir, 's4'));
    const after = await listFresh(base);
    expect([...after.keys()].sort()).toStrictEqual(['s1', 's2', 's3', 's4']);
    expect(after.get('s2')).toBe(12345);
  });

  it('is not the listing once a folder is removed or renamed, though no folder count changes on a rename', async () => {
    const { base, dir } = await setup();
    await touch(dir, -HOUR_S);
    await listFresh(base);
    await rename(join(dir, 's1'), join(dir, 's9'));
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s2', 's3', 's9']);
    await touch(dir, -HOUR_S);
    await listFresh(base);
    await rm(join(dir, 's2'), { recursive: true });
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s3', 's9']);
  });

  it('records no stamp while the folder changed in the file system clock’s current moment, and reads the folder each time', async () => {
    const { base, dir, index } = await setup();
    // A change stamped ahead of the clock: a rename now could get the very same time, and hide.
    await touch(dir, HOUR_S);
    await listFresh(base);
    const { stamp, lines } = await readIndex(index);
    expect(stamp).toBeUndefined();
    await writeFile(index, `${HEADER}\n${lines.filter((line) => !line.endsWith(' s3')).join('\n')}\n`);
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
  });

  it('is left alone while the folders stay the same, and rewritten when one goes', async () => {
    const { base, dir, index } = await setup();
    await touch(dir, -HOUR_S);
    await listFresh(base);
    const written = await stat(index);
    await listFresh(base);
    const after = await stat(index);
    expect([after.ino, after.mtimeMs]).toStrictEqual([written.ino, written.mtimeMs]);
    await rm(join(dir, 's3'), { recursive: true });
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s1', 's2']);
    const { lines } = await readIndex(index);
    expect(lines.map((line) => line.split(' ')[1])).toStrictEqual(['s1', 's2']);
  });

  it('never lists a folder whose name starts with a dot', async () => {
    const { base, dir } = await setup();
    await mkdir(join(dir, '.hidden'));
    await touch(dir, -HOUR_S);
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
  });

  it('is what a fresh process takes a known folder time from, without looking it up again', async () => {
    const { base, index } = await setup();
    const first = await listFresh(base);
    const lines = [...first].map(([name, ms]) => `${name === 's2' ? 12345 : ms} ${name}`);
    await writeFile(index, `${HEADER}\n${lines.join('\n')}\n`);
    const again = await listFresh(base);
    expect(again.get('s2')).toBe(12345);
    expect(again.get('s1')).toBe(first.get('s1'));
  });

  it('lists only what the folder holds: a folder removed, or replaced by a file or a link, is not listed', async () => {
    const { base, dir, index } = await setup();
    await touch(dir, -HOUR_S);
    await listFresh(base);
    await rm(join(dir, 's1'), { recursive: true });
    await rm(join(dir, 's2'), { recursive: true });
    await writeFile(join(dir, 's2'), 'a file where a folder was\n');
    await rm(join(dir, 's3'), { recursive: true });
    await symlink(join(base, 'p1'), join(dir, 's3'));
    await mkdir(join(dir, 's4'));
    const listed = await listFresh(base);
    expect([...listed.keys()]).toStrictEqual(['s4']);
    // The removed names are dropped from the index when it is written again.
    expect(await listFresh(base)).toStrictEqual(listed);
    const { lines } = await readIndex(index);
    expect(lines.map((line) => line.split(' ')[1])).toStrictEqual(['s4']);
  });

  it('a foreign, damaged or cut-short index is no index: the times are looked up and it is written again', async () => {
    const { base, dir, index } = await setup();
    await touch(dir, -HOUR_S);
    const truth = await listFresh(base);
    const stamp = await stampOf(dir);
    for (const damaged of [
      'not our header\n1 s1\n',
      `${'#'.repeat(HEADER.length)}\n1 s1\n2 s2\n3 s3\n`,
      `${HEADER}\nnot-a-number s1\n-5 s2\n 7 s3\n s1\ns2\n`,
      `${HEADER}\n99 s1\n98 s2`,
      // Cut short with the folder's own stamp: the names may be incomplete, so the stamp does not hold.
      `${HEADER}\nstamp ${stamp}\n99 s1\n98 s2`,
      `${HEADER}\nstamp ${stamp}`,
      '',
    ]) {
      await writeFile(index, damaged);
      const listed = await listFresh(base);
      if (damaged.endsWith('98 s2')) {
        // The last line lacks its end: only the whole one before it counts.
        expect(listed).toStrictEqual(new Map([...truth, ['s1', 99]]));
      } else {
        expect(listed).toStrictEqual(truth);
      }
      expect((await readIndex(index)).stamp).toBe(stamp);
    }
  });

  it('names in an index with the folder’s stamp are listed only when a listing could give them', async () => {
    const { base, dir, index } = await setup();
    await touch(dir, -HOUR_S);
    await listFresh(base);
    const { stamp, lines } = await readIndex(index);
    const planted = ['../p2', '.hidden', 'a/b', '..', '.', ''].map((name) => `5 ${name}`);
    await writeFile(index, `${HEADER}\nstamp ${stamp}\n${[...lines, ...planted].join('\n')}\n`);
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
  });

  it('a folder made again under a removed name is listed with its new time, not the one the index kept', async () => {
    const { base, dir, index } = await setup();
    await listFresh(base);
    const store = await FsStore.open(base);
    try {
      await writeFile(index, `${HEADER}\n1 s1\n2 s2\n3 s3\n`);
      await rm(join(dir, 's2'), { recursive: true });
      expect(await store.createDirectoryExclusive([...SESSIONS, 's2'])).toBe(true);
    } finally {
      await store.close();
    }
    const listed = await listFresh(base);
    expect(listed.get('s1')).toBe(1);
    expect(listed.get('s2')).toBeGreaterThan(1_000_000);
  });

  it('takes its times from the index earlier versions kept inside the folder, and removes that one', async () => {
    const { base, dir, index } = await setup();
    await writeLegacyIndex(dir);
    await touch(dir, -HOUR_S);
    expect(await listFresh(base)).toStrictEqual(LEGACY_TIMES);
    expect(await readdir(dir)).not.toContain(LEGACY_CREATED_INDEX);
    // Its removal changed the folder: the stamp recorded before is not the folder's, and the next
    // listing reads the folder again and records the stamp, with the same times.
    expect((await readIndex(index)).stamp).not.toBe(await stampOf(dir));
    await touch(dir, -HOUR_S);
    expect(await listFresh(base)).toStrictEqual(LEGACY_TIMES);
    expect((await readIndex(index)).stamp).toBe(await stampOf(dir));
  });

  it('a link planted at the index name is neither read nor followed, and no temporary file is left', async () => {
    const { base, dir, index } = await setup();
    await touch(dir, -HOUR_S);
    const outside = join(await tempDir(), 'outside.txt');
    const stamp = await stampOf(dir);
    await writeFile(outside, `${HEADER}\nstamp ${stamp}\n5 s1\n`);
    await symlink(outside, index);
    const listed = await listFresh(base);
    expect([...listed.keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
    expect(listed.get('s1')).not.toBe(5);
    expect(await readFile(outside, 'utf8')).toBe(`${HEADER}\nstamp ${stamp}\n5 s1\n`);
    expect((await readdir(join(base, 'p1'))).filter((name) => name.endsWith('.tmp'))).toStrictEqual([]);
  });

  it('a FIFO planted at the index name is not waited on: the folders are listed, and the index written anew', async () => {
    const { base, index } = await setup();
    expect(spawnSync('mkfifo', [index]).status).toBe(0);
    const listed = await listFresh(base);
    expect([...listed.keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
    expect((await stat(index)).isFile()).toBe(true);
    expect((await readFile(index, 'utf8')).split('\n')[0]).toBe(HEADER);
  });

  it('without a stamp it can record, is rewritten exactly when it no longer says what the folder holds', async () => {
    const { base, dir, index } = await setup();
    // The folder's time stays ahead of the clock: no listing may record a stamp, so each reads the folder.
    await touch(dir, HOUR_S);
    const first = await listFresh(base);
    const written = await stat(index);
    await listFresh(base);
    // Nothing came or went: the index is left as it was.
    expect((await stat(index)).ino).toBe(written.ino);
    await mkdir(join(dir, 's4'));
    await touch(dir, HOUR_S);
    const added = await listFresh(base);
    expect([...added.keys()].sort()).toStrictEqual(['s1', 's2', 's3', 's4']);
    expect((await readIndex(index)).lines).toStrictEqual(
      [...added].map(([name, ms]) => `${ms} ${name}`).sort(),
    );
    await rm(join(dir, 's1'), { recursive: true });
    await touch(dir, HOUR_S);
    await listFresh(base);
    expect((await readIndex(index)).lines.map((line) => line.split(' ')[1])).toStrictEqual([
      's2',
      's3',
      's4',
    ]);
    expect(first.get('s2')).toBe(added.get('s2'));
  });

  it('takes the old index’s times even when it can record no stamp, and writes them into its own', async () => {
    const { base, dir, index } = await setup();
    await writeLegacyIndex(dir);
    await touch(dir, HOUR_S);
    expect(await listFresh(base)).toStrictEqual(LEGACY_TIMES);
    expect((await readIndex(index)).lines).toStrictEqual(['7 s1', '8 s2', '9 s3']);
  });

  it('a folder that is not there is an empty listing, and no index is written for it', async () => {
    const base = join(await tempDir(), 'base');
    await mkdir(join(base, 'p1'), { recursive: true });
    expect(await listFresh(base)).toStrictEqual(new Map());
    expect(await readdir(join(base, 'p1'))).toStrictEqual([]);
  });

  it('leaves no file open, whether it reads the folder or takes the index as the listing', async () => {
    const { base, dir } = await setup();
    const before = openDescriptors();
    await touch(dir, HOUR_S);
    await listFresh(base);
    await listFresh(base);
    await touch(dir, -HOUR_S);
    await listFresh(base);
    await listFresh(base);
    expect(openDescriptors()).toBe(before);
  });

  it('an index that cannot be written is no failure: the folders are listed, and nothing is left behind', async () => {
    const { base, dir, index } = await setup();
    await touch(dir, -HOUR_S);
    const refusing: StoreFs = {
      ...nodeFs,
      writeSync: () => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    };
    expect([...(await listFresh(base, refusing)).keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
    expect(await readdir(join(base, 'p1'))).toStrictEqual(['sessions']);
    await expect(stat(index)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
