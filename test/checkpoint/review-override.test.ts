import { describe, expect, it } from 'vitest';
import { renderUserFeedback } from '../../src/checkpoint/formats/user-feedback.js';
import { type Managers, managers, steppingClock } from '../helpers/base-dir.js';
import { editDocument, readDocument, setModified } from '../helpers/engine.js';

const REF = { project_id: 'p1', session_id: 's1' } as const;
const SESSION = ['p1', 'sessions', 's1'] as const;
const PHASE_1 = [...SESSION, 'phase_1_concept'] as const;
const CHECKPOINT_LABEL = 'p1/sessions/s1/phase_1_concept/checkpoint.md';
const REVIEW_LABEL = 'p1/sessions/s1/phase_1_concept/user_feedback.md';

/** Session p1/s1 with phase 1 completed and approved. */
async function approvedPhase(): Promise<Managers> {
  const m = await managers({ clock: steppingClock(), store: { durable: false } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
  await m.checkpoints.saveAgentOutput({
    ...REF,
    phase_num: 1,
    agent_name: 'writer',
    output_content: 'draft',
  });
  await m.checkpoints.saveCheckpoint({
    ...REF,
    phase_num: 1,
    status: 'completed',
    agents: [{ agent_name: 'writer', status: 'completed', tokens: 100 }],
  });
  await m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true });
  return m;
}

/**
 * Rewrites user_feedback.md as a person would, and dates the files so the review is the later one
 * whatever the file system's timestamp resolution: checkpoint.md a minute ago, the review 30 s ago.
 */
async function editReview(m: Managers, edit: (text: string) => string): Promise<void> {
  const review = [...PHASE_1, 'user_feedback.md'];
  await editDocument(m, review, edit(await readDocument(m, ...review)));
  const now = Date.now();
  await setModified(m, [...PHASE_1, 'checkpoint.md'], new Date(now - 60_000));
  await setModified(m, review, new Date(now - 30_000));
}

function replaced(text: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  let result = text;
  for (const [from, to] of pairs) {
    expect(result).toContain(from);
    result = result.replace(from, to);
  }
  return result;
}

const askForRetry = (text: string) =>
  replaced(text, [
    ['- Approved: true', '- Approved: false'],
    ['- No changes requested', '- Change 1: Cite the sources'],
    ['- Action: approved', '- Action: retry_with_changes'],
    ['- Retry Count: 0', '- Retry Count: 1'],
  ]);

const askToSkip = (text: string) =>
  replaced(text, [
    ['- Approved: true', '- Approved: false'],
    ['- Action: approved', '- Action: skip_phase'],
  ]);

