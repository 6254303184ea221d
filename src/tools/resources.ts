import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ListResourcesRequestSchema,
  McpError,
  type ReadResourceResult,
  type Resource,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  boundedDocument,
  type DocumentEntry,
  decodeDocumentCursor,
  documentKind,
  encodeDocumentCursor,
  listDocuments,
  REPORT_FILE,
  readDocument,
} from '../checkpoint/documents.js';
import { CheckpointError, isCheckpointError } from '../checkpoint/errors.js';
import { completions } from './completions.js';
import type { ToolContext } from './deps.js';

export const SCHEME = 'checkpoint://';
const MIME = 'text/markdown';
const PAGE = 100;
const RESOURCE_NOT_FOUND = -32002;

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
  const { server, checkpoints, watcher } = context;
  for (const spec of TEMPLATES) {
    server.registerResource(
      spec.name,
      new ResourceTemplate(`${SCHEME}${spec.template}`, {
        list: undefined,
        complete: completions(checkpoints.store),
      }),
      { title: spec.title, description: spec.description, mimeType: MIME },
      async (uri) => translate(() => read(context, uri.href)),
    );
  }
  // The SDK lists every document of every template at once; at 10,000 sessions that is a page per call.
  server.server.setRequestHandler(ListResourcesRequestSchema, async (request) =>
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
  const subscriptions = new Map<string, () => void>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) =>
    translate(async () => {
      const uri = request.params.uri;
      if (subscriptions.has(uri)) return {};
      const path = documentPath(uri);
      const stop = await watcher.watch(path, () => {
        server.server.sendResourceUpdated({ uri }).catch(() => stopWatching(uri));
      });
      subscriptions.set(uri, stop);
      return {};
    }),
  );
  const stopWatching = (uri: string) => {
    subscriptions.get(uri)?.();
    subscriptions.delete(uri);
  };
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    stopWatching(request.params.uri);
    return {};
  });
  const previousClose = server.server.onclose;
  server.server.onclose = () => {
    for (const uri of [...subscriptions.keys()]) stopWatching(uri);
    previousClose?.();
  };
}

async function read(context: ToolContext, uri: string): Promise<ReadResourceResult> {
  const { checkpoints } = context;
  const path = uri.startsWith(SCHEME) ? uri.slice(SCHEME.length).split('/') : [];
  const isReport = path.length === 4 && path[1] === 'sessions' && path[3] === REPORT_FILE;
  const document = isReport ? path : documentPath(uri);
  const text = isReport
    ? (await checkpoints.exportSession({ project_id: path[0] ?? '', session_id: path[2] ?? '' })).markdown
    : await readDocument(checkpoints.store, document);
  const { text: bounded, total_chars } = boundedDocument(document, text, checkpoints.limits.maxResponseBytes);
  const meta = total_chars === undefined ? {} : { _meta: { truncated: true, total_chars } };
  return { contents: [{ uri, mimeType: MIME, text: bounded, ...meta }] };
}

function documentPath(uri: string): string[] {
  const path = uri.startsWith(SCHEME) ? uri.slice(SCHEME.length).split('/') : [];
  if (!documentKind(path)) throw new CheckpointError('NOT_FOUND', `${uri} is not a checkpoint document URI`);
  return path;
}

function describe(entry: DocumentEntry): Resource {
  const name = entry.path.join('/');
  return { uri: `${SCHEME}${name}`, name, title: `${entry.kind}: ${name}`, mimeType: MIME };
}

/**
 * Core errors as the protocol's: not found is -32002 (resource not found; prompts pass -32602, as MCP
 * answers a prompt argument that names nothing with invalid params), bad input -32602, the rest internal.
 */
export async function translate<T>(action: () => Promise<T>, notFound = RESOURCE_NOT_FOUND): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!isCheckpointError(error)) throw error;
    const code = error.code === 'NOT_FOUND' ? notFound : error.code === 'INTERNAL' ? -32603 : -32602;
    throw new McpError(code, `${error.code}: ${error.message}`);
  }
}
