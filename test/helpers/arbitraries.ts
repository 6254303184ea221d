import fc from 'fast-check';
import type { AgentOutputRecord } from '../../src/checkpoint/formats/agent-output.js';
import type { AgentEntry, CheckpointRecord } from '../../src/checkpoint/formats/checkpoint.js';
import type { ManifestRecord, PhaseRow } from '../../src/checkpoint/formats/manifest.js';
import { PROJECT_STATUSES, type ProjectRecord } from '../../src/checkpoint/formats/project.js';
import type { UserFeedbackRecord } from '../../src/checkpoint/formats/user-feedback.js';
import { agentNameProblem, identifierProblem } from '../../src/checkpoint/model/identifiers.js';
import { BUILT_IN_MODES, BUILT_IN_WORKFLOW, PHASES } from '../../src/checkpoint/model/phases.js';
import { metadataValue } from '../../src/checkpoint/model/values.js';
import {
  AGENT_STATUSES,
  FEEDBACK_ACTIONS,
  PHASE_EXECUTION_MODES,
  PHASE_STATUSES,
  SESSION_STATUSES,
} from '../../src/checkpoint/model/vocabulary.js';
import { normalizeStackTrace } from '../../src/checkpoint/session/request-checks.js';

/** The runs every round-trip property makes. */
export const RUNS = { numRuns: 1000 } as const;

/** A thousand parses of a structured head take seconds, and many times that on a loaded CI machine. */
export const PROPERTY_TIMEOUT = 300_000;

export const identifier = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/)
  .filter((id) => identifierProblem(id) === undefined);

export const agentName = identifier.filter((name) => agentNameProblem(name) === undefined);

/** Timestamps in the forms the core accepts: the server's own, without fraction, with an offset. */
export const timestamp = fc
  .tuple(
    fc.date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2999-12-31T23:59:59Z'),
      noInvalidDate: true,
    }),
    fc.constantFrom('iso', 'seconds', 'offset', 'space'),
  )
  .map(([date, form]) => {
    const iso = date.toISOString();
    if (form === 'seconds') return iso.replace(/\.\d{3}Z$/, 'Z');
    if (form === 'offset') return iso.replace(/Z$/, '+02:00');
    if (form === 'space') return iso.replace('T', ' ');
    return iso;
  });

/** Non-negative finite numbers, including the ones whose shortest form needs an exponent. */
export const amount = fc.oneof(
  fc.double({ min: 0, max: Number.MAX_VALUE, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, 0.1, 0.0375, 120.5, 1e-7, 5e-324, 1e21, Number.MAX_VALUE),
  fc.nat(100_000).map((n) => n / 100),
);

/**
 * Canonical decimal text of at most ten places (the most a cost may have): whole units at a scale,
 * written out by hand here so the property does not lean on the module it tests.
 */
export const decimalText = fc.oneof(
  fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 10 }))
    .map(([units, scale]) => decimalFromUnits(units, scale)),
  fc.constantFrom('0', '0.0375', '0.051', '0.3', '0.0000001', '120.5', '1000000000000000000000'),
);

/** `units` / 10^scale as canonical decimal text: no leading zeros but one, no trailing zeros, no bare point. */
export function decimalFromUnits(units: bigint, scale: number): string {
  const digits = units.toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

export const count = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat());

const MARKDOWN_PIECES = [
  '## Output',
  '## Metadata',
  '## User Comments',
  '## Startup Idea',
  '## Error Details',
  '# Agent Output: x',
  '```',
  '```js',
  '~~~',
  '---',
  '===',
  '***',
  '|a|b|',
  '|---|---|',
  '- Approved: true',
  '- Status: completed',
  '* item',
  '+ item',
  '1. item',
  '> quote',
  '    indented code',
  '\t- tabbed',
  '<!-- comment -->',
  '<div>',
  '[link](http://x)',
  '[ref]: http://x',
  'www.example.com',
  '<a@b.c>',
  '*emphasis*',
  '_under_',
  '~~strike~~',
  '`code`',
  '\\',
  '&amp;',
  '&#35;',
  ' ',
  '  ',
  '\t',
  '',
  'text',
  'é😀',
  '\u00a0',
];

const LINE_BREAKS = ['\n', '\r\n', '\r', '\n\n', '\r\n\r\n'];

