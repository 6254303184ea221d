import type { RelPath } from '../model/paths.js';

/** What the cache needs of an engine. */
interface Identified {
  readIdentified(rel: RelPath): Promise<{ text: string; identity: string } | undefined>;
  label(rel: RelPath): string;
}

/**
 * Parsed files, reused while the file's identity is unchanged (its bytes' digest on the file engine). The
 * markdown parser costs milliseconds per file and a session is read on every call: this turns a
 * repeated read into a read and a hash, while a save by another process or an edit by hand is seen at once.
 * A cached value is shared, not copied (a copy of each record read cost more than the read on PostgreSQL):
 * it is frozen, all the way down, when it is cached, so code that tried to change one throws instead of
 * changing it for every later reader.
 */
export class ParseCache {
  private readonly entries = new Map<string, { identity: string; value: unknown }>();

  constructor(
    private readonly store: Identified,
    private readonly maxEntries = 20_000,
  ) {}

  /** The parsed file, frozen, or undefined when it does not exist. */
  async read<T>(rel: RelPath, parse: (text: string, label: string) => T): Promise<T | undefined> {
    const file = await this.store.readIdentified(rel);
    if (file === undefined) {
      this.entries.delete(rel.join('/'));
      return undefined;
    }
    return this.remember(rel, file.identity, () => parse(file.text, this.store.label(rel)));
  }

  /** The value cached for this identity of the file, else `compute()`, frozen and cached for next time. */
  remember<T>(rel: RelPath, identity: string, compute: () => T): T {
    const key = rel.join('/');
    const cached = this.entries.get(key);
    if (cached?.identity === identity) return cached.value as T;
    const value = deepFrozen(compute());
    this.entries.delete(key);
    this.entries.set(key, { identity, value });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return value;
  }
}

/** `value` and everything it holds, frozen. */
function deepFrozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFrozen(child);
  }
  return value;
}
