import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Limits } from '../../src/checkpoint/model/limits.js';
import { call, codeOf, resultText } from './sandbox.js';

/** One hostile call and the error it must get. */
export interface HostileCase {
  name: string;
  tool: string;
  args: Record<string, unknown>;
  code: string;
}

/** Small limits, so every limit can be crossed with a few bytes. */
export const SMALL_LIMITS: Partial<Limits> = {
  maxContentBytes: 1024,
  maxTextBytes: 512,
  maxAgents: 3,
  maxRequestedChanges: 3,
  maxErrors: 3,
  maxResponseBytes: 4096,
};

const SESSION = { project_id: 'proj', session_id: 's1' } as const;
const PHASE = { ...SESSION, phase_num: 1 } as const;

/** Valid arguments of every tool that takes an identifier or text; each case breaks one field. */
const VALID: Record<string, Record<string, unknown>> = {
  create_project: { user_id: 'u1', startup_idea: 'An idea', project_name: 'Other', project_id: 'other' },
  get_project: { project_id: 'proj' },
  archive_project: { project_id: 'proj' },
  list_projects: { user_id: 'u1' },
  create_session: { ...SESSION, user_id: 'u1' },
  start_session: { project_id: 'proj', user_id: 'u1' },
  load_session: { ...SESSION },
  list_sessions: { project_id: 'proj' },
  save_checkpoint: { ...PHASE, status: 'completed', agents: [{ agent_name: 'Writer', status: 'completed' }] },
  save_agent_output: { ...PHASE, agent_name: 'Writer', output_content: 'second' },
  save_user_feedback: { ...PHASE, reviewed: true, approved: true },
  get_approved_phases: { ...SESSION },
  get_phase_outputs: { ...SESSION, phase_nums: [1] },
  get_agent_output: { ...PHASE, agent_name: 'Writer' },
  list_history: { ...PHASE },
  validate_checkpoint: { ...PHASE },
  validate_session: { ...SESSION },
  resume_session: { ...SESSION },
  export_session: { ...SESSION },
  define_workflow: {
    workflow_type: 'code_review',
    default_mode: 'quick',
    phases: [
      { num: 1, name: 'Read', folder: 'read' },
      { num: 2, name: 'Verdict', folder: 'verdict' },
    ],
    modes: [{ name: 'quick', phases: [1, 2] }],
  },
  get_workflow: { workflow_type: 'idea_validation' },
};

/** What the setup writes; the corpus runs against it and must leave it byte for byte. */
export async function seed(client: Client): Promise<void> {
  const calls: Array<[string, Record<string, unknown>]> = [
    ['create_project', { user_id: 'u1', project_id: 'proj', project_name: 'Proj', startup_idea: 'An idea' }],
    ['create_session', { ...SESSION, user_id: 'u1' }],
    ['save_agent_output', { ...PHASE, agent_name: 'Writer', output_content: 'first' }],
    ['save_agent_output', { ...PHASE, agent_name: 'Writer', output_content: 'second' }],
    ['save_checkpoint', VALID.save_checkpoint as Record<string, unknown>],
    ['save_user_feedback', VALID.save_user_feedback as Record<string, unknown>],
    // The first listing writes the cache of session folder times (.sessions-index): made here,
    // it is part of the store the cases must leave as it was.
    ['list_sessions', { project_id: 'proj' }],
  ];
  for (const [tool, args] of calls) {
    const result = await call(client, tool, args);
    if (result.isError) throw new Error(`setup ${tool} failed: ${resultText(result)}`);
  }
}

/** The server still answers: a read that must succeed after every hostile call. */
export async function assertAlive(client: Client): Promise<void> {
  const result = await call(client, 'get_project', { project_id: 'proj' });
  if (result.isError) throw new Error(`the server no longer answers get_project: ${resultText(result)}`);
}

export async function runCase(client: Client, hostile: HostileCase): Promise<{ code: string; text: string }> {
  const result = await call(client, hostile.tool, hostile.args);
  const text = resultText(result);
  if (!result.isError) return { code: 'SUCCESS', text };
  if (result.structuredContent !== undefined) return { code: 'STRUCTURED_ERROR', text };
  return { code: codeOf(result), text };
}

