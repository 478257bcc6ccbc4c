// Composition root: config → store → services → app → listen. The only module (besides tests) that picks a
// store adapter. It never exits the process: the CLI owns signals and exit codes.
import fs from 'node:fs';
import path from 'node:path';
import {
  generateSigningKey,
  parseSignerKey,
  type SigningKey,
  signerKeyString,
  verifierKeyString,
} from '@logbook/protocol';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { generateLoginKeyPem } from './auth/login-tokens.ts';
import { startCaptureWorker } from './capture/start-worker.ts';
import { type Config, ConfigError } from './config/config.ts';
import { readOrCreateSecretFile } from './config/key-files.ts';
import { startCheckpointer } from './jobs/checkpointer.ts';
import { startRetentionJob } from './jobs/retention.ts';
import { directoryWitness, httpWitness } from './jobs/witnesses.ts';
import type { IdentityOptions } from './services/identity.ts';
import { createServices, drainServices } from './services/index.ts';
import { bootstrapAdminKey } from './services/keys.ts';
import { PostgresStore, redactDatabaseUrl } from './store/postgres/postgres-store.ts';
import { openSqliteStore, SQLITE_FILE } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

/** The configured store. `readonly` (for the verifier) refuses to create a database that does not exist. */
export function openStore(
  config: Config,
  options: { readonly?: boolean; writerThread?: boolean } = {},
): Store {
  if (config.databaseUrl) {
    // Connections are made lazily: a database that does not answer fails the first query (migrate, or verify's read).
    return new PostgresStore({
      url: config.databaseUrl,
      connectTimeoutMs: config.dbConnectTimeoutMs,
      // The verifier (readonly) reads whole logs in long statements: its default is no limit.
      ...(options.readonly ? {} : { queryTimeoutMs: config.dbQueryTimeoutMs }),
      ...(options.readonly !== undefined ? { readonly: options.readonly } : {}),
    });
  }
  const file = path.join(config.dataDir, SQLITE_FILE);
  if (options.readonly && !fs.existsSync(file)) {
    throw new ConfigError(
      `there is no Logbook database in ${config.dataDir} (expected ${SQLITE_FILE}); pass --data-dir`,
    );
  }
  return openSqliteStore(config.dataDir, { cacheMiB: config.sqliteCacheMiB, ...options });
}

/** Connection-level failures of a configured database (unreachable, refused login, no such database). */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  '28P01',
  '28000',
  '3D000',
]);

/** Migrates the store; a database that cannot be reached is a configuration error with one clear line. */
export async function migrateStore(store: Store, config: Config): Promise<string[]> {
  try {
    return await store.migrate();
  } catch (error) {
    if (config.databaseUrl && CONNECTION_ERRORS.has((error as { code?: string }).code ?? '')) {
      throw new ConfigError(
        `cannot use LOGBOOK_DATABASE_URL ${redactDatabaseUrl(config.databaseUrl)}: ${(error as Error).message}`,
      );
    }
    throw error;
  }
}

export const SIGNING_KEY_FILE = 'checkpoint-signing.key';
export const PUBLIC_KEY_FILE = 'checkpoint-signing.pub';

/**
 * The checkpoint signing key: LOGBOOK_SIGNING_KEY, else the key file in the data dir (created on first start,
 * mode 0600, with its public verifier key beside it for `logbook verify`).
 */
export function loadSigningKey(config: Config): SigningKey {
  if (config.signingKey) {
    try {
      return parseSignerKey(config.signingKey);
    } catch (error) {
      throw new ConfigError(
        `LOGBOOK_SIGNING_KEY is not a C2SP signer key (PRIVATE+KEY+name+hash+base64): ${(error as Error).message}`,
      );
    }
  }
  const { text } = readOrCreateSecretFile(path.join(config.dataDir, SIGNING_KEY_FILE), () =>
    signerKeyString(generateSigningKey(config.logOrigin)),
  );
  const key = parseSignerKey(text);
  readOrCreateSecretFile(path.join(config.dataDir, PUBLIC_KEY_FILE), () =>
    verifierKeyString(key.name, key.publicKey),
  );
  return key;
}

