import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CheckpointError } from '../../model/errors.js';
import { decodeUtf8 } from '../../model/utf8.js';
import {
  type Engine,
  type Entry,
  HISTORY_DIR,
  type HistoryVersion,
  type LockReads,
  MissingFolderError,
  type PendingWrite,
  type RelPath,
  type SessionLock,
  StaleStampError,
  type TimedText,
  type WriteOptions,
} from '../engine.js';
import { ParseCache } from '../parse-cache.js';
import {
  checkout,
  isConnectionError,
  isUnanswered,
  redactUrl,
  startupError,
  storeError,
  unsettledCommitError,
} from './pg-errors.js';
import { LATEST_VERSION, schemaAhead, schemaBehind, schemaVersion } from './pg-migrate.js';
import { CHANGES_CHANNEL, ChangeListener } from './pg-watch.js';

export interface PgStoreOptions {
  /** Connections the pool keeps at most. */
  poolSize?: number;
  /** How long a save waits for another writer's hold on its session before LOCK_TIMEOUT. */
  lockTimeoutMs?: number;
  /**
   * How long a holder may sit inside its transaction without sending anything (paused, frozen, its
   * machine gone) before the database ends its connection, which rolls its writes back and frees the
   * session for the next writer: the file engine's stale-lock takeover.
   */
  staleLockMs?: number;
  /**
   * How long the database may take to answer, besides a wait for a session lock: to open a connection,
   * and to answer a statement (past the lock wait it may include). Past it the call is UNAVAILABLE and
   * the connection is destroyed, never given to the next caller.
   */
  dbTimeoutMs?: number;
  onWarning?: (message: string) => void;
}

/** A database whose schema is older than this server: `migrate` brings it up to date. */
export class SchemaBehindError extends Error {}

const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;
const HISTORY_NAME = /^(.+)\.v(\d+)\.md$/;

type Queryable = Pick<pg.PoolClient, 'query'>;

/** A locked action's transaction. */
interface Held {
  client: pg.PoolClient;
  path: string;
  /** The documents read with the lock (see LockReads), until the action writes. */
  early: ReadRows | undefined;
  /** Whether writes marked `batched` are sent without waiting for their answers (see withLock). */
  batching: boolean;
  /** The answers of the batched writes sent so far. */
  batched: Array<Promise<unknown>>;
  /**
   * Whether the socket is corked since the first batched write: the writes and COMMIT leave in one
   * write to it. Anything that waits for an answer flushes it first (see flush).
   */
  corked: boolean;
  /** The documents the action was given to read with its lock (see `early`), kept after it writes. */
  view: ReadRows | undefined;
  /** The action's writes in order, each with its statement's answer. */
  wrote: Array<{ path: string; text: string; writeId: string; row: Promise<WriteRow | undefined> }>;
}

/**
 * Documents by path (undefined: not there), and modification times and write ids by path, as READ_ALL
 * found them.
 */
interface ReadRows {
  documents: Map<string, TimedText | undefined>;
  modified: Map<string, number | undefined>;
  modifiedIds: Map<string, string | undefined>;
}

/** WRITE's answer (see there). */
interface WriteRow {
  existed: boolean;
  written: number;
  twin: string | null;
  stale: boolean;
  updated_at: Date | null;
}

/** Sessions whose documents as last committed by this store are kept for a speculative run (see withLock). */
const KNOWN_SESSIONS = 64;
/** Locked actions run the usual way on a session after another writer changed it under a speculative run. */
const MISSED_COOLDOWN = 16;

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_DB_TIMEOUT_MS = 5_000;
/**
 * Idle this long, a connection's socket is probed (TCP keepalive): a database cut off while nothing was
 * asked of it (the lane, the LISTEN connection, an idle pooled one) is found out, not trusted for ever.
 */
const KEEPALIVE_DELAY_MS = 10_000;

/**
 * The PostgreSQL engine: the same markdown documents, byte for byte, keyed by the same relative paths,
 * for replicas on many machines. A session's serialisation is its row in checkpoint_locks, locked
 * FOR UPDATE for a transaction in which every read and write of the locked action runs; the writes
 * commit together or not at all. Replaced versions become history rows numbered as the file engine
 * numbers them. Every statement is parameterised.
 */
export class PgStore implements Engine {
  readonly parsed: ParseCache = new ParseCache(this);
  readonly root: string;
  private readonly transaction = new AsyncLocalStorage<Held>();
  private readonly changes: ChangeListener;
  /** The connection kept for statements outside a transaction (see onLane), once one was needed. */
  private lane: pg.PoolClient | undefined;
  private laneBusy = false;
  private readonly poolSize: number;
  private closing = false;
  /** The health check under way (see healthy). */
  private checking: Promise<boolean> | undefined;
  /** By lock path: what its early reads gave, as this store's last transaction there left them. */
  private readonly known = new Map<string, ReadRows>();
  /** By lock path: locked actions to run before the next speculative run, after one missed. */
  private readonly missed = new Map<string, number>();

  private constructor(
    private readonly pool: pg.Pool,
    url: string,
    options: PgStoreOptions,
  ) {
    this.root = redactUrl(url);
    this.poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    const warn = options.onWarning ?? (() => undefined);
    const dbTimeoutMs = wholeMs(options.dbTimeoutMs ?? DEFAULT_DB_TIMEOUT_MS);
    this.changes = new ChangeListener(
      {
        connectionString: url,
        connectionTimeoutMillis: dbTimeoutMs,
        query_timeout: dbTimeoutMs,
        keepAlive: true,
        keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      },
      warn,
    );
    // An idle connection the server dropped reports here; the pool replaces it on its own.
    pool.on('error', (error) => warn(`a pooled connection was lost (${error.message})`));
  }

