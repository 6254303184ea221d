import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AgentOutputRecord,
  parseAgentOutput,
  parseAgentOutputHead,
  renderAgentOutput,
} from '../../../src/checkpoint/formats/agent-output.js';
import { splitVerbatim } from '../../../src/checkpoint/formats/markdown.js';
import { normalizeStackTrace } from '../../../src/checkpoint/session/request-checks.js';
import {
  agentOutputRecord,
  markdownText,
  PROPERTY_TIMEOUT,
  RUNS,
  stackTrace,
  verbatimText,
} from '../../helpers/arbitraries.js';
import { thrown } from '../../helpers/errors.js';

const FILE = 'p/sessions/s/phase_1_concept/concept_expansion.md';

const output: AgentOutputRecord = {
  agent_name: 'concept_expansion',
  phase_num: 1,
  phase_name: 'Concept Expansion',
  executed: '2024-11-24T10:02:00.000Z',
  duration: 118.25,
  status: 'completed',
  model: 'claude-sonnet-4-5',
  input_tokens: 1200,
  output_tokens: 2300,
  tools_used: ['web_search', 'calculator'],
  sha256: 'a3f5c2d1e4b6978812345678901234567890abcdefabcdefabcdefabcdef0123',
  content: '# Concept\n\n## Metadata\n\n- Approved: true\n\n  trailing spaces and a blank line  \n\n',
};

const failed: AgentOutputRecord = {
  agent_name: 'fact_checker',
  phase_num: 2,
  phase_name: 'Market Research',
  executed: '2024-11-24T10:05:00.000Z',
  status: 'failed',
  tools_used: [],
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  error_type: 'TimeoutError',
  error_message: 'gave up after 30s',
  stack_trace: 'TimeoutError: gave up after 30s\n    at check (checker.js:10:5)\n\n## Output',
  content: '',
};

