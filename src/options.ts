import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, type Limits } from './checkpoint/model/limits.js';
import { INVALID_STORE_URL } from './checkpoint/store/postgres/pg-errors.js';
import { TOOL_SETS, type ToolSet } from './tools/catalog.js';

/** One command-line option: the single source of --help, the README table and the parser. */
export interface OptionSpec {
  name: string;
  short?: string;
  value?: string;
  env?: string;
  default: string;
  description: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    name: 'base-dir',
    value: '<path>',
    env: 'CHECKPOINT_BASE_DIR',
    default: './projects',
    description:
      'base directory of the markdown tree; a leading ~/ is your home folder. One this user may not write serves reads only (a warning at the start says so)',
  },
  {
    name: 'store',
    value: '<url>',
    env: 'CHECKPOINT_STORE_URL',
    default: '',
    description: 'postgres://... to keep the documents in PostgreSQL (default: the files of --base-dir)',
  },
  {
    name: 'to',
    value: '<dir>',
    default: '',
    description: 'with export: the folder to write the tree to',
  },
  {
    name: 'from',
    value: '<dir>',
    default: '',
    description: 'with import: the folder tree to load',
  },
  {
    name: 'tools',
    value: '<set>',
    env: 'CHECKPOINT_TOOLS',
    default: 'all',
    description: `tools to offer: ${TOOL_SETS.join(' or ')} (core: the seed's operations, resume_session and get_agent_output)`,
  },
  {
    name: 'max-content-bytes',
    value: '<n>',
    env: 'CHECKPOINT_MAX_CONTENT_BYTES',
    default: String(DEFAULT_LIMITS.maxContentBytes),
    description: 'largest agent output, UTF-8 bytes',
  },
  {
    name: 'max-response-bytes',
    value: '<n>',
    env: 'CHECKPOINT_MAX_RESPONSE_BYTES',
    default: String(DEFAULT_LIMITS.maxResponseBytes),
    description: 'most content in one tool result or resource read, JSON-encoded bytes',
  },
  {
    name: 'max-prompt-bytes',
    value: '<n>',
    env: 'CHECKPOINT_MAX_PROMPT_BYTES',
    default: String(DEFAULT_LIMITS.maxPromptBytes),
    description: 'largest resume_session or review_phase prompt, JSON-encoded bytes',
  },
  { name: 'http', default: '', description: 'serve Streamable HTTP at /mcp instead of stdio' },
  {
    name: 'host',
    value: '<address>',
    env: 'CHECKPOINT_HTTP_HOST',
    default: '127.0.0.1',
    description: 'address to listen on with --http; off loopback it needs a token',
  },
  {
    name: 'port',
    value: '<n>',
    env: 'CHECKPOINT_HTTP_PORT',
    default: '3000',
    description: 'port to listen on with --http; 0 picks a free one (printed on stderr)',
  },
  {
    name: 'token-file',
    value: '<path>',
    env: 'CHECKPOINT_HTTP_TOKEN_FILE',
    default: '',
    description:
      'file holding the bearer token every HTTP request must send (or the token itself in CHECKPOINT_HTTP_TOKEN)',
  },
  {
    name: 'allowed-hosts',
    value: '<names>',
    env: 'CHECKPOINT_ALLOWED_HOSTS',
    default: '',
    description: 'comma-separated Host names to accept (default: localhost names on loopback, else --host)',
  },
  {
    name: 'allowed-origins',
    value: '<names>',
    env: 'CHECKPOINT_ALLOWED_ORIGINS',
    default: '',
    description: 'comma-separated Origin host names to accept from browsers (default: as --allowed-hosts)',
  },
  {
    name: 'max-connections',
    value: '<n>',
    env: 'CHECKPOINT_MAX_CONNECTIONS',
    default: '64',
    description: 'HTTP requests served at once; more get 503 with Retry-After',
  },
  {
    name: 'request-timeout-ms',
    value: '<n>',
    default: '120000',
    description: 'longest time to receive one HTTP request',
  },
  {
    name: 'health-timeout-ms',
    value: '<n>',
    default: '2000',
    description: 'with --http: GET /healthz answers 503 when the storage has not answered within this',
  },
  {
    name: 'lock-timeout-ms',
    value: '<n>',
    default: '10000',
    description: 'wait for a session lock this long before LOCK_TIMEOUT',
  },
  {
    name: 'stale-lock-ms',
    value: '<n>',
    default: '30000',
    description: 'take over a session lock held longer than this',
  },
  {
    name: 'db-timeout-ms',
    value: '<n>',
    default: '5000',
    description:
      'with --store: longest wait for PostgreSQL to connect, or to answer a statement beyond --lock-timeout-ms, before the call is UNAVAILABLE',
  },
  { name: 'help', short: 'h', default: '', description: 'print this help' },
  { name: 'version', short: 'v', default: '', description: 'print the version' },
];

