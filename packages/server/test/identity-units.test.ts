// Pure units of identity: the login throttle's schedule, password hashes, claims → principal, configuration.
import { describe, expect, it } from 'vitest';
import { looksLikeJwt, principalFromClaims } from '../src/auth/jwt.ts';
import { delayAfter, LoginThrottle, type ThrottleKey } from '../src/auth/lockout.ts';
import { hashPassword, verifyPassword } from '../src/auth/passwords.ts';
import { bindingFor, mayManage, type Principal, userScopes } from '../src/auth/principal.ts';
import { ConfigError, loadConfig } from '../src/config/config.ts';

describe('LoginThrottle', () => {
  const user: ThrottleKey = { key: 'user:alice', maxFailures: 5, slowAfter: 2 };
  const ip: ThrottleKey = { key: 'ip:10.0.0.1', maxFailures: 50 };

  it('delays double from 1 s after the free failures, capped at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((f) => delayAfter(f, 2))).toEqual([
      0, 0, 1000, 2000, 4000, 8000, 30_000,
    ]);
    expect(delayAfter(40, undefined)).toBe(0);
  });

  it('slows, locks at the maximum for the window, and forgets after it', () => {
    const throttle = new LoginThrottle(600_000);
    let now = 1_000_000;
    expect(throttle.attempt([user], now).allowed).toBe(true); // 1
    expect(throttle.attempt([user], now).allowed).toBe(true); // 2
    expect(throttle.attempt([user], now).allowed).toBe(true); // 3: next must wait 1 s
    expect(throttle.attempt([user], now)).toEqual({
      allowed: false,
      reason: 'slowed',
      retryAfterMs: 1000,
      lockedNow: [],
    });
    now += 1000;
    expect(throttle.attempt([user], now).allowed).toBe(true); // 4: next waits 2 s
    expect(throttle.check([user], now + 1999)).toMatchObject({
      allowed: false,
      reason: 'slowed',
      retryAfterMs: 1,
    });
    now += 2000;
    expect(throttle.attempt([user], now)).toEqual({ allowed: true, lockedNow: ['user:alice'] }); // 5: locked
    expect(throttle.check([user], now + 599_999)).toMatchObject({
      allowed: false,
      reason: 'locked',
      retryAfterMs: 1,
    });
    expect(throttle.check([user], now + 600_000)).toEqual({ allowed: true });
    // After the lockout the count starts again from zero.
    expect(throttle.attempt([user], now + 600_000)).toEqual({ allowed: true, lockedNow: [] });
  });

  it('failures older than the window are forgotten', () => {
    const throttle = new LoginThrottle(60_000);
    for (let i = 0; i < 2; i++) throttle.attempt([user], 0);
    throttle.attempt([user], 1000);
    expect(throttle.check([user], 1500).allowed).toBe(false);
    expect(throttle.check([user], 60_000)).toEqual({ allowed: true });
  });

  it('succeed clears the account and takes back only this attempt from the address', () => {
    const throttle = new LoginThrottle(600_000);
    const addr: ThrottleKey = { key: 'ip:x', maxFailures: 3 };
    throttle.attempt([user, addr], 0);
    throttle.attempt([user, addr], 0);
    expect(throttle.attempt([user, addr], 0).lockedNow).toEqual(['ip:x']);
    throttle.succeed([user, addr]); // the third attempt was right after all
    expect(throttle.check([user, addr], 0)).toEqual({ allowed: true });
    expect(throttle.attempt([{ key: 'user:bob', maxFailures: 5 }, addr], 0).lockedNow).toEqual(['ip:x']);
  });

  it('the longest wait among the keys wins; unrelated keys are untouched', () => {
    const throttle = new LoginThrottle(600_000);
    for (let i = 0; i < 50; i++) throttle.attempt([{ key: `user:u${i}`, maxFailures: 5 }, ip], 0);
    expect(throttle.check([{ key: 'user:new', maxFailures: 5 }, ip], 10)).toMatchObject({ reason: 'locked' });
    expect(
      throttle.check(
        [
          { key: 'user:new', maxFailures: 5 },
          { key: 'ip:other', maxFailures: 50 },
        ],
        10,
      ),
    ).toEqual({
      allowed: true,
    });
  });

  it('remembers a bounded number of keys', () => {
    const throttle = new LoginThrottle(600_000, 100);
    for (let i = 0; i < 1000; i++) throttle.attempt([{ key: `user:${i}`, maxFailures: 1 }], 0);
    expect((throttle as unknown as { state: Map<string, unknown> }).state.size).toBeLessThanOrEqual(100);
    expect(throttle.check([{ key: 'user:999', maxFailures: 1 }], 1).allowed).toBe(false);
  });
});

