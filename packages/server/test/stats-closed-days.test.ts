// Stats (top actors, by action, by target type, histogram) are exact on every backend, for any window, while events
// keep arriving (late ones too) and payloads are redacted: closed days' rollup sums are kept between calls
// (store/closed-rollups.ts), and a kept sum must never outlive a write that changed it — nor one another process made.
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PreparedEvent, prepareEvent } from '../src/domain/event.ts';
import { statsRequest } from '../src/query/event-filter.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';
import { BACKENDS, makeStore, type TestStore } from './support-backends.ts';
import { seededRandom } from './support-random.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Noon of the "current" day of these tests; the actors' days lie before it. */
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const TODAY = Math.floor(NOW / DAY);
const TENANT = 'tops';

interface Written {
  id: string;
  actor: string;
  day: number;
  at: number;
  action: string;
  targetType: string | null;
}

/** Each actor family has its own action and target type, so every part of the stats moves. */
const actionOf = (actor: string) =>
  actor.startsWith('b') ? 'invoice.pay' : actor.startsWith('c') ? 'user.login' : 'doc.read';
const targetTypeOf = (actor: string) =>
  actor.startsWith('b') ? 'invoice' : actor.startsWith('a') ? 'doc' : null;

describe.each(BACKENDS)('stats over closed days and today on %s', (backend) => {
  let ts: TestStore;
  const written: Written[] = [];
  const redacted = new Set<string>();

  /** Appends `count` events of an actor dated `day`, received on `receivedDay` (later than `day` for a late event). */
  async function add(actor: string, day: number, count: number, receivedDay = day, store?: Store) {
    const events: PreparedEvent[] = [];
    for (let i = 0; i < count; i++) {
      events.push(
        prepareEvent(
          {
            tenant: TENANT,
            action: actionOf(actor),
            actor: { id: actor },
            ...(targetTypeOf(actor) ? { target: { type: targetTypeOf(actor)!, id: `t-${i % 3}` } } : {}),
            occurredAt: new Date(day * DAY + HOUR + i * 60_000).toISOString(),
          },
          { receivedMs: receivedDay * DAY + 7_200_000 },
        ),
      );
    }
    const [result] = await (store ?? ts.store).appendEvents([{ events }]);
    if (!result?.ok) throw new Error(`append refused: ${JSON.stringify(result)}`);
    for (const e of events) {
      written.push({ id: e.id, actor, day, at: e.occurredMs, action: e.action, targetType: e.targetType });
    }
  }

  /** What the stats must say: counted from what this test wrote (top actors largest first, ties by id). */
  function expected(fromMs: number, toMs: number, top: number) {
    const live = written.filter((w) => !redacted.has(w.id));
    const actors = new Map<string, number>();
    for (const w of live) {
      if (w.day < Math.floor(fromMs / DAY) || w.day >= Math.ceil(toMs / DAY)) continue;
      actors.set(w.actor, (actors.get(w.actor) ?? 0) + 1);
    }
    const bucketMs = toMs - fromMs <= 3 * DAY ? HOUR : DAY;
    const byAction: Record<string, number> = {};
    const byTargetType: Record<string, number> = {};
    const histogram = new Map<number, number>();
    for (const w of live) {
      if (w.at < Math.floor(fromMs / HOUR) * HOUR || w.at >= Math.ceil(toMs / HOUR) * HOUR) continue;
      byAction[w.action] = (byAction[w.action] ?? 0) + 1;
      if (w.targetType) byTargetType[w.targetType] = (byTargetType[w.targetType] ?? 0) + 1;
      const bucket = Math.floor(w.at / bucketMs) * bucketMs;
      histogram.set(bucket, (histogram.get(bucket) ?? 0) + 1);
    }
    return {
      topActors: [...actors]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, top)
        .map(([id, count]) => ({ id, count })),
      byAction,
      byTargetType,
      histogram: [...histogram].sort((a, b) => a[0] - b[0]),
    };
  }

  /** Appends, in one request, `count` events of each actor dated `day` (from 01:00, a second apart), received that day. */
  async function appendDay(tenant: string, counts: [string, number][], day: number) {
    const events = counts.flatMap(([actor, count]) =>
      Array.from({ length: count }, (_, i) =>
        prepareEvent(
          {
            tenant,
            action: 'doc.read',
            actor: { id: actor },
            occurredAt: new Date(day * DAY + HOUR + i * 1000).toISOString(),
          },
          { receivedMs: day * DAY + 2 * HOUR },
        ),
      ),
    );
    const [result] = await ts.store.appendEvents([{ events }]);
    if (!result?.ok) throw new Error('append refused');
  }

  /** A stats request for the default 30 days of `tenant`, asking for `top` actors. */
  const lastThirtyDays = (tenant: string, top: number) =>
    statsRequest(
      { from: new Date(NOW - 30 * DAY).toISOString(), to: new Date(NOW).toISOString(), top },
      tenant,
      NOW,
    );
  /** What topActors must say: the `top` largest totals, ties by id. */
  const largest = (totals: Map<string, number>, top: number) =>
    [...totals]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, top)
      .map(([id, count]) => ({ id, count }));

  const WINDOWS: [string, number, number][] = [
    ['default 30 days', NOW - 30 * DAY, NOW],
    ['closed days only', NOW - 9 * DAY, NOW - 3 * DAY],
    ['yesterday and today', NOW - DAY, NOW],
    ['one closed day', (TODAY - 4) * DAY, (TODAY - 3) * DAY],
    ['into the future', NOW - 5 * DAY, NOW + 2 * DAY],
    // No closed day: the store ranks today's sums and sends only the top ones.
    ['today only', TODAY * DAY, NOW],
    ['today into the future', TODAY * DAY + HOUR, NOW + 2 * DAY],
  ];

  async function expectExact(nowMs = NOW) {
    for (const [name, fromMs, toMs] of WINDOWS) {
      for (const top of [1, 2, 3, 10]) {
        const request = statsRequest(
          { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), top },
          TENANT,
          nowMs,
        );
        const stats = await ts.store.eventStats(request);
        expect(
          {
            topActors: stats.topActors,
            byAction: stats.byAction,
            byTargetType: stats.byTargetType,
            histogram: [...stats.histogram].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]),
          },
          `${name}, top ${top}`,
        ).toEqual(expected(fromMs, toMs, top));
      }
    }
  }

  beforeAll(async () => {
    ts = await makeStore(backend);
    // Ten days of history, each received on its own day; counts chosen to tie (b1 = b2) and to cross over days.
    for (let d = 1; d <= 10; d++) {
      await add('a-steady', TODAY - d, 5);
      await add(`b${d % 3}`, TODAY - d, d);
      if (d % 2 === 0) await add('c-even', TODAY - d, 7);
    }
    await add('a-steady', TODAY, 3);
    await add('z-today', TODAY, 40);
    await add('y-ties-today', TODAY, 3); // ties a-steady's count today; a-steady ranks first by id
  });
  afterAll(async () => {
    await ts?.cleanup();
  });

  it('are exact for windows over closed days, recent days and both, and stay so when asked again', async () => {
    await expectExact();
    await expectExact();
  });

  it('count a late event (dated days before it arrived) into closed days at once', async () => {
    await expectExact();
    await add('late-actor', TODAY - 6, 60, TODAY);
    await add('b1', TODAY - 4, 9, TODAY);
    await expectExact();
  });

  it("count another process's late events at once (the counters are read from the store on every call)", async () => {
    await expectExact();
    // Another connection to the same database (on PostgreSQL a second pool, as a second Logbook process would have).
    const other =
      backend === 'postgres'
        ? new PostgresStore({ url: ts.databaseUrl! })
        : new SqliteStore({ file: path.join(ts.dir, 'logbook.db') });
    try {
      await add('elsewhere', TODAY - 7, 80, TODAY, other);
      await add('b2', TODAY - 3, 4, TODAY, other);
    } finally {
      await other.close();
    }
    await expectExact();
  });

  it('count today as it fills, events from yesterday arriving today, and events dated in the future', async () => {
    await expectExact();
    // Dated yesterday, received today: late, like any event from before the day it arrives.
    await add('c-even', TODAY - 1, 30, TODAY);
    await add('z-today', TODAY, 12);
    await add('future', TODAY + 1, 45, TODAY);
    await expectExact();
  });

  it('drop redacted events from closed days at once', async () => {
    await expectExact();
    const victims = written.filter(
      (w) => w.actor === 'late-actor' || (w.actor === 'a-steady' && w.day === TODAY - 8),
    );
    const [record] = await ts.store.appendEvents([
      {
        events: [
          prepareEvent(
            {
              tenant: TENANT,
              action: 'logbook.events.redact',
              actor: { id: 'admin' },
              occurredAt: new Date(NOW).toISOString(),
            },
            { receivedMs: NOW },
          ),
        ],
      },
    ]);
    if (!record?.ok) throw new Error('record refused');
    written.push({
      id: record.rows[0]!.id,
      actor: 'admin',
      day: TODAY,
      at: NOW,
      action: 'logbook.events.redact',
      targetType: null,
    });
    const gone = await ts.store.redactEvents({
      tenant: TENANT,
      ids: victims.map((v) => v.id),
      recordSeq: record.rows[0]!.seq,
      keepActions: ['logbook.events.redact'],
      limit: 1000,
    });
    expect(gone).toHaveLength(victims.length);
    for (const v of victims) redacted.add(v.id);
    await expectExact();
  });

  it('are exact in the minutes after midnight, when a straggling append could still land in yesterday', async () => {
    await expectExact(TODAY * DAY + 60_000);
    await expectExact(TODAY * DAY + 60_000);
  });

  it("rank today's actors exactly at the edge of the list, where only some of today's counts are read", async () => {
    // Closed sums 50, 40, 30, 25, 10, so the third place needs 30. Today, one at a time: the 25 reaches exactly 30
    // while it is the day's largest count (and wins the tie with the 30 by id), a new actor ties at 30 (and wins by
    // id), another falls one short, and the 10 climbs past them all.
    const tenant = 'edges';
    const closed: [string, number][] = [
      ['k1', 50],
      ['k2', 40],
      ['k3', 30],
      ['j4', 25],
      ['k5', 10],
    ];
    const today: [string, number][] = [
      ['j4', 5],
      ['a-new', 30],
      ['b-short', 29],
      ['k5', 21],
      ['k1', 1],
    ];
    const append = (actor: string, day: number, count: number) => appendDay(tenant, [[actor, count]], day);
    for (const [actor, count] of closed) await append(actor, TODAY - 2, count);
    const totals = new Map(closed);
    const ask = async () => {
      for (let top = 1; top <= 8; top++) {
        const request = lastThirtyDays(tenant, top);
        expect((await ts.store.eventStats(request)).topActors, `top ${top}`).toEqual(largest(totals, top));
      }
    };
    await ask(); // keeps the closed sums
    for (const [actor, count] of today) {
      await append(actor, TODAY, count);
      totals.set(actor, (totals.get(actor) ?? 0) + count);
      await ask();
    }
    expect((await ts.store.eventStats(statsRequest({ top: 3 }, tenant, NOW))).topActors).toEqual([
      { id: 'k1', count: 51 },
      { id: 'k2', count: 40 },
      { id: 'k5', count: 31 },
    ]);
  });

  it('rank exactly in a log younger than a day: its closed days are empty, so the store ranks today alone', async () => {
    const tenant = 'first-day';
    const counts: [string, number][] = [
      ['m', 4],
      ['c', 7],
      ['b', 4],
      ['x', 9],
      ['a', 4],
      ['q', 7],
    ];
    await appendDay(tenant, counts, TODAY);
    for (let top = 1; top <= counts.length + 1; top++) {
      const want = largest(new Map(counts), top);
      expect((await ts.store.eventStats(lastThirtyDays(tenant, top))).topActors, `top ${top}`).toEqual(want);
    }
  });

  it("rank exactly in a young log, where most known actors are near the list and today's leaders bound the rest", async () => {
    // Two closed days of 400 actors with sums 8-14 (many ties), today 0-8 each and a few far more, and new actors:
    // every known actor is within today's largest count of the closed floor. topActors reads today's 200 largest
    // counts and asks by id for the known actors they leave able to reach the list (closed-rollups.ts). Checked
    // against a count of what was written.
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const tenant = `young-${seed}`;
      const totals = new Map<string, number>();
      const events: PreparedEvent[] = [];
      const write = (actor: string, day: number, count: number) => {
        for (let i = 0; i < count; i++) {
          events.push(
            prepareEvent(
              {
                tenant,
                action: 'doc.read',
                actor: { id: actor },
                occurredAt: new Date(day * DAY + HOUR + events.length * 1000).toISOString(),
              },
              { receivedMs: day * DAY + 20 * HOUR },
            ),
          );
        }
        totals.set(actor, (totals.get(actor) ?? 0) + count);
      };
      for (let i = 0; i < 400; i++) {
        const actor = `y${String(i).padStart(3, '0')}`;
        const closed = 8 + Math.floor(random() * 7);
        write(actor, TODAY - 2, Math.floor(closed / 2));
        write(actor, TODAY - 1, closed - Math.floor(closed / 2));
      }
      for (let i = 0; i < 400; i++) {
        const actor = `y${String(i).padStart(3, '0')}`;
        write(actor, TODAY, random() < 0.03 ? 9 + Math.floor(random() * 8) : Math.floor(random() * 9));
      }
      for (let i = 0; i < 20; i++) write(`n${i}`, TODAY, Math.floor(random() * 24));
      for (let i = 0; i < events.length; i += 1000) {
        const [result] = await ts.store.appendEvents([{ events: events.slice(i, i + 1000) }]);
        if (!result?.ok) throw new Error('append refused');
      }
      for (const top of [1, 3, 10, 25, 60]) {
        const request = lastThirtyDays(tenant, top);
        const want = largest(totals, top);
        // Twice: the first call sums the closed days, the second uses the kept sums.
        expect((await ts.store.eventStats(request)).topActors, `seed ${seed}, top ${top}`).toEqual(want);
        expect((await ts.store.eventStats(request)).topActors, `seed ${seed}, top ${top}, kept`).toEqual(
          want,
        );
      }
    }
  });

  it("rank exactly past today's leaders: an actor idle today is listed whether asked for by id or all of today is read", async () => {
    // topActors reads today's 200 largest counts, which bound everyone else's, and asks by id for the known actors
    // that could still reach the list, or reads all of today when there are more than 2,000 of them. Here 200 new
    // actors with 8 events today bound the rest at 8, so every known actor could reach the list: 600 are asked for
    // by id, 2,300 make it read all of today. Either way the idle actor (12 closed, none today) must head the list,
    // and the crowd (closed 3-5, today 1-3) that ties the new actors at 8 must come before them by id.
    for (const [crowd, seed] of [
      [600, 7],
      [2_300, 8],
    ] as const) {
      const random = seededRandom(seed);
      const tenant = `crowd-${crowd}`;
      const closed: [string, number][] = [['idle', 12]];
      const today: [string, number][] = [];
      for (let i = 0; i < crowd; i++) {
        const actor = `c${String(i).padStart(4, '0')}`;
        closed.push([actor, 3 + Math.floor(random() * 3)]);
        today.push([actor, 1 + Math.floor(random() * 3)]);
      }
      for (let i = 0; i < 200; i++) today.push([`h${String(i).padStart(3, '0')}`, 8]);
      await appendDay(tenant, closed, TODAY - 1);
      await appendDay(tenant, today, TODAY);
      const totals = new Map(closed);
      for (const [actor, count] of today) totals.set(actor, (totals.get(actor) ?? 0) + count);
      for (const top of [1, 5, 40]) {
        const want = largest(totals, top);
        expect(want[0]).toEqual({ id: 'idle', count: 12 });
        const request = statsRequest(
          { from: new Date(NOW - DAY).toISOString(), to: new Date(NOW).toISOString(), top },
          tenant,
          NOW,
        );
        expect((await ts.store.eventStats(request)).topActors, `${crowd} actors, top ${top}`).toEqual(want);
      }
    }
  });

  it.runIf(backend === 'sqlite')(
    'on SQLite a closed-day sum is kept, and let go when the tenant’s late-append or redaction counter moves',
    async () => {
      const request = statsRequest(
        { from: new Date(NOW - 9 * DAY).toISOString(), to: new Date(NOW - 3 * DAY).toISOString(), top: 1 },
        TENANT,
        NOW,
      );
      const before = (await ts.store.eventStats(request)).topActors;
      // Behind the store's back (no counter moves): the kept sum still answers.
      const db = new Database(path.join(ts.dir, 'logbook.db'));
      db.prepare(
        "INSERT INTO actor_counts_day (tenant, day, actor_id, count) VALUES (?, ?, 'sneaky', 1000)",
      ).run(TENANT, TODAY - 5);
      expect((await ts.store.eventStats(request)).topActors).toEqual(before);
      // Either counter moving lets it go.
      db.prepare('UPDATE tenant_logs SET late_appends = late_appends + 1 WHERE tenant = ?').run(TENANT);
      expect((await ts.store.eventStats(request)).topActors).toEqual([{ id: 'sneaky', count: 1000 }]);
      db.prepare("UPDATE actor_counts_day SET count = 2000 WHERE actor_id = 'sneaky'").run();
      db.prepare('UPDATE tenant_logs SET redacted = redacted + 1 WHERE tenant = ?').run(TENANT);
      expect((await ts.store.eventStats(request)).topActors).toEqual([{ id: 'sneaky', count: 2000 }]);
      db.close();
    },
  );
});
