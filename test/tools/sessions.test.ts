import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { isStored, readDocument, removeDocument } from '../helpers/engine.js';
import {
  completePhase,
  corrupt,
  createSession,
  PHASE_DIRS,
  REF,
  saveOutput,
  sessionDocument,
} from '../helpers/seed.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('create_session', () => {
  it('create_session makes the project, the mode phase directories and a manifest at revision 1', async () => {
    const m = await connectedClient();
    const created = await callOk(m.client, 'create_session', { ...REF, user_id: 'u1' });
    expect(created).toEqual({
      project_id: 'p1',
      session_id: 's1',
      execution_mode: 'mvp',
      phases: [1, 2, 3, 6, 7],
      path: 'p1/sessions/s1',
    });
    expect(await isStored(m, 'p1', 'project.md')).toBe(true);
    for (const num of [1, 2, 3, 6, 7])
      expect(await isStored(m, ...sessionDocument(PHASE_DIRS[num] as string))).toBe(true);
    expect(await isStored(m, ...sessionDocument(PHASE_DIRS[4] as string))).toBe(false);
    expect(await readDocument(m, ...sessionDocument('session_manifest.md'))).toMatch(/Revision: 1\n/);
  });

  it('create_session repeated with the same arguments returns the session without resetting it', async () => {
    const { client } = await connectedClient();
    await createSession(client, 'full');
    await saveOutput(client, 1, 'concept_expansion', 'x');
    await completePhase(client, 1, ['concept_expansion']);
    const again = await callOk(client, 'create_session', { ...REF, user_id: 'u1', execution_mode: 'full' });
    expect(again).toMatchObject({ execution_mode: 'full', phases: [1, 2, 3, 4, 5, 6, 7] });
    const state = await callOk(client, 'load_session', REF);
    expect(state).toMatchObject({ completed_phases: [1], revision: 2 });
  });

  it('create_session with a different mode or user for an existing session is CONFLICT', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const text = await expectToolError(
      client,
      'create_session',
      { ...REF, user_id: 'u1', execution_mode: 'full' },
      'CONFLICT',
    );
    expect(text).toContain('execution_mode');
    expect(text).toContain('load_session');
    await expectToolError(client, 'create_session', { ...REF, user_id: 'u2' }, 'CONFLICT');
  });

  it('create_session rejects path-like ids, an unknown workflow and a missing user in the schema', async () => {
    const m = await connectedClient();
    const { client } = m;
    const text = await expectToolError(
      client,
      'create_session',
      { project_id: 'p1', session_id: '../x', user_id: 'u1' },
      'INVALID_ARGUMENT',
    );
    expect(text).toContain('session_id');
    await expectToolError(
      client,
      'create_session',
      { project_id: '/etc', session_id: 's1', user_id: 'u1' },
      'INVALID_ARGUMENT',
    );
    const unknown = await expectToolError(
      client,
      'create_session',
      { ...REF, user_id: 'u1', workflow_type: 'other' },
      'NOT_FOUND',
    );
    expect(unknown).toBe(
      'NOT_FOUND: workflow "other" not found; the workflows there are idea_validation: pass one of them as workflow_type, or call define_workflow to make it',
    );
    await expectToolError(client, 'create_session', { ...REF }, 'INVALID_ARGUMENT');
    expect(await isStored(m, 'p1')).toBe(false);
  });
});

describe('start_session', () => {
  it("start_session creates a UUIDv7 session with the project's mode", async () => {
    const { client } = await connectedClient();
    await callOk(client, 'create_project', {
      user_id: 'u1',
      startup_idea: 'a',
      project_id: 'p1',
      execution_mode: 'full',
    });
    const started = await callOk<{ session_id: string }>(client, 'start_session', { project_id: 'p1' });
    expect(started).toEqual({
      session_id: expect.stringMatching(UUID_V7),
      project_id: 'p1',
      execution_mode: 'full',
      current_phase: 0,
      completed_phases: [],
      phases: [1, 2, 3, 4, 5, 6, 7],
    });
    const state = await callOk(client, 'load_session', { project_id: 'p1', session_id: started.session_id });
    expect(state).toMatchObject({ user_id: 'u1', next_phase: 1, revision: 1 });
  });

  it('start_session in a missing project is NOT_FOUND', async () => {
    const { client } = await connectedClient();
    expect(await expectToolError(client, 'start_session', { project_id: 'nope' }, 'NOT_FOUND')).toContain(
      'create_project',
    );
  });

  it('start_session in an archived project is CONFLICT', async () => {
    const { client } = await connectedClient();
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_id: 'p1' });
    await callOk(client, 'archive_project', { project_id: 'p1' });
    expect(await expectToolError(client, 'start_session', { project_id: 'p1' }, 'CONFLICT')).toContain(
      'archived',
    );
  });

  it('start_session rejects a bad user_id in the schema', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'start_session', { project_id: 'p1', user_id: 'a b' }, 'INVALID_ARGUMENT');
  });

  it('start_session reports a hand-corrupted project.md as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'a', project_id: 'p1' });
    await corrupt(m, ['p1', 'project.md']);
    await expectToolError(client, 'start_session', { project_id: 'p1' }, 'CORRUPT_FILE');
  });
});