/**
 * Identity settings: the login token key (read from its file, created with mode 0600 on first start), outside
 * JWT issuers, the login lockout policy.
 */
export function identityOptions(config: Config): IdentityOptions {
  return {
    loginKeyPem: readOrCreateSecretFile(config.loginKeyFile, generateLoginKeyPem).text,
    loginTokenTtlSeconds: config.loginTokenTtlSeconds,
    jwt: {
      secret: config.jwtSecret,
      jwksUrl: config.jwksUrl,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
    },
    login: { maxFailures: config.loginMaxFailures, lockoutSeconds: config.loginLockoutSeconds },
  };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  store: Store;
  /** Stops accepting, finishes in-flight requests and queued writes, closes the database. */
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  print: (line: string) => void = console.log,
): Promise<RunningServer> {
  const store = openStore(config, { writerThread: config.sqliteWriterThread });
  try {
    await migrateStore(store, config);
    const bootstrap = await bootstrapAdminKey(store, config.adminKey, Date.now());
    if (bootstrap.kind === 'created') {
      print(
        `Created the first admin API key. It is shown only now; store it somewhere safe:\n\n    ${bootstrap.secret}\n`,
      );
    }
    const witnesses = [
      ...(config.witnessDir ? [directoryWitness(config.witnessDir)] : []),
      ...(config.witnessUrl ? [httpWitness(config.witnessUrl)] : []),
    ];
    let logWarning: (message: string, error: unknown) => void = () => {};
    const services = createServices(store, {
      signer: loadSigningKey(config),
      witnesses,
      onWitnessError: (witness, error) => logWarning(`checkpoint witness ${witness} failed`, error),
      identity: identityOptions(config),
      retentionDays: config.retentionDays,
      ...(config.retentionArchive ? { archiveDir: config.archiveDir } : {}),
      ingestQueueMaxEvents: config.ingestQueueMaxEvents,
    });
    const app = await buildApp({
      store,
      services,
      logLevel: config.logLevel,
      maxBodyBytes: config.maxBodyBytes,
      rateLimit: config.rateLimit,
      ...(config.corsOrigins ? { corsOrigins: config.corsOrigins } : {}),
      ...(config.trustProxy !== undefined ? { trustProxy: config.trustProxy } : {}),
    });
    logWarning = (message, error) => app.log.warn({ err: error }, message);
    const checkpointer = startCheckpointer(services.integrity, config.checkpointIntervalSeconds, (error) =>
      app.log.error({ err: error }, 'checkpoint failed'),
    );
    const retentionJob = startRetentionJob(
      services.retention,
      config.retentionIntervalSeconds,
      (error) => app.log.error({ err: error }, 'retention run failed'),
      (result) => {
        if (result.deleted > 0)
          app.log.info({ retention: result }, `retention removed ${result.deleted} entries`);
      },
    );
    await app.listen({ host: config.host, port: config.port });
    // After listen: captured rows are appended only once the server is fully up (docs/capture.md).
    const captureWorker = config.capture
      ? startCaptureWorker(config.capture, services.events, app.log)
      : null;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    const where = config.databaseUrl
      ? `PostgreSQL at ${redactDatabaseUrl(config.databaseUrl)}`
      : `SQLite in ${config.dataDir}`;
    print(`Logbook listening on ${url} (${where}); dashboard at ${url}/, API docs at ${url}/docs`);
    let closing: Promise<void> | null = null;
    return {
      app,
      url,
      store,
      close: () => {
        closing ??= (async () => {
          // Keep-alive connections that finish a request after close() began would otherwise hold it open until
          // their idle timeout (72 s): close each as soon as it goes idle.
          const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
          try {
            await app.close();
          } finally {
            clearInterval(reaper);
          }
          // Finishes its batch in flight (appended and deleted from the outbox, or neither) before the queue drains.
          await captureWorker?.stop();
          await retentionJob.stop();
          await drainServices(services);
          // A final checkpoint, so that events acknowledged just before shutdown are covered by a signature.
          await checkpointer.stop();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
