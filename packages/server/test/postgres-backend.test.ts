// What only the PostgreSQL backend has: monthly partitions (created ahead, rows moved out of the default partition,
// whole months dropped by retention while the Merkle log stays provable), several connection pools appending to the
// same tenants at once (as several processes do), and the full-text rendering that keeps user text out of SQL and
// tsquery syntax. Runs on a fresh database; skipped with a notice when no PostgreSQL answers (failing under CI=true).

import {
  type EventInput,
  generateSigningKey,
  inclusionProofPlan,
  materializeProof,
  rootOf,
  verifierKeyString,
  verifyInclusion,
} from '@logbook/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PreparedEvent, prepareEvent } from '../src/domain/event.ts';
import { parseSearchTerms } from '../src/query/search-terms.ts';
import { AppendQueue } from '../src/services/append-queue.ts';
import { verifyStore } from '../src/services/verifier.ts';
import { storeFailure } from '../src/store/failures.ts';
import { searchWords, tsqueryText, tsvectorText } from '../src/store/postgres/full-text.ts';
import { POSTGRES_MIGRATIONS } from '../src/store/postgres/migrations.ts';
import {
  dropEventPartitionsBefore,
  ensureEventPartitions,
  listEventPartitions,
  monthStartUtc,
  PARTITION_MONTHS_AHEAD,
  PARTITION_MONTHS_BEHIND,
  partitionName,
} from '../src/store/postgres/partitions.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { fromPgText, toPgText } from '../src/store/postgres/values.ts';
import type { AppendResult } from '../src/store/store.ts';
import { createTestDatabase, POSTGRES_AVAILABLE, type TestDatabase } from './support-backends.ts';
import { watchInFlight } from './support-inflight.ts';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

function event(tenant: string, occurredMs: number, extra: Partial<EventInput> = {}): PreparedEvent {
  return prepareEvent(
    {
      action: 'doc.edit',
      actor: { id: 'ed' },
      occurredAt: new Date(occurredMs).toISOString(),
      tenant,
      ...extra,
    },
    { receivedMs: NOW },
  );
}

describe('PostgreSQL full-text rendering (pure)', () => {
  it('cuts words like SQLite unicode61: letters and digits, lower-cased, accents removed', () => {
    expect(searchWords("Invoice.PAY user@Example.com inv-1 Zürich naïve ﬁ 日本語 o'brien")).toEqual([
      'invoice',
      'pay',
      'user',
      'example',
      'com',
      'inv',
      '1',
      'zurich',
      'naive',
      'ﬁ',
      '日本語',
      'o',
      'brien',
    ]);
  });

  it('cuts ASCII text into the same words as the general Unicode path', () => {
    // The trailing middle dot (punctuation, not a letter) sends the same text through the Unicode path.
    const text = fc.string({
      unit: fc.constantFrom(..."aZ09 .-_@'\t\n\u0000~x"),
      maxLength: 80,
    });
    fc.assert(
      fc.property(
        fc.oneof(text, fc.constant('y'.repeat(2046)), fc.constant(`${'z'.repeat(2047)} ok`)),
        (ascii) => {
          expect(searchWords(ascii)).toEqual(searchWords(`${ascii} \u00b7`));
        },
      ),
      { numRuns: 500 },
    );
    expect(searchWords(`${'z'.repeat(2047)} ok`)).toEqual(['ok']);
  });

  it('renders terms as quoted lexemes only, so no user text becomes tsquery syntax', () => {
    const hostile = `a' | b:* & !c <-> (d) \\ "e f"* ' OR 1=1 --`;
    const query = tsqueryText(parseSearchTerms(hostile))!;
    expect(query).toBe(`'a' & 'b':* & 'c' & 'd' & ('e' <-> 'f':*) & 'or' & ('1' <-> '1')`);
    // Every lexeme is letters/digits inside quotes; the only syntax is ours.
    expect(query.replace(/'[\p{L}\p{N}]+'(:\*)?/gu, '')).toMatch(/^[ &()<\->]*$/);
    expect(tsvectorText('b a b')).toBe(`'b':1,3 'a':2`);
    expect(tsvectorText('x'.repeat(3000))).toBe('');
  });

  it('escapes U+0000 (not storable in PostgreSQL text) injectively', () => {
    for (const s of ['', 'plain', 'a\u0000b', '\uffff', '\uffff0', '\u0000\uffff\u00000', 'x\uffff\uffffy']) {
      expect(fromPgText(toPgText(s))).toBe(s);
      expect(toPgText(s).includes('\u0000')).toBe(false);
    }
    expect(new Set(['\u0000', '\uffff0', '\uffff', '\uffff\uffff'].map((s) => toPgText(s))).size).toBe(4);
  });
});

