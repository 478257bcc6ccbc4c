// Helpers of the compatibility-surface tests (compat-*.test.ts): requests through the real app, events written
// through /api/v1/events, and the integrity check a deletion must pass (the verifier `logbook verify` runs).
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { verifyStore } from '../src/services/verifier.ts';
import type { TestApp } from './helpers.ts';
import { createKey } from './support-identity.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';

export function send(
  t: TestApp,
  method: Method,
  url: string,
  options: { headers?: Record<string, string>; payload?: unknown } = {},
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method,
    url,
    headers: options.headers ?? t.auth,
    ...(options.payload !== undefined ? { payload: options.payload as Record<string, unknown> } : {}),
  });
}

/** A parsed response body: its shape is what the tests assert with expect(), not what the compiler checks. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by expect() at run time
export type Body = any;

/** GET as the admin, insisting on 200; the parsed body. */
export async function getJson<T = Body>(
  t: TestApp,
  url: string,
  headers?: Record<string, string>,
): Promise<T> {
  const res = await send(t, 'GET', url, headers ? { headers } : {});
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json() as T;
}

/** Writes events through Logbook's own API (in order); their ids. */
export async function writeEvents(
  t: TestApp,
  events: Record<string, unknown>[],
  headers: Record<string, string> = t.auth,
): Promise<string[]> {
  const res = await send(t, 'POST', '/api/v1/events', { headers, payload: { events } });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json().events as { id: string }[]).map((e) => e.id);
}

/** Signs a checkpoint of every log and runs the verifier over the store, as `logbook verify` does. */
export async function expectVerified(t: TestApp): Promise<void> {
  await t.services.integrity.checkpointAll();
  const report = await verifyStore(t.store, {
    verifierKeys: [t.services.integrity.publicKey().note],
    all: true,
    workers: 0,
  });
  expect(report.findings).toEqual([]);
  expect(report.ok).toBe(true);
}

/** Credentials for the auth tests: one key per scope set, and one bound to a tenant. */
export async function keyWith(
  t: TestApp,
  scopes: string[],
  tenant?: string,
): Promise<Record<string, string>> {
  const key = await createKey(t, { scopes, ...(tenant ? { tenant } : {}) });
  return { authorization: `Bearer ${key.key}` };
}

/** An HS256-looking JWT that no issuer signed (a JWT-shaped bad credential). */
export const FORGED_JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW5vdC12YWxpZA';
