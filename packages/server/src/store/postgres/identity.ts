// The PostgreSQL side of identity: API keys, local users and login-failure counters. PostgresStore delegates its
// identity methods here.
// Secrets never reach this file: only hashes. Free-text columns go through toPgText (U+0000 is not storable).
import type pg from 'pg';
import type {
  ApiKeyRecord,
  IdentityFilter,
  LoginFailureDecision,
  LoginFailureRecord,
  UserRecord,
} from '../store.ts';
import { bytes, fromPgText, int, intOrNull, toPgText } from './values.ts';

interface ApiKeyRowRaw {
  id: string;
  name: string;
  prefix: string;
  secret_hash: Buffer;
  scopes: string;
  tenant: string | null;
  created_ms: string;
  expires_ms: string | null;
  last_used_ms: string | null;
  revoked_ms: string | null;
}

interface UserRowRaw {
  id: string;
  username: string;
  username_key: string;
  password_hash: string;
  role: string;
  scopes: string;
  tenant: string | null;
  created_ms: string;
  updated_ms: string;
  disabled_ms: string | null;
  sessions_not_before_ms: string | null;
  last_login_ms: string | null;
}

function apiKeyRow(raw: ApiKeyRowRaw): ApiKeyRecord {
  return {
    id: fromPgText(raw.id),
    name: fromPgText(raw.name),
    prefix: fromPgText(raw.prefix),
    secretHash: raw.secret_hash,
    scopes: JSON.parse(raw.scopes) as string[],
    tenant: fromPgText(raw.tenant),
    createdMs: int(raw.created_ms),
    expiresMs: intOrNull(raw.expires_ms),
    lastUsedMs: intOrNull(raw.last_used_ms),
    revokedMs: intOrNull(raw.revoked_ms),
  };
}

function userRow(raw: UserRowRaw): UserRecord {
  return {
    id: fromPgText(raw.id),
    username: fromPgText(raw.username),
    usernameKey: fromPgText(raw.username_key),
    passwordHash: fromPgText(raw.password_hash),
    role: fromPgText(raw.role),
    scopes: JSON.parse(raw.scopes) as string[],
    tenant: fromPgText(raw.tenant),
    createdMs: int(raw.created_ms),
    updatedMs: int(raw.updated_ms),
    disabledMs: intOrNull(raw.disabled_ms),
    sessionsNotBeforeMs: intOrNull(raw.sessions_not_before_ms),
    lastLoginMs: intOrNull(raw.last_login_ms),
  };
}

/**
 * First key of the two-int pg_advisory_xact_lock that serialises login attempts per throttle key ("lblf"); the
 * two-int key space is separate from the one-bigint locks of migrations and partitions.
 */
const LOGIN_LOCK_CLASS = 0x6c626c66;

interface LoginFailureRowRaw {
  key: string;
  failures: number;
  window_start_ms: string;
  last_failure_ms: string;
  locked_until_ms: string;
  expires_ms: string;
}

export class PostgresIdentity {
  constructor(private readonly pool: pg.Pool) {}

  private async one<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T | null> {
    return (await this.pool.query<T>(sql, params)).rows[0] ?? null;
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    // ON CONFLICT (secret_hash): several processes starting at once with the same LOGBOOK_ADMIN_KEY all try to store
    // it; the same secret is the same key, so the first row stands. Random secrets never collide otherwise.
    await this.pool.query(
      `INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, tenant, created_ms, expires_ms, last_used_ms, revoked_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (secret_hash) DO NOTHING`,
      [
        toPgText(key.id),
        toPgText(key.name),
        toPgText(key.prefix),
        bytes(key.secretHash),
        JSON.stringify(key.scopes),
        toPgText(key.tenant),
        key.createdMs,
        key.expiresMs,
        key.lastUsedMs,
        key.revokedMs,
      ],
    );
  }

  async findApiKeyByHash(secretHash: Uint8Array): Promise<ApiKeyRecord | null> {
    const raw = await this.one<ApiKeyRowRaw>('SELECT * FROM api_keys WHERE secret_hash = $1', [
      bytes(secretHash),
    ]);
    return raw ? apiKeyRow(raw) : null;
  }

  async findApiKeyById(id: string): Promise<ApiKeyRecord | null> {
    const raw = await this.one<ApiKeyRowRaw>('SELECT * FROM api_keys WHERE id = $1', [toPgText(id)]);
    return raw ? apiKeyRow(raw) : null;
  }

  async listApiKeys(filter: IdentityFilter = {}): Promise<ApiKeyRecord[]> {
    const { rows } =
      filter.tenant === undefined
        ? await this.pool.query<ApiKeyRowRaw>('SELECT * FROM api_keys ORDER BY created_ms, id')
        : await this.pool.query<ApiKeyRowRaw>(
            'SELECT * FROM api_keys WHERE tenant = $1 ORDER BY created_ms, id',
            [toPgText(filter.tenant)],
          );
    return rows.map(apiKeyRow);
  }

  async countApiKeys(): Promise<number> {
    return int((await this.one<{ n: string }>('SELECT count(*) AS n FROM api_keys', []))!.n);
  }

