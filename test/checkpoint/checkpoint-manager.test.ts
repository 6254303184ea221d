import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import type { Limits } from '../../src/checkpoint/model/limits.js';
import type { RelPath } from '../../src/checkpoint/model/paths.js';
import type { SaveCheckpointRequest } from '../../src/checkpoint/session/requests.js';
import type { Engine } from '../../src/checkpoint/store/engine.js';
import { type Managers, managers, managersOn, steppingClock } from '../helpers/base-dir.js';
import {
  documentTree,
  ENGINE,
  editDocument,
  makeFolder,
  readDocument,
  removeDocument,
} from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';

const REF = { project_id: 'p1', session_id: 's1' } as const;
const SESSION = ['p1', 'sessions', 's1'] as const;
const PHASE_1 = [...SESSION, 'phase_1_concept'] as const;

/** Managers on a fresh base directory with a stepping clock and, unless `create` is false, session p1/s1. */
async function setup(
  options: { mode?: 'mvp' | 'full'; limits?: Partial<Limits>; create?: boolean } = {},
): Promise<Managers> {
  const m = await managers({ clock: steppingClock(), limits: options.limits, store: { durable: false } });
  if (options.create !== false) {
    await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: options.mode ?? 'mvp' });
  }
  return m;
}

function checkpointOf(
  phase_num: number,
  overrides: Partial<SaveCheckpointRequest> = {},
): SaveCheckpointRequest {
  return {
    ...REF,
    phase_num,
    status: 'completed',
    agents: [{ agent_name: 'writer', status: 'completed', tokens: 100, cost: 0.5 }],
    ...overrides,
  };
}

/** Managers (not durable, stepping clock) on the engine under test with its `key` replaced by `make(engine)`. */
function managersReplacing<K extends keyof Engine>(
  key: K,
  make: (engine: Engine) => Engine[K],
): Promise<Managers> {
  return managers({
    clock: steppingClock(),
    store: { durable: false },
    through: (store) => {
      const replacement = make(store);
      return new Proxy(store, {
        get: (target, name, receiver) => (name === key ? replacement : Reflect.get(target, name, receiver)),
      });
    },
  });
}

async function manifestOf(m: Managers) {
  return parseManifest(await readDocument(m, ...SESSION, 'session_manifest.md'), 'session_manifest.md');
}

/** The versions of the manifest kept in history/, oldest first, parsed. */
async function manifestVersions(m: Managers) {
  const rel = [...SESSION, 'session_manifest.md'];
  const versions = await m.store.history(rel);
  return Promise.all(
    versions.map(async ({ version }) =>
      parseManifest((await m.store.read(m.store.historyFile(rel, version))) ?? '', `v${version}`),
    ),
  );
}

async function checkpointFile(m: Managers, dir = 'phase_1_concept') {
  return parseCheckpoint(await readDocument(m, ...SESSION, dir, 'checkpoint.md'), 'checkpoint.md');
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('createSession', () => {
  it('answers CONFLICT for a session_id differing only in letter case from a session there, making nothing', async () => {
    const m = await setup({ create: false });
    await m.checkpoints.createSession({ ...REF, user_id: 'u1' });
    const before = await documentTree(m);
    expect(
      await rejected(m.checkpoints.createSession({ project_id: 'p1', session_id: 'S1', user_id: 'u1' })),
    ).toMatchObject({
      code: 'CONFLICT',
      message:
        'session_id "S1" differs only in letter case from the existing session "s1" of project "p1"; the two folders would collide on macOS and Windows. Call load_session with session_id "s1" to continue it, or choose another session_id',
    });
    expect(await documentTree(m)).toStrictEqual(before);
    // The session in its own letters is answered as ever, and another id is a new session.
    expect((await m.checkpoints.createSession({ ...REF, user_id: 'u1' })).session_id).toBe('s1');
    expect(
      (await m.checkpoints.createSession({ project_id: 'p1', session_id: 's1b', user_id: 'u1' })).session_id,
    ).toBe('s1b');
  });

  it('creates project.md, the session folder, the mode phase folders and manifest revision 1', async () => {
    const m = await setup({ create: false });
    const result = await m.checkpoints.createSession({ ...REF, user_id: 'u1' });
    expect(result).toStrictEqual({
      project_id: 'p1',
      session_id: 's1',
      execution_mode: 'mvp',
      phases: [1, 2, 3, 6, 7],
      path: 'p1/sessions/s1',
    });
    expect(await documentTree(m)).toStrictEqual([
      'p1/',
      'p1/project.md',
      'p1/sessions/',
      'p1/sessions/s1/',
      'p1/sessions/s1/phase_1_concept/',
      'p1/sessions/s1/phase_2_market_research/',
      'p1/sessions/s1/phase_3_niche_selection/',
      'p1/sessions/s1/phase_6_validation/',
      'p1/sessions/s1/phase_7_synthesis/',
      'p1/sessions/s1/session_manifest.md',
    ]);
    expect(await readDocument(m, ...SESSION, 'session_manifest.md')).toMatchInlineSnapshot(`
      "# Session Manifest

      ## Metadata

      - Session ID: s1
      - Project ID: p1
      - User ID: u1
      - Workflow Type: idea_validation
      - Execution Mode: mvp
      - Created: 2024-11-24T10:00:01.000Z
      - Last Updated: 2024-11-24T10:00:02.000Z
      - Status: in_progress
      - Revision: 1

      ## Phase Status

      | Phase | Name              | Status  | Started | Completed | Duration |
      | ----- | ----------------- | ------- | ------- | --------- | -------- |
      | 1     | Concept Expansion | pending | -       | -         | -        |
      | 2     | Market Research   | pending | -       | -         | -        |
      | 3     | Niche Selection   | pending | -       | -         | -        |
      | 6     | Validation        | pending | -       | -         | -        |
      | 7     | Final Synthesis   | pending | -       | -         | -        |

      ## Current Phase

      - Phase: 0
      - Name: Not Started
      - Status: pending
      - Can Resume: true

      ## Metrics

      - Total Duration: 0s
      - Total Tokens: 0
      - Total Cost: $0
      "
    `);
    expect(await readDocument(m, 'p1', 'project.md')).toMatchInlineSnapshot(`
      "# Project: p1

      ## Metadata

      - Project ID: p1
      - Project Name: p1
      - User ID: u1
      - Execution Mode: mvp
      - Status: active
      - Created: 2024-11-24T10:00:00.000Z
      - Updated: 2024-11-24T10:00:00.000Z

      ## Startup Idea

      "
    `);
  });

  it('creates all seven phase folders for a full session', async () => {
    const m = await setup({ mode: 'full' });
    const phases = (await documentTree(m)).filter((path) => /phase_\d_[a-z_]+\/$/.test(path));
    expect(phases).toHaveLength(7);
    expect((await manifestOf(m)).phases.map((row) => row.phase_num)).toStrictEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('returns the existing session unchanged when repeated with the same arguments', async () => {
    const m = await setup();
    const before = await readDocument(m, ...SESSION, 'session_manifest.md');
    const again = await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
    expect(again.phases).toStrictEqual([1, 2, 3, 6, 7]);
    expect(await readDocument(m, ...SESSION, 'session_manifest.md')).toBe(before);
  });

  it('answers CONFLICT when repeated with another mode or user, naming what differs', async () => {
    const m = await setup();
    const mode = await rejected(
      m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'full' }),
    );
    expect(mode.code).toBe('CONFLICT');
    expect(mode.message).toContain('session "s1" already exists in project "p1" with execution_mode "mvp"');
    const user = await rejected(m.checkpoints.createSession({ ...REF, user_id: 'u2' }));
    expect(user).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('user_id "u1"') });
    expect((await manifestOf(m)).revision).toBe(1);
  });

  it('keeps a project.md that already exists', async () => {
    const m = await setup({ create: false });
    await m.projects.createProject({
      user_id: 'u1',
      project_id: 'p1',
      startup_idea: 'Idea',
      project_name: 'Name',
    });
    const before = await readDocument(m, 'p1', 'project.md');
    await m.checkpoints.createSession({ ...REF, user_id: 'u2' });
    expect(await readDocument(m, 'p1', 'project.md')).toBe(before);
  });

  it('rejects identifiers outside the allowed characters as INVALID_ARGUMENT and creates nothing', async () => {
    const m = await setup({ create: false });
    for (const request of [
      { project_id: '../p', session_id: 's1', user_id: 'u1' },
      { project_id: 'p1', session_id: 's..1', user_id: 'u1' },
      { project_id: 'p1', session_id: 's1', user_id: 'u 1' },
      { project_id: 'p1', session_id: '', user_id: 'u1' },
    ]) {
      expect((await rejected(m.checkpoints.createSession(request))).code).toBe('INVALID_ARGUMENT');
    }
    expect(await documentTree(m)).toStrictEqual([]);
  });

  it('answers CORRUPT_FILE for a session whose manifest cannot be read', async () => {
    const m = await setup();
    await editDocument(m, [...SESSION, 'session_manifest.md'], '# Session Manifest\n\nnothing here\n');
    const error = await rejected(m.checkpoints.createSession({ ...REF, user_id: 'u1' }));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toContain('call load_session');
  });
});

