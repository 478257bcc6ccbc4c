// The store contract: one suite, run against every backend (SQLite file, fresh PostgreSQL database), through the
// port only. What the services rely on is pinned here: appends (gap-free seqs, idempotency, per-request conflicts,
// group commit), every list filter and cursor, full text, stats, the Merkle state, checkpoints, keys and users.
import {
  appendLeaf,
  type CompactRange,
  compactRangeNodeIds,
  type EventInput,
  emptyCompactRange,
  formatCheckpoint,
  generateSigningKey,
  hashLeaf,
  nodeKey,
  rootOf,
  signNote,
  verifierKeyString,
} from '@logbook/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PreparedEvent, prepareEvent } from '../src/domain/event.ts';
import { type EventFilter, type EventPageRequest, statsRequest } from '../src/query/event-filter.ts';
import { parseSearchTerms } from '../src/query/search-terms.ts';
import { checkpointOrigin } from '../src/services/integrity.ts';
import { verifyStore } from '../src/services/verifier.ts';
import type { ApiKeyRecord, AppendResult, Store, UserRecord } from '../src/store/store.ts';
import { BACKENDS, makeStore, type TestStore } from './support-backends.ts';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR = 3_600_000;

function event(input: Partial<EventInput> & { at?: number }, receivedMs = T0): PreparedEvent {
  const { at, ...rest } = input;
  return prepareEvent(
    {
      action: 'invoice.pay',
      actor: { id: 'alice' },
      ...(at !== undefined ? { occurredAt: new Date(at).toISOString() } : {}),
      ...rest,
    } as EventInput,
    { receivedMs },
  );
}

function okRows(result: AppendResult | undefined) {
  if (!result?.ok) throw new Error(`append was refused: ${JSON.stringify(result)}`);
  return result.rows;
}

async function appendOne(store: Store, events: PreparedEvent[]) {
  return okRows((await store.appendEvents([{ events }]))[0]);
}

function page(filter: Partial<EventFilter>, extra: Partial<EventPageRequest> = {}): EventPageRequest {
  return {
    filter: { tenant: 'default', ...filter },
    limit: 50,
    order: 'desc',
    includeTotal: false,
    ...extra,
  };
}

const idsOf = (rows: { body: string }[]) => rows.map((r) => (JSON.parse(r.body) as { id: string }).id);

/** Every row of a filtered listing, walked page by page with the cursor. */
async function walkAll(store: Store, request: EventPageRequest): Promise<string[]> {
  const ids: string[] = [];
  let after: bigint | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const result = await store.listEvents({ ...request, ...(after !== undefined ? { after } : {}) });
    ids.push(...idsOf(result.rows));
    if (result.lastOrderKey === null) return ids;
    after = result.lastOrderKey;
  }
  throw new Error('cursor did not terminate');
}

