import { lstatSync, type Stats } from 'node:fs';
import { basename, sep } from 'node:path';
import type { StoreFs } from './store-fs.js';

/**
 * How long a folder's names are known from one listing and its watch; then the folder is read again.
 * The watch sees every change made on this machine, and this bounds what a lost event (a full event
 * queue) or a change it cannot see (another host's, on a network file system) can hide.
 */
export const NAMES_TRUST_MS = 1000;
/** Folders watched at once: beyond this the one used least recently is let go. */
const MAX_FOLDERS = 64;

/**
 * The names in the folders new documents go to, known without reading the folder on every save. A
 * folder's listing costs the kernel about 0.35 µs a name here (600 names: 0.2 ms), on every save of a
 * new name, and a phase folder holds one name per agent. Its first listing starts a watch of the
 * folder (inotify on Linux), and every name the watch reports is added; for a while (NAMES_TRUST_MS)
 * that is the listing. A name so known may have gone since: a twin is confirmed with an lstat. The
 * caller chooses the folders worth it (see WATCH_FROM_BYTES in fs-store.ts).
 */
export class FolderNames {
  private readonly known = new Map<string, Known>();
  /** Counts the looks at folders: a folder's last look is its `used`. */
  private uses = 0;

  constructor(
    private readonly fs: StoreFs,
    private readonly trustMs = NAMES_TRUST_MS,
  ) {}

  /**
   * Another name in `folder` (whose lstat is `stat`) that differs from `name` only in letter case, if
   * one is there; `list` reads the folder's names. Every name made before the call is seen: the event
   * loop polls the watch once before the names are looked at.
   */
  async twinOf(
    folder: string,
    name: string,
    stat: Stats,
    list: () => Promise<string[]>,
  ): Promise<string | undefined> {
    if (this.known.has(folder)) await afterPoll();
    const known = this.current(folder, stat) ?? this.watch(folder, stat, list);
    if (known === undefined) return twinIn(await list(), name);
    await known.listed;
    const lower = name.toLowerCase();
    for (const other of known.byLower.get(lower) ?? []) {
      if (other !== name && lstatSync(`${folder}${sep}${other}`, { throwIfNoEntry: false }) !== undefined)
        return other;
    }
    return undefined;
  }

  /** Lets every folder go: its watch ends. */
  close(): void {
    for (const folder of [...this.known.keys()]) this.forget(folder);
  }

  /**
   * What is known of `folder`, if it is the same folder and its watch unbroken. A listing older than
   * trustMs is gone already: its timer ran in the poll twinOf waited for.
   */
  private current(folder: string, stat: Stats): Known | undefined {
    const known = this.known.get(folder);
    if (known === undefined) return undefined;
    if (known.ino !== stat.ino || known.dev !== stat.dev) {
      this.forget(folder);
      return undefined;
    }
    // Marked, not moved to the map's end: a delete and a set on every save leave a hole in the map each
    // time, which it then spends its time compacting.
    known.used = ++this.uses;
    return known;
  }

  /**
   * Starts watching `folder`, then lists it: a name made in between is both listed and reported.
   * Undefined when the folder cannot be watched (no inotify instance or watch left, say).
   */
  private watch(folder: string, stat: Stats, list: () => Promise<string[]>): Known | undefined {
    if (this.known.size >= MAX_FOLDERS) this.forget(this.leastUsed());
    const known: Known = {
      dev: stat.dev,
      ino: stat.ino,
      used: ++this.uses,
      byLower: new Map(),
      listed: Promise.resolve(),
      stop: () => undefined,
    };
    const self = basename(folder);
    try {
      const watch = this.fs.watchFolder(folder, (name) => {
        if (this.known.get(folder) !== known) return;
        // The folder itself removed or moved (its own name), or the watch ended: nothing more is seen.
        if (name === undefined || name === self) this.forget(folder);
        else add(known, name);
      });
      known.stop = () => watch.close();
    } catch {
      return undefined;
    }
    // The listing is trusted until this timer lets it go, and its watch with it.
    const expiry = setTimeout(() => {
      if (this.known.get(folder) === known) this.forget(folder);
    }, this.trustMs);
    expiry.unref();
    const stop = known.stop;
    known.stop = () => {
      clearTimeout(expiry);
      stop();
    };
    this.known.set(folder, known);
    known.listed = list().then(
      (names) => {
        for (const name of names) add(known, name);
      },
      (error: unknown) => {
        if (this.known.get(folder) === known) this.forget(folder);
        throw error;
      },
    );
    return known;
  }

  /** The folder looked at least recently: the one let go for a new one. */
  private leastUsed(): string {
    let oldest: [string, Known] | undefined;
    for (const entry of this.known)
      if (oldest === undefined || entry[1].used < oldest[1].used) oldest = entry;
    return oldest?.[0] ?? '';
  }

  private forget(folder: string): void {
    const known = this.known.get(folder);
    this.known.delete(folder);
    known?.stop();
  }
}

/** Another name in `names` that differs from `name` only in letter case. */
export function twinIn(names: readonly string[], name: string): string | undefined {
  const folded = name.toLowerCase();
  // An agent's file name is ASCII, and a name that lower-cases to ASCII has as many UTF-16 units as its
  // lower case: only names of the same length are lower-cased, not the whole folder's.
  return names.find(
    (other) =>
      other.length === name.length &&
      other !== name &&
      !other.startsWith('.') &&
      other.toLowerCase() === folded,
  );
}

interface Known {
  dev: number;
  ino: number;
  /** When this folder was last looked at, in FolderNames' count of looks. */
  used: number;
  /** Every name listed or reported since, by its lower case; a name may have gone since. */
  byLower: Map<string, string[]>;
  listed: Promise<void>;
  stop(): void;
}

function add(known: Known, name: string): void {
  // Temporary files and other dot names are never twins.
  if (name.startsWith('.')) return;
  const lower = name.toLowerCase();
  const names = known.byLower.get(lower);
  if (names === undefined) known.byLower.set(lower, [name]);
  else if (!names.includes(name)) names.push(name);
}

/**
 * Resolves after the event loop has polled for events once more: a change the file system queued
 * before this call is delivered to its watch first. (One turn is not enough: a callback of the poll
 * under way is followed by the check phase without another poll.)
 */
function afterPoll(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
