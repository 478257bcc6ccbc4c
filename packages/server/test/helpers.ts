// Test harness: a real store (a SQLite file in a fresh temp dir by default, or a fresh PostgreSQL database with
// `backend: 'postgres'`), the real app over it, driven with inject().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { generateSigningKey } from '@logbook/protocol';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { generateLoginKeyPem } from '../src/auth/login-tokens.ts';
import { readOrCreateSecretFile } from '../src/config/key-files.ts';
import type { RateLimitOptions } from '../src/http/plugins/rate-limit.ts';
import type { IdentityOptions } from '../src/services/identity.ts';
import { createServices, drainServices, type Services } from '../src/services/index.ts';
import { bootstrapAdminKey } from '../src/services/keys.ts';
import type { Store } from '../src/store/store.ts';
import { type Backend, makeStore } from './support-backends.ts';

export function tempDir(prefix = 'logbook-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  backend: Backend;
  services: Services;
  adminKey: string;
  dir: string;
  /** Everything the server logged, one JSON line per entry. */
  logLines: string[];
  auth: { authorization: string };
  close(): Promise<void>;
}

export async function makeTestApp(
  options: {
    clock?: () => number;
    maxBodyBytes?: number;
    dir?: string;
    /** Outside JWT issuers, login policy, token lifetime (the login key is a file in the temp dir). */
    identity?: IdentityOptions;
    corsOrigins?: string[];
    /** Storage backend (default sqlite); see support-backends.ts. */
    backend?: Backend;
    /** Abuse limits (off unless given). */
    rateLimit?: RateLimitOptions;
    /** Retention archives audit events here before deleting them (off unless given). */
    archiveDir?: string;
  } = {},
): Promise<TestApp> {
  const dir = options.dir ?? tempDir();
  const backend = options.backend ?? 'sqlite';
  const testStore = await makeStore(backend, { dir });
  const store = testStore.store;
  // The app's clock, as in `serve`: with a fixed test clock earlier than today, a real-time admin key would sort after
  // every key the test creates (this broke "oldest first" listings once the calendar passed the tests' date).
  const bootstrap = await bootstrapAdminKey(
    store,
    'test-admin-key-0123456789',
    (options.clock ?? Date.now)(),
  );
  if (bootstrap.kind === 'created') throw new Error('unexpected');
  const adminKey = 'test-admin-key-0123456789';
  const services = createServices(store, {
    signer: generateSigningKey('logbook.test'),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.archiveDir ? { archiveDir: options.archiveDir } : {}),
    identity: {
      loginKeyPem: readOrCreateSecretFile(path.join(dir, 'login-token.key'), generateLoginKeyPem).text,
      ...options.identity,
    },
  });
  const logLines: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, callback) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  const app = await buildApp({
    store,
    services,
    logLevel: 'info',
    logStream,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  await app.ready();
  return {
    app,
    store,
    backend,
    services,
    adminKey,
    dir,
    logLines,
    auth: { authorization: `Bearer ${adminKey}` },
    async close() {
      await app.close();
      await drainServices(services);
      await testStore.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal valid event; fields can be overridden. */
export function sampleEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    action: 'invoice.pay',
    actor: { id: 'alice', name: 'Alice', type: 'user' },
    target: { type: 'invoice', id: 'inv-1' },
    description: 'Alice paid invoice inv-1',
    ...overrides,
  };
}
