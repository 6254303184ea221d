import { CheckpointError } from './errors.js';

/** Most decimal places of a cost: ten places of a dollar, far below any price per token. */
export const MAX_COST_PLACES = 10;

/**
 * Decimal text: digits with at most one point, no sign, no exponent, no leading zeros before the
 * point (but one), no trailing zeros after it, never a bare point: `0.051`, `120.5`, `3`.
 */
export type DecimalText = string;

const PLAIN = /^(\d+)(?:\.(\d*))?$|^\.(\d+)$/;
const EXPONENT = /^(\d+)(?:\.(\d*))?[eE]([+-]?\d+)$/;

/**
 * The shortest decimal text that reads back to `value` (a finite number >= 0), without the exponent
 * JavaScript writes below 1e-6 and from 1e21 on.
 */
export function decimalOf(value: number): DecimalText {
  const text = String(value);
  const parsed = parseDecimal(text);
  if (parsed === undefined) throw new RangeError(`${text} is not a finite number >= 0`);
  return parsed;
}

/**
 * `text` as canonical decimal text, or undefined when it is no number >= 0. Accepts what a person
 * may type by hand: trailing zeros, a leading point, an exponent.
 */
export function parseDecimal(text: string): DecimalText | undefined {
  const trimmed = text.trim();
  const plain = PLAIN.exec(trimmed);
  if (plain) return canonical(plain[1] ?? '0', plain[2] ?? plain[3] ?? '');
  const exp = EXPONENT.exec(trimmed);
  if (!exp) return undefined;
  const shift = Number(exp[3]);
  // An exponent that long is no amount anyone writes by hand.
  if (!Number.isSafeInteger(shift) || Math.abs(shift) > 400) return undefined;
  const digits = `${exp[1]}${exp[2] ?? ''}`;
  const point = (exp[1] ?? '').length + shift;
  if (point <= 0) return canonical('0', `${'0'.repeat(-point)}${digits}`);
  if (point >= digits.length) return canonical(`${digits}${'0'.repeat(point - digits.length)}`, '');
  return canonical(digits.slice(0, point), digits.slice(point));
}

/** Decimal places of canonical decimal text. */
export function placesOf(text: DecimalText): number {
  const point = text.indexOf('.');
  return point === -1 ? 0 : text.length - point - 1;
}

/** The exact sum of decimal texts, as decimal text: `0.05 + 0.001` is `0.051`, never a binary fraction. */
export function sumDecimals(texts: readonly DecimalText[]): DecimalText {
  let scale = 0;
  for (const text of texts) scale = Math.max(scale, placesOf(text));
  // A double holds every integer up to 2^53 - 1 exactly: while the units and their running sum stay
  // safe integers, the sum is exact, and the costs and durations of a session add up without a BigInt.
  // A unit count or a sum of 2^53 or more is still 2^53 or more as a double (rounding keeps order), so
  // it is never taken for a safe one: the sum is then made again in BigInt.
  let total = 0;
  for (const text of texts) {
    total += Number(unitDigits(text, scale));
    if (!Number.isSafeInteger(total)) return bigSum(texts, scale);
  }
  return fromUnits(String(total), scale);
}

function bigSum(texts: readonly DecimalText[], scale: number): DecimalText {
  let total = 0n;
  for (const text of texts) total += BigInt(unitDigits(text, scale));
  return fromUnits(total.toString(), scale);
}

/**
 * A cost from a request, as decimal text: as given, trailing zeros dropped. More than ten decimal
 * places is INVALID_ARGUMENT naming `field`; so is anything but a finite number >= 0.
 */
export function costOf(field: string, value: number): DecimalText {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${field} must be a finite number of US dollars >= 0, got ${value}`,
    );
  }
  const text = decimalOf(value);
  if (placesOf(text) > MAX_COST_PLACES) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${field} ${text} has ${placesOf(text)} decimal places; send at most ${MAX_COST_PLACES} (round it, for example ${decimalOf(Number(value.toFixed(MAX_COST_PLACES)))})`,
    );
  }
  return text;
}

/** The number a decimal text stands for, for JSON results (which carry numbers). */
export function decimalNumber(text: DecimalText): number {
  return Number(text);
}

/** `text` times 10^scale as a string of digits (scale at least its places). */
function unitDigits(text: DecimalText, scale: number): string {
  const point = text.indexOf('.');
  return point === -1
    ? text + '0'.repeat(scale)
    : text.slice(0, point) + text.slice(point + 1).padEnd(scale, '0');
}

/** Decimal text of `units` (digits, no sign) divided by 10^scale. */
function fromUnits(units: string, scale: number): DecimalText {
  const digits = units.padStart(scale + 1, '0');
  return canonical(digits.slice(0, digits.length - scale), digits.slice(digits.length - scale));
}

function canonical(whole: string, fraction: string): DecimalText {
  const integer = whole.replace(/^0+(?=\d)/, '') || '0';
  const places = fraction.replace(/0+$/, '');
  return places === '' ? integer : `${integer}.${places}`;
}