  async touchApiKey(id: string, usedMs: number): Promise<void> {
    await this.pool.query(
      'UPDATE api_keys SET last_used_ms = $2 WHERE id = $1 AND (last_used_ms IS NULL OR last_used_ms < $2)',
      [toPgText(id), usedMs],
    );
  }

  async revokeApiKey(id: string, revokedMs: number): Promise<ApiKeyRecord | null> {
    await this.pool.query('UPDATE api_keys SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL', [
      toPgText(id),
      revokedMs,
    ]);
    return this.findApiKeyById(id);
  }

  async insertUser(user: UserRecord): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO users (id, username, username_key, password_hash, role, scopes, tenant, created_ms, updated_ms,
         disabled_ms, sessions_not_before_ms, last_login_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (username_key) DO NOTHING`,
      [
        toPgText(user.id),
        toPgText(user.username),
        toPgText(user.usernameKey),
        toPgText(user.passwordHash),
        toPgText(user.role),
        JSON.stringify(user.scopes),
        toPgText(user.tenant),
        user.createdMs,
        user.updatedMs,
        user.disabledMs,
        user.sessionsNotBeforeMs,
        user.lastLoginMs,
      ],
    );
    return result.rowCount === 1;
  }

  async findUserById(id: string): Promise<UserRecord | null> {
    const raw = await this.one<UserRowRaw>('SELECT * FROM users WHERE id = $1', [toPgText(id)]);
    return raw ? userRow(raw) : null;
  }

  async findUserByUsernameKey(usernameKey: string): Promise<UserRecord | null> {
    const raw = await this.one<UserRowRaw>('SELECT * FROM users WHERE username_key = $1', [
      toPgText(usernameKey),
    ]);
    return raw ? userRow(raw) : null;
  }

  async listUsers(filter: IdentityFilter = {}): Promise<UserRecord[]> {
    const { rows } =
      filter.tenant === undefined
        ? await this.pool.query<UserRowRaw>('SELECT * FROM users ORDER BY created_ms, id')
        : await this.pool.query<UserRowRaw>('SELECT * FROM users WHERE tenant = $1 ORDER BY created_ms, id', [
            toPgText(filter.tenant),
          ]);
    return rows.map(userRow);
  }

  async setUserDisabled(id: string, disabledMs: number | null, nowMs: number): Promise<UserRecord | null> {
    if (disabledMs === null) {
      await this.pool.query('UPDATE users SET disabled_ms = NULL, updated_ms = $2 WHERE id = $1', [
        toPgText(id),
        nowMs,
      ]);
    } else {
      // Keep the first disable time if it is disabled twice; tokens issued before now stop working either way.
      await this.pool.query(
        `UPDATE users SET disabled_ms = coalesce(disabled_ms, $2), sessions_not_before_ms = $3, updated_ms = $3
         WHERE id = $1`,
        [toPgText(id), disabledMs, nowMs],
      );
    }
    return this.findUserById(id);
  }

  async recordUserLogin(id: string, loginMs: number): Promise<void> {
    await this.pool.query('UPDATE users SET last_login_ms = $2 WHERE id = $1', [toPgText(id), loginMs]);
  }

  /**
   * Inside the caller's transaction: locks each key (in one order, so two attempts never deadlock), reads, decides,
   * writes. The lock also covers keys without a row yet, which a row lock (FOR UPDATE) could not.
   */
  async updateLoginFailures<T>(
    client: pg.PoolClient,
    keys: string[],
    decide: (records: Map<string, LoginFailureRecord>) => LoginFailureDecision<T>,
  ): Promise<T> {
    const stored = [...new Set(keys)].map((key) => toPgText(key)).sort();
    for (const key of stored) {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOGIN_LOCK_CLASS, key]);
    }
    const { rows } = await client.query<LoginFailureRowRaw>(
      'SELECT * FROM login_failures WHERE key = ANY($1::text[])',
      [stored],
    );
    const records = new Map<string, LoginFailureRecord>();
    for (const row of rows) {
      const key = fromPgText(row.key);
      records.set(key, {
        key,
        failures: row.failures,
        windowStartMs: int(row.window_start_ms),
        lastFailureMs: int(row.last_failure_ms),
        lockedUntilMs: int(row.locked_until_ms),
        expiresMs: int(row.expires_ms),
      });
    }
    const { result, write } = decide(records);
    for (const [key, r] of write) {
      if (r === null) {
        await client.query('DELETE FROM login_failures WHERE key = $1', [toPgText(key)]);
      } else {
        await client.query(
          `INSERT INTO login_failures (key, failures, window_start_ms, last_failure_ms, locked_until_ms, expires_ms)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
             window_start_ms = excluded.window_start_ms, last_failure_ms = excluded.last_failure_ms,
             locked_until_ms = excluded.locked_until_ms, expires_ms = excluded.expires_ms`,
          [toPgText(key), r.failures, r.windowStartMs, r.lastFailureMs, r.lockedUntilMs, r.expiresMs],
        );
      }
    }
    return result;
  }

  async pruneLoginFailures(nowMs: number): Promise<number> {
    return (
      (await this.pool.query('DELETE FROM login_failures WHERE expires_ms <= $1', [nowMs])).rowCount ?? 0
    );
  }
}