  /** Connects and checks the schema: a database behind this server's migrations refuses to serve. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const dbTimeoutMs = wholeMs(options.dbTimeoutMs ?? DEFAULT_DB_TIMEOUT_MS);
    // Any statement may wait for a lock (a session's, a row's) as long as lock_timeout before it runs.
    const answerMs = wholeMs((options.lockTimeoutMs ?? 10_000) + dbTimeoutMs);
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      idleTimeoutMillis: 10_000,
      // Also the longest wait for a connection of the pool when all are in use.
      connectionTimeoutMillis: dbTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      // A statement not answered in time fails, and pg destroys its connection (pipeline mode): the
      // database ends the backend's transaction, and with it the locks it held, once it hears of it.
      query_timeout: answerMs,
      // Settings of every connection, sent when it opens: no statement ever carries them.
      lock_timeout: wholeMs(options.lockTimeoutMs ?? 10_000),
      // The database's own bound, so that a statement the client gave up on does not run on.
      statement_timeout: answerMs,
      idle_in_transaction_session_timeout: wholeMs(options.staleLockMs ?? 30_000),
      // A statement is sent without waiting for the answer to the one before it on the connection: a
      // transaction's BEGIN, lock and first reads travel in one round trip (see withLock). Each statement
      // still ends in its own Sync, so one that fails inside a transaction fails those after it.
      pipeline: true,
    });
    try {
      const version = await schemaVersion(pool);
      if (version < LATEST_VERSION) {
        throw new SchemaBehindError(schemaBehind(url, version));
      }
      if (version > LATEST_VERSION) options.onWarning?.(schemaAhead(url, version));
    } catch (error) {
      await pool.end();
      throw error instanceof SchemaBehindError
        ? error
        : (startupError(error, url) ?? storeError(error, 'opening the store'));
    }
    return new PgStore(pool, url, options);
  }

  label(rel: RelPath): string {
    return rel.join('/');
  }

  async read(rel: RelPath): Promise<string | undefined> {
    return (await this.readIdentified(rel))?.text;
  }

  async readIdentified(rel: RelPath): Promise<{ text: string; identity: string } | undefined> {
    const read = await this.readTimed(rel);
    return read && { text: read.text, identity: read.identity };
  }

  private async readTimed(rel: RelPath): Promise<TimedText | undefined> {
    const path = pathOf(rel);
    const version = historyRef(rel);
    const early = this.transaction.getStore()?.early;
    if (!version && early?.documents.has(path)) return early.documents.get(path);
    return this.run('reading', async (db) => {
      if (version) {
        const result = await db.query(READ_VERSION([version.path, version.version]));
        const row = result.rows[0] as { body: Buffer; saved_at: Date } | undefined;
        return (
          row && {
            text: decodeUtf8(row.body),
            identity: `history:${path}`,
            modifiedMs: row.saved_at.getTime(),
          }
        );
      }
      const result = await db.query(READ([path]));
      const row = result.rows[0] as { body: Buffer; write_id: string; updated_at: Date } | undefined;
      // A write's id is never reused, not even by a transaction that rolled back.
      return (
        row && {
          text: decodeUtf8(row.body),
          identity: row.write_id,
          modifiedMs: row.updated_at.getTime(),
        }
      );
    });
  }

  async readAll(
    rels: readonly RelPath[],
    timed: readonly RelPath[],
  ): Promise<{ documents: Array<TimedText | undefined>; modified: Array<number | undefined> }> {
    const paths = rels.map(pathOf);
    const timedPaths = timed.map(pathOf);
    if (rels.some((rel) => historyRef(rel) !== undefined)) {
      // Kept versions live in another table: they are read one by one.
      const [documents, modified] = await Promise.all([
        Promise.all(rels.map((rel) => this.readTimed(rel))),
        Promise.all(timed.map((rel) => this.modifiedMs(rel))),
      ]);
      return { documents, modified };
    }
    const early = this.transaction.getStore()?.early;
    const found =
      early &&
      paths.every((path) => early.documents.has(path)) &&
      timedPaths.every((path) => early.modified.has(path))
        ? early
        : readRows(
            paths,
            timedPaths,
            await this.run('reading', (db) => db.query(READ_ALL([paths, timedPaths]))),
          );
    return {
      documents: paths.map((path) => found.documents.get(path)),
      modified: timedPaths.map((path) => found.modified.get(path)),
    };
  }

  async exists(rel: RelPath): Promise<boolean> {
    const path = pathOf(rel);
    if (path === '') return true;
    return this.run('reading', async (db) => {
      const version = historyRef(rel);
      if (version) {
        const found = await db.query(VERSION_EXISTS([version.path, version.version]));
        return found.rowCount !== 0;
      }
      const found = await db.query(EXISTS([path]));
      return (
        found.rowCount !== 0 || (rel.at(-1) === HISTORY_DIR && (await this.hasHistory(db, parentOf(path))))
      );
    });
  }

  async modifiedMs(rel: RelPath): Promise<number | undefined> {
    const early = this.transaction.getStore()?.early;
    const path = pathOf(rel);
    if (early?.modified.has(path)) return early.modified.get(path);
    if (early?.documents.has(path)) return early.documents.get(path)?.modifiedMs;
    const result = await this.run('reading', (db) => db.query(MODIFIED([path])));
    const at = result.rows[0]?.updated_at as Date | undefined;
    return at?.getTime();
  }

  async documentStamp(rel: RelPath): Promise<string | undefined> {
    const early = this.transaction.getStore()?.early;
    const path = pathOf(rel);
    if (early?.documents.has(path)) return early.documents.get(path)?.identity;
    const result = await this.run('reading', (db) => db.query(STAMP([path])));
    return result.rows[0]?.write_id as string | undefined;
  }

  async createdAt(rel: RelPath): Promise<Date | undefined> {
    const result = await this.run('reading', (db) => db.query(CREATED([pathOf(rel)])));
    return result.rows[0]?.created_at as Date | undefined;
  }

  async directoryStamp(rel: RelPath): Promise<string | undefined> {
    const path = pathOf(rel);
    return this.run('reading', async (db) => {
      if (path !== '' && !(await this.isFolder(db, path))) return undefined;
      // Folders are never removed: their count and the newest creation time change when one comes.
      const result = await db.query(FOLDER_STAMP([path]));
      return result.rows[0]?.stamp as string;
    });
  }

  async list(rel: RelPath): Promise<Entry[]> {
    const path = pathOf(rel);
    return this.run('listing', async (db) => {
      if (rel.at(-1) === HISTORY_DIR) {
        const versions = await db.query(LIST_VERSIONS([parentOf(path)]));
        return versions.rows.map((row: { path: string; version: number }) => ({
          name: `${stemOf(nameOf(row.path))}.v${row.version}.md`,
          kind: 'file' as const,
        }));
      }
      const found = await db.query(LIST([path]));
      const entries: Entry[] = found.rows.map((row: { name: string; kind: 'file' | 'directory' }) => ({
        name: row.name,
        kind: row.kind,
      }));
      return entries;
    });
  }

  async listDirectoriesCreated(rel: RelPath): Promise<Array<{ name: string; createdMs: number }>> {
    const result = await this.run('listing', (db) => db.query(SUBFOLDERS([pathOf(rel)])));
    return result.rows.map((row: { name: string; created_at: Date }) => ({
      name: row.name,
      createdMs: row.created_at.getTime(),
    }));
  }

  async ensureDirectory(rel: RelPath): Promise<boolean> {
    const path = pathOf(rel);
    return this.run('creating a folder', (db) => insertFolders(db, path));
  }

  async createDirectoryExclusive(rel: RelPath): Promise<boolean> {
    return this.ensureDirectory(rel);
  }

  /** In turn: inside a locked action, batched writes are already sent together with its COMMIT. */
  async writeAll(writes: readonly PendingWrite[]): Promise<boolean[]> {
    const results: boolean[] = [];
    for (const write of writes) results.push(await this.write(write.rel, write.content, write.options));
    return results;
  }

