// Exports on both backends: GET /api/v1/events/export and /api/v1/logs/export give exactly what the list gives for
// every filter (across several internal pages), NDJSON round-trips, CSV is RFC 4180 with formula cells neutralised,
// each export is an audit event, and bad input is a 400 before any byte. Plus the retention routes' edge cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const HOSTILE = ['=1+2', '+SUM(A1)', '-2+3', '@cmd', 'plain, with "quotes"\nand a newline'];

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF records) — the reference the export must satisfy. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  expect(cell).toBe('');
  expect(row).toEqual([]);
  return rows;
}

const ndjson = (body: string) =>
  body
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each(BACKENDS)('exports on %s', (backend) => {
  let t: TestApp;
  const get = (url: string) => t.app.inject({ url, headers: t.auth });

  /** Every id the list API returns for a query, following cursors (the reference for the export). */
  async function listIds(base: string, query: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(
        `${base}?limit=1000&${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.statusCode).toBe(200);
      ids.push(...res.json().data.map((e: { id: string }) => e.id));
      cursor = res.json().nextCursor;
    } while (cursor);
    return ids;
  }

  beforeAll(async () => {
    t = await makeTestApp({ backend, clock: () => T0 + 10 * 86_400_000 });
    // 2,300 events: more than two export pages; varied fields for every filter.
    const events = Array.from({ length: 2300 }, (_, i) =>
      sampleEvent({
        id: `x-${i}`,
        occurredAt: new Date(T0 + i * 60_000).toISOString(),
        action: ['invoice.pay', 'invoice.void', 'user.login', 'user.logout'][i % 4],
        actor: { id: `actor-${i % 7}`, name: i < HOSTILE.length ? HOSTILE[i] : `Actor ${i % 7}` },
        target: { type: i % 2 ? 'invoice' : 'user', id: `t-${i % 11}` },
        outcome: i % 5 === 0 ? 'failure' : 'success',
        context: { ip: `10.0.0.${i % 3}` },
        description: i < HOSTILE.length ? HOSTILE[i] : `event ${i} ${i % 13 === 0 ? 'zebra' : 'horse'}`,
        details: { n: i },
      }),
    );
    for (let i = 0; i < events.length; i += 1000) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: t.auth,
        payload: { events: events.slice(i, i + 1000) },
      });
      expect(res.statusCode).toBe(201);
    }
    const other = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: sampleEvent({ tenant: 'acme', id: 'acme-1' }),
    });
    expect(other.statusCode).toBe(201);
    const logs = Array.from({ length: 1200 }, (_, i) => ({
      message: i < HOSTILE.length ? HOSTILE[i] : `log ${i} ${i % 10 === 0 ? 'disk full' : 'ok'}`,
      level: ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][i % 5],
      service: `svc-${i % 3}`,
      timestamp: new Date(T0 + i * 1000).toISOString(),
      ...(i % 100 === 0 ? { traceId: `${String(i).padStart(4, '0')}${'a'.repeat(28)}` } : {}),
    }));
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/logs', headers: t.auth, payload: logs });
    expect(res.statusCode).toBeLessThan(300);
  });

  afterAll(async () => {
    await t?.close();
  });

  const EVENT_FILTERS = [
    '',
    'order=asc',
    'actor=actor-3',
    'action=invoice.pay,user.logout',
    'action=user.*',
    'targetType=invoice&targetId=t-4',
    'outcome=failure',
    'ip=10.0.0.2',
    `from=${new Date(T0 + 100 * 60_000).toISOString()}&to=${new Date(T0 + 1500 * 60_000).toISOString()}`,
    'q=zebra',
    'tenant=acme',
    'actor=actor-1&outcome=success&action=invoice.*&order=asc',
  ];
  it.each(EVENT_FILTERS)('events export = list for filter "%s"', async (query) => {
    // Listed first: the export then records itself (an audit event the list would show), after its first page.
    const listed = await listIds('/api/v1/events', query);
    const res = await get(`/api/v1/events/export?format=ndjson&${query}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const exported = ndjson(res.body).map((e) => e.id);
    expect(listed.length).toBeGreaterThan(0);
    expect(exported).toEqual(listed);
  });

  it('NDJSON round-trips: each line is the event as GET /api/v1/events/:id returns it', async () => {
    const res = await get('/api/v1/events/export?actor=actor-2&from=2026-03-01T10:00:00Z');
    const rows = ndjson(res.body);
    expect(rows.length).toBeGreaterThan(50);
    for (const row of rows.slice(0, 20)) {
      const one = await get(`/api/v1/events/${row.id}`);
      expect(row).toEqual(one.json());
    }
  });

  it('CSV: RFC 4180, every row, formula cells neutralised, the rest verbatim', async () => {
    const res = await get('/api/v1/events/export?format=csv&order=asc&action=invoice.*,user.*');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="events-default-.*\.csv"/);
    const [header, ...rows] = parseCsv(res.body);
    expect(header).toContain('description');
    expect(rows).toHaveLength(2300);
    const col = (name: string) => header!.indexOf(name);
    const byId = new Map(rows.map((r) => [r[col('id')], r]));
    expect(byId.get('x-0')![col('description')]).toBe("'=1+2");
    expect(byId.get('x-1')![col('description')]).toBe("'+SUM(A1)");
    expect(byId.get('x-2')![col('description')]).toBe("'-2+3");
    expect(byId.get('x-3')![col('description')]).toBe("'@cmd");
    expect(byId.get('x-3')![col('actorName')]).toBe("'@cmd");
    expect(byId.get('x-4')![col('description')]).toBe('plain, with "quotes"\nand a newline');
    expect(byId.get('x-10')![col('seq')]).toMatch(/^\d+$/);
    expect(JSON.parse(byId.get('x-10')![col('details')]!)).toEqual({ n: 10 });
    // No cell anywhere starts with a formula character.
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@]/);
  });

  it('each export is an audit event naming its format and filters', async () => {
    await get('/api/v1/events/export?format=csv&actor=actor-5');
    await get('/api/v1/logs/export?service=svc-1');
    const ev = await get('/api/v1/events?action=logbook.events.export&limit=100');
    expect(ev.json().data[0]).toMatchObject({
      action: 'logbook.events.export',
      details: { format: 'csv', filters: { actor: 'actor-5' }, via: 'GET /api/v1/events/export' },
    });
    const lg = await get('/api/v1/events?action=logbook.logs.export&limit=1');
    expect(lg.json().data[0]).toMatchObject({
      action: 'logbook.logs.export',
      details: { format: 'ndjson', filters: { service: 'svc-1' } },
    });
  });

  const LOG_FILTERS = [
    '',
    'order=asc',
    'level=ERROR,FATAL',
    'minLevel=WARN',
    'service=svc-0,svc-2',
    'q=disk',
    `from=${new Date(T0 + 100_000).toISOString()}&to=${new Date(T0 + 900_000).toISOString()}`,
    `traceId=0300${'a'.repeat(28)}`,
  ];
  it.each(LOG_FILTERS)('logs export = list for filter "%s"', async (query) => {
    const listed = await listIds('/api/v1/logs', query);
    const res = await get(`/api/v1/logs/export?${query}`);
    expect(res.statusCode).toBe(200);
    const exported = ndjson(res.body).map((e) => e.id);
    expect(listed.length).toBeGreaterThan(0);
    expect(exported).toEqual(listed);
  });

  it('logs CSV neutralises formula messages', async () => {
    const res = await get('/api/v1/logs/export?format=csv&order=asc&to=2026-03-01T00:00:05Z');
    const [header, ...rows] = parseCsv(res.body);
    const messages = rows.map((r) => r[header!.indexOf('message')]);
    expect(messages).toEqual(["'=1+2", "'+SUM(A1)", "'-2+3", "'@cmd", 'plain, with "quotes"\nand a newline']);
  });

  it('bad input is a clear 400 before any byte is streamed', async () => {
    for (const url of [
      '/api/v1/events/export?format=xml',
      '/api/v1/events/export?from=yesterday',
      '/api/v1/events/export?limit=5',
      '/api/v1/events/export?cursor=abc',
      '/api/v1/logs/export?minLevel=LOUD',
      '/api/v1/logs/export?format=pdf',
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toMatch(/VALIDATION_FAILED|INVALID_/);
    }
  });

  it('retention routes: a run without a body, unknown fields refused, policy change audited', async () => {
    const run = await t.app.inject({ method: 'POST', url: '/api/v1/retention/run', headers: t.auth });
    expect(run.statusCode).toBe(200);
    expect(run.json()).toMatchObject({ deleted: 0, archived: 0 });
    const extra = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/retention',
      headers: t.auth,
      payload: { stream: 'events', days: 30, archive: 'maybe' },
    });
    expect(extra.statusCode).toBe(400);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/retention',
      headers: t.auth,
      payload: { tenant: 'acme', stream: 'logs', days: 0 },
    });
    expect(put.json()).toMatchObject({ tenant: 'acme', stream: 'logs', days: 0, source: 'policy' });
    const audit = await get('/api/v1/events?tenant=acme&action=logbook.retention.set');
    expect(audit.json().data[0].details).toMatchObject({ stream: 'logs', days: 0, previousDays: 45 });
  });
});
