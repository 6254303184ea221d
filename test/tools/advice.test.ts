import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FILE,
  FEEDBACK_FILE,
  MANIFEST_FILE,
  PROJECT_FILE,
} from '../../src/checkpoint/model/paths.js';
import { BUILT_IN_MODES, BUILT_IN_WORKFLOW, PHASES } from '../../src/checkpoint/model/phases.js';
import {
  AGENT_STATUSES,
  FEEDBACK_ACTIONS,
  PHASE_EXECUTION_MODES,
  PHASE_STATUSES,
  SESSION_STATUSES,
} from '../../src/checkpoint/model/vocabulary.js';
import { RESUME_REASONS } from '../../src/checkpoint/operations/resume.js';
import { OPTIONS } from '../../src/options.js';
import { connectedClient } from '../helpers/client.js';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** A string or template literal of a source file, with the line it starts on. */
interface Literal {
  file: string;
  line: number;
  text: string;
  /** Set on a '...' or "..." literal that spans lines in the source: the scan lost its step. */
  spansLines?: boolean;
}

/**
 * The string and template literals of TypeScript source, comments skipped. A template's `${...}`
 * parts are replaced by a space, and the literals inside them are collected too. Regular expression
 * literals are skipped where a division cannot stand, which is enough for code that is linted.
 */
