import { lstatSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CheckpointError } from '../../model/errors.js';
import { decodeUtf8 } from '../../model/utf8.js';
import {
  type Engine,
  type Entry,
  type HistoryVersion,
  MissingFolderError,
  type PendingWrite,
  type RelPath,
  type SessionLock,
  StaleStampError,
  type TimedText,
  type WriteOptions,
} from '../engine.js';
import { ParseCache } from '../parse-cache.js';
import { contentIdentity, temporaryName, writeTemporary } from './atomic-write.js';
import { FolderNames, twinIn } from './folder-names.js';
import { FsBase } from './fs-base.js';
import { archive, historyFile, historyVersions } from './history.js';
import {
  directoryStamp,
  listDirectoriesCreated,
  listEntries,
  noteCreated,
  removeOrphans,
} from './listing.js';
import { acquireLock, lockPathOf } from './session-lock.js';
import { errnoCode, nodeFs, type StoreFs } from './store-fs.js';
import { DocumentWatcher } from './watcher.js';

export interface FsStoreOptions {
  fs?: StoreFs;
  /** fsync files and directories before acknowledging (default true). */
  durable?: boolean;
  lockTimeoutMs?: number;
  staleLockMs?: number;
}

/**
 * The file engine, the embedded default: the documents are the files of one directory tree, the
 * source of truth a person can open and edit. Every write is atomic and durable (temporary file,
 * fsync, rename, fsync of the folder); a session is serialised across processes by a lock file.
 */
export class FsStore implements Engine {
  readonly parsed: ParseCache = new ParseCache(this);
  readonly staleLockMs: number;
  private readonly base: FsBase;
  private readonly lockTimeoutMs: number;
  private readonly localLocks = new Map<string, Promise<unknown>>();
  private readonly writing = new Map<string, Promise<unknown>>();
  private readonly watcher = new DocumentWatcher(this);
  private readonly names: FolderNames;
  /** The digests of documents as readAll last read them, by the stamp of the file read (see differsFrom). */
  private readonly digests = new Map<string, { stamp: string; identity: string }>();

  private constructor(
    readonly root: string,
    options: FsStoreOptions,
  ) {
    this.base = new FsBase(options.fs ?? nodeFs, root, options.durable ?? true);
    this.names = new FolderNames(this.base.fs);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  /** Creates the base directory if needed and resolves its real path once. */
  static async open(baseDir: string, options: FsStoreOptions = {}): Promise<FsStore> {
    const fs = options.fs ?? nodeFs;
    await fs.mkdir(baseDir, { recursive: true });
    return new FsStore(await fs.realpath(baseDir), options);
  }

  label(rel: RelPath): string {
    return this.base.label(rel);
  }

  /** The absolute path of `rel` in the tree, checked like every path the store touches. */
  async pathOf(rel: RelPath): Promise<string> {
    return this.base.resolve(rel);
  }

  async read(rel: RelPath): Promise<string | undefined> {
    const data = await this.base.readData(rel);
    return data && decodeUtf8(data);
  }

  /** The text with the identity of its bytes (see contentIdentity), for caches. */
  async readIdentified(rel: RelPath): Promise<{ text: string; identity: string } | undefined> {
    const data = await this.base.readData(rel);
    return data && { text: decodeUtf8(data), identity: contentIdentity(data) };
  }

  /**
   * One operation (see FsBase.checkingOnce): the folders the documents share are checked once for the
   * batch, not once for each document (a session's checkpoints and reviews: 42 lstats fewer). Read
   * synchronously, small documents end the batch within milliseconds; a batch of agent outputs, which
   * can be 50 MB each, would keep the folders unchecked for as long, and is not what this is for.
   */
  readAll(
    rels: readonly RelPath[],
    timed: readonly RelPath[],
  ): Promise<{ documents: Array<TimedText | undefined>; modified: Array<number | undefined> }> {
    return this.base.checkingOnce(commonFolder([...rels, ...timed]), () => this.readAllChecked(rels, timed));
  }

  private async readAllChecked(
    rels: readonly RelPath[],
    timed: readonly RelPath[],
  ): Promise<{ documents: Array<TimedText | undefined>; modified: Array<number | undefined> }> {
    // Small documents are read at once, each without a promise of its own; a large one through the pool.
    const documents: Array<TimedText | undefined> = [];
    for (const rel of rels) {
      const now = this.base.readNow(rel);
      const read =
        now !== undefined && 'largeAt' in now ? await this.base.readThroughPool(rel, now.largeAt) : now;
      if (read === undefined) {
        documents.push(undefined);
        continue;
      }
      const identity = contentIdentity(read.data);
      this.noteDigest(rel, read.stat, identity);
      documents.push({ text: decodeUtf8(read.data), identity, modifiedMs: read.stat.mtimeMs });
    }
    return { documents, modified: timed.map((rel) => this.statNow(rel)?.mtimeMs) };
  }

  async exists(rel: RelPath): Promise<boolean> {
    return this.statNow(rel) !== undefined;
  }

  async modifiedMs(rel: RelPath): Promise<number | undefined> {
    return this.statNow(rel)?.mtimeMs;
  }

  /** Inode, size, modification and change time, from the lstat the path checks take anyway. */
  async documentStamp(rel: RelPath): Promise<string | undefined> {
    return this.stampNow(rel);
  }

  private stampNow(rel: RelPath): string | undefined {
    const { stat } = this.base.locate(rel);
    return stat?.isFile() ? stampOf(stat) : undefined;
  }

  /** When `rel` was created, where the file system records it, else when it last changed. */
  async createdAt(rel: RelPath): Promise<Date | undefined> {
    const path = this.base.resolve(rel);
    try {
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat === undefined) return undefined;
      return stat.birthtimeMs > 0 ? stat.birthtime : stat.mtime;
    } catch (error) {
      if (errnoCode(error) === 'ENOTDIR') return undefined;
      throw this.base.ioError('reading', rel, error);
    }
  }

