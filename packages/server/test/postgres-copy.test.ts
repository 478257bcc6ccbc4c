// The PostgreSQL append path's wire format (store/postgres/copy-binary.ts) against a real server: binary COPY fields
// arrive as the values they encode (the tsvector exactly as its text form would), a batch that fails leaves the
// connection usable and the transaction undone, and order keys stay unique and in time order when a group's events
// fall before, at and after the tenant's newest key (the milliseconds the append path probes or skips).
import type { EventInput } from '@logbook/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareEvent } from '../src/domain/event.ts';
import { BatchQuery, BinaryRows, copyFrom, type Statement } from '../src/store/postgres/copy-binary.ts';
import { lexemePositions, tsvectorText } from '../src/store/postgres/full-text.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { createTestDatabase, POSTGRES_AVAILABLE, type TestDatabase } from './support-backends.ts';

const describeIf = POSTGRES_AVAILABLE ? describe : describe.skip;

/** Runs one BatchQuery whose COPY data comes from `tables`, in order. */
async function batch(client: pg.PoolClient, statements: (Statement | string)[], tables: BinaryRows[] = []) {
  const query = new BatchQuery(statements);
  const done = query.start(client);
  for (const rows of tables) for (const message of rows.end()) query.send(message);
  return done;
}

describeIf('PostgreSQL binary COPY and batched queries', () => {
  let database: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('sends every field type as the value it encodes, across chunk boundaries', async () => {
    const client = await pool.connect();
    try {
      await client.query(
        'CREATE TEMP TABLE t (i int8, j int8, s int2, txt text, maybe text, b bytea, nb bytea, n int8)',
      );
      const rows = new BinaryRows();
      const long = 'ü€𝄞'.repeat(60_000); // > one 128 KiB chunk, 2-, 3- and 4-byte UTF-8
      const values = [
        [0, 2n ** 62n + 5n, 7, 'plain', null, Buffer.from([0, 1, 255]), 2 ** 53 - 1],
        [1, -(2n ** 62n), -3, long, 'Zürich naïve', Buffer.alloc(0), 12],
        [2, 1_900_000_000_000n << 20n, 32767, 'x'.repeat(48), 'y'.repeat(49), Buffer.alloc(40_000, 7), 0],
      ] as const;
      for (const [i, j, s, txt, maybe, b, n] of values) {
        rows.row(8).int8(i).int8(j).int2(s).text(txt).text(maybe).bytea(b).bytea(null).int8(n);
      }
      await batch(client, [copyFrom('t', ['i', 'j', 's', 'txt', 'maybe', 'b', 'nb', 'n'])], [rows]);
      const { rows: back } = await client.query('SELECT * FROM t ORDER BY i');
      expect(
        back.map((r) => [Number(r.i), BigInt(r.j), r.s, r.txt, r.maybe, r.b, r.nb, Number(r.n)]),
      ).toEqual(values.map(([i, j, s, txt, maybe, b, n]) => [i, j, s, txt, maybe, Buffer.from(b), null, n]));
    } finally {
      client.release();
    }
  });

  it('encodes the tsvector exactly as its text form reads', async () => {
    const texts = [
      '',
      'b a b',
      "Invoice.PAY user@Example.com inv-1 Zürich naïve ﬁ 日本語 o'brien",
      'same '.repeat(300), // more than 256 positions of one lexeme
      Array.from({ length: 17_000 }, (_, i) => `w${i % 5}`).join(' '), // positions past 16383
      `${'x'.repeat(700)} ${'é'.repeat(1000)} ${'y'.repeat(3000)} tail`, // long lexemes, one too long
    ];
    const client = await pool.connect();
    try {
      await client.query('CREATE TEMP TABLE v (i int8, q tsvector)');
      const rows = new BinaryRows();
      for (const [i, text] of texts.entries()) rows.row(2).int8(i).tsvector(lexemePositions(text));
      await batch(client, [copyFrom('v', ['i', 'q'])], [rows]);
      const { rows: back } = await client.query<{ same: boolean; q: string }>(
        'SELECT v.q = ($1::text[]::tsvector[])[v.i + 1] AS same, v.q::text AS q FROM v ORDER BY v.i',
        [texts.map(tsvectorText)],
      );
      expect(back.map((r) => r.same)).toEqual(texts.map(() => true));
      expect(back[1]!.q).toBe(`'a':2 'b':1,3`);
    } finally {
      client.release();
    }
  });

  it('a failed statement undoes the transaction and leaves the connection usable; so does abandoned data', async () => {
    const client = await pool.connect();
    try {
      await client.query('CREATE TABLE uniq (k int8 PRIMARY KEY)');
      const rows = new BinaryRows();
      for (const k of [1, 2, 2, 3]) rows.row(1).int8(k);
      await expect(batch(client, ['BEGIN', copyFrom('uniq', ['k']), 'COMMIT'], [rows])).rejects.toMatchObject(
        {
          code: '23505',
        },
      );
      await client.query('ROLLBACK');
      expect((await client.query('SELECT count(*)::int AS n FROM uniq')).rows[0].n).toBe(0);

      // An encoder that throws half-way: PostgreSQL gets CopyFail, and the caller the encoder's own error.
      const broken = new Error('a row could not be encoded');
      const streamed = new BatchQuery(['BEGIN', copyFrom('uniq', ['k']), 'COMMIT']).stream(client, (send) => {
        new BinaryRows(send).row(1).int8(9);
        throw broken;
      });
      await expect(streamed).rejects.toBe(broken);
      await client.query('ROLLBACK');
      expect((await client.query('SELECT count(*)::int AS n FROM uniq')).rows[0].n).toBe(0);

      const query = new BatchQuery(['BEGIN', copyFrom('uniq', ['k']), 'COMMIT']);
      const done = query.start(client);
      const partial = new BinaryRows(query.send);
      partial.row(1).int8(9);
      query.fail('encoding failed');
      await expect(done).rejects.toThrow(/encoding failed/);
      await client.query('ROLLBACK');
      expect((await client.query('SELECT count(*)::int AS n FROM uniq')).rows[0].n).toBe(0);

      const ok = new BinaryRows();
      ok.row(1).int8(4);
      const results = await batch(
        client,
        [
          'BEGIN',
          copyFrom('uniq', ['k']),
          'SELECT k FROM uniq',
          'COMMIT',
          "SELECT 'x'::text AS t, NULL AS z",
        ],
        [ok],
      );
      expect(results).toEqual([[{ k: '4' }], [{ t: 'x', z: null }]]);

      // A COMMIT that PostgreSQL turns into a rollback (the transaction had failed) is not a success.
      await client.query('BEGIN');
      await expect(client.query('SELECT 1 / 0')).rejects.toMatchObject({ code: '22012' });
      await expect(batch(client, ['COMMIT'])).rejects.toThrow(/ROLLBACK/);
      expect((await client.query('SELECT count(*)::int AS n FROM uniq')).rows[0].n).toBe(1);
    } finally {
      client.release();
    }
  });
  it('prepares a named statement once per connection, and again after a failure left it in doubt', async () => {
    const client = await pool.connect();
    try {
      const prepared = async () =>
        (
          await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')
        ).rows.map((row) => row.name);
      const square: Statement = { name: 'test_square', text: 'SELECT ($1::int8 * $1::int8)::text AS n' };
      const failing: Statement = { name: 'test_divide', text: 'SELECT (10 / $1::int8)::text AS n' };
      const preparedAt = async (name: string) =>
        (
          await client.query<{ at: Date }>(
            'SELECT prepare_time AS at FROM pg_prepared_statements WHERE name = $1',
            [name],
          )
        ).rows[0]?.at.getTime();
      expect(await batch(client, [{ ...square, values: ['3'] }])).toEqual([[{ n: '9' }]]);
      const squareAt = await preparedAt('test_square');
      await new Promise((resolve) => setTimeout(resolve, 5));
      // Parsed again, PostgreSQL would refuse: "prepared statement "test_square" already exists".
      expect(
        await batch(client, [
          { ...square, values: ['4'] },
          { ...failing, values: ['5'] },
        ]),
      ).toEqual([[{ n: '16' }], [{ n: '2' }]]);
      expect(await prepared()).toEqual(['test_divide', 'test_square']);
      expect(await preparedAt('test_square')).toBe(squareAt);
      // It fails after its Parse (at run time): prepared but in doubt, and the statement after it is skipped unparsed.
      const other: Statement = { name: 'test_other', text: "SELECT 'o'::text AS o" };
      await expect(
        batch(client, [
          { name: 'test_fails', text: 'SELECT (1 / $1::int8)::text AS n', values: ['0'] },
          other,
        ]),
      ).rejects.toMatchObject({ code: '22012' });
      expect(await prepared()).toEqual(['test_divide', 'test_fails', 'test_square']);
      expect(
        await batch(client, [
          { name: 'test_fails', text: 'SELECT (1 / $1::int8)::text AS n', values: ['1'] },
          other,
          { ...square, values: ['5'] },
        ]),
      ).toEqual([[{ n: '1' }], [{ o: 'o' }], [{ n: '25' }]]);
      expect(await prepared()).toEqual(['test_divide', 'test_fails', 'test_other', 'test_square']);
    } finally {
      client.release();
    }
  });
});

