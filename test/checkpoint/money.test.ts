import { describe, expect, it } from 'vitest';
import { type Managers, managers, steppingClock } from '../helpers/base-dir.js';
import { documentTree, readDocument } from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';

const REF = { project_id: 'p1', session_id: 's1' } as const;
const SESSION = ['p1', 'sessions', 's1'] as const;
const PHASE_1 = [...SESSION, 'phase_1_concept'] as const;

async function setup(): Promise<Managers> {
  const m = await managers({ clock: steppingClock(), store: { durable: false } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
  return m;
}

/** The lines of `text` that start with `prefix`. */
function linesStarting(text: string, prefix: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

describe('costs are exact decimals from request to report', () => {
  it('agents costing 0.05 and 0.001 make 0.051 in the checkpoint, the manifest, load_session and the report', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'analyst', status: 'completed', tokens: 100, cost: 0.05 },
        { agent_name: 'critic', status: 'completed', tokens: 20, cost: 0.001 },
      ],
    });
    const checkpoint = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    expect(linesStarting(checkpoint, '- Cost:')).toStrictEqual(['- Cost: $0.051']);
    // The ledger shows each agent's own cost.
    expect(linesStarting(checkpoint, '| analyst')).toStrictEqual([
      '| analyst | analyst.md  | 100    | -            | -             | $0.05  | -        |',
    ]);
    expect(linesStarting(checkpoint, '| critic')).toStrictEqual([
      '| critic  | critic.md   | 20     | -            | -             | $0.001 | -        |',
    ]);
    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    expect(linesStarting(manifest, '- Total Cost:')).toStrictEqual(['- Total Cost: $0.051']);
    expect((await m.checkpoints.loadSession(REF)).metrics.total_cost).toBe(0.051);
    const { markdown } = await m.checkpoints.exportSession(REF);
    expect(linesStarting(markdown, '- Total Cost:')).toStrictEqual(['- Total Cost: $0.051']);
    expect(linesStarting(markdown, '| Total')).toStrictEqual([
      '| Total               |         |           |       | -            | -             | 120    | $0.051 | -        |                            |',
    ]);
    expect(linesStarting(markdown, '| 1     | Concept Expansion')).toStrictEqual([
      '| 1     | Concept Expansion | completed | -       | 2024-11-24T10:00:03.000Z | -        | 0       | 120    | $0.051 |',
    ]);
  });

  it('costs of 0.1 and 0.2 in two phases total exactly 0.3, and so do durations of 0.1s and 0.2s', async () => {
    const m = await setup();
    for (const [phase_num, amount] of [
      [1, 0.1],
      [2, 0.2],
    ] as const) {
      await m.checkpoints.saveCheckpoint({
        ...REF,
        phase_num,
        status: 'completed',
        duration: amount,
        agents: [{ agent_name: 'worker', status: 'completed', cost: amount, duration: amount }],
      });
    }
    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    expect(linesStarting(manifest, '- Total ')).toStrictEqual([
      '- Total Duration: 0.3s',
      '- Total Tokens: 0',
      '- Total Cost: $0.3',
    ]);
    expect((await m.checkpoints.loadSession(REF)).metrics).toStrictEqual({
      total_duration: 0.3,
      total_tokens: 0,
      total_cost: 0.3,
    });
    const { markdown } = await m.checkpoints.exportSession(REF);
    expect(linesStarting(markdown, '| Total')).toStrictEqual([
      '| Total               |        |           |       | -            | -             | -      | $0.3 | 0.3s     |                                   |',
    ]);
  });

  it('a cost of eleven decimal places is INVALID_ARGUMENT naming the agent, and nothing is written', async () => {
    const m = await setup();
    const before = await documentTree(m);
    const error = await rejected(
      m.checkpoints.saveCheckpoint({
        ...REF,
        phase_num: 1,
        status: 'completed',
        agents: [
          { agent_name: 'analyst', status: 'completed', cost: 0.05 },
          { agent_name: 'critic', status: 'completed', cost: 0.00000000001 },
        ],
      }),
    );
    expect(error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message:
        'agents[1].cost 0.00000000001 has 11 decimal places; send at most 10 (round it, for example 0)',
    });
    expect(await documentTree(m)).toStrictEqual(before);
  });
});

describe('the agent ledger tokens', () => {
  it('shows input plus output in the Tokens column when only those were given, and counts them in the totals', async () => {
    const m = await setup();
    await m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'analyst', status: 'completed', input_tokens: 1200, output_tokens: 300 },
        { agent_name: 'critic', status: 'completed', output_tokens: 45 },
        { agent_name: 'scout', status: 'completed' },
      ],
    });
    const checkpoint = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    expect(linesStarting(checkpoint, '| ')).toStrictEqual([
      '| Agent   | Output File | Tokens | Input Tokens | Output Tokens | Cost | Duration |',
      '| ------- | ----------- | ------ | ------------ | ------------- | ---- | -------- |',
      '| analyst | analyst.md  | 1500   | 1200         | 300           | -    | -        |',
      '| critic  | critic.md   | 45     | -            | 45            | -    | -        |',
      '| scout   | scout.md    | -      | -            | -             | -    | -        |',
    ]);
    expect(linesStarting(checkpoint, '- Total Tokens:')).toStrictEqual(['- Total Tokens: 1545']);
    expect((await m.checkpoints.loadSession(REF)).metrics.total_tokens).toBe(1545);
  });
});
