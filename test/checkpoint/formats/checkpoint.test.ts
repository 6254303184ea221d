import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointRecord,
  parseCheckpoint,
  phaseMetrics,
  renderCheckpoint,
} from '../../../src/checkpoint/formats/checkpoint.js';
import { checkpointRecord, PROPERTY_TIMEOUT, RUNS } from '../../helpers/arbitraries.js';
import { thrown } from '../../helpers/errors.js';

const FILE = 'p/sessions/s/phase_1_concept/checkpoint.md';

const checkpoint: CheckpointRecord = {
  phase_num: 1,
  phase_name: 'Concept Expansion',
  status: 'completed',
  started: '2024-11-24T10:00:00Z',
  completed: '2024-11-24T10:02:00Z',
  duration: 120.5,
  retry_count: 1,
  execution_mode: 'parallel',
  updated: '2024-11-24T10:02:01.000Z',
  agents: [
    {
      agent_name: 'concept_expansion',
      status: 'completed',
      input_tokens: 1200,
      output_tokens: 2300,
      cost: '0.0375',
      duration: 118.25,
    },
    { agent_name: 'fact_checker', status: 'failed', output_file: 'fact_checker_notes.md', tokens: 40 },
  ],
  next_phase: 2,
  next_phase_name: 'Market Research',
  errors: ['fact_checker timed out after 30s', 'retry with a smaller prompt'],
};

