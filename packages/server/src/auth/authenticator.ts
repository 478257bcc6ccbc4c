// Resolves a presented credential into a Principal: an API key, a login token Logbook issued to one of its
// users, or a JWT from an outside identity provider. Every failure is a 401 that says why; nothing is cached,
// so a revoked key or a disabled user stops working at once.
import { LogbookError } from '@logbook/protocol';
import type { Store, UserRecord } from '../store/store.ts';
import { authenticateApiKey } from './api-keys.ts';
import { type ExternalJwtVerifier, looksLikeJwt } from './jwt.ts';
import type { LoginTokens } from './login-tokens.ts';
import { type Principal, userScopes } from './principal.ts';

/** What the client sent: `Authorization: Bearer <value>` or `X-API-Key: <value>`. */
export interface PresentedCredential {
  scheme: 'bearer' | 'x-api-key';
  value: string;
}

export function userPrincipal(user: UserRecord): Principal {
  return {
    kind: 'user',
    id: user.id,
    name: user.username,
    scopes: userScopes(user.role, user.scopes),
    tenant: user.tenant,
  };
}

export class Authenticator {
  constructor(
    private readonly store: Store,
    private readonly loginTokens: LoginTokens,
    private readonly external: ExternalJwtVerifier,
    private readonly clock: () => number,
  ) {}

  /** A bearer value that looks like a JWT (three base64url parts) is a JWT; anything else is an API key. */
  async authenticate(credential: PresentedCredential): Promise<Principal> {
    const nowMs = this.clock();
    if (credential.scheme === 'bearer' && looksLikeJwt(credential.value)) {
      return this.authenticateJwt(credential.value, nowMs);
    }
    return authenticateApiKey(this.store, credential.value, nowMs);
  }

  private async authenticateJwt(token: string, nowMs: number): Promise<Principal> {
    if (await this.loginTokens.isOwn(token)) {
      const claims = await this.loginTokens.verify(token, nowMs);
      const user = await this.store.findUserById(claims.sub);
      if (!user) throw new LogbookError('UNAUTHENTICATED', 'The user of this token no longer exists.');
      if (user.disabledMs !== null) {
        throw new LogbookError('UNAUTHENTICATED', 'This user is disabled; ask an admin to enable it.');
      }
      if (user.sessionsNotBeforeMs !== null && claims.issuedMs < user.sessionsNotBeforeMs) {
        throw new LogbookError(
          'UNAUTHENTICATED',
          'This token was issued before the user was disabled; log in again.',
        );
      }
      return userPrincipal(user);
    }
    if (!this.external.enabled) {
      throw new LogbookError(
        'UNAUTHENTICATED',
        'This token was not issued by this server, and no outside issuer is configured (LOGBOOK_JWT_SECRET or LOGBOOK_JWKS_URL).',
      );
    }
    return this.external.verify(token, nowMs);
  }
}
