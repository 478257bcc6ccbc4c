// The storage backends every store, HTTP and integrity test runs against (DESIGN.md §9), and a fresh store on each.
// SQLite: a file in a temp dir. PostgreSQL: a fresh, randomly named database on LOGBOOK_TEST_DATABASE_URL's server,
// dropped afterwards. Without a PostgreSQL server the suites run on SQLite only and say so loudly, unless CI=true:
// then PostgreSQL is required and the suites fail.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';

export type Backend = 'sqlite' | 'postgres';

export const TEST_DATABASE_URL =
  process.env.LOGBOOK_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const REQUIRED = process.env.CI === 'true';

async function postgresAnswers(): Promise<string | null> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function detectBackends(): Promise<Backend[]> {
  const problem = await postgresAnswers();
  if (problem === null) return ['sqlite', 'postgres'];
  const where = TEST_DATABASE_URL.replace(/:[^:@/]*@/, ':***@');
  if (REQUIRED) {
    throw new Error(
      `CI=true requires PostgreSQL for the backend tests, but ${where} does not answer (${problem}). ` +
        'Start it (see .ci/run) or set LOGBOOK_TEST_DATABASE_URL.',
    );
  }
  const bar = '!'.repeat(100);
  console.warn(
    `\n${bar}\n!!! PostgreSQL at ${where} does not answer (${problem}).\n` +
      '!!! SKIPPING every PostgreSQL test: only SQLite is tested in this run. Start PostgreSQL or set\n' +
      `!!! LOGBOOK_TEST_DATABASE_URL; with CI=true this is a failure.\n${bar}\n`,
  );
  return ['sqlite'];
}

/** The backends to run, decided once per test file. */
export const BACKENDS: Backend[] = await detectBackends();
export const POSTGRES_AVAILABLE = BACKENDS.includes('postgres');

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates a fresh, randomly named database on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `logbook_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestStore {
  backend: Backend;
  store: Store;
  /** The SQLite data dir (a temp dir on either backend: tests keep key files there). */
  dir: string;
  /** The PostgreSQL database URL (postgres only). */
  databaseUrl?: string;
  /** Closes the store (if still open) and deletes the database. */
  cleanup(): Promise<void>;
}

/** A fresh, migrated store on `backend`. `dir` is used as (or created for) the data dir. */
export async function makeStore(backend: Backend, options: { dir?: string } = {}): Promise<TestStore> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-test-'));
  if (backend === 'sqlite') {
    const store = new SqliteStore({ file: path.join(dir, 'logbook.db') });
    await store.migrate();
    return {
      backend,
      store,
      dir,
      async cleanup() {
        await store.close();
      },
    };
  }
  const database = await createTestDatabase();
  const store = new PostgresStore({ url: database.url, poolSize: 5 });
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    await database.drop();
    throw error;
  }
  return {
    backend,
    store,
    dir,
    databaseUrl: database.url,
    async cleanup() {
      await store.close();
      await database.drop();
    },
  };
}