describe('saveCheckpoint', () => {
  it('writes checkpoint.md and updates the manifest row, current phase, metrics and revision', async () => {
    const m = await setup();
    const result = await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      started: '2024-11-24T09:00:00Z',
      completed: '2024-11-24T09:02:00.500Z',
      execution_mode: 'parallel',
      agents: [
        {
          agent_name: 'concept_expansion',
          status: 'completed',
          input_tokens: 1200,
          output_tokens: 2300,
          cost: 0.0375,
        },
        { agent_name: 'critic', status: 'failed', tokens: 40, duration: 3.5, output_file: 'critic_notes.md' },
      ],
      errors: ['critic timed out'],
    });
    expect(result).toStrictEqual({ phase_num: 1, status: 'completed', revision: 2 });
    expect(await readDocument(m, ...PHASE_1, 'checkpoint.md')).toMatchInlineSnapshot(`
      "# Phase Checkpoint: Concept Expansion

      ## Metadata

      - Phase Number: 1
      - Phase Name: Concept Expansion
      - Status: completed
      - Started: 2024-11-24T09:00:00Z
      - Completed: 2024-11-24T09:02:00.500Z
      - Duration: 120.5s
      - Retry Count: 0
      - Execution Mode: parallel
      - Updated: 2024-11-24T10:00:03.000Z

      ## Agents in Phase

      - concept_expansion: completed
      - critic: failed

      ## Metrics

      - Total Tokens: 3540
      - Input Tokens: 1200
      - Output Tokens: 2300
      - Cost: $0.0375
      - Agent Execution Times: critic: 3.5s

      ## Agent Ledger

      | Agent             | Output File          | Tokens | Input Tokens | Output Tokens | Cost    | Duration |
      | ----------------- | -------------------- | ------ | ------------ | ------------- | ------- | -------- |
      | concept_expansion | concept_expansion.md | 3500   | 1200         | 2300          | $0.0375 | -        |
      | critic            | critic_notes.md      | 40     | -            | -             | -       | 3.5s     |

      ## Outputs

      - Agent Outputs: concept_expansion.md, critic_notes.md
      - User Feedback: user_feedback.md

      ## Next Phase

      - Phase Number: 2
      - Phase Name: Market Research
      - Ready to Execute: true

      ## Errors

      - critic timed out
      "
    `);
    expect(await readDocument(m, ...SESSION, 'session_manifest.md')).toMatchInlineSnapshot(`
      "# Session Manifest

      ## Metadata

      - Session ID: s1
      - Project ID: p1
      - User ID: u1
      - Workflow Type: idea_validation
      - Execution Mode: mvp
      - Created: 2024-11-24T10:00:01.000Z
      - Last Updated: 2024-11-24T10:00:04.000Z
      - Status: in_progress
      - Revision: 2

      ## Phase Status

      | Phase | Name              | Status    | Started              | Completed                | Duration |
      | ----- | ----------------- | --------- | -------------------- | ------------------------ | -------- |
      | 1     | Concept Expansion | completed | 2024-11-24T09:00:00Z | 2024-11-24T09:02:00.500Z | 120.5s   |
      | 2     | Market Research   | pending   | -                    | -                        | -        |
      | 3     | Niche Selection   | pending   | -                    | -                        | -        |
      | 6     | Validation        | pending   | -                    | -                        | -        |
      | 7     | Final Synthesis   | pending   | -                    | -                        | -        |

      ## Current Phase

      - Phase: 1
      - Name: Concept Expansion
      - Status: completed
      - Can Resume: true

      ## Metrics

      - Total Duration: 120.5s
      - Total Tokens: 3540
      - Total Cost: $0.0375
      "
    `);
  });

  it('keeps the previous version in history/ and carries started and retry count over', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1, { status: 'in_progress', retry_count: 2 }));
    const first = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    const result = await m.checkpoints.saveCheckpoint(checkpointOf(1));
    expect(result.revision).toBe(3);
    expect(await readDocument(m, ...PHASE_1, 'history', 'checkpoint.v1.md')).toBe(first);
    const second = await checkpointFile(m);
    const started = parseCheckpoint(first, 'checkpoint.md').started;
    expect(second).toMatchObject({ status: 'completed', retry_count: 2, started });
  });

  it('marks the session completed once every phase of the mode is completed or skipped', async () => {
    const m = await setup();
    for (const phase_num of [1, 2, 3, 6]) await m.checkpoints.saveCheckpoint(checkpointOf(phase_num));
    expect((await manifestOf(m)).status).toBe('in_progress');
    await m.checkpoints.saveCheckpoint(checkpointOf(7, { status: 'skipped', agents: [] }));
    const manifest = await manifestOf(m);
    expect(manifest.status).toBe('completed');
    expect(manifest.current_phase).toStrictEqual({
      phase: 7,
      name: 'Final Synthesis',
      status: 'skipped',
      can_resume: false,
    });
    expect(manifest.metrics).toStrictEqual({ total_duration: 0, total_tokens: 400, total_cost: '2' });
    const state = await m.checkpoints.loadSession(REF);
    expect(state).toMatchObject({ status: 'completed', can_resume: false, completed_phases: [1, 2, 3, 6] });
    expect(state).not.toHaveProperty('next_phase');
  });

  it('stores the default output file name as left out, so the file reads back as saved', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(
      checkpointOf(1, { agents: [{ agent_name: 'writer', status: 'completed', output_file: 'writer.md' }] }),
    );
    expect((await checkpointFile(m)).agents).toStrictEqual([{ agent_name: 'writer', status: 'completed' }]);
  });

  it('replaces an unreadable checkpoint of the same phase, keeping it in history/', async () => {
    const m = await setup();
    await editDocument(m, [...PHASE_1, 'checkpoint.md'], 'scribbled over\n');
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    expect(await readDocument(m, ...PHASE_1, 'history', 'checkpoint.v1.md')).toBe('scribbled over\n');
    expect((await checkpointFile(m)).status).toBe('completed');
  });

  it('answers PHASE_NOT_IN_MODE for a phase outside the mode and creates no folder', async () => {
    const m = await setup();
    const before = await documentTree(m);
    const error = await rejected(m.checkpoints.saveCheckpoint(checkpointOf(4)));
    expect(error.code).toBe('PHASE_NOT_IN_MODE');
    expect(error.message).toBe(
      'phase_num 4 (Product Strategy) is not part of this idea_validation session (mode mvp); its phases are 1, 2, 3, 6, 7',
    );
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers PHASE_NOT_IN_MODE for a phase number no built-in phase has and creates no folder', async () => {
    const m = await setup();
    const before = await documentTree(m);
    const error = await rejected(m.checkpoints.saveCheckpoint(checkpointOf(8)));
    expect(error.code).toBe('PHASE_NOT_IN_MODE');
    expect(error.message).toBe(
      'phase_num 8 is not part of this idea_validation session (mode mvp); its phases are 1, 2, 3, 6, 7',
    );
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it.each<[string, Partial<SaveCheckpointRequest>, string]>([
    [
      'a phase number that is no phase',
      { phase_num: 100 },
      'phase_num 100 is not a phase number; use a whole number from 1 to 99',
    ],
    [
      'a fractional phase number',
      { phase_num: 2.5 },
      'phase_num 2.5 is not a phase number; use a whole number from 1 to 99',
    ],
    [
      'negative tokens',
      { agents: [{ agent_name: 'a', status: 'completed', tokens: -1 }] },
      'agents[0].tokens must be a non-negative whole number',
    ],
    [
      'a cost that is NaN',
      { agents: [{ agent_name: 'a', status: 'completed', cost: Number.NaN }] },
      'agents[0].cost must be a finite number of US dollars >= 0, got NaN',
    ],
    [
      'a negative cost',
      { agents: [{ agent_name: 'a', status: 'completed', cost: -0.01 }] },
      'agents[0].cost must be a finite number of US dollars >= 0, got -0.01',
    ],
    [
      'an infinite cost',
      { agents: [{ agent_name: 'a', status: 'completed', cost: Number.POSITIVE_INFINITY }] },
      'agents[0].cost must be a finite number of US dollars >= 0, got Infinity',
    ],
    [
      'a cost of eleven decimal places',
      { agents: [{ agent_name: 'a', status: 'completed', cost: 0.00000000001 }] },
      'agents[0].cost 0.00000000001 has 11 decimal places; send at most 10',
    ],
    ['an infinite duration', { duration: Number.POSITIVE_INFINITY }, 'duration must be a finite number >= 0'],
    [
      'two agents whose names differ only in letter case',
      {
        agents: [
          { agent_name: 'Writer', status: 'completed' },
          { agent_name: 'writer', status: 'completed' },
        ],
      },
      'agents[1].agent_name "writer" repeats "Writer"',
    ],
    [
      'an agent named checkpoint',
      { agents: [{ agent_name: 'Checkpoint', status: 'completed' }] },
      'agent_name "Checkpoint" must not be one of checkpoint',
    ],
    [
      'an output file that is not markdown',
      { agents: [{ agent_name: 'a', status: 'completed', output_file: 'a.txt' }] },
      'agents[0].output_file "a.txt" must be an agent output file name ending with ".md"',
    ],
    ['a start that is not a timestamp', { started: 'this morning' }, 'started must be an RFC 3339 timestamp'],
    [
      'a completion on a day that does not exist',
      { completed: '2024-02-30T10:00:00Z' },
      'completed must be an RFC 3339',
    ],
    [
      'a completion before the start',
      { started: '2024-11-24T10:00:00Z', completed: '2024-11-24T09:00:00Z' },
      'completed (2024-11-24T09:00:00Z) is before started (2024-11-24T10:00:00Z)',
    ],
    ['an error of two lines', { errors: ['first\nsecond'] }, 'errors[0] must be a single line'],
    ['an error that is "-"', { errors: [' - '] }, 'errors[0] must not be empty or "-"'],
  ])('rejects %s as INVALID_ARGUMENT and writes nothing', async (_name, overrides, message) => {
    const m = await setup();
    const before = await documentTree(m);
    const error = await rejected(m.checkpoints.saveCheckpoint(checkpointOf(1, overrides)));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(message);
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers NOT_FOUND for an unknown project or session, saying what to call', async () => {
    const m = await setup();
    expect(
      await rejected(m.checkpoints.saveCheckpoint({ ...checkpointOf(1), project_id: 'nope' })),
    ).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/^project "nope" not found; call list_projects/),
    });
    expect(
      await rejected(m.checkpoints.saveCheckpoint({ ...checkpointOf(1), session_id: 's9' })),
    ).toMatchObject({
      code: 'NOT_FOUND',
      message: 'session "s9" not found in project "p1"; call list_sessions or create_session',
    });
    expect(await documentTree(m)).not.toContain('p1/sessions/s9/');
  });

  it('answers LIMIT_EXCEEDED for more agents or errors than allowed, before writing', async () => {
    const m = await setup({ limits: { maxAgents: 2, maxErrors: 1 } });
    const before = await documentTree(m);
    const agents = ['a', 'b', 'c'].map((agent_name) => ({ agent_name, status: 'completed' as const }));
    expect(await rejected(m.checkpoints.saveCheckpoint(checkpointOf(1, { agents })))).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: 'agents has 3 items, over the limit of 2',
    });
    const errors = ['one', 'two'];
    expect((await rejected(m.checkpoints.saveCheckpoint(checkpointOf(1, { errors })))).code).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers LIMIT_EXCEEDED when the session token total would pass 2^53 - 1, before writing', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(
      checkpointOf(1, {
        agents: [{ agent_name: 'a', status: 'completed', tokens: Number.MAX_SAFE_INTEGER }],
      }),
    );
    const before = await documentTree(m);
    const error = await rejected(
      m.checkpoints.saveCheckpoint(
        checkpointOf(2, { agents: [{ agent_name: 'b', status: 'completed', tokens: 1 }] }),
      ),
    );
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.message).toContain(
      'total tokens of the session (9007199254740992) are over 9007199254740991',
    );
    expect(await documentTree(m)).toStrictEqual(before);
    expect((await manifestOf(m)).metrics.total_tokens).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("answers LIMIT_EXCEEDED naming the checkpoint's own duration when the phases' durations add up past any number", async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1, { agents: [], duration: 1e308 }));
    const before = await documentTree(m);
    const error = await rejected(
      m.checkpoints.saveCheckpoint(checkpointOf(2, { agents: [], duration: 1e308 })),
    );
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.message).toBe(
      "total duration of the session (the phases' durations added up) is not a finite number; check this checkpoint's duration",
    );
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers CORRUPT_FILE naming another phase whose checkpoint cannot be read, before writing', async () => {
    const m = await setup();
    await editDocument(m, [...SESSION, 'phase_3_niche_selection', 'checkpoint.md'], '# Phase Checkpoint\n');
    const before = await documentTree(m);
    const error = await rejected(m.checkpoints.saveCheckpoint(checkpointOf(1)));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toMatch(
      /^p1\/sessions\/s1\/phase_3_niche_selection\/checkpoint\.md:1: missing section/,
    );
    expect(await documentTree(m)).toStrictEqual(before);
  });
});