  async write(rel: RelPath, content: string, options: WriteOptions = {}): Promise<boolean> {
    const path = pathOf(rel);
    if (historyRef(rel))
      throw new CheckpointError('INVALID_ARGUMENT', `${path} is a kept version; it is never written`);
    const writeId = randomUUID();
    const folders = ancestors(parentOf(path));
    const values = [
      path,
      parentOf(path),
      nameOf(path),
      Buffer.from(content, 'utf8'),
      writeId,
      options.keepHistory === true,
      CHANGES_CHANNEL,
      folders.map((folder) => folder.path),
      folders.map((folder) => folder.parent),
      folders.map((folder) => folder.name),
      options.refuseCaseTwin !== undefined,
      options.unchanged ? pathOf(options.unchanged.rel) : null,
      options.unchanged?.stamp ?? null,
    ];
    // What the locked action read with its lock may be about to change: later reads ask the store.
    const held = this.transaction.getStore();
    if (held) held.early = undefined;
    if (
      held?.batching &&
      options.batched &&
      options.unchanged === undefined &&
      options.refuseCaseTwin === undefined
    ) {
      // Sent behind what the transaction sent before, and answered with its COMMIT: the statement fails
      // (so the transaction does) on any outcome but a plain write, and withLock then runs the action
      // again without batching, where that outcome is reported as an unbatched write reports it.
      if (!held.corked) {
        held.corked = true;
        socketOf(held.client)?.cork?.();
        // Should nothing else flush it, the next turn of the event loop does.
        setImmediate(() => flush(held));
      }
      const answer = held.client.query(WRITE([...values, true]));
      answer.catch(() => undefined);
      held.batched.push(answer);
      held.wrote.push({
        path,
        text: content,
        writeId,
        row: answer.then(
          (result) => result.rows[0] as WriteRow,
          () => undefined,
        ),
      });
      // Should the transaction not commit, this write id names no stored version: nothing trusts it.
      if (options.parsed !== undefined) this.parsed.remember(rel, writeId, () => options.parsed);
      options.stamped?.(writeId);
      return true;
    }
    // One statement, so one round trip, and atomic on its own: its CTEs share one snapshot.
    const written = await this.run('writing', async (db) => {
      for (;;) {
        const result = await db.query(WRITE([...values, false]));
        const row = result.rows[0] as WriteRow;
        if (row.stale) return 'stale';
        if (row.twin !== null) throw options.refuseCaseTwin?.(row.twin);
        // A first save raced another first save of the same document: again, now keeping that one as history.
        if (!row.existed && row.written === 0) continue;
        held?.wrote.push({ path, text: content, writeId, row: Promise.resolve(row) });
        return row.written > 0;
      }
    });
    if (written === 'stale') throw new StaleStampError(`${pathOf(options.unchanged?.rel ?? [])} changed`);
    if (written && options.parsed !== undefined) this.parsed.remember(rel, writeId, () => options.parsed);
    // documentStamp reads the write id back: this one, once the transaction that wrote it commits.
    if (written) options.stamped?.(writeId);
    return written;
  }

  /** Nothing is checked per path here: the action runs as it is. */
  within<T>(_rel: RelPath, action: () => Promise<T>): Promise<T> {
    return action();
  }

