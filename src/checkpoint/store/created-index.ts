import { basename, dirname, join } from 'node:path';

// The file engine's index of when each folder of a listed folder was created. The file engine keeps
// it; export writes it and import reads it, so that a tree carries its sessions' creation times.

/**
 * The cache of folder creation times of a listed folder, in a file beside it (`.sessions-index` for
 * `sessions/`): a header, then `stamp {stamp}` when the index is all the folder held at that stamp,
 * then `{ms} {name}` lines, the last line of a name standing. It lies outside the folder so that
 * writing it leaves the folder's stamp alone. Nothing in it is trusted beyond a time and, while the
 * folder's stamp is the one it records, the names: a name is listed only when it is one path
 * component that is no dot name, it is read (never followed) as any name a listing gives, and a
 * missing, unreadable or foreign index is the same as an empty one; a line cut short by a crash is skipped.
 */
export function createdIndexPath(listed: string): string {
  return join(dirname(listed), `.${basename(listed)}-index`);
}
export const INDEX_HEADER =
  '# checkpoint-mcp: the folders here and their creation times, a cache; safe to delete';
const STAMP_LINE = 'stamp ';
/** A name the index may list: one path component that is no dot name. */
const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;

export interface CreatedIndex {
  stamp: string | undefined;
  times: Map<string, number>;
}

/** An index's stamp and times (see createdIndexPath); text that is no index gives none. */
export function parseCreatedIndex(text: string, header = INDEX_HEADER): CreatedIndex {
  const index: CreatedIndex = { stamp: undefined, times: new Map() };
  if (!text.startsWith(`${header}\n`)) return index;
  let start = header.length + 1;
  if (text.startsWith(STAMP_LINE, start)) {
    const end = text.indexOf('\n', start);
    if (end === -1) return index;
    index.stamp = text.slice(start + STAMP_LINE.length, end);
    start = end + 1;
  }
  // Read by hand, not by a pattern per line: a fresh process reads 10,000 lines in half the time.
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    if (end === -1) break;
    const space = text.indexOf(' ', start);
    const ms = space > start && space < end ? Number(text.slice(start, space)) : Number.NaN;
    const name = text.slice(space + 1, end);
    if (Number.isFinite(ms) && ms >= 0 && !name.startsWith('.') && SEGMENT.test(name))
      index.times.set(name, ms);
    start = end + 1;
  }
  // A line cut short at the end makes the names incomplete: the times still hold, the stamp does not.
  if (start < text.length) index.stamp = undefined;
  return index;
}

/**
 * An index of `folders`, recording `stamp` when they are all the folder held at that stamp. Without a
 * stamp (as export writes it, since a folder it makes has the time of the export, not its own), a
 * listing takes the times from it and still reads the folder.
 */
export function createdIndexText(
  folders: ReadonlyArray<{ name: string; createdMs: number }>,
  stamp?: string,
): string {
  const lines = folders.map((folder) => `${folder.createdMs} ${folder.name}\n`);
  return `${INDEX_HEADER}\n${stamp === undefined ? '' : `${STAMP_LINE}${stamp}\n`}${lines.join('')}`;
}
