import { sha256 } from './digest.js';
import { CheckpointError } from './errors.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** A position in a newest-first listing: items are ordered by (created desc, id desc). */
export interface SortKey {
  created: string;
  id: string;
}

export function compareNewestFirst(a: SortKey, b: SortKey): number {
  const byTime = Date.parse(b.created) - Date.parse(a.created);
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The listing a cursor was made for: `projects`, or `sessions` and the project. A cursor carries a short
 * digest of it, so one listing's cursor passed to another is refused rather than read as a position
 * there (a first page, or an empty one).
 */
export type ListingScope = 'projects' | { sessions: string };

function scopeTag(scope: ListingScope): string {
  return scope === 'projects' ? 'p' : `s${sha256(scope.sessions, 'base64url').slice(0, 8)}`;
}

function describeScope(scope: ListingScope): string {
  return scope === 'projects' ? 'list_projects' : `list_sessions of project "${scope.sessions}"`;
}

export function encodeCursor(key: SortKey, scope: ListingScope): string {
  return Buffer.from(JSON.stringify([key.created, key.id, scopeTag(scope)]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, scope: ListingScope): SortKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Reported below with the way out.
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 3 &&
    typeof parsed[0] === 'string' &&
    typeof parsed[1] === 'string' &&
    typeof parsed[2] === 'string' &&
    !Number.isNaN(Date.parse(parsed[0]))
  ) {
    if (parsed[2] === scopeTag(scope)) return { created: parsed[0], id: parsed[1] };
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `cursor is the next_cursor of another listing, not of ${describeScope(scope)}; pass the next_cursor this listing returned, or omit cursor for its first page`,
    );
  }
  throw new CheckpointError(
    'INVALID_ARGUMENT',
    'cursor is not one this server returned; pass the next_cursor of the previous page, or omit cursor for the first page',
  );
}

/**
 * One page of `items` (already sorted newest first) after `cursor`, a cursor of the listing `scope`.
 * Paging by key, not by position, so items created between two calls neither repeat nor push others out
 * of the next page.
 */
export function pageOf<T extends SortKey>(
  items: readonly T[],
  limit: number | undefined,
  cursor: string | undefined,
  scope: ListingScope,
) {
  const size = limit ?? DEFAULT_PAGE_SIZE;
  const after = cursor === undefined ? undefined : decodeCursor(cursor, scope);
  const start = after === undefined ? 0 : items.findIndex((item) => compareNewestFirst(item, after) > 0);
  const page = start === -1 ? [] : items.slice(start, start + size);
  const last = page.at(-1);
  const more = start !== -1 && start + size < items.length;
  return { page, next_cursor: more && last ? encodeCursor(last, scope) : undefined };
}
