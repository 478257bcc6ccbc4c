// Reads Logbook's configuration from the environment (DESIGN.md §8) into one typed object.
// It never reads files or opens connections; a bad value throws ConfigError with one line to print.
import net from 'node:net';
import path from 'node:path';
import { TENANT_PATTERN } from '@logbook/protocol';

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
  /** SQLite: appends run on a writer thread with its own connection, off the event loop (docs/storage.md). */
  sqliteWriterThread: boolean;
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
  /** Which peers may set the client address with X-Forwarded-For; undefined = none (the socket peer is the client). */
  trustProxy: TrustProxy | undefined;
  /** LOGBOOK_CAPTURE_*: capture an application PostgreSQL database's changes inside `serve`; undefined = off. */
  capture: CaptureConfig | undefined;
}

/** Change capture run by `serve` (docs/capture.md). */
export interface CaptureConfig {
  /** LOGBOOK_CAPTURE_SOURCE: the application database (postgres://…), not Logbook's own store. */
  source: string;
  /** LOGBOOK_CAPTURE_TENANT (default "default"): the tenant the captured events go to. */
  tenant: string;
  /** LOGBOOK_CAPTURE_NAME: names the source in events (default: the database name in the URL). */
  name: string | undefined;
  /** LOGBOOK_CAPTURE_BATCH_SIZE (default 1000): outbox rows per append. */
  batchSize: number;
  /** LOGBOOK_CAPTURE_POLL_MS (default 500): how often an idle worker looks for new rows. */
  pollIntervalMs: number;
}

/** LOGBOOK_TRUST_PROXY: the addresses, CIDRs and range names of the trusted proxies. */
export type TrustProxy = string[];

/** proxy-addr's names for address ranges (loopback 127.0.0.1/8 and ::1, linklocal, uniquelocal). */
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'] as const;

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

/**
 * LOGBOOK_TRUST_PROXY: unset/`false`/`0` = off; else comma-separated proxy addresses, CIDRs and names (`loopback`,
 * `linklocal`, `uniquelocal`). Refused: `true`/`*` (any client could then claim any address and escape per-address
 * limits and lockouts) and hop counts (they cannot tell a proxy from a client that connects directly; Fastify 5
 * ignores them).
 */
function trustProxy(env: Env): TrustProxy | undefined {
  const name = 'LOGBOOK_TRUST_PROXY';
  const raw = optional(env, name)?.trim();
  if (raw === undefined || ['false', 'off', 'no', '0'].includes(raw.toLowerCase())) return undefined;
  if (/^\d+$/.test(raw) || ['true', '*', 'all', 'yes', 'on'].includes(raw.toLowerCase())) {
    throw new ConfigError(
      `${name}=${raw} cannot tell a proxy from a client that connects directly, so any client could pick its own address; list the proxies' addresses or CIDRs instead (e.g. 10.0.0.0/8,loopback)`,
    );
  }
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = net.isIP(address);
    const bits = family === 4 ? 32 : 128;
    const valid =
      (TRUST_PROXY_NAMES as readonly string[]).includes(entry) ||
      (family !== 0 &&
        rest.length === 0 &&
        (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits)));
    if (!valid) {
      throw new ConfigError(
        `${name} must be comma-separated proxy addresses, CIDRs (10.0.0.0/8, fd00::/8) or ${TRUST_PROXY_NAMES.join('/')} (got "${entry}")`,
      );
    }
  }
  return entries.length > 0 ? entries : undefined;
}

/** LOGBOOK_CAPTURE_*: off unless LOGBOOK_CAPTURE_SOURCE is set. */
function capture(env: Env): CaptureConfig | undefined {
  const source = optional(env, 'LOGBOOK_CAPTURE_SOURCE');
  if (source === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(source)) {
    throw new ConfigError(
      'LOGBOOK_CAPTURE_SOURCE must be the postgres:// URL of the application database to capture (see docs/capture.md)',
    );
  }
  const tenant = optional(env, 'LOGBOOK_CAPTURE_TENANT') ?? 'default';
  if (!new RegExp(TENANT_PATTERN).test(tenant)) {
    throw new ConfigError(
      `LOGBOOK_CAPTURE_TENANT must be a tenant name: 1–64 of A–Z a–z 0–9 . _ - (got "${tenant}")`,
    );
  }
  const name = optional(env, 'LOGBOOK_CAPTURE_NAME');
  if (name !== undefined && name.length > 256) {
    throw new ConfigError('LOGBOOK_CAPTURE_NAME must be at most 256 characters');
  }
  return {
    source,
    tenant,
    name,
    batchSize: integer(env, 'LOGBOOK_CAPTURE_BATCH_SIZE', 1000, 1, 10_000),
    pollIntervalMs: integer(env, 'LOGBOOK_CAPTURE_POLL_MS', 500, 10, 600_000),
  };
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
    sqliteWriterThread: boolean(env, 'LOGBOOK_SQLITE_WRITER_THREAD', true),
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
    trustProxy: trustProxy(env),
    capture: capture(env),
  };
}
