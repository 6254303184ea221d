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

export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify([key.created, key.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): SortKey {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string'
    ) {
      if (!Number.isNaN(Date.parse(parsed[0]))) return { created: parsed[0], id: parsed[1] };
    }
  } catch {
    // Reported below with the way out.
  }
  throw new CheckpointError(
    'INVALID_ARGUMENT',
    'cursor is not one this server returned; pass the next_cursor of the previous page, or omit cursor for the first page',
  );
}

/**
 * One page of `items` (already sorted newest first) after `cursor`. Paging by key, not by position, so
 * items created between two calls neither repeat nor push others out of the next page.
 */
export function pageOf<T extends SortKey>(
  items: readonly T[],
  limit: number | undefined,
  cursor: string | undefined,
) {
  const size = limit ?? DEFAULT_PAGE_SIZE;
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const start = after === undefined ? 0 : items.findIndex((item) => compareNewestFirst(item, after) > 0);
  const page = start === -1 ? [] : items.slice(start, start + size);
  const last = page.at(-1);
  const more = start !== -1 && start + size < items.length;
  return { page, next_cursor: more && last ? encodeCursor(last) : undefined };
}
