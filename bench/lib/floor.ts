import { closeSync, constants, fsync, linkSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const flush = promisify(fsync);

/**
 * The physical floor of one durable save: what the store must do at least, done directly in Node at its
 * cheapest. Temporary file (exclusive create), write, fsync, close, rename over the target, fsync the
 * directory. The calls are synchronous but for the two fsyncs, which wait on the disk in libuv's thread
 * pool: one trip through the pool per call of the promise API would cost more (a 1 KB write took 0.88 ms
 * that way against 0.64 ms this way, measured side by side), and the store writes this way too.
 */
export async function durableWrite(directory: string, name: string, data: Uint8Array): Promise<void> {
  const temp = join(directory, `.${name}.${process.pid}.tmp`);
  const fd = openSync(temp, 'wx', 0o644);
  try {
    writeSync(fd, data);
    await flush(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(directory, name));
  const dir = openSync(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await flush(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * The floor of keeping a replaced version, as the store keeps it: `name` given a second name in
 * `history` (link() fails rather than replace, so each call takes a fresh `version` name), then that
 * folder flushed. No bytes are copied.
 */
export async function durableLink(
  directory: string,
  name: string,
  history: string,
  version: string,
): Promise<void> {
  linkSync(join(directory, name), join(history, version));
  const dir = openSync(history, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await flush(dir);
  } finally {
    closeSync(dir);
  }
}
