import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { callOk, connectedClient } from '../helpers/client.js';
import { completePhase, createSession, REF, saveOutput } from '../helpers/seed.js';

async function promptText(client: Client, name: string, args: Record<string, string>): Promise<string> {
  const result = await client.getPrompt({ name, arguments: args });
  expect(result.messages).toHaveLength(1);
  const [message] = result.messages;
  expect(message?.role).toBe('user');
  if (message?.content.type !== 'text') throw new Error(`prompt ${name} did not answer with text`);
  return message.content.text;
}

/**
 * Phase 1 done, phase 2 done and sent back with two changes, and a stray early output in phase 3
 * that the resume of phase 2 has no reason to read.
 */
async function retryState(client: Client): Promise<void> {
  await createSession(client);
  await saveOutput(client, 1, 'analyst', 'ALPHA-ONE: the concept, expanded.');
  await completePhase(client, 1, ['analyst']);
  await saveOutput(client, 2, 'market', 'MARKET-TWO: size and rivals.');
  await callOk(client, 'save_checkpoint', {
    ...REF,
    phase_num: 2,
    status: 'completed',
    agents: [{ agent_name: 'market', status: 'completed', cost: 0.25, tokens: 1200 }],
  });
  await saveOutput(client, 3, 'niche', 'NICHE-THREE: not yet relevant.');
  await callOk(client, 'save_user_feedback', {
    ...REF,
    phase_num: 2,
    reviewed: true,
    approved: false,
    action: 'retry_with_changes',
    requested_changes: ['Add a competitor table', 'Cite sources for the market size'],
  });
}

