// Deterministic audit-event generator for benchmarks: the same seed gives the same events on every machine.
// Events are ~600 bytes of JSON with realistic cardinalities (10k actors, 40 actions, 100k targets).
import type { EventInput } from '@logbook/protocol';

/** mulberry32: tiny, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VERBS = ['create', 'update', 'delete', 'read', 'login', 'logout', 'export', 'approve'] as const;
const NOUNS = ['invoice', 'user', 'order', 'ticket', 'payment'] as const;
const WORDS = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
];

export function generateEvents(count: number, seed = 42, startMs = Date.UTC(2026, 0, 1)): EventInput[] {
  return [...generateEventBatches(count, count, seed, startMs)].flat();
}

/**
 * The same events as `generateEvents`, `batchSize` at a time: 10 million events do not fit in memory as one array
 * (~1 KB of objects each), and a suite that loads them needs only the batch in flight.
 */
export function* generateEventBatches(
  count: number,
  batchSize: number,
  seed = 42,
  startMs = Date.UTC(2026, 0, 1),
): Generator<EventInput[]> {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let events: EventInput[] = [];
  for (let i = 0; i < count; i++) {
    if (events.length === batchSize) {
      yield events;
      events = [];
    }
    const noun = pick(NOUNS);
    const actor = `user-${Math.floor(random() * 10_000)}`;
    const target = `${noun}-${Math.floor(random() * 100_000)}`;
    events.push({
      occurredAt: new Date(startMs + i * 250).toISOString(),
      action: `${noun}.${pick(VERBS)}`,
      actor: { id: actor, name: `User ${actor.slice(5)}`, type: 'user', email: `${actor}@example.com` },
      target: { type: noun, id: target, name: `${noun} ${target.slice(noun.length + 1)}` },
      outcome: random() < 0.97 ? 'success' : 'failure',
      description: `${actor} did ${pick(WORDS)} ${pick(WORDS)} on ${target}`,
      context: {
        ip: `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench/1.0',
        requestId: `req-${i}`,
      },
      details: {
        amount: Math.floor(random() * 100_000) / 100,
        currency: 'EUR',
        note: `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}`,
        rare: i % 100_000 === 7 ? 'zanzibar' : undefined,
      },
      changes: { before: { status: 'open' }, after: { status: pick(['paid', 'closed', 'void']) } },
    });
  }
  if (events.length > 0) yield events;
}