describe('saveAgentOutput', () => {
  // A save trusts the phases it read last if the manifest has not changed since, which the write itself
  // checks; a manifest changed by another process or by hand sends it back to read the phases again.
  it('saves once, in the right phase, after another process rewrote the manifest since its last save', async () => {
    const stale: unknown[] = [];
    const m = await managersReplacing(
      'write',
      (target) =>
        (...args) =>
          target.write(...args).catch((error: unknown) => {
            stale.push(error);
            throw error;
          }),
    );
    await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
    const save = (content: string) =>
      m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: content });
    await save('first\n');
    const other = managersOn(await m.reopen(), { clock: steppingClock(Date.parse('2024-11-25T00:00:00Z')) });
    await other.checkpoints.saveCheckpoint(checkpointOf(1, { status: 'in_progress' }));
    const result = await save('second\n');
    expect(result.file).toBe('p1/sessions/s1/phase_1_concept/writer.md');
    // The remembered phases were refused once by the write, then read again.
    expect(stale.map((error) => (error as Error).constructor.name)).toStrictEqual(['StaleStampError']);
    expect((await readDocument(m, ...PHASE_1, 'writer.md')).endsWith('## Output\n\nsecond\n')).toBe(true);
    expect(await m.store.history([...PHASE_1, 'writer.md'])).toHaveLength(1);
    // Unchanged since: the next save writes at once.
    await save('third\n');
    expect(stale).toHaveLength(1);
  });

  it('after its own save_checkpoint, trusts the phases under the manifest it wrote without reading it', async () => {
    const read: string[] = [];
    const m = await managersReplacing(
      'parsed',
      (target) =>
        new Proxy(target.parsed, {
          get(cache, name, receiver) {
            if (name !== 'read') return Reflect.get(cache, name, receiver);
            return (rel: RelPath, parse: Parameters<typeof cache.read>[1]) => {
              read.push(rel.join('/'));
              return cache.read(rel, parse);
            };
          },
        }),
    );
    await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
    read.length = 0;
    await m.checkpoints.saveCheckpoint(checkpointOf(1, { status: 'in_progress' }));
    // save_checkpoint read the manifest once, under the lock, and rewrote it from that read.
    expect(read.filter((path) => path.endsWith('session_manifest.md'))).toStrictEqual([
      'p1/sessions/s1/session_manifest.md',
    ]);
    read.length = 0;
    const saved = await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      output_content: 'after the checkpoint\n',
    });
    expect(saved.file).toBe('p1/sessions/s1/phase_1_concept/writer.md');
    expect(read).toStrictEqual([]);
    expect(await m.store.read([...PHASE_1, 'writer.md'])).toMatch(/## Output\n\nafter the checkpoint\n$/);
  });

  it('save_checkpoint and save_user_feedback find the session by taking its lock, with no look of their own', async () => {
    const looked: string[] = [];
    const m = await managersReplacing('exists', (target) => async (rel) => {
      looked.push(rel.join('/'));
      return target.exists(rel);
    });
    await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
    looked.length = 0;
    await m.checkpoints.saveCheckpoint(checkpointOf(1, { status: 'completed' }));
    await m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true });
    expect(looked).toStrictEqual([]);
    // A session that is not there is still NOT_FOUND, naming the session, and nothing is made for it.
    const missing = await rejected(m.checkpoints.saveCheckpoint({ ...checkpointOf(1), session_id: 'gone' }));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toContain('session "gone" not found in project "p1"');
    expect(await m.store.exists(['p1', 'sessions', 'gone'])).toBe(false);
  });

  it('refuses a phase outside the session by the manifest as it stands, not as it was remembered', async () => {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'x' });
    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    await editDocument(
      m,
      [...SESSION, 'session_manifest.md'],
      manifest.replace('- Execution Mode: mvp', '- Execution Mode: full'),
    );
    const error = await rejected(
      m.checkpoints.saveAgentOutput({ ...REF, phase_num: 4, agent_name: 'writer', output_content: 'y' }),
    );
    expect(error.code).toBe('PHASE_NOT_IN_MODE');
    // The mode named is the edited one: the phases were read again before the answer.
    expect(error.message).toContain('(mode full); its phases are 1, 2, 3, 6, 7');
  });

  it('writes {agent}.md with metadata and the exact content, returning its path and SHA-256', async () => {
    const m = await setup();
    const content = '# Concept\r\n\r\nMeal planning for busy parents.  \n';
    const result = await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'concept_expansion',
      output_content: content,
      duration: 118.25,
      model: 'claude-sonnet-4-5',
      input_tokens: 1200,
      output_tokens: 2300,
      tools_used: ['web_search'],
    });
    expect(result).toStrictEqual({
      phase_num: 1,
      agent_name: 'concept_expansion',
      file: 'p1/sessions/s1/phase_1_concept/concept_expansion.md',
      sha256: sha256(content),
    });
    const text = await readDocument(m, ...PHASE_1, 'concept_expansion.md');
    expect(text.endsWith(`## Output\n\n${content}`)).toBe(true);
    expect(text).toMatchInlineSnapshot(`
      "# Agent Output: concept_expansion

      ## Metadata

      - Agent: concept_expansion
      - Phase: 1 - Concept Expansion
      - Executed: 2024-11-24T10:00:03.000Z
      - Duration: 118.25s
      - Status: completed

      ## Execution Details

      - Model: claude-sonnet-4-5
      - Input Tokens: 1200
      - Output Tokens: 2300
      - Tools Used: \\[web_search]
      - Content SHA-256: 8d215750dd9222d32fe92a77f55b7b720748cac525f0d37affa56546ab9b1a0f

      ## Output

      # Concept

      Meal planning for busy parents.  
      "
    `);
  });

  it('writes a failed agent with its error and normalised stack trace', async () => {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 2,
      agent_name: 'researcher',
      output_content: '',
      status: 'failed',
      error_type: 'RateLimitError',
      error_message: '  429 from the search API  ',
      stack_trace: '\r\nRateLimitError: 429   \r\n    at search (search.js:3:9)\r\n\r\n',
    });
    const page = await m.checkpoints.getAgentOutput({ ...REF, phase_num: 2, agent_name: 'researcher' });
    expect(page).toMatchObject({ status: 'failed', content: '', total_chars: 0 });
    expect(
      await readDocument(m, ...SESSION, 'phase_2_market_research', 'researcher.md'),
    ).toMatchInlineSnapshot(`
      "# Agent Output: researcher

      ## Metadata

      - Agent: researcher
      - Phase: 2 - Market Research
      - Executed: 2024-11-24T10:00:03.000Z
      - Duration: -
      - Status: failed

      ## Execution Details

      - Model: -
      - Input Tokens: -
      - Output Tokens: -
      - Tools Used: none
      - Content SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

      ## Error Details

      - Error Type: RateLimitError
      - Error Message: 429 from the search API

      <!---->

          RateLimitError: 429
              at search (search.js:3:9)

      ## Output

      "
    `);
  });

  it('keeps the replaced output in history/ and leaves the manifest untouched', async () => {
    const m = await setup();
    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    const save = (output_content: string) =>
      m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content });
    await save('first');
    const first = await readDocument(m, ...PHASE_1, 'writer.md');
    await save('second');
    expect(await readDocument(m, ...PHASE_1, 'history', 'writer.v1.md')).toBe(first);
    expect(await readDocument(m, ...SESSION, 'session_manifest.md')).toBe(manifest);
  });

  it.each([
    [
      'an agent named like the checkpoint',
      { agent_name: 'checkpoint' },
      'agent_name "checkpoint" must not be one of',
    ],
    ['an agent named like the review', { agent_name: 'User_Feedback' }, 'must not be one of'],
    ['an agent named history', { agent_name: 'HISTORY' }, 'must not be one of'],
    ['an agent name with a path', { agent_name: '../writer' }, 'agent_name "../writer" must be'],
    ['a model of two lines', { model: 'a\nb' }, 'model must be a single line'],
    ['a model that is "-"', { model: '-' }, 'model must not be empty or "-"'],
    ['a tool with a comma', { tools_used: ['a,b'] }, 'tools_used[0] "a,b" must not contain'],
    [
      'content with a lone surrogate',
      { output_content: 'a\uD800b' },
      'output_content contains a lone UTF-16 surrogate',
    ],
    ['a negative duration', { duration: -1 }, 'duration must be a finite number >= 0'],
    ['fractional tokens', { input_tokens: 1.5 }, 'input_tokens must be a non-negative whole number'],
  ])('rejects %s as INVALID_ARGUMENT and writes nothing', async (_name, overrides, message) => {
    const m = await setup();
    const before = await documentTree(m);
    const error = await rejected(
      m.checkpoints.saveAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        output_content: 'x',
        ...overrides,
      }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(message);
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers CONFLICT for a name that differs only in letter case from an output in the phase', async () => {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'Writer', output_content: 'x' });
    const error = await rejected(
      m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'y' }),
    );
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain(
      'agent_name "writer" differs only in letter case from the existing Writer.md',
    );
    expect(await documentTree(m)).not.toContain('p1/sessions/s1/phase_1_concept/writer.md');
  });

  it('answers PHASE_NOT_IN_MODE and NOT_FOUND before writing', async () => {
    const m = await setup();
    const before = await documentTree(m);
    const save = (overrides: object) =>
      m.checkpoints.saveAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'w',
        output_content: 'x',
        ...overrides,
      });
    expect((await rejected(save({ phase_num: 5 }))).code).toBe('PHASE_NOT_IN_MODE');
    expect((await rejected(save({ session_id: 'other' }))).code).toBe('NOT_FOUND');
    expect((await rejected(save({ project_id: 'other' }))).code).toBe('NOT_FOUND');
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers LIMIT_EXCEEDED for content over the byte limit, before writing', async () => {
    const m = await setup({ limits: { maxContentBytes: 8 } });
    const before = await documentTree(m);
    const save = (output_content: string) =>
      m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'w', output_content });
    expect(await rejected(save('ééééé'))).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message:
        'output_content is 10 bytes of UTF-8, over the limit of 8; nothing was saved. Shorten or summarise the output and call again, or have the server started with a larger --max-content-bytes',
    });
    expect(await documentTree(m)).toStrictEqual(before);
    await save('éééé');
    expect(await documentTree(m)).toContain('p1/sessions/s1/phase_1_concept/w.md');
  });
});

