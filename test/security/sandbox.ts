import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import type { Limits } from '../../src/checkpoint/model/limits.js';
import type { Engine, RelPath } from '../../src/checkpoint/store/engine.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { createServer } from '../../src/server.js';
import { managersOn } from '../helpers/base-dir.js';
import { SERVER_ENTRY, silentLogger } from '../helpers/client.js';
import { ENGINE, freshStoreUrl, openDocuments, type TestStoreOptions } from '../helpers/engine.js';

/**
 * A temporary root holding the base directory and the things an escape would touch: `canary/` and
 * `base_evil/` (the sibling a prefix check without a separator lets through). Unlike the shared helpers
 * it lives until `close()`, so one server can serve a whole table of cases.
 */
export interface Sandbox {
  root: string;
  base: string;
  canary: string;
  evil: string;
  /** A string planted in every file outside the base: it must never appear in a tool result. */
  marker: string;
  client: Client;
  store?: Engine;
  checkpoints?: CheckpointManager;
  /**
   * Everything stored, for "nothing changed": the base directory's treeListing on the file engine
   * (modes and leftovers included), every folder and document with a digest on other engines.
   */
  storedListing(): Promise<string[]>;
  close(): Promise<void>;
}

export interface SandboxOptions {
  limits?: Partial<Limits>;
  store?: TestStoreOptions;
  /** Serve with the built dist/server.js over stdio instead of in-process. */
  spawn?: { args?: string[] };
}

export async function openSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-security-'));
  const base = join(root, 'base');
  const canary = join(root, 'canary');
  const evil = join(root, 'base_evil');
  const marker = `CANARY-${createHash('sha256').update(root).digest('hex').slice(0, 16)}`;
  await plantOutside(canary, evil, marker);
  if (options.spawn) {
    await mkdir(base);
    // On PostgreSQL the base directory stays empty: the server must write nothing there either.
    const url = ENGINE === 'file' ? undefined : await freshStoreUrl();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        SERVER_ENTRY,
        '--base-dir',
        base,
        ...(url === undefined ? [] : ['--store', url]),
        ...(options.spawn.args ?? []),
      ],
      stderr: 'pipe',
    });
    const client = new Client({ name: 'checkpoint-mcp-security', version: '1.0.0' });
    await client.connect(transport);
    return {
      root,
      base,
      canary,
      evil,
      marker,
      client,
      storedListing: async () => {
        if (url === undefined) return treeListing(base);
        const reader = await PgStore.open(url);
        try {
          return await engineListing(reader);
        } finally {
          await reader.close();
        }
      },
      close: async () => {
        await client.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  }
  if (ENGINE !== 'file') await mkdir(base);
  const { store } = await openDocuments(base, options.store, { closedBy: 'caller' });
  const { checkpoints, projects } = managersOn(store, { limits: options.limits });
  const server = createServer({ checkpoints, projects, logger: silentLogger });
  const client = new Client({ name: 'checkpoint-mcp-security', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    root,
    base,
    canary,
    evil,
    marker,
    client,
    store,
    checkpoints,
    storedListing: () => (ENGINE === 'file' ? treeListing(base) : engineListing(store)),
    close: async () => {
      await client.close();
      await server.close();
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Every folder, document and kept version an engine holds, with a digest of each document. */
async function engineListing(store: Engine, rel: RelPath = []): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of [...(await store.list(rel))].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = [...rel, entry.name];
    if (entry.kind === 'directory') {
      lines.push(`${path.join('/')} dir`, ...(await engineListing(store, path)));
    } else {
      const text = (await store.read(path)) ?? '(unreadable)';
      lines.push(`${path.join('/')} ${entry.kind} ${createHash('sha256').update(text).digest('hex')}`);
    }
  }
  return lines;
}

/**
 * Files an escape would read or overwrite. They look like the store's own files (a manifest, a
 * checkpoint, an agent output), so a read that followed a link would parse and return them.
 */
async function plantOutside(canary: string, evil: string, marker: string): Promise<void> {
  const agentOutput = [
    `# Agent Output: evil`,
    '',
    '## Metadata',
    '- Agent: evil',
    '- Phase: 1 - Concept Expansion',
    '- Executed: 2024-11-24T10:00:00.000Z',
    '- Duration: -',
    '- Status: completed',
    '',
    '## Execution Details',
    `- Model: ${marker}`,
    '- Input Tokens: -',
    '- Output Tokens: -',
    '- Tools Used: none',
    `- Content SHA-256: ${'0'.repeat(64)}`,
    '',
    '## Output',
    '',
    `secret ${marker}`,
    '',
  ].join('\n');
  const files: Record<string, string> = {
    'secret.txt': `top secret ${marker}\n`,
    'agent.md': agentOutput,
    'evil.md': agentOutput,
    'project.md': `# Project: ${marker}\n\n## Metadata\n- Project ID: proj\n- Project Name: ${marker}\n- User ID: u1\n- Execution Mode: mvp\n- Status: active\n- Created: 2024-11-24T10:00:00.000Z\n- Updated: 2024-11-24T10:00:00.000Z\n\n## Startup Idea\n\n${marker}\n`,
    'checkpoint.md': `# Phase Checkpoint: Concept Expansion\n\n${marker}\n`,
    'user_feedback.md': `# User Feedback: Concept Expansion\n\n${marker}\n`,
    'session_manifest.md': `# Session Manifest\n\n${marker}\n`,
    'tree/project.md': `${marker}\n`,
    'tree/sessions/s1/session_manifest.md': `${marker}\n`,
    'tree/phase_1_concept/checkpoint.md': `${marker}\n`,
    'tree/Writer.v1.md': agentOutput,
    'tree/Writer.v2.md': agentOutput,
  };
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(canary, name, '..'), { recursive: true });
    await writeFile(join(canary, name), text);
  }
  await chmod(join(canary, 'secret.txt'), 0o600);
  await mkdir(join(evil, 'proj', 'sessions', 's1'), { recursive: true });
  await writeFile(join(evil, 'proj', 'project.md'), files['project.md'] as string);
  await writeFile(join(evil, 'proj', 'sessions', 's1', 'session_manifest.md'), `${marker}\n`);
  await writeFile(join(evil, 'secret.txt'), `top secret ${marker}\n`);
}

