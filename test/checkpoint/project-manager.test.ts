import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import { parseProject } from '../../src/checkpoint/formats/project.js';
import type { Limits } from '../../src/checkpoint/model/limits.js';
import { slugify } from '../../src/checkpoint/project-manager.js';
import { type Managers, managers, steppingClock } from '../helpers/base-dir.js';
import { documentTree, ENGINE, editDocument, makeFolder, readDocument } from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function setup(limits: Partial<Limits> = {}): Promise<Managers> {
  return managers({ clock: steppingClock(), limits, store: { durable: false } });
}

async function projectFile(m: Managers, projectId: string) {
  return parseProject(await readDocument(m, projectId, 'project.md'), 'project.md');
}

describe('createProject', () => {
  it('writes project.md under a slug of the name and returns the summary', async () => {
    const m = await setup();
    const idea = 'Meal plans from what is in the fridge.\n\n## Metadata\n- Status: archived\n';
    const result = await m.projects.createProject({
      user_id: 'u1',
      project_name: 'AI Recipe Planner',
      startup_idea: idea,
      execution_mode: 'full',
    });
    expect(result).toStrictEqual({
      project_id: 'ai-recipe-planner',
      project_name: 'AI Recipe Planner',
      user_id: 'u1',
      workflow_type: 'idea_validation',
      execution_mode: 'full',
      status: 'active',
      created_at: '2024-11-24T10:00:00.000Z',
    });
    expect(await documentTree(m)).toStrictEqual(['ai-recipe-planner/', 'ai-recipe-planner/project.md']);
    expect(await readDocument(m, 'ai-recipe-planner', 'project.md')).toMatchInlineSnapshot(`
      "# Project: AI Recipe Planner

      ## Metadata

      - Project ID: ai-recipe-planner
      - Project Name: AI Recipe Planner
      - User ID: u1
      - Execution Mode: full
      - Status: active
      - Created: 2024-11-24T10:00:00.000Z
      - Updated: 2024-11-24T10:00:00.000Z

      ## Startup Idea

      Meal plans from what is in the fridge.

      ## Metadata
      - Status: archived
      "
    `);
    expect((await projectFile(m, 'ai-recipe-planner')).startup_idea).toBe(idea);
  });

  it('makes the slug unique with -2, -3 for the same name', async () => {
    const m = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (await m.projects.createProject({ user_id: 'u1', project_name: 'My App', startup_idea: '' }))
          .project_id,
      );
    }
    expect(ids).toStrictEqual(['my-app', 'my-app-2', 'my-app-3']);
    expect((await projectFile(m, 'my-app-3')).project_name).toBe('My App');
  });

  it('sends a name of several lines to startup_idea, an argument create_project has', async () => {
    const m = await setup();
    await expect(
      m.projects.createProject({ user_id: 'u1', project_name: 'My App\nwith a pitch', startup_idea: '' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message:
        'project_name must be a single line without control characters; describe the project in startup_idea',
    });
  });

  it('slugs accents, punctuation and reserved device names the way a file system can hold them', () => {
    expect(slugify('Café Crème: the "best" app!')).toBe('cafe-creme-the-best-app');
    expect(slugify('  --Hello   World--  ')).toBe('hello-world');
    expect(slugify('x'.repeat(100))).toBe('x'.repeat(64));
    expect(slugify('CON')).toBe('');
    expect(slugify('日本語')).toBe('');
  });

  it('uses a UUIDv7 as id and name when there is no name, or no letters to slug', async () => {
    const m = await setup();
    const unnamed = await m.projects.createProject({ user_id: 'u1', startup_idea: 'idea' });
    expect(unnamed.project_id).toMatch(UUID_V7);
    expect(unnamed.project_name).toBe(unnamed.project_id);
    const symbols = await m.projects.createProject({
      user_id: 'u1',
      project_name: '!!!',
      startup_idea: 'idea',
    });
    expect(symbols.project_id).toMatch(UUID_V7);
    expect(symbols.project_name).toBe('!!!');
    expect(symbols.project_id > unnamed.project_id).toBe(true);
  });

  it('uses an explicit project_id, and answers CONFLICT for one that exists, changing nothing', async () => {
    const m = await setup();
    await m.projects.createProject({
      user_id: 'u1',
      project_id: 'p1',
      project_name: 'First',
      startup_idea: 'a',
    });
    const before = await readDocument(m, 'p1', 'project.md');
    const error = await rejected(
      m.projects.createProject({
        user_id: 'u2',
        project_id: 'p1',
        project_name: 'Second',
        startup_idea: 'b',
      }),
    );
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe(
      'project "p1" already exists; call get_project to use it, or choose another project_id',
    );
    expect(await readDocument(m, 'p1', 'project.md')).toBe(before);
  });

  it('answers CONFLICT for an id differing only in letter case from a project there, making nothing; a slug passes it by', async () => {
    const m = await setup();
    await m.projects.createProject({ user_id: 'u1', project_id: 'Acme', startup_idea: 'a' });
    const before = await documentTree(m);
    for (const project_id of ['acme', 'ACME']) {
      expect(
        await rejected(m.projects.createProject({ user_id: 'u2', project_id, startup_idea: 'b' })),
      ).toMatchObject({
        code: 'CONFLICT',
        message: `project_id "${project_id}" differs only in letter case from the existing project "Acme"; the two folders would collide on macOS and Windows. Use project_id "Acme" (get_project reads it), or another id`,
      });
      // create_session makes a project it does not find: not beside its twin either.
      expect(
        await rejected(m.checkpoints.createSession({ project_id, session_id: 's1', user_id: 'u2' })),
      ).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('Use project_id "Acme"') });
    }
    expect(await documentTree(m)).toStrictEqual(before);
    // The slug of a name is lower case: "acme" is taken by "Acme", so the name gets the next one.
    const named = await m.projects.createProject({ user_id: 'u2', project_name: 'ACME', startup_idea: 'c' });
    expect(named.project_id).toBe('acme-2');
    // The project itself, in its own letters, is as usable as ever.
    await m.checkpoints.createSession({ project_id: 'Acme', session_id: 's1', user_id: 'u1' });
  });

  it.each([
    ['a user id with a space', { user_id: 'u 1' }, 'user_id "u 1" must be'],
    ['a project id with a slash', { project_id: 'a/b' }, 'project_id "a/b" must be'],
    ['a name of two lines', { project_name: 'A\nB' }, 'project_name must be a single line'],
    ['a blank name', { project_name: '   ' }, 'project_name must not be empty or "-"'],
    [
      'an idea with a lone surrogate',
      { startup_idea: 'x\uD83D' },
      'startup_idea contains a lone UTF-16 surrogate',
    ],
  ])('rejects %s as INVALID_ARGUMENT and creates nothing', async (_name, overrides, message) => {
    const m = await setup();
    const error = await rejected(
      m.projects.createProject({ user_id: 'u1', project_name: 'Name', startup_idea: 'idea', ...overrides }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(message);
    expect(await documentTree(m)).toStrictEqual([]);
  });

  it('answers LIMIT_EXCEEDED for an idea over the byte limit and creates nothing', async () => {
    const m = await setup({ maxTextBytes: 3 });
    const error = await rejected(
      m.projects.createProject({ user_id: 'u1', project_name: 'N', startup_idea: 'abcd' }),
    );
    expect(error).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message:
        'startup_idea is 4 bytes of UTF-8, over the limit of 3; nothing was saved. Shorten the idea and call again; put the long material in a phase 1 agent output with save_agent_output',
    });
    expect(await documentTree(m)).toStrictEqual([]);
  });
});