describe('password hashes', () => {
  it('verify the right password only, in PHC form with the parameters inside', async () => {
    const hash = await hashPassword('s3cret-passphrase');
    expect(hash).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(await verifyPassword('s3cret-passphrase', hash)).toBe(true);
    expect(await verifyPassword('s3cret-passphrasE', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('Unicode passwords are compared in NFC (the same text typed two ways matches)', async () => {
    const hash = await hashPassword('café-ünïcode');
    expect(await verifyPassword('cafe\u0301-u\u0308ni\u0308code', hash)).toBe(true);
  });

  it('a malformed or absurdly expensive stored hash never matches (and is not computed)', async () => {
    for (const stored of [
      '',
      'plain',
      '$scrypt$ln=15,r=8,p=1$$',
      '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=',
    ]) {
      expect(await verifyPassword('x', stored)).toBe(false);
    }
  });
});

describe('JWT claims', () => {
  it('recognises JWT-shaped credentials', () => {
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe(true);
    expect(looksLikeJwt('a.b.c')).toBe(true);
    expect(looksLikeJwt('lbk_abcdefghijklmnop')).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
  });

  it('maps scopes, roles and tenant; unknown scopes are dropped', () => {
    expect(principalFromClaims({ sub: 's', scope: 'audit:read openid logging:write' })).toEqual({
      kind: 'jwt',
      id: 's',
      name: 's',
      scopes: ['audit:read', 'logging:write'],
      tenant: null,
    });
    expect(principalFromClaims({ sub: 's', roles: ['ADMIN'], tenant: 'acme', name: 'Svc' })).toMatchObject({
      scopes: ['admin'],
      tenant: 'acme',
      name: 'Svc',
    });
    expect(principalFromClaims({ sub: 's', scp: 'audit:write' }).scopes).toEqual(['audit:write']);
    expect(() => principalFromClaims({ scope: 'admin' })).toThrow(/sub/);
    expect(() => principalFromClaims({ sub: 's', tenant: 7 })).toThrow(/tenant/);
  });
});

describe('principals', () => {
  const bound: Principal = { kind: 'api_key', id: 'k', name: 'k', scopes: ['admin'], tenant: 'acme' };
  const free: Principal = { ...bound, tenant: null };
  it('binds new credentials to the creator tenant; an unbound creator chooses', () => {
    expect(bindingFor(bound, undefined)).toBe('acme');
    expect(bindingFor(bound, 'acme')).toBe('acme');
    expect(() => bindingFor(bound, 'globex')).toThrow(/bound to tenant "acme"/);
    expect(bindingFor(free, undefined)).toBeNull();
    expect(bindingFor(free, 'globex')).toBe('globex');
    expect(mayManage(bound, 'acme')).toBe(true);
    expect(mayManage(bound, null)).toBe(false);
    expect(mayManage(free, 'globex')).toBe(true);
  });
  it('user scopes: admin role holds admin; a member never does', () => {
    expect(userScopes('admin', [])).toEqual(['admin']);
    expect(userScopes('member', ['audit:read', 'admin', 'bogus'])).toEqual(['audit:read']);
  });
});

describe('configuration', () => {
  const base = { LOGBOOK_DATA_DIR: '/tmp/lb' };
  it('has safe identity defaults', () => {
    const config = loadConfig(base, '/');
    expect(config).toMatchObject({
      loginMaxFailures: 5,
      loginLockoutSeconds: 900,
      loginTokenTtlSeconds: 3600,
      loginKeyFile: '/tmp/lb/login-token.key',
      corsOrigins: undefined,
    });
  });

  it('reads the identity variables', () => {
    const config = loadConfig(
      {
        ...base,
        LOGBOOK_LOGIN_MAX_FAILURES: '10',
        LOGBOOK_LOGIN_LOCKOUT_SECONDS: '60',
        LOGBOOK_LOGIN_TOKEN_TTL_SECONDS: '300',
        LOGBOOK_LOGIN_KEY_FILE: 'keys/login.pem',
        LOGBOOK_CORS_ORIGINS: 'https://a.example.com, http://localhost:5173',
        LOGBOOK_JWKS_URL: 'https://idp.example.com/jwks.json',
        LOGBOOK_JWT_AUDIENCE: 'logbook',
      },
      '/srv',
    );
    expect(config).toMatchObject({
      loginMaxFailures: 10,
      loginLockoutSeconds: 60,
      loginTokenTtlSeconds: 300,
      loginKeyFile: '/srv/keys/login.pem',
      corsOrigins: ['https://a.example.com', 'http://localhost:5173'],
    });
  });

  it.each([
    [{ LOGBOOK_LOGIN_MAX_FAILURES: '0' }, /LOGBOOK_LOGIN_MAX_FAILURES/],
    [{ LOGBOOK_LOGIN_LOCKOUT_SECONDS: 'ten' }, /LOGBOOK_LOGIN_LOCKOUT_SECONDS/],
    [{ LOGBOOK_LOGIN_TOKEN_TTL_SECONDS: '5' }, /LOGBOOK_LOGIN_TOKEN_TTL_SECONDS/],
    [{ LOGBOOK_CORS_ORIGINS: 'example.com' }, /LOGBOOK_CORS_ORIGINS/],
    [{ LOGBOOK_JWT_SECRET: 'too-short' }, /LOGBOOK_JWT_SECRET must be at least 32 bytes/],
    [{ LOGBOOK_JWKS_URL: 'https://idp.example.com/jwks.json' }, /LOGBOOK_JWT_AUDIENCE/],
  ])('refuses %o with one clear line', (env, message) => {
    expect(() => loadConfig({ ...base, ...env }, '/')).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env }, '/')).toThrow(message);
  });
});
