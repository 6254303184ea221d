import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { SaveCheckpointInput } from '../../src/schemas/checkpoints.js';
import { argumentProblem } from '../../src/tools/arguments.js';
import { connectedClient, expectToolError, spawnedOnEngine } from '../helpers/client.js';
import { type Documents, documentTree } from '../helpers/engine.js';
import { createSession, REF } from '../helpers/seed.js';

interface Connection {
  client: Client;
  documents: Documents;
}

const CONNECTIONS: Array<{ name: string; connect: () => Promise<Connection> }> = [
  {
    name: 'an in-process client',
    connect: async () => {
      const connected = await connectedClient();
      return { client: connected.client, documents: connected };
    },
  },
  {
    name: 'the built server spawned over stdio',
    connect: async () => {
      const { client, documents } = await spawnedOnEngine();
      return { client, documents };
    },
  },
];

const OUTPUT = { ...REF, phase_num: 1, agent_name: 'writer', output_content: 'text' };
const CHECKPOINT = {
  ...REF,
  phase_num: 1,
  status: 'completed',
  agents: [{ agent_name: 'writer', status: 'completed' }],
};
const FEEDBACK = { ...REF, phase_num: 1, reviewed: true, approved: true };

function without<T extends Record<string, unknown>>(args: T, name: keyof T): Record<string, unknown> {
  const { [name]: _, ...rest } = args;
  return rest;
}

/** A session to write into, so that every call below would write if its arguments were accepted. */
async function openSession(connect: () => Promise<Connection>): Promise<Connection> {
  const connection = await connect();
  await createSession(connection.client);
  return connection;
}

/** The error text of a call that must fail with `code` and leave the stored documents as they were. */
async function failsWithoutWriting(
  { client, documents }: Connection,
  tool: string,
  args: Record<string, unknown>,
  code = 'INVALID_ARGUMENT',
): Promise<string> {
  const before = await documentTree(documents);
  const text = await expectToolError(client, tool, args, code);
  expect(await documentTree(documents), `${tool} wrote something though it failed: ${text}`).toEqual(before);
  return text;
}