describe('prompts', () => {
  it('prompts/list offers resume_session and review_phase with their arguments', async () => {
    const { client } = await connectedClient();
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name).sort()).toEqual(['resume_session', 'review_phase']);
    const argumentsOf = (name: string) => prompts.find((prompt) => prompt.name === name)?.arguments;
    expect(argumentsOf('resume_session')).toEqual([
      { name: 'project_id', description: expect.any(String), required: true },
      { name: 'session_id', description: expect.any(String), required: true },
    ]);
    expect(argumentsOf('review_phase')).toEqual([
      { name: 'project_id', description: expect.any(String), required: true },
      { name: 'session_id', description: expect.any(String), required: true },
      { name: 'phase_num', description: expect.stringContaining("session's phases"), required: true },
    ]);
    for (const prompt of prompts) {
      expect(prompt.title).toEqual(expect.any(String));
      expect(prompt.description).toEqual(expect.any(String));
    }
  });

  it('the resume_session prompt gives the state, the next phase, the requested changes and the relevant outputs', async () => {
    const { client } = await connectedClient();
    await retryState(client);
    const text = await promptText(client, 'resume_session', REF);
    expect(text).toContain('session "s1" of project "p1"');
    expect(text).toContain('Session status: in_progress; completed phases: 1;');
    expect(text).toContain('Next: phase 2 (Market Research), reason: retry_requested.');
    expect(text).toContain('- Add a competitor table\n- Cite sources for the market size');
    expect(text).toContain('--- Phase 1 output of analyst ---\nALPHA-ONE: the concept, expanded.');
    expect(text).toContain('--- Phase 2 output of market ---\nMARKET-TWO: size and rivals.');
    expect(text).not.toContain('NICHE-THREE');
    expect(text).toContain('save_agent_output');
    expect(text).toContain('project_id "p1" and session_id "s1"');
    const plan = await callOk<{ instruction: string }>(client, 'resume_session', REF);
    expect(text).toContain(plan.instruction);
  });

  it('the resume_session prompt of a fresh and of a finished session says so', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const fresh = await promptText(client, 'resume_session', REF);
    expect(fresh).toContain('completed phases: none');
    expect(fresh).toContain('Next: phase 1 (Concept Expansion), reason: not_started.');
    expect(fresh).not.toContain('Requested changes');
    for (const phase of [1, 2, 3, 6, 7]) {
      await saveOutput(client, phase, `agent_${phase}`, `OUTPUT-${phase}`);
      await completePhase(client, phase, [`agent_${phase}`]);
    }
    const finished = await promptText(client, 'resume_session', REF);
    expect(finished).toContain('Session status: completed; completed phases: 1, 2, 3, 6, 7;');
    expect(finished).toContain('Every phase is completed or skipped.');
    expect(finished).toContain('export_session');
    for (const phase of [1, 2, 3, 6, 7]) expect(finished).toContain(`OUTPUT-${phase}`);
  });

  it("the review_phase prompt shows the phase's status, agents and outputs and how to record the verdict", async () => {
    const { client } = await connectedClient();
    await retryState(client);
    const text = await promptText(client, 'review_phase', { ...REF, phase_num: '2' });
    expect(text).toContain('phase 2 (Market Research) of session "s1" in project "p1"');
    expect(text).toContain('Status: requires_retry; retries so far: 1; agents: market (completed, $0.25).');
    expect(text).toContain('--- Phase 2 output of market ---\nMARKET-TWO: size and rivals.');
    expect(text).not.toContain('ALPHA-ONE');
    expect(text).toContain('save_user_feedback');
    expect(text).toContain('phase_num: 2');
    for (const action of ['approved', 'retry_with_changes', 'skip_phase']) expect(text).toContain(action);
    const early = await promptText(client, 'review_phase', { ...REF, phase_num: '3' });
    expect(early).toContain('No checkpoint has been saved for this phase yet.');
    expect(early).toContain('NICHE-THREE: not yet relevant.');
  });

  it('prompts for a missing session, a bad phase or a phase outside the mode are errors with the code', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expect(
      client.getPrompt({ name: 'resume_session', arguments: { ...REF, session_id: 'missing' } }),
    ).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('NOT_FOUND: session "missing"'),
    });
    await expect(
      client.getPrompt({
        name: 'review_phase',
        arguments: { ...REF, session_id: 'missing', phase_num: '1' },
      }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('NOT_FOUND') });
    await expect(
      client.getPrompt({ name: 'review_phase', arguments: { ...REF, phase_num: 'eight' } }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('phase_num') });
    await expect(
      client.getPrompt({ name: 'review_phase', arguments: { ...REF, phase_num: '4' } }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('PHASE_NOT_IN_MODE') });
    await expect(
      client.getPrompt({ name: 'resume_session', arguments: { project_id: 'p1' } }),
    ).rejects.toMatchObject({ code: -32602 });
    await expect(
      client.getPrompt({ name: 'resume_session', arguments: { ...REF, project_id: '../etc' } }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('INVALID_ARGUMENT') });
  });

  it('prompt arguments complete from what exists: projects, their sessions and phase numbers', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await callOk(client, 'create_session', { project_id: 'p2', session_id: 'other', user_id: 'u1' });
    await callOk(client, 'create_session', { project_id: 'q1', session_id: 'third', user_id: 'u1' });
    const complete = async (prompt: string, name: string, value: string, args?: Record<string, string>) =>
      (
        await client.complete({
          ref: { type: 'ref/prompt', name: prompt },
          argument: { name, value },
          ...(args ? { context: { arguments: args } } : {}),
        })
      ).completion.values;
    expect(await complete('resume_session', 'project_id', 'p')).toEqual(['p1', 'p2']);
    expect(await complete('resume_session', 'project_id', '')).toEqual(['p1', 'p2', 'q1']);
    expect(await complete('review_phase', 'project_id', 'q')).toEqual(['q1']);
    expect(await complete('resume_session', 'session_id', '', { project_id: 'p2' })).toEqual(['other']);
    expect(await complete('resume_session', 'session_id', '')).toEqual([]);
    expect(await complete('resume_session', 'session_id', '', { project_id: 'nope' })).toEqual([]);
    expect(await complete('resume_session', 'session_id', '', { project_id: '..' })).toEqual([]);
    expect(await complete('review_phase', 'phase_num', '')).toEqual(['1', '2', '3', '4', '5', '6', '7']);
  });
});
