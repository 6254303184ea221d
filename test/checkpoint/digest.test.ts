import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/checkpoint/model/digest.js';
import { PROPERTY_TIMEOUT, RUNS } from '../helpers/arbitraries.js';

describe('sha256', () => {
  it(
    'is the digest a Hash object gives, of any string as UTF-8 (lone surrogates included) and of any bytes',
    () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }),
          (text, bytes) => {
            const buffer = Buffer.from(bytes);
            expect(sha256(text, 'hex')).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
            expect(sha256(buffer, 'base64url')).toBe(createHash('sha256').update(buffer).digest('base64url'));
          },
        ),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it('digests a lone surrogate as the replacement character, and the empty string as SHA-256 of nothing', () => {
    expect(sha256('\uD800', 'hex')).toBe(sha256('\uFFFD', 'hex'));
    expect(sha256('', 'hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
