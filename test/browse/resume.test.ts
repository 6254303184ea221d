import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { editDocument, readDocument, removeDocument, setModified } from '../helpers/engine.js';
import {
  completePhase,
  corrupt,
  createSession,
  PHASE_DIRS,
  REF,
  saveOutput,
  sessionDocument,
} from '../helpers/seed.js';

interface ResumeAnswer {
  next_phase?: number;
  phase_name?: string;
  reason: string;
  requested_changes: string[];
  prior_outputs: Array<{ phase_num: number; agent_name: string; chars: number }>;
  instruction: string;
}

const resume = (client: Client) => callOk<ResumeAnswer>(client, 'resume_session', REF);

/** Changes a reviewer might type, full of characters that mean something in markdown. */
const TRICKY_CHANGES = [
  'Use *stars*, `code` and a | pipe',
  'Compare option A: option B',
  '- starts like a list item',
  '# starts like a heading',
  'Change 3: looks like the file prefix',
  '<b>html</b> & [a link](http://example.com)',
  'emoji 😀 and ünïcödé',
  'a back\\slash and trailing dots...',
];

async function requestRetry(client: Client, phase_num: number, requested_changes: string[]): Promise<void> {
  await callOk(client, 'save_user_feedback', {
    ...REF,
    phase_num,
    reviewed: true,
    approved: false,
    action: 'retry_with_changes',
    requested_changes,
    comments: 'Please revise.',
  });
}

async function skipPhase(client: Client, phase_num: number): Promise<void> {
  await callOk(client, 'save_user_feedback', {
    ...REF,
    phase_num,
    reviewed: true,
    approved: false,
    action: 'skip_phase',
  });
}

/** Phase 1 completed with two agents; the outputs the later phases must read first. */
async function phaseOneDone(client: Client): Promise<void> {
  await createSession(client);
  await saveOutput(client, 1, 'analyst', 'alpha');
  await saveOutput(client, 1, 'critic', 'beta 😀');
  await completePhase(client, 1, ['analyst', 'critic']);
}

const PHASE_ONE_OUTPUTS = [
  { phase_num: 1, agent_name: 'analyst', chars: 5 },
  { phase_num: 1, agent_name: 'critic', chars: 7 },
];

