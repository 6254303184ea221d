import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import pg from 'pg';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import type { Clock } from '../../src/checkpoint/model/limits.js';
import { ProjectManager } from '../../src/checkpoint/project-manager.js';
import type { Engine } from '../../src/checkpoint/store/engine.js';
import { createServer } from '../../src/server.js';
import { runCli } from '../helpers/cli.js';
import { silentLogger } from '../helpers/client.js';
import { postgresUnavailable, type TestCluster } from '../helpers/postgres.js';

/** Why this folder's tests cannot run here (no PostgreSQL binaries), or undefined when they can. */
export const PG_UNAVAILABLE = postgresUnavailable();

export type { CliRun } from '../helpers/cli.js';
export { runCli };

/** A real client in-process with a server on `store` (either engine); closing it closes the store. */
export async function serverOn(
  store: Engine & { close(): Promise<void> },
  clock?: Clock,
): Promise<{ client: Client; close(): Promise<void> }> {
  const checkpoints = new CheckpointManager(store, clock);
  const server = createServer({
    checkpoints,
    projects: new ProjectManager(store, checkpoints),
    logger: silentLogger,
  });
  const client = new Client({ name: 'checkpoint-mcp-pg-tests', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
      await store.close();
    },
  };
}

/** A fresh database of the cluster brought up to date by `checkpoint-mcp migrate`: its URL. */
export async function migratedDatabase(cluster: TestCluster, name: string): Promise<string> {
  const url = await cluster.database(name);
  const run = await runCli(['migrate', '--store', url]);
  if (run.code !== 0) throw new Error(`migrate failed (${run.code}): ${run.stderr}`);
  return url;
}

/** Runs `work` on one connection to `url`, closed afterwards. */
export async function withDatabase<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export const TREE_TABLES = ['checkpoint_folders', 'checkpoint_documents', 'checkpoint_history'] as const;

/**
 * Every row of the three tree tables, each column as PostgreSQL prints it (bodies byte for byte),
 * ordered by path (and version): two snapshots are equal when nothing was written between them.
 */
export async function treeRows(url: string): Promise<Record<(typeof TREE_TABLES)[number], string[][]>> {
  return withDatabase(url, async (client) => {
    const rows = async (sql: string) =>
      (await client.query({ text: sql, rowMode: 'array' })).rows as string[][];
    return {
      checkpoint_folders: await rows(
        'SELECT path, parent, name, created_at::text FROM checkpoint_folders ORDER BY path COLLATE "C"',
      ),
      checkpoint_documents: await rows(
        'SELECT path, parent, name, md5(body), write_id::text, updated_at::text FROM checkpoint_documents ORDER BY path COLLATE "C"',
      ),
      checkpoint_history: await rows(
        'SELECT path, parent, version::text, md5(body), saved_at::text FROM checkpoint_history ORDER BY path COLLATE "C", version',
      ),
    };
  });
}

/** Runs `action` on every item, at most `width` at a time, in order of start. */
export async function inParallel<T>(
  items: readonly T[],
  width: number,
  action: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await action(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP proxy in front of a database that can stop forwarding while keeping every socket open, as a
 * network partition does: nothing is lost (TCP would retransmit), it waits in the buffers until heal().
 * `answers` stops only what the database sends back, so what a client sends still reaches it.
 */
export interface Partition {
  /** `url` with the proxy's port instead of the database's. */
  url: (url: string) => string;
  cut: (direction?: 'both' | 'answers') => void;
  heal: () => void;
  close: () => Promise<void>;
}

export async function partitionable(port: number): Promise<Partition> {
  let cut: 'both' | 'answers' | undefined;
  const pairs: Array<{ client: Socket; server: Socket }> = [];
  const apply = ({ client, server }: { client: Socket; server: Socket }) => {
    if (cut === 'both') client.pause();
    else client.resume();
    if (cut !== undefined) server.pause();
    else server.resume();
  };
  const proxy = createTcpServer((client) => {
    const server = connect(port, '127.0.0.1');
    const pair = { client, server };
    pairs.push(pair);
    client.on('data', (chunk) => server.write(chunk));
    server.on('data', (chunk) => client.write(chunk));
    // One side gone is both gone: the database sees its client leave, as it would without the proxy.
    for (const [one, other] of [
      [client, server],
      [server, client],
    ] as const) {
      one.on('error', () => other.destroy());
      one.on('close', () => other.destroy());
    }
    apply(pair);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;
  return {
    url: (url) => url.replace(`:${port}/`, `:${proxyPort}/`),
    cut: (direction = 'both') => {
      cut = direction;
      for (const pair of pairs) apply(pair);
    },
    heal: () => {
      cut = undefined;
      for (const pair of pairs) apply(pair);
    },
    close: async () => {
      for (const { client, server } of pairs) {
        client.destroy();
        server.destroy();
      }
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