/** `base` with `path` (dots and indices: "agents.0.agent_name") set to `value`. */
function withValue(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  const keys = path.split('.');
  let target: Record<string, unknown> = copy;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i] as string;
    target[key] ??= /^\d+$/.test(keys[i + 1] ?? '') ? [] : {};
    target = target[key] as Record<string, unknown>;
  }
  target[keys.at(-1) as string] = value;
  return copy;
}

function breaking(
  tool: string,
  path: string,
  values: ReadonlyArray<readonly [string, unknown]>,
  code: string,
) {
  return values.map(([label, value]) => ({
    name: `${tool} ${path} = ${label}`,
    tool,
    args: withValue(VALID[tool] as Record<string, unknown>, path, value),
    code,
  }));
}

/** Identifiers that must never reach the disk: paths, encodings, look-alikes, device names, wrong types. */
const HOSTILE_IDENTIFIERS: ReadonlyArray<readonly [string, unknown]> = [
  ['dot-dot', '..'],
  ['dot', '.'],
  ['parent path ../../etc', '../../etc'],
  ['the prefix sibling ../base_evil', '../base_evil'],
  ['a path through the parent', 'a/../../canary'],
  ['absolute /abs', '/abs'],
  ['absolute /etc/passwd', '/etc/passwd'],
  ['drive path C:\\x', 'C:\\x'],
  ['drive-relative C:x', 'C:x'],
  ['UNC \\\\server\\share', '\\\\server\\share'],
  ['backslash parent', '..\\..\\canary'],
  ['a slash', 'a/b'],
  ['percent-encoded dots %2e%2e', '%2e%2e'],
  ['percent-encoded slash a%2Fb', 'a%2Fb'],
  ['double-encoded %252e%252e', '%252e%252e'],
  ['NUL inside', 'a\u0000b'],
  ['NUL at the end', 'proj\u0000'],
  ['a newline', 'a\nb'],
  ['a carriage return', 'a\rb'],
  ['a tab', 'a\tb'],
  ['NFC café (composed)', 'caf\u00e9'],
  ['NFD café (decomposed)', 'cafe\u0301'],
  ['bidi override U+202E first', '\u202Egnp.exe'],
  ['bidi override U+202E inside', 'ab\u202Ecd'],
  ['zero-width space U+200B', 'a\u200Bb'],
  ['zero-width joiner at the end', 'proj\u200D'],
  ['byte order mark first', '\uFEFFproj'],
  ['fullwidth letters', '\uFF50\uFF52\uFF4F\uFF4A'],
  ['fullwidth dots', '\uFF0E\uFF0E'],
  ['Cyrillic look-alike', 'pr\u043Ej'],
  ['129 characters', 'a'.repeat(129)],
  ['4096 characters', 'a'.repeat(4096)],
  ['empty', ''],
  ['a space', ' '],
  ['a leading space', ' proj'],
  ['a hidden name', '.hidden'],
  ['the lock name', '.lock'],
  ['a temporary file name', '.x.md.1.abc.tmp'],
  ['an inner dot-dot', 'a..b'],
  ['a trailing dot', 'proj.'],
  ['a leading dash', '-rf'],
  ['__proto__', '__proto__'],
  ['a tilde', '~root'],
  ['a shell variable', '$HOME'],
  ['an NTFS stream', 'proj:stream'],
  ['a wildcard', 'proj*'],
  ['CON', 'CON'],
  ['con', 'con'],
  ['nul.txt', 'nul.txt'],
  ['AUX.md', 'AUX.md'],
  ['PRN', 'PRN'],
  ['COM1', 'COM1'],
  ['com9.log', 'com9.log'],
  ['LPT9', 'LPT9'],
  ['lpt1.tar.gz', 'lpt1.tar.gz'],
  ['COM with a superscript digit', 'COM\u00B9'],
  ['a number', 42],
  ['null', null],
  ['a boolean', true],
  ['an array', ['proj']],
  ['an object', { toString: 'proj' }],
];

/** The core of the list, tried on every other tool that takes the identifier. */
const CORE_IDENTIFIERS = HOSTILE_IDENTIFIERS.filter(([label]) =>
  [
    'dot-dot',
    'parent path ../../etc',
    'absolute /abs',
    'drive path C:\\x',
    'percent-encoded dots %2e%2e',
    'NUL inside',
    'CON',
    '129 characters',
  ].includes(label),
);