  directoryStamp(rel: RelPath): Promise<string | undefined> {
    return directoryStamp(this.base, rel);
  }

  list(rel: RelPath): Promise<Entry[]> {
    return listEntries(this.base, rel);
  }

  listDirectoriesCreated(rel: RelPath): Promise<Array<{ name: string; createdMs: number }>> {
    return listDirectoriesCreated(this.base, rel);
  }

  /** Creates every missing directory of `rel`; returns whether the last one was created by this call. */
  async ensureDirectory(rel: RelPath): Promise<boolean> {
    if (await this.base.isDirectory(rel)) return false;
    let created = false;
    for (let depth = 1; depth <= rel.length; depth++) {
      created = await this.base.makeDirectory(rel.slice(0, depth));
    }
    return created;
  }

  async createDirectoryExclusive(rel: RelPath): Promise<boolean> {
    const parent = rel.slice(0, -1);
    await this.ensureDirectory(parent);
    const made = await this.base.makeDirectory(rel);
    if (made) await noteCreated(this.base, this.base.resolve(parent), rel.at(-1) ?? '');
    return made;
  }

  async write(rel: RelPath, content: string, options: WriteOptions = {}): Promise<boolean> {
    // Writes of one document by this process follow each other. Side by side (an agent's save sent twice
    // at once), each would find the other's new version at the name, keep it as a hand edit and look
    // again, until one gave up with CONFLICT.
    return inTurn(this.writing, rel.join('/'), async () => {
      const prepared = await this.prepare(rel, content, options);
      return prepared !== undefined && (await this.place(prepared));
    });
  }