describe.each(BACKENDS)('store contract on %s', (backend) => {
  let ts: TestStore;
  let store: Store;
  beforeAll(async () => {
    ts = await makeStore(backend);
    store = ts.store;
  });
  afterAll(async () => {
    await ts?.cleanup();
  });

  describe('appends', () => {
    it('gives each tenant gap-free seqs 0,1,2,… across requests in one group and across groups', async () => {
      const results = await store.appendEvents([
        { events: [event({ tenant: 'seqs' }), event({ tenant: 'seqs' })] },
        { events: [event({ tenant: 'seqs-b' })] },
        { events: [event({ tenant: 'seqs' })] },
      ]);
      expect(results.map((r) => okRows(r).map((row) => [row.tenant, row.seq]))).toEqual([
        [
          ['seqs', 0],
          ['seqs', 1],
        ],
        [['seqs-b', 0]],
        [['seqs', 2]],
      ]);
      const more = await appendOne(store, [event({ tenant: 'seqs' }), event({ tenant: 'seqs-b' })]);
      expect(more.map((r) => r.seq)).toEqual([3, 1]);
      expect((await store.getTreeHead('seqs')).range.size).toBe(4);
      expect(await store.listTenantLogs()).toEqual(
        expect.arrayContaining([
          { tenant: 'seqs', size: 4 },
          { tenant: 'seqs-b', size: 2 },
        ]),
      );
    });

    it('stores the canonical body byte for byte and answers the leaf hash, times and id', async () => {
      const e = event({
        tenant: 'bytes',
        description: 'naïve café ☕ 𝄞 "quoted" \\ back',
        details: { z: 1, a: [1.5, 'x\u0000y', null], ü: { '': true } },
        at: T0 - 5000,
      });
      const [row] = await appendOne(store, [e]);
      expect(row).toMatchObject({
        id: e.id,
        tenant: 'bytes',
        seq: 0,
        occurredMs: T0 - 5000,
        receivedMs: T0,
        duplicate: false,
      });
      expect(Buffer.from(row!.leafHash).equals(Buffer.from(e.leafHash))).toBe(true);
      const stored = await store.getEvent('bytes', e.id);
      expect(stored!.body).toBe(e.body);
      expect(stored!.seq).toBe(0);
      expect(Buffer.from(hashLeaf(Buffer.from(stored!.body))).equals(Buffer.from(e.leafHash))).toBe(true);
      expect((await store.getEventBySeq('bytes', 0))!.body).toBe(e.body);
      expect(await store.getEvent('bytes', 'no-such-id')).toBeNull();
      expect(await store.getEvent('other-tenant', e.id)).toBeNull();
      expect(await store.getEventBySeq('bytes', 1)).toBeNull();
    });

    it('keeps U+0000 and U+FFFF in indexed columns exact and findable', async () => {
      const e = event({
        tenant: 'nul',
        action: 'a\u0000b',
        actor: { id: 'x\u0000\uffff0' },
        target: { type: 't\u0000', id: '\uffff\uffff' },
        context: { ip: '1\u0000' },
      });
      await appendOne(store, [e]);
      const filters: Partial<EventFilter>[] = [
        { actorId: 'x\u0000\uffff0' },
        { actions: { exact: ['a\u0000b'], prefixes: [] } },
        { actions: { exact: [], prefixes: ['a\u0000'] } },
        { targetType: 't\u0000', targetId: '\uffff\uffff' },
        { ip: '1\u0000' },
      ];
      for (const f of filters) {
        expect(
          idsOf((await store.listEvents(page({ tenant: 'nul', ...f }))).rows),
          JSON.stringify(f),
        ).toEqual([e.id]);
      }
      expect((await store.listEvents(page({ tenant: 'nul', actorId: 'x\u0000' }))).rows).toEqual([]);
      const [entry] = await store.readLog('nul', 0, 10);
      expect(entry).toMatchObject({
        action: 'a\u0000b',
        actorId: 'x\u0000\uffff0',
        targetType: 't\u0000',
        targetId: '\uffff\uffff',
        ip: '1\u0000',
      });
      const stats = await store.eventStats(
        statsRequest(
          { from: new Date(T0 - HOUR).toISOString(), to: new Date(T0 + HOUR).toISOString() },
          'nul',
          T0,
        ),
      );
      expect(stats.byAction).toEqual({ 'a\u0000b': 1 });
      expect(stats.byTargetType).toEqual({ 't\u0000': 1 });
      expect(stats.topActors).toEqual([{ id: 'x\u0000\uffff0', count: 1 }]);
    });

    it('a retried client id with the same content is a duplicate answer, nothing is stored twice', async () => {
      const first = event({ tenant: 'idem', id: 'client-1', description: 'one' });
      const [a] = await appendOne(store, [first]);
      const retry = event({ tenant: 'idem', id: 'client-1', description: 'one' }, T0 + 60_000);
      const [b] = await appendOne(store, [retry]);
      expect(b).toEqual({ ...a, duplicate: true });
      expect((await store.getTreeHead('idem')).range.size).toBe(1);
      // Within one request and within one group, too.
      const twice = event({ tenant: 'idem', id: 'client-2' });
      const rows = await appendOne(store, [twice, twice]);
      expect(rows.map((r) => [r.seq, r.duplicate])).toEqual([
        [1, false],
        [1, true],
      ]);
      const group = await store.appendEvents([
        { events: [event({ tenant: 'idem', id: 'client-3' })] },
        { events: [event({ tenant: 'idem', id: 'client-3' })] },
      ]);
      expect(group.map((r) => okRows(r).map((row) => [row.seq, row.duplicate]))).toEqual([
        [[2, false]],
        [[2, true]],
      ]);
      expect((await store.getTreeHead('idem')).range.size).toBe(3);
    });

    it('a reused id with different content fails only its own request; the others in the group commit', async () => {
      await appendOne(store, [event({ tenant: 'conflict', id: 'taken', description: 'original' })]);
      const results = await store.appendEvents([
        { events: [event({ tenant: 'conflict', description: 'before' })] },
        {
          events: [
            event({ tenant: 'conflict', id: 'fresh-in-bad-request' }),
            event({ tenant: 'conflict', id: 'taken', description: 'changed' }),
          ],
        },
        { events: [event({ tenant: 'conflict', description: 'after' })] },
        // The id the failed request tried to add is free again.
        { events: [event({ tenant: 'conflict', id: 'fresh-in-bad-request', description: 'later' })] },
      ]);
      expect(results[1]).toEqual({ ok: false, conflictIndex: 1, id: 'taken' });
      expect(okRows(results[0]).map((r) => r.seq)).toEqual([1]);
      expect(okRows(results[2]).map((r) => r.seq)).toEqual([2]);
      expect(okRows(results[3]).map((r) => [r.seq, r.duplicate])).toEqual([[3, false]]);
      const log = await store.readLog('conflict', 0, 100);
      expect(log.map((r) => r.seq)).toEqual([0, 1, 2, 3]);
      expect(JSON.parse(log[3]!.body).description).toBe('later');
      // An id taken earlier in the same request, or by an earlier request of the same group, conflicts too; the
      // refused requests leave nothing behind and their neighbours commit.
      const mixed = await store.appendEvents([
        {
          events: [
            event({ tenant: 'conflict', id: 'twice', description: 'a' }),
            event({ tenant: 'conflict', id: 'twice', description: 'b' }),
          ],
        },
        { events: [event({ tenant: 'conflict', id: 'group-first', description: 'a' })] },
        {
          events: [
            event({ tenant: 'conflict', id: 'unrelated' }),
            event({ tenant: 'conflict', id: 'group-first', description: 'b' }),
          ],
        },
      ]);
      expect(mixed[0]).toEqual({ ok: false, conflictIndex: 1, id: 'twice' });
      expect(okRows(mixed[1]).map((r) => [r.seq, r.duplicate])).toEqual([[4, false]]);
      expect(mixed[2]).toEqual({ ok: false, conflictIndex: 1, id: 'group-first' });
      expect((await store.getTreeHead('conflict')).range.size).toBe(5);
      expect(await store.getEvent('conflict', 'twice')).toBeNull();
      expect(await store.getEvent('conflict', 'unrelated')).toBeNull();
      // A server-chosen id of an earlier event reused by a client is a conflict too.
      const serverId = log[1]!.id;
      const [refused] = await store.appendEvents([{ events: [event({ tenant: 'conflict', id: serverId })] }]);
      expect(refused).toEqual({ ok: false, conflictIndex: 0, id: serverId });
    });

    it('concurrent appends to one tenant stay gap-free and every acknowledged event is stored once', async () => {
      const calls = Array.from({ length: 20 }, (_, i) =>
        store.appendEvents([
          {
            events: Array.from({ length: 5 }, (_, j) => event({ tenant: 'race', description: `c${i}-${j}` })),
          },
        ]),
      );
      const seqs = (await Promise.all(calls)).flatMap((r) =>
        r.flatMap((x) => okRows(x).map((row) => row.seq)),
      );
      expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      const log = await store.readLog('race', 0, 1000);
      expect(log.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(new Set(log.map((r) => r.id)).size).toBe(100);
    });

    it('many events in one millisecond get distinct order keys in arrival order', async () => {
      const events = Array.from({ length: 300 }, (_, i) =>
        event({ tenant: 'same-ms', at: T0, description: `n${i}` }),
      );
      await appendOne(store, events.slice(0, 150));
      await appendOne(store, events.slice(150));
      const asc = await walkAll(store, page({ tenant: 'same-ms' }, { order: 'asc', limit: 7 }));
      expect(asc).toEqual(events.map((e) => e.id));
      const desc = await walkAll(store, page({ tenant: 'same-ms' }, { limit: 11 }));
      expect(desc).toEqual(events.map((e) => e.id).reverse());
    });
  });

  describe('queries', () => {
    const tenant = 'q';
    let all: PreparedEvent[];
    beforeAll(async () => {
      const spec: [
        string,
        string,
        string | undefined,
        string | undefined,
        'success' | 'failure',
        string,
        string,
      ][] = [
        // action, actor, target type, target id, outcome, ip, description
        ['user.login', 'alice', undefined, undefined, 'success', '10.0.0.1', 'Alice signed in from Berlin'],
        ['user.logout', 'alice', undefined, undefined, 'success', '10.0.0.1', 'Alice signed out'],
        ['invoice.pay', 'bob', 'invoice', 'inv-1', 'success', '10.0.0.2', 'Bob paid invoice inv-1 by card'],
        ['invoice.pay', 'bob', 'invoice', 'inv-2', 'failure', '10.0.0.2', 'card declined for Bob'],
        [
          'INSERT',
          'svc-import',
          'table',
          'orders:7',
          'success',
          '10.0.0.3',
          'Imported order 7 (Zürich branch)',
        ],
        [
          'UPDATE',
          'svc-import',
          'table',
          'orders:7',
          'success',
          '10.0.0.3',
          'Updated order 7: paymentstatus',
        ],
        ['user.login', 'carol', undefined, undefined, 'failure', '10.0.0.4', 'wrong password for carol'],
        ['user.loginx', 'carol', undefined, undefined, 'success', '10.0.0.4', 'a look-alike action'],
      ];
      all = spec.map(([action, actor, type, id, outcome, ip, description], i) =>
        event({
          tenant,
          action,
          actor: { id: actor, name: actor.toUpperCase() },
          ...(type ? { target: { type, ...(id ? { id } : {}) } } : {}),
          outcome,
          context: { ip },
          description,
          details: { n: i, note: i === 3 ? 'insufficient funds' : 'ok' },
          at: T0 - (spec.length - i) * HOUR,
        }),
      );
      await appendOne(store, all.slice(0, 4));
      await appendOne(store, all.slice(4));
      // Noise in another tenant, never visible here.
      await appendOne(store, [
        event({ tenant: 'q-other', description: 'Alice signed in from Berlin', at: T0 - HOUR }),
      ]);
    });

    const expectIds = async (
      filter: Partial<EventFilter>,
      indexes: number[],
      extra: Partial<EventPageRequest> = {},
    ) => {
      const result = await store.listEvents(page({ tenant, ...filter }, extra));
      const expected = indexes.map((i) => all[i]!.id);
      expect(idsOf(result.rows), JSON.stringify(filter)).toEqual(
        extra.order === 'asc' ? expected : expected.reverse(),
      );
      expect(await store.countEvents({ tenant, ...filter }), `count ${JSON.stringify(filter)}`).toBe(
        indexes.length,
      );
    };

    it('lists newest first by default, oldest first with asc, with the leaf hash and seq of each row', async () => {
      await expectIds({}, [0, 1, 2, 3, 4, 5, 6, 7]);
      await expectIds({}, [0, 1, 2, 3, 4, 5, 6, 7], { order: 'asc' });
      const result = await store.listEvents(page({ tenant }));
      for (const row of result.rows) {
        const e = all.find((x) => x.body === row.body)!;
        expect(Buffer.from(row.leafHash).equals(Buffer.from(e.leafHash))).toBe(true);
        expect(row.seq).toBe(all.indexOf(e));
      }
    });

    it('filters by actor, exact actions, action prefixes, target, outcome, ip and time, alone and combined', async () => {
      await expectIds({ actorId: 'bob' }, [2, 3]);
      await expectIds({ actions: { exact: ['user.login'], prefixes: [] } }, [0, 6]);
      await expectIds({ actions: { exact: ['INSERT', 'UPDATE'], prefixes: [] } }, [4, 5]);
      await expectIds({ actions: { exact: [], prefixes: ['user.'] } }, [0, 1, 6, 7]);
      await expectIds({ actions: { exact: [], prefixes: ['user.login'] } }, [0, 6, 7]);
      await expectIds({ actions: { exact: ['INSERT'], prefixes: ['invoice.'] } }, [2, 3, 4]);
      await expectIds({ targetType: 'table' }, [4, 5]);
      await expectIds({ targetType: 'invoice', targetId: 'inv-2' }, [3]);
      await expectIds({ targetId: 'orders:7' }, [4, 5]);
      await expectIds({ outcome: 'failure' }, [3, 6]);
      await expectIds({ ip: '10.0.0.3' }, [4, 5]);
      await expectIds({ fromMs: all[2]!.occurredMs, toMs: all[5]!.occurredMs }, [2, 3, 4]);
      await expectIds({ actorId: 'carol', outcome: 'success' }, [7]);
      await expectIds({ actorId: 'nobody' }, []);
      await expectIds(
        { actions: { exact: [], prefixes: ['user.login'] }, fromMs: all[1]!.occurredMs },
        [6, 7],
      );
    });

    it('pages with cursors in both orders without skipping or repeating rows', async () => {
      for (const order of ['asc', 'desc'] as const) {
        for (const limit of [1, 3, 8, 9]) {
          const ids = await walkAll(store, page({ tenant }, { order, limit }));
          const expected = all.map((e) => e.id);
          expect(ids).toEqual(order === 'asc' ? expected : expected.reverse());
        }
      }
      const first = await store.listEvents(page({ tenant }, { limit: 8 }));
      expect(first.lastOrderKey).toBeNull();
      const total = await store.listEvents(
        page({ tenant, actorId: 'alice' }, { limit: 1, includeTotal: true }),
      );
      expect(total.total).toBe(2);
      expect(total.rows).toHaveLength(1);
    });

    it('full text: words, phrases, prefixes, case and accents, AND across terms, combined with filters', async () => {
      const q = async (text: string, indexes: number[], filter: Partial<EventFilter> = {}) => {
        await expectIds({ ...filter, search: parseSearchTerms(text) }, indexes);
      };
      await q('alice', [0, 1]);
      await q('ALICE', [0, 1]);
      await q('zurich', [4]);
      await q('Zürich', [4]);
      await q('"card declined"', [3]);
      await q('"declined card"', []);
      await q('pay*', [2, 3, 5]); // invoice.pay (action split into words), paymentstatus
      await q('"invoice inv"*', [2]); // event 3 has "type invoice id inv-2": no "invoice inv…"
      await q('insufficient', [3]);
      await q('bob card', [2, 3]);
      await q('bob card paid', [2]);
      await q('card', [3], { outcome: 'failure' });
      await q('orders', [4, 5]); // target id "orders:7" is split into words
      await q('user', [0, 1, 6, 7]);
      await q('NEAR( OR -x AND', []);
      await q("o'brien \\ :* & |", []);
      await q('Berlin', [0]);
      // Paging through matches with a cursor.
      const ids = await walkAll(store, page({ tenant, search: parseSearchTerms('user') }, { limit: 1 }));
      expect(ids).toEqual([7, 6, 1, 0].map((i) => all[i]!.id));
    });

    it('stats: totals, last 24 h, by action and target type, top actors and the histogram from the rollups', async () => {
      const request = statsRequest(
        { from: new Date(T0 - 12 * HOUR).toISOString(), to: new Date(T0).toISOString(), bucket: 'hour' },
        tenant,
        T0,
      );
      const stats = await store.eventStats(request);
      expect(stats.total).toBe(8);
      expect(stats.last24h).toBe(8);
      expect(stats.byAction).toEqual({
        'user.login': 2,
        'user.logout': 1,
        'invoice.pay': 2,
        INSERT: 1,
        UPDATE: 1,
        'user.loginx': 1,
      });
      expect(stats.byTargetType).toEqual({ invoice: 2, table: 2 });
      expect(stats.topActors).toEqual([
        { id: 'alice', count: 2 },
        { id: 'bob', count: 2 },
        { id: 'carol', count: 2 },
        { id: 'svc-import', count: 2 },
      ]);
      expect([...stats.histogram.entries()].sort((a, b) => a[0] - b[0])).toEqual(
        all.map((e) => [Math.floor(e.occurredMs / HOUR) * HOUR, 1]),
      );
      const top1 = await store.eventStats({ ...request, top: 1 });
      expect(top1.topActors).toEqual([{ id: 'alice', count: 2 }]);
      const later = await store.eventStats({ ...request, nowMs: T0 + 24 * HOUR - 2.5 * HOUR });
      expect(later.last24h).toBe(2); // only the two newest events are within 24 h of then
      const empty = await store.eventStats({ ...request, tenant: 'nobody' });
      expect(empty).toMatchObject({ total: 0, last24h: 0, byAction: {}, byTargetType: {}, topActors: [] });
    });

    it('readLog returns the raw columns in seq order from any seq, at most limit', async () => {
      const log = await store.readLog(tenant, 2, 3);
      expect(log.map((r) => r.seq)).toEqual([2, 3, 4]);
      expect(log[0]).toEqual({
        seq: 2,
        id: all[2]!.id,
        tenant,
        occurredMs: all[2]!.occurredMs,
        action: 'invoice.pay',
        actorId: 'bob',
        targetType: 'invoice',
        targetId: 'inv-1',
        outcome: 'success',
        ip: '10.0.0.2',
        body: all[2]!.body,
        leafHash: expect.anything(),
        // PostgreSQL also returns the copy lists show (in the payload row), for the verifier to compare.
        ...(backend === 'postgres' ? { listedLeafHash: expect.anything() } : {}),
        redactedBy: null,
      });
      expect(Buffer.from(log[0]!.leafHash).equals(Buffer.from(all[2]!.leafHash))).toBe(true);
      if (log[0]!.listedLeafHash) {
        expect(Buffer.from(log[0]!.listedLeafHash).equals(Buffer.from(all[2]!.leafHash))).toBe(true);
      }
      expect(await store.readLog(tenant, 8, 10)).toEqual([]);
      expect(await store.listEventTenants()).toEqual(expect.arrayContaining(['q', 'q-other']));
    });
  });

  it('full text over more rows than one look: dense, sparse and rare matches page identically', async () => {
    const tenant = 'fts-many';
    const events = Array.from({ length: 2600 }, (_, i) =>
      event({
        tenant,
        at: T0 - (2600 - i) * 1000,
        description: [
          'filler',
          i % 10 === 0 ? 'dense' : '',
          i % 100 === 0 ? 'sparse' : '',
          i === 5 || i === 2400 ? 'needle' : '',
        ].join(' '),
      }),
    );
    for (let i = 0; i < events.length; i += 500) await appendOne(store, events.slice(i, i + 500));
    for (const [word, every] of [
      ['dense', (i: number) => i % 10 === 0],
      ['sparse', (i: number) => i % 100 === 0],
      ['needle', (i: number) => i === 5 || i === 2400],
    ] as const) {
      const expected = events.filter((_, i) => every(i)).map((e) => e.id);
      for (const order of ['desc', 'asc'] as const) {
        for (const limit of [7, 50]) {
          const ids = await walkAll(
            store,
            page({ tenant, search: parseSearchTerms(word) }, { order, limit }),
          );
          expect(ids, `${word} ${order} ${limit}`).toEqual(
            order === 'asc' ? expected : [...expected].reverse(),
          );
        }
      }
      expect(await store.countEvents({ tenant, search: parseSearchTerms(word) })).toBe(expected.length);
    }
  });

  describe('Merkle state and checkpoints', () => {
    const tenant = 'merkle';
    let leaves: Uint8Array[];
    let expected: CompactRange;
    const nodes = new Map<string, Uint8Array>();
    beforeAll(async () => {
      const events = Array.from({ length: 37 }, (_, i) => event({ tenant, description: `m${i}` }));
      for (let i = 0; i < events.length; i += 10) await appendOne(store, events.slice(i, i + 10));
      leaves = events.map((e) => e.leafHash);
      expected = emptyCompactRange();
      for (const leaf of leaves) {
        const appended = appendLeaf(expected, leaf);
        expected = appended.range;
        for (const n of appended.nodes) nodes.set(nodeKey(n.level, n.index), n.hash);
      }
    });

    it('keeps the compact range of the log, so the root is the RFC 9162 root of the leaves', async () => {
      const head = await store.getTreeHead(tenant);
      expect(head.range.size).toBe(37);
      expect(head.range.hashes.map((h) => Buffer.from(h).toString('hex'))).toEqual(
        expected.hashes.map((h) => Buffer.from(h).toString('hex')),
      );
      expect(Buffer.from(rootOf(head.range)).equals(Buffer.from(rootOf(expected)))).toBe(true);
      expect((await store.getTreeHead('never-written')).range).toEqual({ size: 0, hashes: [] });
    });

    it('serves every perfect subtree by node id (leaves included) and by level range', async () => {
      const ids = [...nodes.keys()].map((k) => {
        const [level, index] = k.split('/').map(Number) as [number, number];
        return { level, index };
      });
      expect(ids.length).toBeGreaterThan(37);
      const found = await store.getMerkleNodes(tenant, [
        ...ids,
        { level: 0, index: 37 },
        { level: 9, index: 0 },
      ]);
      expect(found.size).toBe(ids.length);
      for (const [key, hash] of nodes)
        expect(Buffer.from(found.get(key)!).equals(Buffer.from(hash)), key).toBe(true);
      const level2 = await store.getMerkleLevel(tenant, 2, 1, 5);
      expect(level2.map((n) => n.index)).toEqual([1, 2, 3, 4, 5]);
      for (const n of level2)
        expect(Buffer.from(n.hash).equals(Buffer.from(nodes.get(nodeKey(2, n.index))!))).toBe(true);
      const rootIds = compactRangeNodeIds(20);
      const at20 = await store.getMerkleNodes(tenant, rootIds);
      let range20 = emptyCompactRange();
      for (const leaf of leaves.slice(0, 20)) range20 = appendLeaf(range20, leaf).range;
      expect(
        Buffer.from(
          rootOf({ size: 20, hashes: rootIds.map((id) => at20.get(nodeKey(id.level, id.index))!) }),
        ).equals(Buffer.from(rootOf(range20))),
      ).toBe(true);
    });

    it('saves checkpoints once per size and finds them by size, latest and covering', async () => {
      const key = generateSigningKey('contract.test');
      const make = (size: number, createdMs: number) => {
        let range = emptyCompactRange();
        for (const leaf of leaves.slice(0, size)) range = appendLeaf(range, leaf).range;
        const rootHash = rootOf(range);
        const note = signNote(
          formatCheckpoint({ origin: checkpointOrigin(key.name, tenant), treeSize: size, rootHash }),
          key,
        );
        return { tenant, treeSize: size, rootHash, createdMs, note };
      };
      expect(await store.getCheckpoint(tenant)).toBeNull();
      await store.saveCheckpoint(make(10, T0));
      await store.saveCheckpoint(make(30, T0 + 1));
      await store.saveCheckpoint({ ...make(10, T0 + 99), note: 'ignored: size 10 exists' });
      await store.saveCheckpoint(make(37, T0 + 2));
      expect((await store.getCheckpoint(tenant))!.treeSize).toBe(37);
      const ten = (await store.getCheckpoint(tenant, 10))!;
      expect(ten).toEqual(make(10, T0));
      expect(Buffer.from(ten.rootHash)).toBeInstanceOf(Buffer);
      expect(await store.getCheckpoint(tenant, 11)).toBeNull();
      expect((await store.getCheckpointCovering(tenant, 11))!.treeSize).toBe(30);
      expect(await store.getCheckpointCovering(tenant, 38)).toBeNull();
      expect((await store.listCheckpoints(tenant)).map((c) => c.treeSize)).toEqual([10, 30, 37]);
      // The verifier, working over the port alone, re-derives the whole store and accepts it.
      const report = await verifyStore(store, {
        verifierKeys: [verifierKeyString(key.name, key.publicKey)],
        all: true,
        batchSize: 7,
      });
      expect(report.findings).toEqual([]);
      expect(report.ok).toBe(true);
    });
  });

  describe('identity', () => {
    const key = (overrides: Partial<ApiKeyRecord>): ApiKeyRecord => ({
      id: 'k1',
      name: 'ci key',
      prefix: 'lbk_abcd',
      secretHash: new Uint8Array(32).fill(1),
      scopes: ['audit:read', 'audit:write'],
      tenant: null,
      createdMs: T0,
      expiresMs: null,
      lastUsedMs: null,
      revokedMs: null,
      ...overrides,
    });

    it('API keys: insert, find by hash and id, list (oldest first, by tenant), count, touch, revoke', async () => {
      const before = await store.countApiKeys();
      const k1 = key({});
      const k2 = key({
        id: 'k2',
        name: 'acme \u0000 key',
        secretHash: new Uint8Array(32).fill(2),
        tenant: 'acme',
        createdMs: T0 + 1,
        expiresMs: T0 + 1e9,
      });
      await store.insertApiKey(k2);
      await store.insertApiKey(k1);
      expect(await store.countApiKeys()).toBe(before + 2);
      const byHash = await store.findApiKeyByHash(new Uint8Array(32).fill(2));
      expect({ ...byHash, secretHash: Buffer.from(byHash!.secretHash) }).toEqual({
        ...k2,
        secretHash: Buffer.from(k2.secretHash),
      });
      expect(await store.findApiKeyByHash(new Uint8Array(32).fill(3))).toBeNull();
      expect((await store.findApiKeyById('k1'))!.scopes).toEqual(['audit:read', 'audit:write']);
      expect((await store.listApiKeys()).slice(-2).map((k) => k.id)).toEqual(['k1', 'k2']);
      expect((await store.listApiKeys({ tenant: 'acme' })).map((k) => k.id)).toEqual(['k2']);
      await store.touchApiKey('k1', T0 + 100);
      await store.touchApiKey('k1', T0 + 50);
      expect((await store.findApiKeyById('k1'))!.lastUsedMs).toBe(T0 + 100);
      expect((await store.revokeApiKey('k1', T0 + 200))!.revokedMs).toBe(T0 + 200);
      expect((await store.revokeApiKey('k1', T0 + 300))!.revokedMs).toBe(T0 + 200);
      expect(await store.revokeApiKey('nope', T0)).toBeNull();
    });

    it('users: unique case-insensitive names, find, list by tenant, disable/enable, logins', async () => {
      const user = (overrides: Partial<UserRecord>): UserRecord => ({
        id: 'u1',
        username: 'Alice',
        usernameKey: 'alice',
        passwordHash: 'scrypt$N=16384,r=8,p=1$c2FsdA$aGFzaA',
        role: 'viewer',
        scopes: ['audit:read'],
        tenant: null,
        createdMs: T0,
        updatedMs: T0,
        disabledMs: null,
        sessionsNotBeforeMs: null,
        lastLoginMs: null,
        ...overrides,
      });
      expect(await store.insertUser(user({}))).toBe(true);
      expect(await store.insertUser(user({ id: 'u2', username: 'ALICE' }))).toBe(false);
      expect(
        await store.insertUser(
          user({ id: 'u3', username: 'Bob', usernameKey: 'bob', tenant: 'acme', createdMs: T0 + 1 }),
        ),
      ).toBe(true);
      expect(await store.findUserById('u1')).toEqual(user({}));
      expect((await store.findUserByUsernameKey('bob'))!.id).toBe('u3');
      expect(await store.findUserByUsernameKey('carol')).toBeNull();
      expect((await store.listUsers()).map((u) => u.id)).toEqual(['u1', 'u3']);
      expect((await store.listUsers({ tenant: 'acme' })).map((u) => u.id)).toEqual(['u3']);
      const disabled = await store.setUserDisabled('u1', T0 + 10, T0 + 10);
      expect(disabled).toMatchObject({
        disabledMs: T0 + 10,
        sessionsNotBeforeMs: T0 + 10,
        updatedMs: T0 + 10,
      });
      const again = await store.setUserDisabled('u1', T0 + 20, T0 + 20);
      expect(again).toMatchObject({ disabledMs: T0 + 10, sessionsNotBeforeMs: T0 + 20 });
      const enabled = await store.setUserDisabled('u1', null, T0 + 30);
      expect(enabled).toMatchObject({ disabledMs: null, sessionsNotBeforeMs: T0 + 20, updatedMs: T0 + 30 });
      expect(await store.setUserDisabled('nobody', null, T0)).toBeNull();
      await store.recordUserLogin('u3', T0 + 40);
      expect((await store.findUserById('u3'))!.lastLoginMs).toBe(T0 + 40);
    });
  });

  it('migrate is idempotent and ping answers', async () => {
    expect(await store.migrate()).toEqual([]);
    expect(await store.pendingMigrations()).toEqual([]);
    await store.ping();
    expect(store.capabilities.name).toBe(backend);
  });
});

// Its own store: the deletion record here is written by hand (not by the redaction service), which the whole-store
// verification in the contract above would rightly flag.
describe.each(BACKENDS)('stats after redaction on %s', (backend) => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await makeStore(backend);
  });
  afterAll(async () => {
    await ts?.cleanup();
  });

  it('last24h never counts a redacted event, also in the partial hours at the edges of the window', async () => {
    const t = 'stats-redacted';
    // Two events in the hour that is cut by "now", two in the oldest (partial) hour of the window, one whole hour.
    const events = [
      event({ tenant: t, at: T0 - 10 * 60_000 }),
      event({ tenant: t, at: T0 - 5 * 60_000 }),
      event({ tenant: t, at: T0 - 23 * HOUR - 20 * 60_000 }),
      event({ tenant: t, at: T0 - 23 * HOUR - 10 * 60_000 }),
      event({ tenant: t, at: T0 - 5 * HOUR }),
    ];
    await appendOne(ts.store, events);
    const now = T0 + 30 * 60_000;
    const stats = () => ts.store.eventStats(statsRequest({ bucket: 'hour' }, t, now)).then((s) => s.last24h);
    const before = await stats();
    expect(before).toBe(5); // now = T0 + 30 min: the window starts 20 min before the oldest two
    // The record of the deletion is itself an event (in the current hour): redact one event of each edge hour.
    const [record] = await appendOne(ts.store, [
      event({ tenant: t, at: now - 60_000, action: 'logbook.events.redact' }),
    ]);
    const redacted = await ts.store.redactEvents({
      tenant: t,
      ids: [events[0]!.id, events[3]!.id],
      recordSeq: record!.seq,
      keepActions: ['logbook.events.redact'],
      limit: 10,
    });
    expect(redacted.sort()).toEqual([events[0]!.id, events[3]!.id].sort());
    expect(await stats()).toBe(before + 1 - 2);
  });

  it('last24h equals a count of what was written, for a now anywhere in its hour, edges and future-dated events included', async () => {
    const t = 'stats-last24h';
    const HOUR_START = Math.floor(T0 / HOUR) * HOUR;
    // Nows either side of the half hour (the oldest partial hour is counted from its shorter side) and at its ends.
    const nows = [
      0,
      1,
      10 * 60_000,
      30 * 60_000 - 1,
      30 * 60_000,
      30 * 60_000 + 1,
      59 * 60_000,
      HOUR - 2,
      HOUR - 1,
    ].map((offset) => HOUR_START + offset);
    const times = new Set<number>([HOUR_START - 2 * HOUR, HOUR_START - 24 * HOUR + 17 * 60_000]);
    for (const now of nows) {
      for (const at of [
        now - 24 * HOUR - 1,
        now - 24 * HOUR,
        now - 24 * HOUR + 1,
        now - 1,
        now,
        now + 1,
        now + 60_000,
      ]) {
        times.add(at);
      }
    }
    const written = [...times].map((at) => event({ tenant: t, at }));
    await appendOne(ts.store, written);
    const record = okRows(
      (
        await ts.store.appendEvents([
          { events: [event({ tenant: t, at: HOUR_START - HOUR, action: 'logbook.events.redact' })] },
        ])
      )[0],
    )[0]!;
    // Redact one event at each edge of some windows: the oldest instant of one, the newest of another.
    const gone = [written[2]!, written[7]!, written[10]!];
    await ts.store.redactEvents({
      tenant: t,
      ids: gone.map((e) => e.id),
      recordSeq: record.seq,
      keepActions: ['logbook.events.redact'],
      limit: 10,
    });
    const live = [...written.filter((e) => !gone.includes(e)).map((e) => e.occurredMs), HOUR_START - HOUR];
    for (const now of nows) {
      const stats = await ts.store.eventStats(statsRequest({ bucket: 'hour' }, t, now));
      expect(stats.last24h, `now = hour start + ${now - HOUR_START} ms`).toBe(
        live.filter((at) => at >= now - 24 * HOUR && at <= now).length,
      );
    }
  });
});
