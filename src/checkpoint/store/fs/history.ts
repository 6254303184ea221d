import { join } from 'node:path';
import { HISTORY_DIR, type HistoryVersion, type RelPath } from '../engine.js';
import { contentIdentity, writeTemporary } from './atomic-write.js';
import type { FsBase } from './fs-base.js';
import { listEntries } from './listing.js';
import { errnoCode } from './store-fs.js';

export const HISTORY_NAME = /^(.+)\.v(\d+)\.md$/;

/** Where version `version` of `rel` is kept: `history/{stem}.v{n}.md` beside it. */
export function historyFile(rel: RelPath, version: number): RelPath {
  return [...rel.slice(0, -1), HISTORY_DIR, `${stemOf(rel.at(-1) ?? '')}.v${version}.md`];
}

/** The versions kept for `rel`, oldest first; each saved_at is the time that version was written. */
export async function historyVersions(base: FsBase, rel: RelPath): Promise<HistoryVersion[]> {
  const historyRel = [...rel.slice(0, -1), HISTORY_DIR];
  const stem = stemOf(rel.at(-1) ?? '');
  const versions: HistoryVersion[] = [];
  const folder = await base.resolve(historyRel);
  for (const entry of await listEntries(base, historyRel)) {
    const match = HISTORY_NAME.exec(entry.name);
    if (entry.kind !== 'file' || match?.[1] !== stem) continue;
    const stat = await base.fs.lstat(join(folder, entry.name)).catch((error: unknown) => {
      // Gone since the listing: a version is never removed by the store, so a person did.
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw base.ioError('reading', [...historyRel, entry.name], error);
    });
    if (!stat) continue;
    versions.push({
      file: base.label([...historyRel, entry.name]),
      version: Number(match[2]),
      saved_at: stat.mtime.toISOString(),
    });
  }
  return versions.sort((a, b) => a.version - b.version);
}

/**
 * Keeps `data`, the version about to be replaced, as the next `history/{stem}.v{n}.md`, with the time
 * it was written (`mtime`) as its own. A version number is never reused, even by a racing writer.
 */
export async function archive(base: FsBase, rel: RelPath, data: Buffer, mtime: Date): Promise<void> {
  const historyRel = [...rel.slice(0, -1), HISTORY_DIR];
  const { path: directory, stat: folder } = await base.locate(historyRel);
  const stem = stemOf(rel.at(-1) ?? '');
  const key = join(directory, stem);
  const identity = contentIdentity(data);
  // What this process archived last is known by number and digest: no listing, no read back. Another
  // process may have archived since; link() below then moves past the numbers it took.
  const known = base.archived.get(key);
  const newest = known?.version ?? Math.max(0, ...(await historyNumbers(base, rel)));
  // A save that failed (or crashed) after archiving left these very bytes as the newest version already.
  if (known) {
    if (known.identity === identity) return;
  } else if (newest > 0) {
    const newestRel = historyFile(rel, newest);
    if ((await base.readWithStat(newestRel))?.data.equals(data)) return;
  }
  // Made by another writer since it was looked at: makeDirectory finds it there and goes on.
  if (!folder?.isDirectory()) await base.makeDirectory(historyRel);
  const { temp } = await writeTemporary(base, historyRel, directory, stem, data, mtime);
  let version = 0;
  try {
    version = newest + 1;
    // link() fails instead of replacing: a version number is never reused, even by a racing writer.
    for (;;) {
      try {
        base.fs.linkSync(temp, join(directory, `${stem}.v${version}.md`));
        break;
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw error;
        version++;
      }
    }
  } finally {
    base.removeQuietly(temp);
  }
  await base.syncDirectory(historyRel);
  base.archived.set(key, { version, identity });
}

/** The version numbers kept for `rel`, from the names alone. */
async function historyNumbers(base: FsBase, rel: RelPath): Promise<number[]> {
  const stem = stemOf(rel.at(-1) ?? '');
  return (await listEntries(base, [...rel.slice(0, -1), HISTORY_DIR])).flatMap((entry) => {
    const match = HISTORY_NAME.exec(entry.name);
    return entry.kind === 'file' && match?.[1] === stem ? [Number(match[2])] : [];
  });
}

export function stemOf(name: string): string {
  return name.endsWith('.md') ? name.slice(0, -3) : name;
}
