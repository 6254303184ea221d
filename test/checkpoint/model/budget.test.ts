import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedSize, fairCap, sliceEnd } from '../../../src/checkpoint/model/budget.js';
import { PROPERTY_TIMEOUT, RUNS } from '../../helpers/arbitraries.js';

/** Characters budget.ts measures at once (its CHUNK): a pair across this boundary is the case to get right. */
const CHUNK = 16_384;

/**
 * One character of every cost class: plain, escaped as two bytes, escaped as \u00XX, two and three
 * UTF-8 bytes, a surrogate pair, and lone halves (escaped as \uXXXX by JSON.stringify).
 */
const ALPHABET = [
  'a',
  '~',
  '"',
  '\\',
  '\n',
  '\t',
  '\b',
  '\f',
  '\r',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '\u07ff',
  '\u0800',
  '€',
  '\uffff',
  '😀',
  '𝄞',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
];

/** What a response pays for `text`: its bytes once JSON-encoded as UTF-8, without the quotes. */
function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** The width of the character at `index`: 2 for a whole surrogate pair, else 1. */
function widthAt(text: string, index: number): number {
  return isHigh(text.charCodeAt(index)) && isLow(text.charCodeAt(index + 1)) ? 2 : 1;
}

/** Where each character of `text` starts (a pair is one character), and the JSON bytes before it. */
function measure(text: string): { starts: number[]; before: number[] } {
  const starts: number[] = [];
  const before: number[] = [];
  let size = 0;
  for (let i = 0; i < text.length; i += widthAt(text, i)) {
    starts.push(i);
    before.push(size);
    size += jsonBytes(text.slice(i, i + widthAt(text, i)));
  }
  starts.push(text.length);
  before.push(size);
  return { starts, before };
}

const measured = new Map<string, ReturnType<typeof measure>>();

/** The contract of sliceEnd, character by character: the longest slice that fits, never half a pair. */
function longestSlice(text: string, start: number, maxChars: number, maxBytes: number): number {
  let table = measured.get(text);
  if (table === undefined) {
    table = measure(text);
    measured.set(text, table);
  }
  const { starts, before } = table;
  const first = starts.indexOf(start);
  if (first === -1) throw new Error(`${start} is inside a surrogate pair`);
  const limit = Math.min(text.length, start + maxChars);
  let last = first;
  while (
    last + 1 < starts.length &&
    (starts[last + 1] as number) <= limit &&
    (before[last + 1] as number) - (before[first] as number) <= maxBytes
  )
    last++;
  // At least one character, so that paging always advances.
  if (last === first && start < text.length) last++;
  return starts[last] as number;
}

/** Texts longer than three chunks, with surrogate pairs across each chunk boundary: from odd starts one splits. */
function longTexts(): string[] {
  return ['a', 'a"é\n€', '\u0001b'].map((filler) => {
    let text = '';
    for (const boundary of [CHUNK, 2 * CHUNK, 3 * CHUNK]) {
      while (text.length < boundary - 6) text += filler;
      text = `${text.slice(0, boundary - 6)}${'😀'.repeat(6)}`;
    }
    return `${text}${filler.repeat(40)}`;
  });
}

describe('encodedSize', () => {
  it('is the JSON-encoded UTF-8 size of any text, lone surrogate halves included', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALPHABET), { maxLength: 60 }), (characters) => {
        const text = characters.join('');
        expect(encodedSize(text)).toBe(jsonBytes(text));
      }),
      RUNS,
    );
  });

  it('counts a surrogate pair across a chunk boundary as one character of 4 bytes, not two escapes', () => {
    for (const text of longTexts()) {
      expect(encodedSize(text)).toBe(jsonBytes(text));
      expect(encodedSize(text.slice(1))).toBe(jsonBytes(text.slice(1)));
    }
    const split = `${'a'.repeat(CHUNK - 1)}😀`;
    expect(encodedSize(split)).toBe(CHUNK - 1 + 4);
  });
});

