import fc from 'fast-check';
import type { RootContent } from 'mdast';
import { describe, expect, it } from 'vitest';
import { renderAgentOutput } from '../../../src/checkpoint/formats/agent-output.js';
import { parseCheckpoint, renderCheckpoint } from '../../../src/checkpoint/formats/checkpoint.js';
import {
  bulletList,
  canonicalSections,
  codeBlock,
  heading,
  keyValueList,
  listItems,
  type ParsedHead,
  parseHead,
  parseHeadThroughMdast,
  plainMarkdown,
  type Section,
  serializeNodes,
  table,
  tableRows,
} from '../../../src/checkpoint/formats/markdown.js';
import { renderUserFeedback } from '../../../src/checkpoint/formats/user-feedback.js';

/**
 * plainMarkdown writes headings, tight lists and tables without the mdast serialiser, for the text it
 * would write unchanged, and hands a heading or list item of any other text to the serialiser alone.
 * Wherever it answers, its answer must be the serialiser's, byte for byte: over an alphabet of every
 * character its rule lets through and the ones next to them that the serialiser escapes in some
 * places (a `w` before a dot, spaces, a leading dot or dash, digits before a dot), and characters
 * beyond the rule (markup, line breaks) that only the serialiser writes.
 */
const RULE = ['a', 'w', 'W', 'Z', '0', '1', '9', ' ', '_', '.', ':', '-', '$', ','];
const BEYOND = [
  '#',
  '*',
  '[',
  ']',
  '/',
  '@',
  '|',
  '<',
  '\\',
  '\n',
  '`',
  '&',
  '!',
  '(',
  ')',
  '+',
  '>',
  '~',
  '=',
];
const chars = (alphabet: string[]) =>
  fc.array(fc.constantFrom(...alphabet), { maxLength: 12 }).map((list) => list.join(''));
// Mostly texts over the rule's own characters, where the two must agree; some with others, which it refuses.
const text = fc.oneof(
  { arbitrary: chars(RULE), weight: 15 },
  { arbitrary: chars([...RULE, ...BEYOND]), weight: 5 },
);
const gridOf = (text: fc.Arbitrary<string>) =>
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 })).chain(([columns, rows]) =>
    fc.tuple(
      fc.array(text, { minLength: columns, maxLength: columns }),
      fc.array(fc.array(text, { minLength: columns, maxLength: columns }), {
        minLength: rows,
        maxLength: rows,
      }),
    ),
  );
const blockOf = (text: fc.Arbitrary<string>): fc.Arbitrary<RootContent> =>
  fc.oneof(
    gridOf(text).map(([header, rows]) => table(header, rows)),
    fc
      .tuple(fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>, text)
      .map(([depth, value]) => heading(depth, value)),
    fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 4 }).map((entries) => keyValueList(entries)),
    fc.array(text, { minLength: 1, maxLength: 4 }).map((lines) => bulletList(lines)),
  );
const block = blockOf(text);

