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
import { type Config, ConfigError } from './config/config.ts';
import { readOrCreateSecretFile } from './config/key-files.ts';
import { startCheckpointer } from './jobs/checkpointer.ts';
import { directoryWitness, httpWitness } from './jobs/witnesses.ts';
import { createServices, drainServices } from './services/index.ts';
import { bootstrapAdminKey } from './services/keys.ts';
import { openSqliteStore, SQLITE_FILE } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

/** The configured store. `readonly` (for the verifier) refuses to create a database that does not exist. */
export function openStore(config: Config, options: { readonly?: boolean } = {}): Store {
  if (config.databaseUrl) {
    throw new ConfigError(
      'LOGBOOK_DATABASE_URL is set, but the PostgreSQL backend is not available in this build yet',
    );
  }
  const file = path.join(config.dataDir, SQLITE_FILE);
  if (options.readonly && !fs.existsSync(file)) {
    throw new ConfigError(
      `there is no Logbook database in ${config.dataDir} (expected ${SQLITE_FILE}); pass --data-dir`,
    );
  }
  return openSqliteStore(config.dataDir, { cacheMiB: config.sqliteCacheMiB, ...options });
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
  const store = openStore(config);
  try {
    await store.migrate();
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
    });
    const app = await buildApp({
      store,
      services,
      logLevel: config.logLevel,
      maxBodyBytes: config.maxBodyBytes,
    });
    logWarning = (message, error) => app.log.warn({ err: error }, message);
    const checkpointer = startCheckpointer(services.integrity, config.checkpointIntervalSeconds, (error) =>
      app.log.error({ err: error }, 'checkpoint failed'),
    );
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    print(`Logbook listening on ${url} (SQLite in ${config.dataDir}); API docs at ${url}/docs`);
    let closing: Promise<void> | null = null;
    return {
      app,
      url,
      store,
      close: () => {
        closing ??= (async () => {
          await app.close();
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
