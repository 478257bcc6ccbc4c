// Pure units of identity: password hashes, claims → principal, configuration (the login throttle: login-lockout.test.ts).
import { describe, expect, it } from 'vitest';
import { looksLikeJwt, principalFromClaims } from '../src/auth/jwt.ts';
import { hashPassword, verifyPassword } from '../src/auth/passwords.ts';
import { bindingFor, mayManage, type Principal, userScopes } from '../src/auth/principal.ts';
import { ConfigError, loadConfig } from '../src/config/config.ts';

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
