// Reads Logbook's configuration from the environment (DESIGN.md §8) into one typed object.
// It never reads files or opens connections; a bad value throws ConfigError with one line to print.
import path from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  adminKey: string | undefined;
  jwtSecret: string | undefined;
  jwksUrl: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  retentionDays: number;
  /** Seconds between retention runs (each applies every tenant's policy); 0 = only when asked. */
  retentionIntervalSeconds: number;
  /** LOGBOOK_RETENTION_ARCHIVE (default true): retention writes expiring audit events to an archive before deleting. */
  retentionArchive: boolean;
  /** LOGBOOK_ARCHIVE_DIR: where those archives go (default `<data dir>/archive`, also with PostgreSQL). */
  archiveDir: string;
  logLevel: LogLevel;
  maxBodyBytes: number;
  sqliteCacheMiB: number;
  /** C2SP signer key string (PRIVATE+KEY+…); unset = the key file in the data dir, created on first start. */
  signingKey: string | undefined;
  /** Checkpoint origin prefix and signing key name; each tenant's log origin is `<logOrigin>/<tenant>`. */
  logOrigin: string;
  /** Seconds between automatic checkpoints (made only when a log grew); 0 = only on demand and at shutdown. */
  checkpointIntervalSeconds: number;
  witnessDir: string | undefined;
  witnessUrl: string | undefined;
  /** Failed logins of one username before it is locked out. */
  loginMaxFailures: number;
  /** How long a lockout lasts (and how long failures are remembered). */
  loginLockoutSeconds: number;
  /** Lifetime of the tokens /api/v1/auth/login issues. */
  loginTokenTtlSeconds: number;
  /** The Ed25519 key that signs login tokens (PKCS#8 PEM); created with mode 0600 on first start. */
  loginKeyFile: string;
  /** Browser origins allowed by CORS; undefined = CORS off. */
  corsOrigins: string[] | undefined;
  /** PostgreSQL: a connection attempt without an answer fails after this long (then 503 + Retry-After). */
  dbConnectTimeoutMs: number;
  /** PostgreSQL: a statement without an answer fails after this long (0 = no limit). */
  dbQueryTimeoutMs: number;
  /** Audit events waiting to be committed at most; more → 503 + Retry-After (bounds memory under overload). */
  ingestQueueMaxEvents: number;
  /** Requests per minute per credential / per client address (0 = off), and login attempts per address. */
  rateLimit: { perKeyPerMinute: number; perIpPerMinute: number; loginPerMinute: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return Number(raw);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${env[name]}")`);
}

function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function logOrigin(env: Env): string {
  const origin = optional(env, 'LOGBOOK_LOG_ORIGIN') ?? 'logbook';
  // A C2SP key name: no spaces, no '+', printable (it becomes the first line of every checkpoint too).
  if (!/^[\x21-\x2A\x2C-\x7E]{1,128}$/.test(origin)) {
    throw new ConfigError(
      `LOGBOOK_LOG_ORIGIN must be 1–128 printable characters without spaces or "+" (got "${origin}")`,
    );
  }
  return origin;
}

/** LOGBOOK_CORS_ORIGINS: `*`, or a comma-separated list of origins like `https://app.example.com`. */
function corsOrigins(env: Env): string[] | undefined {
  const raw = optional(env, 'LOGBOOK_CORS_ORIGINS');
  if (raw === undefined) return undefined;
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
      throw new ConfigError(
        `LOGBOOK_CORS_ORIGINS must be "*" or comma-separated origins like https://app.example.com (got "${origin}")`,
      );
    }
  }
  return origins.length > 0 ? origins : undefined;
}