describe('saveUserFeedback', () => {
  it('writes user_feedback.md, leaves the status alone for approved, and counts a manifest revision', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    const checkpoint = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    const result = await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: true,
      comments: 'Good work.\n',
    });
    expect(result).toStrictEqual({ phase_num: 1, action: 'approved', phase_status: 'completed' });
    expect(await readDocument(m, ...PHASE_1, 'user_feedback.md')).toMatchInlineSnapshot(`
      "# User Feedback: Concept Expansion

      ## Review Status

      - Reviewed: true
      - Approved: true
      - Timestamp: 2024-11-24T10:00:05.000Z

      ## Requested Changes

      - No changes requested

      ## Action Taken

      - Action: approved
      - Retry Count: 0

      ## User Comments

      Good work.
      "
    `);
    expect(await readDocument(m, ...PHASE_1, 'checkpoint.md')).toBe(checkpoint);
    expect((await manifestOf(m)).revision).toBe(3);
  });

  it('sets requires_retry for retry_with_changes, counting the retry in the checkpoint and the review', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    const result = await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: ['Narrow the audience', 'Add pricing'],
    });
    expect(result).toStrictEqual({
      phase_num: 1,
      action: 'retry_with_changes',
      phase_status: 'requires_retry',
    });
    expect(await checkpointFile(m)).toMatchObject({ status: 'requires_retry', retry_count: 1 });
    const review = await readDocument(m, ...PHASE_1, 'user_feedback.md');
    expect(review).toContain('- Change 1: Narrow the audience\n- Change 2: Add pricing\n');
    expect(review).toContain('- Action: retry_with_changes\n- Retry Count: 1\n');
    expect(await readDocument(m, ...PHASE_1, 'history', 'checkpoint.v1.md')).toContain('- Status: completed');
    expect((await manifestOf(m)).phases[0]?.status).toBe('requires_retry');
  });

  it('creates a skipped checkpoint for skip_phase on a phase never checkpointed', async () => {
    const m = await setup();
    const result = await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 2,
      reviewed: true,
      approved: false,
      action: 'skip_phase',
    });
    expect(result.phase_status).toBe('skipped');
    expect(await checkpointFile(m, 'phase_2_market_research')).toMatchObject({
      phase_num: 2,
      status: 'skipped',
      agents: [],
      next_phase: 3,
    });
    expect((await m.checkpoints.loadSession(REF)).phase_statuses['2']).toBe('skipped');
  });

  it('answers pending and writes no checkpoint when approving a phase never checkpointed', async () => {
    const m = await setup();
    const result = await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 3,
      reviewed: true,
      approved: true,
    });
    expect(result.phase_status).toBe('pending');
    const files = await documentTree(m);
    expect(files).toContain('p1/sessions/s1/phase_3_niche_selection/user_feedback.md');
    expect(files).not.toContain('p1/sessions/s1/phase_3_niche_selection/checkpoint.md');
  });

  it('rejects contradictions, multi-line changes and lone surrogates as INVALID_ARGUMENT', async () => {
    const m = await setup();
    const before = await documentTree(m);
    const base = { ...REF, phase_num: 1, reviewed: true, approved: false };
    const retryApproved = await rejected(
      m.checkpoints.saveUserFeedback({ ...base, approved: true, action: 'retry_with_changes' }),
    );
    expect(retryApproved.message).toContain('approved is true but action is retry_with_changes');
    const twoLines = await rejected(
      m.checkpoints.saveUserFeedback({ ...base, requested_changes: ['a\r\nb'] }),
    );
    expect(twoLines.message).toContain('requested_changes[0] must be a single line');
    const surrogate = await rejected(m.checkpoints.saveUserFeedback({ ...base, comments: '\uDC00' }));
    expect(surrogate.message).toContain('comments contains a lone UTF-16 surrogate');
    for (const error of [retryApproved, twoLines, surrogate]) expect(error.code).toBe('INVALID_ARGUMENT');
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers LIMIT_EXCEEDED for long comments or too many changes, before writing', async () => {
    const m = await setup({ limits: { maxTextBytes: 4, maxRequestedChanges: 1 } });
    const before = await documentTree(m);
    const base = { ...REF, phase_num: 1, reviewed: true, approved: false };
    expect((await rejected(m.checkpoints.saveUserFeedback({ ...base, comments: '12345' }))).code).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(
      (await rejected(m.checkpoints.saveUserFeedback({ ...base, requested_changes: ['a', 'b'] }))).code,
    ).toBe('LIMIT_EXCEEDED');
    expect(await documentTree(m)).toStrictEqual(before);
  });

  it('answers PHASE_NOT_IN_MODE, NOT_FOUND, and CORRUPT_FILE for an unreadable checkpoint, before writing', async () => {
    const m = await setup();
    await editDocument(m, [...PHASE_1, 'checkpoint.md'], '## Metadata\n- Phase Number: one\n');
    const before = await documentTree(m);
    const review = (overrides: object) =>
      m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true, ...overrides });
    expect((await rejected(review({ phase_num: 4 }))).code).toBe('PHASE_NOT_IN_MODE');
    expect((await rejected(review({ session_id: 'other' }))).code).toBe('NOT_FOUND');
    expect(await rejected(review({}))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^p1\/sessions\/s1\/phase_1_concept\/checkpoint\.md:2: "Phase Number" is "one"/,
      ),
    });
    expect((await rejected(review({ phase_num: 2 }))).code).toBe('CORRUPT_FILE');
    expect(await documentTree(m)).toStrictEqual(before);
  });
});