  /**
   * The temporary files of all the writes are written and flushed together (and each replaced version
   * kept); then each is renamed into place, in turn, and their folders are flushed together, each once.
   * Nothing is in place before every temporary file is on disk; a write is visible only once the one
   * before it is, and the call returns once all of them are durable.
   */
  async writeAll(writes: readonly PendingWrite[]): Promise<boolean[]> {
    const prepared = await Promise.allSettled(
      writes.map((write) => this.prepare(write.rel, write.content, write.options ?? {})),
    );
    const temps = prepared.map((outcome) =>
      outcome.status === 'fulfilled' ? outcome.value?.temp : undefined,
    );
    const dropFrom = (index: number) => {
      for (const temp of temps.slice(index)) if (temp !== undefined) this.base.removeQuietly(temp);
    };
    const failed = prepared.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) {
      dropFrom(0);
      throw failed.reason;
    }
    const placed: Prepared[] = [];
    for (const [index, outcome] of prepared.entries()) {
      const write = outcome.status === 'fulfilled' ? outcome.value : undefined;
      if (write === undefined) continue;
      try {
        await this.rename(write);
      } catch (error) {
        dropFrom(index + 1);
        await Promise.all(placed.map((done) => this.free(done)));
        throw error;
      }
      placed.push(write);
    }
    // One fsync of a folder makes every rename in it durable: the folders are flushed at once, each once.
    const flushes = new Map<string, Promise<void>>();
    for (const write of placed) {
      if (!flushes.has(write.folder)) flushes.set(write.folder, this.flush(write));
    }
    const freed = placed.map((write) => this.free(write));
    const flushed = await Promise.allSettled(placed.map((write) => flushes.get(write.folder)));
    await Promise.all(freed);
    const refused = flushed.find((outcome) => outcome.status === 'rejected');
    if (refused !== undefined) throw refused.reason;
    for (const write of placed) this.settle(write);
    return prepared.map((outcome) => outcome.status === 'fulfilled' && outcome.value !== undefined);
  }

  /**
   * Everything of a write but putting it in place: the checks, the new version in a temporary file on
   * disk, the replaced version kept. Undefined when nothing is to be written (the same bytes are there).
   */
  private prepare(rel: RelPath, content: string, options: WriteOptions): Promise<Prepared | undefined> {
    // One operation: the folders the `unchanged` document shares with `rel` are checked once.
    const shared = options.unchanged ? commonFolder([rel, options.unchanged.rel]) : rel.slice(0, -1);
    return this.base.checkingOnce(shared, () => this.prepareChecked(rel, content, options));
  }

  private async prepareChecked(
    rel: RelPath,
    content: string,
    options: WriteOptions,
  ): Promise<Prepared | undefined> {
    const base = this.base;
    const unchanged = options.unchanged;
    if (unchanged !== undefined && this.stampNow(unchanged.rel) !== unchanged.stamp) {
      throw new StaleStampError(`${this.label(unchanged.rel)} changed`);
    }
    const located = base.locate(rel);
    const target = located.path;
    const folder = dirname(target);
    const data = Buffer.from(content, 'utf8');
    const replaced = options.keepHistory && located.stat?.isFile() ? located.stat : undefined;
    // Byte-identical content adds no version and writes nothing; only a file of the same size can be, and
    // not one whose bytes this process read (under the lock, most often) and found other than these.
    if (replaced !== undefined && replaced.size === data.length && !this.differsFrom(rel, replaced, data)) {
      if ((await base.readWithStat(rel, target))?.data.equals(data)) return undefined;
    }
    if (options.createFolder && located.found === rel.length - 2) await base.makeDirectory(rel.slice(0, -1));
    // The version replaced is linked into history/ while the new version goes to disk, both before the
    // rename; the write's fsync is under way first. Only a new name can make a case twin, and the folder's
    // names are looked up once the new version is on disk, not while its fsync is under way: a listing
    // marks the folder's access time, and the fsync of a new file then writes the folder's inode too, one
    // more write to wait for (ext4 here: the fsync 0.05-0.1 ms longer; a listing of a few names takes 0.01 ms).
    const writing = writeTemporary(base, rel, folder, basename(target), data);
    const keeping = replaced && archive(base, rel, target, replaced);
    const twin =
      located.stat === undefined && options.refuseCaseTwin
        ? writing.then(() => caseTwinIn(base, this.names, rel, folder, basename(target), located.folder))
        : undefined;
    const [written, found, kept] = await Promise.allSettled([writing, twin, keeping]);
    if (written.status === 'rejected') throw written.reason;
    const { temp } = written.value;
    try {
      if (found.status === 'rejected') throw found.reason;
      if (found.value !== undefined) throw options.refuseCaseTwin?.(found.value);
      if (kept.status === 'rejected') throw kept.reason;
    } catch (error) {
      base.removeQuietly(temp);
      throw error instanceof CheckpointError ? error : base.ioError('writing', rel, error);
    }
    // What stands at the name now is kept (or is these very bytes): rename checks it is still that file.
    const frees = !options.keepHistory && located.stat?.isFile() === true && located.stat.nlink === 1;
    return { rel, target, folder, temp, data, options, accounted: replaced, frees };
  }

  /** Renames a prepared write over its name and flushes the folder: the write is then durable. */
  private async place(write: Prepared): Promise<boolean> {
    await this.rename(write);
    const freed = this.free(write);
    try {
      await this.flush(write);
    } finally {
      await freed;
    }
    this.settle(write);
    return true;
  }

  /**
   * Removes the second name setAside gave the file a write replaced, through libuv's thread pool: the
   * file's blocks are freed there, while the folder's fsync is under way, not on the main thread.
   */
  private async free(write: Prepared): Promise<void> {
    const aside = write.aside;
    if (aside === undefined) return;
    write.aside = undefined;
    // One left behind is an orphan: the sweep removes it once this process is gone.
    await this.base.fs.unlink(aside).catch(() => undefined);
  }

  /**
   * Renames a prepared write over its name, holding the lock when it has one: the write is then visible.
   * A write that keeps history looks at the name first: a file put there since the version it kept (a
   * person's editor saving, which a lock does not stop) is kept too, so the rename never drops a
   * version nobody kept. The look and the rename follow each other with nothing waited for between.
   */
  private async rename(write: Prepared): Promise<void> {
    const { rel, target, temp, options } = write;
    const base = this.base;
    try {
      for (let looks = 1; ; looks++) {
        await options.lock?.assertHeld();
        const found = options.keepHistory ? unkeptAt(target, write.accounted) : undefined;
        if (found === undefined) break;
        if (looks > MAX_LOOKS) {
          throw new CheckpointError(
            'CONFLICT',
            `${this.label(rel)} kept changing while it was saved (saved at the same moment by another process, or edited by hand or by another program); every version it had is in history/, and the new one was not put in place. Call the tool again once it is left alone`,
          );
        }
        await archive(base, rel, target, found);
        write.accounted = found;
      }
      write.aside = write.frees ? setAside(base, write) : undefined;
      // rename is atomic: a reader sees the old file or the new, never half of one.
      base.fs.renameSync(temp, target);
    } catch (error) {
      if (write.aside !== undefined) base.removeQuietly(write.aside);
      write.aside = undefined;
      base.removeQuietly(temp);
      throw error instanceof CheckpointError ? error : base.ioError('writing', rel, error);
    }
  }

  /** Flushes the folder of a write renamed into place: the rename then survives a power loss. */
  private async flush({ rel, folder }: Prepared): Promise<void> {
    try {
      await this.base.flushDirectory(rel.slice(0, -1), folder);
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      throw new CheckpointError(
        'INTERNAL',
        `flushing the directory of ${this.label(rel)} failed (${errnoCode(error) ?? 'unknown error'}) after the new version replaced the old one: it is in place but may not survive a power loss, so nothing was acknowledged. Call the tool again once the disk problem is fixed`,
      );
    }
  }

  private noteDigest(rel: RelPath, stat: Stats, identity: string): void {
    const key = rel.join('/');
    this.digests.delete(key);
    this.digests.set(key, { stamp: stampOf(stat), identity });
    if (this.digests.size > DIGESTS_KEPT) {
      const oldest = this.digests.keys().next().value;
      if (oldest !== undefined) this.digests.delete(oldest);
    }
  }

  /**
   * Whether `data` is known to differ from the file at `rel` whose lstat is `found`: readAll digested
   * that very file (the same inode, size, modification and change time) and its bytes were others. A
   * save compares digests instead of reading back the version it replaces (save_checkpoint read it a
   * moment before, under the lock). Were the stamp ever to match a file changed since, the cost is a
   * version of the same bytes kept in history/, never a save skipped.
   */
  private differsFrom(rel: RelPath, found: Stats, data: Buffer): boolean {
    const known = this.digests.get(rel.join('/'));
    return known !== undefined && known.stamp === stampOf(found) && known.identity !== contentIdentity(data);
  }

  /** What a durable write leaves for the next read: the parsed document and the file's stamp. */
  private settle({ rel, target, data, options }: Prepared): void {
    // The writer knows what it wrote: the next read of this version needs no parse. The digest is taken
    // only then: an agent's output, which nobody parses, can be 50 MB.
    if (options.parsed !== undefined) this.parsed.remember(rel, contentIdentity(data), () => options.parsed);
    if (options.stamped !== undefined) {
      // Synchronous, as the path checks take theirs: an lstat costs less than a trip to the thread pool.
      const stat = lstatSync(target, { throwIfNoEntry: false });
      if (stat?.isFile()) options.stamped(stampOf(stat));
    }
  }

  /** Runs `action` holding the lock of directory `rel`, shared by every process on this base directory. */
  async withLock<T>(rel: RelPath, action: (lock: SessionLock) => Promise<T>): Promise<T> {
    // Calls in this process queue here instead of polling the lock file against each other. The key is
    // the names: the folders are looked at when the call's turn comes, just before the lock is tried.
    return inTurn(this.localLocks, rel.join('/'), async () => {
      const looked = this.base.locate(rel);
      const lock = await acquireLock(this.base.fs, lockPathOf(looked.path), this.label(rel), {
        timeoutMs: this.lockTimeoutMs,
        staleMs: this.staleLockMs,
      }).catch(async (error: unknown) => {
        if (error instanceof CheckpointError) throw error;
        // The lock's draft could not be made where the folder should be.
        if (errnoCode(error) === 'ENOENT' && !(await this.base.isDirectory(rel))) {
          throw new MissingFolderError(`${this.label(rel)} does not exist`);
        }
        throw this.base.ioError('locking', rel, error);
      });
      try {
        // A lock taken at the first try followed that look at once, which then stands as the action's
        // check of the folders; after a wait the action looks at them again.
        return await this.base.checkingOnce(rel, () => action(lock), lock.atFirstTry ? looked : undefined);
      } finally {
        // The action's result or error is what the caller must hear; a lock file that cannot be removed goes stale.
        await lock.release().catch(() => undefined);
      }
    });
  }

  within<T>(rel: RelPath, action: () => Promise<T>): Promise<T> {
    return this.base.checkingOnce(rel, action);
  }

  history(rel: RelPath): Promise<HistoryVersion[]> {
    return historyVersions(this.base, rel);
  }

  historyFile(rel: RelPath, version: number): RelPath {
    return historyFile(rel, version);
  }

  watch(rel: RelPath, onChange: () => void): Promise<() => void> {
    return this.watcher.watch(rel, onChange);
  }

  /** Deletes temporary files whose writer is gone, and lock leftovers; returns their paths. */
  removeOrphans(rel: RelPath, depth = 0): Promise<string[]> {
    return removeOrphans(this.base, this.staleLockMs, rel, depth);
  }

  async healthy(): Promise<boolean> {
    return this.statNow([]) !== undefined;
  }

  async close(): Promise<void> {
    this.watcher.close();
    this.names.close();
  }

  /**
   * The lstat the path checks took of `rel` itself (none is taken of the base directory, which is
   * looked at here): no second look through the thread pool.
   */
  private statNow(rel: RelPath): Stats | undefined {
    const located = this.base.locate(rel);
    if (rel.length > 0) return located.stat;
    try {
      return lstatSync(located.path, { throwIfNoEntry: false });
    } catch (error) {
      throw this.base.ioError('reading', rel, error);
    }
  }
}

