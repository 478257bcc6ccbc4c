// Shared helpers for the identity tests: create keys and users through the real API, sign outside JWTs, and
// serve a JSON Web Key Set from a real local HTTP server whose keys can be rotated.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { expect } from 'vitest';
import type { TestApp } from './helpers.ts';

export type Json = Record<string, unknown>;

export interface CreatedKey {
  id: string;
  key: string;
  name: string;
  prefix: string;
  scopes: string[];
  tenant: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface WireUser {
  id: string;
  username: string;
  role: string;
  scopes: string[];
  tenant: string | null;
  createdAt: string;
  disabledAt: string | null;
  lastLoginAt: string | null;
}

export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

export function call(
  t: TestApp,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD',
  url: string,
  headers: Record<string, string> = t.auth,
  payload?: unknown,
) {
  return t.app.inject({
    method,
    url,
    headers,
    ...(payload !== undefined ? { payload: payload as Json } : {}),
  });
}

/** Creates a key through POST /api/v1/keys (as the admin unless `as` is given) and insists on 201. */
export async function createKey(
  t: TestApp,
  body: { name?: string; scopes: string[]; tenant?: string; expiresAt?: string },
  as: Record<string, string> = t.auth,
): Promise<CreatedKey> {
  const res = await call(t, 'POST', '/api/v1/keys', as, { name: 'test key', ...body });
  if (res.statusCode !== 201) throw new Error(`create key failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function createUser(
  t: TestApp,
  body: { username: string; password: string; role?: string; scopes?: string[]; tenant?: string },
  as: Record<string, string> = t.auth,
): Promise<WireUser> {
  const res = await call(t, 'POST', '/api/v1/users', as, body);
  if (res.statusCode !== 201) throw new Error(`create user failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export function login(t: TestApp, username: string, password: string, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers,
    payload: { username, password },
  });
}

/** Logs in and insists on 200; returns the token. */
export async function loginToken(t: TestApp, username: string, password: string): Promise<string> {
  const res = await login(t, username, password);
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json().token;
}

/** Asserts the catalog error shape and returns the error object. */
export function expectError(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(body.error.status).toBe(status);
  if (code) expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body.error as { code: string; status: number; message: string; requestId?: string };
}

export const nowSeconds = (ms = Date.now()) => Math.floor(ms / 1000);

/** An HS256 token with the given claims (defaults: sub, iat, exp in an hour). */
export function hs256(secret: string, claims: JWTPayload, header: Json = {}): Promise<string> {
  const iat = nowSeconds();
  return new SignJWT({ sub: 'svc-1', iat, exp: iat + 3600, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header })
    .sign(new TextEncoder().encode(secret));
}

/** An unsigned token: `alg: none`, empty signature. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = nowSeconds();
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'svc-1', iat, exp: iat + 3600, ...claims })}.`;
}

export interface SigningKeyPair {
  kid: string;
  alg: 'RS256' | 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newKeyPair(kid: string, alg: SigningKeyPair['alg']): Promise<SigningKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export function signWith(key: SigningKeyPair, claims: JWTPayload, header: Json = {}): Promise<string> {
  const iat = nowSeconds();
  return new SignJWT({ sub: 'idp-user-1', iat, exp: iat + 3600, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

/** A JWKS endpoint on 127.0.0.1 (port 0) serving `keys`, which the test may replace to rotate them. */
export interface JwksServer {
  url: string;
  keys: SigningKeyPair[];
  /** How many times the key set was fetched. */
  fetches: number;
  /** When set, answers this status instead of the key set. */
  failWith: number | null;
  close(): Promise<void>;
}

export async function startJwksServer(keys: SigningKeyPair[]): Promise<JwksServer> {
  const state: JwksServer = {
    url: '',
    keys,
    fetches: 0,
    failWith: null,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    state.fetches += 1;
    if (state.failWith !== null) {
      res.writeHead(state.failWith).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys.map((k) => k.publicJwk) }));
    void req;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** Audit events of Logbook itself (action `logbook.*`) in a tenant, oldest first. */
export async function selfAuditEvents(t: TestApp, tenant = 'default', action = 'logbook.*'): Promise<Json[]> {
  const res = await call(
    t,
    'GET',
    `/api/v1/events?tenant=${tenant}&action=${encodeURIComponent(action)}&order=asc&limit=1000`,
  );
  if (res.statusCode !== 200) throw new Error(`list failed: ${res.statusCode} ${res.body}`);
  return res.json().data;
}
