import { isUtf8 } from 'node:buffer';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, isJsonContentType, type McpServer } from '@modelcontextprotocol/server';
import type { Engine } from '../checkpoint/store/engine.js';
import type { Activity } from '../tools/activity.js';
import type { Logger } from '../tools/logger.js';
import { NO_SUBSCRIPTIONS, type SubscriptionRegistry, Subscriptions } from '../tools/subscriptions.js';
import { bearerMatches, digestOf, requestGuards } from './http-guards.js';
import { collectAfterLargeRequest, LARGE_REQUEST_BYTES } from './memory.js';
import {
  listenedUris,
  MAX_MESSAGE_DEPTH,
  nestedDeeperThan,
  toolErrorResponse,
  unreadableArgument,
} from './stdio.js';

export interface HttpServing {
  /** Builds the server of one request: any replica answers any request, nothing is kept between them. */
  createServer: (hooks: { subscriptions: SubscriptionRegistry; onListChanged: () => void }) => McpServer;
  watcher: Pick<Engine, 'watch'>;
  activity: Activity;
  logger: Logger;
  host: string;
  port: number;
  /** Every request must carry `Authorization: Bearer <token>` when set. */
  token?: string | undefined;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  requestTimeoutMs: number;
  maxConnections: number;
  /** Whether the storage engine answers, for GET /healthz. */
  healthy: () => Promise<boolean>;
  /** GET /healthz answers 503 when `healthy` has not answered within this. */
  healthTimeoutMs: number;
}

export interface HttpServer {
  url: string;
  /** Stops accepting, lets the requests under way finish their writes and answers, then closes. */
  close: () => Promise<void>;
}

const ENDPOINT = '/mcp';

/** Resources one subscriptions/listen may name: each is watched, so a listen of a million is refused. */
export const MAX_LISTEN_URIS = 1000;

/**
 * Streamable HTTP at /mcp, stateless: the 2025-11-25 and 2026-07-28 revisions both, through the SDK's
 * handler. Before a request reaches it: Host and Origin (403), the bearer token (401), the number of
 * requests under way (503 with Retry-After) and the body size (413). Resource updates go out through
 * the handler's notify path to every 2026 client listening for them.
 */
