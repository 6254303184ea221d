import { type DecimalText, decimalOf, parseDecimal } from '../model/decimal.js';
import { IDENTIFIER_RULE, identifierProblem } from '../model/identifiers.js';
import { isTimestamp, parseNumberText } from '../model/values.js';
import {
  corrupt,
  type Field,
  keyValues,
  MISSING,
  normalizeKey,
  type ParsedHead,
  type Section,
} from './markdown.js';

/** Typed, positioned access to a parsed head: whatever cannot be understood is CORRUPT_FILE. */
export class HeadReader {
  constructor(
    readonly file: string,
    readonly head: ParsedHead,
  ) {}

  section(title: string): Section {
    const found = this.optionalSection(title);
    if (!found) throw corrupt(this.file, 1, `missing section "## ${title}"`);
    return found;
  }

  optionalSection(title: string): Section | undefined {
    return this.head.sections.get(normalizeKey(title));
  }

  fields(title: string): FieldReader {
    const section = this.section(title);
    return new FieldReader(this.file, section, keyValues(section));
  }
}

export class FieldReader {
  constructor(
    readonly file: string,
    readonly section: Section,
    readonly entries: Map<string, Field>,
  ) {}

  has(key: string): boolean {
    return this.entries.has(normalizeKey(key));
  }

  field(key: string): Field {
    const found = this.entries.get(normalizeKey(key));
    if (!found)
      throw corrupt(
        this.file,
        this.section.line,
        `section "## ${this.section.title}" has no "- ${key}:" item`,
      );
    return found;
  }

  string(key: string): string {
    const found = this.field(key);
    if (found.value === '' || found.value === MISSING) throw this.bad(found, 'a value');
    return found.value;
  }

  optionalString(key: string): string | undefined {
    const found = this.entries.get(normalizeKey(key));
    if (!found || found.value === '' || found.value === MISSING) return undefined;
    return found.value;
  }

  /** A value by the identifier rules (workflow types, mode names). */
  identifier(key: string): string {
    const found = this.field(key);
    if (identifierProblem(found.value)) throw this.bad(found, IDENTIFIER_RULE);
    return found.value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const found = this.field(key);
    const value = found.value.toLowerCase() as T;
    if (!allowed.includes(value)) throw this.bad(found, `one of ${allowed.join(', ')}`);
    return value;
  }

  boolean(key: string): boolean {
    const found = this.field(key);
    const value = found.value.toLowerCase();
    if (value !== 'true' && value !== 'false') throw this.bad(found, 'true or false');
    return value === 'true';
  }

  integer(key: string): number {
    const found = this.field(key);
    const value = parseNumberText(found.value);
    if (value === undefined || !Number.isSafeInteger(value) || value < 0)
      throw this.bad(found, 'a whole number >= 0');
    return value;
  }

  optionalInteger(key: string): number | undefined {
    const found = this.entries.get(normalizeKey(key));
    if (!found || found.value === MISSING) return undefined;
    return this.integer(key);
  }

  /** Seconds written with an optional unit, such as `120.5s`. */
  seconds(key: string): number {
    const found = this.field(key);
    const value = parseSeconds(found.value);
    if (value === undefined) throw this.bad(found, 'seconds such as 120.5s');
    return value;
  }

  optionalSeconds(key: string): number | undefined {
    const found = this.entries.get(normalizeKey(key));
    if (!found || found.value === MISSING) return undefined;
    return this.seconds(key);
  }

  /** US dollars written with an optional `$`, such as `$0.0375`, as exact decimal text. */
  dollars(key: string): DecimalText {
    const found = this.field(key);
    const value = parseDollars(found.value);
    if (value === undefined) throw this.bad(found, 'dollars such as $0.0375');
    return value;
  }

  optionalTimestamp(key: string): string | undefined {
    const found = this.entries.get(normalizeKey(key));
    if (!found || found.value === MISSING) return undefined;
    if (!isTimestamp(found.value)) throw this.bad(found, 'an RFC 3339 timestamp');
    return found.value;
  }

  timestamp(key: string): string {
    const found = this.field(key);
    if (!isTimestamp(found.value)) throw this.bad(found, 'an RFC 3339 timestamp');
    return found.value;
  }

  bad(found: Field, expected: string): Error {
    return corrupt(
      this.file,
      found.line,
      `"${found.key}" is ${JSON.stringify(found.value)}, expected ${expected}`,
    );
  }
}

export function parseSeconds(text: string): number | undefined {
  let value = text.trim();
  if (value.endsWith('s')) value = value.slice(0, -1);
  const parsed = parseNumberText(value);
  return parsed !== undefined && parsed >= 0 ? parsed : undefined;
}

export function parseDollars(text: string): DecimalText | undefined {
  let value = text.trim();
  if (value.startsWith('$')) value = value.slice(1);
  return parseDecimal(value);
}

export function formatSeconds(value: number | undefined): string {
  return value === undefined ? MISSING : `${decimalOf(value)}s`;
}

export function formatDollars(value: DecimalText): string {
  return `$${value}`;
}

export function orMissing(value: string | number | undefined): string {
  return value === undefined ? MISSING : String(value);
}

/** Longest document read line by line for salvage: a head is a few KB, a file pasted over it is not. */
const SALVAGE_BYTES = 256 * 1024;

/**
 * The lines of a document's beginning, and its `- Key: value` fields read from them without the
 * markdown parser (the first of each key, in any letter case): what salvage of a document that does
 * not parse can still take from it.
 */
export function salvageLines(text: string): { lines: string[]; field(key: string): string | undefined } {
  const lines = text.slice(0, SALVAGE_BYTES).split(/\r?\n/);
  return {
    lines,
    field(key) {
      const pattern = new RegExp(`^\\s*[-*+]\\s+${key}\\s*:\\s*(.*?)\\s*$`, 'i');
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return match[1];
      }
      return undefined;
    },
  };
}
