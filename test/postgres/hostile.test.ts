import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { parseAgentOutput } from '../../src/checkpoint/formats/agent-output.js';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { parseProject } from '../../src/checkpoint/formats/project.js';
import { parseUserFeedback } from '../../src/checkpoint/formats/user-feedback.js';
import { DEFAULT_LIMITS } from '../../src/checkpoint/model/limits.js';
import { ProjectManager } from '../../src/checkpoint/project-manager.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { createServer } from '../../src/server.js';
import { silentLogger } from '../helpers/client.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { assertAlive, CORPUS, runCase, SMALL_LIMITS, seed } from '../security/corpus.js';
import { call, codeOf, resultText } from '../security/sandbox.js';
import { migratedDatabase, PG_UNAVAILABLE, TREE_TABLES, treeRows, withDatabase } from './pg-harness.js';

/** Strings that would change a statement built by pasting values into SQL text. */
const SQL_METACHARACTERS: ReadonlyArray<readonly [string, string]> = [
  ['a quote that ends the statement and drops a table', "'; DROP TABLE checkpoint_documents; --"],
  ['a quote that drops the history', "x'); DROP TABLE checkpoint_history; --"],
  ['a placeholder $1', '$1'],
  ['placeholders $2 and $10', '$2 $10'],
  ['dollar quoting', '$$; DELETE FROM checkpoint_folders; $$'],
  ['a tagged dollar quote', '$q$ TRUNCATE checkpoint_documents $q$'],
  ['a backslash', '\\'],
  ['an escaped quote', "\\'"],
  ['an E-string', "E'\\x41'"],
  ['a percent sign', '%'],
  ['an underscore', '_'],
  ['LIKE wildcards', '%_%'],
  ['double quotes around a table name', '"checkpoint_folders"'],
  ['a single quote', "'"],
  ['two single quotes', "''"],
  ['a semicolon', ';'],
  ['a block comment', '/* */ -- comment'],
  ['a sleep', "'); SELECT pg_sleep(30); --"],
  ['a cast', "1::regclass'"],
  ['unicode', 'ünïcødé ✓ 中文 😀 ∑ \u202E'],
];

const EVERYTHING = SQL_METACHARACTERS.map(([, value]) => value).join(' | ');
/** As many as a project name holds (256 bytes): the quotes, placeholders, dollar quotes, backslashes, unicode. */
const NAME = [...SQL_METACHARACTERS.slice(0, 8), ...SQL_METACHARACTERS.slice(-1)]
  .map(([, value]) => value)
  .join(' | ');
/** The same, over several lines: free text may hold any character. */
const MULTILINE = `${SQL_METACHARACTERS.map(([, value]) => value).join('\n')}\n`;
/** NUL is allowed in free text (the file engine stores it), never in a one-line value. */
const WITH_NUL = `before\u0000after '; DROP TABLE checkpoint_documents; --\u0000`;

/** The project and session the metacharacter calls write to; every other row must stay as it was. */
const NAMED = { project_id: 'sqli', session_id: 's' } as const;
/** A second project of the named scope: the NUL idea needs a project of its own. */
const NUL_PROJECT = 'sqli_nul';
const IDENTIFIER_FIELDS = ['project_id', 'session_id', 'user_id', 'agent_name'] as const;

const ALL_TABLES = [...TREE_TABLES, 'checkpoint_locks', 'checkpoint_migrations'];

interface PgSandbox {
  client: Client;
  url: string;
  close(): Promise<void>;
}