describe('resume_session: one answer for each reason', () => {
  it('resume_session of a session with nothing saved says not_started at phase 1 with nothing to read', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const answer = await resume(client);
    expect(answer).toEqual({
      next_phase: 1,
      phase_name: 'Concept Expansion',
      reason: 'not_started',
      requested_changes: [],
      prior_outputs: [],
      instruction: expect.any(String),
    });
    expect(answer.instruction).toMatch(/phase 1 \(Concept Expansion\)/);
    expect(answer.instruction).toContain('save_agent_output');
    expect(answer.instruction).toContain('save_checkpoint');
    expect(answer.instruction).not.toContain('get_phase_outputs');
  });

  it('resume_session of an interrupted phase says in_progress and lists its partial outputs after the earlier ones', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await saveOutput(client, 2, 'market', 'half done');
    await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 2,
      status: 'in_progress',
      agents: [
        { agent_name: 'market', status: 'completed' },
        { agent_name: 'pricing', status: 'in_progress' },
      ],
    });
    const answer = await resume(client);
    expect(answer).toEqual({
      next_phase: 2,
      phase_name: 'Market Research',
      reason: 'in_progress',
      requested_changes: [],
      prior_outputs: [...PHASE_ONE_OUTPUTS, { phase_num: 2, agent_name: 'market', chars: 9 }],
      instruction: expect.any(String),
    });
    expect(answer.instruction).toMatch(/phase 2 \(Market Research\)/);
    for (const tool of ['get_phase_outputs', 'save_agent_output', 'save_checkpoint']) {
      expect(answer.instruction).toContain(tool);
    }
    expect(answer.instruction).toContain(
      'the outputs of the agents not done yet (pricing) with save_agent_output',
    );
  });

  it('resume_session of a phase in progress names the agents left: not done, or done with no output saved', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await saveOutput(client, 2, 'market', 'done');
    const agents = [
      { agent_name: 'market', status: 'completed' },
      { agent_name: 'pricing', status: 'completed' },
      { agent_name: 'legal', status: 'skipped' },
      { agent_name: 'sizing', status: 'failed' },
      { agent_name: 'trends', status: 'pending' },
    ];
    await callOk(client, 'save_checkpoint', { ...REF, phase_num: 2, status: 'in_progress', agents });
    expect((await resume(client)).instruction).toContain('agents not done yet (pricing, sizing, trends)');

    // Every agent listed done and saved: the next agent, or the phase recorded finished.
    for (const agent_name of ['pricing', 'sizing', 'trends']) await saveOutput(client, 2, agent_name, 'done');
    const done = agents.map((agent) => ({
      ...agent,
      status: agent.status === 'skipped' ? 'skipped' : 'completed',
    }));
    await callOk(client, 'save_checkpoint', { ...REF, phase_num: 2, status: 'in_progress', agents: done });
    const finished = await resume(client);
    expect(finished.reason).toBe('in_progress');
    expect(finished.instruction).toContain('every agent its checkpoint lists is done and saved');
    expect(finished.instruction).toContain('call save_checkpoint with status completed');

    // Past ten names the rest are counted.
    const many = Array.from({ length: 13 }, (_, i) => ({ agent_name: `a${i}`, status: 'pending' }));
    await callOk(client, 'save_checkpoint', { ...REF, phase_num: 2, status: 'in_progress', agents: many });
    expect((await resume(client)).instruction).toContain(
      '(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 and 3 more)',
    );
  });

  it('resume_session names the phases to pass to get_phase_outputs, and that call returns every prior output', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await saveOutput(client, 2, 'market', 'half done');
    await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 2,
      status: 'in_progress',
      agents: [{ agent_name: 'market', status: 'completed' }],
    });
    const answer = await resume(client);
    // Without phase_nums, get_phase_outputs reads the completed phases only and would miss phase 2.
    expect(answer.instruction).toContain('get_phase_outputs (phase_nums [1, 2])');
    const read = await callOk<{ outputs: Record<string, Record<string, string>> }>(
      client,
      'get_phase_outputs',
      {
        ...REF,
        phase_nums: [1, 2],
      },
    );
    const listed = Object.entries(read.outputs).flatMap(([phase, agents]) =>
      Object.entries(agents).map(([agent_name, content]) => ({
        phase_num: Number(phase),
        agent_name,
        chars: content.length,
      })),
    );
    expect(listed).toEqual(answer.prior_outputs);
  });

  it('resume_session names an output a completed phase lists as saved that was deleted by hand, and how to get it back', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'alpha', 'a');
    await saveOutput(client, 1, 'beta', 'b');
    await completePhase(client, 1, ['alpha', 'beta']);
    await removeDocument(m, ...sessionDocument('phase_1_concept', 'beta.md'));
    const answer = await callOk<ResumeAnswer>(client, 'resume_session', REF);
    expect(answer.reason).toBe('next_phase');
    expect(answer.prior_outputs).toEqual([{ phase_num: 1, agent_name: 'alpha', chars: 1 }]);
    expect(answer.instruction).toContain(
      "Missing: phase_1_concept/beta.md, an output of a completed agent of its checkpoint; restore it from the phase's history/ (list_history) or save it with save_agent_output.",
    );
    await saveOutput(client, 1, 'beta', 'b');
    expect((await callOk<ResumeAnswer>(client, 'resume_session', REF)).instruction).not.toContain('Missing');
  });

  it('resume_session before any checkpoint still points to outputs already saved for phase 1', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await saveOutput(client, 1, 'analyst', 'early draft');
    const answer = await resume(client);
    expect(answer).toMatchObject({
      next_phase: 1,
      reason: 'not_started',
      prior_outputs: [{ phase_num: 1, agent_name: 'analyst', chars: 11 }],
    });
    expect(answer.instruction).toContain('get_phase_outputs (phase_nums [1])');
  });

  it('resume_session of a failed phase says failed and names the phase to rerun', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 2,
      status: 'failed',
      agents: [{ agent_name: 'market', status: 'failed' }],
      errors: ['rate limited'],
    });
    const answer = await resume(client);
    expect(answer).toEqual({
      next_phase: 2,
      phase_name: 'Market Research',
      reason: 'failed',
      requested_changes: [],
      prior_outputs: PHASE_ONE_OUTPUTS,
      instruction: expect.any(String),
    });
    expect(answer.instruction).toMatch(/^Rerun phase 2 \(Market Research\), which failed/);
    expect(answer.instruction).toContain('get_phase_outputs');
    expect(answer.instruction).toContain('save_checkpoint');
  });

  it('resume_session after retry_with_changes says retry_requested and carries exactly the requested changes', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await requestRetry(client, 1, TRICKY_CHANGES);
    const answer = await resume(client);
    expect(answer).toEqual({
      next_phase: 1,
      phase_name: 'Concept Expansion',
      reason: 'retry_requested',
      requested_changes: TRICKY_CHANGES,
      prior_outputs: PHASE_ONE_OUTPUTS,
      instruction: expect.any(String),
    });
    expect(answer.instruction).toContain(`${TRICKY_CHANGES.length} requested changes`);
    expect(answer.instruction).toContain('save_agent_output');
  });

  it('resume_session after a second review carries only the changes of that review', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await requestRetry(client, 1, ['first round change']);
    await saveOutput(client, 1, 'analyst', 'alpha, revised');
    await completePhase(client, 1, ['analyst', 'critic']);
    expect(await resume(client)).toMatchObject({
      next_phase: 2,
      reason: 'next_phase',
      requested_changes: [],
    });
    await requestRetry(client, 1, ['second round change']);
    const answer = await resume(client);
    expect(answer.reason).toBe('retry_requested');
    expect(answer.requested_changes).toEqual(['second round change']);
    expect(answer.instruction).toContain('1 requested change:');
  });

  it('resume_session of a rerun the review asked for keeps its changes while it runs and when it fails again', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await requestRetry(client, 1, ['Add EU market', 'Cite sources']);
    for (const status of ['in_progress', 'failed'] as const) {
      // An orchestrator marks the rerun begun (or failed), then the run dies.
      await callOk(client, 'save_checkpoint', { ...REF, phase_num: 1, status, agents: [] });
      const answer = await resume(client);
      expect(answer).toMatchObject({
        next_phase: 1,
        reason: status,
        requested_changes: ['Add EU market', 'Cite sources'],
      });
      expect(answer.instruction).toContain('applying the 2 requested changes of its review');
    }
    await completePhase(client, 1, ['analyst', 'critic']);
    expect(await resume(client)).toMatchObject({ next_phase: 2, requested_changes: [] });
    // A phase in progress with no review asking for a rerun carries no changes.
    await callOk(client, 'save_checkpoint', { ...REF, phase_num: 2, status: 'in_progress', agents: [] });
    expect(await resume(client)).toMatchObject({
      next_phase: 2,
      reason: 'in_progress',
      requested_changes: [],
    });
  });

  it('resume_session of a retry whose review lists no changes points to its comments, not to 0 changes', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    await requestRetry(client, 1, []);
    const answer = await resume(client);
    expect(answer).toMatchObject({ reason: 'retry_requested', requested_changes: [] });
    expect(answer.instruction).toContain(
      'as its review asks (the review lists no changes: its comments say what to do)',
    );
    expect(answer.instruction).not.toContain('0 requested');
  });

  it('resume_session after a completed phase says next_phase with the outputs of the phases done', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    const answer = await resume(client);
    expect(answer).toEqual({
      next_phase: 2,
      phase_name: 'Market Research',
      reason: 'next_phase',
      requested_changes: [],
      prior_outputs: PHASE_ONE_OUTPUTS,
      instruction: expect.any(String),
    });
    expect(answer.instruction).toMatch(/^Run phase 2 \(Market Research\)/);
    expect(answer.instruction).toContain('get_phase_outputs');
  });

  it('resume_session of a finished session says session_completed without next_phase and points to export_session', async () => {
    const { client } = await connectedClient();
    await phaseOneDone(client);
    for (const phase of [2, 3, 6, 7]) {
      await saveOutput(client, phase, `agent_${phase}`, `output of ${phase}`);
      await completePhase(client, phase, [`agent_${phase}`]);
    }
    const answer = await resume(client);
    expect(answer).toEqual({
      reason: 'session_completed',
      requested_changes: [],
      prior_outputs: [
        ...PHASE_ONE_OUTPUTS,
        ...[2, 3, 6, 7].map((phase) => ({ phase_num: phase, agent_name: `agent_${phase}`, chars: 11 })),
      ],
      instruction: expect.stringContaining('export_session'),
    });
    expect(Object.keys(answer)).not.toContain('next_phase');
    expect(Object.keys(answer)).not.toContain('phase_name');
  });
});