describe('load_session', () => {
  it('load_session reports statuses, the next phase and the summed metrics', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 1,
      status: 'completed',
      started: '2024-11-24T10:00:00Z',
      completed: '2024-11-24T10:02:00.500Z',
      agents: [{ agent_name: 'concept_expansion', status: 'completed', tokens: 1500, cost: 0.0375 }],
    });
    await callOk(client, 'save_checkpoint', { ...REF, phase_num: 2, status: 'in_progress', agents: [] });
    const state = await callOk(client, 'load_session', REF);
    expect(state).toEqual({
      session_id: 's1',
      project_id: 'p1',
      user_id: 'u1',
      workflow_type: 'idea_validation',
      execution_mode: 'mvp',
      created: expect.stringMatching(ISO),
      last_updated: expect.stringMatching(ISO),
      status: 'in_progress',
      current_phase: 2,
      completed_phases: [1],
      phase_statuses: {
        '1': 'completed',
        '2': 'in_progress',
        '3': 'pending',
        '6': 'pending',
        '7': 'pending',
      },
      next_phase: 2,
      can_resume: true,
      metrics: { total_duration: 120.5, total_tokens: 1500, total_cost: 0.0375 },
      revision: 3,
    });
  });

  it('load_session of a completed session has no next_phase and cannot resume', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    for (const num of [1, 2, 3, 6]) await completePhase(client, num, []);
    await callOk(client, 'save_user_feedback', {
      ...REF,
      phase_num: 7,
      reviewed: true,
      approved: false,
      action: 'skip_phase',
    });
    const state = await callOk(client, 'load_session', REF);
    expect(state).toMatchObject({ status: 'completed', can_resume: false, completed_phases: [1, 2, 3, 6] });
    expect(state).not.toHaveProperty('next_phase');
  });

  it('load_session of a missing session or project is NOT_FOUND naming what to call', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    expect(
      await expectToolError(client, 'load_session', { ...REF, session_id: 's2' }, 'NOT_FOUND'),
    ).toContain('list_sessions');
    expect(
      await expectToolError(client, 'load_session', { ...REF, project_id: 'p2' }, 'NOT_FOUND'),
    ).toContain('"p2"');
  });

  it('load_session rejects ids with ".." in the schema', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'load_session', { project_id: 'p1', session_id: '..' }, 'INVALID_ARGUMENT');
    await expectToolError(
      client,
      'load_session',
      { project_id: 'a..b', session_id: 's1' },
      'INVALID_ARGUMENT',
    );
  });

  it('load_session rebuilds a deleted manifest from the checkpoints', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await removeDocument(m, ...sessionDocument('session_manifest.md'));
    expect(await callOk(client, 'load_session', REF)).toMatchObject({ completed_phases: [1], next_phase: 2 });
  });

  it('load_session reports a hand-corrupted checkpoint as CORRUPT_FILE naming the file', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await corrupt(m, sessionDocument('phase_1_concept', 'checkpoint.md'));
    const text = await expectToolError(client, 'load_session', REF, 'CORRUPT_FILE');
    expect(text).toContain('phase_1_concept/checkpoint.md');
  });
});

describe('list_sessions', () => {
  it('list_sessions lists newest first in pages and filters by status', async () => {
    const { client } = await connectedClient();
    for (const session_id of ['s1', 's2', 's3'])
      await callOk(client, 'create_session', { project_id: 'p1', session_id, user_id: 'u1' });
    const first = await callOk<{ sessions: Array<{ session_id: string }>; next_cursor?: string }>(
      client,
      'list_sessions',
      { project_id: 'p1', limit: 2 },
    );
    expect(first.sessions.map((session) => session.session_id)).toEqual(['s3', 's2']);
    expect(first.sessions[0]).toEqual({
      session_id: 's3',
      status: 'in_progress',
      execution_mode: 'mvp',
      current_phase: 0,
      next_phase: 1,
      created: expect.stringMatching(ISO),
      last_updated: expect.stringMatching(ISO),
    });
    const rest = await callOk(client, 'list_sessions', {
      project_id: 'p1',
      limit: 2,
      cursor: first.next_cursor,
    });
    expect(rest).toEqual({ sessions: [expect.objectContaining({ session_id: 's1' })] });
    expect(await callOk(client, 'list_sessions', { project_id: 'p1', status: 'completed' })).toEqual({
      sessions: [],
    });
  });

  it('list_sessions of a missing project is NOT_FOUND', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'list_sessions', { project_id: 'p9' }, 'NOT_FOUND');
  });

  it('list_sessions rejects an unknown status, a string limit and a foreign cursor', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(
      client,
      'list_sessions',
      { project_id: 'p1', status: 'failed' },
      'INVALID_ARGUMENT',
    );
    await expectToolError(client, 'list_sessions', { project_id: 'p1', limit: '2' }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'list_sessions', { project_id: 'p1', cursor: 'abc' }, 'INVALID_ARGUMENT');
  });

  it('list_sessions reports a session whose manifest and checkpoint are both corrupt as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await corrupt(m, sessionDocument('session_manifest.md'));
    await corrupt(m, sessionDocument('phase_1_concept', 'checkpoint.md'));
    await expectToolError(client, 'list_sessions', { project_id: 'p1' }, 'CORRUPT_FILE');
  });
});
