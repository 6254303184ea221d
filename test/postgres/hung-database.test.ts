import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callOk,
  connectV2Client,
  startHttpServer,
  toolCallBody,
  toolCallHeaders,
} from '../helpers/http-server.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { migratedDatabase, PG_UNAVAILABLE } from './pg-harness.js';

const SESSION = { project_id: 'hung', session_id: 's1' };
const SAVE = { ...SESSION, phase_num: 1, status: 'in_progress', agents: [] };
/**
 * The bounds the replica runs with: a connection is given up after 4 s, a statement after 0.5 + 4 s,
 * and /healthz says 503 after 2 s (its default), sooner than the database check it waits for.
 */
const FLAGS = ['--db-timeout-ms', '4000', '--lock-timeout-ms', '500', '--max-connections', '4'];
const STATEMENT_MS = 4_500;
const HEALTH_MS = 2_000;
const SLACK_MS = 1_500;

/**
 * A replica whose database hangs (every postgres process stopped with SIGSTOP: connections stay open,
 * the kernel still accepts new ones, nothing answers) answers all the same: /healthz 503 within its
 * bound, tool calls UNAVAILABLE within theirs, and the places of --max-connections come free again.
 */
describe.skipIf(PG_UNAVAILABLE !== undefined)('a replica whose database hangs', () => {
  let cluster: TestCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startCluster();
    url = await migratedDatabase(cluster, 'hung');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers /healthz 503 and tool calls UNAVAILABLE within their bounds, and serves again once the database resumes', async () => {
    const server = await startHttpServer(['--store', url, ...FLAGS]);
    const client = await connectV2Client(server.url, 'v2 pinned to 2026-07-28');
    await callOk(client, 'create_session', { ...SESSION, user_id: 'u1' });
    await callOk(client, 'save_checkpoint', SAVE);
    expect((await timed(health(server.origin))).value).toBe(200);

    const frozen = postgresProcesses(cluster.dataDir);
    signal(frozen, 'SIGSTOP');
    try {
      // Twice --max-connections at once: half are turned away busy, the others wait for the database.
      const calls = Array.from({ length: 8 }, (_, i) =>
        timed(
          toolCall(
            server.url,
            i + 1,
            i % 2 === 0 ? 'load_session' : 'save_checkpoint',
            i % 2 === 0 ? SESSION : SAVE,
          ),
        ),
      );
      const probe = await timed(health(server.origin));
      expect(probe.value).toBe(503);
      expect(probe.ms).toBeLessThan(HEALTH_MS + SLACK_MS);

      const answered = await Promise.all(calls);
      const texts = answered.map(({ value }) => value.text);
      expect(answered.filter(({ value }) => value.status === 503)).toHaveLength(4);
      const unavailable = texts.filter((text) => text.includes('UNAVAILABLE: '));
      expect(unavailable, texts.join('\n')).toHaveLength(4);
      for (const { ms } of answered) expect(ms).toBeLessThan(STATEMENT_MS + SLACK_MS);

      // The places of --max-connections were given back: the next call waits for the database too.
      const again = await timed(toolCall(server.url, 9, 'load_session', SESSION));
      expect(again.value.status).toBe(200);
      expect(again.value.text).toContain('UNAVAILABLE: ');
      expect(again.ms).toBeLessThan(STATEMENT_MS + SLACK_MS);
    } finally {
      signal(frozen, 'SIGCONT');
    }

    // The connections that waited were destroyed: the database rolled their transactions back and
    // freed the session, so the next save does not wait for a lock.
    const saved = await timed(toolCall(server.url, 10, 'save_checkpoint', SAVE));
    expect(saved.value.text).not.toContain('"isError":true');
    expect(saved.ms).toBeLessThan(SLACK_MS);
    expect((await timed(health(server.origin))).value).toBe(200);
    await callOk(client, 'load_session', SESSION);
  });
});

/** The postmaster of the cluster in `dataDir` and every process it started. */
function postgresProcesses(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number);
  return [postmaster, ...children];
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) process.kill(pid, name);
}

async function health(origin: string): Promise<number> {
  const response = await fetch(`${origin}/healthz`);
  await response.text();
  return response.status;
}

/** A tools/call over plain HTTP, without a client's own timeout: its status and body. */
async function toolCall(
  url: string,
  id: number,
  tool: string,
  args: Record<string, unknown>,
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: toolCallHeaders(tool),
    body: toolCallBody(id, tool, args),
  });
  return { status: response.status, text: await response.text() };
}

async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await promise;
  return { value, ms: Date.now() - started };
}
