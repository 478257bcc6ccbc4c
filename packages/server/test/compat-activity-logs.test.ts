// Seed 004 (activity-log search) served by Logbook: every example request of the seed, each filter alone and
// combined, page edges, every error body, cleanup and the retention setting (deletion = redaction, verifier still
// passes), the scheduled retention run and the streamed CSV/NDJSON export — on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.ts';
import { csvCell, csvRecord } from '../src/http/export.ts';
import { startRetentionJob } from '../src/jobs/retention.ts';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { expectVerified, FORGED_JWT, getJson, keyWith, send, writeEvents } from './support-compat.ts';

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

const CAJERO = { id: 'abc-123', name: 'Cajero Uno' };
const SUPERVISOR = { id: 'def-456', name: 'Supervisor' };

/** The seed's scenarios as events: a payment, reversals, logins (USER_LOGIN and LOGIN), a ticket's history. */
const EVENTS = [
  {
    id: 'a1',
    occurredAt: '2024-03-05T10:00:00Z',
    action: 'TICKET_PAY',
    actor: CAJERO,
    target: { type: 'TICKET_PAYMENT', id: 'payment-456' },
    details: { created: true, cached: false, amount: 50000, method: 'cash' },
    context: { ip: '192.168.1.100', userAgent: 'Mozilla/5.0', requestId: 'req-correlation-id-789' },
  },
  {
    id: 'a2',
    occurredAt: '2024-03-15T11:00:00Z',
    action: 'ACCOUNT_PAYMENT_REVERSE',
    actor: CAJERO,
    target: { type: 'ACCOUNT_PAYMENT', id: 'pay-1' },
    description: 'Payment reversal',
    details: {
      reason: 'Error en monto',
      originalAmount: 100000,
      originalType: 'payment',
      reversedAt: '2024-03-15T11:00:00.000Z',
    },
    context: { ip: '10.0.0.7', userAgent: 'Mozilla/5.0 (X11)' },
  },
  {
    id: 'a3',
    occurredAt: '2024-03-01T08:00:00Z',
    action: 'USER_LOGIN',
    actor: CAJERO,
    details: { success: true, method: 'password', ipAddress: '192.168.1.100' },
  },
  { id: 'a4', occurredAt: '2024-02-20T08:00:00Z', action: 'LOGIN', actor: SUPERVISOR },
  {
    id: 'a5',
    occurredAt: '2024-03-10T09:00:00Z',
    action: 'TICKET_CREATE',
    actor: SUPERVISOR,
    target: { type: 'TICKET', id: 'ticket-456' },
  },
  {
    id: 'a6',
    occurredAt: '2024-03-12T09:00:00Z',
    action: 'TICKET_CANCEL',
    actor: CAJERO,
    target: { type: 'TICKET', id: 'ticket-456' },
  },
  {
    id: 'a7',
    occurredAt: '2024-02-10T00:00:00Z',
    action: 'ACCOUNT_PAYMENT_REVERSE',
    actor: SUPERVISOR,
    target: { type: 'ACCOUNT_PAYMENT', id: 'pay-2' },
    details: { reason: 'Duplicado', layer: 'controller' },
  },
];