export interface HttpOptions {
  host: string;
  port: number;
  /** The bearer token, read from --token-file or CHECKPOINT_HTTP_TOKEN. */
  token?: string;
  tokenFile?: string;
  allowedHosts: string[];
  allowedOrigins: string[];
  maxConnections: number;
  requestTimeoutMs: number;
  healthTimeoutMs: number;
}

export interface CliOptions {
  command: 'serve' | 'repair' | 'migrate' | 'export' | 'import' | 'help' | 'version';
  baseDir: string;
  /** A postgres:// URL: the PostgreSQL engine instead of the files of baseDir. */
  storeUrl?: string;
  /** export: where to write the tree; import: where to read it. */
  treeDir?: string;
  tools: ToolSet;
  limits: Limits;
  lockTimeoutMs: number;
  staleLockMs: number;
  /** How long PostgreSQL may take to answer, besides a lock wait (see PgStoreOptions). */
  dbTimeoutMs: number;
  /** Set with --http: serve Streamable HTTP instead of stdio. */
  http?: HttpOptions;
}

export const USAGE = `Usage: checkpoint-mcp [serve] [--http] [options]
       checkpoint-mcp repair [options]
       checkpoint-mcp migrate --store <url>
       checkpoint-mcp export --store <url> --to <dir>
       checkpoint-mcp import --from <dir> --store <url>

serve (the default) runs the MCP server over stdio, or over Streamable HTTP at /mcp with --http.
repair rebuilds every session manifest from its checkpoints, removes orphaned temporary files and
the lock files of writers killed while they saved, and prints what changed. migrate brings a
PostgreSQL database to this version's schema (serve and export refuse a database that is behind).
export writes a database's documents, history included, as the file tree the file engine keeps, and
only reads; import loads such a tree, adding only what the database lacks (again and again gives the
same result): a session the database holds otherwise, saved since, is left as it is and named.

Options:
${OPTIONS.map(usageLine).join('\n')}
`;

export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: Object.fromEntries(
      OPTIONS.map((option) => [
        option.name,
        {
          type: option.value === undefined ? ('boolean' as const) : ('string' as const),
          ...(option.short ? { short: option.short } : {}),
        },
      ]),
    ),
  });
  if (positionals.length > 1 || (positionals[0] !== undefined && !COMMANDS.includes(positionals[0]))) {
    throw new Error(
      `unknown command ${JSON.stringify(positionals.join(' '))}; the commands are ${COMMANDS.join(', ')}`,
    );
  }
  misplacedOption(values, (positionals[0] ?? 'serve') as CliOptions['command']);
  const text = (name: string): string | undefined => {
    const value = values[name];
    const option = OPTIONS.find((spec) => spec.name === name);
    return typeof value === 'string' ? value : option?.env === undefined ? undefined : env[option.env];
  };
  // A mistake is named where it was made: in mcp.json's env, CHECKPOINT_TOOLS, not --tools.
  const label = (name: string): string => {
    const variable = OPTIONS.find((spec) => spec.name === name)?.env;
    return typeof values[name] === 'string' || variable === undefined || env[variable] === undefined
      ? `--${name}`
      : variable;
  };
  const number = (name: string): number => positive(label(name), text(name), Number(defaultOf(name)));
  const command: CliOptions['command'] = values.help
    ? 'help'
    : values.version
      ? 'version'
      : ((positionals[0] ?? 'serve') as CliOptions['command']);
  return {
    command,
    baseDir: homePath(text('base-dir') ?? defaultOf('base-dir')),
    tools: toolSet(label('tools'), text('tools') ?? defaultOf('tools')),
    limits: {
      ...DEFAULT_LIMITS,
      maxContentBytes: number('max-content-bytes'),
      maxResponseBytes: number('max-response-bytes'),
      maxPromptBytes: number('max-prompt-bytes'),
    },
    lockTimeoutMs: number('lock-timeout-ms'),
    staleLockMs: number('stale-lock-ms'),
    dbTimeoutMs: number('db-timeout-ms'),
    ...(values.http === true ? { http: httpOptions(text, label, env) } : {}),
    ...storeOptions(command, text, label),
  };
}

