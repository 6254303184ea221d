import { randomBytes } from 'node:crypto';
import { fstatSync, lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../model/errors.js';
import {
  errnoCode,
  HOST,
  isProcessAlive,
  OPEN_NEW_FILE,
  OPEN_READ_NOW,
  PID,
  readRestSync,
  type StoreFs,
  sleep,
  unlinkIfThere,
} from './store-fs.js';

export const LOCK_FILE = '.lock';

/**
 * A lock's token: drawn once from the system's random source for this process, then counted, so that
 * no two locks share one, on any host, without a draw (and OpenSSL's getpid call) on every save.
 */
const TOKEN_NONCE = randomBytes(12).toString('hex');
let tokens = 0;

export interface LockOptions {
  /** How long to wait for a held lock before LOCK_TIMEOUT. */
  timeoutMs: number;
  /** A lock older than this is taken over even if its holder seems alive (a paused or remote holder). */
  staleMs: number;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  acquired: string;
}

/** Which file a descriptor has open: its device and inode numbers. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/**
 * A held lock: `assertHeld` before every commit, so a holder that lost the lock never overwrites newer
 * state. The holder keeps its lock file open until release: the open descriptor pins the file's inode,
 * so no other file on the disk can take its number, and "is the file at the lock's name still mine" is
 * one lstat compared with that inode, not a read of the owner's token (four calls).
 */
export class HeldLock {
  private released = false;

  constructor(
    private readonly fs: StoreFs,
    readonly path: string,
    readonly token: string,
    readonly label: string,
    private readonly fd: number,
    private readonly file: FileIdentity,
    /** Taken at the first try: nothing was waited for between the call and the lock. */
    readonly atFirstTry = false,
  ) {}

  async assertHeld(): Promise<void> {
    if (!this.isOurs(this.path)) {
      throw new CheckpointError(
        'LOCK_TIMEOUT',
        `the lock on ${this.label} was taken over while this call held it (it ran longer than the stale timeout); nothing more was written, call the tool again`,
      );
    }
  }

  /** Removes the lock file only while it is still ours: a lock taken over meanwhile is left to its new holder. */
  async release(): Promise<void> {
    // Once only: a descriptor closed twice could close another file that took its number meanwhile.
    if (this.released) return;
    this.released = true;
    const aside = `${this.path}.release-${this.token}`;
    try {
      if (!this.isOurs(this.path)) return;
      try {
        this.fs.renameSync(this.path, aside);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return;
        // A disk that refuses rename must not leave our lock behind to block every later call until it is stale.
        this.fs.unlinkSync(this.path);
        return;
      }
      if (!this.isOurs(aside)) {
        restore(this.fs, aside, this.path);
        return;
      }
    } finally {
      this.fs.closeSync(this.fd);
    }
    // Removed once closed: a file whose last name goes while it is open is kept as an orphan until its
    // close, which costs the file system more than freeing it at once.
    this.fs.unlinkSync(aside);
  }

  /** Whether the file at `path` is this lock's own, by inode: 64-bit numbers, as bigint, for no rounding. */
  private isOurs(path: string): boolean {
    const stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    return stat !== undefined && stat.ino === this.file.ino && stat.dev === this.file.dev;
  }
}

/**
 * Takes the exclusive lock file at `path`: created by link() from a complete temporary file, so no
 * reader ever sees a half-written owner. A dead or stale owner is moved aside by rename, never
 * deleted in place, and put back if what was moved turns out to be a newer lock. Should two waiters
 * still both believe they hold it, the check before every commit (HeldLock.assertHeld) stops
 * the one whose lock file is gone. A lock nobody holds is taken with synchronous calls (a few
 * microseconds each); waiting for one, and moving a stale one aside, take the asynchronous ones.
 */
export async function acquireLock(
  fs: StoreFs,
  path: string,
  label: string,
  options: LockOptions,
): Promise<HeldLock> {
  const token = `${TOKEN_NONCE}${(tokens++).toString(16)}`;
  const draft = `${path}.${PID}.${token}.tmp`;
  const fd = fs.openSync(draft, OPEN_NEW_FILE, 0o644);
  const deadline = Date.now() + options.timeoutMs;
  // Once linked in, the draft's descriptor stays open with the lock, which closes it on release.
  let lock: HeldLock | undefined;
  // The holder's lock file as last read, kept open while this call waits (see Pinned).
  let pinned: Pinned | undefined;
  try {
    const file = fstatSync(fd, { bigint: true });
    for (let attempt = 0; ; attempt++) {
      // After a wait, a lock still in place is judged again without a new try: no draft rewritten, no
      // link made to fail (each failure a thrown error), no owner read again while it is the same file.
      let stat = attempt === 0 ? undefined : await lstatIfThere(fs, path);
      if (stat === undefined) {
        // A lock's age is its file's mtime: written afresh before each try, a lock won after a long wait is not born stale.
        writeOwner(fs, fd, { pid: PID, host: HOST, token, acquired: new Date().toISOString() }, attempt > 0);
        try {
          fs.linkSync(draft, path);
          lock = new HeldLock(fs, path, token, label, fd, file, attempt === 0);
          return lock;
        } catch (error) {
          if (errnoCode(error) !== 'EEXIST') throw error;
        }
        stat = await lstatIfThere(fs, path);
      }
      if (stat !== undefined && !pinned?.is(stat)) {
        pinned?.close();
        pinned = pin(fs, path, stat);
      }
      const holder = stat && judge(stat, pinned);
      if (holder && isStale(holder, options.staleMs)) {
        await moveAside(fs, path, holder.owner?.token, token);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder?.owner
          ? ` (held by pid ${holder.owner.pid} on ${holder.owner.host} since ${holder.owner.acquired})`
          : '';
        throw new CheckpointError(
          'LOCK_TIMEOUT',
          `${label} is locked by another writer${who}; waited ${options.timeoutMs} ms. Call the tool again in a moment`,
        );
      }
      await sleep(backoff(attempt));
    }
  } finally {
    pinned?.close();
    try {
      if (lock === undefined) fs.closeSync(fd);
    } finally {
      try {
        unlinkIfThere(fs, draft);
      } catch (error) {
        // A lock taken whose draft cannot be removed is given back at once, not left to go stale.
        await lock?.release().catch(() => undefined);
        // biome-ignore lint/correctness/noUnsafeFinally: the draft's failure is the call's error.
        throw error;
      }
    }
  }
}

/** Writes `owner` into the draft; `again` when it was written before (the draft is new and empty at first). */
function writeOwner(fs: StoreFs, fd: number, owner: LockOwner, again: boolean): void {
  const data = Buffer.from(`${JSON.stringify(owner)}\n`, 'utf8');
  if (again) fs.ftruncateSync(fd, 0);
  for (let offset = 0; offset < data.length; )
    offset += fs.writeSync(fd, data, offset, data.length - offset, offset);
}

interface Holder {
  owner: LockOwner | undefined;
  ageMs: number;
  foreign: boolean;
}

async function lstatIfThere(fs: StoreFs, path: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The lock file a waiter read, held open while it waits: an open file's inode is never given to
 * another, and a holder never rewrites its lock file, so while the file at the lock's name is this one
 * (the same inode, size and times) its owner is the one read. A waiter polls every few milliseconds.
 */
interface Pinned {
  owner: LockOwner | undefined;
  is(stat: Stats): boolean;
  close(): void;
}

/** Opens and reads the lock file at `path` (whose lstat is `stat`); undefined when it is no file of ours to read. */
function pin(fs: StoreFs, path: string, stat: Stats): Pinned | undefined {
  // A link or directory planted under the lock's name is no lock: judged foreign, never opened.
  if (!stat.isFile()) return undefined;
  const read = openOwner(fs, path);
  if (read === undefined) return undefined;
  const { fd, file, owner } = read;
  return {
    owner,
    is: (now) =>
      now.ino === file.ino &&
      now.dev === file.dev &&
      now.size === file.size &&
      now.mtimeMs === file.mtimeMs &&
      now.ctimeMs === file.ctimeMs,
    close: () => fs.closeSync(fd),
  };
}

/** The holder of the lock file whose lstat is `stat`, by the owner `pinned` read from it when it is that file. */
function judge(stat: Stats, pinned: Pinned | undefined): Holder {
  if (!stat.isFile()) return { owner: undefined, ageMs: 0, foreign: true };
  return {
    owner: pinned?.is(stat) ? pinned.owner : undefined,
    ageMs: Date.now() - stat.mtimeMs,
    foreign: false,
  };
}

function isStale(holder: Holder, staleMs: number): boolean {
  if (holder.foreign || holder.ageMs > staleMs) return true;
  const owner = holder.owner;
  return owner !== undefined && owner.host === HOST && !isProcessAlive(owner.pid);
}

async function moveAside(
  fs: StoreFs,
  path: string,
  staleToken: string | undefined,
  token: string,
): Promise<void> {
  const aside = `${path}.stale-${token}`;
  try {
    await fs.rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  // Whatever was planted under the lock's name stays aside, where no reader looks.
  if (!(await fs.lstat(aside)).isFile()) return;
  const moved = readOwner(fs, aside);
  // Another waiter replaced the stale lock first: what was moved is a live lock, so put it back.
  if (moved !== undefined && moved.token !== staleToken) restore(fs, aside, path);
  else await fs.unlink(aside);
}

/** Puts a live lock moved aside back in its place, unless another has been linked there meanwhile. */
function restore(fs: StoreFs, aside: string, path: string): void {
  try {
    fs.linkSync(aside, path);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  fs.unlinkSync(aside);
}

/** A lock file holds ~100 bytes: one larger is no lock of ours, and is judged by its age alone. */
const LOCK_FILE_BYTES = 64 * 1024;

/**
 * Who holds the lock at `path`, for a writer that moves a stale one aside. Read with synchronous calls:
 * each asynchronous read cost four trips through libuv's thread pool.
 */
function readOwner(fs: StoreFs, path: string): LockOwner | undefined {
  const read = openOwner(fs, path);
  if (read !== undefined) fs.closeSync(read.fd);
  return read?.owner;
}

/**
 * The lock file at `path` opened, its fstat and its owner (undefined for a file that is no lock of
 * ours, judged by its age alone); the caller closes `fd`. Undefined when there is no file to open.
 */
function openOwner(
  fs: StoreFs,
  path: string,
): { fd: number; file: Stats; owner: LockOwner | undefined } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_READ_NOW);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'EISDIR') return undefined;
    throw error;
  }
  try {
    const file = fs.fstatSync(fd);
    const owner =
      file.isFile() && file.size <= LOCK_FILE_BYTES
        ? ownerOf(readRestSync(fs, fd, file.size).toString('utf8'))
        : undefined;
    return { fd, file, owner };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

function ownerOf(text: string): LockOwner | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'token' in parsed &&
      'pid' in parsed &&
      'host' in parsed
    ) {
      const { pid, host, token, acquired } = parsed as Record<string, unknown>;
      return { pid: Number(pid), host: String(host), token: String(token), acquired: String(acquired) };
    }
  } catch {
    // A lock file that is not ours to read is judged by its age alone.
  }
  return undefined;
}

function backoff(attempt: number): number {
  const base = Math.min(50, 1 * 1.6 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

export function lockPathOf(directory: string): string {
  return join(directory, LOCK_FILE);
}