/** The lines of `text` that start with `prefix`. */
function linesStarting(text: string, prefix: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

async function manifestLines(m: Managers): Promise<string[]> {
  const text = await readDocument(m, ...SESSION, 'session_manifest.md');
  return [...linesStarting(text, '- Revision:'), ...linesStarting(text, '| 1 ')];
}

describe('a review edited by hand after its checkpoint takes effect', () => {
  it('Action: retry_with_changes sends the phase back for every reader until save_checkpoint records the rerun', async () => {
    const m = await approvedPhase();
    const checkpointBefore = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    expect(await manifestLines(m)).toStrictEqual([
      '- Revision: 3',
      '| 1     | Concept Expansion | completed | 2024-11-24T10:00:03.000Z | 2024-11-24T10:00:04.000Z | 1s       |',
    ]);
    await editReview(m, askForRetry);

    const state = await m.checkpoints.loadSession(REF);
    expect(state).toMatchObject({
      phase_statuses: { '1': 'requires_retry' },
      completed_phases: [],
      next_phase: 1,
      current_phase: 1,
      revision: 4,
    });
    // The manifest is rewritten with the status the review set, one revision up.
    expect(await manifestLines(m)).toStrictEqual([
      '- Revision: 4',
      '| 1     | Concept Expansion | requires_retry | 2024-11-24T10:00:03.000Z | 2024-11-24T10:00:04.000Z | 1s       |',
    ]);
    // checkpoint.md itself is left as written: the review is read over it.
    expect(await readDocument(m, ...PHASE_1, 'checkpoint.md')).toBe(checkpointBefore);

    expect(await m.checkpoints.resumeSession(REF)).toMatchObject({
      next_phase: 1,
      reason: 'retry_requested',
      requested_changes: ['Cite the sources'],
    });
    const { markdown } = await m.checkpoints.exportSession(REF);
    expect(linesStarting(markdown, '| 1     |')).toStrictEqual([
      '| 1     | Concept Expansion | requires_retry | 2024-11-24T10:00:03.000Z | 2024-11-24T10:00:04.000Z | 1s       | 1       | 100    | $0   |',
    ]);
    expect(await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).toStrictEqual({
      is_valid: true,
      errors: [],
      warnings: [
        `${REVIEW_LABEL}: edited after ${CHECKPOINT_LABEL}; its action retry_with_changes makes the phase requires_retry although checkpoint.md says completed. The review takes effect until save_checkpoint records the phase again`,
      ],
    });

    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [{ agent_name: 'writer', status: 'completed', tokens: 120 }],
    });
    const checkpoint = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    expect(linesStarting(checkpoint, '- Status:')).toStrictEqual(['- Status: completed']);
    // The rerun carries the retry the review counted.
    expect(linesStarting(checkpoint, '- Retry Count:')).toStrictEqual(['- Retry Count: 1']);
    expect(await m.checkpoints.loadSession(REF)).toMatchObject({
      phase_statuses: { '1': 'completed' },
      completed_phases: [1],
      next_phase: 2,
    });
    expect((await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).warnings).toStrictEqual([]);
  });

  it('Action: skip_phase makes the phase skipped, so the session goes on with the next phase', async () => {
    const m = await approvedPhase();
    await editReview(m, askToSkip);

    expect(await m.checkpoints.loadSession(REF)).toMatchObject({
      phase_statuses: { '1': 'skipped' },
      completed_phases: [],
      next_phase: 2,
      revision: 4,
    });
    expect(await manifestLines(m)).toStrictEqual([
      '- Revision: 4',
      '| 1     | Concept Expansion | skipped | 2024-11-24T10:00:03.000Z | 2024-11-24T10:00:04.000Z | 1s       |',
    ]);
    expect(await m.checkpoints.resumeSession(REF)).toMatchObject({
      next_phase: 2,
      reason: 'next_phase',
      requested_changes: [],
    });
    const { markdown } = await m.checkpoints.exportSession(REF);
    expect(linesStarting(markdown, '| 1     |')).toStrictEqual([
      '| 1     | Concept Expansion | skipped | 2024-11-24T10:00:03.000Z | 2024-11-24T10:00:04.000Z | 1s       | 0       | 100    | $0   |',
    ]);
    expect((await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).warnings).toStrictEqual([
      `${REVIEW_LABEL}: edited after ${CHECKPOINT_LABEL}; its action skip_phase makes the phase skipped although checkpoint.md says completed. The review takes effect until save_checkpoint records the phase again`,
    ]);

    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [{ agent_name: 'writer', status: 'completed' }],
    });
    expect((await m.checkpoints.loadSession(REF)).phase_statuses['1']).toBe('completed');
  });

  it('save_user_feedback after the hand edit writes the status in effect into checkpoint.md', async () => {
    const m = await approvedPhase();
    await editReview(m, askForRetry);
    await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: false,
      comments: 'Still to do.',
    });
    const checkpoint = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    expect(linesStarting(checkpoint, '- Status:')).toStrictEqual(['- Status: requires_retry']);
    expect(linesStarting(checkpoint, '- Retry Count:')).toStrictEqual(['- Retry Count: 1']);
    expect((await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).warnings).toStrictEqual([]);
  });

  it('a review still approved after a hand edit overrides nothing', async () => {
    const m = await approvedPhase();
    await editReview(m, (text) => `${text}A note added later.\n`);
    expect(await m.checkpoints.loadSession(REF)).toMatchObject({
      phase_statuses: { '1': 'completed' },
      revision: 3,
    });
    expect((await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).warnings).toStrictEqual([]);
  });

  it('a review edited before its checkpoint was written overrides nothing', async () => {
    const m = await approvedPhase();
    await editReview(m, askForRetry);
    const now = Date.now();
    await setModified(m, [...PHASE_1, 'user_feedback.md'], new Date(now - 90_000));
    expect((await m.checkpoints.loadSession(REF)).phase_statuses['1']).toBe('completed');
  });

  it('a review made unreadable by hand overrides nothing: load works and validation names the file', async () => {
    const m = await approvedPhase();
    await editReview(m, () => '# User Feedback\n\n- Action: retry_with_changes\n');
    expect(await m.checkpoints.loadSession(REF)).toMatchObject({
      phase_statuses: { '1': 'completed' },
      next_phase: 2,
      revision: 3,
    });
    expect(await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).toStrictEqual({
      is_valid: false,
      errors: [
        `${REVIEW_LABEL}:1: missing section "## User Comments"; fix the file by hand, or restore an earlier version from the phase's history/ folder (list_history lists them)`,
      ],
      warnings: [],
    });
  });

  it('a review written by hand for a phase with no checkpoint takes effect as save_user_feedback would', async () => {
    const m = await managers({ clock: steppingClock(), store: { durable: false } });
    await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
    const review = (action: 'approved' | 'skip_phase' | 'retry_with_changes') =>
      renderUserFeedback({
        phase_name: 'Concept Expansion',
        reviewed: true,
        approved: action === 'approved',
        timestamp: '2024-11-24T12:00:00.000Z',
        requested_changes: action === 'retry_with_changes' ? ['Cite the sources'] : [],
        action,
        retry_count: action === 'retry_with_changes' ? 1 : 0,
        comments: 'Written by hand.',
      });
    const write = (action: 'approved' | 'skip_phase' | 'retry_with_changes') =>
      editDocument(m, [...PHASE_1, 'user_feedback.md'], review(action));

    // Approved leaves a phase that never began as it was.
    await write('approved');
    expect(await m.checkpoints.loadSession(REF)).toMatchObject({
      phase_statuses: { '1': 'pending' },
      next_phase: 1,
    });

    await write('skip_phase');
    // Validation names the review and the manifest it leaves behind, until a load rebuilds the manifest.
    const reviewWarning = `${REVIEW_LABEL}: a review with no ${CHECKPOINT_LABEL}; its action skip_phase makes the phase skipped until save_checkpoint records phase 1`;
    expect((await m.checkpoints.validateSession(REF)).phases['1']).toStrictEqual({
      is_valid: true,
      errors: [],
      warnings: [
        reviewWarning,
        'p1/sessions/s1/session_manifest.md: phase 1 status is pending but its review says skipped; load_session rebuilds the manifest',
      ],
    });
    expect(await m.checkpoints.loadSession(REF)).toMatchObject({
      phase_statuses: { '1': 'skipped' },
      next_phase: 2,
    });
    expect(await m.checkpoints.validateSession(REF)).toMatchObject({
      is_valid: true,
      phases: { '1': { is_valid: true, errors: [], warnings: [reviewWarning] } },
    });
    expect(await m.checkpoints.resumeSession(REF)).toMatchObject({ next_phase: 2 });

    await write('retry_with_changes');
    expect(await m.checkpoints.loadSession(REF)).toMatchObject({ phase_statuses: { '1': 'requires_retry' } });
    expect(await m.checkpoints.resumeSession(REF)).toMatchObject({
      next_phase: 1,
      reason: 'retry_requested',
      requested_changes: ['Cite the sources'],
    });
    // The rerun's save_checkpoint is the later word, and counts the retry the review asked for.
    await m.checkpoints.saveCheckpoint({ ...REF, phase_num: 1, status: 'completed', agents: [] });
    const checkpoint = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    expect(linesStarting(checkpoint, '- Status:')).toStrictEqual(['- Status: completed']);
    expect(linesStarting(checkpoint, '- Retry Count:')).toStrictEqual(['- Retry Count: 1']);
    expect((await m.checkpoints.loadSession(REF)).phase_statuses['1']).toBe('completed');
  });
});

describe('a checkpoint with no Agent Ledger', () => {
  it('counts the tokens and cost its Metrics state, in load_session and export, and a review that rewrites it keeps them', async () => {
    const m = await approvedPhase();
    const checkpoint = [...PHASE_1, 'checkpoint.md'];
    await editDocument(
      m,
      checkpoint,
      (await readDocument(m, ...checkpoint))
        .replace(/## Agent Ledger\n[^#]*/, '')
        .replace('Total Tokens: 100', 'Total Tokens: 250')
        .replace('Cost: $0', 'Cost: $0.125'),
    );
    expect((await m.checkpoints.loadSession(REF)).metrics).toMatchObject({
      total_tokens: 250,
      total_cost: 0.125,
    });
    expect((await m.checkpoints.exportSession(REF)).markdown).toContain(
      '- Total Tokens: 250\n- Total Cost: $0.125',
    );
    await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: ['shorter'],
    });
    const rewritten = await readDocument(m, ...checkpoint);
    expect(rewritten).toContain('- Status: requires_retry');
    expect(rewritten).toContain('- Total Tokens: 250');
    expect(rewritten).toContain('- Cost: $0.125');
    expect((await m.checkpoints.loadSession(REF)).metrics.total_tokens).toBe(250);
  });
});
