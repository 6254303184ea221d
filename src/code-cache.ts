import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Script } from 'node:vm';

/** By then a host has had its first requests answered, so the cache holds the code that answered them. */
const WARM_AFTER_MS = 1_000;
/** Caches of other builds or Node versions not rewritten for this long are removed when one is written. */
const STALE_AFTER_MS = 7 * 24 * 60 * 60 * 1_000;
const DIGEST_BYTES = 32;

/** A code cache as read: V8's data, and whether it was written after a server's first requests. */
export interface CachedCode {
  data: Buffer;
  warm: boolean;
}

/**
 * V8's compiled code of one bundle under one Node.js, kept between starts in a directory of this user's
 * own under the temporary directory. The cache only ever saves time: a missing, unreadable, corrupt
 * (its digest does not match) or rejected (V8 checks version, flags and source) cache is compiled
 * around, and a cache that cannot be written is not written.
 */
export class CodeCache {
  private readonly file: string;

  /**
   * The cache of `source`, compiled as file `filename`: another source never finds it, nor does the
   * same one elsewhere (V8 would name the first file in the stack traces of the second).
   */
  constructor(
    filename: string,
    source: Buffer,
    private readonly dir = join(tmpdir(), `checkpoint-mcp-code-cache-${process.getuid?.() ?? 'user'}`),
  ) {
    const digest = createHash('sha256').update(filename).update('\0').update(source).digest('hex');
    this.file = join(dir, `${digest.slice(0, 32)}-${process.version}-${process.arch}`);
  }

  read(): CachedCode | undefined {
    try {
      if (!this.isOwnDirectory()) return undefined;
      const stored = readFileSync(this.file);
      const body = stored.subarray(DIGEST_BYTES);
      if (body.length < 2 || !sha256(body).equals(stored.subarray(0, DIGEST_BYTES))) return undefined;
      return { warm: body[0] === 1, data: body.subarray(1) };
    } catch {
      // Not there yet, or not readable: the bundle is compiled from its source.
      return undefined;
    }
  }

  /**
   * Saves `script`'s code once the server has run a while (and, if no cache was used at all, when the
   * process exits before that), unless `used` was a warm cache that V8 accepted.
   */
  update(script: Script, used: CachedCode | undefined): void {
    if (used?.warm && script.cachedDataRejected !== true) return;
    let saved = false;
    const save = (warm: boolean) => {
      if (saved) return;
      saved = true;
      this.write(script, warm);
    };
    setTimeout(() => save(true), WARM_AFTER_MS).unref();
    if (used === undefined || script.cachedDataRejected === true) process.once('exit', () => save(false));
  }

  /** Saves `script`'s code as compiled so far; `warm` says the server had answered its first requests. */
  write(script: Script, warm: boolean): void {
    // The process id keeps two servers starting at once apart; the rename makes each write whole.
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      makeDirectory(this.dir);
      if (!this.isOwnDirectory()) return;
      const body = Buffer.concat([Buffer.from([warm ? 1 : 0]), script.createCachedData()]);
      writeFileSync(temporary, Buffer.concat([sha256(body), body]), { mode: 0o600, flag: 'wx' });
      renameSync(temporary, this.file);
      this.removeStale();
    } catch {
      // A full or read-only disk, or a directory that is not ours: the next start compiles again.
      rm(temporary, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Compiled code is run as it is found: only a directory that this user owns and no one else may
   * write to is read or written, never one another user made or could change. Windows has no uid:
   * its temporary directory is the user's own, guarded by ACLs that the mode bits do not show.
   */
  private isOwnDirectory(): boolean {
    const stat = lstatSync(this.dir);
    const uid = process.getuid?.();
    return stat.isDirectory() && (uid === undefined || (stat.uid === uid && (stat.mode & 0o022) === 0));
  }

  private removeStale(): void {
    const before = Date.now() - STALE_AFTER_MS;
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      if (path !== this.file && lstatSync(path).mtimeMs < before) rmSync(path, { force: true });
    }
  }
}

/** The cache's own directory, inside a temporary directory that must exist: no other is made. */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}
