// Seed 003 (scoped audit and system logs, a FastAPI product) served by Logbook: the documented examples, cursor
// pages at the edges, every filter alone and combined, FastAPI error bodies (401/403/404/422), delete by id (the
// verifier still passes), the OAuth2 password login, and cross-surface reads of events written through
// /api/v1/events and logs written through /api/v1/logs — on SQLite and PostgreSQL.
import type { LightMyRequestResponse } from 'fastify';
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
import { createUser } from './support-identity.ts';

const DOC_1 = '6650f0c2a1';
const DOC_2 = '6650f0b9ff';

/** The documented example's two entries, then three older ones for the filters (written via /api/v1/events). */
const AUDIT_EVENTS = [
  {
    id: 'a3',
    occurredAt: '2025-04-30T23:00:00Z',
    action: 'login',
    actor: { id: 'u_7', type: 'user' },
    outcome: 'failure',
    description: 'Failed sign-in from unknown device',
    context: { ip: '10.0.0.1' },
  },
  {
    id: 'a2',
    occurredAt: '2025-05-01T09:00:00Z',
    action: 'permission.change',
    actor: { id: 'svc-admin', type: 'service' },
    target: { type: 'user', id: 'u_42' },
    outcome: 'failure',
    context: { ip: '10.0.0.2' },
  },
  {
    id: 'a1',
    occurredAt: '2025-05-01T10:00:00Z',
    action: 'scopeset.update',
    actor: { id: 'u_7', name: 'Ada', type: 'user' },
    target: { type: 'scopeset', id: 'ss-1' },
    description: 'Added audit:read to ops',
    context: { ip: '10.0.0.1', userAgent: 'curl/8.4' },
    details: { added: ['audit:read'] },
  },
  {
    id: DOC_2,
    occurredAt: '2025-05-01T11:58:40Z',
    action: 'login',
    actor: { id: 'u_42', type: 'user' },
    context: { ip: '192.0.2.10' },
  },
  {
    id: DOC_1,
    occurredAt: '2025-05-01T12:00:03Z',
    action: 'apikey.create',
    actor: { id: 'u_42', name: 'Grace', type: 'user' },
    target: { type: 'api_key', id: 'key-9' },
    context: { ip: '192.0.2.10', userAgent: 'Mozilla/5.0' },
    details: { name: 'ci', scopes: ['audit:read'] },
  },
];
const ALL_DESC = [DOC_1, DOC_2, 'a1', 'a2', 'a3'];

const DOC_1_ITEM = {
  id: DOC_1,
  timestamp: '2025-05-01T12:00:03.000Z',
  action: 'apikey.create',
  actor_id: 'u_42',
  actor_type: 'user',
  actor_name: 'Grace',
  target_type: 'api_key',
  target_id: 'key-9',
  ip_address: '192.0.2.10',
  user_agent: 'Mozilla/5.0',
  outcome: 'success',
  description: null,
  details: { name: 'ci', scopes: ['audit:read'] },
};
const DOC_2_ITEM = {
  id: DOC_2,
  timestamp: '2025-05-01T11:58:40.000Z',
  action: 'login',
  actor_id: 'u_42',
  actor_type: 'user',
  actor_name: null,
  target_type: null,
  target_id: null,
  ip_address: '192.0.2.10',
  user_agent: null,
  outcome: 'success',
  description: null,
  details: null,
};

/** System logs for the twin surface (written via /api/v1/logs), oldest first. */
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SYSTEM_LOGS = [
  { timestamp: '2025-05-01T08:00:00Z', level: 'DEBUG', service: 'api', message: 'cache warm' },
  {
    timestamp: '2025-05-01T09:00:00Z',
    level: 'INFO',
    service: 'api',
    message: 'request served',
    traceId: TRACE,
    spanId: '00f067aa0ba902b7',
    host: 'web-1',
    details: { status: 200, path: '/orders' },
  },
  { timestamp: '2025-05-01T10:00:00Z', level: 'WARN', service: 'worker', message: 'queue backlog growing' },
  { timestamp: '2025-05-01T11:00:00Z', level: 'ERROR', service: 'worker', message: 'Job failed: timeout' },
  { timestamp: '2025-05-01T12:00:00Z', level: 'FATAL', service: 'db', message: 'disk full' },
];

