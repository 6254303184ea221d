import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ToolAnnotations,
} from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { ToolCatalog, ToolSpec } from './catalog.js';
import type { ToolContext } from './deps.js';

/** Reads. destructiveHint and idempotentHint mean something only for a tool that writes (MCP), so none is listed. */
export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  openWorldHint: false,
};

/** Writes that keep earlier versions: repeating them is safe. */
export const SAVE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/**
 * Writes that keep earlier versions but count each call: a review asking for a retry adds one to the
 * phase's retry count each time it is sent (unless it names retry_count), so repeating it is not safe.
 */
export const REVIEW: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
};

/** Writes that create something new on each call. */
export const CREATE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
};

/** Adds one tool to the server's catalogue; the handler only translates. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  { catalog }: Pick<ToolContext, 'catalog'>,
  name: string,
  spec: ToolSpec<I, O>,
  run: (input: z.infer<I>) => Promise<z.infer<O>>,
): void {
  catalog.define(name, spec, run);
}

/** tools/list and tools/call answered from the catalogue. An unknown tool is a protocol error, as MCP says. */
export function serveCatalog(server: McpServer, catalog: ToolCatalog): void {
  server.server.setRequestHandler('tools/list', async () => ({ tools: catalog.list() }));
  server.server.setRequestHandler('tools/call', async (request) => {
    const result = await catalog.call(request.params.name, request.params.arguments);
    if (result === undefined) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `INVALID_ARGUMENT: unknown tool ${JSON.stringify(request.params.name)}; tools/list names the tools of this server`,
      );
    }
    return result;
  });
}

const pendingListChanged = new WeakSet<McpServer>();

/** One resources/list_changed for a burst of writes, not one per save: the client re-lists once. */
export function listChanged(server: McpServer): void {
  if (pendingListChanged.has(server)) return;
  pendingListChanged.add(server);
  setTimeout(() => {
    pendingListChanged.delete(server);
    server.sendResourceListChanged();
  }, 100).unref();
}
