// Local users and login through the real API: scrypt hashes (never answered), login tokens signed by Logbook,
// disabling that takes effect at once, lockout after repeated failures and recovery after the window (by an
// injected clock, no sleeping), and the self-audit events of all of it.
import fs from 'node:fs';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.ts';
import { startServer } from '../src/start.ts';
import { makeTestApp, sampleEvent, type TestApp, tempDir } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import {
  bearer,
  call,
  createKey,
  createUser,
  expectError,
  login,
  loginToken,
  selfAuditEvents,
  type WireUser,
} from './support-identity.ts';

const PASSWORD = 'correct horse battery staple';

describe.each(BACKENDS)('users and login on %s', (backend) => {
  let t: TestApp;
  let now: number;

  beforeEach(async () => {
    now = Date.parse('2026-11-22T10:00:00Z');
    t = await makeTestApp({
      clock: () => now,
      backend,
      identity: { login: { maxFailures: 3, lockoutSeconds: 600 } },
    });
  });
  afterEach(async () => {
    await t.close();
  });

  describe('creating users', () => {
    it('answers 201 without the password or its hash; the hash is scrypt with a salt', async () => {
      const res = await call(t, 'POST', '/api/v1/users', t.auth, { username: 'Alice', password: PASSWORD });
      expect(res.statusCode).toBe(201);
      const user = res.json() as WireUser;
      expect(user).toEqual({
        id: user.id,
        username: 'Alice',
        role: 'member',
        scopes: ['audit:read', 'logging:read'],
        tenant: null,
        createdAt: '2026-11-22T10:00:00.000Z',
        disabledAt: null,
        lastLoginAt: null,
      });
      expect(res.body).not.toContain(PASSWORD);
      expect(res.body).not.toContain('scrypt');
      const stored = await t.store.findUserById(user.id);
      expect(stored!.passwordHash).toMatch(
        /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/,
      );
      expect(stored!.passwordHash).not.toContain(PASSWORD);

      const listed = await call(t, 'GET', '/api/v1/users');
      expect(listed.json().data).toEqual([user]);
      expect(listed.body).not.toContain('scrypt');
    });

    it('two users with the same password get different hashes (salted)', async () => {
      const a = await createUser(t, { username: 'a1', password: PASSWORD });
      const b = await createUser(t, { username: 'b1', password: PASSWORD });
      const [ha, hb] = [await t.store.findUserById(a.id), await t.store.findUserById(b.id)];
      expect(ha!.passwordHash).not.toBe(hb!.passwordHash);
    });

    it('usernames are unique ignoring case: 409 ALREADY_EXISTS', async () => {
      await createUser(t, { username: 'alice', password: PASSWORD });
      const res = await call(t, 'POST', '/api/v1/users', t.auth, { username: 'ALICE', password: PASSWORD });
      expectError(res, 409, 'ALREADY_EXISTS');
      expect(res.json().error.issues[0].field).toBe('body/username');
    });

    it('validates: short password, bad username, admin as a scope, unknown role → 400 naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ username: 'bob', password: 'short' }, 'body/password'],
        [{ username: 'bob smith', password: PASSWORD }, 'body/username'],
        [{ username: '', password: PASSWORD }, 'body/username'],
        [{ username: 'bob', password: PASSWORD, role: 'root' }, 'body/role'],
        [{ username: 'bob', password: PASSWORD, scopes: ['admin'] }, 'body/scopes'],
        [{ username: 'bob', password: PASSWORD, passwordHash: 'x' }, 'body/passwordHash'],
      ];
      for (const [body, field] of cases) {
        const res = await call(t, 'POST', '/api/v1/users', t.auth, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().error.issues.map((i: { field: string }) => i.field)).toContain(field);
        expect(res.body).not.toContain(PASSWORD);
      }
    });

    it('role admin holds every scope; a member holds exactly the scopes given', async () => {
      const admin = await createUser(t, { username: 'root', password: PASSWORD, role: 'admin' });
      expect(admin.scopes).toEqual(['admin']);
      const writer = await createUser(t, { username: 'writer', password: PASSWORD, scopes: ['audit:write'] });
      expect(writer.scopes).toEqual(['audit:write']);

      const adminToken = await loginToken(t, 'root', PASSWORD);
      expect((await call(t, 'GET', '/api/v1/keys', bearer(adminToken))).statusCode).toBe(200);
      const writerToken = await loginToken(t, 'writer', PASSWORD);
      expect((await call(t, 'POST', '/api/v1/events', bearer(writerToken), sampleEvent())).statusCode).toBe(
        201,
      );
      expectError(await call(t, 'GET', '/api/v1/events', bearer(writerToken)), 403, 'FORBIDDEN');
    });
  });

  describe('login', () => {
    it('answers a short-lived EdDSA token for a user, which then authenticates as that user', async () => {
      const user = await createUser(t, {
        username: 'alice',
        password: PASSWORD,
        scopes: ['audit:read', 'audit:write'],
      });
      const res = await login(t, 'Alice', PASSWORD); // usernames match ignoring case
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        tokenType: 'Bearer',
        expiresAt: '2026-11-22T11:00:00.000Z',
        user: { id: user.id, username: 'alice', lastLoginAt: '2026-11-22T10:00:00.000Z' },
      });
      expect(decodeProtectedHeader(body.token)).toMatchObject({ alg: 'EdDSA', typ: 'JWT' });
      expect(decodeJwt(body.token)).toMatchObject({
        iss: 'logbook',
        aud: 'logbook',
        sub: user.id,
        name: 'alice',
        scope: 'audit:read audit:write',
        exp: Date.parse('2026-11-22T11:00:00Z') / 1000,
      });

      const write = await call(t, 'POST', '/api/v1/events', bearer(body.token), sampleEvent());
      expect(write.statusCode).toBe(201);
      expect((await call(t, 'GET', '/api/v1/events', bearer(body.token))).statusCode).toBe(200);
      expectError(await call(t, 'GET', '/api/v1/users', bearer(body.token)), 403, 'FORBIDDEN');
      expect((await t.store.findUserById(user.id))!.lastLoginMs).toBe(now);
    });

    it('the token expires (with 30 s of tolerated clock skew)', async () => {
      await createUser(t, { username: 'alice', password: PASSWORD });
      const token = await loginToken(t, 'alice', PASSWORD);
      now += 3600_000 + 29_000;
      expect((await call(t, 'GET', '/api/v1/events', bearer(token))).statusCode).toBe(200);
      now += 2_000;
      const refused = expectError(
        await call(t, 'GET', '/api/v1/events', bearer(token)),
        401,
        'UNAUTHENTICATED',
      );
      expect(refused.message).toMatch(/expired/);
    });

    it('a tampered token (payload changed, signature kept) is refused', async () => {
      await createUser(t, { username: 'alice', password: PASSWORD });
      const token = await loginToken(t, 'alice', PASSWORD);
      const [header, payload, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'admin', role: 'admin' })).toString(
        'base64url',
      );
      expectError(await call(t, 'GET', '/api/v1/keys', bearer(`${header}.${forged}.${signature}`)), 401);
    });

    it('wrong password and unknown user are the same 401; nothing about the password is answered', async () => {
      await createUser(t, { username: 'alice', password: PASSWORD });
      const wrong = expectError(await login(t, 'alice', 'not the password'), 401, 'UNAUTHENTICATED');
      const unknown = expectError(await login(t, 'nobody', 'not the password'), 401, 'UNAUTHENTICATED');
      expect(wrong.message).toBe(unknown.message);
      expectError(await login(t, 'alice', ''), 400, 'VALIDATION_FAILED');
    });

    it('records success and failure as self-audit events with ip and user agent', async () => {
      const user = await createUser(t, { username: 'alice', password: PASSWORD, tenant: 'acme' });
      const agent = { 'user-agent': 'Mozilla/5.0 (test)' };
      expect((await login(t, 'alice', PASSWORD, agent)).statusCode).toBe(200);
      expect((await login(t, 'alice', 'nope', agent)).statusCode).toBe(401);
      expect((await login(t, 'mallory', 'nope', agent)).statusCode).toBe(401);

      // The user is bound to acme: its logins are audited there; the unknown user's in the default tenant.
      const acme = await selfAuditEvents(t, 'acme', 'logbook.auth.*');
      expect(acme.map((e) => [e.action, e.outcome])).toEqual([
        ['logbook.auth.login', 'success'],
        ['logbook.auth.login', 'failure'],
      ]);
      for (const event of acme) {
        expect(event).toMatchObject({
          tenant: 'acme',
          actor: { id: user.id, name: 'alice', type: 'user' },
          target: { type: 'user', id: user.id, name: 'alice' },
          context: { ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (test)' },
        });
        expect(JSON.stringify(event)).not.toContain(PASSWORD);
      }
      expect(acme[1]!.details).toEqual({ reason: 'wrong_password' });
      const unknown = await selfAuditEvents(t, 'default', 'logbook.auth.*');
      expect(unknown).toHaveLength(1);
      expect(unknown[0]).toMatchObject({
        outcome: 'failure',
        actor: { id: 'mallory', type: 'user' },
        details: { reason: 'unknown_user' },
      });
    });
  });

  describe('disabling users', () => {
    it('stops its tokens and logins at once; enabling lets it log in again but old tokens stay dead', async () => {
      const user = await createUser(t, { username: 'alice', password: PASSWORD });
      const token = await loginToken(t, 'alice', PASSWORD);
      expect((await call(t, 'GET', '/api/v1/events', bearer(token))).statusCode).toBe(200);

      now += 1000;
      const disabled = await call(t, 'POST', `/api/v1/users/${user.id}/disable`);
      expect(disabled.statusCode).toBe(200);
      expect(disabled.json()).toMatchObject({ id: user.id, disabledAt: '2026-11-22T10:00:01.000Z' });
      const refused = expectError(
        await call(t, 'GET', '/api/v1/events', bearer(token)),
        401,
        'UNAUTHENTICATED',
      );
      expect(refused.message).toMatch(/disabled/);
      expectError(await login(t, 'alice', PASSWORD), 401, 'UNAUTHENTICATED');
      // Disabling twice keeps the first time.
      now += 1000;
      expect((await call(t, 'POST', `/api/v1/users/${user.id}/disable`)).json().disabledAt).toBe(
        '2026-11-22T10:00:01.000Z',
      );

      now += 1000;
      const enabled = await call(t, 'POST', `/api/v1/users/${user.id}/enable`);
      expect(enabled.json()).toMatchObject({ disabledAt: null });
      expectError(await call(t, 'GET', '/api/v1/events', bearer(token)), 401, 'UNAUTHENTICATED');
      const fresh = await loginToken(t, 'alice', PASSWORD);
      expect((await call(t, 'GET', '/api/v1/events', bearer(fresh))).statusCode).toBe(200);

      expectError(await call(t, 'POST', '/api/v1/users/nobody/disable'), 404, 'NOT_FOUND');
      const audit = await selfAuditEvents(t, 'default', 'logbook.user.*');
      expect(audit.map((e) => e.action)).toEqual([
        'logbook.user.create',
        'logbook.user.disable',
        'logbook.user.enable',
      ]);
      for (const event of audit) {
        expect(event).toMatchObject({
          actor: { type: 'api_key' },
          target: { type: 'user', id: user.id, name: 'alice' },
        });
      }
    });

    it('a disabled user is refused even with a token stamped after the disable (clocks of two servers disagree)', async () => {
      const user = await createUser(t, { username: 'skewed', password: PASSWORD });
      now += 10_000; // this server's clock runs ahead when it issues the token…
      const token = await loginToken(t, 'skewed', PASSWORD);
      now -= 10_000; // …the disable happens by a clock 10 s behind
      await call(t, 'POST', `/api/v1/users/${user.id}/disable`);
      const refused = expectError(
        await call(t, 'GET', '/api/v1/events', bearer(token)),
        401,
        'UNAUTHENTICATED',
      );
      expect(refused.message).toMatch(/disabled/);
    });

    it('an admin user acting with its token is the actor of what it does', async () => {
      const root = await createUser(t, { username: 'root', password: PASSWORD, role: 'admin' });
      const token = await loginToken(t, 'root', PASSWORD);
      const bob = await createUser(t, { username: 'bob', password: PASSWORD }, bearer(token));
      await call(t, 'POST', `/api/v1/users/${bob.id}/disable`, bearer(token));
      const audit = await selfAuditEvents(t, 'default', 'logbook.user.*');
      expect(audit.slice(1).map((e) => [e.action, e.actor])).toEqual([
        ['logbook.user.create', { id: root.id, name: 'root', type: 'user' }],
        ['logbook.user.disable', { id: root.id, name: 'root', type: 'user' }],
      ]);
    });
  });

  describe('lockout (max 3 failures, 600 s)', () => {
    it('slows, then locks out with 429 + Retry-After, refuses even the right password, and recovers after the window', async () => {
      await createUser(t, { username: 'alice', password: PASSWORD });
      const start = now;
      // Failures 1 and 2 are answered at once.
      expectError(await login(t, 'alice', 'guess-1'), 401);
      expectError(await login(t, 'alice', 'guess-2'), 401);
      // The third failure locks (max 3): the lock starts with it.
      expectError(await login(t, 'alice', 'guess-3'), 401);
      const locked = await login(t, 'alice', PASSWORD);
      expectError(locked, 429, 'TOO_MANY_REQUESTS');
      expect(locked.headers['retry-after']).toBe('600');
      expect(locked.json().error.message).toMatch(/locked out/);

      now = start + 599_000;
      const stillLocked = await login(t, 'alice', PASSWORD);
      expectError(stillLocked, 429, 'TOO_MANY_REQUESTS');
      expect(stillLocked.headers['retry-after']).toBe('1');

      now = start + 600_000;
      const recovered = await login(t, 'alice', PASSWORD);
      expect(recovered.statusCode).toBe(200);

      const audit = await selfAuditEvents(t, 'default', 'logbook.auth.*');
      // 3 failures, the lockout, 1 success; the refused attempts are not audited one by one.
      expect(audit.map((e) => [e.action, e.outcome])).toEqual([
        ['logbook.auth.login', 'failure'],
        ['logbook.auth.login', 'failure'],
        ['logbook.auth.login', 'failure'],
        ['logbook.auth.lockout', 'failure'],
        ['logbook.auth.login', 'success'],
      ]);
    });

    it('a success clears the failures; the lockout is per user, and attempts sent at once cannot slip past it', async () => {
      await createUser(t, { username: 'alice', password: PASSWORD });
      await createUser(t, { username: 'bob', password: PASSWORD });
      expectError(await login(t, 'alice', 'guess-1'), 401);
      expectError(await login(t, 'alice', 'guess-2'), 401);
      expect((await login(t, 'alice', PASSWORD)).statusCode).toBe(200);
      expectError(await login(t, 'alice', 'guess-3'), 401); // counted from zero again
      expectError(await login(t, 'alice', 'guess-4'), 401);

      // Ten guesses at once against bob: at most three are checked (the limit), the rest are refused unchecked.
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => login(t, 'bob', `burst-${i}`)));
      const statuses = burst.map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(7);
      expectError(await login(t, 'bob', PASSWORD), 429);
      // alice is not locked by bob's failures.
      expect((await login(t, 'alice', PASSWORD)).statusCode).toBe(200);
    });
  });

  describe('password spraying from one address', () => {
    it('many usernames from one address lock that address out, not the users elsewhere', async () => {
      const spray = await makeTestApp({
        clock: () => now,
        identity: { login: { maxFailures: 1, lockoutSeconds: 60 } },
      });
      try {
        await createUser(spray, { username: 'erin', password: PASSWORD });
        const from = (remoteAddress: string, username: string, password: string) =>
          spray.app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            remoteAddress,
            payload: { username, password },
          });
        // maxFailures 1 → the address may fail 10 times (10 × maxFailures) in the window.
        for (let i = 0; i < 10; i++)
          expect((await from('203.0.113.7', `user${i}`, 'Winter2026!')).statusCode).toBe(401);
        const blocked = await from('203.0.113.7', 'erin', PASSWORD);
        expectError(blocked, 429, 'TOO_MANY_REQUESTS');
        expect(blocked.headers['retry-after']).toBe('60');
        expect((await from('198.51.100.1', 'erin', PASSWORD)).statusCode).toBe(200);
        now += 60_000;
        expect((await from('203.0.113.7', 'erin', PASSWORD)).statusCode).toBe(200);
        const lockouts = await selfAuditEvents(spray, 'default', 'logbook.auth.lockout');
        const lockedKeys = lockouts.flatMap((e) => (e.details as { keys: string[] }).keys);
        expect(lockedKeys).toContain('ip:203.0.113.7');
      } finally {
        await spray.close();
      }
    });
  });

  describe('slowing before the lockout (default max 5)', () => {
    it('after two failures the next attempt must wait, doubling from 1 s; the wait is a 429 with Retry-After', async () => {
      const slow = await makeTestApp({ clock: () => now, backend });
      try {
        await createUser(slow, { username: 'carol', password: PASSWORD });
        expectError(await login(slow, 'carol', 'g1'), 401);
        expectError(await login(slow, 'carol', 'g2'), 401);
        expectError(await login(slow, 'carol', 'g3'), 401);
        const wait = await login(slow, 'carol', PASSWORD);
        expectError(wait, 429, 'TOO_MANY_REQUESTS');
        expect(wait.headers['retry-after']).toBe('1');
        expect(wait.json().error.message).toMatch(/wait 1 seconds/);
        now += 1000;
        expectError(await login(slow, 'carol', 'g4'), 401);
        const longer = await login(slow, 'carol', PASSWORD);
        expect(longer.headers['retry-after']).toBe('2');
        now += 2000;
        expect((await login(slow, 'carol', PASSWORD)).statusCode).toBe(200);
      } finally {
        await slow.close();
      }
    });
  });

  describe('tenant-bound users', () => {
    it('a user bound to a tenant reads and writes only that tenant', async () => {
      await createUser(t, {
        username: 'acme-ops',
        password: PASSWORD,
        scopes: ['audit:read', 'audit:write'],
        tenant: 'acme',
      });
      await call(
        t,
        'POST',
        '/api/v1/events',
        t.auth,
        sampleEvent({ tenant: 'globex', action: 'globex.secret' }),
      );
      const token = await loginToken(t, 'acme-ops', PASSWORD);
      const write = await call(
        t,
        'POST',
        '/api/v1/events',
        bearer(token),
        sampleEvent({ action: 'acme.thing' }),
      );
      expect(write.json().events[0].tenant).toBe('acme');
      expectError(
        await call(t, 'POST', '/api/v1/events', bearer(token), sampleEvent({ tenant: 'globex' })),
        403,
        'FORBIDDEN',
      );
      expectError(await call(t, 'GET', '/api/v1/events?tenant=globex', bearer(token)), 403, 'FORBIDDEN');
      const read = await call(t, 'GET', '/api/v1/events', bearer(token));
      const actions = read.json().data.map((e: { action: string }) => e.action);
      expect(actions).toContain('acme.thing');
      expect(actions).not.toContain('globex.secret');
    });

    it('a tenant-bound admin creates users only in its tenant and sees only those', async () => {
      const acmeAdmin = await createKey(t, { scopes: ['admin'], tenant: 'acme' });
      await createUser(t, { username: 'outsider', password: PASSWORD, tenant: 'globex' });
      const inside = await createUser(t, { username: 'insider', password: PASSWORD }, bearer(acmeAdmin.key));
      expect(inside.tenant).toBe('acme');
      expectError(
        await call(t, 'POST', '/api/v1/users', bearer(acmeAdmin.key), {
          username: 'x1',
          password: PASSWORD,
          tenant: 'globex',
        }),
        403,
        'FORBIDDEN',
      );
      const listed = (await call(t, 'GET', '/api/v1/users', bearer(acmeAdmin.key))).json().data;
      expect(listed.map((u: WireUser) => u.username)).toEqual(['insider']);
      const outsider = (await call(t, 'GET', '/api/v1/users?tenant=globex')).json().data[0];
      expectError(await call(t, 'POST', `/api/v1/users/${outsider.id}/disable`, bearer(acmeAdmin.key)), 404);
    });
  });
});

