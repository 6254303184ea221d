import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MAX_LISTEN_URIS } from '../../src/transports/http.js';
import {
  callOk,
  connectClient,
  rpcMessageOf,
  spawnHttpServer,
  startHttpServer,
  tempDir,
  toolCallBody,
  toolCallHeaders,
} from '../helpers/http-server.js';

const REF = { project_id: 'p1', session_id: 's1' };

/** `request` written whole to the server over a raw socket, and all it answered until it closed. */
function rawRequest(origin: string, request: string): Promise<string> {
  const { hostname, port } = new URL(origin);
  const socket = connect(Number(port), hostname);
  socket.write(request);
  return new Promise<string>((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
}

/** Headers, then the first bytes of a body of `declared` bytes: the rest never comes. */
function stalledUpload(origin: string, declared: number, sent: string): Promise<string> {
  const port = new URL(origin).port;
  return rawRequest(
    origin,
    `POST /mcp HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${declared}\r\n\r\n${sent}`,
  );
}

/** A POST to /mcp with the Host header given (fetch will not send a false one). */
function postWithHost(origin: string, host: string, body: string): Promise<string> {
  return rawRequest(
    origin,
    `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A 2026-07-28 tools/call of `tool` with `body` as it is, through fetch. */
function postToolCall(url: string, tool: string, body: BodyInit): Promise<Response> {
  return fetch(url, { method: 'POST', headers: toolCallHeaders(tool), body });
}

/** Phase 1 of REF holds no saved output: the refused request saved nothing. */
async function expectNoOutputs(client: Parameters<typeof callOk>[0]): Promise<void> {
  const listed = await callOk<{ outputs: Record<string, Record<string, string>> }>(
    client,
    'get_phase_outputs',
    {
      ...REF,
      phase_nums: [1],
    },
  );
  expect(listed.outputs['1'] ?? {}).toEqual({});
}

const LIST_TOOLS = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

describe('a request body that stops arriving', () => {
  it('is answered 408 once --request-timeout-ms has passed, not at Node’s next 30-second check', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir(), '--request-timeout-ms', '1000']);
    const started = Date.now();
    const answer = stalledUpload(server.origin, 100, '{"jsonrpc"');
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('Request Timeout: the body did not arrive within 1000 ms (--request-timeout-ms)');
    // Well before the 30 s Node waits between its own checks unless told otherwise.
    expect(Date.now() - started).toBeLessThan(15_000);
    // The slot it held is free again.
    const client = await connectClient(server.url, 'v2 pinned to 2026-07-28');
    await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
  });

  it('does not hold a SIGTERM: the server answers it 408 and exits 0', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir(), '--request-timeout-ms', '2000']);
    const answer = stalledUpload(server.origin, 100, '{"jsonrpc"');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // stop() sends SIGKILL after 20 s: an exit held by the upload would show as that signal.
    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('requests that are not what they claim', () => {
  it('answers a Host header that is not a host and port with 400, never 500 or 200', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    for (const host of ['evil.com@localhost', 'localhost/evil', 'localhost#x', 'localhost?x', 'local host']) {
      const text = await postWithHost(server.origin, host, LIST_TOOLS);
      expect(text, host).toMatch(/^HTTP\/1\.1 400 /);
      expect(text, host).toContain('Bad Request: the Host header must be a host name or address');
    }
    const fine = await postWithHost(server.origin, `localhost:${new URL(server.origin).port}`, LIST_TOOLS);
    expect(fine).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('answers a message nested thousands of levels deep with 400 Invalid Request, not a 500 from a stack overflow', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const body = toolCallBody(1, 'load_session', { ...REF, extra: '__DEEP__' }).replace('"__DEEP__"', deep);
    const answer = await postToolCall(server.url, 'load_session', body);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({
      error: { code: -32600, message: 'Invalid Request: the message is nested more than 256 levels deep' },
    });
  });

  it('refuses a body that is not UTF-8 with a parse error instead of saving U+FFFD in its place', async () => {
    const base = await tempDir();
    const server = await startHttpServer(['--base-dir', base]);
    const client = await connectClient(server.url, 'v2 pinned to 2026-07-28');
    await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
    const [before, after] = toolCallBody(2, 'save_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'bytes',
      output_content: '__BYTES__',
    }).split('__BYTES__');
    const body = Buffer.concat([
      Buffer.from(before ?? ''),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(after ?? ''),
    ]);
    const answer = await postToolCall(server.url, 'save_agent_output', body);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({
      error: { code: -32700, message: 'Parse error: the body is not valid UTF-8' },
    });
    await expectNoOutputs(client);
  });

  it('refuses an argument named __proto__ with an error result, as every unknown argument is', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    const body = toolCallBody(3, 'load_session', { ...REF, extra: 1 }).replace(
      '"extra":1',
      '"__proto__":{"x":1}',
    );
    const answer = await postToolCall(server.url, 'load_session', body);
    expect(answer.status).toBe(200);
    expect(rpcMessageOf(answer.headers.get('content-type'), await answer.text())).toMatchObject({
      id: 3,
      result: {
        isError: true,
        content: [{ type: 'text', text: 'INVALID_ARGUMENT: unknown argument __proto__; leave it out' }],
      },
    });
  });

  it('counts a batch as the requests it holds against --max-connections', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir(), '--max-connections', '2']);
    const client = await connectClient(server.url, 'v2 pinned to 2026-07-28');
    await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
    const batch = (size: number) =>
      JSON.stringify(
        Array.from({ length: size }, (_, i) => ({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: 'load_session', arguments: REF },
        })),
      );
    const headers = { ...toolCallHeaders('load_session'), 'MCP-Protocol-Version': '2025-11-25' };
    const over = await fetch(server.url, { method: 'POST', headers, body: batch(3) });
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('1');
    expect(await over.json()).toMatchObject({ error: { message: expect.stringContaining('a batch of 3') } });
    const fits = await fetch(server.url, { method: 'POST', headers, body: batch(2) });
    expect(fits.status).toBe(200);
  });

  it('refuses a batch whose tools/call names __proto__ whole, running none of it', async () => {
    const base = await tempDir();
    const server = await startHttpServer(['--base-dir', base]);
    const client = await connectClient(server.url, 'v2 pinned to 2026-07-28');
    await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
    const save = (id: number, agent: string) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: 'save_agent_output',
        arguments: { ...REF, phase_num: 1, agent_name: agent, output_content: 'text' },
      },
    });
    const body = JSON.stringify([save(1, 'first'), save(2, 'second')]).replace(
      '"output_content":"text"}}}]',
      '"output_content":"text","__proto__":{"x":1}}}}]',
    );
    const headers = { ...toolCallHeaders('save_agent_output'), 'MCP-Protocol-Version': '2025-11-25' };
    const answer = await fetch(server.url, { method: 'POST', headers, body });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({
      error: {
        code: -32600,
        message: expect.stringMatching(
          /^Invalid Request: the tools\/call at index 1 of the batch names the argument __proto__/,
        ),
      },
    });
    // Neither save ran, the one without __proto__ included.
    await expectNoOutputs(client);
  });

  it('answers a POST that is not application/json with 415 before reading its body, JSON or not', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    for (const [type, body] of [
      ['text/plain', 'not json at all'],
      ['text/plain', LIST_TOOLS],
      ['application/x-www-form-urlencoded', 'a=1'],
    ] as const) {
      const answer = await fetch(server.url, {
        method: 'POST',
        headers: { ...toolCallHeaders('load_session'), 'Content-Type': type },
        body,
      });
      expect(answer.status, `${type} ${body}`).toBe(415);
      expect(await answer.json()).toMatchObject({
        error: {
          code: -32000,
          message: expect.stringMatching(/^Unsupported Media Type: Content-Type must be application\/json/),
        },
      });
    }
    // Parameters of the media type are fine.
    const fine = await fetch(server.url, {
      method: 'POST',
      headers: { ...toolCallHeaders('load_session'), 'Content-Type': 'application/json; charset=utf-8' },
      body: toolCallBody(1, 'load_session', REF),
    });
    expect(fine.status).toBe(200);
  });

  it(`refuses a listen naming more than ${MAX_LISTEN_URIS} resources with -32602, watching none of them`, async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    const uris = Array.from(
      { length: MAX_LISTEN_URIS + 1 },
      (_, i) => `checkpoint://p1/sessions/s${i}/manifest`,
    );
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 'listen-1',
      method: 'subscriptions/listen',
      params: {
        notifications: { resourceSubscriptions: uris },
        _meta: JSON.parse(toolCallBody(0, 'x', {})).params._meta,
      },
    });
    const headers = { ...toolCallHeaders('x'), 'Mcp-Method': 'subscriptions/listen' };
    delete (headers as Record<string, string>)['Mcp-Name'];
    const answer = await fetch(server.url, { method: 'POST', headers, body });
    expect(answer.status).toBe(400);
    const message = rpcMessageOf(answer.headers.get('content-type'), await answer.text());
    expect(message).toMatchObject({
      id: 'listen-1',
      error: { code: -32602, message: expect.stringContaining(`over the limit of ${MAX_LISTEN_URIS}`) },
    });
  });

  it('answers HEAD /healthz like GET, without a body', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    const answer = await fetch(`${server.origin}/healthz`, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('');
  });

  it('answers /healthz in another method with 405 and Allow: GET, HEAD, not 404 naming /mcp', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await fetch(`${server.origin}/healthz`, { method });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, HEAD');
      expect(await answer.json()).toMatchObject({
        error: { message: `Method not allowed: /healthz answers GET and HEAD, not ${method}` },
      });
    }
  });
});

