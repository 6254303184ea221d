// Quick answers to the SDK's four questions about a JSON-RPC message (isJSONRPCRequest,
// isJSONRPCNotification, isJSONRPCResultResponse, isJSONRPCErrorResponse), each a zod safeParse of a
// strict schema. Every request is asked all four, some twice, and a message is asked again on its way
// out; a check that fails builds an error, its issues and their messages. Each verdict answers only
// where the schema's answer is certain (a field the schema requires is missing, or the message is the
// common plain shape), and undefined otherwise, for the schema to decide: the answer is the schema's
// either way. scripts/bundle.mjs puts them in front of the SDK's checks; test/transports/
// jsonrpc-verdicts.test.ts holds them to the SDK's schemas.
//
// The shapes (@modelcontextprotocol/server's JSONRPC*Schema):
//   request       {jsonrpc: '2.0', id: string | integer, method: string, params?: {_meta?, ...}}  strict
//   notification  {jsonrpc: '2.0', method: string, params?: {_meta?, ...}}                       strict
//   result        {jsonrpc: '2.0', id: string | integer, result: {_meta?, ...}}                  strict
//   error         {jsonrpc: '2.0', id?: string | integer, error: {code, message, data?}}         strict

/** true or false where the schema's answer is certain; undefined where only the schema can tell. */
export type Verdict = boolean | undefined;

const REQUEST_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'result']);

export function requestVerdict(value: unknown): Verdict {
  if (!isRecord(value) || typeof value.method !== 'string' || value.id === undefined) return false;
  const plain =
    value.jsonrpc === '2.0' && isId(value.id) && plainParams(value.params) && keysWithin(value, REQUEST_KEYS);
  return plain ? true : undefined;
}

export function notificationVerdict(value: unknown): Verdict {
  // The strict schema has no id: a message with one is a request or a response, never a notification.
  if (!isRecord(value) || typeof value.method !== 'string' || value.id !== undefined) return false;
  const plain = value.jsonrpc === '2.0' && plainParams(value.params) && keysWithin(value, NOTIFICATION_KEYS);
  return plain ? true : undefined;
}

export function resultVerdict(value: unknown): Verdict {
  if (!isRecord(value) || value.result === undefined) return false;
  const { result } = value;
  const plain =
    value.jsonrpc === '2.0' &&
    isId(value.id) &&
    isRecord(result) &&
    result._meta === undefined &&
    keysWithin(value, RESULT_KEYS);
  return plain ? true : undefined;
}

/** Error responses are rare: only a message without `error` is answered here. */
export function errorVerdict(value: unknown): Verdict {
  if (!isRecord(value) || value.error === undefined) return false;
  return undefined;
}

/** A message of one of the four shapes, where a verdict is certain of it; undefined otherwise. */
export function messageVerdict(value: unknown): true | undefined {
  return requestVerdict(value) || notificationVerdict(value) || resultVerdict(value) ? true : undefined;
}

/** What zod's object schemas take: any object but null and arrays. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A safe integer is an integer by any reading of the schema's number().int(); other numbers go to the schema. */
function isId(id: unknown): boolean {
  return typeof id === 'string' || Number.isSafeInteger(id);
}

/** Params absent, or an object without _meta (whose fields the schema checks): any other member is allowed. */
function plainParams(params: unknown): boolean {
  return params === undefined || (isRecord(params) && params._meta === undefined);
}

/** Whether every enumerable key of `value` is one of `allowed` (the schemas are strict). */
function keysWithin(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}