describe('plainMarkdown', () => {
  it('writes exactly what the serialiser writes, wherever it answers', () => {
    let answered = 0;
    let beyond = 0;
    fc.assert(
      fc.property(fc.array(block, { minLength: 1, maxLength: 4 }), (nodes) => {
        const plain = plainMarkdown(nodes);
        if (plain === undefined) return;
        answered++;
        if (
          BEYOND.some((character) => JSON.stringify(nodes).includes(JSON.stringify(character).slice(1, -1)))
        )
          beyond++;
        expect(plain).toBe(serializeNodes(nodes));
      }),
      { numRuns: 20_000 },
    );
    // The property is not vacuous: many documents take the fast path, many with text beyond the rule.
    expect(answered).toBeGreaterThan(3_000);
    expect(beyond).toBeGreaterThan(1_000);
  });

  it('writes one text as the serialiser does, as a heading and as a list item, for every short text of the rule', () => {
    let answered = 0;
    fc.assert(
      fc.property(chars(RULE), (value) => {
        for (const nodes of [[heading(2, value)], [bulletList([value])], [keyValueList([['Key', value]])]]) {
          const plain = plainMarkdown(nodes);
          if (plain === undefined) continue;
          answered++;
          expect(plain).toBe(serializeNodes(nodes));
        }
      }),
      { numRuns: 20_000 },
    );
    expect(answered).toBeGreaterThan(5_000);
  });

  it('answers for single values made of the whole rule, and leaves the rest to the serialiser', () => {
    const samples = [
      'Agent: writer_2.v1',
      'Executed: 2024-11-24T10:00:00.000Z',
      'Phase: 1 - Concept Expansion',
      'Duration: 67.5s',
      'Duration: -',
      'Content SHA-256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    ];
    for (const value of samples) {
      const nodes = [heading(2, 'Metadata'), bulletList([value])];
      expect(plainMarkdown(nodes), value).toBe(serializeNodes(nodes));
    }
    // Other texts are the serialiser's own, item by item.
    for (const value of [
      'www.example',
      'a  b',
      ' a',
      'a ',
      '[x]',
      'a|b',
      'http://x',
      '#',
      '*a*',
      '',
      '1. a',
    ]) {
      const nodes = [bulletList(['Key: plain', value, 'Other: plain']), heading(3, value)];
      expect(plainMarkdown(nodes), JSON.stringify(value)).toBe(serializeNodes(nodes));
    }
    const ledger = table(['Agent', 'Cost', 'Duration'], [['writer_2', '$0.0375', '-']]);
    expect(plainMarkdown([ledger])).toBe(
      '| Agent    | Cost    | Duration |\n| -------- | ------- | -------- |\n| writer_2 | $0.0375 | -        |\n',
    );
    expect(plainMarkdown([ledger])).toBe(serializeNodes([ledger]));
    // A table cell is never written alone: a cell beyond the rule sends the whole document to the serialiser.
    expect(plainMarkdown([table(['A'], [['a|b']])])).toBeUndefined();
  });

  it('takes the fast path for a typical agent output and review, with the bytes the serialiser gives', () => {
    const output = {
      agent_name: 'market_analyst',
      phase_num: 2,
      phase_name: 'Market Research',
      executed: '2024-11-24T10:00:00.000Z',
      duration: 67.5,
      status: 'completed' as const,
      model: 'claude-sonnet-4',
      input_tokens: 1200,
      output_tokens: 800,
      tools_used: [],
      sha256: 'ab'.repeat(32),
      content: '# Findings\n\n- one\n',
    };
    const text = renderAgentOutput(output);
    const head = text.slice(0, text.indexOf('## Output'));
    expect(head).toMatch(/^# Agent Output: market_analyst\n\n## Metadata\n\n- Agent: market_analyst\n/);
    expect(text.endsWith('## Output\n\n# Findings\n\n- one\n')).toBe(true);
    const feedback = renderUserFeedback({
      phase_name: 'Market Research',
      reviewed: true,
      approved: true,
      timestamp: '2024-11-24T10:05:00.000Z',
      requested_changes: [],
      action: 'approved',
      retry_count: 0,
      comments: 'Fine.',
    });
    expect(feedback).toContain('## User Comments\n\nFine.');
  });

  it('reads back what it writes exactly as the markdown parser does: sections, lines, items and rows', () => {
    let read = 0;
    fc.assert(
      // Texts of the rule only, with empty ones left out: what the server writes, every block read without the parser.
      fc.property(
        fc.array(blockOf(chars(RULE).filter((value) => value !== '')), { minLength: 1, maxLength: 6 }),
        (nodes) => {
          const text = plainMarkdown([heading(2, 'Section'), ...nodes]);
          if (text === undefined) return;
          expect(view(parseHead(text))).toEqual(view(parseHeadThroughMdast(text)));
          if (canonicalSections(text) !== undefined) read++;
        },
      ),
      { numRuns: 20_000 },
    );
    // Not vacuous: hundreds of documents take the parser-free path (the others hold a text it escapes).
    expect(read).toBeGreaterThan(500);
  });

  it('writes and reads the checkpoint of a phase of several agents without the markdown parser', () => {
    const checkpoint = {
      phase_num: 2,
      phase_name: 'Market Research',
      status: 'completed' as const,
      started: '2024-11-24T10:00:00.000Z',
      completed: '2024-11-24T10:02:00.000Z',
      duration: 120,
      retry_count: 0,
      execution_mode: 'parallel' as const,
      updated: '2024-11-24T10:02:00.000Z',
      agents: ['market_analyst', 'competitor_scout', 'trend_reader'].map((agent_name, i) => ({
        agent_name,
        status: 'completed' as const,
        input_tokens: 1000 + i,
        output_tokens: 500,
        duration: 30 + i,
      })),
      next_phase: 3,
      next_phase_name: 'Niche Selection',
      errors: [],
    };
    const text = renderCheckpoint(checkpoint);
    // Its one-line lists of the agents' outputs and times, commas and all, are in the fast path's alphabet.
    expect(text).toContain('- Agent Outputs: market_analyst.md, competitor_scout.md, trend_reader.md\n');
    expect(text).toContain(
      '- Agent Execution Times: market_analyst: 30s, competitor_scout: 31s, trend_reader: 32s\n',
    );
    expect(canonicalSections(text)).toBeDefined();
    expect(view(parseHead(text))).toEqual(view(parseHeadThroughMdast(text)));
    expect(parseCheckpoint(text, 'checkpoint.md')).toEqual(checkpoint);
  });

  it('reads any head made of lines like its own as the markdown parser does, plain or not', () => {
    // Not only what plainMarkdown writes: headings, bullets, rows and delimiters of any width, no blank
    // line between blocks or one or two, text of the rule or with markup, in any order. Where canonicalSections answers
    // it must answer as the parser does; where it does not, the parser reads.
    const word = fc.oneof(
      // A few words again and again: sections of one title, repeated items.
      { weight: 2, arbitrary: fc.constantFrom('Metadata', 'metadata', 'Status', 'Status: done') },
      { weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,6}[A-Za-z0-9]$/) },
      { weight: 2, arbitrary: chars(RULE) },
      { weight: 1, arbitrary: chars([...RULE, '#', '|', '*', '`', '\\', '<', '\t']) },
    );
    const cellsOf = (columns: number) => fc.array(word, { minLength: columns, maxLength: columns });
    const rowOf = (cells: string[]) => `| ${cells.join(' | ')} |`;
    const line = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 4 }), word).map(([depth, text]) => `${'#'.repeat(depth)} ${text}`),
      word.map((text) => `- ${text}`),
      word.map((text) => `* ${text}`),
      word.map((text) => `  - ${text}`),
      fc.integer({ min: 1, max: 3 }).chain(cellsOf).map(rowOf),
      fc.integer({ min: 1, max: 3 }).map((columns) => rowOf(Array(columns).fill('---'))),
      word,
    );
    const block = fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.integer({ min: 1, max: 3 }), word)
          .map(([d, text]) => `${'#'.repeat(d)} ${text}`),
      },
      {
        weight: 3,
        arbitrary: fc
          .array(word, { minLength: 1, maxLength: 3 })
          .map((items) => items.map((item) => `- ${item}`).join('\n')),
      },
      {
        weight: 3,
        arbitrary: fc
          .integer({ min: 1, max: 3 })
          .chain((columns) =>
            fc
              .tuple(cellsOf(columns), fc.array(cellsOf(columns), { maxLength: 2 }))
              .map(([header, rows]) =>
                [rowOf(header), rowOf(Array(columns).fill('-'.repeat(3))), ...rows.map(rowOf)].join('\n'),
              ),
          ),
      },
      {
        weight: 2,
        arbitrary: fc.array(line, { minLength: 1, maxLength: 4 }).map((lines) => lines.join('\n')),
      },
    );
    let plain = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(block, fc.constantFrom('\n\n', '\n\n', '\n\n', '\n\n\n', '\n')), {
          minLength: 1,
          maxLength: 6,
        }),
        (blocks) => {
          const text = blocks.map(([lines, gap]) => `${lines}${gap}`).join('');
          expect(view(parseHead(text)), JSON.stringify(text)).toEqual(view(parseHeadThroughMdast(text)));
          if (canonicalSections(text) !== undefined) plain++;
        },
      ),
      { numRuns: 5_000 },
    );
    // Not vacuous: many of them take the parser-free path.
    expect(plain).toBeGreaterThan(200);
    // A title given twice: the first section keeps it, the second still takes the blocks after it.
    const twice =
      '# T\n\n## Metadata\n\n- Status: done\n\n## metadata\n\n- Status: failed\n\n| A |\n| - |\n| 1 |\n';
    expect(canonicalSections(twice)).toBeDefined();
    expect(view(parseHead(twice))).toEqual(view(parseHeadThroughMdast(twice)));
    expect(listItems(parseHead(twice).sections.get('metadata') as Section)).toEqual([
      { text: 'Status: done', line: 5 },
    ]);
  });

  it('leaves a head edited by hand to the markdown parser, and reads it as the parser does', () => {
    const written = plainMarkdown([
      heading(1, 'Session Manifest'),
      heading(2, 'Metadata'),
      keyValueList([
        ['Session ID', 's1'],
        ['Status', 'in_progress'],
      ]),
      heading(2, 'Phase Status'),
      table(['Phase', 'Name', 'Duration'], [['1', 'Concept Expansion', '-']]),
    ]);
    expect(written).toBeDefined();
    expect(canonicalSections(written ?? '')).toBeDefined();
    const edits = [
      (text: string) => text.replaceAll('\n', '\r\n'),
      (text: string) => text.replace('- Status', '* Status'),
      (text: string) => text.replace('## Phase Status\n', '## Phase Status\n\n'),
      (text: string) => text.replace('- Status: in_progress', '- Status: in\\_progress'),
      (text: string) => text.replace('- Status: in_progress', '- Status: in_progress\n  more'),
      (text: string) => text.replace('| 1     |', '|1|'),
      (text: string) => text.replace('## Metadata', '## Metadata ##'),
      (text: string) => `${text}\n    indented code\n`,
    ];
    for (const edit of edits) {
      const text = edit(written ?? '');
      expect(canonicalSections(text), JSON.stringify(text)).toBeUndefined();
      expect(view(parseHead(text))).toEqual(view(parseHeadThroughMdast(text)));
    }
  });
});

/** What the readers of a head use: the title, each section's title and line, its items, table rows and code. */
function view(head: ParsedHead) {
  return {
    title: head.title,
    sections: [...head.sections].map(([key, section]) => ({
      key,
      title: section.title,
      line: section.line,
      items: listItems(section),
      rows: tableRows(section),
      code: codeBlock(section),
    })),
  };
}
