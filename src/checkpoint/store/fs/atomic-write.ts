import { randomBytes } from 'node:crypto';
import { sep } from 'node:path';
import { sha256 } from '../../model/digest.js';
import type { RelPath } from '../engine.js';
import type { FsBase } from './fs-base.js';
import { OPEN_NEW_FILE, PID } from './store-fs.js';

/**
 * The end of this process's temporary names: a random part drawn once, then a count. Unique without a
 * draw from the system's random source per file; the pid before it is read once too (PID).
 */
const TEMP_NONCE = randomBytes(4).toString('hex');
let tempCount = 0;

/** Data up to this size is written with synchronous calls (see writeTemporary). */
export const SYNC_WRITE_BYTES = 256 * 1024;

/**
 * `data` in a fresh temporary file beside its target (`.{name}.{pid}.{hex}.tmp`), with `mtime` as
 * its modification time when given, flushed to disk when the store is durable: renaming it over the
 * target is the atomic step of a write. Up to SYNC_WRITE_BYTES, only the fsync goes through libuv's
 * thread pool: open, write and close take microseconds on a local disk, and each trip through the pool
 * costs more than that. Larger data (an output can be 50 MB) is written through the pool.
 */
export async function writeTemporary(
  base: FsBase,
  rel: RelPath,
  directory: string,
  name: string,
  data: Buffer,
  mtime?: Date,
): Promise<{ temp: string }> {
  const temp = temporaryName(directory, name);
  try {
    if (data.length <= SYNC_WRITE_BYTES) await writeSmall(base, temp, data, mtime);
    else await writeLarge(base, temp, data, mtime);
    return { temp };
  } catch (error) {
    base.removeQuietly(temp);
    throw base.ioError('writing', rel, error);
  }
}

/**
 * A fresh name beside `name` in `directory` that only this process uses, `.{name}.{pid}.{hex}.tmp`: one
 * left by a process that is gone is an orphan the sweep removes (see removeOrphans).
 */
export function temporaryName(directory: string, name: string): string {
  // `directory` is a resolved folder and `name` a checked name: joined as they are, not normalised again.
  return `${directory}${sep}.${name}.${PID}.${TEMP_NONCE}${(tempCount++).toString(16)}.tmp`;
}

async function writeSmall(base: FsBase, temp: string, data: Buffer, mtime: Date | undefined): Promise<void> {
  const fs = base.fs;
  const fd = fs.openSync(temp, OPEN_NEW_FILE, 0o644);
  try {
    for (let offset = 0; offset < data.length; ) {
      offset += fs.writeSync(fd, data, offset, data.length - offset);
    }
    // Set on the open file, before the flush: the time goes to disk with the bytes.
    if (mtime !== undefined) fs.futimesSync(fd, mtime, mtime);
    if (base.durable) await fs.fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function writeLarge(base: FsBase, temp: string, data: Buffer, mtime: Date | undefined): Promise<void> {
  const handle = await base.fs.open(temp, OPEN_NEW_FILE, 0o644);
  try {
    await handle.writeFile(data);
    if (mtime !== undefined) await handle.utimes(mtime, mtime);
    if (base.durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A file's identity for caches is a digest of its bytes, never inode, size and mtime: a freed inode is
 * reused at once by the next temporary file, and mtimes are as coarse as the clock (a second on ext3
 * and HFS+, a tick on older Linux), so two versions written close together can share all three, and a
 * parse cached for the older would be served for the newer: a lost manifest update.
 */
export function contentIdentity(data: Buffer): string {
  return `${data.length}:${sha256(data, 'base64url')}`;
}