  async withLock<T>(rel: RelPath, action: (lock: SessionLock) => Promise<T>, reads?: LockReads): Promise<T> {
    const path = pathOf(rel);
    const held = this.transaction.getStore();
    if (held?.path === path) return action(HELD);
    // Kept versions live in another table: a hint naming one is not read early.
    const early =
      reads && ![...reads.documents, ...reads.timed].some((read) => historyRef(read) !== undefined)
        ? ([reads.documents.map(pathOf), reads.timed.map(pathOf)] as const)
        : undefined;
    const known = early && this.speculable(path, early);
    if (known) {
      const run = await this.runLocked(path, action, early, true, known);
      if (run.settled) return run.result;
      // Another writer changed the session since this store's last transaction there.
      this.known.delete(path);
      this.missed.set(path, MISSED_COOLDOWN);
    }
    const run = await this.runLocked(path, action, early, true);
    if (run.settled) return run.result;
    // A batched write did not go through as sent: the whole action again, each write answered in turn.
    const again = await this.runLocked(path, action, early, false);
    if (again.settled) return again.result;
    throw new CheckpointError(
      'INTERNAL',
      `the database did not commit the writes made while holding ${path}; nothing was acknowledged. Call the tool again, and report it if it persists`,
    );
  }

  /**
   * What `early` would read under `path`'s lock as this store's last transaction there left it, when
   * it knows all of it and no speculative run there missed lately.
   */
  private speculable(path: string, early: readonly [string[], string[]]): ReadRows | undefined {
    const missed = this.missed.get(path);
    if (missed !== undefined) {
      if (missed <= 1) this.missed.delete(path);
      else this.missed.set(path, missed - 1);
      return undefined;
    }
    const known = this.known.get(path);
    if (!known) return undefined;
    const [documents, timed] = early;
    return documents.every((doc) => known.documents.has(doc)) && timed.every((doc) => known.modified.has(doc))
      ? known
      : undefined;
  }

  /**
   * One transaction of a locked action: BEGIN, the lock and the early reads in one round trip (see
   * begin), the action, COMMIT. With `batching`, the writes the action marks `batched` are sent without
   * waiting for their answers and COMMIT right behind them, so that they and it take one round trip;
   * `settled` is false when one of them failed, which rolled the transaction back.
   *
   * With `known`, the run is speculative: the action reads what this store's last transaction under
   * the lock left, and BEGIN, the lock and a check that those documents still have the write ids it
   * read (FRESH) leave before the action runs, and its batched writes and COMMIT follow them without
   * waiting for an answer, so that a save waits for one round trip, and the database takes the lock and
   * runs the check while the action builds its writes (held back until the writes, they cost
   * save_checkpoint 0.1-0.2 ms more here). The check runs once the lock is granted: should another
   * writer have changed a document since, it fails, the transaction rolls back, and `settled` is false;
   * the lock's own failure (LOCK_TIMEOUT) is thrown, as the usual run would throw it.
   */
  private async runLocked<T>(
    path: string,
    action: (lock: SessionLock) => Promise<T>,
    early: readonly [string[], string[]] | undefined,
    batching: boolean,
    known?: ReadRows,
  ): Promise<{ settled: true; result: T } | { settled: false }> {
    const { client, begun, locked, read, fresh } = known
      ? await this.beginSpeculative(path, known)
      : { ...(await this.begin(path, early)), begun: undefined, fresh: undefined };
    const state: Held = {
      client,
      path,
      early: undefined,
      batching,
      batched: [],
      corked: false,
      view: known,
      wrote: [],
    };
    let broken = false;
    let ended = false;
    let committing = false;
    try {
      if (!known) {
        if ((await locked).rowCount === 0) throw new MissingFolderError(`${path} does not exist`);
        state.view = early && read ? readRows(...early, await read) : undefined;
      }
      state.early = state.view;
      let result: T;
      try {
        result = await this.transaction.run(state, () => action(HELD));
      } catch (error) {
        // A statement behind a batched write that failed fails too: the write is what went wrong.
        flush(state);
        const outcome = begun && fresh ? await speculation(begun, locked, fresh) : 'held';
        if (outcome === 'lost') {
          broken = true;
          ended = true;
          return { settled: false };
        }
        if (outcome === 'stale' || (await batchFailed(state))) {
          ended = true;
          await client.query('ROLLBACK');
          return { settled: false };
        }
        throw error;
      }
      const commit = client.query('COMMIT');
      flush(state);
      ended = true;
      committing = true;
      // Awaited below, unless a lost connection is thrown first.
      commit.catch(() => undefined);
      const outcome = begun && fresh ? await speculation(begun, locked, fresh) : 'held';
      if (outcome === 'lost') {
        broken = true;
        return { settled: false };
      }
      const failed = outcome === 'stale' || (await batchFailed(state));
      // After a failed statement PostgreSQL ends the transaction with a ROLLBACK, whatever was asked.
      const committed = (await commit).command === 'COMMIT';
      if (failed || !committed) return { settled: false };
      await this.remember(path, state);
      return { settled: true, result };
    } catch (error) {
      broken = isConnectionError(error);
      if (!ended) await client.query('ROLLBACK').catch(() => undefined);
      if (committing && broken) throw unsettledCommitError(error, path);
      throw error instanceof MissingFolderError ? error : storeError(error, `holding ${path}`);
    } finally {
      // A connection that failed mid-transaction is not handed to the next caller.
      client.release(broken ? true : undefined);
    }
  }