describe('loadSession', () => {
  it('returns the session as its checkpoints say', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1, { duration: 120.5 }));
    await m.checkpoints.saveCheckpoint(checkpointOf(2, { status: 'in_progress', agents: [] }));
    expect(await m.checkpoints.loadSession(REF)).toStrictEqual({
      session_id: 's1',
      project_id: 'p1',
      user_id: 'u1',
      workflow_type: 'idea_validation',
      execution_mode: 'mvp',
      created: '2024-11-24T10:00:01.000Z',
      // Phase 2 begins with this save: its Started takes a tick of the stepping clock before Updated.
      last_updated: '2024-11-24T10:00:07.000Z',
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
      metrics: { total_duration: 120.5, total_tokens: 100, total_cost: 0.5 },
      revision: 3,
    });
  });

  it('rebuilds a deleted manifest from the checkpoints', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    await removeDocument(m, ...SESSION, 'session_manifest.md');
    const state = await m.checkpoints.loadSession(REF);
    expect(state).toMatchObject({ user_id: 'u1', completed_phases: [1], revision: 1 });
    expect((await manifestOf(m)).phases[0]?.status).toBe('completed');
  });

  it('rebuilds a deleted manifest as mvp when project.md names, by hand, a mode that is no own mode', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    const project = await readDocument(m, 'p1', 'project.md');
    // Every object answers to "constructor": it must not pass for a built-in mode.
    await editDocument(
      m,
      ['p1', 'project.md'],
      project.replace('- Execution Mode: mvp', '- Execution Mode: constructor'),
    );
    await removeDocument(m, ...SESSION, 'session_manifest.md');
    const state = await m.checkpoints.loadSession(REF);
    expect(state).toMatchObject({ execution_mode: 'mvp', completed_phases: [1], revision: 1 });
    expect((await manifestOf(m)).phases.map((row) => row.phase_num)).toStrictEqual([1, 2, 3, 6, 7]);
  });

  it('rebuilds a manifest whose Status and Metrics were edited by hand, one revision up', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    const path = [...SESSION, 'session_manifest.md'];
    const edited = (await readDocument(m, ...SESSION, 'session_manifest.md'))
      .replace('- Status: in_progress', '- Status: completed')
      .replace('- Total Tokens: 100', '- Total Tokens: 5');
    await editDocument(m, path, edited);
    const state = await m.checkpoints.loadSession(REF);
    expect(state).toMatchObject({ status: 'in_progress', revision: 3, metrics: { total_tokens: 100 } });
    expect(await manifestOf(m)).toMatchObject({ status: 'in_progress', revision: 3 });
  });

  it('keeps in history/ the manifest a deleted checkpoint made stale, when the load rebuilds it', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    expect(await manifestVersions(m)).toStrictEqual([]);
    await removeDocument(m, ...PHASE_1, 'checkpoint.md');
    const state = await m.checkpoints.loadSession(REF);
    expect(state).toMatchObject({ completed_phases: [], revision: 3 });
    const [kept] = await manifestVersions(m);
    // What the manifest said of the phase before the checkpoint went: the only record of it left.
    expect(kept?.phases[0]).toMatchObject({ phase_num: 1, status: 'completed' });
    expect(kept).toMatchObject({ revision: 2, metrics: { total_tokens: 100 } });
    // Loaded again, the manifest agrees: nothing more is kept.
    await m.checkpoints.loadSession(REF);
    expect(await manifestVersions(m)).toHaveLength(1);
  });

  it('keeps in history/ a stale manifest that a save_checkpoint or save_user_feedback replaces, and no true one', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    await m.checkpoints.saveCheckpoint(checkpointOf(2, { status: 'in_progress' }));
    await m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true });
    expect(await manifestVersions(m)).toStrictEqual([]);
    await removeDocument(m, ...PHASE_1, 'checkpoint.md');
    // No load in between: the save itself finds the manifest saying phase 1 completed.
    await m.checkpoints.saveCheckpoint(checkpointOf(2));
    const afterCheckpoint = await manifestVersions(m);
    expect(afterCheckpoint.map((kept) => kept.phases[0]?.status)).toStrictEqual(['completed']);
    expect((await manifestOf(m)).phases[0]?.status).toBe('pending');
    await removeDocument(m, ...SESSION, 'phase_2_market_research', 'checkpoint.md');
    await m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true });
    const afterReview = await manifestVersions(m);
    // The first kept was written before phase 2 was saved completed; the second says it was.
    expect(afterReview.map((kept) => kept.phases[1]?.status)).toStrictEqual(['in_progress', 'completed']);
  });

  it('keeps an unreadable manifest in history/ as it was when the load rebuilds it', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    const broken = '# Session Manifest\n\nmistyped by hand\n';
    await editDocument(m, [...SESSION, 'session_manifest.md'], broken);
    expect(await m.checkpoints.loadSession(REF)).toMatchObject({ completed_phases: [1] });
    const [version] = await m.store.history([...SESSION, 'session_manifest.md']);
    expect(
      await m.store.read(m.store.historyFile([...SESSION, 'session_manifest.md'], version?.version ?? 0)),
    ).toBe(broken);
  });

  it('answers NOT_FOUND, INVALID_ARGUMENT and CORRUPT_FILE', async () => {
    const m = await setup();
    expect((await rejected(m.checkpoints.loadSession({ ...REF, session_id: 'none' }))).code).toBe(
      'NOT_FOUND',
    );
    expect((await rejected(m.checkpoints.loadSession({ ...REF, project_id: 'none' }))).code).toBe(
      'NOT_FOUND',
    );
    expect((await rejected(m.checkpoints.loadSession({ ...REF, session_id: '.hidden' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    await editDocument(m, [...PHASE_1, 'checkpoint.md'], '# Phase Checkpoint: x\n\n## Metadata\n');
    expect(await rejected(m.checkpoints.loadSession(REF))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining('p1/sessions/s1/phase_1_concept/checkpoint.md:3:'),
    });
  });
});

describe('getPhaseOutputs', () => {
  async function withOutputs(): Promise<Managers> {
    const m = await setup();
    const save = (phase_num: number, agent_name: string, output_content: string) =>
      m.checkpoints.saveAgentOutput({ ...REF, phase_num, agent_name, output_content });
    await save(1, 'zeta', 'z1');
    await save(1, 'alpha', 'a1');
    await save(1, 'Beta', 'b1');
    await save(2, 'alpha', 'a2');
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    return m;
  }

  it('reads the completed phases by default, agents in name order', async () => {
    const m = await withOutputs();
    const result = await m.checkpoints.getPhaseOutputs(REF);
    expect(result).toStrictEqual({
      outputs: { '1': { Beta: 'b1', alpha: 'a1', zeta: 'z1' } },
      truncated: [],
    });
    expect(Object.keys(result.outputs['1'] ?? {})).toStrictEqual(['Beta', 'alpha', 'zeta']);
  });

  it('reads the phases asked for, including ones with no outputs', async () => {
    const m = await withOutputs();
    expect(await m.checkpoints.getPhaseOutputs({ ...REF, phase_nums: [3, 2, 2] })).toStrictEqual({
      outputs: { '2': { alpha: 'a2' }, '3': {} },
      truncated: [],
    });
  });

  it('counts only agent outputs: not the checkpoint, the review, history or stray notes', async () => {
    const m = await withOutputs();
    await m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true });
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'alpha',
      output_content: 'a1 again',
    });
    await editDocument(m, [...PHASE_1, 'notes.md'], '# My notes\n');
    await editDocument(m, [...PHASE_1, 'draft.txt'], 'x');
    const result = await m.checkpoints.getPhaseOutputs({ ...REF, phase_nums: [1] });
    expect(result.outputs['1']).toStrictEqual({ Beta: 'b1', alpha: 'a1 again', zeta: 'z1' });
  });

  it('reads an output an editor saved with a byte order mark, as it reads every other document', async () => {
    const m = await withOutputs();
    const text = await readDocument(m, ...PHASE_1, 'zeta.md');
    await editDocument(m, [...PHASE_1, 'zeta.md'], `\uFEFF${text.replace(/z1$/, 'z1 edited')}`);
    const result = await m.checkpoints.getPhaseOutputs({ ...REF, phase_nums: [1] });
    expect(result.outputs['1']).toStrictEqual({ Beta: 'b1', alpha: 'a1', zeta: 'z1 edited' });
    const resume = await m.checkpoints.resumeSession(REF);
    expect(resume.prior_outputs.map((output) => output.agent_name)).toContain('zeta');
  });

  it('cuts the largest outputs to the response budget and lists them as truncated', async () => {
    const m = await setup({ limits: { maxResponseBytes: 30 } });
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'big',
      output_content: 'b'.repeat(50),
    });
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'small',
      output_content: 'small',
    });
    const result = await m.checkpoints.getPhaseOutputs({ ...REF, phase_nums: [1] });
    expect(result).toStrictEqual({
      outputs: { '1': { big: 'b'.repeat(25), small: 'small' } },
      truncated: [{ phase_num: 1, agent_name: 'big', total_chars: 50 }],
    });
  });

  it('answers INVALID_ARGUMENT, PHASE_NOT_IN_MODE, NOT_FOUND and CORRUPT_FILE', async () => {
    const m = await withOutputs();
    expect(await rejected(m.checkpoints.getPhaseOutputs({ ...REF, phase_nums: [100] }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(
        'phase_num 100 is not a phase number; use a whole number from 1 to 99',
      ),
    });
    expect(await rejected(m.checkpoints.getPhaseOutputs({ ...REF, phase_nums: [9] }))).toMatchObject({
      code: 'PHASE_NOT_IN_MODE',
      message:
        'phase_num 9 is not part of this idea_validation session (mode mvp); its phases are 1, 2, 3, 6, 7',
    });
    expect((await rejected(m.checkpoints.getPhaseOutputs({ ...REF, phase_nums: [1, 5] }))).code).toBe(
      'PHASE_NOT_IN_MODE',
    );
    expect((await rejected(m.checkpoints.getPhaseOutputs({ ...REF, session_id: 'x' }))).code).toBe(
      'NOT_FOUND',
    );
    await editDocument(m, [...PHASE_1, 'alpha.md'], '# Agent Output: alpha\n\n## Metadata\n');
    expect(await rejected(m.checkpoints.getPhaseOutputs(REF))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining(
        'p1/sessions/s1/phase_1_concept/alpha.md:1: missing section "## Output"',
      ),
    });
  });
});

