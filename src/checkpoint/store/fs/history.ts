import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { HISTORY_DIR, type HistoryVersion, type RelPath } from '../engine.js';
import { writeTemporary } from './atomic-write.js';
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
  const folder = base.resolve(historyRel);
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

/** link() errors where a file can take no other name (FAT and some network shares; too many links): copied. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Keeps the version about to be replaced, the file at `target` (`current`, its lstat), as the next
 * `history/{stem}.v{n}.md`: a hard link to that very file, so nothing is copied, its bytes and the time
 * it was written stay what they were, and the rename that replaces it frees nothing. A version number is
 * never reused, even by a racing writer. Where the file system has no hard links the bytes are copied.
 */
export async function archive(base: FsBase, rel: RelPath, target: string, current: Stats): Promise<void> {
  const historyRel = [...rel.slice(0, -1), HISTORY_DIR];
  const { path: directory, stat: folder } = base.locate(historyRel);
  const stem = stemOf(rel.at(-1) ?? '');
  const key = join(directory, stem);
  // What this process kept last is known by number and file: no listing. Another process may have kept
  // versions since; link() below then moves past the numbers it took.
  const known = base.archived.get(key);
  // A file with a second name may be the version a failed or crashed save of another process kept
  // after this one last looked: the newest version on disk is looked at, not the one remembered.
  const newest =
    known !== undefined && current.nlink === 1
      ? known.version
      : Math.max(0, ...(await historyNumbers(base, rel)));
  if (newest > 0 && (await alreadyKept(base, rel, newest, target, current, known))) return;
  // Made by another writer since it was looked at: makeDirectory finds it there and goes on.
  if (!folder?.isDirectory()) await base.makeDirectory(historyRel);
  let kept: { version: number; ino?: number } | undefined;
  // A file with another name already (a hard link someone made, perhaps to a file outside the base) is
  // copied: history/ never holds a name for a file the store does not own alone.
  if (current.nlink === 1) {
    try {
      kept = { version: linkAsNext(base, target, directory, stem, newest + 1), ino: current.ino };
    } catch (error) {
      const code = errnoCode(error);
      // Removed or replaced by hand since it was looked at (link() races a rename over the name): that
      // version is gone, and a file now at the name is kept by the write before it renames (see FsStore).
      // The same file still there failed for history/'s sake (removed meanwhile): an error, as any.
      if (code === 'ENOENT') {
        const now = lstatSync(target, { throwIfNoEntry: false });
        if (now === undefined || now.ino !== current.ino || now.dev !== current.dev) return;
      }
      if (code === undefined || !NO_HARD_LINKS.has(code)) throw error;
    }
  }
  kept ??= await archiveCopy(base, rel, target, directory, stem, newest + 1);
  if (kept === undefined) return;
  // Checked by the locate above, or made since: opened without following a link, as flushDirectory opens.
  await base.syncDirectory(historyRel, directory);
  base.archived.set(key, kept);
}

/**
 * Whether version `newest` already holds the current file: a save that failed or crashed after keeping
 * it left that very file (or, copied, its very bytes) there. A version this process linked itself is
 * another file than the current one unless it is the same file, so only others (copies included) are
 * read and compared.
 */
async function alreadyKept(
  base: FsBase,
  rel: RelPath,
  newest: number,
  target: string,
  current: Stats,
  known: { version: number; ino?: number } | undefined,
): Promise<boolean> {
  const newestRel = historyFile(rel, newest);
  // The lstat the path checks take of the version itself: no second look.
  const { stat } = base.locate(newestRel);
  if (!stat?.isFile()) return false;
  if (stat.ino === current.ino && stat.dev === current.dev) return true;
  if (stat.size !== current.size || known?.ino === stat.ino) return false;
  const kept = await base.readWithStat(newestRel);
  const now = await base.readWithStat(rel, target);
  return kept !== undefined && now !== undefined && kept.data.equals(now.data);
}

/** The bytes at `target` written to a temporary file and linked as the next version. */
async function archiveCopy(
  base: FsBase,
  rel: RelPath,
  target: string,
  directory: string,
  stem: string,
  from: number,
): Promise<{ version: number } | undefined> {
  const previous = await base.readWithStat(rel, target);
  if (previous === undefined) return undefined;
  const historyRel = [...rel.slice(0, -1), HISTORY_DIR];
  const { temp } = await writeTemporary(
    base,
    historyRel,
    directory,
    stem,
    previous.data,
    previous.stat.mtime,
  );
  try {
    // No inode remembered: a copy holds the current bytes in another file, which alreadyKept compares.
    return { version: linkAsNext(base, temp, directory, stem, from) };
  } finally {
    base.removeQuietly(temp);
  }
}

/** Links `source` as `{stem}.v{n}.md` for the first free n from `from`; link() fails instead of replacing. */
function linkAsNext(base: FsBase, source: string, directory: string, stem: string, from: number): number {
  for (let version = from; ; version++) {
    try {
      base.fs.linkSync(source, join(directory, `${stem}.v${version}.md`));
      return version;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
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
