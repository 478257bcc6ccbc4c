// System-log API on every backend: ingest (one, array, { logs }, NDJSON streamed, gzip), errors that name the entry or
// line, every list filter, cursor pagination, get by id, stats. Real store, real app via inject().
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** A fixed corpus: 12 entries over 3 services, every level, over six hours. */
const CORPUS = [
  { service: 'api', level: 'INFO', message: 'request served', details: { path: '/orders', status: 200 } },
  { service: 'api', level: 'WARN', message: 'slow request', details: { path: '/orders', ms: 1800 } },
  {
    service: 'api',
    level: 'ERROR',
    message: 'payment declined by bank',
    traceId: TRACE,
    spanId: '00f067aa0ba902b7',
  },
  { service: 'worker', level: 'DEBUG', message: 'job picked', details: { job: 'invoice-export' } },
  { service: 'worker', level: 'info', message: 'job finished', details: { job: 'invoice-export' } },
  { service: 'worker', level: 'FATAL', message: 'worker crashed: out of memory', host: 'node-7' },
  { service: 'billing', level: 'warning', message: 'invoice overdue', details: { customer: 'Ånström AB' } },
  { service: 'billing', level: 'ERROR', message: 'card declined', traceId: TRACE },
  { service: 'billing', level: 'INFO', message: 'invoice paid' },
  { service: 'api', level: 'trace', message: 'cache lookup' },
  { service: 'api', level: 'INFO', message: 'request served', details: { path: '/health', status: 200 } },
  { service: 'worker', level: 'ERROR', message: 'job failed: timeout' },
].map((e, i) => ({ ...e, timestamp: iso(T0 + i * 30 * 60_000) }));

