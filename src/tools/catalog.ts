import type { EventEmitter } from 'node:events';
import type { CallToolResult, Tool, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { CheckpointError, isCheckpointError } from '../checkpoint/model/errors.js';
import { TOOL_ANSWERED } from '../code-cache.js';
import type { Activity } from './activity.js';
import { argumentProblem } from './arguments.js';
import { BUNDLED_SCHEMAS } from './bundled-schemas.js';
import { listedSchema } from './listed-schema.js';
import type { Logger } from './logger.js';

/**
 * A tool as listed. No `title`: a host shows the tool's name where there is none (MCP), and every
 * character of tools/list is paid by every agent on every conversation.
 */
export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
}

/** Whether this process has answered a tool call yet: said once, on `process` (see Catalog.call). */
let toolAnswered = false;

interface Entry {
  listed: Tool;
  input: z.ZodObject;
  writes: boolean;
  run: (input: never) => Promise<object>;
}

/**
 * Which tools a server offers: every one, or the seed's operations plus resume_session and
 * get_agent_output (what get_phase_outputs cuts to fit is read with it).
 */
export const TOOL_SETS = ['all', 'core'] as const;
export type ToolSet = (typeof TOOL_SETS)[number];

export const CORE_TOOLS: readonly string[] = [
  'create_project',
  'start_session',
  'create_session',
  'save_agent_output',
  'save_checkpoint',
  'save_user_feedback',
  'load_session',
  'get_phase_outputs',
  'validate_checkpoint',
  'resume_session',
  'get_agent_output',
];

/**
 * The tools of one server: their listing, computed once, and the one way a call runs. Arguments are
 * validated here, not by the SDK, so that every failure speaks one language: an isError result whose
 * text starts with its code, with the code in `_meta` and no structuredContent (SDK clients validate
 * that even on errors).
 */
export class ToolCatalog {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: {
      set: ToolSet;
      logger: Logger;
      activity: Activity;
      /** The response budget (--max-response-bytes), which assertSendable holds every read answer near. */
      maxResponseBytes: number;
      /** Called after a successful write. */
      onWrite?: () => void;
    },
  ) {}

  define<I extends z.ZodObject, O extends z.ZodObject>(
    name: string,
    spec: ToolSpec<I, O>,
    run: (input: z.infer<I>) => Promise<z.infer<O>>,
  ): void {
    if (this.options.set === 'core' && !CORE_TOOLS.includes(name)) return;
    const bundled = BUNDLED_SCHEMAS.get(name);
    this.entries.set(name, {
      listed: {
        name,
        description: spec.description,
        inputSchema: bundled?.inputSchema ?? (listedSchema(spec.input, 'input') as Tool['inputSchema']),
        outputSchema: bundled?.outputSchema ?? (listedSchema(spec.output, 'output') as Tool['outputSchema']),
        annotations: spec.annotations,
      },
      input: spec.input,
      writes: spec.annotations.readOnlyHint !== true,
      run: run as Entry['run'],
    });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  list(): Tool[] {
    return [...this.entries.values()].map((entry) => entry.listed);
  }

  /** Runs tool `name`; undefined when there is no such tool (the protocol answers that itself). */
  async call(name: string, args: unknown): Promise<CallToolResult | undefined> {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    try {
      return await this.answer(name, entry, args);
    } finally {
      // The bin writes its code cache again once the code of tool calls is compiled (src/code-cache.ts).
      if (!toolAnswered) {
        toolAnswered = true;
        (process as EventEmitter).emit(TOOL_ANSWERED);
      }
    }
  }

  private async answer(name: string, entry: Entry, args: unknown): Promise<CallToolResult> {
    try {
      const elements = countElements(args);
      if (elements > MAX_ARGUMENT_ELEMENTS) {
        throw new CheckpointError(
          'LIMIT_EXCEEDED',
          `the arguments hold ${elements} values, over the limit of ${MAX_ARGUMENT_ELEMENTS}; nothing was saved. Send fewer: at most 1,000 agents, requested changes or tools_used items a call`,
        );
      }
      // reportInput: the error says what came, not only what was wanted.
      const parsed = entry.input.safeParse(args ?? {}, { reportInput: true });
      if (!parsed.success)
        throw new CheckpointError('INVALID_ARGUMENT', argumentProblem(parsed.error, entry.input));
      const value = await this.options.activity.track(() => entry.run(parsed.data as never));
      if (entry.writes) this.options.onWrite?.();
      const result = toolResult(value);
      if (!entry.writes) this.assertSendable(result);
      return result;
    } catch (error) {
      return this.errorResult(name, error);
    }
  }

  /**
   * Every read holds its answer within the response budget by itself; a document edited by hand can
   * still hold a value far past anything the server writes (a 6 MB model name). Its answer, sent twice
   * (text and structuredContent), would pass what a client reads in one message (the SDK client's
   * 10 MiB) and cut the connection: LIMIT_EXCEEDED instead, past twice the budget, or 3 MiB.
   */
  private assertSendable(result: CallToolResult): void {
    const [content] = result.content;
    const text = content?.type === 'text' ? content.text : '';
    const limit = Math.max(2 * this.options.maxResponseBytes, SENDABLE_BYTES);
    // UTF-8 takes at most 3 bytes a UTF-16 unit: most answers are measured by their length alone.
    if (text.length * 3 <= limit) return;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes <= limit) return;
    throw new CheckpointError(
      'LIMIT_EXCEEDED',
      `the answer would be ${bytes} bytes of JSON, more than a client reads in one message (the response budget is ${this.options.maxResponseBytes} bytes); nothing was changed. A document read holds a value longer than the server ever writes, likely edited by hand: validate_session names the documents, shorten the value in the file`,
    );
  }

  private errorResult(tool: string, error: unknown): CallToolResult {
    const { logger } = this.options;
    if (isCheckpointError(error)) {
      if (error.code === 'INTERNAL') logger.error(`${tool}: ${error.message}`);
      return errorText(error.code, error.message);
    }
    logger.error(
      `${tool} failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return errorText(
      'INTERNAL',
      `${tool} failed unexpectedly (${error instanceof Error ? error.message : String(error)}); nothing was acknowledged. Call load_session to see the saved state, then try again`,
    );
  }
}

/** The smallest answer assertSendable refuses, whatever the budget: a third of the SDK client's 10 MiB. */
const SENDABLE_BYTES = 3 * 1024 * 1024;

/** Bounds the argument tree zod walks, far above 1,000 agents of 8 fields each. */
const MAX_ARGUMENT_ELEMENTS = 50_000;

/** Array elements and object members in `value`, counted without recursion (the input may be hostile). */
function countElements(value: unknown): number {
  let count = 0;
  const stack: unknown[] = [value];
  for (let node = stack.pop(); node !== undefined || stack.length > 0; node = stack.pop()) {
    if (typeof node !== 'object' || node === null) continue;
    const children = Array.isArray(node) ? node : Object.values(node);
    count += children.length;
    if (count > MAX_ARGUMENT_ELEMENTS) return count;
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push(child);
  }
  return count;
}

export function toolResult(value: object): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value) }],
    structuredContent: value as Record<string, unknown>,
  };
}

function errorText(code: string, message: string): CallToolResult {
  return { content: [{ type: 'text', text: `${code}: ${message}` }], isError: true, _meta: { code } };
}