describe('getAgentOutput', () => {
  const content = `${'abc😀'.repeat(30)}tail`;

  async function withOutput(limits: Partial<Limits> = {}): Promise<Managers> {
    const m = await setup({ limits });
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      output_content: content,
      model: 'm1',
      input_tokens: 3,
    });
    return m;
  }

  it('returns pages that, joined in order, give the exact content; the last has no next_offset', async () => {
    const m = await withOutput();
    const pages: string[] = [];
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const page = await m.checkpoints.getAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        offset,
        max_chars: 7,
      });
      expect(page.offset).toBe(offset);
      expect(page.total_chars).toBe(content.length);
      expect(page.content.length).toBeLessThanOrEqual(7);
      pages.push(page.content);
      offset = page.next_offset;
    }
    expect(pages.join('')).toBe(content);
    expect(pages.length).toBeGreaterThan(20);
  });

  it('returns the metadata with the first page', async () => {
    const m = await withOutput();
    expect(await m.checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer' })).toStrictEqual({
      agent_name: 'writer',
      phase_num: 1,
      status: 'completed',
      model: 'm1',
      input_tokens: 3,
      executed: '2024-11-24T10:00:03.000Z',
      content,
      offset: 0,
      total_chars: content.length,
      version: 1,
    });
  });

  it('caps a page at the response budget whatever max_chars asks', async () => {
    const m = await withOutput({ maxResponseBytes: 12 });
    const page = await m.checkpoints.getAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      max_chars: 1000,
    });
    expect(page.content).toBe('abc😀abc');
    expect(page.next_offset).toBe(8);
  });

  it('reads an earlier version from history', async () => {
    const m = await withOutput();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'v2' });
    const ref = { ...REF, phase_num: 1, agent_name: 'writer' };
    expect(await m.checkpoints.getAgentOutput({ ...ref, version: 1 })).toMatchObject({ content, version: 1 });
    expect(await m.checkpoints.getAgentOutput(ref)).toMatchObject({ content: 'v2', version: 2 });
  });

  it.each([
    [
      'an offset inside a surrogate pair',
      { offset: 4 },
      'offset 4 falls inside a surrogate pair; use 3 or 5',
    ],
    ['an offset past the end', { offset: 1000 }, 'offset 1000 is past the end of the content'],
    ['a negative offset', { offset: -1 }, 'offset must be a non-negative whole number'],
    ['a fractional offset', { offset: 0.5 }, 'offset must be a non-negative whole number'],
    ['max_chars of zero', { max_chars: 0 }, 'max_chars must be a whole number >= 1'],
    ['version zero', { version: 0 }, 'version must be a whole number >= 1'],
    ['a reserved agent name', { agent_name: 'checkpoint' }, 'must not be one of'],
  ])('rejects %s as INVALID_ARGUMENT', async (_name, overrides, message) => {
    const m = await withOutput();
    const error = await rejected(
      m.checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', ...overrides }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(message);
  });

  it('answers CORRUPT_FILE naming an output file that cannot be read', async () => {
    const m = await withOutput();
    const text = await readDocument(m, ...PHASE_1, 'writer.md');
    await editDocument(m, [...PHASE_1, 'writer.md'], text.replace('- Status: completed', '- Status: done'));
    const error = await rejected(
      m.checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer' }),
    );
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toMatch(/^p1\/sessions\/s1\/phase_1_concept\/writer\.md:9: "Status" is "done"/);
  });

  it('answers NOT_FOUND for an unknown agent or version, and PHASE_NOT_IN_MODE', async () => {
    const m = await withOutput();
    const get = (overrides: object) =>
      m.checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', ...overrides });
    expect(await rejected(get({ agent_name: 'reader' }))).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('no output of agent "reader" in phase 1 of session "s1"'),
    });
    expect(await rejected(get({ version: 3 }))).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('call list_history'),
    });
    expect((await rejected(get({ phase_num: 4 }))).code).toBe('PHASE_NOT_IN_MODE');
  });
});