function literalsOf(source: string, file = ''): Literal[] {
  const found: Literal[] = [];
  let i = 0;
  const lineAt = (index: number) => source.slice(0, index).split('\n').length;

  let spansLines = false;
  const quoted = (quote: string): string => {
    let text = '';
    spansLines = false;
    i++;
    while (i < source.length && source[i] !== quote) {
      if (source[i] === '\n') spansLines = true;
      if (source[i] === '\\') {
        text += escaped(source[i + 1] ?? '');
        i += 2;
      } else text += source[i++];
    }
    i++;
    return text;
  };

  const template = (): string => {
    let text = '';
    i++;
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') {
        text += escaped(source[i + 1] ?? '');
        i += 2;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        i += 2;
        code('}');
        i++;
        text += ' ';
      } else text += source[i++];
    }
    i++;
    return text;
  };

  /** Scans code up to the `close` character at depth 0 (or the end), collecting literals. */
  const code = (close?: string): void => {
    let depth = 0;
    let previous = '';
    while (i < source.length) {
      const char = source[i] as string;
      const next = source[i + 1];
      if (char === close && depth === 0) return;
      if (char === '/' && next === '/') {
        while (i < source.length && source[i] !== '\n') i++;
      } else if (char === '/' && next === '*') {
        i = source.indexOf('*/', i + 2);
        i = i === -1 ? source.length : i + 2;
      } else if (char === '"' || char === "'") {
        const start = i;
        const text = quoted(char);
        found.push({ file, line: lineAt(start), text, ...(spansLines ? { spansLines } : {}) });
        previous = 'x';
      } else if (char === '`') {
        const start = i;
        found.push({ file, line: lineAt(start), text: template() });
        previous = 'x';
      } else if (char === '/' && (previous === '' || /[(,=:[!&|?{};+\-*%<>~^]/.test(previous))) {
        skipRegex();
        previous = 'x';
      } else {
        if (char === '{' || char === '(' || char === '[') depth++;
        if (char === '}' || char === ')' || char === ']') depth--;
        if (!/\s/.test(char)) previous = /\w/.test(char) ? wordEnd() : char;
        i++;
      }
    }
  };

  /** The last character of a word, or the operator-like keyword before an expression. */
  const wordEnd = (): string => {
    let start = i;
    while (start > 0 && /\w/.test(source[start - 1] as string)) start--;
    const word = source.slice(start, i + 1);
    return ['return', 'typeof', 'case', 'in', 'of', 'void', 'throw'].includes(word) ? '(' : 'x';
  };

  const skipRegex = (): void => {
    i++;
    let inClass = false;
    while (i < source.length && source[i] !== '\n') {
      const char = source[i];
      if (char === '\\') i++;
      else if (char === '[') inClass = true;
      else if (char === ']') inClass = false;
      else if (char === '/' && !inClass) break;
      i++;
    }
    i++;
    while (/[a-z]/.test(source[i] ?? '')) i++;
  };

  code();
  return found;
}

function escaped(char: string): string {
  return char === 'n' ? '\n' : char === 't' ? '\t' : char === 'r' ? '\r' : char;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files.sort();
}

/** SQL statements of the PostgreSQL engine: read by the database, never by an agent or a person. */
const SQL = /^\s*(WITH|SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DO|BEGIN|COMMIT|ROLLBACK|SET|LISTEN)\b/;

/** Flags the server hands V8 for itself (transports/memory.ts, launch.ts): told to no one, so no
 * option of ours. */
const V8_FLAGS: ReadonlySet<string> = new Set(['--expose-gc', '--no-regexp-tier-up']);

async function sourceLiterals(): Promise<Literal[]> {
  const literals: Literal[] = [];
  for (const path of await sourceFiles(SRC)) {
    for (const literal of literalsOf(await readFile(path, 'utf8'), relative(SRC, path)))
      if (!SQL.test(literal.text) && !V8_FLAGS.has(literal.text)) literals.push(literal);
  }
  return literals;
}

interface Vocabulary {
  tools: ReadonlySet<string>;
  /** Argument names: the input properties of every tool at every level, and prompt arguments. */
  arguments: ReadonlySet<string>;
  /** Result property names of every tool at every level. */
  fields: ReadonlySet<string>;
  /** Every snake_case word a text may use. */
  words: ReadonlySet<string>;
  options: ReadonlySet<string>;
}

const SNAKE = /(?<![\w-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])/g;
const CALLED = /\b(call|calls|with) [`"]?([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w-])/g;
const OPTION = /(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g;

/** What in `literals` names a tool, argument, word or option that does not exist, one line each. */
function adviceProblems(literals: readonly Literal[], known: Vocabulary): string[] {
  const problems: string[] = [];
  for (const { file, line, text } of literals) {
    const at = `${file}:${line}`;
    for (const [phrase, verb, name = ''] of text.matchAll(CALLED)) {
      // "listed in truncated (with total_chars)": after "with", a result field is as good as an argument.
      const named =
        known.tools.has(name) || known.arguments.has(name) || (verb === 'with' && known.fields.has(name));
      if (!named) problems.push(`${at}: "${phrase}" names no tool or argument`);
    }
    for (const [word] of text.matchAll(SNAKE)) {
      if (!known.words.has(word)) problems.push(`${at}: ${word} is no tool, argument, result field or value`);
    }
    for (const [, option = ''] of text.matchAll(OPTION)) {
      if (!known.options.has(option)) problems.push(`${at}: --${option} is no option`);
    }
  }
  return problems;
}

/**
 * Snake_case words in src/ that are neither shown to an agent nor part of the protocol vocabulary:
 * zod's issue codes, compared in src/tools/arguments.ts; an example agent name in a description; a
 * Node module's name (node:async_hooks); the PostgreSQL engine's notification channel.
 */
const ALLOWED = [
  'unrecognized_keys',
  'invalid_type',
  'invalid_value',
  'concept_expansion',
  'async_hooks',
  'checkpoint_changes',
];

type Json = Record<string, unknown>;

/** Every property name of every object inside a JSON Schema. */
function propertyNames(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap(propertyNames);
  return Object.entries(schema as Json).flatMap(([key, value]) =>
    key === 'properties' && typeof value === 'object' && value !== null
      ? [...Object.keys(value), ...Object.values(value).flatMap(propertyNames)]
      : propertyNames(value),
  );
}

/** The names a server that offers every tool makes public, and the core's closed sets. */
async function serverVocabulary(): Promise<Vocabulary> {
  const { client } = await connectedClient();
  const { tools } = await client.listTools();
  const { prompts } = await client.listPrompts();
  const { resourceTemplates } = await client.listResourceTemplates();
  const toolNames = tools.map((tool) => tool.name);
  const inputNames = tools.flatMap((tool) => propertyNames(tool.inputSchema));
  const promptArguments = prompts.flatMap((prompt) => (prompt.arguments ?? []).map((arg) => arg.name));
  const argumentNames = [...inputNames, ...promptArguments];
  const fieldNames = tools.flatMap((tool) => propertyNames(tool.outputSchema));
  const words = [
    ...toolNames,
    ...argumentNames,
    ...fieldNames,
    ...prompts.map((prompt) => prompt.name),
    ...resourceTemplates.map((template) => template.name),
    ...resourceTemplates.flatMap((template) =>
      [...template.uriTemplate.matchAll(/\{(\w+)\}/g)].map(([, name]) => name ?? ''),
    ),
    ...PHASE_STATUSES,
    ...AGENT_STATUSES,
    ...PHASE_EXECUTION_MODES,
    ...FEEDBACK_ACTIONS,
    ...SESSION_STATUSES,
    ...Object.keys(BUILT_IN_MODES),
    BUILT_IN_WORKFLOW,
    ...RESUME_REASONS,
    ...PHASES.map((phase) => phase.dir),
    ...[PROJECT_FILE, MANIFEST_FILE, CHECKPOINT_FILE, FEEDBACK_FILE].map((file) => file.replace(/\.md$/, '')),
    ...ALLOWED,
  ];
  return {
    tools: new Set(toolNames),
    arguments: new Set(argumentNames),
    fields: new Set(fieldNames),
    words: new Set(words),
    options: new Set(OPTIONS.map((option) => option.name)),
  };
}

describe('the error and advice texts of src/', () => {
  it('every error text names a call or option that exists', async () => {
    const literals = await sourceLiterals();
    expect(literals.length).toBeGreaterThan(1000);
    // The texts that advise a call are many: the check is not passing on nothing.
    const advice = literals.filter((literal) => [...literal.text.matchAll(CALLED)].length > 0);
    expect(advice.length).toBeGreaterThan(20);
    expect(adviceProblems(literals, await serverVocabulary())).toEqual([]);
  });

  it('the scan reads every file of src/ in step: no quoted literal spans a line, and known texts are found', async () => {
    const literals = await sourceLiterals();
    expect(literals.filter((literal) => literal.spansLines)).toEqual([]);
    const texts = literals.map((literal) => literal.text);
    // One text from each layer, including the last literal of a long file.
    expect(texts).toContain('  must be a whole number > 0, got  ');
    expect(texts).toContain('the arguments do not match the input schema');
    expect(texts.some((text) => text.startsWith('INVALID_ARGUMENT: unknown tool  ; tools/list names'))).toBe(
      true,
    );
    expect(texts.some((text) => text.includes('; call list_sessions or create_session'))).toBe(true);
    // Every file with a quote outside its comments gave literals.
    const files = new Set(literals.map((literal) => literal.file));
    for (const path of await sourceFiles(SRC)) {
      const code = (await readFile(path, 'utf8')).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      if (/['"`]/.test(code)) expect(files, relative(SRC, path)).toContain(relative(SRC, path));
    }
  });
});

