import { CheckpointError } from './errors.js';
import { agentNameProblem, identifierProblem } from './identifiers.js';
import { CHECKPOINT_FILE, FEEDBACK_FILE, MANIFEST_FILE, PROJECT_FILE, SESSIONS_DIR } from './paths.js';
import { phaseByDirectory } from './phases.js';
import type { Store } from './store.js';

export type DocumentKind = 'project' | 'manifest' | 'checkpoint' | 'agent_output' | 'feedback';

export interface DocumentEntry {
  /** Path below the base directory, one name per segment. */
  path: string[];
  kind: DocumentKind;
}

/** What kind of document a path is, or undefined when it is none of the five. */
export function documentKind(path: readonly string[]): DocumentKind | undefined {
  const [project, second, session, third, file, ...rest] = path;
  if (project === undefined || identifierProblem(project) || rest.length > 0) return undefined;
  if (path.length === 2) return second === PROJECT_FILE ? 'project' : undefined;
  if (second !== SESSIONS_DIR || session === undefined || identifierProblem(session)) return undefined;
  if (path.length === 4) return third === MANIFEST_FILE ? 'manifest' : undefined;
  if (path.length !== 5 || third === undefined || !phaseByDirectory(third) || file === undefined)
    return undefined;
  if (file === CHECKPOINT_FILE) return 'checkpoint';
  if (file === FEEDBACK_FILE) return 'feedback';
  return file.endsWith('.md') && !agentNameProblem(file.slice(0, -3)) ? 'agent_output' : undefined;
}

/**
 * Up to `limit` documents in path order, after `after`. Whole folders that sort before the cursor
 * are skipped without being listed, so a late page costs about what the first one does.
 */
export async function listDocuments(
  store: Store,
  after: readonly string[] | undefined,
  limit: number,
): Promise<DocumentEntry[]> {
  const found: DocumentEntry[] = [];
  await walk(store, [], after, limit, found);
  return found;
}

async function walk(
  store: Store,
  dir: string[],
  after: readonly string[] | undefined,
  limit: number,
  found: DocumentEntry[],
): Promise<void> {
  const names = (await store.list(dir)).map((entry) => entry.name).sort(compare);
  const cursor = after?.[dir.length];
  for (const name of names) {
    if (found.length >= limit) return;
    if (cursor !== undefined && compare(name, cursor) < 0) continue;
    const path = [...dir, name];
    // Past the cursor's own folder, nothing below needs skipping.
    const below = cursor !== undefined && name === cursor ? after : undefined;
    const kind = documentKind(path);
    if (kind) {
      if (below === undefined || below.length > path.length) found.push({ path, kind });
    } else if (path.length < 5 && mayHoldDocuments(path)) {
      await walk(store, path, below, limit, found);
    }
  }
}

function mayHoldDocuments(path: readonly string[]): boolean {
  if (identifierProblem(path[0] ?? '')) return false;
  if (path.length === 2) return path[1] === SESSIONS_DIR;
  if (path.length === 3) return !identifierProblem(path[2] ?? '');
  if (path.length === 4) return phaseByDirectory(path[3] ?? '') !== undefined;
  return path.length === 1;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text of a document, or NOT_FOUND. */
export async function readDocument(store: Store, path: readonly string[]): Promise<string> {
  if (!documentKind(path)) {
    throw new CheckpointError('NOT_FOUND', `${path.join('/')} is not a checkpoint document`);
  }
  const text = await store.read(path);
  if (text === undefined) throw new CheckpointError('NOT_FOUND', `${path.join('/')} not found`);
  return text;
}

export function encodeDocumentCursor(path: readonly string[]): string {
  return Buffer.from(JSON.stringify(path), 'utf8').toString('base64url');
}

export function decodeDocumentCursor(cursor: string): string[] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.every((part) => typeof part === 'string') && documentKind(parsed))
      return parsed;
  } catch {
    // Reported below with the way out.
  }
  throw new CheckpointError(
    'INVALID_ARGUMENT',
    'cursor is not one this server returned; omit it to list from the start',
  );
}
