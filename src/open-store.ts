import { accessSync, constants } from 'node:fs';
import { CheckpointError } from './checkpoint/model/errors.js';
import type { Engine } from './checkpoint/store/engine.js';
import { FsStore } from './checkpoint/store/fs/fs-store.js';
import { errnoCode } from './checkpoint/store/fs/store-fs.js';
import type { CliOptions } from './options.js';
import type { Logger } from './tools/logger.js';

/**
 * The engine the options choose: PostgreSQL for a postgres:// URL, else the files of the base
 * directory. A database behind this server's schema rejects with a CheckpointError, as one out of reach.
 */
export async function openStore(options: CliOptions, logger: Logger): Promise<Engine> {
  if (options.storeUrl !== undefined) {
    // The engine and its client (with node:net, node:tls and undici) load only for a postgres:// store:
    // a host starting the file store never waits for them.
    const { PgStore, SchemaBehindError } = await import('./checkpoint/store/postgres/pg-store.js');
    return PgStore.open(options.storeUrl, {
      lockTimeoutMs: options.lockTimeoutMs,
      staleLockMs: options.staleLockMs,
      dbTimeoutMs: options.dbTimeoutMs,
      onWarning: (message) => logger.warning(message),
    }).catch((error: unknown) => {
      throw error instanceof SchemaBehindError ? new CheckpointError('UNAVAILABLE', error.message) : error;
    });
  }
  const store = await FsStore.open(options.baseDir, {
    lockTimeoutMs: options.lockTimeoutMs,
    staleLockMs: options.staleLockMs,
  }).catch((error: unknown) => {
    // A file in the way, a folder this user may not create (a host's working folder is often /): a setting.
    if (errnoCode(error) === undefined) throw error;
    throw new CheckpointError(
      'UNAVAILABLE',
      `the base directory ${JSON.stringify(options.baseDir)} cannot be used (${(error as Error).message}): name a folder this user may create and write in --base-dir or CHECKPOINT_BASE_DIR, as an absolute path`,
    );
  });
  // A folder that exists but is read-only to this user still serves reads (an archive browsed, say):
  // said once at the start, not learnt from the first save's INTERNAL.
  try {
    accessSync(store.root, constants.W_OK | constants.X_OK);
  } catch (error) {
    logger.warning(
      `the base directory ${store.root} is not writable by this user (${errnoCode(error) ?? 'no access'}): reads are answered, every save fails until its permissions let this user write there`,
    );
  }
  return store;
}
