// Shared helpers for the events HTTP tests: thin wrappers over inject() and assertions on the error catalog shape.
// They add no behaviour of their own: every call goes through the real app over a real SQLite file.
import { ERROR_CATALOG } from '@logbook/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp } from './helpers.ts';

export type Json = Record<string, unknown>;

export interface WireEvent {
  id: string;
  tenant: string;
  seq: number;
  hash: string;
  occurredAt: string;
  receivedAt: string;
  action: string;
  actor: { id: string; name?: string; type?: string; email?: string };
  target?: { type?: string; id?: string; name?: string };
  outcome: string;
  description?: string;
  context?: { ip?: string; userAgent?: string; requestId?: string; sessionId?: string };
  details?: Json;
  changes?: Json;
}

export interface Appended {
  id: string;
  tenant: string;
  seq: number;
  hash: string;
  occurredAt: string;
  receivedAt: string;
  duplicate: boolean;
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const HEX64 = /^[0-9a-f]{64}$/;

export function post(t: TestApp, payload: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/events',
    headers: { ...t.auth, ...headers },
    payload: payload as Json,
  });
}

/** POSTs and insists on 201; returns the per-input answers. */
export async function append(t: TestApp, payload: unknown): Promise<Appended[]> {
  const res = await post(t, payload);
  if (res.statusCode !== 201) throw new Error(`append failed: ${res.statusCode} ${res.body}`);
  return res.json().events as Appended[];
}

export function qs(query: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function get(t: TestApp, url: string, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'GET', url, headers: { ...t.auth, ...headers } });
}

export async function list(
  t: TestApp,
  query: Record<string, string | number | boolean | undefined> = {},
): Promise<{ data: WireEvent[]; nextCursor: string | null; total?: number }> {
  const res = await get(t, `/api/v1/events${qs(query)}`);
  if (res.statusCode !== 200) throw new Error(`list failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Follows nextCursor until the end; returns every event served, in the order served. */
export async function walk(
  t: TestApp,
  query: Record<string, string | number | boolean | undefined>,
  onPage?: (page: WireEvent[], index: number) => void | Promise<void>,
): Promise<WireEvent[]> {
  const seen: WireEvent[] = [];
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    if (page > 100_000) throw new Error('cursor walk does not end');
    const body = await list(t, { ...query, ...(cursor ? { cursor } : {}) });
    seen.push(...body.data);
    await onPage?.(body.data, page);
    if (body.nextCursor === null) return seen;
    expect(body.data.length).toBeGreaterThan(0);
    cursor = body.nextCursor;
  }
}

/** Asserts the catalog error shape `{error:{code,status,message,requestId}}` with the given status and code. */
export function expectError(
  res: LightMyRequestResponse,
  status: number,
  code?: keyof typeof ERROR_CATALOG,
): Json {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json() as { error: Json };
  expect(body, res.body).toHaveProperty('error');
  expect(typeof body.error, `error is not a catalog object: ${res.body}`).toBe('object');
  expect(body.error.status, res.body).toBe(status);
  expect(typeof body.error.message).toBe('string');
  expect((body.error.message as string).length).toBeGreaterThan(0);
  expect(typeof body.error.requestId).toBe('string');
  expect(body.error.requestId).toBe(res.headers['x-request-id']);
  expect(Object.keys(ERROR_CATALOG)).toContain(body.error.code);
  expect(ERROR_CATALOG[body.error.code as keyof typeof ERROR_CATALOG].status).toBe(status);
  if (code) expect(body.error.code, String(body.error.message)).toBe(code);
  return body.error;
}

/** A 4xx in the catalog shape, whatever the exact status (used where several 4xx are defensible). */
export function expectClientError(res: LightMyRequestResponse): Json {
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, res.body).toBeLessThan(500);
  return expectError(res, res.statusCode);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