const RESERVED_AGENT_NAMES: ReadonlyArray<readonly [string, unknown]> = [
  ['checkpoint', 'checkpoint'],
  ['CHECKPOINT', 'CHECKPOINT'],
  ['checkpoint.md', 'checkpoint.md'],
  ['USER_FEEDBACK', 'USER_FEEDBACK'],
  ['user_feedback.md', 'user_feedback.md'],
  ['session_manifest', 'session_manifest'],
  ['Project', 'Project'],
  ['project.md', 'project.md'],
  ['history', 'history'],
  ['history.md', 'history.md'],
  ['HISTORY.MD', 'HISTORY.MD'],
];

const HOSTILE_PHASES: ReadonlyArray<readonly [string, unknown]> = [
  ['0', 0],
  ['100', 100],
  ['-1', -1],
  ['1.5', 1.5],
  ['the string "1"', '1'],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['1e308', 1e308],
  ['2^53', 2 ** 53],
  ['null', null],
  ['true', true],
  ['[1]', [1]],
  ['the string "1e0"', '1e0'],
];
const CORE_PHASES = HOSTILE_PHASES.filter(([label]) =>
  ['0', '100', '1.5', 'the string "1"', 'NaN'].includes(label),
);

const LONE_SURROGATES: ReadonlyArray<readonly [string, unknown]> = [
  ['a lone high surrogate', 'text \uD800 text'],
  ['a lone low surrogate', 'text \uDC00'],
  ['a reversed pair', '\uDC00\uD800'],
];

/** One-line values: a line break or control character would end the markdown list item. */
const NOT_ONE_LINE: ReadonlyArray<readonly [string, unknown]> = [
  ['a newline that forges a field', 'gpt-4\n- Status: failed'],
  ['a carriage return', 'a\rb'],
  ['U+2028', 'a\u2028b'],
  ['U+0085', 'a\u0085b'],
  ['NUL', 'a\u0000b'],
  ['empty', ''],
  ['"-" (the missing-value mark)', '-'],
  ['only spaces', '   '],
  ...LONE_SURROGATES.slice(0, 1),
  ['a number', 42],
];

const SESSION_TOOLS = [
  'load_session',
  'save_checkpoint',
  'save_agent_output',
  'save_user_feedback',
  'get_approved_phases',
  'get_phase_outputs',
  'get_agent_output',
  'list_history',
  'validate_checkpoint',
  'validate_session',
  'resume_session',
  'export_session',
];
const PHASE_TOOLS = [
  'save_checkpoint',
  'save_user_feedback',
  'get_agent_output',
  'list_history',
  'validate_checkpoint',
];

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

const repeat = (count: number, make: (i: number) => unknown) =>
  Array.from({ length: count }, (_, i) => make(i));