  /**
   * Keeps what early reads under `path`'s lock would now give, as far as this store knows: what it
   * knew before, what `state`'s early reads gave over it, and the action's writes over that, each with
   * the write id and time its statement reported. Whatever another writer changed since is caught by
   * the check of the next speculative run (see runLocked).
   */
  private async remember(path: string, state: Held): Promise<void> {
    const view = state.view;
    const before = this.known.get(path);
    this.known.delete(path);
    if (view === undefined) return;
    const documents = new Map([...(before?.documents ?? []), ...view.documents]);
    const modified = new Map([...(before?.modified ?? []), ...view.modified]);
    const modifiedIds = new Map([...(before?.modifiedIds ?? []), ...view.modifiedIds]);
    for (const { path: doc, text, writeId, row } of state.wrote) {
      const answer = await row;
      // Written as it was (the same content kept): its write id and time stand.
      if (answer !== undefined && answer.written === 0) continue;
      if (answer?.updated_at == null) return;
      const modifiedMs = answer.updated_at.getTime();
      if (documents.has(doc)) documents.set(doc, { text, identity: writeId, modifiedMs });
      if (modified.has(doc)) {
        modified.set(doc, modifiedMs);
        modifiedIds.set(doc, writeId);
      }
    }
    this.known.set(path, { documents, modified, modifiedIds });
    if (this.known.size > KNOWN_SESSIONS) this.known.delete(this.known.keys().next().value as string);
  }

  async history(rel: RelPath): Promise<HistoryVersion[]> {
    const path = pathOf(rel);
    const result = await this.run('reading history', (db) => db.query(HISTORY([path])));
    return result.rows.map((row: { version: number; saved_at: Date }) => ({
      file: this.label(this.historyFile(rel, row.version)),
      version: row.version,
      saved_at: row.saved_at.toISOString(),
    }));
  }

  historyFile(rel: RelPath, version: number): RelPath {
    return [...rel.slice(0, -1), HISTORY_DIR, `${stemOf(rel.at(-1) ?? '')}.v${version}.md`];
  }

  async watch(rel: RelPath, onChange: () => void): Promise<() => void> {
    if (!(await this.exists(rel.slice(0, -1)))) {
      throw new CheckpointError(
        'NOT_FOUND',
        `${this.label(rel.slice(0, -1))} does not exist, so nothing in it can be watched`,
      );
    }
    return this.changes.watch(pathOf(rel), onChange);
  }

  /** Nothing is left behind by a writer that died: its transaction rolled back. */
  async removeOrphans(): Promise<string[]> {
    return [];
  }

  /** One check at a time: a load balancer probing often while the database hangs adds no statements. */
  healthy(): Promise<boolean> {
    this.checking ??= this.run('checking', async (db) => (await db.query('SELECT 1')).rowCount === 1)
      .catch(() => false)
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  async close(): Promise<void> {
    this.closing = true;
    // A lane under way is given back when its statement ends (see onLane); the pool waits for it.
    if (!this.laneBusy) this.dropLane();
    await this.changes.close();
    await this.pool.end();
  }

  /** The connection pool, for tools that move whole trees (export, import). */
  get connections(): pg.Pool {
    return this.pool;
  }

  private async isFolder(db: Queryable, path: string): Promise<boolean> {
    return (await db.query(IS_FOLDER([path]))).rowCount !== 0;
  }

  private async hasHistory(db: Queryable, parent: string): Promise<boolean> {
    return (await db.query(HAS_HISTORY([parent]))).rowCount !== 0;
  }

  /**
   * Runs reads on the transaction of the locked action under way (which sees its own writes), else on
   * the pool. A connection lost before anything was sent is tried once more: an idle pooled connection
   * the server dropped (say, across a restart) must not fail the first call after it.
   */
  private async run<T>(action: string, work: (db: Queryable) => Promise<T>): Promise<T> {
    const held = this.transaction.getStore();
    if (held) {
      // Statements started together inside the action are pipelined on its connection, run in turn;
      // one that waits for its answer sends itself and what batched writes left corked before it.
      const answer = work(held.client);
      flush(held);
      return answer.catch((error: unknown) => Promise.reject(storeError(error, action)));
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.onLane(work);
      } catch (error) {
        if (attempt < 2 && isConnectionError(error) && !isUnanswered(error)) continue;
        throw storeError(error, action);
      }
    }
  }

  /**
   * Runs statements outside a transaction on the connection this store keeps for them, or on the pool
   * while that one is busy. Taking a connection from the pool and giving it back (promises, events, an
   * idle timer) costs nearly as much CPU as the statement's own round trip: 42 against 50 us a call
   * here. A pool of one connection keeps no lane: transactions would wait for it for ever.
   */
  private async onLane<T>(work: (db: Queryable) => Promise<T>): Promise<T> {
    if (this.laneBusy || this.closing || this.poolSize < 2) return work(this.pool);
    this.laneBusy = true;
    let lane: pg.PoolClient | undefined;
    try {
      lane = this.lane ?? (await checkout(this.pool));
      this.lane = lane;
      return await work(lane);
    } catch (error) {
      // A lane whose connection was lost is not used again; the next statement takes another.
      if (lane !== undefined && isConnectionError(error)) this.dropLane(true);
      throw error;
    } finally {
      this.laneBusy = false;
      if (this.closing) this.dropLane();
    }
  }

  private dropLane(broken?: boolean): void {
    const lane = this.lane;
    this.lane = undefined;
    lane?.release(broken);
  }