describe('the real server', () => {
  it('creates the login key file with mode 0600 on first start and keeps tokens valid across a restart', async () => {
    const dataDir = tempDir('logbook-identity-');
    const env = {
      LOGBOOK_DATA_DIR: dataDir,
      LOGBOOK_PORT: '0',
      LOGBOOK_ADMIN_KEY: 'e2e-admin-key-0123456789',
      LOGBOOK_LOG_LEVEL: 'silent',
      LOGBOOK_CHECKPOINT_INTERVAL_SECONDS: '0',
    };
    const lines: string[] = [];
    let server = await startServer(loadConfig(env), (line) => lines.push(line));
    try {
      const keyFile = path.join(dataDir, 'login-token.key');
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      const admin = { authorization: 'Bearer e2e-admin-key-0123456789', 'content-type': 'application/json' };
      const created = await fetch(`${server.url}/api/v1/users`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ username: 'dora', password: PASSWORD }),
      });
      expect(created.status).toBe(201);
      const loginOnce = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'dora', password: PASSWORD }),
      });
      expect(loginOnce.status).toBe(200);
      const { token } = (await loginOnce.json()) as { token: string };
      await server.close();

      server = await startServer(loadConfig(env), (line) => lines.push(line));
      const read = await fetch(`${server.url}/api/v1/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(read.status).toBe(200);
      expect(lines.join('\n')).not.toContain(token);
    } finally {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
