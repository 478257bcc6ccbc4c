// Prepared-statement cache of one SQLite connection, shared by the adapter's parts. Statements belong to their
// connection: a cache must never be shared between connections (the writer thread has its own).
import type Database from 'better-sqlite3';

/** Filters build SQL from their shape, so the number of distinct texts is bounded but can grow: cap the cache. */
const MAX_CACHED = 500;

export class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** The prepared statement for `sql`; `safe` returns integers as BigInt (order keys exceed 2^53). */
  get(sql: string, safe = false): Database.Statement {
    const key = `${safe ? 'S' : 'N'}${sql}`;
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (safe) statement.safeIntegers(true);
      if (this.statements.size >= MAX_CACHED) this.statements.clear();
      this.statements.set(key, statement);
    }
    return statement;
  }
}
