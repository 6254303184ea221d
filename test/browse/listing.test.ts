import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import type { Engine, RelPath } from '../../src/checkpoint/store/engine.js';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { corrupt } from '../helpers/seed.js';

interface SessionSummary {
  session_id: string;
  status: string;
  execution_mode: string;
  current_phase: number;
  next_phase?: number;
  created: string;
  last_updated: string;
}
interface SessionPage {
  sessions: SessionSummary[];
  next_cursor?: string;
}
interface ProjectPage {
  projects: Array<{ project_id: string; user_id: string; status: string; created_at: string }>;
  next_cursor?: string;
}

const PROJECT = 'p1';
const id = (prefix: string, n: number) => `${prefix}${String(n).padStart(3, '0')}`;

/** Sessions created one after another; ids grow with creation so a tie in time sorts the same way. */
async function createSessions(client: Client, prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const session_id = id(prefix, n);
    await callOk(client, 'create_session', { project_id: PROJECT, session_id, user_id: 'u1' });
    ids.push(session_id);
  }
  return ids;
}

/** Marks every phase of an mvp session skipped, which completes it. */
async function completeBySkipping(client: Client, session_id: string): Promise<void> {
  for (const phase_num of [1, 2, 3, 6, 7]) {
    await callOk(client, 'save_user_feedback', {
      project_id: PROJECT,
      session_id,
      phase_num,
      reviewed: true,
      approved: false,
      action: 'skip_phase',
    });
  }
}

/** Walks every page; `between` runs after each page but the last, as other writers would. */
async function walk<T>(
  fetch: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string }>,
  between: (page: number) => Promise<void> = async () => {},
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await fetch(cursor);
    items.push(...page.items);
    pages++;
    if (page.next_cursor === undefined) return { items, pages };
    cursor = page.next_cursor;
    await between(pages);
  }
}

function sessionPages(client: Client, extra: Record<string, unknown>) {
  return async (cursor: string | undefined) => {
    const page = await callOk<SessionPage>(client, 'list_sessions', {
      project_id: PROJECT,
      ...extra,
      ...(cursor === undefined ? {} : { cursor }),
    });
    return { items: page.sessions.map((session) => session.session_id), next_cursor: page.next_cursor };
  };
}

