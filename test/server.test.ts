import { spawn, spawnSync } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';
import { callOk, SERVER_ENTRY, spawnedClient } from './helpers/client.js';
import { jsonRpcProblem, ServerProcess } from './helpers/server-process.js';

/** Generous, for a loaded machine: a server that has not exited by then is hanging. */
const PROMPTLY = 20_000;
const SEED = { project_id: 'project-123', session_id: 'session-456' };
const CONCEPT =
  '# Concept\n\nA marketplace for used lab equipment.\n\n| Segment | Size |\n|---|---|\n| Labs | 10k |\n';
const VERSION: string = JSON.parse(
  await readFile(new URL('../package.json', import.meta.url), 'utf8'),
).version;

/** The seed's example flow, asserting each answer. */
async function runSeedFlow(client: Client): Promise<void> {
  expect(await callOk(client, 'create_session', { ...SEED, user_id: 'user-789' })).toMatchObject({
    phases: [1, 2, 3, 6, 7],
  });
  expect(
    await callOk(client, 'save_agent_output', {
      ...SEED,
      phase_num: 1,
      agent_name: 'concept_expansion',
      output_content: CONCEPT,
      model: 'claude-sonnet-4',
      input_tokens: 1000,
      output_tokens: 500,
      duration: 120.5,
    }),
  ).toMatchObject({ file: 'project-123/sessions/session-456/phase_1_concept/concept_expansion.md' });
  expect(
    await callOk(client, 'save_checkpoint', {
      ...SEED,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'concept_expansion', status: 'completed', tokens: 1500, cost: 0.0375, duration: 120.5 },
      ],
      duration: 120.5,
    }),
  ).toEqual({ phase_num: 1, status: 'completed', revision: 2 });
  expect(
    await callOk(client, 'save_user_feedback', {
      ...SEED,
      phase_num: 1,
      reviewed: true,
      approved: true,
      comments: 'Great start',
    }),
  ).toEqual({ phase_num: 1, action: 'approved', phase_status: 'completed' });
  expect(await callOk(client, 'load_session', SEED)).toMatchObject({
    current_phase: 1,
    completed_phases: [1],
    next_phase: 2,
    can_resume: true,
    metrics: { total_duration: 120.5, total_tokens: 1500, total_cost: 0.0375 },
    revision: 3,
  });
  expect(await callOk(client, 'get_phase_outputs', SEED)).toEqual({
    outputs: { '1': { concept_expansion: CONCEPT } },
    truncated: [],
  });
  expect(await callOk(client, 'validate_checkpoint', { ...SEED, phase_num: 1 })).toEqual({
    is_valid: true,
    errors: [],
    warnings: [],
  });
}

describe('the built server over stdio', () => {
  it('runs the seed flow for an SDK client over StdioClientTransport, as a host does', async () => {
    const base = await tempDir();
    const { client } = await spawnedClient(base);
    expect(client.getInstructions()).toContain('save_agent_output');
    expect(client.getServerCapabilities()).toMatchObject({ logging: {}, tools: {} });
    await runSeedFlow(client);
    await access(join(base, 'project-123', 'sessions', 'session-456', 'phase_1_concept', 'user_feedback.md'));
  });

  it('writes nothing but JSON-RPC 2.0 responses and notifications to stdout during the seed flow', async () => {
    const base = await tempDir();
    const server = ServerProcess.start(['--base-dir', base]);
    const client = new Client({ name: 'recording-client', version: '1.0.0' });
    await client.connect(server);
    await client.setLoggingLevel('debug');
    await runSeedFlow(client);
    await client.callTool({ name: 'load_session', arguments: { ...SEED, session_id: 'missing' } });
    await server.write('this is not json\n');
    await server.waitFor((message) => message.id === null);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(server.lines.length).toBeGreaterThanOrEqual(11);
    expect(server.stdout.endsWith('\n')).toBe(true);
    const problems = server.lines
      .map((line, i) => [i, jsonRpcProblem(line)])
      .filter(([, problem]) => problem);
    expect(problems).toEqual([]);
    expect(server.stderr).toContain('checkpoint-mcp info: serving');
  });

  it(
    'answers a request sent just before stdin closes, then exits 0 promptly',
    async () => {
      const base = await tempDir();
      const server = ServerProcess.start(['--base-dir', base]);
      await server.initialize();
      await server.callTool('create_session', { ...SEED, user_id: 'u1' });
      const answer = server.response(7);
      await server.send({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: {
          name: 'save_agent_output',
          arguments: {
            ...SEED,
            phase_num: 1,
            agent_name: 'late_writer',
            output_content: 'x'.repeat(200_000),
          },
        },
      });
      server.child.stdin.end();
      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      const response = await answer;
      expect(response.result).toMatchObject({ structuredContent: { agent_name: 'late_writer' } });
      const file = await readFile(
        join(base, 'project-123', 'sessions', 'session-456', 'phase_1_concept', 'late_writer.md'),
        'utf8',
      );
      expect(file.endsWith('x'.repeat(200_000))).toBe(true);
    },
    PROMPTLY,
  );

  it(
    'exits 0 after stdin closes even when a cancelled request was never answered',
    async () => {
      const server = ServerProcess.start(['--base-dir', await tempDir()]);
      await server.initialize();
      await server.write(
        [
          {
            jsonrpc: '2.0',
            id: 'doomed',
            method: 'tools/call',
            params: { name: 'list_projects', arguments: {} },
          },
          {
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: 'doomed', reason: 'host gave up' },
          },
        ]
          .map((message) => `${JSON.stringify(message)}\n`)
          .join(''),
      );
      const next = await server.request('tools/list');
      expect(next.result).toHaveProperty('tools');
      server.child.stdin.end();
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.lines.filter((line) => line.includes('"doomed"'))).toEqual([]);
    },
    PROMPTLY,
  );

  it(
    'exits 0 on SIGTERM',
    async () => {
      const server = ServerProcess.start(['--base-dir', await tempDir()]);
      await server.initialize();
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    },
    PROMPTLY,
  );

  it(
    'exits 0 on SIGINT',
    async () => {
      const server = ServerProcess.start(['--base-dir', await tempDir()]);
      await server.initialize();
      server.child.kill('SIGINT');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    },
    PROMPTLY,
  );

  it(
    'writes nothing to stdout and exits 0 when stdin closes before any client speaks',
    async () => {
      const child = spawn(process.execPath, [SERVER_ENTRY, '--base-dir', await tempDir()], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.end();
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(code).toBe(0);
      expect(stdout).toBe('');
    },
    PROMPTLY,
  );

  it('prints usage for --help and the package version for --version, and exits 0', () => {
    const help = spawnSync(process.execPath, [SERVER_ENTRY, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: checkpoint-mcp/);
    expect(help.stdout).toContain('--base-dir');
    expect(help.stdout).toContain('--max-content-bytes');
    const version = spawnSync(process.execPath, [SERVER_ENTRY, '--version'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(version.status).toBe(0);
    expect(version.stdout).toBe(`${VERSION}\n`);
  });

  it('rejects an unknown option with exit code 2, usage on stderr and nothing on stdout', () => {
    const result = spawnSync(process.execPath, [SERVER_ENTRY, '--colour'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage: checkpoint-mcp');
  });

  it('takes the base directory from CHECKPOINT_BASE_DIR when --base-dir is absent', async () => {
    const base = await tempDir();
    const child = spawnSync(process.execPath, [SERVER_ENTRY], {
      env: { ...process.env, CHECKPOINT_BASE_DIR: base },
      input: '',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.status).toBe(0);
    expect(child.stderr).toContain(`serving ${base}`);
  });
});
