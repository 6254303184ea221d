import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, expect } from 'vitest';
import { SERVER_ENTRY } from './client.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The built server spawned with `serve --http`, whether or not it got as far as listening. */
export interface SpawnedHttpServer {
  child: ChildProcessWithoutNullStreams;
  /** All the server wrote to stderr so far. */
  stderr: () => string;
  exited: Promise<Exit>;
}

/** A server that is listening. */
export interface HttpServer extends SpawnedHttpServer {
  /** The MCP endpoint, as the server printed it: http://127.0.0.1:PORT/mcp. */
  url: string;
  /** http://127.0.0.1:PORT, for the other paths. */
  origin: string;
  /** Sends `signal` and waits for the exit; SIGKILL if the server has not gone within `graceMs`. */
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<Exit>;
}

export type ClientKind = 'v2 pinned to 2026-07-28' | 'v2 in 2025 mode' | 'v1';
export const CLIENT_KINDS: readonly ClientKind[] = ['v2 pinned to 2026-07-28', 'v2 in 2025 mode', 'v1'];

/** What the tests call on a client; the v2 and the v1 SDK clients both have it. */
export interface McpClient {
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

const LISTENING = /^checkpoint-mcp listening on (http:\/\/\S+)$/m;
const STARTUP_MS = 20_000;

const servers: SpawnedHttpServer[] = [];
const clients: McpClient[] = [];
const dirs: string[] = [];

// Clients first (they may still talk), then the servers, then the directories they wrote in.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((server) => kill(server)));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the test once every server has exited. */
export async function tempDir(prefix = 'checkpoint-mcp-http-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/**
 * Spawns `dist/server.js serve --http --host 127.0.0.1 --port 0 ...args`: later `args` override those
 * defaults. The environment is this one without any CHECKPOINT_* variable, plus `env`.
 */
export function spawnHttpServer(
  args: readonly string[],
  env: Record<string, string> = {},
): SpawnedHttpServer {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CHECKPOINT_')),
  );
  const child = spawn(
    process.execPath,
    [SERVER_ENTRY, 'serve', '--http', '--host', '127.0.0.1', '--port', '0', ...args],
    { stdio: 'pipe', env: { ...inherited, ...env } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr += text;
  });
  child.stdout.resume();
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const spawned = { child, stderr: () => stderr, exited };
  servers.push(spawned);
  return spawned;
}

/** Spawns the server and waits for its `listening on` line; rejects with its stderr if it exits first. */
export async function startHttpServer(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<HttpServer> {
  const spawned = spawnHttpServer(args, env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      spawned.child.kill('SIGKILL');
      reject(new Error(`the server did not listen within ${STARTUP_MS} ms; stderr:\n${spawned.stderr()}`));
    }, STARTUP_MS);
    const look = () => {
      const match = LISTENING.exec(spawned.stderr());
      if (!match?.[1]) return;
      clearTimeout(timer);
      spawned.child.stderr.off('data', look);
      resolve(match[1]);
    };
    spawned.child.stderr.on('data', look);
    void spawned.exited.then((exit) => {
      clearTimeout(timer);
      reject(
        new Error(
          `the server exited (${JSON.stringify(exit)}) before listening; stderr:\n${spawned.stderr()}`,
        ),
      );
    });
  });
  return {
    ...spawned,
    url,
    origin: new URL(url).origin,
    stop: (signal = 'SIGTERM', graceMs = 20_000) => kill(spawned, signal, graceMs),
  };
}

async function kill(
  server: SpawnedHttpServer,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5000,
): Promise<Exit> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return server.exited;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await server.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A connected SDK client of `kind`, closed after the test. */
export async function connectClient(
  url: string,
  kind: ClientKind,
  headers: Record<string, string> = {},
): Promise<Client | V1Client> {
  const endpoint = new URL(url);
  const requestInit = { headers };
  const info = { name: `checkpoint-mcp-http-tests (${kind})`, version: '1.0.0' };
  if (kind === 'v1') {
    const client = new V1Client(info);
    await client.connect(new V1StreamableHTTPClientTransport(endpoint, { requestInit }));
    clients.push(client);
    return client;
  }
  const client = new Client(
    info,
    kind === 'v2 pinned to 2026-07-28' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(new StreamableHTTPClientTransport(endpoint, { requestInit }));
  clients.push(client);
  return client;
}

/** A v2 client, as connectClient but typed for what only v2 has (listen, getProtocolEra). */
export async function connectV2Client(
  url: string,
  kind: Exclude<ClientKind, 'v1'>,
  headers: Record<string, string> = {},
): Promise<Client> {
  return (await connectClient(url, kind, headers)) as Client;
}

interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: unknown;
  _meta?: Record<string, unknown>;
}

/** Calls a tool that must succeed; returns its structured content, which its text repeats. */
export async function callOk<T = Record<string, unknown>>(
  client: McpClient,
  name: string,
  args: Record<string, unknown>,
): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as ToolResult;
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content).slice(0, 500)}`);
  const text = result.content?.[0]?.text;
  expect(text === undefined ? undefined : JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

/** Calls a tool that must fail with `code`: the text starts `CODE: ` and `_meta.code` repeats it. */
export async function callError(
  client: McpClient,
  name: string,
  args: Record<string, unknown>,
  code: string,
): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as ToolResult;
  expect(result.isError, `${name} should fail but returned ${JSON.stringify(result.structuredContent)}`).toBe(
    true,
  );
  expect(result.structuredContent).toBeUndefined();
  const text = result.content?.[0]?.text ?? '';
  expect(
    text.startsWith(`${code}: `),
    `${name} should fail with ${code} but said: ${text.slice(0, 300)}`,
  ).toBe(true);
  expect(result._meta?.code).toBe(code);
  return text;
}

/** The headers a 2026-07-28 client sends with a tools/call, for requests made without an SDK. */
export function toolCallHeaders(tool: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2026-07-28',
    'Mcp-Method': 'tools/call',
    'Mcp-Name': tool,
  };
}

/** A stateless 2026-07-28 tools/call request body, as the SDK client writes it. */
export function toolCallBody(id: number, tool: string, args: Record<string, unknown>): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: tool,
      arguments: args,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'raw-http-test', version: '1.0.0' },
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  });
}

/** The JSON-RPC message of an HTTP answer, sent as JSON or as the last event of an SSE stream. */
export function rpcMessageOf(contentType: string | null, body: string): Record<string, unknown> {
  if (contentType?.startsWith('text/event-stream')) {
    const data = body
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice('data:'.length).trim())
      .filter((line) => line !== '');
    const last = data.at(-1);
    if (last === undefined) throw new Error(`no data in the event stream: ${body.slice(0, 300)}`);
    return JSON.parse(last) as Record<string, unknown>;
  }
  return JSON.parse(body) as Record<string, unknown>;
}
