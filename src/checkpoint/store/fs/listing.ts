import { lstatSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import type { Entry, RelPath } from '../engine.js';
import { type FsBase, SEGMENT } from './fs-base.js';
import { errnoCode, isProcessAlive } from './store-fs.js';

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
 * The subdirectories of `rel` (not links, not dot names) with the time each was created. The lstat that
 * tells a folder from a link also gives its time, and is synchronous, as resolve()'s are: 10,000 sessions
 * cost 10,000 lstats of microseconds each, where as many round trips through libuv's thread pool, one
 * after another, took over a second.
 */
export async function listDirectoriesCreated(
  base: FsBase,
  rel: RelPath,
): Promise<Array<{ name: string; createdMs: number }>> {
  const path = await base.resolve(rel);
  let names: string[];
  try {
    names = await base.fs.readdir(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw base.ioError('listing', rel, error);
  }
  const found: Array<{ name: string; createdMs: number }> = [];
  for (const name of names) {
    if (name.startsWith('.') || !SEGMENT.test(name)) continue;
    let stat: Stats | undefined;
    try {
      // A name that passed SEGMENT and is not a dot name is one path component: no join() needed.
      stat = lstatSync(`${path}${sep}${name}`, { throwIfNoEntry: false });
    } catch (error) {
      throw base.ioError('listing', rel, error);
    }
    if (stat?.isDirectory())
      found.push({ name, createdMs: stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs });
  }
  return found;
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
      await base.removeQuietly(join(path, entry.name));
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
