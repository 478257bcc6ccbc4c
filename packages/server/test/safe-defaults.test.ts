// Safe defaults: CORS is off unless origins are configured; security headers and a request id on every answer
// (errors included); and no secret — API key, password, login token, outside JWT — ever reaches the server log.
// Run on every backend: a database error message (PostgreSQL quotes values in its DETAIL) must not leak either.
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { bearer, call, createKey, createUser, hs256, login, loginToken } from './support-identity.ts';

const JWT_SECRET = 'safe-defaults-hs256-secret-0123456789abcdef';
describe.each(BACKENDS)('safe defaults on %s', (backend) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  describe('CORS', () => {
    it('is off by default: no Access-Control headers, and a preflight finds no route', async () => {
      t = await makeTestApp({ backend });
      const res = await call(t, 'GET', '/api/v1/events', { ...t.auth, origin: 'https://evil.example' });
      expect(res.statusCode).toBe(200);
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/events',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      expect(preflight.statusCode).toBe(404);
    });

    it('allows exactly the configured origins, answers preflights, and puts CORS headers on 401s too', async () => {
      t = await makeTestApp({ backend, corsOrigins: ['https://dash.example.com'] });
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/events',
        headers: {
          origin: 'https://dash.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://dash.example.com');
      expect(String(preflight.headers['access-control-allow-headers'])).toContain('authorization');
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

      const ok = await call(t, 'GET', '/api/v1/events', { ...t.auth, origin: 'https://dash.example.com' });
      expect(ok.headers['access-control-allow-origin']).toBe('https://dash.example.com');
      expect(String(ok.headers['access-control-expose-headers'])).toContain('x-request-id');

      const unauthenticated = await call(t, 'GET', '/api/v1/events', { origin: 'https://dash.example.com' });
      expect(unauthenticated.statusCode).toBe(401);
      expect(unauthenticated.headers['access-control-allow-origin']).toBe('https://dash.example.com');

      const other = await call(t, 'GET', '/api/v1/events', { ...t.auth, origin: 'https://evil.example' });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('headers on every answer', () => {
    it('security headers and a request id on successes, errors, public routes and unknown routes', async () => {
      t = await makeTestApp({ backend });
      const answers = [
        await call(t, 'GET', '/api/v1/events'),
        await call(t, 'GET', '/api/v1/events', {}),
        await call(t, 'GET', '/health', {}),
        await call(t, 'GET', '/api/v1/nothing-here', {}),
        await call(t, 'POST', '/api/v1/keys', t.auth, { name: 'x' }),
        await login(t, 'nobody', 'wrong-password'),
      ];
      for (const res of answers) {
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      }
      // A client's own request id is echoed (and names the error body too).
      const mine = await call(t, 'GET', '/api/v1/events', { 'x-request-id': 'client-req-42' });
      expect(mine.headers['x-request-id']).toBe('client-req-42');
      expect(mine.json().error.requestId).toBe('client-req-42');
    });
  });

  describe('no secret is ever logged', () => {
    it('keys, passwords, login tokens and JWTs used in requests (good and bad) are not in the server log', async () => {
      t = await makeTestApp({ backend, identity: { jwt: { secret: JWT_SECRET } } });
      const secrets: string[] = [t.adminKey, JWT_SECRET];
      const password = 'hunter2-but-longer';
      const wrongPassword = 'not-hunter2-at-all';
      secrets.push(password, wrongPassword);

      const key = await createKey(t, { scopes: ['audit:write', 'audit:read'] });
      secrets.push(key.key);
      await call(t, 'POST', '/api/v1/events', bearer(key.key), sampleEvent());
      await call(t, 'GET', '/api/v1/events', { 'x-api-key': key.key });
      await call(t, 'DELETE', `/api/v1/keys/${key.id}`);
      await call(t, 'GET', '/api/v1/events', bearer(key.key)); // revoked → 401

      await createUser(t, { username: 'logcheck', password });
      const token = await loginToken(t, 'logcheck', password);
      secrets.push(token);
      await login(t, 'logcheck', wrongPassword);
      await call(t, 'GET', '/api/v1/events', bearer(token));
      await call(t, 'GET', '/api/v1/keys', bearer(token)); // 403
      // Bad input that carries a password must not echo it into the log either.
      await call(t, 'POST', '/api/v1/users', t.auth, { username: 'bad name', password });
      await call(t, 'POST', '/api/v1/auth/login', {}, { username: 'logcheck', password, extra: 1 });
      // A write the database refuses (the name is taken) must not log the row it refused.
      expect(
        (await call(t, 'POST', '/api/v1/users', t.auth, { username: 'LogCheck', password })).statusCode,
      ).toBe(409);

      const jwt = await hs256(JWT_SECRET, { scope: 'audit:read' });
      const forged = await hs256(`${JWT_SECRET}-forged`, { scope: 'admin' });
      secrets.push(jwt, forged);
      await call(t, 'GET', '/api/v1/events', bearer(jwt));
      await call(t, 'GET', '/api/v1/events', bearer(forged));
      await call(t, 'GET', '/api/v1/events', {
        authorization: `Basic ${Buffer.from(`u:${password}`).toString('base64')}`,
      });

      const log = t.logLines.join('\n');
      expect(t.logLines.length).toBeGreaterThan(20); // requests were logged…
      for (const secret of secrets) {
        expect(log.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the server log`).toBe(false);
        // …and no signature part of a token either.
        const signature = secret.split('.')[2];
        if (signature) expect(log.includes(signature)).toBe(false);
      }
      expect(log).not.toContain(Buffer.from(`u:${password}`).toString('base64'));
    });
  });

  describe('OpenAPI', () => {
    it('documents the identity routes; login needs no credential', async () => {
      t = await makeTestApp({ backend });
      const doc = (await call(t, 'GET', '/openapi.json', {})).json();
      for (const path of [
        '/api/v1/keys',
        '/api/v1/keys/{id}',
        '/api/v1/users',
        '/api/v1/users/{id}/disable',
        '/api/v1/auth/login',
      ]) {
        expect(Object.keys(doc.paths)).toContain(path);
      }
      expect(doc.paths['/api/v1/auth/login'].post.security).toEqual([]);
      expect(
        doc.paths['/api/v1/keys'].post.requestBody.content['application/json'].schema.properties.scopes.items
          .enum,
      ).toEqual(['audit:read', 'audit:write', 'logging:read', 'logging:write', 'admin']);
    });
  });
});
