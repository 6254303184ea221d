import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  hostHeaderValidation,
  localhostHostValidation,
  localhostOriginValidation,
  originValidation,
} from '@modelcontextprotocol/node';

/** The Host and Origin a request may carry: localhost-class on a loopback bind, else those configured. */
export function requestGuards(options: {
  host: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}): Array<(req: IncomingMessage, res: ServerResponse) => boolean> {
  const loopback = isLoopback(options.host);
  const allowedHosts = options.allowedHosts.map(hostnameOf);
  const allowedOrigins = options.allowedOrigins.map(hostnameOf);
  const host = hostnameOf(bracketed(options.host));
  const hosts =
    allowedHosts.length > 0
      ? hostHeaderValidation(allowedHosts)
      : loopback
        ? localhostHostValidation()
        : hostHeaderValidation([host]);
  const origins =
    allowedOrigins.length > 0
      ? originValidation(allowedOrigins)
      : loopback
        ? localhostOriginValidation()
        : originValidation(allowedHosts.length > 0 ? allowedHosts : [host]);
  return [wellFormedHost, hosts, origins];
}

/**
 * A host name, an IPv4 address or a bracketed IPv6 one, with an optional port: nothing else is a Host.
 * Underscores too: container and service names (Docker's) carry them, though DNS names may not.
 */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;

/**
 * 400 for a Host header that is not a host and port: `evil.com@localhost` or `localhost/x` would
 * otherwise read as localhost to the name check and then fail, as a URL, inside the handler.
 */
function wellFormedHost(req: IncomingMessage, res: ServerResponse): boolean {
  const host = req.headers.host;
  if (host !== undefined && HOST_HEADER.test(host)) return true;
  res.writeHead(400, { 'Content-Type': 'application/json' });
  res.end(
    JSON.stringify({
      jsonrpc: '2.0',
      error: {
        code: -32000,
        message: 'Bad Request: the Host header must be a host name or address, with an optional port',
      },
      id: null,
    }),
  );
  return false;
}

export function isLoopback(host: string): boolean {
  const name = hostnameOf(bracketed(host));
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * A name as the checks read a request's Host and Origin, through the URL parser: lower case, an
 * address in its shortest form. `Example.COM` as given would match no request, which reads `example.com`.
 */
function hostnameOf(name: string): string {
  try {
    return new URL(`http://${name}`).hostname;
  } catch {
    // Not a host a URL can hold: kept as given, it matches no request, as before.
    return name;
  }
}

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Whether the request carries `Authorization: Bearer <token>`. Both sides are hashed first, so the
 * comparison takes the same time whatever the length or the first differing byte of a guess.
 */
export function bearerMatches(req: IncomingMessage, tokenDigest: Buffer): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const presented = createHash('sha256')
    .update(match?.[1] ?? '')
    .digest();
  return timingSafeEqual(presented, tokenDigest) && match !== null;
}

export function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
