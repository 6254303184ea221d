import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_DEPTH, nestedDeeperThan, StdioTransport } from '../../src/transports/stdio.js';

async function transportWith(onmessage: (message: JSONRPCMessage) => void) {
  const input = new PassThrough();
  const output = new PassThrough();
  const written: unknown[] = [];
  output.setEncoding('utf8');
  output.on('data', (text: string) => {
    for (const line of text.split('\n').filter(Boolean)) written.push(JSON.parse(line));
  });
  const diagnostics: string[] = [];
  const transport = new StdioTransport(input, output, {
    maxLineBytes: 1024 * 1024,
    onDiagnostic: (message) => diagnostics.push(message),
  });
  transport.onmessage = onmessage;
  await transport.start();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  return { input, written, diagnostics, settle };
}

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

describe('the stdio transport against input that breaks what reads it', () => {
  it('answers a request whose handler throws with -32603 and keeps reading', async () => {
    const seen: unknown[] = [];
    const { input, written, diagnostics, settle } = await transportWith((message) => {
      if ('method' in message && message.method === 'boom')
        throw new RangeError('Maximum call stack size exceeded');
      seen.push(message);
    });
    input.write('{"jsonrpc":"2.0","id":1,"method":"boom"}\n');
    input.write('{"jsonrpc":"2.0","method":"boom"}\n');
    input.write('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await settle();
    expect(written).toEqual([
      {
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32603, message: 'Internal error: the request could not be handled' },
      },
    ]);
    expect(seen).toEqual([{ jsonrpc: '2.0', id: 2, method: 'ping' }]);
    expect(diagnostics.filter((line) => line.includes('Maximum call stack size exceeded'))).toHaveLength(2);
  });

  it(`refuses a message nested more than ${MAX_MESSAGE_DEPTH} levels before anything walks it`, async () => {
    const seen: unknown[] = [];
    const { input, written, settle } = await transportWith((message) => seen.push(message));
    // The message is level 1 and params level 2: the value inside fills the rest.
    const fits = { jsonrpc: '2.0', id: 1, method: 'ping', params: { deep: nested(MAX_MESSAGE_DEPTH - 2) } };
    const over = { jsonrpc: '2.0', id: 2, method: 'ping', params: { deep: nested(MAX_MESSAGE_DEPTH - 1) } };
    input.write(`${JSON.stringify(fits)}\n${JSON.stringify(over)}\n`);
    await settle();
    expect(seen).toHaveLength(1);
    expect(written).toEqual([
      {
        jsonrpc: '2.0',
        id: 2,
        error: {
          code: -32600,
          message: `Invalid Request: the message is nested more than ${MAX_MESSAGE_DEPTH} levels deep`,
        },
      },
    ]);
  });

  it('measures depth without recursion, even a million levels deep', () => {
    expect(nestedDeeperThan(nested(1_000_000), MAX_MESSAGE_DEPTH)).toBe(true);
    expect(nestedDeeperThan(nested(MAX_MESSAGE_DEPTH), MAX_MESSAGE_DEPTH)).toBe(false);
    expect(nestedDeeperThan(nested(MAX_MESSAGE_DEPTH + 1), MAX_MESSAGE_DEPTH)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 'x' }], c: null }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
    expect(nestedDeeperThan('text', 0)).toBe(false);
    expect(
      nestedDeeperThan(
        Array.from({ length: 100_000 }, () => ({ x: 1 })),
        2,
      ),
    ).toBe(false);
  });
});