describe.each(BACKENDS)('seed 004 /api/v1/activity-logs on %s', (backend) => {
  let t: TestApp;
  let bancas: Record<string, string>;
  const page = async (url: string, headers = bancas) => getJson(t, url, headers);
  const ids = async (url: string, headers = bancas) =>
    ((await page(url, headers)).data as { id: string }[]).map((d) => d.id);
  const bad = async (url: string, method: 'GET' | 'POST' | 'PUT' = 'GET', payload?: unknown) => {
    const res = await send(t, method, url, {
      headers: bancas,
      ...(payload !== undefined ? { payload } : {}),
    });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
    return res.json();
  };

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    bancas = await keyWith(t, ['admin'], 'bancas');
    await writeEvents(t, EVENTS, bancas);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('the seed examples', () => {
    it('by user and date range', async () => {
      const body = await page(
        '/api/v1/activity-logs?userId=abc-123&startDate=2024-03-01T00:00:00Z&endDate=2024-03-15T23:59:59Z',
      );
      expect(body.data.map((d: { id: string }) => d.id)).toEqual(['a2', 'a6', 'a1', 'a3']);
      expect(body.meta).toEqual({
        total: 4,
        totalItems: 4,
        page: 1,
        pageSize: 10,
        totalPages: 1,
        hasNextPage: false,
        hasPrevPage: false,
      });
    });

    it('by action and target, with the documented item fields', async () => {
      expect(await page('/api/v1/activity-logs?action=TICKET_PAY&targetType=TICKET_PAYMENT')).toEqual({
        success: true,
        data: [
          {
            id: 'a1',
            userId: 'abc-123',
            action: 'TICKET_PAY',
            targetType: 'TICKET_PAYMENT',
            targetId: 'payment-456',
            details: { created: true, cached: false, amount: 50000, method: 'cash' },
            createdAt: '2024-03-05T10:00:00.000Z',
            ipAddress: '192.168.1.100',
            userAgent: 'Mozilla/5.0',
            layer: null,
            requestId: 'req-correlation-id-789',
            user: { id: 'abc-123', name: 'Cajero Uno' },
          },
        ],
        meta: {
          total: 1,
          totalItems: 1,
          page: 1,
          pageSize: 10,
          totalPages: 1,
          hasNextPage: false,
          hasPrevPage: false,
        },
      });
    });

    it('free text search with an action', async () => {
      expect(await ids('/api/v1/activity-logs?search=reversal&action=ACCOUNT_PAYMENT_REVERSE')).toEqual([
        'a2',
      ]);
    });

    it("a user's audit trail", async () => {
      const body = await page('/api/v1/activity-logs/user/abc-123?page=1&pageSize=50');
      expect(body.data.map((d: { id: string }) => d.id)).toEqual(['a2', 'a6', 'a1', 'a3']);
      expect(body.meta).toMatchObject({ total: 4, page: 1, pageSize: 50, totalPages: 1 });
    });

    it("an entity's history", async () => {
      expect(await ids('/api/v1/activity-logs/target/TICKET/ticket-456')).toEqual(['a6', 'a5']);
    });

    it('security monitoring', async () => {
      expect(
        await ids('/api/v1/activity-logs?action=ACCOUNT_PAYMENT_REVERSE&startDate=2024-03-01T00:00:00Z'),
      ).toEqual(['a2']);
    });

    it('find logs by request id', async () => {
      expect(await ids('/api/v1/activity-logs?search=req-correlation-id-789')).toEqual(['a1']);
    });

    it('the security audit: reversals in a window, with who, when, why, IP and user agent', async () => {
      const body = await page(
        '/api/v1/activity-logs?action=ACCOUNT_PAYMENT_REVERSE&startDate=2024-02-15T00:00:00Z&endDate=2024-03-15T23:59:59Z&pageSize=100',
      );
      expect(body.data).toHaveLength(1);
      expect(body.data[0]).toMatchObject({
        id: 'a2',
        user: { id: 'abc-123', name: 'Cajero Uno' },
        createdAt: '2024-03-15T11:00:00.000Z',
        details: { reason: 'Error en monto', originalAmount: 100000 },
        ipAddress: '10.0.0.7',
        userAgent: 'Mozilla/5.0 (X11)',
      });
    });

    it('USER_LOGIN and LOGIN find each other', async () => {
      expect(await ids('/api/v1/activity-logs?action=USER_LOGIN')).toEqual(['a3', 'a4']);
      expect(await ids('/api/v1/activity-logs/action/LOGIN')).toEqual(['a3', 'a4']);
    });
  });

  describe('parameters', () => {
    it('each alone', async () => {
      expect(await ids('/api/v1/activity-logs')).toEqual(['a2', 'a6', 'a5', 'a1', 'a3', 'a4', 'a7']);
      expect(await ids('/api/v1/activity-logs?pageSize=2')).toEqual(['a2', 'a6']);
      expect(await ids('/api/v1/activity-logs?page=2&pageSize=2')).toEqual(['a5', 'a1']);
      expect(await ids('/api/v1/activity-logs?userId=def-456')).toEqual(['a5', 'a4', 'a7']);
      expect(await ids('/api/v1/activity-logs?action=TICKET_CANCEL')).toEqual(['a6']);
      expect(await ids('/api/v1/activity-logs?targetType=ACCOUNT_PAYMENT')).toEqual(['a2', 'a7']);
      expect(await ids('/api/v1/activity-logs?targetId=ticket-456')).toEqual(['a6', 'a5']);
      expect(await ids('/api/v1/activity-logs?startDate=2024-03-10T09:00:00Z')).toEqual(['a2', 'a6', 'a5']);
      // endDate is inclusive.
      expect(await ids('/api/v1/activity-logs?endDate=2024-02-20T08:00:00Z')).toEqual(['a4', 'a7']);
      // search looks inside details, the user's name and the description; words match as prefixes.
      expect(await ids('/api/v1/activity-logs?search=Duplicado')).toEqual(['a7']);
      expect(await ids('/api/v1/activity-logs?search=monto')).toEqual(['a2']);
      expect(await ids('/api/v1/activity-logs?search=Cajer')).toEqual(['a2', 'a6', 'a1', 'a3']);
      expect(await ids('/api/v1/activity-logs?search=nothing-like-this')).toEqual([]);
    });

    it('combined (AND), and unknown parameters are ignored', async () => {
      expect(
        await ids(
          '/api/v1/activity-logs?userId=abc-123&targetType=TICKET&targetId=ticket-456&startDate=2024-03-01T00:00:00Z&endDate=2024-03-31T00:00:00Z&search=Cajero&action=TICKET_CANCEL',
        ),
      ).toEqual(['a6']);
      expect(await ids('/api/v1/activity-logs?userId=def-456&action=TICKET_CANCEL')).toEqual([]);
      expect(await ids('/api/v1/activity-logs?bancaId=x&foo=bar&pageSize=1')).toEqual(['a2']);
    });

    it('layer comes from details when the event carries one', async () => {
      expect((await page('/api/v1/activity-logs/a7')).data.layer).toBe('controller');
    });

    it('page edges: first, last, beyond the last, empty (list and sub-listings)', async () => {
      const first = await page('/api/v1/activity-logs?pageSize=3');
      expect(first.meta).toEqual({
        total: 7,
        totalItems: 7,
        page: 1,
        pageSize: 3,
        totalPages: 3,
        hasNextPage: true,
        hasPrevPage: false,
      });
      const last = await page('/api/v1/activity-logs?pageSize=3&page=3');
      expect(last.data.map((d: { id: string }) => d.id)).toEqual(['a7']);
      expect(last.meta).toMatchObject({ page: 3, hasNextPage: false, hasPrevPage: true });
      const beyond = await page('/api/v1/activity-logs?pageSize=3&page=4');
      expect(beyond.data).toEqual([]);
      expect(beyond.meta).toMatchObject({
        total: 7,
        page: 4,
        totalPages: 3,
        hasNextPage: false,
        hasPrevPage: true,
      });
      const empty = await page('/api/v1/activity-logs?userId=nobody');
      expect(empty).toEqual({
        success: true,
        data: [],
        meta: {
          total: 0,
          totalItems: 0,
          page: 1,
          pageSize: 10,
          totalPages: 0,
          hasNextPage: false,
          hasPrevPage: false,
        },
      });
      const sub = await page('/api/v1/activity-logs/user/abc-123?page=2&pageSize=3');
      expect(sub.data.map((d: { id: string }) => d.id)).toEqual(['a3']);
      expect(sub.meta).toMatchObject({ total: 4, totalPages: 2, hasNextPage: false, hasPrevPage: true });
      expect((await page('/api/v1/activity-logs/target/TICKET/none')).meta.total).toBe(0);
      expect((await page('/api/v1/activity-logs/action/NOPE')).data).toEqual([]);
    });
  });

  describe('errors', () => {
    it('validation errors name the parameter, in the documented shape', async () => {
      const body = await bad('/api/v1/activity-logs?pageSize=500');
      expect(body).toEqual({
        success: false,
        message: 'Error en los filtros de búsqueda (pageSize): must be <= 100',
        meta: {
          context: {
            method: 'GET',
            path: '/api/v1/activity-logs?pageSize=500',
            source: 'query',
            requestId: expect.any(String),
          },
          details: [{ field: 'pageSize', code: 'maximum', issue: 'must be <= 100' }],
        },
      });
      for (const [query, field] of [
        ['page=0', 'page'],
        ['page=x', 'page'],
        ['pageSize=0', 'pageSize'],
        ['startDate=2024-03-01', 'startDate'],
        ['endDate=2024-03-01T00:00:00%2B02:00', 'endDate'],
        ['startDate=2024-02-30T00:00:00Z', 'startDate'],
        ['action=TICKET*', 'action'],
        ['search=%22%22', 'search'],
        ['search=***', 'search'],
      ] as const) {
        const res = await bad(`/api/v1/activity-logs?${query}`);
        expect(res.success).toBe(false);
        expect(res.message, query).toMatch(new RegExp(`^Error en los filtros de búsqueda \\(${field}\\): `));
        expect(res.meta.details[0].field).toBe(field);
      }
      expect((await bad('/api/v1/activity-logs/user/abc-123?pageSize=101')).meta.details[0].field).toBe(
        'pageSize',
      );
    });

    it('a start after the end is the documented message', async () => {
      const body = await bad(
        '/api/v1/activity-logs?startDate=2024-03-15T00:00:00Z&endDate=2024-03-01T00:00:00Z',
      );
      expect(body.message).toBe(
        'Error en los filtros de búsqueda (startDate): La fecha de inicio no puede ser mayor que la fecha de fin',
      );
    });

    it('an unknown id is the 404 body', async () => {
      const res = await send(t, 'GET', '/api/v1/activity-logs/no-such-id', { headers: bancas });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ success: false, message: 'Registro de auditoría no encontrado' });
    });

    it('401 and 403 bodies; reads need audit:read, cleanup and retention admin', async () => {
      const none = await send(t, 'GET', '/api/v1/activity-logs', { headers: {} });
      expect(none.statusCode).toBe(401);
      expect(none.json()).toEqual({ success: false, message: 'Unauthorized' });
      for (const headers of [{ authorization: `Bearer ${FORGED_JWT}` }, { 'x-api-key': 'nope' }] as Record<
        string,
        string
      >[]) {
        const res = await send(t, 'GET', '/api/v1/activity-logs/a1', { headers });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({ success: false, message: 'Invalid token' });
      }
      const reader = await keyWith(t, ['audit:read', 'audit:write'], 'bancas');
      const forbidden = { success: false, message: 'No tienes permisos para acceder a este recurso' };
      for (const [method, url, payload] of [
        ['POST', '/api/v1/activity-logs/cleanup', { days: 30 }],
        ['GET', '/api/v1/activity-logs/retention', undefined],
        ['PUT', '/api/v1/activity-logs/retention', { days: 30 }],
      ] as const) {
        const res = await send(t, method, url, { headers: reader, ...(payload ? { payload } : {}) });
        expect(res.statusCode, url).toBe(403);
        expect(res.json()).toEqual(forbidden);
      }
      const writer = await keyWith(t, ['audit:write']);
      const res = await send(t, 'GET', '/api/v1/activity-logs/export', { headers: writer });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual(forbidden);
      expect((await send(t, 'GET', '/api/v1/activity-logs', { headers: reader })).statusCode).toBe(200);
    });
  });

  describe('export', () => {
    it('NDJSON (the default): every matching log as a list item, one per line, streamed', async () => {
      const res = await send(t, 'GET', '/api/v1/activity-logs/export?userId=abc-123', { headers: bancas });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      expect(res.headers['content-disposition']).toMatch(
        /^attachment; filename="activity-logs-\d{4}-\d\d-\d\d\.ndjson"$/,
      );
      expect(res.headers['content-length']).toBeUndefined();
      const lines = res.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      const listed = await page('/api/v1/activity-logs?userId=abc-123');
      expect(lines).toEqual(listed.data);
    });

    it('CSV: RFC 4180 quoting, formula cells neutralised, same filters as the list', async () => {
      const key = await keyWith(t, ['admin'], 'csv');
      await writeEvents(
        t,
        [
          {
            id: 'x1',
            occurredAt: '2024-01-01T00:00:00Z',
            action: '+SUM(A1)',
            actor: { id: 'u1', name: '=HYPERLINK("http://evil")' },
            target: { type: 'T', id: '-1' },
            details: { note: 'a,b "c"\nd' },
            context: { userAgent: '@agent' },
          },
        ],
        key,
      );
      const res = await send(t, 'GET', '/api/v1/activity-logs/export?format=csv&userId=u1', { headers: key });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.body).toBe(
        'id,createdAt,userId,userName,action,targetType,targetId,ipAddress,userAgent,requestId,layer,details\r\n' +
          `x1,2024-01-01T00:00:00.000Z,u1,"'=HYPERLINK(""http://evil"")",'+SUM(A1),T,'-1,,'@agent,,,"{""note"":""a,b \\""c\\""\\nd""}"\r\n`,
      );
      const header = await send(t, 'GET', '/api/v1/activity-logs/export?format=csv&userId=nobody', {
        headers: key,
      });
      expect(header.body).toBe(
        'id,createdAt,userId,userName,action,targetType,targetId,ipAddress,userAgent,requestId,layer,details\r\n',
      );
    });

    it('pages through thousands of logs without losing or repeating one', async () => {
      const key = await keyWith(t, ['admin'], 'bulk');
      const events = Array.from({ length: 2500 }, (_, i) => ({
        occurredAt: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
        action: 'TICKET_CREATE',
        actor: { id: `u${i % 7}` },
      }));
      await writeEvents(t, events, key);
      const ndjson = await send(t, 'GET', '/api/v1/activity-logs/export?format=ndjson&action=TICKET_CREATE', {
        headers: key,
      });
      const lines = ndjson.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; createdAt: string });
      expect(lines).toHaveLength(2500);
      expect(new Set(lines.map((l) => l.id)).size).toBe(2500);
      expect(lines[0]!.createdAt > lines[2499]!.createdAt).toBe(true);
      const csv = await send(t, 'GET', '/api/v1/activity-logs/export?format=csv&userId=u3', { headers: key });
      expect(csv.body.split('\r\n').filter(Boolean)).toHaveLength(
        1 + events.filter((_, i) => i % 7 === 3).length,
      );
    });

    it('bad input is a 400 before any byte is sent; each export is itself audited', async () => {
      expect((await bad('/api/v1/activity-logs/export?format=xml')).meta.details[0].field).toBe('format');
      expect((await bad('/api/v1/activity-logs/export?startDate=nope')).meta.details[0].field).toBe(
        'startDate',
      );
      const key = await keyWith(t, ['admin'], 'audited');
      await send(t, 'GET', '/api/v1/activity-logs/export?format=csv', { headers: key });
      const audit = await page('/api/v1/activity-logs?action=logbook.events.export', key);
      expect(audit.data).toHaveLength(1);
      expect(audit.data[0].details).toMatchObject({ format: 'csv', via: 'GET /api/v1/activity-logs/export' });
    });

    it('csvCell neutralises every formula start and quotes per RFC 4180', () => {
      expect(['=1', '+1', '-1', '@x', '\tx', '\rx'].map(csvCell)).toEqual([
        "'=1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        `"'\rx"`,
      ]);
      expect(csvCell(-1)).toBe('-1');
      expect(csvCell(null)).toBe('');
      expect(csvCell(true)).toBe('true');
      expect(csvCell({ a: [1] })).toBe('"{""a"":[1]}"');
      expect(csvRecord(['a', 'b,c', 'd"e', 'f\ng'])).toBe('a,"b,c","d""e","f\ng"\r\n');
    });
  });

  describe('cleanup and retention', () => {
    it('cleanup removes logs older than N days through redaction; daysToKeep wins; default is the setting', async () => {
      const key = await keyWith(t, ['admin'], 'cleanup');
      await writeEvents(
        t,
        [100, 50, 10, 1].map((days) => ({
          id: `d${days}`,
          occurredAt: ago(days),
          action: 'TICKET_PAY',
          actor: CAJERO,
        })),
        key,
      );
      const cleanup = (payload?: unknown, headers: Record<string, string> = {}) =>
        send(t, 'POST', '/api/v1/activity-logs/cleanup', {
          headers: { ...key, ...headers },
          ...(payload !== undefined ? { payload } : {}),
        });
      const first = await cleanup({ days: 5, daysToKeep: 60 });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toEqual({
        success: true,
        data: { message: 'Se eliminaron 1 registros de auditoría', deletedCount: 1 },
      });
      expect((await cleanup({ days: 30 })).json().data.deletedCount).toBe(1);
      // An empty body (none at all, or JSON content type with no bytes): the retention setting, 45 days by default.
      expect((await cleanup()).json().data.deletedCount).toBe(0);
      expect(
        (await cleanup(undefined, { 'content-type': 'application/json' })).json().data.deletedCount,
      ).toBe(0);
      const logs = await ids('/api/v1/activity-logs?action=TICKET_PAY', key);
      expect(logs).toEqual(['d1', 'd10']);
      const records = await page('/api/v1/activity-logs?action=logbook.events.redact', key);
      expect(records.meta.total).toBe(2);
      // With the setting at 5 days, an empty cleanup removes the 10-day-old log.
      expect(
        (await send(t, 'PUT', '/api/v1/activity-logs/retention', { headers: key, payload: { days: 5 } }))
          .statusCode,
      ).toBe(200);
      expect((await cleanup()).json().data.deletedCount).toBe(1);
      expect(await ids('/api/v1/activity-logs?action=TICKET_PAY', key)).toEqual(['d1']);
      // Keep forever: an empty cleanup removes nothing and says so.
      await send(t, 'PUT', '/api/v1/activity-logs/retention', { headers: key, payload: { days: 0 } });
      expect((await cleanup()).json()).toEqual({
        success: true,
        data: { message: 'La retención es indefinida: no se eliminaron registros', deletedCount: 0 },
      });
      await expectVerified(t);
    });

    it('invalid cleanup bodies are 400', async () => {
      const before = (await page('/api/v1/activity-logs')).meta.total;
      for (const payload of [
        { days: 0 },
        { days: -1 },
        { days: 1.5 },
        { days: '30' },
        { daysToKeep: 0 },
        { days: 36501 },
      ]) {
        const body = await bad('/api/v1/activity-logs/cleanup', 'POST', payload);
        expect(body.message, JSON.stringify(payload)).toMatch(
          /^Error en el cuerpo de la solicitud \((days|daysToKeep)\): /,
        );
      }
      const json = await t.app.inject({
        method: 'POST',
        url: '/api/v1/activity-logs/cleanup',
        headers: { ...bancas, 'content-type': 'application/json' },
        payload: '{"days":',
      });
      expect(json.statusCode).toBe(400);
      expect(json.json().success).toBe(false);
      // Nothing of the tenant was removed by the refused requests.
      expect((await page('/api/v1/activity-logs')).meta.total).toBe(before);
    });

    it('GET|PUT /retention: default 45 days, set per tenant, recorded as a self-audit event', async () => {
      const key = await keyWith(t, ['admin'], 'retention');
      expect(await page('/api/v1/activity-logs/retention', key)).toEqual({
        success: true,
        data: {
          days: 45,
          tenant: 'retention',
          stream: 'events',
          source: 'default',
          updatedAt: null,
          updatedBy: null,
        },
      });
      const put = await send(t, 'PUT', '/api/v1/activity-logs/retention', {
        headers: key,
        payload: { days: 30 },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json().data).toMatchObject({
        days: 30,
        tenant: 'retention',
        source: 'policy',
        updatedBy: expect.any(String),
      });
      expect((await page('/api/v1/activity-logs/retention', key)).data).toEqual(put.json().data);
      // Another tenant keeps the default.
      expect((await page('/api/v1/activity-logs/retention')).data.days).toBe(45);
      const audit = await page('/api/v1/activity-logs?action=logbook.retention.set', key);
      expect(audit.data).toHaveLength(1);
      expect(audit.data[0]).toMatchObject({
        targetType: 'retention_policy',
        targetId: 'retention/events',
        details: { tenant: 'retention', stream: 'events', days: 30, previousDays: 45 },
      });
      for (const payload of [{ days: -1 }, { days: 36501 }, {}, { days: 'x' }, { days: 30, extra: 1 }]) {
        const res = await send(t, 'PUT', '/api/v1/activity-logs/retention', { headers: key, payload });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().message).toMatch(/^Error en el cuerpo de la solicitud/);
      }
      expect((await page('/api/v1/activity-logs/retention', key)).data.days).toBe(30);
    });
  });

  it('is in the OpenAPI document under its own tag, with its error schema', async () => {
    const doc = await getJson(t, '/openapi.json');
    const tag = 'compat: activity logs';
    expect(doc.tags.map((x: { name: string }) => x.name)).toContain(tag);
    for (const path of [
      '/api/v1/activity-logs',
      '/api/v1/activity-logs/{id}',
      '/api/v1/activity-logs/user/{userId}',
      '/api/v1/activity-logs/target/{targetType}/{targetId}',
      '/api/v1/activity-logs/action/{action}',
      '/api/v1/activity-logs/export',
      '/api/v1/activity-logs/retention',
    ]) {
      expect(doc.paths[path].get.tags, path).toEqual([tag]);
    }
    expect(
      doc.paths['/api/v1/activity-logs/cleanup'].post.responses['400'].content['application/json'].schema
        .properties,
    ).toHaveProperty('success');
  });
});

