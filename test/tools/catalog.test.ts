import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server.js';
import type { ToolSet } from '../../src/tools/catalog.js';
import { managers, tempDir } from '../helpers/base-dir.js';
import { connectedClient, SERVER_ENTRY, silentLogger, spawnedClient } from '../helpers/client.js';
import { CODE_REVIEW } from '../helpers/workflows.js';

/** The seed's operations plus resume_session and get_agent_output: what `--tools core` offers. */
const CORE = [
  'create_project',
  'create_session',
  'get_agent_output',
  'get_phase_outputs',
  'load_session',
  'resume_session',
  'save_agent_output',
  'save_checkpoint',
  'save_user_feedback',
  'start_session',
  'validate_checkpoint',
];

/** Every agent pays for tools/list on every conversation: these are its sizes today, in characters of JSON. */
const LIST_SIZE = { all: 23_984, core: 14_556 };
const LIST_CEILING = 24_000;

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

/** A client of an in-process server that offers `tools`. */
async function clientOf(tools: ToolSet): Promise<Client> {
  const setup = await managers();
  const server = createServer({
    checkpoints: setup.checkpoints,
    projects: setup.projects,
    logger: silentLogger,
    tools,
  });
  const client = new Client({ name: 'catalog-tests', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  closing.push(async () => {
    await client.close();
    await server.close();
  });
  return client;
}

/** The built server spawned with `env` added to its environment. */
async function spawnedWithEnv(env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY, '--base-dir', await tempDir()],
    env: { ...getDefaultEnvironment(), ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'catalog-tests', version: '1.0.0' });
  await client.connect(transport);
  closing.push(() => client.close());
  return client;
}

async function toolsOf(set: ToolSet): Promise<Tool[]> {
  return (await (await clientOf(set)).listTools()).tools;
}

type Json = Record<string, unknown>;

/** Every object schema inside `schema` (itself included), with its path for messages. */
function objectSchemas(schema: unknown, path = '$'): Array<{ path: string; node: Json }> {
  if (typeof schema !== 'object' || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap((item, i) => objectSchemas(item, `${path}[${i}]`));
  const node = schema as Json;
  const found = node.type === 'object' || 'properties' in node ? [{ path, node }] : [];
  return [
    ...found,
    ...Object.entries(node).flatMap(([key, value]) =>
      key === 'properties' && typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([name, property]) => objectSchemas(property, `${path}.${name}`))
        : objectSchemas(value, `${path}/${key}`),
    ),
  ];
}

