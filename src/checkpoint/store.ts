import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { CheckpointError } from './errors.js';
import { ParseCache } from './parse-cache.js';
import { acquireLock, type HeldLock, lockPathOf } from './session-lock.js';
import {
  errnoCode,
  isProcessAlive,
  nodeFs,
  OPEN_DIRECTORY,
  OPEN_NEW_FILE,
  OPEN_READ,
  type StoreFs,
} from './store-fs.js';

/** A path below the base directory, one validated name per segment. */
export type RelPath = readonly string[];

export interface StoreOptions {
  fs?: StoreFs;
  /** fsync files and directories before acknowledging (default true). */
  durable?: boolean;
  lockTimeoutMs?: number;
  staleLockMs?: number;
}

export interface Entry {
  name: string;
  kind: 'file' | 'directory' | 'other';
}

export interface WriteOptions {
  /** Keep the replaced version in the sibling history/ folder; identical content is not rewritten. */
  keepHistory?: boolean;
  /** Commit only while this lock is still ours. */
  lock?: HeldLock;
  /** The record `content` renders, remembered as this version's parse (see ParseCache). */
  parsed?: unknown;
}

export interface HistoryVersion {
  file: string;
  version: number;
  saved_at: string;
}

export const HISTORY_DIR = 'history';
const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;
const LOCK_LEFTOVER = /^\.lock\.(stale|release)-[0-9a-f]+$/;
const HISTORY_NAME = /^(.+)\.v(\d+)\.md$/;

/**
 * The only module that changes the disk. Every path is built from validated names, stays inside the
 * real base directory, and never passes through a symbolic link; every write is atomic and durable.
 */
export class Store {
  private readonly fs: StoreFs;
  private readonly durable: boolean;
  private readonly lockTimeoutMs: number;
  readonly staleLockMs: number;
  private readonly localLocks = new Map<string, Promise<unknown>>();
  /** Parsed structured files, reused while unchanged on disk. */
  readonly parsed: ParseCache = new ParseCache(this);

  private constructor(
    readonly root: string,
    options: StoreOptions,
  ) {
    this.fs = options.fs ?? nodeFs;
    this.durable = options.durable ?? true;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  /** Creates the base directory if needed and resolves its real path once. */
  static async open(baseDir: string, options: StoreOptions = {}): Promise<Store> {
    const fs = options.fs ?? nodeFs;
    await fs.mkdir(baseDir, { recursive: true });
    return new Store(await fs.realpath(baseDir), options);
  }

  label(rel: RelPath): string {
    return rel.join('/');
  }

  async read(rel: RelPath): Promise<string | undefined> {
    return (await this.readData(rel))?.toString('utf8');
  }

  /** The text with the identity of its bytes (see contentIdentity), for caches. */
  async readIdentified(rel: RelPath): Promise<{ text: string; identity: string } | undefined> {
    const data = await this.readData(rel);
    return data && { text: data.toString('utf8'), identity: contentIdentity(data) };
  }

  async exists(rel: RelPath): Promise<boolean> {
    const path = await this.resolve(rel);
    try {
      await this.fs.lstat(path);
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
      throw this.ioError('reading', rel, error);
    }
  }

  async modifiedMs(rel: RelPath): Promise<number | undefined> {
    const path = await this.resolve(rel);
    try {
      return (await this.fs.lstat(path)).mtimeMs;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
      throw this.ioError('reading', rel, error);
    }
  }

  /** When `rel` was created, where the file system records it, else when it last changed. */
  async createdAt(rel: RelPath): Promise<Date | undefined> {
    const path = await this.resolve(rel);
    try {
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat === undefined) return undefined;
      return stat.birthtimeMs > 0 ? stat.birthtime : stat.mtime;
    } catch (error) {
      if (errnoCode(error) === 'ENOTDIR') return undefined;
      throw this.ioError('reading', rel, error);
    }
  }

  /** Inode, modification time and link count of a directory: changes when an entry comes or goes. */
  async directoryStamp(rel: RelPath): Promise<string | undefined> {
    const path = await this.resolve(rel);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    return stat?.isDirectory() ? `${stat.ino}:${stat.mtimeMs}:${stat.nlink}` : undefined;
  }

  /** Entries of a directory, without the names that start with "." (locks and temporary files). */
  async list(rel: RelPath): Promise<Entry[]> {
    const path = await this.resolve(rel);
    try {
      const entries = await this.fs.readdir(path, { withFileTypes: true });
      return entries
        .filter((entry) => !entry.name.startsWith('.'))
        .map((entry) => ({
          name: entry.name,
          kind: entry.isFile() ? 'file' : entry.isDirectory() ? 'directory' : 'other',
        }));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
      throw this.ioError('listing', rel, error);
    }
  }

