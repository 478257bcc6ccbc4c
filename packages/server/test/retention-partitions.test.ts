// Retention on both backends with an injectable clock and 100 days of events in three tenants: on PostgreSQL the
// months every tenant's policy expires are dropped whole (a fresh partition replaces each, checked in the catalog),
// a month shared with a keep-forever tenant and the partly expired month are redacted row by row, and `verify`
// passes and lists the pruned ranges; on SQLite the same run redacts rows. Archives verify offline; a late event in
// a dropped month stays live and is pruned by a later run; tampering with the pruned-range records is detected.
// With appends racing a run, nothing is lost, and a drop whose survey went stale (a late event) refuses.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArchive } from '../src/services/archive.ts';
import { verifyStore } from '../src/services/verifier.ts';
import { ensureEventPartitions, listEventPartitions } from '../src/store/postgres/partitions.ts';
import type { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { dropPartition, surveyPartition } from '../src/store/postgres/pruning.ts';
import { makeTestApp, sampleEvent, type TestApp, tempDir } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-15T12:00:00.000Z');
/** One event every 12 hours over the 100 days before NOW, per tenant (2026-03-07 … 2026-06-15). */
const ages = Array.from({ length: 200 }, (_, i) => (i + 1) * (DAY / 2));
/** default keeps 45 days, acme 30, vault forever (and has events in March only). */
const POLICIES = { default: 45, acme: 30, vault: 0 } as const;

describe.each(BACKENDS)('retention by partition on %s', (backend) => {
  let t: TestApp;
  let clock = NOW;
  let key: string;
  let archiveDir: string;
  let firstRun: { deleted: number; archived: number; purged: Record<string, unknown>[] };
  const pool = () => (t.store as PostgresStore).pool;
  const relation = async (name: string) =>
    (await pool().query<{ oid: number }>('SELECT oid FROM pg_class WHERE relname = $1', [name])).rows[0]?.oid;
  const attached = async () =>
    (
      await pool().query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'events'::regclass ORDER BY 1`,
      )
    ).rows.map((r) => r.name);
  const rowsIn = async (partition: string) =>
    Number((await pool().query(`SELECT count(*) AS n FROM ${partition}`)).rows[0].n);
  const run = async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/retention/run',
      headers: t.auth,
      payload: {},
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const verify = async () => {
    for (const tenant of Object.keys(POLICIES)) await t.services.integrity.checkpoint(tenant);
    return verifyStore(t.store, { verifierKeys: [key], all: true });
  };
  const oids = new Map<string, number | undefined>();

  beforeAll(async () => {
    const dir = tempDir();
    archiveDir = path.join(dir, 'archive');
    t = await makeTestApp({ backend, dir, clock: () => clock, archiveDir });
    key = t.services.integrity.publicKey().note;
    if (backend === 'postgres') {
      // The months of the data set (the store prepares the months around the real date only).
      await ensureEventPartitions(pool(), Date.UTC(2026, 3, 1));
      await ensureEventPartitions(pool(), Date.UTC(2026, 7, 1));
      for (const month of ['03', '04', '05', '06']) oids.set(month, await relation(`events_p2026_${month}`));
    }
    for (const tenant of Object.keys(POLICIES)) {
      const mine = tenant === 'vault' ? ages.filter((a) => new Date(NOW - a).getUTCMonth() === 2) : ages;
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: t.auth,
        payload: {
          events: mine.map((age, i) =>
            sampleEvent({ tenant, id: `${tenant}-${i}`, occurredAt: new Date(NOW - age).toISOString() }),
          ),
        },
      });
      expect(res.statusCode).toBe(201);
      // vault's policy change (an audit event in vault's log) is dated in March, the month vault keeps anyway.
      clock = tenant === 'vault' ? Date.UTC(2026, 2, 20) : NOW;
      const put = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/retention',
        headers: t.auth,
        payload: { tenant, stream: 'events', days: POLICIES[tenant as keyof typeof POLICIES] },
      });
      expect(put.statusCode).toBe(200);
    }
    clock = NOW;
    firstRun = await run();
  });

  afterAll(async () => {
    await t?.close();
  });

  const expired = (tenant: 'default' | 'acme') =>
    ages.filter((a) => NOW - a < NOW - POLICIES[tenant] * DAY).length;

  it('deletes exactly what the policies expire, archived first', async () => {
    const expected = expired('default') + expired('acme');
    expect(firstRun).toMatchObject({ deleted: expected, archived: expected });
    for (const tenant of ['default', 'acme'] as const) {
      const youngest = ages.findIndex((a) => NOW - a < NOW - POLICIES[tenant] * DAY);
      const gone = await t.app.inject({
        url: `/api/v1/events/${tenant}-${youngest}?tenant=${tenant}`,
        headers: t.auth,
      });
      expect(gone.statusCode).toBe(404);
      const kept = await t.app.inject({
        url: `/api/v1/events/${tenant}-${youngest - 1}?tenant=${tenant}`,
        headers: t.auth,
      });
      expect(kept.statusCode).toBe(200);
    }
    const vault = await t.app.inject({ url: '/api/v1/events?tenant=vault&limit=1000', headers: t.auth });
    expect(vault.json().data.length).toBeGreaterThan(40);
    // Counts and stats no longer include what went (rollups of dropped months are gone too).
    const stats = await t.app.inject({
      url: '/api/v1/events/stats?tenant=acme&from=2026-01-01T00:00:00Z&to=2026-07-01T00:00:00Z',
      headers: t.auth,
    });
    const live = 200 - expired('acme');
    expect(stats.json().byAction['invoice.pay']).toBe(live);
    const list = await t.app.inject({
      url: '/api/v1/events?tenant=acme&action=invoice.pay&limit=1000',
      headers: t.auth,
    });
    expect(list.json().data).toHaveLength(live);
  });

  it.runIf(backend === 'postgres')(
    'drops April whole (a fresh partition in the catalog), keeps March (vault keeps it forever) and May (partly expired)',
    async () => {
      const purged = firstRun.purged.filter((p) => p.stream === 'events');
      for (const tenant of ['default', 'acme']) {
        const mine = purged.find((p) => p.tenant === tenant) as {
          pruned?: { partition: string; count: number }[];
        };
        expect(mine.pruned?.map((p) => p.partition)).toEqual(['events_p2026_04']);
        expect(mine.pruned![0]!.count).toBe(60);
      }
      expect(await attached()).toEqual(
        expect.arrayContaining(['events_p2026_03', 'events_p2026_04', 'events_p2026_05']),
      );
      expect(await relation('events_p2026_04')).not.toBe(oids.get('04'));
      expect(await rowsIn('events_p2026_04')).toBe(0);
      expect(await relation('events_p2026_03')).toBe(oids.get('03'));
      expect(await relation('events_p2026_05')).toBe(oids.get('05'));
      expect(await relation('events_p2026_04_pruned')).toBeUndefined();
      // March: vault's rows stay, default's and acme's were redacted one by one.
      const march = await pool().query<{ tenant: string; n: string }>(
        'SELECT tenant, count(*) AS n FROM events_p2026_03 GROUP BY tenant ORDER BY tenant',
      );
      expect(march.rows.map((r) => r.tenant)).toEqual(['vault']);
      const ranges = await pool().query('SELECT tenant, partition, count FROM pruned_ranges ORDER BY tenant');
      expect(ranges.rows).toEqual([
        { tenant: 'acme', partition: 'events_p2026_04', count: '60' },
        { tenant: 'default', partition: 'events_p2026_04', count: '60' },
      ]);
    },
  );

  it('verify passes and reports the pruned ranges; the archive verifies offline', async () => {
    const report = await verify();
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    if (backend === 'postgres') {
      expect(report.pruned).toEqual({
        acme: [
          expect.objectContaining({
            partition: 'events_p2026_04',
            count: 60,
            from: '2026-04-01T00:00:00.000Z',
          }),
        ],
        default: [
          expect.objectContaining({
            partition: 'events_p2026_04',
            count: 60,
            to: '2026-05-01T00:00:00.000Z',
          }),
        ],
      });
      expect(report.redacted).toEqual({ acme: expired('acme') - 60, default: expired('default') - 60 });
    } else {
      expect(report.pruned).toBeUndefined();
      expect(report.redacted).toEqual({ acme: expired('acme'), default: expired('default') });
    }
    const archive = await verifyArchive(archiveDir, key);
    expect(archive).toMatchObject({ ok: true, entries: expired('acme') + expired('default') });
  });

  it('a late event in a dropped month stays live, and a later run prunes that month again', async () => {
    const late = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: sampleEvent({ tenant: 'acme', id: 'acme-late', occurredAt: '2026-04-20T08:00:00Z' }),
    });
    expect(late.statusCode).toBe(201);
    expect(
      (await t.app.inject({ url: '/api/v1/events/acme-late?tenant=acme', headers: t.auth })).statusCode,
    ).toBe(200);
    if (backend === 'postgres') expect(await rowsIn('events_p2026_04')).toBe(1);
    expect((await verify()).findings).toEqual([]);
    clock = NOW + DAY;
    const second = await run();
    expect(second.deleted).toBeGreaterThanOrEqual(1);
    expect(
      (await t.app.inject({ url: '/api/v1/events/acme-late?tenant=acme', headers: t.auth })).statusCode,
    ).toBe(404);
    const report = await verify();
    expect(report.findings).toEqual([]);
    if (backend === 'postgres') {
      expect(report.pruned!.acme!.map((r) => [r.partition, r.count])).toEqual([
        ['events_p2026_04', 60],
        ['events_p2026_04', 1],
      ]);
    }
  });

  it('months later, a month holding deletion records is dropped with those records kept', async () => {
    // 62 days on, June is past every finite policy; the deletion records written on June 15 must survive.
    clock = NOW + 62 * DAY;
    const res = await run();
    expect(res.deleted).toBeGreaterThan(0);
    const records = await t.app.inject({
      url: '/api/v1/events?tenant=default&action=logbook.events.redact&limit=100',
      headers: t.auth,
    });
    expect(records.json().data.length).toBeGreaterThanOrEqual(2);
    if (backend === 'postgres') {
      const june = await pool().query<{ action: string }>('SELECT DISTINCT action FROM events_p2026_06');
      expect(june.rows.map((r) => r.action)).toEqual(['logbook.events.redact']);
      expect(await relation('events_p2026_06')).not.toBe(oids.get('06'));
    }
    const report = await verify();
    expect(report.findings).toEqual([]);
    expect((await verifyArchive(archiveDir, key)).ok).toBe(true);
  });

  it.runIf(backend === 'postgres')('tampering with a pruned-range record is detected', async () => {
    const tamper = async (sql: string, undo: string) => {
      await pool().query(sql);
      try {
        return (await verify()).findings;
      } finally {
        await pool().query(undo);
      }
    };
    const where = "tenant = 'default' AND partition = 'events_p2026_04'";
    // The stated count: it disagrees with the entries found in the range, and with the payloads stored.
    const recount = await tamper(
      `UPDATE pruned_ranges SET count = count + 1 WHERE ${where}`,
      `UPDATE pruned_ranges SET count = count - 1 WHERE ${where}`,
    );
    expect(recount).toEqual(
      expect.arrayContaining([expect.objectContaining({ tenant: 'default', kind: 'prune-count-mismatch' })]),
    );
    expect(recount.every((f) => f.tenant === 'default')).toBe(true);
    // Widened beyond what its deletion record covered.
    const widened = await tamper(
      `UPDATE pruned_ranges SET below_seq = below_seq + 100000 WHERE ${where}`,
      `UPDATE pruned_ranges SET below_seq = below_seq - 100000 WHERE ${where}`,
    );
    expect(widened[0]).toMatchObject({ tenant: 'default', kind: 'prune-unrecorded' });
    expect(widened[0]!.message).toMatch(/beyond what the deletion record/);
    // Pointed at an entry that is not a deletion record.
    const repointed = await tamper(
      `UPDATE pruned_ranges SET record_seq = record_seq + 1000000 WHERE ${where}`,
      `UPDATE pruned_ranges SET record_seq = record_seq - 1000000 WHERE ${where}`,
    );
    expect(repointed[0]).toMatchObject({ kind: 'prune-unrecorded' });
    // Deleted: the month's entries have neither payload nor record.
    const saved = await pool().query(`SELECT * FROM pruned_ranges WHERE ${where}`);
    await pool().query(`DELETE FROM pruned_ranges WHERE ${where}`);
    try {
      const findings = (await verify()).findings;
      expect(findings[0]).toMatchObject({ tenant: 'default', kind: 'seq-gap' });
    } finally {
      const r = saved.rows[0];
      await pool().query(
        `INSERT INTO pruned_ranges (tenant, from_key, to_key, below_seq, record_seq, count, partition, pruned_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [r.tenant, r.from_key, r.to_key, r.below_seq, r.record_seq, r.count, r.partition, r.pruned_ms],
      );
    }
    // Invented: vault's March payloads deleted outside Logbook, and a range written to pass it off as retention
    // (pointing at a real deletion record of another tenant's log): caught.
    const other = await pool().query(`SELECT record_seq FROM pruned_ranges WHERE ${where}`);
    await pool().query("DELETE FROM events WHERE tenant = 'vault'");
    await pool().query(
      `INSERT INTO pruned_ranges (tenant, from_key, to_key, below_seq, record_seq, count, partition, pruned_ms)
       SELECT 'vault', from_key, to_key, 1000, $1, 0, 'events_p2026_03', 0 FROM pruned_ranges WHERE ${where}`,
      [other.rows[0].record_seq],
    );
    await pool().query(
      "UPDATE pruned_ranges SET from_key = from_key - (31::int8 * 86400000 << 20), to_key = from_key WHERE tenant = 'vault'",
    );
    const forged = (await verify()).findings;
    expect(forged.map((f) => f.kind)).toEqual(expect.arrayContaining(['prune-unrecorded']));
    expect(forged.every((f) => f.tenant === 'vault')).toBe(true);
  });
});

