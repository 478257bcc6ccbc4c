// Cursor pagination under concurrent writes: ~2000 events are seeded, then every page of a walk (limit 37) is
// interleaved with appends that land before, inside and after the walked range (also in the same millisecond as
// existing events). Every event that existed before the walk must be served exactly once, and nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { type Appended, append, iso, list, post, type WireEvent, walk } from './support-events.ts';
import { seededRandom } from './support-random.ts';

const SEED_COUNT = 2000;
const PAGE = 37;
const ACTORS = ['alice', 'bob', 'carol', 'dave'];

interface Seeded {
  id: string;
  actor: string;
  searchable: boolean;
  occurredMs: number;
}

describe.each(BACKENDS)('pagination under concurrent writes on %s', (backend) => {
  let t: TestApp;
  const seeded: Seeded[] = [];
  // Seeds span [BASE, BASE + SEED_COUNT/3 seconds); three events share each millisecond.
  const BASE = Date.now() - 10 * 86_400_000;
  const seedTime = (i: number) => BASE + Math.floor(i / 3) * 1000;

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    const events = Array.from({ length: SEED_COUNT }, (_, i) => ({
      ...sampleEvent({
        occurredAt: iso(seedTime(i)),
        actor: { id: ACTORS[i % ACTORS.length]! },
        description: i % 5 === 0 ? `seed ${i} quokka` : `seed ${i}`,
      }),
    }));
    // Post in a shuffled order so that arrival order is not time order.
    const order = events.map((_, i) => i);
    const rand = seededRandom(42);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < order.length; start += 500) {
      const chunk = order.slice(start, start + 500);
      const answers = await append(t, { events: chunk.map((i) => events[i]) });
      answers.forEach((a, k) => {
        const i = chunk[k]!;
        seeded.push({
          id: a.id,
          actor: ACTORS[i % ACTORS.length]!,
          searchable: i % 5 === 0,
          occurredMs: seedTime(i),
        });
      });
    }
    const total = (await list(t, { includeTotal: true, limit: 1 })).total;
    expect(total).toBe(SEED_COUNT);
  }, 120_000);
  afterAll(async () => t.close());

  /**
   * Walks all pages while a writer appends: before a page is requested some appends are fired (not awaited), and after
   * each page more are fired; now and then the oldest pending write is awaited. Returns what the walk served and
   * what the writer wrote.
   */
  async function walkWhileWriting(query: Record<string, string | number>, seed: number) {
    const rand = seededRandom(seed);
    const pending: Promise<Appended[]>[] = [];
    const writes: Promise<Appended[]>[] = [];
    const lo = BASE;
    const hi = seedTime(SEED_COUNT - 1);
    let n = 0;
    const fire = () => {
      const k = 1 + Math.floor(rand() * 3);
      for (let j = 0; j < k; j++) {
        const r = rand();
        // Newer than everything, inside the walked range (often the very same millisecond as seeds), older than all.
        const at =
          r < 0.35
            ? Date.now()
            : r < 0.6
              ? seedTime(Math.floor(rand() * SEED_COUNT))
              : r < 0.85
                ? lo + Math.floor(rand() * (hi - lo))
                : lo - 1 - Math.floor(rand() * 86_400_000);
        const event = sampleEvent({
          occurredAt: iso(at),
          actor: { id: ACTORS[Math.floor(rand() * ACTORS.length)]! },
          description: `concurrent ${seed}-${n++} quokka`,
        });
        const batch = rand() < 0.3;
        const p = batch
          ? append(t, { events: [event, { ...event, description: `${event.description} twin` }] })
          : append(t, event);
        pending.push(p);
        writes.push(p);
      }
    };

    const seen: WireEvent[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      fire();
      const page = list(t, { ...query, limit: PAGE, ...(cursor ? { cursor } : {}) });
      fire();
      const body = await page;
      pages++;
      seen.push(...body.data);
      cursor = body.nextCursor;
      if (body.nextCursor !== null) expect(body.data).toHaveLength(PAGE);
      fire();
      if (rand() < 0.5 && pending.length > 0) await pending.shift();
      if (pages > 10_000) throw new Error('walk does not end');
    } while (cursor !== null);
    const written = (await Promise.all(writes)).flat();
    return { seen, written, pages };
  }

  function checkWalk(
    seen: WireEvent[],
    expected: Seeded[],
    order: 'asc' | 'desc',
    accept: (e: WireEvent) => boolean,
  ) {
    const ids = seen.map((e) => e.id);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const repeated = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
    expect(repeated, 'ids served more than once').toEqual([]);
    const missing = expected.filter((s) => !counts.has(s.id));
    expect(
      missing.map((m) => `${m.id}@${iso(m.occurredMs)}`),
      'events that existed before the walk and were skipped',
    ).toEqual([]);
    for (const e of seen) expect(accept(e), `served an event that does not match: ${e.id}`).toBe(true);
    // Served in time order across pages.
    const times = seen.map((e) => Date.parse(e.occurredAt));
    for (let i = 1; i < times.length; i++) {
      if (order === 'desc') expect(times[i]!).toBeLessThanOrEqual(times[i - 1]!);
      else expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    }
  }

  for (const order of ['desc', 'asc'] as const) {
    it(`walks every page (limit ${PAGE}, ${order}) while a writer appends: nothing skipped, nothing repeated`, async () => {
      const { seen, written, pages } = await walkWhileWriting({ order }, order === 'desc' ? 1 : 2);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(SEED_COUNT / PAGE));
      expect(written.length).toBeGreaterThan(100);
      checkWalk(seen, seeded, order, () => true);
      // Everything the writer was acknowledged for is stored and readable.
      const all = await walk(t, { limit: 1000, order });
      const stored = new Set(all.map((e) => e.id));
      for (const w of written) expect(stored.has(w.id)).toBe(true);
      expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
      // seqs stay gap-free under the concurrent writes.
      const seqs = all.map((e) => e.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: all.length }, (_, i) => i));
    }, 120_000);
  }

  for (const order of ['desc', 'asc'] as const) {
    it(`a filtered walk (actor=alice, ${order}) under concurrent writes serves each alice event once`, async () => {
      const { seen } = await walkWhileWriting({ order, actor: 'alice' }, order === 'desc' ? 3 : 4);
      const expected = seeded.filter((s) => s.actor === 'alice');
      expect(expected.length).toBe(SEED_COUNT / ACTORS.length);
      checkWalk(seen, expected, order, (e) => e.actor.id === 'alice');
    }, 120_000);
  }

  for (const order of ['desc', 'asc'] as const) {
    it(`a full-text walk (q=quokka, ${order}) under concurrent writes serves each match once`, async () => {
      const { seen } = await walkWhileWriting({ order, q: 'quokka' }, order === 'desc' ? 5 : 6);
      const expected = seeded.filter((s) => s.searchable);
      expect(expected.length).toBe(SEED_COUNT / 5);
      checkWalk(seen, expected, order, (e) => /quokka/.test(e.description ?? ''));
    }, 120_000);
  }

  it('a combined filter walk (actor + time range) under concurrent writes serves each match once', async () => {
    const from = seedTime(300);
    const to = seedTime(1500);
    const { seen } = await walkWhileWriting({ actor: 'bob', from: iso(from), to: iso(to) }, 7);
    const expected = seeded.filter((s) => s.actor === 'bob' && s.occurredMs >= from && s.occurredMs < to);
    expect(expected.length).toBeGreaterThan(200);
    checkWalk(seen, expected, 'desc', (e) => {
      const at = Date.parse(e.occurredAt);
      return e.actor.id === 'bob' && at >= from && at < to;
    });
  }, 120_000);

  it('concurrent writers never break an in-flight walk with errors', async () => {
    // Many writers at once while pages are read: every request succeeds.
    const writers = Array.from({ length: 50 }, (_, i) => post(t, sampleEvent({ description: `burst ${i}` })));
    const pages = Array.from({ length: 10 }, () => list(t, { limit: PAGE }));
    const [w, p] = await Promise.all([Promise.all(writers), Promise.all(pages)]);
    expect(w.map((r) => r.statusCode)).toEqual(w.map(() => 201));
    for (const body of p) expect(body.data).toHaveLength(PAGE);
  });
});
