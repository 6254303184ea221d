import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, expect } from 'vitest';
import { createServer } from '../../src/server.js';
import type { Logger } from '../../src/tools/logger.js';
import { type Managers, type ManagersOptions, managers, tempDir } from './base-dir.js';
import { type Documents, openDocuments } from './engine.js';

const open: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

export const silentLogger: Logger = { debug() {}, info() {}, warning() {}, error() {} };

export interface Connected extends Managers {
  client: Client;
}

/** A real SDK client connected in-process to a server over fresh storage on the engine under test. */
export async function connectedClient(
  options: ManagersOptions & { logger?: Logger } = {},
): Promise<Connected> {
  const setup = await managers(options);
  const server = createServer({
    checkpoints: setup.checkpoints,
    projects: setup.projects,
    logger: options.logger ?? silentLogger,
  });
  const client = new Client({ name: 'checkpoint-mcp-tests', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  open.push(async () => {
    await client.close();
    await server.close();
  });
  return { ...setup, client };
}

export const SERVER_ENTRY = new URL('../../dist/server.js', import.meta.url).pathname;

/** The built server spawned over stdio, as an MCP host runs it. */
export async function spawnedClient(
  baseDir: string,
  args: string[] = [],
): Promise<{ client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY, '--base-dir', baseDir, ...args],
    stderr: 'pipe',
  });
  const client = new Client({ name: 'checkpoint-mcp-tests', version: '1.0.0' });
  await client.connect(transport);
  open.push(() => client.close());
  return { client, transport };
}

/** The built server spawned over stdio on fresh storage of the engine under test, and that storage. */
export async function spawnedOnEngine(
  args: string[] = [],
): Promise<{ client: Client; transport: StdioClientTransport; documents: Documents }> {
  const documents = await openDocuments(join(await tempDir(), 'base'));
  return { ...(await spawnedClient(documents.base, [...documents.serverArgs, ...args])), documents };
}

/** Calls a tool that must succeed and returns its structured content. */
export async function callOk<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  const text = result.content[0]?.type === 'text' ? result.content[0].text : undefined;
  expect(text === undefined ? undefined : JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

/** Calls a tool that must fail; returns the error text (which starts with the code). */
export async function callError(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, `${name} should fail but returned ${JSON.stringify(result.structuredContent)}`).toBe(
    true,
  );
  expect(result.structuredContent).toBeUndefined();
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

/** The error code of a failed call: the text starts with it, and `_meta.code` repeats it. */
export function errorCode(text: string): string {
  return /^([A-Z_]+):/.exec(text)?.[1] ?? 'UNKNOWN';
}

/** Calls a tool that must fail with `code`; returns the error text, which starts with the code. */
export async function expectToolError(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  code: string,
): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, `${name} should fail but returned ${JSON.stringify(result.structuredContent)}`).toBe(
    true,
  );
  expect(result.structuredContent).toBeUndefined();
  const first = result.content[0];
  const text = first?.type === 'text' ? first.text : '';
  expect(
    text.startsWith(`${code}: `),
    `${name} should fail with ${code} but said: ${text.slice(0, 300)}`,
  ).toBe(true);
  expect(result._meta?.code).toBe(code);
  return text;
}
