// Composition root: config → store → services → app → listen. The only module (besides tests) that picks a
// store adapter. It never exits the process: the CLI owns signals and exit codes.
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { type Config, ConfigError } from './config/config.ts';
import { createServices, drainServices } from './services/index.ts';
import { bootstrapAdminKey } from './services/keys.ts';
import { openSqliteStore } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

export function openStore(config: Config): Store {
  if (config.databaseUrl) {
    throw new ConfigError(
      'LOGBOOK_DATABASE_URL is set, but the PostgreSQL backend is not available in this build yet',
    );
  }
  return openSqliteStore(config.dataDir, { cacheMiB: config.sqliteCacheMiB });
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
    const services = createServices(store);
    const app = await buildApp({
      store,
      services,
      logLevel: config.logLevel,
      maxBodyBytes: config.maxBodyBytes,
    });
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
