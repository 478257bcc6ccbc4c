// The SQLite side of identity: API keys, local users and login-failure counters. SqliteStore delegates its identity methods here, so
// the event/Merkle adapter and this one stay separate. Secrets never reach this file: only hashes.
import type Database from 'better-sqlite3';
import type {
  ApiKeyRecord,
  IdentityFilter,
  LoginFailureDecision,
  LoginFailureRecord,
  UserRecord,
} from '../store.ts';
import type { WriteStatement } from './event-writer.ts';
import { StatementCache } from './statements.ts';

type Db = Database.Database;

interface ApiKeyRowRaw {
  id: string;
  name: string;
  prefix: string;
  secret_hash: Buffer;
  scopes: string;
  tenant: string | null;
  created_ms: number;
  expires_ms: number | null;
  last_used_ms: number | null;
  revoked_ms: number | null;
}

interface UserRowRaw {
  id: string;
  username: string;
  username_key: string;
  password_hash: string;
  role: string;
  scopes: string;
  tenant: string | null;
  created_ms: number;
  updated_ms: number;
  disabled_ms: number | null;
  sessions_not_before_ms: number | null;
  last_login_ms: number | null;
}

function apiKeyRow(raw: ApiKeyRowRaw): ApiKeyRecord {
  return {
    id: raw.id,
    name: raw.name,
    prefix: raw.prefix,
    secretHash: raw.secret_hash,
    scopes: JSON.parse(raw.scopes) as string[],
    tenant: raw.tenant,
    createdMs: raw.created_ms,
    expiresMs: raw.expires_ms,
    lastUsedMs: raw.last_used_ms,
    revokedMs: raw.revoked_ms,
  };
}

function userRow(raw: UserRowRaw): UserRecord {
  return {
    id: raw.id,
    username: raw.username,
    usernameKey: raw.username_key,
    passwordHash: raw.password_hash,
    role: raw.role,
    scopes: JSON.parse(raw.scopes) as string[],
    tenant: raw.tenant,
    createdMs: raw.created_ms,
    updatedMs: raw.updated_ms,
    disabledMs: raw.disabled_ms,
    sessionsNotBeforeMs: raw.sessions_not_before_ms,
    lastLoginMs: raw.last_login_ms,
  };
}

