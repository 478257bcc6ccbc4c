// The /api/v1/events surface through the real app over a real SQLite file: ingest (single, batch, idempotency),
// get by id, every list filter alone and combined, ordering, cursors, stats, auth, ops routes and OpenAPI.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import {
  type Appended,
  append,
  expectError,
  get,
  HEX64,
  ISO_UTC,
  iso,
  type Json,
  list,
  post,
  qs,
  type WireEvent,
  walk,
} from './support-events.ts';

/** Independent RFC 8785 for the plain data used here (strings, integers, objects, arrays): sorted keys, no spaces. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Json)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** RFC 9162 leaf hash of a stored event: SHA-256(0x00 ‖ canonical JSON of every field but seq and hash). */
function leafHashOf(event: WireEvent): string {
  const { seq: _seq, hash: _hash, ...body } = event;
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), Buffer.from(canonical(body), 'utf8')]))
    .digest('hex');
}

describe.each(BACKENDS)('POST /api/v1/events on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => t.close());

  it('records one event: 201, seq 0, hex-64 hash, default tenant, ISO times, stored exactly as sent', async () => {
    const before = Date.now();
    const res = await post(t, sampleEvent({ context: { ip: '192.0.2.7', userAgent: 'curl/8' } }));
    const after = Date.now();
    expect(res.statusCode).toBe(201);
    const body = res.json() as { events: Appended[] };
    expect(body.events).toHaveLength(1);
    const [written] = body.events;
    expect(written!.seq).toBe(0);
    expect(written!.tenant).toBe('default');
    expect(written!.hash).toMatch(HEX64);
    expect(written!.duplicate).toBe(false);
    // A server-chosen id is a UUIDv7 (time-ordered).
    expect(written!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const field of ['occurredAt', 'receivedAt'] as const) {
      expect(written![field]).toMatch(ISO_UTC);
      const ms = Date.parse(written![field]);
      expect(ms).toBeGreaterThanOrEqual(before);
      expect(ms).toBeLessThanOrEqual(after);
    }
    // occurredAt defaults to the time of receipt.
    expect(written!.occurredAt).toBe(written!.receivedAt);

    const stored = (await get(t, `/api/v1/events/${written!.id}`)).json() as WireEvent;
    expect(stored).toMatchObject({
      ...sampleEvent({ context: { ip: '192.0.2.7', userAgent: 'curl/8' } }),
      id: written!.id,
      tenant: 'default',
      seq: 0,
      hash: written!.hash,
      outcome: 'success',
      occurredAt: written!.occurredAt,
      receivedAt: written!.receivedAt,
    });
    // The hash is the RFC 9162 leaf hash of the stored event, recomputable by anyone.
    expect(leafHashOf(stored)).toBe(written!.hash);
  });

  it('answers a batch in input order, with consecutive seqs continuing the tenant log', async () => {
    const inputs = ['first', 'second', 'third', 'fourth'].map((word, i) =>
      sampleEvent({ action: `batch.${word}`, description: `event number ${i}`, actor: { id: `actor-${i}` } }),
    );
    const countBefore = (await list(t, { includeTotal: true, limit: 1 })).total!;
    const answers = await append(t, { events: inputs });
    expect(answers).toHaveLength(inputs.length);
    expect(answers.map((a) => a.seq)).toEqual(inputs.map((_, i) => countBefore + i));
    expect(new Set(answers.map((a) => a.id)).size).toBe(inputs.length);
    expect(new Set(answers.map((a) => a.hash)).size).toBe(inputs.length);
    for (const [i, answer] of answers.entries()) {
      expect(answer.hash).toMatch(HEX64);
      expect(answer.tenant).toBe('default');
      const stored = (await get(t, `/api/v1/events/${answer.id}`)).json() as WireEvent;
      // The i-th answer belongs to the i-th input.
      expect(stored.action).toBe(inputs[i]!.action);
      expect(stored.description).toBe(inputs[i]!.description);
      expect(stored.seq).toBe(answer.seq);
      expect(stored.hash).toBe(answer.hash);
      expect(leafHashOf(stored)).toBe(answer.hash);
    }
  });

  it('keeps seqs gap-free and unique per tenant under concurrent single and batch writes', async () => {
    const tenant = 'concurrent-seq';
    const requests: Promise<Appended[]>[] = [];
    let expected = 0;
    for (let i = 0; i < 40; i++) {
      if (i % 3 === 0) {
        const n = 1 + (i % 7);
        expected += n;
        requests.push(
          append(t, {
            events: Array.from({ length: n }, (_, j) => sampleEvent({ tenant, description: `r${i} e${j}` })),
          }),
        );
      } else {
        expected += 1;
        requests.push(append(t, sampleEvent({ tenant, description: `r${i}` })));
      }
    }
    const answers = await Promise.all(requests);
    for (const batch of answers) {
      // Within one request the seqs are consecutive, in input order.
      expect(batch.map((a) => a.seq)).toEqual(batch.map((_, j) => batch[0]!.seq + j));
      for (const a of batch) expect(a.tenant).toBe(tenant);
    }
    const seqs = answers.flat().map((a) => a.seq);
    expect(seqs).toHaveLength(expected);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: expected }, (_, i) => i));
    // Another tenant's log starts at 0 of its own.
    const [other] = await append(t, sampleEvent({ tenant: 'concurrent-seq-2' }));
    expect(other!.seq).toBe(0);
    expect(other!.tenant).toBe('concurrent-seq-2');
    const stored = await list(t, { tenant, includeTotal: true, limit: 1000 });
    expect(stored.total).toBe(expected);
    expect(stored.data.map((e) => e.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: expected }, (_, i) => i),
    );
  });

  it('normalises an explicit occurredAt with an offset to UTC and keeps receivedAt as server time', async () => {
    const before = Date.now();
    const [written] = await append(t, sampleEvent({ occurredAt: '2025-06-01T12:30:00+02:00' }));
    expect(written!.occurredAt).toBe('2025-06-01T10:30:00.000Z');
    expect(Date.parse(written!.receivedAt)).toBeGreaterThanOrEqual(before);
    const stored = (await get(t, `/api/v1/events/${written!.id}`)).json() as WireEvent;
    expect(stored.occurredAt).toBe('2025-06-01T10:30:00.000Z');
    expect(stored.receivedAt).toBe(written!.receivedAt);
  });
});

