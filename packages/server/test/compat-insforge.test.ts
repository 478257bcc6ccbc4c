// Seed 000 (InsForge activity logs) served by Logbook: every documented request and error body, each parameter
// alone and combined, pagination edges with the six headers, clear through redaction (verifier still passes),
// and stats — on SQLite and PostgreSQL, through the real app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import {
  type Body,
  expectVerified,
  FORGED_JWT,
  getJson,
  keyWith,
  send,
  writeEvents,
} from './support-compat.ts';

const SIX = ['x-total-count', 'x-page', 'x-page-size', 'x-total-pages', 'x-limit', 'x-offset'] as const;

/** The two items of the seed's OpenAPI example, written through /api/v1/events with the same ids. */
const DOC_EVENTS = [
  {
    id: 'log-123',
    occurredAt: '2024-01-21T10:30:00Z',
    action: 'INSERT',
    actor: { id: 'user-789' },
    target: { type: 'posts', id: 'post-456' },
    details: { title: 'New Post', author: 'John Doe' },
  },
  {
    id: 'log-124',
    occurredAt: '2024-01-21T10:31:00Z',
    action: 'LOGIN',
    actor: { id: 'user-789' },
    // A LOGIN written with a target still answers table/record_id null, as documented.
    target: { type: 'auth', id: 'user-789' },
    details: { ip: '192.168.1.1', user_agent: 'Mozilla/5.0...' },
  },
];

/** 25 UPDATEs on comments, one a minute from 2024-02-01T00:00Z, and one DELETE on posts. */
const MORE_EVENTS = [
  ...Array.from({ length: 25 }, (_, i) => ({
    id: `upd-${String(i).padStart(2, '0')}`,
    occurredAt: new Date(Date.UTC(2024, 1, 1, 0, i)).toISOString(),
    action: 'UPDATE',
    actor: { id: `user-${i % 3}` },
    target: { type: 'comments', id: `c-${i}` },
  })),
  {
    id: 'del-1',
    occurredAt: '2024-03-01T12:00:00Z',
    action: 'DELETE',
    actor: { id: 'user-789' },
    target: { type: 'posts', id: 'post-456' },
  },
];

const headersOf = (res: { headers: Record<string, unknown> }) =>
  Object.fromEntries(SIX.map((h) => [h, res.headers[h]]));

