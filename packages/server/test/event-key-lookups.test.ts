// Actor and target filters are exact on every backend: on SQLite they are served by the events_keys token index
// (migration 0008), which must never return a near-miss (case, punctuation, another tenant) nor miss a row, also for
// ids that look like FTS5 syntax, non-ASCII ids and very long ids, after redaction, and for rows written before 0008.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PreparedEvent, prepareEvent } from '../src/domain/event.ts';
import type { EventFilter } from '../src/query/event-filter.ts';
import { parseSearchTerms } from '../src/query/search-terms.ts';
import { selectEvents } from '../src/store/sqlite/event-select.ts';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/migrations.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';
import { BACKENDS, makeStore, type TestStore } from './support-backends.ts';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

/** Ids chosen to collide under any tokenizer or case folding, and to look like FTS5 query syntax. */
const TRICKY_IDS = [
  'alice',
  'Alice',
  'ALICE',
  'alice ',
  'alice-1',
  'alice 1',
  'alice_1',
  'alice.1',
  '"alice"',
  'alice*',
  'alice OR bob',
  'NEAR(alice bob)',
  'a:b',
  'x',
  'ä-lice',
  'a-lice',
  '🙂',
  '日本語',
  'a'.repeat(1000),
  `${'a'.repeat(999)}b`,
] as const;

function event(fields: {
  tenant?: string;
  actor: string;
  target?: { type: string; id: string };
  at: number;
}): PreparedEvent {
  return prepareEvent(
    {
      action: 'doc.touch',
      actor: { id: fields.actor },
      ...(fields.target ? { target: fields.target } : {}),
      ...(fields.tenant ? { tenant: fields.tenant } : {}),
      occurredAt: new Date(fields.at).toISOString(),
    },
    { receivedMs: T0 },
  );
}

async function append(store: Store, events: PreparedEvent[]): Promise<void> {
  const [result] = await store.appendEvents([{ events }]);
  if (!result?.ok) throw new Error(`append refused: ${JSON.stringify(result)}`);
}

async function ids(store: Store, filter: Partial<EventFilter>, order: 'asc' | 'desc' = 'desc') {
  const page = await store.listEvents({
    filter: { tenant: 'keys', ...filter },
    limit: 1000,
    order,
    includeTotal: true,
  });
  return {
    ids: page.rows.map((r) => (JSON.parse(r.body) as { id: string }).id),
    total: page.total,
  };
}

