// Property-based hostile-input fuzzing (fast-check) over EVERY route in the app's route table (app.routeTable, so
// routes added later are covered without touching this file), on both backends, over real HTTP to a listening app:
// random and adversarial path params, query strings, headers and bodies (SQL and full-text injection strings,
// __proto__/constructor keys, deep nesting, huge numbers, invalid UTF-8, wrong content types, bad credentials).
// Properties: never a 5xx, never a hang, the process never crashes, and a rejected request (4xx) changes nothing
// stored (a digest of tenant log sizes, system-log heads, keys, users and retention policies before and after).
// LOGBOOK_FUZZ_RUNS sets the requests per backend (default 400, rounded up to a whole number per route); the count
// run is printed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../src/http/plugins/auth.ts';
import type { Store } from '../src/store/store.ts';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const RUNS = Number(process.env.LOGBOOK_FUZZ_RUNS ?? 400);
/** A request with no answer (headers) after this long is a hang. Generous: other suites share the 2 cores. */
const HANG_MS = 15_000;

/** Logbook's own API (errors in the catalog shape); compatible surfaces answer in their products' shapes. */
const OWN_SURFACE = /^\/(api\/v1\/(events|logs|integrity|keys|users|auth|retention)\b|health|ready)/;

const HOSTILE_STRINGS = [
  "' OR '1'='1",
  "'; DROP TABLE events; --",
  '" OR ""="',
  '1; SELECT pg_sleep(30)--',
  "') UNION SELECT * FROM api_keys --",
  'a AND b OR NOT c',
  'NEAR(a b, 2)',
  '"unterminated',
  '* OR *',
  'col:value',
  '^start',
  'a:*',
  '!!',
  '&|!()',
  '\\',
  '%',
  '%%',
  '_',
  '\u0000',
  '\u0000abc',
  '\uFEFF',
  '\uD800',
  '\uDFFF\uD800',
  '𝕏🚀👩‍👩‍👧',
  '../../../etc/passwd',
  '..%2F..%2F',
  '<script>alert(1)</script>',
  '\u0024{jndi:ldap://x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '-1',
  '0',
  '-0',
  '1e309',
  '9007199254740993',
  '99999999999999999999999999',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '1970-01-01',
  '2199-12-31T23:59:59Z',
  '0000-00-00',
  '2026-02-30T25:61:61Z',
  'x'.repeat(300),
  'y'.repeat(5000),
] as const;

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/x-ndjson',
  'application/x-protobuf',
  'application/xml',
  'application/jsonx',
  '',
  ';;;',
  '*/*',
] as const;

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

const hostileNumber = fc.oneof(
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -1, 0, 1e308, -1e308, 2 ** 63, 0.5, -0),
  fc.integer(),
  fc.double(),
);

/** JSON values with hostile leaves and keys (including __proto__ and constructor as own keys). */
const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype')),
      tie('value'),
      {
        maxKeys: 4,
      },
    ),
  ),
})).value;

