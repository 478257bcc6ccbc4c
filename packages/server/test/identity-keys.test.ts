// API keys through the real API over a real SQLite file: the secret is shown once and stored only as a hash,
// listing never shows it, revocation and expiry take effect at once, "last used" is written at most once a minute.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/auth/api-keys.ts';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import {
  bearer,
  type CreatedKey,
  call,
  createKey,
  expectError,
  selfAuditEvents,
} from './support-identity.ts';

describe.each(BACKENDS)('API keys on %s', (backend) => {
  let t: TestApp;
  let now: number;

  beforeEach(async () => {
    now = Date.parse('2026-11-22T10:00:00Z');
    t = await makeTestApp({ clock: () => now, backend });
  });
  afterEach(async () => {
    await t.close();
  });

  const postEvent = (headers: Record<string, string>, event = sampleEvent()) =>
    call(t, 'POST', '/api/v1/events', headers, event);

  describe('creating a key', () => {
    it('answers 201 with the secret once, stores only its hash, and the key works', async () => {
      const res = await call(t, 'POST', '/api/v1/keys', t.auth, {
        name: 'billing-service',
        scopes: ['audit:write', 'audit:read'],
      });
      expect(res.statusCode).toBe(201);
      const created = res.json() as CreatedKey;
      expect(created).toMatchObject({
        name: 'billing-service',
        scopes: ['audit:write', 'audit:read'],
        tenant: null,
        createdAt: '2026-11-22T10:00:00.000Z',
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
      });
      expect(created.key).toMatch(/^lbk_[A-Za-z0-9_-]{40}$/);
      expect(created.prefix).toBe(created.key.slice(0, 12));
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);

      // Stored: the hash, never the secret.
      const stored = await t.store.findApiKeyById(created.id);
      expect(Buffer.from(stored!.secretHash).equals(Buffer.from(hashApiKey(created.key)))).toBe(true);
      const db = JSON.stringify(await t.store.listApiKeys());
      expect(db).not.toContain(created.key);

      expect((await postEvent(bearer(created.key))).statusCode).toBe(201);
      expect((await postEvent({ 'x-api-key': created.key })).statusCode).toBe(201);
      expect((await postEvent({ 'X-API-Key': created.key })).statusCode).toBe(201);
    });

    it('two keys never share a secret', async () => {
      const a = await createKey(t, { scopes: ['audit:read'] });
      const b = await createKey(t, { scopes: ['audit:read'] });
      expect(a.key).not.toBe(b.key);
      expect(a.id).not.toBe(b.id);
    });

    it('refuses unknown scopes, empty scopes, unknown fields and a past expiry with 400 naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ name: 'x', scopes: ['audit:delete'] }, 'body/scopes/0'],
        [{ name: 'x', scopes: [] }, 'body/scopes'],
        [{ name: 'x', scopes: ['audit:read'], owner: 'me' }, 'body/owner'],
        [{ name: '', scopes: ['audit:read'] }, 'body/name'],
        [{ name: 'x', scopes: ['audit:read'], tenant: 'a/b' }, 'body/tenant'],
        [{ name: 'x', scopes: ['audit:read'], expiresAt: '2020-01-01T00:00:00Z' }, 'body/expiresAt'],
      ];
      for (const [body, field] of cases) {
        const res = await call(t, 'POST', '/api/v1/keys', t.auth, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().error.issues.map((i: { field: string }) => i.field)).toContain(field);
      }
      const bad = await call(t, 'POST', '/api/v1/keys', t.auth, {
        name: 'x',
        scopes: ['audit:read'],
        expiresAt: 'soon',
      });
      expectError(bad, 400, 'INVALID_DATE');
    });
  });

  describe('listing keys', () => {
    it('shows prefix, scopes, tenant and times, never a secret or a hash', async () => {
      const created = await createKey(t, { name: 'reader', scopes: ['audit:read'], tenant: 'acme' });
      const res = await call(t, 'GET', '/api/v1/keys');
      expect(res.statusCode).toBe(200);
      const { data } = res.json() as { data: Record<string, unknown>[] };
      expect(data.map((k) => k.name)).toEqual(['admin (LOGBOOK_ADMIN_KEY)', 'reader']);
      const listed = data.find((k) => k.id === created.id)!;
      expect(listed).toEqual({
        id: created.id,
        name: 'reader',
        prefix: created.prefix,
        scopes: ['audit:read'],
        tenant: 'acme',
        createdAt: created.createdAt,
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
      });
      expect(res.body).not.toContain(created.key);
      expect(res.body).not.toContain(t.adminKey);
      expect(res.body).not.toMatch(/secret|hash/i);
      // The configured admin key shows only 4 characters: a chosen key may be short.
      expect(data[0]!.prefix).toBe(t.adminKey.slice(0, 4));

      const filtered = await call(t, 'GET', '/api/v1/keys?tenant=acme');
      expect(filtered.json().data.map((k: { id: string }) => k.id)).toEqual([created.id]);
    });
  });

  describe('revoking a key', () => {
    it('stops it at once (401), is idempotent, and 404s an unknown id', async () => {
      const created = await createKey(t, { scopes: ['audit:write'] });
      expect((await postEvent(bearer(created.key))).statusCode).toBe(201);

      const res = await call(t, 'DELETE', `/api/v1/keys/${created.id}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: created.id, revokedAt: '2026-11-22T10:00:00.000Z' });
      expect(res.body).not.toContain(created.key);

      const refused = expectError(await postEvent(bearer(created.key)), 401, 'UNAUTHENTICATED');
      expect(refused.message).toMatch(/revoked/);
      expectError(await postEvent({ 'x-api-key': created.key }), 401, 'UNAUTHENTICATED');

      now += 5000;
      const again = await call(t, 'DELETE', `/api/v1/keys/${created.id}`);
      expect(again.statusCode).toBe(200);
      expect(again.json().revokedAt).toBe('2026-11-22T10:00:00.000Z');

      expectError(await call(t, 'DELETE', '/api/v1/keys/no-such-key'), 404, 'NOT_FOUND');
    });

    it('a 401 names the Bearer scheme (RFC 6750)', async () => {
      const res = await postEvent({});
      expectError(res, 401, 'UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="logbook"');
    });
  });

  describe('expiry', () => {
    it('a key works until expiresAt and is refused from that instant on', async () => {
      const created = await createKey(t, { scopes: ['audit:write'], expiresAt: '2026-11-22T11:00:00Z' });
      expect(created.expiresAt).toBe('2026-11-22T11:00:00.000Z');
      now = Date.parse('2026-11-22T10:59:59.999Z');
      expect((await postEvent(bearer(created.key))).statusCode).toBe(201);
      now = Date.parse('2026-11-22T11:00:00.000Z');
      const refused = expectError(await postEvent(bearer(created.key)), 401, 'UNAUTHENTICATED');
      expect(refused.message).toMatch(/expired/);
    });

    it('accepts a date-only expiry (midnight UTC)', async () => {
      const created = await createKey(t, { scopes: ['audit:read'], expiresAt: '2027-01-01' });
      expect(created.expiresAt).toBe('2027-01-01T00:00:00.000Z');
    });
  });

  describe('last used', () => {
    it('is recorded on first use and then at most once a minute, not on every request', async () => {
      const created = await createKey(t, { scopes: ['audit:read'] });
      const lastUsed = async () => (await t.store.findApiKeyById(created.id))!.lastUsedMs;
      expect(await lastUsed()).toBeNull();

      const start = now;
      expect((await call(t, 'GET', '/api/v1/events', bearer(created.key))).statusCode).toBe(200);
      expect(await lastUsed()).toBe(start);

      now = start + 59_000;
      await call(t, 'GET', '/api/v1/events', bearer(created.key));
      expect(await lastUsed()).toBe(start);

      now = start + 60_000;
      await call(t, 'GET', '/api/v1/events', bearer(created.key));
      expect(await lastUsed()).toBe(start + 60_000);

      const listed = (await call(t, 'GET', '/api/v1/keys'))
        .json()
        .data.find((k: { id: string }) => k.id === created.id);
      expect(listed.lastUsedAt).toBe(new Date(start + 60_000).toISOString());
    });

    it('a refused (revoked) key is not marked as used', async () => {
      const created = await createKey(t, { scopes: ['audit:read'] });
      await call(t, 'DELETE', `/api/v1/keys/${created.id}`);
      await call(t, 'GET', '/api/v1/events', bearer(created.key));
      expect((await t.store.findApiKeyById(created.id))!.lastUsedMs).toBeNull();
    });
  });

  describe('tenant-bound admin keys', () => {
    it('create keys only for their own tenant and see and revoke only those', async () => {
      const acmeAdmin = await createKey(t, { name: 'acme admin', scopes: ['admin'], tenant: 'acme' });
      const globexKey = await createKey(t, {
        name: 'globex reader',
        scopes: ['audit:read'],
        tenant: 'globex',
      });
      const unbound = await createKey(t, { name: 'unbound', scopes: ['audit:read'] });

      // Without a tenant, the new key is bound to the admin's tenant; another tenant is 403.
      const own = await createKey(t, { name: 'acme writer', scopes: ['audit:write'] }, bearer(acmeAdmin.key));
      expect(own.tenant).toBe('acme');
      expectError(
        await call(t, 'POST', '/api/v1/keys', bearer(acmeAdmin.key), {
          name: 'x',
          scopes: ['audit:read'],
          tenant: 'globex',
        }),
        403,
        'FORBIDDEN',
      );

      const listed = (await call(t, 'GET', '/api/v1/keys', bearer(acmeAdmin.key))).json().data;
      expect(listed.map((k: { name: string }) => k.name).sort()).toEqual(['acme admin', 'acme writer']);
      expectError(
        await call(t, 'GET', '/api/v1/keys?tenant=globex', bearer(acmeAdmin.key)),
        403,
        'FORBIDDEN',
      );

      // Keys of other tenants (and unbound ones) do not exist for it.
      expectError(
        await call(t, 'DELETE', `/api/v1/keys/${globexKey.id}`, bearer(acmeAdmin.key)),
        404,
        'NOT_FOUND',
      );
      expectError(
        await call(t, 'DELETE', `/api/v1/keys/${unbound.id}`, bearer(acmeAdmin.key)),
        404,
        'NOT_FOUND',
      );
      expect((await call(t, 'GET', '/api/v1/events?tenant=globex', bearer(globexKey.key))).statusCode).toBe(
        200,
      );
      expect((await call(t, 'DELETE', `/api/v1/keys/${own.id}`, bearer(acmeAdmin.key))).statusCode).toBe(200);
    });
  });

  describe('self-audit of key changes', () => {
    it('records create and revoke with the acting principal as actor, in its tenant', async () => {
      const created = await createKey(
        t,
        { name: 'ci', scopes: ['audit:write'] },
        { ...t.auth, 'user-agent': 'curl/8.5' },
      );
      await call(t, 'DELETE', `/api/v1/keys/${created.id}`);
      const events = await selfAuditEvents(t);
      expect(events.map((e) => e.action)).toEqual(['logbook.key.create', 'logbook.key.revoke']);
      const adminRecord = (await t.store.listApiKeys())[0]!;
      for (const event of events) {
        expect(event).toMatchObject({
          tenant: 'default',
          outcome: 'success',
          actor: { id: adminRecord.id, name: 'admin (LOGBOOK_ADMIN_KEY)', type: 'api_key' },
          target: { type: 'api_key', id: created.id, name: 'ci' },
          context: { ip: '127.0.0.1' },
        });
        expect(JSON.stringify(event)).not.toContain(created.key);
      }
      expect(events[0]!.context).toMatchObject({ userAgent: 'curl/8.5' });
      expect(events[0]!.details).toMatchObject({
        prefix: created.prefix,
        scopes: ['audit:write'],
        tenant: null,
      });

      // A tenant-bound admin's actions are audited in its tenant.
      const acmeAdmin = await createKey(t, { name: 'acme admin', scopes: ['admin'], tenant: 'acme' });
      const acmeKey = await createKey(t, { name: 'acme key', scopes: ['audit:read'] }, bearer(acmeAdmin.key));
      const acmeEvents = await selfAuditEvents(t, 'acme');
      expect(acmeEvents).toHaveLength(1);
      expect(acmeEvents[0]).toMatchObject({
        tenant: 'acme',
        action: 'logbook.key.create',
        actor: { id: acmeAdmin.id, name: 'acme admin', type: 'api_key' },
        target: { id: acmeKey.id },
      });
    });
  });
});
