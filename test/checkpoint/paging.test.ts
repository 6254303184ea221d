import { describe, expect, it } from 'vitest';
import {
  compareNewestFirst,
  encodeCursor,
  type ListingScope,
  pageOf,
  type SortKey,
} from '../../src/checkpoint/model/paging.js';
import { managers, steppingClock } from '../helpers/base-dir.js';

/** Every page from the first to the one without next_cursor; at most `most` pages, so a loop cannot hang. */
async function walk<T>(
  fetch: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string }>,
  most = 20,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    pages.push(page.items);
    cursor = page.next_cursor;
  } while (cursor !== undefined && pages.length < most);
  return pages;
}

/** `count` keys newest first: times one second apart, two keys on each time (told apart by id). */
function keys(count: number): SortKey[] {
  const start = Date.parse('2024-11-24T10:00:00.000Z');
  return Array.from({ length: count }, (_, i) => ({
    created: new Date(start + Math.floor(i / 2) * 1000).toISOString(),
    id: `k${String(i).padStart(3, '0')}`,
  })).sort(compareNewestFirst);
}

const scope: ListingScope = 'projects';

const ids = (pages: SortKey[][]) => pages.map((page) => page.map((key) => key.id));

describe('pageOf', () => {
  it('the order paged is newest first, and by id descending among items of the same time', () => {
    // Written out, not sorted by compareNewestFirst: the tests below take their expectations from it.
    expect(keys(5).map((key) => key.id)).toStrictEqual(['k004', 'k003', 'k002', 'k001', 'k000']);
  });

  it('a listing of exactly two full pages ends on the second: no next_cursor to an empty third', async () => {
    for (const size of [1, 2, 3, 5]) {
      const items = keys(2 * size);
      const pages = await walk(async (cursor) => {
        const { page, next_cursor } = pageOf(items, size, cursor, scope);
        return { items: page, next_cursor };
      });
      expect(ids(pages)).toStrictEqual([
        items.slice(0, size).map((key) => key.id),
        items.slice(size).map((key) => key.id),
      ]);
    }
  });

  it('a listing of exactly one page, or of none, has no next_cursor', () => {
    expect(pageOf(keys(4), 4, undefined, scope)).toStrictEqual({ page: keys(4), next_cursor: undefined });
    expect(pageOf(keys(3), 4, undefined, scope)).toStrictEqual({ page: keys(3), next_cursor: undefined });
    expect(pageOf([], 4, undefined, scope)).toStrictEqual({ page: [], next_cursor: undefined });
  });

  it('the page after a cursor starts just after its item, also among items of the same time', () => {
    const items = keys(10);
    for (let at = 0; at < items.length; at++) {
      const cursor = encodeCursor(items[at] as SortKey, scope);
      const { page } = pageOf(items, 3, cursor, scope);
      expect(page).toStrictEqual(items.slice(at + 1, at + 4));
    }
  });

  it('a cursor whose item is gone still pages on from where that item stood', () => {
    const items = keys(6);
    const gone = items[2] as SortKey;
    const left = items.filter((key) => key !== gone);
    expect(pageOf(left, 2, encodeCursor(gone, scope), scope).page).toStrictEqual(items.slice(3, 5));
    expect(pageOf(left, 2, encodeCursor(items[5] as SortKey, scope), scope)).toStrictEqual({
      page: [],
      next_cursor: undefined,
    });
  });
});

describe('a cursor belongs to the listing that returned it', () => {
  const key = keys(4)[0] as SortKey;

  it("another listing's cursor is refused, naming the listing it was passed to", () => {
    const listings: ListingScope[] = ['projects', { sessions: 'p1' }, { sessions: 'p2' }, { sessions: 'P1' }];
    for (const made of listings) {
      for (const passed of listings) {
        const call = () => pageOf(keys(4), 2, encodeCursor(key, made), passed);
        if (made === passed) expect(call().page).toStrictEqual(keys(4).slice(1, 3));
        else
          expect(call).toThrow(
            expect.objectContaining({
              code: 'INVALID_ARGUMENT',
              message: expect.stringMatching(
                /^cursor is the next_cursor of another listing, not of (list_projects|list_sessions of project "P?p?\d")/,
              ),
            }),
          );
      }
    }
  });

  it("a list_sessions cursor passed to list_projects, or to another project's list_sessions, is INVALID_ARGUMENT", async () => {
    const m = await managers({ clock: steppingClock(), store: { durable: false } });
    for (const project_id of ['p1', 'p2']) {
      for (const session_id of ['s1', 's2', 's3']) {
        await m.checkpoints.createSession({ project_id, session_id, user_id: 'u1' });
      }
    }
    const sessions = await m.checkpoints.listSessions({ project_id: 'p1', limit: 1 });
    const projects = await m.projects.listProjects({ limit: 1 });
    const refused = [
      () => m.projects.listProjects({ cursor: sessions.next_cursor }),
      () => m.checkpoints.listSessions({ project_id: 'p2', cursor: sessions.next_cursor }),
      () => m.checkpoints.listSessions({ project_id: 'p1', cursor: projects.next_cursor }),
    ];
    for (const call of refused) {
      await expect(call()).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('next_cursor of another listing'),
      });
    }
    // Each listing goes on with its own.
    const next = await m.checkpoints.listSessions({
      project_id: 'p1',
      limit: 5,
      cursor: sessions.next_cursor,
    });
    expect(next.sessions.map((session) => session.session_id)).toStrictEqual(['s2', 's1']);
    const rest = await m.projects.listProjects({ cursor: projects.next_cursor });
    expect(rest.projects.map((project) => project.project_id)).toStrictEqual(['p1']);
  });
});

describe('listings whose length is an exact multiple of the page size', () => {
  it('list_sessions of six sessions in pages of three is two pages, the last without next_cursor', async () => {
    const m = await managers({ clock: steppingClock(), store: { durable: false } });
    // Ids ascend with creation, so the newest-first order is the same whatever the folder times tie on.
    const sessions = ['s1', 's2', 's3', 's4', 's5', 's6'];
    for (const session_id of sessions) {
      await m.checkpoints.createSession({ project_id: 'p1', session_id, user_id: 'u1' });
    }
    for (const limit of [3, 6]) {
      const pages = await walk(async (cursor) => {
        const page = await m.checkpoints.listSessions({ project_id: 'p1', limit, cursor });
        return { items: page.sessions.map((session) => session.session_id), next_cursor: page.next_cursor };
      });
      expect(pages.flat()).toStrictEqual([...sessions].reverse());
      expect(pages.map((page) => page.length)).toStrictEqual(limit === 3 ? [3, 3] : [6]);
    }
  });

  it('list_projects of four projects in pages of two is two pages, the last without next_cursor', async () => {
    const m = await managers({ clock: steppingClock(), store: { durable: false } });
    const projects = ['a', 'b', 'c', 'd'];
    for (const project_id of projects) {
      await m.projects.createProject({ user_id: 'u1', project_id, startup_idea: '' });
    }
    for (const limit of [2, 4]) {
      const pages = await walk(async (cursor) => {
        const page = await m.projects.listProjects({ limit, cursor });
        return { items: page.projects.map((project) => project.project_id), next_cursor: page.next_cursor };
      });
      expect(pages.flat()).toStrictEqual([...projects].reverse());
      expect(pages.map((page) => page.length)).toStrictEqual(limit === 2 ? [2, 2] : [4]);
    }
  });
});