describe.each(BACKENDS)('seed 000 InsForge /api/logs on %s', (backend) => {
  let t: TestApp;
  /** Admin bound to tenant "shop", which holds exactly the events above. */
  let shop: Record<string, string>;
  const list = async (query: string) => {
    const res = await send(t, 'GET', `/api/logs${query}`, { headers: shop });
    expect(res.statusCode, res.body).toBe(200);
    return { items: res.json() as Record<string, unknown>[], headers: headersOf(res), res };
  };
  const ids = (items: Record<string, unknown>[]) => items.map((i) => i.id);

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    shop = await keyWith(t, ['admin'], 'shop');
    await writeEvents(t, [...DOC_EVENTS, ...MORE_EVENTS], shop);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('GET /api/logs', () => {
    it('answers the documented example request with the documented items and all six headers', async () => {
      const { items, headers, res } = await list('?limit=50&offset=0&action=INSERT&table=posts');
      expect(items).toEqual([
        {
          id: 'log-123',
          timestamp: '2024-01-21T10:30:00.000Z',
          action: 'INSERT',
          table: 'posts',
          record_id: 'post-456',
          user_id: 'user-789',
          details: { title: 'New Post', author: 'John Doe' },
          table_name: 'posts',
          created_at: '2024-01-21T10:30:00.000Z',
        },
      ]);
      expect(headers).toEqual({
        'x-total-count': '1',
        'x-page': '1',
        'x-page-size': '50',
        'x-total-pages': '1',
        'x-limit': '50',
        'x-offset': '0',
      });
      const exposed = String(res.headers['access-control-expose-headers']).split(/,\s*/);
      expect(exposed).toEqual(
        expect.arrayContaining([
          'X-Total-Count',
          'X-Page',
          'X-Page-Size',
          'X-Total-Pages',
          'X-Limit',
          'X-Offset',
        ]),
      );
    });

    it('LOGIN items have table and record_id null', async () => {
      const { items } = await list('?action=LOGIN');
      expect(items).toEqual([
        {
          id: 'log-124',
          timestamp: '2024-01-21T10:31:00.000Z',
          action: 'LOGIN',
          table: null,
          record_id: null,
          user_id: 'user-789',
          details: { ip: '192.168.1.1', user_agent: 'Mozilla/5.0...' },
          table_name: null,
          created_at: '2024-01-21T10:31:00.000Z',
        },
      ]);
    });

    it('defaults: limit 100, offset 0, newest first', async () => {
      const { items, headers } = await list('');
      expect(items).toHaveLength(28);
      expect(items[0]!.id).toBe('del-1');
      expect(items.at(-1)!.id).toBe('log-123');
      const times = items.map((i) => Date.parse(String(i.timestamp)));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      expect(headers).toEqual({
        'x-total-count': '28',
        'x-page': '1',
        'x-page-size': '100',
        'x-total-pages': '1',
        'x-limit': '100',
        'x-offset': '0',
      });
    });

    it('each parameter alone', async () => {
      const limited = await list('?limit=5');
      expect(ids(limited.items)).toEqual(['del-1', 'upd-24', 'upd-23', 'upd-22', 'upd-21']);
      expect(limited.headers['x-total-pages']).toBe('6');
      expect(ids((await list('?offset=26')).items)).toEqual(['log-124', 'log-123']);
      expect((await list('?action=UPDATE')).items).toHaveLength(25);
      expect(ids((await list('?action=DELETE')).items)).toEqual(['del-1']);
      const comments = await list('?table=comments');
      expect(comments.items).toHaveLength(25);
      expect(comments.items.every((i) => i.table === 'comments')).toBe(true);
      expect(ids((await list('?start_date=2024-02-01T00:23:00Z')).items)).toEqual([
        'del-1',
        'upd-24',
        'upd-23',
      ]);
      // A date-only end_date covers that whole day.
      expect(ids((await list('?end_date=2024-01-21')).items)).toEqual(['log-124', 'log-123']);
      expect(ids((await list('?end_date=2024-01-21T10:30:00Z')).items)).toEqual(['log-123']);
    });

    it('parameters combined (AND) with pagination', async () => {
      const { items, headers } = await list(
        '?action=UPDATE&table=comments&start_date=2024-02-01T00:05:00Z&end_date=2024-02-01T00:09:00Z&limit=2&offset=2',
      );
      expect(ids(items)).toEqual(['upd-07', 'upd-06']);
      expect(headers).toEqual({
        'x-total-count': '5',
        'x-page': '2',
        'x-page-size': '2',
        'x-total-pages': '3',
        'x-limit': '2',
        'x-offset': '2',
      });
      expect(ids((await list('?action=INSERT&table=comments')).items)).toEqual([]);
    });

    it('pagination edges: first, last, beyond the last, empty', async () => {
      const first = await list('?limit=10&offset=0');
      expect(first.items).toHaveLength(10);
      expect(first.headers).toMatchObject({ 'x-page': '1', 'x-total-pages': '3', 'x-total-count': '28' });
      const last = await list('?limit=10&offset=20');
      expect(ids(last.items)).toEqual([
        'upd-05',
        'upd-04',
        'upd-03',
        'upd-02',
        'upd-01',
        'upd-00',
        'log-124',
        'log-123',
      ]);
      expect(last.items).toHaveLength(8);
      expect(last.items.at(-1)!.id).toBe('log-123');
      expect(last.headers).toMatchObject({ 'x-page': '3', 'x-total-pages': '3' });
      // Pages are disjoint and together hold every log once.
      const middle = await list('?limit=10&offset=10');
      const all = [...ids(first.items), ...ids(middle.items), ...ids(last.items)];
      expect(new Set(all).size).toBe(28);
      const beyond = await list('?limit=10&offset=28');
      expect(beyond.items).toEqual([]);
      expect(beyond.headers).toEqual({
        'x-total-count': '28',
        'x-page': '3',
        'x-page-size': '10',
        'x-total-pages': '3',
        'x-limit': '10',
        'x-offset': '28',
      });
      expect((await list('?offset=100000')).items).toEqual([]);
      const empty = await list('?action=NO_SUCH_ACTION');
      expect(empty.items).toEqual([]);
      expect(empty.headers).toMatchObject({ 'x-total-count': '0', 'x-total-pages': '0', 'x-page': '1' });
      // A large limit is served across several internal pages.
      expect((await list('?limit=5000')).items).toHaveLength(28);
    });

    it('rejects bad parameters with InsForge 400 bodies', async () => {
      for (const query of [
        'limit=abc',
        'limit=0',
        'limit=-1',
        'limit=10001',
        'offset=-1',
        'offset=1.5',
        'action=A,B',
      ]) {
        const res = await send(t, 'GET', `/api/logs?${query}`, { headers: shop });
        expect(res.statusCode, query).toBe(400);
        const param = query.split('=')[0];
        expect(res.json()).toEqual({
          error: 'INVALID_INPUT',
          message: expect.stringContaining(`Invalid value for '${param}' parameter`),
          statusCode: 400,
          nextAction: 'Check the request parameters against the API documentation.',
        });
      }
      for (const param of ['start_date', 'end_date']) {
        const res = await send(t, 'GET', `/api/logs?${param}=yesterday`, { headers: shop });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({
          error: 'INVALID_DATE',
          message: `Invalid date format for '${param}' parameter`,
          statusCode: 400,
          nextAction: 'Use ISO 8601 date format (YYYY-MM-DDTHH:mm:ssZ)',
        });
      }
    });
  });

  describe('GET /api/logs/stats', () => {
    it('counts by action, the busiest tables (table_name), the last 24 hours and the total, as integers', async () => {
      const stats = await getJson(t, '/api/logs/stats', shop);
      expect(Object.keys(stats).sort()).toEqual(['actionStats', 'recentActivity', 'tableStats', 'totalLogs']);
      expect([...stats.actionStats].sort((a: Body, b: Body) => a.action.localeCompare(b.action))).toEqual([
        { action: 'DELETE', count: 1 },
        { action: 'INSERT', count: 1 },
        { action: 'LOGIN', count: 1 },
        { action: 'UPDATE', count: 25 },
      ]);
      expect(stats.tableStats).toEqual([
        { table_name: 'comments', count: 25 },
        { table_name: 'posts', count: 2 },
        { table_name: 'auth', count: 1 },
      ]);
      expect(stats.recentActivity).toBe(0);
      expect(stats.totalLogs).toBe(28);
    });

    it('lists at most ten tables, busiest first, and counts the last 24 hours', async () => {
      const other = await keyWith(t, ['admin'], 'tables');
      await writeEvents(
        t,
        Array.from({ length: 12 }, (_, i) => ({
          action: 'INSERT',
          actor: { id: 'u' },
          target: { type: `t${i}` },
        })).flatMap((e, i) => Array.from({ length: i + 1 }, () => e)),
        other,
      );
      const stats = await getJson(t, '/api/logs/stats', other);
      expect(stats.tableStats).toHaveLength(10);
      expect(stats.tableStats[0]).toEqual({ table_name: 't11', count: 12 });
      expect(stats.tableStats[9]).toEqual({ table_name: 't2', count: 3 });
      expect(stats.recentActivity).toBe(78);
      expect(stats.totalLogs).toBe(78);
      expect(Number.isInteger(stats.totalLogs)).toBe(true);
    });
  });

  describe('DELETE /api/logs', () => {
    it('clears logs before a timestamp through redaction: gone from list and stats, recorded, verifiable', async () => {
      const admin = await keyWith(t, ['admin'], 'wipe');
      await writeEvents(t, [...DOC_EVENTS, ...MORE_EVENTS], admin);
      // The documented example: "before" is exclusive, so the log at exactly 10:30:00 stays.
      const example = await send(t, 'DELETE', '/api/logs?before=2024-01-21T10:30:00Z', { headers: admin });
      expect(example.json()).toEqual({ message: 'Logs cleared successfully', deleted_count: 0, deleted: 0 });
      const res = await send(t, 'DELETE', '/api/logs?before=2024-01-21T10:30:30Z', { headers: admin });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ message: 'Logs cleared successfully', deleted_count: 1, deleted: 1 });
      const after = await send(t, 'GET', '/api/logs?limit=100', { headers: admin });
      const items = after.json() as Body[];
      expect(items.map((i) => i.id)).not.toContain('log-123');
      expect(items.map((i) => i.id)).toContain('log-124');
      // The deletion is itself an audit event, naming the reason and cut-off.
      const record = items.find((i) => i.action === 'logbook.events.redact')!;
      expect(record.details).toMatchObject({ before: '2024-01-21T10:30:30.000Z' });
      expect(after.headers['x-total-count']).toBe('29'); // 28 - 1 redacted + 2 deletion records
      const stats = await getJson(t, '/api/logs/stats', admin);
      expect(stats.actionStats).not.toContainEqual({ action: 'INSERT', count: 1 });
      await expectVerified(t);
    });

    it('without before clears every log; only the deletion record remains; verify passes', async () => {
      const admin = await keyWith(t, ['admin'], 'wipe-all');
      await writeEvents(t, MORE_EVENTS, admin);
      const res = await send(t, 'DELETE', '/api/logs', { headers: admin });
      expect(res.json()).toEqual({ message: 'Logs cleared successfully', deleted_count: 26, deleted: 26 });
      const { items, headers } = await (async () => {
        const r = await send(t, 'GET', '/api/logs', { headers: admin });
        return { items: r.json() as Body[], headers: headersOf(r) };
      })();
      expect(items.map((i) => i.action)).toEqual(['logbook.events.redact']);
      expect(headers['x-total-count']).toBe('1');
      expect((await getJson(t, '/api/logs/stats', admin)).totalLogs).toBe(1);
      await expectVerified(t);
    });

    // A later clear must not delete the earlier deletion records: they are what proves those deletions.
    it('a later clear keeps earlier deletion records (they prove the deletions), and verify passes', async () => {
      const admin = await keyWith(t, ['admin'], 'wipe-twice');
      await writeEvents(t, MORE_EVENTS.slice(0, 3), admin);
      expect((await send(t, 'DELETE', '/api/logs', { headers: admin })).json()).toMatchObject({
        deleted_count: 3,
      });
      expect((await send(t, 'DELETE', '/api/logs', { headers: admin })).json()).toMatchObject({
        deleted_count: 0,
      });
      const items = (await send(t, 'GET', '/api/logs', { headers: admin })).json() as { action: string }[];
      expect(items.map((i) => i.action)).toEqual(['logbook.events.redact', 'logbook.events.redact']);
      await expectVerified(t);
    });

    it('a bad before is the documented 400, and nothing is deleted', async () => {
      for (const before of ['not-a-date', '2024-13-01T00:00:00Z', '21/01/2024', '']) {
        const res = await send(t, 'DELETE', `/api/logs?before=${encodeURIComponent(before)}`, {
          headers: shop,
        });
        expect(res.statusCode, before).toBe(400);
        expect(res.json()).toEqual({
          error: 'INVALID_DATE',
          message: "Invalid date format for 'before' parameter",
          statusCode: 400,
          nextAction: 'Use ISO 8601 date format (YYYY-MM-DDTHH:mm:ssZ)',
        });
      }
      expect((await list('')).items).toHaveLength(28);
    });
  });

  describe('authentication and scopes', () => {
    it('401 bodies: no token, invalid token, invalid API key', async () => {
      const none = await send(t, 'GET', '/api/logs', { headers: {} });
      expect(none.statusCode).toBe(401);
      expect(none.json()).toEqual({
        error: 'AUTH_INVALID_CREDENTIALS',
        message: 'No admin token provided',
        statusCode: 401,
        nextAction: 'Check the token is valid or login to get a new token.',
      });
      const jwt = await send(t, 'GET', '/api/logs/stats', {
        headers: { authorization: `Bearer ${FORGED_JWT}` },
      });
      expect(jwt.statusCode).toBe(401);
      expect(jwt.json()).toEqual({
        error: 'AUTH_INVALID_CREDENTIALS',
        message: 'Invalid admin token',
        statusCode: 401,
        nextAction: 'Check the token is valid or login to get a new token.',
      });
      for (const headers of [{ 'x-api-key': 'ik_wrong' }, { authorization: 'Bearer ik_wrong' }] as Record<
        string,
        string
      >[]) {
        const key = await send(t, 'DELETE', '/api/logs', { headers });
        expect(key.statusCode).toBe(401);
        expect(key.json()).toEqual({
          error: 'AUTH_INVALID_API_KEY',
          message: 'Invalid API key',
          statusCode: 401,
          nextAction: 'Check the token is valid or login to get a new token.',
        });
      }
    });

    it('403 body for a credential without the scope; reads need audit:read, clear needs admin', async () => {
      const writer = await keyWith(t, ['audit:write']);
      const reader = await keyWith(t, ['audit:read']);
      const forbidden = {
        error: 'AUTH_UNAUTHORIZED',
        message: 'Admin access required',
        statusCode: 403,
        nextAction: 'Check the admin token is valid or login as admin to get a new token.',
      };
      for (const url of ['/api/logs', '/api/logs/stats']) {
        const res = await send(t, 'GET', url, { headers: writer });
        expect(res.statusCode).toBe(403);
        expect(res.json()).toEqual(forbidden);
        expect((await send(t, 'GET', url, { headers: reader })).statusCode).toBe(200);
      }
      const clear = await send(t, 'DELETE', '/api/logs?before=2000-01-01T00:00:00Z', { headers: reader });
      expect(clear.statusCode).toBe(403);
      expect(clear.json()).toEqual(forbidden);
      // X-API-Key works as well as Bearer.
      const viaHeader = await send(t, 'GET', '/api/logs', {
        headers: { 'x-api-key': reader.authorization!.replace('Bearer ', '') },
      });
      expect(viaHeader.statusCode).toBe(200);
    });
  });

  it('is in the OpenAPI document under its own tag, with its error schema', async () => {
    const doc = await getJson(t, '/openapi.json');
    const tag = 'compat: InsForge logs';
    expect(doc.tags.map((x: { name: string }) => x.name)).toContain(tag);
    expect(Object.keys(doc.paths['/api/logs'].get.responses['200'].headers)).toEqual([
      'X-Total-Count',
      'X-Page',
      'X-Page-Size',
      'X-Total-Pages',
      'X-Limit',
      'X-Offset',
    ]);
    for (const [path, method] of [
      ['/api/logs', 'get'],
      ['/api/logs', 'delete'],
      ['/api/logs/stats', 'get'],
    ] as const) {
      const op = doc.paths[path][method];
      expect(op.tags).toEqual([tag]);
      expect(Object.keys(op.responses['401'].content['application/json'].schema.properties).sort()).toEqual([
        'error',
        'message',
        'nextAction',
        'statusCode',
      ]);
    }
  });
});

describe('seed 000 headers through CORS', () => {
  it('a browser origin can read the six headers and the request id', async () => {
    const t = await makeTestApp({ corsOrigins: ['https://dash.example.com'] });
    try {
      const res = await send(t, 'GET', '/api/logs', {
        headers: { ...t.auth, origin: 'https://dash.example.com' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('https://dash.example.com');
      const exposed = String(res.headers['access-control-expose-headers']).toLowerCase().split(/,\s*/);
      expect(exposed).toEqual(expect.arrayContaining([...SIX, 'x-request-id']));
    } finally {
      await t.close();
    }
  });
});
