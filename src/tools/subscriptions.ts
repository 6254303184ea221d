import { CheckpointError } from '../checkpoint/errors.js';
import type { DocumentWatcher } from '../checkpoint/watcher.js';
import { documentPathOf } from './uris.js';

/**
 * Which documents somebody listens to, and the watch that says when they change (by this process,
 * another one, or a person's editor). Owners are whatever asked: a 2025 client's resources/subscribe,
 * or a 2026 client's subscriptions/listen request, which may name several URIs and ends as a whole.
 */
export class Subscriptions {
  private readonly watched = new Map<string, { stop: () => void; owners: Set<string> }>();

  constructor(
    private readonly watcher: DocumentWatcher,
    /** Delivers one change: a notifications/resources/updated, however the transport carries it. */
    private readonly publish: (uri: string) => void,
  ) {}

  /** Starts telling `owner` about changes of `uri`; NOT_FOUND when it names no document folder. */
  async add(owner: string, uri: string): Promise<void> {
    const entry = this.watched.get(uri);
    if (entry) {
      entry.owners.add(owner);
      return;
    }
    const path = documentPathOf(uri);
    if (!path) throw new CheckpointError('NOT_FOUND', `${uri} is not a checkpoint document URI`);
    const stop = await this.watcher.watch(path, () => this.publish(uri));
    // Another add for the same URI may have finished while this one waited for the folder check.
    const raced = this.watched.get(uri);
    if (raced) {
      stop();
      raced.owners.add(owner);
      return;
    }
    this.watched.set(uri, { stop, owners: new Set([owner]) });
  }

  /** Stops telling `owner` about `uri`, or about everything it asked for. */
  remove(owner: string, uri?: string): void {
    for (const [watchedUri, entry] of this.watched) {
      if (uri !== undefined && watchedUri !== uri) continue;
      entry.owners.delete(owner);
      if (entry.owners.size === 0) {
        entry.stop();
        this.watched.delete(watchedUri);
      }
    }
  }

  close(): void {
    for (const { stop } of this.watched.values()) stop();
    this.watched.clear();
  }
}
