// Change capture (docs/capture.md) on a real PostgreSQL application database and a real Logbook (SQLite store,
// events service, read back through the HTTP API): install/uninstall, column filters, no-op updates, composite keys,
// actors, TRUNCATE, exact numbers, rejected rows, and a replay after a crash between append and delete.
import { EVENT_LIMITS, EventInput as EventInputSchema } from '@logbook/protocol';
import pg from 'pg';
import { Value } from 'typebox/value';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fitChanges } from '../src/capture/events.ts';
import {
  CaptureSetupError,
  CaptureWorker,
  captureStatus,
  eventFromOutboxRow,
  installCapture,
  parseJsonExact,
  targetIdOf,
  uninstallCapture,
} from '../src/capture/index.ts';
import { serviceSink } from '../src/capture/service-sink.ts';
import { rowFunctionName } from '../src/capture/sql.ts';
import { loadConfig } from '../src/config/config.ts';
import { makeTestApp, type TestApp } from './helpers.ts';
import { createTestDatabase, POSTGRES_AVAILABLE, type TestDatabase } from './support-backends.ts';

interface Captured {
  id: string;
  seq: number;
  action: string;
  occurredAt: string;
  actor: { id: string; type?: string };
  target: { type: string; id?: string };
  changes?: { before?: Record<string, unknown>; after?: Record<string, unknown> };
  description?: string;
  details: { capture: Record<string, unknown> };
}

describe('capture: pure parts', () => {
  it('parses JSON without losing digits of big integers and long decimals', () => {
    expect(parseJsonExact('{"a":9007199254740993,"b":12.5,"c":"9007199254740993","d":-1e3}')).toEqual({
      a: '9007199254740993',
      b: 12.5,
      c: '9007199254740993',
      d: -1000,
    });
    expect(parseJsonExact('[0.12345678901234567890, 1, "x\\"1234567890123456789", true, null]')).toEqual([
      '0.12345678901234567890',
      1,
      'x"1234567890123456789',
      true,
      null,
    ]);
  });

  it('formats primary keys: single values as text, composite keys reversible, long ones hashed', () => {
    expect(targetIdOf([42])).toBe('42');
    expect(targetIdOf(['a,b'])).toBe('a,b');
    expect(targetIdOf([7, 'a,b%c'])).toBe('7,a%2Cb%25c');
    const long = targetIdOf(['x'.repeat(300)]);
    expect(long.length).toBeLessThanOrEqual(256);
    expect(long).toMatch(/^x{180}…[0-9a-f]{32}$/);
  });

  it('fits oversized row images by truncating the largest values, deterministically', () => {
    const big = 'y'.repeat(EVENT_LIMITS.maxChangesBytes);
    const once = fitChanges({ before: { id: 1, blob: big, small: 's' }, after: { id: 1, blob: `${big}z` } });
    expect(once.truncatedColumns).toEqual(['blob']);
    expect(once.changes.before).toMatchObject({ id: 1, small: 's' });
    expect(String((once.changes.before as { blob: string }).blob)).toMatch(
      /^\[truncated by Logbook capture: \d+ bytes, sha256 [0-9a-f]{64}\]$/,
    );
    expect(Buffer.byteLength(JSON.stringify(once.changes))).toBeLessThanOrEqual(EVENT_LIMITS.maxChangesBytes);
    const again = fitChanges({ before: { id: 1, blob: big, small: 's' }, after: { id: 1, blob: `${big}z` } });
    expect(again).toEqual(once);
  });

  it('builds events the API schema accepts, from any row', () => {
    const event = eventFromOutboxRow(
      {
        id: '12',
        txid: '777',
        at: new Date('2026-01-02T03:04:05.678Z'),
        schema_name: 'sales',
        table_name: 'orders',
        op: 'UPDATE',
        pk: '[7, "x"]',
        actor_id: 'a'.repeat(300),
        db_role: 'app',
        before: '{"id": 7, "n": 1}',
        after: '{"id": 7, "n": 2}',
      },
      { installId: '00000000-0000-4000-8000-000000000000', tenant: 'acme', source: 'shop' },
    );
    expect(Value.Check(EventInputSchema, event)).toBe(true);
    expect(event).toMatchObject({
      id: 'pgcap-00000000-0000-4000-8000-000000000000-12',
      tenant: 'acme',
      occurredAt: '2026-01-02T03:04:05.678Z',
      action: 'UPDATE',
      actor: { type: 'user' },
      target: { type: 'sales.orders', id: '7,x' },
      changes: { before: { id: 7, n: 1 }, after: { id: 7, n: 2 } },
      details: { capture: { source: 'shop', schema: 'sales', table: 'orders', txid: 777, outboxId: '12' } },
    });
    expect(event.actor.id).toHaveLength(256);
  });

  it('reads LOGBOOK_CAPTURE_* and refuses bad values with one line', () => {
    expect(loadConfig({}).capture).toBeUndefined();
    expect(
      loadConfig({ LOGBOOK_CAPTURE_SOURCE: 'postgres://app@db/shop', LOGBOOK_CAPTURE_BATCH_SIZE: '250' })
        .capture,
    ).toEqual({
      source: 'postgres://app@db/shop',
      tenant: 'default',
      name: undefined,
      batchSize: 250,
      pollIntervalMs: 500,
    });
    const bad: [Record<string, string>, RegExp][] = [
      [{ LOGBOOK_CAPTURE_SOURCE: 'mysql://x' }, /LOGBOOK_CAPTURE_SOURCE must be the postgres:\/\/ URL/],
      [
        { LOGBOOK_CAPTURE_SOURCE: 'postgres://x/y', LOGBOOK_CAPTURE_TENANT: 'no spaces' },
        /LOGBOOK_CAPTURE_TENANT/,
      ],
      [
        { LOGBOOK_CAPTURE_SOURCE: 'postgres://x/y', LOGBOOK_CAPTURE_BATCH_SIZE: '20000' },
        /BATCH_SIZE must be an integer from 1 to 10000/,
      ],
      [
        { LOGBOOK_CAPTURE_SOURCE: 'postgres://x/y', LOGBOOK_CAPTURE_POLL_MS: '1' },
        /POLL_MS must be an integer from 10/,
      ],
    ];
    for (const [env, message] of bad) expect(() => loadConfig(env)).toThrow(message);
  });

  it('names each table its own trigger function, within 63 bytes', () => {
    const a = rowFunctionName({ schema: 'public', table: 'a_b' });
    const b = rowFunctionName({ schema: 'public_a', table: 'b' });
    expect(a).not.toBe(b);
    expect(rowFunctionName({ schema: 's'.repeat(63), table: 't'.repeat(63) }).length).toBeLessThanOrEqual(63);
  });
});

