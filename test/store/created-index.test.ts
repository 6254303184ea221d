import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { CREATED_INDEX } from '../../src/checkpoint/store/fs/listing.js';
import { tempDir } from '../helpers/base-dir.js';

const SESSIONS = ['p1', 'sessions'];
const HEADER = '# checkpoint-mcp: creation times of the folders here, a cache; safe to delete';

/** A base with session folders s1..s3 made by hand, and the path of their parent. */
async function setup() {
  const base = join(await tempDir(), 'base');
  const dir = join(base, ...SESSIONS);
  for (const name of ['s1', 's2', 's3']) await mkdir(join(dir, name), { recursive: true });
  return { base, dir, index: join(dir, CREATED_INDEX) };
}

/** What a fresh process lists: a store opened anew, with nothing remembered. */
async function listFresh(base: string): Promise<Map<string, number>> {
  const store = await FsStore.open(base);
  try {
    const listed = await store.listDirectoriesCreated(SESSIONS);
    return new Map(listed.map((folder) => [folder.name, folder.createdMs]));
  } finally {
    await store.close();
  }
}

// The creation times of session folders are kept in a cache file so that the first list_sessions of
// a fresh process reads one file instead of taking an lstat of every folder. The cache may only ever
// save work: what is listed must be what the folder holds, whatever the cache says.
describe('the index of folder creation times', () => {
  it('is written by the first listing, and a fresh process lists the same folders and times from it', async () => {
    const { base, index } = await setup();
    const first = await listFresh(base);
    expect([...first.keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
    const text = await readFile(index, 'utf8');
    expect(text.split('\n')[0]).toBe(HEADER);
    const lines = text.split('\n').slice(1, -1).sort();
    expect(lines).toStrictEqual(['s1', 's2', 's3'].map((name) => `${first.get(name)} ${name}`));
    expect(await listFresh(base)).toStrictEqual(first);
  });

  it('is left alone while the folders stay the same, and rewritten when one goes', async () => {
    const { base, dir, index } = await setup();
    await listFresh(base);
    const written = await stat(index);
    await listFresh(base);
    const after = await stat(index);
    expect([after.ino, after.mtimeMs]).toStrictEqual([written.ino, written.mtimeMs]);
    await rm(join(dir, 's3'), { recursive: true });
    expect([...(await listFresh(base)).keys()].sort()).toStrictEqual(['s1', 's2']);
    const names = (await readFile(index, 'utf8')).trim().split('\n').slice(1);
    expect(names.map((line) => line.split(' ')[1]).sort()).toStrictEqual(['s1', 's2']);
  });

  it('never lists a folder whose name starts with a dot', async () => {
    const { base, dir } = await setup();
    await mkdir(join(dir, '.hidden'));
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
    const { base, dir } = await setup();
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
    const names = (await readFile(join(dir, CREATED_INDEX), 'utf8')).trim().split('\n').slice(1);
    expect(names.map((line) => line.split(' ')[1])).toStrictEqual(['s4']);
  });

  it('a foreign, damaged or cut-short index is no index: the times are looked up and it is written again', async () => {
    const { base, index } = await setup();
    const truth = await listFresh(base);
    for (const damaged of [
      'not our header\n1 s1\n',
      `${'#'.repeat(HEADER.length)}\n1 s1\n2 s2\n3 s3\n`,
      `${HEADER}\nnot-a-number s1\n-5 s2\n 7 s3\n s1\ns2\n`,
      `${HEADER}\n99 s1\n98 s2`,
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
      expect((await readFile(index, 'utf8')).startsWith(`${HEADER}\n`)).toBe(true);
    }
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

  it('a link planted at the index name is neither read nor followed, and no temporary file is left', async () => {
    const { base, dir, index } = await setup();
    const outside = join(await tempDir(), 'outside.txt');
    await writeFile(outside, `${HEADER}\n5 s1\n`);
    await symlink(outside, index);
    const listed = await listFresh(base);
    expect(listed.get('s1')).not.toBe(5);
    expect(await readFile(outside, 'utf8')).toBe(`${HEADER}\n5 s1\n`);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toStrictEqual([]);
  });

  it('a FIFO planted at the index name is not waited on: the folders are listed, and the index written anew', async () => {
    const { base, index } = await setup();
    expect(spawnSync('mkfifo', [index]).status).toBe(0);
    const listed = await listFresh(base);
    expect([...listed.keys()].sort()).toStrictEqual(['s1', 's2', 's3']);
    expect((await stat(index)).isFile()).toBe(true);
    expect((await readFile(index, 'utf8')).split('\n')[0]).toBe(HEADER);
  });
});
