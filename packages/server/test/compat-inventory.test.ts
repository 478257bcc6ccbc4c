// Seed 001 (inventory audit logs) served by Logbook: the documented examples, every filter alone and combined,
// skip/limit edges, POST validation, the summary over all rows and every error body — on SQLite and PostgreSQL.
// Also the cross-surface check: events written through this POST and through /api/v1/events read back through
// seeds 000, 001 and 004 with the right field mapping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { FORGED_JWT, getJson, keyWith, send, writeEvents } from './support-compat.ts';

const DOC_A = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const DOC_B = 'b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e';
const ADMIN_ID = '550e8400-e29b-41d4-a716-446655440000';
const MANAGER_ID = '660e8400-e29b-41d4-a716-446655440001';

/** The documented example logs, written through /api/v1/events with the same ids. */
const DOC_EVENTS = [
  {
    id: DOC_A,
    occurredAt: '2024-03-04T14:23:45Z',
    action: 'UPDATE',
    actor: { id: ADMIN_ID, name: 'admin' },
    target: { type: 'products', id: 'prod-12345' },
    changes: { before: { quantity: 100, price: 29.99 }, after: { quantity: 85, price: 29.99 } },
    description: 'Updated product quantity after sale',
    context: { ip: '192.168.1.10' },
  },
  {
    id: DOC_B,
    occurredAt: '2024-03-04T10:15:30Z',
    action: 'CREATE',
    actor: { id: MANAGER_ID, name: 'warehouse_manager' },
    target: { type: 'inventory', id: 'inv-67890' },
    changes: { after: { product_id: 'prod-12345', warehouse_id: 'wh-001', quantity: 500 } },
    description: 'Added new inventory batch',
  },
];

const DOC_ITEM_A = {
  id: DOC_A,
  user_id: ADMIN_ID,
  user_name: 'admin',
  action: 'UPDATE',
  table_name: 'products',
  record_id: 'prod-12345',
  old_values: { quantity: 100, price: 29.99 },
  new_values: { quantity: 85, price: 29.99 },
  description: 'Updated product quantity after sale',
  timestamp: '2024-03-04T14:23:45.000Z',
};
const DOC_ITEM_B = {
  id: DOC_B,
  user_id: MANAGER_ID,
  user_name: 'warehouse_manager',
  action: 'CREATE',
  table_name: 'inventory',
  record_id: 'inv-67890',
  old_values: null,
  new_values: { product_id: 'prod-12345', warehouse_id: 'wh-001', quantity: 500 },
  description: 'Added new inventory batch',
  timestamp: '2024-03-04T10:15:30.000Z',
};

/** Five logs over five days, for the filters. */
const FILTER_EVENTS = [
  {
    id: 'e1',
    occurredAt: '2024-03-01T09:00:00Z',
    actor: { id: 'u1' },
    target: { type: 'products', id: 'p1' },
  },
  {
    id: 'e2',
    occurredAt: '2024-03-02T23:59:59Z',
    actor: { id: 'u2' },
    target: { type: 'products', id: 'p2' },
  },
  {
    id: 'e3',
    occurredAt: '2024-03-03T00:00:00Z',
    actor: { id: 'u1' },
    target: { type: 'inventory', id: 'i1' },
  },
  {
    id: 'e4',
    occurredAt: '2024-03-03T12:00:00Z',
    actor: { id: 'u2' },
    target: { type: 'inventory', id: 'i2' },
  },
  {
    id: 'e5',
    occurredAt: '2024-03-05T08:00:00Z',
    actor: { id: 'u1' },
    target: { type: 'products', id: 'p3' },
  },
].map((e) => ({ ...e, action: 'UPDATE' }));

const error = (code: number, title: string, message: unknown = expect.any(String)) => ({
  status: 'error',
  code,
  error: title,
  message,
});

