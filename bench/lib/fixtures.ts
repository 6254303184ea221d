import { createHash } from 'node:crypto';

const WORDS = [
  'market',
  'customer',
  'pricing',
  'segment',
  'channel',
  'retention',
  'churn',
  'margin',
  'runway',
  'pilot',
  'interview',
  'survey',
  'competitor',
  'moat',
  'funnel',
  'cohort',
  'onboarding',
  'pipeline',
  'forecast',
  'hypothesis',
  'evidence',
  'risk',
  'assumption',
  'experiment',
  'metric',
  'revenue',
  'subscription',
];

/** Agent-like markdown prose of exactly `bytes` ASCII bytes; `seed` makes each text different. */
export function proseOfSize(bytes: number, seed = 0): string {
  const parts: string[] = [`## Findings ${seed}\n\n`];
  let length = parts[0]?.length ?? 0;
  for (let i = 0; length < bytes; i++) {
    const word = WORDS[(i * 7 + seed) % WORDS.length] ?? 'x';
    const piece = i % 97 === 96 ? '\n\n- ' : i % 13 === 12 ? '.\n' : ' ';
    parts.push(word, piece);
    length += word.length + piece.length;
  }
  return parts.join('').slice(0, bytes);
}

/**
 * About `bytes` of deeply nested lists and GFM tables, the shape on which the markdown parser is
 * slowest (superlinear): what a whole-file parse of a big output would choke on.
 */
export function nestedListsAndTables(bytes: number): string {
  const blocks: string[] = [];
  let length = 0;
  for (let block = 0; length < bytes; block++) {
    const lines: string[] = [];
    for (let depth = 0; depth < 8; depth++) {
      const indent = '  '.repeat(depth);
      lines.push(
        `${indent}- item ${block}.${depth} with *emphasis*, \`code\` and a [link](https://example.com/${block})`,
      );
      lines.push(`${indent}  1. ordered ${depth} | not | a | table`);
    }
    lines.push('', '| Segment | Size | Growth | Notes |', '|---|---:|:---:|---|');
    for (let row = 0; row < 6; row++) {
      lines.push(`| s${block}-${row} | ${block * 31 + row} | ${row}.5% | - nested? ${'*'.repeat(row)} |`);
    }
    lines.push('', '> - quoted list', '>   - deeper | cell |', '');
    const text = `${lines.join('\n')}\n`;
    blocks.push(text);
    length += text.length;
  }
  return blocks.join('').slice(0, bytes);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
