// JWTs from outside identity providers, through the real app: HS256 with a shared secret, and RS256/ES256/EdDSA
// from a JWKS served by a real local HTTP server whose keys rotate. Forged, expired, not-yet-valid, unsigned,
// wrong-audience and wrong-issuer tokens are refused with 401.
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import {
  bearer,
  call,
  expectError,
  hs256,
  type JwksServer,
  newKeyPair,
  nowSeconds,
  type SigningKeyPair,
  selfAuditEvents,
  signWith,
  startJwksServer,
  unsignedToken,
} from './support-identity.ts';

const SECRET = 'a-shared-hs256-secret-of-at-least-32-bytes';

/** A token with any header, HMAC-SHA256-signed with SECRET by hand (jose refuses to mislabel it). */
function hmacSigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'logbook-api';

describe.each(BACKENDS)('HS256 tokens (LOGBOOK_JWT_SECRET) on %s', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp({
      backend,
      identity: { jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } },
    });
  });
  afterEach(async () => {
    await t.close();
  });

  const valid = (claims: Record<string, unknown> = {}) =>
    hs256(SECRET, { iss: ISSUER, aud: AUDIENCE, scope: 'audit:read audit:write', ...claims });
  const events = (token: string) => call(t, 'GET', '/api/v1/events', bearer(token));

  it('a valid token authenticates with the scopes of its `scope` claim', async () => {
    const token = await valid();
    expect((await events(token)).statusCode).toBe(200);
    expect((await call(t, 'POST', '/api/v1/events', bearer(token), sampleEvent())).statusCode).toBe(201);
    expectError(await call(t, 'GET', '/api/v1/keys', bearer(token)), 403, 'FORBIDDEN');
  });

  it('reads scopes from `scp` and `scopes` arrays too, and ignores scopes it does not know', async () => {
    expect((await events(await valid({ scope: undefined, scp: ['audit:read'] }))).statusCode).toBe(200);
    expect(
      (await events(await valid({ scope: undefined, scopes: ['openid', 'audit:read'] }))).statusCode,
    ).toBe(200);
    expectError(await events(await valid({ scope: 'openid profile audit:write' })), 403, 'FORBIDDEN');
  });

  it.each(['admin', 'ADMIN', 'project_admin'])(
    'role "%s" (in `role` or `roles`) means admin',
    async (role) => {
      expect(
        (await call(t, 'GET', '/api/v1/keys', bearer(await valid({ scope: undefined, role })))).statusCode,
      ).toBe(200);
      const roles = await valid({ scope: undefined, roles: ['viewer', role] });
      expect((await call(t, 'GET', '/api/v1/users', bearer(roles))).statusCode).toBe(200);
    },
  );

  it('other roles grant nothing by themselves', async () => {
    expectError(await events(await valid({ scope: undefined, role: 'user' })), 403, 'FORBIDDEN');
  });

  it('a `tenant` claim binds the token to that tenant', async () => {
    const token = await valid({ tenant: 'acme' });
    const written = await call(t, 'POST', '/api/v1/events', bearer(token), sampleEvent());
    expect(written.json().events[0].tenant).toBe('acme');
    expectError(await call(t, 'GET', '/api/v1/events?tenant=globex', bearer(token)), 403, 'FORBIDDEN');
    expectError(await events(await valid({ tenant: 'not/a tenant' })), 401, 'UNAUTHENTICATED');
  });

  const refusals: [string, () => Promise<string>, RegExp][] = [
    [
      'forged (signed with another secret)',
      () => hs256(`${SECRET}-but-not-quite`, { iss: ISSUER, aud: AUDIENCE, scope: 'admin' }),
      /signature/,
    ],
    ['expired', () => valid({ exp: nowSeconds() - 120 }), /expired/],
    ['not valid yet (nbf in the future)', () => valid({ nbf: nowSeconds() + 300 }), /not valid yet/],
    ['for another audience', () => valid({ aud: 'some-other-api' }), /aud/],
    ['from another issuer', () => valid({ iss: 'https://evil.example.com/' }), /iss/],
    ['without exp', () => valid({ exp: undefined }), /exp/],
    ['without sub', () => valid({ sub: undefined }), /sub/],
    [
      'unsigned (alg: none)',
      async () => unsignedToken({ iss: ISSUER, aud: AUDIENCE, scope: 'admin', role: 'admin' }),
      /alg|none|[Uu]nsigned/,
    ],
    [
      'alg: none with a signature part',
      async () => `${unsignedToken({ iss: ISSUER, aud: AUDIENCE, role: 'admin' })}c2ln`,
      /./,
    ],
    [
      'RS256-labelled but HMAC-signed with the secret (algorithm confusion)',
      async () =>
        hmacSigned(
          { alg: 'RS256', typ: 'JWT' },
          { sub: 'x', iss: ISSUER, aud: AUDIENCE, role: 'admin', exp: nowSeconds() + 60 },
        ),
      /RS256/,
    ],
  ];
  it.each(refusals)('refuses a token that is %s with 401', async (_name, make, message) => {
    const res = await call(t, 'GET', '/api/v1/keys', bearer(await make()));
    const error = expectError(res, 401, 'UNAUTHENTICATED');
    expect(error.message).toMatch(message);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="logbook"');
  });

  it('a hand-signed HS256 token is accepted (so the hand-signed refusals above are refused for their reason)', async () => {
    const token = hmacSigned(
      { alg: 'HS256', typ: 'JWT' },
      { sub: 'x', iss: ISSUER, aud: AUDIENCE, scope: 'audit:read', exp: nowSeconds() + 60 },
    );
    expect((await events(token)).statusCode).toBe(200);
  });

  it('tolerates 30 s of clock skew on exp and nbf, not more', async () => {
    expect((await events(await valid({ exp: nowSeconds() - 20 }))).statusCode).toBe(200);
    expect((await events(await valid({ nbf: nowSeconds() + 20 }))).statusCode).toBe(200);
    expectError(await events(await valid({ exp: nowSeconds() - 40 })), 401);
  });

  it('a JWT-looking value is never tried as an API key, and a non-JWT value is never tried as a JWT', async () => {
    expectError(await events('abc.def.ghi'), 401, 'UNAUTHENTICATED');
    const apiKeyMessage = expectError(await events('lbk_not-a-real-key'), 401).message;
    expect(apiKeyMessage).toMatch(/API key/);
  });

  it('the actions of a token holder are audited with its subject as actor', async () => {
    const token = await valid({ sub: 'ops-bot', name: 'Ops Bot', role: 'admin' });
    const res = await call(t, 'POST', '/api/v1/keys', bearer(token), {
      name: 'from-jwt',
      scopes: ['audit:read'],
    });
    expect(res.statusCode).toBe(201);
    const [event] = await selfAuditEvents(t, 'default', 'logbook.key.*');
    expect(event).toMatchObject({
      action: 'logbook.key.create',
      actor: { id: 'ops-bot', name: 'Ops Bot', type: 'user' },
      details: { credential: 'jwt' },
    });
  });
});