describe.each(BACKENDS)('idempotency with a client-supplied id on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => t.close());

  const count = async (tenant = 'default') => {
    // Count by walking (real rows), not only through the maintained total.
    const rows = await walk(t, { tenant, limit: 1000 });
    const total = (await list(t, { tenant, includeTotal: true, limit: 1, actor: undefined })).total!;
    expect(total).toBe(rows.length);
    return rows.length;
  };

  it('same id + same content: same id, seq, hash and times, duplicate: true, no second row', async () => {
    await append(t, sampleEvent({ description: 'filler so the id is not seq 0' }));
    const event = sampleEvent({ id: 'order-1001-paid', details: { amount: 42, currency: 'EUR' } });
    const first = await append(t, event);
    expect(first[0]!.duplicate).toBe(false);
    const rowsAfterFirst = await count();

    // Wait so that a second write would get a different receivedAt.
    await new Promise((r) => setTimeout(r, 5));
    const again = await append(t, event);
    expect(again).toHaveLength(1);
    expect(again[0]).toEqual({ ...first[0], duplicate: true });
    // Same content with keys in another order is the same content.
    const reordered = Object.fromEntries(Object.entries(event).reverse());
    const third = await append(t, reordered);
    expect(third[0]).toEqual({ ...first[0], duplicate: true });
    expect(await count()).toBe(rowsAfterFirst);

    const stored = (await get(t, '/api/v1/events/order-1001-paid')).json() as WireEvent;
    expect(stored.seq).toBe(first[0]!.seq);
    expect(stored.receivedAt).toBe(first[0]!.receivedAt);
    // The next new event continues the log without a gap left by the retries.
    const [next] = await append(t, sampleEvent());
    expect(next!.seq).toBe(first[0]!.seq + 1);
  });

  it('a retried batch returns the stored answers; a batch mixing stored and new ids writes only the new', async () => {
    const batch = {
      events: [sampleEvent({ id: 'b-1' }), sampleEvent({ id: 'b-2', action: 'invoice.refund' })],
    };
    const first = await append(t, batch);
    const rows = await count();
    const retry = await append(t, batch);
    expect(retry).toEqual(first.map((a) => ({ ...a, duplicate: true })));
    expect(await count()).toBe(rows);

    const mixed = await append(t, { events: [sampleEvent({ id: 'b-1' }), sampleEvent({ id: 'b-3' })] });
    expect(mixed[0]).toEqual({ ...first[0], duplicate: true });
    expect(mixed[1]!.duplicate).toBe(false);
    expect(mixed[1]!.seq).toBe(first[1]!.seq + 1);
    expect(await count()).toBe(rows + 1);
  });

  it('the same id twice in one batch with the same content is one row', async () => {
    const rows = await count();
    const answers = await append(t, { events: [sampleEvent({ id: 'twice' }), sampleEvent({ id: 'twice' })] });
    expect(answers[0]!.duplicate).toBe(false);
    expect(answers[1]).toEqual({ ...answers[0], duplicate: true });
    expect(await count()).toBe(rows + 1);
  });

  it('same id + different content: 409 IDEMPOTENCY_CONFLICT, the stored event is unchanged', async () => {
    const [original] = await append(t, sampleEvent({ id: 'conflict-me', description: 'original' }));
    const rows = await count();
    const res = await post(t, sampleEvent({ id: 'conflict-me', description: 'tampered' }));
    const error = expectError(res, 409, 'IDEMPOTENCY_CONFLICT');
    expect(error.message).toContain('conflict-me');
    expect(await count()).toBe(rows);
    const stored = (await get(t, '/api/v1/events/conflict-me')).json() as WireEvent;
    expect(stored.description).toBe('original');
    expect(stored.hash).toBe(original!.hash);
  });

  it('a conflict inside a batch names its index and writes nothing of that batch', async () => {
    await append(t, sampleEvent({ id: 'existing-7', description: 'first version' }));
    const rows = await count();
    const seqBefore = (await list(t, { limit: 1 })).data[0]!.seq;
    const res = await post(t, {
      events: [
        sampleEvent({ id: 'fresh-a' }),
        sampleEvent({ description: 'no client id' }),
        sampleEvent({ id: 'existing-7', description: 'second version' }),
        sampleEvent({ id: 'fresh-b' }),
      ],
    });
    const error = expectError(res, 409, 'IDEMPOTENCY_CONFLICT');
    expect(error.message).toMatch(/events\[2\]|events\/2/);
    expect(JSON.stringify(error.issues ?? [])).toContain('events/2');
    expect(await count()).toBe(rows);
    expectError(await get(t, '/api/v1/events/fresh-a'), 404, 'NOT_FOUND');
    expectError(await get(t, '/api/v1/events/fresh-b'), 404, 'NOT_FOUND');
    // No seq was consumed by the rejected batch.
    const [next] = await append(t, sampleEvent({ description: 'after the rejected batch' }));
    expect(next!.seq).toBe(seqBefore + 1);
  });

  it('the same id twice in one batch with different content is a 409 that writes nothing', async () => {
    const rows = await count();
    const res = await post(t, {
      events: [
        sampleEvent({ id: 'dup-in-batch', description: 'one' }),
        sampleEvent({ id: 'dup-in-batch', description: 'two' }),
      ],
    });
    const error = expectError(res, 409, 'IDEMPOTENCY_CONFLICT');
    expect(error.message).toMatch(/events\[1\]|events\/1/);
    expect(await count()).toBe(rows);
    expectError(await get(t, '/api/v1/events/dup-in-batch'), 404, 'NOT_FOUND');
  });

  it('a conflict in one concurrent request does not affect the others committed with it', async () => {
    await append(t, sampleEvent({ id: 'conc-existing', description: 'v1' }));
    const rows = await count();
    const results = await Promise.all([
      post(t, sampleEvent({ id: 'conc-new-1' })),
      post(t, sampleEvent({ id: 'conc-existing', description: 'v2' })),
      post(t, { events: [sampleEvent({ id: 'conc-new-2' }), sampleEvent({ id: 'conc-new-3' })] }),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual([201, 409, 201]);
    expect(await count()).toBe(rows + 3);
    const seqs = [...results[0]!.json().events, ...results[2]!.json().events].map((a: Appended) => a.seq);
    expect(seqs.sort((a, b) => a - b)).toEqual([rows, rows + 1, rows + 2]);
  });

  it('ids are per tenant: the same id in another tenant is a new event', async () => {
    const [a] = await append(t, sampleEvent({ id: 'shared-id' }));
    const [b] = await append(t, sampleEvent({ id: 'shared-id', tenant: 'tenant-b' }));
    expect(b!.duplicate).toBe(false);
    expect(b!.tenant).toBe('tenant-b');
    expect(b!.seq).toBe(0);
    expect(b!.hash).not.toBe(a!.hash);
    expect(((await get(t, '/api/v1/events/shared-id?tenant=tenant-b')).json() as WireEvent).tenant).toBe(
      'tenant-b',
    );
    expect(((await get(t, '/api/v1/events/shared-id')).json() as WireEvent).tenant).toBe('default');
  });
});

describe.each(BACKENDS)('GET /api/v1/events/{id} on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => t.close());

  it('returns the full event with wire field names', async () => {
    const input = {
      id: 'full-event-1',
      occurredAt: '2026-02-03T04:05:06.789Z',
      action: 'UPDATE',
      actor: { id: 'u-9', name: 'Nia', type: 'user', email: 'nia@example.com' },
      target: { type: 'accounts', id: 'acc-1', name: 'Main account' },
      changes: { before: { limit: 100 }, after: { limit: 500 } },
      outcome: 'failure',
      description: 'Raised the credit limit',
      context: { ip: '198.51.100.4', userAgent: 'Mozilla/5.0', requestId: 'req-1', sessionId: 'sess-1' },
      details: { reason: 'promotion', nested: { list: [1, 2, 3], flag: true, none: null } },
    };
    const [written] = await append(t, input);
    const res = await get(t, '/api/v1/events/full-event-1');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      ...input,
      tenant: 'default',
      seq: written!.seq,
      hash: written!.hash,
      receivedAt: written!.receivedAt,
    });
  });

  it('a listed event is exactly the event its id returns, whatever the content', async () => {
    // Lists splice the stored canonical body into the page (EventService.listJson); GET serialises the parsed event
    // by the response schema. Random content (escapes, U+2028, astral characters, numbers, nesting) must read the same.
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    const content = fc.record(
      {
        description: text,
        details: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        target: fc.record(
          { type: text.filter((v) => v.length > 0), id: text, name: text },
          { requiredKeys: ['type'] },
        ),
        changes: fc.record({
          before: fc.dictionary(text, fc.integer()),
          after: fc.dictionary(text, fc.double()),
        }),
      },
      { requiredKeys: [] },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(content, text, async (extra, actorName) => {
        const id = `listed-${n++}`;
        await append(t, { id, action: 'doc.read', actor: { id: 'u-1', name: actorName }, ...extra });
        const byId = await get(t, `/api/v1/events/${id}`);
        expect(byId.statusCode).toBe(200);
        const res = await get(t, `/api/v1/events${qs({ actor: 'u-1', limit: 1 })}`);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.json().data).toEqual([byId.json()]);
      }),
      { numRuns: 40, seed: 11 },
    );
  });

  it('an unknown id is 404 NOT_FOUND naming the id', async () => {
    const error = expectError(await get(t, '/api/v1/events/no-such-event'), 404, 'NOT_FOUND');
    expect(error.message).toContain('no-such-event');
    expectError(await get(t, '/api/v1/events/01900000-0000-7000-8000-000000000000'), 404, 'NOT_FOUND');
  });

  it('an event of another tenant is not found in the default tenant', async () => {
    const [written] = await append(t, sampleEvent({ tenant: 'elsewhere' }));
    expectError(await get(t, `/api/v1/events/${written!.id}`), 404, 'NOT_FOUND');
    expect((await get(t, `/api/v1/events/${written!.id}?tenant=elsewhere`)).statusCode).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Filters: a small dataset posted out of time order; every expectation is computed from it by an oracle.

interface Seed extends Json {
  key: string;
  occurredAt: string;
  action: string;
  actor: { id: string; name?: string; type?: string };
}

const SEEDS: Seed[] = [
  {
    key: 'a',
    occurredAt: '2026-01-10T08:00:00.000Z',
    action: 'user.login',
    actor: { id: 'alice' },
    target: { type: 'session', id: 's-1' },
    context: { ip: '10.0.0.1' },
    description: 'Alice signed in',
  },
  {
    key: 'e',
    occurredAt: '2026-01-12T00:00:00.000Z',
    action: 'invoice.refund',
    actor: { id: 'bob' },
    target: { type: 'invoice', id: 'inv-7' },
    description: 'The issuer declined; the card was refunded',
  },
  {
    key: 'b',
    occurredAt: '2026-01-10T09:30:00.000Z',
    action: 'user.logout',
    actor: { id: 'alice' },
    target: { type: 'session', id: 's-1' },
    context: { ip: '10.0.0.1' },
    description: 'Alice signed out',
  },
  {
    key: 'g',
    occurredAt: '2026-01-13T12:00:00Z',
    action: 'LOGIN',
    actor: { id: 'dave', name: 'Dave Payne' },
    outcome: 'failure',
    context: { ip: '10.0.0.1' },
    description: 'Wrong password',
  },
  {
    key: 'c',
    occurredAt: '2026-01-11T00:00:00.000Z',
    action: 'invoice.pay',
    actor: { id: 'bob' },
    target: { type: 'invoice', id: 'inv-7' },
    context: { ip: '10.0.0.2' },
    description: 'Bob paid invoice seven',
    details: { card: 'visa', note: 'zebrafish' },
  },
  {
    key: 'd',
    occurredAt: '2026-01-11T23:59:59.999Z',
    action: 'invoice.pay',
    actor: { id: 'carol' },
    target: { type: 'invoice', id: 'inv-8' },
    outcome: 'failure',
    context: { ip: '10.0.0.3' },
    description: 'Payment failed: card declined by issuer',
  },
  {
    key: 'f',
    occurredAt: '2026-01-12T10:00:00.000+02:00',
    action: 'INSERT',
    actor: { id: 'svc-sync', type: 'service' },
    target: { type: 'orders', id: '42' },
    changes: { after: { total: 10 } },
    description: 'row inserted',
  },
  {
    key: 'i',
    occurredAt: '2026-01-09T12:00:00Z',
    action: 'user.login',
    actor: { id: 'erin' },
    target: { type: 'session', id: 's-9' },
    context: { ip: '10.0.0.4' },
    description: 'Erin signed in from a new device',
    details: { device: { os: 'linux', browser: 'firefox' } },
  },
  {
    key: 'h',
    occurredAt: '2026-01-14T12:00:00Z',
    action: 'payroll.run',
    actor: { id: 'system', type: 'system' },
    target: { type: 'payroll', id: '2026-01', name: 'January payroll' },
    description: 'Monthly run',
  },
  {
    key: 'j',
    occurredAt: '2026-01-15T00:00:00Z',
    action: 'DELETE',
    actor: { id: 'alice' },
    target: { type: 'orders', id: '41' },
    changes: { before: { total: 3 } },
    outcome: 'success',
    description: 'Order removed',
  },
];

type Query = Record<string, string | number | boolean | undefined>;

/** What the list should return for the structured filters, newest first (or oldest first). */
function oracle(query: Query, order: 'asc' | 'desc' = 'desc'): string[] {
  const fromMs = query.from === undefined ? -Infinity : Date.parse(String(query.from));
  const toMs = query.to === undefined ? Infinity : Date.parse(String(query.to));
  const actions = query.action === undefined ? null : String(query.action).split(',');
  const matches = SEEDS.filter((s) => {
    const t = s.target as { type?: string; id?: string } | undefined;
    const ip = (s.context as { ip?: string } | undefined)?.ip;
    const at = Date.parse(s.occurredAt);
    if (query.actor !== undefined && s.actor.id !== query.actor) return false;
    if (
      actions &&
      !actions.some((a) => (a.endsWith('*') ? s.action.startsWith(a.slice(0, -1)) : s.action === a))
    )
      return false;
    if (query.targetType !== undefined && t?.type !== query.targetType) return false;
    if (query.targetId !== undefined && t?.id !== query.targetId) return false;
    if (query.outcome !== undefined && (s.outcome ?? 'success') !== query.outcome) return false;
    if (query.ip !== undefined && ip !== query.ip) return false;
    return at >= fromMs && at < toMs;
  });
  matches.sort((x, y) => Date.parse(x.occurredAt) - Date.parse(y.occurredAt));
  if (order === 'desc') matches.reverse();
  return matches.map((s) => s.key);
}

describe.each(BACKENDS)('GET /api/v1/events filters on %s', (backend) => {
  let t: TestApp;
  const keyOf = new Map<string, string>();
  const keys = (events: WireEvent[]) => events.map((e) => keyOf.get(e.id) ?? `?${e.id}`);

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    const answers = await append(t, { events: SEEDS.map(({ key: _key, ...event }) => event) });
    for (const [i, a] of answers.entries()) keyOf.set(a.id, SEEDS[i]!.key);
    // Noise in another tenant that matches many filters: it must never leak into the default tenant's results.
    await append(t, {
      events: [
        { ...SEEDS[0], key: undefined, tenant: 'noise' },
        { ...SEEDS[4], key: undefined, tenant: 'noise' },
      ].map(({ key: _k, ...e }) => e),
    });
  });
  afterAll(async () => t.close());

  it('without filters lists the tenant newest first by occurredAt (not by arrival)', async () => {
    const body = await list(t);
    expect(body.nextCursor).toBeNull();
    expect(body).not.toHaveProperty('total');
    expect(keys(body.data)).toEqual(oracle({}));
    for (const e of body.data) expect(e.tenant).toBe('default');
    // The dataset was posted out of time order, so this is not insertion order.
    expect(keys(body.data)).not.toEqual(SEEDS.map((s) => s.key).reverse());
  });

  it('order=asc and order=desc sort by occurredAt', async () => {
    const asc = await list(t, { order: 'asc' });
    const desc = await list(t, { order: 'desc' });
    expect(keys(asc.data)).toEqual(oracle({}, 'asc'));
    expect(keys(desc.data)).toEqual(oracle({}, 'desc'));
    const times = asc.data.map((e) => Date.parse(e.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  const single: [string, Query][] = [
    ['actor', { actor: 'alice' }],
    ['actor (no match)', { actor: 'nobody' }],
    ['action exact', { action: 'invoice.pay' }],
    ['action comma list', { action: 'user.login,LOGIN' }],
    ['action prefix*', { action: 'invoice.*' }],
    ['action list mixing prefix and exact', { action: 'user.*,DELETE' }],
    ['action is case-sensitive', { action: 'login' }],
    ['targetType', { targetType: 'invoice' }],
    ['targetId', { targetId: 'inv-7' }],
    ['outcome=failure', { outcome: 'failure' }],
    ['outcome=success (the default outcome)', { outcome: 'success' }],
    ['ip (context.ip)', { ip: '10.0.0.1' }],
    ['from, date-only, inclusive at midnight UTC', { from: '2026-01-11' }],
    ['to, date-only, exclusive', { to: '2026-01-12' }],
    ['from..to date-times', { from: '2026-01-11T00:00:00Z', to: '2026-01-12T00:00:00.000Z' }],
    ['from is inclusive to the millisecond', { from: '2026-01-11T23:59:59.999Z' }],
    ['to is exclusive to the millisecond', { to: '2026-01-11T23:59:59.999Z' }],
    ['from/to with offsets', { from: '2026-01-12T09:00:00+02:00', to: '2026-01-12T11:00:00+02:00' }],
  ];
  for (const [name, query] of single) {
    it(`filter: ${name}`, async () => {
      const expected = oracle(query);
      const body = await list(t, { ...query, includeTotal: true });
      expect(keys(body.data)).toEqual(expected);
      expect(body.total).toBe(expected.length);
    });
  }

  const combined: [string, Query][] = [
    ['actor + action prefix + ip', { actor: 'alice', action: 'user.*', ip: '10.0.0.1' }],
    ['actor + targetId + from', { actor: 'bob', targetId: 'inv-7', from: '2026-01-12' }],
    ['actor + outcome (empty)', { actor: 'alice', outcome: 'failure' }],
    ['targetType + targetId', { targetType: 'orders', targetId: '42' }],
    ['action list + outcome + to', { action: 'invoice.pay,LOGIN', outcome: 'failure', to: '2026-01-13' }],
    ['targetType + from + to', { targetType: 'session', from: '2026-01-10', to: '2026-01-10T09:00:00Z' }],
    ['ip + action', { ip: '10.0.0.1', action: 'LOGIN' }],
  ];
  for (const [name, query] of combined) {
    it(`filters combined: ${name}`, async () => {
      const expected = oracle(query);
      for (const order of ['asc', 'desc'] as const) {
        const body = await list(t, { ...query, order, includeTotal: true });
        expect(keys(body.data)).toEqual(oracle(query, order));
        expect(body.total).toBe(expected.length);
      }
    });
  }

  it('another tenant is listed only when asked for', async () => {
    const body = await list(t, { tenant: 'noise', actor: 'alice' });
    expect(body.data).toHaveLength(1);
    expect(body.data[0]!.tenant).toBe('noise');
    expect(keys((await list(t, { actor: 'alice' })).data)).toEqual(oracle({ actor: 'alice' }));
  });

  const search: [string, string, string[]][] = [
    ['a word only in details', 'zebrafish', ['c']],
    ['a word nested in details', 'firefox', ['i']],
    ['a word in actor id', 'carol', ['d']],
    ['a word in actor name', 'payne', ['g']],
    ['a word in target name', 'january', ['h']],
    ['a target id', 'inv-8', ['d']],
    ['a word of the action', 'refund', ['e']],
    ['case-insensitive words across fields', 'ALICE', ['a', 'b', 'j']],
    ['several words must all match', 'paid invoice', ['c']],
    ['a prefix pay*', 'pay*', ['c', 'd', 'g', 'h']],
    ['a quoted phrase (adjacent, in order)', '"card declined"', ['d']],
    ['the same words unquoted match both orders', 'card declined', ['d', 'e']],
    ['a word that is nowhere', 'xylophone', []],
  ];
  for (const [name, q, expectedKeys] of search) {
    it(`q: ${name} (${q})`, async () => {
      const expected = oracle({}).filter((k) => expectedKeys.includes(k));
      expect(expected).toHaveLength(expectedKeys.length);
      const body = await list(t, { q, includeTotal: true });
      expect(keys(body.data)).toEqual(expected);
      expect(body.total).toBe(expected.length);
      const asc = await list(t, { q, order: 'asc' });
      expect(keys(asc.data)).toEqual([...expected].reverse());
    });
  }

  it('q combines with the structured filters', async () => {
    const expected = oracle({ outcome: 'failure' }).filter((k) => ['c', 'd', 'g', 'h'].includes(k));
    expect(keys((await list(t, { q: 'pay*', outcome: 'failure' })).data)).toEqual(expected);
    const bob = oracle({ actor: 'bob', from: '2026-01-11T12:00:00Z' }).filter((k) => ['d', 'e'].includes(k));
    expect(keys((await list(t, { q: 'card', actor: 'bob', from: '2026-01-11T12:00:00Z' })).data)).toEqual(
      bob,
    );
  });

  it('a cursor walk with a filter and with q visits every match exactly once, in both orders', async () => {
    for (const query of [{ actor: 'alice' }, { q: 'pay*' }, { action: 'invoice.*,user.*' }, {}] as Query[]) {
      const expectedDesc = query.q
        ? oracle({}).filter((k) => ['c', 'd', 'g', 'h'].includes(k))
        : oracle(query);
      for (const order of ['desc', 'asc'] as const) {
        const seen = await walk(t, { ...query, order, limit: 2 });
        const expected = order === 'desc' ? expectedDesc : [...expectedDesc].reverse();
        expect(keys(seen)).toEqual(expected);
      }
    }
  });
});

describe.each(BACKENDS)('GET /api/v1/events paging on %s', (backend) => {
  let t: TestApp;
  const tenant = 'bulk';
  let written: Appended[] = [];
  beforeAll(async () => {
    t = await makeTestApp({ backend });
    // 60 events in three batches: many share one occurredAt millisecond, so ties must be ordered too.
    for (let b = 0; b < 3; b++) {
      written.push(
        ...(await append(t, {
          events: Array.from({ length: 20 }, (_, i) =>
            sampleEvent({ tenant, description: `bulk ${b}-${i}`, actor: { id: i % 2 ? 'odd' : 'even' } }),
          ),
        })),
      );
    }
    // And a few with explicit times, posted out of order, some far in the past.
    written.push(...(await append(t, sampleEvent({ tenant, occurredAt: '2024-05-05T05:05:05Z' }))));
    written.push(...(await append(t, sampleEvent({ tenant, occurredAt: '2030-01-01T00:00:00Z' }))));
    written.push(...(await append(t, sampleEvent({ tenant, occurredAt: '2020-02-29T12:00:00Z' }))));
    written = [...written];
  });
  afterAll(async () => t.close());

  it('limit defaults to 50 and nextCursor says there is more', async () => {
    const body = await list(t, { tenant });
    expect(body.data).toHaveLength(50);
    expect(typeof body.nextCursor).toBe('string');
  });

  it('limit=1000 returns everything with nextCursor null; limit=1 returns one', async () => {
    const all = await list(t, { tenant, limit: 1000 });
    expect(all.data).toHaveLength(written.length);
    expect(all.nextCursor).toBeNull();
    expect(new Set(all.data.map((e) => e.id))).toEqual(new Set(written.map((w) => w.id)));
    const one = await list(t, { tenant, limit: 1 });
    expect(one.data).toHaveLength(1);
    expect(one.data[0]!.occurredAt).toBe('2030-01-01T00:00:00.000Z');
  });

  it('limit out of bounds is 400 naming limit', async () => {
    for (const limit of ['0', '1001', '-1', 'ten', '2.5']) {
      const error = expectError(await get(t, `/api/v1/events?limit=${limit}`), 400, 'VALIDATION_FAILED');
      expect(error.message).toMatch(/limit/);
    }
  });

  it('includeTotal adds total (also with a filter); without it there is no total', async () => {
    const withTotal = await list(t, { tenant, limit: 5, includeTotal: true });
    expect(withTotal.total).toBe(written.length);
    expect(withTotal.data).toHaveLength(5);
    const filtered = await list(t, { tenant, limit: 5, includeTotal: true, actor: 'odd' });
    expect(filtered.total).toBe((await walk(t, { tenant, actor: 'odd', limit: 1000 })).length);
    expect(filtered.total).toBe(30);
    expect(await list(t, { tenant, limit: 5 })).not.toHaveProperty('total');
    expect(await list(t, { tenant, limit: 5, includeTotal: false })).not.toHaveProperty('total');
  });

  it('a cursor walk visits every event exactly once, in order, in both orders', async () => {
    const all = (await list(t, { tenant, limit: 1000 })).data;
    for (const order of ['desc', 'asc'] as const) {
      for (const limit of [1, 7, 50]) {
        const pages: number[] = [];
        const seen = await walk(t, { tenant, order, limit }, (page) => {
          pages.push(page.length);
        });
        const ids = seen.map((e) => e.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toEqual((order === 'desc' ? all : [...all].reverse()).map((e) => e.id));
        expect(pages.slice(0, -1).every((n) => n === limit)).toBe(true);
        const times = seen.map((e) => Date.parse(e.occurredAt));
        const sorted = [...times].sort((a, b) => (order === 'asc' ? a - b : b - a));
        expect(times).toEqual(sorted);
      }
    }
  });

  const forged = (text: string) => Buffer.from(text).toString('base64url');
  const badCursors: [string, string, string?][] = [
    ['not base64 text', 'garbage'],
    ['not base64 at all', 'not base64 !!'],
    ['too few parts', forged('c1:desc')],
    ['unknown version', forged('c9:desc:abc')],
    ['an order key beyond 64 bits', forged('c1:desc:zzzzzzzzzzzzzz')],
    ['a negative order key beyond 64 bits', forged('c1:asc:-zzzzzzzzzzzzzz'), 'asc'],
  ];
  for (const [name, cursor, order] of badCursors) {
    it(`an invalid cursor is 400 INVALID_CURSOR: ${name}`, async () => {
      const res = await get(t, `/api/v1/events${qs({ tenant, cursor, order })}`);
      const error = expectError(res, 400, 'INVALID_CURSOR');
      expect(error.message).toMatch(/cursor/);
    });
  }

  it('an over-long cursor is a 400 naming cursor', async () => {
    const error = expectError(await get(t, `/api/v1/events${qs({ tenant, cursor: 'x'.repeat(600) })}`), 400);
    expect(error.message).toMatch(/cursor/);
  });

  it('a cursor reused with the other order is 400 INVALID_CURSOR', async () => {
    const desc = await list(t, { tenant, limit: 5, order: 'desc' });
    const asc = await list(t, { tenant, limit: 5, order: 'asc' });
    const e1 = expectError(
      await get(t, `/api/v1/events${qs({ tenant, limit: 5, order: 'asc', cursor: desc.nextCursor! })}`),
      400,
      'INVALID_CURSOR',
    );
    expect(e1.message).toMatch(/order/);
    expectError(
      await get(t, `/api/v1/events${qs({ tenant, limit: 5, cursor: asc.nextCursor! })}`),
      400,
      'INVALID_CURSOR',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Stats: a fixed clock makes "now", last24h and the windows deterministic.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 2, 10, 12, 30, 0);

interface StatSeed {
  at: number;
  action: string;
  actor: string;
  targetType?: string;
}

const STAT_SEEDS: StatSeed[] = [
  { at: NOW - 10 * 60_000, action: 'user.login', actor: 'alice', targetType: 'session' },
  { at: NOW - 11 * 60_000, action: 'user.login', actor: 'bob', targetType: 'session' },
  { at: NOW - 12 * 60_000, action: 'invoice.pay', actor: 'alice', targetType: 'invoice' },
  { at: NOW - 2 * HOUR - 5 * 60_000, action: 'invoice.pay', actor: 'alice', targetType: 'invoice' },
  { at: NOW - 23 * HOUR - 59 * 60_000, action: 'user.login', actor: 'carol' },
  { at: NOW - 24 * HOUR - 60_000, action: 'user.login', actor: 'alice', targetType: 'session' },
  { at: NOW - 25 * HOUR, action: 'invoice.refund', actor: 'bob', targetType: 'invoice' },
  { at: NOW - 3 * DAY, action: 'invoice.pay', actor: 'dave', targetType: 'invoice' },
  { at: NOW - 10 * DAY, action: 'user.logout', actor: 'alice', targetType: 'session' },
  { at: NOW - 29 * DAY, action: 'user.logout', actor: 'erin' },
  { at: NOW - 40 * DAY, action: 'user.login', actor: 'zed', targetType: 'session' },
];

interface StatsBody {
  total: number;
  last24h: number;
  byAction: Record<string, number>;
  byTargetType: Record<string, number>;
  topActors: { id: string; count: number }[];
  histogram: { start: string; count: number }[];
  window: { from: string; to: string; bucket: string };
}

function statsOracle(fromMs: number, toMs: number) {
  const inWindow = STAT_SEEDS.filter((s) => s.at >= fromMs && s.at < toMs);
  const tally = (key: (s: StatSeed) => string | undefined) => {
    const out: Record<string, number> = {};
    for (const s of inWindow) {
      const k = key(s);
      if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };
  const actors = Object.entries(tally((s) => s.actor))
    .map(([id, count]) => ({ id, count }))
    .sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : 1));
  return {
    count: inWindow.length,
    byAction: tally((s) => s.action),
    byTargetType: tally((s) => s.targetType),
    topActors: actors,
    inWindow,
  };
}

function checkHistogram(body: StatsBody, bucketMs: number) {
  const starts = body.histogram.map((h) => Date.parse(h.start));
  for (const h of body.histogram) expect(h.start).toMatch(ISO_UTC);
  starts.forEach((s, i) => {
    expect(s % bucketMs).toBe(0);
    if (i > 0) expect(s - starts[i - 1]!).toBe(bucketMs);
  });
  const from = Date.parse(body.window.from);
  const to = Date.parse(body.window.to);
  // The buckets cover the window, no more.
  expect(starts[0]!).toBeLessThanOrEqual(from);
  expect(starts[0]! + bucketMs).toBeGreaterThan(from);
  expect(starts.at(-1)!).toBeLessThan(to);
  expect(starts.at(-1)! + bucketMs).toBeGreaterThanOrEqual(to);
  // Each bucket counts exactly the events of that bucket (within the window).
  for (const h of body.histogram) {
    const start = Date.parse(h.start);
    const expected = STAT_SEEDS.filter(
      (s) => s.at >= Math.max(start, from) && s.at < Math.min(start + bucketMs, to),
    ).length;
    expect(h.count, `bucket ${h.start}`).toBe(expected);
  }
}

describe.each(BACKENDS)('GET /api/v1/events/stats on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend, clock: () => NOW });
    // Posted newest-first in mixed batches, so rollups see out-of-order times.
    await append(t, {
      events: STAT_SEEDS.slice(0, 6).map((s) =>
        sampleEvent({
          occurredAt: iso(s.at),
          action: s.action,
          actor: { id: s.actor },
          target: s.targetType ? { type: s.targetType, id: 'x' } : undefined,
        }),
      ),
    });
    for (const s of STAT_SEEDS.slice(6).reverse()) {
      await append(
        t,
        sampleEvent({
          occurredAt: iso(s.at),
          action: s.action,
          actor: { id: s.actor },
          target: s.targetType ? { type: s.targetType, id: 'x' } : undefined,
        }),
      );
    }
    // Another tenant's events never count in the default tenant's stats.
    await append(t, sampleEvent({ tenant: 'other', occurredAt: iso(NOW - HOUR), actor: { id: 'alice' } }));
  });
  afterAll(async () => t.close());

  const stats = async (query: Query = {}): Promise<StatsBody> => {
    const res = await get(t, `/api/v1/events/stats${qs(query)}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it('total counts every event of the tenant; last24h excludes events older than 24 h', async () => {
    const body = await stats();
    expect(body.total).toBe(STAT_SEEDS.length);
    expect(body.last24h).toBe(STAT_SEEDS.filter((s) => s.at > NOW - DAY && s.at <= NOW).length);
    expect(body.last24h).toBe(5);
  });

  it('a day-aligned window: byAction, byTargetType, topActors (ordered) and day buckets match the events in it', async () => {
    const to = Math.floor(NOW / DAY) * DAY + DAY;
    const from = to - 31 * DAY;
    const body = await stats({ from: iso(from), to: iso(to), bucket: 'day' });
    const expected = statsOracle(from, to);
    expect(body.window).toEqual({ from: iso(from), to: iso(to), bucket: 'day' });
    expect(body.total).toBe(STAT_SEEDS.length);
    expect(body.byAction).toEqual(expected.byAction);
    expect(body.byTargetType).toEqual(expected.byTargetType);
    expect(body.topActors).toEqual(expected.topActors.slice(0, 10));
    expect(body.topActors[0]).toEqual({ id: 'alice', count: 5 });
    expect(body.histogram).toHaveLength(31);
    checkHistogram(body, DAY);
    expect(body.histogram.reduce((n, h) => n + h.count, 0)).toBe(expected.count);
    // The event 40 days ago is outside the window.
    expect(expected.inWindow.some((s) => s.actor === 'zed')).toBe(false);
    expect(body.topActors.map((a) => a.id)).not.toContain('zed');
  });

  it('top limits topActors, keeping the order', async () => {
    const to = Math.floor(NOW / DAY) * DAY + DAY;
    const from = to - 31 * DAY;
    const body = await stats({ from: iso(from), to: iso(to), top: 2 });
    expect(body.topActors).toEqual(statsOracle(from, to).topActors.slice(0, 2));
  });

  it('an hour-aligned window with hour buckets sums to the events in it', async () => {
    const to = Math.ceil(NOW / HOUR) * HOUR;
    const from = to - 3 * DAY;
    const body = await stats({ from: iso(from), to: iso(to), bucket: 'hour' });
    const expected = statsOracle(from, to);
    expect(body.histogram).toHaveLength(72);
    checkHistogram(body, HOUR);
    expect(body.histogram.reduce((n, h) => n + h.count, 0)).toBe(expected.count);
    expect(body.byAction).toEqual(expected.byAction);
    expect(body.byTargetType).toEqual(expected.byTargetType);
  });

  it('the default window ends now and is bucketed; its counts are the events inside the reported window', async () => {
    const body = await stats();
    const from = Date.parse(body.window.from);
    const to = Date.parse(body.window.to);
    // The window is the 30 days up to now; a server may widen it to whole hours (and must then report that).
    expect(to).toBeGreaterThanOrEqual(NOW);
    expect(to - NOW).toBeLessThan(HOUR);
    expect(from).toBeLessThanOrEqual(NOW - 30 * DAY);
    expect(NOW - 30 * DAY - from).toBeLessThan(HOUR);
    const bucketMs = body.window.bucket === 'hour' ? HOUR : DAY;
    checkHistogram(body, bucketMs);
    const expected = statsOracle(from, to);
    expect(body.histogram.reduce((n, h) => n + h.count, 0)).toBe(expected.count);
    expect(body.byAction).toEqual(expected.byAction);
  });

  it('an unaligned window does not count events just outside it in the edge buckets', async () => {
    // from = 10:25, to = 12:20: the event at 10:25 is in, the one at 12:20 (10 min before now) is out.
    const from = NOW - 2 * HOUR - 5 * 60_000;
    const to = NOW - 10 * 60_000;
    for (const bucket of ['hour', 'day'] as const) {
      const body = await stats({ from: iso(from), to: iso(to), bucket });
      const reportedFrom = Date.parse(body.window.from);
      const reportedTo = Date.parse(body.window.to);
      const expected = statsOracle(reportedFrom, reportedTo);
      checkHistogram(body, bucket === 'hour' ? HOUR : DAY);
      expect(
        body.histogram.reduce((n, h) => n + h.count, 0),
        bucket,
      ).toBe(expected.count);
      expect(body.byAction, bucket).toEqual(expected.byAction);
      expect(body.byTargetType, bucket).toEqual(expected.byTargetType);
    }
  });

  it('a tenant without events has zeros and an all-zero histogram', async () => {
    const body = await stats({ tenant: 'empty-tenant', bucket: 'day' });
    expect(body.total).toBe(0);
    expect(body.last24h).toBe(0);
    expect(body.byAction).toEqual({});
    expect(body.byTargetType).toEqual({});
    expect(body.topActors).toEqual([]);
    expect(body.histogram.length).toBeGreaterThanOrEqual(30);
    expect(body.histogram.every((h) => h.count === 0)).toBe(true);
  });

  it('stats are per tenant', async () => {
    const body = await stats({ tenant: 'other' });
    expect(body.total).toBe(1);
    expect(body.last24h).toBe(1);
    expect(body.topActors).toEqual([{ id: 'alice', count: 1 }]);
  });

  it('from >= to is 400; a bad bucket or date is 400', async () => {
    const at = iso(NOW - DAY);
    for (const query of [{ from: at, to: at }, { from: iso(NOW), to: at }, { from: iso(NOW + HOUR) }]) {
      const error = expectError(await get(t, `/api/v1/events/stats${qs(query)}`), 400, 'VALIDATION_FAILED');
      expect(error.message).toMatch(/from/);
    }
    expectError(await get(t, '/api/v1/events/stats?bucket=minute'), 400, 'VALIDATION_FAILED');
    const bad = expectError(await get(t, '/api/v1/events/stats?from=last-week'), 400, 'INVALID_DATE');
    expect(bad.message).toContain('2026-11-22');
  });

  it('new writes are reflected at once (rollups maintained on write)', async () => {
    const before = await stats();
    await append(
      t,
      sampleEvent({ occurredAt: iso(NOW - 30 * 60_000), action: 'fresh.action', actor: { id: 'newbie' } }),
    );
    const after = await stats();
    expect(after.total).toBe(before.total + 1);
    expect(after.last24h).toBe(before.last24h + 1);
    expect(after.byAction['fresh.action']).toBe(1);
    expect(after.topActors.some((a) => a.id === 'newbie' && a.count === 1)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe.each(BACKENDS)('authentication on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => t.close());

  const routes = [
    { method: 'GET' as const, url: '/api/v1/events' },
    { method: 'GET' as const, url: '/api/v1/events/some-id' },
    { method: 'GET' as const, url: '/api/v1/events/stats' },
    { method: 'POST' as const, url: '/api/v1/events', payload: sampleEvent() },
  ];

  it('no credential: 401 UNAUTHENTICATED saying how to authenticate, and nothing is written', async () => {
    for (const route of routes) {
      const res = await t.app.inject(route);
      const error = expectError(res, 401, 'UNAUTHENTICATED');
      expect(error.message).toContain('Authorization: Bearer');
      expect(error.message).toContain('X-API-Key');
    }
    expect((await list(t, { includeTotal: true })).total).toBe(0);
  });

  it('a wrong key is 401, as Bearer and as X-API-Key; an empty or non-Bearer Authorization is 401', async () => {
    const variants: Record<string, string>[] = [
      { authorization: 'Bearer lbk_not-a-real-key' },
      { authorization: `Bearer ${t.adminKey}x` },
      { authorization: `Bearer ${t.adminKey.slice(0, -1)}` },
      { 'x-api-key': 'lbk_not-a-real-key' },
      { authorization: `Basic ${Buffer.from(`admin:${t.adminKey}`).toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: '' },
    ];
    for (const headers of variants) {
      for (const route of routes) {
        const res = await t.app.inject({ ...route, headers });
        expectError(res, 401, 'UNAUTHENTICATED');
      }
    }
    expect((await list(t, { includeTotal: true })).total).toBe(0);
  });

  it('the key works as Authorization: Bearer and as X-API-Key', async () => {
    const viaHeader = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { 'x-api-key': t.adminKey },
      payload: sampleEvent({ description: 'via x-api-key' }),
    });
    expect(viaHeader.statusCode).toBe(201);
    const id = viaHeader.json().events[0].id as string;
    const read = await t.app.inject({
      method: 'GET',
      url: `/api/v1/events/${id}`,
      headers: { 'x-api-key': t.adminKey },
    });
    expect(read.statusCode).toBe(200);
    expect(read.json().description).toBe('via x-api-key');
    const bearer = await t.app.inject({
      method: 'GET',
      url: `/api/v1/events/${id}`,
      headers: { authorization: `bearer ${t.adminKey}` },
    });
    expect(bearer.statusCode).toBe(200);
  });

  it('the server log never contains the key', async () => {
    await t.app.inject({
      method: 'GET',
      url: '/api/v1/events',
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    await t.app.inject({ method: 'GET', url: '/api/v1/events', headers: { 'x-api-key': t.adminKey } });
    expect(t.logLines.length).toBeGreaterThan(0);
    expect(t.logLines.join('\n')).not.toContain(t.adminKey);
  });
});

describe.each(BACKENDS)('ops routes, request ids, OpenAPI on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => t.close());

  it('/health is public and returns exactly {"status":"ok"}', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe('{"status":"ok"}');
  });

  it('every response carries an x-request-id, and error bodies repeat it', async () => {
    const responses = await Promise.all([
      t.app.inject({ method: 'GET', url: '/health' }),
      t.app.inject({ method: 'GET', url: '/openapi.json' }),
      t.app.inject({ method: 'GET', url: '/api/v1/events' }),
      t.app.inject({ method: 'GET', url: '/no/such/route' }),
      t.app.inject({ method: 'DELETE', url: '/api/v1/events', headers: t.auth }),
      get(t, '/api/v1/events'),
      get(t, '/api/v1/events/unknown'),
      get(t, '/api/v1/events?limit=0'),
      post(t, sampleEvent()),
      post(t, { nope: true }),
    ]);
    const ids = responses.map((r) => r.headers['x-request-id']);
    for (const [i, id] of ids.entries()) {
      expect(typeof id, `response ${i}`).toBe('string');
      expect((id as string).length).toBeGreaterThan(0);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const res of responses.filter((r) => r.statusCode >= 400)) {
      expect(res.json().error.requestId).toBe(res.headers['x-request-id']);
    }
  });

  it('an incoming X-Request-Id is reused; a malformed one is replaced', async () => {
    const res = await get(t, '/api/v1/events/unknown', { 'x-request-id': 'trace-abc.123' });
    expect(res.headers['x-request-id']).toBe('trace-abc.123');
    expect(res.json().error.requestId).toBe('trace-abc.123');
    const bad = await get(t, '/api/v1/events/unknown', { 'x-request-id': 'bad id\twith "quotes"' });
    expect(bad.headers['x-request-id']).not.toContain(' ');
    expect(bad.headers['x-request-id']).toBe(bad.json().error.requestId);
  });

  it('an unknown route is a 404 in the catalog shape', async () => {
    const error = expectError(await get(t, '/api/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND');
    expect(error.message).toContain('/api/v1/nothing-here');
  });

  it('/openapi.json is valid JSON describing the events paths', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/api/v1/events', '/api/v1/events/{id}', '/api/v1/events/stats']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(Object.keys(doc.paths['/api/v1/events']!)).toEqual(expect.arrayContaining(['get', 'post']));
    // The query parameters are documented from the same schema that validates them.
    const params = (doc.paths['/api/v1/events']!.get as { parameters: { name: string }[] }).parameters.map(
      (p) => p.name,
    );
    expect(params).toEqual(
      expect.arrayContaining(['actor', 'action', 'q', 'limit', 'cursor', 'order', 'from', 'to']),
    );
  });

  it('/docs answers 200 (or redirects to a page that does)', async () => {
    let res = await t.app.inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; hops < 3 && res.statusCode >= 300 && res.statusCode < 400; hops++) {
      const location = new URL(String(res.headers.location), 'http://localhost/docs').pathname;
      res = await t.app.inject({ method: 'GET', url: location });
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

describe.each(BACKENDS)('unexpected failures on %s', (backend) => {
  it('a 500 carries a request id, the catalog message and no internals; the log has the detail', async () => {
    const t = await makeTestApp({ backend });
    try {
      // Provoke a failure the app cannot anticipate: the database goes away under it.
      await t.store.close();
      const res = await get(t, '/api/v1/events', { 'x-request-id': 'boom-1' });
      const error = expectError(res, 500, 'INTERNAL');
      expect(error.requestId).toBe('boom-1');
      expect(Object.keys(error).sort()).toEqual(['code', 'message', 'requestId', 'status']);
      expect(res.body).not.toMatch(
        /sqlite|database|connection|TypeError|Error:|\bat \w|\.ts\b|\/work\/|node_modules/i,
      );
      const logged = t.logLines
        .map((l) => JSON.parse(l) as Json)
        .find((l) => l.reqId === 'boom-1' && l.level === 50);
      expect(logged, 'the error is logged with its request id').toBeDefined();
      // Readiness reports the broken database.
      expectError(await t.app.inject({ method: 'GET', url: '/ready' }), 503, 'SERVICE_UNAVAILABLE');
    } finally {
      await t.close();
    }
  });
});