/** Checks of the JWT settings that make a token check meaningful. */
function checkJwt(env: Env, jwksUrl: string | undefined): void {
  const secret = optional(env, 'LOGBOOK_JWT_SECRET');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError(
      'LOGBOOK_JWT_SECRET must be at least 32 bytes long (HS256 needs a strong shared secret)',
    );
  }
  if (jwksUrl && !optional(env, 'LOGBOOK_JWT_AUDIENCE')) {
    throw new ConfigError(
      'LOGBOOK_JWKS_URL needs LOGBOOK_JWT_AUDIENCE: without it, tokens your identity provider issued for other applications would be accepted',
    );
  }
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const logLevel = (optional(env, 'LOGBOOK_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOGBOOK_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }
  const databaseUrl = optional(env, 'LOGBOOK_DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'LOGBOOK_DATABASE_URL must be a postgres:// URL, or unset to use SQLite in LOGBOOK_DATA_DIR',
    );
  }
  const jwksUrl = optional(env, 'LOGBOOK_JWKS_URL');
  if (jwksUrl && !/^https?:\/\//.test(jwksUrl)) {
    throw new ConfigError(`LOGBOOK_JWKS_URL must be an http(s) URL (got "${jwksUrl}")`);
  }
  const witnessDir = optional(env, 'LOGBOOK_WITNESS_DIR');
  const witnessUrl = optional(env, 'LOGBOOK_WITNESS_URL');
  if (witnessUrl && !/^https?:\/\//.test(witnessUrl)) {
    throw new ConfigError(`LOGBOOK_WITNESS_URL must be an http(s) URL (got "${witnessUrl}")`);
  }
  checkJwt(env, jwksUrl);
  const dataDir = path.resolve(cwd, optional(env, 'LOGBOOK_DATA_DIR') ?? './data');
  const loginKeyFile = optional(env, 'LOGBOOK_LOGIN_KEY_FILE');
  const adminKey = optional(env, 'LOGBOOK_ADMIN_KEY');
  if (adminKey !== undefined && adminKey.length < 16) {
    throw new ConfigError('LOGBOOK_ADMIN_KEY must be at least 16 characters long');
  }
  return {
    host: optional(env, 'LOGBOOK_HOST') ?? '127.0.0.1',
    port: integer(env, 'LOGBOOK_PORT', 8080, 0, 65535),
    dataDir,
    databaseUrl,
    adminKey,
    jwtSecret: optional(env, 'LOGBOOK_JWT_SECRET'),
    jwksUrl,
    jwtIssuer: optional(env, 'LOGBOOK_JWT_ISSUER'),
    jwtAudience: optional(env, 'LOGBOOK_JWT_AUDIENCE'),
    retentionDays: integer(env, 'LOGBOOK_RETENTION_DAYS', 45, 0, 36_500),
    retentionIntervalSeconds: integer(env, 'LOGBOOK_RETENTION_INTERVAL_SECONDS', 3600, 0, 31_536_000),
    retentionArchive: boolean(env, 'LOGBOOK_RETENTION_ARCHIVE', true),
    archiveDir: path.resolve(cwd, optional(env, 'LOGBOOK_ARCHIVE_DIR') ?? path.join(dataDir, 'archive')),
    logLevel: logLevel as LogLevel,
    maxBodyBytes: integer(env, 'LOGBOOK_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    sqliteCacheMiB: integer(env, 'LOGBOOK_SQLITE_CACHE_MIB', 256, 2, 65_536),
    signingKey: optional(env, 'LOGBOOK_SIGNING_KEY'),
    logOrigin: logOrigin(env),
    checkpointIntervalSeconds: integer(env, 'LOGBOOK_CHECKPOINT_INTERVAL_SECONDS', 10, 0, 86_400),
    witnessDir: witnessDir === undefined ? undefined : path.resolve(cwd, witnessDir),
    witnessUrl,
    loginMaxFailures: integer(env, 'LOGBOOK_LOGIN_MAX_FAILURES', 5, 1, 1000),
    loginLockoutSeconds: integer(env, 'LOGBOOK_LOGIN_LOCKOUT_SECONDS', 900, 1, 86_400),
    loginTokenTtlSeconds: integer(env, 'LOGBOOK_LOGIN_TOKEN_TTL_SECONDS', 3600, 60, 86_400),
    loginKeyFile: loginKeyFile ? path.resolve(cwd, loginKeyFile) : path.join(dataDir, 'login-token.key'),
    corsOrigins: corsOrigins(env),
    dbConnectTimeoutMs: integer(env, 'LOGBOOK_DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    dbQueryTimeoutMs: integer(env, 'LOGBOOK_DB_QUERY_TIMEOUT_MS', 60_000, 0, 86_400_000),
    ingestQueueMaxEvents: integer(env, 'LOGBOOK_INGEST_QUEUE_MAX_EVENTS', 200_000, 100, 10_000_000),
    rateLimit: {
      perKeyPerMinute: integer(env, 'LOGBOOK_RATE_LIMIT_PER_KEY_PER_MINUTE', 0, 0, 100_000_000),
      perIpPerMinute: integer(env, 'LOGBOOK_RATE_LIMIT_PER_IP_PER_MINUTE', 0, 0, 100_000_000),
      loginPerMinute: integer(env, 'LOGBOOK_RATE_LIMIT_LOGIN_PER_MINUTE', 20, 0, 1_000_000),
    },
  };
}
