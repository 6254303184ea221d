import { readFile } from 'node:fs/promises';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  isSpecType,
} from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  errorVerdict,
  messageVerdict,
  notificationVerdict,
  requestVerdict,
  resultVerdict,
  type Verdict,
} from '../src/transports/jsonrpc-verdicts.js';

// Each verdict stands in front of one of the SDK's checks (scripts/bundle.mjs): where it answers, it must
// answer as the SDK's schema does, for any value. Here the SDK's checks are its own, unpatched.
const PAIRS: Array<[string, (value: unknown) => Verdict, (value: unknown) => boolean]> = [
  ['request', requestVerdict, isJSONRPCRequest],
  ['notification', notificationVerdict, isJSONRPCNotification],
  ['result', resultVerdict, isJSONRPCResultResponse],
  ['error', errorVerdict, isJSONRPCErrorResponse],
];

/** Every verdict given for `value` agrees with its schema; how many were given, and how many said yes. */
function expectAgreement(value: unknown): number {
  let given = 0;
  accepted = 0;
  for (const [kind, verdict, schema] of PAIRS) {
    const answer = verdict(value);
    if (answer === undefined) continue;
    given++;
    if (answer) accepted++;
    expect({ kind, value, answer }).toEqual({ kind, value, answer: schema(value) });
  }
  const message = messageVerdict(value);
  if (message !== undefined)
    expect({ value, message }).toEqual({ value, message: isSpecType.JSONRPCMessage(value) });
  return given;
}

/** How many verdicts of the last expectAgreement were true. */
let accepted = 0;

const ABSENT = Symbol('absent');

/** A member as its shape wants it (most often), absent, or of a wrong type. */
function member(good: fc.Arbitrary<unknown>, wrong: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: good },
    { weight: 1, arbitrary: fc.constant(ABSENT) },
    { weight: 2, arbitrary: fc.constantFrom(...wrong) },
  );
}

/** A member a shape lacks: most often absent. */
function stray(values: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(ABSENT) },
    { weight: 1, arbitrary: fc.constantFrom(...values) },
  );
}

const jsonrpc = member(fc.constant('2.0'), ['1.0', 2, undefined]);
const id = member(fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), [
  undefined,
  null,
  true,
  1.5,
  -0,
  2 ** 53,
  2 ** 60,
  Number.NaN,
  Infinity,
]);
const method = member(fc.string({ maxLength: 12 }), [undefined, 3, null]);
const params = member(
  fc.constantFrom(ABSENT, {}, { name: 'save_agent_output', arguments: { phase_num: 1 } }),
  [
    undefined,
    null,
    [],
    'x',
    { _meta: { progressToken: 7 } },
    { _meta: { progressToken: 1.5 } },
    { _meta: 'x' },
    { _meta: undefined },
  ],
);
const result = member(fc.constantFrom({}, { content: [{ type: 'text', text: 'a' }] }), [
  undefined,
  null,
  [],
  'x',
  { _meta: {} },
  { _meta: 5 },
]);
const error = member(fc.constantFrom({ code: -32600, message: 'm' }, { code: 1, message: 'm', data: [1] }), [
  undefined,
  null,
  {},
  { code: 1.5, message: 'm' },
]);
const strays = {
  id: stray([1, undefined]),
  method: stray(['m', undefined]),
  params: stray([{}]),
  result: stray([{}, undefined]),
  error: stray([{ code: 1, message: 'm' }, undefined]),
  extra: stray(['x', undefined]),
};

/** Messages near the four shapes: each mostly right, some member missing, wrong, or one too many. */
const nearMessage = fc
  .oneof(
    fc.record({ ...strays, jsonrpc, id, method, params }),
    fc.record({ ...strays, jsonrpc, method, params }),
    fc.record({ ...strays, jsonrpc, id, result }),
    fc.record({ ...strays, jsonrpc, id, error }),
  )
  .map((fields) => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ABSENT)));

describe('JSON-RPC verdicts against the SDK schemas', () => {
  it('answer the plain shapes themselves, as the schemas do', () => {
    const request = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'x', arguments: {} } };
    const notification = { jsonrpc: '2.0', method: 'notifications/initialized' };
    const result = { jsonrpc: '2.0', id: 'a', result: { content: [], structuredContent: { a: 1 } } };
    expect(requestVerdict(request)).toBe(true);
    expect(notificationVerdict(notification)).toBe(true);
    expect(resultVerdict(result)).toBe(true);
    // Every kind is asked of every message: each answers the others' shapes without its schema.
    for (const value of [request, notification, result]) expect(expectAgreement(value)).toBe(4);
    expect(errorVerdict({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } })).toBeUndefined();
  });

  it('leave to the schema what only it can tell', () => {
    const unsure = [
      { jsonrpc: '2.0', id: 1, method: 'm', params: { _meta: { progressToken: 1 } } },
      { jsonrpc: '2.0', id: 2 ** 60, method: 'm' },
      { jsonrpc: '2.0', id: 1, method: 'm', extra: 1 },
      { jsonrpc: '2.0', id: 1, result: { _meta: {} } },
    ];
    for (const value of unsure) {
      expect(messageVerdict(value)).toBeUndefined();
      expectAgreement(value);
    }
  });

  it('agree with the schemas on values that are no message at all', () => {
    for (const value of [null, undefined, 0, 'x', [], [{ jsonrpc: '2.0', id: 1, method: 'm' }], true]) {
      expect(expectAgreement(value)).toBe(4);
    }
  });

  it('agree with the schemas on any message near the four shapes', () => {
    let given = 0;
    let yes = 0;
    fc.assert(
      fc.property(nearMessage, (value) => {
        given += expectAgreement(value);
        yes += accepted;
      }),
      { numRuns: 5000 },
    );
    // Not vacuous: of 20,000 checks, most are answered without a schema, and some of those say yes.
    expect(given).toBeGreaterThan(10_000);
    expect(yes).toBeGreaterThan(500);
  });

  it('stand in front of the SDK checks in the built server', async () => {
    const bundle = await readFile(new URL('../dist/server.cjs', import.meta.url), 'utf8');
    for (const [name, schema, verdict] of [
      ['isJSONRPCRequest', 'JSONRPCRequestSchema', 'requestVerdict'],
      ['isJSONRPCNotification', 'JSONRPCNotificationSchema', 'notificationVerdict'],
      ['isJSONRPCResultResponse', 'JSONRPCResultResponseSchema', 'resultVerdict'],
      ['isJSONRPCErrorResponse', 'JSONRPCErrorResponseSchema', 'errorVerdict'],
    ]) {
      // The bundle is minified: its spaces and an arrow's parentheses are gone, its names are not.
      expect(bundle).toMatch(
        new RegExp(
          `${name}\\s*=\\s*\\(?value\\)?\\s*=>\\s*${verdict}\\(value\\)\\s*\\?\\?\\s*${schema}\\.safeParse\\(value\\)\\.success`,
        ),
      );
    }
  });
});
