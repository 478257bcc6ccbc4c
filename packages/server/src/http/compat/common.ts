// Shared machinery of the compatibility surfaces (shared/CONTRACTS.md): each surface is one encapsulated Fastify
// plugin that answers in its own envelope, status codes and error bodies, over Logbook's services. A surface must
// never keep data of its own or query the store: it maps parameters to a service call and the result to its shape.
//
// Adding a surface (seeds 002/003 follow this):
//  1. Describe it as a CompatSurface: its OpenAPI tag, its error-body schema, its path `prefixes`, and `errorBody`,
//     which turns any Logbook error (catalog code + facts below) into the surface's own status and body.
//  2. Write the adapter as a plugin that first calls `useSurfaceErrors(app, surface)`; every failure inside it —
//     the auth hook's 401/403 (thrown before the handler), schema validation, malformed JSON, a service's
//     LogbookError, an unexpected crash — then leaves in the surface's shape. Routes declare `config.scope` and
//     `tags: [surface.tag]`, with `errorResponses(surface, [...])` for the OpenAPI error schemas.
//  3. Map request parameters with the helpers here (dates, offset pages) and results with a pure item mapper.
//  4. Register it in compat/index.ts (SURFACES and compatRoutes) and give its routes route-permission MATRIX entries.
import type { AuditEvent } from '@logbook/protocol';
import { LogbookError } from '@logbook/protocol';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import type { Principal } from '../../auth/principal.ts';
import { MAX_TIME_MS, requireIsoTime, toIso } from '../../domain/time.ts';
import type { EventService } from '../../services/events.ts';
import type { EventFilterQuery } from '../export.ts';
import { toLogbookError } from '../plugins/errors.ts';

/** What a surface answers for a failure. */
export interface SurfaceError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** How the caller presented a credential (several products word their 401 by it). */
export const CREDENTIAL_KINDS = ['none', 'bearer-jwt', 'bearer-key', 'x-api-key', 'malformed'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** A failure as a surface sees it: the catalog error, plus facts a surface may phrase its body with. */
export interface ErrorFacts {
  error: LogbookError;
  /** The first issue's parameter without its part: `query/before` → `before`; null when none is named. */
  param: string | null;
  /** Where that parameter was: `query`, `body`, `path`, … (null when none is named). */
  part: string | null;
  /** What credential was presented (meaningful for 401s). */
  credential: CredentialKind;
  request: FastifyRequest;
}

export interface CompatSurface {
  /**
   * Path prefixes the surface owns (`/api/logs` covers `/api/logs` and `/api/logs/…`), so that failures before
   * routing (a malformed URL) also answer in its shape. Without it those get Logbook's own error body.
   */
  prefixes?: readonly string[];
  /** OpenAPI tag of every route of the surface (listed in app.ts's swagger tags via compat/index.ts). */
  tag: string;
  description: string;
  /** OpenAPI schema of the surface's error bodies (every status it answers with). */
  errorSchema: TSchema;
  /** The surface's status and body for a failure. Must not throw. */
  errorBody(facts: ErrorFacts): SurfaceError;
}

export function credentialKind(request: FastifyRequest): CredentialKind {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) return 'malformed';
    // A JWT is three base64url parts; Logbook API keys and other tokens are not.
    return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(match[1]!) ? 'bearer-jwt' : 'bearer-key';
  }
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? 'x-api-key' : 'none';
}

/** The surface's answer for an error raised outside its plugin (the router refusing a malformed URL). */
export function surfaceError(
  surface: CompatSurface,
  error: LogbookError,
  request: FastifyRequest,
): SurfaceError {
  return surface.errorBody(factsOf(error, request));
}

/** The surface owning a URL, if any. */
export function surfaceOf(surfaces: readonly CompatSurface[], url: string): CompatSurface | undefined {
  const path = url.split('?')[0]!;
  return surfaces.find((s) => s.prefixes?.some((p) => path === p || path.startsWith(`${p}/`)));
}

function factsOf(error: LogbookError, request: FastifyRequest): ErrorFacts {
  const field = error.issues?.[0]?.field ?? null;
  const slash = field?.indexOf('/') ?? -1;
  return {
    error,
    param: field === null ? null : slash >= 0 ? field.slice(slash + 1) : field,
    part: field === null || slash < 0 ? null : field.slice(0, slash),
    credential: credentialKind(request),
    request,
  };
}

/**
 * Installs the surface's error handler on its (encapsulated) plugin: everything that fails inside the plugin's
 * routes — including the auth hook, which runs before them — answers in the surface's shape, never a 5xx for bad
 * input. Unexpected errors are logged and answered as the surface's 500 without any detail.
 */
