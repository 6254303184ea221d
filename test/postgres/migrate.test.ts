import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/checkpoint/store/postgres/migrations.js';
import { spawnHttpServer, startHttpServer } from '../helpers/http-server.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, PG_UNAVAILABLE, runCli, withDatabase } from './pg-harness.js';

const VERSIONS = MIGRATIONS.map((migration) => migration.version);

async function migrationRows(url: string): Promise<Array<{ version: number; name: string }>> {
  return withDatabase(url, async (client) => {
    const result = await client.query('SELECT version, name FROM checkpoint_migrations ORDER BY version');
    return result.rows as Array<{ version: number; name: string }>;
  });
}

async function tableNames(url: string): Promise<string[]> {
  return withDatabase(url, async (client) => {
    const result = await client.query(
      'SELECT tablename FROM pg_tables WHERE schemaname = \'public\' ORDER BY tablename COLLATE "C"',
    );
    return result.rows.map((row: { tablename: string }) => row.tablename);
  });
}

const TABLES = [
  'checkpoint_documents',
  'checkpoint_folders',
  'checkpoint_history',
  'checkpoint_locks',
  'checkpoint_migrations',
];

describe.skipIf(PG_UNAVAILABLE !== undefined)('checkpoint-mcp migrate', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serve on an empty database exits 2 and names checkpoint-mcp migrate --store, creating nothing', async () => {
    const url = await cluster.database('empty_serve');
    const server = spawnHttpServer(['--store', url]);
    const exit = await server.exited;
    expect(exit.code, server.stderr()).toBe(2);
    expect(server.stderr()).toContain('checkpoint-mcp migrate --store');
    expect(server.stderr()).not.toContain('listening on');
    // One line saying what to do, no stack trace.
    expect(server.stderr()).not.toMatch(/\n\s+at /);
    expect(await tableNames(url)).toEqual([]);
  });

  it('migrate applies every step once; a second run says the database is up to date and changes nothing', async () => {
    const url = await cluster.database('twice');
    const first = await runCli(['migrate', '--store', url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      `applied migration${VERSIONS.length === 1 ? '' : 's'} ${VERSIONS.join(', ')}`,
    );
    const rows = await migrationRows(url);
    expect(rows.map((row) => row.version)).toEqual(VERSIONS);
    expect(await tableNames(url)).toEqual(TABLES);

    const second = await runCli(['migrate', '--store', url]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('is up to date');
    expect(second.stdout).not.toContain('applied');
    expect(second.stderr).toBe('');
    expect(await migrationRows(url)).toEqual(rows);

    // Up to date, serve starts.
    const server = await startHttpServer(['--store', url]);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  });

  it('four migrate processes started together apply each step exactly once, and none of them fails', async () => {
    const url = await cluster.database('racing');
    const runs = await Promise.all(Array.from({ length: 4 }, () => runCli(['migrate', '--store', url])));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
    }
    const applied = runs.filter((run) => run.stdout.includes('applied migration'));
    expect(applied, runs.map((run) => run.stdout).join('')).toHaveLength(1);
    expect(runs.filter((run) => run.stdout.includes('is up to date'))).toHaveLength(3);
    expect((await migrationRows(url)).map((row) => row.version)).toEqual(VERSIONS);
    expect(await tableNames(url)).toEqual(TABLES);
  });

  it('serve on a database a newer server migrated warns, naming both versions, and serves it', async () => {
    const url = await cluster.database('ahead');
    expect((await runCli(['migrate', '--store', url])).code).toBe(0);
    const newer = Math.max(...VERSIONS) + 1;
    await withDatabase(url, (db) =>
      db.query('INSERT INTO checkpoint_migrations (version, name) VALUES ($1, $2)', [
        newer,
        'from a newer release',
      ]),
    );
    const server = await startHttpServer(['--store', url]);
    expect(server.stderr()).toContain(
      `has schema version ${newer}, newer than this server's ${Math.max(...VERSIONS)} (a newer checkpoint-mcp migrated it)`,
    );
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  });

  it('serve with the longest --lock-timeout-ms and --db-timeout-ms opens the database and serves', async () => {
    const url = await migratedDatabase(cluster, 'longest_timeouts');
    const longest = String(2 ** 31 - 1);
    const run = await runCli(['--store', url, '--lock-timeout-ms', longest, '--db-timeout-ms', longest]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('serving');
  });

  it('export to a path that is a file exits 2 with one line naming --to, not a stack', async () => {
    const url = await migratedDatabase(cluster, 'export_to_file');
    const dir = await mkdtemp(join(tmpdir(), 'checkpoint-export-'));
    try {
      const file = join(dir, 'tree');
      await writeFile(file, 'a file, not a folder');
      const run = await runCli(['export', '--store', url, '--to', file]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^checkpoint-mcp: cannot write the tree to --to .*tree/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('export of a database that is behind exits 2, names checkpoint-mcp migrate --store and creates nothing', async () => {
    const url = await cluster.database('behind_export');
    const out = await mkdtemp(join(tmpdir(), 'checkpoint-pg-behind-'));
    try {
      const run = await runCli(['export', '--store', url, '--to', join(out, 'tree')]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain('has schema version 0');
      expect(run.stderr).toContain('checkpoint-mcp migrate --store');
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(await tableNames(url)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('export only reads: a role that may only SELECT, and a database read-only by default, export the tree', async () => {
    const url = await migratedDatabase(cluster, 'read_only_export');
    const root = await mkdtemp(join(tmpdir(), 'checkpoint-pg-read-only-'));
    try {
      await mkdir(join(root, 'tree', 'p', 'sessions', 's'), { recursive: true });
      await writeFile(join(root, 'tree', 'p', 'sessions', 's', 'session_manifest.md'), 'a manifest');
      const imported = await runCli(['import', '--from', join(root, 'tree'), '--store', url]);
      expect(imported.code, imported.stderr).toBe(0);
      await withDatabase(url, async (client) => {
        await client.query('CREATE ROLE reader LOGIN');
        await client.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader');
      });
      const reader = url.replace('postgres@', 'reader@');
      const byReader = await runCli(['export', '--store', reader, '--to', join(root, 'by-reader')]);
      expect(byReader.code, byReader.stderr).toBe(0);
      expect(
        await readFile(join(root, 'by-reader', 'p', 'sessions', 's', 'session_manifest.md'), 'utf8'),
      ).toBe('a manifest');

      await withDatabase(url, (client) =>
        client.query('ALTER DATABASE read_only_export SET default_transaction_read_only = on'),
      );
      const readOnly = await runCli(['export', '--store', url, '--to', join(root, 'read-only')]);
      expect(readOnly.code, readOnly.stderr).toBe(0);
      expect(
        await readFile(join(root, 'read-only', 'p', 'sessions', 's', 'session_manifest.md'), 'utf8'),
      ).toBe('a manifest');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it.for(['migrate', 'export', 'import'])(
    '%s against a database that cannot be reached says so in one line, without a stack or the password',
    async (command) => {
      // Port 1 on loopback: nothing listens there.
      const url = `postgres://u:sekr1t-pass@127.0.0.1:1/nowhere`;
      const tree =
        command === 'export'
          ? ['--to', '/nonexistent/never-written']
          : command === 'import'
            ? ['--from', '/nonexistent']
            : [];
      const run = await runCli([command, '--store', url, ...tree]);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).not.toContain('sekr1t-pass');
      expect(run.stderr, run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    },
  );
});