/** One FastAPI validation error. */
const v = (loc: (string | number)[], msg: string, type: string) => ({ detail: [{ loc, msg, type }] });

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
  '/api/logging/audit/?limit=V',
  '/api/logging/audit/?cursor=V',
  '/api/logging/audit/?sort_by=V&sort_order=V',
  '/api/logging/audit/?include_total=V',
  '/api/logging/audit/?start=V&end=V',
  '/api/logging/audit/?action=V&actor_id=V&target_type=V&target_id=V',
  '/api/logging/audit/?outcome=V&ip_address=V',
  '/api/logging/audit/?search=V',
  '/api/logging/audit/V',
  '/api/logging/system/?limit=V&cursor=V',
  '/api/logging/system/?level=V',
  '/api/logging/system/?service=V&trace_id=V',
  '/api/logging/system/?start=V&end=V&search=V',
  '/api/logging/system/V',
];

describe.each(BACKENDS)('seed 003 scoped logs /api/logging on %s', (backend) => {
  let t: TestApp;
  let audit: Record<string, string>;
  let xKey: Record<string, string>;
  let system: Record<string, string>;
  let logIds: string[];

  const ids = (body: Body) => (body.items as { id: string }[]).map((i) => i.id);
  const auditIds = async (query: string) => ids(await getJson(t, `/api/logging/audit/${query}`, audit));
  const messages = async (query: string) =>
    ((await getJson(t, `/api/logging/system/${query}`, system)).items as { message: string }[]).map(
      (i) => i.message,
    );
  const expect422 = async (url: string, body: unknown, headers = audit) => {
    const res = await send(t, 'GET', url, { headers });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(422);
    expect(res.json()).toEqual(body);
  };
  /** Follows next_cursor to the end; the ids seen and the pages' sizes. */
  const walk = async (url: string, headers: Record<string, string>) => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 50; guard++) {
      const sep = url.includes('?') ? '&' : '?';
      const page: Body = await getJson(t, cursor ? `${url}${sep}cursor=${cursor}` : url, headers);
      seen.push(...ids(page));
      sizes.push(page.items.length);
      expect(page.next_page).toBe(page.next_cursor !== null);
      cursor = page.next_page ? page.next_cursor : null;
      if (cursor === null) break;
    }
    return { seen, sizes };
  };
  const form = (payload: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    t.app.inject({
      method: 'POST',
      url: '/api/login/access-token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload,
    });

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    audit = await keyWith(t, ['admin'], 'scoped-audit');
    xKey = { 'x-api-key': `${(await keyWith(t, ['audit:read'], 'scoped-audit')).authorization?.slice(7)}` };
    system = await keyWith(t, ['admin'], 'scoped-system');
    await writeEvents(t, AUDIT_EVENTS, audit);
    const res = await send(t, 'POST', '/api/v1/logs', { headers: system, payload: { logs: SYSTEM_LOGS } });
    expect(res.statusCode, res.body).toBe(201);
    logIds = (res.json().logs as { id: string }[]).map((l) => l.id);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('audit logs', () => {
    it('answers the documented example (X-API-Key, limit=2, sort_by=timestamp, sort_order=desc)', async () => {
      const body = await getJson(t, '/api/logging/audit/?limit=2&sort_by=timestamp&sort_order=desc', xKey);
      expect(body).toEqual({
        items: [DOC_1_ITEM, DOC_2_ITEM],
        next_cursor: expect.any(String),
        next_page: true,
        limit: 2,
        collection_total: 5,
      });
    });

    it('serves the list with and without the trailing slash; defaults limit 50, newest first', async () => {
      const slash = await getJson(t, '/api/logging/audit/', audit);
      const bare = await getJson(t, '/api/logging/audit', audit);
      expect(bare).toEqual(slash);
      expect(slash).toMatchObject({ next_cursor: null, next_page: false, limit: 50, collection_total: 5 });
      expect(ids(slash)).toEqual(ALL_DESC);
      expect(slash.items[2]).toEqual({
        id: 'a1',
        timestamp: '2025-05-01T10:00:00.000Z',
        action: 'scopeset.update',
        actor_id: 'u_7',
        actor_type: 'user',
        actor_name: 'Ada',
        target_type: 'scopeset',
        target_id: 'ss-1',
        ip_address: '10.0.0.1',
        user_agent: 'curl/8.4',
        outcome: 'success',
        description: 'Added audit:read to ops',
        details: { added: ['audit:read'] },
      });
    });

    it('cursor pages: first, middle, last; asc; limit edges; include_total', async () => {
      const desc = await walk('/api/logging/audit/?limit=2', audit);
      expect(desc).toEqual({ seen: ALL_DESC, sizes: [2, 2, 1] });
      const asc = await walk('/api/logging/audit/?limit=2&sort_order=asc', audit);
      expect(asc.seen).toEqual([...ALL_DESC].reverse());
      // Exactly filling the last page: no further page is announced.
      expect((await walk('/api/logging/audit/?limit=5', audit)).sizes).toEqual([5]);
      expect((await walk('/api/logging/audit/?limit=1', audit)).sizes).toEqual([1, 1, 1, 1, 1]);
      expect((await getJson(t, '/api/logging/audit/?limit=250', audit)).limit).toBe(250);
      const noTotal = await getJson(t, '/api/logging/audit/?limit=2&include_total=false', audit);
      expect(noTotal).toMatchObject({ collection_total: 0, next_page: true, limit: 2 });
      expect(ids(noTotal)).toEqual([DOC_1, DOC_2]);
      expect((await getJson(t, '/api/logging/audit/?include_total=true', audit)).collection_total).toBe(5);
      // A filter that matches nothing: an empty last page.
      expect(await getJson(t, '/api/logging/audit/?action=nothing', audit)).toEqual({
        items: [],
        next_cursor: null,
        next_page: false,
        limit: 50,
        collection_total: 0,
      });
    });

    it('each filter alone', async () => {
      expect(await auditIds('?action=login')).toEqual([DOC_2, 'a3']);
      expect(await auditIds('?action=login,apikey.create')).toEqual([DOC_1, DOC_2, 'a3']);
      expect(await auditIds('?actor_id=u_7')).toEqual(['a1', 'a3']);
      expect(await auditIds('?target_type=user')).toEqual(['a2']);
      expect(await auditIds('?target_id=ss-1')).toEqual(['a1']);
      expect(await auditIds('?outcome=failure')).toEqual(['a2', 'a3']);
      expect(await auditIds('?ip_address=10.0.0.1')).toEqual(['a1', 'a3']);
      // start and end are inclusive; a date-only end covers that day.
      expect(await auditIds('?start=2025-05-01T10:00:00Z')).toEqual([DOC_1, DOC_2, 'a1']);
      expect(await auditIds('?end=2025-05-01T10:00:00Z')).toEqual(['a1', 'a2', 'a3']);
      expect(await auditIds('?end=2025-04-30')).toEqual(['a3']);
      expect(await auditIds('?search=unknown%20device')).toEqual(['a3']);
      expect(await auditIds('?search=SIGN-IN')).toEqual(['a3']);
    });

    it('filters combined (AND), with collection_total counting every match', async () => {
      expect(await auditIds('?action=login&outcome=failure')).toEqual(['a3']);
      expect(await auditIds('?actor_id=u_42&start=2025-05-01T12:00:00Z')).toEqual([DOC_1]);
      expect(await auditIds('?ip_address=10.0.0.1&end=2025-05-01&sort_order=asc')).toEqual(['a3', 'a1']);
      const page = await getJson(t, '/api/logging/audit/?outcome=success&limit=1', audit);
      expect(page).toMatchObject({ collection_total: 3, next_page: true });
      expect(ids(page)).toEqual([DOC_1]);
      const rest = await walk('/api/logging/audit/?outcome=success&limit=1', audit);
      expect(rest.seen).toEqual([DOC_1, DOC_2, 'a1']);
    });

    it('/filters describes the real filterable and sortable fields and the actions that exist', async () => {
      const body = await getJson(t, '/api/logging/audit/filters', audit);
      expect(body.fields.action).toMatchObject({
        operators: ['eq', 'in'],
        values: ['apikey.create', 'login', 'permission.change', 'scopeset.update'],
      });
      expect(Object.keys(body.fields).sort()).toEqual(
        [
          'action',
          'actor_id',
          'ip_address',
          'outcome',
          'search',
          'target_id',
          'target_type',
          'timestamp',
        ].sort(),
      );
      expect(body.fields.timestamp).toEqual({
        type: 'datetime',
        operators: ['gte', 'lte'],
        params: { gte: 'start', lte: 'end' },
      });
      expect(body.fields.outcome.values).toEqual(['success', 'failure']);
      expect(body.sort).toEqual({
        fields: ['timestamp'],
        orders: ['desc', 'asc'],
        default: { sort_by: 'timestamp', sort_order: 'desc' },
      });
      expect(body.pagination).toEqual({ default_limit: 50, max_limit: 250 });
      // Every advertised parameter is accepted by the list.
      for (const field of Object.values(body.fields) as { params: Record<string, string> }[]) {
        for (const param of Object.values(field.params)) {
          const name = param.split(' ')[0]!;
          const value = name === 'start' || name === 'end' ? '2025-05-01T00:00:00Z' : 'x';
          const res = await send(t, 'GET', `/api/logging/audit/?${name}=${value}`, { headers: audit });
          expect(res.statusCode, `${name}: ${res.body}`).toBe(name === 'outcome' ? 422 : 200);
        }
      }
    });

    it('GET by id; 404 {"detail":"Not Found"} for an unknown id', async () => {
      expect(await getJson(t, `/api/logging/audit/${DOC_1}`, xKey)).toEqual(DOC_1_ITEM);
      const res = await send(t, 'GET', '/api/logging/audit/no-such-id', { headers: audit });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Not Found' });
    });

    it('422 bodies in FastAPI shape for every invalid parameter', async () => {
      const url = '/api/logging/audit/';
      await expect422(
        `${url}?limit=0`,
        v(['query', 'limit'], 'Input should be greater than or equal to 1', 'greater_than_equal'),
      );
      await expect422(
        `${url}?limit=251`,
        v(['query', 'limit'], 'Input should be less than or equal to 250', 'less_than_equal'),
      );
      await expect422(
        `${url}?limit=abc`,
        v(
          ['query', 'limit'],
          'Input should be a valid integer, unable to parse string as an integer',
          'int_parsing',
        ),
      );
      await expect422(
        `${url}?sort_by=action`,
        v(['query', 'sort_by'], "Input should be 'timestamp'", 'literal_error'),
      );
      await expect422(
        `${url}?sort_order=up`,
        v(['query', 'sort_order'], "Input should be 'desc' or 'asc'", 'literal_error'),
      );
      await expect422(
        `${url}?include_total=maybe`,
        v(
          ['query', 'include_total'],
          'Input should be a valid boolean, unable to interpret input',
          'bool_parsing',
        ),
      );
      await expect422(
        `${url}?outcome=meh`,
        v(['query', 'outcome'], "Input should be 'success' or 'failure'", 'literal_error'),
      );
      await expect422(
        `${url}?start=yesterday`,
        v(['query', 'start'], 'Input should be a valid datetime', 'datetime_parsing'),
      );
      await expect422(
        `${url}?end=2025-02-30T00:00:00Z`,
        v(['query', 'end'], 'Input should be a valid datetime', 'datetime_parsing'),
      );
      await expect422(
        `${url}?start=2025-05-02T00:00:00Z&end=2025-05-01T00:00:00Z`,
        v(['query', 'start'], 'Value error, start must be on or before end', 'value_error'),
      );
      await expect422(
        `${url}?cursor=garbage`,
        v(['query', 'cursor'], 'Value error, invalid cursor', 'value_error'),
      );
      // A cursor of a descending walk is not a cursor of an ascending one.
      const first = await getJson(t, `${url}?limit=1`, audit);
      await expect422(
        `${url}?limit=1&sort_order=asc&cursor=${first.next_cursor}`,
        v(['query', 'cursor'], 'Value error, invalid cursor', 'value_error'),
      );
      await expect422(
        `${url}?search=***`,
        v(['query', 'search'], 'Value error, at least one letter or digit', 'value_error'),
      );
    });

    it('401/403 bodies: no credential, bad credential, missing scope', async () => {
      for (const url of [
        '/api/logging/audit/',
        `/api/logging/audit/${DOC_1}`,
        '/api/logging/audit/filters',
      ]) {
        const none = await send(t, 'GET', url, { headers: {} });
        expect(none.statusCode).toBe(401);
        expect(none.json()).toEqual({ detail: 'Not authenticated' });
        expect(none.headers['www-authenticate']).toBe('Bearer');
        for (const headers of [
          { authorization: 'Bearer sla_live_wrong' },
          { 'x-api-key': 'sla_live_wrong' },
          { authorization: `Bearer ${FORGED_JWT}` },
        ] as Record<string, string>[]) {
          const bad = await send(t, 'GET', url, { headers });
          expect(bad.statusCode).toBe(401);
          expect(bad.json()).toEqual({ detail: 'Could not validate credentials' });
        }
        const forbidden = await send(t, 'GET', url, {
          headers: await keyWith(t, ['logging:read', 'audit:write']),
        });
        expect(forbidden.statusCode).toBe(403);
        expect(forbidden.json()).toEqual({ detail: 'Not enough permissions' });
      }
    });

    it('DELETE by id: 204, payload gone, deletion recorded, verifier passes; 403/404 bodies', async () => {
      const own = await keyWith(t, ['admin'], 'scoped-delete');
      const [keep, gone] = await writeEvents(
        t,
        [
          { action: 'login', actor: { id: 'u_1' } },
          { action: 'apikey.create', actor: { id: 'u_1' }, details: { secret: 'to be erased' } },
        ],
        own,
      );
      const reader = await keyWith(t, ['audit:read'], 'scoped-delete');
      const denied = await send(t, 'DELETE', `/api/logging/audit/${gone}`, { headers: reader });
      expect(denied.statusCode).toBe(403);
      expect(denied.json()).toEqual({ detail: 'Not enough permissions' });
      const writer = await keyWith(t, ['audit:write', 'audit:read'], 'scoped-delete');
      const res = await send(t, 'DELETE', `/api/logging/audit/${gone}`, { headers: writer });
      expect(res.statusCode, res.body).toBe(204);
      expect(res.body).toBe('');
      const after = await send(t, 'GET', `/api/logging/audit/${gone}`, { headers: own });
      expect(after.statusCode).toBe(404);
      expect(after.json()).toEqual({ detail: 'Not Found' });
      const list = await getJson(t, '/api/logging/audit/', own);
      expect(ids(list)).not.toContain(gone);
      expect(ids(list)).toContain(keep);
      const record = list.items.find((i: Body) => i.action === 'logbook.events.redact');
      expect(record).toMatchObject({ details: { ids: [gone] }, target_type: null });
      expect(record.details.reason).toBe(`DELETE /api/logging/audit/${gone}`);
      // Again, an unknown id, another tenant's id: 404, and no further deletion record.
      for (const id of [gone, 'no-such-id', DOC_1]) {
        const again = await send(t, 'DELETE', `/api/logging/audit/${id}`, { headers: writer });
        expect(again.statusCode, id).toBe(404);
        expect(again.json()).toEqual({ detail: 'Not Found' });
      }
      const records = (await getJson(t, '/api/logging/audit/?action=logbook.events.redact', own)).items;
      expect(records).toHaveLength(1);
      expect((await getJson(t, `/api/logging/audit/${DOC_1}`, audit)).id).toBe(DOC_1);
      await expectVerified(t);
    });
  });

  describe('system logs', () => {
    it('lists with cursor pages, newest first, and maps every field', async () => {
      const body = await getJson(t, '/api/logging/system/?limit=2', system);
      expect(body).toMatchObject({ next_page: true, limit: 2, collection_total: 5 });
      expect(body.items.map((i: Body) => i.message)).toEqual(['disk full', 'Job failed: timeout']);
      expect(await getJson(t, '/api/logging/system', system)).toEqual(
        await getJson(t, '/api/logging/system/', system),
      );
      const walked = await walk('/api/logging/system/?limit=2', system);
      expect(walked).toEqual({ seen: [...logIds].reverse(), sizes: [2, 2, 1] });
      expect((await walk('/api/logging/system/?limit=3&sort_order=asc', system)).seen).toEqual(logIds);
      expect((await getJson(t, '/api/logging/system/?include_total=false', system)).collection_total).toBe(0);
      const stored = await getJson(t, `/api/v1/logs/${logIds[1]}`, system);
      expect(await getJson(t, `/api/logging/system/${logIds[1]}`, system)).toEqual({
        id: logIds[1],
        timestamp: stored.timestamp,
        level: 'INFO',
        service: 'api',
        message: 'request served',
        details: { status: 200, path: '/orders' },
        trace_id: TRACE,
        span_id: '00f067aa0ba902b7',
        host: 'web-1',
      });
      expect(await getJson(t, `/api/logging/system/${logIds[0]}`, system)).toMatchObject({
        details: null,
        trace_id: null,
        span_id: null,
        host: null,
      });
      const missing = await send(t, 'GET', '/api/logging/system/nope', { headers: system });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({ detail: 'Not Found' });
    });

    it('each filter alone and combined', async () => {
      expect(await messages('?level=ERROR')).toEqual(['Job failed: timeout']);
      expect(await messages('?level=error,fatal')).toEqual(['disk full', 'Job failed: timeout']);
      expect(await messages('?service=worker')).toEqual(['Job failed: timeout', 'queue backlog growing']);
      expect(await messages('?service=api,db')).toEqual(['disk full', 'request served', 'cache warm']);
      expect(await messages(`?trace_id=${TRACE}`)).toEqual(['request served']);
      expect(await messages('?start=2025-05-01T11:00:00Z')).toEqual(['disk full', 'Job failed: timeout']);
      expect(await messages('?end=2025-05-01T09:00:00Z')).toEqual(['request served', 'cache warm']);
      expect(await messages('?search=BACKLOG')).toEqual(['queue backlog growing']);
      expect(await messages('?search=orders')).toEqual(['request served']);
      expect(await messages('?service=worker&level=WARN')).toEqual(['queue backlog growing']);
      expect(await messages('?service=api&start=2025-05-01T08:30:00Z&search=served')).toEqual([
        'request served',
      ]);
      const none = await getJson(t, '/api/logging/system/?service=nobody', system);
      expect(none).toEqual({
        items: [],
        next_cursor: null,
        next_page: false,
        limit: 50,
        collection_total: 0,
      });
      const counted = await getJson(t, '/api/logging/system/?service=api,worker&limit=1', system);
      expect(counted).toMatchObject({ collection_total: 4, next_page: true });
    });

    it('/filters lists the levels and the services that exist', async () => {
      const body = await getJson(t, '/api/logging/system/filters', system);
      expect(body.fields.level.values).toEqual(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);
      expect(body.fields.service.values).toEqual(['api', 'db', 'worker']);
      expect(Object.keys(body.fields).sort()).toEqual([
        'level',
        'search',
        'service',
        'timestamp',
        'trace_id',
      ]);
      expect(body.sort.fields).toEqual(['timestamp']);
    });

    it('422 and 401/403 bodies', async () => {
      const url = '/api/logging/system/';
      await expect422(
        `${url}?level=loud`,
        v(['query', 'level'], "Input should be 'DEBUG', 'INFO', 'WARN', 'ERROR' or 'FATAL'", 'literal_error'),
        system,
      );
      await expect422(
        `${url}?trace_id=xyz`,
        v(
          ['query', 'trace_id'],
          "String should match pattern '^[0-9a-fA-F]{32}$'",
          'string_pattern_mismatch',
        ),
        system,
      );
      await expect422(
        `${url}?limit=300`,
        v(['query', 'limit'], 'Input should be less than or equal to 250', 'less_than_equal'),
        system,
      );
      const none = await send(t, 'GET', url, { headers: {} });
      expect(none.statusCode).toBe(401);
      expect(none.json()).toEqual({ detail: 'Not authenticated' });
      const auditOnly = await keyWith(t, ['audit:read', 'audit:write']);
      for (const [method, path] of [
        ['GET', url],
        ['GET', `${url}filters`],
        ['GET', `${url}${logIds[0]}`],
        ['DELETE', `${url}${logIds[0]}`],
      ] as const) {
        const res = await send(t, method, path, { headers: auditOnly });
        expect(res.statusCode, path).toBe(403);
        expect(res.json()).toEqual({ detail: 'Not enough permissions' });
      }
      const readOnly = await keyWith(t, ['logging:read'], 'scoped-system');
      const res = await send(t, 'DELETE', `${url}${logIds[0]}`, { headers: readOnly });
      expect(res.statusCode).toBe(403);
    });

    it('DELETE by id: 204, gone from every surface, recorded as an audit event; 404 after', async () => {
      const own = await keyWith(t, ['admin'], 'scoped-system-delete');
      const written = await send(t, 'POST', '/api/v1/logs', {
        headers: own,
        payload: [
          { message: 'keep me', service: 'svc', timestamp: '2025-05-01T10:00:00Z' },
          { message: 'delete me', service: 'svc', level: 'ERROR', timestamp: '2025-05-01T10:00:01Z' },
        ],
      });
      const [keep, gone] = (written.json().logs as { id: string }[]).map((l) => l.id);
      const writer = await keyWith(t, ['logging:write'], 'scoped-system-delete');
      const res = await send(t, 'DELETE', `/api/logging/system/${gone}`, { headers: writer });
      expect(res.statusCode, res.body).toBe(204);
      expect(res.body).toBe('');
      for (const url of [`/api/logging/system/${gone}`, `/api/v1/logs/${gone}`]) {
        expect((await send(t, 'GET', url, { headers: own })).statusCode, url).toBe(404);
      }
      expect(ids(await getJson(t, '/api/logging/system/', own))).toEqual([keep]);
      expect((await getJson(t, '/logs', own)).data.pagination.total).toBe(1);
      const stats = await getJson(
        t,
        '/api/v1/logs/stats?from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z',
        own,
      );
      expect(stats.byLevel).toEqual({ INFO: 1 });
      const records = (await getJson(t, '/api/logging/audit/?action=logbook.logs.delete', own)).items;
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        target_type: 'log',
        target_id: gone,
        details: { id: gone, reason: `DELETE /api/logging/system/${gone}`, level: 'ERROR', service: 'svc' },
      });
      for (const id of [gone, 'no-such-id', logIds[0]]) {
        const again = await send(t, 'DELETE', `/api/logging/system/${id}`, { headers: writer });
        expect(again.statusCode, id).toBe(404);
        expect(again.json()).toEqual({ detail: 'Not Found' });
      }
      expect((await getJson(t, '/api/logging/audit/?action=logbook.logs.delete', own)).items).toHaveLength(1);
      await expectVerified(t);
    });

    it('a log written through /api/v1/logs reads back through seeds 002 and 003 alike', async () => {
      const own = await keyWith(t, ['admin'], 'scoped-cross');
      const written = await send(t, 'POST', '/api/v1/logs', {
        headers: own,
        payload: { level: 'error', service: 'billing', message: 'Invoice 7 failed', details: { invoice: 7 } },
      });
      const id = written.json().logs[0].id as string;
      const stored = await getJson(t, `/api/v1/logs/${id}`, own);
      const scoped = await getJson(t, `/api/logging/system/${id}`, own);
      const [api] = (await getJson(t, '/logs', own)).data.logs;
      expect(scoped).toMatchObject({ id, timestamp: stored.timestamp, level: 'ERROR', service: 'billing' });
      expect(api).toEqual({
        id,
        timestamp: scoped.timestamp,
        level: scoped.level,
        service: scoped.service,
        message: scoped.message,
        details: scoped.details,
      });
    });
  });

  describe('POST /api/login/access-token', () => {
    it('a Logbook user’s form login answers a bearer token that the surface accepts', async () => {
      await createUser(t, {
        username: 'scoped-ada',
        password: 'correct horse battery',
        scopes: ['audit:read', 'logging:read'],
        tenant: 'scoped-login',
      });
      const res = await form('grant_type=password&username=scoped-ada&password=correct+horse+battery&scope=');
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body).toEqual({ access_token: expect.any(String), token_type: 'bearer' });
      const bearer = { authorization: `Bearer ${body.access_token}` };
      const page = await getJson(t, '/api/logging/audit/', bearer);
      expect(page.items).toEqual([
        expect.objectContaining({
          action: 'logbook.auth.login',
          actor_name: 'scoped-ada',
          outcome: 'success',
        }),
      ]);
      expect((await getJson(t, '/api/logging/system/', bearer)).items).toEqual([]);
      const denied = await send(t, 'DELETE', `/api/logging/audit/${page.items[0].id}`, { headers: bearer });
      expect(denied.statusCode).toBe(403);
      // Public: a stray bad credential does not matter.
      const again = await form('username=scoped-ada&password=correct%20horse%20battery', {
        authorization: 'Bearer nonsense',
      });
      expect(again.statusCode).toBe(200);
    });

    it('wrong credentials → 401; a disabled user → 401 Inactive user', async () => {
      for (const payload of [
        'username=scoped-ada&password=wrong-password',
        'username=nobody&password=whatever',
      ]) {
        const res = await form(payload);
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({ detail: 'Incorrect username or password' });
      }
      const user = await createUser(t, {
        username: 'scoped-off',
        password: 'disabled-user-pw',
        tenant: 'scoped-login',
      });
      expect((await send(t, 'POST', `/api/v1/users/${user.id}/disable`)).statusCode).toBe(200);
      const res = await form('username=scoped-off&password=disabled-user-pw');
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ detail: 'Inactive user' });
    });

    it('a bad form → 422 in FastAPI shape, every missing field at once', async () => {
      const missing = (field: string) => ({ loc: ['body', field], msg: 'Field required', type: 'missing' });
      for (const payload of ['', 'grant_type=password', 'username=&password=']) {
        const res = await form(payload);
        expect(res.statusCode, payload).toBe(422);
        expect(res.json()).toEqual({ detail: [missing('username'), missing('password')] });
      }
      const noPassword = await form('username=scoped-ada');
      expect(noPassword.statusCode).toBe(422);
      expect(noPassword.json()).toEqual({ detail: [missing('password')] });
      const noBody = await t.app.inject({ method: 'POST', url: '/api/login/access-token' });
      expect(noBody.statusCode).toBe(422);
      expect(noBody.json()).toEqual({ detail: [missing('username'), missing('password')] });
      const grant = await form('grant_type=client_credentials&username=a&password=b');
      expect(grant.statusCode).toBe(422);
      expect(grant.json()).toEqual(
        v(['body', 'grant_type'], "String should match pattern '^password$'", 'string_pattern_mismatch'),
      );
      const twice = await form('username=a&username=b&password=c');
      expect(twice.statusCode).toBe(422);
      expect(twice.json()).toEqual(v(['body', 'username'], 'Input should be a valid string', 'string_type'));
    });
  });

  it('hostile values: never a 5xx, every 4xx a FastAPI {detail} body', async () => {
    const headers = await keyWith(t, ['audit:read', 'logging:read'], 'scoped-hostile');
    const isDetail = (body: Body) => Object.keys(body).join() === 'detail';
    for (const template of HOSTILE_GETS) {
      for (const value of NASTY) {
        const url = template.replaceAll('V', value);
        const res = await send(t, 'GET', url, { headers });
        const where = `${url.slice(0, 120)}: ${res.body.slice(0, 200)}`;
        expect(res.statusCode, where).toBeLessThan(500);
        // A path segment over the router's limit (maxParamLength 500) never reaches the surface: the router's
        // own 404 answers it (a known limit shared by every surface).
        const overLong = template.includes('/V') && value.length > 500;
        if (res.statusCode >= 400 && !overLong) expect(isDetail(res.json()), where).toBe(true);
      }
    }
    for (const value of NASTY) {
      const res = await form(`username=${value}&password=${value}&grant_type=${value}`);
      expect(res.statusCode, value.slice(0, 50)).toBeLessThan(500);
      expect(isDetail(res.json())).toBe(true);
    }
    const twice = await send(t, 'GET', '/api/logging/audit?limit=1&limit=2', { headers });
    expect(twice.statusCode).toBe(422);
  });

  it('is in the OpenAPI document under its own tag, with FastAPI error schemas', async () => {
    const doc = await getJson(t, '/openapi.json');
    const tag = 'compat: scoped logs';
    expect(doc.tags.map((x: Body) => x.name)).toContain(tag);
    for (const [path, method] of [
      ['/api/logging/audit', 'get'],
      ['/api/logging/audit/filters', 'get'],
      ['/api/logging/audit/{id}', 'get'],
      ['/api/logging/audit/{id}', 'delete'],
      ['/api/logging/system', 'get'],
      ['/api/logging/system/{id}', 'delete'],
      ['/api/login/access-token', 'post'],
    ] as const) {
      const op = doc.paths[path][method];
      expect(op.tags, `${method} ${path}`).toEqual([tag]);
    }
    const list = doc.paths['/api/logging/audit'].get;
    expect(Object.keys(list.responses['422'].content['application/json'].schema.properties)).toEqual([
      'detail',
    ]);
    expect(doc.paths['/api/login/access-token'].post.requestBody.content).toHaveProperty([
      'application/x-www-form-urlencoded',
    ]);
  });
});