describeIf('PostgreSQL order keys across groups', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresStore({ url: database.url, partitionCheckMs: 0 });
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  const at = (ms: number, n: string) =>
    prepareEvent(
      {
        action: 'doc.edit',
        actor: { id: 'ed' },
        tenant: 'keys',
        occurredAt: new Date(ms).toISOString(),
        id: n,
      } as EventInput,
      { receivedMs: T0 },
    );

  it('events before, at and after the newest key get distinct keys in occurrence, then arrival, order', async () => {
    // Newest key at T0+10; then a group with events at T0 (before it, no row there yet), T0+10 (at it: continues
    // after the stored one), T0+5 twice, and T0+20 (after it: no probe).
    const first = [at(T0 + 10, 'a'), at(T0 + 3, 'b')];
    const second = [
      at(T0, 'c'),
      at(T0 + 10, 'd'),
      at(T0 + 5, 'e'),
      at(T0 + 20, 'f'),
      at(T0 + 5, 'g'),
      at(T0 + 3, 'h'),
    ];
    for (const events of [first, second]) {
      const [result] = await store.appendEvents([{ events }]);
      expect(result!.ok).toBe(true);
    }
    const page = await store.listEvents({
      filter: { tenant: 'keys' },
      order: 'asc',
      limit: 100,
      includeTotal: false,
    });
    const ids = page.rows.map((r) => (JSON.parse(r.body) as { id: string }).id);
    expect(ids).toEqual(['c', 'b', 'h', 'e', 'g', 'a', 'd', 'f']);
    const keys = page.rows.map((r) => r.orderKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
