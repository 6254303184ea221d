import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, spawnedOnEngine } from '../helpers/client.js';
import { type Documents, editDocument, readDocument } from '../helpers/engine.js';

const ref = { project_id: 'p1', session_id: 's1' };
const OUTPUT_URI = 'checkpoint://p1/sessions/s1/phase_1_concept/a1.md';
const OUTPUT = ['p1', 'sessions', 's1', 'phase_1_concept', 'a1.md'];

/**
 * Appends to a document from outside this server: a child process on the file engine, another
 * replica (a second engine with its own connections) on PostgreSQL.
 */
async function appendElsewhere(m: Documents, path: string[], text: string): Promise<void> {
  if (m.engine !== 'file') {
    const other = await m.reopen();
    await other.write(path, `${await readDocument(m, ...path)}${text}`);
    return;
  }
  const script = `require('fs').appendFileSync(${JSON.stringify(join(m.base, ...path))}, ${JSON.stringify(text)})`;
  await new Promise<void>((resolve, reject) => {
    spawn(process.execPath, ['-e', script], { stdio: 'ignore' }).on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`exit ${code}`)),
    );
  });
}

async function seeded() {
  const setup = await connectedClient();
  await callOk(setup.client, 'create_session', { ...ref, user_id: 'u1' });
  await callOk(setup.client, 'save_agent_output', {
    ...ref,
    phase_num: 1,
    agent_name: 'a1',
    output_content: 'hello *world*',
  });
  await callOk(setup.client, 'save_checkpoint', {
    ...ref,
    phase_num: 1,
    status: 'completed',
    agents: [{ agent_name: 'a1', status: 'completed' }],
  });
  return setup;
}

describe('resources', () => {
  it('resources/list names every document once, in path order, with text/markdown', async () => {
    const { client } = await seeded();
    const { resources, nextCursor } = await client.listResources();
    expect(nextCursor).toBeUndefined();
    expect(resources.map((resource) => resource.uri)).toEqual([
      'checkpoint://p1/project.md',
      'checkpoint://p1/sessions/s1/phase_1_concept/a1.md',
      'checkpoint://p1/sessions/s1/phase_1_concept/checkpoint.md',
      'checkpoint://p1/sessions/s1/session_manifest.md',
    ]);
    expect(new Set(resources.map((resource) => resource.mimeType))).toEqual(new Set(['text/markdown']));
  });

  it('resources/list pages with nextCursor and visits every document exactly once', async () => {
    const { client, checkpoints } = await seeded();
    for (let i = 0; i < 120; i++) {
      await checkpoints.saveAgentOutput({
        ...ref,
        phase_num: 2,
        agent_name: `agent_${String(i).padStart(3, '0')}`,
        output_content: `${i}`,
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listResources(cursor === undefined ? {} : { cursor });
      seen.push(...page.resources.map((resource) => resource.uri));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(2);
    expect(seen).toHaveLength(124);
    expect(new Set(seen).size).toBe(124);
  });

  it('reads a document byte for byte and answers an unknown one as resource not found (-32602 with its URI)', async () => {
    const m = await seeded();
    const { client } = m;
    const result = await client.readResource({ uri: OUTPUT_URI });
    const onDisk = await readDocument(m, ...OUTPUT);
    expect(result.contents[0]).toMatchObject({ uri: OUTPUT_URI, mimeType: 'text/markdown', text: onDisk });
    for (const uri of [
      'checkpoint://p1/sessions/s1/phase_1_concept/zz.md',
      'checkpoint://p1/sessions/nope/session_manifest.md',
    ]) {
      await expect(client.readResource({ uri })).rejects.toMatchObject({
        code: -32602,
        data: { uri },
        message: expect.stringContaining('NOT_FOUND: '),
      });
    }
  });

  it('the session report is a resource too', async () => {
    const { client } = await seeded();
    const result = await client.readResource({ uri: 'checkpoint://p1/sessions/s1/report.md' });
    const text = result.contents[0] && 'text' in result.contents[0] ? result.contents[0].text : '';
    expect(text).toContain('# Session Report: s1');
    expect(text).toContain('```mermaid');
  });

  it('lists the templates of the five documents and the report', async () => {
    const { client } = await seeded();
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate).sort()).toEqual([
      'checkpoint://{project_id}/project.md',
      'checkpoint://{project_id}/sessions/{session_id}/report.md',
      'checkpoint://{project_id}/sessions/{session_id}/session_manifest.md',
      'checkpoint://{project_id}/sessions/{session_id}/{phase_dir}/checkpoint.md',
      'checkpoint://{project_id}/sessions/{session_id}/{phase_dir}/user_feedback.md',
      'checkpoint://{project_id}/sessions/{session_id}/{phase_dir}/{agent_name}.md',
    ]);
  });

  it('completes project, session, phase and agent identifiers from what exists', async () => {
    const { client } = await seeded();
    const template = 'checkpoint://{project_id}/sessions/{session_id}/{phase_dir}/{agent_name}.md';
    const complete = async (name: string, value: string, args: Record<string, string> = {}) =>
      (
        await client.complete({
          ref: { type: 'ref/resource', uri: template },
          argument: { name, value },
          context: { arguments: args },
        })
      ).completion.values;
    expect(await complete('project_id', 'p')).toEqual(['p1']);
    expect(await complete('session_id', '', { project_id: 'p1' })).toEqual(['s1']);
    expect(await complete('phase_dir', 'phase_1', { project_id: 'p1', session_id: 's1' })).toEqual([
      'phase_1_concept',
    ]);
    expect(
      await complete('agent_name', '', { project_id: 'p1', session_id: 's1', phase_dir: 'phase_1_concept' }),
    ).toEqual(['a1']);
  });

  it('notifies a subscriber when another process edits the file', async () => {
    const m = await seeded();
    const { client } = m;
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updated.push(notification.params.uri);
    });
    await client.subscribeResource({ uri: OUTPUT_URI });
    await appendElsewhere(m, OUTPUT, '\nedited by hand');
    await expect.poll(() => updated, { timeout: 5000 }).toContain(OUTPUT_URI);
    await client.unsubscribeResource({ uri: OUTPUT_URI });
    const count = updated.length;
    await editDocument(m, OUTPUT, 'again');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(updated).toHaveLength(count);
  });

  it('tells the client over stdio that the list changed after writes, once for a burst, and not after reads', async () => {
    const { client } = await spawnedOnEngine();
    let told = 0;
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      told++;
    });
    await callOk(client, 'create_session', { ...ref, user_id: 'u1' });
    await expect.poll(() => told, { timeout: 5000 }).toBe(1);
    // One notification at most per 100 ms of writes: a burst of 20 saves is told a few times at most.
    const burst = performance.now();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        callOk(client, 'save_agent_output', {
          ...ref,
          phase_num: 1,
          agent_name: `agent_${i}`,
          output_content: `output ${i}`,
        }),
      ),
    );
    const burstMs = performance.now() - burst;
    await expect.poll(() => told, { timeout: 5000 }).toBeGreaterThan(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(told - 1).toBeLessThanOrEqual(Math.ceil(burstMs / 100) + 1);
    expect(told - 1).toBeLessThan(20);
    // What the notification announces is there: the new documents are listed.
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toContain(
      'checkpoint://p1/sessions/s1/phase_1_concept/agent_19.md',
    );
    const afterWrites = told;
    await callOk(client, 'load_session', ref);
    await callOk(client, 'get_agent_output', { ...ref, phase_num: 1, agent_name: 'agent_3' });
    await client.listResources();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(told).toBe(afterWrites);
  });
});
