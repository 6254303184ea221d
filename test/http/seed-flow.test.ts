import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { parseAgentOutput } from '../../src/checkpoint/formats/agent-output.js';
import {
  CLIENT_KINDS,
  type ClientKind,
  callError,
  callOk,
  connectClient,
  type McpClient,
  startHttpServer,
  tempDir,
} from '../helpers/http-server.js';

const SEED = { project_id: 'project-123', session_id: 'session-456' };
const SESSION_DIR = 'project-123/sessions/session-456';
const CONCEPT =
  '# Concept\n\nA marketplace for used lab equipment.\n\n| Segment | Size |\n|---|---|\n| Labs | 10k |\n';
/** What each client ends up speaking: the v1 SDK client has no accessor for it. */
const NEGOTIATED: Record<ClientKind, [string, string] | undefined> = {
  'v2 pinned to 2026-07-28': ['modern', '2026-07-28'],
  'v2 in 2025 mode': ['legacy', '2025-11-25'],
  v1: undefined,
};
const OUTPUT_URI = `checkpoint://${SESSION_DIR}/phase_1_concept/concept_expansion.md`;

/** The calls this file makes beyond tools; the v2 and the v1 SDK clients both have them. */
interface BrowsingClient extends McpClient {
  getServerVersion(): { name: string; version: string } | undefined;
  listResources(): Promise<{ resources: Array<{ uri: string; mimeType?: string }>; nextCursor?: string }>;
  readResource(params: {
    uri: string;
  }): Promise<{ contents: Array<{ uri: string; mimeType?: string; text?: string }> }>;
  getPrompt(params: {
    name: string;
    arguments?: Record<string, string>;
  }): Promise<{ messages: Array<{ role: string; content: { type: string; text?: string } }> }>;
  complete(params: {
    ref: { type: 'ref/resource'; uri: string };
    argument: { name: string; value: string };
    context?: { arguments?: Record<string, string> };
  }): Promise<{ completion: { values: string[] } }>;
}

async function served(kind: ClientKind): Promise<{ base: string; client: BrowsingClient }> {
  const base = await tempDir();
  const server = await startHttpServer(['--base-dir', base]);
  const client = (await connectClient(server.url, kind)) as BrowsingClient;
  return { base, client };
}

/** The seed's example flow, then resume and export, asserting each answer as the stdio suite does. */
async function runSeedFlow(client: McpClient): Promise<void> {
  expect(await callOk(client, 'create_session', { ...SEED, user_id: 'user-789' })).toEqual({
    ...SEED,
    execution_mode: 'mvp',
    phases: [1, 2, 3, 6, 7],
    path: SESSION_DIR,
  });
  expect(
    await callOk(client, 'save_agent_output', {
      ...SEED,
      phase_num: 1,
      agent_name: 'concept_expansion',
      output_content: CONCEPT,
      model: 'claude-sonnet-4',
      input_tokens: 1000,
      output_tokens: 500,
      duration: 120.5,
    }),
  ).toEqual({
    phase_num: 1,
    agent_name: 'concept_expansion',
    file: `${SESSION_DIR}/phase_1_concept/concept_expansion.md`,
    sha256: createHash('sha256').update(CONCEPT, 'utf8').digest('hex'),
  });
  expect(
    await callOk(client, 'save_checkpoint', {
      ...SEED,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'concept_expansion', status: 'completed', tokens: 1500, cost: 0.0375, duration: 120.5 },
      ],
      duration: 120.5,
    }),
  ).toEqual({ phase_num: 1, status: 'completed', revision: 2 });
  expect(
    await callOk(client, 'save_user_feedback', {
      ...SEED,
      phase_num: 1,
      reviewed: true,
      approved: true,
      comments: 'Great start',
    }),
  ).toEqual({ phase_num: 1, action: 'approved', phase_status: 'completed' });
  expect(await callOk(client, 'load_session', SEED)).toEqual({
    ...SEED,
    user_id: 'user-789',
    workflow_type: 'idea_validation',
    execution_mode: 'mvp',
    created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    last_updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    status: 'in_progress',
    current_phase: 1,
    completed_phases: [1],
    phase_statuses: { '1': 'completed', '2': 'pending', '3': 'pending', '6': 'pending', '7': 'pending' },
    next_phase: 2,
    can_resume: true,
    metrics: { total_duration: 120.5, total_tokens: 1500, total_cost: 0.0375 },
    revision: 3,
  });
  expect(await callOk(client, 'get_phase_outputs', SEED)).toEqual({
    outputs: { '1': { concept_expansion: CONCEPT } },
    truncated: [],
  });
  expect(await callOk(client, 'validate_checkpoint', { ...SEED, phase_num: 1 })).toEqual({
    is_valid: true,
    errors: [],
    warnings: [],
  });
  expect(await callOk(client, 'resume_session', SEED)).toEqual({
    next_phase: 2,
    phase_name: 'Market Research',
    reason: 'next_phase',
    requested_changes: [],
    prior_outputs: [{ phase_num: 1, agent_name: 'concept_expansion', chars: CONCEPT.length }],
    instruction: expect.stringMatching(/^Run phase 2 \(Market Research\)/),
  });
  const { markdown } = await callOk<{ markdown: string }>(client, 'export_session', SEED);
  expect(markdown.startsWith('# Session Report: session-456\n')).toBe(true);
  expect(tableRow(markdown, '1')).toEqual([
    '1',
    'Concept Expansion',
    'completed',
    expect.stringMatching(/^\d{4}-/),
    expect.stringMatching(/^\d{4}-/),
    '120.5s',
    '0',
    '1500',
    '$0.0375',
  ]);
  expect(tableRow(markdown, '1 Concept Expansion')).toEqual([
    '1 Concept Expansion',
    'concept_expansion',
    'completed',
    'claude-sonnet-4',
    '-',
    '-',
    '1500',
    '$0.0375',
    '120.5s',
    'phase_1_concept/concept_expansion.md',
  ]);
  expect(markdown).toContain('\n>     Great start\n');
}

