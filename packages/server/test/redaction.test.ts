// Redaction on both backends: payloads go, leaf hashes stay, the deletion is an audit event in the same log, lists,
// search, counts and stats stop showing the event, proofs still verify, and `verify` passes — while a payload removed
// or a row marked redacted outside Logbook, a forged row below seq 0 or an orphan payload row is still reported.
import { verifyInclusion } from '@logbook/protocol';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_PRINCIPAL } from '../src/auth/principal.ts';
import { type VerifyReport, verifyStore } from '../src/services/verifier.ts';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { append, get, type Json, list } from './support-events.ts';

const HOUR = 3_600_000;

async function verify(t: TestApp): Promise<VerifyReport> {
  await t.services.integrity.checkpoint('default');
  return verifyStore(t.store, { verifierKeys: [t.services.integrity.publicKey().note], all: true });
}

/** Raw SQL on the test's own database, for tampering as an attacker with database access would. */
async function rawSql(t: TestApp, sql: string, params: unknown[] = []): Promise<void> {
  if (t.backend === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(`${t.dir}/logbook.db`);
    try {
      db.prepare(sql).run(...(params as never[]));
    } finally {
      db.close();
    }
    return;
  }
  const url = (t.store as unknown as { options: { url: string } }).options.url;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

describe.each(BACKENDS)('redaction on %s', (backend) => {
  let t: TestApp;
  const now = Date.now();
  const old = (i: number) => new Date(now - (100 - i) * HOUR).toISOString();

  beforeEach(async () => {
    t = await makeTestApp({ backend });
    await append(t, {
      events: Array.from({ length: 10 }, (_, i) =>
        sampleEvent({
          id: `ev-${i}`,
          occurredAt: old(i),
          action: i % 2 === 0 ? 'invoice.pay' : 'user.login',
          actor: { id: `actor-${i}` },
          description: `secret payload number ${i} zebra`,
        }),
      ),
    });
  });
  afterEach(async () => t.close());

  it('by id: the payload goes, the record stays in the log, the proof and verify still pass', async () => {
    const result = await t.services.events.redact(SYSTEM_PRINCIPAL, {
      ids: ['ev-3', 'ev-3', 'missing'],
      reason: 'erasure request #12',
    });
    expect(result).toMatchObject({ tenant: 'default', count: 1, ids: ['ev-3'], recordSeq: 10 });

    // Gone from every read path.
    expect((await get(t, '/api/v1/events/ev-3')).statusCode).toBe(404);
    const ids = (await list(t, {})).data.map((e) => e.id);
    expect(ids).not.toContain('ev-3');
    expect(ids).toHaveLength(10); // 9 left + the deletion record
    expect((await list(t, { q: 'zebra' })).data.map((e) => e.id)).not.toContain('ev-3');
    expect((await list(t, { q: 'zebra', includeTotal: true })).total).toBe(9);
    expect((await list(t, { actor: 'actor-3' })).data).toEqual([]);
    expect((await list(t, { includeTotal: true })).total).toBe(10);
    const stats = (await get(t, `/api/v1/events/stats?from=${old(0)}`)).json();
    expect(stats.total).toBe(10);
    expect(stats.byAction['user.login']).toBe(4);
    expect(stats.topActors.map((a: Json) => a.id)).not.toContain('actor-3');

    // The deletion is itself an audit event, naming who, what and why.
    const record = (await get(t, `/api/v1/events/${result.recordId}`)).json();
    expect(record).toMatchObject({
      action: 'logbook.events.redact',
      seq: 10,
      details: { reason: 'erasure request #12', ids: ['ev-3', 'missing'] },
    });

    // The id cannot be reused for other content, and a second redaction finds nothing to do.
    const reuse = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: sampleEvent({ id: 'ev-3' }),
    });
    expect(reuse.statusCode).toBe(409);
    expect((await t.services.events.redact(SYSTEM_PRINCIPAL, { ids: ['ev-3'], reason: 'again' })).count).toBe(
      0,
    );

    // The leaf stays: a proof for a neighbour (and the whole log) verifies.
    const proof = (await get(t, '/api/v1/integrity/proof/inclusion?seq=4')).json() as {
      leafIndex: number;
      treeSize: number;
      leafHash: string;
      rootHash: string;
      proof: string[];
    };
    const b64 = (s: string) => Buffer.from(s, 'base64');
    expect(() =>
      verifyInclusion(
        proof.leafIndex,
        proof.treeSize,
        b64(proof.leafHash),
        proof.proof.map(b64),
        b64(proof.rootHash),
      ),
    ).not.toThrow();
    const report = await verify(t);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, events: 12, redacted: { default: 1 } });
  });

  it('by cut-off: everything older goes, in chunks, and verify passes', async () => {
    const result = await t.services.events.redact(SYSTEM_PRINCIPAL, {
      beforeMs: Date.parse(old(6)),
      reason: 'retention 45 days',
    });
    expect(result.count).toBe(6);
    const left = await list(t, { includeTotal: true });
    expect(left.data.map((e) => e.id).filter((id) => id.startsWith('ev-'))).toEqual([
      'ev-9',
      'ev-8',
      'ev-7',
      'ev-6',
    ]);
    expect(left.total).toBe(5);
    const report = await verify(t);
    expect(report.findings).toEqual([]);
    expect(report.redacted).toEqual({ default: 6 });
  });

  it('rejects requests that name nothing, both, or no reason (4xx, nothing deleted)', async () => {
    await expect(t.services.events.redact(SYSTEM_PRINCIPAL, { reason: 'x' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(
      t.services.events.redact(SYSTEM_PRINCIPAL, { ids: ['ev-1'], beforeMs: now, reason: 'x' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      t.services.events.redact(SYSTEM_PRINCIPAL, { ids: ['ev-1'], reason: '  ' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await list(t, { includeTotal: true })).total).toBe(10);
  });

  it('a payload deleted outside Logbook, even marked as redacted, is reported', async () => {
    if (backend === 'sqlite') {
      await rawSql(t, "UPDATE events SET body = '', redacted_by = 9 WHERE id = 'ev-2'");
    } else {
      await rawSql(t, "DELETE FROM events WHERE seq = 2 AND tenant = 'default'");
      await rawSql(t, "UPDATE log_leaves SET redacted_by = 9 WHERE id = 'ev-2'");
    }
    const report = await verify(t);
    expect(report.ok).toBe(false);
    expect(report.findings[0]).toMatchObject({ seq: 2, kind: 'redaction-unrecorded' });
    expect(report.findings[0]!.message).toMatch(/not a deletion record/);
  });

  it('a redaction pointing at a real record that does not cover the event is reported', async () => {
    await t.services.events.redact(SYSTEM_PRINCIPAL, { ids: ['ev-1'], reason: 'erasure' });
    if (backend === 'sqlite') {
      await rawSql(t, "UPDATE events SET body = '', redacted_by = 10 WHERE id = 'ev-2'");
    } else {
      await rawSql(t, "DELETE FROM events WHERE seq = 2 AND tenant = 'default'");
      await rawSql(t, "UPDATE log_leaves SET redacted_by = 10 WHERE id = 'ev-2'");
    }
    const report = await verify(t);
    expect(report.findings.map((f) => `${f.kind}@${f.seq}`)).toContain('redaction-unrecorded@2');
    expect(report.findings.find((f) => f.seq === 2)!.message).toMatch(/does not cover event ev-2/);
  });

  it('a forged entry below seq 0 is reported', async () => {
    if (backend === 'sqlite') {
      await rawSql(
        t,
        `INSERT INTO events (order_key, tenant, seq, id, occurred_ms, received_ms, action, actor_id, outcome, body, leaf_hash)
         SELECT order_key + 1, tenant, -1, 'forged', occurred_ms, received_ms, action, actor_id, outcome, body, leaf_hash
           FROM events WHERE seq = 0`,
      );
    } else {
      await rawSql(
        t,
        `INSERT INTO log_leaves (tenant, seq, id, order_key, occurred_ms, received_ms, leaf_hash)
         SELECT tenant, -1, 'forged', order_key + 1, occurred_ms, received_ms, leaf_hash FROM log_leaves WHERE seq = 0`,
      );
    }
    const report = await verify(t);
    expect(report.findings.map((f) => f.kind)).toContain('seq-out-of-range');
  });

  it.runIf(backend === 'postgres')('a payload row without a log entry is reported', async () => {
    await rawSql(
      t,
      `INSERT INTO events (tenant, order_key, seq, occurred_ms, received_ms, action, actor_id, outcome, body, search)
       SELECT tenant, order_key + 1, seq + 1000, occurred_ms, received_ms, action, actor_id, outcome, body, search
         FROM events WHERE seq = 0`,
    );
    const report = await verify(t);
    expect(report.findings.map((f) => f.kind)).toContain('payload-mismatch');
  });
});

describe.each(BACKENDS)('POST /api/v1/events/redact on %s', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp({ backend });
    await append(t, { events: [sampleEvent({ id: 'a' }), sampleEvent({ id: 'b' })] });
  });
  afterEach(async () => t.close());

  it('deletes by id over HTTP, answers the count and the record, and verify passes', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events/redact',
      headers: t.auth,
      payload: { ids: ['a'], reason: 'GDPR erasure request 7' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ tenant: 'default', count: 1, ids: ['a'], recordSeq: 2 });
    expect((await get(t, '/api/v1/events/a')).statusCode).toBe(404);
    expect((await get(t, '/api/v1/events/b')).statusCode).toBe(200);
    expect((await verify(t)).ok).toBe(true);
  });

  it.each([
    [{ reason: 'x' }, /ids/],
    [{ ids: [], reason: 'x' }, /ids/],
    [{ ids: ['a'] }, /reason/],
    [{ before: 'yesterday', reason: 'x' }, /before/],
    [{ ids: ['a'], before: '2024-01-01T00:00:00Z', reason: 'x' }, /ids/],
    [{ ids: ['a'], reason: 'x', extra: 1 }, /extra/],
  ])('refuses %j with a 400 naming the field, deleting nothing', async (payload, names) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events/redact',
      headers: t.auth,
      payload,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.body).toMatch(names);
    expect((await list(t, { includeTotal: true })).total).toBe(2);
  });
});

describe.each(BACKENDS)('deletion records are kept on %s', (backend) => {
  it('a later cut-off or an id never deletes an earlier deletion record, and verify passes', async () => {
    const t = await makeTestApp({ backend });
    try {
      await append(t, { events: [sampleEvent({ id: 'x1' }), sampleEvent({ id: 'x2' })] });
      const first = await t.services.events.redact(SYSTEM_PRINCIPAL, { ids: ['x1'], reason: 'first' });
      const byId = await t.services.events.redact(SYSTEM_PRINCIPAL, {
        ids: [first.recordId],
        reason: 'hide it',
      });
      expect(byId.count).toBe(0);
      const all = await t.services.events.redact(SYSTEM_PRINCIPAL, {
        beforeMs: Date.now() + 60_000,
        reason: 'everything',
      });
      expect(all.count).toBe(1); // x2 only; both deletion records before it stay
      const left = (await list(t, {})).data.map((e) => e.action);
      expect(left).toEqual(['logbook.events.redact', 'logbook.events.redact', 'logbook.events.redact']);
      const report = await verify(t);
      expect(report.findings).toEqual([]);
      expect(report.redacted).toEqual({ default: 2 });
    } finally {
      await t.close();
    }
  });
});