/**
 * Every entry under `dir`, never following a link: path, type, mode and a digest of the contents (or the
 * link target). Two equal listings mean nothing was created, removed, changed or re-permissioned.
 */
export async function treeListing(dir: string): Promise<string[]> {
  const lines: string[] = [];
  async function walk(path: string): Promise<void> {
    const stat = await lstat(path);
    const rel = relative(dir, path) || '.';
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) {
      lines.push(`${rel} link ${mode} -> ${await readlink(path)}`);
    } else if (stat.isDirectory()) {
      lines.push(`${rel} dir ${mode}`);
      for (const name of (await readdir(path)).sort()) await walk(join(path, name));
    } else {
      const digest = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
      lines.push(`${rel} file ${mode} ${digest}`);
    }
  }
  await walk(dir);
  return lines;
}

/** The paths below `dir` (no contents), for "nothing unexpected was created". */
export async function treePaths(dir: string): Promise<string[]> {
  return (await treeListing(dir)).map((line) => line.split(' ')[0] as string);
}

export function resultText(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : JSON.stringify(part))).join('\n');
}

/** The error code of a failed result: `_meta.code` or the text's prefix, INVALID_ARGUMENT for the SDK's schema errors. */
export function codeOf(result: CallToolResult): string {
  const text = resultText(result);
  if (/^(MCP error -32602: )?(Input validation error|Invalid arguments for tool)/.test(text)) {
    return 'INVALID_ARGUMENT';
  }
  const prefix = /^([A-Z_]+): /.exec(text)?.[1] ?? 'UNKNOWN';
  const meta = result._meta?.code;
  return meta === undefined || meta === prefix ? prefix : `MISMATCH(${String(meta)}/${prefix})`;
}

export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}