  /**
   * A pooled connection with a transaction begun, and the statements that lock `path` and read `early`
   * (documents, then the modification times of others) sent behind BEGIN without waiting: one round
   * trip for the three; the server runs them in turn, so the reads see what the lock's holder before
   * committed. A connection the server dropped while it was idle (say, across a restart) fails on BEGIN,
   * and all three are tried once more on a fresh one.
   */
  private async begin(
    path: string,
    early: readonly [string[], string[]] | undefined,
  ): Promise<{ client: pg.PoolClient; locked: Promise<pg.QueryResult>; read?: Promise<pg.QueryResult> }> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient | undefined;
      try {
        client = await checkout(this.pool);
        const db = client;
        const { begun, locked, read } = together(db, () => ({
          begun: db.query('BEGIN'),
          locked: db.query(LOCK([path])),
          read: early && db.query(READ_ALL([...early])),
        }));
        // Awaited by the caller; when BEGIN fails, they fail with it and nobody waits for them.
        locked.catch(() => undefined);
        read?.catch(() => undefined);
        await begun;
        return { client, locked, ...(read && { read }) };
      } catch (error) {
        client?.release(true);
        if (attempt < 2 && isConnectionError(error) && !isUnanswered(error)) continue;
        throw storeError(error, 'beginning a transaction');
      }
    }
  }

  /**
   * A pooled connection with BEGIN, the lock of `path` and the check that `known`'s documents still
   * have the write ids it holds sent in one write to its socket, their answers not awaited.
   */
  private async beginSpeculative(
    path: string,
    known: ReadRows,
  ): Promise<{
    client: pg.PoolClient;
    begun: Promise<unknown>;
    locked: Promise<pg.QueryResult>;
    read: undefined;
    fresh: Promise<unknown>;
  }> {
    const client = await checkout(this.pool).catch((error: unknown) => {
      throw storeError(error, 'beginning a transaction');
    });
    const paths: string[] = [];
    const ids: Array<string | null> = [];
    for (const [doc, text] of known.documents) {
      paths.push(doc);
      ids.push(text?.identity ?? null);
    }
    for (const [doc, id] of known.modifiedIds) {
      paths.push(doc);
      ids.push(id ?? null);
    }
    const { begun, locked, fresh } = together(client, () => ({
      begun: client.query('BEGIN'),
      locked: client.query(LOCK([path])),
      fresh: client.query(FRESH([path, paths, ids])),
    }));
    for (const answer of [begun, locked, fresh]) answer.catch(() => undefined);
    return { client, begun, locked, read: undefined, fresh };
  }
}

/**
 * How a speculative run's BEGIN, lock and check (see runLocked) went: `stale` when the check failed (a
 * document changed) or the folder is gone, `lost` when the connection was gone before BEGIN (an idle
 * one the server dropped: the usual run takes another). A lock refused is thrown as it came.
 */
async function speculation(
  begun: Promise<unknown>,
  locked: Promise<pg.QueryResult>,
  fresh: Promise<unknown>,
): Promise<'held' | 'stale' | 'lost'> {
  try {
    await begun;
  } catch (error) {
    // Not answered is not lost: what was sent behind BEGIN, COMMIT too, may have reached the database.
    if (isConnectionError(error) && !isUnanswered(error)) return 'lost';
    throw error;
  }
  if ((await locked).rowCount === 0) return 'stale';
  try {
    await fresh;
    return 'held';
  } catch (error) {
    if (isConnectionError(error)) throw error;
    return 'stale';
  }
}

/**
 * A statement each connection plans once and keeps under its name. Planning costs more than running
 * what a save sends: the write's statement took 1.2 ms a call planned each time, 0.33 ms prepared.
 */
function prepared(name: string, text: string): (values: unknown[]) => pg.QueryConfig {
  return (values) => ({ name, text, values });
}

const READ = prepared('read', 'SELECT body, write_id, updated_at FROM checkpoint_documents WHERE path = $1');
const READ_VERSION = prepared(
  'readVersion',
  'SELECT body, saved_at FROM checkpoint_history WHERE path = $1 AND version = $2',
);
/**
 * Documents $1 (numbered from 1 in `i`), and the write ids and modification times of $2 (with a null
 * body). Each is looked up by its key: the LIMIT (one row at most anyway) keeps the lookup a subquery of
 * its own, which a plain join is not. As a join, the plan a connection keeps for the statement, made
 * while the table had no statistics, read the whole table for every call (a hash join), as FRESH did.
 */
const READ_ALL = prepared(
  'readAll',
  `
SELECT p.i::int AS i, d.body, d.write_id, d.updated_at
FROM unnest($1::text[]) WITH ORDINALITY AS p(path, i)
CROSS JOIN LATERAL (SELECT body, write_id, updated_at FROM checkpoint_documents WHERE path = p.path LIMIT 1) d
UNION ALL SELECT p.i::int, NULL, d.write_id, d.updated_at
FROM unnest($2::text[]) WITH ORDINALITY AS p(path, i)
CROSS JOIN LATERAL (SELECT write_id, updated_at FROM checkpoint_documents WHERE path = p.path LIMIT 1) d`,
);
/**
 * Fails (division by zero) unless folder $1 is locked and documents $2 have write ids $3 (null: not
 * there): a speculative run's check, under the lock, that what it read is still what stands. Each
 * document is looked up by its key in a subquery of its own. As a join, the plan a connection keeps for
 * the statement, made while the table had no statistics, read the whole table for every save (a hash
 * join): a save_checkpoint took 0.47 ms longer beside two other sessions' saves.
 */
