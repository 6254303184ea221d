import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8 } from '../../src/checkpoint/model/utf8.js';
import { RUNS } from '../helpers/arbitraries.js';

// decodeUtf8 takes Node's ASCII path for ASCII bytes: it must give exactly the string the UTF-8
// decoder gives, for every input, ASCII or not, valid UTF-8 or not.
describe('decodeUtf8', () => {
  it('equals toString("utf8") on the edges: empty, 0x7f, 0x80, a cut sequence, text beyond ASCII', () => {
    const samples = [
      Buffer.alloc(0),
      Buffer.from([0x7f]),
      Buffer.from([0x41, 0x80, 0x42]),
      Buffer.from([0x41, 0xe2, 0x82]),
      Buffer.from('plain markdown\n| a | b |\n', 'utf8'),
      Buffer.from('déjà vu — “quoted” 🚀 and 中文', 'utf8'),
      Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 0x61), Buffer.from('é', 'utf8')]),
    ];
    for (const data of samples) expect(decodeUtf8(data)).toBe(data.toString('utf8'));
    expect(decodeUtf8(Buffer.from('déjà', 'utf8'))).toBe('déjà');
  });

  it('equals toString("utf8") for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const data = Buffer.from(bytes);
        expect(decodeUtf8(data)).toBe(data.toString('utf8'));
      }),
      RUNS,
    );
  });

  it('equals toString("utf8") for any text, ASCII or not', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (text) => {
        const data = Buffer.from(text, 'utf8');
        expect(decodeUtf8(data)).toBe(data.toString('utf8'));
      }),
      RUNS,
    );
  });
});
