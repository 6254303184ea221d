// Section: the same built server over Streamable HTTP and over stdio. A tool call's round trip on each
// (taking turns in blocks), then requests per second with 1, 8 and 64 HTTP clients at once.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { proseOfSize } from './lib/fixtures.js';
import { callTool, SERVER_ENTRY, startCheckpointServer } from './lib/server.js';
import { nowMs, type Summary, summarize } from './lib/stats.js';

export interface HttpResult {
  /** Round trip of one tool call, per transport and tool. */
  roundTrip: Array<{ tool: string; stdio: Summary; http: Summary; ratio: number }>;
  /** load_session calls per second with this many HTTP clients calling back to back. */
  rates: Array<{ clients: number; seconds: number; calls: number; perSecond: number; errors: number }>;
}

const SESSION = { project_id: 'bench', session_id: 'http' };

export async function benchHttp(workDir: string, count: number, seconds: number): Promise<HttpResult> {
  const base = join(workDir, 'http');
  await mkdir(base, { recursive: true });
  const stdio = await startCheckpointServer(base);
  const server = await startHttpServer(base);
  try {
    const http = await httpClient(server.url);
    await callTool(stdio.client, 'create_session', { ...SESSION, user_id: 'bench' });
    const content = proseOfSize(1024, 7);
    const calls: Record<string, (client: CallClient, i: number) => Promise<unknown>> = {
      load_session: (client) => callOk(client, 'load_session', SESSION),
      save_agent_output: (client, i) =>
        callOk(client, 'save_agent_output', {
          ...SESSION,
          phase_num: 1,
          agent_name: `agent-${i % 50}`,
          output_content: content,
        }),
    };
    const roundTrip: HttpResult['roundTrip'] = [];
    for (const [tool, call] of Object.entries(calls)) {
      const samples = { stdio: [] as number[], http: [] as number[] };
      for (let i = 0; i < 20; i++) await Promise.all([call(stdio.client, i), call(http, i)]);
      // Blocks of ten, taking turns, so that load from elsewhere falls on both alike.
      for (let block = 0; block < count / 10; block++) {
        for (const [name, client] of [
          ['stdio', stdio.client],
          ['http', http],
        ] as const) {
          for (let i = 0; i < 10; i++) {
            const started = nowMs();
            await call(client, block * 10 + i);
            samples[name].push(nowMs() - started);
          }
        }
      }
      const stdioSummary = summarize(samples.stdio);
      const httpSummary = summarize(samples.http);
      roundTrip.push({
        tool,
        stdio: stdioSummary,
        http: httpSummary,
        ratio: httpSummary.median / stdioSummary.median,
      });
    }
    await http.close();
    const rates: HttpResult['rates'] = [];
    for (const clients of [1, 8, 64]) rates.push(await rate(server.url, clients, seconds));
    return { roundTrip, rates };
  } finally {
    await stdio.close();
    await server.stop();
  }
}

/** The v1 client (stdio) and the v2 client (HTTP) alike. */
interface CallClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<object>;
}

async function callOk(client: CallClient, name: string, args: Record<string, unknown>): Promise<void> {
  const result = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content?: unknown;
  };
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content).slice(0, 300)}`);
}

async function httpClient(url: string): Promise<Client> {
  const client = new Client(
    { name: 'checkpoint-mcp-bench', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** `clients` clients calling load_session back to back for `seconds`: calls answered per second. */
async function rate(url: string, clients: number, seconds: number) {
  const connected = await Promise.all(Array.from({ length: clients }, () => httpClient(url)));
  for (const client of connected) await callOk(client, 'load_session', SESSION);
  let calls = 0;
  let errors = 0;
  const started = nowMs();
  const deadline = started + seconds * 1000;
  await Promise.all(
    connected.map(async (client) => {
      while (nowMs() < deadline) {
        try {
          await callOk(client, 'load_session', SESSION);
          calls++;
        } catch {
          // Counted, not thrown: a busy answer (503) is part of what is measured.
          errors++;
        }
      }
    }),
  );
  const elapsed = (nowMs() - started) / 1000;
  await Promise.all(connected.map((client) => client.close()));
  return { clients, seconds: elapsed, calls, perSecond: calls / elapsed, errors };
}

async function startHttpServer(base: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [SERVER_ENTRY, 'serve', '--http', '--port', '0', '--max-connections', '128', '--base-dir', base],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const match = /listening on (\S+)/.exec(seen);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`HTTP server exited with ${code}: ${seen}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
