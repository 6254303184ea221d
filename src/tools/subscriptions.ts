import { isCheckpointError } from '../checkpoint/model/errors.js';
import type { Engine } from '../checkpoint/store/engine.js';
import { documentPathOf } from './uris.js';

/** What a server's resources/subscribe needs: start and stop telling an owner about a URI. */
export interface SubscriptionRegistry {
  add(owner: string, uri: string): Promise<boolean>;
  remove(owner: string, uri?: string): void;
}

/**
 * Over stateless HTTP a 2025 client has no stream for unsolicited notifications: its subscriptions
 * are accepted and watch nothing (a 2026 client listens instead).
 */
export const NO_SUBSCRIPTIONS: SubscriptionRegistry = {
  add: async () => false,
  remove: () => undefined,
};

/**
 * Which documents somebody listens to, and the watch that says when they change (by this process,
 * another one, or a person's editor). Owners are whatever asked: a 2025 client's resources/subscribe,
 * or a 2026 client's subscriptions/listen request, which may name several URIs and ends as a whole.
 */
export class Subscriptions implements SubscriptionRegistry {
  private readonly watched = new Map<string, { stop: () => void; owners: Set<string> }>();

  constructor(
    /** Where changes are seen: the engine's watch (a folder watch, or the database's notifications). */
    private readonly watcher: Pick<Engine, 'watch'>,
    /** Delivers one change: a notifications/resources/updated, however the transport carries it. */
    private readonly publish: (uri: string) => void,
  ) {}

  /**
   * Starts telling `owner` about changes of `uri`. A URI that names no document of an existing folder
   * is accepted and never fires: MCP has no error for a subscription to what is not there (yet), and a
   * client may subscribe before a session exists. Returns whether the URI is watched.
   */
  async add(owner: string, uri: string): Promise<boolean> {
    const entry = this.watched.get(uri);
    if (entry) {
      entry.owners.add(owner);
      return true;
    }
    const path = documentPathOf(uri);
    if (!path) return false;
    const stop = await this.watcher.watch(path, () => this.publish(uri)).catch(notWatchable);
    if (!stop) return false;
    // Another add for the same URI may have finished while this one waited for the folder check.
    const raced = this.watched.get(uri);
    if (raced) {
      stop();
      raced.owners.add(owner);
      return true;
    }
    this.watched.set(uri, { stop, owners: new Set([owner]) });
    return true;
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

/** A document whose folder is not there: nothing to watch yet. */
function notWatchable(error: unknown): undefined {
  if (isCheckpointError(error) && error.code === 'NOT_FOUND') return undefined;
  throw error;
}
