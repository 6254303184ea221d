import {
  ProtocolError,
  type ReadResourceResult,
  type Resource,
  ResourceNotFoundError,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { CheckpointError, isCheckpointError } from '../checkpoint/model/errors.js';
import {
  boundedDocument,
  type DocumentEntry,
  decodeDocumentCursor,
  encodeDocumentCursor,
  listDocuments,
  readDocument,
} from '../checkpoint/session/documents.js';
import { completions } from './completions.js';
import type { ToolContext } from './deps.js';
import { documentPathOf, isReportPath, pathOf, SCHEME } from './uris.js';

const MIME = 'text/markdown';
const PAGE = 100;

const TEMPLATES: Array<{ name: string; title: string; template: string; description: string }> = [
  {
    name: 'project',
    title: 'Project',
    template: '{project_id}/project.md',
    description: 'project.md: metadata and the startup idea.',
  },
  {
    name: 'session_manifest',
    title: 'Session manifest',
    template: '{project_id}/sessions/{session_id}/session_manifest.md',
    description: 'The session manifest: every phase status, current phase, totals.',
  },
  {
    name: 'session_report',
    title: 'Session report',
    template: '{project_id}/sessions/{session_id}/report.md',
    description:
      'Generated report: phase table, gantt of timings, per-agent tokens and cost, reviews (as export_session).',
  },
  {
    name: 'checkpoint',
    title: 'Phase checkpoint',
    template: '{project_id}/sessions/{session_id}/{phase_dir}/checkpoint.md',
    description: "A phase's checkpoint.md.",
  },
  {
    name: 'user_feedback',
    title: 'User feedback',
    template: '{project_id}/sessions/{session_id}/{phase_dir}/user_feedback.md',
    description: 'The human review of a phase.',
  },
  {
    name: 'agent_output',
    title: 'Agent output',
    template: '{project_id}/sessions/{session_id}/{phase_dir}/{agent_name}.md',
    description: "One agent's output for a phase.",
  },
];

/**
 * The markdown documents as MCP resources (`checkpoint://` + path below the base directory): templates
 * with completion, a paged list, reads bounded by the response budget, and subscriptions that fire
 * on any change of the file, by this process, another one or a person.
 */
export function registerResources(context: ToolContext): void {
  const { server, checkpoints, subscriptions } = context;
  for (const spec of TEMPLATES) {
    server.registerResource(
      spec.name,
      new ResourceTemplate(`${SCHEME}${spec.template}`, {
        list: undefined,
        complete: completions(checkpoints.store),
      }),
      { title: spec.title, description: spec.description, mimeType: MIME },
      async (uri) => translate(() => read(context, uri.href), uri.href),
    );
  }
  // The SDK lists every document of every template at once; at 10,000 sessions that is a page per call.
  server.server.setRequestHandler('resources/list', async (request) =>
    translate(async () => {
      const after =
        request.params?.cursor === undefined ? undefined : decodeDocumentCursor(request.params.cursor);
      const documents = await listDocuments(checkpoints.store, after, PAGE + 1);
      const page = documents.slice(0, PAGE);
      const last = page.at(-1);
      return {
        resources: page.map(describe),
        ...(documents.length > PAGE && last ? { nextCursor: encodeDocumentCursor(last.path) } : {}),
      };
    }),
  );
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  // A 2025 client subscribes URI by URI; a 2026 client's subscriptions/listen is seen by the transport.
  server.server.setRequestHandler('resources/subscribe', async (request) =>
    translate(async () => {
      if (!(await subscriptions.add(LEGACY_OWNER, request.params.uri)))
        context.logger.debug(`resources/subscribe ${request.params.uri}: no document folder to watch`);
      return {};
    }),
  );
  server.server.setRequestHandler('resources/unsubscribe', async (request) => {
    subscriptions.remove(LEGACY_OWNER, request.params.uri);
    return {};
  });
}

/** What a 2025 client subscribed to with resources/subscribe; its connection ends them all. */
export const LEGACY_OWNER = 'resources/subscribe';

async function read(context: ToolContext, uri: string): Promise<ReadResourceResult> {
  const { checkpoints } = context;
  const path = pathOf(uri) ?? [];
  const document = isReportPath(path) ? path : documentPathOf(uri);
  if (!document) throw new CheckpointError('NOT_FOUND', `${uri} is not a checkpoint document URI`);
  const text = isReportPath(path)
    ? (await checkpoints.exportSession({ project_id: path[0] ?? '', session_id: path[2] ?? '' })).markdown
    : await readDocument(checkpoints.store, document);
  const { text: bounded, total_chars } = boundedDocument(document, text, checkpoints.limits.maxResponseBytes);
  const meta = total_chars === undefined ? {} : { _meta: { truncated: true, total_chars } };
  return { contents: [{ uri, mimeType: MIME, text: bounded, ...meta }] };
}

function describe(entry: DocumentEntry): Resource {
  const name = entry.path.join('/');
  return { uri: `${SCHEME}${name}`, name, title: `${entry.kind}: ${name}`, mimeType: MIME };
}

/**
 * Core errors as the protocol's: a document that is not there is resource-not-found (-32602 with the
 * URI as its data, as MCP says since SEP-2164); other bad input -32602; the rest internal. The text
 * starts with the code, as every tool error does. Prompts pass no URI: a prompt argument that names
 * nothing is invalid params.
 */
export async function translate<T>(action: () => Promise<T>, uri?: string): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!isCheckpointError(error)) throw error;
    const message = `${error.code}: ${error.message}`;
    if (error.code === 'NOT_FOUND' && uri !== undefined) throw new ResourceNotFoundError(uri, message);
    const internal = error.code === 'INTERNAL' || error.code === 'UNAVAILABLE';
    throw new ProtocolError(internal ? -32603 : -32602, message, { code: error.code });
  }
}