/** A real client in-process with a server on the PostgreSQL engine, as the security sandbox does over files. */
async function openPgSandbox(url: string): Promise<PgSandbox> {
  const store = await PgStore.open(url);
  const checkpoints = new CheckpointManager(store, undefined, { ...DEFAULT_LIMITS, ...SMALL_LIMITS });
  const projects = new ProjectManager(store, checkpoints);
  const server = createServer({ checkpoints, projects, logger: silentLogger });
  const client = new Client({ name: 'checkpoint-mcp-pg-hostile', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    url,
    close: async () => {
      await client.close();
      await server.close();
      await store.close();
    },
  };
}

async function ok(
  client: Client,
  tool: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = await call(client, tool, args);
  if (result.isError) throw new Error(`${tool} failed: ${resultText(result).slice(0, 500)}`);
  return result.structuredContent as Record<string, unknown>;
}

async function body(url: string, path: string): Promise<string> {
  return withDatabase(url, async (db) => {
    const result = await db.query('SELECT body FROM checkpoint_documents WHERE path = $1', [path]);
    const row = result.rows[0] as { body: Buffer } | undefined;
    if (row === undefined) throw new Error(`no document at ${path}`);
    return row.body.toString('utf8');
  });
}

async function tableState(url: string): Promise<Record<string, string>> {
  return withDatabase(url, async (db) => {
    const state: Record<string, string> = {};
    for (const table of ALL_TABLES) {
      const found = await db.query('SELECT to_regclass($1)::text AS name', [table]);
      state[table] = String(found.rows[0]?.name);
    }
    const migrations = await db.query('SELECT version, name FROM checkpoint_migrations ORDER BY version');
    state.migrations = JSON.stringify(migrations.rows);
    return state;
  });
}

/** Rows of the three tree tables whose path is outside the named project. */
function outsideNamed(rows: Awaited<ReturnType<typeof treeRows>>) {
  const named = (path: string, project: string) => path === project || path.startsWith(`${project}/`);
  const outside = (row: string[]) =>
    !named(row[0] ?? '', NAMED.project_id) && !named(row[0] ?? '', NUL_PROJECT);
  return {
    checkpoint_folders: rows.checkpoint_folders.filter(outside),
    checkpoint_documents: rows.checkpoint_documents.filter(outside),
    checkpoint_history: rows.checkpoint_history.filter(outside),
  };
}

describe.skipIf(PG_UNAVAILABLE !== undefined)('hostile input against the PostgreSQL engine', () => {
  let cluster: TestCluster;
  let sandbox: PgSandbox;
  let before: Awaited<ReturnType<typeof treeRows>>;
  let tablesBefore: Record<string, string>;

  beforeAll(async () => {
    cluster = await startCluster();
    const url = await migratedDatabase(cluster, 'hostile');
    sandbox = await openPgSandbox(url);
    await seed(sandbox.client);
    // A bystander with a history of its own, which nothing below may touch.
    await ok(sandbox.client, 'create_session', { project_id: 'bystander', session_id: 'b1', user_id: 'u9' });
    for (const content of ['one', 'two', 'three'])
      await ok(sandbox.client, 'save_agent_output', {
        project_id: 'bystander',
        session_id: 'b1',
        phase_num: 2,
        agent_name: 'Analyst',
        output_content: content,
      });
    before = await treeRows(url);
    tablesBefore = await tableState(url);
  });

  afterAll(async () => {
    await sandbox?.close();
    await cluster?.stop();
  });

  it.for(CORPUS)('$name is $code', async (hostile) => {
    const { code, text } = await runCase(sandbox.client, hostile);
    expect(code, text.slice(0, 400)).toBe(hostile.code);
    // Messages name relative paths, never the connection string.
    expect(text).not.toContain(sandbox.url);
    expect(text).not.toContain('postgres://');
    await assertAlive(sandbox.client);
  });

  it('the corpus leaves every row exactly as the setup wrote it', async () => {
    expect(await treeRows(sandbox.url)).toEqual(before);
  });

  it.for(
    IDENTIFIER_FIELDS.flatMap((field) =>
      SQL_METACHARACTERS.map(([label, value]) => ({ field, label, value })),
    ),
  )('$field = $label is refused as INVALID_ARGUMENT', async ({ field, value }) => {
    const cases: Array<[string, Record<string, unknown>]> =
      field === 'agent_name'
        ? [
            [
              'save_agent_output',
              { project_id: 'proj', session_id: 's1', phase_num: 1, agent_name: value, output_content: 'x' },
            ],
            ['get_agent_output', { project_id: 'proj', session_id: 's1', phase_num: 1, agent_name: value }],
            [
              'save_checkpoint',
              {
                project_id: 'proj',
                session_id: 's1',
                phase_num: 1,
                status: 'completed',
                agents: [{ agent_name: value, status: 'completed' }],
              },
            ],
          ]
        : field === 'user_id'
          ? [
              ['create_session', { project_id: 'proj', session_id: 'fresh', user_id: value }],
              ['create_project', { user_id: value, startup_idea: 'x' }],
              ['list_projects', { user_id: value }],
            ]
          : [
              ['create_session', { project_id: 'proj', session_id: 'fresh', user_id: 'u1', [field]: value }],
              ['load_session', { project_id: 'proj', session_id: 's1', [field]: value }],
              ['get_phase_outputs', { project_id: 'proj', session_id: 's1', [field]: value }],
              ['list_history', { project_id: 'proj', session_id: 's1', phase_num: 1, [field]: value }],
            ];
    for (const [tool, args] of cases) {
      const result = (await sandbox.client.callTool({ name: tool, arguments: args })) as CallToolResult;
      expect(codeOf(result), `${tool}: ${resultText(result).slice(0, 300)}`).toBe('INVALID_ARGUMENT');
    }
  });

  it('SQL metacharacters in contents, comments, model names, changes and ideas are stored verbatim', async () => {
    const { client, url } = sandbox;
    await ok(client, 'create_project', {
      project_id: NAMED.project_id,
      user_id: 'u1',
      project_name: NAME,
      startup_idea: MULTILINE,
    });
    const project = parseProject(await body(url, 'sqli/project.md'), 'sqli/project.md');
    expect(project.project_name).toBe(NAME);
    expect(project.startup_idea).toBe(MULTILINE);
    expect((await ok(client, 'get_project', { project_id: NAMED.project_id })).project_name).toBe(NAME);

    await ok(client, 'create_session', { ...NAMED, user_id: 'u1' });
    const contents = [
      ...SQL_METACHARACTERS.map(([, value]) => value),
      MULTILINE,
      `## Output\n${EVERYTHING}\r\ntrailing  `,
    ];
    for (const [i, content] of contents.entries()) {
      const oneLine = SQL_METACHARACTERS[i % SQL_METACHARACTERS.length]?.[1] as string;
      const agent = `agent_${i}`;
      await ok(client, 'save_agent_output', {
        ...NAMED,
        phase_num: 1,
        agent_name: agent,
        output_content: content,
        model: oneLine,
        error_type: oneLine,
        error_message: oneLine,
        status: 'failed',
        // A stack trace is an indented code block: its trailing newline is not kept, on any engine.
        stack_trace: MULTILINE.trimEnd(),
      });
      const read = await ok(client, 'get_agent_output', { ...NAMED, phase_num: 1, agent_name: agent });
      expect(read.content, `content of ${agent}`).toBe(content);
      expect(read.model).toBe(oneLine);
      const stored = parseAgentOutput(
        await body(url, `sqli/sessions/s/phase_1_concept/${agent}.md`),
        `${agent}.md`,
      );
      expect(stored.content).toBe(content);
      expect(stored.model).toBe(oneLine);
      expect(stored.error_type).toBe(oneLine);
      expect(stored.error_message).toBe(oneLine);
      expect(stored.stack_trace).toBe(MULTILINE.trimEnd());
    }

    const changes = SQL_METACHARACTERS.slice(0, 3).map(([, value]) => value);
    await ok(client, 'save_checkpoint', {
      ...NAMED,
      phase_num: 1,
      status: 'completed',
      agents: [{ agent_name: 'agent_0', status: 'completed' }],
      errors: changes,
    });
    expect(
      parseCheckpoint(await body(url, 'sqli/sessions/s/phase_1_concept/checkpoint.md'), 'c').errors,
    ).toEqual(changes);
    await ok(client, 'save_user_feedback', {
      ...NAMED,
      phase_num: 1,
      reviewed: true,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: changes,
      comments: MULTILINE,
    });
    const feedback = parseUserFeedback(
      await body(url, 'sqli/sessions/s/phase_1_concept/user_feedback.md'),
      'user_feedback.md',
    );
    expect(feedback.comments).toBe(MULTILINE);
    expect(feedback.requested_changes).toEqual(changes);
    expect((await ok(client, 'resume_session', NAMED)).requested_changes).toEqual(changes);
    expect((await ok(client, 'validate_session', NAMED)).is_valid).toBe(true);
  });

  it('NUL in free text (content, comments, idea) is stored verbatim, as the file engine stores it', async () => {
    const { client, url } = sandbox;
    await ok(client, 'create_session', { ...NAMED, user_id: 'u1' });
    /** What reads back, or the error the write got. */
    const outcome = async (write: () => Promise<CallToolResult>, read: () => Promise<unknown>) => {
      const result = await write();
      return result.isError ? resultText(result).slice(0, 200) : await read();
    };
    const outcomes = {
      content: await outcome(
        () =>
          call(client, 'save_agent_output', {
            ...NAMED,
            phase_num: 2,
            agent_name: 'nul_agent',
            output_content: WITH_NUL,
          }),
        async () =>
          (await ok(client, 'get_agent_output', { ...NAMED, phase_num: 2, agent_name: 'nul_agent' })).content,
      ),
      comments: await outcome(
        () =>
          call(client, 'save_user_feedback', {
            ...NAMED,
            phase_num: 2,
            reviewed: true,
            approved: true,
            comments: WITH_NUL,
          }),
        async () =>
          parseUserFeedback(
            await body(url, 'sqli/sessions/s/phase_2_market_research/user_feedback.md'),
            'user_feedback.md',
          ).comments,
      ),
      idea: await outcome(
        () =>
          call(client, 'create_project', { project_id: NUL_PROJECT, user_id: 'u1', startup_idea: WITH_NUL }),
        async () => parseProject(await body(url, `${NUL_PROJECT}/project.md`), 'project.md').startup_idea,
      ),
    };
    expect(outcomes).toEqual({ content: WITH_NUL, comments: WITH_NUL, idea: WITH_NUL });
  });

  it('afterwards every table is there, and every row outside the named session is byte for byte as before', async () => {
    expect(await tableState(sandbox.url)).toEqual(tablesBefore);
    const after = await treeRows(sandbox.url);
    expect(outsideNamed(after)).toEqual(outsideNamed(before));
    // The named session did get written: the check above is not vacuous.
    expect(after.checkpoint_documents.length).toBeGreaterThan(before.checkpoint_documents.length);
  });
});

// --- Static check: every statement of the engine passes its values as parameters. ---

const ENGINE_DIR = new URL('../../src/checkpoint/store/postgres/', import.meta.url).pathname;
const ENGINE_FILES = readdirSync(ENGINE_DIR).filter((name) => name.endsWith('.ts'));

interface QueryCall {
  file: string;
  line: number;
  /** The first argument as written: a quoted string, a template literal, or an expression. */
  text: string;
  kind: 'string' | 'template' | 'expression';
  /** The statement's text: the literal's inside, or the text of the named constant it passes. */
  statement?: string;
  /** Whether a second argument (the values) follows. */
  hasValues: boolean;
  /** Something follows the string before the comma: `'...' + x`. */
  concatenated: boolean;
}

/** Every `.query(` call of `source`, read with a small scanner that knows strings and template literals. */
function queryCalls(file: string, source: string): QueryCall[] {
  const calls: QueryCall[] = [];
  for (const match of source.matchAll(/\.query\(/g)) {
    let at = (match.index ?? 0) + match[0].length;
    while (/\s/.test(source[at] ?? '')) at++;
    const start = at;
    let kind: QueryCall['kind'];
    if (source[at] === "'" || source[at] === '"' || source[at] === '`') {
      kind = source[at] === '`' ? 'template' : 'string';
      at = literalEnd(source, at);
    } else {
      kind = 'expression';
      let depth = 0;
      while (at < source.length && !(depth === 0 && (source[at] === ',' || source[at] === ')'))) {
        if ('([{'.includes(source[at] as string)) depth++;
        if (')]}'.includes(source[at] as string)) depth--;
        at++;
      }
    }
    const text = source.slice(start, at).trim();
    while (/\s/.test(source[at] ?? '')) at++;
    const after = source[at];
    // A trailing comma (the formatter's, on a call split over lines) is not a second argument.
    let next = at + 1;
    while (/\s/.test(source[next] ?? '')) next++;
    // A prepared statement: `db.query(NAME([values]))` with `const NAME = prepared('name', '...')`.
    const prepared = kind === 'expression' ? /^([A-Z_][A-Z0-9_]*)\(([\s\S]*)\)$/.exec(text) : null;
    calls.push({
      file,
      line: source.slice(0, start).split('\n').length,
      text,
      kind,
      statement: prepared
        ? preparedStatement(source, prepared[1] as string)
        : kind === 'expression'
          ? namedStatement(source, text)
          : text.slice(1, -1),
      hasValues: prepared
        ? !/^\s*(\[\s*\])?\s*$/.test(prepared[2] as string)
        : after === ',' && source[next] !== ')',
      concatenated: after !== ',' && after !== ')',
    });
  }
  return calls;
}

/** Where the string or template literal that starts at `open` ends (just past its closing quote). */
function literalEnd(source: string, open: number): number {
  const quote = source[open];
  let at = open + 1;
  while (source[at] !== quote) {
    if (at >= source.length) throw new Error('unterminated literal');
    if (source[at] === '\\') at += 2;
    else if (quote === '`' && source.startsWith('${', at)) at = closingBrace(source, at + 1) + 1;
    else at++;
  }
  return at + 1;
}

function closingBrace(source: string, open: number): number {
  let depth = 0;
  for (let at = open; at < source.length; at++) {
    if (source[at] === '{') depth++;
    if (source[at] === '}' && --depth === 0) return at;
  }
  throw new Error('unbalanced braces');
}

/** The text of `const NAME = '...'` (or a template) at the top level of `source`, for a bare name. */
function namedStatement(source: string, name: string): string | undefined {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return undefined;
  const declared = new RegExp(`^const ${name}(?:: string)? =\\s*`, 'm').exec(source);
  if (!declared) return undefined;
  const open = declared.index + declared[0].length;
  if (!['`', "'", '"'].includes(source[open] as string)) return undefined;
  const end = literalEnd(source, open);
  // The constant is the literal alone: nothing is added to it before the semicolon.
  if (!/^\s*;/.test(source.slice(end))) return undefined;
  return source.slice(open + 1, end - 1);
}

/** The text of `const NAME = prepared('name', '...')` at the top level of `source`. */
function preparedStatement(source: string, name: string): string | undefined {
  const declared = new RegExp(`^const ${name} = prepared\\(\\s*'[A-Za-z_]+',\\s*`, 'm').exec(source);
  if (!declared) return undefined;
  const open = declared.index + declared[0].length;
  if (!['`', "'", '"'].includes(source[open] as string)) return undefined;
  const end = literalEnd(source, open);
  // The statement is the literal alone: nothing is added to it before the call closes.
  if (!/^\s*,?\s*\);/.test(source.slice(end))) return undefined;
  return source.slice(open + 1, end - 1);
}

/** What is wrong with one call, or undefined. */
function violation(call: QueryCall): string | undefined {
  const where = `${call.file}:${call.line}`;
  if (call.concatenated) return `${where}: the statement is built by concatenation: ${call.text}`;
  // The numbered migration steps: constant text in migrations.ts, checked on its own below.
  if (call.text === 'migration.sql') return undefined;
  const statement = call.statement;
  if (statement === undefined) return `${where}: the statement is not a literal or a constant: ${call.text}`;
  if (statement.includes('${'))
    return `${where}: a value is pasted into the statement: ${call.text.slice(0, 120)}`;
  const placeholders = /\$\d/.test(statement);
  if (placeholders && !call.hasValues)
    return `${where}: placeholders without values: ${call.text.slice(0, 120)}`;
  if (!placeholders && call.hasValues)
    return `${where}: values without placeholders: ${call.text.slice(0, 120)}`;
  return undefined;
}

describe('every SQL statement of the PostgreSQL engine is parameterised (a static check of its sources)', () => {
  const calls = ENGINE_FILES.flatMap((file) =>
    queryCalls(file, readFileSync(join(ENGINE_DIR, file), 'utf8')),
  );

  it('the scanner finds the statements, and catches pasted values, concatenation and bare expressions', () => {
    expect(calls.length).toBeGreaterThanOrEqual(25);
    const sample = [
      "db.query('SELECT 1 FROM t WHERE a = $1', [a]);",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner
      'db.query(`SELECT ${a}`);',
      "db.query('SELECT ' + a);",
      'db.query(sql, [a]);',
      "db.query('SELECT $1');",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner
      'db.query(`BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);',
      'db.query(GOOD, [a]);',
      'db.query(BAD, [a]);',
      'db.query(BUILT, [a]);',
      'const GOOD = `SELECT $1`;',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner
      'const BAD = `SELECT ${a} WHERE b = $1`;',
      "const BUILT = 'SELECT $1' + a;",
      'db.query(KEPT([a]));',
      'db.query(KEPT_PASTED([a]));',
      'db.query(KEPT([]));',
      "const KEPT = prepared('kept', 'SELECT $1');",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner
      "const KEPT_PASTED = prepared('kept_pasted', `SELECT ${a} WHERE b = $1`);",
    ].join('\n');
    expect(queryCalls('sample.ts', sample).map(violation)).toEqual([
      undefined,
      expect.stringContaining('pasted'),
      expect.stringContaining('concatenation'),
      expect.stringContaining('not a literal'),
      expect.stringContaining('placeholders without values'),
      expect.stringContaining('pasted'),
      undefined,
      expect.stringContaining('pasted'),
      expect.stringContaining('not a literal'),
      undefined,
      expect.stringContaining('pasted'),
      expect.stringContaining('placeholders without values'),
    ]);
  });

  it('no statement has a value pasted into its text: each passes values as $n parameters', () => {
    expect(calls.map(violation).filter((found) => found !== undefined)).toEqual([]);
  });

  it('the timeouts are settings of the connection, given when it opens, never text of a statement', () => {
    const store = readFileSync(join(ENGINE_DIR, 'pg-store.ts'), 'utf8');
    expect(store).toMatch(/lock_timeout: wholeMs\(options\.lockTimeoutMs \?\? \d[\d_]*\)/);
    expect(store).toMatch(
      /idle_in_transaction_session_timeout: wholeMs\(options\.staleLockMs \?\? \d[\d_]*\)/,
    );
    expect(calls.filter((call) => /SET (LOCAL )?\w*timeout/i.test(call.statement ?? ''))).toEqual([]);
  });

  it('the migration steps are constant text', () => {
    expect(readFileSync(join(ENGINE_DIR, 'migrations.ts'), 'utf8')).not.toContain('${');
  });
});