export class SqliteIdentity {
  private readonly statements: StatementCache;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string): Database.Statement {
    return this.statements.get(sql);
  }

  insertApiKey(key: ApiKeyRecord): void {
    this.stmt(
      `INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, tenant, created_ms, expires_ms, last_used_ms, revoked_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      key.id,
      key.name,
      key.prefix,
      Buffer.from(key.secretHash),
      JSON.stringify(key.scopes),
      key.tenant,
      key.createdMs,
      key.expiresMs,
      key.lastUsedMs,
      key.revokedMs,
    );
  }

  findApiKeyByHash(secretHash: Uint8Array): ApiKeyRecord | null {
    const raw = this.stmt('SELECT * FROM api_keys WHERE secret_hash = ?').get(Buffer.from(secretHash)) as
      | ApiKeyRowRaw
      | undefined;
    return raw ? apiKeyRow(raw) : null;
  }

  findApiKeyById(id: string): ApiKeyRecord | null {
    const raw = this.stmt('SELECT * FROM api_keys WHERE id = ?').get(id) as ApiKeyRowRaw | undefined;
    return raw ? apiKeyRow(raw) : null;
  }

  listApiKeys(filter: IdentityFilter = {}): ApiKeyRecord[] {
    const rows =
      filter.tenant === undefined
        ? this.stmt('SELECT * FROM api_keys ORDER BY created_ms, id').all()
        : this.stmt('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_ms, id').all(filter.tenant);
    return (rows as ApiKeyRowRaw[]).map(apiKeyRow);
  }

  countApiKeys(): number {
    return (this.stmt('SELECT count(*) AS n FROM api_keys').get() as { n: number }).n;
  }

  /** The write behind touchApiKey, for the store to run where writes do not block the event loop. */
  touchApiKeyStatement(id: string, usedMs: number): WriteStatement {
    return {
      sql: 'UPDATE api_keys SET last_used_ms = ? WHERE id = ? AND (last_used_ms IS NULL OR last_used_ms < ?)',
      params: [usedMs, id, usedMs],
    };
  }

  revokeApiKey(id: string, revokedMs: number): ApiKeyRecord | null {
    this.stmt('UPDATE api_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL').run(revokedMs, id);
    return this.findApiKeyById(id);
  }

  insertUser(user: UserRecord): boolean {
    const result = this.stmt(
      `INSERT INTO users (id, username, username_key, password_hash, role, scopes, tenant, created_ms, updated_ms,
         disabled_ms, sessions_not_before_ms, last_login_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username_key) DO NOTHING`,
    ).run(
      user.id,
      user.username,
      user.usernameKey,
      user.passwordHash,
      user.role,
      JSON.stringify(user.scopes),
      user.tenant,
      user.createdMs,
      user.updatedMs,
      user.disabledMs,
      user.sessionsNotBeforeMs,
      user.lastLoginMs,
    );
    return result.changes === 1;
  }

  findUserById(id: string): UserRecord | null {
    const raw = this.stmt('SELECT * FROM users WHERE id = ?').get(id) as UserRowRaw | undefined;
    return raw ? userRow(raw) : null;
  }

  findUserByUsernameKey(usernameKey: string): UserRecord | null {
    const raw = this.stmt('SELECT * FROM users WHERE username_key = ?').get(usernameKey) as
      | UserRowRaw
      | undefined;
    return raw ? userRow(raw) : null;
  }

  listUsers(filter: IdentityFilter = {}): UserRecord[] {
    const rows =
      filter.tenant === undefined
        ? this.stmt('SELECT * FROM users ORDER BY created_ms, id').all()
        : this.stmt('SELECT * FROM users WHERE tenant = ? ORDER BY created_ms, id').all(filter.tenant);
    return (rows as UserRowRaw[]).map(userRow);
  }

  setUserDisabled(id: string, disabledMs: number | null, nowMs: number): UserRecord | null {
    if (disabledMs === null) {
      this.stmt('UPDATE users SET disabled_ms = NULL, updated_ms = ? WHERE id = ?').run(nowMs, id);
    } else {
      // Keep the first disable time if it is disabled twice; tokens issued before now stop working either way.
      this.stmt(
        `UPDATE users SET disabled_ms = coalesce(disabled_ms, ?), sessions_not_before_ms = ?, updated_ms = ?
         WHERE id = ?`,
      ).run(disabledMs, nowMs, nowMs, id);
    }
    return this.findUserById(id);
  }

  recordUserLogin(id: string, loginMs: number): void {
    this.stmt('UPDATE users SET last_login_ms = ? WHERE id = ?').run(loginMs, id);
  }

  /** One immediate transaction: the single writer, so no other attempt reads these keys in between. */
  updateLoginFailures<T>(
    keys: string[],
    decide: (records: Map<string, LoginFailureRecord>) => LoginFailureDecision<T>,
  ): T {
    const select = this.stmt(
      `SELECT key, failures, window_start_ms AS windowStartMs, last_failure_ms AS lastFailureMs,
         locked_until_ms AS lockedUntilMs, expires_ms AS expiresMs FROM login_failures WHERE key = ?`,
    );
    const upsert = this.stmt(
      `INSERT INTO login_failures (key, failures, window_start_ms, last_failure_ms, locked_until_ms, expires_ms)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
         window_start_ms = excluded.window_start_ms, last_failure_ms = excluded.last_failure_ms,
         locked_until_ms = excluded.locked_until_ms, expires_ms = excluded.expires_ms`,
    );
    const remove = this.stmt('DELETE FROM login_failures WHERE key = ?');
    return this.db
      .transaction(() => {
        const records = new Map<string, LoginFailureRecord>();
        for (const key of keys) {
          const record = select.get(key) as LoginFailureRecord | undefined;
          if (record) records.set(key, record);
        }
        const { result, write } = decide(records);
        for (const [key, r] of write) {
          if (r === null) remove.run(key);
          else upsert.run(key, r.failures, r.windowStartMs, r.lastFailureMs, r.lockedUntilMs, r.expiresMs);
        }
        return result;
      })
      .immediate();
  }

  pruneLoginFailures(nowMs: number): number {
    return this.stmt('DELETE FROM login_failures WHERE expires_ms <= ?').run(nowMs).changes;
  }
}
