import { describe, expect, it } from 'vitest';
import { WorkflowManager } from '../../src/checkpoint/workflow-manager.js';
import { type Managers, managers, managersOn, steppingClock } from '../helpers/base-dir.js';
import { editDocument, isStored, makeFolder, readDocument, removeDocument } from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';
import { CODE_REVIEW } from '../helpers/workflows.js';

const REF = { project_id: 'repo', session_id: 'pr-1' };

async function setup(): Promise<Managers & { workflows: WorkflowManager }> {
  const m = await managers({ clock: steppingClock() });
  return { ...m, workflows: new WorkflowManager(m.store, m.checkpoints.workflows) };
}

describe('workflows of your own', () => {
  it('define_workflow writes workflows/{type}.md as revision 1; defining it again the same changes nothing', async () => {
    const m = await setup();
    expect(await m.workflows.define(CODE_REVIEW)).toEqual({ workflow_type: 'code_review', revision: 1 });
    expect(await m.workflows.define(CODE_REVIEW)).toEqual({ workflow_type: 'code_review', revision: 1 });
    const text = await readDocument(m, 'workflows', 'code_review.md');
    expect(text).toContain('- Revision: 1');
    expect(text).toContain('| quick | 1, 3    |');
    expect(await m.workflows.define({ ...CODE_REVIEW, title: 'Code review, v2' })).toEqual({
      workflow_type: 'code_review',
      revision: 2,
    });
    expect(await readDocument(m, 'workflows', 'history', 'code_review.v1.md')).toBe(text);
  });

  it('a revision restored by hand from history/ is followed by a new number, not by one given out already', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    await m.workflows.define({ ...CODE_REVIEW, title: 'Code review, v2' });
    const first = await readDocument(m, 'workflows', 'history', 'code_review.v1.md');
    await editDocument(m, ['workflows', 'code_review.md'], first);
    expect(await m.workflows.define({ ...CODE_REVIEW, title: 'Code review, v3' })).toEqual({
      workflow_type: 'code_review',
      revision: 3,
    });
    // A Revision lowered by hand neither.
    const text = await readDocument(m, 'workflows', 'code_review.md');
    await editDocument(m, ['workflows', 'code_review.md'], text.replace('- Revision: 3', '- Revision: 0'));
    expect(await m.workflows.define(CODE_REVIEW)).toEqual({ workflow_type: 'code_review', revision: 4 });
  });

  it('list_workflows has the built-in workflow first, then the user’s; get_workflow reads one', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    expect(await m.workflows.list()).toEqual({
      workflows: [
        {
          workflow_type: 'idea_validation',
          title: 'Startup idea validation',
          revision: 1,
          modes: ['mvp', 'full'],
        },
        { workflow_type: 'code_review', title: 'Code review', revision: 1, modes: ['quick', 'deep'] },
      ],
    });
    expect(await m.workflows.get('code_review')).toEqual({ ...CODE_REVIEW, revision: 1 });
    expect((await m.workflows.get('idea_validation')).modes).toEqual([
      { name: 'mvp', phases: [1, 2, 3, 6, 7] },
      { name: 'full', phases: [1, 2, 3, 4, 5, 6, 7] },
    ]);
  });

  it('a session of the workflow gets its mode’s folders and keeps them in its manifest', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    expect(await m.checkpoints.createSession({ ...REF, user_id: 'u', workflow_type: 'code_review' })).toEqual(
      {
        project_id: 'repo',
        session_id: 'pr-1',
        execution_mode: 'quick',
        phases: [1, 3],
        path: 'repo/sessions/pr-1',
      },
    );
    const manifest = await readDocument(m, 'repo', 'sessions', 'pr-1', 'session_manifest.md');
    expect(manifest).toContain(
      '- Workflow Type: code_review\n- Workflow Revision: 1\n- Execution Mode: quick',
    );
    expect(manifest).toContain('| 1     | Read the change | phase_1_read    | pending |');
    expect(manifest).toContain('| 3     | Verdict         | phase_3_verdict | pending |');
    expect(await readDocument(m, 'repo', 'project.md')).toContain(
      '- User ID: u\n- Workflow Type: code_review\n- Execution Mode: quick',
    );
    await expect(
      m.checkpoints.saveAgentOutput({ ...REF, phase_num: 2, agent_name: 'a', output_content: 'x' }),
    ).rejects.toMatchObject({
      code: 'PHASE_NOT_IN_MODE',
      message: expect.stringContaining('its phases are 1, 3'),
    });
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 3,
      agent_name: 'judge',
      output_content: 'LGTM',
    });
    expect(await readDocument(m, 'repo', 'sessions', 'pr-1', 'phase_3_verdict', 'judge.md')).toContain(
      '- Phase: 3 - Verdict',
    );
  });

  it('a workflow edited by hand changes new sessions only: a running one keeps its phases and files', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    await m.checkpoints.createSession({
      ...REF,
      user_id: 'u',
      workflow_type: 'code_review',
      execution_mode: 'deep',
    });
    const file = ['workflows', 'code_review.md'];
    const edited = (await readDocument(m, ...file))
      .replace('Deep review', 'Security review')
      .replace('| deep  | 1, 2, 3 |', '| deep  | 1, 2, 3 |\n| late  | 3       |');
    await editDocument(m, file, edited);
    expect((await m.workflows.list()).workflows[1]?.modes).toEqual(['quick', 'deep', 'late']);
    await m.checkpoints.saveCheckpoint({ ...REF, phase_num: 2, status: 'completed', agents: [] });
    const state = await m.checkpoints.loadSession(REF);
    expect(state.phase_statuses).toEqual({ '1': 'pending', '2': 'completed', '3': 'pending' });
    expect(
      await readDocument(m, 'repo', 'sessions', 'pr-1', 'phase_2_deep_review', 'checkpoint.md'),
    ).toContain('- Phase Name: Deep review');
    const fresh = await m.checkpoints.createSession({
      project_id: 'repo',
      session_id: 'pr-2',
      user_id: 'u',
      workflow_type: 'code_review',
      execution_mode: 'late',
    });
    expect(fresh.phases).toEqual([3]);
    await m.checkpoints.createSession({
      project_id: 'repo',
      session_id: 'pr-3',
      user_id: 'u',
      workflow_type: 'code_review',
      execution_mode: 'deep',
    });
    expect(await readDocument(m, 'repo', 'sessions', 'pr-3', 'session_manifest.md')).toContain(
      'Security review',
    );
  });

  it('a malformed workflow document is CORRUPT_FILE naming its line, for that workflow only', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    await m.workflows.define({ ...CODE_REVIEW, workflow_type: 'other' });
    const file = ['workflows', 'code_review.md'];
    await editDocument(
      m,
      file,
      (await readDocument(m, ...file)).replace('| 3     | Verdict', '| 1     | Verdict'),
    );
    const error = await rejected(m.workflows.get('code_review'));
    expect(error).toMatchObject({ code: 'CORRUPT_FILE' });
    expect(error.message).toMatch(
      /^workflows\/code_review\.md:16: phases\[2\]\.num 1 repeats another phase's number/,
    );
    await expect(
      m.checkpoints.createSession({ ...REF, user_id: 'u', workflow_type: 'code_review' }),
    ).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    const listed = await m.workflows.list();
    expect(listed.workflows.map((w) => [w.workflow_type, w.problem === undefined])).toEqual([
      ['idea_validation', true],
      ['code_review', false],
      ['other', true],
    ]);
    await m.checkpoints.createSession({ ...REF, user_id: 'u', workflow_type: 'other' });
    expect((await m.checkpoints.loadSession(REF)).workflow_type).toBe('other');
  });

  it('names the Default Mode line of a document whose default mode is none of its modes', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const file = ['workflows', 'code_review.md'];
    const text = await readDocument(m, ...file);
    await editDocument(m, file, text.replace('- Default Mode: quick', '- Default Mode: slow'));
    const line = text.split('\n').findIndex((each) => each.startsWith('- Default Mode:')) + 1;
    const error = await rejected(m.workflows.get('code_review'));
    expect(error.message).toMatch(
      new RegExp(`^workflows/code_review\\.md:${line}: default_mode "slow" is not one of its modes`),
    );
  });

  it('refuses bad definitions with a clear error and writes nothing', async () => {
    const m = await setup();
    const bad: Array<[Partial<typeof CODE_REVIEW> & Record<string, unknown>, RegExp]> = [
      [
        { phases: [...CODE_REVIEW.phases, { num: 2, name: 'Again', folder: 'again' }] },
        /phases\[3\]\.num 2 repeats/,
      ],
      [
        { phases: [...CODE_REVIEW.phases, { num: 4, name: 'Again', folder: 'read' }] },
        /phases\[3\]\.folder "read" repeats/,
      ],
      [{ modes: [{ name: 'quick', phases: [1, 5] }] }, /modes\[0\]\.phases\[1\] 5 is no phase/],
      [{ phases: [] }, /phases is empty/],
      [
        { phases: [{ num: 1, name: 'Read', folder: 'Read-Me' }] },
        /folder "Read-Me" must be 1 to 40 characters of a-z 0-9 _/,
      ],
      [{ phases: [{ num: 1, name: 'two\nlines', folder: 'read' }] }, /name must be one line/],
      [{ default_mode: 'slow' }, /default_mode "slow" is not one of its modes/],
      [{ workflow_type: '../x' }, /workflow_type "..\/x" must be/],
    ];
    for (const [change, message] of bad) {
      await expect(
        m.workflows.define({ ...CODE_REVIEW, ...change }),
        JSON.stringify(change),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(message),
      });
    }
    // A count over its limit, as for agents.
    await expect(
      m.workflows.define({
        ...CODE_REVIEW,
        phases: Array.from({ length: 51 }, (_, i) => ({ num: i + 1, name: `P${i}`, folder: `f${i}` })),
        modes: [{ name: 'quick', phases: [1] }],
      }),
    ).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringMatching(/51 phases, over the limit of 50/),
    });
    for (const builtIn of ['idea_validation', 'IDEA_VALIDATION']) {
      await expect(m.workflows.define({ ...CODE_REVIEW, workflow_type: builtIn })).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining('idea_validation is built in'),
      });
    }
    expect(await isStored(m, 'workflows', 'code_review.md')).toBe(false);
  });

  it('refuses modes whose names differ only in letter case, defined or written by hand', async () => {
    const m = await setup();
    const twins = { ...CODE_REVIEW, modes: [...CODE_REVIEW.modes, { name: 'Quick', phases: [1] }] };
    const error = await rejected(m.workflows.define(twins));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(error.message).toContain(
      'modes[2].name "Quick" differs from mode "quick" only in letter case, which a person cannot tell apart; rename one of them; nothing was saved',
    );
    expect(await isStored(m, 'workflows', 'code_review.md')).toBe(false);
    // The same written into the document by hand: CORRUPT_FILE at the row, as the document's other problems.
    await m.workflows.define(CODE_REVIEW);
    const file = ['workflows', 'code_review.md'];
    const text = (await readDocument(m, ...file)).replace('| deep  | 1, 2, 3 |', '| QUICK | 1, 2, 3 |');
    await editDocument(m, file, text);
    const line = text.split('\n').findIndex((each) => each.startsWith('| QUICK')) + 1;
    const corrupt = await rejected(m.workflows.get('code_review'));
    expect(corrupt).toMatchObject({ code: 'CORRUPT_FILE' });
    expect(corrupt.message).toMatch(
      new RegExp(
        `^workflows/code_review\\.md:${line}: modes\\[1\\]\\.name "QUICK" differs from mode "quick" only in letter case`,
      ),
    );
    await expect(
      m.checkpoints.createSession({
        ...REF,
        user_id: 'u',
        workflow_type: 'code_review',
        execution_mode: 'QUICK',
      }),
    ).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    expect((await m.workflows.list()).workflows[1]?.problem).toBe(corrupt.message);
  });

  it('refuses a type that differs from a defined one only in letter case (one file on macOS and Windows)', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const before = await readDocument(m, 'workflows', 'code_review.md');
    await expect(
      m.workflows.define({ ...CODE_REVIEW, workflow_type: 'Code_Review', title: 'Other' }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('use workflow_type "code_review" to update it'),
    });
    expect(await readDocument(m, 'workflows', 'code_review.md')).toBe(before);
    expect((await m.workflows.list()).workflows.map((w) => w.workflow_type)).toEqual([
      'idea_validation',
      'code_review',
    ]);
  });

  it('documents copied in that differ only in letter case are one workflow listed as a problem, used by no call until one is kept', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    await m.checkpoints.createSession({ ...REF, user_id: 'u', workflow_type: 'code_review' });
    const text = await readDocument(m, 'workflows', 'code_review.md');
    const copy = ['workflows', 'Code_Review.md'];
    await editDocument(m, copy, text.replace('- Workflow Type: code_review', '- Workflow Type: Code_Review'));
    const problem =
      'workflows/Code_Review.md and workflows/code_review.md differ only in letter case, which one file on macOS or Windows cannot tell apart, so none of them is used; keep one: delete the other or move it out of workflows/ by hand, then call again';
    expect((await m.workflows.list()).workflows.slice(1)).toEqual([
      { workflow_type: 'Code_Review', title: 'Code_Review', revision: 0, modes: [], problem },
    ]);
    const refused = { code: 'CONFLICT', message: problem };
    for (const workflow_type of ['code_review', 'Code_Review']) {
      await expect(m.workflows.get(workflow_type)).rejects.toMatchObject(refused);
      await expect(
        m.checkpoints.createSession({ ...REF, session_id: 'pr-2', user_id: 'u', workflow_type }),
      ).rejects.toMatchObject(refused);
      await expect(
        m.projects.createProject({ user_id: 'u', startup_idea: 'x', project_id: 'other', workflow_type }),
      ).rejects.toMatchObject(refused);
    }
    // define_workflow names the two files, where it said to update the other under either name.
    for (const workflow_type of ['code_review', 'Code_Review', 'CODE_REVIEW']) {
      await expect(
        m.workflows.define({ ...CODE_REVIEW, workflow_type, title: 'Other' }),
      ).rejects.toMatchObject(refused);
    }
    await expect(m.projects.startSession({ project_id: 'repo' })).rejects.toMatchObject(refused);
    expect(await isStored(m, 'repo', 'sessions', 'pr-2')).toBe(false);
    expect(await isStored(m, 'other')).toBe(false);
    expect(await readDocument(m, 'workflows', 'code_review.md')).toBe(text);
    // The session made before the copy is answered as it is, as for a workflow that cannot be read.
    expect(
      (await m.checkpoints.createSession({ ...REF, user_id: 'u', workflow_type: 'code_review' })).phases,
    ).toEqual([1, 3]);
    // One kept, the workflow is used again.
    await removeDocument(m, ...copy);
    expect((await m.workflows.list()).workflows.map((w) => [w.workflow_type, w.problem])).toEqual([
      ['idea_validation', undefined],
      ['code_review', undefined],
    ]);
    await m.checkpoints.createSession({
      ...REF,
      session_id: 'pr-2',
      user_id: 'u',
      workflow_type: 'code_review',
    });
  });

  it('workflows is a reserved project id, and a base that already holds such a project refuses define_workflow', async () => {
    const m = await setup();
    await expect(
      m.checkpoints.createSession({ project_id: 'workflows', session_id: 's', user_id: 'u' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('reserved') });
    await expect(
      m.projects.createProject({ user_id: 'u', startup_idea: 'x', project_id: 'Workflows' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await makeFolder(m, 'workflows');
    await editDocument(m, ['workflows', 'project.md'], '# Project: old\n');
    await expect(m.workflows.define(CODE_REVIEW)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('a project named "workflows"'),
    });
  });

  it('create_session names the workflows there are for an unknown workflow, and the workflow’s modes for an unknown mode', async () => {
    const m = await setup();
    const unknown = (workflow_type: string) =>
      rejected(m.checkpoints.createSession({ ...REF, user_id: 'u', workflow_type }));
    expect(await unknown('nope')).toMatchObject({
      code: 'NOT_FOUND',
      message:
        'workflow "nope" not found; the workflows there are idea_validation: pass one of them as workflow_type, or call define_workflow to make it',
    });
    await m.workflows.define(CODE_REVIEW);
    // The workflows are named in the answer itself: an agent offered the core tools has no list_workflows.
    expect((await unknown('Code_Review')).message).toContain(
      'the workflows there are idea_validation, code_review: pass one',
    );
    for (let i = 0; i < 20; i++)
      await m.workflows.define({ ...CODE_REVIEW, workflow_type: `w${String(i).padStart(2, '0')}` });
    expect((await unknown('nope')).message).toContain(
      'idea_validation, code_review, w00, w01, w02, w03, w04, w05, w06, w07, w08, w09, w10, w11, w12, w13, w14, w15, w16, w17 and 2 more (list_workflows lists them): pass one',
    );
    await expect(
      m.checkpoints.createSession({
        ...REF,
        user_id: 'u',
        workflow_type: 'code_review',
        execution_mode: 'mvp',
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('its modes are quick, deep'),
    });
  });

  it('an idea_validation session beside them writes exactly what it always did', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    await m.checkpoints.createSession({ project_id: 'idea', session_id: 's', user_id: 'u' });
    const manifest = await readDocument(m, 'idea', 'sessions', 's', 'session_manifest.md');
    expect(manifest).not.toContain('Workflow Revision');
    expect(manifest).not.toContain('Folder');
    expect(manifest).toContain('| 1     | Concept Expansion | pending |');
    expect(await readDocument(m, 'idea', 'project.md')).not.toContain('Workflow Type');
  });
});

describe('a lost or unreadable manifest of a workflow’s session', () => {
  const CR = { project_id: 'ideas', session_id: 'cr' };
  const MANIFEST = ['ideas', 'sessions', 'cr', 'session_manifest.md'];

  /** A built-in project (mvp) holding a quick code_review session with phase 1 done and approved. */
  async function reviewed() {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    await m.checkpoints.createSession({ project_id: 'ideas', session_id: 'seed', user_id: 'u' });
    await m.checkpoints.createSession({ ...CR, user_id: 'ann', workflow_type: 'code_review' });
    await m.checkpoints.saveAgentOutput({
      ...CR,
      phase_num: 1,
      agent_name: 'reader',
      output_content: 'notes',
    });
    await m.checkpoints.saveCheckpoint({
      ...CR,
      phase_num: 1,
      status: 'completed',
      agents: [{ agent_name: 'reader', status: 'completed' }],
    });
    await m.checkpoints.saveUserFeedback({ ...CR, phase_num: 1, reviewed: true, approved: true });
    return m;
  }

  /** What a rebuild must keep; `user` is the project's when nothing of the manifest is left to say it. */
  async function expectTheReviewKept(m: Awaited<ReturnType<typeof reviewed>>, user = 'ann') {
    const state = await m.checkpoints.loadSession(CR);
    expect(state).toMatchObject({
      user_id: user,
      workflow_type: 'code_review',
      execution_mode: 'quick',
      completed_phases: [1],
      phase_statuses: { '1': 'completed', '3': 'pending' },
      next_phase: 3,
    });
    expect(await m.checkpoints.getPhaseOutputs(CR)).toMatchObject({ outputs: { '1': { reader: 'notes' } } });
    const manifest = await readDocument(m, ...MANIFEST);
    expect(manifest).toContain(
      '- Workflow Type: code_review\n- Workflow Revision: 1\n- Execution Mode: quick',
    );
    expect(manifest).toContain('| 3     | Verdict         | phase_3_verdict | pending   |');
    // The next save goes to the session's own folder, not to the project's workflow's.
    const saved = await m.checkpoints.saveAgentOutput({
      ...CR,
      phase_num: 1,
      agent_name: 'again',
      output_content: 'x',
    });
    expect(saved.file).toBe('ideas/sessions/cr/phase_1_read/again.md');
  }

  it('keeps the workflow, mode, user and phases a manifest mistyped by hand still names', async () => {
    const m = await reviewed();
    const text = await readDocument(m, ...MANIFEST);
    await editDocument(m, MANIFEST, text.replace(/- Revision: \d+/, '- Revision: x'));
    await expectTheReviewKept(m);
    expect(await readDocument(m, ...MANIFEST)).toContain(text.match(/- Created: .*/)?.[0] ?? 'no Created');
  });

  it('finds a deleted manifest’s workflow and mode by the phase folders, not by the project', async () => {
    const m = await reviewed();
    await removeDocument(m, ...MANIFEST);
    await expectTheReviewKept(m, 'u');
  });

  it('recovers a built-in session in a project of another workflow, and a quick session in a deep project', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const repo = { project_id: 'repo', user_id: 'u', workflow_type: 'code_review', execution_mode: 'deep' };
    await m.checkpoints.createSession({ ...repo, session_id: 'deep' });
    await m.checkpoints.createSession({ ...repo, session_id: 'quick', execution_mode: 'quick' });
    await m.checkpoints.createSession({
      project_id: 'repo',
      session_id: 'idea',
      user_id: 'u',
      workflow_type: 'idea_validation',
    });
    for (const session_id of ['deep', 'quick', 'idea'])
      await removeDocument(m, 'repo', 'sessions', session_id, 'session_manifest.md');
    const load = (session_id: string) => m.checkpoints.loadSession({ project_id: 'repo', session_id });
    expect(await load('deep')).toMatchObject({ workflow_type: 'code_review', execution_mode: 'deep' });
    expect(await load('quick')).toMatchObject({
      workflow_type: 'code_review',
      execution_mode: 'quick',
      phase_statuses: { '1': 'pending', '3': 'pending' },
    });
    expect(await load('idea')).toMatchObject({
      workflow_type: 'idea_validation',
      execution_mode: 'mvp',
      phase_statuses: { '1': 'pending', '2': 'pending', '3': 'pending', '6': 'pending', '7': 'pending' },
    });
  });

  it('reads a copy of a phase folder beside it as no second phase, with or without the workflow', async () => {
    const m = await reviewed();
    const checkpoint = await readDocument(m, 'ideas', 'sessions', 'cr', 'phase_1_read', 'checkpoint.md');
    // A person keeps a copy of phase 1 as it was (completed); then the phase is run again and fails.
    await makeFolder(m, 'ideas', 'sessions', 'cr', 'phase_1_backup');
    await editDocument(m, ['ideas', 'sessions', 'cr', 'phase_1_backup', 'checkpoint.md'], checkpoint);
    await m.checkpoints.saveCheckpoint({ ...CR, phase_num: 1, status: 'failed', agents: [] });
    const failed = { phase_statuses: { '1': 'failed', '3': 'pending' }, completed_phases: [] };
    await removeDocument(m, ...MANIFEST);
    expect(await m.checkpoints.loadSession(CR)).toMatchObject({ workflow_type: 'code_review', ...failed });
    // With the workflow gone too, the folders alone: the checkpoint saved last is the phase's.
    await removeDocument(m, 'workflows', 'code_review.md');
    await removeDocument(m, ...MANIFEST);
    expect(await m.checkpoints.loadSession(CR)).toMatchObject({ workflow_type: 'unknown', ...failed });
    // A server started afresh reads the rebuilt manifest: the phase's folder is the one kept in it.
    const fresh = managersOn(m.store).checkpoints;
    const saved = await fresh.saveAgentOutput({
      ...CR,
      phase_num: 1,
      agent_name: 'b',
      output_content: 'x',
    });
    expect(saved.file).toBe('ideas/sessions/cr/phase_1_read/b.md');
  });

  it('rebuilds a deleted manifest with the kept revision the session was made with, not the workflow as it is now', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    await m.checkpoints.createSession({
      ...CR,
      user_id: 'ann',
      workflow_type: 'code_review',
      execution_mode: 'deep',
    });
    await m.checkpoints.saveCheckpoint({ ...CR, phase_num: 1, status: 'completed', agents: [] });
    await m.checkpoints.saveUserFeedback({
      ...CR,
      phase_num: 1,
      reviewed: true,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: ['more'],
    });
    // Revision 2 renames phase 1's folder and has no deep mode any more.
    await m.workflows.define({
      ...CODE_REVIEW,
      phases: [
        { num: 1, name: 'Read', folder: 'reading' },
        { num: 3, name: 'Verdict', folder: 'verdict' },
      ],
      modes: [{ name: 'quick', phases: [1, 3] }],
    });
    await removeDocument(m, ...MANIFEST);
    expect(await m.checkpoints.loadSession(CR)).toMatchObject({
      workflow_type: 'code_review',
      execution_mode: 'deep',
      phase_statuses: { '1': 'requires_retry', '2': 'pending', '3': 'pending' },
      next_phase: 1,
    });
    const manifest = await readDocument(m, ...MANIFEST);
    expect(manifest).toContain('- Workflow Revision: 1\n- Execution Mode: deep');
    expect(manifest).toContain('| 1     | Read the change | phase_1_read ');
    const saved = await m.checkpoints.saveAgentOutput({
      ...CR,
      phase_num: 1,
      agent_name: 'a',
      output_content: 'x',
    });
    expect(saved.file).toBe('ideas/sessions/cr/phase_1_read/a.md');
  });

  it('takes nothing from a manifest copied over from another session', async () => {
    const m = await reviewed();
    await m.checkpoints.createSession({ project_id: 'ideas', session_id: 'other', user_id: 'bob' });
    const other = await readDocument(m, 'ideas', 'sessions', 'other', 'session_manifest.md');
    await editDocument(m, MANIFEST, other.replace(/- Revision: \d+/, '- Revision: x'));
    await expectTheReviewKept(m, 'u');
  });
});

