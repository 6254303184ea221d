import { readFile } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FLOOR_LAUNCHER } from './floor-build.js';

export const SERVER_ENTRY = new URL('../../dist/server.js', import.meta.url).pathname;
export const PEER_ENTRY = new URL(
  '../../node_modules/@modelcontextprotocol/server-memory/dist/index.js',
  import.meta.url,
).pathname;

/** A server process spawned over stdio and the SDK client driving it, as an MCP host runs one. */
export interface Connection {
  client: Client;
  pid: number;
  /** Everything the server wrote to stderr. */
  stderr(): string;
  close(): Promise<void>;
}

export async function connect(args: string[], env: Record<string, string> = {}): Promise<Connection> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env: { ...inheritedEnv(), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'checkpoint-mcp-bench', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid;
  if (pid === null) throw new Error(`server ${args.join(' ')} has no pid`);
  return { client, pid, stderr: () => stderr, close: () => client.close() };
}

/** BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/profiles" profiles every server the bench starts. */
const NODE_ARGS = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter((arg) => arg !== '') ?? [];

export function startCheckpointServer(baseDir: string, extra: string[] = []): Promise<Connection> {
  return connect([...NODE_ARGS, SERVER_ENTRY, '--base-dir', baseDir, ...extra]);
}

/**
 * The floor: the same SDK, tools that only make the durable writes (bench/floor-server.ts), bundled and
 * started as the server is (bench/lib/floor-build.ts, which must have built it first).
 */
export function startFloorServer(baseDir: string): Promise<Connection> {
  return connect([...NODE_ARGS, FLOOR_LAUNCHER, '--base-dir', baseDir]);
}

export function startPeerServer(memoryFile: string): Promise<Connection> {
  return connect([PEER_ENTRY], { MEMORY_FILE_PATH: memoryFile });
}

/** Calls a tool that must succeed and returns its structured content. */
export async function callTool<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) {
    const first = result.content[0];
    throw new Error(`${name} failed: ${first?.type === 'text' ? first.text.slice(0, 500) : 'no text'}`);
  }
  return result.structuredContent as T;
}

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

/**
 * utime + stime of a process from /proc, in milliseconds (clock ticks are 10 ms on Linux): of all its
 * threads, or with `mainThread` of the thread that runs its JavaScript.
 */
export async function cpuMs(pid: number, mainThread = false): Promise<number> {
  const file = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  const fields = (await readFile(file, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
