import type { z } from 'zod';

/**
 * The first problem zod found with a tool's arguments, said the way every other error is said: the
 * argument's path, what was wanted and what came. Missing is "is required"; an unknown argument names
 * the nearest known one, so a typo is caught instead of silently ignored.
 */
export function argumentProblem(error: z.ZodError, schema: z.ZodType): string {
  // A typo shows as an unknown name and a missing one: the unknown name is the one to report.
  const issue = error.issues.find((found) => found.code === 'unrecognized_keys') ?? error.issues[0];
  if (issue === undefined) return 'the arguments do not match the input schema';
  const path = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, issue.path);
    const name = issue.keys[0] ?? '';
    const where = path === '' ? '' : `${path}.`;
    const nearest = nearestName(name, known);
    const advice = nearest
      ? `did you mean ${where}${nearest}?`
      : known.length > 0
        ? `the arguments here are ${known.join(', ')}`
        : 'leave it out';
    return `unknown argument ${where}${name}; ${advice}`;
  }
  // A missing argument: zod calls a missing enum an invalid value, of input undefined (JSON has none).
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined)
    return `${path} is required`;
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input'))
    return `${path} must be ${withArticle(issue.expected)}, got ${describeValue(issue.input)}`;
  // Our schemas write their own messages, naming the field: the path says which one (agents[0].cost).
  const field = issue.path.at(-1);
  const message =
    typeof field === 'string' && issue.message.startsWith(`${field} `)
      ? `${path}${issue.message.slice(field.length)}`
      : path === ''
        ? issue.message
        : `${path}: ${issue.message}`;
  const got =
    issue.code === 'invalid_type' || issue.code === 'invalid_value'
      ? `, got ${describeValue(issue.input)}`
      : '';
  return `${message}${got}`;
}

function withArticle(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** `agents[0].cost` from zod's path. */
export function pathText(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const part of path)
    text += typeof part === 'number' ? `[${part}]` : `${text === '' ? '' : '.'}${String(part)}`;
  return text;
}

/** What a value is, for "got ...": its JSON type, and a short excerpt of small values. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const excerpt = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `string ${JSON.stringify(excerpt)}`;
  }
  return `${typeof value} ${String(value)}`;
}

/** The closest of `candidates` to `name` by edit distance, when close enough to be a typo. */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const within = Math.max(2, Math.ceil(name.length / 3));
  const sharesStem = best !== undefined && (best.startsWith(name) || name.startsWith(best));
  return best !== undefined && (bestDistance <= within || sharesStem) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The property names of the object schema at `path` inside `schema`. */
function knownKeys(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let node: unknown = schema;
  for (const part of path) node = childOf(node, part);
  const shape = shapeOf(node);
  return shape ? Object.keys(shape) : [];
}

function childOf(node: unknown, part: PropertyKey): unknown {
  const inner = unwrap(node) as { element?: unknown } | undefined;
  if (typeof part === 'number') return unwrap(inner?.element);
  return unwrap(shapeOf(inner)?.[String(part)]);
}

function shapeOf(node: unknown): Record<string, unknown> | undefined {
  const inner = unwrap(node) as { shape?: Record<string, unknown> } | undefined;
  return inner?.shape;
}

/** Through optional and default wrappers to the schema they hold (never into an array's element). */
function unwrap(node: unknown): unknown {
  let current = node as { unwrap?: () => unknown; _zod?: { def?: { type?: string } } } | undefined;
  while (current && WRAPPERS.has(current._zod?.def?.type ?? '') && typeof current.unwrap === 'function') {
    current = current.unwrap() as typeof current;
  }
  return current;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'readonly', 'nonoptional']);
