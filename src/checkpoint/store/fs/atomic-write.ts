import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { RelPath } from '../engine.js';
import type { FsBase } from './fs-base.js';
import { OPEN_NEW_FILE } from './store-fs.js';

/**
 * `data` in a fresh temporary file beside its target (`.{name}.{pid}.{random}.tmp`), with `mtime` as
 * its modification time when given, flushed to disk when the store is durable: renaming it over the
 * target is the atomic step of a write.
 */
export async function writeTemporary(
  base: FsBase,
  rel: RelPath,
  directory: string,
  name: string,
  data: Buffer,
  mtime?: Date,
): Promise<{ temp: string; identity: string }> {
  const temp = join(directory, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await base.fs.open(temp, OPEN_NEW_FILE, 0o644);
    try {
      await handle.writeFile(data);
      // Set on the open file, before the flush: the time goes to disk with the bytes.
      if (mtime !== undefined) await handle.utimes(mtime, mtime);
      if (base.durable) await handle.sync();
      return { temp, identity: contentIdentity(data) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    await base.removeQuietly(temp);
    throw base.ioError('writing', rel, error);
  }
}

/**
 * A file's identity for caches is a digest of its bytes, never inode, size and mtime: a freed inode is
 * reused at once by the next temporary file, and mtimes are as coarse as the clock (a second on ext3
 * and HFS+, a tick on older Linux), so two versions written close together can share all three, and a
 * parse cached for the older would be served for the newer: a lost manifest update.
 */
export function contentIdentity(data: Buffer): string {
  return `${data.length}:${createHash('sha256').update(data).digest('base64url')}`;
}