describe.each(BACKENDS)('the scheduled retention run on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => {
    await t.close();
  });

  it('applies each tenant policy (else the default) through redaction, records the run, and verify passes', async () => {
    const keys = {
      job: await keyWith(t, ['admin'], 'job'),
      forever: await keyWith(t, ['admin'], 'job-forever'),
      short: await keyWith(t, ['admin'], 'job-short'),
    };
    for (const key of Object.values(keys)) {
      await writeEvents(
        t,
        [100, 10, 0].map((days) => ({ occurredAt: ago(days), action: `age.${days}`, actor: CAJERO })),
        key,
      );
    }
    await send(t, 'PUT', '/api/v1/activity-logs/retention', { headers: keys.forever, payload: { days: 0 } });
    await send(t, 'PUT', '/api/v1/activity-logs/retention', { headers: keys.short, payload: { days: 5 } });
    const errors: unknown[] = [];
    const job = startRetentionJob(t.services.retention, 0, (e) => errors.push(e));
    const result = await job.runOnce();
    await job.stop();
    expect(errors).toEqual([]);
    const byTenant = Object.fromEntries(result.purged.map((p) => [p.tenant, p]));
    expect(byTenant.job).toMatchObject({ days: 45, deleted: 1 });
    expect(byTenant['job-short']).toMatchObject({ days: 5, deleted: 2 });
    expect(byTenant['job-forever']).toBeUndefined();
    const actions = async (key: Record<string, string>) =>
      ((await getJson(t, '/api/v1/activity-logs?pageSize=100', key)).data as { action: string }[])
        .map((d) => d.action)
        .filter((a) => a.startsWith('age.'));
    expect(await actions(keys.job)).toEqual(['age.0', 'age.10']);
    expect(await actions(keys.short)).toEqual(['age.0']);
    expect(await actions(keys.forever)).toEqual(['age.0', 'age.10', 'age.100']);
    const run = await getJson(t, '/api/v1/activity-logs?action=logbook.retention.run', keys.job);
    expect(run.data[0].details).toMatchObject({ tenant: 'job', stream: 'events', days: 45, deleted: 1 });
    // A second run finds nothing more to remove and leaves no new records.
    const again = await t.services.retention.run();
    expect(again.deleted).toBe(0);
    expect(
      (await getJson(t, '/api/v1/activity-logs?action=logbook.retention.run', keys.job)).meta.total,
    ).toBe(1);
    await expectVerified(t);
  });

  it('applies the system-log stream policy too (entries deleted outright), with its own setting', async () => {
    const key = await keyWith(t, ['admin'], 'job-logs');
    const write = await send(t, 'POST', '/api/v1/logs', {
      headers: key,
      payload: {
        logs: [100, 10, 0].map((days) => ({
          timestamp: ago(days),
          level: 'INFO',
          service: 'api',
          message: `aged ${days} days`,
        })),
      },
    });
    expect(write.statusCode, write.body).toBe(201);
    const principal = {
      kind: 'api_key' as const,
      id: 'k',
      name: 'test',
      scopes: ['admin' as const],
      tenant: 'job-logs',
    };
    expect(await t.services.retention.get(principal, { stream: 'logs' })).toMatchObject({
      days: 45,
      source: 'default',
    });
    const result = await t.services.retention.run({ tenant: 'job-logs' });
    expect(result.purged.find((p) => p.stream === 'logs')).toMatchObject({
      tenant: 'job-logs',
      days: 45,
      deleted: 1,
    });
    const messages = async () =>
      ((await getJson(t, '/api/v1/logs?limit=100', key)).data as { message: string }[]).map((l) => l.message);
    expect(await messages()).toEqual(['aged 0 days', 'aged 10 days']);
    await t.services.retention.set(principal, { stream: 'logs', days: 5 });
    expect((await t.services.retention.run({ tenant: 'job-logs' })).deleted).toBe(1);
    expect(await messages()).toEqual(['aged 0 days']);
    const runs = await getJson(t, '/api/v1/activity-logs?action=logbook.retention.run', key);
    expect(runs.data.map((d: { details: { stream: string } }) => d.details.stream)).toEqual(['logs', 'logs']);
    // An unknown stream is refused.
    await expect(t.services.retention.get(principal, { stream: 'metrics' })).rejects.toThrow(
      /stream must be one of/,
    );
  });

  it('LOGBOOK_RETENTION_DAYS and LOGBOOK_RETENTION_INTERVAL_SECONDS are read and checked', () => {
    const config = loadConfig(
      { LOGBOOK_RETENTION_DAYS: '7', LOGBOOK_RETENTION_INTERVAL_SECONDS: '60' },
      '/tmp',
    );
    expect(config.retentionDays).toBe(7);
    expect(config.retentionIntervalSeconds).toBe(60);
    expect(loadConfig({}, '/tmp')).toMatchObject({ retentionDays: 45, retentionIntervalSeconds: 3600 });
    expect(() => loadConfig({ LOGBOOK_RETENTION_INTERVAL_SECONDS: 'hourly' }, '/tmp')).toThrow(
      /LOGBOOK_RETENTION_INTERVAL_SECONDS/,
    );
  });
});

