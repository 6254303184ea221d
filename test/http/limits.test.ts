import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentOutput } from '../../src/checkpoint/formats/agent-output.js';
import {
  callError,
  callOk,
  connectClient,
  rpcMessageOf,
  spawnHttpServer,
  startHttpServer,
  tempDir,
  toolCallBody,
  toolCallHeaders,
} from '../helpers/http-server.js';

const MiB = 1024 * 1024;
const REF = { project_id: 'p1', session_id: 's1' };
const PHASE_1 = ['p1', 'sessions', 's1', 'phase_1_concept'];

async function servedSession(args: string[] = []) {
  const base = await tempDir();
  const server = await startHttpServer(['--base-dir', base, ...args]);
  const client = await connectClient(server.url, 'v2 pinned to 2026-07-28');
  await callOk(client, 'create_session', { ...REF, user_id: 'u1' });
  return { base, server, client };
}

/**
 * Exactly `bytes` of UTF-8 that JSON escapes at up to six bytes a byte: control characters (`\u0001`),
 * quotes, backslashes, line breaks, a NUL, and characters outside the BMP whose surrogate pairs a page
 * boundary could split.
 */
function escapeHeavyText(bytes: number): string {
  const controls = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');
  const unit = `${controls.repeat(8)}\u0000"\\\n\r\t😀é## Output\n`;
  let text = unit.repeat(Math.floor(bytes / Buffer.byteLength(unit, 'utf8')));
  text += '\u0002'.repeat(bytes - Buffer.byteLength(text, 'utf8'));
  return text;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A request through node:http, which sends the Host header given instead of the one of the URL. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Sends the headers of a POST and none of its body, and resolves with the answer. (A client that goes on
 * sending a body past the limit can meet a reset connection before it reads the 413, so none is sent.)
 */
function declaredOnly(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('content limits over HTTP', () => {
  it('saves the largest allowed output, 4 MiB of UTF-8 that JSON-escapes to over 20 MiB, and reads it back exactly in get_agent_output pages', async () => {
    const { base, client } = await servedSession();
    const content = escapeHeavyText(4 * MiB);
    expect(Buffer.byteLength(content, 'utf8')).toBe(4 * MiB);
    expect(Buffer.byteLength(JSON.stringify(content), 'utf8')).toBeGreaterThan(20 * MiB);

    const saved = await callOk(client, 'save_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'largest',
      output_content: content,
    });
    expect(saved).toEqual({
      phase_num: 1,
      agent_name: 'largest',
      file: 'p1/sessions/s1/phase_1_concept/largest.md',
      sha256: sha256(content),
    });

    const pages: string[] = [];
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const page: { content: string; offset: number; total_chars: number; next_offset?: number } =
        await callOk(client, 'get_agent_output', { ...REF, phase_num: 1, agent_name: 'largest', offset });
      expect(page.offset).toBe(offset);
      expect(page.total_chars).toBe(content.length);
      pages.push(page.content);
      offset = page.next_offset;
    }
    expect(pages.length).toBeGreaterThan(4);
    const joined = pages.join('');
    expect(joined.length).toBe(content.length);
    expect(sha256(joined)).toBe(sha256(content));

    const file = await readFile(join(base, ...PHASE_1, 'largest.md'), 'utf8');
    const parsed = parseAgentOutput(file, 'largest.md');
    expect(parsed.sha256).toBe(sha256(content));
    expect(parsed.content === content).toBe(true);
  });

  it('refuses an output of 4 MiB and one byte with LIMIT_EXCEEDED and writes nothing', async () => {
    const { base, client } = await servedSession();
    const text = await callError(
      client,
      'save_agent_output',
      { ...REF, phase_num: 1, agent_name: 'too_large', output_content: `${escapeHeavyText(4 * MiB)}x` },
      'LIMIT_EXCEEDED',
    );
    expect(text).toContain('output_content is 4194305 bytes of UTF-8, over the limit of 4194304');
    await expect(readFile(join(base, ...PHASE_1, 'too_large.md'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers a POST that declares a 30 MiB body with 413 LIMIT_EXCEEDED before reading it, and keeps serving', async () => {
    const { base, server, client } = await servedSession();
    const answer = await declaredOnly(server.url, {
      ...toolCallHeaders('save_agent_output'),
      'Content-Length': String(30 * MiB),
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({
      jsonrpc: '2.0',
      error: {
        code: -32600,
        message: expect.stringMatching(/^LIMIT_EXCEEDED: the request body is over 27262976 bytes/),
      },
      id: null,
    });
    expect(
      await callOk(client, 'save_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: 'after',
        output_content: 'ok',
      }),
    ).toMatchObject({ agent_name: 'after' });
    expect(
      parseAgentOutput(await readFile(join(base, ...PHASE_1, 'after.md'), 'utf8'), 'after.md').content,
    ).toBe('ok');
  });
});

describe('a body over the limit, sent whole', () => {
  it('gets 413 LIMIT_EXCEEDED every time, as a declared length or chunked, and the server keeps serving', async () => {
    const { server, client } = await servedSession();
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'save_agent_output', arguments: { output_content: 'x'.repeat(30 * MiB) } },
    });
    const chunked = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = Buffer.from(body);
          for (let at = 0; at < bytes.length; at += MiB) controller.enqueue(bytes.subarray(at, at + MiB));
          controller.close();
        },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { ...toolCallHeaders('save_agent_output') },
        body: i % 2 === 0 ? body : chunked(),
        ...(i % 2 === 0 ? {} : { duplex: 'half' }),
      } as RequestInit);
      statuses.push(response.status);
      expect(await response.text()).toMatch(/LIMIT_EXCEEDED: the request body is over 27262976 bytes/);
    }
    expect(statuses).toEqual([413, 413, 413, 413, 413, 413]);
    expect(
      await callOk(client, 'save_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: 'still',
        output_content: 'ok',
      }),
    ).toMatchObject({ agent_name: 'still' });
  });
});