describe('resume_session never guesses', () => {
  it('resume_session with a hand-corrupted checkpoint is CORRUPT_FILE naming the file', async () => {
    const m = await connectedClient();
    const { client } = m;
    await phaseOneDone(client);
    await corrupt(m, sessionDocument(PHASE_DIRS[1] as string, 'checkpoint.md'));
    const text = await expectToolError(client, 'resume_session', REF, 'CORRUPT_FILE');
    expect(text).toContain('phase_1_concept/checkpoint.md');
  });

  it('resume_session with a hand-broken review of a phase sent back is CORRUPT_FILE, not an empty list of changes', async () => {
    const m = await connectedClient();
    const { client } = m;
    await phaseOneDone(client);
    await requestRetry(client, 1, ['a change']);
    const file = sessionDocument(PHASE_DIRS[1] as string, 'user_feedback.md');
    const text = await readDocument(m, ...file);
    // A plausible hand edit: an action that is not one of the three.
    await editDocument(m, file, text.replace('Action: retry_with_changes', 'Action: retry_later'));
    const error = await expectToolError(client, 'resume_session', REF, 'CORRUPT_FILE');
    expect(error).toContain('phase_1_concept/user_feedback.md');
    await corrupt(m, file);
    expect(await expectToolError(client, 'resume_session', REF, 'CORRUPT_FILE')).toContain(
      'user_feedback.md',
    );
  });

  it('resume_session names a review written by hand after its checkpoint that cannot be read, and goes on', async () => {
    const m = await connectedClient();
    const { client } = m;
    await phaseOneDone(client);
    await callOk(client, 'save_user_feedback', { ...REF, phase_num: 1, reviewed: true, approved: true });
    const file = sessionDocument(PHASE_DIRS[1] as string, 'user_feedback.md');
    const checkpoint = sessionDocument(PHASE_DIRS[1] as string, 'checkpoint.md');
    const now = Date.now();
    await setModified(m, checkpoint, new Date(now - 60_000));
    await setModified(m, file, new Date(now - 30_000));
    // Readable, it says nothing more.
    expect((await resume(client)).instruction).not.toContain('Unreadable');
    // The reviewer meant to send the phase back, and typed the action as words.
    const text = await readDocument(m, ...file);
    await editDocument(m, file, text.replace('Action: approved', 'Action: retry with changes'));
    await setModified(m, file, new Date(now - 30_000));
    const answer = await resume(client);
    expect(answer).toMatchObject({ next_phase: 2, reason: 'next_phase' });
    expect(answer.instruction).toContain(
      " Unreadable: phase_1_concept/user_feedback.md, a review written after its phase's checkpoint, edited by hand, which changes nothing until it is fixed (validate_checkpoint names the line) or saved again with save_user_feedback; ask the person who reviewed before going on.",
    );
    // Older than its checkpoint, the review has been acted on: nothing to say.
    await setModified(m, file, new Date(now - 90_000));
    expect((await resume(client)).instruction).not.toContain('Unreadable');
  });

  it('resume_session with a hand-corrupted prior output is CORRUPT_FILE naming the output', async () => {
    const m = await connectedClient();
    const { client } = m;
    await phaseOneDone(client);
    await corrupt(
      m,
      sessionDocument(PHASE_DIRS[1] as string, 'critic.md'),
      '# Agent Output: critic\n\nno sections\n',
    );
    const text = await expectToolError(client, 'resume_session', REF, 'CORRUPT_FILE');
    expect(text).toContain('phase_1_concept/critic.md');
  });

  it('resume_session of a missing session is NOT_FOUND', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(client, 'resume_session', { ...REF, session_id: 'other' }, 'NOT_FOUND');
  });
});