describe('the advice checker', () => {
  const known: Vocabulary = {
    tools: new Set(['load_session', 'save_agent_output']),
    arguments: new Set(['phase_num']),
    fields: new Set(['total_chars']),
    words: new Set(['load_session', 'save_agent_output', 'phase_num', 'total_chars']),
    options: new Set(['max-content-bytes', 'tools']),
  };
  const literal = (text: string): Literal => ({ file: 'f.ts', line: 3, text });

  it('accepts texts that name existing tools, arguments and options', () => {
    expect(
      adviceProblems(
        [
          literal('session "s1" not found; call load_session with phase_num'),
          literal('over --max-content-bytes; see --tools, and the --- separator'),
          literal('calls save_agent_output'),
          literal('listed (with total_chars)'),
        ],
        known,
      ),
    ).toEqual([]);
  });

  it('reports a call of a tool that does not exist', () => {
    expect(adviceProblems([literal('too big; call save_in_parts instead')], known)).toEqual([
      'f.ts:3: "call save_in_parts" names no tool or argument',
      'f.ts:3: save_in_parts is no tool, argument, result field or value',
    ]);
    expect(
      adviceProblems([literal('retry with phase_number')], { ...known, words: new Set(['phase_number']) }),
    ).toEqual(['f.ts:3: "with phase_number" names no tool or argument']);
    expect(adviceProblems([literal('or call `save_in_parts`')], known)).toContain(
      'f.ts:3: "call `save_in_parts" names no tool or argument',
    );
    expect(adviceProblems([literal('then call total_chars')], known)).toEqual([
      'f.ts:3: "call total_chars" names no tool or argument',
    ]);
  });

  it('reports an option that does not exist', () => {
    expect(adviceProblems([literal('raise --max-foo or --max-content-bytes')], known)).toEqual([
      'f.ts:3: --max-foo is no option',
    ]);
  });

  it('reports a snake_case word that is no tool, argument or value', () => {
    expect(adviceProblems([literal('the phase_numbr is wrong')], known)).toEqual([
      'f.ts:3: phase_numbr is no tool, argument, result field or value',
    ]);
  });

  it('finds literals in strings and templates, skipping comments and regular expressions', () => {
    const source = [
      '// call not_a_literal',
      "const a = 'one \\'two\\'';",
      'const b = "three"; /* "not" */',
      'const r = /["\'`]/g.test(a) ? 1 / 2 : 3;',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text with a placeholder in it
      'const t = `four ${b ? `five` : "six"} seven`;',
    ].join('\n');
    expect(literalsOf(source).map((found) => [found.line, found.text])).toEqual([
      [2, "one 'two'"],
      [3, 'three'],
      [5, 'five'],
      [5, 'six'],
      [5, 'four   seven'],
    ]);
  });
});