/** The cells of the markdown table row whose first cell is `first`. */
function tableRow(markdown: string, first: string): string[] | undefined {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    )
    .find((cells) => cells[0] === first);
}

describe.each(CLIENT_KINDS)('the built server over Streamable HTTP, for a %s client', (kind) => {
  it('runs the seed flow, resumes and exports with the same answers as over stdio, and the output is on disk', async () => {
    const { base, client } = await served(kind);
    if (client instanceof Client) {
      expect([client.getProtocolEra(), client.getNegotiatedProtocolVersion()]).toEqual(NEGOTIATED[kind]);
    } else {
      expect(NEGOTIATED[kind]).toBeUndefined();
    }
    expect(client.getServerVersion()).toMatchObject({ name: 'checkpoint-mcp' });
    await runSeedFlow(client);
    const file = await readFile(join(base, SESSION_DIR, 'phase_1_concept', 'concept_expansion.md'), 'utf8');
    expect(parseAgentOutput(file, 'concept_expansion.md')).toMatchObject({
      agent_name: 'concept_expansion',
      phase_num: 1,
      model: 'claude-sonnet-4',
      input_tokens: 1000,
      output_tokens: 500,
      duration: 120.5,
      content: CONCEPT,
    });
  });

  it('lists and reads the documents, renders the resume_session prompt and completes project_id', async () => {
    const { base, client } = await served(kind);
    await runSeedFlow(client);
    const { resources, nextCursor } = await client.listResources();
    expect(nextCursor).toBeUndefined();
    expect(resources.map((resource) => [resource.uri, resource.mimeType])).toEqual([
      ['checkpoint://project-123/project.md', 'text/markdown'],
      [`checkpoint://${SESSION_DIR}/phase_1_concept/checkpoint.md`, 'text/markdown'],
      [OUTPUT_URI, 'text/markdown'],
      [`checkpoint://${SESSION_DIR}/phase_1_concept/user_feedback.md`, 'text/markdown'],
      [`checkpoint://${SESSION_DIR}/session_manifest.md`, 'text/markdown'],
    ]);
    const onDisk = await readFile(join(base, SESSION_DIR, 'phase_1_concept', 'concept_expansion.md'), 'utf8');
    expect((await client.readResource({ uri: OUTPUT_URI })).contents).toEqual([
      { uri: OUTPUT_URI, mimeType: 'text/markdown', text: onDisk },
    ]);

    const prompt = await client.getPrompt({ name: 'resume_session', arguments: SEED });
    expect(prompt.messages).toHaveLength(1);
    const [message] = prompt.messages;
    expect(message?.role).toBe('user');
    expect(message?.content.type).toBe('text');
    const text = message?.content.text ?? '';
    expect(text).toContain('session "session-456" of project "project-123"');
    expect(text).toContain('Next: phase 2 (Market Research), reason: next_phase.');
    expect(text).toContain(`--- Phase 1 output of concept_expansion ---\n${CONCEPT}`);

    const completion = await client.complete({
      ref: { type: 'ref/resource', uri: 'checkpoint://{project_id}/project.md' },
      argument: { name: 'project_id', value: 'proj' },
    });
    expect(completion.completion.values).toEqual(['project-123']);
    const none = await client.complete({
      ref: { type: 'ref/resource', uri: 'checkpoint://{project_id}/project.md' },
      argument: { name: 'project_id', value: 'zzz' },
    });
    expect(none.completion.values).toEqual([]);
  });

  it('answers a bad argument with an isError result whose text starts INVALID_ARGUMENT and whose _meta.code says so', async () => {
    const { base, client } = await served(kind);
    await callOk(client, 'create_session', { ...SEED, user_id: 'user-789' });
    const bad = { ...SEED, phase_num: 1, agent_name: 'concept_expansion', output_content: 'x' };
    expect(
      await callError(client, 'save_agent_output', { ...bad, project_id: '../escape' }, 'INVALID_ARGUMENT'),
    ).toContain('project_id "../escape"');
    expect(
      await callError(client, 'save_agent_output', { ...bad, phase_num: '1' }, 'INVALID_ARGUMENT'),
    ).toContain('phase_num must be a number from 1 to 99 (not a string)');
    await expect(
      readFile(join(base, SESSION_DIR, 'phase_1_concept', 'concept_expansion.md'), 'utf8'),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