describe.each(BACKENDS)('exact actor and target lookups on %s', (backend) => {
  let ts: TestStore;
  const byActor = new Map<string, string[]>();
  const byTarget = new Map<string, string[]>();
  beforeAll(async () => {
    ts = await makeStore(backend);
    const events: PreparedEvent[] = [];
    let at = T0;
    // Each tricky id is an actor twice, a target id once (type "doc") and a target type once; the same ids exist
    // in another tenant, which must never show up.
    for (const id of TRICKY_IDS) {
      for (let i = 0; i < 2; i++) {
        const e = event({ tenant: 'keys', actor: id, target: { type: 'doc', id: `${id}` }, at: at++ });
        events.push(e);
        byActor.set(id, [e.id, ...(byActor.get(id) ?? [])]);
        if (i === 0) byTarget.set(id, [e.id, ...(byTarget.get(id) ?? [])]);
      }
      events.push(event({ tenant: 'other', actor: id, target: { type: 'doc', id }, at: at++ }));
    }
    // The second event of each pair gets another target type, so target type + id and id alone differ.
    for (const e of events) {
      if (e.tenant === 'keys' && byTarget.get(e.actorId)?.[0] !== e.id) {
        const moved = prepareEvent(
          {
            id: e.id,
            action: 'doc.touch',
            actor: { id: e.actorId },
            target: { type: 'folder', id: e.actorId },
            tenant: 'keys',
            occurredAt: new Date(e.occurredMs).toISOString(),
          },
          { receivedMs: T0 },
        );
        events[events.indexOf(e)] = moved;
      }
    }
    await append(ts.store, events);
  });
  afterAll(async () => {
    await ts?.cleanup();
  });

  it('an actor filter returns exactly that actor, newest first and oldest first, with an exact total', async () => {
    for (const id of TRICKY_IDS) {
      const desc = await ids(ts.store, { actorId: id });
      expect(desc.ids, `actor ${JSON.stringify(id)}`).toEqual(byActor.get(id));
      expect(desc.total).toBe(2);
      expect((await ids(ts.store, { actorId: id }, 'asc')).ids).toEqual([...byActor.get(id)!].reverse());
    }
  });

  it('target type + id, target id alone and target type alone are exact and per tenant', async () => {
    for (const id of TRICKY_IDS) {
      expect((await ids(ts.store, { targetType: 'doc', targetId: id })).ids).toEqual(byTarget.get(id));
      expect((await ids(ts.store, { targetId: id })).ids).toEqual(byActor.get(id));
      expect((await ids(ts.store, { targetType: 'folder', targetId: id })).total).toBe(1);
    }
    expect((await ids(ts.store, { targetType: 'doc' })).total).toBe(TRICKY_IDS.length);
    expect((await ids(ts.store, { targetType: 'folder' })).total).toBe(TRICKY_IDS.length);
    expect((await ids(ts.store, { targetType: 'Doc' })).total).toBe(0);
    expect((await ids(ts.store, { targetType: 'doc', tenant: 'other' })).total).toBe(TRICKY_IDS.length);
  });

  it('action filters: exact, prefix, several at once, combined with an actor — exact and newest first', async () => {
    const s = ts.store;
    const actions = async (exact: string[], prefixes: string[], extra: Partial<EventFilter> = {}) =>
      ids(s, { actions: { exact, prefixes }, ...extra });
    const all = (await actions(['doc.touch'], [])).ids;
    expect(all).toHaveLength(TRICKY_IDS.length * 2);
    expect((await actions([], ['doc.'])).ids).toEqual(all);
    expect((await actions([], ['doc.t'])).ids).toEqual(all);
    expect((await actions([], ['do'])).ids).toEqual(all);
    expect((await actions([], [''])).ids).toEqual(all);
    // Near misses: case, a longer or different prefix, the exact action as a prefix of nothing longer.
    for (const [exact, prefixes] of [
      [['Doc.touch'], []],
      [['doc.touc'], []],
      [[], ['doc.touchy']],
      [[], ['Doc']],
      [['doc.touch '], []],
    ] as const) {
      expect((await actions([...exact], [...prefixes])).total, JSON.stringify([exact, prefixes])).toBe(0);
    }
    expect((await actions(['nothing', 'doc.touch'], ['zzz'])).ids).toEqual(all);
    expect((await actions([], ['doc.'], { actorId: 'alice' })).ids).toEqual(byActor.get('alice'));
    expect((await actions([], ['doc.'], { actorId: 'alice' })).total).toBe(2);
    expect((await actions([], ['doc.'], { tenant: 'other' })).total).toBe(TRICKY_IDS.length);
    // Oldest first walks the same rows in reverse.
    const asc = await s.listEvents({
      filter: { tenant: 'keys', actions: { exact: [], prefixes: ['doc.'] } },
      limit: 1000,
      order: 'asc',
      includeTotal: false,
    });
    expect(asc.rows.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual([...all].reverse());
  });

  it('ids that are not stored match nothing', async () => {
    for (const id of ['alic', 'alice1', 'bob', '', 'a'.repeat(1001), 'alice AND x']) {
      expect((await ids(ts.store, { actorId: id })).total, JSON.stringify(id)).toBe(0);
      expect((await ids(ts.store, { targetId: id })).total, JSON.stringify(id)).toBe(0);
    }
  });

  it('combines with time ranges, cursors and other filters', async () => {
    const all = byActor.get('alice')!;
    const first = await ts.store.listEvents({
      filter: { tenant: 'keys', actorId: 'alice' },
      limit: 1,
      order: 'desc',
      includeTotal: false,
    });
    expect(first.rows).toHaveLength(1);
    const second = await ts.store.listEvents({
      filter: { tenant: 'keys', actorId: 'alice' },
      limit: 1,
      order: 'desc',
      includeTotal: false,
      after: first.lastOrderKey!,
    });
    expect([...first.rows, ...second.rows].map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual(
      all,
    );
    expect(second.lastOrderKey).toBeNull();
    const e = await ids(ts.store, {
      actorId: 'alice',
      targetType: 'folder',
      outcome: 'success',
      fromMs: T0,
      toMs: T0 + 10_000,
    });
    expect(e.ids).toEqual([all[0]]);
  });
});

describe('SQLite migration 0008 indexes the rows written before it', () => {
  let dir: string;
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds pre-0008 events by actor and target, not redacted ones, and drops the old indexes', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-keys-'));
    const file = path.join(dir, 'logbook.db');
    // A database at 0007, written through the old schema by hand, as an earlier release left it.
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_ms INTEGER NOT NULL)');
    const before = SQLITE_MIGRATIONS.slice(
      0,
      SQLITE_MIGRATIONS.findIndex((m) => m.name === '0008_key_index'),
    );
    for (const m of before) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(m.name);
    }
    // Rows as 0007 stored them (the columns the index is built from; the body only needs the id here).
    const insert = old.prepare(
      `INSERT INTO events (order_key, tenant, seq, id, occurred_ms, received_ms, action, actor_id, target_type,
         target_id, outcome, body, leaf_hash, redacted_by) VALUES (?, 'keys', ?, ?, 0, 0, 'doc.touch', ?, ?, ?, 'success', ?, x'00', ?)`,
    );
    const rows = [
      ['e0', 'Zoë "z" O\'Neil', 'doc', 'd 1', null],
      ['e1', 'zoe', 'doc', 'd-1', null],
      ['e2', '', null, null, 0],
    ] as const;
    for (const [seq, [id, actor, type, target, redactedBy]] of rows.entries()) {
      insert.run(
        seq + 1,
        seq,
        id,
        actor,
        type,
        target,
        redactedBy === null ? JSON.stringify({ id }) : '',
        redactedBy,
      );
    }
    old.close();

    const store = new SqliteStore({ file });
    expect(await store.migrate()).toContain('0008_key_index');
    expect((await ids(store, { actorId: 'Zoë "z" O\'Neil' })).ids).toEqual(['e0']);
    expect((await ids(store, { actorId: 'zoe' })).ids).toEqual(['e1']);
    expect((await ids(store, { targetType: 'doc', targetId: 'd 1' })).ids).toEqual(['e0']);
    expect((await ids(store, { targetId: 'd-1' })).ids).toEqual(['e1']);
    expect((await ids(store, { targetType: 'doc' })).total).toBe(2);
    expect((await ids(store, { actions: { exact: [], prefixes: ['doc.'] } })).total).toBe(2);
    expect((await ids(store, { actions: { exact: ['doc.touch'], prefixes: [] } })).total).toBe(2);
    // The redacted row has no keys left to find; an empty actor id must not match it either.
    expect((await ids(store, { actorId: '' })).total).toBe(0);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM events_keys').get()).toEqual({ n: 2 });
    expect(
      db
        .prepare(
          "SELECT count(*) AS n FROM sqlite_master WHERE name IN ('events_tenant_actor', 'events_tenant_target', 'events_tenant_action')",
        )
        .get(),
    ).toEqual({ n: 0 });
    db.close();
    await store.close();
  });
});

