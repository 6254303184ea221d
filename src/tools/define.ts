import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { isCheckpointError } from '../checkpoint/errors.js';
import type { ToolContext } from './deps.js';
import type { Logger } from './logger.js';

export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** Writes that keep earlier versions: repeating them is safe. */
export const SAVE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** Writes that create something new on each call. */
export const CREATE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
};

export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
}

/**
 * Registers one tool. The handler only translates: a CheckpointError becomes an isError result whose
 * text starts with its code and which carries no structuredContent (SDK clients validate that even on
 * errors); anything else is logged and reported as INTERNAL.
 */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  { server, logger, activity }: Pick<ToolContext, 'server' | 'logger' | 'activity'>,
  name: string,
  spec: ToolSpec<I, O>,
  run: (input: z.infer<I>) => Promise<z.infer<O>>,
): void {
  const writes = spec.annotations.readOnlyHint !== true;
  server.registerTool(
    name,
    {
      title: spec.title,
      description: spec.description,
      inputSchema: spec.input,
      outputSchema: spec.output,
      annotations: { title: spec.title, ...spec.annotations },
    },
    // The SDK has already validated the input against spec.input.
    (async (input: z.infer<I>) => {
      try {
        const result = toolResult(await activity.track(() => run(input)));
        // A write may have added a document: resource lists are stale (sent only when connected).
        if (writes) listChanged(server);
        return result;
      } catch (error) {
        return errorResult(name, error, logger);
      }
    }) as ToolCallback<I>,
  );
}

export function toolResult(value: object): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value) }],
    structuredContent: value as Record<string, unknown>,
  };
}

function errorResult(tool: string, error: unknown, logger: Logger): CallToolResult {
  if (isCheckpointError(error)) {
    if (error.code === 'INTERNAL') logger.error(`${tool}: ${error.message}`);
    return {
      content: [{ type: 'text', text: `${error.code}: ${error.message}` }],
      isError: true,
      _meta: { code: error.code },
    };
  }
  logger.error(
    `${tool} failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return {
    content: [
      {
        type: 'text',
        text: `INTERNAL: ${tool} failed unexpectedly (${error instanceof Error ? error.message : String(error)}); nothing was acknowledged. Call load_session to see the saved state, then try again`,
      },
    ],
    isError: true,
    _meta: { code: 'INTERNAL' },
  };
}

const pendingListChanged = new WeakSet<McpServer>();

/** One resources/list_changed for a burst of writes, not one per save: the client re-lists once. */
function listChanged(server: McpServer): void {
  if (pendingListChanged.has(server)) return;
  pendingListChanged.add(server);
  setTimeout(() => {
    pendingListChanged.delete(server);
    server.sendResourceListChanged();
  }, 100).unref();
}