describe('saves of one output sent at once', () => {
  it('all land: none is CONFLICT, the last is in place and every other is kept in history/', async () => {
    // Durable, as served: each save waits on its fsync while the others run.
    const m = await managers({ clock: steppingClock() });
    await m.checkpoints.createSession({ ...REF, user_id: 'u1' });
    const contents = Array.from({ length: 30 }, (_, i) => `version ${i}`);
    const saves = await Promise.allSettled(
      contents.map((output_content) =>
        m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content }),
      ),
    );
    expect(saves.filter((save) => save.status === 'rejected')).toStrictEqual([]);
    const read = (version?: number) =>
      m.checkpoints.getAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        ...(version && { version }),
      });
    const { versions } = await m.checkpoints.listHistory({ ...REF, phase_num: 1 });
    const kept = await Promise.all(versions.map(async ({ version }) => (await read(version)).content));
    expect([(await read()).content, ...kept].sort()).toStrictEqual([...contents].sort());
  });
});

describe('listHistory', () => {
  it('lists the earlier versions of every document of the phase', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1, { status: 'in_progress' }));
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    await m.checkpoints.saveCheckpoint(checkpointOf(1, { status: 'failed' }));
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'a' });
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'b' });
    const { versions } = await m.checkpoints.listHistory({ ...REF, phase_num: 1 });
    expect(versions.map(({ file, version, path }) => ({ file, version, path }))).toStrictEqual([
      { file: 'checkpoint.md', version: 1, path: 'p1/sessions/s1/phase_1_concept/history/checkpoint.v1.md' },
      { file: 'checkpoint.md', version: 2, path: 'p1/sessions/s1/phase_1_concept/history/checkpoint.v2.md' },
      { file: 'writer.md', version: 1, path: 'p1/sessions/s1/phase_1_concept/history/writer.v1.md' },
    ]);
    for (const { saved_at } of versions) expect(Number.isNaN(Date.parse(saved_at))).toBe(false);
  });

  it('answers INVALID_ARGUMENT for a phase number that is no phase and NOT_FOUND for an unknown session', async () => {
    const m = await setup();
    expect((await rejected(m.checkpoints.listHistory({ ...REF, phase_num: 0 }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await rejected(m.checkpoints.listHistory({ ...REF, session_id: 'x', phase_num: 1 }))).code).toBe(
      'NOT_FOUND',
    );
  });

  it('is empty for a phase never overwritten, and PHASE_NOT_IN_MODE outside the mode', async () => {
    const m = await setup();
    expect(await m.checkpoints.listHistory({ ...REF, phase_num: 2 })).toStrictEqual({ versions: [] });
    expect((await rejected(m.checkpoints.listHistory({ ...REF, phase_num: 4 }))).code).toBe(
      'PHASE_NOT_IN_MODE',
    );
  });
});

describe('validateCheckpoint', () => {
  async function validPhase(): Promise<Managers> {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
      output_content: 'text',
    });
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    await m.checkpoints.saveUserFeedback({ ...REF, phase_num: 1, reviewed: true, approved: true });
    return m;
  }

  async function edit(m: Managers, file: string, from: string, to: string): Promise<void> {
    const text = await readDocument(m, ...PHASE_1, file);
    expect(text).toContain(from);
    await editDocument(m, [...PHASE_1, file], text.replace(from, to));
  }

  const validate = (m: Managers, phase_num = 1) => m.checkpoints.validateCheckpoint({ ...REF, phase_num });

  it('reports a phase written by the server as valid', async () => {
    const m = await validPhase();
    expect(await validate(m)).toStrictEqual({ is_valid: true, errors: [], warnings: [] });
  });

  it('reports a phase not saved yet as valid, with a warning that says what to call, as validate_session does', async () => {
    const m = await setup();
    expect(await validate(m, 2)).toStrictEqual({
      is_valid: true,
      errors: [],
      warnings: [
        'p1/sessions/s1/phase_2_market_research/checkpoint.md: not saved yet, phase 2 is pending; save_checkpoint for phase 2 writes it',
      ],
    });
    const session = await m.checkpoints.validateSession(REF);
    expect(session.phases['2']).toStrictEqual({ is_valid: true, errors: [], warnings: [] });
    expect(session.is_valid).toBe(true);
  });

  it('reports a checkpoint lost after its phase ran as an error, in both validations', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(2));
    await removeDocument(m, ...SESSION, 'phase_2_market_research', 'checkpoint.md');
    const error =
      'p1/sessions/s1/phase_2_market_research/checkpoint.md: missing, though p1/sessions/s1/session_manifest.md says phase 2 is completed; restore it from history/, or call save_checkpoint for phase 2';
    expect(await validate(m, 2)).toStrictEqual({ is_valid: false, errors: [error], warnings: [] });
    const session = await m.checkpoints.validateSession(REF);
    expect(session.phases['2']).toStrictEqual({ is_valid: false, errors: [error], warnings: [] });
    expect(session.is_valid).toBe(false);
  });

  it('reports a phase number or name that does not match the folder as errors', async () => {
    const m = await validPhase();
    await edit(m, 'checkpoint.md', '- Phase Number: 1', '- Phase Number: 2');
    await edit(m, 'checkpoint.md', '- Phase Name: Concept Expansion', '- Phase Name: Market Research');
    const report = await validate(m);
    expect(report.is_valid).toBe(false);
    expect(report.errors).toStrictEqual([
      'p1/sessions/s1/phase_1_concept/checkpoint.md: Phase Number is 2 but the directory phase_1_concept holds phase 1',
      'p1/sessions/s1/phase_1_concept/checkpoint.md: Phase Name is "Market Research" but phase 1 is "Concept Expansion"',
    ]);
  });

  it('reports an unreadable review as an error naming its file and line', async () => {
    const m = await validPhase();
    await edit(m, 'user_feedback.md', '- Approved: true', '- Approved: maybe');
    const report = await validate(m);
    expect(report.is_valid).toBe(false);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatch(
      /^p1\/sessions\/s1\/phase_1_concept\/user_feedback\.md:6: "Approved" is "maybe"/,
    );
  });

  it('warns when the manifest row disagrees with the checkpoint', async () => {
    const m = await validPhase();
    const path = [...SESSION, 'session_manifest.md'];
    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    await editDocument(m, path, manifest.replace('| completed |', '| failed    |'));
    const report = await validate(m);
    expect(report).toMatchObject({ is_valid: true, errors: [] });
    expect(report.warnings).toStrictEqual([
      'p1/sessions/s1/session_manifest.md: phase 1 status is failed but checkpoint.md says completed; load_session rebuilds the manifest',
    ]);
  });

  it('warns about a failed agent without output, and an output whose status differs from the list', async () => {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'x' });
    await m.checkpoints.saveCheckpoint(
      checkpointOf(1, {
        status: 'failed',
        agents: [
          { agent_name: 'writer', status: 'failed' },
          { agent_name: 'critic', status: 'failed' },
          { agent_name: 'planner', status: 'pending' },
        ],
      }),
    );
    const report = await validate(m);
    expect(report.is_valid).toBe(true);
    expect(report.warnings).toStrictEqual([
      'p1/sessions/s1/phase_1_concept/writer.md: Status is completed but the checkpoint lists agent writer as failed',
      'p1/sessions/s1/phase_1_concept/critic.md: agent critic is listed as failed but has no output file; call save_agent_output',
    ]);
  });

  it('names an output whose file name differs only in letter case as the checkpoint to fix, not the output to save', async () => {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'market', output_content: 'x' });
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'notes', output_content: 'y' });
    await m.checkpoints.saveCheckpoint(
      checkpointOf(1, {
        agents: [
          { agent_name: 'MARKET', status: 'completed' },
          { agent_name: 'critic', status: 'completed', output_file: 'Notes.md' },
        ],
      }),
    );
    // What the advice says to do is refused otherwise: save_agent_output will not make a case twin.
    expect(
      (
        await rejected(
          m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'MARKET', output_content: 'x' }),
        )
      ).code,
    ).toBe('CONFLICT');
    expect((await validate(m)).errors).toStrictEqual([
      'p1/sessions/s1/phase_1_concept/MARKET.md: agent MARKET is listed as completed but has no output file; market.md differs from it only in letter case: call save_checkpoint with the agent listed as "market"',
      'p1/sessions/s1/phase_1_concept/Notes.md: agent critic is listed as completed but has no output file; notes.md differs from it only in letter case: call save_checkpoint with output_file "notes.md"',
    ]);
  });

  it('names an output_file save_agent_output never writes as the checkpoint to fix, and the fix works', async () => {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'x' });
    const listing = (output_file: string | undefined) =>
      checkpointOf(1, {
        agents: [{ agent_name: 'writer', status: 'completed', ...(output_file && { output_file }) }],
      });
    await m.checkpoints.saveCheckpoint(listing('other.md'));
    expect((await validate(m)).errors).toStrictEqual([
      'p1/sessions/s1/phase_1_concept/other.md: agent writer is listed as completed but has no output file; save_agent_output writes writer.md, which is there: call save_checkpoint without output_file for this agent',
    ]);
    await m.checkpoints.saveCheckpoint(listing(undefined));
    expect((await validate(m)).errors).toStrictEqual([]);
  });

  it('names an output no reader can parse, listed or not: what stops get_phase_outputs and resume_session', async () => {
    const m = await setup();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'x' });
    await m.checkpoints.saveCheckpoint(
      checkpointOf(1, { agents: [{ agent_name: 'writer', status: 'completed' }] }),
    );
    // A half-edited copy of an output, beside the ones the checkpoint lists.
    await editDocument(
      m,
      [...SESSION, 'phase_1_concept', 'notes.md'],
      '# Agent Output: notes\n\nhalf done\n',
    );
    const problem =
      'p1/sessions/s1/phase_1_concept/notes.md:1: missing section "## Output"; fix the file by hand, or restore an earlier version from the phase\'s history/ folder (list_history lists them)';
    await expect(m.checkpoints.getPhaseOutputs(REF)).rejects.toMatchObject({ message: problem });
    expect((await validate(m)).errors).toStrictEqual([problem]);
    const session = await m.checkpoints.validateSession(REF);
    expect(session.is_valid).toBe(false);
    expect(session.phases['1']?.errors).toStrictEqual([problem]);
  });

  it('answers NOT_FOUND for an unknown session and PHASE_NOT_IN_MODE outside the mode', async () => {
    const m = await setup();
    expect(
      (await rejected(m.checkpoints.validateCheckpoint({ ...REF, session_id: 'x', phase_num: 1 }))).code,
    ).toBe('NOT_FOUND');
    expect((await rejected(validate(m, 5))).code).toBe('PHASE_NOT_IN_MODE');
  });
});