describe('settings that could only lock everyone out', () => {
  it('refuses to start with a bearer token holding a space, which no request could send', async () => {
    const server = spawnHttpServer(['--base-dir', await tempDir()], { CHECKPOINT_HTTP_TOKEN: 'two words' });
    expect(await server.exited).toEqual({ code: 2, signal: null });
    expect(server.stderr()).toContain('the bearer token in CHECKPOINT_HTTP_TOKEN holds a space');
    expect(server.stderr()).not.toContain('two words');
  });

  it('takes a token with spaces around it, as --token-file does, and serves requests that send it', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()], {
      CHECKPOINT_HTTP_TOKEN: ' secret-token \n',
    });
    const client = await connectClient(server.url, 'v2 pinned to 2026-07-28', {
      Authorization: 'Bearer secret-token',
    });
    await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
  });

  it('accepts a Host and an Origin that --allowed-hosts and --allowed-origins name in capitals', async () => {
    const server = await startHttpServer([
      '--base-dir',
      await tempDir(),
      '--allowed-hosts',
      'Checkpoints.Example.COM',
      '--allowed-origins',
      'App.Example.COM',
    ]);
    // Browsers and proxies send names in lower case; the name is the same in any letters.
    expect(await postWithHost(server.origin, 'checkpoints.example.com', LIST_TOOLS)).toMatch(
      /^HTTP\/1\.1 200 /,
    );
    expect(
      await postWithHost(
        server.origin,
        'checkpoints.example.com\r\nOrigin: https://app.example.com',
        LIST_TOOLS,
      ),
    ).toMatch(/^HTTP\/1\.1 200 /);
    expect(await postWithHost(server.origin, 'other.example.com', LIST_TOOLS)).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('refuses --allowed-hosts or --allowed-origins with a port, a scheme or a path', async () => {
    for (const [option, value] of [
      ['--allowed-hosts', 'example.com:8443'],
      ['--allowed-origins', 'https://example.com'],
      ['--allowed-hosts', 'example.com/mcp'],
    ] as const) {
      const server = spawnHttpServer(['--base-dir', await tempDir(), option, value]);
      expect(await server.exited, value).toEqual({ code: 2, signal: null });
      expect(server.stderr()).toContain(
        `${option} takes host names or addresses without a scheme, port or path`,
      );
      expect(server.stderr()).toContain(JSON.stringify(value));
    }
  });
});

describe('an IPv6 loopback --host', () => {
  it('listens on --host [::1] given bracketed, as a URL writes it, and serves a client there', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir(), '--host', '[::1]']);
    expect(server.url).toMatch(/^http:\/\/\[::1\]:\d+\/mcp$/);
    const client = await connectClient(server.url, 'v2 pinned to 2026-07-28');
    await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
  });
});

describe('a loopback --host in other spellings', () => {
  it('serves without a token on LOCALHOST and on 0:0:0:0:0:0:0:1, which are loopback as localhost and [::1] are', async () => {
    for (const host of ['LOCALHOST', '0:0:0:0:0:0:0:1']) {
      const server = await startHttpServer(['--base-dir', await tempDir(), '--host', host]);
      const client = await connectClient(server.url, 'v2 pinned to 2026-07-28');
      await callOk(client, 'list_projects', {});
    }
  });
});
