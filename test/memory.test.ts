import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';
import { callOk, spawnedClient } from './helpers/client.js';
import {
  callOk as callOkOverHttp,
  connectClient,
  type McpClient,
  startHttpServer,
} from './helpers/http-server.js';

const MiB = 1024 * 1024;
const REF = { project_id: 'memory', session_id: 's1' };
const SAVES = 24;

/** VmRSS and VmHWM of process `pid`, in MiB. */
async function residentMiB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/**
 * 24 saves of 4 MiB, each different, half of them replacing an earlier output: what the server keeps
 * resident past its idle size. Left to V8's own pace, the garbage of these saves piled up to 94-135
 * MiB (Node 20 and 24) before a collection; collected after each large request, 31-45 MiB.
 */
async function growthOverSaves(
  pid: number,
  call: (name: string, args: Record<string, unknown>) => Promise<unknown>,
) {
  await call('create_session', { ...REF, user_id: 'u1' });
  const idle = (await residentMiB(pid)).rss;
  const base = 'All work and no play. '.repeat((4 * MiB) / 22 + 1).slice(0, 4 * MiB - 16);
  for (let i = 0; i < SAVES; i++) {
    await call('save_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: `writer_${i % (SAVES / 2)}`,
      output_content: `${`output ${i}`.padEnd(16)}${base}`,
    });
  }
  return (await residentMiB(pid)).peak - idle;
}

const LIMIT_MIB = 80;

describe.skipIf(process.platform !== 'linux')('memory after large requests', () => {
  it(`over stdio, ${SAVES} saves of 4 MiB raise the server's peak resident memory by less than ${LIMIT_MIB} MiB`, async () => {
    const { client, transport } = await spawnedClient(await tempDir());
    const pid = transport.pid;
    if (pid === null) throw new Error('the server has no pid');
    const growth = await growthOverSaves(pid, (name, args) => callOk(client, name, args));
    expect(growth).toBeLessThan(LIMIT_MIB);
  }, 120_000);

  it(`over HTTP, ${SAVES} saves of 4 MiB raise the server's peak resident memory by less than ${LIMIT_MIB} MiB`, async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    const pid = server.child.pid;
    if (pid === undefined) throw new Error('the server has no pid');
    const client: McpClient = await connectClient(server.url, 'v1');
    const growth = await growthOverSaves(pid, (name, args) => callOkOverHttp(client, name, args));
    expect(growth).toBeLessThan(LIMIT_MIB);
  }, 120_000);
});