export const CORPUS: HostileCase[] = [
  // Identifiers: the whole list where each kind is first used, the core of it everywhere else.
  ...breaking('create_session', 'project_id', HOSTILE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking('create_session', 'session_id', HOSTILE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking('create_project', 'user_id', HOSTILE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking('save_agent_output', 'agent_name', HOSTILE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking('save_agent_output', 'agent_name', RESERVED_AGENT_NAMES, 'INVALID_ARGUMENT'),
  ...breaking('get_agent_output', 'agent_name', RESERVED_AGENT_NAMES.slice(0, 4), 'INVALID_ARGUMENT'),
  ...breaking('save_checkpoint', 'agents.0.agent_name', RESERVED_AGENT_NAMES.slice(0, 4), 'INVALID_ARGUMENT'),
  ...[
    'get_project',
    'archive_project',
    'start_session',
    'list_sessions',
    'create_project',
    ...SESSION_TOOLS,
  ].flatMap((tool) => breaking(tool, 'project_id', CORE_IDENTIFIERS, 'INVALID_ARGUMENT')),
  ...SESSION_TOOLS.flatMap((tool) => breaking(tool, 'session_id', CORE_IDENTIFIERS, 'INVALID_ARGUMENT')),
  ...['create_session', 'start_session', 'list_projects'].flatMap((tool) =>
    breaking(tool, 'user_id', CORE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ),
  ...breaking('get_agent_output', 'agent_name', CORE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking('save_checkpoint', 'agents.0.agent_name', CORE_IDENTIFIERS, 'INVALID_ARGUMENT'),

  // Names that differ only in letter case from the existing Writer.md collide on macOS and Windows.
  ...breaking(
    'save_agent_output',
    'agent_name',
    [
      ['writer', 'writer'],
      ['WRITER', 'WRITER'],
      ['wRiTeR', 'wRiTeR'],
    ],
    'CONFLICT',
  ),
  {
    name: 'save_checkpoint lists two agents that differ only in case',
    tool: 'save_checkpoint',
    args: {
      ...PHASE,
      status: 'completed',
      agents: [
        { agent_name: 'Writer', status: 'completed' },
        { agent_name: 'WRITER', status: 'completed' },
      ],
    },
    code: 'INVALID_ARGUMENT',
  },
  ...breaking('create_session', 'user_id', [['another user', 'u2']], 'CONFLICT'),
  ...breaking('create_session', 'execution_mode', [['another mode', 'full']], 'CONFLICT'),
  ...breaking('create_project', 'project_id', [['an existing project', 'proj']], 'CONFLICT'),

  // Phase numbers.
  ...breaking('save_agent_output', 'phase_num', HOSTILE_PHASES, 'INVALID_ARGUMENT'),
  ...PHASE_TOOLS.flatMap((tool) => breaking(tool, 'phase_num', CORE_PHASES, 'INVALID_ARGUMENT')),
  ...breaking('get_phase_outputs', 'phase_nums.0', CORE_PHASES, 'INVALID_ARGUMENT'),
  ...breaking('get_phase_outputs', 'phase_nums', [['a number, not a list', 1]], 'INVALID_ARGUMENT'),
  ...['save_agent_output', ...PHASE_TOOLS].flatMap((tool) =>
    breaking(
      tool,
      'phase_num',
      [
        ['4 (not in an mvp session)', 4],
        ['5 (not in an mvp session)', 5],
        ['8 (no phase of idea_validation)', 8],
        ['99 (the largest phase number any workflow may use)', 99],
      ],
      'PHASE_NOT_IN_MODE',
    ),
  ),
  ...breaking(
    'get_phase_outputs',
    'phase_nums.0',
    [
      ['4 (not in an mvp session)', 4],
      ['8 (no phase of idea_validation)', 8],
    ],
    'PHASE_NOT_IN_MODE',
  ),

  // Other numbers: negative, fractional, non-finite, numeric strings.
  ...breaking(
    'save_agent_output',
    'duration',
    [
      ['-1', -1],
      ['"1"', '1'],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'save_agent_output',
    'input_tokens',
    [
      ['-1', -1],
      ['1.5', 1.5],
      ['"10"', '10'],
      ['2^53 (not a safe integer)', 2 ** 53],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('save_agent_output', 'output_tokens', [['-5', -5]], 'INVALID_ARGUMENT'),
  ...breaking(
    'save_checkpoint',
    'agents.0.tokens',
    [
      ['-1', -1],
      ['"5"', '5'],
      ['1.5', 1.5],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'save_checkpoint',
    'agents.0.cost',
    [
      ['-0.01', -0.01],
      ['"0.1"', '0.1'],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('save_checkpoint', 'agents.0.duration', [['-1', -1]], 'INVALID_ARGUMENT'),
  ...breaking('save_checkpoint', 'duration', [['-1', -1]], 'INVALID_ARGUMENT'),
  ...breaking(
    'save_checkpoint',
    'retry_count',
    [
      ['-1', -1],
      ['1.5', 1.5],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('save_user_feedback', 'retry_count', [['"1"', '1']], 'INVALID_ARGUMENT'),
  ...breaking(
    'get_agent_output',
    'version',
    [
      ['0', 0],
      ['-1', -1],
      ['1.5', 1.5],
      ['"1"', '1'],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('get_agent_output', 'version', [['99 (never saved)', 99]], 'NOT_FOUND'),
  ...breaking(
    'get_agent_output',
    'offset',
    [
      ['-1', -1],
      ['"0"', '0'],
      ['1.5', 1.5],
      ['past the end', 1_000_000_000],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('get_agent_output', 'max_chars', [['0', 0]], 'INVALID_ARGUMENT'),
  ...breaking(
    'list_projects',
    'limit',
    [
      ['0', 0],
      ['501', 501],
      ['"10"', '10'],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('list_sessions', 'limit', [['-1', -1]], 'INVALID_ARGUMENT'),

  // Cursors: only a next_cursor this server returned is accepted.
  ...['list_projects', 'list_sessions'].flatMap((tool) =>
    breaking(
      tool,
      'cursor',
      [
        ['garbage', 'not a cursor!'],
        ['a path', '../../etc/passwd'],
        ['NUL', '\u0000'],
        ['base64 of an object', base64url('{"created":"2024-01-01","id":"x"}')],
        ['base64 of a bad date', base64url('["yesterday","x"]')],
        ['1,025 characters', 'a'.repeat(1025)],
        ['a number', 7],
      ],
      'INVALID_ARGUMENT',
    ),
  ),

  // Timestamps and closed vocabularies.
  ...breaking(
    'save_checkpoint',
    'started',
    [
      ['a word', 'yesterday'],
      ['month 13', '2024-13-45T00:00:00Z'],
      ['a forged line', '2024-11-24T10:00:00Z\n- Status: completed'],
    ],
    'INVALID_ARGUMENT',
  ),
  {
    name: 'save_checkpoint completed before started',
    tool: 'save_checkpoint',
    args: {
      ...(VALID.save_checkpoint as object),
      started: '2024-11-24T10:00:00Z',
      completed: '2024-11-24T09:00:00Z',
    },
    code: 'INVALID_ARGUMENT',
  },
  ...breaking('save_checkpoint', 'status', [['an unknown status', 'done']], 'INVALID_ARGUMENT'),
  ...breaking(
    'save_checkpoint',
    'agents.0.status',
    [['requires_retry (a phase status)', 'requires_retry']],
    'INVALID_ARGUMENT',
  ),
  ...breaking('save_checkpoint', 'execution_mode', [['turbo', 'turbo']], 'INVALID_ARGUMENT'),
  ...breaking('save_checkpoint', 'agents', [['not a list', 'Writer']], 'INVALID_ARGUMENT'),
  ...breaking('save_user_feedback', 'action', [['delete', 'delete']], 'INVALID_ARGUMENT'),
  ...breaking('save_user_feedback', 'approved', [['the string "true"', 'true']], 'INVALID_ARGUMENT'),
  ...breaking(
    'save_user_feedback',
    'action',
    [['retry_with_changes while approved', 'retry_with_changes']],
    'INVALID_ARGUMENT',
  ),
  ...breaking('create_session', 'workflow_type', [['unknown', 'hack_the_planet']], 'NOT_FOUND'),
  ...breaking('list_projects', 'status', [['deleted', 'deleted']], 'INVALID_ARGUMENT'),

  // Output file names in a checkpoint.
  ...breaking(
    'save_checkpoint',
    'agents.0.output_file',
    [
      ['a parent path', '../../canary/secret.md'],
      ['an absolute path', '/etc/passwd.md'],
      ['not markdown', 'Writer.txt'],
      ['a device name', 'CON.md'],
      ['the checkpoint itself', 'checkpoint.md'],
      ['the feedback file', 'user_feedback.md'],
      ['a NUL', 'Writer\u0000.md'],
    ],
    'INVALID_ARGUMENT',
  ),

  // Free text: stored verbatim, but it must be valid Unicode and within its limit.
  ...breaking('save_agent_output', 'output_content', LONE_SURROGATES, 'INVALID_ARGUMENT'),
  ...breaking(
    'save_agent_output',
    'output_content',
    [
      ['not a string', 42],
      ['null', null],
      ['a list', ['text']],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'save_agent_output',
    'output_content',
    [
      ['1,025 ASCII bytes', 'x'.repeat(1025)],
      ['513 two-byte characters', '\u00e9'.repeat(513)],
      ['257 four-byte emoji', '\u{1F600}'.repeat(257)],
    ],
    'LIMIT_EXCEEDED',
  ),
  ...breaking('save_agent_output', 'stack_trace', LONE_SURROGATES.slice(0, 1), 'INVALID_ARGUMENT'),
  ...breaking('save_agent_output', 'stack_trace', [['513 bytes', 's'.repeat(513)]], 'LIMIT_EXCEEDED'),
  ...breaking('save_user_feedback', 'comments', LONE_SURROGATES, 'INVALID_ARGUMENT'),
  ...breaking('save_user_feedback', 'comments', [['a number', 42]], 'INVALID_ARGUMENT'),
  ...breaking(
    'save_user_feedback',
    'comments',
    [
      ['513 bytes', 'c'.repeat(513)],
      ['257 two-byte characters', '\u00fc'.repeat(257)],
    ],
    'LIMIT_EXCEEDED',
  ),
  ...breaking('create_project', 'startup_idea', LONE_SURROGATES.slice(0, 2), 'INVALID_ARGUMENT'),
  ...breaking('create_project', 'startup_idea', [['null', null]], 'INVALID_ARGUMENT'),
  ...breaking('create_project', 'startup_idea', [['513 bytes', 'i'.repeat(513)]], 'LIMIT_EXCEEDED'),

  // One-line metadata values.
  ...breaking('save_agent_output', 'model', NOT_ONE_LINE, 'INVALID_ARGUMENT'),
  ...breaking('save_agent_output', 'error_type', NOT_ONE_LINE.slice(0, 3), 'INVALID_ARGUMENT'),
  ...breaking('save_agent_output', 'error_message', NOT_ONE_LINE.slice(0, 5), 'INVALID_ARGUMENT'),
  ...breaking('save_agent_output', 'error_message', LONE_SURROGATES.slice(1, 2), 'INVALID_ARGUMENT'),
  ...breaking('save_checkpoint', 'errors.0', NOT_ONE_LINE.slice(0, 6), 'INVALID_ARGUMENT'),
  ...breaking('save_checkpoint', 'errors', [['not a list', 'boom']], 'INVALID_ARGUMENT'),
  ...breaking('save_user_feedback', 'requested_changes.0', NOT_ONE_LINE.slice(0, 7), 'INVALID_ARGUMENT'),
  ...breaking('save_agent_output', 'tools_used.0', NOT_ONE_LINE.slice(0, 3), 'INVALID_ARGUMENT'),
  ...breaking(
    'save_agent_output',
    'tools_used.0',
    [
      ['a comma (the list separator)', 'search,fetch'],
      ['brackets', '[search]'],
      ['empty', ''],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('create_project', 'project_name', NOT_ONE_LINE, 'INVALID_ARGUMENT'),

  // Counts over the limits (and one argument tree over the SDK's element ceiling).
  ...breaking(
    'save_checkpoint',
    'agents',
    [['4 agents', repeat(4, (i) => ({ agent_name: `agent${i}`, status: 'completed' }))]],
    'LIMIT_EXCEEDED',
  ),
  ...breaking('save_checkpoint', 'errors', [['4 errors', repeat(4, (i) => `error ${i}`)]], 'LIMIT_EXCEEDED'),
  ...breaking(
    'save_user_feedback',
    'requested_changes',
    [['4 changes', repeat(4, (i) => `change ${i}`)]],
    'LIMIT_EXCEEDED',
  ),
  ...breaking(
    'save_agent_output',
    'tools_used',
    [['4 tools', repeat(4, (i) => `tool${i}`)]],
    'LIMIT_EXCEEDED',
  ),
  ...breaking(
    'save_agent_output',
    'tools_used',
    [['50,001 elements (over the limit of argument values)', repeat(50_001, () => 'x')]],
    'LIMIT_EXCEEDED',
  ),

  // Valid names that are not there: the sibling directories are never looked up.
  ...breaking(
    'get_project',
    'project_id',
    [
      ['base_evil (the sibling of the base)', 'base_evil'],
      ['canary (beside the base)', 'canary'],
    ],
    'NOT_FOUND',
  ),
  ...breaking('load_session', 'project_id', [['base_evil', 'base_evil']], 'NOT_FOUND'),
  ...breaking('list_sessions', 'project_id', [['base_evil', 'base_evil']], 'NOT_FOUND'),
  ...breaking('start_session', 'project_id', [['base_evil', 'base_evil']], 'NOT_FOUND'),
  ...breaking('load_session', 'session_id', [['a session that does not exist', 'ghost']], 'NOT_FOUND'),
  ...breaking('get_agent_output', 'agent_name', [['an agent that never saved', 'ghost']], 'NOT_FOUND'),

  // Workflow definitions: the type is an identifier (its document is workflows/{type}.md), a folder
  // slug becomes a directory name, a name a table cell; counts and sizes are bounded.
  ...breaking('define_workflow', 'workflow_type', HOSTILE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking(
    'define_workflow',
    'workflow_type',
    [
      ['the built-in idea_validation', 'idea_validation'],
      ['the built-in in capitals', 'IDEA_VALIDATION'],
    ],
    'CONFLICT',
  ),
  ...breaking('define_workflow', 'default_mode', [['a mode it does not have', 'deep']], 'INVALID_ARGUMENT'),
  ...breaking('define_workflow', 'default_mode', CORE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking('define_workflow', 'modes.0.name', CORE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking(
    'define_workflow',
    'phases.0.folder',
    [
      ['dot-dot', '..'],
      ['a parent path', '../x'],
      ['a slash', 'a/b'],
      ['a backslash', 'a\\b'],
      ['capitals', 'Read'],
      ['a dash', 'code-review'],
      ['a space', 'a b'],
      ['a dot', 'a.md'],
      ['NUL', 'a\u0000b'],
      ['non-ASCII', 'caf\u00e9'],
      ['empty', ''],
      ['41 characters', 'a'.repeat(41)],
      ['4096 characters', 'a'.repeat(4096)],
      ['a number', 7],
      ['null', null],
      ["the other phase's folder", 'verdict'],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking('define_workflow', 'phases.0.name', NOT_ONE_LINE, 'INVALID_ARGUMENT'),
  ...breaking(
    'define_workflow',
    'phases.0.name',
    [
      ['81 characters', 'n'.repeat(81)],
      ['a 1 MiB name', 'n'.repeat(1024 * 1024)],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'define_workflow',
    'title',
    [...NOT_ONE_LINE.slice(0, 5), ['201 characters', 't'.repeat(201)]],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'define_workflow',
    'phases.0.num',
    [...HOSTILE_PHASES, ["the other phase's number", 2]],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'define_workflow',
    'phases',
    [
      ['empty', []],
      ['not a list', 'read'],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'define_workflow',
    'phases',
    [['51 phases', repeat(51, (i) => ({ num: i + 1, name: `Phase ${i + 1}`, folder: `p${i + 1}` }))]],
    'LIMIT_EXCEEDED',
  ),
  ...breaking(
    'define_workflow',
    'modes',
    [
      ['empty', []],
      ['a mode naming an unknown phase', [{ name: 'quick', phases: [1, 3] }]],
      ['a mode out of order', [{ name: 'quick', phases: [2, 1] }]],
      ['a mode repeating a phase', [{ name: 'quick', phases: [1, 1, 2] }]],
      ['a mode with no phase', [{ name: 'quick', phases: [] }]],
      [
        'two modes of one name',
        [
          { name: 'quick', phases: [1] },
          { name: 'quick', phases: [1, 2] },
        ],
      ],
    ],
    'INVALID_ARGUMENT',
  ),
  ...breaking(
    'define_workflow',
    'phases.0.color',
    [['an argument that does not exist', 'red']],
    'INVALID_ARGUMENT',
  ),
  ...breaking('get_workflow', 'workflow_type', CORE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ...breaking('get_workflow', 'workflow_type', [['a workflow never defined', 'code_review']], 'NOT_FOUND'),
  ...['create_project', 'create_session', 'start_session'].flatMap((tool) =>
    breaking(tool, 'workflow_type', CORE_IDENTIFIERS, 'INVALID_ARGUMENT'),
  ),
  ...breaking('start_session', 'workflow_type', [['a workflow never defined', 'code_review']], 'NOT_FOUND'),
  ...breaking('create_project', 'project_id', [['workflows (reserved)', 'workflows']], 'INVALID_ARGUMENT'),
  ...breaking('create_session', 'project_id', [['workflows (reserved)', 'workflows']], 'INVALID_ARGUMENT'),
];