describe('workflow names and definitions the base cannot hold', () => {
  it('refuses the type "project" in any case: workflows/project.md would mark the folder as a project', async () => {
    const m = await setup();
    for (const workflow_type of ['project', 'Project', 'PROJECT']) {
      await expect(m.workflows.define({ ...CODE_REVIEW, workflow_type })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining(`workflow_type "${workflow_type}" is reserved (any letter case)`),
      });
    }
    expect(await isStored(m, 'workflows')).toBe(false);
    await m.projects.createProject({ user_id: 'u', startup_idea: 'x', project_id: 'kept' });
    expect((await m.projects.listProjects({})).projects.map((p) => p.project_id)).toEqual(['kept']);
  });

  it('takes no workflow from a file put in by hand under the built-in name in another case', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const text = (await readDocument(m, 'workflows', 'code_review.md'))
      .replace('Workflow Type: code_review', 'Workflow Type: IDEA_VALIDATION')
      .replace('# Workflow: Code review', '# Workflow: Shadow');
    await editDocument(m, ['workflows', 'IDEA_VALIDATION.md'], text);
    expect((await m.workflows.list()).workflows.map((w) => w.workflow_type)).toEqual([
      'idea_validation',
      'code_review',
    ]);
    await expect(
      m.checkpoints.createSession({ ...REF, user_id: 'u', workflow_type: 'IDEA_VALIDATION' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('differs from the built-in idea_validation only in letter case'),
    });
    expect(await isStored(m, 'repo', 'sessions', 'pr-1')).toBe(false);
  });

  it('refuses more than 50 modes with LIMIT_EXCEEDED, writing nothing', async () => {
    const m = await setup();
    const modes = Array.from({ length: 51 }, (_, i) => ({ name: `m${i}`, phases: [1, 3] }));
    await expect(m.workflows.define({ ...CODE_REVIEW, default_mode: 'm0', modes })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringContaining('modes has 51 modes, over the limit of 50'),
    });
    expect(await isStored(m, 'workflows', 'code_review.md')).toBe(false);
    expect(
      await m.workflows.define({ ...CODE_REVIEW, default_mode: 'm0', modes: modes.slice(0, 50) }),
    ).toEqual({
      workflow_type: 'code_review',
      revision: 1,
    });
  });

  it('answers a repeated create_session that names no mode as it is after the workflow’s default mode changed', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const request = { ...REF, user_id: 'u', workflow_type: 'code_review' };
    const made = await m.checkpoints.createSession(request);
    expect(made.execution_mode).toBe('quick');
    await m.workflows.define({ ...CODE_REVIEW, default_mode: 'deep' });
    expect(await m.checkpoints.createSession(request)).toEqual(made);
    // A mode named other than the session's is still CONFLICT.
    await expect(m.checkpoints.createSession({ ...request, execution_mode: 'deep' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('answers a repeated create_session as it is once the workflow no longer has the session’s mode', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const request = { ...REF, user_id: 'u', workflow_type: 'code_review', execution_mode: 'deep' };
    const made = await m.checkpoints.createSession(request);
    await m.workflows.define({ ...CODE_REVIEW, modes: [{ name: 'quick', phases: [1, 3] }] });
    expect(await m.checkpoints.createSession(request)).toEqual(made);
    // A new session in that mode meets the workflow's own error.
    await expect(m.checkpoints.createSession({ ...request, session_id: 'pr-2' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await isStored(m, 'repo', 'sessions', 'pr-2')).toBe(false);
  });

  it('answers a repeated create_session as it is once the workflow’s document is gone or broken', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const request = { ...REF, user_id: 'u', workflow_type: 'code_review' };
    const made = await m.checkpoints.createSession(request);
    await editDocument(m, ['workflows', 'code_review.md'], '# Workflow: broken\n');
    expect(await m.checkpoints.createSession(request)).toEqual(made);
    expect(await m.checkpoints.createSession({ ...request, execution_mode: 'quick' })).toEqual(made);
    // Other settings still meet the workflow's own error: nothing can be compared or made.
    await expect(m.checkpoints.createSession({ ...request, execution_mode: 'deep' })).rejects.toMatchObject({
      code: 'CORRUPT_FILE',
    });
    await expect(m.checkpoints.createSession({ ...request, session_id: 'pr-2' })).rejects.toMatchObject({
      code: 'CORRUPT_FILE',
    });
    expect(await isStored(m, 'repo', 'sessions', 'pr-2')).toBe(false);
  });

  it('start_session in a project whose mode the workflow lost names create_session and the modes there are', async () => {
    const m = await setup();
    await m.workflows.define(CODE_REVIEW);
    const project = await m.projects.createProject({
      user_id: 'u',
      startup_idea: 'PR 17',
      project_id: 'repo',
      workflow_type: 'code_review',
      execution_mode: 'deep',
    });
    await m.workflows.define({ ...CODE_REVIEW, modes: [{ name: 'quick', phases: [1, 3] }] });
    await expect(m.projects.startSession({ project_id: project.project_id })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(
        'project "repo" runs workflow code_review in mode "deep", which the workflow no longer has (its modes are quick); call create_session with project_id "repo"',
      ),
    });
    const started = await m.checkpoints.createSession({
      project_id: 'repo',
      session_id: 's2',
      user_id: 'u',
      workflow_type: 'code_review',
      execution_mode: 'quick',
    });
    expect(started.phases).toEqual([1, 3]);
  });
});
