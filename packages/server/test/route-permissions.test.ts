// The route-permission matrix, generated from the app's own route table (every route the app registers, as
// recorded by the auth plugin's onRoute hook). For every non-public route: no credential → 401; a credential
// lacking the route's scope (API key, login token and outside JWT alike) → 403; the route's scope alone is
// enough; a tenant-bound credential gets only its tenant's data and 403/404 for another tenant's.
// A route that is not in MATRIX (or PUBLIC) below fails this test: adding a route means deciding its scope here.
import { SCOPES, type Scope } from '@logbook/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../src/http/plugins/auth.ts';
import { makeTestApp, sampleEvent } from './helpers.ts';
import { bearer, call, createKey, createUser, hs256, loginToken } from './support-identity.ts';

const JWT_SECRET = 'route-matrix-hs256-secret-0123456789abcdef';
const PASSWORD = 'matrix-password-123';

/** Public routes: reachable without any credential. Anything else public is a finding. */
const PUBLIC = new Set([
  'GET /health',
  'GET /ready',
  'GET /openapi.json',
  'POST /api/v1/auth/login',
  'GET /api/v1/integrity/public-key',
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
  /** A fresh key bound to `tenant` (for revocation probes). */
  newKeyId(tenant: string): Promise<string>;
  newUserId(tenant: string): Promise<string>;
  uniqueName(): string;
}

interface MatrixEntry {
  scope: Scope;
  /** A valid request; acting for `tenant` (the bound credential's tenant, or a tenant an unbound one may use). */
  request(fx: Fixtures, tenant: string): Promise<Req> | Req;
  /** What a credential bound to acme must get when it aims at globex's data. */
  otherTenant(fx: Fixtures): Promise<Probe[]> | Probe[];
  /** Checks the answer to `request` made by an acme-bound credential holds only acme's data. */
  ownOnly(res: LightMyRequestResponse, fx: Fixtures): void;
}

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
};

// The app is built once at collection time, so that the tests below are generated from its route table.
const t = await makeTestApp({ identity: { jwt: { secret: JWT_SECRET } } });
const table: RouteEntry[] = [...t.app.routeTable];
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

let creds: Credentials;
let fx: Fixtures;

beforeAll(async () => {
  let counter = 0;
  const uniqueName = () => `matrix-${process.pid}-${++counter}`;
  const post = async (tenant: string, event: Record<string, unknown>) => {
    const res = await call(t, 'POST', '/api/v1/events', t.auth, { ...event, tenant });
    return res.json().events[0].id as string;
  };
  const acmeEventId = await post('acme', sampleEvent({ action: 'acme.only' }));
  await post('acme', sampleEvent({ action: 'acme.second' }));
  const globexEventId = await post('globex', sampleEvent({ action: 'globex.only' }));
  await post('globex', sampleEvent({ action: 'globex.only' }));
  for (const tenant of ['acme', 'globex']) {
    await call(t, 'POST', '/api/v1/integrity/checkpoint', t.auth, { tenant });
  }
  fx = {
    acmeEventId,
    globexEventId,
    uniqueName,
    newKeyId: async (tenant) =>
      (await createKey(t, { name: uniqueName(), scopes: ['audit:read'], tenant })).id,
    newUserId: async (tenant) =>
      (await createUser(t, { username: uniqueName(), password: PASSWORD, tenant })).id,
  };

  const nonAdmin = SCOPES.filter((s) => s !== 'admin');
  const jwt = async (scopes: string[], tenant?: string) =>
    bearer(
      await hs256(JWT_SECRET, { sub: uniqueName(), scope: scopes.join(' '), ...(tenant ? { tenant } : {}) }),
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
  it('lists the routes the app serves', () => {
    expect(scoped.length).toBeGreaterThanOrEqual(Object.keys(MATRIX).length);
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
      .filter((r) => r.scope === 'public' && !isDocs(r.url) && r.method !== 'HEAD' && r.method !== 'OPTIONS')
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
      if (!isHead) expect(res.json().error.code).toBe('UNAUTHENTICATED');
    }
  });

  it(`with every scope but ${route.scope} → 403 (API key, X-API-Key, login token, JWT)`, async () => {
    if (!MATRIX[entryKey(route)]) return;
    const req = await entry().request(fx, 'default');
    for (const headers of creds.lacking[route.scope]) {
      const res = await send(route.method, req, headers);
      expect(res.statusCode, res.body).toBe(403);
      if (!isHead) expect(res.json().error.code).toBe('FORBIDDEN');
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
      for (const headers of group) used.push(...Object.values(headers).map((v) => v.replace(/^Bearer /, '')));
    }
    expect(used.length).toBeGreaterThan(40);
    for (const secret of used) expect(log.includes(secret), `${secret.slice(0, 8)}… is logged`).toBe(false);
  });
});
