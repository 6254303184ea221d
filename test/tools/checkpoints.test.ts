import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { isStored, readDocument } from '../helpers/engine.js';
import { completePhase, corrupt, createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('save_checkpoint', () => {
  it('save_checkpoint writes checkpoint.md and returns the new manifest revision', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    const saved = await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 1,
      status: 'completed',
      execution_mode: 'parallel',
      agents: [
        {
          agent_name: 'concept_expansion',
          status: 'completed',
          input_tokens: 1000,
          output_tokens: 500,
          cost: 0.0375,
        },
        { agent_name: 'critic', status: 'failed', tokens: 10, duration: 2.5 },
      ],
      errors: ['critic timed out'],
    });
    expect(saved).toEqual({ phase_num: 1, status: 'completed', revision: 2 });
    const file = await readDocument(m, ...sessionDocument('phase_1_concept', 'checkpoint.md'));
    expect(file).toContain('# Phase Checkpoint: Concept Expansion');
    expect(file).toContain('- Execution Mode: parallel');
    expect(file).toContain('- critic: failed');
    expect(file).toContain('- Total Tokens: 1510');
    expect(file).toContain('critic timed out');
    const again = await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 2,
      status: 'in_progress',
      agents: [],
    });
    expect(again).toEqual({ phase_num: 2, status: 'in_progress', revision: 3 });
  });

  it('save_checkpoint rejects phase 100, numbers as strings, reserved agent names and unknown statuses', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const agents = [{ agent_name: 'a', status: 'completed' }];
    const phase = await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, phase_num: 100, status: 'completed', agents },
      'INVALID_ARGUMENT',
    );
    expect(phase).toContain('phase_num must be from 1 to 99');
    // 8 is a phase number a workflow may have, but no phase of this mvp session.
    const notInMode = await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, phase_num: 8, status: 'completed', agents },
      'PHASE_NOT_IN_MODE',
    );
    expect(notInMode).toBe(
      'PHASE_NOT_IN_MODE: phase_num 8 is not part of this idea_validation session (mode mvp); its phases are 1, 2, 3, 6, 7',
    );
    await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, phase_num: '1', status: 'completed', agents },
      'INVALID_ARGUMENT',
    );
    const tokens = await expectToolError(
      client,
      'save_checkpoint',
      {
        ...REF,
        phase_num: 1,
        status: 'completed',
        agents: [{ agent_name: 'a', status: 'completed', tokens: '5' }],
      },
      'INVALID_ARGUMENT',
    );
    expect(tokens).toContain('agents[0].tokens');
    await expectToolError(
      client,
      'save_checkpoint',
      {
        ...REF,
        phase_num: 1,
        status: 'completed',
        agents: [{ agent_name: 'a', status: 'completed', cost: -1 }],
      },
      'INVALID_ARGUMENT',
    );
    const reserved = await expectToolError(
      client,
      'save_checkpoint',
      {
        ...REF,
        phase_num: 1,
        status: 'completed',
        agents: [{ agent_name: 'User_Feedback', status: 'completed' }],
      },
      'INVALID_ARGUMENT',
    );
    expect(reserved).toContain('agent_name');
    await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, phase_num: 1, status: 'done', agents },
      'INVALID_ARGUMENT',
    );
    expect(await callOk(client, 'load_session', REF)).toMatchObject({ revision: 1 });
  });

  it('save_checkpoint rejects a multi-line error, a repeated agent and completed before started', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const base = { ...REF, phase_num: 1, status: 'failed' };
    const error = await expectToolError(
      client,
      'save_checkpoint',
      { ...base, agents: [], errors: ['line one\nline two'] },
      'INVALID_ARGUMENT',
    );
    expect(error).toContain('errors[0]');
    await expectToolError(
      client,
      'save_checkpoint',
      {
        ...base,
        agents: [
          { agent_name: 'Writer', status: 'completed' },
          { agent_name: 'writer', status: 'completed' },
        ],
      },
      'INVALID_ARGUMENT',
    );
    await expectToolError(
      client,
      'save_checkpoint',
      { ...base, agents: [], started: '2024-11-24T10:00:00Z', completed: '2024-11-24T09:00:00Z' },
      'INVALID_ARGUMENT',
    );
    await expectToolError(
      client,
      'save_checkpoint',
      { ...base, agents: [], started: 'yesterday' },
      'INVALID_ARGUMENT',
    );
  });

  it('save_checkpoint for a missing session is NOT_FOUND', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, session_id: 's2', phase_num: 1, status: 'completed', agents: [] },
      'NOT_FOUND',
    );
  });

  it('save_checkpoint for phase 4 of an mvp session is PHASE_NOT_IN_MODE and creates no directory', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    const text = await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, phase_num: 4, status: 'completed', agents: [] },
      'PHASE_NOT_IN_MODE',
    );
    expect(text).toContain('4');
    expect(await isStored(m, ...sessionDocument('phase_4_product_strategy'))).toBe(false);
  });

  it('save_checkpoint with more agents than the limit is LIMIT_EXCEEDED', async () => {
    const { client } = await connectedClient({ limits: { maxAgents: 3 } });
    await createSession(client);
    const agents = ['a', 'b', 'c', 'd'].map((agent_name) => ({ agent_name, status: 'completed' }));
    const text = await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, phase_num: 1, status: 'completed', agents },
      'LIMIT_EXCEEDED',
    );
    expect(text).toContain('agents');
  });

  it('save_checkpoint reports another hand-corrupted checkpoint it must read for the manifest as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await corrupt(m, sessionDocument('phase_1_concept', 'checkpoint.md'));
    const text = await expectToolError(
      client,
      'save_checkpoint',
      { ...REF, phase_num: 2, status: 'in_progress', agents: [] },
      'CORRUPT_FILE',
    );
    expect(text).toContain('phase_1_concept/checkpoint.md');
  });
});

describe('list_history', () => {
  it('list_history lists the earlier versions of a rewritten checkpoint and output', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    expect(await callOk(client, 'list_history', { ...REF, phase_num: 1 })).toEqual({ versions: [] });
    await saveOutput(client, 1, 'writer', 'first draft');
    await saveOutput(client, 1, 'writer', 'second draft');
    await completePhase(client, 1, ['writer']);
    await callOk(client, 'save_checkpoint', { ...REF, phase_num: 1, status: 'failed', agents: [] });
    const history = await callOk<{ versions: Array<{ file: string; version: number; saved_at: string }> }>(
      client,
      'list_history',
      { ...REF, phase_num: 1 },
    );
    expect(history.versions.map(({ file, version }) => ({ file, version }))).toEqual([
      { file: 'checkpoint.md', version: 1 },
      { file: 'writer.md', version: 1 },
    ]);
    for (const version of history.versions) expect(version.saved_at).toMatch(ISO);
  });

  it('list_history rejects a phase out of range and reports phases outside the mode and missing sessions', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(client, 'list_history', { ...REF, phase_num: 0 }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'list_history', { ...REF, phase_num: 1.5 }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'list_history', { ...REF, phase_num: 5 }, 'PHASE_NOT_IN_MODE');
    await expectToolError(client, 'list_history', { ...REF, session_id: 'gone', phase_num: 1 }, 'NOT_FOUND');
  });
});