/**
 * A folder whose directory file is at most this size (on ext4 some 1,800 names like `agent_1234.md`;
 * 1,000 took 36 KiB) is listed with a synchronous call: 300 names take about 0.14 ms here, the
 * kernel's own cost, no more than the trip through libuv's thread pool. A larger one, or one not looked
 * at, goes through the pool, never holding up other calls for long.
 */
export const SYNC_LIST_BYTES = 64 * 1024;

/**
 * A folder whose directory file is larger than this (on ext4 some 220 names like `agent_1234.md`) is
 * watched once listed (see FolderNames), and not listed on each save of a new name. A listing costs
 * about 0.35 µs a name here, the watch about 0.09 ms a save (the events of each write in the folder,
 * delivered to this process): a smaller folder is read each time.
 */
export const WATCH_FROM_BYTES = 8 * 1024;

/**
 * Another name in the folder that differs from `name` only in letter case; `stat` is the folder's lstat,
 * when this operation took one.
 */
async function caseTwinIn(
  base: FsBase,
  names: FolderNames,
  rel: RelPath,
  folder: string,
  name: string,
  stat: Stats | undefined,
): Promise<string | undefined> {
  const list = async () =>
    stat !== undefined && stat.size <= SYNC_LIST_BYTES
      ? base.fs.readdirSync(folder)
      : await base.fs.readdir(folder);
  try {
    return stat === undefined || stat.size <= WATCH_FROM_BYTES
      ? twinIn(await list(), name)
      : await names.twinOf(folder, name, stat, list);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw base.ioError('listing', rel.slice(0, -1), error);
  }
}