  /** The subdirectories of `rel` (not links, not dot names) with the time each was created. */
  async listDirectoriesCreated(rel: RelPath): Promise<Array<{ name: string; createdMs: number }>> {
    const path = await this.resolve(rel);
    const found: Array<{ name: string; createdMs: number }> = [];
    for (const entry of await this.list(rel)) {
      if (entry.kind !== 'directory' || !SEGMENT.test(entry.name)) continue;
      try {
        const stat = await this.fs.lstat(join(path, entry.name));
        if (stat.isDirectory())
          found.push({ name: entry.name, createdMs: stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs });
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw this.ioError('listing', rel, error);
      }
    }
    return found;
  }

  /** Creates every missing directory of `rel`; returns whether the last one was created by this call. */
  async ensureDirectory(rel: RelPath): Promise<boolean> {
    if (await this.isDirectory(rel)) return false;
    let created = false;
    for (let depth = 1; depth <= rel.length; depth++) {
      created = await this.makeDirectory(rel.slice(0, depth));
    }
    return created;
  }

  private async isDirectory(rel: RelPath): Promise<boolean> {
    const path = await this.resolve(rel);
    try {
      return (await this.fs.lstat(path)).isDirectory();
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
      throw this.ioError('reading', rel, error);
    }
  }

  /** Creates the directory only if nothing has that name yet: how a caller claims a fresh id. */
  async createDirectoryExclusive(rel: RelPath): Promise<boolean> {
    await this.ensureDirectory(rel.slice(0, -1));
    return this.makeDirectory(rel);
  }

  async write(rel: RelPath, content: string, options: WriteOptions = {}): Promise<boolean> {
    const target = await this.resolve(rel);
    const data = Buffer.from(content, 'utf8');
    let previous: { data: Buffer; mtime: Date } | undefined;
    // A first save has nothing to keep: one cheap lstat spares the open of a missing file.
    if (options.keepHistory && lstatSync(target, { throwIfNoEntry: false }) !== undefined) {
      previous = await this.readBytes(rel, target);
      if (previous?.data.equals(data)) return false;
    }
    const { temp, identity } = await this.writeTemporaryIdentified(
      rel,
      dirname(target),
      basename(target),
      data,
    );
    try {
      if (previous) await this.archive(rel, previous.data, previous.mtime);
      await options.lock?.assertHeld();
      // rename is atomic: a reader sees the old file or the new, never half of one.
      await this.fs.rename(temp, target);
    } catch (error) {
      await this.removeQuietly(temp);
      throw error instanceof CheckpointError ? error : this.ioError('writing', rel, error);
    }
    try {
      await this.flushDirectory(rel.slice(0, -1));
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      throw new CheckpointError(
        'INTERNAL',
        `flushing the directory of ${this.label(rel)} failed (${errnoCode(error) ?? 'unknown error'}) after the new version replaced the old one: it is in place but may not survive a power loss, so nothing was acknowledged. Call the tool again once the disk problem is fixed`,
      );
    }
    // The writer knows what it wrote: the next read of this version needs no parse.
    if (options.parsed !== undefined) this.parsed.remember(rel, identity, () => options.parsed);
    return true;
  }

  /** Runs `action` holding the lock of directory `rel`, shared by every process on this base directory. */
  async withLock<T>(rel: RelPath, action: (lock: HeldLock) => Promise<T>): Promise<T> {
    const path = lockPathOf(await this.resolve(rel));
    // Calls in this process queue here instead of polling the lock file against each other.
    const before = this.localLocks.get(path) ?? Promise.resolve();
    const run = before.then(async () => {
      const lock = await acquireLock(this.fs, path, this.label(rel), {
        timeoutMs: this.lockTimeoutMs,
        staleMs: this.staleLockMs,
      }).catch((error: unknown) => {
        throw error instanceof CheckpointError ? error : this.ioError('locking', rel, error);
      });
      try {
        return await action(lock);
      } finally {
        // The action's result or error is what the caller must hear; a lock file that cannot be removed goes stale.
        await lock.release().catch(() => undefined);
      }
    });
    const settled = run.catch(() => undefined);
    this.localLocks.set(path, settled);
    try {
      return await run;
    } finally {
      if (this.localLocks.get(path) === settled) this.localLocks.delete(path);
    }
  }