describe.skipIf(!POSTGRES_AVAILABLE)('capture on a real application database', () => {
  let database: TestDatabase;
  let db: pg.Client;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await database?.drop();
  });

  beforeEach(async () => {
    await db.query(`DROP SCHEMA IF EXISTS logbook_capture CASCADE;
      DROP SCHEMA IF EXISTS sales CASCADE; CREATE SCHEMA sales;
      DROP TABLE IF EXISTS customers, items, no_key, big CASCADE;
      DROP VIEW IF EXISTS customer_names;
      CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text, password_hash text,
        balance numeric(20, 2) NOT NULL DEFAULT 0, tags jsonb, updated_at timestamptz);
      CREATE TABLE sales.items (order_id text, line_no int, sku text, qty int, PRIMARY KEY (order_id, line_no));
      CREATE TABLE no_key (a int);
      CREATE TABLE big (id int PRIMARY KEY, blob text);
      CREATE VIEW customer_names AS SELECT id, name FROM customers;`);
    t = await makeTestApp();
  });
  afterEach(async () => {
    await t?.close();
  });

  const worker = (options: Partial<ConstructorParameters<typeof CaptureWorker>[0]> = {}) =>
    new CaptureWorker({
      sourceUrl: database.url,
      sink: serviceSink(t.services.events),
      tenant: 'default',
      ...options,
    });

  async function captured(query: Record<string, string> = {}): Promise<Captured[]> {
    const all: Captured[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams({
        order: 'asc',
        limit: '1000',
        ...query,
        ...(cursor ? { cursor } : {}),
      });
      const res = await t.app.inject({ url: `/api/v1/events?${params}`, headers: t.auth });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { data: Captured[]; nextCursor: string | null };
      all.push(...body.data);
      cursor = body.nextCursor;
    } while (cursor);
    return all;
  }

  async function deliver(w = worker()): Promise<Captured[]> {
    await w.drain();
    await w.stop();
    return captured();
  }

  it('install is idempotent, and re-running it with other options replaces them', async () => {
    const first = await installCapture(db, {
      tables: ['customers'],
      excludeColumns: ['customers.password_hash'],
    });
    const second = await installCapture(db, {
      tables: ['customers'],
      excludeColumns: ['customers.password_hash'],
    });
    expect(second.installId).toBe(first.installId);
    const triggers = await db.query(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'customers'::regclass AND NOT tgisinternal ORDER BY tgname`,
    );
    expect(triggers.rows.map((r) => r.tgname)).toEqual(['logbook_capture_row', 'logbook_capture_truncate']);
    await db.query(`INSERT INTO customers (id, name, password_hash) VALUES (1, 'Ann', 'secret')`);
    // Same table, other options: now only name is kept, no-op updates are skipped, NOTIFY is on.
    await installCapture(db, {
      tables: ['public.customers', 'sales.items'],
      includeColumns: ['customers.name'],
      skipNoopUpdates: true,
      notify: true,
    });
    await db.query(
      `INSERT INTO customers (id, name, email, password_hash) VALUES (2, 'Bob', 'b@x', 'secret')`,
    );
    const status = await captureStatus(db);
    expect(status).toMatchObject({
      installId: first.installId,
      pending: 2,
      rejected: 0,
      tables: [
        {
          schema: 'public',
          table: 'customers',
          primaryKey: ['id'],
          include: ['name'],
          exclude: [],
          skipNoopUpdates: true,
          notify: true,
          active: true,
        },
        { schema: 'sales', table: 'items', primaryKey: ['order_id', 'line_no'], include: null, active: true },
      ],
    });
    expect(status!.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);
    const events = await deliver();
    expect(events.map((e) => [e.action, e.target, e.changes])).toEqual([
      [
        'INSERT',
        { type: 'customers', id: '1' },
        {
          after: { id: 1, name: 'Ann', email: null, balance: 0, tags: null, updated_at: null },
        },
      ],
      ['INSERT', { type: 'customers', id: '2' }, { after: { name: 'Bob' } }],
    ]);
    expect((await captureStatus(db))!.pending).toBe(0);
  });

  it('include and exclude columns shape the row images; the key is always in target.id', async () => {
    await installCapture(db, {
      tables: ['customers', 'sales.items'],
      excludeColumns: ['customers.password_hash', 'customers.id'],
      includeColumns: ['sales.items.sku'],
    });
    await db.query(`INSERT INTO customers (id, name, password_hash) VALUES (5, 'Cy', 'hash')`);
    await db.query(`UPDATE customers SET password_hash = 'other', name = 'Cyd' WHERE id = 5`);
    await db.query(`INSERT INTO sales.items VALUES ('o-1', 1, 'SKU-9', 3)`);
    await db.query(`DELETE FROM customers WHERE id = 5`);
    const events = await deliver();
    expect(events.map((e) => [e.action, e.target, e.changes])).toEqual([
      ['INSERT', { type: 'customers', id: '5' }, { after: expect.objectContaining({ name: 'Cy' }) }],
      [
        'UPDATE',
        { type: 'customers', id: '5' },
        { before: expect.objectContaining({ name: 'Cy' }), after: expect.objectContaining({ name: 'Cyd' }) },
      ],
      ['INSERT', { type: 'sales.items', id: 'o-1,1' }, { after: { sku: 'SKU-9' } }],
      ['DELETE', { type: 'customers', id: '5' }, { before: expect.objectContaining({ name: 'Cyd' }) }],
    ]);
    for (const e of events) {
      for (const image of [e.changes?.before, e.changes?.after].filter(Boolean)) {
        expect(image).not.toHaveProperty('password_hash');
        if (e.target.type === 'customers') expect(image).not.toHaveProperty('id');
      }
    }
  });

  it('skips no-op updates when asked (on the kept columns), and records them otherwise', async () => {
    await installCapture(db, {
      tables: ['customers'],
      excludeColumns: ['customers.updated_at'],
      skipNoopUpdates: true,
    });
    await db.query(`INSERT INTO customers (id, name) VALUES (1, 'Ann')`);
    await db.query(`UPDATE customers SET name = 'Ann' WHERE id = 1`); // nothing changed
    await db.query(`UPDATE customers SET updated_at = now() WHERE id = 1`); // only an excluded column changed
    await db.query(`UPDATE customers SET name = 'Anna' WHERE id = 1`);
    expect((await deliver()).map((e) => e.action)).toEqual(['INSERT', 'UPDATE']);

    await installCapture(db, { tables: ['customers'], excludeColumns: ['customers.updated_at'] });
    await db.query(`UPDATE customers SET name = 'Anna' WHERE id = 1`);
    const events = await deliver();
    expect(events.map((e) => e.action)).toEqual(['INSERT', 'UPDATE', 'UPDATE']);
    expect(events[2]!.changes).toEqual({
      before: events[2]!.changes!.after,
      after: events[2]!.changes!.after,
    });
  });

  it('names rows with composite keys in a stable, reversible form', async () => {
    await installCapture(db, { tables: ['sales.items'] });
    await db.query(`INSERT INTO sales.items VALUES ('a,b%c', 2, 'S', 1), ('plain', 10, 'T', 2)`);
    await db.query(`UPDATE sales.items SET qty = 5 WHERE order_id = 'a,b%c'`);
    const events = await deliver();
    expect(events.map((e) => `${e.action} ${e.target.type} ${e.target.id}`)).toEqual([
      'INSERT sales.items a%2Cb%25c,2',
      'INSERT sales.items plain,10',
      'UPDATE sales.items a%2Cb%25c,2',
    ]);
    const filtered = await captured({ targetType: 'sales.items', targetId: 'plain,10' });
    expect(filtered).toHaveLength(1);
  });

  it('takes the actor from SET LOCAL logbook.actor_id, else the database role; rolled-back work never appears', async () => {
    await installCapture(db, { tables: ['customers'] });
    await db.query('BEGIN');
    await db.query(`SET LOCAL logbook.actor_id = 'user-42'`);
    await db.query(`INSERT INTO customers (id, name) VALUES (1, 'Ann')`);
    await db.query('COMMIT');
    await db.query(`INSERT INTO customers (id, name) VALUES (2, 'Bob')`); // the setting ended with its transaction
    await db.query('BEGIN');
    await db.query(`SET LOCAL logbook.actor_id = 'ghost'`);
    await db.query(`INSERT INTO customers (id, name) VALUES (3, 'Never')`);
    await db.query('ROLLBACK');
    await db.query('BEGIN');
    await db.query(`INSERT INTO customers (id, name) VALUES (4, 'Half')`);
    await db.query('SAVEPOINT s');
    await db.query(`INSERT INTO customers (id, name) VALUES (5, 'Undone')`);
    await db.query('ROLLBACK TO SAVEPOINT s');
    await db.query('COMMIT');
    const events = await deliver();
    expect(events.map((e) => [e.target.id, e.actor])).toEqual([
      ['1', { id: 'user-42', type: 'user' }],
      ['2', { id: 'postgres', type: 'service' }],
      ['4', { id: 'postgres', type: 'service' }],
    ]);
    expect(events[0]!.details.capture).toMatchObject({
      actorFrom: 'setting',
      dbRole: 'postgres',
      table: 'customers',
    });
    expect(events[1]!.details.capture).toMatchObject({ actorFrom: 'database_role' });
  });

  it('keeps exact numbers and the source statement time; records TRUNCATE', async () => {
    await installCapture(db, { tables: ['customers'] });
    const { rows } = await db.query(
      `INSERT INTO customers (id, name, balance, tags) VALUES (9007199254740993, 'Big', 123456789012345678.25, '{"deep": [1, 2]}')
        RETURNING statement_timestamp() AS at`,
    );
    await db.query('TRUNCATE customers');
    const events = await deliver();
    expect(events[0]).toMatchObject({
      target: { type: 'customers', id: '9007199254740993' },
      occurredAt: (rows[0].at as Date).toISOString(),
      changes: {
        after: { id: '9007199254740993', balance: '123456789012345678.25', tags: { deep: [1, 2] } },
      },
    });
    expect(events[1]).toMatchObject({ action: 'TRUNCATE', target: { type: 'customers' } });
    expect(events[1]!.target.id).toBeUndefined();
    expect(events[1]!.changes).toBeUndefined();
  });

  it('a replay after a crash between append and delete is a duplicate, not a second event', async () => {
    await installCapture(db, { tables: ['customers'] });
    for (let i = 1; i <= 25; i++) await db.query(`INSERT INTO customers (id, name) VALUES ($1, 'n')`, [i]);
    // The sink stores the batch, then "crashes" before the worker deletes the rows.
    const real = serviceSink(t.services.events);
    const crashing = new CaptureWorker({
      sourceUrl: database.url,
      batchSize: 10,
      sink: {
        async append(events) {
          await real.append(events);
          throw new Error('crash after the append was acknowledged');
        },
      },
    });
    await expect(crashing.processBatch()).rejects.toThrow('crash after');
    await crashing.stop();
    expect((await captureStatus(db))!.pending).toBe(25);
    const w = worker({ batchSize: 10 });
    const events = await deliver(w);
    expect(w.stats).toMatchObject({ delivered: 25, duplicates: 10, rejected: 0 });
    expect(events.map((e) => e.target.id)).toEqual(Array.from({ length: 25 }, (_, i) => String(i + 1)));
    expect(new Set(events.map((e) => e.id)).size).toBe(25);
  });

  it('a row Logbook refuses for good goes to the rejected table; the rest of its batch is delivered', async () => {
    const { installId } = await installCapture(db, { tables: ['customers'] });
    await db.query(`INSERT INTO customers (id, name) SELECT g, 'n' FROM generate_series(1, 9) g`);
    const { rows } = await db.query(`SELECT id FROM logbook_capture.outbox ORDER BY id`);
    // Another event already holds the id the 5th row's event would get: Logbook answers IDEMPOTENCY_CONFLICT.
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: { id: `pgcap-${installId}-${rows[4].id}`, action: 'other', actor: { id: 'x' } },
    });
    expect(res.statusCode).toBe(201);
    const w = worker();
    await deliver(w);
    expect(w.stats).toMatchObject({ delivered: 8, rejected: 1 });
    expect((await captured({ action: 'INSERT' })).map((e) => e.target.id)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '6',
      '7',
      '8',
      '9',
    ]);
    const status = await captureStatus(db);
    expect(status).toMatchObject({ pending: 0, rejected: 1 });
    const rejected = await db.query(`SELECT outbox_id::text, reason FROM logbook_capture.rejected`);
    expect(rejected.rows).toEqual([
      { outbox_id: String(rows[4].id), reason: expect.stringContaining('IDEMPOTENCY_CONFLICT') },
    ]);
    await expect(uninstallCapture(db)).rejects.toThrow(/rejected/);
  });

  it('uninstall: per table keeps pending changes; whole refuses while changes wait, unless forced', async () => {
    await installCapture(db, { tables: ['customers', 'sales.items'] });
    await db.query(`INSERT INTO customers (id, name) VALUES (1, 'Ann')`);
    const partial = await uninstallCapture(db, { tables: ['customers'] });
    expect(partial).toMatchObject({ removedTables: ['public.customers'], schemaDropped: false, pending: 1 });
    await db.query(`INSERT INTO customers (id, name) VALUES (2, 'Not captured')`);
    await db.query(`INSERT INTO sales.items VALUES ('o', 1, 's', 1)`);
    await expect(uninstallCapture(db)).rejects.toThrow(/2 change\(s\) not yet delivered.*--force/);
    expect((await deliver()).map((e) => `${e.target.type} ${e.target.id}`)).toEqual([
      'customers 1',
      'sales.items o,1',
    ]);
    const whole = await uninstallCapture(db);
    expect(whole).toMatchObject({ installed: true, schemaDropped: true, removedTables: ['sales.items'] });
    const left = await db.query(
      `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'logbook_capture%'`,
    );
    expect(left.rows[0].n).toBe(0);
    expect(await captureStatus(db)).toBeNull();
    expect(await uninstallCapture(db)).toMatchObject({ installed: false });
    // Forced: pending changes are discarded with the schema.
    await installCapture(db, { tables: ['customers'] });
    await db.query(`INSERT INTO customers (id, name) VALUES (3, 'Dropped')`);
    expect(await uninstallCapture(db, { force: true })).toMatchObject({ schemaDropped: true, pending: 1 });
    await db.query(`INSERT INTO customers (id, name) VALUES (4, 'After')`); // the application keeps working
  });

  it('an application role without rights on the outbox is captured, and cannot write the outbox itself', async () => {
    const role = `capture_app_${Date.now().toString(36)}`;
    await db.query(`CREATE ROLE ${role} LOGIN; GRANT SELECT, INSERT, UPDATE ON customers TO ${role}`);
    try {
      await installCapture(db, { tables: ['customers'] });
      const url = new URL(database.url);
      url.username = role;
      const app = new pg.Client({ connectionString: url.toString() });
      await app.connect();
      try {
        await app.query('BEGIN');
        await app.query(`SELECT set_config('logbook.actor_id', 'u-1', true)`);
        await app.query(`INSERT INTO customers (id, name) VALUES (1, 'Ann')`);
        await app.query('COMMIT');
        await expect(
          app.query(
            `INSERT INTO logbook_capture.outbox (schema_name, table_name, op) VALUES ('public', 'x', 'DELETE')`,
          ),
        ).rejects.toThrow(/permission denied/);
      } finally {
        await app.end();
      }
      const [event] = await deliver();
      expect(event).toMatchObject({ actor: { id: 'u-1' }, details: { capture: { dbRole: role } } });
    } finally {
      await db.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });

  it('says what is wrong with a request: unknown table or column, no primary key, a view', async () => {
    const cases: [Parameters<typeof installCapture>[1], RegExp][] = [
      [{ tables: ['nope'] }, /no table "nope"/],
      [{ tables: ['no_key'] }, /no primary key/],
      [{ tables: ['customer_names'] }, /is a view/],
      [
        { tables: ['customers'], excludeColumns: ['customers.nope'] },
        /no column "nope".*its columns: id, name/,
      ],
      [{ tables: ['customers'], excludeColumns: ['items.sku'] }, /no table "items"/],
      [{ tables: ['customers'], excludeColumns: ['sales.items.sku'] }, /not in --tables/],
      [{ tables: ['customers'], excludeColumns: ['sku'] }, /table\.column/],
      [
        { tables: ['customers'], includeColumns: ['customers.name'], excludeColumns: ['customers.email'] },
        /both --include-columns and --exclude-columns/,
      ],
    ];
    for (const [options, message] of cases) {
      const error = await installCapture(db, options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(CaptureSetupError);
      expect((error as Error).message).toMatch(message);
    }
    expect(await captureStatus(db)).toBeNull(); // nothing was half-installed
  });

  it('truncates a row too large for an event instead of failing it', async () => {
    await installCapture(db, { tables: ['big'] });
    await db.query(`INSERT INTO big VALUES (1, repeat('x', 400000))`);
    const w = worker();
    const [event] = await deliver(w);
    expect(w.stats.rejected).toBe(0);
    expect(event!.changes!.after).toMatchObject({
      id: 1,
      blob: expect.stringMatching(/^\[truncated by Logbook capture: 400002 bytes/),
    });
    expect(event!.details.capture.truncatedColumns).toEqual(['blob']);
  });

  it('the running worker picks up changes, wakes on NOTIFY, survives the source going away, and stops cleanly', async () => {
    await installCapture(db, { tables: ['customers'], notify: true });
    const logs: string[] = [];
    const w = worker({
      pollIntervalMs: 60_000,
      maxBackoffMs: 200,
      log: (_level, message) => logs.push(message),
    });
    w.start();
    await db.query(`INSERT INTO customers (id, name) VALUES (1, 'Ann')`);
    // With a one-minute poll, only the notification can deliver this in time.
    await until(async () => (await captured()).length === 1, 10_000);
    // Terminate the worker's connection: it reconnects and continues.
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'logbook-capture'`,
    );
    await db.query(`INSERT INTO customers (id, name) VALUES (2, 'Bob')`);
    await until(async () => (await captured()).length === 2, 15_000);
    await w.stop();
    expect(w.stats.delivered).toBe(2);
  });

  it('a worker on a database without capture waits and says how to install it', async () => {
    const logs: string[] = [];
    const w = worker({ maxBackoffMs: 100, log: (level, message) => logs.push(`${level} ${message}`) });
    w.start();
    await until(() => logs.length > 0, 10_000);
    await w.stop();
    expect(logs[0]).toMatch(
      /^warn capture: change capture is not installed in database "logbook_test_.*": run logbook capture install/,
    );
  });
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