function withLine(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe('{agent_name}.md', () => {
  it('renders metadata and execution details, then the output verbatim as the last section', () => {
    expect(renderAgentOutput(output)).toMatchInlineSnapshot(`
      "# Agent Output: concept_expansion

      ## Metadata

      - Agent: concept_expansion
      - Phase: 1 - Concept Expansion
      - Executed: 2024-11-24T10:02:00.000Z
      - Duration: 118.25s
      - Status: completed

      ## Execution Details

      - Model: claude-sonnet-4-5
      - Input Tokens: 1200
      - Output Tokens: 2300
      - Tools Used: \\[web_search, calculator]
      - Content SHA-256: a3f5c2d1e4b6978812345678901234567890abcdefabcdefabcdefabcdef0123

      ## Output

      # Concept

      ## Metadata

      - Approved: true

        trailing spaces and a blank line  

      "
    `);
  });

  it('renders a failure with error details and the stack trace as an indented code block', () => {
    expect(renderAgentOutput(failed)).toMatchInlineSnapshot(`
      "# Agent Output: fact_checker

      ## Metadata

      - Agent: fact_checker
      - Phase: 2 - Market Research
      - Executed: 2024-11-24T10:05:00.000Z
      - Duration: -
      - Status: failed

      ## Execution Details

      - Model: -
      - Input Tokens: -
      - Output Tokens: -
      - Tools Used: none
      - Content SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

      ## Error Details

      - Error Type: TimeoutError
      - Error Message: gave up after 30s

      <!---->

          TimeoutError: gave up after 30s
              at check (checker.js:10:5)

          ## Output

      ## Output

      "
    `);
  });

  it('reads back exactly what it rendered, with and without error details', () => {
    expect(parseAgentOutput(renderAgentOutput(output), FILE)).toStrictEqual(output);
    expect(parseAgentOutput(renderAgentOutput(failed), FILE)).toStrictEqual(failed);
  });

  it('cuts the file at the first "## Output" line: a stack trace line "## Output" cannot end the head', () => {
    const { head, body } = splitVerbatim(renderAgentOutput(failed), 'Output');
    expect(body).toBe('');
    expect(parseAgentOutputHead(head, FILE).stack_trace).toBe(failed.stack_trace);
  });

  it('reads a hand-edited file: other bullets, spacing, key case, unknown keys and sections, CRLF head', () => {
    const head = [
      '# Agent Output: concept_expansion',
      '',
      '## Review',
      '* Looked at by: carol',
      '',
      '## metadata',
      '+ AGENT: concept_expansion',
      '+ Phase:   1 - Concept Expansion',
      '+ Executed: 2024-11-24T10:02:00.000Z',
      '+ Duration: 118.25s',
      '+ Status: Completed',
      '+ Mood: cheerful',
      '',
      '## Execution  Details',
      '*  model :  claude-sonnet-4-5',
      '* Input Tokens: 1200',
      '* Output Tokens: 2300',
      '* Tools Used: [web_search,calculator]',
      '* Content SHA-256: A3F5C2D1E4B6978812345678901234567890ABCDEFABCDEFABCDEFABCDEF0123',
      '',
      '## Output',
      '',
    ].join('\r\n');
    expect(parseAgentOutput(`${head}${output.content}`, FILE)).toStrictEqual(output);
  });

  it('reads "none" and "-" for tools, model and tokens as absent', () => {
    const text = withLine(renderAgentOutput(failed), '- Tools Used: none', '- Tools Used: -');
    const parsed = parseAgentOutput(text, FILE);
    expect(parsed.tools_used).toStrictEqual([]);
    expect(parsed).not.toHaveProperty('model');
    expect(parsed).not.toHaveProperty('input_tokens');
  });

  it('rejects a file without "## Output" as CORRUPT_FILE naming the file', () => {
    const text = withLine(renderAgentOutput(output), '## Output\n', '## Result\n');
    expect(thrown(() => parseAgentOutput(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^p\/sessions\/s\/phase_1_concept\/concept_expansion\.md:1: missing section "## Output"/,
      ),
    });
  });

  it('rejects a Phase that does not start with a phase number as CORRUPT_FILE at its line', () => {
    const text = withLine(
      renderAgentOutput(output),
      '- Phase: 1 - Concept Expansion',
      '- Phase: Concept Expansion',
    );
    expect(thrown(() => parseAgentOutput(text, FILE)).message).toContain(
      'concept_expansion.md:6: "Phase" is "Concept Expansion", expected "{n} - {Phase Name}" with n from 1 to 99',
    );
  });

  it('rejects an agent status outside the vocabulary as CORRUPT_FILE at its line', () => {
    const text = withLine(renderAgentOutput(output), '- Status: completed', '- Status: requires_retry');
    expect(thrown(() => parseAgentOutput(text, FILE)).message).toContain(
      'concept_expansion.md:9: "Status" is "requires_retry", expected one of pending, in_progress, completed, failed, skipped',
    );
  });

  it('rejects token counts that are not whole numbers as CORRUPT_FILE at their line', () => {
    for (const tokens of ['12.5', '-3', 'lots', '1e400']) {
      const text = withLine(renderAgentOutput(output), '- Input Tokens: 1200', `- Input Tokens: ${tokens}`);
      expect(thrown(() => parseAgentOutput(text, FILE))).toMatchObject({
        code: 'CORRUPT_FILE',
        message: expect.stringContaining(`concept_expansion.md:14: "Input Tokens" is "${tokens}"`),
      });
    }
  });

  it('rejects an Executed time that is not RFC 3339 as CORRUPT_FILE', () => {
    const text = withLine(
      renderAgentOutput(output),
      '- Executed: 2024-11-24T10:02:00.000Z',
      '- Executed: noon',
    );
    expect(thrown(() => parseAgentOutput(text, FILE)).message).toContain(
      'concept_expansion.md:7: "Executed" is "noon", expected an RFC 3339 timestamp',
    );
  });

  it('rejects a file without the Content SHA-256 item as CORRUPT_FILE', () => {
    const text = renderAgentOutput(output).replace(/- Content SHA-256: .*\n/, '');
    expect(thrown(() => parseAgentOutput(text, FILE)).message).toContain(
      'concept_expansion.md:11: section "## Execution Details" has no "- Content SHA-256:" item',
    );
  });

  it(
    'round-trips every agent output: parse(render(x)) equals x',
    () => {
      fc.assert(
        fc.property(agentOutputRecord, (record) => {
          expect(parseAgentOutput(renderAgentOutput(record), FILE)).toStrictEqual(record);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'keeps any unicode output content byte for byte',
    () => {
      fc.assert(
        fc.property(verbatimText, (content) => {
          expect(parseAgentOutput(renderAgentOutput({ ...output, content }), FILE).content).toBe(content);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'keeps output content shaped like markdown structure byte for byte',
    () => {
      fc.assert(
        fc.property(markdownText, (content) => {
          expect(parseAgentOutput(renderAgentOutput({ ...failed, content }), FILE).content).toBe(content);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'keeps every normalised stack trace exact',
    () => {
      fc.assert(
        fc.property(stackTrace, (trace) => {
          expect(
            parseAgentOutput(renderAgentOutput({ ...failed, stack_trace: trace }), FILE).stack_trace,
          ).toBe(trace);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe('normalizeStackTrace', () => {
  it('turns line ends into LF and drops trailing spaces and blank edge lines', () => {
    expect(normalizeStackTrace('\r\n  \nError: x  \r    at f\t\r\n\r\n    at g\n\n')).toBe(
      'Error: x\n    at f\n\n    at g',
    );
  });

  it('keeps the indentation of the first line', () => {
    expect(normalizeStackTrace('   at f\n  at g')).toBe('   at f\n  at g');
  });

  it('turns NUL into U+FFFD, as a markdown reader would', () => {
    expect(normalizeStackTrace('a\u0000b')).toBe('a\uFFFDb');
  });

  it('returns undefined for a trace of only whitespace', () => {
    expect(normalizeStackTrace(' \r\n\t\n')).toBeUndefined();
  });

  it(
    'is idempotent',
    () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (trace) => {
          const once = normalizeStackTrace(trace);
          expect(once === undefined ? undefined : normalizeStackTrace(once)).toBe(once);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );
});
