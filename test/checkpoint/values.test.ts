import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatNumber,
  isTimestamp,
  metadataValue,
  parseNumberText,
} from '../../src/checkpoint/model/values.js';
import { amount, RUNS } from '../helpers/arbitraries.js';
import { thrown } from '../helpers/errors.js';

describe('metadataValue', () => {
  it('returns the value trimmed, keeping inner spaces and tabs', () => {
    expect(metadataValue('model', '  gpt \t 4  ')).toBe('gpt \t 4');
  });

  it.each([
    ['a line feed', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['a NUL', 'a\u0000b'],
    ['an escape', 'a\u001bb'],
    ['a delete', 'a\u007fb'],
    ['a next line', 'a\u0085b'],
    ['a line separator', 'a\u2028b'],
    ['a paragraph separator', 'a\u2029b'],
  ])('rejects a value with %s as INVALID_ARGUMENT naming the field', (_name, value) => {
    expect(thrown(() => metadataValue('error_message', value))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^error_message must be a single line without control characters/),
    });
  });

  it('says where multi-line text goes: an argument of the same tool, by default the agent output', () => {
    expect(thrown(() => metadataValue('model', 'a\nb')).message).toBe(
      'model must be a single line without control characters; put long text in the agent output (output_content) instead',
    );
    expect(
      thrown(() => metadataValue('requested_changes[0]', 'a\nb', 'put the details in comments')).message,
    ).toBe(
      'requested_changes[0] must be a single line without control characters; put the details in comments',
    );
  });

  it('rejects an empty value and "-", which marks a missing value in the files', () => {
    for (const value of ['', '   ', ' - ']) {
      expect(thrown(() => metadataValue('model', value)).message).toBe(
        'model must not be empty or "-"; leave the field out instead',
      );
    }
  });

  it('rejects a lone surrogate', () => {
    expect(thrown(() => metadataValue('model', 'a\uD800')).message).toContain(
      'model contains a lone UTF-16 surrogate',
    );
  });
});

describe('numbers and timestamps', () => {
  it('writes every non-negative finite number in a form that reads back to the same value', () => {
    fc.assert(
      fc.property(amount, (value) => {
        expect(parseNumberText(formatNumber(value))).toBe(value);
      }),
      RUNS,
    );
  });

  it('reads no number out of text that is not one', () => {
    for (const text of ['', '-', '1,000', '0x10', '1e', 'NaN', 'Infinity', '1e400', '12k', '$5']) {
      expect(parseNumberText(text)).toBeUndefined();
    }
  });

  it('accepts RFC 3339 timestamps, refusing other forms and days that do not exist', () => {
    for (const text of [
      '2024-11-24T10:00:00Z',
      '2024-11-24T10:00:00.123456789+05:30',
      '2024-11-24 10:00:00z',
      '2024-02-29T23:59:59Z',
    ]) {
      expect(isTimestamp(text)).toBe(true);
    }
    for (const text of [
      '2024-11-24',
      '24/11/2024 10:00',
      '2024-13-01T00:00:00Z',
      '2024-11-24T10:00:00',
      '2023-02-29T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-11-24T24:00:00Z',
      'now',
    ]) {
      expect(isTimestamp(text)).toBe(false);
    }
  });
});