describe.each(BACKENDS)('without any JWT configuration on %s', (backend) => {
  it('outside tokens are refused with a 401 that says what to configure', async () => {
    const t = await makeTestApp({ backend });
    try {
      const error = expectError(
        await call(t, 'GET', '/api/v1/events', bearer(await hs256(SECRET, { scope: 'admin' }))),
        401,
      );
      expect(error.message).toMatch(/LOGBOOK_JWT_SECRET or LOGBOOK_JWKS_URL/);
    } finally {
      await t.close();
    }
  });
});

describe.each(BACKENDS)('JWKS (LOGBOOK_JWKS_URL) with a rotating key set on %s', (backend) => {
  let jwks: JwksServer;
  let t: TestApp;
  let rsa: SigningKeyPair;
  let ec: SigningKeyPair;
  let ed: SigningKeyPair;
  let next: SigningKeyPair;

  beforeAll(async () => {
    [rsa, ec, ed, next] = await Promise.all([
      newKeyPair('rsa-2026-01', 'RS256'),
      newKeyPair('ec-2026-01', 'ES256'),
      newKeyPair('ed-2026-01', 'EdDSA'),
      newKeyPair('rsa-2026-02', 'RS256'),
    ]);
  });
  beforeEach(async () => {
    jwks = await startJwksServer([rsa, ec, ed]);
    t = await makeTestApp({
      backend,
      identity: { jwt: { jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 0 } },
    });
  });
  afterEach(async () => {
    await t.close();
    await jwks.close();
  });

  const claims = { iss: ISSUER, aud: AUDIENCE, scope: 'audit:read' };
  const events = (token: string) => call(t, 'GET', '/api/v1/events', bearer(token));

  it('accepts RS256, ES256 and EdDSA tokens signed by keys in the set, fetching the set once', async () => {
    for (const key of [rsa, ec, ed]) {
      expect((await events(await signWith(key, claims))).statusCode, key.alg).toBe(200);
    }
    expect(jwks.fetches).toBe(1);
  });

  it('fetches the set again for an unknown kid: a rotated-in key works, a rotated-out key stops working', async () => {
    expect((await events(await signWith(rsa, claims))).statusCode).toBe(200);
    expect(jwks.fetches).toBe(1);

    // Rotation: the provider adds the new key and drops the old one.
    jwks.keys = [next, ec, ed];
    expect((await events(await signWith(next, claims))).statusCode).toBe(200);
    expect(jwks.fetches).toBe(2);

    // The cached set is the new one; the old key's kid is unknown now → refetched, still unknown → 401.
    const error = expectError(await events(await signWith(rsa, claims)), 401, 'UNAUTHENTICATED');
    expect(error.message).toMatch(/kid|key/);
  });

  it('refuses a token whose kid is in the set but whose signature is by another key', async () => {
    const impostor = await newKeyPair(rsa.kid, 'RS256');
    expectError(await events(await signWith(impostor, claims)), 401, 'UNAUTHENTICATED');
  });

  it('refuses wrong audience, expired, alg none and HS256 (no secret configured) tokens', async () => {
    expectError(await events(await signWith(rsa, { ...claims, aud: 'other' })), 401);
    expectError(await events(await signWith(rsa, { ...claims, exp: nowSeconds() - 300 })), 401);
    expectError(await events(unsignedToken({ ...claims, role: 'admin' })), 401);
    expectError(await events(await hs256(SECRET, claims)), 401);
    // An HMAC token "signed" with the public key material of the set (the classic confusion) is refused too.
    const confused = await new SignJWT({ ...claims, sub: 'x', exp: nowSeconds() + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .sign(new TextEncoder().encode(JSON.stringify(rsa.publicJwk)));
    expectError(await events(confused), 401);
  });

  it('answers 503 with Retry-After when the key set cannot be fetched, and recovers when it can', async () => {
    jwks.failWith = 500;
    const token = await signWith(rsa, claims);
    const res = await events(token);
    expectError(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('5');
    jwks.failWith = null;
    expect((await events(token)).statusCode).toBe(200);
  });
});