describe.each(BACKENDS)('full text combined with actor, target, time range and cursors on %s', (backend) => {
  let ts: TestStore;
  const WORDS = ['red', 'green', 'blue'] as const;
  const events: { id: string; actor: string; target: string; at: number; words: string[] }[] = [];
  beforeAll(async () => {
    ts = await makeStore(backend);
    const prepared: PreparedEvent[] = [];
    for (let i = 0; i < 600; i++) {
      // Deterministic mix: every actor and target meets every word, in many time slots.
      const words = WORDS.filter((_, w) => (i * (w + 3)) % (w + 2) !== 0);
      const e = prepareEvent(
        {
          tenant: 'mix',
          action: 'doc.touch',
          actor: { id: `a${i % 7}` },
          target: { type: 'doc', id: `t${i % 11}` },
          description: words.join(' ') || 'plain',
          occurredAt: new Date(T0 + i * 1000).toISOString(),
        },
        { receivedMs: T0 },
      );
      prepared.push(e);
      events.push({ id: e.id, actor: `a${i % 7}`, target: `t${i % 11}`, at: T0 + i * 1000, words });
    }
    for (let i = 0; i < prepared.length; i += 200) await append(ts.store, prepared.slice(i, i + 200));
  });
  afterAll(async () => {
    await ts?.cleanup();
  });

  it('returns exactly the brute-force answer, page by page in both orders, with exact counts', async () => {
    const cases: { filter: Partial<EventFilter>; keep: (e: (typeof events)[number]) => boolean }[] = [];
    for (const text of ['red', 'green blue', 're*']) {
      const words = text.split(' ');
      const matches = (e: (typeof events)[number]) =>
        words.every((w) =>
          w.endsWith('*') ? e.words.some((x) => x.startsWith(w.slice(0, -1))) : e.words.includes(w),
        );
      const search = parseSearchTerms(text);
      cases.push({ filter: { search, actorId: 'a3' }, keep: (e) => matches(e) && e.actor === 'a3' });
      cases.push({
        filter: { search, targetType: 'doc', targetId: 't5' },
        keep: (e) => matches(e) && e.target === 't5',
      });
      cases.push({
        filter: { search, actorId: 'a2', fromMs: T0 + 100_000, toMs: T0 + 400_000 },
        keep: (e) => matches(e) && e.actor === 'a2' && e.at >= T0 + 100_000 && e.at < T0 + 400_000,
      });
      cases.push({
        filter: { search, fromMs: T0 + 250_000, toMs: T0 + 260_000 },
        keep: (e) => matches(e) && e.at >= T0 + 250_000 && e.at < T0 + 260_000,
      });
    }
    cases.push({
      filter: { actorId: 'a4', fromMs: T0 + 50_000, toMs: T0 + 300_000 },
      keep: (e) => e.actor === 'a4' && e.at >= T0 + 50_000 && e.at < T0 + 300_000,
    });
    for (const { filter, keep } of cases) {
      const expected = events.filter(keep).map((e) => e.id);
      expect(expected.length, JSON.stringify(filter)).toBeGreaterThan(0);
      for (const order of ['desc', 'asc'] as const) {
        const seen: string[] = [];
        let after: bigint | undefined;
        for (;;) {
          const page = await ts.store.listEvents({
            filter: { tenant: 'mix', ...filter },
            limit: 7,
            order,
            includeTotal: false,
            ...(after !== undefined ? { after } : {}),
          });
          seen.push(...page.rows.map((r) => (JSON.parse(r.body) as { id: string }).id));
          if (page.lastOrderKey === null) break;
          after = page.lastOrderKey;
        }
        expect(seen, `${JSON.stringify(filter)} ${order}`).toEqual(
          order === 'asc' ? expected : [...expected].reverse(),
        );
      }
      expect(await ts.store.countEvents({ tenant: 'mix', ...filter })).toBe(expected.length);
    }
  });
});

