import { randomBytes } from 'node:crypto';
import { type Dirent, lstatSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import type { Entry, RelPath } from '../engine.js';
import { type FsBase, SEGMENT } from './fs-base.js';
import { errnoCode, isProcessAlive, OPEN_APPEND, OPEN_NEW_FILE, OPEN_READ_NOW } from './store-fs.js';

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;
const LOCK_LEFTOVER = /^\.lock\.(stale|release)-[0-9a-f]+$/;

/** Entries of a directory, without the names that start with "." (locks and temporary files). */
export async function listEntries(base: FsBase, rel: RelPath): Promise<Entry[]> {
  const path = await base.resolve(rel);
  try {
    const entries = await base.fs.readdir(path, { withFileTypes: true });
    return entries
      .filter((entry) => !entry.name.startsWith('.'))
      .map((entry) => ({
        name: entry.name,
        kind: entry.isFile() ? 'file' : entry.isDirectory() ? 'directory' : 'other',
      }));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw base.ioError('listing', rel, error);
  }
}

/**
 * The subdirectories of `rel` (not links, not dot names) with the time each was created. A folder's
 * creation time never changes, so the times looked up are kept in CREATED_INDEX inside `rel`: a fresh
 * process lists 10,000 session folders with one readdir and one read instead of 10,000 lstats (100 ms
 * here). Only folders the index does not know are looked up (synchronously: one after another through
 * libuv's thread pool they took over a second), and the index is rewritten when they were.
 */
export async function listDirectoriesCreated(
  base: FsBase,
  rel: RelPath,
): Promise<Array<{ name: string; createdMs: number }>> {
  const path = await base.resolve(rel);
  let entries: Dirent[];
  try {
    entries = await base.fs.readdir(path, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw base.ioError('listing', rel, error);
  }
  const index = await readCreatedIndex(base, path);
  const found: Array<{ name: string; createdMs: number }> = [];
  let learned = 0;
  for (const entry of entries) {
    const name = entry.name;
    // The file type comes with the listing: a link or a file is no folder, and needs no lstat to say so.
    if (name.startsWith('.') || !SEGMENT.test(name) || !entry.isDirectory()) continue;
    const known = index.get(name);
    if (known !== undefined) {
      found.push({ name, createdMs: known });
      continue;
    }
    let stat: Stats | undefined;
    try {
      // A name that passed SEGMENT and is not a dot name is one path component: no join() needed.
      stat = lstatSync(`${path}${sep}${name}`, { throwIfNoEntry: false });
    } catch (error) {
      throw base.ioError('listing', rel, error);
    }
    if (!stat?.isDirectory()) continue;
    found.push({ name, createdMs: createdMsOf(stat) });
    learned++;
  }
  // Folders removed since are dropped from the index when it is next written, not before.
  if (learned > 0 || found.length < index.size) await writeCreatedIndex(base, path, found);
  return found;
}

/**
 * The cache of folder creation times inside a listed folder: `{ms} {name}` lines after a header, the last
 * line of a name standing. Nothing in it is trusted beyond a time: a folder is listed only when the
 * listing itself shows it (a name is only ever looked up, never taken from here), and a missing,
 * unreadable or foreign index is the same as an empty one; a line cut short by a crash is skipped.
 */
export const CREATED_INDEX = '.created-index';
const INDEX_HEADER = '# checkpoint-mcp: creation times of the folders here, a cache; safe to delete';

/** When a folder was created, where the file system records it, else when it last changed. */
function createdMsOf(stat: Stats): number {
  return stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
}

async function readCreatedIndex(base: FsBase, dir: string): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  let text: string;
  try {
    // Without waiting: a FIFO planted in its place reads as empty, and the index is ignored.
    const handle = await base.fs.open(`${dir}${sep}${CREATED_INDEX}`, OPEN_READ_NOW);
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return times;
  }
  if (!text.startsWith(`${INDEX_HEADER}\n`)) return times;
  // Read by hand, not by a pattern per line: a fresh process reads 10,000 lines in half the time.
  for (let start = INDEX_HEADER.length + 1; start < text.length; ) {
    const end = text.indexOf('\n', start);
    if (end === -1) break;
    const space = text.indexOf(' ', start);
    const ms = space > start && space < end ? Number(text.slice(start, space)) : Number.NaN;
    if (Number.isFinite(ms) && ms >= 0) times.set(text.slice(space + 1, end), ms);
    start = end + 1;
  }
  return times;
}

/**
 * Replaces the index with the times of `folders`, atomically (a temporary file renamed over it) but
 * without fsync: a cache lost to a crash is rebuilt by the next listing. A failure to write it is no
 * failure of the listing.
 */
async function writeCreatedIndex(
  base: FsBase,
  dir: string,
  folders: ReadonlyArray<{ name: string; createdMs: number }>,
): Promise<void> {
  const lines = folders.map((folder) => `${folder.createdMs} ${folder.name}`);
  const temp = `${dir}${sep}${CREATED_INDEX}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await base.fs.open(temp, OPEN_NEW_FILE);
    try {
      await handle.writeFile(`${INDEX_HEADER}\n${lines.join('\n')}\n`);
    } finally {
      await handle.close();
    }
    await base.fs.rename(temp, `${dir}${sep}${CREATED_INDEX}`);
  } catch {
    base.removeQuietly(temp);
  }
}

/**
 * Records a folder just made in its parent's index, when there is one, so that a name removed and made
 * again is not listed with the time of the folder it replaced. Appended, and only to an index that exists.
 */
export async function noteCreated(base: FsBase, parent: string, name: string): Promise<void> {
  try {
    const stat = lstatSync(`${parent}${sep}${name}`, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) return;
    const handle = await base.fs.open(`${parent}${sep}${CREATED_INDEX}`, OPEN_APPEND);
    try {
      await handle.writeFile(`${createdMsOf(stat)} ${name}\n`);
    } finally {
      await handle.close();
    }
  } catch {
    // No index there (the common case), or none to write: the next listing looks the folder up.
  }
}

/** Inode, modification time and link count of a directory: changes when an entry comes or goes. */
export async function directoryStamp(base: FsBase, rel: RelPath): Promise<string | undefined> {
  const path = await base.resolve(rel);
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat?.isDirectory() ? `${stat.ino}:${stat.mtimeMs}:${stat.nlink}` : undefined;
}

/** Deletes temporary files whose writer is gone, and lock leftovers; returns their paths. */
export async function removeOrphans(
  base: FsBase,
  staleMs: number,
  rel: RelPath,
  depth = 0,
): Promise<string[]> {
  const path = await base.resolve(rel);
  let entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean }>;
  try {
    entries = await base.fs.readdir(path, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw base.ioError('listing', rel, error);
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && depth > 0 && SEGMENT.test(entry.name) && !entry.name.startsWith('.')) {
      removed.push(...(await removeOrphans(base, staleMs, [...rel, entry.name], depth - 1)));
    } else if (entry.isFile() && (await isOrphan(base, staleMs, join(path, entry.name), entry.name))) {
      base.removeQuietly(join(path, entry.name));
      removed.push(base.label([...rel, entry.name]));
    }
  }
  return removed;
}

async function isOrphan(base: FsBase, staleMs: number, path: string, name: string): Promise<boolean> {
  const temp = TEMP_NAME.exec(name);
  if (!temp && !LOCK_LEFTOVER.test(name)) return false;
  if (temp && !isProcessAlive(Number(temp[1]))) return true;
  try {
    return Date.now() - (await base.fs.lstat(path)).mtimeMs > staleMs;
  } catch (error) {
    // Its writer renamed or removed it after the directory was listed: it was no orphan.
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}
