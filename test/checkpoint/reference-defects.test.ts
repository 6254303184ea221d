import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import type { SaveCheckpointRequest } from '../../src/checkpoint/session/requests.js';
import { type Managers, managers, steppingClock } from '../helpers/base-dir.js';
import { documentTree, ENGINE, editDocument, readDocument } from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';

/** The defects of the reference design listed in issue 2, one test each, so none comes back. */

const REF = { project_id: 'p1', session_id: 's1' } as const;
const SESSION = ['p1', 'sessions', 's1'] as const;
const PHASE_1 = [...SESSION, 'phase_1_concept'] as const;

async function session(): Promise<Managers> {
  const m = await managers({ clock: steppingClock(), store: { durable: false } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
  return m;
}

function completed(phase_num: number, tokens: number, cost: number, duration: number): SaveCheckpointRequest {
  return {
    ...REF,
    phase_num,
    status: 'completed',
    duration,
    agents: [{ agent_name: 'worker', status: 'completed', tokens, cost }],
  };
}

async function manifest(m: Managers) {
  return parseManifest(await readDocument(m, ...SESSION, 'session_manifest.md'), 'session_manifest.md');
}

describe('defects of the reference design', () => {
  it('create_session on an existing session keeps its progress, and other arguments are CONFLICT', async () => {
    const m = await session();
    await m.checkpoints.saveCheckpoint(completed(1, 10, 0.1, 5));
    const files = await documentTree(m);
    const before = await readDocument(m, ...SESSION, 'session_manifest.md');
    await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
    expect(await documentTree(m)).toStrictEqual(files);
    expect(await readDocument(m, ...SESSION, 'session_manifest.md')).toBe(before);
    expect((await m.checkpoints.loadSession(REF)).completed_phases).toStrictEqual([1]);
    const error = await rejected(
      m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'full' }),
    );
    expect(error.code).toBe('CONFLICT');
    expect((await m.checkpoints.loadSession(REF)).completed_phases).toStrictEqual([1]);
  });

  it('save_checkpoint keeps the session Status and Metrics current', async () => {
    const m = await session();
    await m.checkpoints.saveCheckpoint(completed(1, 100, 0.25, 10));
    expect(await manifest(m)).toMatchObject({
      status: 'in_progress',
      metrics: { total_duration: 10, total_tokens: 100, total_cost: '0.25' },
    });
    for (const phase_num of [2, 3, 6, 7])
      await m.checkpoints.saveCheckpoint(completed(phase_num, 100, 0.25, 10));
    expect(await manifest(m)).toMatchObject({
      status: 'completed',
      metrics: { total_duration: 50, total_tokens: 500, total_cost: '1.25' },
    });
  });

  it('the Current Phase is never a phase outside the mode', async () => {
    const m = await session();
    await m.checkpoints.saveCheckpoint(completed(3, 1, 0, 1));
    for (const phase_num of [4, 5]) {
      expect((await rejected(m.checkpoints.saveCheckpoint(completed(phase_num, 1, 0, 1)))).code).toBe(
        'PHASE_NOT_IN_MODE',
      );
    }
    expect((await manifest(m)).current_phase).toMatchObject({ phase: 3, name: 'Niche Selection' });
    expect((await m.checkpoints.loadSession(REF)).current_phase).toBe(3);
  });

  it('a phase outside the mode is PHASE_NOT_IN_MODE for every write, and gets no directory', async () => {
    const m = await session();
    const before = await documentTree(m);
    const writes = [
      () => m.checkpoints.saveCheckpoint(completed(4, 1, 0, 1)),
      () => m.checkpoints.saveAgentOutput({ ...REF, phase_num: 4, agent_name: 'a', output_content: 'x' }),
      () =>
        m.checkpoints.saveUserFeedback({
          ...REF,
          phase_num: 5,
          reviewed: true,
          approved: true,
          action: 'skip_phase',
        }),
    ];
    for (const write of writes) expect((await rejected(write())).code).toBe('PHASE_NOT_IN_MODE');
    expect(await documentTree(m)).toStrictEqual(before);
    expect(before.some((path) => path.includes('phase_4') || path.includes('phase_5'))).toBe(false);
  });

  it('a stray .md file in a phase folder is not an agent output', async () => {
    const m = await session();
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      output_content: 'real',
    });
    await m.checkpoints.saveCheckpoint(completed(1, 1, 0, 1));
    await m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true });
    await editDocument(m, [...PHASE_1, 'notes.md'], '# Notes to self\n\nnot an output\n');
    // A name with a space can only be planted in a file tree; '_draft.md' is no agent name on any engine.
    if (ENGINE === 'file') await editDocument(m, [...PHASE_1, 'Summary Draft.md'], '# Agent Output: x\n');
    await editDocument(m, [...PHASE_1, '_draft.md'], '# Agent Output: x\n');
    expect(await m.checkpoints.getPhaseOutputs(REF)).toStrictEqual({
      outputs: { '1': { writer: 'real' } },
      truncated: [],
    });
  });

  it('an agent named checkpoint is rejected and cannot overwrite the checkpoint', async () => {
    const m = await session();
    await m.checkpoints.saveCheckpoint(completed(1, 1, 0, 1));
    const before = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    for (const agent_name of ['checkpoint', 'CHECKPOINT', 'checkpoint.md']) {
      const error = await rejected(
        m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name, output_content: 'overwrite' }),
      );
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain(
        'must not be one of checkpoint, user_feedback, session_manifest, project, history',
      );
    }
    expect(await readDocument(m, ...PHASE_1, 'checkpoint.md')).toBe(before);
  });

  it('a comment containing "- Approved: true" does not approve the phase', async () => {
    const m = await session();
    await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: false,
      comments: '## Review Status\n- Approved: true\nApproved: true\n',
    });
    expect(await m.checkpoints.getApprovedPhases(REF)).toStrictEqual({ phases: [] });
  });

  it('output content with "## Metadata", "## Error Details" and edge whitespace comes back exact', async () => {
    const m = await session();
    const content = [
      '\n  \t',
      '## Metadata',
      '- Agent: impostor',
      '## Error Details',
      '- Error Type: none',
      '## Output',
      '```',
      '## Output',
      '```',
      '---',
      'trailing   \r\n\r\n',
    ].join('\n');
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      output_content: content,
    });
    await m.checkpoints.saveCheckpoint(completed(1, 1, 0, 1));
    expect((await m.checkpoints.getPhaseOutputs(REF)).outputs['1']?.writer).toBe(content);
    const page = await m.checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer' });
    expect(page).toMatchObject({ agent_name: 'writer', content });
  });

  it('validate_checkpoint gives a clear error for a phase number that is no phase', async () => {
    const m = await session();
    for (const phase_num of [0, 100, 1.5, -1]) {
      expect(await rejected(m.checkpoints.validateCheckpoint({ ...REF, phase_num }))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `phase_num ${phase_num} is not a phase number; use a whole number from 1 to 99, one of the session's phases`,
      });
    }
    // A number a workflow could have, but this session has not: the error names the session's phases.
    expect(await rejected(m.checkpoints.validateCheckpoint({ ...REF, phase_num: 8 }))).toMatchObject({
      code: 'PHASE_NOT_IN_MODE',
      message:
        'phase_num 8 is not part of this idea_validation session (mode mvp); its phases are 1, 2, 3, 6, 7',
    });
  });

  it('validate_checkpoint reports structural problems with the file and line', async () => {
    const m = await session();
    await m.checkpoints.saveCheckpoint({ ...REF, phase_num: 1, status: 'in_progress', agents: [] });
    const text = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    await editDocument(
      m,
      [...PHASE_1, 'checkpoint.md'],
      text.replace('- Retry Count: 0', '- Retry Count: twice'),
    );
    expect(await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).toStrictEqual({
      is_valid: false,
      errors: [
        `p1/sessions/s1/phase_1_concept/checkpoint.md:11: "Retry Count" is "twice", expected a whole number >= 0; fix the file by hand, or restore an earlier version from the phase's history/ folder (list_history lists them)`,
      ],
      warnings: [],
    });
  });

  it('validate_checkpoint warns about an output whose SHA-256 no longer matches', async () => {
    const m = await session();
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      output_content: 'original',
    });
    await m.checkpoints.saveCheckpoint({
      ...completed(1, 1, 0, 1),
      agents: [{ agent_name: 'writer', status: 'completed' }],
    });
    const text = await readDocument(m, ...PHASE_1, 'writer.md');
    await editDocument(m, [...PHASE_1, 'writer.md'], text.replace('original', 'edited by hand'));
    expect(await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).toStrictEqual({
      is_valid: true,
      errors: [],
      warnings: [
        'p1/sessions/s1/phase_1_concept/writer.md: content SHA-256 differs from the recorded one: the output was edited by hand or truncated',
      ],
    });
  });

  it('validate_checkpoint reports a completed agent without its output file as an error', async () => {
    const m = await session();
    await m.checkpoints.saveCheckpoint({
      ...completed(1, 1, 0, 1),
      agents: [{ agent_name: 'ghost', status: 'completed', output_file: 'ghost_report.md' }],
    });
    expect(await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).toStrictEqual({
      is_valid: false,
      errors: [
        'p1/sessions/s1/phase_1_concept/ghost_report.md: agent ghost is listed as completed but has no output file; save_agent_output writes ghost.md: call it, then save_checkpoint without output_file for this agent',
      ],
      warnings: [],
    });
  });
});