const COMMANDS = ['serve', 'repair', 'migrate', 'export', 'import'];

/** Options that mean something only with --http, or only to one command: given elsewhere they would do nothing. */
const HTTP_ONLY = [
  'host',
  'port',
  'token-file',
  'allowed-hosts',
  'allowed-origins',
  'max-connections',
  'request-timeout-ms',
  'health-timeout-ms',
];
const COMMAND_ONLY: Record<string, string> = { to: 'export', from: 'import', http: 'serve' };

/** An option on the command line that this command would ignore (--port without --http serves stdio). */
function misplacedOption(values: Record<string, unknown>, command: CliOptions['command']): void {
  if (values.help || values.version) return;
  for (const [name, only] of Object.entries(COMMAND_ONLY))
    if (values[name] !== undefined && command !== only)
      throw new Error(`--${name} applies only to ${only}, not to ${command}`);
  const http = HTTP_ONLY.find((name) => values[name] !== undefined);
  if (http !== undefined && values.http !== true)
    throw new Error(
      `--${http} applies only with --http (serve --http --${http} ...); without it the server speaks stdio`,
    );
}

function storeOptions(
  command: CliOptions['command'],
  text: (name: string) => string | undefined,
  label: (name: string) => string,
): Pick<CliOptions, 'storeUrl' | 'treeDir'> {
  const url = text('store') || undefined;
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url))
    throw new Error(
      `${label('store')} must be a postgres:// or postgresql:// URL (leave it out for the files of --base-dir)`,
    );
  if (url !== undefined && !readableUrl(url))
    throw new Error(`--store (or CHECKPOINT_STORE_URL) ${INVALID_STORE_URL}`);
  const needsStore = command === 'migrate' || command === 'export' || command === 'import';
  if (needsStore && url === undefined)
    throw new Error(`${command} needs --store <postgres url> (or CHECKPOINT_STORE_URL)`);
  const tree = command === 'export' ? text('to') : command === 'import' ? text('from') : undefined;
  const treeDir = tree === undefined ? undefined : homePath(tree);
  if ((command === 'export' || command === 'import') && !treeDir)
    throw new Error(`${command} needs ${command === 'export' ? '--to' : '--from'} <dir>`);
  return { ...(url ? { storeUrl: url } : {}), ...(treeDir ? { treeDir } : {}) };
}

/**
 * Whether `url` reads as the URL it was meant to be. An unencoded #, ? or / in a password ends the
 * authority early: the URL fails to parse, or parses with what follows as a fragment, a path or a query
 * (`u:12#x@db/name` names host u, port 12), and pg would go looking for the wrong server.
 */
function readableUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    const misplaced = (text: string) => text.includes('@');
    return (
      !url.includes('#') &&
      !misplaced(parsed.pathname) &&
      ![...parsed.searchParams.keys()].some((key) => misplaced(key) || key.includes('/'))
    );
  } catch {
    return false;
  }
}