describe('who may call over HTTP', () => {
  it('answers a request whose Host is not a localhost name with 403, and the same request with Host localhost with 200', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    const port = new URL(server.url).port;
    const foreign = await rawGet(`${server.origin}/healthz`, { Host: `evil.example.com:${port}` });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    expect(await rawGet(`${server.origin}/healthz`, { Host: `localhost:${port}` })).toEqual({
      status: 200,
      body: '{"status":"ok"}',
    });
  });

  it('answers a request from a foreign Origin with 403, and one from a localhost Origin normally', async () => {
    const base = await tempDir();
    const server = await startHttpServer(['--base-dir', base]);
    const port = new URL(server.url).port;
    const save = (origin: string) =>
      fetch(server.url, {
        method: 'POST',
        headers: { ...toolCallHeaders('create_session'), Origin: origin },
        body: toolCallBody(1, 'create_session', { ...REF, user_id: 'u1' }),
      });
    const foreign = await save('http://evil.example.com');
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    await expect(readFile(join(base, 'p1', 'project.md'))).rejects.toMatchObject({ code: 'ENOENT' });

    const local = await save(`http://localhost:${port}`);
    expect(local.status).toBe(200);
    const answer = rpcMessageOf(local.headers.get('content-type'), await local.text());
    expect(answer).toMatchObject({ id: 1, result: { structuredContent: { path: 'p1/sessions/s1' } } });
  });

  describe.each([
    ['CHECKPOINT_HTTP_TOKEN', 'env'],
    ['--token-file', 'file'],
  ] as const)('with a bearer token from %s', (_name, source) => {
    async function guarded() {
      const base = await tempDir();
      const token = randomBytes(32).toString('hex');
      const tokenFile = join(await tempDir(), 'token');
      await writeFile(tokenFile, `${token}\n`);
      const server =
        source === 'env'
          ? await startHttpServer(['--base-dir', base], { CHECKPOINT_HTTP_TOKEN: token })
          : await startHttpServer(['--base-dir', base, '--token-file', tokenFile]);
      const post = (headers: Record<string, string>) =>
        fetch(server.url, {
          method: 'POST',
          headers: { ...toolCallHeaders('create_session'), ...headers },
          body: toolCallBody(1, 'create_session', { ...REF, user_id: 'u1' }),
        });
      return { base, token, server, post };
    }

    it('answers a request without Authorization with 401 and WWW-Authenticate Bearer, and saves nothing', async () => {
      const { base, server, post } = await guarded();
      const response = await post({});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="checkpoint-mcp"');
      expect(await response.json()).toEqual({
        jsonrpc: '2.0',
        error: { code: -32001, message: 'Unauthorized: send Authorization: Bearer <token>' },
        id: null,
      });
      expect((await fetch(`${server.origin}/healthz`)).status).toBe(401);
      await expect(readFile(join(base, 'p1', 'project.md'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('answers a wrong token, or the right one in another scheme, with 401', async () => {
      const { base, token, post } = await guarded();
      for (const authorization of [
        `Bearer ${token.slice(0, -1)}`,
        `Bearer ${token}x`,
        `Basic ${token}`,
        'Bearer',
      ]) {
        const response = await post({ Authorization: authorization });
        expect(response.status, authorization).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="checkpoint-mcp"');
      }
      await expect(readFile(join(base, 'p1', 'project.md'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('serves v2 and v1 clients that send the right token, and /healthz with it', async () => {
      const { server, token } = await guarded();
      const headers = { Authorization: `Bearer ${token}` };
      const modern = await connectClient(server.url, 'v2 pinned to 2026-07-28', headers);
      expect(await callOk(modern, 'create_session', { ...REF, user_id: 'u1' })).toMatchObject({
        path: 'p1/sessions/s1',
      });
      const legacy = await connectClient(server.url, 'v2 in 2025 mode', headers);
      expect(await callOk(legacy, 'load_session', REF)).toMatchObject({ ...REF, revision: 1 });
      const v1 = await connectClient(server.url, 'v1', headers);
      expect(await callOk(v1, 'list_sessions', { project_id: 'p1' })).toMatchObject({
        sessions: [expect.objectContaining({ session_id: 's1' })],
      });
      const health = await fetch(`${server.origin}/healthz`, { headers });
      expect([health.status, await health.text()]).toEqual([200, '{"status":"ok"}']);
      await expect(connectClient(server.url, 'v2 pinned to 2026-07-28')).rejects.toThrow();
    });
  });
});

describe('serving over HTTP', () => {
  it('answers GET /healthz with 200 {"status":"ok"} and an unknown path with 404', async () => {
    const server = await startHttpServer(['--base-dir', await tempDir()]);
    const health = await fetch(`${server.origin}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toBe('application/json');
    expect(await health.json()).toEqual({ status: 'ok' });
    for (const path of ['/nope', '/mcp/extra', '/healthz/x']) {
      const missing = await fetch(`${server.origin}${path}`);
      expect(missing.status, path).toBe(404);
      expect(await missing.json()).toEqual({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Not found: the MCP endpoint is /mcp' },
        id: null,
      });
    }
  });

  it('refuses to start on a non-loopback host without a token: exit 2, a message naming CHECKPOINT_HTTP_TOKEN and --token-file, never listening', async () => {
    const server = spawnHttpServer(['--base-dir', await tempDir(), '--host', '0.0.0.0']);
    expect(await server.exited).toEqual({ code: 2, signal: null });
    expect(server.stderr()).toContain('CHECKPOINT_HTTP_TOKEN');
    expect(server.stderr()).toContain('--token-file');
    expect(server.stderr()).toContain('--host 0.0.0.0');
    expect(server.stderr()).not.toContain('listening');
  });

  it('with --max-connections 2, 30 concurrent large saves get some 503 with Retry-After, and every other one succeeds and is on disk', async () => {
    const { base, server } = await servedSession(['--max-connections', '2']);
    const contents = Array.from({ length: 30 }, (_, i) => `${i} ${'busy 😀 "line"\n'.repeat(60_000)}`);
    const answers = await Promise.all(
      contents.map(async (output_content, i) => {
        const response = await fetch(server.url, {
          method: 'POST',
          headers: toolCallHeaders('save_agent_output'),
          body: toolCallBody(i, 'save_agent_output', {
            ...REF,
            phase_num: 1,
            agent_name: `agent_${i}`,
            output_content,
          }),
        });
        const body = await response.text();
        return {
          i,
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          contentType: response.headers.get('content-type'),
          body,
        };
      }),
    );
    const busy = answers.filter((answer) => answer.status === 503);
    const served = answers.filter((answer) => answer.status !== 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    for (const answer of busy) {
      expect(answer.retryAfter).toBe('1');
      expect(JSON.parse(answer.body)).toEqual({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'the server is busy (2 requests under way); retry in a second' },
        id: null,
      });
      await expect(readFile(join(base, ...PHASE_1, `agent_${answer.i}.md`))).rejects.toMatchObject({
        code: 'ENOENT',
      });
    }
    for (const answer of served) {
      expect(answer.status).toBe(200);
      const content = contents[answer.i] ?? '';
      expect(rpcMessageOf(answer.contentType, answer.body)).toMatchObject({
        id: answer.i,
        result: { structuredContent: { agent_name: `agent_${answer.i}`, sha256: sha256(content) } },
      });
      const file = await readFile(join(base, ...PHASE_1, `agent_${answer.i}.md`), 'utf8');
      expect(parseAgentOutput(file, `agent_${answer.i}.md`).content === content).toBe(true);
    }
  });
});
