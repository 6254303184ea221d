import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';
import { callOk, errorCode, expectToolError, spawnedClient } from './helpers/client.js';
import { jsonRpcProblem, ServerProcess } from './helpers/server-process.js';

const MiB = 1024 * 1024;
const REF = { project_id: 'big-project', session_id: 'big-session' };
const LONG = 300_000;

interface Page {
  content: string;
  offset: number;
  total_chars: number;
  next_offset?: number;
}

/** Mixed text (ASCII, 2-, 3- and 4-byte UTF-8, quotes, backslashes, CRLF, markdown) of exactly `bytes` UTF-8 bytes. */
function mixedText(bytes: number): string {
  const unit =
    'Plain text, "quoted" \\ back\\slash, é ü ß, 中文字, emoji 😀🚀\r\n## Output\n| a | b |\n\t- item\n';
  const unitBytes = Buffer.byteLength(unit, 'utf8');
  const text = unit.repeat(Math.floor(bytes / unitBytes));
  return text + 'x'.repeat(bytes - Buffer.byteLength(text, 'utf8'));
}

async function readWhole(
  client: Client,
  agent_name: string,
  phase_num = 1,
): Promise<{ text: string; pages: number }> {
  const parts: string[] = [];
  let offset: number | undefined = 0;
  while (offset !== undefined) {
    const page: Page = await callOk<Page>(client, 'get_agent_output', {
      ...REF,
      phase_num,
      agent_name,
      offset,
    });
    expect(page.offset).toBe(offset);
    parts.push(page.content);
    offset = page.next_offset;
  }
  return { text: parts.join(''), pages: parts.length };
}

async function openSession(): Promise<Client> {
  const { client } = await spawnedClient(await tempDir());
  await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
  return client;
}

describe('large payloads over stdio with the default limits', () => {
  it(
    'saves an output one byte under 4 MiB and reads it back exactly by paging get_agent_output',
    async () => {
      const client = await openSession();
      const content = mixedText(4 * MiB - 1);
      expect(Buffer.byteLength(content, 'utf8')).toBe(4 * MiB - 1);
      await callOk(client, 'save_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        output_content: content,
      });
      const { text, pages } = await readWhole(client, 'writer');
      expect(pages).toBeGreaterThanOrEqual(5);
      expect(text.length).toBe(content.length);
      expect(text === content).toBe(true);
    },
    LONG,
  );

  it(
    'answers an output of 4 MiB + 1 byte with LIMIT_EXCEEDED and saves nothing',
    async () => {
      const client = await openSession();
      const text = await expectToolError(
        client,
        'save_agent_output',
        { ...REF, phase_num: 1, agent_name: 'writer', output_content: mixedText(4 * MiB + 1) },
        'LIMIT_EXCEEDED',
      );
      expect(text).toContain(`${4 * MiB + 1} bytes`);
      await expectToolError(
        client,
        'get_agent_output',
        { ...REF, phase_num: 1, agent_name: 'writer' },
        'NOT_FOUND',
      );
    },
    LONG,
  );

  it(
    'answers 4 MiB + 1 byte of control characters (about 24 MiB of JSON) with a clear error on a live connection',
    async () => {
      const client = await openSession();
      const result = (await client.callTool({
        name: 'save_agent_output',
        arguments: {
          ...REF,
          phase_num: 1,
          agent_name: 'writer',
          output_content: '\u0001'.repeat(4 * MiB + 1),
        },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toBeUndefined();
      const first = result.content[0];
      const text = first?.type === 'text' ? first.text : '';
      expect(['LIMIT_EXCEEDED', 'INVALID_ARGUMENT']).toContain(errorCode(text));
      expect(text).toContain('output_content');
      expect(await callOk(client, 'load_session', REF)).toMatchObject({ revision: 1 });
    },
    LONG,
  );

  it(
    'saves exactly 4 MiB of control characters and pages them back within the response budget',
    async () => {
      const client = await openSession();
      const content = '\u0001\u001f'.repeat(2 * MiB);
      await callOk(client, 'save_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        output_content: content,
      });
      const { text, pages } = await readWhole(client, 'writer');
      // Each control character costs six bytes of JSON, so a 1 MiB budget holds about 175,000 of them.
      expect(pages).toBeGreaterThanOrEqual(24);
      expect(text === content).toBe(true);
    },
    LONG,
  );

  it(
    'cuts two big outputs past the 1 MiB budget in get_phase_outputs to prefixes listed in truncated',
    async () => {
      const client = await openSession();
      const first = mixedText(900_000);
      const second = `${'y'.repeat(1_000_000)}tail`;
      await callOk(client, 'save_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: 'first',
        output_content: first,
      });
      await callOk(client, 'save_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: 'second',
        output_content: second,
      });
      await callOk(client, 'save_checkpoint', {
        ...REF,
        phase_num: 1,
        status: 'completed',
        agents: [
          { agent_name: 'first', status: 'completed' },
          { agent_name: 'second', status: 'completed' },
        ],
      });
      const result = await callOk<{ outputs: Record<string, Record<string, string>>; truncated: unknown[] }>(
        client,
        'get_phase_outputs',
        REF,
      );
      expect(result.truncated).toEqual([
        { phase_num: 1, agent_name: 'first', total_chars: first.length },
        { phase_num: 1, agent_name: 'second', total_chars: second.length },
      ]);
      const cutFirst = result.outputs['1']?.first ?? '';
      const cutSecond = result.outputs['1']?.second ?? '';
      expect(cutFirst.length).toBeGreaterThan(100_000);
      expect(cutSecond.length).toBeGreaterThan(100_000);
      expect(first.startsWith(cutFirst)).toBe(true);
      expect(second.startsWith(cutSecond)).toBe(true);
      const encoded = Buffer.byteLength(JSON.stringify(cutFirst) + JSON.stringify(cutSecond), 'utf8');
      expect(encoded).toBeLessThanOrEqual(MiB + 4);
      const rest = await readWhole(client, 'second');
      expect(rest.text === second).toBe(true);
    },
    LONG,
  );
});

