import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { readDocument } from '../helpers/engine.js';
import { corrupt } from '../helpers/seed.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('create_project', () => {
  it('create_project writes project.md with the idea verbatim and returns its summary', async () => {
    const m = await connectedClient();
    const { client } = m;
    const idea = '## Output\nA marketplace for *used* lab gear.  \r\n| a | b |\n';
    const project = await callOk(client, 'create_project', {
      user_id: 'u1',
      startup_idea: idea,
      project_name: 'Lab Gear Exchange!',
      execution_mode: 'full',
    });
    expect(project).toEqual({
      project_id: 'lab-gear-exchange',
      project_name: 'Lab Gear Exchange!',
      user_id: 'u1',
      workflow_type: 'idea_validation',
      execution_mode: 'full',
      status: 'active',
      created_at: expect.stringMatching(ISO),
    });
    const file = await readDocument(m, 'lab-gear-exchange', 'project.md');
    expect(file.endsWith(idea)).toBe(true);
  });

  it('create_project makes a taken slug unique and falls back to a UUIDv7 without a name', async () => {
    const { client } = await connectedClient();
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_name: 'Same' });
    const second = await callOk(client, 'create_project', {
      user_id: 'u1',
      startup_idea: 'b',
      project_name: 'Same',
    });
    expect(second.project_id).toBe('same-2');
    const unnamed = await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'c' });
    expect(unnamed.project_id).toMatch(UUID_V7);
    expect(unnamed.execution_mode).toBe('mvp');
  });

  it('create_project with an explicit project_id that exists is CONFLICT', async () => {
    const { client } = await connectedClient();
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_id: 'p1' });
    const text = await expectToolError(
      client,
      'create_project',
      { user_id: 'u1', startup_idea: 'b', project_id: 'p1' },
      'CONFLICT',
    );
    expect(text).toContain('"p1"');
  });

  it('create_project rejects a path-like user_id, an unknown mode and a numeric idea in the schema', async () => {
    const { client } = await connectedClient();
    const badId = await expectToolError(
      client,
      'create_project',
      { user_id: '../x', startup_idea: 'a' },
      'INVALID_ARGUMENT',
    );
    expect(badId).toContain('user_id');
    const badMode = await expectToolError(
      client,
      'create_project',
      { user_id: 'u1', startup_idea: 'a', execution_mode: 'fast' },
      'INVALID_ARGUMENT',
    );
    expect(badMode).toBe(
      'INVALID_ARGUMENT: execution_mode "fast" is not a mode of workflow idea_validation; its modes are mvp, full (get_workflow shows them)',
    );
    await expectToolError(client, 'create_project', { user_id: 'u1', startup_idea: 42 }, 'INVALID_ARGUMENT');
    await expectToolError(
      client,
      'create_project',
      { user_id: 'u1', startup_idea: 'a', project_id: 'a..b' },
      'INVALID_ARGUMENT',
    );
  });

  it('create_project rejects a project_name with a newline as INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    const text = await expectToolError(
      client,
      'create_project',
      { user_id: 'u1', startup_idea: 'a', project_name: 'two\nlines' },
      'INVALID_ARGUMENT',
    );
    expect(text).toContain('project_name');
  });

  it('create_project rejects an idea over the text limit as LIMIT_EXCEEDED and writes nothing', async () => {
    const { client } = await connectedClient({ limits: { maxTextBytes: 1000 } });
    const text = await expectToolError(
      client,
      'create_project',
      { user_id: 'u1', startup_idea: 'é'.repeat(501), project_id: 'big' },
      'LIMIT_EXCEEDED',
    );
    expect(text).toContain('startup_idea');
    expect(await callOk(client, 'list_projects', {})).toEqual({ projects: [] });
  });
});