function httpOptions(
  text: (name: string) => string | undefined,
  label: (name: string) => string,
  env: Readonly<Record<string, string | undefined>>,
): HttpOptions {
  const port = Number(text('port') ?? defaultOf('port'));
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535)
    throw new Error(
      `${label('port')} must be a whole number from 0 to 65535, got ${JSON.stringify(text('port'))}`,
    );
  const list = (name: string) =>
    (text(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const names = (name: string) => {
    const found = list(name);
    const bad = found.find((item) => !ALLOWED_NAME.test(item));
    if (bad !== undefined)
      throw new Error(
        `${label(name)} takes host names or addresses without a scheme, port or path (example.com, 10.0.0.5, [::1]), got ${JSON.stringify(bad)}`,
      );
    return found;
  };
  const tokenFile = homePath(text('token-file') ?? '');
  const token = env.CHECKPOINT_HTTP_TOKEN?.trim();
  return {
    host: text('host') ?? defaultOf('host'),
    port,
    ...(token !== undefined && token !== '' ? { token: bearerToken(token, 'CHECKPOINT_HTTP_TOKEN') } : {}),
    ...(tokenFile !== '' ? { tokenFile } : {}),
    allowedHosts: names('allowed-hosts'),
    allowedOrigins: names('allowed-origins'),
    maxConnections: positive(
      label('max-connections'),
      text('max-connections'),
      Number(defaultOf('max-connections')),
    ),
    requestTimeoutMs: positive(
      '--request-timeout-ms',
      text('request-timeout-ms'),
      Number(defaultOf('request-timeout-ms')),
    ),
    healthTimeoutMs: positive(
      '--health-timeout-ms',
      text('health-timeout-ms'),
      Number(defaultOf('health-timeout-ms')),
    ),
  };
}

/** The README's table of options, from the same list. */
export function optionsTable(): string {
  const rows = OPTIONS.filter((option) => option.value !== undefined).map(
    (option) =>
      `| \`--${option.name} ${option.value}\` | ${option.env ? `\`${option.env}\`` : ''} | ${option.default} | ${option.description} |`,
  );
  return ['| Option | Environment | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function usageLine(option: OptionSpec): string {
  const flag = `--${option.name}${option.value ? ` ${option.value}` : ''}`;
  const extra = [option.env && `env ${option.env}`, option.default && `default ${option.default}`]
    .filter(Boolean)
    .join(', ');
  return `  ${flag.padEnd(30)}${option.description}${extra ? ` (${extra})` : ''}`;
}

/**
 * A path with ~ for the home folder, as a shell would read it: a host's config (mcp.json's env) passes
 * it as it is, and ~/checkpoints became a folder named ~ in whatever folder the host started us in.
 */
function homePath(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function defaultOf(name: string): string {
  return OPTIONS.find((option) => option.name === name)?.default ?? '';
}

function toolSet(name: string, value: string): ToolSet {
  if ((TOOL_SETS as readonly string[]).includes(value)) return value as ToolSet;
  throw new Error(`${name} must be one of ${TOOL_SETS.join(', ')}, got ${JSON.stringify(value)}`);
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${name} must be a whole number > 0, got ${JSON.stringify(text)}`);
  // Node.js runs a longer timer after 1 ms: a huge timeout would time out at once.
  if (name.endsWith('-ms') && value > MAX_TIMER_MS)
    throw new Error(`${name} must be at most ${MAX_TIMER_MS} (about 24 days), got ${JSON.stringify(text)}`);
  return value;
}

/** The longest delay setTimeout keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A name --allowed-hosts or --allowed-origins takes: a host name, an IPv4 address or a bracketed IPv6 one. */
const ALLOWED_NAME = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)$/;

/**
 * A bearer token as an Authorization header can carry it: one word of visible characters (RFC 6750).
 * One with a space inside would be accepted here and then refuse every request.
 */
export function bearerToken(token: string, source: string): string {
  if (!/^[\x21-\x7E]+$/.test(token))
    throw new Error(
      `the bearer token in ${source} holds a space, a control character or a character outside ASCII, which no Authorization header carries; use one word of letters, digits and -._~+/=`,
    );
  return token;
}