const FRESH = prepared(
  'fresh',
  `
SELECT 1 / CASE WHEN EXISTS (SELECT 1 FROM checkpoint_locks WHERE path = $1) AND NOT EXISTS (
  SELECT 1 FROM unnest($2::text[], $3::uuid[]) AS e(path, write_id)
  WHERE (SELECT d.write_id FROM checkpoint_documents d WHERE d.path = e.path) IS DISTINCT FROM e.write_id
) THEN 1 ELSE 0 END AS fresh`,
);
const VERSION_EXISTS = prepared(
  'versionExists',
  'SELECT 1 FROM checkpoint_history WHERE path = $1 AND version = $2',
);
const EXISTS = prepared(
  'exists',
  'SELECT 1 FROM checkpoint_documents WHERE path = $1 UNION ALL SELECT 1 FROM checkpoint_folders WHERE path = $1 LIMIT 1',
);
const MODIFIED = prepared('modified', 'SELECT updated_at FROM checkpoint_documents WHERE path = $1');
const STAMP = prepared('stamp', 'SELECT write_id FROM checkpoint_documents WHERE path = $1');
const CREATED = prepared('created', 'SELECT created_at FROM checkpoint_folders WHERE path = $1');
const IS_FOLDER = prepared('isFolder', 'SELECT 1 FROM checkpoint_folders WHERE path = $1');
const HAS_HISTORY = prepared('hasHistory', 'SELECT 1 FROM checkpoint_history WHERE parent = $1 LIMIT 1');
const FOLDER_STAMP = prepared(
  'folderStamp',
  "SELECT count(*)::text || ':' || coalesce(max(created_at)::text, '') AS stamp FROM checkpoint_folders WHERE parent = $1",
);
const SUBFOLDERS = prepared(
  'subfolders',
  'SELECT name, created_at FROM checkpoint_folders WHERE parent = $1',
);
const LIST_VERSIONS = prepared(
  'listVersions',
  'SELECT path, version FROM checkpoint_history WHERE parent = $1 ORDER BY path, version',
);
const HISTORY = prepared(
  'history',
  'SELECT version, saved_at FROM checkpoint_history WHERE path = $1 ORDER BY version',
);
const INSERT_FOLDER = prepared(
  'insertFolder',
  'INSERT INTO checkpoint_folders (path, parent, name) VALUES ($1, $2, $3) ON CONFLICT (path) DO NOTHING',
);
// An upsert that updates takes the row's lock, whether the row was there or is new; a folder that
// does not exist is not locked (no row is made for it), and the statement's count of rows says so: 0.
const LOCK = prepared(
  'lock',
  `INSERT INTO checkpoint_locks (path) SELECT $1 WHERE EXISTS (SELECT 1 FROM checkpoint_folders WHERE path = $1)
ON CONFLICT (path) DO UPDATE SET path = excluded.path`,
);

/**
 * One save of a document, in one statement. The old row is locked; a replaced version becomes the next
 * history row when keepHistory ($6) is set (and the same content then writes nothing); a new document's
 * folders ($8-$10) are made; the change is announced on commit. With $11, a new document whose folder
 * holds a name differing only in letter case writes nothing and returns that `twin`. With $12, nothing
 * is written and `stale` is true unless document $12 still has write id $13. `existed` false with nothing
 * written means another first save of the same document won the race: the caller tries again. With
 * $14, any outcome but a plain write (or the same content kept) fails the statement (division by zero),
 * and with it the transaction: how a batched write (see withLock) reports that it did not go through.
 */
const WRITE = prepared(
  'write',
  `
WITH stale AS (
  SELECT 1 WHERE $12::text IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM checkpoint_documents WHERE path = $12 AND write_id = $13::uuid)
), prev AS (
  SELECT body, updated_at, versions FROM checkpoint_documents WHERE path = $1 AND NOT EXISTS (SELECT 1 FROM stale) FOR UPDATE
), twin AS (
  SELECT name FROM checkpoint_documents
  WHERE $11 AND parent = $2 AND lower(name) = lower($3) AND name <> $3 AND NOT EXISTS (SELECT 1 FROM prev)
  UNION ALL SELECT name FROM checkpoint_folders
  WHERE $11 AND parent = $2 AND lower(name) = lower($3) AND name <> $3 AND NOT EXISTS (SELECT 1 FROM prev)
  LIMIT 1
), unchanged AS (
  SELECT 1 FROM prev WHERE $6 AND prev.body = $4::bytea
), kept AS (
  INSERT INTO checkpoint_history (path, parent, version, body, saved_at)
  SELECT $1, $2, prev.versions + 1, prev.body, prev.updated_at FROM prev WHERE $6 AND prev.body <> $4::bytea
  RETURNING 1
), folders AS (
  INSERT INTO checkpoint_folders (path, parent, name)
  SELECT * FROM unnest($8::text[], $9::text[], $10::text[])
  WHERE NOT EXISTS (SELECT 1 FROM prev) AND NOT EXISTS (SELECT 1 FROM twin) AND NOT EXISTS (SELECT 1 FROM stale)
  ON CONFLICT (path) DO NOTHING
  RETURNING 1
), inserted AS (
  INSERT INTO checkpoint_documents (path, parent, name, body, write_id, versions)
  SELECT $1, $2, $3, $4::bytea, $5::uuid, (SELECT coalesce(max(version), 0) FROM checkpoint_history WHERE path = $1)
  WHERE NOT EXISTS (SELECT 1 FROM prev) AND NOT EXISTS (SELECT 1 FROM twin) AND NOT EXISTS (SELECT 1 FROM stale)
  ON CONFLICT (path) DO NOTHING
  RETURNING updated_at
), updated AS (
  UPDATE checkpoint_documents
  SET body = $4::bytea, write_id = $5::uuid, updated_at = clock_timestamp(),
      versions = versions + CASE WHEN $6 THEN 1 ELSE 0 END
  WHERE path = $1 AND EXISTS (SELECT 1 FROM prev) AND NOT EXISTS (SELECT 1 FROM unchanged)
  RETURNING updated_at
), notified AS (
  SELECT pg_notify($7, json_build_array(current_schema(), $1::text)::text) FROM (SELECT 1 FROM inserted UNION ALL SELECT 1 FROM updated) AS written
)
SELECT EXISTS (SELECT 1 FROM stale) AS stale,
       EXISTS (SELECT 1 FROM prev) AS existed,
       (SELECT count(*) FROM notified)::int AS written,
       (SELECT count(*) FROM kept)::int AS kept,
       (SELECT count(*) FROM folders)::int AS folders,
       (SELECT name FROM twin) AS twin,
       (SELECT updated_at FROM inserted UNION ALL SELECT updated_at FROM updated LIMIT 1) AS updated_at,
       1 / CASE WHEN $14::boolean AND (EXISTS (SELECT 1 FROM stale) OR EXISTS (SELECT 1 FROM twin)
         OR (NOT EXISTS (SELECT 1 FROM prev) AND NOT EXISTS (SELECT 1 FROM notified))) THEN 0 ELSE 1 END AS plain`,
);

