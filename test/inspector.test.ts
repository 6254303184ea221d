import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';
import { connectedClient, SERVER_ENTRY } from './helpers/client.js';
import { externalTool, INSPECTOR, NODE_24 } from './helpers/external-tools.js';

/** The Inspector declares Node 22+: it runs under Node 24, the servers it starts under this Node. */
let inspectorCli = '';
let node24 = '';
beforeAll(() => {
  inspectorCli = externalTool(INSPECTOR);
  node24 = externalTool(NODE_24);
}, 300_000);
const NULLABLE_SERVER = fileURLToPath(new URL('./fixtures/nullable-server.mjs', import.meta.url));
/** What the Inspector's schema lint prints: a finding per tool, then a count. */
const FINDING = /^(Warning|Error): tool "|\d+ errors?, \d+ warnings? across|Schema portability/m;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The pinned Inspector CLI, run with --strict over a stdio server (or at a URL), listing its tools. */
async function inspect(target: string[]): Promise<Run> {
  const command = target[0]?.startsWith('http') ? target : [process.execPath, ...target];
  const child = spawn(node24, [inspectorCli, '--cli', '--strict', ...command, '--method', 'tools/list'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: await tempDir(),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

describe('MCP Inspector CLI', () => {
  it('lists every tool of the built server with --strict and reports no schema finding', async () => {
    const run = await inspect([SERVER_ENTRY, '--base-dir', await tempDir()]);
    expect(run.code, run.stderr).toBe(0);
    const names = (JSON.parse(run.stdout) as { tools: Array<{ name: string }> }).tools.map(
      (tool) => tool.name,
    );
    const { client } = await connectedClient();
    const registered = (await client.listTools()).tools.map((tool) => tool.name);
    expect(registered.length).toBeGreaterThanOrEqual(17);
    expect(names.sort()).toEqual(registered.sort());
    expect(run.stderr).not.toMatch(FINDING);
    // Whatever else reaches stderr is the server's own log lines.
    for (const line of run.stderr.split('\n').filter((text) => text.trim() !== ''))
      expect(line).toMatch(/^checkpoint-mcp (debug|info|warning|error): /);
  }, 120_000);

  it('lists every tool of the built server over Streamable HTTP with --strict and reports no schema finding', async () => {
    const server = spawn(
      process.execPath,
      [SERVER_ENTRY, 'serve', '--http', '--port', '0', '--base-dir', await tempDir()],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let seen = '';
        server.stderr.setEncoding('utf8').on('data', (text: string) => {
          seen += text;
          const match = /listening on (\S+)/.exec(seen);
          if (match?.[1]) resolve(match[1]);
        });
        server.once('exit', (code) => reject(new Error(`the server exited with ${code}: ${seen}`)));
      });
      const run = await inspect([url]);
      expect(run.code, run.stderr).toBe(0);
      const names = (JSON.parse(run.stdout) as { tools: Array<{ name: string }> }).tools.map(
        (tool) => tool.name,
      );
      const { client } = await connectedClient();
      expect(names.sort()).toEqual((await client.listTools()).tools.map((tool) => tool.name).sort());
      expect(run.stderr).not.toMatch(FINDING);
    } finally {
      server.kill('SIGTERM');
    }
  }, 120_000);

  it('reports a finding with --strict for a server whose input schema has a nullable field', async () => {
    const run = await inspect([NULLABLE_SERVER]);
    expect(run.stderr).toMatch(FINDING);
    expect(run.stderr).toContain('echo_nullable');
    expect(run.stderr).toContain('inputSchema.properties.value');
  }, 120_000);
});