describe('the tool catalogue', () => {
  it('tools/list of the default set is pinned in size and stays within 24,000 characters of JSON', async () => {
    const tools = await toolsOf('all');
    const size = JSON.stringify(tools).length;
    console.log(`tools/list JSON size, all (${tools.length} tools): ${size}`);
    expect(tools).toHaveLength(22);
    expect(size).toBeLessThanOrEqual(LIST_CEILING);
    expect(size).toBe(LIST_SIZE.all);
  });

  it('tools/list of the core set is pinned in size and stays within 24,000 characters of JSON', async () => {
    const tools = await toolsOf('core');
    const size = JSON.stringify(tools).length;
    console.log(`tools/list JSON size, core (${tools.length} tools): ${size}`);
    expect(size).toBeLessThanOrEqual(LIST_CEILING);
    expect(size).toBe(LIST_SIZE.core);
  });

  it('the core set is exactly the seed operations, resume_session and get_agent_output, each listed as in the full set', async () => {
    const core = await toolsOf('core');
    expect(core.map((tool) => tool.name).sort()).toEqual(CORE);
    const all = await toolsOf('all');
    for (const tool of core) expect(tool, tool.name).toEqual(all.find((full) => full.name === tool.name));
  });

  it('a core server answers a call of list_projects as an unknown tool (-32602)', async () => {
    const client = await clientOf('core');
    await expect(client.callTool({ name: 'list_projects', arguments: {} })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('INVALID_ARGUMENT: unknown tool "list_projects"'),
    });
    const all = await clientOf('all');
    const result = (await all.callTool({ name: 'list_projects', arguments: {} })) as CallToolResult;
    expect(result.isError).toBeUndefined();
  });

  it('the spawned server offers the core set with --tools core and with CHECKPOINT_TOOLS=core', async () => {
    const inProcess = await toolsOf('core');
    const { client: byOption } = await spawnedClient(await tempDir(), ['--tools', 'core']);
    const listedByOption = (await byOption.listTools()).tools;
    expect(listedByOption).toEqual(inProcess);
    expect(JSON.stringify(listedByOption).length).toBe(LIST_SIZE.core);
    const byEnv = await spawnedWithEnv({ CHECKPOINT_TOOLS: 'core' });
    const listedByEnv = (await byEnv.listTools()).tools;
    expect(listedByEnv.map((tool) => tool.name).sort()).toEqual(CORE);
    expect(JSON.stringify(listedByEnv).length).toBe(LIST_SIZE.core);
    const { client: byDefault } = await spawnedClient(await tempDir());
    expect(JSON.stringify((await byDefault.listTools()).tools).length).toBe(LIST_SIZE.all);
  }, 30_000);

  it('no listed schema carries the ±2^53-1 bounds zod writes for integers', async () => {
    for (const tool of await toolsOf('all')) {
      const text = JSON.stringify([tool.inputSchema, tool.outputSchema]);
      expect(text, tool.name).not.toContain('9007199254740991');
    }
  });

  it('every input schema, and every object inside one, forbids properties it does not name', async () => {
    let checked = 0;
    for (const tool of await toolsOf('all')) {
      for (const { path, node } of objectSchemas(tool.inputSchema)) {
        expect(node.additionalProperties, `${tool.name} ${path}`).toBe(false);
        checked++;
      }
    }
    // 22 tools, plus the agents of save_checkpoint and the phases and modes of define_workflow.
    expect(checked).toBe(25);
  });

  it('every input property at every level has a description', async () => {
    let checked = 0;
    for (const tool of await toolsOf('all')) {
      for (const { path, node } of objectSchemas(tool.inputSchema)) {
        for (const [name, property] of Object.entries((node.properties ?? {}) as Record<string, Json>)) {
          expect(property.description, `${tool.name} ${path}.${name}`).toMatch(/\S/);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
  });
});

describe('structured results against the listed output schemas', () => {
  it('every structuredContent of every tool validates against its outputSchema with Ajv 2020-12', async () => {
    const { client } = await connectedClient({ limits: { maxResponseBytes: 2048 } });
    const tools = (await client.listTools()).tools;
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    const validators = new Map(tools.map((tool) => [tool.name, ajv.compile(tool.outputSchema ?? {})]));
    const called = new Set<string>();
    const problems: string[] = [];
    const call = async (name: string, args: Record<string, unknown>): Promise<Json> => {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(result.isError, `${name}: ${JSON.stringify(result.content)}`).toBeUndefined();
      const validate = validators.get(name);
      if (!validate) throw new Error(`${name} is not listed`);
      if (!validate(result.structuredContent)) {
        problems.push(
          `${name}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(result.structuredContent)}`,
        );
      }
      called.add(name);
      return result.structuredContent as Json;
    };

    const project = await call('create_project', {
      user_id: 'u1',
      startup_idea: `# Idea\n\n${'A long idea. '.repeat(400)}`,
      project_name: 'Idea One',
      execution_mode: 'full',
    });
    const project_id = project.project_id as string;
    await call('create_project', { user_id: 'u2', startup_idea: 'Second idea', project_name: 'Idea Two' });
    const started = await call('start_session', { project_id });
    const ref = { project_id, session_id: started.session_id as string };
    await call('create_session', { project_id: 'p-own', session_id: 's-own', user_id: 'u1' });
    for (const phase_num of [1, 2]) {
      await call('save_agent_output', {
        ...ref,
        phase_num,
        agent_name: 'writer',
        output_content: `phase ${phase_num}: ${'text é 😀 '.repeat(500)}`,
        model: 'model-x',
        input_tokens: 10,
        output_tokens: 20,
        duration: 1.5,
        tools_used: ['search'],
      });
      await call('save_agent_output', { ...ref, phase_num, agent_name: 'critic', output_content: 'short' });
      await call('save_checkpoint', {
        ...ref,
        phase_num,
        status: 'completed',
        agents: [
          { agent_name: 'critic', status: 'completed', tokens: 5, cost: 0.0000000001, duration: 1 },
          { agent_name: 'writer', status: 'completed', input_tokens: 10, output_tokens: 20, cost: 0.25 },
        ],
        started: '2024-11-24T10:00:00Z',
        completed: '2024-11-24T10:05:00Z',
        execution_mode: 'parallel',
        errors: ['one warning line'],
      });
    }
    // A second save keeps the first in history.
    await call('save_agent_output', { ...ref, phase_num: 1, agent_name: 'critic', output_content: 'again' });
    await call('save_user_feedback', {
      ...ref,
      phase_num: 1,
      reviewed: true,
      approved: true,
      comments: 'fine',
    });
    await call('save_user_feedback', {
      ...ref,
      phase_num: 2,
      reviewed: true,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: ['More sources'],
    });
    await call('save_user_feedback', {
      ...ref,
      phase_num: 4,
      reviewed: true,
      approved: false,
      action: 'skip_phase',
    });
    await call('load_session', ref);
    await call('resume_session', ref);
    const outputs = await call('get_phase_outputs', ref);
    expect(outputs.truncated).not.toEqual([]);
    await call('get_phase_outputs', { ...ref, phase_nums: [1, 2, 3] });
    await call('validate_checkpoint', { ...ref, phase_num: 1 });
    await call('validate_checkpoint', { ...ref, phase_num: 3 });
    await call('validate_session', ref);
    await call('get_approved_phases', ref);
    await call('list_history', { ...ref, phase_num: 1 });
    await call('get_agent_output', { ...ref, phase_num: 1, agent_name: 'writer' });
    const page = await call('get_agent_output', {
      ...ref,
      phase_num: 1,
      agent_name: 'writer',
      offset: 100,
      max_chars: 50,
    });
    expect(page.next_offset).toBe(150);
    await call('get_agent_output', { ...ref, phase_num: 1, agent_name: 'critic', version: 1 });
    await call('export_session', ref);
    const firstPage = await call('list_projects', { limit: 1 });
    await call('list_projects', { cursor: firstPage.next_cursor, user_id: 'u2' });
    await call('list_projects', {});
    expect(await call('get_project', { project_id })).toMatchObject({ startup_idea_truncated: true });
    const sessions = await call('list_sessions', { project_id, limit: 1 });
    expect(sessions.next_cursor).toBeUndefined();
    await call('start_session', { project_id, user_id: 'u3' });
    const paged = await call('list_sessions', { project_id, limit: 1 });
    expect(paged.next_cursor).toEqual(expect.any(String));
    await call('list_sessions', { project_id, status: 'in_progress', cursor: paged.next_cursor });
    // Finish the session: resume_session then has no next phase, load_session no next_phase.
    for (const phase_num of [2, 3, 5, 6, 7]) {
      await call('save_checkpoint', { ...ref, phase_num, status: 'completed', agents: [] });
    }
    await call('load_session', ref);
    await call('resume_session', ref);
    await call('archive_project', { project_id });
    await call('get_project', { project_id });
    await call('define_workflow', CODE_REVIEW);

    await call('list_workflows', {});
    await call('get_workflow', { workflow_type: 'code_review' });
    await call('get_workflow', { workflow_type: 'idea_validation' });

    expect(problems).toEqual([]);
    // The check can fail: a result without its required fields is refused.
    expect(validators.get('load_session')?.({ session_id: 's1' })).toBe(false);
    expect([...called].sort()).toEqual(tools.map((tool) => tool.name).sort());
  }, 30_000);
});