/** Something shaped like an event, so that validation gets past the first field. */
const eventLike = fc.record(
  {
    id: hostileString,
    action: hostileString,
    actor: fc.oneof(fc.record({ id: hostileString, name: hostileString }), hostileValue),
    target: fc.record({ type: hostileString, id: hostileString }, { requiredKeys: [] }),
    occurredAt: hostileString,
    tenant: hostileString,
    outcome: hostileString,
    details: hostileValue,
    changes: hostileValue,
    description: hostileString,
    level: hostileString,
    service: hostileString,
    message: hostileString,
    username: hostileString,
    password: hostileString,
    name: hostileString,
    scopes: fc.array(hostileString, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

/** A body as raw bytes: JSON of hostile values, texts JSON.stringify cannot make, invalid UTF-8, nothing. */
const body: fc.Arbitrary<Buffer | null> = fc.oneof(
  fc.constant(null),
  eventLike.map((v) => Buffer.from(JSON.stringify(v))),
  fc.array(eventLike, { maxLength: 3 }).map((events) => Buffer.from(JSON.stringify({ events }))),
  hostileValue.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .constantFrom(
      '{"__proto__":{"polluted":true},"action":"a","actor":{"id":"x"}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"action":"a","actor":{"id":"x"},"details":{"__proto__":{"admin":true}}}',
      '{"n":1e999999}',
      '{"n":-1e999999,"m":123456789012345678901234567890}',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      `{"details":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
      '{"a":1,"a":2}',
      '{"action":"a",}',
      '{',
      '',
      'null',
      '\u0000',
      '{"events":[]}',
      '{"events":null}',
    )
    .map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  // Invalid UTF-8 inside an otherwise valid JSON string.
  fc.constant(
    Buffer.concat([
      Buffer.from('{"action":"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from('","actor":{"id":"x"}}'),
    ]),
  ),
);

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates, which encodeURIComponent refuses, become U+FFFD). */
function encode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A query string: known-looking and hostile names, hostile values, sometimes broken percent-encoding. */
const queryString = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            'tenant',
            'limit',
            'cursor',
            'order',
            'actor',
            'action',
            'targetType',
            'targetId',
            'outcome',
            'ip',
            'from',
            'to',
            'q',
            'includeTotal',
            'level',
            'minLevel',
            'service',
            'traceId',
            'id',
            'treeSize',
            'size',
            'format',
            'top',
            'bucket',
            'stream',
            'page',
            'per_page',
            'sort',
            'search',
            '__proto__',
            'constructor',
            'filter[action]',
            'a[b][c]',
            'x[]',
          ),
          hostileString,
        ),
        hostileString,
      ),
      { maxLength: 5 },
    ),
    fc.constantFrom('', '', '', '&%', '&x=%E0%A4%A', '&%ff=1', '&a=%00', '&&&', '&=', '&limit=1&limit=2'),
  )
  .map(([pairs, raw]) => {
    const encoded = pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
    const all = `${encoded}${raw}`.replace(/^&/, '');
    return all ? `?${all}` : '';
  });

/** Mostly the admin key, so that requests get past authentication into validation and the services. */
const credential = fc.oneof(
  { weight: 8, arbitrary: fc.constant('admin' as const) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('none', 'garbage', 'malformed', 'basic') as fc.Arbitrary<
      'none' | 'garbage' | 'malformed' | 'basic'
    >,
  },
);

interface FuzzRequest {
  route: RouteEntry;
  params: string[];
  query: string;
  contentType: string;
  credential: 'admin' | 'none' | 'garbage' | 'malformed' | 'basic';
  body: Buffer | null;
  requestId: string;
}

/** A request for `route` with every `:param` and `*` filled with hostile text. */
function fuzzRequest(route: RouteEntry): fc.Arbitrary<FuzzRequest> {
  const slots = (route.url.match(/:[A-Za-z_]+|\*/g) ?? []).length;
  return fc.record({
    route: fc.constant(route),
    params: fc.array(hostileString, { minLength: slots, maxLength: slots }),
    query: queryString,
    contentType: fc.constantFrom(...CONTENT_TYPES),
    credential,
    body,
    requestId: fc.oneof(fc.constant(''), hostileString),
  });
}

function pathOf(r: FuzzRequest): string {
  let i = 0;
  const path = r.route.url.replace(/:[A-Za-z_]+|\*/g, () => encode(r.params[i++] || 'x'));
  return `${path}${r.query}`;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

/** Sends one request over real HTTP; a stream (SSE) counts as answered once its status arrives. */
function send(port: number, adminKey: string, r: FuzzRequest): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (r.credential === 'admin') headers['x-api-key'] = adminKey;
  if (r.credential === 'garbage') headers.authorization = 'Bearer lbk_not_a_real_key_0000000000000000';
  if (r.credential === 'malformed') headers.authorization = 'Bearer';
  if (r.credential === 'basic') headers.authorization = 'Basic YWRtaW46YWRtaW4=';
  if (r.contentType) headers['content-type'] = r.contentType;
  // Header values must be valid HTTP: only the printable ASCII part of a hostile id is sent.
  const requestId = r.requestId.replace(/[^\x20-\x7e]/g, '');
  if (requestId) headers['x-request-id'] = requestId;
  const method = r.route.method;
  const withBody = r.body !== null && method !== 'GET' && method !== 'HEAD';
  if (withBody) headers['content-length'] = String(r.body!.length);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: pathOf(r), headers, agent: false },
      (res) => {
        const contentType = String(res.headers['content-type'] ?? '');
        if (contentType.startsWith('text/event-stream')) {
          clearTimeout(timer);
          res.destroy();
          resolve({ status: res.statusCode!, contentType, text: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode!, contentType, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${HANG_MS} ms: ${method} ${pathOf(r).slice(0, 200)}`));
    }, HANG_MS);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (withBody) req.end(r.body);
    else req.end();
  });
}

