import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectV2Client, spawnHttpServer, startHttpServer } from '../helpers/http-server.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { type CliRun, PG_UNAVAILABLE, runCli, withDatabase } from './pg-harness.js';

const PASSWORD = 'right-Pa55word';
const SESSION = { project_id: 'creds', session_id: 's1' };

/** What a terminal shows for a setting to fix: one line, no stack, no password, nothing about tools. */
function expectOneLineFix(run: { code: number | null; stderr: string }, says: RegExp): void {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toMatch(says);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stderr).not.toMatch(/call the tool/i);
  expect(run.stderr).not.toContain(PASSWORD);
  expect(run.stderr).not.toContain('wrong-pass');
}

/**
 * A role that must give its password (scram-sha-256 for it in pg_hba.conf, where the tests' other
 * connections are trusted): what serve, the store commands and tool calls say when the database refuses
 * the credentials of the URL, or when the URL itself cannot be read.
 */
describe.skipIf(PG_UNAVAILABLE !== undefined)('credentials the database refuses', () => {
  let cluster: TestCluster;
  let adminUrl: string;
  let good: string;
  let wrong: string;

  beforeAll(async () => {
    cluster = await startCluster();
    adminUrl = await cluster.database('creds');
    await withDatabase(adminUrl, async (db) => {
      await db.query(`CREATE ROLE u LOGIN PASSWORD '${PASSWORD}'`);
      await db.query('ALTER DATABASE creds OWNER TO u');
    });
    writeFileSync(
      join(cluster.dataDir, 'pg_hba.conf'),
      'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
    );
    await withDatabase(adminUrl, (db) => db.query('SELECT pg_reload_conf()'));
    good = `postgres://u:${PASSWORD}@127.0.0.1:${cluster.port}/creds`;
    wrong = `postgres://u:wrong-pass@127.0.0.1:${cluster.port}/creds`;
    const migrated = await runCli(['migrate', '--store', good]);
    expect(migrated.code, migrated.stderr).toBe(0);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serve with a wrong password refuses to start, saying the credentials were refused and where to fix them', async () => {
    const server = spawnHttpServer(['--store', wrong]);
    const exit = await server.exited;
    expectOneLineFix(
      { code: exit.code, stderr: server.stderr() },
      /refused the credentials \(28P01\).*CHECKPOINT_STORE_URL/,
    );
  });

  it('serve without a password where one is needed says so too', async () => {
    const server = spawnHttpServer(['--store', `postgres://u@127.0.0.1:${cluster.port}/creds`]);
    const exit = await server.exited;
    expectOneLineFix({ code: exit.code, stderr: server.stderr() }, /refused the credentials/);
  });

  it.each([
    ['migrate', []],
    ['export', ['--to', '/tmp/checkpoint-creds-export-never']],
    ['import', ['--from', '/tmp']],
  ])('%s with a wrong password says so in one line, without a stack', async (command, more) => {
    const run: CliRun = await runCli([command, '--store', wrong, ...more]);
    expectOneLineFix(run, /refused the credentials \(28P01\).*CHECKPOINT_STORE_URL/);
    expect(run.stdout).toBe('');
  });

  it('a password changed while serving: calls say the credentials were refused and what to fix, not to call again', async () => {
    const server = await startHttpServer(['--store', good]);
    const client = await connectV2Client(server.url, 'v2 pinned to 2026-07-28');
    await client.callTool({ name: 'create_session', arguments: { ...SESSION, user_id: 'u1' } });
    try {
      await withDatabase(adminUrl, async (db) => {
        await db.query("ALTER ROLE u PASSWORD 'changed-elsewhere'");
        await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'u'");
      });
      const result = (await client.callTool({ name: 'load_session', arguments: SESSION })) as {
        isError?: boolean;
        content: Array<{ text: string }>;
      };
      const text = result.content[0]?.text ?? '';
      expect(result.isError).toBe(true);
      expect(text).toMatch(/^[A-Z_]+: the database refused this server's credentials/);
      expect(text).toContain('CHECKPOINT_STORE_URL');
      expect(text).not.toMatch(/call the tool again/i);
      expect((await fetch(`${server.origin}/healthz`)).status).toBe(503);
      expect(JSON.stringify(result) + server.stderr()).not.toContain(PASSWORD);
    } finally {
      await withDatabase(adminUrl, (db) => db.query(`ALTER ROLE u PASSWORD '${PASSWORD}'`));
    }
  });

  it.each([
    ['#', 'a#b'],
    ['# after digits (which would read as a port)', '12#b'],
    ['?', '12?b'],
    ['/', '12/b'],
  ])(
    'a password with an unencoded %s is refused as an invalid URL, naming percent-encoding and never the password',
    async (_, secret) => {
      const url = `postgres://u:${secret}-hidden@127.0.0.1:${cluster.port}/creds`;
      for (const args of [
        ['migrate', '--store', url],
        ['serve', '--store', url],
        ['repair', '--store', url],
      ]) {
        const run = await runCli(args);
        expectOneLineFix(run, /not a valid postgres:\/\/ URL.*percent-encoded/);
        expect(run.stderr).not.toContain('hidden');
      }
      const fromEnv = await runCli(['migrate'], { CHECKPOINT_STORE_URL: url });
      expectOneLineFix(fromEnv, /CHECKPOINT_STORE_URL.*not a valid postgres:\/\/ URL/);
      expect(fromEnv.stderr).not.toContain('hidden');
    },
  );
});
