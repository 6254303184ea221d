import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { Engine, RelPath } from '../../src/checkpoint/store/engine.js';
import { FsStore, type FsStoreOptions } from '../../src/checkpoint/store/fs/fs-store.js';
import { migrate } from '../../src/checkpoint/store/postgres/pg-migrate.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { tree } from './tree.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The admin URL of the run's PostgreSQL cluster (see postgres-global-setup.ts). */
    postgresUrl: string;
  }
}

export type EngineName = 'file' | 'postgres';

/** The engine the behavioural suites run on: the file engine, or PostgreSQL in the postgres project. */
export const ENGINE: EngineName = process.env.CHECKPOINT_TEST_ENGINE === 'postgres' ? 'postgres' : 'file';

/**
 * For `it.skipIf` and `describe.skipIf`: true on every engine but the file engine. `reason` says why the
 * test is about files on disk (a hand edit with fs, a link, a lock file), not about documents.
 */
export function fileOnly(_reason: string): boolean {
  return ENGINE !== 'file';
}

/** The file engine's options; PostgreSQL takes `lockTimeoutMs` and refuses an injected `fs`. */
export type TestStoreOptions = FsStoreOptions;

/** Documents on one engine, and where the file engine keeps them. */
export interface Documents {
  engine: EngineName;
  store: Engine;
  /** The file engine's base directory; on PostgreSQL a path where nothing is ever written. */
  base: string;
  /** Another engine over the same documents, as a second process or replica opens them. */
  reopen(options?: TestStoreOptions): Promise<Engine>;
  /** The server options that serve these documents (`--store <url>` on PostgreSQL; none for base-dir). */
  serverArgs: string[];
}

const opened: Engine[] = [];

/**
 * An engine over fresh, empty storage: the file engine on `base`, or a new schema (migrated) in this
 * test file's database of the run's cluster. Closed by closeStores (base-dir.ts runs it after each
 * test) unless `closedBy` is 'caller' (a store that serves a whole describe block).
 */
export async function openDocuments(
  base: string,
  options: TestStoreOptions = {},
  { engine = ENGINE, closedBy = 'test' }: { engine?: EngineName; closedBy?: 'test' | 'caller' } = {},
): Promise<Documents> {
  const track = (store: Engine) => {
    if (closedBy === 'test') opened.push(store);
    return store;
  };
  if (engine === 'file') {
    const open = async (more: TestStoreOptions = {}) =>
      track(await FsStore.open(base, { ...options, ...more }));
    return { engine, base, store: await open(), reopen: open, serverArgs: [] };
  }
  if (options.fs !== undefined)
    throw new Error('an injected fs is a file-engine test: mark it it.skipIf(fileOnly(...))');
  const url = await freshStoreUrl({ reuse: closedBy === 'test' });
  const open = async (more: TestStoreOptions = {}) =>
    track(await PgStore.open(url, { lockTimeoutMs: more.lockTimeoutMs ?? options.lockTimeoutMs }));
  return { engine, base, store: await open(), reopen: open, serverArgs: ['--store', url] };
}

/** Closes every engine opened since the last call, so no pool or watcher outlives its test, and empties their storage for the next. */
export async function closeStores(): Promise<void> {
  for (const store of opened.splice(0)) await store.close();
  await resetSchemas();
}

/** The text of a stored document: the file's bytes on the file engine, the row's body on PostgreSQL. */
export async function readDocument(m: Documents, ...path: string[]): Promise<string> {
  if (m.engine === 'file') return readFile(join(m.base, ...path), 'utf8');
  const text = await m.store.read(path);
  if (text === undefined) throw new Error(`no document ${path.join('/')} in ${m.store.root}`);
  return text;
}

/**
 * Every folder and document, as sorted relative paths with folders ending in "/": the whole file tree
 * (dot names included) on the file engine, the same walk through the engine elsewhere.
 */
export async function documentTree(m: Documents): Promise<string[]> {
  if (m.engine === 'file') return tree(m.base);
  return (await walk(m.store, [])).sort();
}

/** Whether a document or folder is stored: the file is there on the file engine, the engine says so elsewhere. */
export async function isStored(m: Documents, ...path: string[]): Promise<boolean> {
  if (m.engine === 'file')
    return access(join(m.base, ...path)).then(
      () => true,
      () => false,
    );
  return m.store.exists(path);
}

/** Replaces a document behind the server's back, as a person or another tool would. */
export async function editDocument(m: Documents, path: readonly string[], text: string): Promise<void> {
  if (m.engine === 'file') await writeFile(join(m.base, ...path), text);
  else await m.store.write(path, text);
}

