import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';
import { SERVER_ENTRY } from './helpers/client.js';

const REF = { project_id: 'p1', session_id: 's1' };
const OUTPUT = '# Concept\n\n| a | b |\n|---|---|\n## Output\nkept as written\r\n';
const OUTPUT_URI = 'checkpoint://p1/sessions/s1/phase_1_concept/writer.md';

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

type AnyClient = Pick<Client, 'callTool' | 'readResource' | 'listResources' | 'getPrompt' | 'complete'>;

async function pinned2026(base: string): Promise<Client> {
  const client = new Client(
    { name: 'checkpoint-mcp-tests', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [SERVER_ENTRY, '--base-dir', base] }),
  );
  closing.push(() => client.close());
  return client;
}

async function era2025(base: string): Promise<V1Client> {
  const client = new V1Client({ name: 'checkpoint-mcp-tests', version: '1.0.0' });
  await client.connect(
    new V1StdioTransport({ command: process.execPath, args: [SERVER_ENTRY, '--base-dir', base] }),
  );
  closing.push(() => client.close());
  return client;
}

async function ok(client: AnyClient, name: string, args: Record<string, unknown>) {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
}

/** The seed flow and the read side, asserting each answer; the same for either revision. */
async function seedFlow(client: AnyClient): Promise<void> {
  expect(await ok(client, 'create_session', { ...REF, user_id: 'u1' })).toMatchObject({
    phases: [1, 2, 3, 6, 7],
  });
  await ok(client, 'save_agent_output', {
    ...REF,
    phase_num: 1,
    agent_name: 'writer',
    output_content: OUTPUT,
  });
  expect(
    await ok(client, 'save_checkpoint', {
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [{ agent_name: 'writer', status: 'completed', cost: 0.05, input_tokens: 10, output_tokens: 5 }],
    }),
  ).toEqual({ phase_num: 1, status: 'completed', revision: 2 });
  await ok(client, 'save_user_feedback', { ...REF, phase_num: 1, reviewed: true, approved: true });
  expect(await ok(client, 'load_session', REF)).toMatchObject({
    completed_phases: [1],
    next_phase: 2,
    metrics: { total_tokens: 15, total_cost: 0.05 },
    revision: 3,
  });
  expect(await ok(client, 'get_phase_outputs', REF)).toEqual({
    outputs: { '1': { writer: OUTPUT } },
    truncated: [],
  });
  expect(await ok(client, 'resume_session', REF)).toMatchObject({ next_phase: 2, reason: 'next_phase' });
  const missing = await client.callTool({ name: 'load_session', arguments: { project_id: 'p1' } });
  expect(missing.isError).toBe(true);
  expect(missing.content).toEqual([{ type: 'text', text: 'INVALID_ARGUMENT: session_id is required' }]);
  expect(missing._meta).toMatchObject({ code: 'INVALID_ARGUMENT' });

  const listed = await client.listResources();
  expect(listed.resources.map((resource) => resource.uri)).toContain(OUTPUT_URI);
  const read = await client.readResource({ uri: OUTPUT_URI });
  expect(read.contents[0] && 'text' in read.contents[0] ? read.contents[0].text : '').toContain(
    `## Output\n\n${OUTPUT}`,
  );
  const prompt = await client.getPrompt({ name: 'resume_session', arguments: REF });
  const message = prompt.messages[0]?.content;
  expect(message?.type === 'text' ? message.text : '').toContain(
    'Next: phase 2 (Market Research), reason: next_phase.',
  );
  const completion = await client.complete({
    ref: { type: 'ref/resource', uri: 'checkpoint://{project_id}/project.md' },
    argument: { name: 'project_id', value: 'p' },
  });
  expect(completion.completion.values).toEqual(['p1']);
}

describe('the built server over stdio serves both protocol revisions', () => {
  it('a client pinned to 2026-07-28 runs the seed flow, resources, prompts and completion', async () => {
    const client = await pinned2026(await tempDir());
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    await seedFlow(client);
  });

  it('a 2025-11-25 client (SDK v1, initialize) runs the same flow against the same bin', async () => {
    const client = await era2025(await tempDir());
    expect(client.getServerVersion()?.name).toBe('checkpoint-mcp');
    await seedFlow(client as unknown as AnyClient);
  });

  it('a 2026 listen and a 2025 subscription both hear of an edit made by another process', async () => {
    const base = await tempDir();
    const modern = await pinned2026(base);
    await seedFlow(modern);
    const legacy = await era2025(base);
    const heard = { modern: [] as string[], legacy: [] as string[] };
    modern.setNotificationHandler('notifications/resources/updated', (note) => {
      heard.modern.push(note.params.uri);
    });
    const { ResourceUpdatedNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (note) => {
      heard.legacy.push(note.params.uri);
    });
    const listening = await modern.listen({ resourceSubscriptions: [OUTPUT_URI] });
    closing.unshift(() => listening.close());
    await legacy.subscribeResource({ uri: OUTPUT_URI });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writeFile(join(base, 'p1/sessions/s1/phase_1_concept/writer.md'), 'edited by a person\n');
    const deadline = Date.now() + 5_000;
    while ((heard.modern.length === 0 || heard.legacy.length === 0) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.modern).toContain(OUTPUT_URI);
    expect(heard.legacy).toContain(OUTPUT_URI);
  });
});