describe.each(BACKENDS)('hostile input to every compatibility surface on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
    await writeEvents(t, EVENTS);
  });
  afterAll(async () => {
    await t.close();
  });

  /** Each surface's error envelope, as a predicate on a 4xx body. */
  const shapes: [RegExp, (body: Record<string, unknown>) => boolean][] = [
    [/^\/api\/logs/, (b) => typeof b.error === 'string' && typeof b.statusCode === 'number'],
    [/^\/api\/v1\/audit\//, (b) => b.status === 'error' && typeof b.error === 'string'],
    [/^\/api\/v1\/activity-logs/, (b) => b.success === false && typeof b.message === 'string'],
  ];
  const NASTY = [
    '%00',
    'a%00b',
    '%FF%FE',
    encodeURIComponent('\u{1F600}'.repeat(300)),
    'x'.repeat(5000),
    '1e309',
    '-0',
    '9007199254740993',
    '%27%3B%20DROP%20TABLE%20events%3B--',
    encodeURIComponent('"*"'),
    encodeURIComponent('{"$gt":""}'),
  ];
  const GETS = [
    '/api/logs?limit=V',
    '/api/logs?offset=V',
    '/api/logs?action=V',
    '/api/logs?table=V',
    '/api/logs?start_date=V',
    '/api/logs?end_date=V',
    '/api/v1/audit/logs?user_id=V',
    '/api/v1/audit/logs?table_name=V',
    '/api/v1/audit/logs?start_date=V',
    '/api/v1/audit/logs?skip=V&limit=V',
    '/api/v1/audit/logs/V',
    '/api/v1/activity-logs?page=V',
    '/api/v1/activity-logs?pageSize=V',
    '/api/v1/activity-logs?userId=V&targetId=V',
    '/api/v1/activity-logs?action=V',
    '/api/v1/activity-logs?startDate=V&endDate=V',
    '/api/v1/activity-logs?search=V',
    '/api/v1/activity-logs/V',
    '/api/v1/activity-logs/user/V',
    '/api/v1/activity-logs/target/V/V',
    '/api/v1/activity-logs/action/V',
    '/api/v1/activity-logs/export?format=csv&search=V',
  ];

  it('GET parameters: never a 5xx, and every 4xx in the surface’s own envelope', async () => {
    for (const template of GETS) {
      for (const value of NASTY) {
        const url = template.replaceAll('V', value);
        const res = await send(t, 'GET', url);
        expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (res.statusCode >= 400) {
          const shape = shapes.find(([prefix]) => prefix.test(url))![1];
          expect(shape(res.json()), `${url}: ${res.body.slice(0, 200)}`).toBe(true);
        }
      }
    }
    // Repeated parameters are refused, not half-read.
    const twice = await send(t, 'GET', '/api/logs?limit=1&limit=2');
    expect(twice.statusCode).toBe(400);
  });

  it('unknown paths and malformed URLs under a surface answer in that surface’s envelope', async () => {
    const missing = await send(t, 'GET', '/api/logs/nope/deeper');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'NOT_FOUND', statusCode: 404 });
    const audit = await send(t, 'POST', '/api/v1/audit/nope');
    expect(audit.json()).toMatchObject({ status: 'error', code: 404 });
    const malformed = await send(t, 'GET', '/api/v1/activity-logs/%E0%A4%A');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ success: false });
    // Outside the surfaces, Logbook's own body.
    expect((await send(t, 'GET', '/api/v1/nope')).json().error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('bodies: arrays, scalars, nesting, huge values — never a 5xx', async () => {
    const bodies: unknown[] = [
      [],
      'text',
      42,
      null,
      { days: null },
      { days: [30] },
      { days: { $gt: 1 } },
      { user_id: { a: 1 }, action: 'CREATE', table_name: 't', record_id: 'r' },
      { user_id: 'u', action: 'CREATE', table_name: 't', record_id: 'r', new_values: { deep: nest(40) } },
      { user_id: 'u', action: 'CREATE', table_name: 't', record_id: 'r', description: 'd'.repeat(3000) },
      { user_id: 'u\u0000', action: 'CREATE', table_name: 't', record_id: 'r' },
    ];
    for (const [method, url] of [
      ['POST', '/api/v1/audit/logs'],
      ['POST', '/api/v1/activity-logs/cleanup'],
      ['PUT', '/api/v1/activity-logs/retention'],
    ] as const) {
      for (const payload of bodies) {
        const res = await t.app.inject({
          method,
          url,
          headers: { ...t.auth, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        expect(
          res.statusCode,
          `${method} ${url} ${JSON.stringify(payload).slice(0, 80)}: ${res.body}`,
        ).toBeLessThan(500);
      }
    }
  });
});

function nest(depth: number): unknown {
  return depth === 0 ? 'leaf' : { child: nest(depth - 1) };
}
