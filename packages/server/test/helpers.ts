// Test harness: a real SQLite file in a fresh temp dir, the real app over it, driven with inject().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { generateSigningKey } from '@logbook/protocol';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { createServices, drainServices, type Services } from '../src/services/index.ts';
import { bootstrapAdminKey } from '../src/services/keys.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';

export function tempDir(prefix = 'logbook-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestApp {
  app: FastifyInstance;
  store: SqliteStore;
  services: Services;
  adminKey: string;
  dir: string;
  /** Everything the server logged, one JSON line per entry. */
  logLines: string[];
  auth: { authorization: string };
  close(): Promise<void>;
}

export async function makeTestApp(
  options: { clock?: () => number; maxBodyBytes?: number; dir?: string } = {},
): Promise<TestApp> {
  const dir = options.dir ?? tempDir();
  const store = new SqliteStore({ file: path.join(dir, 'logbook.db') });
  await store.migrate();
  const bootstrap = await bootstrapAdminKey(store, 'test-admin-key-0123456789', Date.now());
  if (bootstrap.kind === 'created') throw new Error('unexpected');
  const adminKey = 'test-admin-key-0123456789';
  const services = createServices(store, {
    signer: generateSigningKey('logbook.test'),
    ...(options.clock ? { clock: options.clock } : {}),
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
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  await app.ready();
  return {
    app,
    store,
    services,
    adminKey,
    dir,
    logLines,
    auth: { authorization: `Bearer ${adminKey}` },
    async close() {
      await app.close();
      await drainServices(services);
      await store.close();
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