/**
 * A second name for the file at the write's name, given just before the rename replaces it, so that the
 * rename frees nothing: the file's blocks are freed when that name is removed (see FsStore.free), through
 * the thread pool. Freeing blocks can wait on the disk: on a mount with `discard` (this machine's) ext4
 * trims them there and then, 0.08 ms a file in the rename, which the main thread then waited for.
 * Undefined when the file cannot take a second name (gone, or a file system without hard links).
 */
function setAside(base: FsBase, { target, folder }: Prepared): string | undefined {
  const aside = temporaryName(folder, basename(target));
  try {
    base.fs.linkSync(target, aside);
    return aside;
  } catch {
    return undefined;
  }
}

/** How often rename keeps a file that appeared at the name before it gives up with CONFLICT. */
const MAX_LOOKS = 4;

/**
 * Runs `task` once every task queued before it under `key` has settled: calls of this process on one key
 * follow each other instead of racing. The queue forgets a key once its last task has settled.
 */
async function inTurn<T>(
  queue: Map<string, Promise<unknown>>,
  key: string,
  task: () => Promise<T>,
): Promise<T> {
  const run = (queue.get(key) ?? Promise.resolve()).then(task);
  const settled = run.catch(() => undefined);
  queue.set(key, settled);
  try {
    return await run;
  } finally {
    if (queue.get(key) === settled) queue.delete(key);
  }
}

