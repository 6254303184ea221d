import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CheckpointError } from '../../model/errors.js';
import type { RelPath } from '../engine.js';

/** What the watcher needs of the file engine. */
interface Tree {
  exists(rel: RelPath): Promise<boolean>;
  pathOf(rel: RelPath): Promise<string>;
}

/**
 * Calls back when a document changes: by this process, another one, or a person's editor. It watches
 * the folder, not the file, because every save replaces the file by rename.
 */
export class DocumentWatcher {
  private readonly watchers = new Map<
    string,
    { watcher: FSWatcher; listeners: Map<string, Set<() => void>> }
  >();

  constructor(private readonly store: Tree) {}

  /** Starts watching `path` (its folder must exist); returns the function that stops. */
  async watch(path: readonly string[], onChange: () => void): Promise<() => void> {
    if (!(await this.store.exists(path.slice(0, -1)))) {
      throw new CheckpointError(
        'NOT_FOUND',
        `${path.slice(0, -1).join('/')} does not exist, so nothing in it can be watched`,
      );
    }
    const absolute = await this.store.pathOf(path);
    const folder = dirname(absolute);
    const name = basename(absolute);
    let entry = this.watchers.get(folder);
    if (!entry) {
      const listeners = new Map<string, Set<() => void>>();
      const watcher = watch(folder, { persistent: false }, (_event, file) => {
        if (file === null) return;
        for (const listener of listeners.get(file.toString()) ?? []) listener();
      });
      entry = { watcher, listeners };
      this.watchers.set(folder, entry);
    }
    const set = entry.listeners.get(name) ?? new Set();
    entry.listeners.set(name, set);
    const debounced = debounce(onChange, 50);
    set.add(debounced);
    return () => {
      set.delete(debounced);
      if (set.size === 0) entry.listeners.delete(name);
      if (entry.listeners.size === 0) {
        entry.watcher.close();
        this.watchers.delete(folder);
      }
    };
  }

  close(): void {
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

function debounce(action: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      action();
    }, ms);
    timer.unref();
  };
}
