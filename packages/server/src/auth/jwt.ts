// JWTs from outside Logbook: HS256 with a shared secret (LOGBOOK_JWT_SECRET) and/or asymmetric keys from a JWKS
// URL (LOGBOOK_JWKS_URL, cached, refetched on an unknown `kid`). Signature, `iss`, `aud`, `exp` and `nbf` are
// checked with a small clock skew; the claims then become a Principal. Unsigned (`alg: none`) tokens never pass.
import { DEFAULT_TENANT, LogbookError, SCOPES, type Scope, TENANT_PATTERN } from '@logbook/protocol';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { Principal } from './principal.ts';

/** Clock skew tolerated on `exp`, `nbf` and `iat`. */
export const JWT_CLOCK_TOLERANCE_SECONDS = 30;

/** Algorithms accepted from a JWKS (never `none`, never HMAC: an HMAC key in a public key set is a mistake). */
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
  'Ed25519',
];

/** Role claim values that mean "admin" (as the documented compatible APIs spell them). */
export const ADMIN_ROLES: ReadonlySet<string> = new Set(['admin', 'ADMIN', 'project_admin']);

export interface ExternalJwtOptions {
  /** HS256 shared secret (at least 32 characters). */
  secret?: string | undefined;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Minimum time between two JWKS fetches caused by unknown `kid`s (default 30 s). */
  jwksCooldownMs?: number;
  /** How long a fetched key set is used before it is fetched again (default 10 min). */
  jwksCacheMaxAgeMs?: number;
}

/** `xxx.yyy.zzz` of base64url (the signature part may be empty, as in `alg: none` tokens): treated as a JWT. */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential);
}

const unauthenticated = (message: string) => new LogbookError('UNAUTHENTICATED', message);

/** Turns a jose failure into the 401 (or, when the key set cannot be fetched, 503) that says why. */
export function jwtFailure(error: unknown): LogbookError {
  if (error instanceof LogbookError) return error;
  if (error instanceof errors.JWTExpired) return unauthenticated('The token has expired; get a new one.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return unauthenticated('The token is not meant for this server (its "aud" claim does not match).');
      case 'iss':
        return unauthenticated('The token was issued by an issuer this server does not trust ("iss").');
      case 'nbf':
        return unauthenticated('The token is not valid yet ("nbf" is in the future).');
      default:
        return unauthenticated(`The token's "${error.claim}" claim is not acceptable.`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return unauthenticated('The token is signed with an algorithm this server does not accept.');
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return unauthenticated(
      'The token is signed by a key this server does not know ("kid" not in the key set).',
    );
  }
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError) ||
    error.code === 'ERR_JOSE_GENERIC'
  ) {
    return new LogbookError(
      'SERVICE_UNAVAILABLE',
      'The identity provider key set (LOGBOOK_JWKS_URL) could not be fetched to check this token; retry later.',
      { headers: { 'retry-after': '5' }, cause: error },
    );
  }
  return unauthenticated('The token is not valid: its signature or format does not check out.');
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The principal a verified token stands for: scopes from `scope`/`scp`/`scopes`, admin from `role`/`roles`. */
export function principalFromClaims(payload: JWTPayload): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) {
    throw unauthenticated('The token has no usable "sub" (subject) claim.');
  }
  const granted = new Set<string>([
    ...stringList(payload.scope),
    ...stringList(payload.scp),
    ...stringList(payload.scopes),
  ]);
  const roles = [...stringList(payload.role), ...stringList(payload.roles)];
  if (roles.some((role) => ADMIN_ROLES.has(role))) granted.add('admin');
  const scopes = SCOPES.filter((scope) => granted.has(scope)) as Scope[];
  let tenant: string | null = null;
  if (payload.tenant !== undefined && payload.tenant !== null) {
    if (typeof payload.tenant !== 'string' || !new RegExp(TENANT_PATTERN).test(payload.tenant)) {
      throw unauthenticated(
        `The token's "tenant" claim is not a valid tenant name (e.g. "${DEFAULT_TENANT}").`,
      );
    }
    tenant = payload.tenant;
  }
  const nameClaim = [payload.name, payload.preferred_username, payload.email].find(
    (v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256,
  );
  return { kind: 'jwt', id: sub, name: nameClaim ?? sub, scopes, tenant };
}

/** Verifies JWTs issued by an outside identity provider. */
export class ExternalJwtVerifier {
  private readonly secret: Uint8Array | null;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | null;

  constructor(private readonly options: ExternalJwtOptions) {
    this.secret = options.secret ? new TextEncoder().encode(options.secret) : null;
    this.jwks = options.jwksUrl
      ? createRemoteJWKSet(new URL(options.jwksUrl), {
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
          timeoutDuration: 5_000,
        })
      : null;
  }

  get enabled(): boolean {
    return this.secret !== null || this.jwks !== null;
  }

  async verify(token: string, nowMs: number): Promise<Principal> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw unauthenticated('The token is not a well-formed JWT.');
    }
    if (alg === undefined || alg === 'none')
      throw unauthenticated('Unsigned tokens ("alg": "none") are refused.');
    const common: JWTVerifyOptions = {
      clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp'],
      ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
      ...(this.options.audience ? { audience: this.options.audience } : {}),
    };
    try {
      if (alg === 'HS256') {
        if (!this.secret)
          throw unauthenticated('HS256 tokens are not accepted: LOGBOOK_JWT_SECRET is not set.');
        const { payload } = await jwtVerify(token, this.secret, { ...common, algorithms: ['HS256'] });
        return principalFromClaims(payload);
      }
      if (!this.jwks) {
        throw unauthenticated(`"${alg}" tokens are not accepted: LOGBOOK_JWKS_URL is not set.`);
      }
      const { payload } = await jwtVerify(token, this.jwks, { ...common, algorithms: JWKS_ALGORITHMS });
      return principalFromClaims(payload);
    } catch (error) {
      throw jwtFailure(error);
    }
  }
}
