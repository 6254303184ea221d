import { CheckpointError } from './errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Controls other than tab cannot survive a markdown list item; a newline would end the value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point of this pattern is to find control characters.
const METADATA_FORBIDDEN = /[\u0000-\u0008\u000A-\u001F\u007F\u0085\u2028\u2029]/;

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

export function assertWellFormed(field: string, text: string): string {
  if (hasLoneSurrogate(text)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${field} contains a lone UTF-16 surrogate, which cannot be stored as UTF-8; send valid Unicode text`,
    );
  }
  return text;
}

/**
 * UTF-8 bytes of one metadata value (a model, an error, a requested change): a line of a document's
 * head, which reads hand back whole, so it stays far below the response budget.
 */
export const MAX_VALUE_BYTES = 4096;

/** UTF-8 bytes of one list of metadata values together (errors, requested changes, tools used). */
export const MAX_LIST_BYTES = 64 * 1024;

/**
 * A metadata value: one line of at most MAX_VALUE_BYTES, trimmed, never "-" (which marks a missing
 * value in the files). `longer` says where longer or multi-line text goes: an argument of the same tool.
 */
export function metadataValue(
  field: string,
  text: string,
  longer = 'put long text in the agent output (output_content) instead',
): string {
  assertWellFormed(field, text);
  if (METADATA_FORBIDDEN.test(text)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${field} must be a single line without control characters; ${longer}`,
    );
  }
  const value = text.trim();
  if (value === '' || value === '-') {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${field} must not be empty or "-"; leave the field out instead`,
    );
  }
  assertTextLimit(
    field,
    value,
    MAX_VALUE_BYTES,
    `A value of one line is at most ${MAX_VALUE_BYTES} bytes: shorten it, or ${longer}`,
  );
  return value;
}

/** LIMIT_EXCEEDED when the values of list `field` together pass MAX_LIST_BYTES of UTF-8. */
export function assertListLimit(field: string, values: readonly string[], advice: string): void {
  let bytes = 0;
  for (const value of values) bytes += Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_LIST_BYTES) {
    throw new CheckpointError(
      'LIMIT_EXCEEDED',
      `${field} together are ${bytes} bytes of UTF-8, over the limit of ${MAX_LIST_BYTES}; nothing was saved. ${advice}`,
    );
  }
}

/**
 * LIMIT_EXCEEDED past `maxBytes` of UTF-8. `advice` says what the caller can do instead; by default,
 * shorten the text.
 */
export function assertTextLimit(field: string, text: string, maxBytes: number, advice?: string): string {
  assertWellFormed(field, text);
  // UTF-8 is at most 3 bytes per UTF-16 unit: skip the exact count for short strings.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) {
      throw new CheckpointError(
        'LIMIT_EXCEEDED',
        `${field} is ${bytes} bytes of UTF-8, over the limit of ${maxBytes}; nothing was saved. ${advice ?? 'Shorten it and call again'}`,
      );
    }
  }
  return text;
}

export function assertCountLimit(field: string, count: number, max: number): void {
  if (count > max) {
    throw new CheckpointError('LIMIT_EXCEEDED', `${field} has ${count} items, over the limit of ${max}`);
  }
}

export function assertNonNegativeInteger(field: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${field} must be a non-negative whole number, got ${value}`,
    );
  }
}

export function assertNonNegativeNumber(field: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new CheckpointError('INVALID_ARGUMENT', `${field} must be a finite number >= 0, got ${value}`);
  }
}

export function assertTimestamp(field: string, value: string | undefined): void {
  if (value !== undefined && !isTimestamp(value)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${field} must be an RFC 3339 timestamp such as 2024-11-24T10:00:00Z, got ${JSON.stringify(value)}`,
    );
  }
}

export const TIMESTAMP_PATTERN =
  /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export function isTimestamp(value: string): boolean {
  if (!TIMESTAMP_PATTERN.test(value)) return false;
  const [year, month, day, hour] = [0, 5, 8, 11].map((at) => Number(value.slice(at, at === 0 ? 4 : at + 2)));
  // Date.parse rolls February 30 over to March 1 and 24:00 to the next day; RFC 3339 has neither.
  return (
    (day ?? 0) <= daysInMonth(year ?? 0, month ?? 0) &&
    (hour ?? 0) <= 23 &&
    !Number.isNaN(Date.parse(value.replace(' ', 'T')))
  );
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** Shortest text that reads back to the same number. */
export function formatNumber(value: number): string {
  return String(value);
}

const NUMBER_TEXT = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseNumberText(text: string): number | undefined {
  const trimmed = text.trim();
  if (!NUMBER_TEXT.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}