describe('sliceEnd', () => {
  it('ends the longest slice within max_chars and max_bytes, never inside a surrogate pair', () => {
    const texts = [ALPHABET.join(''), [...ALPHABET].reverse().join(''), 'a😀bc😀😀d\r\n𝄞e"\\\u0007 ü 😀'];
    for (const text of texts) {
      for (let start = 0; start <= text.length; start += widthAt(text, start)) {
        for (let maxChars = 0; maxChars <= text.length + 1; maxChars++) {
          for (let maxBytes = 0; maxBytes <= jsonBytes(text) + 1; maxBytes++) {
            expect(sliceEnd(text, start, maxChars, maxBytes), `${start}, ${maxChars}, ${maxBytes}`).toBe(
              longestSlice(text, start, maxChars, maxBytes),
            );
          }
        }
      }
    }
  });

  it(
    'agrees with the one-character-at-a-time contract on any text, start and limits',
    () => {
      const cases = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 40 }).chain((characters) => {
        const text = characters.join('');
        return fc.tuple(
          fc.constant(text),
          fc.nat(text.length),
          fc.nat(text.length + 1),
          fc.nat(jsonBytes(text) + 1),
        );
      });
      fc.assert(
        fc.property(cases, ([text, at, maxChars, maxBytes]) => {
          // Callers never start inside a pair (get_agent_output refuses such an offset).
          const start = at > 0 && widthAt(text, at - 1) === 2 ? at - 1 : at;
          expect(sliceEnd(text, start, maxChars, maxBytes)).toBe(
            longestSlice(text, start, maxChars, maxBytes),
          );
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it('pages across a chunk boundary that falls inside a surrogate pair without splitting it', () => {
    for (const text of longTexts()) {
      for (let start = 0; start < 4; start++) {
        for (const boundary of [CHUNK, 2 * CHUNK, 3 * CHUNK]) {
          // Every byte budget that ends a page within a few characters of the boundary.
          const near = jsonBytes(text.slice(start, boundary - 8));
          for (let maxBytes = near; maxBytes < near + 40; maxBytes++) {
            const end = sliceEnd(text, start, text.length, maxBytes);
            expect(isHigh(text.charCodeAt(end - 1)) && isLow(text.charCodeAt(end))).toBe(false);
            expect(end).toBe(longestSlice(text, start, text.length, maxBytes));
          }
        }
      }
    }
  });

  it('joins pages of a long text to the exact text, each page within the budget', () => {
    for (const text of longTexts()) {
      for (const maxBytes of [CHUNK - 3, CHUNK + 1, 2 * CHUNK + 5]) {
        const pages: string[] = [];
        for (let offset = 0; offset < text.length; ) {
          const end = sliceEnd(text, offset, text.length, maxBytes);
          const page = text.slice(offset, end);
          expect(jsonBytes(page)).toBeLessThanOrEqual(maxBytes);
          expect(isLow(page.charCodeAt(0))).toBe(false);
          expect(isHigh(page.charCodeAt(page.length - 1))).toBe(false);
          pages.push(page);
          offset = end;
        }
        expect(pages.join('')).toBe(text);
      }
    }
  });

  it('takes one whole character, a pair included, when not even that fits, so paging advances', () => {
    expect(sliceEnd('😀x', 0, 1, 0)).toBe(2);
    expect(sliceEnd('"x', 0, 10, 1)).toBe(1);
    expect(sliceEnd('ab', 2, 10, 0)).toBe(2);
    expect(sliceEnd('', 0, 10, 10)).toBe(0);
  });
});

describe('fairCap', () => {
  it('is undefined when everything fits, else the largest common cap whose cut texts fit the budget', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000), { maxLength: 12 }), fc.nat(6_000), (sizes, budget) => {
        const cap = fairCap(sizes, budget);
        const total = (limit: number) => sizes.reduce((sum, size) => sum + Math.min(size, limit), 0);
        if (total(Number.POSITIVE_INFINITY) <= budget) {
          expect(cap).toBeUndefined();
          return;
        }
        if (cap === undefined) throw new Error(`no cap for ${sizes} in ${budget}`);
        expect(total(cap)).toBeLessThanOrEqual(budget);
        // One byte more for every text still cut would not fit.
        expect(total(cap + 1)).toBeGreaterThan(budget);
      }),
      RUNS,
    );
  });

  it('leaves small texts whole and gives the big ones an equal share of what is left', () => {
    expect(fairCap([10, 20, 30], 60)).toBeUndefined();
    expect(fairCap([10, 500, 900], 410)).toBe(200);
    expect(fairCap([100, 100], 101)).toBe(50);
    expect(fairCap([], 0)).toBeUndefined();
  });
});
