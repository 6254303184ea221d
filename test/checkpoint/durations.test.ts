import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import type { Clock } from '../../src/checkpoint/model/limits.js';
import { type Managers, managers } from '../helpers/base-dir.js';
import { readDocument } from '../helpers/engine.js';

const REF = { project_id: 'p1', session_id: 's1' } as const;
const SESSION = ['p1', 'sessions', 's1'] as const;
const PHASE_1 = [...SESSION, 'phase_1_concept'] as const;
const T0 = Date.parse('2024-11-24T10:00:00.000Z');

/** A clock that stands still until the test moves it: every call in between reads the same time. */
function manualClock(start: number): { clock: Clock; at(ms: number): void } {
  let now = start;
  return {
    clock: () => new Date(now),
    at: (ms) => {
      now = ms;
    },
  };
}

async function setup(): Promise<Managers & { at(ms: number): void }> {
  const { clock, at } = manualClock(T0 - 300_000);
  const m = await managers({ clock, store: { durable: false } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
  return { ...m, at };
}

/** The lines of `text` that start with `prefix`. */
function linesStarting(text: string, prefix: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

const iso = (ms: number) => new Date(ms).toISOString();

async function metadata(m: Managers, dir = 'phase_1_concept'): Promise<string[]> {
  const text = await readDocument(m, ...SESSION, dir, 'checkpoint.md');
  return text.split('\n').filter((line) => /^- (Status|Started|Completed|Duration):/.test(line));
}

describe('a phase saved without started takes its times from what was recorded', () => {
  it('starts at the earliest output of its listed agents, less that output’s reported duration', async () => {
    const m = await setup();
    // An output of an agent the checkpoint does not list tells nothing of this phase.
    m.at(T0 - 50_000);
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'stray',
      output_content: 's',
      duration: 5,
    });
    m.at(T0);
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'analyst',
      output_content: 'a',
      duration: 12,
    });
    m.at(T0 + 30_000);
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'critic', output_content: 'c' });
    m.at(T0 + 67_500);
    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'analyst', status: 'completed' },
        { agent_name: 'critic', status: 'completed' },
      ],
    });
    expect(await metadata(m)).toStrictEqual([
      '- Status: completed',
      '- Started: 2024-11-24T09:59:48.000Z',
      '- Completed: 2024-11-24T10:01:07.500Z',
      '- Duration: 79.5s',
    ]);
    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    expect(linesStarting(manifest, '| 1 ')).toStrictEqual([
      '| 1     | Concept Expansion | completed | 2024-11-24T09:59:48.000Z | 2024-11-24T10:01:07.500Z | 79.5s    |',
    ]);
    expect(linesStarting(manifest, '- Total Duration:')).toStrictEqual(['- Total Duration: 79.5s']);
    const { markdown } = await m.checkpoints.exportSession(REF);
    expect(linesStarting(markdown, '| 1     |')).toStrictEqual([
      '| 1     | Concept Expansion | completed | 2024-11-24T09:59:48.000Z | 2024-11-24T10:01:07.500Z | 79.5s    | 0       | 0      | $0   |',
    ]);
    // The gantt bar spans the same Started and Completed.
    expect(linesStarting(markdown, '    Concept Expansion')).toStrictEqual([
      '    Concept Expansion :done, p1, 2024-11-24T09:59:48.000, 2024-11-24T10:01:07.500',
    ]);
  });

  it.each(['completed', 'failed', 'skipped'] as const)(
    'a phase first saved %s with nothing recorded has no Started and no Duration',
    async (status) => {
      const m = await setup();
      m.at(T0);
      await m.checkpoints.saveCheckpoint({
        ...REF,
        phase_num: 1,
        status,
        agents: [{ agent_name: 'analyst', status: status === 'skipped' ? 'skipped' : status }],
      });
      expect(await metadata(m)).toStrictEqual([
        `- Status: ${status}`,
        '- Started: -',
        '- Completed: 2024-11-24T10:00:00.000Z',
        '- Duration: -',
      ]);
      const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
      expect(linesStarting(manifest, '| 1 ')).toStrictEqual([
        `| 1     | Concept Expansion | ${status.padEnd(7)} | -       | 2024-11-24T10:00:00.000Z | -        |`,
      ]);
      expect(linesStarting(manifest, '- Total Duration:')).toStrictEqual(['- Total Duration: 0s']);
      // No start, no bar.
      const { markdown } = await m.checkpoints.exportSession(REF);
      expect(linesStarting(markdown, '    Concept Expansion')).toStrictEqual([]);
    },
  );

  it('the report says the span is unknown and gives the time the agents report', async () => {
    const m = await setup();
    m.at(T0);
    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'analyst', status: 'completed', duration: 4.1 },
        { agent_name: 'critic', status: 'completed', duration: 3.2 },
        { agent_name: 'scout', status: 'completed' },
      ],
    });
    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 2,
      status: 'completed',
      agents: [{ agent_name: 'market', status: 'completed' }],
    });
    const { markdown } = await m.checkpoints.exportSession(REF);
    expect(linesStarting(markdown, '| 1     |')).toStrictEqual([
      '| 1     | Concept Expansion | completed | -       | 2024-11-24T10:00:00.000Z | unknown (agents report 7.3s) | 0       | 0      | $0   |',
    ]);
    // Nothing reported either: the cell says nothing is known.
    expect(linesStarting(markdown, '| 2     |')).toStrictEqual([
      '| 2     | Market Research   | completed | -       | 2024-11-24T10:00:00.000Z | -                            | 0       | 0      | $0   |',
    ]);
  });

  it('a phase first saved in_progress with nothing recorded starts at that save', async () => {
    const m = await setup();
    m.at(T0);
    await m.checkpoints.saveCheckpoint({ ...REF, phase_num: 1, status: 'in_progress', agents: [] });
    m.at(T0 + 45_000);
    await m.checkpoints.saveCheckpoint({ ...REF, phase_num: 1, status: 'completed', agents: [] });
    expect(await metadata(m)).toStrictEqual([
      '- Status: completed',
      '- Started: 2024-11-24T10:00:00.000Z',
      '- Completed: 2024-11-24T10:00:45.000Z',
      '- Duration: 45s',
    ]);
  });

  it('a rerun after requires_retry starts afresh, from the outputs saved since the review', async () => {
    const m = await setup();
    const analyst = (duration: number) =>
      m.checkpoints.saveAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'analyst',
        output_content: 'a',
        duration,
      });
    const complete = () =>
      m.checkpoints.saveCheckpoint({
        ...REF,
        phase_num: 1,
        status: 'completed',
        agents: [{ agent_name: 'analyst', status: 'completed' }],
      });
    m.at(T0);
    await analyst(10);
    m.at(T0 + 60_000);
    await complete();
    expect(await metadata(m)).toStrictEqual([
      '- Status: completed',
      '- Started: 2024-11-24T09:59:50.000Z',
      '- Completed: 2024-11-24T10:01:00.000Z',
      '- Duration: 70s',
    ]);
    m.at(T0 + 100_000);
    await m.checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: ['Be brief'],
    });
    m.at(T0 + 200_000);
    await analyst(20);
    m.at(T0 + 250_000);
    await complete();
    expect(await metadata(m)).toStrictEqual([
      '- Status: completed',
      '- Started: 2024-11-24T10:03:00.000Z',
      '- Completed: 2024-11-24T10:04:10.000Z',
      '- Duration: 70s',
    ]);
  });

  it('a rerun after failed saved in_progress before any new output starts at that save', async () => {
    const m = await setup();
    const save = (status: 'in_progress' | 'failed' | 'completed') =>
      m.checkpoints.saveCheckpoint({
        ...REF,
        phase_num: 1,
        status,
        agents: [{ agent_name: 'analyst', status: status === 'completed' ? 'completed' : 'in_progress' }],
      });
    m.at(T0);
    await m.checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'analyst',
      output_content: 'a',
      duration: 3,
    });
    await save('in_progress');
    m.at(T0 + 10_000);
    await save('failed');
    expect(await metadata(m)).toStrictEqual([
      '- Status: failed',
      '- Started: 2024-11-24T09:59:57.000Z',
      '- Completed: 2024-11-24T10:00:10.000Z',
      '- Duration: 13s',
    ]);
    m.at(T0 + 50_000);
    await save('in_progress');
    m.at(T0 + 80_000);
    await save('completed');
    expect(await metadata(m)).toStrictEqual([
      '- Status: completed',
      '- Started: 2024-11-24T10:00:50.000Z',
      '- Completed: 2024-11-24T10:01:20.000Z',
      '- Duration: 30s',
    ]);
  });

  it('with the real clock, the duration is the span measured around the saves', async () => {
    const m = await managers({ store: { durable: false } });
    await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
    const first = Date.now();
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'analyst', output_content: 'a' });
    const afterFirst = Date.now();
    await sleep(300);
    await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'critic', output_content: 'c' });
    await sleep(300);
    const beforeLast = Date.now();
    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'analyst', status: 'completed' },
        { agent_name: 'critic', status: 'completed' },
      ],
    });
    const last = Date.now();
    const checkpoint = parseCheckpoint(await readDocument(m, ...PHASE_1, 'checkpoint.md'), 'checkpoint.md');
    const started = Date.parse(checkpoint.started ?? '');
    const completed = Date.parse(checkpoint.completed ?? '');
    expect(started).toBeGreaterThanOrEqual(first);
    expect(started).toBeLessThanOrEqual(afterFirst);
    expect(completed).toBeGreaterThanOrEqual(beforeLast);
    expect(completed).toBeLessThanOrEqual(last);
    expect(checkpoint.duration).toBe((completed - started) / 1000);
    expect(checkpoint.duration).toBeGreaterThanOrEqual(0.6);
    expect(Math.abs((checkpoint.duration ?? 0) - (last - first) / 1000)).toBeLessThan(1);
    expect(iso(started)).toBe(checkpoint.started);
  });
});