  async history(rel: RelPath): Promise<HistoryVersion[]> {
    const historyRel = [...rel.slice(0, -1), HISTORY_DIR];
    const stem = stemOf(rel.at(-1) ?? '');
    const versions: HistoryVersion[] = [];
    for (const entry of await this.list(historyRel)) {
      const match = HISTORY_NAME.exec(entry.name);
      if (entry.kind !== 'file' || match?.[1] !== stem) continue;
      const mtime = await this.modifiedMs([...historyRel, entry.name]);
      versions.push({
        file: this.label([...historyRel, entry.name]),
        version: Number(match[2]),
        saved_at: new Date(mtime ?? 0).toISOString(),
      });
    }
    return versions.sort((a, b) => a.version - b.version);
  }

  historyFile(rel: RelPath, version: number): RelPath {
    return [...rel.slice(0, -1), HISTORY_DIR, `${stemOf(rel.at(-1) ?? '')}.v${version}.md`];
  }

  /** Deletes temporary files whose writer is gone, and lock leftovers; returns their paths. */
  async removeOrphans(rel: RelPath, depth = 0): Promise<string[]> {
    const path = await this.resolve(rel);
    let entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean }>;
    try {
      entries = await this.fs.readdir(path, { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
      throw this.ioError('listing', rel, error);
    }
    const removed: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory() && depth > 0 && SEGMENT.test(entry.name) && !entry.name.startsWith('.')) {
        removed.push(...(await this.removeOrphans([...rel, entry.name], depth - 1)));
      } else if (entry.isFile() && (await this.isOrphan(join(path, entry.name), entry.name))) {
        await this.removeQuietly(join(path, entry.name));
        removed.push(this.label([...rel, entry.name]));
      }
    }
    return removed;
  }

  private async isOrphan(path: string, name: string): Promise<boolean> {
    const temp = TEMP_NAME.exec(name);
    if (!temp && !LOCK_LEFTOVER.test(name)) return false;
    if (temp && !isProcessAlive(Number(temp[1]))) return true;
    try {
      return Date.now() - (await this.fs.lstat(path)).mtimeMs > this.staleLockMs;
    } catch (error) {
      // Its writer renamed or removed it after the directory was listed: it was no orphan.
      if (errnoCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  private async makeDirectory(rel: RelPath): Promise<boolean> {
    const path = await this.resolve(rel);
    try {
      await this.fs.mkdir(path);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw this.ioError('creating', rel, error);
      const stat = await this.fs.lstat(path);
      if (stat.isSymbolicLink()) throw this.symlinkError(rel);
      if (!stat.isDirectory())
        throw new CheckpointError('CONFLICT', `${this.label(rel)} exists and is not a directory`);
      return false;
    }
    await this.syncDirectory(rel.slice(0, -1));
    return true;
  }

  private async writeTemporary(rel: RelPath, directory: string, name: string, data: Buffer): Promise<string> {
    return (await this.writeTemporaryIdentified(rel, directory, name, data)).temp;
  }

  /** The temporary file and the identity of what it holds. */
  private async writeTemporaryIdentified(
    rel: RelPath,
    directory: string,
    name: string,
    data: Buffer,
  ): Promise<{ temp: string; identity: string }> {
    const temp = join(directory, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await this.fs.open(temp, OPEN_NEW_FILE, 0o644);
      try {
        await handle.writeFile(data);
        if (this.durable) await handle.sync();
        return { temp, identity: contentIdentity(data) };
      } finally {
        await handle.close();
      }
    } catch (error) {
      await this.removeQuietly(temp);
      throw this.ioError('writing', rel, error);
    }
  }

  private async archive(rel: RelPath, data: Buffer, mtime: Date): Promise<void> {
    const historyRel = [...rel.slice(0, -1), HISTORY_DIR];
    const newest = Math.max(0, ...(await this.historyNumbers(rel)));
    // A save that failed (or crashed) after archiving left these very bytes as the newest version already.
    if (newest > 0) {
      const newestRel = this.historyFile(rel, newest);
      if ((await this.readBytes(newestRel, await this.resolve(newestRel)))?.data.equals(data)) return;
    }
    await this.ensureDirectory(historyRel);
    const directory = await this.resolve(historyRel);
    const stem = stemOf(rel.at(-1) ?? '');
    const temp = await this.writeTemporary(historyRel, directory, stem, data);
    try {
      const handle = await this.fs.open(temp, OPEN_READ);
      try {
        await handle.utimes(mtime, mtime);
      } finally {
        await handle.close();
      }
      let version = newest + 1;
      // link() fails instead of replacing: a version number is never reused, even by a racing writer.
      for (;;) {
        try {
          await this.fs.link(temp, join(directory, `${stem}.v${version}.md`));
          break;
        } catch (error) {
          if (errnoCode(error) !== 'EEXIST') throw error;
          version++;
        }
      }
    } finally {
      await this.removeQuietly(temp);
    }
    await this.syncDirectory(historyRel);
  }

  /** The version numbers kept for `rel`, from the names alone. */
  private async historyNumbers(rel: RelPath): Promise<number[]> {
    const stem = stemOf(rel.at(-1) ?? '');
    return (await this.list([...rel.slice(0, -1), HISTORY_DIR])).flatMap((entry) => {
      const match = HISTORY_NAME.exec(entry.name);
      return entry.kind === 'file' && match?.[1] === stem ? [Number(match[2])] : [];
    });
  }

  private async readData(rel: RelPath): Promise<Buffer | undefined> {
    const path = await this.resolve(rel);
    try {
      const handle = await this.fs.open(path, OPEN_READ);
      try {
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      if (code === 'ELOOP') throw this.symlinkError(rel);
      if (code === 'EISDIR')
        throw new CheckpointError('CORRUPT_FILE', `${this.label(rel)} is a directory, expected a file`);
      throw this.ioError('reading', rel, error);
    }
  }

  private async readBytes(rel: RelPath, path: string): Promise<{ data: Buffer; mtime: Date } | undefined> {
    try {
      const handle = await this.fs.open(path, OPEN_READ);
      try {
        const stat = await handle.stat();
        return { data: await handle.readFile(), mtime: stat.mtime };
      } finally {
        await handle.close();
      }
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') throw this.symlinkError(rel);
      throw this.ioError('reading', rel, error);
    }
  }

  private async syncDirectory(rel: RelPath): Promise<void> {
    try {
      await this.flushDirectory(rel);
    } catch (error) {
      throw error instanceof CheckpointError ? error : this.ioError('flushing', rel, error);
    }
  }

  /** fsync of the directory: what makes a rename or a new name survive a power loss. */
  private async flushDirectory(rel: RelPath): Promise<void> {
    if (!this.durable) return;
    const handle = await this.fs.open(await this.resolve(rel), OPEN_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private async removeQuietly(path: string): Promise<void> {
    try {
      await this.fs.unlink(path);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }

  /** The absolute path of `rel`, after checking every name and every existing component. */
  private async resolve(rel: RelPath): Promise<string> {
    for (const segment of rel) {
      if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
        throw new CheckpointError(
          'INVALID_ARGUMENT',
          `path segment ${JSON.stringify(segment)} is not a safe file name`,
        );
      }
    }
    const path = join(this.root, ...rel);
    if (path !== this.root && !path.startsWith(this.root + sep)) {
      throw new CheckpointError(
        'INVALID_ARGUMENT',
        `${JSON.stringify(rel.join('/'))} leaves the base directory`,
      );
    }
    // Synchronous on purpose: an lstat takes microseconds, a round trip through libuv's thread pool
    // many times that, and every call checks several components.
    let current = this.root;
    for (let depth = 0; depth < rel.length; depth++) {
      current = join(current, rel[depth] as string);
      let stat: Stats | undefined;
      try {
        stat = lstatSync(current, { throwIfNoEntry: false });
      } catch (error) {
        if (errnoCode(error) === 'ENOTDIR') break;
        throw this.ioError('reading', rel.slice(0, depth + 1), error);
      }
      if (stat === undefined) break;
      if (stat.isSymbolicLink()) throw this.symlinkError(rel.slice(0, depth + 1));
    }
    return path;
  }

  private symlinkError(rel: RelPath): CheckpointError {
    return new CheckpointError(
      'CORRUPT_FILE',
      `${this.label(rel)} is a symbolic link; the store never follows links. Replace it with a real file or directory`,
      true,
    );
  }

  private ioError(action: string, rel: RelPath, error: unknown): CheckpointError {
    const code = errnoCode(error) ?? 'unknown error';
    const where = relative(this.root, join(this.root, ...rel)) || '.';
    return new CheckpointError(
      'INTERNAL',
      `${action} ${where} failed (${code}); nothing was acknowledged and the previous version is intact. Call the tool again once the disk problem is fixed`,
    );
  }
}

/**
 * A file's identity for caches is a digest of its bytes, never inode, size and mtime: a freed inode is
 * reused at once by the next temporary file, and mtimes are as coarse as the clock (a second on ext3
 * and HFS+, a tick on older Linux), so two versions written close together can share all three, and a
 * parse cached for the older would be served for the newer: a lost manifest update.
 */
function contentIdentity(data: Buffer): string {
  return `${data.length}:${createHash('sha256').update(data).digest('base64url')}`;
}

function stemOf(name: string): string {
  return name.endsWith('.md') ? name.slice(0, -3) : name;
}
