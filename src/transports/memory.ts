import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A request at least this long is followed by a collection once it has been answered. */
export const LARGE_REQUEST_BYTES = 1024 * 1024;

let collect: (() => void) | undefined;
let scheduled = false;

/**
 * Lets this process reach V8's gc() (from a new context; the global scope gets none). The launcher
 * calls it before it compiles the bundle: V8 rejects a code cache made under other flags, so the
 * flag must be the same when a cache is made and when it is read.
 */
export function allowCollections(): void {
  setFlagsFromString('--expose-gc');
}

/**
 * Collects garbage right after a large request has been answered. A save of a 4 MiB output leaves
 * some 25 MiB behind (the request's bytes, its text, the parsed output, the document written, their
 * copies as bytes), and V8 lets that pile up for many saves before it collects: 200 such saves took the
 * server from 70 MB to 185 MB resident. Collecting after each costs a few milliseconds on a call that
 * took a hundred, and keeps the server near its idle size. Several large requests answered together
 * share one collection; a small request never waits for one.
 */
export function collectAfterLargeRequest(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    collector()();
  });
}

/** V8's gc(), or a no-op where the runtime refuses to give it. */
function collector(): () => void {
  if (collect) return collect;
  try {
    allowCollections();
    const gc: unknown = runInNewContext('gc');
    collect = typeof gc === 'function' ? (gc as () => void) : () => undefined;
  } catch {
    collect = () => undefined;
  }
  return collect;
}
