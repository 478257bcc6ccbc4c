// Seed 002 (API logs, GET /logs) served by Logbook over system logs: the documented example request and response,
// every parameter alone and combined, limit/offset edges, every error body, and entries written through
// /api/v1/logs read back with the right field mapping — on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { type Body, FORGED_JWT, getJson, keyWith, send } from './support-compat.ts';

/** The two entries of the documented response. */
const DOC_ERROR = {
  timestamp: '2023-10-27T10:35:15Z',
  level: 'ERROR',
  service: 'user-service',
  message: 'Failed to authenticate user: invalid credentials for user_id 12345',
  details: { user_id: 12345, ip_address: '192.168.1.100' },
};
const DOC_INFO = {
  timestamp: '2023-10-27T10:30:01Z',
  level: 'INFO',
  service: 'product-service',
  message: 'Product with ID 9876 retrieved successfully.',
  details: { product_id: 9876, user_agent: 'PostmanRuntime/7.28.0' },
};
/** The documented entries as answered (timestamps in Logbook's ISO form, with milliseconds). */
const asAnswered = (doc: typeof DOC_ERROR | typeof DOC_INFO) => ({
  ...doc,
  timestamp: doc.timestamp.replace('Z', '.000Z'),
  id: expect.any(String),
});

/** 148 older entries + the two documented ones: the documented total of 150. */
const FILLERS = Array.from({ length: 148 }, (_, i) => ({
  timestamp: new Date(Date.parse('2023-10-26T00:00:00Z') + i * 60_000).toISOString(),
  level: 'INFO',
  service: 'filler-service',
  message: `filler ${i}`,
}));

/** A small set for the filters: one per (time, level, service, message) combination the tests need. */
const FILTER_LOGS = [
  {
    m: 'f7',
    timestamp: '2023-10-26T23:59:59Z',
    level: 'ERROR',
    service: 'user-service',
    message: 'old error',
  },
  {
    m: 'f1',
    timestamp: '2023-10-27T09:00:00Z',
    level: 'ERROR',
    service: 'user-service',
    message: 'Failed to authenticate user: invalid credentials for user_id 12345',
  },
  {
    m: 'f2',
    timestamp: '2023-10-27T09:30:00Z',
    level: 'INFO',
    service: 'user-service',
    message: 'User 42 logged in',
  },
  {
    m: 'f3',
    timestamp: '2023-10-27T10:00:00Z',
    level: 'WARN',
    service: 'payment-gateway',
    message: 'Payment retry scheduled',
  },
  {
    m: 'f4',
    timestamp: '2023-10-27T11:00:00Z',
    level: 'ERROR',
    service: 'payment-gateway',
    message: 'Card declined by issuer',
  },
  {
    m: 'f5',
    timestamp: '2023-10-27T12:00:00Z',
    level: 'DEBUG',
    service: 'user-service',
    message: 'Cache warm',
  },
  {
    m: 'f6',
    timestamp: '2023-10-28T00:00:00Z',
    level: 'FATAL',
    service: 'user-service',
    message: 'Out of memory, AUTHENTICATION service down',
  },
];
/** Message → marker, to name the entries a list answered. */
const MARK = new Map(FILTER_LOGS.map((l) => [l.message, l.m]));

const error = (message: string) => ({ status: 'error', message });
const DATE_ERROR = (param: string) =>
  error(`Invalid date format for '${param}'. Please use ISO 8601 format (YYYY-MM-DDTHH:MM:SSZ).`);
const LIMIT_ERROR = error("Invalid value for 'limit'. Must be an integer between 1 and 1000.");
const LEVEL_ERROR = error("Invalid value for 'level'. Allowed: DEBUG, INFO, WARN, ERROR, FATAL.");

/** Values no client should send (the same set the other surfaces' hostile-input tests use). */
const NASTY = [
  '%00',
  'a%00b',
  '%FF%FE',
  encodeURIComponent('\u{1F600}'.repeat(300)),
  'x'.repeat(5000),
  '1e309',
  '-0',
  '9007199254740993',
  '%27%3B%20DROP%20TABLE%20logs%3B--',
  encodeURIComponent('"*"'),
  encodeURIComponent('{"$gt":""}'),
];
const HOSTILE_GETS = [
  '/logs?limit=V',
  '/logs?offset=V',
  '/logs?startDate=V',
  '/logs?endDate=V',
  '/logs?level=V',
  '/logs?service=V',
  '/logs?search=V',
  '/logs?search=V&service=V&startDate=2023-10-27T00:00:00Z',
];