/**
 * The regular file at `target` when it is not `accounted` (the version a write kept, or none): one put
 * there since. Anything else at the name (a link, a folder) is left for the rename to meet, as before.
 */
function unkeptAt(target: string, accounted: Stats | undefined): Stats | undefined {
  const now = lstatSync(target, { throwIfNoEntry: false });
  if (now === undefined || !now.isFile()) return undefined;
  return accounted !== undefined && now.ino === accounted.ino && now.dev === accounted.dev ? undefined : now;
}

/** The longest folder path that every document of `rels` lies in (the base directory for none). */
function commonFolder(rels: readonly RelPath[]): RelPath {
  const [first, ...rest] = rels;
  if (first === undefined) return [];
  let depth = first.length - 1;
  for (const rel of rest) {
    let same = 0;
    while (same < depth && same < rel.length - 1 && rel[same] === first[same]) same++;
    depth = same;
  }
  return first.slice(0, depth);
}

/** Documents whose digest differsFrom remembers; past this the oldest is forgotten. */
const DIGESTS_KEPT = 20_000;

/** A document's documentStamp: any write, by any process, changes its inode, size or times. */
function stampOf(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/** A write whose new version is on disk in `temp`, waiting to be renamed over `target`. */
interface Prepared {
  rel: RelPath;
  target: string;
  folder: string;
  temp: string;
  /** The new version's bytes. */
  data: Buffer;
  options: WriteOptions;
  /** The file at the name that is kept in history/ (or holds these very bytes); none when there was none. */
  accounted: Stats | undefined;
  /** The rename would free the file at the name: a file, with no other name, that no history keeps. */
  frees: boolean;
  /** A second name that file was given just before the rename, removed through the pool (see setAside). */
  aside?: string;
}
