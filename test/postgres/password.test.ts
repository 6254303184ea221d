import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectV2Client,
  type HttpServer,
  spawnHttpServer,
  startHttpServer,
} from '../helpers/http-server.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { PG_UNAVAILABLE, runCli, sleep, withDatabase } from './pg-harness.js';

const PASSWORD = 'sekr1t-pass';
const SESSION = { project_id: 'secretive', session_id: 's1' };
const MANIFEST_URI = `checkpoint://${SESSION.project_id}/sessions/${SESSION.session_id}/session_manifest.md`;

/** Every text a client was given: tool results (text and structured), errors thrown, /healthz bodies. */
class Seen {
  readonly texts: string[] = [];
  readonly codes = new Map<string, number>();
  successes = 0;

  record(text: string, code = 'OK'): void {
    this.texts.push(text);
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    if (code === 'OK') this.successes++;
  }
}

interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: unknown;
}

/** The calls a client keeps making while the database comes and goes: reads and writes, tools and a resource. */
async function callsUntil(client: Client, origin: string, seen: Seen, done: () => boolean, lane: number) {
  for (let n = 0; !done(); n++) {
    const calls: Array<[string, Record<string, unknown>]> = [
      [
        'save_agent_output',
        { ...SESSION, phase_num: 1, agent_name: `lane${lane}`, output_content: `call ${n}`, model: 'm' },
      ],
      ['save_checkpoint', { ...SESSION, phase_num: 1, status: 'in_progress', agents: [] }],
      ['load_session', SESSION],
      ['get_agent_output', { ...SESSION, phase_num: 1, agent_name: 'first' }],
      ['list_projects', {}],
      ['validate_session', SESSION],
      ['export_session', SESSION],
    ];
    const [tool, args] = calls[n % calls.length] as [string, Record<string, unknown>];
    try {
      const result = (await client.callTool({ name: tool, arguments: args })) as ToolResult;
      const text = JSON.stringify(result);
      seen.record(
        text,
        result.isError ? (/^([A-Z_]+):/.exec(result.content?.[0]?.text ?? '')?.[1] ?? '?') : 'OK',
      );
    } catch (error) {
      seen.record(`${String(error)} ${JSON.stringify(error)}`, 'THROWN');
    }
    if (n % 5 === 0) {
      try {
        seen.record(JSON.stringify(await client.readResource({ uri: MANIFEST_URI })));
      } catch (error) {
        seen.record(`${String(error)} ${JSON.stringify(error)}`, 'RESOURCE_ERROR');
      }
      try {
        const health = await fetch(`${origin}/healthz`);
        seen.record(await health.text(), health.ok ? 'OK' : `HEALTHZ_${health.status}`);
      } catch (error) {
        seen.record(String(error), 'HEALTHZ_THROWN');
      }
    }
    await sleep(10);
  }
}

