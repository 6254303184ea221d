import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { callOk, connectClient, connectV2Client, startHttpServer, tempDir } from '../helpers/http-server.js';

const REF = { project_id: 'p1', session_id: 's1' };
const OUTPUT_URI = 'checkpoint://p1/sessions/s1/phase_1_concept/a1.md';

/** A server with one saved output, a1, and a 2026-07-28 client listening to it. */
async function listening() {
  const base = await tempDir();
  const server = await startHttpServer(['--base-dir', base]);
  const client = await connectV2Client(server.url, 'v2 pinned to 2026-07-28');
  await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
  await callOk(client, 'save_agent_output', {
    ...REF,
    phase_num: 1,
    agent_name: 'a1',
    output_content: 'first',
  });
  await callOk(client, 'save_agent_output', {
    ...REF,
    phase_num: 1,
    agent_name: 'a2',
    output_content: 'other',
  });
  const updated = updates(client);
  const subscription = await client.listen({ resourceSubscriptions: [OUTPUT_URI] });
  expect(subscription.honoredFilter).toEqual({ resourceSubscriptions: [OUTPUT_URI] });
  const file = join(base, 'p1', 'sessions', 's1', 'phase_1_concept', 'a1.md');
  return { base, server, client, updated, file };
}

/** The URIs of the notifications/resources/updated the client receives, in order. */
function updates(client: Client): string[] {
  const uris: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (notification) => {
    uris.push(notification.params.uri);
  });
  return uris;
}

function runNode(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    spawn(process.execPath, ['-e', script], { stdio: 'ignore' }).once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`node -e exited ${code}`)),
    );
  });
}

describe('resource updates over HTTP', () => {
  it('a 2026 client listening to an agent output hears when another process edits the file, and when it is written in place', async () => {
    const { updated, file } = await listening();
    expect(updated).toEqual([]);
    await runNode(`require('fs').appendFileSync(${JSON.stringify(file)}, '\\nedited by another process')`);
    await expect.poll(() => updated.length, { timeout: 10_000 }).toBeGreaterThan(0);
    const afterProcess = updated.length;
    await writeFile(file, 'replaced by hand\n');
    await expect.poll(() => updated.length, { timeout: 10_000 }).toBeGreaterThan(afterProcess);
    expect(new Set(updated)).toEqual(new Set([OUTPUT_URI]));
  });

  it('a 2026 client listening to an agent output hears when another HTTP client saves it, and not when it saves another output', async () => {
    const { server, updated } = await listening();
    const other = await connectClient(server.url, 'v1');
    await callOk(other, 'save_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'a2',
      output_content: 'changed',
    });
    // Changes are told within 50 ms; a second is plenty for one that should not come.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(updated).toEqual([]);
    await callOk(other, 'save_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'a1',
      output_content: 'second',
    });
    await expect.poll(() => updated.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(new Set(updated)).toEqual(new Set([OUTPUT_URI]));
  });

  it('a 2025-era client can subscribe to an agent output over stateless HTTP without an error', async () => {
    const base = await tempDir();
    const server = await startHttpServer(['--base-dir', base]);
    const client = await connectV2Client(server.url, 'v2 in 2025 mode');
    await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
    await callOk(client, 'save_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'a1',
      output_content: 'first',
    });
    // Stateless HTTP has no stream to carry an unsolicited notification to it: only the call is checked.
    await expect(client.subscribeResource({ uri: OUTPUT_URI })).resolves.toEqual({});
  });
});