describe.each(BACKENDS)('system logs API on %s', (backend) => {
  let t: TestApp;
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/logs',
      headers: { ...t.auth, ...headers },
      payload: payload as string,
    });
  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: t.auth });
  const list = async (query: string, tenant = 'default') => {
    const res = await get(`/api/v1/logs?tenant=${tenant}&limit=1000&${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data as Record<string, unknown>[];
  };
  const messages = async (query: string, tenant = 'corpus') =>
    (await list(query, tenant)).map((e) => e.message);

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    const res = await post({ logs: CORPUS.map((e) => ({ ...e, tenant: 'corpus' })) });
    expect(res.statusCode, res.body).toBe(201);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('ingest', () => {
    it('one entry: 201 with its id; the stored entry has defaults and normalised fields', async () => {
      const res = await post({ message: 'hello', level: 'warning', traceId: TRACE.toUpperCase() });
      expect(res.statusCode, res.body).toBe(201);
      const [written] = res.json().logs;
      expect(res.json().count).toBe(1);
      expect(written).toMatchObject({ id: expect.any(String), tenant: 'default' });
      const entry = (await get(`/api/v1/logs/${written.id}`)).json();
      expect(entry).toMatchObject({
        id: written.id,
        tenant: 'default',
        level: 'WARN',
        service: 'unknown_service',
        message: 'hello',
        traceId: TRACE,
        timestamp: written.timestamp,
      });
      expect(Date.parse(entry.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('an array and { logs: [...] }: one answer per input, in order', async () => {
      const array = await post([{ message: 'a1' }, { message: 'a2', service: 'svc-array' }]);
      expect(array.statusCode).toBe(201);
      const batch = await post({ logs: [{ message: 'b1' }, { message: 'b2' }, { message: 'b3' }] });
      expect(batch.json().count).toBe(3);
      const ids = [...array.json().logs, ...batch.json().logs].map((l: { id: string }) => l.id);
      expect(new Set(ids).size).toBe(5);
      for (const [i, id] of ids.entries()) {
        expect((await get(`/api/v1/logs/${id}`)).json().message).toBe(['a1', 'a2', 'b1', 'b2', 'b3'][i]);
      }
    });

    it('NDJSON: blank lines and CRLF are fine; every line is stored', async () => {
      const body = [
        JSON.stringify({ message: 'nd one', service: 'ndjson-a' }),
        '',
        `${JSON.stringify({ message: 'nd two', service: 'ndjson-a' })}\r`,
        JSON.stringify({ message: 'nd three', service: 'ndjson-a', level: 'ERROR' }),
      ].join('\n');
      const res = await post(body, { 'content-type': 'application/x-ndjson' });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().count).toBe(3);
      expect((await list('service=ndjson-a')).map((e) => e.message).sort()).toEqual([
        'nd one',
        'nd three',
        'nd two',
      ]);
    });

    it('NDJSON larger than one commit chunk, gzip-encoded, streams through', async () => {
      const lines = Array.from({ length: 2500 }, (_, i) =>
        JSON.stringify({ message: `bulk ${i}`, service: 'bulk' }),
      );
      const res = await post(gzipSync(`${lines.join('\n')}\n`), {
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().count).toBe(2500);
      let seen = 0;
      let cursor: string | null = null;
      do {
        const page: { data: unknown[]; nextCursor: string | null } = (
          await get(`/api/v1/logs?service=bulk&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
        ).json();
        seen += page.data.length;
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toBe(2500);
    });

    it('NDJSON with a bad line: 400 naming the line and field; the lines before it are stored, none after', async () => {
      const body = [
        { message: 'partial 1', service: 'partial' },
        { message: 'partial 2', service: 'partial' },
        { message: 'partial 3', service: 'partial', level: 'LOUD' },
        { message: 'partial 4', service: 'partial' },
      ]
        .map((e) => JSON.stringify(e))
        .join('\n');
      const res = await post(body, { 'content-type': 'application/x-ndjson' });
      expect(res.statusCode).toBe(400);
      const error = res.json().error;
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toMatch(/^line 3: /);
      expect(error.message).toMatch(/2 entries before it were stored/);
      expect(error.issues[0].field).toBe('body/line/3/level');
      expect(res.headers['x-logbook-stored']).toBe('2');
      expect((await list('service=partial')).map((e) => e.message).sort()).toEqual([
        'partial 1',
        'partial 2',
      ]);
    });

    it('NDJSON with a line that is not JSON: 400 MALFORMED_JSON naming the line', async () => {
      const res = await post(`${JSON.stringify({ message: 'ok' })}\n{"message": "broken"\n`, {
        'content-type': 'application/x-ndjson',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('MALFORMED_JSON');
      expect(res.json().error.issues[0].field).toBe('body/line/2');
      expect(res.headers['x-logbook-stored']).toBe('1');
    });

    it('a JSON array with one bad entry is refused whole, naming the entry and field', async () => {
      const res = await post([
        { message: 'fine', service: 'atomic' },
        { message: 'bad', service: 'atomic', colour: 'red' },
      ]);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.issues[0]).toMatchObject({
        field: 'body/1/colour',
        rule: 'additionalProperties',
      });
      const wrapped = await post({ logs: [{ message: 'x' }, { message: 'y' }, { level: 'INFO' }] });
      expect(wrapped.json().error.issues[0]).toMatchObject({
        field: 'body/logs/2/message',
        rule: 'required',
      });
      expect(await list('service=atomic')).toEqual([]);
    });

    it('bad input is a clear 4xx, never a 5xx', async () => {
      const cases: [unknown, Record<string, string>, number, string][] = [
        [{ message: 'x', timestamp: 'yesterday' }, {}, 400, 'INVALID_DATE'],
        [{ message: 'x', traceId: 'abc' }, {}, 400, 'VALIDATION_FAILED'],
        [{ message: 'x', details: { a: 'x'.repeat(70_000) } }, {}, 400, 'VALIDATION_FAILED'],
        [[], {}, 400, 'VALIDATION_FAILED'],
        [{ logs: 'nope' }, {}, 400, 'VALIDATION_FAILED'],
        ['null', { 'content-type': 'application/json' }, 400, 'VALIDATION_FAILED'],
        ['message=hi', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['\n\n', { 'content-type': 'application/x-ndjson' }, 400, 'VALIDATION_FAILED'],
        [
          '{"message":"x"}',
          { 'content-type': 'application/x-ndjson', 'content-encoding': 'br' },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          'not gzip',
          { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
          400,
          'MALFORMED_JSON',
        ],
      ];
      for (const [payload, headers, status, code] of cases) {
        const res = await post(typeof payload === 'string' ? payload : JSON.stringify(payload), {
          'content-type': 'application/json',
          ...headers,
        });
        expect(res.statusCode, `${JSON.stringify(payload).slice(0, 80)}: ${res.body}`).toBe(status);
        expect(res.json().error.code).toBe(code);
      }
    });
  });

  describe('list filters', () => {
    it('newest first by timestamp by default, oldest first with order=asc', async () => {
      const desc = await messages('');
      expect(desc).toHaveLength(CORPUS.length);
      expect(desc[0]).toBe('job failed: timeout');
      expect(await messages('order=asc')).toEqual([...desc].reverse());
    });

    it('level (exact list), levels (alias), minLevel, and both combined', async () => {
      expect((await list('level=ERROR', 'corpus')).every((e) => e.level === 'ERROR')).toBe(true);
      expect(await messages('level=ERROR')).toHaveLength(3);
      expect((await messages('levels=fatal,DEBUG')).sort()).toEqual([
        'cache lookup',
        'job picked',
        'worker crashed: out of memory',
      ]);
      expect(await messages('minLevel=ERROR')).toHaveLength(4);
      expect(await messages('minLevel=WARN')).toHaveLength(6);
      expect(await messages('minLevel=WARN&level=WARN,DEBUG')).toHaveLength(2);
    });

    it('service (one or several)', async () => {
      expect(await messages('service=billing')).toHaveLength(3);
      expect(await messages('service=billing,worker')).toHaveLength(7);
      expect(await messages('service=nobody')).toEqual([]);
    });

    it('from (inclusive) / to (exclusive) on the timestamp', async () => {
      const got = await messages(`from=${iso(T0 + 60 * 60_000)}&to=${iso(T0 + 150 * 60_000)}&order=asc`);
      expect(got).toEqual(['payment declined by bank', 'job picked', 'job finished']);
    });

    it('q: words in message and details, prefixes, phrases, diacritics folded', async () => {
      expect((await messages('q=declined')).sort()).toEqual(['card declined', 'payment declined by bank']);
      expect(await messages('q=orders')).toEqual(['slow request', 'request served']);
      expect(await messages('q=invoice-export')).toHaveLength(2);
      expect(await messages('q=crash*')).toEqual(['worker crashed: out of memory']);
      expect(await messages(`q=${encodeURIComponent('"out of memory"')}`)).toEqual([
        'worker crashed: out of memory',
      ]);
      expect(await messages(`q=${encodeURIComponent('"memory out"')}`)).toEqual([]);
      expect(await messages('q=anstrom')).toEqual(['invoice overdue']);
    });

    it('traceId, alone and with other filters', async () => {
      expect((await messages(`traceId=${TRACE}`)).sort()).toEqual([
        'card declined',
        'payment declined by bank',
      ]);
      expect(await messages(`traceId=${TRACE.toUpperCase()}&service=billing`)).toEqual(['card declined']);
      expect(await messages(`traceId=${TRACE}&q=bank`)).toEqual(['payment declined by bank']);
      expect(await messages(`traceId=${'0'.repeat(31)}1`)).toEqual([]);
    });

    it('filters combine (AND)', async () => {
      expect(await messages('service=api&minLevel=WARN&q=request')).toEqual(['slow request']);
    });

    it('bad filters are 400s that name the parameter', async () => {
      const cases: [string, string][] = [
        ['level=LOUD', 'query/level'],
        ['minLevel=x', 'query/minLevel'],
        ['level=INFO&levels=WARN', 'query/levels'],
        [`from=${iso(T0)}&to=${iso(T0 - 1000)}`, 'query/from'],
        ['from=tomorrow', 'query/from'],
        ['q=%22%22', 'query/q'],
        ['traceId=xyz', 'query/traceId'],
        ['cursor=bogus', 'query/cursor'],
        ['limit=0', 'query/limit'],
        ['colour=red', 'query/colour'],
      ];
      for (const [query, field] of cases) {
        const res = await get(`/api/v1/logs?${query}`);
        expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
        expect(res.json().error.issues[0].field, query).toBe(field);
      }
    });
  });

  describe('pagination', () => {
    for (const order of ['desc', 'asc'] as const) {
      it(`cursor pages (${order}) cover every entry once, with and without filters`, async () => {
        for (const filter of ['', '&minLevel=WARN', '&q=request', `&traceId=${TRACE}`]) {
          const all = await messages(`order=${order}${filter}`);
          const paged: string[] = [];
          let cursor: string | null = null;
          do {
            const res = await get(
              `/api/v1/logs?tenant=corpus&limit=2&order=${order}${filter}${cursor ? `&cursor=${cursor}` : ''}`,
            );
            expect(res.statusCode, res.body).toBe(200);
            paged.push(...res.json().data.map((e: { message: string }) => e.message));
            cursor = res.json().nextCursor;
          } while (cursor);
          expect(paged, filter).toEqual(all);
        }
      });
    }

    it('a cursor of the other order is refused', async () => {
      const first = (await get('/api/v1/logs?tenant=corpus&limit=2')).json();
      const res = await get(`/api/v1/logs?tenant=corpus&limit=2&order=asc&cursor=${first.nextCursor}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('INVALID_CURSOR');
    });
  });

  describe('get and stats', () => {
    it('GET /api/v1/logs/{id}: 404 for an unknown id or another tenant', async () => {
      const [entry] = await list('service=worker&level=FATAL', 'corpus');
      expect((await get(`/api/v1/logs/${entry!.id}?tenant=corpus`)).json()).toEqual(entry);
      expect((await get(`/api/v1/logs/${entry!.id}`)).statusCode).toBe(404);
      expect((await get('/api/v1/logs/no-such-id?tenant=corpus')).json().error.code).toBe('NOT_FOUND');
    });

    it('a listed or exported entry is exactly the entry its id returns, whatever the content', async () => {
      // Lists and NDJSON exports send the stored JSON text (LogService.listJson); GET serialises the parsed entry by
      // the response schema. Random content (escapes, U+2028, astral characters, numbers, nesting) must read the same.
      const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          text,
          fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
          fc.constantFrom('DEBUG', 'INFO', 'WARN', 'ERROR'),
          async (message, details, level) => {
            const service = `prop-${n++}`;
            const res = await post({ message, details, level, service, tenant: 'props' });
            expect(res.statusCode, res.body).toBe(201);
            const [listed] = await list(`service=${service}`, 'props');
            const byId = await get(`/api/v1/logs/${listed!.id}?tenant=props`);
            expect(byId.statusCode).toBe(200);
            expect(listed).toEqual(byId.json());
            const exported = await get(`/api/v1/logs/export?tenant=props&service=${service}`);
            expect(exported.statusCode).toBe(200);
            expect(
              exported.body
                .trimEnd()
                .split('\n')
                .map((line) => JSON.parse(line)),
            ).toEqual([byId.json()]);
          },
        ),
        { numRuns: 30, seed: 12 },
      );
    });

    it('stats: counts by level and service, and an hourly histogram by level', async () => {
      const res = await get(`/api/v1/logs/stats?tenant=corpus&from=${iso(T0)}&to=${iso(T0 + 6 * 3_600_000)}`);
      expect(res.statusCode, res.body).toBe(200);
      const stats = res.json();
      expect(stats.total).toBe(12);
      expect(stats.byLevel).toEqual({ DEBUG: 2, INFO: 4, WARN: 2, ERROR: 3, FATAL: 1 });
      expect(stats.byService).toEqual({ api: 5, worker: 4, billing: 3 });
      expect(stats.window.bucket).toBe('hour');
      expect(stats.histogram).toHaveLength(6);
      expect(stats.histogram[0]).toEqual({ start: iso(T0), count: 2, byLevel: { INFO: 1, WARN: 1 } });
      expect(stats.histogram.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(12);
    });

    it('stats: service filter, top, day buckets, empty window', async () => {
      const billing = (
        await get(
          `/api/v1/logs/stats?tenant=corpus&service=billing&from=${iso(T0)}&to=${iso(T0 + 86_400_000)}`,
        )
      ).json();
      expect(billing.total).toBe(3);
      expect(billing.byService).toEqual({ billing: 3 });
      const top = (
        await get(`/api/v1/logs/stats?tenant=corpus&top=1&from=${iso(T0)}&to=${iso(T0 + 86_400_000)}`)
      ).json();
      expect(top.byService).toEqual({ api: 5 });
      const days = (
        await get(`/api/v1/logs/stats?tenant=corpus&bucket=day&from=2026-11-19&to=2026-11-22`)
      ).json();
      expect(days.histogram.map((b: { count: number }) => b.count)).toEqual([0, 12, 0]);
      const empty = (await get('/api/v1/logs/stats?tenant=corpus&from=2020-01-01&to=2020-01-02')).json();
      expect(empty).toMatchObject({ total: 0, byLevel: {}, byService: {} });
      expect((await get('/api/v1/logs/stats?bucket=week')).statusCode).toBe(400);
    });
  });
});
