// store/failures.ts: which driver errors are the client's "retry later" (503) or "out of space" (507), and which
// stay bugs (null → 500). The end-to-end proofs are test/e2e/faults-postgres.test.ts and faults-disk.test.ts; this
// pins the classification of each code so that a bug is never disguised as a transient failure.
import { LogbookError } from '@logbook/protocol';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { storeFailure } from '../src/store/failures.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('storeFailure', () => {
  it('network failures and PostgreSQL "not now" states are 503 SERVICE_UNAVAILABLE with Retry-After', () => {
    for (const error of [
      withCode('ECONNREFUSED'),
      withCode('ECONNRESET'),
      withCode('ETIMEDOUT'),
      withCode('08006'),
      withCode('08001'),
      withCode('57P01'),
      withCode('57P03'),
      withCode('57014'),
      withCode('53300'),
      withCode('40001'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      withCode('SQLITE_BUSY'),
    ]) {
      const mapped = storeFailure(error);
      expect(mapped?.code, String(error)).toBe('SERVICE_UNAVAILABLE');
      expect(mapped?.status).toBe(503);
      expect(Number(mapped?.headers?.['retry-after'])).toBeGreaterThan(0);
      // The driver's text (addresses, SQL) never reaches the client.
      expect(mapped?.message).not.toBe(error.message);
    }
  });

  it('a full disk is 507 INSUFFICIENT_STORAGE, including a real SQLITE_FULL from better-sqlite3', () => {
    const db = new Database(':memory:');
    db.pragma('max_page_count = 2');
    db.exec('CREATE TABLE t (x TEXT)');
    let full: unknown;
    try {
      db.prepare('INSERT INTO t VALUES (?)').run('y'.repeat(100_000));
    } catch (error) {
      full = error;
    }
    db.close();
    expect((full as { code?: string }).code).toBe('SQLITE_FULL');
    for (const error of [full, withCode('53100'), withCode('ENOSPC')]) {
      const mapped = storeFailure(error);
      expect(mapped?.code).toBe('INSUFFICIENT_STORAGE');
      expect(mapped?.status).toBe(507);
    }
  });

  it('bugs and client errors are not storage failures', () => {
    for (const error of [
      new TypeError('cannot read properties of undefined'),
      withCode('23505', 'duplicate key'),
      withCode('42601', 'syntax error'),
      withCode('SQLITE_CONSTRAINT_UNIQUE'),
      withCode('SQLITE_ERROR'),
      new LogbookError('NOT_FOUND'),
      'a string',
      null,
    ]) {
      expect(storeFailure(error), String(error)).toBeNull();
    }
  });
});