/** The children of a folder, in one round trip; a history/ folder where versions are kept. */
const LIST = prepared(
  'list',
  `
SELECT name, 'directory' AS kind FROM checkpoint_folders WHERE parent = $1
UNION ALL SELECT name, 'file' AS kind FROM checkpoint_documents WHERE parent = $1
UNION ALL SELECT 'history', 'directory' WHERE EXISTS (SELECT 1 FROM checkpoint_history WHERE parent = $1)`,
);

/**
 * Runs `send` with the connection's socket corked, so that the statements it sends leave in one write:
 * a write on a socket costs more CPU here than the statement it carries (~0.1 ms on loopback TCP).
 */
function together<T>(client: pg.PoolClient, send: () => T): T {
  const socket = socketOf(client);
  socket?.cork?.();
  try {
    return send();
  } finally {
    socket?.uncork?.();
  }
}

/** The connection's socket, whose cork() holds what is written to it until uncork(). */
function socketOf(client: pg.PoolClient): { cork?(): void; uncork?(): void } | undefined {
  return (client as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
}

/** Sends what the batched writes left in the corked socket (see Held.corked). */
function flush(state: Held): void {
  if (!state.corked) return;
  state.corked = false;
  socketOf(state.client)?.uncork?.();
}

/**
 * Whether a batched write of the transaction failed, once all have answered. A lost connection is
 * thrown: the transaction is gone with it, and a run again on another connection is the caller's call.
 */
async function batchFailed(state: Held): Promise<boolean> {
  const failure = (await Promise.allSettled(state.batched)).find((outcome) => outcome.status === 'rejected');
  if (failure === undefined) return false;
  if (isConnectionError(failure.reason)) throw failure.reason;
  return true;
}

/** READ_ALL's rows for documents `paths` and the write ids and modification times of `timedPaths`. */
function readRows(paths: readonly string[], timedPaths: readonly string[], result: pg.QueryResult): ReadRows {
  const documents = new Map<string, TimedText | undefined>(paths.map((path) => [path, undefined]));
  const modified = new Map<string, number | undefined>(timedPaths.map((path) => [path, undefined]));
  const modifiedIds = new Map<string, string | undefined>(timedPaths.map((path) => [path, undefined]));
  for (const row of result.rows as Array<{
    i: number;
    body: Buffer | null;
    write_id: string;
    updated_at: Date;
  }>) {
    if (row.body === null) {
      const path = timedPaths[row.i - 1] as string;
      modified.set(path, row.updated_at.getTime());
      modifiedIds.set(path, row.write_id);
    } else {
      documents.set(paths[row.i - 1] as string, {
        text: decodeUtf8(row.body),
        identity: row.write_id,
        modifiedMs: row.updated_at.getTime(),
      });
    }
  }
  return { documents, modified, modifiedIds };
}

/** A timeout for the server: whole milliseconds, at least 1 (0 would mean none). */
function wholeMs(ms: number): number {
  // A sum of two long timeouts may pass the longest timer Node.js keeps, which it runs after 1 ms.
  return Math.min(2 ** 31 - 1, Math.max(1, Math.floor(ms)));
}

/** A folder path and every ancestor, outermost first. */
function ancestors(path: string): Array<{ path: string; parent: string; name: string }> {
  if (path === '') return [];
  const parts = path.split('/');
  return parts.map((name, i) => ({
    path: parts.slice(0, i + 1).join('/'),
    parent: parts.slice(0, i).join('/'),
    name,
  }));
}

const HELD: SessionLock = {
  // The session's row stays locked until the transaction ends; a lost connection rolls everything back.
  assertHeld: async () => undefined,
};

function pathOf(rel: RelPath): string {
  for (const segment of rel) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new CheckpointError(
        'INVALID_ARGUMENT',
        `path segment ${JSON.stringify(segment)} is not a safe name`,
      );
    }
  }
  return rel.join('/');
}

/** A path under `{folder}/history/{stem}.v{n}.md` names version n of `{folder}/{stem}.md`. */
function historyRef(rel: RelPath): { path: string; version: number } | undefined {
  if (rel.length < 2 || rel.at(-2) !== HISTORY_DIR) return undefined;
  const match = HISTORY_NAME.exec(rel.at(-1) ?? '');
  if (!match?.[1]) return undefined;
  return { path: [...rel.slice(0, -2), `${match[1]}.md`].join('/'), version: Number(match[2]) };
}

/** Inserts the folder and every missing ancestor; whether the folder itself is new. */
async function insertFolders(db: Queryable, path: string): Promise<boolean> {
  if (path === '') return false;
  const parts = path.split('/');
  let created = false;
  for (let depth = 1; depth <= parts.length; depth++) {
    const folder = parts.slice(0, depth).join('/');
    const result = await db.query(INSERT_FOLDER([folder, parentOf(folder), parts[depth - 1]]));
    created = result.rowCount === 1;
  }
  return created;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function stemOf(name: string): string {
  return name.endsWith('.md') ? name.slice(0, -3) : name;
}
