import type pg from 'pg';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { checkout, redactUrl } from './pg-errors.js';

/** Any number: replicas that start together take this advisory lock in turn, so each step runs once. */
const MIGRATION_LOCK = 741_908_233;

/** Applies every migration the database lacks, in order, each once; returns the versions applied. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await checkout(pool);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS checkpoint_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = await appliedVersions(client);
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO checkpoint_migrations (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        applied.push(migration.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** The newest migration applied, 0 for a database without our tables. */
export async function schemaVersion(pool: pg.Pool): Promise<number> {
  const exists = await pool.query("SELECT to_regclass('checkpoint_migrations') IS NOT NULL AS present");
  if (!exists.rows[0]?.present) return 0;
  const result = await pool.query('SELECT coalesce(max(version), 0) AS version FROM checkpoint_migrations');
  return Number(result.rows[0]?.version ?? 0);
}

/**
 * What to say of a database whose schema is older than this build's (`version` < LATEST_VERSION): the
 * command that brings it up to date.
 */
export function schemaBehind(url: string, version: number): string {
  return `the database ${redactUrl(url)} has schema version ${version}, this server needs ${LATEST_VERSION}: run checkpoint-mcp migrate --store <url> first`;
}

/**
 * What to say of a database whose schema is newer than this build's (`version` > LATEST_VERSION): a newer
 * server migrated it. This one serves it as it knows it; the warning says which to upgrade.
 */
export function schemaAhead(url: string, version: number): string {
  return `the database ${redactUrl(url)} has schema version ${version}, newer than this server's ${LATEST_VERSION} (a newer checkpoint-mcp migrated it): this server serves it as version ${LATEST_VERSION}; upgrade it to the release that migrated the database`;
}

async function appliedVersions(client: pg.PoolClient): Promise<Set<number>> {
  const result = await client.query('SELECT version FROM checkpoint_migrations');
  return new Set(result.rows.map((row: { version: number }) => Number(row.version)));
}

export { LATEST_VERSION };