describe('resume_session follows the mode of the session', () => {
  async function threePhasesDone(client: Client, mode: 'mvp' | 'full'): Promise<void> {
    await createSession(client, mode);
    for (const phase of [1, 2, 3]) {
      await saveOutput(client, phase, `agent_${phase}`, `out ${phase}`);
      await completePhase(client, phase, [`agent_${phase}`]);
    }
  }

  it('after phases 1 to 3 a full session goes on with phase 4 and an mvp session with phase 6', async () => {
    const full = await connectedClient();
    await threePhasesDone(full.client, 'full');
    expect(await resume(full.client)).toMatchObject({
      next_phase: 4,
      phase_name: 'Product Strategy',
      reason: 'next_phase',
    });
    const mvp = await connectedClient();
    await threePhasesDone(mvp.client, 'mvp');
    const answer = await resume(mvp.client);
    expect(answer).toMatchObject({ next_phase: 6, phase_name: 'Validation', reason: 'next_phase' });
    expect(answer.prior_outputs.map((output) => output.phase_num)).toEqual([1, 2, 3]);
  });

  it('a skipped phase counts as done: full goes from a skipped 4 to 5, and skipping 6 and 7 of mvp completes it', async () => {
    const full = await connectedClient();
    await threePhasesDone(full.client, 'full');
    await skipPhase(full.client, 4);
    expect(await resume(full.client)).toMatchObject({
      next_phase: 5,
      phase_name: 'Business Planning',
      reason: 'next_phase',
    });
    const mvp = await connectedClient();
    await threePhasesDone(mvp.client, 'mvp');
    await skipPhase(mvp.client, 6);
    expect(await resume(mvp.client)).toMatchObject({ next_phase: 7, reason: 'next_phase' });
    await skipPhase(mvp.client, 7);
    expect(await resume(mvp.client)).toMatchObject({ reason: 'session_completed' });
    const state = await callOk<{ status: string }>(mvp.client, 'load_session', REF);
    expect(state.status).toBe('completed');
  });

  it('skipping phase 1 before anything ran is a decision, so the next answer is next_phase at phase 2', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await skipPhase(client, 1);
    expect(await resume(client)).toMatchObject({
      next_phase: 2,
      phase_name: 'Market Research',
      reason: 'next_phase',
      prior_outputs: [],
    });
  });
});