describe.skipIf(PG_UNAVAILABLE !== undefined)('a connection string with a password', () => {
  let cluster: TestCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startCluster();
    const adminUrl = await cluster.database('secrets');
    await withDatabase(adminUrl, async (db) => {
      // -A trust: the password is not checked, but it is in every URL the server is given.
      await db.query(`CREATE ROLE u LOGIN PASSWORD '${PASSWORD}'`);
      await db.query('ALTER DATABASE secrets OWNER TO u');
    });
    url = `postgres://u:${PASSWORD}@127.0.0.1:${cluster.port}/secrets`;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('given as a ?password= parameter (which pg honours), it appears neither in what migrate prints nor in what serve logs', async () => {
    const inQuery = `postgres://u@127.0.0.1:${cluster.port}/secrets?password=${PASSWORD}&application_name=checkpoint`;
    const migrated = await runCli(['migrate', '--store', inQuery]);
    expect(migrated.code, migrated.stderr).toBe(0);
    const server = await startHttpServer(['--store', inQuery]);
    const client = await connectV2Client(server.url, 'v2 pinned to 2026-07-28');
    const result = await client.callTool({ name: 'load_session', arguments: SESSION });
    // A database behind the migrations names itself in the refusal.
    const empty = await withDatabase(cluster.url, async (db) => {
      await db.query('CREATE DATABASE behind OWNER u');
      return `postgres://u@127.0.0.1:${cluster.port}/behind?password=${PASSWORD}`;
    });
    const refused = spawnHttpServer(['--store', empty]);
    expect((await refused.exited).code, refused.stderr()).toBe(2);
    const outputs = {
      migrate: migrated.stdout + migrated.stderr,
      serve: server.stderr(),
      result: JSON.stringify(result),
      refused: refused.stderr(),
    };
    const leaked = Object.entries(outputs)
      .filter(([, text]) => text.includes(PASSWORD))
      .map(([where, text]) => `${where}: ${text.slice(0, 300)}`);
    expect(leaked).toEqual([]);
  });

  it('never appears in stderr, a tool result or an error, while the database restarts, refuses the role and stops', async () => {
    const migrated = await runCli(['migrate', '--store', url]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('u:***@127.0.0.1');

    const servers: HttpServer[] = [
      await startHttpServer(['--store', url]),
      await startHttpServer([], { CHECKPOINT_STORE_URL: url }),
    ];
    const clients = await Promise.all(
      servers.map((server) => connectV2Client(server.url, 'v2 pinned to 2026-07-28')),
    );
    const first = clients[0] as Client;
    await first.callTool({ name: 'create_session', arguments: { ...SESSION, user_id: 'u1' } });
    await first.callTool({
      name: 'save_agent_output',
      arguments: { ...SESSION, phase_num: 1, agent_name: 'first', output_content: 'hello' },
    });

    const seen = new Seen();
    let stopped = false;
    const lanes = clients.flatMap((client, i) =>
      [0, 1].map((lane) =>
        callsUntil(client, (servers[i] as HttpServer).origin, seen, () => stopped, i * 2 + lane),
      ),
    );
    try {
      await sleep(500);
      await cluster.restart('immediate');
      await sleep(700);
      await cluster.restart('fast');
      await sleep(700);
      // The role may not log in for a while: every new connection is refused with an error of its own.
      await withDatabase(cluster.url.replace(/\/postgres$/, '/secrets'), async (db) => {
        await db.query('ALTER ROLE u NOLOGIN');
        await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'u'");
      });
      await sleep(1000);
      await withDatabase(cluster.url, (db) => db.query('ALTER ROLE u LOGIN'));
      await sleep(700);
      // And at last the database goes away for good.
      await cluster.stop();
      await sleep(1500);
    } finally {
      stopped = true;
      await Promise.all(lanes);
    }

    // A server that starts while the database cannot be reached says so, without the password.
    const late = spawnHttpServer(['--store', url]);
    const lateExit = await late.exited;
    expect(lateExit.code, late.stderr()).toBe(2);
    expect(late.stderr()).toContain('could not be reached');

    const everything = [
      ...seen.texts,
      migrated.stdout,
      migrated.stderr,
      late.stderr(),
      ...servers.map((server) => server.stderr()),
    ];
    const leaks = everything.filter((text) => text.includes(PASSWORD) || text.includes('sekr1t'));
    expect(leaks.map((text) => text.slice(0, 300))).toEqual([]);

    // The servers lived through it all (a crash would hide what they would have answered).
    for (const server of servers)
      expect(server.child.exitCode, `a server exited; stderr:\n${server.stderr()}`).toBeNull();
    // Not vacuous: calls succeeded, the outages were seen as UNAVAILABLE, the logs name the store redacted.
    const codes = Object.fromEntries(seen.codes);
    expect(seen.successes, JSON.stringify(codes)).toBeGreaterThan(20);
    expect(codes.UNAVAILABLE ?? 0, JSON.stringify(codes)).toBeGreaterThan(0);
    for (const server of servers) expect(server.stderr()).toContain('u:***@127.0.0.1');
  }, 120_000);
});