describe.each(CONNECTIONS)('tool arguments through $name', ({ connect }) => {
  it('a missing argument is INVALID_ARGUMENT saying it is required', async () => {
    const connection = await openSession(connect);
    expect(await failsWithoutWriting(connection, 'save_agent_output', without(OUTPUT, 'phase_num'))).toBe(
      'INVALID_ARGUMENT: phase_num is required',
    );
    expect(await failsWithoutWriting(connection, 'save_checkpoint', without(CHECKPOINT, 'phase_num'))).toBe(
      'INVALID_ARGUMENT: phase_num is required',
    );
    expect(await failsWithoutWriting(connection, 'save_checkpoint', without(CHECKPOINT, 'agents'))).toBe(
      'INVALID_ARGUMENT: agents is required',
    );
    expect(
      await failsWithoutWriting(connection, 'save_checkpoint', {
        ...CHECKPOINT,
        agents: [{ status: 'completed' }],
      }),
    ).toBe('INVALID_ARGUMENT: agents[0].agent_name is required');
    // A missing enum, which zod reports as an invalid value rather than a missing one.
    expect(await failsWithoutWriting(connection, 'save_checkpoint', without(CHECKPOINT, 'status'))).toBe(
      'INVALID_ARGUMENT: status is required',
    );
    expect(
      await failsWithoutWriting(connection, 'save_checkpoint', {
        ...CHECKPOINT,
        agents: [{ agent_name: 'market' }],
      }),
    ).toBe('INVALID_ARGUMENT: agents[0].status is required');
    expect(await failsWithoutWriting(connection, 'load_session', without(REF, 'session_id'))).toBe(
      'INVALID_ARGUMENT: session_id is required',
    );
  });

  it('a value of the wrong type is INVALID_ARGUMENT naming the argument, what was expected and what came', async () => {
    const connection = await openSession(connect);
    const cases: Array<{
      tool: string;
      args: Record<string, unknown>;
      path: string;
      expected: RegExp;
      got: string;
    }> = [
      {
        tool: 'save_agent_output',
        args: { ...OUTPUT, phase_num: '3' },
        path: 'phase_num',
        expected: /number/,
        got: 'string "3"',
      },
      {
        tool: 'save_checkpoint',
        args: { ...CHECKPOINT, phase_num: '3' },
        path: 'phase_num',
        expected: /number/,
        got: 'string "3"',
      },
      {
        tool: 'save_checkpoint',
        args: { ...CHECKPOINT, agents: [{ agent_name: 'writer', status: 'completed', cost: '0.5' }] },
        path: 'agents[0].cost',
        expected: /number/,
        got: 'string "0.5"',
      },
      {
        tool: 'save_checkpoint',
        args: { ...CHECKPOINT, phase_num: 1.5 },
        path: 'phase_num',
        expected: /whole number/,
        got: 'number 1.5',
      },
      {
        tool: 'save_checkpoint',
        args: { ...CHECKPOINT, status: 'done' },
        path: 'status',
        expected: /one of pending, in_progress, completed, failed, skipped, requires_retry/,
        got: 'string "done"',
      },
      {
        tool: 'save_checkpoint',
        args: { ...CHECKPOINT, agents: 'writer' },
        path: 'agents',
        expected: /array/,
        got: 'string "writer"',
      },
      {
        tool: 'save_user_feedback',
        args: { ...FEEDBACK, reviewed: 'yes' },
        path: 'reviewed',
        expected: /true or false/,
        got: 'string "yes"',
      },
      {
        tool: 'load_session',
        args: { ...REF, session_id: 3 },
        path: 'session_id',
        expected: /string/,
        got: 'number 3',
      },
    ];
    for (const { tool, args, path, expected, got } of cases) {
      const text = await failsWithoutWriting(connection, tool, args);
      expect(text.startsWith(`INVALID_ARGUMENT: ${path}`), `${tool}: ${text}`).toBe(true);
      expect(text, tool).toMatch(expected);
      expect(text.endsWith(`, got ${got}`), `${tool}: ${text}`).toBe(true);
      expect(text, tool).not.toContain('is required');
    }
  });

  it('an unknown argument close to a known one is INVALID_ARGUMENT suggesting it', async () => {
    const connection = await openSession(connect);
    const { phase_num, ...rest } = OUTPUT;
    expect(
      await failsWithoutWriting(connection, 'save_agent_output', { ...rest, phase_number: phase_num }),
    ).toBe('INVALID_ARGUMENT: unknown argument phase_number; did you mean phase_num?');
    expect(
      await failsWithoutWriting(connection, 'save_checkpoint', {
        ...without(CHECKPOINT, 'phase_num'),
        phase_number: 1,
      }),
    ).toBe('INVALID_ARGUMENT: unknown argument phase_number; did you mean phase_num?');
    expect(await failsWithoutWriting(connection, 'load_session', { project_id: 'p1', sesion_id: 's1' })).toBe(
      'INVALID_ARGUMENT: unknown argument sesion_id; did you mean session_id?',
    );
  });

  it('an unknown argument inside an agent entry is INVALID_ARGUMENT with its path and the nearest name', async () => {
    const connection = await openSession(connect);
    expect(
      await failsWithoutWriting(connection, 'save_checkpoint', {
        ...CHECKPOINT,
        agents: [{ agent_nme: 'writer', status: 'completed' }],
      }),
    ).toBe('INVALID_ARGUMENT: unknown argument agents[0].agent_nme; did you mean agents[0].agent_name?');
  });

  it('an unknown argument far from every name is INVALID_ARGUMENT listing the valid names', async () => {
    const connection = await openSession(connect);
    expect(await failsWithoutWriting(connection, 'load_session', { ...REF, xyzzy: 1 })).toBe(
      'INVALID_ARGUMENT: unknown argument xyzzy; the arguments here are project_id, session_id',
    );
    expect(await failsWithoutWriting(connection, 'save_agent_output', { ...OUTPUT, xyzzy: 1 })).toBe(
      'INVALID_ARGUMENT: unknown argument xyzzy; the arguments here are project_id, session_id, phase_num, agent_name, output_content, status, duration, model, input_tokens, output_tokens, tools_used, error_type, error_message, stack_trace',
    );
    expect(
      await failsWithoutWriting(connection, 'save_checkpoint', {
        ...CHECKPOINT,
        agents: [{ agent_name: 'writer', status: 'completed', xyzzy: 1 }],
      }),
    ).toBe(
      'INVALID_ARGUMENT: unknown argument agents[0].xyzzy; the arguments here are agent_name, status, output_file, tokens, input_tokens, output_tokens, cost, duration',
    );
  });

  it('a cost with 11 decimal places is INVALID_ARGUMENT naming agents[0].cost', async () => {
    const connection = await openSession(connect);
    const text = await failsWithoutWriting(connection, 'save_checkpoint', {
      ...CHECKPOINT,
      agents: [{ agent_name: 'writer', status: 'completed', cost: 0.12345678901 }],
    });
    expect(text.startsWith('INVALID_ARGUMENT: agents[0].cost '), text).toBe(true);
    expect(text).toContain('11 decimal places');
  });

  it('arguments of more than 50,000 values are LIMIT_EXCEEDED', async () => {
    const connection = await openSession(connect);
    const text = await failsWithoutWriting(
      connection,
      'save_agent_output',
      { ...OUTPUT, tools_used: Array.from({ length: 50_001 }, () => 't') },
      'LIMIT_EXCEEDED',
    );
    expect(text).toContain('over the limit of 50000');
  });

  it('an unknown tool is a -32602 protocol error, not a tool result', async () => {
    const { client, documents } = await openSession(connect);
    const before = await documentTree(documents);
    await expect(client.callTool({ name: 'save_outputs', arguments: OUTPUT })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('unknown tool "save_outputs"'),
    });
    expect(await documentTree(documents)).toEqual(before);
    // The connection keeps serving.
    const result = (await client.callTool({ name: 'load_session', arguments: REF })) as CallToolResult;
    expect(result.isError).toBeUndefined();
  });
});

describe('argumentProblem, given the issues zod reports with the input they saw', () => {
  const problem = (args: Record<string, unknown>): string => {
    const parsed = SaveCheckpointInput.safeParse(args, { reportInput: true });
    if (parsed.success) throw new Error('the arguments were accepted');
    return argumentProblem(parsed.error, SaveCheckpointInput);
  };

  it('says a missing argument is required', () => {
    expect(problem(without(CHECKPOINT, 'phase_num'))).toBe('phase_num is required');
  });

  it('says what was expected and what came for a value of the wrong type', () => {
    expect(problem({ ...CHECKPOINT, phase_num: '3' })).toBe(
      'phase_num must be a number from 1 to 99 (not a string), got string "3"',
    );
  });

  it('suggests the nearest name for an unknown argument inside an agent entry', () => {
    expect(problem({ ...CHECKPOINT, agents: [{ agent_nme: 'writer', status: 'completed' }] })).toBe(
      'unknown argument agents[0].agent_nme; did you mean agents[0].agent_name?',
    );
  });
});
