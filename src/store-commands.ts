import pg from 'pg';
import { CheckpointError } from './checkpoint/model/errors.js';
import { redactUrl, startupError } from './checkpoint/store/postgres/pg-errors.js';
import {
  LATEST_VERSION,
  migrate,
  schemaBehind,
  schemaVersion,
} from './checkpoint/store/postgres/pg-migrate.js';
import { exportTree, importTree, type TreeCounts } from './checkpoint/store/postgres/pg-tree.js';
import type { CliOptions } from './options.js';

/**
 * migrate, export and import: what they did, as lines for a terminal. server.ts imports this module
 * with import(), so the PostgreSQL client loads only for these commands.
 */
export async function runStoreCommand(options: CliOptions): Promise<string[]> {
  const url = options.storeUrl as string;
  // Statements are not bounded here: a migration may rewrite a table, and waits for a replica's.
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: options.dbTimeoutMs });
  // An idle connection the server dropped reports here, not as an uncaught error.
  pool.on('error', () => undefined);
  try {
    return await storeCommand(options, pool, url);
  } catch (error) {
    // The database out of reach or refusing us is a setting to fix (said in one line); a bug keeps its stack.
    throw startupError(error, url) ?? error;
  } finally {
    await pool.end();
  }
}

async function storeCommand(options: CliOptions, pool: pg.Pool, url: string): Promise<string[]> {
  if (options.command === 'migrate') {
    const applied = await migrate(pool);
    return [
      applied.length === 0
        ? `${redactUrl(url)} is up to date`
        : `${redactUrl(url)}: applied migration${applied.length === 1 ? '' : 's'} ${applied.join(', ')}`,
    ];
  }
  if (options.command === 'export') {
    // Export only reads, so a read-only role or database can take one: the schema is checked, not
    // brought up to date (that takes the rights to create tables).
    const version = await schemaVersion(pool);
    if (version < LATEST_VERSION) throw new CheckpointError('UNAVAILABLE', schemaBehind(url, version));
    const counts = await exportTree(pool, options.treeDir as string).catch((error: unknown) => {
      // The folder cannot be written (a file in the way, no rights): a setting, not a bug.
      if (!(error instanceof Error) || !('path' in error)) throw error;
      throw new CheckpointError(
        'UNAVAILABLE',
        `cannot write the tree to --to ${options.treeDir} (${error.message}): name a folder this user may create and write`,
      );
    });
    return describe('exported', counts, options.treeDir);
  }
  await migrate(pool);
  return describe('imported', await importTree(pool, options.treeDir as string), options.treeDir);
}

function describe(verb: string, counts: TreeCounts, dir: string | undefined): string[] {
  return [
    ...counts.skipped.map(
      (path) => `skipped ${path}: not something the store keeps (a link, or a name it never writes)`,
    ),
    ...counts.diverged.map(
      ({ unit, differing }) =>
        `skipped ${unit}: the database holds other content for ${namedFew(differing)}, saved since this tree was written or from another tree; nothing of ${unit} was imported and the database's copy stands. Export the database to see it, or import into a database without ${unit}`,
    ),
    `${verb} ${counts.folders} folders, ${counts.documents} documents and ${counts.versions} kept versions (${dir})`,
  ];
}

/** The paths a line names at most; the rest are counted. */
const NAMED = 5;

function namedFew(paths: readonly string[]): string {
  const named = paths.slice(0, NAMED).join(', ');
  return paths.length > NAMED ? `${named} and ${paths.length - NAMED} more` : named;
}
