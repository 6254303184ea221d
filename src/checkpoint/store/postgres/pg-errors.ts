import type pg from 'pg';
import { CheckpointError } from '../../model/errors.js';

/** SQLSTATE classes and socket errors that mean the database is out of reach, not that a query was wrong. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300', // too_many_connections
]);

const LOCK_NOT_AVAILABLE = '55P03';
/** invalid_password, invalid_authorization_specification (no pg_hba.conf entry, no such role, NOLOGIN). */
const CREDENTIAL_CODES = new Set(['28P01', '28000']);
const NO_SUCH_DATABASE = '3D000';

/** Why a connection string is refused before anything is sent: never the string itself. */
export const INVALID_STORE_URL =
  'is not a valid postgres:// URL: special characters in the user name or password must be percent-encoded (# as %23, ? as %3F, / as %2F, @ as %40, : as %3A, % as %25; encodeURIComponent does it)';
/** statement_timeout: the database gave up on a statement of ours itself. */
const QUERY_CANCELED = '57014';

export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && CONNECTION_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return (
    isUnanswered(error) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(
      message,
    )
  );
}

/** The database refused the user name or password of the URL (or there was none): a retry cannot help. */
export function isCredentialError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && CREDENTIAL_CODES.has(code)) return true;
  // pg's own refusal when the server asks for a password and the URL has none.
  const message = error instanceof Error ? error.message : '';
  return /client password must be a string/i.test(message);
}

/**
 * A statement or a connection the database did not answer within its bound (pg's query_timeout, which
 * destroys the connection, the pool's wait for one, statement_timeout): the database is hung or cut
 * off, and asking it again at once would only wait as long again.
 */
export function isUnanswered(error: unknown): boolean {
  if (codeOf(error) === QUERY_CANCELED) return true;
  const message = error instanceof Error ? error.message : '';
  return /Query read timeout|timeout exceeded when trying to connect|connection timeout/i.test(message);
}

/**
 * A database error as the core's: out of reach is UNAVAILABLE (call again), a session lock held too
 * long is LOCK_TIMEOUT, anything else INTERNAL. Only the error's code reaches the message, never the
 * query, its values or the connection string.
 */
export function storeError(error: unknown, action: string): CheckpointError {
  if (error instanceof CheckpointError) return error;
  if (isCredentialError(error)) {
    return new CheckpointError(
      'INTERNAL',
      `the database refused this server's credentials while ${action} (${codeOf(error) ?? 'no password'}); nothing was acknowledged. Calling again fails the same way until whoever runs this server fixes the user name or password in CHECKPOINT_STORE_URL (or --store), or the role's password in PostgreSQL: tell them`,
    );
  }
  if (isUnanswered(error)) {
    return new CheckpointError(
      'UNAVAILABLE',
      `the database did not answer in time while ${action} (${codeOf(error) ?? 'no answer'}); nothing was acknowledged. Call the tool again in a while: the server reconnects on its own, and saving the same content twice is harmless`,
    );
  }
  if (isConnectionError(error)) {
    const code = codeOf(error) ?? 'connection lost';
    return new CheckpointError(
      'UNAVAILABLE',
      `the database could not be reached while ${action} (${code}); nothing was acknowledged. Call the tool again: the server reconnects on its own, and saving the same content twice is harmless`,
    );
  }
  const code = codeOf(error) ?? 'unknown error';
  if (code === LOCK_NOT_AVAILABLE) {
    return new CheckpointError(
      'LOCK_TIMEOUT',
      `another writer held the session too long while ${action}; nothing was written. Call the tool again`,
    );
  }
  return new CheckpointError(
    'INTERNAL',
    `the database refused ${action} (${code}); nothing was acknowledged. Call the tool again, and report it if it persists`,
  );
}

/**
 * A locked action whose COMMIT was sent and never answered: the database may have committed it before
 * the connection was lost, so the caller is told to look before saving again, not that nothing was saved.
 */
export function unsettledCommitError(error: unknown, path: string): CheckpointError {
  const why = isUnanswered(error) ? 'did not answer' : 'could not be reached';
  const code = codeOf(error) ?? (isUnanswered(error) ? 'no answer' : 'connection lost');
  return new CheckpointError(
    'UNAVAILABLE',
    `the database ${why} after the writes under ${path} were sent with their COMMIT (${code}), so they may or may not have been saved. Once the database answers, read them back (load_session, get_agent_output) and call the tool again only if they are missing; saving the same content twice is harmless`,
  );
}

/**
 * Why serve, migrate, export or import could not use the database at `url`, said for the terminal
 * that started it: what to fix, then start again; never a tool to call, never the password. Undefined
 * for an error that is not the database's (a file of an import, a bug).
 */
export function startupError(error: unknown, url: string): CheckpointError | undefined {
  if (error instanceof CheckpointError) return error;
  const code = codeOf(error);
  const where = 'in --store or CHECKPOINT_STORE_URL';
  if (code === 'ERR_INVALID_URL')
    return new CheckpointError('INVALID_ARGUMENT', `the connection string ${INVALID_STORE_URL}`);
  const database = `the database ${redactUrl(url)}`;
  if (isCredentialError(error)) {
    return new CheckpointError(
      'INTERNAL',
      `${database} refused the credentials (${code ?? 'no password given'}): fix the user name or password ${where} (special characters percent-encoded), or the role, its password or its host-based authentication rules in PostgreSQL, then start again`,
    );
  }
  if (code === NO_SUCH_DATABASE) {
    return new CheckpointError(
      'INTERNAL',
      `${database} does not exist (${code}): create it, or fix the database name ${where}, then start again`,
    );
  }
  if (isUnanswered(error) || isConnectionError(error)) {
    return new CheckpointError(
      'UNAVAILABLE',
      `${database} could not be reached (${code ?? (isUnanswered(error) ? 'no answer within --db-timeout-ms' : 'connection lost')}): check the host and port ${where} and that PostgreSQL runs and is reachable from here, then start again`,
    );
  }
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    return new CheckpointError(
      'INTERNAL',
      `${database} refused what this server asked of it (SQLSTATE ${code}): check the role's rights on that database, then start again`,
    );
  }
  return undefined;
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** The connection string without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    // An unencoded # in a password starts the fragment: what follows it may be the rest of the password.
    parsed.hash = '';
    // libpq also takes the password as a parameter of the query string.
    for (const key of [...parsed.searchParams.keys()]) {
      if (/password/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    // Not a URL at all: say nothing of what it holds.
    return 'the database (connection string hidden)';
  }
}

const guarded = new WeakSet<pg.PoolClient>();

/**
 * A connection from the pool that cannot bring the process down: a connection lost while checked out
 * (the server restarted, a proxy cut it) fails the query under way, which the caller sees; the client's
 * own error event, unheard, would be an uncaught exception. The pool listens only while it is idle.
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on('error', () => undefined);
  }
  return client;
}
