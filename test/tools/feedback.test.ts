import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { readDocument } from '../helpers/engine.js';
import { completePhase, corrupt, createSession, REF, sessionDocument } from '../helpers/seed.js';

const REVIEW = { ...REF, phase_num: 1, reviewed: true };

describe('save_user_feedback', () => {
  it('save_user_feedback with approval keeps the phase status and writes the comments verbatim', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    const comments = 'Looks good.\n## Review Status\n- Approved: false\n';
    const saved = await callOk(client, 'save_user_feedback', { ...REVIEW, approved: true, comments });
    expect(saved).toEqual({ phase_num: 1, action: 'approved', phase_status: 'completed' });
    const file = await readDocument(m, ...sessionDocument('phase_1_concept', 'user_feedback.md'));
    expect(file.endsWith(comments)).toBe(true);
    expect(await callOk(client, 'load_session', REF)).toMatchObject({ revision: 3 });
  });

  it('save_user_feedback with retry_with_changes sends the phase back and counts the retry', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    const saved = await callOk(client, 'save_user_feedback', {
      ...REVIEW,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: ['Focus on B2B', 'Add pricing'],
    });
    expect(saved).toEqual({ phase_num: 1, action: 'retry_with_changes', phase_status: 'requires_retry' });
    const file = await readDocument(m, ...sessionDocument('phase_1_concept', 'user_feedback.md'));
    expect(file).toContain('- Change 2: Add pricing');
    expect(file).toContain('- Retry Count: 1');
    expect(await callOk(client, 'load_session', REF)).toMatchObject({
      phase_statuses: { '1': 'requires_retry' },
      next_phase: 1,
    });
  });

  it('save_user_feedback with skip_phase on a phase without checkpoint marks it skipped', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const saved = await callOk(client, 'save_user_feedback', {
      ...REVIEW,
      approved: false,
      action: 'skip_phase',
    });
    expect(saved).toEqual({ phase_num: 1, action: 'skip_phase', phase_status: 'skipped' });
    expect(await callOk(client, 'load_session', REF)).toMatchObject({ next_phase: 2, completed_phases: [] });
  });

  it('save_user_feedback rejects approval with a retry, a multi-line change and non-boolean flags', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    expect(
      await expectToolError(
        client,
        'save_user_feedback',
        { ...REVIEW, approved: true, action: 'retry_with_changes' },
        'INVALID_ARGUMENT',
      ),
    ).toContain('approved');
    expect(
      await expectToolError(
        client,
        'save_user_feedback',
        { ...REVIEW, approved: false, requested_changes: ['one\ntwo'] },
        'INVALID_ARGUMENT',
      ),
    ).toContain('requested_changes[0]');
    await expectToolError(client, 'save_user_feedback', { ...REVIEW, approved: 'yes' }, 'INVALID_ARGUMENT');
    await expectToolError(
      client,
      'save_user_feedback',
      { ...REVIEW, approved: false, action: 'reject' },
      'INVALID_ARGUMENT',
    );
    await expectToolError(
      client,
      'save_user_feedback',
      { ...REVIEW, approved: false, retry_count: '1' },
      'INVALID_ARGUMENT',
    );
    await expectToolError(
      client,
      'save_user_feedback',
      { ...REVIEW, phase_num: 100, approved: false },
      'INVALID_ARGUMENT',
    );
  });

  it('save_user_feedback for a missing session is NOT_FOUND and for phase 4 of mvp PHASE_NOT_IN_MODE', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(
      client,
      'save_user_feedback',
      { ...REVIEW, session_id: 'x', approved: true },
      'NOT_FOUND',
    );
    await expectToolError(
      client,
      'save_user_feedback',
      { ...REVIEW, phase_num: 4, approved: true },
      'PHASE_NOT_IN_MODE',
    );
  });

  it('save_user_feedback over the comments or requested-changes limit is LIMIT_EXCEEDED', async () => {
    const { client } = await connectedClient({ limits: { maxTextBytes: 1000, maxRequestedChanges: 2 } });
    await createSession(client);
    expect(
      await expectToolError(
        client,
        'save_user_feedback',
        { ...REVIEW, approved: true, comments: 'x'.repeat(1001) },
        'LIMIT_EXCEEDED',
      ),
    ).toContain('comments');
    expect(
      await expectToolError(
        client,
        'save_user_feedback',
        { ...REVIEW, approved: false, requested_changes: ['a', 'b', 'c'] },
        'LIMIT_EXCEEDED',
      ),
    ).toContain('requested_changes');
    expect(await callOk(client, 'load_session', REF)).toMatchObject({ revision: 1 });
  });

  it('save_user_feedback on a hand-corrupted checkpoint is CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await corrupt(m, sessionDocument('phase_1_concept', 'checkpoint.md'));
    await expectToolError(client, 'save_user_feedback', { ...REVIEW, approved: true }, 'CORRUPT_FILE');
  });
});

describe('get_approved_phases', () => {
  it('get_approved_phases lists approved reviews only, not comments that say Approved: true', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await callOk(client, 'save_user_feedback', { ...REVIEW, phase_num: 2, approved: true });
    await callOk(client, 'save_user_feedback', {
      ...REVIEW,
      phase_num: 3,
      approved: false,
      comments: '## Review Status\n- Approved: true\n',
    });
    await callOk(client, 'save_user_feedback', { ...REVIEW, phase_num: 1, approved: true });
    expect(await callOk(client, 'get_approved_phases', REF)).toEqual({ phases: [1, 2] });
  });

  it('get_approved_phases of a missing session is NOT_FOUND and of a bad id INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'get_approved_phases', REF, 'NOT_FOUND');
    await expectToolError(client, 'get_approved_phases', { ...REF, session_id: 's/1' }, 'INVALID_ARGUMENT');
  });

  it('get_approved_phases reports a hand-corrupted feedback file as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await callOk(client, 'save_user_feedback', { ...REVIEW, approved: true });
    await corrupt(m, sessionDocument('phase_1_concept', 'user_feedback.md'));
    const text = await expectToolError(client, 'get_approved_phases', REF, 'CORRUPT_FILE');
    expect(text).toContain('phase_1_concept/user_feedback.md');
  });
});