export async function serveHttp(serving: HttpServing): Promise<HttpServer> {
  const { logger } = serving;
  let listenCount = 0;
  const subscriptions: Subscriptions = new Subscriptions(serving.watcher, (uri) =>
    handler.notify.resourceUpdated(uri),
  );
  const onListChanged = debounce(() => handler.notify.resourcesChanged(), 100);
  const handler = createMcpHandler(
    () => serving.createServer({ subscriptions: NO_SUBSCRIPTIONS, onListChanged }),
    {
      onerror: (error) => logger.warning(`http: ${error.message}`),
      maxRequestBodySize: serving.maxBodyBytes,
    },
  );
  const forward = toNodeHandler(handler, {
    maxRequestBodySize: serving.maxBodyBytes,
    onerror: (error) => logger.warning(`http: ${error.message}`),
  });
  const guards = requestGuards(serving);
  const tokenDigest = serving.token === undefined ? undefined : digestOf(serving.token);
  let inFlight = 0;
  let stopping = false;
  const drained: Array<() => void> = [];

  const release = () => {
    inFlight--;
    if (inFlight === 0) for (const wake of drained.splice(0)) wake();
  };
  const serveMcp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Counted before the body is read: --max-connections bounds the memory bodies take too.
    if (inFlight >= serving.maxConnections) {
      busy(res, `${serving.maxConnections} requests under way`);
      return;
    }
    // The SDK's answer to another media type, given before the body is read: the body of a request
    // that is not JSON is not ours to judge, so it gets 415 and not a parse error.
    if (req.method === 'POST' && !isJsonContentType(req.headers['content-type'] ?? null)) {
      refuseUnread(req, res, 415, UNSUPPORTED_MEDIA_TYPE, serving.maxBodyBytes);
      return;
    }
    inFlight++;
    let counted = 1;
    try {
      const read =
        req.method === 'POST'
          ? await readJsonBody(req, res, serving.maxBodyBytes, serving.requestTimeoutMs)
          : undefined;
      if (read === NO_BODY) return;
      const body = read?.body;
      const refused = unreadableArgument(body);
      if (refused !== undefined) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(toolErrorResponse(refused.id, refused.text)));
        return;
      }
      // In a batch the SDK would answer the others and let that argument vanish: the batch is refused whole.
      const inBatch = Array.isArray(body) ? body.findIndex((message) => unreadableArgument(message)) : -1;
      if (inBatch !== -1) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(
          rpcError(
            -32600,
            `Invalid Request: the tools/call at index ${inBatch} of the batch names the argument __proto__, which no tool takes; nothing in the batch was run. Send it again without that argument`,
          ),
        );
        return;
      }
      if (isListen(body)) {
        // A listen lasts until the client leaves: it holds no place among the requests under way.
        counted = 0;
        release();
        await listen(req, res, body);
        return;
      }
      // A batch (the 2025 revision's SDK still takes one) is as many requests as it holds.
      const more = Array.isArray(body) ? body.length - 1 : 0;
      if (more > 0) {
        if (inFlight + more > serving.maxConnections) {
          busy(res, `${serving.maxConnections} requests under way, and a batch of ${more + 1}`);
          return;
        }
        inFlight += more;
        counted += more;
      }
      await serving.activity.track(() => forward(req, res, body));
      if (read !== undefined && read.bytes >= LARGE_REQUEST_BYTES) collectAfterLargeRequest();
    } finally {
      for (; counted > 0; counted--) release();
    }
  };
  const listen = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    const uris = listenedUris((body as { params?: unknown }).params);
    if (uris.length > MAX_LISTEN_URIS) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(
        rpcError(
          -32602,
          `Invalid params: a listen names ${uris.length} resources, over the limit of ${MAX_LISTEN_URIS}; listen for fewer (a session's documents), or open another listen`,
          (body as { id?: unknown }).id,
        ),
      );
      return;
    }
    const owner = `http listen ${++listenCount}`;
    for (const uri of uris) {
      await subscriptions.add(owner, uri).catch((error: unknown) => {
        logger.warning(`listen: ${uri} cannot be watched: ${String(error)}`);
      });
    }
    res.once('close', () => subscriptions.remove(owner));
    await forward(req, res, body);
  };

  // Node looks for requests past their time only this often (30 s unless told): a fraction of the limit.
  const checking = Math.min(30_000, Math.max(250, Math.floor(serving.requestTimeoutMs / 4)));
  const server = createHttpServer({ connectionsCheckingInterval: checking }, (req, res) => {
    if (stopping) {
      // A request on a connection kept alive arrives after SIGTERM: it is refused, not begun.
      res.setHeader('Connection', 'close');
      busy(res, 'the server is shutting down');
      return;
    }
    for (const guard of guards) if (!guard(req, res)) return;
    if (tokenDigest && !bearerMatches(req, tokenDigest)) {
      res.writeHead(401, {
        'WWW-Authenticate': 'Bearer realm="checkpoint-mcp"',
        'Content-Type': 'application/json',
      });
      res.end(rpcError(-32001, 'Unauthorized: send Authorization: Bearer <token>'));
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      if (req.method === 'GET' || req.method === 'HEAD') {
        void health(serving, res);
        return;
      }
      // The path is there: a probe sent with another method is told which, not that nothing is.
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'application/json' });
      res.end(rpcError(-32000, `Method not allowed: /healthz answers GET and HEAD, not ${req.method}`));
      return;
    }
    if (path !== ENDPOINT) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(rpcError(-32000, `Not found: the MCP endpoint is ${ENDPOINT}`));
      return;
    }
    serveMcp(req, res).catch((error: unknown) => {
      if (req.destroyed || (error as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') {
        // The client went away while its request arrived: nothing was read, nobody is left to answer.
        logger.warning(`http: a client left before its request arrived (${String(error)})`);
        return;
      }
      logger.error(`http: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(rpcError(-32603, 'Internal error'));
    });
  });
  // A body's own timer (readJsonBody) answers a late body with 408 and says why; Node's bound on the
  // whole request stays behind it as a backstop, so the informative answer comes first.
  server.requestTimeout = 2 * serving.requestTimeoutMs;
  server.headersTimeout = Math.min(60_000, serving.requestTimeoutMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // An IPv6 address may come bracketed, as in a URL ([::1]); listen takes it bare.
    server.listen(serving.port, serving.host.replace(/^\[(.*)\]$/, '$1'), () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${ENDPOINT}`,
    close: async () => {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => drained.push(resolve));
      await serving.activity.idle();
      // Listen streams end gracefully; the sockets still open are idle now.
      await handler.close();
      subscriptions.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

const NO_BODY = Symbol('answered');

/**
 * The request's JSON body and its length, or NO_BODY once 413, 408 or 400 has been answered. A body
 * still arriving `timeoutMs` after its headers is cut with 408 by this request's own timer: Node's
 * check of requestTimeout stops once the server closes, and a stalled upload must not hold a shutdown.
 */
function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  timeoutMs: number,
): Promise<{ body: unknown; bytes: number } | typeof NO_BODY> {
  const declared = Number(req.headers['content-length']);
  const over = Number.isFinite(declared) && declared > limit;
  if (over) {
    tooLarge(req, res, limit, 0);
    return Promise.resolve(NO_BODY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      req.off('data', onData);
      chunks.length = 0;
      res.writeHead(408, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(
        rpcError(
          -32600,
          `Request Timeout: the body did not arrive within ${timeoutMs} ms (--request-timeout-ms), so nothing was read or saved`,
        ),
        () => req.destroy(),
      );
      resolve(NO_BODY);
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      clearTimeout(timer);
      req.off('data', onData);
      chunks.length = 0;
      tooLarge(req, res, limit, size);
      resolve(NO_BODY);
    };
    req.on('data', onData);
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.once('end', () => {
      clearTimeout(timer);
      if (size > limit || res.headersSent) return;
      const bytes = Buffer.concat(chunks, size);
      const refuse = (code: number, message: string) => {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(rpcError(code, message));
        resolve(NO_BODY);
      };
      // Bytes that are not UTF-8 would be read as U+FFFD and saved changed: refused, as stdio refuses them.
      if (!isUtf8(bytes)) return refuse(-32700, 'Parse error: the body is not valid UTF-8');
      let body: unknown;
      try {
        body = JSON.parse(bytes.toString('utf8'));
      } catch {
        // Not JSON: JSON-RPC's parse error, before anything reads it.
        return refuse(-32700, 'Parse error: the body is not JSON');
      }
      // Deeper input would overflow the stack of the code that walks it (the SDK's checks, ours).
      if (nestedDeeperThan(body, MAX_MESSAGE_DEPTH))
        return refuse(
          -32600,
          `Invalid Request: the message is nested more than ${MAX_MESSAGE_DEPTH} levels deep`,
        );
      resolve({ body, bytes: size });
    });
  });
}

/**
 * 413, then the rest of the body is read and dropped, so a client still sending reads the answer
 * instead of a reset; past as much again as the limit, the connection is cut.
 */
function tooLarge(req: IncomingMessage, res: ServerResponse, limit: number, read: number): void {
  const text = `LIMIT_EXCEEDED: the request body is over ${limit} bytes, so it was not read and nothing was saved. Keep agent output within --max-content-bytes`;
  refuseUnread(req, res, 413, rpcError(-32600, text), 2 * limit - read);
}

const UNSUPPORTED_MEDIA_TYPE = rpcError(
  -32000,
  'Unsupported Media Type: Content-Type must be application/json; nothing was read or saved',
);

/**
 * Answers `status` without reading the body. What the client still sends is read and dropped, so it
 * reads the answer instead of a reset; past `dropAtMost` bytes the connection is cut.
 */
function refuseUnread(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string,
  dropAtMost: number,
): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body);
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > dropAtMost) req.destroy();
  });
  req.resume();
}

function busy(res: ServerResponse, why: string): void {
  res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'application/json' });
  res.end(rpcError(-32000, `the server is busy (${why}); retry in a second`));
}

/**
 * 200 or 503 within healthTimeoutMs: a storage that does not answer (a hung database, a partition) is
 * unhealthy, and a load balancer must hear so before its own probe gives up, not never.
 */
async function health(serving: HttpServing, res: ServerResponse): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), serving.healthTimeoutMs);
  });
  const ok = await Promise.race([serving.healthy().catch(() => false), late]);
  clearTimeout(timer);
  res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable' }));
}

function isListen(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { method?: unknown }).method === 'subscriptions/listen'
  );
}

function rpcError(code: number, message: string, id: unknown = null): string {
  const answered = typeof id === 'string' || typeof id === 'number' ? id : null;
  return JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: answered });
}

function debounce(action: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      action();
    }, ms);
    timer.unref();
  };
}
