import { isAscii, isUtf8 } from 'node:buffer';
import type { Readable, Writable } from 'node:stream';
import { isSpecType, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { messageVerdict } from './jsonrpc-verdicts.js';
import { collectAfterLargeRequest, LARGE_REQUEST_BYTES } from './memory.js';

export interface StdioOptions {
  /** Longest line accepted; a longer request is answered with an error and skipped. */
  maxLineBytes: number;
  onDiagnostic?: (message: string) => void;
  /** A 2026 client opened subscriptions/listen for these resource URIs. */
  onListen?: (listenId: string, uris: readonly string[]) => void;
  /** That listen ended: cancelled, answered, or the connection closed. */
  onListenEnd?: (listenId: string) => void;
  /** The connection closed, after serveStdio's own close handling. */
  onClosed?: () => void;
}

const INVALID_REQUEST = -32600;
const PARSE_ERROR = -32700;
const INTERNAL_ERROR = -32603;
/** Far deeper than any MCP message; deeper input would overflow the stack of code that recurses over it. */
export const MAX_MESSAGE_DEPTH = 256;

/**
 * Newline-delimited JSON-RPC over stdin/stdout. Unlike the SDK's stdio transport it keeps a big
 * request's chunks in a list (no copy per chunk), answers an over-long line with LIMIT_EXCEEDED
 * instead of closing, and answers or skips lines that are not JSON-RPC: one bad line never ends the session.
 */
export class StdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private chunks: Buffer[] = [];
  private pending = 0;
  private discarding = false;
  private discardedHead = '';
  private discardedTail: Buffer = Buffer.alloc(0);
  private closed = false;
  private ending = false;
  private readonly unanswered = new Set<string | number>();
  private readonly listens = new Set<string | number>();
  /** Requests of LARGE_REQUEST_BYTES or more not yet answered. */
  private readonly large = new Set<string | number>();

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: StdioOptions,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onInputError);
    // A host that has gone away closes our stdout; that ends the session, not the process.
    this.output.on('error', this.onOutputError);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return;
    const line = `${JSON.stringify(message)}\n`;
    if (!this.output.write(line)) await new Promise<void>((resolve) => this.output.once('drain', resolve));
    if ('id' in message && !('method' in message) && message.id !== undefined) {
      this.settle(message.id);
      this.endListen(message.id);
    }
  }

  private endListen(id: string | number): void {
    if (this.listens.delete(id)) this.options.onListenEnd?.(String(id));
  }

  private settle(id: string | number): void {
    this.unanswered.delete(id);
    if (this.large.delete(id)) collectAfterLargeRequest();
    if (this.ending && this.unanswered.size === 0) void this.close();
  }

  /** Stops reading; closes once every request already read has been answered. */
  async drain(): Promise<void> {
    this.ending = true;
    this.input.off('data', this.onData);
    this.input.pause();
    if (this.unanswered.size === 0) await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onInputError);
    this.input.pause();
    this.chunks = [];
    this.large.clear();
    for (const id of [...this.listens]) this.endListen(id);
    this.onclose?.();
    this.options.onClosed?.();
  }

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, newline));
      this.finishLine();
      start = newline + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
  };

  private readonly onEnd = (): void => {
    if (this.pending > 0 || this.discarding) this.finishLine();
    void this.drain();
  };

  private readonly onInputError = (error: Error): void => {
    this.onerror?.(error);
  };

  private readonly onOutputError = (error: Error): void => {
    this.options.onDiagnostic?.(`stdout closed (${error.message}); ending the session`);
    void this.close();
  };

  private take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.discarding) {
      this.discardedTail = Buffer.concat([this.discardedTail, part]).subarray(-512);
      return;
    }
    if (this.pending + part.length > this.options.maxLineBytes) {
      const line = Buffer.concat([...this.chunks, part]);
      this.discardedHead = line.subarray(0, 4096).toString('utf8');
      this.discardedTail = Buffer.from(line.subarray(-512));
      this.chunks = [];
      this.pending = 0;
      this.discarding = true;
      return;
    }
    this.chunks.push(Buffer.from(part));
    this.pending += part.length;
  }

  private finishLine(): void {
    if (this.discarding) {
      this.discarding = false;
      const tail = this.discardedTail.toString('utf8');
      const id = requestId(this.discardedHead, tail);
      const message = `LIMIT_EXCEEDED: the request is longer than ${this.options.maxLineBytes} bytes, so it was not read and nothing was saved. Keep agent output within --max-content-bytes and comments within 1 MiB`;
      // A tool call gets the tool's own answer to a value over a limit: an error result, which the
      // agent reads, where a protocol error may only reach its host.
      if (id !== null && isToolCall(this.discardedHead, tail)) this.refuseToolCall(id, message);
      else this.reject(id, INVALID_REQUEST, message);
      collectAfterLargeRequest();
      return;
    }
    if (this.pending === 0) return;
    const bytes = this.pending;
    const line = Buffer.concat(this.chunks, this.pending);
    // One scan for ASCII serves the decoding and the UTF-8 check below (nearly every line is ASCII).
    const ascii = isAscii(line);
    let text = ascii ? line.toString('ascii') : line.toString('utf8');
    this.chunks = [];
    this.pending = 0;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.options.onDiagnostic?.(`skipped a line that is not JSON (${text.length} characters)`);
      this.reject(null, PARSE_ERROR, 'Parse error: the line is not JSON');
      return;
    }
    // Bytes that are not UTF-8 were read as U+FFFD: saved, the text would not be what was sent.
    if (!ascii && !isUtf8(line)) {
      this.options.onDiagnostic?.('skipped a line that is not valid UTF-8');
      this.reject(
        idOf(parsed),
        PARSE_ERROR,
        'Parse error: the line is not valid UTF-8; send the message as UTF-8 text',
      );
      return;
    }
    if (nestedDeeperThan(parsed, MAX_MESSAGE_DEPTH)) {
      this.options.onDiagnostic?.(`skipped a JSON line nested more than ${MAX_MESSAGE_DEPTH} levels deep`);
      this.reject(
        idOf(parsed),
        INVALID_REQUEST,
        `Invalid Request: the message is nested more than ${MAX_MESSAGE_DEPTH} levels deep`,
      );
      return;
    }
    if (!isMessage(parsed)) {
      this.options.onDiagnostic?.('skipped a JSON line that is not a JSON-RPC message');
      this.reject(idOf(parsed), INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 message');
      return;
    }
    const data = parsed;
    const refused = unreadableArgument(data);
    if (refused !== undefined) {
      this.refuseToolCall(refused.id, refused.text);
      return;
    }
    const awaited = 'method' in data && 'id' in data ? data.id : undefined;
    if (awaited !== undefined && 'method' in data && data.method === LISTEN) {
      // A listen lasts as long as the client wants it: a drain does not wait for its answer.
      this.listens.add(awaited);
      this.options.onListen?.(String(awaited), listenedUris(data.params));
    } else if (awaited !== undefined) {
      this.unanswered.add(awaited);
      if (bytes >= LARGE_REQUEST_BYTES) this.large.add(awaited);
    }
    // The SDK never answers a cancelled request: stop waiting for it, or a drain would never end.
    if ('method' in data && data.method === 'notifications/cancelled' && !('id' in data)) {
      const cancelled = (data.params as { requestId?: string | number } | undefined)?.requestId;
      if (cancelled !== undefined) {
        this.settle(cancelled);
        this.endListen(cancelled);
      }
    }
    try {
      this.onmessage?.(data);
    } catch (error) {
      // A handler that throws while reading one message must not take the whole session down with it.
      this.options.onDiagnostic?.(
        `a message could not be handled: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (awaited !== undefined) {
        this.reject(awaited, INTERNAL_ERROR, 'Internal error: the request could not be handled');
      }
    }
  }

  /** A tools/call answered with an isError result (see toolErrorResponse). */
  private refuseToolCall(id: string | number, text: string): void {
    this.send(toolErrorResponse(id, text)).catch((error: unknown) =>
      this.onerror?.(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private reject(id: string | number | null, code: number, message: string): void {
    // JSON-RPC answers an unidentifiable bad request with id null; the SDK's types want a real id.
    const response = { jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage;
    this.send(response).catch((error: unknown) =>
      this.onerror?.(error instanceof Error ? error : new Error(String(error))),
    );
  }
}

const LISTEN = 'subscriptions/listen';

/**
 * A tools/call whose arguments name `__proto__`: the SDK copies the arguments key by key before any
 * tool sees them, and a copy cannot hold that key, so the argument would vanish instead of being
 * refused as every other unknown argument is. Its id and the error to answer with, else undefined.
 */
export function unreadableArgument(message: unknown): { id: string | number; text: string } | undefined {
  const call = message as { method?: unknown; id?: unknown; params?: { arguments?: unknown } } | null;
  if (call === null || typeof call !== 'object' || call.method !== 'tools/call') return undefined;
  const args = call.params?.arguments;
  if (typeof args !== 'object' || args === null || !Object.hasOwn(args, '__proto__')) return undefined;
  if (typeof call.id !== 'string' && typeof call.id !== 'number') return undefined;
  return { id: call.id, text: 'INVALID_ARGUMENT: unknown argument __proto__; leave it out' };
}

/** A tools/call answered with an isError result, as the catalog answers one (its code in `_meta`). */
export function toolErrorResponse(id: string | number, text: string): JSONRPCMessage {
  const code = text.slice(0, text.indexOf(':'));
  // resultType: the 2026 revision requires it on every result; an earlier client ignores it.
  const result = {
    content: [{ type: 'text', text }],
    isError: true,
    _meta: { code },
    resultType: 'complete',
  };
  return { jsonrpc: '2.0', id, result } as unknown as JSONRPCMessage;
}

/** The resource URIs a subscriptions/listen request asks about (SubscriptionFilter.resourceSubscriptions). */
export function listenedUris(params: unknown): string[] {
  const filter = (params as { notifications?: { resourceSubscriptions?: unknown } } | undefined)
    ?.notifications;
  const uris = filter?.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((uri): uri is string => typeof uri === 'string') : [];
}

/** The SDK's JSONRPCMessage check, its schema asked only where a verdict cannot tell. */
function isMessage(value: unknown): value is JSONRPCMessage {
  return messageVerdict(value) ?? isSpecType.JSONRPCMessage(value);
}

function idOf(parsed: unknown): string | number | null {
  const id = typeof parsed === 'object' && parsed !== null && 'id' in parsed ? parsed.id : null;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Whether arrays and objects nest more than `limit` levels in `value`; iterative, as the input may be hostile. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (typeof top.node !== 'object' || top.node === null) continue;
    if (top.depth > limit) return true;
    for (const child of Array.isArray(top.node) ? top.node : Object.values(top.node)) {
      if (typeof child === 'object' && child !== null) stack.push({ node: child, depth: top.depth + 1 });
    }
  }
  return false;
}

const ID = String.raw`"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")`;
// The top-level id comes before any nested object, or is the last member of the line.
const LEADING_ID = new RegExp(String.raw`^\s*\{[^{\[]*?${ID}`);
const TRAILING_ID = new RegExp(String.raw`${ID}\s*\}\s*$`);

const TOOL_CALL = String.raw`"method"\s*:\s*"tools/call"`;
// Before any nested object, or among the scalar members that end the line.
const LEADING_TOOL_CALL = new RegExp(String.raw`^\s*\{[^{\[]*?${TOOL_CALL}`);
const TRAILING_TOOL_CALL = new RegExp(
  String.raw`${TOOL_CALL}(?:\s*,\s*"\w+"\s*:\s*(?:-?\d+|"(?:[^"\\]|\\.){0,200}"))*\s*\}\s*$`,
);

/** Whether a request too long to parse is a tools/call, from its first and last bytes. */
function isToolCall(head: string, tail: string): boolean {
  return LEADING_TOOL_CALL.test(head) || TRAILING_TOOL_CALL.test(tail);
}

/** The id of a request too long to parse, from its first and last bytes, so it still gets an answer. */
function requestId(head: string, tail: string): string | number | null {
  const match = LEADING_ID.exec(head) ?? TRAILING_ID.exec(tail);
  if (!match?.[1]) return null;
  return match[1].startsWith('"') ? (JSON.parse(match[1]) as string) : Number(match[1]);
}
