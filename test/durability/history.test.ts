import { describe, expect, it } from 'vitest';
import { managers, managersOn } from '../helpers/base-dir.js';
import { isStored } from '../helpers/engine.js';

const REF = { project_id: 'p', session_id: 's' };
const HISTORY = ['p', 'sessions', 's', 'phase_1_concept', 'history'];

describe('history instead of overwrite', () => {
  it('overwriting an agent output three times keeps the three earlier versions, numbered 1 to 3 and readable', async () => {
    const m = await managers();
    const { checkpoints } = m;
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    const contents = ['first\n', 'second ## Output\n', 'third\r\n', 'fourth, current'];
    for (const content of contents)
      await checkpoints.saveAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        output_content: content,
      });

    expect((await m.store.list(HISTORY)).map((entry) => entry.name).sort()).toEqual([
      'writer.v1.md',
      'writer.v2.md',
      'writer.v3.md',
    ]);
    for (const version of [1, 2, 3]) {
      const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version });
      expect(page).toMatchObject({ version, content: contents[version - 1] });
    }
    const current = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer' });
    expect(current).toMatchObject({ version: 4, content: 'fourth, current' });
    const { versions } = await checkpoints.listHistory({ ...REF, phase_num: 1 });
    expect(versions.map((entry) => [entry.file, entry.version])).toEqual([
      ['writer.md', 1],
      ['writer.md', 2],
      ['writer.md', 3],
    ]);
  });

  it('saving byte-identical content again adds no history entry', async () => {
    const m = await managers({ clock: () => new Date('2024-11-24T10:00:00.000Z') });
    const { checkpoints } = m;
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    const output = { ...REF, phase_num: 1, agent_name: 'writer', output_content: 'same\n' };
    await checkpoints.saveAgentOutput(output);
    await checkpoints.saveAgentOutput(output);
    const feedback = { ...REF, phase_num: 1, reviewed: true, approved: true, comments: 'fine' };
    await checkpoints.saveUserFeedback(feedback);
    await checkpoints.saveUserFeedback(feedback);
    const checkpoint = { ...REF, phase_num: 1, status: 'completed' as const, agents: [] };
    await checkpoints.saveCheckpoint(checkpoint);
    await checkpoints.saveCheckpoint(checkpoint);
    expect(await isStored(m, ...HISTORY)).toBe(false);
    expect((await checkpoints.listHistory({ ...REF, phase_num: 1 })).versions).toEqual([]);
  });

  it('two writers taking turns on one document number its versions on, each kept once, with the bytes it had', async () => {
    const m = await managers();
    const other = managersOn(await m.reopen()).checkpoints;
    await m.checkpoints.createSession({ ...REF, user_id: 'u' });
    const contents = ['one\n', 'two\n', 'three\n', 'four\n', 'five\n', 'six\n'];
    // This process, then the other, twice in a row each: neither may reuse the other's numbers or skip one.
    const writers = [m.checkpoints, m.checkpoints, other, other, m.checkpoints, other];
    for (const [i, content] of contents.entries()) {
      await writers[i]?.saveAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        output_content: content,
      });
    }
    const { versions } = await m.checkpoints.listHistory({ ...REF, phase_num: 1 });
    expect(versions.map((entry) => entry.version)).toEqual([1, 2, 3, 4, 5]);
    for (const version of [1, 2, 3, 4, 5]) {
      const page = await other.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version });
      expect(page.content).toBe(contents[version - 1]);
    }
  });
});
