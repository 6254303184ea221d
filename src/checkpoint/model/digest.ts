import * as crypto from 'node:crypto';

/**
 * SHA-256 of `data` (a string as UTF-8). Node's one-shot crypto.hash (20.12 and later) takes half the
 * time of a Hash object on a document of a few KB, and a save digests several; an older Node has none.
 */
export function sha256(data: string | Buffer, encoding: 'hex' | 'base64url'): string {
  return typeof crypto.hash === 'function'
    ? crypto.hash('sha256', data, encoding)
    : crypto.createHash('sha256').update(data).digest(encoding);
}
