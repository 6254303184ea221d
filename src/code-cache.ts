import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Script } from 'node:vm';

/** By then a host has had its first requests answered, so the cache holds the code that answered them. */
const WARM_AFTER_MS = 1_000;
/**
 * How long after its first tool call a server writes the cache again, with the code of the calls it has
 * answered by then: a host's handshake is over in the first second, its first tool call comes later.
 */
const SERVED_AFTER_MS = 5_000;
/** Caches of other builds or Node versions not rewritten for this long are removed when one is written. */
const STALE_AFTER_MS = 7 * 24 * 60 * 60 * 1_000;
const DIGEST_BYTES = 32;

/**
 * How far a server had got when it wrote a cache, and so which of its code is compiled in it: `cold`, it
 * exited within its first second; `warm`, a second after its start (the handshake); `served`, after
 * its first tool calls. A later stage's cache replaces an earlier one's.
 */
export const CACHE_STAGES = ['cold', 'warm', 'served'] as const;
export type CacheStage = (typeof CACHE_STAGES)[number];

/** The event the server emits on `process` once it has answered a tool call (see CodeCache.update). */
export const TOOL_ANSWERED = 'checkpoint-mcp:tool-answered';

/** A code cache as read: V8's data, and the stage at which it was written. */
export interface CachedCode {
  data: Buffer;
  stage: CacheStage;
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
      const stage = CACHE_STAGES[body[0] as number];
      return stage === undefined ? undefined : { stage, data: body.subarray(1) };
    } catch {
      // Not there yet, or not readable: the bundle is compiled from its source.
      return undefined;
    }
  }

  /**
   * Saves `script`'s code as the server gets further than the cache `used` had (none, or one V8 rejected,
   * counts as no stage): a second after the start, again some seconds after its first tool call, and at
   * exit, at the stage reached. The next start then has compiled the code of a server's first calls,
   * not only of its handshake.
   */
  update(script: Script, used: CachedCode | undefined): void {
    const accepted = used !== undefined && script.cachedDataRejected !== true;
    let saved = accepted ? CACHE_STAGES.indexOf(used.stage) : -1;
    if (saved === CACHE_STAGES.length - 1) return;
    let reached = 0;
    const save = (stage: CacheStage) => {
      const rank = CACHE_STAGES.indexOf(stage);
      reached = Math.max(reached, rank);
      if (rank <= saved) return;
      saved = rank;
      this.write(script, stage);
    };
    setTimeout(() => save('warm'), WARM_AFTER_MS).unref();
    process.once(TOOL_ANSWERED, () => {
      // Reached now, written later, with the code of the calls that follow the first.
      reached = CACHE_STAGES.indexOf('served');
      setTimeout(() => save('served'), SERVED_AFTER_MS).unref();
    });
    process.once('exit', () => save(CACHE_STAGES[reached] ?? 'cold'));
  }

  /** Saves `script`'s code as compiled so far, at `stage`. */
  write(script: Script, stage: CacheStage): void {
    // The process id keeps two servers starting at once apart; the rename makes each write whole.
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      makeDirectory(this.dir);
      if (!this.isOwnDirectory()) return;
      const body = Buffer.concat([Buffer.from([CACHE_STAGES.indexOf(stage)]), script.createCachedData()]);
      writeFileSync(temporary, Buffer.concat([sha256(body), body]), { mode: 0o600, flag: 'wx' });
      renameSync(temporary, this.file);
      this.removeStale();
    } catch {
      // A full or read-only disk, or a directory that is not ours: the next start compiles again.
      rm(temporary, { force: true }).catch(() => undefined);
    }
  }

  /** Removes this build's cache, if there is one: the next start compiles from the source. */
  remove(): void {
    rmSync(this.file, { force: true });
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