describe('the stdio transport', () => {
  it(
    'answers a 30 MiB tool call with a LIMIT_EXCEEDED error result and keeps serving',
    async () => {
      const server = ServerProcess.start(['--base-dir', await tempDir()]);
      await server.initialize();
      const answer = server.response(41);
      const request = JSON.stringify({
        jsonrpc: '2.0',
        id: 41,
        method: 'tools/call',
        params: {
          name: 'save_agent_output',
          arguments: { ...REF, phase_num: 1, agent_name: 'huge', output_content: 'z'.repeat(30 * MiB) },
        },
      });
      await server.write(`${request}\n`);
      const response = await answer;
      expect(response).toMatchObject({
        jsonrpc: '2.0',
        id: 41,
        result: { isError: true, _meta: { code: 'LIMIT_EXCEEDED' } },
      });
      expect(response).not.toHaveProperty('error');
      const [content] = (response.result as { content: Array<{ type: string; text: string }> }).content;
      expect(content?.text).toMatch(
        /^LIMIT_EXCEEDED: the request is longer than \d+ bytes, so it was not read and nothing was saved/,
      );
      const next = await server.callTool('create_session', { ...REF, user_id: 'u1' });
      expect(next.result).toMatchObject({ structuredContent: { session_id: 'big-session' } });
      expect(await server.stop()).toEqual({ code: 0, signal: null });
      expect(server.lines.map(jsonRpcProblem).filter(Boolean)).toEqual([]);
    },
    LONG,
  );

  it(
    'finds the id of an over-long request at the end of the line too',
    async () => {
      // With the default 1 MiB text limit the line limit is 8 MiB, whatever --max-content-bytes says.
      const server = ServerProcess.start(['--base-dir', await tempDir(), '--max-content-bytes', '1000']);
      await server.initialize();
      const answer = server.response('last-member');
      const args = { ...REF, phase_num: 1, agent_name: 'huge', output_content: 'z'.repeat(9 * MiB) };
      await server.write(
        `{"jsonrpc":"2.0","method":"tools/call","params":${JSON.stringify({ name: 'save_agent_output', arguments: args })},"id":"last-member"}\n`,
      );
      expect(await answer).toMatchObject({
        id: 'last-member',
        result: { isError: true, _meta: { code: 'LIMIT_EXCEEDED' } },
      });
      // Another method, named at the end of the line: a protocol error, as it has no error result.
      const other = server.response(7);
      await server.write(
        `{"params":{"uri":"${'u'.repeat(9 * MiB)}"},"jsonrpc":"2.0","method":"resources/read","id":7}\n`,
      );
      expect(await other).toMatchObject({
        id: 7,
        error: { code: -32600, message: expect.stringMatching(/^LIMIT_EXCEEDED:/) },
      });
      // A tools/call named at the end of the line, after its parameters, is still a tool call.
      const trailing = server.response(8);
      await server.write(
        `{"params":${JSON.stringify({ name: 'save_agent_output', arguments: args })},"method":"tools/call","jsonrpc":"2.0","id":8}\n`,
      );
      expect(await trailing).toMatchObject({
        id: 8,
        result: { isError: true, _meta: { code: 'LIMIT_EXCEEDED' } },
      });
      const next = await server.callTool('save_agent_output', { ...args, output_content: 'z'.repeat(1001) });
      expect(next.result).toMatchObject({ isError: true });
      expect(JSON.stringify(next.result)).toContain('LIMIT_EXCEEDED: output_content');
    },
    LONG,
  );

  it('answers a line that is not JSON with a parse error and keeps serving', async () => {
    const server = ServerProcess.start(['--base-dir', await tempDir()]);
    await server.initialize();
    const parseError = server.response(null);
    await server.write('{"jsonrpc": "2.0", "id": 5, "method": \n');
    expect(await parseError).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const list = await server.request('tools/list');
    const names = (list.result as { tools: Array<{ name: string }> }).tools.map((tool) => tool.name);
    expect(names).toContain('save_agent_output');
  });

  it('answers a line that is not valid UTF-8 with a parse error carrying its id, and saves nothing in its place', async () => {
    const base = await tempDir();
    const server = ServerProcess.start(['--base-dir', base]);
    await server.initialize();
    await server.callTool('create_session', { ...REF, user_id: 'u1' });
    const [before, after] = JSON.stringify({
      jsonrpc: '2.0',
      id: 12,
      method: 'tools/call',
      params: {
        name: 'save_agent_output',
        arguments: { ...REF, phase_num: 1, agent_name: 'bytes', output_content: '__BYTES__' },
      },
    }).split('__BYTES__');
    const refused = server.response(12);
    await server.write(
      Buffer.concat([Buffer.from(before ?? ''), Buffer.from([0xff, 0xfe]), Buffer.from(`${after ?? ''}\n`)]),
    );
    expect(await refused).toMatchObject({
      id: 12,
      error: {
        code: -32700,
        message: 'Parse error: the line is not valid UTF-8; send the message as UTF-8 text',
      },
    });
    const listed = await server.callTool('get_phase_outputs', { ...REF, phase_nums: [1] });
    expect(listed.result).toMatchObject({ structuredContent: { outputs: { '1': {} } } });
  });

  it('refuses an argument named __proto__ as every unknown argument is, instead of letting it vanish', async () => {
    const server = ServerProcess.start(['--base-dir', await tempDir()]);
    await server.initialize();
    await server.callTool('create_session', { ...REF, user_id: 'u1' });
    const answer = server.response(13);
    await server.write(
      `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"load_session","arguments":{"project_id":"${REF.project_id}","session_id":"${REF.session_id}","__proto__":{"x":1}}}}\n`,
    );
    expect(await answer).toMatchObject({
      id: 13,
      result: {
        isError: true,
        _meta: { code: 'INVALID_ARGUMENT' },
        content: [{ type: 'text', text: 'INVALID_ARGUMENT: unknown argument __proto__; leave it out' }],
      },
    });
  });

  it('answers a JSON line that is not JSON-RPC with an invalid-request error carrying its id', async () => {
    const server = ServerProcess.start(['--base-dir', await tempDir()]);
    await server.initialize();
    const invalid = server.response(9);
    await server.write('{"id": 9, "hello": "world"}\n');
    expect(await invalid).toMatchObject({ jsonrpc: '2.0', id: 9, error: { code: -32600 } });
  });
});