/** Text made of lines that look like the files' own structure, joined by any line ending. */
export const markdownText = fc
  .tuple(
    fc.constantFrom('', ' ', '\n', '\r\n', '\t', '\n\n  '),
    fc.array(
      fc.tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...MARKDOWN_PIECES) },
          {
            weight: 1,
            arbitrary: fc.array(fc.constantFrom(...MARKDOWN_PIECES), { maxLength: 3 }).map((p) => p.join('')),
          },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
        ),
        fc.constantFrom(...LINE_BREAKS),
      ),
      { maxLength: 12 },
    ),
    fc.boolean(),
    fc.constantFrom('', ' ', '\n', '\r\n', '\r', '  \n\n', '\t'),
  )
  .map(([lead, lines, frontMatter, trail]) => {
    const body = lines.map(([line, end]) => line + end).join('');
    return `${frontMatter ? '---\ntitle: x\n---\n' : ''}${lead}${body}${trail}`;
  });

/** Free text as the files store it: any unicode (no lone surrogates, the core rejects those) or markdown. */
export const verbatimText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), markdownText);

function accepted(text: string): string | undefined {
  try {
    return metadataValue('value', text);
  } catch {
    return undefined;
  }
}

/** Strings metadataValue accepts, as it returns them: one line, no control characters, trimmed. */
export const metadataText = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    fc
      .array(
        fc.constantFrom(
          ...MARKDOWN_PIECES,
          'www.',
          'WWW.',
          'HTTP://',
          'https:',
          '//',
          'mailto:',
          '@',
          '<',
          '>',
          '#',
          '*',
          '_',
          '[',
          ']',
          '|',
          ':',
          '-',
          '=',
          '!',
          '1.',
          'a',
        ),
        { minLength: 1, maxLength: 10 },
      )
      .map((pieces) => pieces.join('')),
  )
  .map(accepted)
  .filter((value): value is string => value !== undefined);

/** Stack traces after normalizeStackTrace: what save_agent_output stores. */
export const stackTrace = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    markdownText,
    fc
      .array(
        fc.constantFrom(
          'Error: boom',
          '    at f (a.js:1:2)',
          '\tat g',
          '',
          '  ',
          '## Output',
          '```',
          '\u0000',
        ),
        {
          maxLength: 8,
        },
      )
      .map((lines) => lines.join('\n')),
  )
  .map(normalizeStackTrace)
  .filter((trace): trace is string => trace !== undefined);

/** The built-in workflow's modes, and the numbers of its seven phases. */
const BUILT_IN_MODE_NAMES = Object.keys(BUILT_IN_MODES);
const PHASE_NUMS = PHASES.map((phase) => phase.num);

/** The built-in workflow's name of phase `num`. */
function builtInName(num: number): string {
  const phase = PHASES.find((candidate) => candidate.num === num);
  if (!phase) throw new Error(`no built-in phase ${num}`);
  return phase.name;
}

const sha256 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** fc.record without the null-prototype objects it also makes: the parsers return plain objects. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

function optional<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined });
}

/** Drops the keys whose value is undefined: the parsers leave missing values out. */
function compact<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

export const projectRecord: fc.Arbitrary<ProjectRecord> = record({
  project_id: identifier,
  project_name: metadataText,
  user_id: identifier,
  // project.md writes a Workflow Type for a user's workflow only; its mode is any identifier.
  workflow_type: fc.oneof(fc.constant(BUILT_IN_WORKFLOW), identifier),
  execution_mode: fc.oneof(fc.constantFrom(...BUILT_IN_MODE_NAMES), identifier),
  status: fc.constantFrom(...PROJECT_STATUSES),
  created: timestamp,
  updated: timestamp,
  startup_idea: verbatimText,
});

const phaseRow = (num: number): fc.Arbitrary<PhaseRow> =>
  fc
    .record({
      phase_num: fc.constant(num),
      name: fc.oneof(fc.constant(builtInName(num)), metadataText),
      status: fc.constantFrom(...PHASE_STATUSES),
      started: optional(timestamp),
      completed: optional(timestamp),
      duration: optional(amount),
    })
    .map(compact);

