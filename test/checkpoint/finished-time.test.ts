import { describe, expect, it } from 'vitest';
import type { PhaseStatus } from '../../src/checkpoint/model/vocabulary.js';
import { type Managers, managers } from '../helpers/base-dir.js';
import { readDocument } from '../helpers/engine.js';

const REF = { project_id: 'p1', session_id: 's1' } as const;
const T0 = Date.parse('2024-11-24T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Managers whose clock stands at whatever time the test last set. */
async function setup(): Promise<Managers & { at(ms: number): void }> {
  let now = T0;
  const m = await managers({ clock: () => new Date(now), store: { durable: false } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u1' });
  return {
    ...m,
    at: (ms) => {
      now = ms;
    },
  };
}

/** Saves phase 1 with `status`; `input_tokens` makes each save's content differ, so each is written. */
async function save(m: Managers, status: PhaseStatus, input_tokens: number): Promise<void> {
  await m.checkpoints.saveCheckpoint({
    ...REF,
    phase_num: 1,
    status,
    agents: [{ agent_name: 'analyst', status: 'completed', input_tokens }],
  });
}

async function completedLine(m: Managers): Promise<string | undefined> {
  const text = await readDocument(m, 'p1', 'sessions', 's1', 'phase_1_concept', 'checkpoint.md');
  return text.split('\n').find((line) => line.startsWith('- Completed:'));
}

describe('the Completed time of a finished phase', () => {
  it('stays when the phase is saved again with the same finished status, and moves when it finishes anew', async () => {
    const m = await setup();
    m.at(T0 + 60_000);
    await save(m, 'completed', 1);
    expect(await completedLine(m)).toBe(`- Completed: ${iso(T0 + 60_000)}`);

    // A correction of the token counts an hour later: the phase still finished when it did.
    m.at(T0 + 3_600_000);
    await save(m, 'completed', 2);
    expect(await completedLine(m)).toBe(`- Completed: ${iso(T0 + 60_000)}`);

    // Finishing differently is a new end: failed now, then failed again later keeps that time.
    m.at(T0 + 7_200_000);
    await save(m, 'failed', 3);
    expect(await completedLine(m)).toBe(`- Completed: ${iso(T0 + 7_200_000)}`);
    m.at(T0 + 7_260_000);
    await save(m, 'failed', 4);
    expect(await completedLine(m)).toBe(`- Completed: ${iso(T0 + 7_200_000)}`);

    // Back in progress, then completed: the time of this completion, not of the first.
    m.at(T0 + 7_300_000);
    await save(m, 'in_progress', 5);
    expect(await completedLine(m)).toBe('- Completed: -');
    m.at(T0 + 7_400_000);
    await save(m, 'completed', 6);
    expect(await completedLine(m)).toBe(`- Completed: ${iso(T0 + 7_400_000)}`);
  });

  it('a skipped phase saved again as skipped keeps its time too', async () => {
    const m = await setup();
    m.at(T0 + 1_000);
    await save(m, 'skipped', 1);
    m.at(T0 + 90_000);
    await save(m, 'skipped', 2);
    expect(await completedLine(m)).toBe(`- Completed: ${iso(T0 + 1_000)}`);
  });
});
