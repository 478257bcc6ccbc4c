// Storage failures a client can do something about: the database is unreachable (503, retry) or the disk is full
// (507, free space). Recognised by the codes the drivers put on their errors (duck-typed: no driver is imported), so
// the one error handler answers them from the catalog instead of a 500. It must never classify a bug as transient.
import { LogbookError } from '@logbook/protocol';

/** Seconds a client should wait before retrying after a storage failure. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** Socket-level failures reaching a database server (Node system error codes). */
const NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
] as const;

/**
 * PostgreSQL SQLSTATEs that mean "not now": connection exceptions (class 08), the server shutting down or starting
 * (57P01–57P03), too many connections (53300), a serialization/deadlock retry that ran out of attempts, and a
 * statement cancelled by the statement timeout (57014): e.g. a group commit waiting for a tenant lock that a stalled
 * commit holds.
 */
const PG_UNAVAILABLE = ['57P01', '57P02', '57P03', '57014', '53300', '40001', '40P01'] as const;
/** PostgreSQL: disk full (53100) and out of memory (53200). */
const PG_NO_SPACE = ['53100', '53200'] as const;

/** Errors node-postgres raises without a code when a connection dies or times out. */
const PG_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection terminated due to connection timeout)/;

/** SQLite: the disk or the database file is full. */
const SQLITE_NO_SPACE = [
  'SQLITE_FULL',
  'SQLITE_IOERR_WRITE',
  'SQLITE_IOERR_FSYNC',
  'SQLITE_IOERR_SHMSIZE',
] as const;
/** SQLite: another process holds the write lock longer than the busy timeout. */
const SQLITE_UNAVAILABLE = ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED'] as const;

const has = (list: readonly string[], code: unknown): boolean =>
  typeof code === 'string' && list.includes(code);

/** The catalog error for a storage failure, or null when `error` is not one (then it is a bug: a 500). */
export function storeFailure(error: unknown): LogbookError | null {
  if (error instanceof LogbookError || typeof error !== 'object' || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const headers = { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) };
  if (has(PG_NO_SPACE, code) || has(SQLITE_NO_SPACE, code) || code === 'ENOSPC') {
    return new LogbookError('INSUFFICIENT_STORAGE', undefined, { headers, cause: error });
  }
  if (
    has(NETWORK_CODES, code) ||
    has(PG_UNAVAILABLE, code) ||
    has(SQLITE_UNAVAILABLE, code) ||
    (typeof code === 'string' && code.startsWith('08') && code.length === 5) ||
    (code === undefined && typeof message === 'string' && PG_MESSAGES.test(message))
  ) {
    return new LogbookError(
      'SERVICE_UNAVAILABLE',
      'The database is not answering. Retry after a few seconds (an event sent with its own id is stored at most once).',
      { headers, cause: error },
    );
  }
  return null;
}