describe('SQLite list plans read an index in time order, whatever the filter', () => {
  let dir: string;
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('drives from the key or text index (never a scan of the range, never a sort), cursor and time range included', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-plans-'));
    const db = new Database(path.join(dir, 'plans.db'));
    for (const m of SQLITE_MIGRATIONS) db.exec(m.sql);
    const range = { fromMs: T0, toMs: T0 + 86_400_000 };
    const shapes: [string, EventFilter, RegExp][] = [
      ['actor + time range', { tenant: 't', actorId: 'u', ...range }, /^SCAN k VIRTUAL TABLE/],
      [
        'target + time range',
        { tenant: 't', targetType: 'doc', targetId: 'd', ...range },
        /^SCAN k VIRTUAL TABLE/,
      ],
      [
        'action + time range',
        { tenant: 't', actions: { exact: ['a.b'], prefixes: [] }, ...range },
        /^SCAN k /,
      ],
      [
        'search + time range',
        { tenant: 't', search: parseSearchTerms('alpha'), ...range },
        /^SCAN f VIRTUAL TABLE/,
      ],
      [
        'search + actor',
        { tenant: 't', search: parseSearchTerms('alpha'), actorId: 'u' },
        /^SCAN k VIRTUAL TABLE/,
      ],
      [
        'search + actor + range',
        { tenant: 't', search: parseSearchTerms('a'), actorId: 'u', ...range },
        /^SCAN k /,
      ],
    ];
    for (const [name, filter, driver] of shapes) {
      for (const order of ['asc', 'desc'] as const) {
        const query = selectEvents('e.order_key', filter, order, 123n);
        const plan = (
          db.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as { detail: string }[]
        ).map((row) => row.detail);
        expect(plan[0], `${name} ${order}: ${plan.join(' | ')}`).toMatch(driver);
        expect(plan.join(' | '), name).not.toMatch(/TEMP B-TREE|USING INDEX events_tenant/);
      }
    }
    // Append-only full-text indexes merge 16 segments at a time, not FTS5's default 4 (migration 0012).
    for (const table of ['events_fts', 'events_keys', 'logs_fts']) {
      expect(db.prepare(`SELECT v FROM ${table}_config WHERE k = 'automerge'`).get(), table).toEqual({
        v: 16,
      });
    }
    db.close();
  });
});