describe.each(BACKENDS)('seed 002 API logs GET /logs on %s', (backend) => {
  let t: TestApp;
  let pages: Record<string, string>;
  let filters: Record<string, string>;
  let empty: Record<string, string>;

  const writeLogs = async (headers: Record<string, string>, logs: Record<string, unknown>[]) => {
    const res = await send(t, 'POST', '/api/v1/logs', { headers, payload: { logs } });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json().logs as { id: string }[]).map((l) => l.id);
  };
  const marks = async (query: string) => {
    const body = await getJson(t, `/logs${query}`, filters);
    return (body.data.logs as { message: string }[]).map((l) => MARK.get(l.message));
  };
  const expect400 = async (query: string, body: unknown, headers = filters) => {
    const res = await send(t, 'GET', `/logs${query}`, { headers });
    expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
    expect(res.json()).toEqual(body);
  };

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    pages = await keyWith(t, ['admin'], 'api-logs-pages');
    filters = await keyWith(t, ['logging:read', 'logging:write'], 'api-logs-filters');
    empty = await keyWith(t, ['logging:read'], 'api-logs-empty');
    await writeLogs(pages, [...FILLERS, DOC_INFO, DOC_ERROR]);
    await writeLogs(
      filters,
      FILTER_LOGS.map(({ m: _m, ...l }) => l),
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers the documented example request', async () => {
    const body = await getJson(
      t,
      '/logs?limit=10&level=ERROR&service=user-service&startDate=2023-10-27T09:00:00Z',
      pages,
    );
    expect(body).toEqual({
      status: 'success',
      data: {
        logs: [asAnswered(DOC_ERROR)],
        pagination: { total: 1, limit: 10, offset: 0, nextOffset: null },
      },
    });
  });

  it('answers the documented response: newest first, total 150, nextOffset 10', async () => {
    const body = await getJson(t, '/logs?limit=10', pages);
    expect(body.status).toBe('success');
    expect(body.data.pagination).toEqual({ total: 150, limit: 10, offset: 0, nextOffset: 10 });
    expect(body.data.logs).toHaveLength(10);
    expect(body.data.logs.slice(0, 2)).toEqual([asAnswered(DOC_ERROR), asAnswered(DOC_INFO)]);
    // Entries keep exactly the documented fields (+ id); details only when the entry has some.
    expect(Object.keys(body.data.logs[0]).sort()).toEqual(
      ['details', 'id', 'level', 'message', 'service', 'timestamp'].sort(),
    );
    expect(body.data.logs[2]).toEqual({
      timestamp: '2023-10-26T02:27:00.000Z',
      level: 'INFO',
      service: 'filler-service',
      message: 'filler 147',
      id: expect.any(String),
    });
  });

  it('defaults: limit 50, offset 0', async () => {
    const body = await getJson(t, '/logs', pages);
    expect(body.data.logs).toHaveLength(50);
    expect(body.data.pagination).toEqual({ total: 150, limit: 50, offset: 0, nextOffset: 50 });
  });

  it('pages: first, middle, last (partial), beyond the last, and walking every page', async () => {
    const page = (q: string) => getJson(t, `/logs${q}`, pages);
    const last = await page('?limit=10&offset=140');
    expect(last.data.logs).toHaveLength(10);
    expect(last.data.pagination).toEqual({ total: 150, limit: 10, offset: 140, nextOffset: null });
    expect(last.data.logs[9].message).toBe('filler 0');
    const partial = await page('?limit=20&offset=145');
    expect(partial.data.logs.map((l: Body) => l.message)).toEqual([
      'filler 4',
      'filler 3',
      'filler 2',
      'filler 1',
      'filler 0',
    ]);
    expect(partial.data.pagination.nextOffset).toBeNull();
    for (const offset of [150, 151, 100_000]) {
      const beyond = await page(`?limit=10&offset=${offset}`);
      expect(beyond.data).toEqual({
        logs: [],
        pagination: { total: 150, limit: 10, offset, nextOffset: null },
      });
    }
    const middle = await page('?limit=7&offset=7');
    expect(middle.data.pagination.nextOffset).toBe(14);
    // Following nextOffset visits every entry once, newest first.
    const seen: string[] = [];
    let offset: number | null = 0;
    let previous = Number.POSITIVE_INFINITY;
    while (offset !== null) {
      const body: Body = await page(`?limit=33&offset=${offset}`);
      for (const log of body.data.logs) {
        const ms = Date.parse(log.timestamp);
        expect(ms).toBeLessThanOrEqual(previous);
        previous = ms;
        seen.push(log.id);
      }
      offset = body.data.pagination.nextOffset;
    }
    expect(seen).toHaveLength(150);
    expect(new Set(seen).size).toBe(150);
    const max = await page('?limit=1000');
    expect(max.data.logs).toHaveLength(150);
    expect(max.data.pagination).toEqual({ total: 150, limit: 1000, offset: 0, nextOffset: null });
    const one = await page('?limit=1');
    expect(one.data.logs).toEqual([asAnswered(DOC_ERROR)]);
  });

  it('an empty log answers an empty first page', async () => {
    expect(await getJson(t, '/logs', empty)).toEqual({
      status: 'success',
      data: { logs: [], pagination: { total: 0, limit: 50, offset: 0, nextOffset: null } },
    });
  });

  it('each filter alone', async () => {
    expect(await marks('')).toEqual(['f6', 'f5', 'f4', 'f3', 'f2', 'f1', 'f7']);
    // startDate and endDate are inclusive.
    expect(await marks('?startDate=2023-10-27T10:00:00Z')).toEqual(['f6', 'f5', 'f4', 'f3']);
    expect(await marks('?endDate=2023-10-27T10:00:00Z')).toEqual(['f3', 'f2', 'f1', 'f7']);
    expect(await marks('?startDate=2023-10-27T10:00:00.001Z')).toEqual(['f6', 'f5', 'f4']);
    // Other zones and a date-only end (the whole day).
    expect(await marks('?startDate=2023-10-27T12:00:00%2B02:00')).toEqual(['f6', 'f5', 'f4', 'f3']);
    expect(await marks('?endDate=2023-10-27')).toEqual(['f5', 'f4', 'f3', 'f2', 'f1', 'f7']);
    for (const level of ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']) {
      const expected = FILTER_LOGS.filter((l) => l.level === level)
        .reverse()
        .map((l) => l.m);
      expect(await marks(`?level=${level}`), level).toEqual(expected);
    }
    expect(await marks('?service=payment-gateway')).toEqual(['f4', 'f3']);
    expect(await marks('?service=user-service')).toEqual(['f6', 'f5', 'f2', 'f1', 'f7']);
    expect(await marks('?service=no-such-service')).toEqual([]);
    expect(await marks('?limit=2')).toEqual(['f6', 'f5']);
    expect(await marks('?offset=5')).toEqual(['f1', 'f7']);
  });

  it('search: a keyword or phrase in the message, case-insensitive', async () => {
    expect(await marks('?search=authenticate')).toEqual(['f1']);
    expect(await marks('?search=AUTHENTICATION')).toEqual(['f6']);
    // The last word also matches as a prefix, in any case.
    expect(await marks('?search=AuThEnTiCaT')).toEqual(['f6', 'f1']);
    expect(await marks('?search=Card%20Declined')).toEqual(['f4']);
    expect(await marks('?search=declined%20card')).toEqual([]);
    expect(await marks('?search=credentials%20for%20user')).toEqual(['f1']);
    expect(await marks('?search=retr')).toEqual(['f3']);
    expect(await marks('?search=nothing-like-this')).toEqual([]);
  });

  it('filters combined (AND), with total counting every match', async () => {
    expect(await marks('?level=ERROR&service=user-service')).toEqual(['f1', 'f7']);
    expect(await marks('?level=ERROR&startDate=2023-10-27T00:00:00Z&endDate=2023-10-27T23:59:59Z')).toEqual([
      'f4',
      'f1',
    ]);
    expect(await marks('?service=user-service&search=authenticat')).toEqual(['f6', 'f1']);
    expect(await marks('?service=user-service&search=authenticat&level=FATAL')).toEqual(['f6']);
    const body = await getJson(t, '/logs?service=user-service&limit=2&offset=1', filters);
    expect(body.data.logs.map((l: Body) => MARK.get(l.message))).toEqual(['f5', 'f2']);
    expect(body.data.pagination).toEqual({ total: 5, limit: 2, offset: 1, nextOffset: 3 });
    const searched = await getJson(t, '/logs?search=authenticat&limit=1', filters);
    expect(searched.data.pagination).toEqual({ total: 2, limit: 1, offset: 0, nextOffset: 1 });
  });

  it('400 bodies: dates, limit, offset, level, and other invalid values', async () => {
    await expect400('?startDate=yesterday', DATE_ERROR('startDate'));
    await expect400('?startDate=2023-10-27T10:00:00', DATE_ERROR('startDate'));
    await expect400('?endDate=2023-13-40T00:00:00Z', DATE_ERROR('endDate'));
    for (const limit of ['0', '1001', 'abc', '1.5', '-3', ''])
      await expect400(`?limit=${limit}`, LIMIT_ERROR);
    for (const offset of ['-1', 'x'])
      await expect400(
        `?offset=${offset}`,
        error("Invalid value for 'offset'. Must be an integer greater than or equal to 0."),
      );
    for (const level of ['info', 'TRACE', 'ERROR,FATAL']) await expect400(`?level=${level}`, LEVEL_ERROR);
    await expect400(
      '?startDate=2023-10-28T00:00:00Z&endDate=2023-10-27T00:00:00Z',
      error("Invalid value for 'startDate'. Must be on or before 'endDate'."),
    );
    await expect400('?search=***', error("Invalid value for 'search'. At least one letter or digit."));
    await expect400(
      '?service=a,b',
      error("Invalid value for 'service'. Must be one service name (no commas)."),
    );
  });

  it('401 and 403 bodies; an API key or a token with logging:read is enough', async () => {
    const unauthenticated = error('Authentication required. Please provide a valid API key or token.');
    for (const headers of [
      {},
      { authorization: 'Bearer lbk_not-a-key' },
      { 'x-api-key': 'wrong' },
      { authorization: `Bearer ${FORGED_JWT}` },
      { authorization: 'Basic YTpi' },
    ] as Record<string, string>[]) {
      const res = await send(t, 'GET', '/logs', { headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json()).toEqual(unauthenticated);
    }
    for (const scopes of [['audit:read'], ['audit:read', 'audit:write', 'logging:write']]) {
      const res = await send(t, 'GET', '/logs', { headers: await keyWith(t, scopes) });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual(error('You do not have permission to access API logs.'));
    }
    // Bad input from someone without access is still a 401 (auth runs first).
    const res = await send(t, 'GET', '/logs?limit=0', { headers: {} });
    expect(res.statusCode).toBe(401);
    const key = await keyWith(t, ['logging:read'], 'api-logs-filters');
    expect((await getJson(t, '/logs?limit=1', key)).data.logs).toHaveLength(1);
    const xKey = { 'x-api-key': `${key.authorization?.replace('Bearer ', '')}` };
    expect((await getJson(t, '/logs?limit=1', xKey)).data.pagination.total).toBe(FILTER_LOGS.length);
  });

  it('an entry written through /api/v1/logs reads back with the right field mapping', async () => {
    const own = await keyWith(t, ['admin'], 'api-logs-cross');
    const [withDetails, bare] = await writeLogs(own, [
      {
        level: 'warning',
        service: 'checkout',
        message: 'Slow upstream: 2300 ms',
        details: { upstream: 'pricing', ms: 2300 },
        traceId: '0af7651916cd43dd8448eb211c80319c',
        host: 'web-1',
      },
      { message: 'plain line' },
    ]);
    const stored = await getJson(t, `/api/v1/logs/${withDetails}`, own);
    const body = await getJson(t, '/logs', own);
    expect(body.data.logs).toEqual(
      expect.arrayContaining([
        {
          id: withDetails,
          timestamp: stored.timestamp,
          level: 'WARN',
          service: 'checkout',
          message: 'Slow upstream: 2300 ms',
          details: { upstream: 'pricing', ms: 2300 },
        },
        {
          id: bare,
          timestamp: expect.any(String),
          level: 'INFO',
          service: 'unknown_service',
          message: 'plain line',
        },
      ]),
    );
    expect(body.data.pagination.total).toBe(2);
    expect(
      (await getJson(t, '/logs?level=WARN&service=checkout&search=upstream', own)).data.logs,
    ).toHaveLength(1);
  });

  it('hostile query values: never a 5xx, every 4xx in the seed’s envelope', async () => {
    for (const template of HOSTILE_GETS) {
      for (const value of NASTY) {
        const url = template.replaceAll('V', value);
        const res = await send(t, 'GET', url, { headers: filters });
        expect(res.statusCode, `${url.slice(0, 200)}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (res.statusCode >= 400) {
          expect(res.statusCode).toBe(400);
          expect(Object.keys(res.json()).sort(), url.slice(0, 200)).toEqual(['message', 'status']);
        } else {
          expect(res.json().status).toBe('success');
        }
      }
    }
    // Repeated parameters are refused, not half-read.
    await expect400('?limit=1&limit=2', LIMIT_ERROR);
    await expect400('?level=INFO&level=WARN', LEVEL_ERROR);
  });

  it('is in the OpenAPI document under its own tag, with its error schema', async () => {
    const doc = await getJson(t, '/openapi.json');
    expect(doc.tags.map((tag: Body) => tag.name)).toContain('compat: API logs');
    const op = doc.paths['/logs'].get;
    expect(op.tags).toEqual(['compat: API logs']);
    for (const status of ['400', '401', '403']) {
      expect(Object.keys(op.responses[status].content['application/json'].schema.properties).sort()).toEqual([
        'message',
        'status',
      ]);
    }
  });
});
