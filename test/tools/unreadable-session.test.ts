import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { readDocument } from '../helpers/engine.js';
import { corrupt, createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';

const PHASE = { ...REF, phase_num: 1 };

describe('tools that need the mode of a session whose manifest and project.md are both unreadable', () => {
  // Without either file the mode cannot be known, so each of these says which file to fix.
  const calls: Array<[string, Record<string, unknown>]> = [
    ['save_agent_output', { ...PHASE, agent_name: 'writer', output_content: 'x' }],
    ['get_agent_output', { ...PHASE, agent_name: 'writer' }],
    ['list_history', PHASE],
    ['validate_checkpoint', PHASE],
    ['validate_session', REF],
  ];

  for (const [tool, args] of calls) {
    it(`${tool} answers CORRUPT_FILE naming project.md`, async () => {
      const m = await connectedClient();
      const { client } = m;
      await createSession(client);
      await saveOutput(client, 1, 'writer', 'x');
      await corrupt(m, sessionDocument('session_manifest.md'));
      await corrupt(m, ['p1', 'project.md']);
      expect(await expectToolError(client, tool, args, 'CORRUPT_FILE')).toContain('p1/project.md');
    });
  }
});

describe('tools that wait for a lock another process (or replica) holds', () => {
  const calls: Array<[string, string[], Record<string, unknown>]> = [
    ['create_session', ['p1', 'sessions', 's1'], { ...REF, user_id: 'u1' }],
    ['save_checkpoint', ['p1', 'sessions', 's1'], { ...PHASE, status: 'completed', agents: [] }],
    ['save_user_feedback', ['p1', 'sessions', 's1'], { ...PHASE, reviewed: true, approved: true }],
    ['archive_project', ['p1'], { project_id: 'p1' }],
    ['create_project', ['p2'], { user_id: 'u1', startup_idea: 'x', project_id: 'p2' }],
  ];

  for (const [tool, locked, args] of calls) {
    it(`${tool} answers LOCK_TIMEOUT naming the locked folder, and succeeds once it is free`, async () => {
      const m = await connectedClient({ store: { lockTimeoutMs: 300 } });
      const { client } = m;
      await createSession(client);
      const other = await m.reopen();
      await other.ensureDirectory(locked);
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let taken = () => {};
      const isTaken = new Promise<void>((resolve) => {
        taken = resolve;
      });
      const holder = other.withLock(locked, async () => {
        taken();
        await held;
      });
      await isTaken;
      try {
        expect(await expectToolError(client, tool, args, 'LOCK_TIMEOUT')).toContain(locked.join('/'));
      } finally {
        release();
        await holder;
      }
      await callOk(client, tool, args);
    });
  }
});

describe('create_session on a session whose manifest is unreadable', () => {
  it('answers CORRUPT_FILE instead of treating the session as new, and leaves its files alone', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await callOk(client, 'save_checkpoint', { ...PHASE, status: 'completed', agents: [] });
    await corrupt(m, sessionDocument('session_manifest.md'));
    const before = await readDocument(m, ...sessionDocument('session_manifest.md'));
    const text = await expectToolError(
      client,
      'create_session',
      { ...REF, user_id: 'someone_else', execution_mode: 'full' },
      'CORRUPT_FILE',
    );
    expect(text).toContain('load_session');
    expect(await readDocument(m, ...sessionDocument('session_manifest.md'))).toBe(before);
    const state = await callOk<{ execution_mode: string; completed_phases: number[] }>(
      client,
      'load_session',
      REF,
    );
    expect(state.completed_phases).toEqual([1]);
  });
});
