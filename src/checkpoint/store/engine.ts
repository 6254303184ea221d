import type { RelPath } from '../model/paths.js';
import type { ParseCache } from './parse-cache.js';

export type { RelPath };

export interface Entry {
  name: string;
  kind: 'file' | 'directory' | 'other';
}

export interface WriteOptions {
  /** Keep the replaced version in the sibling history/ folder; identical content is not rewritten. */
  keepHistory?: boolean;
  /** Commit only while this session serialisation is still ours. */
  lock?: SessionLock;
  /** The record `content` renders, remembered as this version's parse (see ParseCache). */
  parsed?: unknown;
  /** Makes the document's folder when it is missing; the folder above it must exist. */
  createFolder?: boolean;
  /**
   * For a new document: the error to throw, with nothing written, when its folder holds another name
   * that differs only in letter case (`twin`), as the two would collide on macOS and Windows.
   */
  refuseCaseTwin?: (twin: string) => Error;
  /**
   * Writes only while document `rel` still has the documentStamp `stamp`; otherwise writes nothing and
   * throws StaleStampError. How a caller acts on what it remembers of another document without asking
   * first: on PostgreSQL the check rides in the write's own statement, one round trip instead of two.
   */
  unchanged?: { rel: RelPath; stamp: string };
  /**
   * Called with the document's documentStamp once the write is done, so that a caller can act on what
   * it wrote with `unchanged` later without asking first. Not called when nothing was written.
   */
  stamped?: (stamp: string) => void;
  /**
   * Inside withLock, on an engine with transactions: the write may be sent without waiting for its
   * answer, which comes with the transaction's end (on PostgreSQL one round trip for all such writes
   * and COMMIT). It then returns true (and calls `stamped`) at once, so a stamp may name a version that
   * never commits, which nothing then finds; should the write fail, or find anything but a plain write to
   * make (a twin, a lost race), the transaction rolls back and the locked action runs once more
   * without batching, so that the caller sees what an unbatched run gives. Ignored elsewhere, and
   * with `unchanged` or `refuseCaseTwin`, whose outcomes the caller must hear of at once.
   */
  batched?: boolean;
}

/** One write of writeAll. */
export interface PendingWrite {
  rel: RelPath;
  content: string;
  options?: WriteOptions;
}

/** A document as readAll gives it. */
export interface TimedText {
  text: string;
  /** As readIdentified gives it. */
  identity: string;
  /** When it was last written, as modifiedMs gives it. */
  modifiedMs: number;
}

/**
 * A write's `unchanged` document had changed: nothing was written. A signal its caller acts on, never
 * shown to anyone, so no stack is captured: with several writers on one session most saves meet one.
 */
export class StaleStampError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/**
 * What a withLock action will read first, as readAll takes it. A hint: an engine may read it with the
 * lock (PostgreSQL: sent together with the transaction's first statements, one round trip for all) and
 * answer the action's reads of these documents from it until the action writes; reads of anything
 * else, or after a write, go to the store as always.
 */
export interface LockReads {
  documents: readonly RelPath[];
  timed: readonly RelPath[];
}

/** withLock's folder does not exist: nothing was locked, and the action did not run. */
export class MissingFolderError extends Error {}

export interface HistoryVersion {
  /** Where the version is, as a path label (`.../history/{stem}.v{n}.md`). */
  file: string;
  version: number;
  /** When that version was written. */
  saved_at: string;
}

/** A session's serialisation, held for the length of a withLock action. */
export interface SessionLock {
  /** Throws LOCK_TIMEOUT when the serialisation was lost (taken over): nothing more may be written. */
  assertHeld(): Promise<void>;
}

export const HISTORY_DIR = 'history';

/**
 * What the managers see of storage: markdown documents and the folders that hold them, addressed by
 * validated relative paths (`{project}/sessions/{session}/phase_1_concept/checkpoint.md`), the same
 * bytes and layout on every engine. Reads see the latest committed version; a write is durable when
 * it returns; writes made inside withLock by one session's callers are serialised across every
 * process (and machine) sharing the store, and on an engine with transactions they commit together.
 */