/** Dates a document's last write, as `touch -d` does a file's (the row's updated_at on PostgreSQL). */
export async function setModified(m: Documents, path: readonly string[], at: Date): Promise<void> {
  if (m.engine === 'file') {
    await utimes(join(m.base, ...path), at, at);
    return;
  }
  const updated = await (m.store as PgStore).connections.query(
    'UPDATE checkpoint_documents SET updated_at = $2 WHERE path = $1',
    [path.join('/'), at],
  );
  if (updated.rowCount !== 1) throw new Error(`no document ${path.join('/')} to date`);
}

/** Makes a folder (and its parents) behind the server's back. */
export async function makeFolder(m: Documents, ...path: string[]): Promise<void> {
  if (m.engine === 'file') await mkdir(join(m.base, ...path), { recursive: true });
  else await m.store.ensureDirectory(path);
}

/** Deletes a document behind the server's back. */
export async function removeDocument(m: Documents, ...path: string[]): Promise<void> {
  if (m.engine === 'file') {
    await rm(join(m.base, ...path));
    return;
  }
  const deleted = await (m.store as PgStore).connections.query(
    'DELETE FROM checkpoint_documents WHERE path = $1',
    [path.join('/')],
  );
  if (deleted.rowCount !== 1) throw new Error(`no document ${path.join('/')} to remove`);
}

async function walk(store: Engine, rel: RelPath): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await store.list(rel)) {
    const path = [...rel, entry.name];
    if (entry.kind === 'directory') paths.push(`${path.join('/')}/`, ...(await walk(store, path)));
    else paths.push(path.join('/'));
  }
  return paths;
}

let database: Promise<string> | undefined;
let admin: pg.Pool | undefined;
let schemas = 0;
/** Schemas emptied after their test, ready for the next; and those handed out to the current test. */
const clean: string[] = [];
const lent: string[] = [];

/**
 * The URL of an empty, migrated schema in a database of this test file's own (search_path selects the
 * schema). A database per file keeps LISTEN/NOTIFY (one channel per database) from hearing other
 * files' writes. A schema made for one test is emptied after it (resetSchemas) and lent to the next:
 * TRUNCATE takes about a tenth of the time of CREATE SCHEMA and the migrations. A schema that serves a
 * whole describe block (`reuse: false`) is never emptied under it.
 */
export async function freshStoreUrl({ reuse = false }: { reuse?: boolean } = {}): Promise<string> {
  const url = (reuse ? clean.pop() : undefined) ?? (await createSchema());
  if (reuse) lent.push(url);
  return url;
}

/** Empties the schemas lent since the last call (their stores closed) for the next test to reuse. */
export async function resetSchemas(): Promise<void> {
  for (const url of lent.splice(0)) {
    const schema = schemaOf(url);
    const client = await (admin as pg.Pool).connect();
    try {
      // A connection of the test still holding a lock (a killed server's, say) is not waited for long:
      // the schema is then left alone and the next test gets a new one.
      await client.query("SET lock_timeout = '2s'");
      await client.query(
        `TRUNCATE ${['folders', 'documents', 'history', 'locks'].map((table) => `${schema}.checkpoint_${table}`).join(', ')}`,
      );
      clean.push(url);
    } catch {
      // Not reused; nothing else to undo.
    } finally {
      client.release();
    }
  }
}

async function createSchema(): Promise<string> {
  database ??= createDatabase();
  const url = new URL(await database);
  const schema = `s${++schemas}`;
  url.searchParams.set('options', `-c search_path=${schema}`);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  try {
    await pool.query(`CREATE SCHEMA ${schema}`);
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return url.toString();
}

function schemaOf(url: string): string {
  return /search_path=(\w+)/.exec(new URL(url).searchParams.get('options') ?? '')?.[1] ?? 'public';
}

async function createDatabase(): Promise<string> {
  const provided = inject('postgresUrl');
  if (provided === undefined)
    throw new Error('no PostgreSQL cluster for this run: run the postgres project of vitest.config.ts');
  const url = new URL(provided);
  const name = `f_${process.pid}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  url.pathname = `/${name}`;
  // Idle connections close on their own, so the worker can exit when its file is done.
  admin = new pg.Pool({
    connectionString: url.toString(),
    max: 1,
    idleTimeoutMillis: 1000,
    allowExitOnIdle: true,
  });
  return url.toString();
}
