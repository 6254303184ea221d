import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_ENTRY } from '../helpers/client.js';

const MiB = 1024 * 1024;
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;

interface Message {
  id?: unknown;
  result?: Record<string, unknown> & { isError?: boolean; content?: Array<{ text?: string }> };
  error?: { code: number; message: string };
}

/** The built server on raw pipes: lines in, lines out, no SDK client in between. */
class RawServer {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  private pending = '';
  private readonly listeners = new Set<() => void>();
  private exited: number | null | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      const parts = (this.pending + text).split('\n');
      this.pending = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const listener of this.listeners) listener();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => this.stderr.push(text));
    child.on('exit', (code) => {
      this.exited = code;
      for (const listener of this.listeners) listener();
    });
  }

  static start(base: string): RawServer {
    return new RawServer(spawn(process.execPath, [SERVER_ENTRY, '--base-dir', base], { stdio: 'pipe' }));
  }

  get running(): boolean {
    return this.exited === undefined;
  }

  /** Writes `line` and a newline, waiting for the pipe to drain (a 10 MiB line takes several). */
  async send(line: string | Buffer): Promise<void> {
    for (const part of [line, '\n']) {
      if (!this.child.stdin.write(part))
        await new Promise((resolve) => this.child.stdin.once('drain', resolve));
    }
  }

  /** The parsed output so far; every line must be JSON. */
  messages(): Message[] {
    return this.lines.map((line) => JSON.parse(line) as Message);
  }

  async response(id: number | string, timeoutMs = 20_000): Promise<Message> {
    const find = () => this.messages().find((message) => message.id === id && !('method' in message));
    await this.until(() => find() !== undefined, `a response to id ${id}`, timeoutMs);
    return find() as Message;
  }

  async until(ready: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (ready()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr.join('').slice(-2000)}`));
      }, timeoutMs);
      const check = () => {
        if (!ready() && this.running) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        if (ready()) resolve();
        else
          reject(
            new Error(
              `the server exited (${this.exited}) before ${what}; stderr: ${this.stderr.join('').slice(-2000)}`,
            ),
          );
      };
      this.listeners.add(check);
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (this.running) this.child.kill('SIGKILL');
  }
}

const request = (id: number, method: string, params?: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });

const toolCall = (id: number, name: string, args: unknown) =>
  request(id, 'tools/call', { name, arguments: args });

function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

function nestedObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

describe('the stdio server fed malformed JSON-RPC', () => {
  it('answers or skips every bad line, writes only JSON to stdout, and then serves initialize and tools/list', async () => {
    const root = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-raw-'));
    const server = RawServer.start(join(root, 'base'));
    cleanup.push(async () => {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    });

    // Lines nobody can answer by id get an error with id null, in order; some are only skipped.
    const anonymous: Array<[string | Buffer, number | undefined]> = [
      ['this is not json', PARSE_ERROR],
      ['', undefined],
      [' \t ', undefined],
      ['null', INVALID_REQUEST],
      ['[]', INVALID_REQUEST],
      ['{}', INVALID_REQUEST],
      ['42', INVALID_REQUEST],
      ['"a string"', INVALID_REQUEST],
      ['{"jsonrpc":"2.0","id":null,"method":"ping"}', INVALID_REQUEST],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', INVALID_REQUEST],
      ['{"jsonrpc":"2.0","method":', PARSE_ERROR],
      [Buffer.from([0xff, 0xfe, 0x7b, 0x22]), PARSE_ERROR],
      ['\uFEFF{"jsonrpc":"2.0","id":90,"method":"ping"}', PARSE_ERROR],
      [`${'x'.repeat(10 * MiB)}`, PARSE_ERROR],
      ['['.repeat(100_000), PARSE_ERROR],
      [nestedArrays(100_000), INVALID_REQUEST],
      [nestedObject(100_000), INVALID_REQUEST],
      [
        `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":${nestedObject(100_000)}}}`,
        INVALID_REQUEST,
      ],
      // Valid JSON-RPC that needs no answer: a response nobody asked for, an unknown notification.
      ['{"jsonrpc":"2.0","id":999,"result":{}}', undefined],
      ['{"jsonrpc":"2.0","method":"notifications/bogus","params":{"x":1}}', undefined],
    ];
    for (const [line] of anonymous) await server.send(line);

    // Requests with an id: each gets an error response with that id.
    await server.send('{"jsonrpc":"1.0","id":1,"method":"ping"}');
    await server.send('{"jsonrpc":"2.0","id":2}');
    await server.send(request(3, 'no/such/method'));
    await server.send(request(4, 'tools/call', 'oops'));
    await server.send(request(5, 'tools/call', { name: 42 }));
    await server.send(request(6, 'tools/call', { name: 'get_project', arguments: [1, 2] }));
    await server.send(request(7, 'tools/list', { cursor: { a: 1 } }));
    // A response nobody asked for makes the SDK quote it with JSON.stringify, which overflows the stack on
    // deep input: such lines never reach the SDK.
    await server.send(`{"jsonrpc":"2.0","id":30,"result":${nestedObject(100_000)}}`);
    await server.send(
      `{"jsonrpc":"2.0","id":31,"error":{"code":1,"message":"x","data":${nestedArrays(100_000)}}}`,
    );
    await server.send(request(32, 'ping', { _meta: JSON.parse(nestedObject(300)) }));
    // Over the line limit (6 x 4 MiB of content + 2 MiB): not parsed, answered by the id at its start.
    await server.send(
      toolCall(8, 'save_agent_output', { output_content: 'y'.repeat(27 * MiB) }).replace(
        '"jsonrpc":"2.0",',
        '',
      ),
    );

    const initialize = request(10, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'raw-stdio-test', version: '1.0.0' },
    });
    await server.send(initialize);
    expect((await server.response(10)).result).toMatchObject({ serverInfo: { name: 'checkpoint-mcp' } });
    await server.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');

    // Tool calls with hostile argument trees.
    const nestedArgument = `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"create_project","arguments":{"user_id":"u1","startup_idea":"x","project_name":${nestedObject(100_000)}}}}`;
    await server.send(nestedArgument);
    const shallowerArgument = `{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"create_project","arguments":{"user_id":"u1","startup_idea":"x","project_name":${nestedObject(200)}}}}`;
    await server.send(shallowerArgument);
    await server.send(
      toolCall(13, 'save_agent_output', {
        project_id: 'p',
        session_id: 's',
        phase_num: 1,
        agent_name: 'a',
        output_content: 'x',
        tools_used: Array.from({ length: 60_000 }, (_, i) => `tool${i}`),
      }),
    );
    await server.send(toolCall(14, 'create_project', { user_id: '..', startup_idea: 'x' }));
    await server.send(`${request(15, 'ping')}\r`);

    await server.send(request(20, 'tools/list'));
    const list = await server.response(20);

    // Every line on stdout is JSON (messages() throws otherwise), and the server is still up.
    expect(server.running).toBe(true);

    const tools = ((list.result?.tools ?? []) as Array<{ name: string }>).map((tool) => tool.name);
    expect(tools).toEqual(expect.arrayContaining(['create_session', 'save_agent_output', 'load_session']));
    expect(tools.length).toBeGreaterThanOrEqual(17);

    const answeredAnonymously = server
      .messages()
      .filter((message) => message.id === null)
      .map((message) => message.error?.code);
    expect(answeredAnonymously).toEqual(anonymous.flatMap(([, code]) => (code === undefined ? [] : [code])));

    const errorOf = async (id: number) => (await server.response(id)).error;
    expect((await errorOf(1))?.code).toBe(INVALID_REQUEST);
    expect((await errorOf(2))?.code).toBe(INVALID_REQUEST);
    expect((await errorOf(3))?.code).toBe(METHOD_NOT_FOUND);
    // params that are not an object fail JSON-RPC itself; params of the wrong shape fail the SDK's request
    // schema, which the SDK (1.32) reports as -32603 rather than -32602: an error either way, never a crash.
    expect((await errorOf(4))?.code).toBe(INVALID_REQUEST);
    for (const id of [5, 6, 7]) expect((await errorOf(id))?.code, `id ${id}`).toBeOneOf([-32602, -32603]);
    // A tool call: the tool's own error result, which the agent reads, rather than a protocol error.
    const tooLong = await server.response(8);
    expect(tooLong.error).toBeUndefined();
    expect(tooLong.result).toMatchObject({
      isError: true,
      _meta: { code: 'LIMIT_EXCEEDED' },
      content: [{ type: 'text', text: expect.stringMatching(/^LIMIT_EXCEEDED: /) }],
    });

    for (const id of [11, 30, 31, 32]) {
      expect(await errorOf(id), `id ${id}`).toEqual({
        code: INVALID_REQUEST,
        message: 'Invalid Request: the message is nested more than 256 levels deep',
      });
    }
    // Within the depth limit, the tool's own validation answers, as an isError result.
    for (const id of [12, 13, 14]) {
      const result = (await server.response(id)).result;
      expect(result?.isError, `id ${id}`).toBe(true);
      expect(result?.content?.[0]?.text, `id ${id}`).toMatch(/^(INVALID_ARGUMENT|LIMIT_EXCEEDED): /);
    }
    expect((await server.response(12)).result?.content?.[0]?.text).toMatch(
      /^INVALID_ARGUMENT: project_name must be a string, got an object/,
    );
    expect((await server.response(13)).result?.content?.[0]?.text).toMatch(
      /^LIMIT_EXCEEDED: the arguments hold \d+ values, over the limit of 50000/,
    );
    expect((await server.response(15)).result).toEqual({});

    // Nothing answered twice, nothing answered that was not asked, and still only JSON on stdout.
    const ids = server
      .messages()
      .filter((message) => !('method' in message))
      .map((message) => message.id)
      .filter((id) => id !== null);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 20, 30, 31, 32]));
    expect(server.lines.every((line) => line.length > 0)).toBe(true);
    expect(server.running).toBe(true);
  });
});
