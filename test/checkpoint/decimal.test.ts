import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  costOf,
  decimalOf,
  MAX_COST_PLACES,
  parseDecimal,
  placesOf,
  sumDecimals,
} from '../../src/checkpoint/model/decimal.js';
import { decimalFromUnits, PROPERTY_TIMEOUT, RUNS } from '../helpers/arbitraries.js';
import { thrown } from '../helpers/errors.js';

/** Decimal text of at most ten places, with the units and scale it was made from. */
const scaled = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: MAX_COST_PLACES }))
  .map(([units, scale]) => ({ units, scale, text: decimalFromUnits(units, scale) }));

describe('decimalOf', () => {
  it('writes the shortest decimal text of a number, without exponent', () => {
    expect(decimalOf(0)).toBe('0');
    expect(decimalOf(0.0375)).toBe('0.0375');
    expect(decimalOf(120.5)).toBe('120.5');
    expect(decimalOf(1e-7)).toBe('0.0000001');
    expect(decimalOf(1.5e-7)).toBe('0.00000015');
    expect(decimalOf(1e21)).toBe('1000000000000000000000');
    expect(decimalOf(1.25e22)).toBe('12500000000000000000000');
  });

  it('throws a RangeError for a number that is negative, NaN or infinite', () => {
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => decimalOf(value)).toThrow(RangeError);
    }
  });
});

describe('parseDecimal', () => {
  it('reads what a person types by hand as canonical decimal text', () => {
    expect(parseDecimal('0.0500')).toBe('0.05');
    expect(parseDecimal('.5')).toBe('0.5');
    expect(parseDecimal('1e-3')).toBe('0.001');
    expect(parseDecimal('1.5E2')).toBe('150');
    expect(parseDecimal('2.50e+1')).toBe('25');
    expect(parseDecimal('007')).toBe('7');
    expect(parseDecimal('3.')).toBe('3');
    expect(parseDecimal('  0.051 ')).toBe('0.051');
    expect(parseDecimal('0.000')).toBe('0');
  });

  it('reads no sign, no unit, no bare point, no words and no exponent past 400', () => {
    for (const text of ['-0.5', '+1', '$0.05', '.', '', 'cheap', '1e', '0x10', '1,5', '1e401', 'Infinity']) {
      expect(parseDecimal(text), text).toBeUndefined();
    }
  });
});

describe('sumDecimals', () => {
  it('adds exactly where binary floating point does not', () => {
    expect(sumDecimals(['0.05', '0.001'])).toBe('0.051');
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3');
    expect(sumDecimals([decimalOf(0.1), decimalOf(0.2)])).toBe('0.3');
    expect(sumDecimals(['0.0000000001', '0.9999999999'])).toBe('1');
    expect(sumDecimals(['1000000000000000000000', '0.0000000001'])).toBe('1000000000000000000000.0000000001');
  });

  it('is 0 for no amounts', () => {
    expect(sumDecimals([])).toBe('0');
  });

  it(
    'equals the sum of the units in BigInt for any list of decimal texts of at most ten places',
    () => {
      fc.assert(
        fc.property(fc.array(scaled, { maxLength: 20 }), (amounts) => {
          const units = amounts.reduce(
            (sum, { units, scale }) => sum + units * 10n ** BigInt(MAX_COST_PLACES - scale),
            0n,
          );
          expect(sumDecimals(amounts.map(({ text }) => text))).toBe(decimalFromUnits(units, MAX_COST_PLACES));
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'equals the sum in BigInt where units, or their running sums, pass what a double holds exactly (2^53)',
    () => {
      const near = (center: bigint) => fc.bigInt({ min: center - 10n ** 6n, max: center + 10n ** 6n });
      const units = fc.oneof(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        near(10n ** 15n),
        near(2n ** 53n),
        near(2n ** 53n / 9n),
      );
      // One scale for a whole list: its units are then the very digit strings added up.
      const lists = fc
        .tuple(fc.array(units, { maxLength: 12 }), fc.integer({ min: 0, max: MAX_COST_PLACES }))
        .map(([list, scale]) =>
          list.map((unit) => ({ units: unit, scale, text: decimalFromUnits(unit, scale) })),
        );
      fc.assert(
        fc.property(lists, (amounts) => {
          const total = amounts.reduce(
            (sum, { units, scale }) => sum + units * 10n ** BigInt(MAX_COST_PLACES - scale),
            0n,
          );
          expect(sumDecimals(amounts.map(({ text }) => text))).toBe(decimalFromUnits(total, MAX_COST_PLACES));
        }),
        RUNS,
      );
      // The running sum past the largest safe integer on the last amount, and a unit count past it alone.
      const nines = Array<string>(9).fill('999999999999999');
      expect(sumDecimals([...nines, '7199254740992'])).toBe('9007199254740983');
      expect(sumDecimals([...nines, '7199254740992', '10'])).toBe('9007199254740993');
      expect(sumDecimals(['9007199254740993', '0'])).toBe('9007199254740993');
      expect(sumDecimals(['0.9007199254740993', '1'])).toBe('1.9007199254740993');
      expect(sumDecimals([...nines.map((n) => `0.${n}`), '0.000000000000001'])).toBe('8.999999999999992');
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'reads back every decimal text of at most ten places as itself',
    () => {
      fc.assert(
        fc.property(scaled, ({ text, scale }) => {
          expect(parseDecimal(text)).toBe(text);
          expect(placesOf(text)).toBeLessThanOrEqual(scale);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe('costOf', () => {
  it('keeps a cost of up to ten decimal places as given, trailing zeros dropped', () => {
    expect(costOf('agents[0].cost', 0.05)).toBe('0.05');
    expect(costOf('agents[0].cost', 0.0000000001)).toBe('0.0000000001');
    expect(costOf('agents[0].cost', 12)).toBe('12');
    expect(costOf('agents[0].cost', 0)).toBe('0');
  });

  it('rejects eleven decimal places as INVALID_ARGUMENT naming the field and a rounded value', () => {
    expect(thrown(() => costOf('agents[2].cost', 0.12345678901))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message:
        'agents[2].cost 0.12345678901 has 11 decimal places; send at most 10 (round it, for example 0.123456789)',
    });
    // A cost summed in binary by the caller carries the error of binary fractions: it is refused, not rounded.
    expect(thrown(() => costOf('agents[0].cost', 0.1 + 0.2))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message:
        'agents[0].cost 0.30000000000000004 has 17 decimal places; send at most 10 (round it, for example 0.3)',
    });
  });

  it('rejects NaN, a negative cost and Infinity as INVALID_ARGUMENT naming the field', () => {
    for (const [value, text] of [
      [Number.NaN, 'NaN'],
      [-0.5, '-0.5'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
    ] as const) {
      expect(thrown(() => costOf('agents[1].cost', value))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `agents[1].cost must be a finite number of US dollars >= 0, got ${text}`,
      });
    }
  });
});