export function useSurfaceErrors(app: FastifyInstance, surface: CompatSurface): void {
  app.setErrorHandler((raw: FastifyError, request, reply) => {
    let error = toLogbookError(raw, app.initialConfig.bodyLimit ?? 0);
    if (!error) {
      request.log.error({ err: raw }, 'unhandled error');
      error = new LogbookError('INTERNAL');
    } else if (error.status >= 500) {
      request.log.warn({ err: raw }, error.message);
    }
    const answer = surface.errorBody(factsOf(error, request));
    if (error.headers) reply.headers(error.headers);
    if (answer.headers) reply.headers(answer.headers);
    return reply.status(answer.status).send(answer.body);
  });
}

/** OpenAPI response entries for the surface's error statuses. */
export function errorResponses(surface: CompatSurface, statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, surface.errorSchema]));
}

/** A 400 naming one parameter, for checks schemas cannot express; the surface words it. */
export function invalidParam(field: string, message: string, rule = 'invalid'): LogbookError {
  return new LogbookError('VALIDATION_FAILED', `${field.replace(/^\w+\//, '')} ${message}`, {
    issues: [{ field, rule, message }],
  });
}

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A surface's date bound as Logbook's list bounds (`from` inclusive, `to` exclusive, ISO). `field` is
 * `query/<name>` so errors name it. Options: `dateOnly` also accepts `2024-03-04` (midnight UTC); an `end`
 * bound is inclusive — a date-only end covers that whole day, a date-time end includes that instant; `requireZ`
 * accepts only UTC date-times ending in `Z` (Zod's `datetime()`).
 */
export function dateBound(
  field: string,
  raw: string,
  edge: 'start' | 'end',
  options: { dateOnly?: boolean; requireZ?: boolean } = {},
): string {
  if (options.requireZ && !/Z$/i.test(raw)) {
    throw new LogbookError(
      'INVALID_DATE',
      `${field} must be an ISO 8601 date-time in UTC ending in Z, e.g. 2024-03-01T00:00:00Z`,
      { issues: [{ field, rule: 'format', message: 'expected ISO 8601 with Z, e.g. 2024-03-01T00:00:00Z' }] },
    );
  }
  const ms = requireIsoTime(field, raw, options.dateOnly ?? false);
  if (edge === 'start') return toIso(ms);
  const end = DATE_ONLY.test(raw) ? ms + DAY_MS : ms + 1;
  return toIso(Math.min(end, MAX_TIME_MS));
}

export type { EventFilterQuery };

/** Deepest offset a surface accepts (a bound, so that no number — 1e309 is Infinity — reaches arithmetic unchecked). */
export const MAX_OFFSET = 1_000_000_000;

/** Largest page a surface serves in one answer (it is fetched from the service in pages of LIST_BATCH). */
export const MAX_OFFSET_PAGE = 10_000;
const LIST_BATCH = 1000;

/** One cursor page of a service's list; the first page (`first`) must also carry the total that match. */
export type PageFetch<T> = (
  limit: number,
  cursor: string | undefined,
  first: boolean,
) => Promise<{ data: T[]; nextCursor: string | null; total?: number }>;

/**
 * Offset pagination over a service's cursor pages (newest first): skips `offset` items, returns up to `limit` and
 * the total that match. Deep offsets cost O(offset) reads, as SQL OFFSET would.
 */
export async function offsetPageOf<T>(
  fetch: PageFetch<T>,
  offset: number,
  limit: number,
): Promise<{ items: T[]; total: number }> {
  const items: T[] = [];
  let skip = offset;
  let cursor: string | undefined;
  let total = 0;
  let first = true;
  for (;;) {
    const want = Math.min(LIST_BATCH, skip + (limit - items.length));
    const page = await fetch(Math.max(1, want), cursor, first);
    if (first) {
      total = page.total ?? 0;
      first = false;
      if (offset >= total) return { items: [], total };
    }
    const rows = page.data;
    const skipped = Math.min(skip, rows.length);
    skip -= skipped;
    items.push(...rows.slice(skipped, skipped + (limit - items.length)));
    if (items.length >= limit || page.nextCursor === null) return { items, total };
    cursor = page.nextCursor;
  }
}

/** offsetPageOf over EventService.list (audit events). */
export function offsetPage(
  events: EventService,
  principal: Principal,
  query: EventFilterQuery,
  offset: number,
  limit: number,
): Promise<{ items: AuditEvent[]; total: number }> {
  return offsetPageOf(
    (pageLimit, cursor, first) =>
      events.list(principal, {
        ...query,
        limit: pageLimit,
        ...(cursor !== undefined ? { cursor } : {}),
        ...(first ? { includeTotal: true } : {}),
      }),
    offset,
    limit,
  );
}

/** `null` for absent values, so items carry every documented key. */
export const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