function withLine(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe('checkpoint.md', () => {
  it('renders metadata, agents, metrics, the agent ledger, outputs, next phase and errors', () => {
    expect(renderCheckpoint(checkpoint)).toMatchInlineSnapshot(`
      "# Phase Checkpoint: Concept Expansion

      ## Metadata

      - Phase Number: 1
      - Phase Name: Concept Expansion
      - Status: completed
      - Started: 2024-11-24T10:00:00Z
      - Completed: 2024-11-24T10:02:00Z
      - Duration: 120.5s
      - Retry Count: 1
      - Execution Mode: parallel
      - Updated: 2024-11-24T10:02:01.000Z

      ## Agents in Phase

      - concept_expansion: completed
      - fact_checker: failed

      ## Metrics

      - Total Tokens: 3540
      - Input Tokens: 1200
      - Output Tokens: 2300
      - Cost: $0.0375
      - Agent Execution Times: concept_expansion: 118.25s

      ## Agent Ledger

      | Agent             | Output File           | Tokens | Input Tokens | Output Tokens | Cost    | Duration |
      | ----------------- | --------------------- | ------ | ------------ | ------------- | ------- | -------- |
      | concept_expansion | concept_expansion.md  | 3500   | 1200         | 2300          | $0.0375 | 118.25s  |
      | fact_checker      | fact_checker_notes.md | 40     | -            | -             | -       | -        |

      ## Outputs

      - Agent Outputs: concept_expansion.md, fact_checker_notes.md
      - User Feedback: user_feedback.md

      ## Next Phase

      - Phase Number: 2
      - Phase Name: Market Research
      - Ready to Execute: true

      ## Errors

      - fact_checker timed out after 30s
      - retry with a smaller prompt
      "
    `);
  });

  it('leaves out the Errors section and the ledger when there are no errors and no agents', () => {
    const text = renderCheckpoint({ ...checkpoint, agents: [], errors: [] });
    expect(text).not.toContain('## Errors');
    expect(text).not.toContain('## Agent Ledger');
    expect(text).toContain('## Agents in Phase\n\n## Metrics');
    expect(parseCheckpoint(text, FILE)).toStrictEqual({ ...checkpoint, agents: [], errors: [] });
  });

  it('sums tokens per agent, using input plus output where tokens is absent', () => {
    expect(phaseMetrics(checkpoint.agents)).toStrictEqual({
      total_tokens: 3540,
      input_tokens: 1200,
      output_tokens: 2300,
      cost: '0.0375',
    });
  });

  it('reads back exactly what it rendered', () => {
    expect(parseCheckpoint(renderCheckpoint(checkpoint), FILE)).toStrictEqual(checkpoint);
  });

  it("reads a checkpoint in the documented form, with no Agent Ledger: the sums its Metrics state, each agent's time and output file", () => {
    const text = renderCheckpoint(checkpoint).replace(/## Agent Ledger\n[^#]*/, '');
    expect(text).not.toContain('Ledger');
    const parsed = parseCheckpoint(text, FILE);
    expect(parsed.totals).toStrictEqual({
      total_tokens: 3540,
      input_tokens: 1200,
      output_tokens: 2300,
      cost: '0.0375',
    });
    expect(parsed.agents).toStrictEqual([
      { agent_name: 'concept_expansion', status: 'completed', duration: 118.25 },
      { agent_name: 'fact_checker', status: 'failed', output_file: 'fact_checker_notes.md' },
    ]);
    expect(renderCheckpoint(parsed)).toBe(text);
  });

  it('reads a hand-edited file: other bullets, spacing and indentation, key case, unknown keys and sections, CRLF head', () => {
    const text = [
      '# Phase Checkpoint: Concept Expansion',
      '',
      '## METADATA',
      '* Phase number: 1',
      '* phase name :  Concept Expansion',
      '* Status: Completed',
      '* Started: 2024-11-24T10:00:00Z',
      '* Completed: 2024-11-24T10:02:00Z',
      '* Duration:   120.5s',
      '* Retry Count: 1',
      '* Execution Mode: parallel',
      '* Updated: 2024-11-24T10:02:01.000Z',
      '* Reviewer: bob',
      '',
      '## Agents in Phase',
      '+ concept_expansion:   completed',
      '  + fact_checker: FAILED',
      '',
      '## Hand Notes',
      '',
      'The second agent needs a look.',
      '',
      '## Next Phase',
      '- Phase Number: 2',
      '',
      '## errors',
      '* fact_checker timed out after 30s',
      '* retry with a smaller prompt',
      '',
    ].join('\r\n');
    // The Next Phase section names no phase: the record has none (the renderer writes "None" then).
    const { next_phase_name: _unnamed, ...named } = checkpoint;
    expect(parseCheckpoint(text, FILE)).toStrictEqual({
      ...named,
      agents: [
        { agent_name: 'concept_expansion', status: 'completed' },
        { agent_name: 'fact_checker', status: 'failed' },
      ],
    });
  });

  it('falls back to the completed time when a hand-written file has no Updated line', () => {
    const text = withLine(renderCheckpoint(checkpoint), '- Updated: 2024-11-24T10:02:01.000Z\n', '');
    expect(parseCheckpoint(text, FILE).updated).toBe('2024-11-24T10:02:00Z');
  });

  it('rejects a status outside the vocabulary as CORRUPT_FILE naming the file and line', () => {
    const text = withLine(renderCheckpoint(checkpoint), '- Status: completed', '- Status: done');
    expect(thrown(() => parseCheckpoint(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^p\/sessions\/s\/phase_1_concept\/checkpoint\.md:7: "Status" is "done", expected one of pending, in_progress, completed, failed, skipped, requires_retry/,
      ),
    });
  });

  it('rejects a phase number that is not a number, or not 1 to 99, as CORRUPT_FILE', () => {
    for (const [value, expected] of [
      ['one', 'a whole number >= 0'],
      ['100', 'a phase number from 1 to 99'],
      ['0', 'a phase number from 1 to 99'],
    ]) {
      const text = withLine(renderCheckpoint(checkpoint), '- Phase Number: 1', `- Phase Number: ${value}`);
      expect(thrown(() => parseCheckpoint(text, FILE)).message).toContain(
        `checkpoint.md:5: "Phase Number" is "${value}", expected ${expected}`,
      );
    }
  });

  it('rejects an agent item without a known status as CORRUPT_FILE at the item', () => {
    const text = withLine(renderCheckpoint(checkpoint), '- fact_checker: failed', '- fact_checker - broken');
    expect(thrown(() => parseCheckpoint(text, FILE)).message).toMatch(
      /checkpoint\.md:18: agent item "fact_checker - broken" is not "\{agent_name\}: \{pending\|in_progress\|completed\|failed\|skipped\}"/,
    );
  });

  it('rejects ledger tokens that are not a whole number as CORRUPT_FILE at the row', () => {
    const text = withLine(renderCheckpoint(checkpoint), '| 40     |', '| many   |');
    expect(thrown(() => parseCheckpoint(text, FILE)).message).toMatch(
      /checkpoint\.md:33: tokens of agent fact_checker is "many", expected a whole number/,
    );
  });

  it('rejects a ledger cost that is not a number as CORRUPT_FILE at the row', () => {
    const text = withLine(renderCheckpoint(checkpoint), '| $0.0375 |', '| $lots   |');
    expect(thrown(() => parseCheckpoint(text, FILE)).message).toMatch(
      /checkpoint\.md:32: cost of agent concept_expansion is "\$lots", expected a number/,
    );
  });

  it('rejects a negative retry count as CORRUPT_FILE', () => {
    const text = withLine(renderCheckpoint(checkpoint), '- Retry Count: 1', '- Retry Count: -1');
    expect(thrown(() => parseCheckpoint(text, FILE)).message).toContain(
      'checkpoint.md:11: "Retry Count" is "-1", expected a whole number >= 0',
    );
  });

  it('rejects a file without the Agents in Phase section as CORRUPT_FILE', () => {
    const text = withLine(renderCheckpoint(checkpoint), '## Agents in Phase', '## Agents');
    expect(thrown(() => parseCheckpoint(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining('checkpoint.md:1: missing section "## Agents in Phase"'),
    });
  });

  it('shows input plus output in the ledger Tokens column when no total was given, and reads it back as no total', () => {
    const record: CheckpointRecord = {
      ...checkpoint,
      agents: [{ agent_name: 'writer', status: 'completed', input_tokens: 7, output_tokens: 5 }],
    };
    const text = renderCheckpoint(record);
    expect(text).toContain(
      '| writer | writer.md   | 12     | 7            | 5             | -    | -        |',
    );
    expect(parseCheckpoint(text, FILE).agents).toStrictEqual([
      { agent_name: 'writer', status: 'completed', input_tokens: 7, output_tokens: 5 },
    ]);
  });

  it('keeps a ledger total that differs from input plus output', () => {
    const text = withLine(renderCheckpoint(checkpoint), '| 3500   |', '| 3600   |');
    expect(parseCheckpoint(text, FILE).agents[0]).toStrictEqual({
      agent_name: 'concept_expansion',
      status: 'completed',
      tokens: 3600,
      input_tokens: 1200,
      output_tokens: 2300,
      cost: '0.0375',
      duration: 118.25,
    });
  });

  it('reads a ledger cost edited by hand without "$", with trailing zeros or an exponent as exact decimal text', () => {
    for (const [cell, cost] of [
      ['0.0500', '0.05'],
      ['.5', '0.5'],
      ['1e-3', '0.001'],
      ['$2.50', '2.5'],
    ]) {
      const text = withLine(renderCheckpoint(checkpoint), '| $0.0375 |', `| ${cell} |`);
      expect(parseCheckpoint(text, FILE).agents[0]?.cost).toBe(cost);
    }
  });

  it('writes durations without an exponent', () => {
    const text = renderCheckpoint({ ...checkpoint, duration: 1e-7 });
    expect(text).toContain('- Duration: 0.0000001s\n');
    expect(parseCheckpoint(text, FILE).duration).toBe(1e-7);
  });

  it('rejects an agent name that breaks the identifier rules as CORRUPT_FILE at the item', () => {
    const text = withLine(
      renderCheckpoint(checkpoint),
      '- fact_checker: failed',
      '- ../../canary/agent.md: failed',
    );
    expect(thrown(() => parseCheckpoint(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^p\/sessions\/s\/phase_1_concept\/checkpoint\.md:18: agent name "\.\.\/\.\.\/canary\/agent\.md" must be /,
      ),
    });
  });

  it('rejects a ledger output file name that leaves the phase folder as CORRUPT_FILE at the row', () => {
    const text = withLine(
      renderCheckpoint(checkpoint),
      '| fact_checker_notes.md |',
      '| ../../canary/agent.md |',
    );
    expect(thrown(() => parseCheckpoint(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^p\/sessions\/s\/phase_1_concept\/checkpoint\.md:33: output file of agent fact_checker "\.\.\/\.\.\/canary\/agent\.md" must be /,
      ),
    });
  });

  it(
    'round-trips every checkpoint: parse(render(x)) equals x',
    () => {
      fc.assert(
        fc.property(checkpointRecord, (record) => {
          expect(parseCheckpoint(renderCheckpoint(record), FILE)).toStrictEqual(record);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );
});
