import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';

/** The file system calls the store makes: pass another implementation to inject faults. */
export type StoreFs = Pick<
  typeof fsp,
  'open' | 'rename' | 'link' | 'unlink' | 'mkdir' | 'readdir' | 'lstat' | 'realpath' | 'readFile'
>;

export const nodeFs: StoreFs = fsp;

export const OPEN_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
export const OPEN_READ = constants.O_RDONLY | constants.O_NOFOLLOW;
/** Appends to an existing file only: never makes one, never follows a link. */
export const OPEN_APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW;
export const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export const HOST = hostname();

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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