export const manifestRecord: fc.Arbitrary<ManifestRecord> = fc
  .constantFrom(...BUILT_IN_MODE_NAMES)
  .chain((mode) =>
    record({
      session_id: identifier,
      project_id: identifier,
      user_id: identifier,
      workflow_type: fc.constant(BUILT_IN_WORKFLOW),
      execution_mode: fc.constant(mode),
      created: timestamp,
      last_updated: timestamp,
      status: fc.constantFrom(...SESSION_STATUSES),
      revision: count,
      phases: fc.tuple(...(BUILT_IN_MODES[mode] ?? []).map(phaseRow)),
      current_phase: record({
        phase: fc.integer({ min: 0, max: 7 }),
        name: metadataText,
        status: fc.constantFrom(...PHASE_STATUSES),
        can_resume: fc.boolean(),
      }),
      metrics: record({ total_duration: amount, total_tokens: count, total_cost: decimalText }),
    }),
  );

/**
 * An agent of a checkpoint, canonical as the manager stores it: `output_file` only when it is not the
 * default `{agent}.md`, and `tokens` only when it differs from input + output (the ledger writes that
 * sum where no total was given, so the file cannot tell the two apart), and costs as decimal text.
 */
const agentEntry: fc.Arbitrary<AgentEntry> = fc
  .record({
    agent_name: agentName,
    status: fc.constantFrom(...AGENT_STATUSES),
    output_file: optional(agentName.map((name) => `${name}.md`)),
    tokens: optional(count),
    input_tokens: optional(count),
    output_tokens: optional(count),
    cost: optional(decimalText),
    duration: optional(amount),
  })
  // save_checkpoint refuses tokens whose sum passes 2^53 - 1 (LIMIT_EXCEEDED): no ledger holds one.
  .filter((agent) => Number.isSafeInteger((agent.input_tokens ?? 0) + (agent.output_tokens ?? 0)))
  .map((agent) => {
    const derived =
      agent.input_tokens === undefined && agent.output_tokens === undefined
        ? undefined
        : (agent.input_tokens ?? 0) + (agent.output_tokens ?? 0);
    return compact({
      ...agent,
      output_file: agent.output_file === `${agent.agent_name}.md` ? undefined : agent.output_file,
      tokens: agent.tokens === derived ? undefined : agent.tokens,
    });
  });

export const checkpointRecord: fc.Arbitrary<CheckpointRecord> = fc
  .record({
    phase_num: fc.constantFrom(...PHASE_NUMS),
    phase_name: metadataText,
    status: fc.constantFrom(...PHASE_STATUSES),
    started: optional(timestamp),
    completed: optional(timestamp),
    duration: optional(amount),
    retry_count: count,
    execution_mode: fc.constantFrom(...PHASE_EXECUTION_MODES),
    updated: timestamp,
    agents: fc.uniqueArray(agentEntry, { maxLength: 6, selector: (agent) => agent.agent_name.toLowerCase() }),
    next_phase: optional(fc.constantFrom(...PHASE_NUMS)),
    errors: fc.array(metadataText, { maxLength: 4 }),
  })
  .map(compact);

export const agentOutputRecord: fc.Arbitrary<AgentOutputRecord> = fc
  .constantFrom(...PHASE_NUMS)
  .chain((num) =>
    fc
      .record({
        agent_name: agentName,
        phase_num: fc.constant(num),
        phase_name: fc.oneof(fc.constant(builtInName(num)), metadataText),
        executed: timestamp,
        duration: optional(amount),
        status: fc.constantFrom(...AGENT_STATUSES),
        model: optional(metadataText),
        input_tokens: optional(count),
        output_tokens: optional(count),
        tools_used: fc.array(
          metadataText.filter((tool) => !/[,[\]]/.test(tool)),
          { maxLength: 4 },
        ),
        sha256,
        error_type: optional(metadataText),
        error_message: optional(metadataText),
        stack_trace: optional(stackTrace),
        content: verbatimText,
      })
      .map(compact),
  );

export const userFeedbackRecord: fc.Arbitrary<UserFeedbackRecord> = record({
  phase_name: fc.oneof(fc.constantFrom(...PHASE_NUMS).map(builtInName), metadataText),
  reviewed: fc.boolean(),
  approved: fc.boolean(),
  timestamp,
  requested_changes: fc.array(metadataText, { maxLength: 5 }),
  action: fc.constantFrom(...FEEDBACK_ACTIONS),
  retry_count: count,
  comments: verbatimText,
});