describe.each(BACKENDS)('action prefixes over many actions on %s', (backend) => {
  let ts: TestStore;
  const byAction = new Map<string, string[]>();
  beforeAll(async () => {
    ts = await makeStore(backend);
    // 80 actions under "bulk." (more than a prefix is expanded into), 10 of them under "bulk.a1", and look-alikes.
    const names = [
      ...Array.from({ length: 80 }, (_, i) => `bulk.a${String(i).padStart(2, '0')}`),
      'bulk',
      'bulkier.x',
      'Bulk.a10',
    ];
    const events = names.flatMap((action, i) =>
      [0, 1].map((k) =>
        prepareEvent(
          {
            tenant: 'acts',
            action,
            actor: { id: `u${k}` },
            occurredAt: new Date(T0 + i * 10 + k).toISOString(),
          },
          { receivedMs: T0 },
        ),
      ),
    );
    for (const e of events) byAction.set(e.action, [e.id, ...(byAction.get(e.action) ?? [])]);
    await append(ts.store, events);
  });
  afterAll(async () => {
    await ts?.cleanup();
  });

  const expected = (keep: (action: string) => boolean) =>
    [...byAction]
      .filter(([action]) => keep(action))
      .flatMap(([, ids]) => ids)
      .sort((a, b) => (a < b ? 1 : -1));
  const list = async (prefixes: string[], exact: string[] = [], extra: Partial<EventFilter> = {}) => {
    const page = await ts.store.listEvents({
      filter: { tenant: 'acts', actions: { exact, prefixes }, ...extra },
      limit: 1000,
      order: 'desc',
      includeTotal: true,
    });
    return { ids: page.rows.map((r) => (JSON.parse(r.body) as { id: string }).id), total: page.total };
  };
  // Event ids are UUIDv7 of one received time: sort by time instead, as the store does.
  const byTime = async (keep: (action: string) => boolean) => {
    const all = await list([], [...byAction.keys()]);
    const wanted = new Set(expected(keep));
    return all.ids.filter((id) => wanted.has(id));
  };

  it('a prefix over 80 actions, over 10, a look-alike and a mix with exact actions are exact, newest first', async () => {
    for (const [prefixes, exact, keep] of [
      [['bulk.'], [], (a: string) => a.startsWith('bulk.')],
      [['bulk.a1'], [], (a: string) => a.startsWith('bulk.a1')],
      [['bulk'], [], (a: string) => a.startsWith('bulk')],
      [['bulk.a1', 'bulk.a7'], ['bulk'], (a: string) => /^bulk\.a[17]/.test(a) || a === 'bulk'],
      [['Bulk'], [], (a: string) => a.startsWith('Bulk')],
      [['bulk.b'], [], () => false],
    ] as const) {
      const got = await list([...prefixes], [...exact]);
      expect(got.ids, JSON.stringify(prefixes)).toEqual(await byTime(keep));
      expect(got.total).toBe(got.ids.length);
    }
    expect((await list(['bulk.a1'], [], { actorId: 'u1' })).total).toBe(10);
  });

  it.runIf(backend === 'sqlite')(
    'on SQLite a short prefix is answered from event_actions, which migration 0010 fills from the rollups',
    async () => {
      const file = path.join(ts.dir, 'logbook.db');
      const db = new Database(file);
      expect(db.prepare("SELECT count(*) AS n FROM event_actions WHERE tenant = 'acts'").get()).toEqual({
        n: 83,
      });
      // Rewind to before 0010: the table is gone and the migration must rebuild it from the rollups.
      db.exec("DROP TABLE event_actions; DELETE FROM schema_migrations WHERE name = '0010_event_actions'");
      db.close();
      const reopened = new SqliteStore({ file });
      expect(await reopened.migrate()).toContain('0010_event_actions');
      const check = new Database(file);
      expect(check.prepare("SELECT count(*) AS n FROM event_actions WHERE tenant = 'acts'").get()).toEqual({
        n: 83,
      });
      // The expansion reads this table: an action missing from it is missing from a short prefix's answer (and only
      // there — a prefix over more than 64 actions stays a token-prefix query).
      check.prepare("DELETE FROM event_actions WHERE tenant = 'acts' AND action = 'bulk.a15'").run();
      check.close();
      const page = async (prefix: string) =>
        (
          await reopened.listEvents({
            filter: { tenant: 'acts', actions: { exact: [], prefixes: [prefix] } },
            limit: 1000,
            order: 'desc',
            includeTotal: false,
          })
        ).rows.length;
      expect(await page('bulk.a1')).toBe(18);
      expect(await page('bulk.')).toBe(160);
      await reopened.close();
    },
  );
});