describe('getApprovedPhases', () => {
  it('lists the phases whose review says Approved: true, in order', async () => {
    const m = await setup();
    const review = (phase_num: number, approved: boolean) =>
      m.checkpoints.saveUserFeedback({ ...REF, phase_num, reviewed: true, approved });
    await review(6, true);
    await review(1, true);
    await review(2, false);
    expect(await m.checkpoints.getApprovedPhases(REF)).toStrictEqual({ phases: [1, 6] });
  });

  it('rejects identifiers outside the allowed characters as INVALID_ARGUMENT', async () => {
    const m = await setup();
    expect((await rejected(m.checkpoints.getApprovedPhases({ ...REF, project_id: 'p/1' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('answers NOT_FOUND for an unknown session and CORRUPT_FILE for an unreadable review', async () => {
    const m = await setup();
    expect((await rejected(m.checkpoints.getApprovedPhases({ ...REF, session_id: 'x' }))).code).toBe(
      'NOT_FOUND',
    );
    await editDocument(m, [...PHASE_1, 'user_feedback.md'], '# User Feedback\n\n## User Comments\n\nok\n');
    expect(await rejected(m.checkpoints.getApprovedPhases(REF))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining(
        'p1/sessions/s1/phase_1_concept/user_feedback.md:1: missing section "## Review Status"',
      ),
    });
  });
});

describe('validateSession', () => {
  it('reports every phase of the mode and the manifest in one report', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(
      checkpointOf(1, { agents: [{ agent_name: 'writer', status: 'completed' }] }),
    );
    const report = await m.checkpoints.validateSession(REF);
    expect(Object.keys(report.phases)).toStrictEqual(['1', '2', '3', '6', '7']);
    expect(report).toMatchObject({ is_valid: false, errors: [], warnings: [] });
    expect(report.phases['1']?.errors).toStrictEqual([
      'p1/sessions/s1/phase_1_concept/writer.md: agent writer is listed as completed but has no output file; call save_agent_output',
    ]);
    expect(report.phases['2']).toStrictEqual({ is_valid: true, errors: [], warnings: [] });
  });

  it('reports a missing manifest as an error and a wrong Status or Metrics as warnings', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint(checkpointOf(1));
    const path = [...SESSION, 'session_manifest.md'];
    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    await editDocument(
      m,
      path,
      manifest.replace('- Status: in_progress', '- Status: completed').replace('$0.5', '$9'),
    );
    const edited = await m.checkpoints.validateSession(REF);
    expect(edited.warnings).toStrictEqual([
      'p1/sessions/s1/session_manifest.md: Status is completed but the checkpoints make it in_progress',
      'p1/sessions/s1/session_manifest.md: Metrics differ from the sums of the checkpoints; load_session rebuilds them',
    ]);
    await removeDocument(m, ...path);
    const missing = await m.checkpoints.validateSession(REF);
    expect(missing.is_valid).toBe(false);
    expect(missing.errors).toStrictEqual([
      'p1/sessions/s1/session_manifest.md: missing; load_session rebuilds it from the checkpoints',
    ]);
  });

  it('rejects identifiers outside the allowed characters as INVALID_ARGUMENT', async () => {
    const m = await setup();
    expect((await rejected(m.checkpoints.validateSession({ ...REF, session_id: 'x y' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('answers NOT_FOUND for an unknown session', async () => {
    const m = await setup();
    expect((await rejected(m.checkpoints.validateSession({ ...REF, session_id: 'x' }))).code).toBe(
      'NOT_FOUND',
    );
  });
});

describe('listSessions', () => {
  async function withSessions(count: number): Promise<Managers> {
    const m = await setup({ create: false });
    // Ids ascend with creation, so the newest-first order is the same whatever the folder times tie on.
    for (let i = 1; i <= count; i++) {
      await m.checkpoints.createSession({
        project_id: 'p1',
        session_id: `s${String(i).padStart(2, '0')}`,
        user_id: 'u1',
      });
    }
    return m;
  }

  it('lists sessions newest first with their state', async () => {
    const m = await withSessions(2);
    await m.checkpoints.saveCheckpoint({ ...checkpointOf(1), session_id: 's01' });
    expect(await m.checkpoints.listSessions({ project_id: 'p1' })).toStrictEqual({
      sessions: [
        {
          session_id: 's02',
          status: 'in_progress',
          execution_mode: 'mvp',
          current_phase: 0,
          next_phase: 1,
          created: '2024-11-24T10:00:03.000Z',
          last_updated: '2024-11-24T10:00:04.000Z',
        },
        {
          session_id: 's01',
          status: 'in_progress',
          execution_mode: 'mvp',
          current_phase: 1,
          next_phase: 2,
          created: '2024-11-24T10:00:01.000Z',
          last_updated: '2024-11-24T10:00:06.000Z',
        },
      ],
    });
  });

  it('pages with limit and next_cursor through every session exactly once', async () => {
    const m = await withSessions(7);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await m.checkpoints.listSessions({ project_id: 'p1', limit: 3, cursor });
      seen.push(...page.sessions.map((session) => session.session_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toStrictEqual(['s07', 's06', 's05', 's04', 's03', 's02', 's01']);
  });

  it('filters by status', async () => {
    const m = await withSessions(2);
    for (const phase_num of [1, 2, 3, 6, 7]) {
      await m.checkpoints.saveCheckpoint({ ...checkpointOf(phase_num), session_id: 's01' });
    }
    const completed = await m.checkpoints.listSessions({ project_id: 'p1', status: 'completed' });
    expect(completed.sessions.map((session) => session.session_id)).toStrictEqual(['s01']);
    expect(completed.sessions[0]).not.toHaveProperty('next_phase');
    const open = await m.checkpoints.listSessions({ project_id: 'p1', status: 'in_progress' });
    expect(open.sessions.map((session) => session.session_id)).toStrictEqual(['s02']);
  });

  it('answers NOT_FOUND for an unknown project and INVALID_ARGUMENT for a bad cursor or limit', async () => {
    const m = await withSessions(1);
    expect((await rejected(m.checkpoints.listSessions({ project_id: 'nope' }))).code).toBe('NOT_FOUND');
    expect(
      await rejected(m.checkpoints.listSessions({ project_id: 'p1', cursor: 'not-a-cursor' })),
    ).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('pass the next_cursor of the previous page'),
    });
    for (const limit of [0, -1, 1.5, 501]) {
      expect((await rejected(m.checkpoints.listSessions({ project_id: 'p1', limit }))).code).toBe(
        'INVALID_ARGUMENT',
      );
    }
  });

  it('ignores folders that are not sessions', async () => {
    const m = await withSessions(1);
    // The file engine can hold any name; PostgreSQL only names it would write, so '_notes' is for both.
    for (const name of ENGINE === 'file' ? ['not a session', '_notes'] : ['_notes'])
      await makeFolder(m, 'p1', 'sessions', name);
    await editDocument(m, ['p1', 'sessions', 'README.md'], 'x');
    const { sessions } = await m.checkpoints.listSessions({ project_id: 'p1' });
    expect(sessions.map((session) => session.session_id)).toStrictEqual(['s01']);
  });
});
