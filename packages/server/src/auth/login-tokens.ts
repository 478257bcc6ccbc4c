// Tokens Logbook issues to its own users at login: short-lived EdDSA (Ed25519) JWTs signed with a private key
// kept in the data dir. Verifying one proves who logged in and when; whether the user may still act (not
// disabled, not logged out by a disable) is decided against the store by the authenticator.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { JWT_CLOCK_TOLERANCE_SECONDS, jwtFailure } from './jwt.ts';

/** `iss` and `aud` of Logbook's own login tokens. */
export const LOGIN_TOKEN_ISSUER = 'logbook';
export const LOGIN_TOKEN_AUDIENCE = 'logbook';

/** A new Ed25519 private key as PKCS#8 PEM (the content of the key file). */
export function generateLoginKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export interface LoginClaims {
  sub: string;
  /** Issued-at, epoch ms (from `iat`, whole seconds). */
  issuedMs: number;
}

export interface IssuedToken {
  token: string;
  expiresMs: number;
}

export class LoginTokens {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private kidValue: string | null = null;

  constructor(
    privateKeyPem: string,
    private readonly ttlSeconds: number,
  ) {
    this.privateKey = createPrivateKey(privateKeyPem);
    if (this.privateKey.asymmetricKeyType !== 'ed25519') {
      throw new Error('The login token key must be an Ed25519 private key (PKCS#8 PEM)');
    }
    this.publicKey = createPublicKey(this.privateKey);
  }

  /** The key id: the RFC 7638 thumbprint of the public key. */
  async kid(): Promise<string> {
    this.kidValue ??= await calculateJwkThumbprint(await exportJWK(this.publicKey));
    return this.kidValue;
  }

  /** The public key as a JWK, for services that want to verify Logbook's tokens themselves. */
  async publicJwk(): Promise<JWK> {
    return { ...(await exportJWK(this.publicKey)), kid: await this.kid(), alg: 'EdDSA', use: 'sig' };
  }

  /** Whether a token claims to be signed by this key (cheap routing; the signature is checked by verify). */
  async isOwn(token: string): Promise<boolean> {
    try {
      const header = decodeProtectedHeader(token);
      return header.alg === 'EdDSA' && header.kid === (await this.kid());
    } catch {
      return false;
    }
  }

  async issue(
    user: { id: string; username: string; scopes: readonly string[]; role: string; tenant: string | null },
    nowMs: number,
  ): Promise<IssuedToken> {
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + this.ttlSeconds;
    const token = await new SignJWT({
      name: user.username,
      role: user.role,
      scope: user.scopes.join(' '),
      ...(user.tenant !== null ? { tenant: user.tenant } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: await this.kid() })
      .setIssuer(LOGIN_TOKEN_ISSUER)
      .setAudience(LOGIN_TOKEN_AUDIENCE)
      .setSubject(user.id)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.privateKey);
    return { token, expiresMs: exp * 1000 };
  }

  async verify(token: string, nowMs: number): Promise<LoginClaims> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['EdDSA'],
        issuer: LOGIN_TOKEN_ISSUER,
        audience: LOGIN_TOKEN_AUDIENCE,
        clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(nowMs),
        requiredClaims: ['sub', 'iat', 'exp'],
      });
      return { sub: payload.sub!, issuedMs: payload.iat! * 1000 };
    } catch (error) {
      throw jwtFailure(error);
    }
  }
}
