import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { completePhase, corrupt, createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';

// The contract of each tool; test/browse/resume.test.ts covers every resume reason in depth.

describe('resume_session', () => {
  it('resume_session of a fresh session says to start phase 1', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    expect(await callOk(client, 'resume_session', REF)).toEqual({
      next_phase: 1,
      phase_name: 'Concept Expansion',
      reason: 'not_started',
      requested_changes: [],
      prior_outputs: [],
      instruction: expect.stringContaining('save_agent_output'),
    });
  });

  it('resume_session of a missing session is NOT_FOUND and of a path id INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'resume_session', REF, 'NOT_FOUND');
    await expectToolError(client, 'resume_session', { ...REF, session_id: '../s1' }, 'INVALID_ARGUMENT');
  });

  it('resume_session reports a hand-corrupted checkpoint as CORRUPT_FILE instead of guessing', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await corrupt(m, sessionDocument('phase_1_concept', 'checkpoint.md'));
    await expectToolError(client, 'resume_session', REF, 'CORRUPT_FILE');
  });
});

describe('export_session', () => {
  it('export_session renders the phase table, a Mermaid gantt and the per-agent costs', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await saveOutput(client, 1, 'concept_expansion', 'abc');
    await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 1,
      status: 'completed',
      started: '2024-11-24T10:00:00Z',
      completed: '2024-11-24T10:02:00Z',
      agents: [{ agent_name: 'concept_expansion', status: 'completed', tokens: 1500, cost: 0.0375 }],
    });
    const { markdown } = await callOk<{ markdown: string }>(client, 'export_session', REF);
    expect(markdown).toContain('Concept Expansion');
    expect(markdown).toContain('```mermaid');
    expect(markdown).toContain('gantt');
    expect(markdown).toContain('concept_expansion');
    expect(markdown).toContain('1500');
    expect(markdown).toContain('0.0375');
  });

  it('export_session of a missing session is NOT_FOUND and of a path id INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'export_session', REF, 'NOT_FOUND');
    await expectToolError(client, 'export_session', { ...REF, project_id: 'a/b' }, 'INVALID_ARGUMENT');
  });

  it('export_session reports a hand-corrupted feedback file as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await callOk(client, 'save_user_feedback', { ...REF, phase_num: 1, reviewed: true, approved: true });
    await corrupt(m, sessionDocument('phase_1_concept', 'user_feedback.md'));
    await expectToolError(client, 'export_session', REF, 'CORRUPT_FILE');
  });
});
