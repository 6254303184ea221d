import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterEach } from 'vitest';
import { SERVER_ENTRY } from './client.js';

const running: ServerProcess[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Message = Record<string, unknown>;

/**
 * The built server as a child process whose stdout is kept line by line, raw. It is also an SDK
 * client Transport, so a real Client can drive it while every byte the server wrote stays inspectable.
 */
export class ServerProcess implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;

  /** Every complete line the server wrote to stdout, as written. */
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  private partial: Buffer[] = [];
  private readonly waiters: Array<{
    match: (message: Message) => boolean;
    resolve: (message: Message) => void;
  }> = [];
  private nextId = 1000;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.stderr += text;
    });
    // The server may exit before reading all we wrote; that shows in the exit, not as a crash here.
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.onclose?.();
        resolve({ code, signal });
      });
    });
  }

  static start(args: string[]): ServerProcess {
    const server = new ServerProcess(spawn(process.execPath, [SERVER_ENTRY, ...args], { stdio: 'pipe' }));
    running.push(server);
    return server;
  }

  /** All of stdout, including a last line without its newline. */
  get stdout(): string {
    return [...this.lines.map((line) => `${line}\n`), Buffer.concat(this.partial).toString('utf8')].join('');
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    await this.write(`${JSON.stringify(message)}\n`);
  }

  async close(): Promise<void> {
    this.child.stdin.end();
  }

  /** Writes raw bytes to the server's stdin, waiting for the pipe to drain. */
  async write(data: string | Buffer): Promise<void> {
    if (!this.child.stdin.write(data)) await once(this.child.stdin, 'drain');
  }

  /** Sends a request without an SDK client and resolves with the server's answer to its id. */
  async request(method: string, params: Message = {}): Promise<Message> {
    const id = this.nextId++;
    const answer = this.response(id);
    await this.send({ jsonrpc: '2.0', id, method, params } as JSONRPCMessage);
    return answer;
  }

  /** Resolves with the first message that answers `id`. */
  response(id: string | number | null): Promise<Message> {
    return this.waitFor((message) => message.id === id && !('method' in message));
  }

  waitFor(match: (message: Message) => boolean): Promise<Message> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The initialize handshake, as a host does it. */
  async initialize(): Promise<Message> {
    const result = await this.request('initialize', {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'raw-test-client', version: '1.0.0' },
    });
    await this.send({ jsonrpc: '2.0', method: 'notifications/initialized' } as JSONRPCMessage);
    return result;
  }

  async callTool(name: string, args: Message): Promise<Message> {
    return this.request('tools/call', { name, arguments: args });
  }

  /** Ends stdin and waits for the process; kills it if it has not gone within `graceMs`. */
  async stop(graceMs = 5000): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.partial.push(chunk.subarray(start, newline));
      this.onLine(Buffer.concat(this.partial).toString('utf8'));
      this.partial = [];
      start = newline + 1;
    }
    if (start < chunk.length) this.partial.push(Buffer.from(chunk.subarray(start)));
  }

  private onLine(line: string): void {
    this.lines.push(line);
    let message: Message;
    try {
      message = JSON.parse(line) as Message;
    } catch {
      // Kept in `lines`; the tests assert that this never happens.
      return;
    }
    const index = this.waiters.findIndex((waiter) => waiter.match(message));
    if (index !== -1) this.waiters.splice(index, 1)[0]?.resolve(message);
    this.onmessage?.(message as JSONRPCMessage);
  }
}

/** Why a stdout line is not a JSON-RPC 2.0 response or notification, or undefined when it is one. */
export function jsonRpcProblem(line: string): string | undefined {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return `not JSON: ${line.slice(0, 200)}`;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'not a JSON object';
  const fields = message as Message;
  if (fields.jsonrpc !== '2.0') return `jsonrpc is ${JSON.stringify(fields.jsonrpc)}`;
  if (typeof fields.method === 'string')
    return 'id' in fields ? 'a request, not a response or notification' : undefined;
  if (!('id' in fields)) return 'neither a response (id) nor a notification (method)';
  const hasResult = 'result' in fields;
  const hasError = 'error' in fields;
  if (hasResult === hasError) return 'a response needs exactly one of result and error';
  if (hasError) {
    const error = fields.error as Message;
    if (typeof error?.code !== 'number' || typeof error.message !== 'string') return 'malformed error object';
  }
  return undefined;
}
