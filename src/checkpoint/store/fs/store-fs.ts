import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  ftruncateSync,
  futimesSync,
  linkSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  watch,
  writeSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname, platform } from 'node:os';
import { promisify } from 'node:util';

/**
 * The file system calls the store makes: pass another implementation to inject faults. Small
 * documents are read and written with the synchronous calls (see FsBase.readWithStat and
 * writeTemporary), flushed by `fsync`; so is a folder (see FsBase.flushDirectory). A document is put
 * in place by renameSync, a history version by linkSync, a small folder is listed for case twins by
 * readdirSync (and then watched, see FolderNames), and the session lock is taken and given back with the synchronous calls while nobody
 * else holds it: each of these takes microseconds, where a trip through libuv's thread pool costs a
 * tenth of a millisecond or more. Only fsync waits on the disk.
 */
export type StoreFs = Pick<
  typeof fsp,
  'open' | 'rename' | 'link' | 'unlink' | 'mkdir' | 'readdir' | 'lstat' | 'realpath' | 'readFile'
> & {
  openSync: typeof openSync;
  fstatSync: typeof fstatSync;
  readSync: typeof readSync;
  closeSync: typeof closeSync;
  writeSync: typeof writeSync;
  futimesSync: typeof futimesSync;
  ftruncateSync: typeof ftruncateSync;
  renameSync: typeof renameSync;
  linkSync: typeof linkSync;
  unlinkSync: typeof unlinkSync;
  readdirSync: (path: string) => string[];
  /** fsync(2) of an open descriptor, through the thread pool: it waits on the disk. */
  fsync: (fd: number) => Promise<void>;
  /**
   * Watches a folder's entries (fs.watch: inotify), calling back with the name of each entry made,
   * changed, moved or removed, or undefined once the watch fails; throws when none can be made, and
   * off Linux, where a watch reports a change some time after it is made.
   */
  watchFolder: (path: string, onName: (name: string | undefined) => void) => { close(): void };
};

export const nodeFs: StoreFs = {
  ...fsp,
  openSync,
  fstatSync,
  readSync,
  closeSync,
  writeSync,
  futimesSync,
  ftruncateSync,
  renameSync,
  linkSync,
  unlinkSync,
  readdirSync: (path) => readdirSync(path),
  fsync: promisify(fsync),
  watchFolder: (path, onName) => {
    // inotify queues an event as the change is made; other systems' watches report later, coalesced.
    if (!WATCHES_IN_ORDER) throw new Error('ENOSYS: folder watches are trusted on Linux only');
    const watcher = watch(path, { persistent: false }, (_event, name) => onName(name ?? undefined));
    watcher.on('error', () => onName(undefined));
    return watcher;
  },
};

const WATCHES_IN_ORDER = platform() === 'linux';

export const OPEN_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
export const OPEN_READ = constants.O_RDONLY | constants.O_NOFOLLOW;
/** OPEN_READ that never waits: a FIFO planted in a document's place opens at once, and is refused. */
export const OPEN_READ_NOW = OPEN_READ | constants.O_NONBLOCK;
/** Appends to an existing file only: never makes one, never follows a link. */
export const OPEN_APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW;
export const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export const HOST = hostname();
/** This process's id, read once: each read of process.pid is a system call. */
export const PID = process.pid;

export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errnoCode(error) === 'EPERM';
  }
}

/** Removes the file at `path` if there is one; any other failure is thrown. */
export function unlinkIfThere(fs: StoreFs, path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The rest of the file open at `fd`, read with synchronous calls: `size` bytes are expected (its
 * fstat's), and one more is asked for, so that the usual read ends at once: a read of a regular file
 * that returns less than it asked for has reached the end, and once the `size` bytes are in, no second
 * read is made to hear so. A file that grew is read on; one that shrank is read until a read returns nothing.
 */
export function readRestSync(fs: StoreFs, fd: number, size: number): Buffer {
  let buffer = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const larger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(larger, 0, 0, length);
      buffer = larger;
    }
    const asked = buffer.length - length;
    const count = fs.readSync(fd, buffer, length, asked, null);
    length += count;
    if (count === 0 || (count < asked && length >= size)) return buffer.subarray(0, length);
  }
}