describe('list_sessions', () => {
  it('list_sessions pages newest first and visits every session exactly once', async () => {
    const { client } = await connectedClient();
    const ids = await createSessions(client, 's', 13);
    const { items, pages } = await walk(sessionPages(client, { limit: 4 }));
    expect(pages).toBe(4);
    expect(items).toEqual([...ids].reverse());
    const whole = await callOk<SessionPage>(client, 'list_sessions', { project_id: PROJECT });
    expect(whole.next_cursor).toBeUndefined();
    expect(whole.sessions.map((session) => session.session_id)).toEqual([...ids].reverse());
    const created = whole.sessions.map((session) => Date.parse(session.created));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it('list_sessions stays exactly-once while sessions are created between pages, and shows them from the start', async () => {
    const { client } = await connectedClient();
    const old = await createSessions(client, 'old', 17);
    const added: string[] = [];
    const { items } = await walk(sessionPages(client, { limit: 5 }), async (page) => {
      for (let n = 0; n < 2; n++) {
        const session_id = id(`new${page}_`, n);
        await callOk(client, 'create_session', { project_id: PROJECT, session_id, user_id: 'u1' });
        added.push(session_id);
      }
    });
    expect(added).toHaveLength(6);
    // Nothing old skipped or repeated, nothing created after the first page shows up.
    expect(items).toEqual([...old].reverse());
    const fresh = await walk(sessionPages(client, { limit: 5 }));
    expect(fresh.items).toEqual([...added].reverse().concat([...old].reverse()));
  });

  it('list_sessions filters by status, and filtered paging stays exactly-once while sessions are added', async () => {
    const { client } = await connectedClient();
    const ids = await createSessions(client, 's', 12);
    const done = ids.filter((_, n) => n % 3 === 0);
    for (const session_id of done) await completeBySkipping(client, session_id);
    const completed = await callOk<SessionPage>(client, 'list_sessions', {
      project_id: PROJECT,
      status: 'completed',
    });
    expect(completed.sessions.map((session) => session.session_id)).toEqual([...done].reverse());
    expect(completed.sessions[0]).toEqual({
      session_id: done.at(-1),
      status: 'completed',
      execution_mode: 'mvp',
      current_phase: 7,
      created: expect.any(String),
      last_updated: expect.any(String),
    });
    const open = ids.filter((session_id) => !done.includes(session_id));
    let n = 0;
    const { items } = await walk(sessionPages(client, { status: 'in_progress', limit: 3 }), async () => {
      await callOk(client, 'create_session', {
        project_id: PROJECT,
        session_id: id('late', n++),
        user_id: 'u1',
      });
    });
    expect(items).toEqual([...open].reverse());
    const firstOpen = await callOk<SessionPage>(client, 'list_sessions', {
      project_id: PROJECT,
      status: 'in_progress',
      limit: 1,
    });
    expect(firstOpen.sessions[0]).toMatchObject({
      session_id: id('late', n - 1),
      current_phase: 0,
      next_phase: 1,
    });
  });

  it('list_sessions stays exactly-once on a file system without birth times while older sessions are saved', async () => {
    // Some file systems report no birth time; the store then falls back to the folder's mtime, which
    // moves on every save in the session. A listing in progress must not let a saved session jump ahead.
    const { client, checkpoints } = await connectedClient({ through: withoutBirthTimes });
    const old = await createSessions(client, 's', 12);
    const { items } = await walk(sessionPages(client, { limit: 4 }), async (page) => {
      // An old session not listed yet is saved, then many new sessions appear (enough that the lister
      // lists the times of the whole folder again rather than looking up each new one).
      await callOk(client, 'save_checkpoint', {
        project_id: PROJECT,
        session_id: old[page] as string,
        phase_num: 1,
        status: 'in_progress',
        agents: [],
      });
      for (let n = 0; n < 20; n++) {
        await checkpoints.createSession({
          project_id: PROJECT,
          session_id: id(`new${page}_`, n),
          user_id: 'u1',
        });
      }
    });
    expect(items).toEqual([...old].reverse());
  });

  it('list_sessions pages exactly once through sessions whose folders were created within one millisecond', async () => {
    // Folder times finer than the millisecond a cursor keeps, here in the opposite order to the ids: the
    // listing must be in the cursor's order (millisecond, then id), or a page would repeat or skip one.
    const { client } = await connectedClient({ through: withinOneMillisecond });
    const ids = await createSessions(client, 's', 9);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { items, next_cursor } = await sessionPages(client, { limit: 2 })(cursor);
      seen.push(...items);
      cursor = next_cursor;
      if (cursor === undefined) break;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('list_sessions rejects a cursor it did not issue as INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    await createSessions(client, 's', 3);
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    for (const cursor of [
      'not a cursor',
      '',
      forged({ created: 'x' }),
      forged(['yesterday', 's001']),
      forged([1, 2]),
    ]) {
      const text = await expectToolError(
        client,
        'list_sessions',
        { project_id: PROJECT, cursor },
        'INVALID_ARGUMENT',
      );
      expect(text).toContain('cursor');
    }
    await expectToolError(
      client,
      'list_sessions',
      { project_id: PROJECT, cursor: 'x'.repeat(2000) },
      'INVALID_ARGUMENT',
    );
  });

  it('list_sessions reads manifests only: it still lists when every agent output and checkpoint is unreadable', async () => {
    const m = await connectedClient();
    const { client } = m;
    const ids = await createSessions(client, 's', 3);
    for (const session_id of ids) {
      const ref = { project_id: PROJECT, session_id };
      await callOk(client, 'save_agent_output', {
        ...ref,
        phase_num: 1,
        agent_name: 'a1',
        output_content: 'x'.repeat(100_000),
      });
      await callOk(client, 'save_agent_output', {
        ...ref,
        phase_num: 2,
        agent_name: 'a2',
        output_content: 'draft',
      });
      await callOk(client, 'save_checkpoint', {
        ...ref,
        phase_num: 1,
        status: 'completed',
        agents: [{ agent_name: 'a1', status: 'completed' }],
      });
    }
    const before = await callOk<SessionPage>(client, 'list_sessions', { project_id: PROJECT });
    const breakFiles = async (which: (name: string) => boolean) => {
      let broken = 0;
      for (const session_id of ids) {
        const session = [PROJECT, 'sessions', session_id];
        for (const phase of await m.store.list(session)) {
          if (phase.kind !== 'directory') continue;
          const files = (await m.store.list([...session, phase.name])).filter(
            (entry) => entry.kind === 'file',
          );
          for (const file of files.map((entry) => entry.name).filter(which)) {
            await corrupt(
              m,
              [...session, phase.name, file],
              '# Agent Output: broken\n\n## Metadata\n- Status: ???\n',
            );
            broken++;
          }
        }
      }
      return broken;
    };
    const ref = { project_id: PROJECT, session_id: ids[0] };
    expect(await breakFiles((file) => file.endsWith('.md') && file !== 'checkpoint.md')).toBe(6);
    expect(await callOk<SessionPage>(client, 'list_sessions', { project_id: PROJECT })).toEqual(before);
    expect(
      await expectToolError(client, 'get_phase_outputs', { ...ref, phase_nums: [2] }, 'CORRUPT_FILE'),
    ).toContain('phase_2_market_research/a2.md');
    expect(await breakFiles((file) => file === 'checkpoint.md')).toBe(3);
    const after = await callOk<SessionPage>(client, 'list_sessions', { project_id: PROJECT });
    expect(after).toEqual(before);
    expect(after.sessions.map((session) => session.current_phase)).toEqual([1, 1, 1]);
    expect(await expectToolError(client, 'load_session', ref, 'CORRUPT_FILE')).toContain('checkpoint.md');
  });
});

function projectPages(client: Client, extra: Record<string, unknown>) {
  return async (cursor: string | undefined) => {
    const page = await callOk<ProjectPage>(client, 'list_projects', {
      ...extra,
      ...(cursor === undefined ? {} : { cursor }),
    });
    return { items: page.projects.map((project) => project.project_id), next_cursor: page.next_cursor };
  };
}

describe('list_projects', () => {
  /** Projects of two users, created one after another; every third archived. */
  async function createProjects(client: Client, count: number) {
    const all: Array<{ id: string; user: string; archived: boolean }> = [];
    for (let n = 0; n < count; n++) {
      const project = { id: id('proj', n), user: n % 2 === 0 ? 'alice' : 'bob', archived: n % 3 === 0 };
      await callOk(client, 'create_project', {
        project_id: project.id,
        user_id: project.user,
        startup_idea: `idea ${n}`,
      });
      if (project.archived) await callOk(client, 'archive_project', { project_id: project.id });
      all.push(project);
    }
    return all.reverse();
  }

  it('list_projects pages newest first through every project exactly once, with user and status filters', async () => {
    const { client } = await connectedClient();
    const newestFirst = await createProjects(client, 14);
    const ids = (keep: (project: (typeof newestFirst)[number]) => boolean) =>
      newestFirst.filter(keep).map((project) => project.id);
    expect((await walk(projectPages(client, { limit: 4 }))).items).toEqual(ids(() => true));
    expect((await walk(projectPages(client, { limit: 2, user_id: 'alice' }))).items).toEqual(
      ids((project) => project.user === 'alice'),
    );
    expect((await walk(projectPages(client, { limit: 2, status: 'archived' }))).items).toEqual(
      ids((project) => project.archived),
    );
    expect((await walk(projectPages(client, { limit: 1, status: 'active', user_id: 'bob' }))).items).toEqual(
      ids((project) => !project.archived && project.user === 'bob'),
    );
    const page = await callOk<ProjectPage>(client, 'list_projects', { limit: 500 });
    const created = page.projects.map((project) => Date.parse(project.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it('list_projects stays exactly-once while projects are created between pages', async () => {
    const { client } = await connectedClient();
    const old = (await createProjects(client, 11)).map((project) => project.id);
    const added: string[] = [];
    const { items, pages } = await walk(projectPages(client, { limit: 3 }), async (page) => {
      for (const user_id of ['alice', 'bob']) {
        const created = await callOk<{ project_id: string }>(client, 'create_project', {
          user_id,
          startup_idea: 'late idea',
          project_name: `Late ${page} ${user_id}`,
        });
        added.push(created.project_id);
      }
    });
    expect(pages).toBe(4);
    expect(items).toEqual(old);
    const fresh = await walk(projectPages(client, { limit: 3 }));
    expect(fresh.items).toEqual([...added].reverse().concat(old));
  });

  it('list_projects rejects a cursor it did not issue as INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    await createProjects(client, 2);
    for (const cursor of ['garbage', Buffer.from('["not a time","p"]').toString('base64url')]) {
      await expectToolError(client, 'list_projects', { cursor }, 'INVALID_ARGUMENT');
    }
  });
});

/**
 * The engine as it is on a file system that keeps no birth times: a folder's creation time is its
 * modification time, which moves whenever a document in the folder is written.
 */
function withoutBirthTimes(store: Engine): Engine {
  const modified = new Map<string, number>();
  const timeOf = (rel: RelPath, createdMs: number) =>
    Math.max(createdMs, modified.get(rel.join('/')) ?? createdMs);
  return withFolderTimes(store, timeOf, {
    async write(rel, content, options) {
      const written = await store.write(rel, content, options);
      modified.set(rel.slice(0, -1).join('/'), Date.now());
      return written;
    },
    async writeAll(writes) {
      const written = await store.writeAll(writes);
      for (const { rel } of writes) modified.set(rel.slice(0, -1).join('/'), Date.now());
      return written;
    },
  });
}

/** Every session folder made within one millisecond, the later the lower its number (s000 last). */
function withinOneMillisecond(store: Engine): Engine {
  const start = Date.parse('2024-11-24T10:00:00.000Z');
  return withFolderTimes(store, (rel) => start + 0.9 - Number((rel.at(-1) ?? '').slice(1)) / 100);
}

/** `store` with folder times as `timeOf` makes them from the engine's, and `more` of its methods replaced. */
function withFolderTimes(
  store: Engine,
  timeOf: (rel: RelPath, createdMs: number) => number,
  more: Partial<Engine> = {},
): Engine {
  const replaced: Partial<Engine> = {
    ...more,
    async listDirectoriesCreated(rel) {
      return (await store.listDirectoriesCreated(rel)).map(({ name, createdMs }) => ({
        name,
        createdMs: timeOf([...rel, name], createdMs),
      }));
    },
    async createdAt(rel) {
      const created = await store.createdAt(rel);
      return created && new Date(timeOf(rel, created.getTime()));
    },
  };
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(replaced, key)) return replaced[key as keyof Engine];
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
