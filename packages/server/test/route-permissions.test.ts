// The route-permission matrix, generated from the app's own route table (every route the app registers, as
// recorded by the auth plugin's onRoute hook). For every non-public route: no credential → 401; a credential
// lacking the route's scope (API key, login token and outside JWT alike) → 403; the route's scope alone is
// enough; a tenant-bound credential gets only its tenant's data and 403/404 for another tenant's.
// A route that is not in MATRIX (or PUBLIC) below fails this test: adding a route means deciding its scope here.
import { SCOPES, type Scope } from '@logbook/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLogEntry } from '../src/domain/log-entry.ts';
import type { RouteEntry } from '../src/http/plugins/auth.ts';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { bearer, call, createKey, createUser, hs256, loginToken } from './support-identity.ts';

const JWT_SECRET = 'route-matrix-hs256-secret-0123456789abcdef';
const PASSWORD = 'matrix-password-123';

/** Public routes: reachable without any credential. Anything else public is a finding. */
const PUBLIC = new Set([
  'GET /health',
  'GET /ready',
  'GET /openapi.json',
  'POST /api/v1/auth/login',
  'POST /api/login/access-token',
  'GET /api/v1/integrity/public-key',
  // The dashboard's page, its hashed assets and the browser fallback (http/dashboard.ts): static, no data.
  'GET /',
  'GET /assets/*',
  'GET /*',
]);
/** Static files of the documentation UI (registered by @fastify/swagger-ui): public by rule. */
const isDocs = (url: string) => url === '/docs' || url.startsWith('/docs/');

type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'HEAD';
interface Req {
  url: string;
  payload?: unknown;
}
/** A request and the status expected of it. */
interface Probe extends Req {
  status: number;
}

interface Fixtures {
  acmeEventId: string;
  globexEventId: string;
  acmeLogId: string;
  globexLogId: string;
  /**
   * An id held by an event in acme (action acme.shared) and one in default (default.shared): routes without a
   * tenant parameter find it both for acme-bound credentials and for unbound ones (which see default).
   */
  sharedEventId: string;
  /** A fresh key bound to `tenant` (for revocation probes). */
  newKeyId(tenant: string): Promise<string>;
  newUserId(tenant: string): Promise<string>;
  uniqueName(): string;
  /** A system log entry with one id in acme (service acme.shared) and in default (default.shared), like sharedEventId. */
  sharedLogId: string;
  /** A fresh id held by an event in acme and one in default (for deletes without a tenant parameter). */
  newSharedEventId(): Promise<string>;
  /** A fresh id held by a system log entry in acme and one in default. */
  newSharedLogId(): Promise<string>;
}

interface MatrixEntry {
  scope: Scope;
  /** A valid request; acting for `tenant` (the bound credential's tenant, or a tenant an unbound one may use). */
  request(fx: Fixtures, tenant: string): Promise<Req> | Req;
  /** What a credential bound to acme must get when it aims at globex's data. */
  otherTenant(fx: Fixtures): Promise<Probe[]> | Probe[];
  /** Checks the answer to `request` made by an acme-bound credential holds only acme's data. */
  ownOnly(res: LightMyRequestResponse, fx: Fixtures): void;
  /** For routes that answer 401/403 in their own body (compatibility surfaces); default: the catalog body. */
  denied?: (res: LightMyRequestResponse, status: 401 | 403) => void;
}

