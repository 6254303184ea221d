import { OUTPUT_HEADING } from '../formats/agent-output.js';
import { splitVerbatim } from '../formats/markdown.js';
import { encodedSize, sliceEnd } from '../model/budget.js';
import { CheckpointError, isPlantedLink } from '../model/errors.js';
import { agentNameProblem, identifierProblem } from '../model/identifiers.js';
import { CHECKPOINT_FILE, FEEDBACK_FILE, MANIFEST_FILE, PROJECT_FILE, SESSIONS_DIR } from '../model/paths.js';
import { phaseOfDirectory } from '../model/phases.js';
import type { Engine } from '../store/engine.js';

/** The generated session report, offered beside the documents. */
export const REPORT_FILE = 'report.md';

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
  if (path.length !== 5 || third === undefined || !phaseOfDirectory(third) || file === undefined)
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
  store: Engine,
  after: readonly string[] | undefined,
  limit: number,
): Promise<DocumentEntry[]> {
  const found: DocumentEntry[] = [];
  await walk(store, [], after, limit, found);
  return found;
}

async function walk(
  store: Engine,
  dir: string[],
  after: readonly string[] | undefined,
  limit: number,
  found: DocumentEntry[],
): Promise<void> {
  // Only real files and folders: a link planted in the tree is passed over, as list_projects does.
  const entries = (await store.list(dir)).sort((a, b) => compare(a.name, b.name));
  const cursor = after?.[dir.length];
  for (const { name, kind: entryKind } of entries) {
    if (found.length >= limit) return;
    if (cursor !== undefined && compare(name, cursor) < 0) continue;
    const path = [...dir, name];
    // Past the cursor's own folder, nothing below needs skipping.
    const below = cursor !== undefined && name === cursor ? after : undefined;
    const kind = documentKind(path);
    if (kind) {
      if (entryKind === 'file' && (below === undefined || below.length > path.length))
        found.push({ path, kind });
    } else if (entryKind === 'directory' && path.length < 5 && mayHoldDocuments(path)) {
      // A folder swapped for a link after it was listed is passed over like one listed as a link.
      await walk(store, path, below, limit, found).catch(skipPlantedLink);
    }
  }
}

function mayHoldDocuments(path: readonly string[]): boolean {
  if (identifierProblem(path[0] ?? '')) return false;
  if (path.length === 2) return path[1] === SESSIONS_DIR;
  if (path.length === 3) return !identifierProblem(path[2] ?? '');
  if (path.length === 4) return phaseOfDirectory(path[3] ?? '') !== undefined;
  return path.length === 1;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text of a document, or NOT_FOUND. */
export async function readDocument(store: Engine, path: readonly string[]): Promise<string> {
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

function skipPlantedLink(error: unknown): void {
  if (!isPlantedLink(error)) throw error;
}

export interface BoundedDocument {
  text: string;
  /** Set when the text was cut: the length of the whole document. */
  total_chars?: number;
}

/**
 * A document's text within `budget` JSON-encoded bytes. A cut one ends with a line that says so and
 * where the rest is: for an agent output, the get_agent_output call that reads on from the cut.
 */
export function boundedDocument(path: readonly string[], text: string, budget: number): BoundedDocument {
  if (encodedSize(text) <= budget) return { text };
  const note = (cut: number) =>
    `\n\n[Cut to fit the response: ${cut} of ${text.length} characters. ${continuation(path, text, cut)}]`;
  // The note's own size, with the widest numbers it can hold, comes off the budget first.
  const room = Math.max(1, budget - encodedSize(note(text.length)));
  const cut = sliceEnd(text, 0, text.length, room);
  return { text: `${text.slice(0, cut)}${note(cut)}`, total_chars: text.length };
}

function continuation(path: readonly string[], text: string, cut: number): string {
  const [project = '', , session = '', dir = '', file = ''] = path;
  const phase = phaseOfDirectory(dir);
  if (documentKind(path) === 'agent_output' && phase) {
    const { body = '' } = splitVerbatim(text, OUTPUT_HEADING);
    const offset = Math.max(0, cut - (text.length - body.length));
    const call = {
      project_id: project,
      session_id: session,
      phase_num: phase.num,
      agent_name: file.slice(0, -3),
      offset,
    };
    return `Read on with get_agent_output ${JSON.stringify(call)}`;
  }
  if (documentKind(path) === 'project')
    return `The whole idea is in get_project, or in the file ${path.join('/')}`;
  return `The whole document is the file ${path.join('/')} in the base directory`;
}
