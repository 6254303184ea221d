import { lstatSync } from 'node:fs';
import { join } from 'node:path';
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

/** The subdirectories of `rel` (not links, not dot names) with the time each was created. */
export async function listDirectoriesCreated(
  base: FsBase,
  rel: RelPath,
): Promise<Array<{ name: string; createdMs: number }>> {
  const path = await base.resolve(rel);
  const found: Array<{ name: string; createdMs: number }> = [];
  for (const entry of await listEntries(base, rel)) {
    if (entry.kind !== 'directory' || !SEGMENT.test(entry.name)) continue;
    try {
      const stat = await base.fs.lstat(join(path, entry.name));
      if (stat.isDirectory())
        found.push({ name: entry.name, createdMs: stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs });
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw base.ioError('listing', rel, error);
    }
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