const describeIf = POSTGRES_AVAILABLE ? describe : describe.skip;

describeIf('PostgreSQL backend', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresStore({ url: database.url, clock: () => NOW, partitionCheckMs: 0 });
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  const partitionOf = async (tenant: string, id: string) =>
    (
      await store.pool.query<{ p: string }>(
        `SELECT e.tableoid::regclass::text AS p FROM events e JOIN log_leaves l
           ON l.tenant = e.tenant AND l.order_key = e.order_key WHERE l.tenant = $1 AND l.id = $2`,
        [tenant, id],
      )
    ).rows[0]?.p;

  it('migrate creates the months around now ahead of time, and is idempotent', async () => {
    const names = (await listEventPartitions(store.pool)).map((p) => p.name);
    const expected = [];
    for (let m = -PARTITION_MONTHS_BEHIND; m <= PARTITION_MONTHS_AHEAD; m++) {
      expected.push(partitionName(monthStartUtc(NOW, m)));
    }
    expect(names).toEqual([...expected, 'events_default']);
    expect(expected[0]).toBe('events_p2026_10');
    expect(await ensureEventPartitions(store.pool, NOW)).toEqual([]);
    expect(await store.migrate()).toEqual([]);
    expect(await store.pendingMigrations()).toEqual([]);
    // A database Logbook never migrated (no schema_migrations table) has every migration pending.
    const empty = await createTestDatabase();
    const unmigrated = new PostgresStore({ url: empty.url, readonly: true, partitionCheckMs: 0 });
    try {
      expect(await unmigrated.pendingMigrations()).toEqual(POSTGRES_MIGRATIONS.map((m) => m.name));
    } finally {
      await unmigrated.close();
      await empty.drop();
    }
  });

  it('routes each event to its month; others to the default partition, moved out when their month is created', async () => {
    const current = event('parts', NOW);
    const lastMonth = event('parts', Date.UTC(2026, 9, 31, 23, 59, 59, 999));
    const backDated = event('parts', Date.UTC(2020, 1, 29));
    const future = event('parts', Date.UTC(2027, 5, 15));
    await store.appendEvents([{ events: [current, lastMonth, backDated, future] }]);
    expect(await partitionOf('parts', current.id)).toBe('events_p2026_11');
    expect(await partitionOf('parts', lastMonth.id)).toBe('events_p2026_10');
    expect(await partitionOf('parts', backDated.id)).toBe('events_default');
    expect(await partitionOf('parts', future.id)).toBe('events_default');

    // Months later, the periodic check creates June 2027 and moves the row out of the default partition.
    const created = await ensureEventPartitions(store.pool, Date.UTC(2027, 4, 2));
    expect(created).toContain('events_p2027_06');
    expect(await partitionOf('parts', future.id)).toBe('events_p2027_06');
    expect((await store.getEvent('parts', future.id))!.body).toBe(future.body);
    const listed = await store.listEvents({
      filter: { tenant: 'parts' },
      limit: 10,
      order: 'asc',
      includeTotal: true,
    });
    expect(listed.rows.map((r) => r.body)).toEqual(
      [backDated, lastMonth, current, future].map((e) => e.body),
    );
    expect(listed.total).toBe(4);
    // Appends keep working and keep their order keys unique next to the moved rows.
    const sameMs = event('parts', Date.UTC(2027, 5, 15));
    await store.appendEvents([{ events: [sameMs] }]);
    expect(await partitionOf('parts', sameMs.id)).toBe('events_p2027_06');
  });

  it('retention drops whole months; the log index and Merkle nodes stay, so old events remain provable', async () => {
    const tenant = 'retention';
    const old = Array.from({ length: 5 }, (_, i) => event(tenant, Date.UTC(2026, 9, 10 + i)));
    const recent = Array.from({ length: 4 }, (_, i) => event(tenant, NOW + i));
    await store.appendEvents([{ events: [...old, ...recent] }]);
    const head = await store.getTreeHead(tenant);
    const dropped = await dropEventPartitionsBefore(store.pool, Date.UTC(2026, 10, 1));
    expect(dropped).toEqual(['events_p2026_10']);
    expect(await store.getEvent(tenant, old[0]!.id)).toBeNull();
    expect((await store.getEvent(tenant, recent[0]!.id))!.seq).toBe(5);
    expect((await store.getTreeHead(tenant)).range).toEqual(head.range);
    // An inclusion proof for a dropped event still comes entirely from stored nodes.
    const plan = inclusionProofPlan(2, 9);
    const proof = materializeProof(plan, await store.getMerkleNodes(tenant, plan.nodes));
    verifyInclusion(2, 9, old[2]!.leafHash, proof, rootOf(head.range));
    // The payloads are gone: the log read skips them (retention must record that it deleted them).
    expect((await store.readLog(tenant, 0, 100)).map((r) => r.seq)).toEqual([5, 6, 7, 8]);
  });

  it('several pools (as several processes) appending to overlapping tenants in opposite orders neither deadlock nor fork', async () => {
    const others = [
      new PostgresStore({ url: database.url, partitionCheckMs: 0 }),
      new PostgresStore({ url: database.url, partitionCheckMs: 0 }),
    ];
    try {
      const tenants = ['multi-a', 'multi-b', 'multi-c'];
      const runs = [store, ...others].flatMap((s, si) =>
        Array.from({ length: 15 }, (_, round) =>
          s.appendEvents(
            // Each group touches all tenants, listed in a different order per pool and round.
            [0, 1, 2].map((k) => ({
              events: Array.from({ length: 4 }, (_, j) =>
                event(tenants[(k + si + round) % 3]!, NOW, { description: `${si}/${round}/${k}/${j}` }),
              ),
            })),
          ),
        ),
      );
      const results = (await Promise.all(runs)).flat();
      const byTenant = new Map<string, number[]>();
      for (const r of results) {
        if (!r.ok) throw new Error('unexpected conflict');
        for (const row of r.rows) byTenant.set(row.tenant, [...(byTenant.get(row.tenant) ?? []), row.seq]);
      }
      for (const tenant of tenants) {
        const seqs = byTenant.get(tenant)!.sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: 180 }, (_, i) => i));
        expect((await store.readLog(tenant, 0, 1000)).map((r) => r.seq)).toEqual(seqs);
        expect((await others[0]!.getTreeHead(tenant)).range.size).toBe(180);
      }
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });

  it('the group-commit queue starts the next large group once the first has sent its rows, still in submission order', async () => {
    // Watch the real store's appends: how many group commits the queue has handed over and not seen answered.
    const appends = watchInFlight(store, 'appendEvents');
    for (const [tenant, perRequest, overlapping] of [
      ['handoff-large', 300, 2],
      // Small groups are filled by the requests the commit before answers: they never overlap.
      ['handoff-small', 20, 1],
    ] as const) {
      appends.reset();
      const queue = new AppendQueue(appends.watched);
      const answers: Promise<AppendResult>[] = [];
      for (let r = 0; r < 8; r++) {
        answers.push(
          queue.submit({
            events: Array.from({ length: perRequest }, (_, i) =>
              event(tenant, NOW, { description: `r${r} e${i}` }),
            ),
          }),
        );
        await new Promise((resolve) => setImmediate(resolve)); // one request per turn, as from separate sockets
      }
      const results = await Promise.all(answers);
      await queue.drain();
      expect(appends.most).toBe(overlapping);
      // Submission order is commit order: seqs ascend request by request, without gaps, and the log agrees.
      const seqs = results.flatMap((result) => {
        if (!result.ok) throw new Error('unexpected conflict');
        return result.rows.map((row) => row.seq);
      });
      expect(seqs).toEqual(Array.from({ length: 8 * perRequest }, (_, i) => i));
      expect((await store.getTreeHead(tenant)).range.size).toBe(8 * perRequest);
      expect((await store.readLog(tenant, 0, 10_000)).map((row) => row.seq)).toEqual(seqs);
    }
  });

  it('a group waiting for a tenant lock past the statement timeout fails as a 503, and the tenant appends after', async () => {
    const impatient = new PostgresStore({ url: database.url, partitionCheckMs: 0, queryTimeoutMs: 300 });
    const holder = await store.pool.connect();
    try {
      await impatient.appendEvents([{ events: [event('stalled', NOW)] }]);
      // What a stalled commit of another group (or process) does: holds the tenant's row lock.
      await holder.query("BEGIN; SELECT 1 FROM tenant_logs WHERE tenant = 'stalled' FOR UPDATE");
      const failure = await impatient.appendEvents([{ events: [event('stalled', NOW)] }]).then(
        () => null,
        (error: unknown) => error,
      );
      expect((failure as { code?: string }).code).toBe('57014');
      expect(storeFailure(failure)?.status).toBe(503);
      await holder.query('ROLLBACK');
      const [after] = await impatient.appendEvents([{ events: [event('stalled', NOW)] }]);
      expect(after?.ok && after.rows[0]!.seq).toBe(1);
    } finally {
      holder.release();
      await impatient.close();
    }
  });

  it('hostile search text becomes a valid tsquery that matches only its literal words', async () => {
    await store.appendEvents([
      { events: [event('fts', NOW, { description: "O'Brien said: 1=1 OR drop; -- x:*" })] },
    ]);
    for (const q of [
      `a' | b:* & !c <-> (d) \\ "e f"*`,
      "o'brien",
      '1=1',
      '"said 1"',
      'drop;',
      'x:*',
      '\\x00 NEAR(',
    ]) {
      const terms = parseSearchTerms(q);
      const rendered = tsqueryText(terms);
      if (rendered) await store.pool.query('SELECT $1::tsquery', [rendered]);
      const page = await store.listEvents({
        filter: { tenant: 'fts', search: terms },
        limit: 5,
        order: 'desc',
        includeTotal: true,
      });
      const expected = ["o'brien", '1=1', '"said 1"', 'drop;', 'x:*'].includes(q) ? 1 : 0;
      expect(page.rows.length, q).toBe(expected);
      expect(page.total, q).toBe(expected);
    }
  });

  it('sessions run with durable commits and without JIT, whatever the server defaults to', async () => {
    // JIT compiled a rare search word's 13 ms query for 20-80 ms (docs/postgres.md, "No JIT").
    const settings = await store.pool.query<{ jit: string; sync: string }>(
      "SELECT current_setting('jit') AS jit, current_setting('synchronous_commit') AS sync",
    );
    expect(settings.rows[0]).toEqual({ jit: 'off', sync: 'on' });
  });

  it('appends through named prepared statements, and without them once one is gone (DEALLOCATE, a pooler)', async () => {
    const single = new PostgresStore({ url: database.url, partitionCheckMs: 0, poolSize: 1 });
    try {
      const names = async () =>
        (
          await single.pool.query<{ name: string }>(
            "SELECT name FROM pg_prepared_statements WHERE name LIKE 'logbook_append_%' ORDER BY name",
          )
        ).rows.map((row) => row.name);
      const first = await single.appendEvents([{ events: [event('named', NOW, { id: 'named-1' })] }]);
      expect(first[0]?.ok).toBe(true);
      expect(await names()).toEqual([
        'logbook_append_ids',
        'logbook_append_lock',
        'logbook_append_maxima',
        'logbook_append_write',
      ]);
      // The session loses them behind the store's back, as when a pooler hands it another server connection.
      await single.pool.query('DEALLOCATE ALL');
      const second = await single.appendEvents([{ events: [event('named', NOW, { id: 'named-2' })] }]);
      expect(second[0]?.ok && second[0].rows.map((row) => row.seq)).toEqual([1]);
      expect(await names()).toEqual([]);
      const third = await single.appendEvents([{ events: [event('named', NOW, { id: 'named-3' })] }]);
      expect(third[0]?.ok && third[0].rows.map((row) => row.seq)).toEqual([2]);
    } finally {
      await single.close();
    }
  });

  it('lists show the leaf hash copied into the payload row (older rows: the log index), and the verifier checks the copy', async () => {
    // Its own database: the verifier reads every tenant, and other tests here leave findings on purpose.
    const own = await createTestDatabase();
    const copies = new PostgresStore({ url: own.url, clock: () => NOW, partitionCheckMs: 0 });
    try {
      await copies.migrate();
      const key = generateSigningKey('copies.example');
      const verifierKeys = [verifierKeyString(key.name, key.publicKey)];
      const appended = Array.from({ length: 3 }, (_, i) => event('copies', NOW + i));
      await copies.appendEvents([{ events: appended }]);
      const hex = (hash: Uint8Array) => Buffer.from(hash).toString('hex');
      const expected = appended.map((e) => hex(e.leafHash));
      const stored = await copies.pool.query<{ leaf_hash: Buffer }>(
        'SELECT leaf_hash FROM events ORDER BY seq',
      );
      expect(stored.rows.map((row) => hex(row.leaf_hash))).toEqual(expected);
      // Every page shape: a plain list, a word found by walking the newest rows (a page of 2), and by the GIN step.
      const listed = async () =>
        [
          (
            await copies.listEvents({
              filter: { tenant: 'copies' },
              limit: 10,
              order: 'asc',
              includeTotal: false,
            })
          ).rows,
          ...(await Promise.all(
            [2, 10].map(async (limit) => {
              const filter = { tenant: 'copies', search: parseSearchTerms('edit') };
              return (await copies.listEvents({ filter, limit, order: 'asc', includeTotal: false })).rows;
            }),
          )),
        ].map((rows) => rows.map((row) => hex(row.leafHash)));
      // A row written before the copy existed (migration 0011) has none: its hash comes from the log index.
      await copies.pool.query('UPDATE events SET leaf_hash = NULL WHERE seq = 0');
      expect(await listed()).toEqual([expected, expected.slice(0, 2), expected]);
      expect((await verifyStore(copies, { verifierKeys, all: true })).findings).toEqual([]);
      // Lists show the copy, not the log index's hash: so a copy edited behind Logbook's back is a finding.
      const forged = Buffer.alloc(32, 7);
      await copies.pool.query('UPDATE events SET leaf_hash = $1 WHERE seq = 2', [forged]);
      const shown = [...expected.slice(0, 2), hex(forged)];
      expect(await listed()).toEqual([shown, shown.slice(0, 2), shown]);
      const report = await verifyStore(copies, { verifierKeys, all: true });
      expect(report.findings.map((f) => [f.seq, f.kind])).toEqual([[2, 'hash-mismatch']]);
      expect(report.findings[0]!.message).toContain('the leaf hash listings show (0707070707070707…)');
    } finally {
      await copies.close();
      await own.drop();
    }
  });

  it('a read-only store (the verifier) cannot write', async () => {
    const readonly = new PostgresStore({ url: database.url, readonly: true });
    try {
      expect((await readonly.listTenantLogs()).length).toBeGreaterThan(0);
      await expect(readonly.appendEvents([{ events: [event('ro', NOW)] }])).rejects.toThrow(/read-only/);
    } finally {
      await readonly.close();
    }
  });
});
