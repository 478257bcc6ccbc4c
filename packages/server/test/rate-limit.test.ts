// Abuse limits (http/plugins/rate-limit.ts) on the real app: per credential, per client address and per address on
// the login routes, each answered with the catalog's 429 TOO_MANY_REQUESTS and Retry-After; a limit counts only its
// own key (another credential or address is unaffected), and a refused request changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

describe.each(BACKENDS)('rate limits on %s', (backend) => {
  let t: TestApp;
  let secondKey: string;

  beforeAll(async () => {
    t = await makeTestApp({
      backend,
      rateLimit: { perKeyPerMinute: 5, perIpPerMinute: 8, loginPerMinute: 2 },
    });
    // The second key is made from another address so that it does not count against the address used below.
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: t.auth,
      remoteAddress: '10.9.9.9',
      payload: { name: 'second', scopes: ['audit:read'] },
    });
    expect(created.statusCode).toBe(201);
    secondKey = (created.json() as { key: string }).key;
  });
  afterAll(async () => t.close());

  const list = (key: string, ip: string) =>
    t.app.inject({
      method: 'GET',
      url: '/api/v1/events?limit=1',
      headers: { 'x-api-key': key },
      remoteAddress: ip,
    });

  const expectLimited = (res: Awaited<ReturnType<typeof list>>, mentions: string) => {
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    const error = (res.json() as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toContain(mentions);
  };

  it('per credential: the 6th request with one key in a minute is 429, from any address; another key is fine', async () => {
    for (let i = 0; i < 5; i++) expect((await list(t.adminKey, '10.0.0.1')).statusCode).toBe(200);
    expectLimited(await list(t.adminKey, '10.0.0.1'), 'LOGBOOK_RATE_LIMIT_PER_KEY_PER_MINUTE');
    expectLimited(await list(t.adminKey, '10.0.0.2'), 'this credential');
    expect((await list(secondKey, '10.0.0.2')).statusCode).toBe(200);
  });

  it('per address: more than 8 requests from one address in a minute is 429 whatever the credential', async () => {
    // 10.0.0.1 has spent 5 (the refused 6th stopped at the key limit and is not counted here).
    for (let i = 0; i < 3; i++) expect((await list(secondKey, '10.0.0.1')).statusCode).toBe(200);
    expectLimited(await list(secondKey, '10.0.0.1'), 'LOGBOOK_RATE_LIMIT_PER_IP_PER_MINUTE');
    // Unauthenticated requests from the address are refused too, before authentication.
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/events', remoteAddress: '10.0.0.1' });
    expect(anonymous.statusCode).toBe(429);
  });

  it('login: the 3rd attempt from one address in a minute is 429 before the password is checked; other addresses go on', async () => {
    const login = (ip: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: ip,
        payload: { username: 'nobody', password: 'wrong-password-123' },
      });
    const sizeBefore = (await t.store.listTenantLogs()).reduce((n, l) => n + l.size, 0);
    expect((await login('10.1.1.1')).statusCode).toBe(401);
    expect((await login('10.1.1.1')).statusCode).toBe(401);
    expectLimited(await login('10.1.1.1'), 'LOGBOOK_RATE_LIMIT_LOGIN_PER_MINUTE');
    expect((await login('10.1.1.2')).statusCode).toBe(401);
    // The refused attempt was not even recorded as a failed login: only the three checked ones could be.
    const sizeAfter = (await t.store.listTenantLogs()).reduce((n, l) => n + l.size, 0);
    expect(sizeAfter - sizeBefore).toBeLessThanOrEqual(3);
  });
});
