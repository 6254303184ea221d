import { randomBytes } from 'node:crypto';
import { type Dirent, lstatSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import {
  type CreatedIndex,
  createdIndexPath,
  createdIndexText,
  INDEX_HEADER,
  parseCreatedIndex,
} from '../created-index.js';
import type { Entry, RelPath } from '../engine.js';
import { type FsBase, SEGMENT } from './fs-base.js';
import { errnoCode, isProcessAlive, OPEN_APPEND, OPEN_NEW_FILE, OPEN_READ_NOW } from './store-fs.js';

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;
const LOCK_LEFTOVER = /^\.lock\.(stale|release)-[0-9a-f]+$/;

/** Entries of a directory, without the names that start with "." (locks and temporary files). */
export async function listEntries(base: FsBase, rel: RelPath): Promise<Entry[]> {
  const path = base.resolve(rel);
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
 * creation time never changes, so the times looked up are kept in an index beside `rel` (see
 * createdIndexPath): a fresh process lists 10,000 session folders with one read instead of 10,000
 * lstats (100 ms here). While `rel` is as it was when the index was written (its stamp is the one the
 * index records), the index is the listing, and the folder is not read at all (a readdir of 10,000
 * names took 27 ms). Otherwise only folders the index does not know are looked up (synchronously: one
 * after another through libuv's thread pool they took over a second), and the index is rewritten when
 * it changed.
 */
export async function listDirectoriesCreated(
  base: FsBase,
  rel: RelPath,
): Promise<Array<{ name: string; createdMs: number }>> {
  const path = base.resolve(rel);
  const before = directoryStat(base, rel, path);
  if (before === undefined) return [];
  const stamp = stampOf(before);
  const indexPath = createdIndexPath(path);
  const index = readCreatedIndex(base, indexPath);
  if (index.stamp === stamp) {
    return Array.from(index.times, ([name, createdMs]) => ({ name, createdMs }));
  }
  // An index of an earlier version, inside the folder, gives its times to a base that has no index yet.
  const times =
    index.times.size > 0
      ? index.times
      : readCreatedIndex(base, `${path}${sep}${LEGACY_CREATED_INDEX}`, LEGACY_HEADER).times;
  // Made before the folder is read, the index's temporary file tells the file system's clock then.
  const probe = openProbe(base, indexPath);
  let entries: Dirent[];
  try {
    entries = await base.fs.readdir(path, { withFileTypes: true });
  } catch (error) {
    probe?.discard();
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw base.ioError('listing', rel, error);
  }
  const found: Array<{ name: string; createdMs: number }> = [];
  let learned = 0;
  let legacy = false;
  for (const entry of entries) {
    const name = entry.name;
    if (name === LEGACY_CREATED_INDEX) legacy = true;
    // The file type comes with the listing: a link or a file is no folder, and needs no lstat to say so.
    if (name.startsWith('.') || !SEGMENT.test(name) || !entry.isDirectory()) continue;
    const known = times.get(name);
    if (known !== undefined) {
      found.push({ name, createdMs: known });
      continue;
    }
    let stat: Stats | undefined;
    try {
      // A name that passed SEGMENT and is not a dot name is one path component: no join() needed.
      stat = lstatSync(`${path}${sep}${name}`, { throwIfNoEntry: false });
    } catch (error) {
      probe?.discard();
      throw base.ioError('listing', rel, error);
    }
    if (!stat?.isDirectory()) continue;
    found.push({ name, createdMs: createdMsOf(stat) });
    learned++;
  }
  if (legacy) base.removeQuietly(`${path}${sep}${LEGACY_CREATED_INDEX}`);
  // The listing is all the folder holds at `stamp` when the file system's clock had moved past the
  // folder's last change before the folder was read: any change since, even one made while it was
  // read, has a later time and so another stamp, also where the clock ticks coarsely. (Removing the
  // index of an earlier version is such a change: the next listing records the stamp.)
  const pinned = probe !== undefined && probe.clockMs > before.mtimeMs ? stamp : undefined;
  // Folders removed since are dropped from the index when it is next written, not before.
  if (learned > 0 || found.length < index.times.size || index.times !== times || pinned !== index.stamp) {
    probe?.commit(createdIndexText(found, pinned));
  } else {
    probe?.discard();
  }
  return found;
}

/** Where earlier versions kept the index: inside the listed folder. Read for its times, then removed. */
export const LEGACY_CREATED_INDEX = '.created-index';
const LEGACY_HEADER = '# checkpoint-mcp: creation times of the folders here, a cache; safe to delete';

/** When a folder was created, where the file system records it, else when it last changed. */
function createdMsOf(stat: Stats): number {
  return stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
}

/** The listed folder's own stat, or undefined when there is no folder (nothing to list). */
function directoryStat(base: FsBase, rel: RelPath, path: string): Stats | undefined {
  try {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    return stat?.isDirectory() ? stat : undefined;
  } catch (error) {
    if (errnoCode(error) === 'ENOTDIR') return undefined;
    throw base.ioError('listing', rel, error);
  }
}

/** Inode, modification time and link count of a directory: changes when an entry comes or goes. */
function stampOf(stat: Stats): string {
  return `${stat.ino}:${stat.mtimeMs}:${stat.nlink}`;
}

function readCreatedIndex(base: FsBase, indexPath: string, header = INDEX_HEADER): CreatedIndex {
  let text: string;
  try {
    text = readWhole(base, indexPath);
  } catch {
    return { stamp: undefined, times: new Map() };
  }
  return parseCreatedIndex(text, header);
}

/**
 * A file read whole with the synchronous calls (a 400 KB index in well under a millisecond), without
 * waiting (a FIFO planted in its place reads as empty) and without following a link.
 */
function readWhole(base: FsBase, path: string): string {
  const fd = base.fs.openSync(path, OPEN_READ_NOW);
  try {
    const { size } = base.fs.fstatSync(fd);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(size - total, 0) + 4096);
      const read = base.fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      total += read;
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    base.fs.closeSync(fd);
  }
}

/**
 * The index's temporary file, made before the folder is read: the modification time the file system
 * gives it is its clock at that moment. Committed, it is written and renamed over the index, atomically
 * but without fsync (a cache lost to a crash is rebuilt by the next listing); discarded, removed. A
 * failure to make or write it is no failure of the listing.
 */
function openProbe(
  base: FsBase,
  indexPath: string,
): { clockMs: number; commit(text: string): void; discard(): void } | undefined {
  const temp = `${indexPath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number;
  let clockMs: number;
  try {
    fd = base.fs.openSync(temp, OPEN_NEW_FILE, 0o644);
  } catch {
    return undefined;
  }
  try {
    clockMs = base.fs.fstatSync(fd).mtimeMs;
  } catch {
    base.fs.closeSync(fd);
    base.removeQuietly(temp);
    return undefined;
  }
  let open = true;
  const close = () => {
    if (open) base.fs.closeSync(fd);
    open = false;
  };
  return {
    clockMs,
    commit(text) {
      try {
        const bytes = Buffer.from(text, 'utf8');
        for (let written = 0; written < bytes.length; ) {
          written += base.fs.writeSync(fd, bytes, written, bytes.length - written);
        }
        close();
        base.fs.renameSync(temp, indexPath);
      } catch {
        close();
        base.removeQuietly(temp);
      }
    },
    discard() {
      close();
      base.removeQuietly(temp);
    },
  };
}

/**
 * Records a folder just made in its parent's index, when there is one, so that a name removed and made
 * again is not listed with the time of the folder it replaced. Appended, and only to an index that exists;
 * the stamp it records no longer matches the folder, which has just changed.
 */
export async function noteCreated(base: FsBase, parent: string, name: string): Promise<void> {
  try {
    const stat = lstatSync(`${parent}${sep}${name}`, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) return;
    const handle = await base.fs.open(createdIndexPath(parent), OPEN_APPEND);
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
  const path = base.resolve(rel);
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat?.isDirectory() ? stampOf(stat) : undefined;
}

/** Deletes temporary files whose writer is gone, and lock leftovers; returns their paths. */
export async function removeOrphans(
  base: FsBase,
  staleMs: number,
  rel: RelPath,
  depth = 0,
): Promise<string[]> {
  const path = base.resolve(rel);
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