/** The 401/403 body a route answers: the catalog's, or the route's own (compat-*.test.ts check those exactly). */
function checkDenied(entry: MatrixEntry, res: LightMyRequestResponse, status: 401 | 403): void {
  if (entry.denied) entry.denied(res, status);
  else expect(res.json().error.code).toBe(status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
}

/** Auth failure bodies of the compatibility surfaces (seeds 000, 001, 004). */
const insforgeDenied = (res: LightMyRequestResponse, status: 401 | 403) => {
  expect(res.json()).toMatchObject({ statusCode: status, error: expect.stringMatching(/^AUTH_/) });
};
const inventoryDenied = (res: LightMyRequestResponse, status: 401 | 403) => {
  expect(res.json()).toMatchObject({ status: 'error', code: status });
};
const apiLogsDenied = (res: LightMyRequestResponse) => {
  expect(res.json()).toEqual({ status: 'error', message: expect.any(String) });
};
const scopedDenied = (res: LightMyRequestResponse) => {
  expect(res.json()).toEqual({ detail: expect.any(String) });
};
const activityDenied = (res: LightMyRequestResponse) => {
  expect(res.json()).toMatchObject({ success: false, message: expect.any(String) });
};
/** Ids of compat list items (every surface names the event id `id`). */
const compatIds = (items: { id: string }[]) => items.map((i) => i.id);

const tenantsOf = (rows: { tenant: string | null }[]) => [...new Set(rows.map((r) => r.tenant))];

const MATRIX: Record<string, MatrixEntry> = {
  'POST /api/v1/events': {
    scope: 'audit:write',
    request: () => ({ url: '/api/v1/events', payload: sampleEvent() }),
    otherTenant: () => [
      { url: '/api/v1/events', payload: sampleEvent({ tenant: 'globex' }), status: 403 },
      {
        url: '/api/v1/events',
        payload: { events: [sampleEvent(), sampleEvent({ tenant: 'globex' })] },
        status: 403,
      },
    ],
    ownOnly: (res) => expect(res.json().events[0].tenant).toBe('acme'),
  },
  'GET /api/v1/events': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/events?limit=1000' }),
    otherTenant: () => [{ url: '/api/v1/events?tenant=globex', status: 403 }],
    ownOnly: (res, fx) => {
      const data = res.json().data as { id: string; tenant: string }[];
      expect(tenantsOf(data)).toEqual(['acme']);
      expect(data.map((e) => e.id)).toContain(fx.acmeEventId);
    },
  },
  'GET /api/v1/events/stats': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/events/stats' }),
    otherTenant: () => [{ url: '/api/v1/events/stats?tenant=globex', status: 403 }],
    ownOnly: (res) => expect(res.json().byAction).not.toHaveProperty('globex.only'),
  },
  'GET /api/v1/events/:id': {
    scope: 'audit:read',
    request: (fx) => ({ url: `/api/v1/events/${fx.acmeEventId}?tenant=acme` }),
    otherTenant: (fx) => [
      { url: `/api/v1/events/${fx.globexEventId}`, status: 404 },
      { url: `/api/v1/events/${fx.globexEventId}?tenant=globex`, status: 403 },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'POST /api/v1/events/redact': {
    scope: 'admin',
    // An id that does not exist: a real redaction (and its record) without touching the fixtures.
    request: (fx, tenant) => ({
      url: '/api/v1/events/redact',
      payload: { tenant, ids: [fx.uniqueName()], reason: 'permission matrix' },
    }),
    otherTenant: (fx) => [
      {
        url: '/api/v1/events/redact',
        payload: { tenant: 'globex', ids: [fx.uniqueName()], reason: 'x' },
        status: 403,
      },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'POST /api/v1/logs': {
    scope: 'logging:write',
    request: (_fx, tenant) => ({
      url: '/api/v1/logs',
      payload: { message: 'matrix', service: 'matrix', tenant },
    }),
    otherTenant: () => [
      { url: '/api/v1/logs', payload: { message: 'x', tenant: 'globex' }, status: 403 },
      { url: '/api/v1/logs', payload: [{ message: 'x' }, { message: 'y', tenant: 'globex' }], status: 403 },
    ],
    ownOnly: (res) => expect(res.json().logs[0].tenant).toBe('acme'),
  },
  'GET /api/v1/logs': {
    scope: 'logging:read',
    request: () => ({ url: '/api/v1/logs?limit=1000' }),
    otherTenant: () => [{ url: '/api/v1/logs?tenant=globex', status: 403 }],
    ownOnly: (res, fx) => {
      const data = res.json().data as { id: string; tenant: string }[];
      expect(tenantsOf(data)).toEqual(['acme']);
      expect(data.map((e) => e.id)).toContain(fx.acmeLogId);
    },
  },
  'GET /api/v1/logs/stats': {
    scope: 'logging:read',
    request: () => ({ url: '/api/v1/logs/stats' }),
    otherTenant: () => [{ url: '/api/v1/logs/stats?tenant=globex', status: 403 }],
    ownOnly: (res) => {
      expect(res.json().byService).toHaveProperty(['acme-svc']);
      expect(res.json().byService).not.toHaveProperty(['globex.only']);
    },
  },
  'GET /api/v1/logs/:id': {
    scope: 'logging:read',
    request: (fx) => ({ url: `/api/v1/logs/${fx.acmeLogId}?tenant=acme` }),
    otherTenant: (fx) => [
      { url: `/api/v1/logs/${fx.globexLogId}`, status: 404 },
      { url: `/api/v1/logs/${fx.globexLogId}?tenant=globex`, status: 403 },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'GET /api/v1/events/export': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/events/export?format=ndjson&action=acme.only' }),
    otherTenant: () => [{ url: '/api/v1/events/export?tenant=globex', status: 403 }],
    ownOnly: (res, fx) => {
      const rows = res.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; tenant: string });
      expect(rows.map((r) => r.id)).toEqual([fx.acmeEventId]);
      expect(tenantsOf(rows)).toEqual(['acme']);
    },
  },
  'GET /api/v1/logs/export': {
    scope: 'logging:read',
    request: () => ({ url: '/api/v1/logs/export?format=ndjson' }),
    otherTenant: () => [{ url: '/api/v1/logs/export?format=csv&tenant=globex', status: 403 }],
    ownOnly: (res, fx) => {
      const rows = res.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; tenant: string });
      expect(tenantsOf(rows)).toEqual(['acme']);
      expect(rows.map((r) => r.id)).toContain(fx.acmeLogId);
    },
  },
  'GET /api/v1/retention': {
    scope: 'admin',
    request: () => ({ url: '/api/v1/retention' }),
    otherTenant: () => [{ url: '/api/v1/retention?tenant=globex', status: 403 }],
    ownOnly: (res) => expect(tenantsOf(res.json().data)).toEqual(['acme']),
  },
  'PUT /api/v1/retention': {
    scope: 'admin',
    // 100 years: a real policy change that removes nothing.
    request: (_fx, tenant) => ({
      url: '/api/v1/retention',
      payload: { tenant, stream: 'logs', days: 36500 },
    }),
    otherTenant: () => [
      { url: '/api/v1/retention', payload: { tenant: 'globex', stream: 'logs', days: 1 }, status: 403 },
    ],
    ownOnly: (res) => expect(res.json()).toMatchObject({ tenant: 'acme', stream: 'logs', days: 36500 }),
  },
  'POST /api/v1/retention/run': {
    scope: 'admin',
    // Fixtures are minutes old: the default 45 days removes none of them.
    request: (_fx, tenant) => ({ url: '/api/v1/retention/run', payload: { tenant } }),
    otherTenant: () => [{ url: '/api/v1/retention/run', payload: { tenant: 'globex' }, status: 403 }],
    ownOnly: (res) => {
      expect(res.json().deleted).toBe(0);
      expect(tenantsOf(res.json().purged)).toEqual(['acme']);
    },
  },
  'GET /api/v1/logs/tail': {
    scope: 'logging:read',
    // follow=false ends the stream once caught up, so inject() gets a whole answer.
    request: (_fx, tenant) => ({ url: `/api/v1/logs/tail?follow=false&lastEventId=0&tenant=${tenant}` }),
    otherTenant: () => [{ url: '/api/v1/logs/tail?follow=false&tenant=globex', status: 403 }],
    ownOnly: (res) => {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.body).toContain('"tenant":"acme"');
      expect(res.body).not.toContain('globex');
    },
  },
  'GET /api/v1/events/tail': {
    scope: 'audit:read',
    request: (_fx, tenant) => ({ url: `/api/v1/events/tail?follow=false&lastEventId=0&tenant=${tenant}` }),
    otherTenant: () => [{ url: '/api/v1/events/tail?follow=false&tenant=globex', status: 403 }],
    ownOnly: (res) => {
      expect(res.body).toContain('"tenant":"acme"');
      expect(res.body).not.toContain('globex');
    },
  },
  'POST /v1/logs': {
    scope: 'logging:write',
    // OTLP names no tenant: records go to the credential's tenant (or the default one).
    request: () => ({
      url: '/v1/logs',
      payload: {
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'matrix otlp' } }] }] }],
      },
    }),
    otherTenant: () => [],
    ownOnly: (res) => expect(res.json()).toEqual({ partialSuccess: {} }),
  },
  'GET /api/v1/integrity/checkpoint': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/integrity/checkpoint?tenant=acme' }),
    otherTenant: () => [{ url: '/api/v1/integrity/checkpoint?tenant=globex', status: 403 }],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'POST /api/v1/integrity/checkpoint': {
    scope: 'admin',
    request: () => ({ url: '/api/v1/integrity/checkpoint', payload: { tenant: 'acme' } }),
    otherTenant: () => [{ url: '/api/v1/integrity/checkpoint', payload: { tenant: 'globex' }, status: 403 }],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'GET /api/v1/integrity/proof/inclusion': {
    scope: 'audit:read',
    request: (fx) => ({ url: `/api/v1/integrity/proof/inclusion?tenant=acme&id=${fx.acmeEventId}` }),
    otherTenant: (fx) => [
      { url: `/api/v1/integrity/proof/inclusion?tenant=globex&id=${fx.globexEventId}`, status: 403 },
      { url: `/api/v1/integrity/proof/inclusion?id=${fx.globexEventId}`, status: 404 },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'GET /api/v1/integrity/proof/consistency': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/integrity/proof/consistency?tenant=acme&from=1&to=2' }),
    otherTenant: () => [
      { url: '/api/v1/integrity/proof/consistency?tenant=globex&from=1&to=2', status: 403 },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'POST /api/v1/keys': {
    scope: 'admin',
    request: (fx) => ({ url: '/api/v1/keys', payload: { name: fx.uniqueName(), scopes: ['audit:read'] } }),
    otherTenant: () => [
      { url: '/api/v1/keys', payload: { name: 'x', scopes: ['audit:read'], tenant: 'globex' }, status: 403 },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'GET /api/v1/keys': {
    scope: 'admin',
    request: () => ({ url: '/api/v1/keys' }),
    otherTenant: () => [{ url: '/api/v1/keys?tenant=globex', status: 403 }],
    ownOnly: (res) => expect(tenantsOf(res.json().data)).toEqual(['acme']),
  },
  'DELETE /api/v1/keys/:id': {
    scope: 'admin',
    request: async (fx, tenant) => ({ url: `/api/v1/keys/${await fx.newKeyId(tenant)}` }),
    otherTenant: async (fx) => [{ url: `/api/v1/keys/${await fx.newKeyId('globex')}`, status: 404 }],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'POST /api/v1/users': {
    scope: 'admin',
    request: (fx) => ({ url: '/api/v1/users', payload: { username: fx.uniqueName(), password: PASSWORD } }),
    otherTenant: (fx) => [
      {
        url: '/api/v1/users',
        payload: { username: fx.uniqueName(), password: PASSWORD, tenant: 'globex' },
        status: 403,
      },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'GET /api/v1/users': {
    scope: 'admin',
    request: () => ({ url: '/api/v1/users' }),
    otherTenant: () => [{ url: '/api/v1/users?tenant=globex', status: 403 }],
    ownOnly: (res) => expect(tenantsOf(res.json().data)).toEqual(['acme']),
  },
  'POST /api/v1/users/:id/disable': {
    scope: 'admin',
    request: async (fx, tenant) => ({ url: `/api/v1/users/${await fx.newUserId(tenant)}/disable` }),
    otherTenant: async (fx) => [
      { url: `/api/v1/users/${await fx.newUserId('globex')}/disable`, status: 404 },
    ],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  'POST /api/v1/users/:id/enable': {
    scope: 'admin',
    request: async (fx, tenant) => ({ url: `/api/v1/users/${await fx.newUserId(tenant)}/enable` }),
    otherTenant: async (fx) => [{ url: `/api/v1/users/${await fx.newUserId('globex')}/enable`, status: 404 }],
    ownOnly: (res) => expect(res.json().tenant).toBe('acme'),
  },
  // Compatibility surfaces (http/compat/): the caller's bound tenant, else default; no tenant parameter.
  'GET /api/logs': {
    scope: 'audit:read',
    request: () => ({ url: '/api/logs?limit=1000' }),
    otherTenant: () => [],
    ownOnly: (res, fx) => expect(compatIds(res.json())).toContain(fx.acmeEventId),
    denied: insforgeDenied,
  },
  'DELETE /api/logs': {
    scope: 'admin',
    // A cut-off before every fixture: the route runs (and records the deletion) without emptying the log.
    request: () => ({ url: '/api/logs?before=2000-01-01T00:00:00Z' }),
    otherTenant: () => [],
    ownOnly: (res) => expect(res.json()).toMatchObject({ deleted_count: 0, deleted: 0 }),
    denied: insforgeDenied,
  },
  'GET /api/logs/stats': {
    scope: 'audit:read',
    request: () => ({ url: '/api/logs/stats' }),
    otherTenant: () => [],
    ownOnly: (res) => {
      const actions = (res.json().actionStats as { action: string }[]).map((a) => a.action);
      expect(actions).toContain('acme.only');
      expect(actions).not.toContain('globex.only');
    },
    denied: insforgeDenied,
  },
  'GET /api/v1/audit/logs': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/audit/logs?limit=1000' }),
    otherTenant: () => [],
    ownOnly: (res, fx) => expect(compatIds(res.json().logs)).toContain(fx.acmeEventId),
    denied: inventoryDenied,
  },
  'POST /api/v1/audit/logs': {
    scope: 'audit:write',
    request: () => ({
      url: '/api/v1/audit/logs',
      payload: { user_id: 'u-1', action: 'CREATE', table_name: 'products', record_id: 'p-1' },
    }),
    otherTenant: () => [],
    ownOnly: (res) => expect(res.json()).toMatchObject({ status: 'success', id: expect.any(String) }),
    denied: inventoryDenied,
  },
  'GET /api/v1/audit/logs/:id': {
    scope: 'audit:read',
    request: (fx) => ({ url: `/api/v1/audit/logs/${fx.sharedEventId}` }),
    otherTenant: (fx) => [{ url: `/api/v1/audit/logs/${fx.globexEventId}`, status: 404 }],
    ownOnly: (res) => expect(res.json().log.action).toBe('acme.shared'),
    denied: inventoryDenied,
  },
  'GET /api/v1/audit/summary': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/audit/summary' }),
    otherTenant: () => [],
    ownOnly: (res) => {
      expect(res.json().by_action).toHaveProperty(['acme.only']);
      expect(res.json().by_action).not.toHaveProperty(['globex.only']);
    },
    denied: inventoryDenied,
  },
  'GET /api/v1/activity-logs': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/activity-logs?pageSize=100' }),
    otherTenant: () => [],
    ownOnly: (res, fx) => expect(compatIds(res.json().data)).toContain(fx.acmeEventId),
    denied: activityDenied,
  },
  'GET /api/v1/activity-logs/export': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/activity-logs/export?format=ndjson&action=acme.only' }),
    otherTenant: () => [],
    ownOnly: (res, fx) => {
      const ids = res.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id);
      expect(ids).toEqual([fx.acmeEventId]);
    },
    denied: activityDenied,
  },
  'GET /api/v1/activity-logs/retention': {
    scope: 'admin',
    request: () => ({ url: '/api/v1/activity-logs/retention' }),
    otherTenant: () => [],
    ownOnly: (res) => expect(res.json().data.tenant).toBe('acme'),
    denied: activityDenied,
  },
  'PUT /api/v1/activity-logs/retention': {
    scope: 'admin',
    request: () => ({ url: '/api/v1/activity-logs/retention', payload: { days: 3650 } }),
    otherTenant: () => [],
    ownOnly: (res) => expect(res.json().data).toMatchObject({ tenant: 'acme', days: 3650 }),
    denied: activityDenied,
  },
  'POST /api/v1/activity-logs/cleanup': {
    scope: 'admin',
    // Keeps everything of the last 100 years: the route runs without removing fixtures.
    request: () => ({ url: '/api/v1/activity-logs/cleanup', payload: { daysToKeep: 36500 } }),
    otherTenant: () => [],
    ownOnly: (res) => expect(res.json().data.deletedCount).toBe(0),
    denied: activityDenied,
  },
  'GET /api/v1/activity-logs/user/:userId': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/activity-logs/user/alice?pageSize=100' }),
    otherTenant: () => [],
    ownOnly: (res, fx) => expect(compatIds(res.json().data)).toContain(fx.acmeEventId),
    denied: activityDenied,
  },
  'GET /api/v1/activity-logs/target/:targetType/:targetId': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/activity-logs/target/invoice/inv-1?pageSize=100' }),
    otherTenant: () => [],
    ownOnly: (res, fx) => expect(compatIds(res.json().data)).toContain(fx.acmeEventId),
    denied: activityDenied,
  },
  'GET /api/v1/activity-logs/action/:action': {
    scope: 'audit:read',
    request: () => ({ url: '/api/v1/activity-logs/action/acme.only' }),
    otherTenant: () => [{ url: '/api/v1/activity-logs/action/globex.only', status: 200 }],
    ownOnly: (res, fx) => expect(compatIds(res.json().data)).toEqual([fx.acmeEventId]),
    denied: activityDenied,
  },
  'GET /api/v1/activity-logs/:id': {
    scope: 'audit:read',
    request: (fx) => ({ url: `/api/v1/activity-logs/${fx.sharedEventId}` }),
    otherTenant: (fx) => [{ url: `/api/v1/activity-logs/${fx.globexEventId}`, status: 404 }],
    ownOnly: (res) => expect(res.json().data.action).toBe('acme.shared'),
    denied: activityDenied,
  },
  'GET /logs': {
    scope: 'logging:read',
    request: () => ({ url: '/logs?service=acme-svc' }),
    otherTenant: () => [{ url: '/logs?service=globex.only', status: 200 }],
    ownOnly: (res, fx) => expect(compatIds(res.json().data.logs)).toContain(fx.acmeLogId),
    denied: apiLogsDenied,
  },
  'GET /api/logging/audit': {
    scope: 'audit:read',
    request: () => ({ url: '/api/logging/audit/?action=acme.only' }),
    otherTenant: () => [{ url: '/api/logging/audit/?action=globex.only', status: 200 }],
    ownOnly: (res, fx) => expect(compatIds(res.json().items)).toEqual([fx.acmeEventId]),
    denied: scopedDenied,
  },
  'GET /api/logging/audit/filters': {
    scope: 'audit:read',
    request: () => ({ url: '/api/logging/audit/filters' }),
    otherTenant: () => [],
    ownOnly: (res) => {
      expect(res.json().fields.action.values).toContain('acme.only');
      expect(res.json().fields.action.values).not.toContain('globex.only');
    },
    denied: scopedDenied,
  },
  'GET /api/logging/audit/:id': {
    scope: 'audit:read',
    request: (fx) => ({ url: `/api/logging/audit/${fx.sharedEventId}` }),
    otherTenant: (fx) => [{ url: `/api/logging/audit/${fx.globexEventId}`, status: 404 }],
    ownOnly: (res) => expect(res.json().action).toBe('acme.shared'),
    denied: scopedDenied,
  },
  'DELETE /api/logging/audit/:id': {
    scope: 'audit:write',
    request: async (fx) => ({ url: `/api/logging/audit/${await fx.newSharedEventId()}` }),
    otherTenant: (fx) => [{ url: `/api/logging/audit/${fx.globexEventId}`, status: 404 }],
    ownOnly: (res) => expect(res.statusCode).toBe(204),
    denied: scopedDenied,
  },
  'GET /api/logging/system': {
    scope: 'logging:read',
    request: () => ({ url: '/api/logging/system/?service=acme-svc' }),
    otherTenant: () => [{ url: '/api/logging/system/?service=globex.only', status: 200 }],
    ownOnly: (res, fx) => expect(compatIds(res.json().items)).toContain(fx.acmeLogId),
    denied: scopedDenied,
  },
  'GET /api/logging/system/filters': {
    scope: 'logging:read',
    request: () => ({ url: '/api/logging/system/filters' }),
    otherTenant: () => [],
    ownOnly: (res) => {
      expect(res.json().fields.service.values).toContain('acme-svc');
      expect(res.json().fields.service.values).not.toContain('globex.only');
    },
    denied: scopedDenied,
  },
  'GET /api/logging/system/:id': {
    scope: 'logging:read',
    request: (fx) => ({ url: `/api/logging/system/${fx.sharedLogId}` }),
    otherTenant: (fx) => [{ url: `/api/logging/system/${fx.globexLogId}`, status: 404 }],
    ownOnly: (res) => expect(res.json().service).toBe('acme.shared'),
    denied: scopedDenied,
  },
  'DELETE /api/logging/system/:id': {
    scope: 'logging:write',
    request: async (fx) => ({ url: `/api/logging/system/${await fx.newSharedLogId()}` }),
    otherTenant: (fx) => [{ url: `/api/logging/system/${fx.globexLogId}`, status: 404 }],
    ownOnly: (res) => expect(res.statusCode).toBe(204),
    denied: scopedDenied,
  },
};

// An app is built once at collection time, so that the tests below are generated from its route table. The table
// is the same on every backend (checked below): a backend difference is a store capability, never a route.
const routeTableApp = await makeTestApp({ identity: { jwt: { secret: JWT_SECRET } } });
const table: RouteEntry[] = [...routeTableApp.app.routeTable];
await routeTableApp.close();
const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
/** HEAD twins of GET routes are checked with the GET route's entry. */
const entryKey = (r: RouteEntry) => (r.method === 'HEAD' ? `GET ${r.url}` : key(r));
const scoped = table.filter((r): r is RouteEntry & { scope: Scope } => r.scope !== 'public');

interface Credentials {
  /** Per scope: credentials holding every scope except it (and except admin), one of each kind. */
  lacking: Record<Scope, Record<string, string>[]>;
  /** Per scope: an unbound API key holding only it. */
  only: Record<Scope, Record<string, string>>;
  /** Per scope: credentials bound to acme holding only it: an API key, a login token, an outside JWT. */
  acme: Record<Scope, Record<string, string>[]>;
}

describe.each(BACKENDS)('route permissions on %s', (backend) => {
  let t: TestApp;
  let creds: Credentials;
  let fx: Fixtures;

  beforeAll(async () => {
    t = await makeTestApp({ backend, identity: { jwt: { secret: JWT_SECRET } } });
    let counter = 0;
    const uniqueName = () => `matrix-${process.pid}-${++counter}`;
    const post = async (tenant: string, event: Record<string, unknown>) => {
      const res = await call(t, 'POST', '/api/v1/events', t.auth, { ...event, tenant });
      return res.json().events[0].id as string;
    };
    const acmeEventId = await post('acme', sampleEvent({ action: 'acme.only' }));
    await post('acme', sampleEvent({ action: 'acme.second' }));
    const globexEventId = await post('globex', sampleEvent({ action: 'globex.only' }));
    const postLog = async (tenant: string, service: string) => {
      const res = await call(t, 'POST', '/api/v1/logs', t.auth, { message: 'matrix', service, tenant });
      return res.json().logs[0].id as string;
    };
    await postLog('acme', 'acme-svc');
    const acmeLogId = await postLog('acme', 'acme-svc');
    await postLog('globex', 'globex.only');
    const globexLogId = await postLog('globex', 'globex.only');
    await post('globex', sampleEvent({ action: 'globex.only' }));
    const sharedEventId = 'matrix-shared-event';
    await post('acme', sampleEvent({ id: sharedEventId, action: 'acme.shared' }));
    await post('default', sampleEvent({ id: sharedEventId, action: 'default.shared' }));
    for (const tenant of ['acme', 'globex']) {
      await call(t, 'POST', '/api/v1/integrity/checkpoint', t.auth, { tenant });
    }
    // Log ids are the server's, so entries sharing an id (like sharedEventId) are put in through the store.
    const newSharedLogId = async () => {
      const id = `matrix-log-${uniqueName()}`;
      for (const tenant of ['acme', 'default']) {
        const entry = prepareLogEntry(
          { message: 'matrix shared', service: `${tenant}.shared` },
          { receivedMs: Date.now(), defaultTenant: tenant, field: 'body' },
        );
        await t.store.appendLogs([{ ...entry, id, body: JSON.stringify({ ...JSON.parse(entry.body), id }) }]);
      }
      return id;
    };
    fx = {
      acmeEventId,
      globexEventId,
      acmeLogId,
      globexLogId,
      sharedEventId,
      sharedLogId: await newSharedLogId(),
      newSharedLogId,
      newSharedEventId: async () => {
        const id = `matrix-event-${uniqueName()}`;
        await post('acme', sampleEvent({ id, action: 'acme.shared' }));
        await post('default', sampleEvent({ id, action: 'default.shared' }));
        return id;
      },
      uniqueName,
      newKeyId: async (tenant) =>
        (await createKey(t, { name: uniqueName(), scopes: ['audit:read'], tenant })).id,
      newUserId: async (tenant) =>
        (await createUser(t, { username: uniqueName(), password: PASSWORD, tenant })).id,
    };

    const nonAdmin = SCOPES.filter((s) => s !== 'admin');
    const jwt = async (scopes: string[], tenant?: string) =>
      bearer(
        await hs256(JWT_SECRET, {
          sub: uniqueName(),
          scope: scopes.join(' '),
          ...(tenant ? { tenant } : {}),
        }),
      );
    const userToken = async (scopes: Scope[], tenant?: string) => {
      const username = uniqueName();
      const isAdmin = scopes.includes('admin');
      await createUser(t, {
        username,
        password: PASSWORD,
        ...(isAdmin ? { role: 'admin' } : { scopes }),
        ...(tenant ? { tenant } : {}),
      });
      return bearer(await loginToken(t, username, PASSWORD));
    };
    creds = { lacking: {}, only: {}, acme: {} } as Credentials;
    for (const scope of SCOPES) {
      const rest = nonAdmin.filter((s) => s !== scope);
      creds.lacking[scope] = [
        bearer((await createKey(t, { scopes: rest })).key),
        { 'x-api-key': (await createKey(t, { scopes: rest })).key },
        await userToken(rest),
        await jwt(rest),
      ];
      creds.only[scope] = bearer((await createKey(t, { scopes: [scope] })).key);
      creds.acme[scope] = [
        bearer((await createKey(t, { scopes: [scope], tenant: 'acme' })).key),
        await userToken([scope], 'acme'),
        await jwt([scope], 'acme'),
      ];
    }
  });

  afterAll(async () => {
    await t.close();
  });

  describe('the route table', () => {
    it('lists the routes the app serves, the same on this backend', () => {
      expect(scoped.length).toBeGreaterThanOrEqual(Object.keys(MATRIX).length);
      expect([...t.app.routeTable].map(key)).toEqual(table.map(key));
      for (const route of table)
        expect(t.app.hasRoute({ method: route.method as Method, url: route.url })).toBe(true);
    });

    it('every non-public route has a matrix entry that states the same scope', () => {
      const missing = scoped.filter((r) => !MATRIX[entryKey(r)]).map(key);
      expect(missing, 'routes without a matrix entry: add them to MATRIX with their scope').toEqual([]);
      const mismatched = scoped
        .filter((r) => MATRIX[entryKey(r)] && MATRIX[entryKey(r)]!.scope !== r.scope)
        .map((r) => `${key(r)} declares ${r.scope}, the matrix says ${MATRIX[entryKey(r)]!.scope}`);
      expect(mismatched).toEqual([]);
    });

    it('every matrix entry is a route (no stale entries)', () => {
      const routes = new Set(table.map(key));
      expect(Object.keys(MATRIX).filter((k) => !routes.has(k))).toEqual([]);
    });

    it('public routes are exactly the allowed ones', () => {
      const publicRoutes = table
        .filter(
          (r) => r.scope === 'public' && !isDocs(r.url) && r.method !== 'HEAD' && r.method !== 'OPTIONS',
        )
        .map(key);
      expect(publicRoutes.sort()).toEqual([...PUBLIC].sort());
    });

    it('a route without a declared scope cannot be registered', async () => {
      const { default: Fastify } = await import('fastify');
      const { registerAuth } = await import('../src/http/plugins/auth.ts');
      const app = Fastify();
      registerAuth(app, t.services.authenticator);
      expect(() => app.get('/api/v1/forgotten', async () => ({ secret: true }))).toThrow(
        /declares no config\.scope/,
      );
      expect(() =>
        app.get('/api/v1/typo', { config: { scope: 'audit:reed' as Scope } }, async () => ({})),
      ).toThrow(/unknown scope/);
      // Inside a plugin too (where routes are registered when the app boots).
      const plugged = Fastify();
      registerAuth(plugged, t.services.authenticator);
      plugged.register(async (child) => {
        child.post('/api/v1/forgotten-too', async () => ({}));
      });
      await expect(plugged.ready()).rejects.toThrow(/declares no config\.scope/);
      await app.close();
    });
  });

  const send = (method: string, req: Req, headers: Record<string, string>) =>
    call(
      t,
      method as Method,
      req.url,
      headers,
      method === 'GET' || method === 'HEAD' ? undefined : req.payload,
    );

  describe.each(scoped.map((r) => [key(r), r] as const))('%s', (_name, route) => {
    const entry = () => MATRIX[entryKey(route)]!;
    const isHead = route.method === 'HEAD';

    it('without a credential → 401', async () => {
      if (!MATRIX[entryKey(route)]) return; // reported by "every non-public route has a matrix entry"
      const req = await entry().request(fx, 'default');
      const attempts: Record<string, string>[] = [
        {},
        bearer('lbk_wrong-key'),
        { 'x-api-key': 'wrong' },
        { authorization: 'Basic YTpi' },
      ];
      for (const headers of attempts) {
        const res = await send(route.method, req, headers);
        expect(res.statusCode, `${JSON.stringify(headers)}: ${res.body}`).toBe(401);
        if (!isHead) checkDenied(entry(), res, 401);
      }
    });

    it(`with every scope but ${route.scope} → 403 (API key, X-API-Key, login token, JWT)`, async () => {
      if (!MATRIX[entryKey(route)]) return;
      const req = await entry().request(fx, 'default');
      for (const headers of creds.lacking[route.scope]) {
        const res = await send(route.method, req, headers);
        expect(res.statusCode, res.body).toBe(403);
        if (!isHead) checkDenied(entry(), res, 403);
      }
    });

    it(`with only ${route.scope} → allowed`, async () => {
      if (!MATRIX[entryKey(route)]) return;
      const res = await send(route.method, await entry().request(fx, 'acme'), creds.only[route.scope]);
      expect(res.statusCode, res.body).toBeLessThan(400);
    });

    // HEAD twins answer no body to inspect: their GET route is checked.
    if (isHead) return;
    it('a credential bound to acme gets only acme, and 403/404 for globex', async () => {
      if (!MATRIX[entryKey(route)]) return;
      for (const headers of creds.acme[route.scope]) {
        const res = await send(route.method, await entry().request(fx, 'acme'), headers);
        expect(res.statusCode, res.body).toBeLessThan(400);
        entry().ownOnly(res, fx);
        for (const probe of await entry().otherTenant(fx)) {
          const denied = await send(route.method, probe, headers);
          expect(denied.statusCode, `${probe.url}: ${denied.body}`).toBe(probe.status);
          expect(denied.body).not.toContain('globex.only');
        }
      }
    });
  });

  describe('the server log', () => {
    it('holds none of the credentials the matrix used', () => {
      const log = t.logLines.join('\n');
      const used = [t.adminKey, JWT_SECRET, PASSWORD];
      for (const group of [
        ...Object.values(creds.lacking),
        ...Object.values(creds.acme),
        Object.values(creds.only),
      ]) {
        for (const headers of group)
          used.push(...Object.values(headers).map((v) => v.replace(/^Bearer /, '')));
      }
      expect(used.length).toBeGreaterThan(40);
      for (const secret of used) expect(log.includes(secret), `${secret.slice(0, 8)}… is logged`).toBe(false);
    });
  });
});