describe('list_projects', () => {
  it('list_projects pages newest first, filters by user and status, and ends without next_cursor', async () => {
    const { client } = await connectedClient();
    for (const id of ['a1', 'a2', 'a3'])
      await callOk(client, 'create_project', { user_id: 'u1', startup_idea: id, project_id: id });
    await callOk(client, 'create_project', { user_id: 'u2', startup_idea: 'b', project_id: 'b1' });
    await callOk(client, 'archive_project', { project_id: 'a1' });

    const first = await callOk<{ projects: Array<{ project_id: string }>; next_cursor?: string }>(
      client,
      'list_projects',
      { user_id: 'u1', limit: 2 },
    );
    expect(first.projects.map((project) => project.project_id)).toEqual(['a3', 'a2']);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await callOk(client, 'list_projects', {
      user_id: 'u1',
      limit: 2,
      cursor: first.next_cursor,
    });
    expect(second).toEqual({
      projects: [expect.objectContaining({ project_id: 'a1', status: 'archived', user_id: 'u1' })],
    });
    const archived = await callOk<{ projects: Array<{ project_id: string }> }>(client, 'list_projects', {
      status: 'archived',
    });
    expect(archived.projects.map((project) => project.project_id)).toEqual(['a1']);
  });

  it('list_projects rejects a limit out of range and a string limit in the schema', async () => {
    const { client } = await connectedClient();
    expect(await expectToolError(client, 'list_projects', { limit: 0 }, 'INVALID_ARGUMENT')).toContain(
      'limit',
    );
    await expectToolError(client, 'list_projects', { limit: 501 }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'list_projects', { limit: '5' }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'list_projects', { status: 'deleted' }, 'INVALID_ARGUMENT');
  });

  it('list_projects rejects a cursor it did not issue as INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    const text = await expectToolError(
      client,
      'list_projects',
      { cursor: 'not-a-cursor' },
      'INVALID_ARGUMENT',
    );
    expect(text).toContain('cursor');
  });

  it('list_projects lists a hand-corrupted project.md with its problem, beside the projects that read', async () => {
    const m = await connectedClient();
    const { client } = m;
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_id: 'p1' });
    await callOk(client, 'create_project', { user_id: 'u2', startup_idea: 'b', project_id: 'p2' });
    await corrupt(m, ['p1', 'project.md']);
    const listed = await callOk<{ projects: Array<{ project_id: string; problem?: string }> }>(
      client,
      'list_projects',
      {},
    );
    expect(listed.projects).toHaveLength(2);
    const [p1, p2] = ['p1', 'p2'].map((id) => listed.projects.find((project) => project.project_id === id));
    expect(p1?.problem).toMatch(/^p1\/project\.md:\d+: .*fix the file by hand/);
    expect(p2).toEqual(expect.objectContaining({ project_id: 'p2', user_id: 'u2' }));
    expect(p2).not.toHaveProperty('problem');
    expect(await expectToolError(client, 'get_project', { project_id: 'p1' }, 'CORRUPT_FILE')).toContain(
      'p1/project.md',
    );
  });
});

describe('get_project', () => {
  it('get_project returns the summary, the idea and its length', async () => {
    const { client } = await connectedClient();
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'An idea 💡', project_id: 'p1' });
    const project = await callOk(client, 'get_project', { project_id: 'p1' });
    expect(project).toEqual({
      project_id: 'p1',
      project_name: 'p1',
      user_id: 'u1',
      workflow_type: 'idea_validation',
      execution_mode: 'mvp',
      status: 'active',
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      startup_idea: 'An idea 💡',
      startup_idea_chars: 10,
      startup_idea_truncated: false,
    });
  });

  it('get_project cuts an idea larger than the response budget and says so', async () => {
    const { client } = await connectedClient({ limits: { maxResponseBytes: 1000 } });
    const idea = 'x'.repeat(5000);
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: idea, project_id: 'p1' });
    const project = await callOk<{
      startup_idea: string;
      startup_idea_chars: number;
      startup_idea_truncated: boolean;
    }>(client, 'get_project', { project_id: 'p1' });
    expect(project.startup_idea_truncated).toBe(true);
    expect(project.startup_idea_chars).toBe(5000);
    expect(project.startup_idea.length).toBe(1000);
    expect(idea.startsWith(project.startup_idea)).toBe(true);
  });

  it('get_project of a missing project is NOT_FOUND and points to list_projects', async () => {
    const { client } = await connectedClient();
    const text = await expectToolError(client, 'get_project', { project_id: 'nope' }, 'NOT_FOUND');
    expect(text).toContain('list_projects');
  });

  it('get_project rejects a path as project_id in the schema', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'get_project', { project_id: '../x' }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_project', { project_id: '' }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_project', {}, 'INVALID_ARGUMENT');
  });

  it('get_project reports a hand-corrupted project.md as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_id: 'p1' });
    await corrupt(m, ['p1', 'project.md']);
    expect(await expectToolError(client, 'get_project', { project_id: 'p1' }, 'CORRUPT_FILE')).toContain(
      'p1/project.md',
    );
  });
});

describe('archive_project', () => {
  it('archive_project marks the project archived, and repeating it changes nothing', async () => {
    const { client } = await connectedClient();
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_id: 'p1' });
    const archived = await callOk(client, 'archive_project', { project_id: 'p1' });
    expect(archived).toMatchObject({ project_id: 'p1', status: 'archived' });
    expect(await callOk(client, 'archive_project', { project_id: 'p1' })).toEqual(archived);
    expect(await callOk(client, 'get_project', { project_id: 'p1' })).toMatchObject({ status: 'archived' });
  });

  it('archive_project of a missing project is NOT_FOUND', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'archive_project', { project_id: 'nope' }, 'NOT_FOUND');
  });

  it('archive_project rejects a reserved device name as project_id', async () => {
    const { client } = await connectedClient();
    expect(
      await expectToolError(client, 'archive_project', { project_id: 'NUL' }, 'INVALID_ARGUMENT'),
    ).toContain('project_id');
  });

  it('archive_project reports a hand-corrupted project.md as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_id: 'p1' });
    await corrupt(m, ['p1', 'project.md']);
    await expectToolError(client, 'archive_project', { project_id: 'p1' }, 'CORRUPT_FILE');
  });
});