/** What a rejected request must not change. */
async function digest(store: Store): Promise<string> {
  const logs = (await store.listTenantLogs()).sort((a, b) => a.tenant.localeCompare(b.tenant));
  const logTenants = (await store.listLogTenants()).sort();
  const heads = await Promise.all(logTenants.map(async (t) => [t, await store.logHeadSeq(t)]));
  const keys = (await store.listApiKeys()).map((k) => `${k.id}:${k.revokedMs ?? ''}`).sort();
  const users = (await store.listUsers()).map((u) => `${u.id}:${u.disabledMs ?? ''}`).sort();
  const policies = await store.listRetentionPolicies();
  return JSON.stringify({ logs, heads, keys, users, policies });
}

/** Events appended to any tenant log between two digests whose action is not a failed-login record. */
async function unexpectedAppends(store: Store, before: string, after: string): Promise<string[]> {
  const sizes = (d: string) =>
    new Map(
      (JSON.parse(d) as { logs: { tenant: string; size: number }[] }).logs.map((l) => [l.tenant, l.size]),
    );
  const was = sizes(before);
  const found: string[] = [];
  for (const [tenant, size] of sizes(after)) {
    for (let seq = was.get(tenant) ?? 0; seq < size; seq++) {
      const row = await store.getEventBySeq(tenant, seq);
      const action = row ? (JSON.parse(row.body) as { action?: string }).action : undefined;
      // A refused login is itself audited (DESIGN.md §5): that record is the one write a 4xx may cause.
      if (action !== 'logbook.auth.login' && action !== 'logbook.auth.lockout')
        found.push(`${tenant}#${seq} ${action}`);
    }
  }
  return found;
}

describe.each(BACKENDS)('fuzzing every route on %s', (backend) => {
  let t: TestApp;
  let port: number;
  let routes: RouteEntry[];
  let sent = 0;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    const seeded = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: { events: [sampleEvent(), sampleEvent({ id: 'known-id', tenant: 'acme' })] },
    });
    expect(seeded.statusCode).toBe(201);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
    // Every route but the documentation UI's static files (served by @fastify/swagger-ui, nothing stored).
    routes = t.app.routeTable.filter(
      (r) => !(r.url === '/docs' || r.url.startsWith('/docs/') || r.url === '*'),
    );
  });
  afterAll(async () => {
    console.info(
      `fuzz ${backend}: ${sent} requests over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    await t.close();
  });

  it('covers a meaningful route table', () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.some((r) => r.url === '/api/v1/events' && r.method === 'POST')).toBe(true);
  });

  it('no 5xx, no hang, no crash, and no stored change from a rejected request, on every route', async () => {
    const perRoute = Math.max(3, Math.ceil(RUNS / routes.length));
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(fuzzRequest(route), async (r) => {
          const before = await digest(t.store);
          const answer = await send(port, t.adminKey, r);
          sent++;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          expect(
            answer.status,
            `${route.method} ${pathOf(r).slice(0, 200)} -> ${answer.text.slice(0, 300)}`,
          ).toBeLessThan(500);
          if (answer.status >= 400) {
            const after = await digest(t.store);
            if (after !== before) {
              expect(await unexpectedAppends(t.store, before, after)).toEqual([]);
              const strip = (d: string) => JSON.stringify({ ...JSON.parse(d), logs: undefined });
              expect(strip(after), `a rejected ${route.method} ${route.url} changed stored data`).toBe(
                strip(before),
              );
            }
            // Errors of Logbook's own surface are in the catalog shape (compatible surfaces have their own).
            if (OWN_SURFACE.test(route.url) && answer.contentType.includes('json') && answer.text) {
              const error = (JSON.parse(answer.text) as { error?: { code?: string } }).error;
              expect(typeof error?.code).toBe('string');
            }
          }
        }),
        { numRuns: perRoute, endOnFailure: true },
      );
    }
    // The service still works after all of it.
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(sent).toBeGreaterThanOrEqual(Math.min(RUNS, routes.length * 3));
  }, 600_000);
});