describe.runIf(BACKENDS.includes('postgres'))(
  'retention by partition with appends racing it (postgres)',
  () => {
    let t: TestApp;
    const NOW2 = Date.parse('2026-03-20T00:00:00.000Z');
    afterAll(async () => {
      await t?.close();
    });

    it('late events landing in the month while it is surveyed and dropped stay live or are archived; verify passes', async () => {
      const dir = tempDir();
      const archiveDir = path.join(dir, 'archive');
      t = await makeTestApp({ backend: 'postgres', dir, clock: () => NOW2, archiveDir });
      const pool = (t.store as PostgresStore).pool;
      await ensureEventPartitions(pool, Date.UTC(2026, 1, 1));
      const post = (events: Record<string, unknown>[]) =>
        t.app.inject({ method: 'POST', url: '/api/v1/events', headers: t.auth, payload: { events } });
      const january = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
      expect(
        (await post(Array.from({ length: 2000 }, (_, i) => sampleEvent({ occurredAt: january(i) }))))
          .statusCode,
      ).toBe(201);
      await t.app.inject({
        method: 'PUT',
        url: '/api/v1/retention',
        headers: t.auth,
        payload: { stream: 'events', days: 30 },
      });
      // Appends of late January events for as long as the run lasts (each its own request, so some land mid-run).
      const late: string[] = [];
      let running = true;
      const appender = (async () => {
        for (let i = 0; running || i < 3; i++) {
          const id = `late-${i}`;
          const res = await post([sampleEvent({ id, occurredAt: january(3000 + i) })]);
          expect(res.statusCode).toBe(201);
          late.push(id);
        }
      })();
      const result = await t.services.retention.run();
      running = false;
      await appender;
      expect(result.deleted).toBeGreaterThanOrEqual(2000);
      const archived = new Set<string>();
      const report = await verifyArchive(archiveDir, t.services.integrity.publicKey().note);
      expect(report.ok).toBe(true);
      for (const manifest of fs.readdirSync(path.join(archiveDir, 'default', 'events'))) {
        if (!manifest.endsWith('.ndjson.gz')) continue;
        const text = zlib
          .gunzipSync(fs.readFileSync(path.join(archiveDir, 'default', 'events', manifest)))
          .toString();
        for (const line of text.split('\n').filter(Boolean))
          archived.add((JSON.parse(line) as { id: string }).id);
      }
      // Every late event is either still there, or was archived before it went: none is lost.
      for (const id of late) {
        const res = await t.app.inject({ url: `/api/v1/events/${id}`, headers: t.auth });
        expect(res.statusCode === 200 || archived.has(id), id).toBe(true);
      }
      await t.services.integrity.checkpoint('default');
      const verified = await verifyStore(t.store, {
        verifierKeys: [t.services.integrity.publicKey().note],
        all: true,
      });
      expect(verified.findings).toEqual([]);
    });

    it('a late event committed between the survey and the drop makes the drop refuse; nothing is lost', async () => {
      const pool = (t.store as PostgresStore).pool;
      const february = (await listEventPartitions(pool)).find((p) => p.name === 'events_p2026_02')!;
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: t.auth,
        payload: {
          events: [1, 2, 3].map((d) =>
            sampleEvent({ tenant: 'race', occurredAt: `2026-02-0${d}T00:00:00Z` }),
          ),
        },
      });
      expect(res.statusCode).toBe(201);
      const size = (await t.store.listTenantLogs()).find((l) => l.tenant === 'race')!.size;
      const targets = new Map([
        ['race', { tenant: 'race', beforeMs: Date.UTC(2026, 2, 1), belowSeq: size, recordSeq: size }],
      ]);
      const survey = await surveyPartition(pool, february.name, []);
      expect(survey.shares.map((s) => s.tenant)).toEqual(['race']);
      // Another tenant's event for February arrives after the survey.
      const late = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: t.auth,
        payload: sampleEvent({ tenant: 'other', id: 'other-late', occurredAt: '2026-02-10T00:00:00Z' }),
      });
      expect(late.statusCode).toBe(201);
      expect(await dropPartition(pool, february, survey, targets, NOW2)).toBeNull();
      const rows = await pool.query(
        'SELECT tenant, count(*)::int AS n FROM events_p2026_02 GROUP BY 1 ORDER BY 1',
      );
      expect(rows.rows).toEqual([
        { tenant: 'other', n: 1 },
        { tenant: 'race', n: 3 },
      ]);
      expect((await pool.query('SELECT count(*)::int AS n FROM pruned_ranges')).rows[0].n).toBe(0);
      // With a fresh survey the other tenant's row is an obstacle: the run would redact rows instead.
      const again = await surveyPartition(pool, february.name, []);
      expect(again.shares.map((s) => s.tenant).sort()).toEqual(['other', 'race']);
      // Without the late event the same survey would have dropped it: the refusal above was the re-check.
      await pool.query("DELETE FROM events WHERE tenant = 'other'");
      await pool.query("DELETE FROM log_leaves WHERE tenant = 'other'");
      await pool.query("DELETE FROM tenant_logs WHERE tenant = 'other'");
      const ranges = await dropPartition(pool, february, survey, targets, NOW2);
      expect(ranges).toEqual([
        expect.objectContaining({ tenant: 'race', count: 3, partition: 'events_p2026_02' }),
      ]);
    });
  },
);