describe('startSession', () => {
  it('starts a session with a UUIDv7 id in the project mode, as create_session does', async () => {
    const m = await setup();
    await m.projects.createProject({
      user_id: 'u1',
      project_id: 'p1',
      startup_idea: '',
      execution_mode: 'full',
    });
    const result = await m.projects.startSession({ project_id: 'p1' });
    expect(result).toStrictEqual({
      session_id: expect.stringMatching(UUID_V7),
      project_id: 'p1',
      execution_mode: 'full',
      current_phase: 0,
      completed_phases: [],
      phases: [1, 2, 3, 4, 5, 6, 7],
    });
    const session = ['p1', 'sessions', result.session_id];
    const files = await documentTree(m);
    expect(files.filter((path) => path.startsWith(`${session.join('/')}/phase_`))).toHaveLength(7);
    const manifest = parseManifest(await readDocument(m, ...session, 'session_manifest.md'), 'm');
    expect(manifest).toMatchObject({ user_id: 'u1', execution_mode: 'full', revision: 1 });
  });

  it('takes another user for the session, and gives ids that sort in the order sessions started', async () => {
    const m = await setup();
    await m.projects.createProject({ user_id: 'u1', project_id: 'p1', startup_idea: '' });
    const first = await m.projects.startSession({ project_id: 'p1', user_id: 'u2' });
    const second = await m.projects.startSession({ project_id: 'p1' });
    expect(first.session_id < second.session_id).toBe(true);
    const state = await m.checkpoints.loadSession({ project_id: 'p1', session_id: first.session_id });
    expect(state.user_id).toBe('u2');
  });

  it('answers NOT_FOUND, CONFLICT for an archived project, and INVALID_ARGUMENT', async () => {
    const m = await setup();
    expect(await rejected(m.projects.startSession({ project_id: 'nope' }))).toMatchObject({
      code: 'NOT_FOUND',
      message: 'project "nope" not found; call list_projects or create_project',
    });
    expect((await rejected(m.projects.startSession({ project_id: '..' }))).code).toBe('INVALID_ARGUMENT');
    await m.projects.createProject({ user_id: 'u1', project_id: 'p1', startup_idea: '' });
    expect((await rejected(m.projects.startSession({ project_id: 'p1', user_id: 'bad user' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    await m.projects.archiveProject({ project_id: 'p1' });
    expect(await rejected(m.projects.startSession({ project_id: 'p1' }))).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('project "p1" is archived'),
    });
    expect(await documentTree(m)).toStrictEqual(['p1/', 'p1/project.md']);
  });
});

describe('createSession in an archived project', () => {
  it('answers an existing session as it is, and refuses a new one as CONFLICT without making anything', async () => {
    const m = await setup();
    await m.projects.createProject({ user_id: 'u1', project_id: 'p1', startup_idea: '' });
    const existing = { project_id: 'p1', session_id: 's1', user_id: 'u1' };
    const created = await m.checkpoints.createSession(existing);
    await m.projects.archiveProject({ project_id: 'p1' });
    const before = await documentTree(m);
    expect(await m.checkpoints.createSession(existing)).toStrictEqual(created);
    expect(await rejected(m.checkpoints.createSession({ ...existing, session_id: 's2' }))).toMatchObject({
      code: 'CONFLICT',
      message:
        'project "p1" is archived; no new session can start in it. Call create_project for a new one, or list_sessions for the sessions it has',
    });
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('still starts a session in a project whose file was edited into something unreadable, as before', async () => {
    const m = await setup();
    await m.projects.createProject({ user_id: 'u1', project_id: 'p1', startup_idea: '' });
    await editDocument(m, ['p1', 'project.md'], 'scribbled over\n');
    const result = await m.checkpoints.createSession({ project_id: 'p1', session_id: 's1', user_id: 'u1' });
    expect(result.session_id).toBe('s1');
  });
});

describe('listProjects', () => {
  async function withProjects(): Promise<Managers> {
    const m = await setup();
    await m.projects.createProject({ user_id: 'alice', project_id: 'a1', startup_idea: '' });
    await m.projects.createProject({ user_id: 'bob', project_id: 'b1', startup_idea: '' });
    await m.projects.createProject({
      user_id: 'alice',
      project_id: 'a2',
      startup_idea: '',
      execution_mode: 'full',
    });
    await m.projects.archiveProject({ project_id: 'a1' });
    return m;
  }

  it('lists projects newest first', async () => {
    const m = await withProjects();
    expect(await m.projects.listProjects({})).toStrictEqual({
      projects: [
        {
          project_id: 'a2',
          project_name: 'a2',
          user_id: 'alice',
          workflow_type: 'idea_validation',
          execution_mode: 'full',
          status: 'active',
          created_at: '2024-11-24T10:00:02.000Z',
        },
        {
          project_id: 'b1',
          project_name: 'b1',
          user_id: 'bob',
          workflow_type: 'idea_validation',
          execution_mode: 'mvp',
          status: 'active',
          created_at: '2024-11-24T10:00:01.000Z',
        },
        {
          project_id: 'a1',
          project_name: 'a1',
          user_id: 'alice',
          workflow_type: 'idea_validation',
          execution_mode: 'mvp',
          status: 'archived',
          created_at: '2024-11-24T10:00:00.000Z',
        },
      ],
    });
  });

  it('filters by user and by status', async () => {
    const m = await withProjects();
    const ids = async (request: object) =>
      (await m.projects.listProjects(request)).projects.map((project) => project.project_id);
    expect(await ids({ user_id: 'alice' })).toStrictEqual(['a2', 'a1']);
    expect(await ids({ status: 'active' })).toStrictEqual(['a2', 'b1']);
    expect(await ids({ user_id: 'alice', status: 'archived' })).toStrictEqual(['a1']);
    expect(await ids({ user_id: 'carol' })).toStrictEqual([]);
  });

  it('pages with limit and next_cursor, and leaves next_cursor out on the last page', async () => {
    const m = await withProjects();
    const first = await m.projects.listProjects({ limit: 2 });
    expect(first.projects.map((project) => project.project_id)).toStrictEqual(['a2', 'b1']);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await m.projects.listProjects({ limit: 2, cursor: first.next_cursor });
    expect(second.projects.map((project) => project.project_id)).toStrictEqual(['a1']);
    expect(second).not.toHaveProperty('next_cursor');
  });

  it('ignores folders and files of the base directory that are not projects', async () => {
    const m = await withProjects();
    // PostgreSQL stores only names it would write itself: a name with a space is the file engine's.
    if (ENGINE === 'file') await makeFolder(m, 'My Notes');
    await makeFolder(m, '_notes');
    await makeFolder(m, 'empty-folder');
    await editDocument(m, ['README.md'], 'x');
    expect((await m.projects.listProjects({})).projects).toHaveLength(3);
  });

  it('lists a project.md that cannot be read with its problem, and what its lines still say; the others as ever', async () => {
    const m = await withProjects();
    const listed = async (request: object = {}) => (await m.projects.listProjects(request)).projects;
    const before = await listed();
    // A status mistyped by hand: every other field still reads.
    const b1 = await readDocument(m, 'b1', 'project.md');
    await editDocument(m, ['b1', 'project.md'], b1.replace('- Status: active', '- Status: paused'));
    expect(await listed()).toStrictEqual([
      before[0],
      {
        ...before[1],
        problem: expect.stringMatching(
          /^b1\/project\.md:\d+: .*Status.*fix the file by hand \(project\.md keeps no earlier versions\)$/,
        ),
      },
      before[2],
    ]);
    expect((await listed({ user_id: 'bob' })).map((project) => project.project_id)).toStrictEqual(['b1']);
    // Nothing left of its metadata: the folder's name, its time, and placeholders for the rest.
    await editDocument(m, ['b1', 'project.md'], '# Project: b1\n\n## Startup Idea\n');
    // Its time is the folder's: on this clock, newer than the others.
    const unreadable = (await listed()).find((project) => project.project_id === 'b1');
    expect(unreadable).toStrictEqual({
      project_id: 'b1',
      project_name: 'b1',
      user_id: 'unknown',
      workflow_type: 'idea_validation',
      execution_mode: 'unknown',
      status: 'active',
      created_at: expect.any(String),
      problem: expect.stringMatching(/^b1\/project\.md:1: missing section "## Metadata"/),
    });
    expect((await listed({ user_id: 'bob' })).map((project) => project.project_id)).toStrictEqual([]);
    expect((await listed({ user_id: 'alice' })).map((project) => project.project_id)).toStrictEqual([
      'a2',
      'a1',
    ]);
    // The file is left as it was, for a person to fix; reading the project itself still says what is wrong.
    expect(await readDocument(m, 'b1', 'project.md')).toBe('# Project: b1\n\n## Startup Idea\n');
    expect(await rejected(m.projects.getProject({ project_id: 'b1' }))).toMatchObject({
      code: 'CORRUPT_FILE',
    });
  });

  it('rejects a bad user id, cursor or limit as INVALID_ARGUMENT', async () => {
    const m = await withProjects();
    for (const request of [{ user_id: 'a b' }, { cursor: 'xyz' }, { limit: 0 }, { limit: 501 }]) {
      expect((await rejected(m.projects.listProjects(request))).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('getProject', () => {
  it('returns the project with its startup idea', async () => {
    const m = await setup();
    await m.projects.createProject({
      user_id: 'u1',
      project_id: 'p1',
      project_name: 'P',
      startup_idea: 'Idea\r\n',
    });
    expect(await m.projects.getProject({ project_id: 'p1' })).toStrictEqual({
      project_id: 'p1',
      project_name: 'P',
      user_id: 'u1',
      workflow_type: 'idea_validation',
      execution_mode: 'mvp',
      status: 'active',
      created_at: '2024-11-24T10:00:00.000Z',
      updated_at: '2024-11-24T10:00:00.000Z',
      startup_idea: 'Idea\r\n',
      startup_idea_chars: 6,
      startup_idea_truncated: false,
    });
  });

  it('cuts an idea over the response budget and says so', async () => {
    const m = await setup({ maxResponseBytes: 10 });
    await m.projects.createProject({ user_id: 'u1', project_id: 'p1', startup_idea: 'abcdefghijklmnop' });
    expect(await m.projects.getProject({ project_id: 'p1' })).toMatchObject({
      startup_idea: 'abcdefghij',
      startup_idea_chars: 16,
      startup_idea_truncated: true,
    });
  });

  it('answers NOT_FOUND, INVALID_ARGUMENT and CORRUPT_FILE', async () => {
    const m = await setup();
    expect((await rejected(m.projects.getProject({ project_id: 'nope' }))).code).toBe('NOT_FOUND');
    expect((await rejected(m.projects.getProject({ project_id: 'no pe' }))).code).toBe('INVALID_ARGUMENT');
    await makeFolder(m, 'p1');
    await editDocument(m, ['p1', 'project.md'], '# Project: p1\n\n## Startup Idea\n\nx\n');
    expect(await rejected(m.projects.getProject({ project_id: 'p1' }))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(/^p1\/project\.md:1: missing section "## Metadata"/),
    });
  });
});

describe('archiveProject', () => {
  it('answers CORRUPT_FILE for a project.md that cannot be read, and leaves it as it was', async () => {
    const m = await setup();
    await makeFolder(m, 'p1');
    await editDocument(m, ['p1', 'project.md'], 'not a project\n');
    expect((await rejected(m.projects.archiveProject({ project_id: 'p1' }))).code).toBe('CORRUPT_FILE');
    expect(await readDocument(m, 'p1', 'project.md')).toBe('not a project\n');
  });

  it('sets the status to archived and the updated time, keeping everything else', async () => {
    const m = await setup();
    await m.projects.createProject({ user_id: 'u1', project_id: 'p1', startup_idea: 'Idea ' });
    const before = await projectFile(m, 'p1');
    const result = await m.projects.archiveProject({ project_id: 'p1' });
    expect(result).toMatchObject({ project_id: 'p1', status: 'archived' });
    expect(await projectFile(m, 'p1')).toStrictEqual({
      ...before,
      status: 'archived',
      updated: '2024-11-24T10:00:01.000Z',
    });
  });

  it('is idempotent: archiving again changes nothing', async () => {
    const m = await setup();
    await m.projects.createProject({ user_id: 'u1', project_id: 'p1', startup_idea: '' });
    await m.projects.archiveProject({ project_id: 'p1' });
    const text = await readDocument(m, 'p1', 'project.md');
    expect((await m.projects.archiveProject({ project_id: 'p1' })).status).toBe('archived');
    expect(await readDocument(m, 'p1', 'project.md')).toBe(text);
  });

  it('answers NOT_FOUND for an unknown project and INVALID_ARGUMENT for a bad id', async () => {
    const m = await setup();
    expect((await rejected(m.projects.archiveProject({ project_id: 'nope' }))).code).toBe('NOT_FOUND');
    expect((await rejected(m.projects.archiveProject({ project_id: '' }))).code).toBe('INVALID_ARGUMENT');
    expect(await documentTree(m)).toStrictEqual([]);
  });
});
