import * as z from 'zod';

type Json = Record<string, unknown>;

/**
 * A tool schema as tools/list shows it: zod's JSON Schema (2020-12, MCP's default dialect, so no
 * `$schema` line), without the ±2^53-1 bounds zod writes for every integer. Computed once per tool.
 */
export function listedSchema(schema: z.ZodObject, io: 'input' | 'output'): Json {
  const cache = io === 'input' ? inputs : outputs;
  const known = cache.get(schema);
  if (known) return known;
  const json = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Json;
  delete json.$schema;
  const listed = prune(json, io, 0) as Json;
  cache.set(schema, listed);
  return listed;
}

// A server is built per HTTP request: each schema is converted once per process, not per request.
const inputs = new WeakMap<z.ZodObject, Json>();
const outputs = new WeakMap<z.ZodObject, Json>();

function prune(node: unknown, io: 'input' | 'output', depth: number): unknown {
  if (Array.isArray(node)) return node.map((item) => prune(item, io, depth));
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'minimum' && value === Number.MIN_SAFE_INTEGER) continue;
    if (key === 'maximum' && value === Number.MAX_SAFE_INTEGER) continue;
    // Every JSON object key is a string: saying so adds nothing.
    if (key === 'propertyNames' && isPlainString(value)) continue;
    if (io === 'output' && !keptInOutput(key, value, depth)) continue;
    const nested = key === 'properties' || key === 'items' || key === 'additionalProperties';
    out[key] = prune(value, io, nested ? depth + 1 : depth);
  }
  return out;
}

/**
 * Outputs list the shape a client may rely on: types, and which top-level fields are always there.
 * What the values mean and which they can be is told once, in the tool's description and the
 * input schemas: every byte of tools/list is paid by every agent on every conversation.
 */
function keptInOutput(key: string, value: unknown, depth: number): boolean {
  if (key === 'description' || key === 'enum') return false;
  if (key === 'additionalProperties') return value !== false;
  if (key === 'required') return depth === 0;
  return true;
}

function isPlainString(value: unknown): boolean {
  return JSON.stringify(value) === '{"type":"string"}';
}