export interface Engine {
  /** Where the documents live, for people (a folder, or a database with its password hidden). */
  readonly root: string;
  /** Parsed documents, reused while unchanged. */
  readonly parsed: ParseCache;

  label(rel: RelPath): string;
  read(rel: RelPath): Promise<string | undefined>;
  /** The text with an identity that changes whenever the document does (for caches). */
  readIdentified(rel: RelPath): Promise<{ text: string; identity: string } | undefined>;
  /**
   * Several documents at once, each with its identity and modification time (undefined where there is
   * none), and the modification times of `timed`: what reading a session's phases needs, in one round
   * trip on PostgreSQL instead of two or three per phase.
   */
  readAll(
    rels: readonly RelPath[],
    timed: readonly RelPath[],
  ): Promise<{ documents: Array<TimedText | undefined>; modified: Array<number | undefined> }>;
  /** Whether a document or folder is there. */
  exists(rel: RelPath): Promise<boolean>;
  /** When the document was last written. */
  modifiedMs(rel: RelPath): Promise<number | undefined>;
  /**
   * A token that changes whenever the document is written or edited, got without reading it;
   * undefined when it is missing. On the file engine it is the file's inode, size and times, which are
   * as coarse as the clock, so two writes within one tick may share one: use it for what changes by
   * hand (a session's phases), never as the identity of what every save changes (see readIdentified).
   */
  documentStamp(rel: RelPath): Promise<string | undefined>;
  /** When the folder was created. */
  createdAt(rel: RelPath): Promise<Date | undefined>;
  /** Changes whenever a child of the folder comes or goes; undefined for no folder. */
  directoryStamp(rel: RelPath): Promise<string | undefined>;
  /** The children of a folder, without names that start with "." (locks, temporary files). */
  list(rel: RelPath): Promise<Entry[]>;
  /** The subfolders of a folder with the time each was created. */
  listDirectoriesCreated(rel: RelPath): Promise<Array<{ name: string; createdMs: number }>>;

  /** Makes the folder and its parents; whether the last one was made by this call. */
  ensureDirectory(rel: RelPath): Promise<boolean>;
  /** Makes the folder only if nothing has that name yet: how a caller claims a fresh id. */
  createDirectoryExclusive(rel: RelPath): Promise<boolean>;
  /** Replaces a document durably; false when `keepHistory` found the same content there. */
  write(rel: RelPath, content: string, options?: WriteOptions): Promise<boolean>;
  /**
   * The writes, each as write() makes it, in order: one is in place only once the one before it is, and
   * a failure leaves those after it unwritten. An engine may prepare them together (the file engine
   * writes and flushes all their temporary files at once, then renames them in turn).
   */
  writeAll(writes: readonly PendingWrite[]): Promise<boolean[]>;
  /**
   * Runs `action` holding the serialisation of folder `rel` (a session, a project). Rejects with
   * MissingFolderError when there is no such folder, which the lock itself finds out (on PostgreSQL
   * in the statement that takes it): a caller needs no look of its own first. `reads`: see LockReads.
   */
  withLock<T>(rel: RelPath, action: (lock: SessionLock) => Promise<T>, reads?: LockReads): Promise<T>;
  /**
   * Runs `action`, a read of folder `rel` (a session), as one operation: on the file engine each folder
   * on the way to what it reads is checked once, not once for every document (as in withLock). An
   * engine with nothing to check per path runs it as it is.
   */
  within<T>(rel: RelPath, action: () => Promise<T>): Promise<T>;

  /** The earlier versions of a document, oldest first. */
  history(rel: RelPath): Promise<HistoryVersion[]>;
  /** The path under which version `version` of `rel` is read. */
  historyFile(rel: RelPath, version: number): RelPath;

  /** Calls `onChange` whenever the document changes, by any writer; returns the function that stops. */
  watch(rel: RelPath, onChange: () => void): Promise<() => void>;
  /** Removes what writers that died left behind below `rel`; returns what it removed. */
  removeOrphans(rel: RelPath, depth?: number): Promise<string[]>;
  /** Whether the engine answers (GET /healthz). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