describe.each(BACKENDS)('seed 001 inventory /api/v1/audit on %s', (backend) => {
  let t: TestApp;
  let inv: Record<string, string>;
  let filters: Record<string, string>;
  const listIds = async (query: string) => {
    const body = await getJson(t, `/api/v1/audit/logs${query}`, filters);
    expect(body.count).toBe(body.logs.length);
    return (body.logs as { id: string }[]).map((l) => l.id);
  };

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    inv = await keyWith(t, ['admin'], 'inventory');
    filters = await keyWith(t, ['admin'], 'inventory-filters');
    await writeEvents(t, DOC_EVENTS, inv);
    await writeEvents(t, FILTER_EVENTS, filters);
  });
  afterAll(async () => {
    await t.close();
  });

  it('GET /api/v1/audit/logs?skip=0&limit=50 answers the documented example', async () => {
    expect(await getJson(t, '/api/v1/audit/logs?skip=0&limit=50', inv)).toEqual({
      status: 'success',
      count: 2,
      logs: [DOC_ITEM_A, DOC_ITEM_B],
    });
  });

  it('GET /api/v1/audit/logs/{id} answers the documented example, with the IP address', async () => {
    expect(await getJson(t, `/api/v1/audit/logs/${DOC_A}`, inv)).toEqual({
      status: 'success',
      log: { ...DOC_ITEM_A, ip_address: '192.168.1.10' },
    });
    expect((await getJson(t, `/api/v1/audit/logs/${DOC_B}`, inv)).log.ip_address).toBeNull();
  });

  it('POST /api/v1/audit/logs records the documented example (201) and it reads back', async () => {
    const res = await send(t, 'POST', '/api/v1/audit/logs', {
      headers: inv,
      payload: {
        user_id: ADMIN_ID,
        user_name: 'admin',
        action: 'DELETE',
        table_name: 'warehouses',
        record_id: 'wh-009',
        old_values: { name: 'Old WH' },
        description: 'Removed warehouse',
        ip_address: '10.0.0.5',
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const { status, id } = res.json();
    expect(status).toBe('success');
    expect(Object.keys(res.json())).toEqual(['status', 'id']);
    const log = (await getJson(t, `/api/v1/audit/logs/${id}`, inv)).log;
    expect(log).toEqual({
      id,
      user_id: ADMIN_ID,
      user_name: 'admin',
      action: 'DELETE',
      table_name: 'warehouses',
      record_id: 'wh-009',
      old_values: { name: 'Old WH' },
      new_values: null,
      description: 'Removed warehouse',
      ip_address: '10.0.0.5',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(Math.abs(Date.parse(log.timestamp) - Date.now())).toBeLessThan(60_000);
    // Empty objects are stored as no value (as by the original); unknown fields are ignored.
    const empty = await send(t, 'POST', '/api/v1/audit/logs', {
      headers: inv,
      payload: {
        user_id: 'u9',
        action: 'READ',
        table_name: 'users',
        record_id: 'r1',
        old_values: {},
        new_values: {},
        extra: 'ignored',
      },
    });
    expect(empty.statusCode).toBe(201);
    const read = (await getJson(t, `/api/v1/audit/logs/${empty.json().id}`, inv)).log;
    expect(read).toMatchObject({ old_values: null, new_values: null, user_name: null, description: null });
  });

  it('GET /api/v1/audit/summary counts all rows by table, user name (else id) and action', async () => {
    expect(await getJson(t, '/api/v1/audit/summary', inv)).toEqual({
      status: 'success',
      total_logs: 4,
      by_table: { products: 1, inventory: 1, warehouses: 1, users: 1 },
      by_user: { admin: 2, warehouse_manager: 1, u9: 1 },
      by_action: { UPDATE: 1, CREATE: 1, DELETE: 1, READ: 1 },
    });
  });

  it('each filter alone', async () => {
    expect(await listIds('')).toEqual(['e5', 'e4', 'e3', 'e2', 'e1']);
    expect(await listIds('?user_id=u1')).toEqual(['e5', 'e3', 'e1']);
    expect(await listIds('?table_name=inventory')).toEqual(['e4', 'e3']);
    expect(await listIds('?start_date=2024-03-03')).toEqual(['e5', 'e4', 'e3']);
    // A date-only end_date includes that whole day (to 23:59:59.999).
    expect(await listIds('?end_date=2024-03-02')).toEqual(['e2', 'e1']);
    // Full ISO date-times are accepted too.
    expect(await listIds('?start_date=2024-03-03T06:00:00Z')).toEqual(['e5', 'e4']);
    expect(await listIds('?end_date=2024-03-03T00:00:00Z')).toEqual(['e3', 'e2', 'e1']);
  });

  it('filters combine with AND', async () => {
    expect(await listIds('?start_date=2024-03-02&end_date=2024-03-03')).toEqual(['e4', 'e3', 'e2']);
    expect(await listIds('?user_id=u1&table_name=products')).toEqual(['e5', 'e1']);
    expect(await listIds('?user_id=u1&table_name=products&start_date=2024-03-02')).toEqual(['e5']);
    expect(
      await listIds('?user_id=u2&table_name=inventory&start_date=2024-03-01&end_date=2024-03-03'),
    ).toEqual(['e4']);
    expect(await listIds('?user_id=u2&end_date=2024-03-01')).toEqual([]);
  });

  it('skip/limit: first, last, beyond the last, empty; count is the number returned', async () => {
    expect(await listIds('?limit=2')).toEqual(['e5', 'e4']);
    expect(await listIds('?skip=2&limit=2')).toEqual(['e3', 'e2']);
    expect(await listIds('?skip=4&limit=2')).toEqual(['e1']);
    expect(await listIds('?skip=5&limit=2')).toEqual([]);
    expect(await listIds('?skip=1000')).toEqual([]);
    expect(await listIds('?user_id=nobody')).toEqual([]);
    expect(await listIds('?skip=1&limit=3&table_name=products')).toEqual(['e2', 'e1']);
  });

  it('invalid parameters are 400 with status:"error"', async () => {
    for (const query of ['start_date=03/04/2024', 'end_date=2024-02-30', 'start_date=yesterday']) {
      const res = await send(t, 'GET', `/api/v1/audit/logs?${query}`, { headers: filters });
      expect(res.statusCode, query).toBe(400);
      expect(res.json()).toEqual(error(400, 'Invalid date format'));
    }
    for (const query of ['skip=-1', 'skip=abc', 'limit=0', 'limit=abc', 'limit=10001']) {
      const res = await send(t, 'GET', `/api/v1/audit/logs?${query}`, { headers: filters });
      expect(res.statusCode, query).toBe(400);
      expect(res.json()).toEqual(
        error(400, 'Invalid request', expect.stringContaining(query.split('=')[0]!)),
      );
    }
  });

  it('POST validation: missing fields, unknown action, wrong types, bad JSON, wrong media type', async () => {
    const valid = { user_id: 'u1', action: 'CREATE', table_name: 'products', record_id: 'p1' };
    for (const field of Object.keys(valid)) {
      for (const value of [undefined, null, '']) {
        const payload: Record<string, unknown> = { ...valid };
        if (value === undefined) delete payload[field];
        else payload[field] = value;
        const res = await send(t, 'POST', '/api/v1/audit/logs', { headers: inv, payload });
        expect(res.statusCode, `${field}=${value}`).toBe(400);
        expect(res.json()).toEqual(error(400, 'Missing required fields', expect.stringContaining(field)));
      }
    }
    const noBody = await send(t, 'POST', '/api/v1/audit/logs', { headers: inv, payload: {} });
    expect(noBody.json()).toEqual(error(400, 'Missing required fields'));
    const action = await send(t, 'POST', '/api/v1/audit/logs', {
      headers: inv,
      payload: { ...valid, action: 'PATCH' },
    });
    expect(action.statusCode).toBe(400);
    expect(action.json()).toEqual(
      error(400, 'Invalid action', 'action must be one of CREATE, UPDATE, DELETE, READ'),
    );
    for (const [field, value] of [
      ['old_values', 'text'],
      ['new_values', [1, 2]],
      ['user_id', 42],
      ['ip_address', 'x'.repeat(65)],
    ] as const) {
      const res = await send(t, 'POST', '/api/v1/audit/logs', {
        headers: inv,
        payload: { ...valid, [field]: value },
      });
      expect(res.statusCode, field).toBe(400);
      expect(res.json()).toEqual(error(400, 'Invalid request', expect.stringContaining(field)));
    }
    const json = await t.app.inject({
      method: 'POST',
      url: '/api/v1/audit/logs',
      headers: { ...inv, 'content-type': 'application/json' },
      payload: '{"user_id": ',
    });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toEqual(error(400, 'Invalid JSON'));
    const media = await t.app.inject({
      method: 'POST',
      url: '/api/v1/audit/logs',
      headers: { ...inv, 'content-type': 'text/plain' },
      payload: 'user_id=u1',
    });
    expect(media.statusCode).toBe(415);
    expect(media.json()).toMatchObject({ status: 'error', code: 415 });
  });

  it('an unknown id is the 404 body', async () => {
    const res = await send(t, 'GET', '/api/v1/audit/logs/no-such-log', { headers: inv });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual(error(404, 'Audit log not found'));
    // Another tenant's log is not found either.
    expect((await send(t, 'GET', `/api/v1/audit/logs/${DOC_A}`, { headers: filters })).statusCode).toBe(404);
  });

  it('401 and 403 bodies; reads need audit:read, POST audit:write', async () => {
    const unauthorized = error(
      401,
      'Unauthorized',
      'Se requiere autenticación. Proporcione el header Authorization: Bearer <token> o X-API-Key.',
    );
    for (const headers of [{}, { authorization: `Bearer ${FORGED_JWT}` }, { 'x-api-key': 'wrong' }] as Record<
      string,
      string
    >[]) {
      const res = await send(t, 'GET', '/api/v1/audit/summary', { headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual(unauthorized);
    }
    const forbidden = error(403, 'Forbidden', 'La credencial no tiene permiso para acceder a este recurso.');
    const reader = await keyWith(t, ['audit:read']);
    const writer = await keyWith(t, ['audit:write']);
    const post = await send(t, 'POST', '/api/v1/audit/logs', {
      headers: reader,
      payload: { user_id: 'u', action: 'READ', table_name: 't', record_id: 'r' },
    });
    expect(post.statusCode).toBe(403);
    expect(post.json()).toEqual(forbidden);
    for (const url of ['/api/v1/audit/logs', `/api/v1/audit/logs/${DOC_A}`, '/api/v1/audit/summary']) {
      const res = await send(t, 'GET', url, { headers: writer });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual(forbidden);
    }
    const written = await send(t, 'POST', '/api/v1/audit/logs', {
      headers: writer,
      payload: { user_id: 'u', action: 'READ', table_name: 't', record_id: 'r' },
    });
    expect(written.statusCode).toBe(201);
  });

  it('is in the OpenAPI document under its own tag, with its error schema', async () => {
    const doc = await getJson(t, '/openapi.json');
    const tag = 'compat: inventory audit logs';
    expect(doc.tags.map((x: { name: string }) => x.name)).toContain(tag);
    expect(doc.paths['/api/v1/audit/logs'].post.tags).toEqual([tag]);
    expect(
      doc.paths['/api/v1/audit/logs/{id}'].get.responses['404'].content['application/json'].schema.properties,
    ).toHaveProperty('status');
  });
});

describe.each(BACKENDS)('across surfaces on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => {
    await t.close();
  });

  it('an event written through seed 001 and one through /api/v1/events read back through 000, 001 and 004', async () => {
    const key = await keyWith(t, ['admin'], 'cross');
    const posted = await send(t, 'POST', '/api/v1/audit/logs', {
      headers: key,
      payload: {
        user_id: 'u-42',
        user_name: 'Ana',
        action: 'UPDATE',
        table_name: 'products',
        record_id: 'prod-7',
        old_values: { price: 10 },
        new_values: { price: 12 },
        description: 'Price change',
        ip_address: '10.1.2.3',
      },
    });
    expect(posted.statusCode).toBe(201);
    const fromInventory = posted.json().id as string;
    const [fromApi] = await writeEvents(
      t,
      [
        {
          occurredAt: '2024-03-15T10:00:00Z',
          action: 'TICKET_PAY',
          actor: { id: 'cajero-1', name: 'Cajero Uno' },
          target: { type: 'TICKET_PAYMENT', id: 'payment-456' },
          details: { created: true, cached: false, amount: 50000, method: 'cash', layer: 'service' },
          context: { ip: '192.168.1.100', userAgent: 'curl/8', requestId: 'req-1' },
        },
      ],
      key,
    );

    // Logbook's own API sees the inventory write in its model.
    const own = await getJson(t, `/api/v1/events/${fromInventory}`, key);
    expect(own).toMatchObject({
      tenant: 'cross',
      action: 'UPDATE',
      actor: { id: 'u-42', name: 'Ana', type: 'user' },
      target: { type: 'products', id: 'prod-7' },
      changes: { before: { price: 10 }, after: { price: 12 } },
      description: 'Price change',
      context: { ip: '10.1.2.3' },
    });

    // Seed 000.
    const insforge = (await send(t, 'GET', '/api/logs', { headers: key })).json() as Record<
      string,
      unknown
    >[];
    expect(insforge.map((i) => i.id)).toEqual([fromInventory, fromApi]);
    expect(insforge[0]).toMatchObject({
      action: 'UPDATE',
      table: 'products',
      record_id: 'prod-7',
      user_id: 'u-42',
      details: null,
    });
    expect(insforge[1]).toEqual({
      id: fromApi,
      timestamp: '2024-03-15T10:00:00.000Z',
      action: 'TICKET_PAY',
      table: 'TICKET_PAYMENT',
      record_id: 'payment-456',
      user_id: 'cajero-1',
      details: { created: true, cached: false, amount: 50000, method: 'cash', layer: 'service' },
      table_name: 'TICKET_PAYMENT',
      created_at: '2024-03-15T10:00:00.000Z',
    });

    // Seed 001.
    const inventory = await getJson(t, '/api/v1/audit/logs', key);
    expect(inventory.logs[1]).toEqual({
      id: fromApi,
      user_id: 'cajero-1',
      user_name: 'Cajero Uno',
      action: 'TICKET_PAY',
      table_name: 'TICKET_PAYMENT',
      record_id: 'payment-456',
      old_values: null,
      new_values: null,
      description: null,
      timestamp: '2024-03-15T10:00:00.000Z',
    });
    expect((await getJson(t, `/api/v1/audit/logs/${fromApi}`, key)).log.ip_address).toBe('192.168.1.100');

    // Seed 004.
    const activity = await getJson(t, '/api/v1/activity-logs', key);
    expect(activity.meta.total).toBe(2);
    expect(activity.data[0]).toEqual({
      id: fromInventory,
      userId: 'u-42',
      action: 'UPDATE',
      targetType: 'products',
      targetId: 'prod-7',
      details: null,
      createdAt: expect.any(String),
      ipAddress: '10.1.2.3',
      userAgent: null,
      layer: null,
      requestId: null,
      user: { id: 'u-42', name: 'Ana' },
    });
    expect(activity.data[1]).toEqual({
      id: fromApi,
      userId: 'cajero-1',
      action: 'TICKET_PAY',
      targetType: 'TICKET_PAYMENT',
      targetId: 'payment-456',
      details: { created: true, cached: false, amount: 50000, method: 'cash', layer: 'service' },
      createdAt: '2024-03-15T10:00:00.000Z',
      ipAddress: '192.168.1.100',
      userAgent: 'curl/8',
      layer: 'service',
      requestId: 'req-1',
      user: { id: 'cajero-1', name: 'Cajero Uno' },
    });
    expect((await getJson(t, `/api/v1/activity-logs/${fromInventory}`, key)).data.id).toBe(fromInventory);
    const history = await getJson(t, '/api/v1/activity-logs/target/products/prod-7', key);
    expect(history.data.map((d: { id: string }) => d.id)).toEqual([fromInventory]);
  });
});
