import { lstatSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { CheckpointError } from '../../model/errors.js';
import type { RelPath } from '../engine.js';
import {
  errnoCode,
  OPEN_DIRECTORY,
  OPEN_READ_NOW,
  readRestSync,
  type StoreFs,
  unlinkIfThere,
} from './store-fs.js';

export const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;

/** Documents up to this size are read with synchronous calls (see FsBase.readWithStat). */
export const SYNC_READ_BYTES = 256 * 1024;

/** Where resolve() found a path, and how much of it exists. */
export interface Located {
  path: string;
  /** How many leading components of the path exist. */
  found: number;
  /** The lstat of the path itself, when it exists (none is taken of the base directory itself). */
  stat: Stats | undefined;
  /**
   * The lstat of the path's folder, when this call took one: not of a folder the operation checked
   * before (see checkingOnce), nor of the base directory.
   */
  folder: Stats | undefined;
}

/**
 * The file engine's ground floor: every path is built from validated names, stays inside the real
 * base directory and never passes through a symbolic link; reads, directory creation and fsync.
 */
export class FsBase {
  /** The newest history version of each document this process kept, and the inode it linked (not for a copy). */
  readonly archived = new Map<string, { version: number; ino?: number }>();
  /** The folders checked so far by the operations under way, by the folder each works in (see checkingOnce). */
  private readonly scopes = new Map<string, { checked: Set<string>; operations: number }>();
  /** `root` ending in one separator: the components of a path are this and its names. */
  private readonly prefix: string;

  /** `root` is absolute and normalised (a realpath). */
  constructor(
    readonly fs: StoreFs,
    readonly root: string,
    /** fsync files and directories before acknowledging. */
    readonly durable: boolean,
  ) {
    this.prefix = root.endsWith(sep) ? root : root + sep;
  }

  label(rel: RelPath): string {
    return rel.join('/');
  }

  /**
   * Runs `action` as one operation in folder `rel` (a locked action in its session, a write in the folder
   * it shares with the document it checks): a folder on the way to `rel` or under it that was checked
   * once (a real folder, not a link) is not lstat'ed again until the operation ends, by any call of this
   * process. A path's last component is always checked, and a folder swapped for a link mid-operation is
   * still refused where it is opened (O_NOFOLLOW on the document). Kept by folder, not by async context:
   * Node 20's AsyncLocalStorage hooks every promise of the process (a checkpoint save's CPU 2 % more here).
   * `looked`, locate's look at `rel` itself taken just before with nothing waited for since, counts as
   * the operation's check of `rel` and the folders on its way.
   */
  async checkingOnce<T>(rel: RelPath, action: () => Promise<T>, looked?: Located): Promise<T> {
    // A key, not a path to open: joined as it is, not normalised (locate's own join does that). Names the
    // rules refuse never reach a normalised path, so a key made of them matches none and shares nothing.
    const folder = rel.length === 0 ? this.root : this.prefix + rel.join(sep);
    const scope = this.scopes.get(folder) ?? { checked: new Set<string>(), operations: 0 };
    // Every component was lstat'ed on the way and none a link; the last a folder, so the others are too.
    if (looked !== undefined && looked.found === rel.length && looked.stat?.isDirectory()) {
      let current = '';
      for (const [depth, name] of rel.entries()) {
        current = depth === 0 ? this.prefix + name : current + sep + name;
        scope.checked.add(current);
      }
    }
    scope.operations++;
    this.scopes.set(folder, scope);
    try {
      return await action();
    } finally {
      if (--scope.operations === 0) this.scopes.delete(folder);
    }
  }

  /** The folders checked so far by the operation under way where `path` is, else a set of its own. */
  private checksFor(path: string): Set<string> {
    for (const [folder, scope] of this.scopes) {
      if (path.startsWith(folder) && (path.length === folder.length || path[folder.length] === sep))
        return scope.checked;
    }
    return new Set();
  }

  /** The absolute path of `rel`, after checking every name and every existing component. */
  resolve(rel: RelPath): string {
    return this.locate(rel).path;
  }

  /**
   * resolve(), and what its checks saw on the way: how many leading components exist (`rel.length`
   * when the document itself does) and the last one's lstat, so a caller needs no second look. With
   * `checkLast` false the last component is not looked at (`found` stops short of it, and `stat` is
   * undefined): for a caller that opens it with O_NOFOLLOW and judges what it opened.
   */
  locate(rel: RelPath, checkLast = true): Located {
    for (const segment of rel) {
      if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
        throw new CheckpointError(
          'INVALID_ARGUMENT',
          `path segment ${JSON.stringify(segment)} is not a safe file name`,
        );
      }
    }
    // Normalised, so the check below stands should a name ever slip past the rules above.
    const path = join(this.root, ...rel);
    if (!isInside(this.root, path)) {
      throw new CheckpointError(
        'INVALID_ARGUMENT',
        `${JSON.stringify(rel.join('/'))} leaves the base directory`,
      );
    }
    // Synchronous on purpose: an lstat takes microseconds, a round trip through libuv's thread pool
    // many times that, and every call checks several components. Each component is its names joined
    // by separators, not path.join, which normalises the whole path each time (some 200 calls in a
    // save_checkpoint): for names the rules admit the two agree.
    const checked = this.checksFor(path);
    let current = this.root;
    let last: Stats | undefined;
    let folder: Stats | undefined;
    let depth = 0;
    const end = checkLast ? rel.length : rel.length - 1;
    for (; depth < end; depth++) {
      current = depth === 0 ? this.prefix + rel[0] : current + sep + rel[depth];
      if (depth < rel.length - 1 && checked.has(current)) continue;
      let stat: Stats | undefined;
      try {
        stat = lstatSync(current, { throwIfNoEntry: false });
      } catch (error) {
        if (errnoCode(error) === 'ENOTDIR') break;
        throw this.ioError('reading', rel.slice(0, depth + 1), error);
      }
      if (stat === undefined) break;
      if (stat.isSymbolicLink()) throw this.symlinkError(rel.slice(0, depth + 1));
      if (stat.isDirectory()) checked.add(current);
      if (depth === rel.length - 2) folder = stat;
      last = stat;
    }
    return { path, found: depth, stat: depth === rel.length ? last : undefined, folder };
  }

  async readData(rel: RelPath): Promise<Buffer | undefined> {
    return (await this.readWithStat(rel))?.data;
  }

  /**
   * The file's bytes and its status, both from the one open file (a rename in between cannot split
   * them); `path` when the caller has resolved `rel` already. A document up to SYNC_READ_BYTES is read
   * with synchronous calls: on a local disk they take microseconds, and the four trips through libuv's
   * thread pool of an asynchronous read (open, fstat, read, close) cost ten times the read itself. A
   * larger one (an agent's output can be 50 MB) is read through the pool, not holding up other calls.
   */
  async readWithStat(rel: RelPath, path?: string): Promise<{ data: Buffer; stat: Stats } | undefined> {
    const now = this.readNow(rel, path);
    return now !== undefined && 'largeAt' in now ? this.readThroughPool(rel, now.largeAt) : now;
  }

  /**
   * readWithStat of a document up to SYNC_READ_BYTES, without a promise. For a larger one nothing is
   * read: `largeAt` is its checked path, for readThroughPool.
   */
  readNow(rel: RelPath, path?: string): { data: Buffer; stat: Stats } | { largeAt: string } | undefined {
    const at = path ?? this.documentPath(rel);
    if (at === undefined) return undefined;
    try {
      const small = this.readSmall(rel, at);
      return small === 'large' ? { largeAt: at } : small;
    } catch (error) {
      return this.readFailure(rel, error);
    }
  }

  /** A document past SYNC_READ_BYTES at `path` (readNow's largeAt), read through the pool. */
  async readThroughPool(rel: RelPath, path: string): Promise<{ data: Buffer; stat: Stats } | undefined> {
    try {
      const handle = await this.fs.open(path, OPEN_READ_NOW);
      try {
        const stat = await handle.stat();
        // Swapped since it was looked at: checked again on the file now open.
        this.assertFile(rel, stat);
        return { data: await handle.readFile(), stat };
      } finally {
        await handle.close();
      }
    } catch (error) {
      return this.readFailure(rel, error);
    }
  }

  /**
   * The path of document `rel` once its folders are checked, undefined when one of them is missing. The
   * document itself is judged on the file opened (O_NOFOLLOW, then its fstat), which an lstat before
   * the open would only repeat.
   */
  private documentPath(rel: RelPath): string | undefined {
    const located = this.locate(rel, false);
    return located.found < rel.length - 1 ? undefined : located.path;
  }

  /** A failed read: no document (undefined), or the error to answer with. */
  private readFailure(rel: RelPath, error: unknown): undefined {
    if (error instanceof CheckpointError) throw error;
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw this.symlinkError(rel);
    if (code === 'EISDIR') throw this.notAFile(rel);
    throw this.ioError('reading', rel, error);
  }

  /** The file read whole with synchronous calls, or 'large' past SYNC_READ_BYTES (nothing read). */
  private readSmall(rel: RelPath, path: string): { data: Buffer; stat: Stats } | 'large' {
    const fs = this.fs;
    const fd = fs.openSync(path, OPEN_READ_NOW);
    try {
      const stat = fs.fstatSync(fd);
      this.assertFile(rel, stat);
      if (stat.size > SYNC_READ_BYTES) return 'large';
      return { data: readRestSync(fs, fd, stat.size), stat };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** CORRUPT_FILE unless `stat` is a regular file's: a FIFO, opened without waiting, is never read. */
  private assertFile(rel: RelPath, stat: Stats): void {
    if (stat.isFile()) return;
    if (stat.isDirectory()) throw this.notAFile(rel);
    throw new CheckpointError(
      'CORRUPT_FILE',
      `${this.label(rel)} is not a regular file (a FIFO, socket or device); remove it, or restore the document from history/`,
    );
  }

  private notAFile(rel: RelPath): CheckpointError {
    return new CheckpointError('CORRUPT_FILE', `${this.label(rel)} is a directory, expected a file`);
  }

  async isDirectory(rel: RelPath): Promise<boolean> {
    const path = this.resolve(rel);
    try {
      return (await this.fs.lstat(path)).isDirectory();
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
      throw this.ioError('reading', rel, error);
    }
  }

  /** Creates the directory unless it exists; whether this call created it. */
  async makeDirectory(rel: RelPath): Promise<boolean> {
    const path = this.resolve(rel);
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

  async syncDirectory(rel: RelPath, resolved?: string): Promise<void> {
    try {
      await this.flushDirectory(rel, resolved);
    } catch (error) {
      throw error instanceof CheckpointError ? error : this.ioError('flushing', rel, error);
    }
  }

  /**
   * fsync of the directory (at `resolved` when the caller has checked it): what makes a rename or a
   * new name survive a power loss. Only the fsync waits on the disk, so only it goes through the
   * thread pool; opening and closing the folder take microseconds.
   */
  async flushDirectory(rel: RelPath, resolved?: string): Promise<void> {
    if (!this.durable) return;
    const fd = this.fs.openSync(resolved ?? this.resolve(rel), OPEN_DIRECTORY);
    try {
      await this.fs.fsync(fd);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** Removes the file at `path`, if any; synchronous, as an unlink takes microseconds. */
  removeQuietly(path: string): void {
    unlinkIfThere(this.fs, path);
  }

  symlinkError(rel: RelPath): CheckpointError {
    return new CheckpointError(
      'CORRUPT_FILE',
      `${this.label(rel)} is a symbolic link; the store never follows links. Replace it with a real file or directory`,
      true,
    );
  }

  /**
   * A failed system call as the caller should hear it: a folder where a document belongs is the stored
   * data at fault (CORRUPT_FILE, like a link there), a refused permission or a full disk is said as
   * such, anything else is a disk problem. Nothing was acknowledged in any case.
   */
  ioError(action: string, rel: RelPath, error: unknown): CheckpointError {
    const code = errnoCode(error) ?? 'unknown error';
    const where = relative(this.root, join(this.root, ...rel)) || '.';
    if (code === 'EISDIR') {
      return new CheckpointError(
        'CORRUPT_FILE',
        `${action} ${where} failed: a directory stands where the store keeps a file. Move the directory away (the store never deletes it), or restore the file from history/; nothing was acknowledged`,
      );
    }
    const fix =
      code === 'EACCES' || code === 'EPERM'
        ? "once this server's user may read and write it again (its permissions or owner were changed, say by chmod)"
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? 'once the disk has room again'
          : 'once the disk problem is fixed';
    return new CheckpointError(
      'INTERNAL',
      `${action} ${where} failed (${code}); nothing was acknowledged and the previous version is intact. Call the tool again ${fix}`,
    );
  }
}

/** Whether `path` is `root` or below it, separator-aware (`/base_evil` is not inside `/base`). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}
