// Wires identity and access: the authenticator every request passes, the key and user use cases, and the
// self-audit they record through. Composition only.
import { Authenticator } from '../auth/authenticator.ts';
import { type ExternalJwtOptions, ExternalJwtVerifier } from '../auth/jwt.ts';
import { generateLoginKeyPem, LoginTokens } from '../auth/login-tokens.ts';
import type { Store } from '../store/store.ts';
import type { EventService } from './events.ts';
import { KeyService } from './keys.ts';
import { SelfAudit } from './self-audit.ts';
import { type LoginPolicy, UserService } from './users.ts';

export interface IdentityOptions {
  /** PKCS#8 PEM of the Ed25519 key that signs login tokens (start.ts keeps it in the data dir). Default: a key
   * made now and kept only in memory, so tokens stop working at restart. */
  loginKeyPem?: string;
  /** Lifetime of login tokens (default 3600). */
  loginTokenTtlSeconds?: number;
  /** Outside JWT issuers: HS256 secret and/or JWKS URL, issuer, audience. */
  jwt?: ExternalJwtOptions;
  login?: Partial<LoginPolicy>;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = { maxFailures: 5, lockoutSeconds: 900 };
export const DEFAULT_LOGIN_TOKEN_TTL_SECONDS = 3600;

export interface IdentityServices {
  authenticator: Authenticator;
  keys: KeyService;
  users: UserService;
  audit: SelfAudit;
}

export function createIdentityServices(
  store: Store,
  events: EventService,
  options: IdentityOptions = {},
  clock: () => number = Date.now,
): IdentityServices {
  const tokens = new LoginTokens(
    options.loginKeyPem ?? generateLoginKeyPem(),
    options.loginTokenTtlSeconds ?? DEFAULT_LOGIN_TOKEN_TTL_SECONDS,
  );
  const audit = new SelfAudit(events);
  return {
    authenticator: new Authenticator(store, tokens, new ExternalJwtVerifier(options.jwt ?? {}), clock),
    keys: new KeyService(store, audit, clock),
    users: new UserService(store, audit, tokens, { ...DEFAULT_LOGIN_POLICY, ...options.login }, clock),
    audit,
  };
}
