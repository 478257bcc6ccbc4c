// Seed 003, scoped audit and system logs (a FastAPI product): /api/logging/audit/… over audit events, its twin
// /api/logging/system/… over system logs, cursor pages, FastAPI `{detail}` errors, and the OAuth2 password login
// POST /api/login/access-token. A thin adapter: it keeps no data; deletes go through the services (an audit entry's
// payload is redacted, its leaf hash stays; a system log entry is deleted); both deletions are audit events.
import { parse as parseForm } from 'node:querystring';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  type AuditEvent,
  EVENT_OUTCOMES,
  type FieldIssue,
  LOG_LEVELS,
  LogbookError,
  type LogEntry,
  PASSWORD_LIMITS,
  SORT_ORDERS,
} from '@logbook/protocol';
import Type from 'typebox';
import type { EventService } from '../../services/events.ts';
import type { LogService } from '../../services/logs.ts';
import type { UserService } from '../../services/users.ts';
import { principalOf, requestContext } from '../plugins/auth.ts';
import { phraseQuery } from './api-logs.ts';
import {
  type CompatSurface,
  dateBound,
  type ErrorFacts,
  errorResponses,
  invalidParam,
  orNull,
  type SurfaceError,
  useSurfaceErrors,
} from './common.ts';

export const SCOPED_MAX_LIMIT = 250;
const DEFAULT_LIMIT = 50;
/** The only order the services keep an index for; `/filters` says so, and any other sort_by is a 422. */
export const SORTABLE_FIELDS = ['timestamp'] as const;
const LOGIN_PATH = '/api/login/access-token';

/** Logbook's names for parameters this surface calls otherwise (errors name the surface's). */
const PARAM_NAMES: Record<string, string> = { q: 'search', from: 'start', to: 'end', level: 'level' };

const ValidationItem = Type.Object({
  loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
  msg: Type.String(),
  type: Type.String(),
});
const ErrorBody = Type.Object(
  { detail: Type.Union([Type.String(), Type.Array(ValidationItem)]) },
  { description: 'FastAPI error body: a message, or (422) a list of validation errors.' },
);

/** "must be one of desc, asc" → "'desc' or 'asc'" (pydantic's literal wording). */
function literalChoices(message: string): string | null {
  const match = /one of (.+)$/.exec(message);
  if (!match) return null;
  const values = match[1]!.split(', ').map((v) => `'${v}'`);
  return values.length === 1
    ? values[0]!
    : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** A Logbook field issue as a pydantic v2 validation error (type and msg as FastAPI words them). */
function validationItem(issue: FieldIssue | undefined, code: string, fallbackPart: string) {
  const field = issue?.field ?? fallbackPart;
  const [part, ...rest] = field.split('/');
  const name = rest.join('.');
  const loc = [part ?? fallbackPart, ...(name ? [PARAM_NAMES[name] ?? name] : [])];
  const message = issue?.message ?? '';
  const bound = /([<>]=?)\s*(-?\d+)/.exec(message)?.[2];
  const item = (type: string, msg: string) => ({ loc, msg, type });
  if (code === 'INVALID_DATE') return item('datetime_parsing', 'Input should be a valid datetime');
  if (code === 'INVALID_CURSOR') return item('value_error', 'Value error, invalid cursor');
  switch (issue?.rule) {
    case 'required':
      return item('missing', 'Field required');
    case 'maximum':
      return item('less_than_equal', `Input should be less than or equal to ${bound}`);
    case 'minimum':
      return item('greater_than_equal', `Input should be greater than or equal to ${bound}`);
    case 'type':
      if (/integer|number/.test(message))
        return item('int_parsing', 'Input should be a valid integer, unable to parse string as an integer');
      if (/boolean/.test(message))
        return item('bool_parsing', 'Input should be a valid boolean, unable to interpret input');
      return item('string_type', 'Input should be a valid string');
    case 'enum': {
      const choices = literalChoices(message);
      return item('literal_error', choices ? `Input should be ${choices}` : 'Input should be a valid value');
    }
    case 'maxLength':
      return item('string_too_long', `String should have at most ${/\d+/.exec(message)?.[0]} characters`);
    case 'pattern':
      return item(
        'string_pattern_mismatch',
        `String should match pattern '${/"(.*)"/.exec(message)?.[1] ?? ''}'`,
      );
    case 'minLength':
      return item('string_too_short', `String should have at least ${/\d+/.exec(message)?.[0]} character`);
    default:
      return item('value_error', `Value error, ${message || 'invalid value'}`);
  }
}

function errorBody(facts: ErrorFacts): SurfaceError {
  const { error, request } = facts;
  const detail = (status: number, text: string): SurfaceError => ({ status, body: { detail: text } });
  // By path, not route: failures before routing (a malformed URL) come here too.
  const login = request.url.split('?')[0] === LOGIN_PATH;
  switch (error.code) {
    case 'UNAUTHENTICATED':
      if (login)
        return detail(
          401,
          /disabled/i.test(error.message) ? 'Inactive user' : 'Incorrect username or password',
        );
      return {
        status: 401,
        body: {
          detail: facts.credential === 'none' ? 'Not authenticated' : 'Could not validate credentials',
        },
        headers: { 'www-authenticate': 'Bearer' },
      };
    case 'FORBIDDEN':
      return detail(403, 'Not enough permissions');
    case 'NOT_FOUND':
    case 'ROUTE_NOT_FOUND':
      return detail(404, 'Not Found');
    case 'VALIDATION_FAILED':
    case 'INVALID_DATE':
    case 'INVALID_QUERY':
    case 'INVALID_CURSOR':
    case 'MALFORMED_JSON': {
      const fallback = facts.part ?? (request.method === 'POST' ? 'body' : 'query');
      const issues = error.issues && error.issues.length > 0 ? error.issues : [undefined];
      return { status: 422, body: { detail: issues.map((i) => validationItem(i, error.code, fallback)) } };
    }
    default:
      return detail(error.status, error.status >= 500 ? 'Internal Server Error' : error.message);
  }
}

export const scopedLogsSurface: CompatSurface = {
  prefixes: ['/api/logging', '/api/login'],
  tag: 'compat: scoped logs',
  description:
    'Seed 003 — scoped audit and system logs (`/api/logging/audit/`, `/api/logging/system/`) with cursor pages `{items, next_cursor, next_page, limit, collection_total}`, filter metadata, delete by id, and the OAuth2 password login `/api/login/access-token`; FastAPI errors `{detail}` (422 for validation).',
  errorSchema: ErrorBody,
  errorBody,
};

// --- items -------------------------------------------------------------------------------------------------------

const nullableText = Type.Union([Type.String(), Type.Null()]);
const Details = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]);

const AuditLogRead = Type.Object({
  id: Type.String(),
  timestamp: Type.String({ description: 'When it occurred (ISO 8601, UTC).' }),
  action: Type.String(),
  actor_id: nullableText,
  actor_type: nullableText,
  actor_name: nullableText,
  target_type: nullableText,
  target_id: nullableText,
  ip_address: nullableText,
  user_agent: nullableText,
  outcome: Type.String(),
  description: nullableText,
  details: Details,
});

/** An audit event as an AuditLogRead. */
export function auditLogItem(event: AuditEvent) {
  return {
    id: event.id,
    timestamp: event.occurredAt,
    action: event.action,
    actor_id: event.actor.id,
    actor_type: orNull(event.actor.type),
    actor_name: orNull(event.actor.name),
    target_type: orNull(event.target?.type),
    target_id: orNull(event.target?.id),
    ip_address: orNull(event.context?.ip),
    user_agent: orNull(event.context?.userAgent),
    outcome: event.outcome,
    description: orNull(event.description),
    details: orNull(event.details),
  };
}

const LogRead = Type.Object({
  id: Type.String(),
  timestamp: Type.String({ description: 'When it happened (ISO 8601, UTC).' }),
  level: Type.Enum(LOG_LEVELS),
  service: Type.String(),
  message: Type.String(),
  details: Details,
  trace_id: nullableText,
  span_id: nullableText,
  host: nullableText,
});

/** A system log entry as a LogRead. */
export function systemLogItem(entry: LogEntry) {
  return {
    id: entry.id,
    timestamp: entry.timestamp,
    level: entry.level,
    service: entry.service,
    message: entry.message,
    details: orNull(entry.details),
    trace_id: orNull(entry.traceId),
    span_id: orNull(entry.spanId),
    host: orNull(entry.host),
  };
}

const cursorPage = <T extends ReturnType<typeof Type.Object>>(item: T, name: string) =>
  Type.Object(
    {
      items: Type.Array(item),
      next_cursor: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass as `cursor`; null on the last page.',
      }),
      next_page: Type.Boolean(),
      limit: Type.Integer(),
      collection_total: Type.Integer({ description: 'Matching entries; 0 when include_total=false.' }),
    },
    { description: name },
  );

// --- queries -----------------------------------------------------------------------------------------------------

const PagingParams = {
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'next_cursor of the previous page.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SCOPED_MAX_LIMIT, default: DEFAULT_LIMIT })),
  sort_by: Type.Optional(Type.Enum(SORTABLE_FIELDS, { default: 'timestamp' })),
  sort_order: Type.Optional(Type.Enum(SORT_ORDERS, { default: 'desc' })),
  include_total: Type.Optional(Type.Boolean({ default: true })),
};
const TimeParams = {
  start: Type.Optional(Type.String({ description: 'timestamp ≥ this (ISO 8601).' })),
  end: Type.Optional(
    Type.String({ description: 'timestamp ≤ this (ISO 8601; a date covers the whole day).' }),
  ),
  search: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Keyword or phrase (case-insensitive).' }),
  ),
};
const AuditQuery = Type.Object({
  ...PagingParams,
  ...TimeParams,
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'Exact action; several comma-separated (in).',
    }),
  ),
  actor_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  target_type: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  target_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  outcome: Type.Optional(Type.Enum(EVENT_OUTCOMES)),
  ip_address: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
});
const SystemQuery = Type.Object({
  ...PagingParams,
  ...TimeParams,
  level: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'Level; several comma-separated (in).' }),
  ),
  service: Type.Optional(
    Type.String({ minLength: 1, maxLength: 4096, description: 'Service; several comma-separated (in).' }),
  ),
  trace_id: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$' })),
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });

/** start/end as Logbook's bounds (inclusive both ends), checked for order. */
function timeBounds(q: { start?: string; end?: string }): { from?: string; to?: string } {
  const from =
    q.start === undefined ? undefined : dateBound('query/start', q.start, 'start', { dateOnly: true });
  const to = q.end === undefined ? undefined : dateBound('query/end', q.end, 'end', { dateOnly: true });
  if (from !== undefined && to !== undefined && Date.parse(from) >= Date.parse(to)) {
    throw invalidParam('query/start', 'start must be on or before end', 'range');
  }
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

const pageParams = (q: { cursor?: string; limit?: number; sort_order?: 'asc' | 'desc' }) => ({
  limit: q.limit ?? DEFAULT_LIMIT,
  order: q.sort_order ?? 'desc',
  ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
});

const envelope = <T>(items: T[], nextCursor: string | null, limit: number, total: number | undefined) => ({
  items,
  next_cursor: nextCursor,
  next_page: nextCursor !== null,
  limit,
  collection_total: total ?? 0,
});

// --- filter metadata ---------------------------------------------------------------------------------------------

const FilterField = Type.Object({
  type: Type.String(),
  operators: Type.Array(Type.String()),
  params: Type.Record(Type.String(), Type.String(), { description: 'Operator → query parameter.' }),
  values: Type.Optional(Type.Array(Type.String())),
});
const FilterMetadata = Type.Object(
  {
    fields: Type.Record(Type.String(), FilterField),
    sort: Type.Object({
      fields: Type.Array(Type.String()),
      orders: Type.Array(Type.String()),
      default: Type.Object({ sort_by: Type.String(), sort_order: Type.String() }),
    }),
    pagination: Type.Object({ default_limit: Type.Integer(), max_limit: Type.Integer() }),
  },
  { additionalProperties: true, description: 'Filterable and sortable fields, operators, and known values.' },
);

const timestampField = {
  type: 'datetime',
  operators: ['gte', 'lte'],
  params: { gte: 'start', lte: 'end' },
};
const searchField = { type: 'text', operators: ['match'], params: { match: 'search' } };
const exact = (param: string, type = 'string') => ({ type, operators: ['eq'], params: { eq: param } });
const anyOf = (param: string, values?: string[]) => ({
  type: 'string',
  operators: ['eq', 'in'],
  params: { eq: param, in: `${param} (comma-separated)` },
  ...(values ? { values } : {}),
});
const sortMetadata = {
  fields: [...SORTABLE_FIELDS],
  orders: [...SORT_ORDERS],
  default: { sort_by: 'timestamp', sort_order: 'desc' },
};
const paginationMetadata = { default_limit: DEFAULT_LIMIT, max_limit: SCOPED_MAX_LIMIT };

/** Days of system-log rollups /filters reads for the services that exist (the stats window allows 2000 points). */
const SERVICE_WINDOW_DAYS = 1999;
const DAY_MS = 86_400_000;

/** OAuth2PasswordRequestForm's fields. */
const LoginForm = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: PASSWORD_LIMITS.maxLength }),
  grant_type: Type.Optional(Type.String({ pattern: '^password$' })),
  scope: Type.Optional(Type.String({ maxLength: 1024 })),
  client_id: Type.Optional(Type.String({ maxLength: 256 })),
  client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
});

// --- routes ------------------------------------------------------------------------------------------------------

export interface ScopedLogDeps {
  events: EventService;
  logs: LogService;
  users: UserService;
}

export const scopedLogRoutes: FastifyPluginAsyncTypebox<ScopedLogDeps> = async (
  app,
  { events, logs, users },
) => {
  useSurfaceErrors(app, scopedLogsSurface);
  const tags = [scopedLogsSurface.tag];
  // OAuth2's password flow posts a form; this parser exists only inside this surface's plugin.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, { ...parseForm(body as string) }),
  );

  // --- audit ---
  // Registered without the slash; the router (ignoreTrailingSlash) serves the documented `/api/logging/audit/` too.
  app.get(
    '/api/logging/audit',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'List Audit Logs (GET /api/logging/audit/ — with or without the trailing slash)',
        description:
          'Defaults: sort_by=timestamp, sort_order=desc, limit=50 (1–250). Filters combine with AND; see /api/logging/audit/filters.',
        querystring: AuditQuery,
        response: {
          200: cursorPage(AuditLogRead, 'AuditLogInDbCursorPage'),
          ...errorResponses(scopedLogsSurface, [401, 403, 422]),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const paging = pageParams(q);
      const page = await events.list(principalOf(request), {
        ...paging,
        ...timeBounds(q),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.actor_id !== undefined ? { actor: q.actor_id } : {}),
        ...(q.target_type !== undefined ? { targetType: q.target_type } : {}),
        ...(q.target_id !== undefined ? { targetId: q.target_id } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.ip_address !== undefined ? { ip: q.ip_address } : {}),
        ...(q.search !== undefined ? { q: phraseQuery(q.search) } : {}),
        includeTotal: q.include_total ?? true,
      });
      return envelope(page.data.map(auditLogItem), page.nextCursor, paging.limit, page.total);
    },
  );

  app.get(
    '/api/logging/audit/filters',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Get Audit Log Filter Metadata',
        response: { 200: FilterMetadata, ...errorResponses(scopedLogsSurface, [401, 403]) },
      },
    },
    async (request) => {
      // Actions that exist: the all-time rollups of the caller's tenant (no scan of events).
      const totals = await events.totals(principalOf(request), { top: 1 });
      return {
        fields: {
          timestamp: timestampField,
          action: anyOf('action', Object.keys(totals.byAction).sort()),
          actor_id: exact('actor_id'),
          target_type: exact('target_type'),
          target_id: exact('target_id'),
          outcome: { ...exact('outcome'), values: [...EVENT_OUTCOMES] },
          ip_address: exact('ip_address'),
          search: searchField,
        },
        sort: sortMetadata,
        pagination: paginationMetadata,
      };
    },
  );

  app.get(
    '/api/logging/audit/:id',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Get Audit Log by ID',
        params: IdParams,
        response: { 200: AuditLogRead, ...errorResponses(scopedLogsSurface, [401, 403, 404]) },
      },
    },
    async (request) => auditLogItem(await events.get(principalOf(request), request.params.id)),
  );

  app.delete(
    '/api/logging/audit/:id',
    {
      config: { scope: 'audit:write' },
      schema: {
        tags,
        summary: 'Delete Audit Log by ID',
        description:
          'Removes the entry’s payload; its leaf hash stays, so `logbook verify` still passes, and the deletion is itself recorded as an audit event (logbook.events.redact).',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(scopedLogsSurface, [401, 403, 404]) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { id } = request.params;
      // An unknown id answers 404 without writing a deletion record for nothing.
      await events.get(principal, id);
      const result = await events.redact(principal, {
        ids: [id],
        reason: `DELETE /api/logging/audit/${id}`,
        context: requestContext(request),
      });
      if (result.count === 0) throw new LogbookError('NOT_FOUND');
      return reply.status(204).send(null);
    },
  );

  // --- system ---
  // Registered without the slash; the router (ignoreTrailingSlash) serves the documented `/api/logging/system/` too.
  app.get(
    '/api/logging/system',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags,
        summary: 'List System Logs (GET /api/logging/system/ — with or without the trailing slash)',
        description:
          'Defaults: sort_by=timestamp, sort_order=desc, limit=50 (1–250). Filters combine with AND; see /api/logging/system/filters.',
        querystring: SystemQuery,
        response: {
          200: cursorPage(LogRead, 'SystemLogInDbCursorPage'),
          ...errorResponses(scopedLogsSurface, [401, 403, 422]),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const principal = principalOf(request);
      const paging = pageParams(q);
      const filters = {
        ...timeBounds(q),
        ...(q.level !== undefined ? { level: q.level } : {}),
        ...(q.service !== undefined ? { service: q.service } : {}),
        ...(q.trace_id !== undefined ? { traceId: q.trace_id } : {}),
        ...(q.search !== undefined ? { q: phraseQuery(q.search) } : {}),
      };
      const [page, total] = await Promise.all([
        logs.list(principal, { ...filters, ...paging }),
        (q.include_total ?? true) ? logs.count(principal, filters) : undefined,
      ]);
      return envelope(page.data.map(systemLogItem), page.nextCursor, paging.limit, total);
    },
  );

  app.get(
    '/api/logging/system/filters',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags,
        summary: 'Get System Log Filter Metadata',
        response: { 200: FilterMetadata, ...errorResponses(scopedLogsSurface, [401, 403]) },
      },
    },
    async (request) => {
      // Services that exist: the hourly rollups of the last SERVICE_WINDOW_DAYS days (no scan of entries).
      const now = Date.now();
      const stats = await logs.stats(principalOf(request), {
        from: new Date(now - SERVICE_WINDOW_DAYS * DAY_MS).toISOString(),
        to: new Date(now + DAY_MS).toISOString(),
        bucket: 'day',
        top: 1000,
      });
      return {
        fields: {
          timestamp: timestampField,
          level: anyOf('level', [...LOG_LEVELS]),
          service: anyOf('service', Object.keys(stats.byService).sort()),
          trace_id: exact('trace_id'),
          search: searchField,
        },
        sort: sortMetadata,
        pagination: paginationMetadata,
      };
    },
  );

  app.get(
    '/api/logging/system/:id',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags,
        summary: 'Get System Log by ID',
        params: IdParams,
        response: { 200: LogRead, ...errorResponses(scopedLogsSurface, [401, 403, 404]) },
      },
    },
    async (request) => systemLogItem(await logs.get(principalOf(request), request.params.id)),
  );

  app.delete(
    '/api/logging/system/:id',
    {
      config: { scope: 'logging:write' },
      schema: {
        tags,
        summary: 'Delete System Log by ID',
        description:
          'Deletes the entry (system logs are not in the Merkle log); the deletion is recorded as an audit event (logbook.logs.delete).',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(scopedLogsSurface, [401, 403, 404]) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await logs.delete(principalOf(request), id, {
        reason: `DELETE /api/logging/system/${id}`,
        context: requestContext(request),
      });
      return reply.status(204).send(null);
    },
  );

  // --- login ---
  app.post(
    LOGIN_PATH,
    {
      config: { scope: 'public' },
      schema: {
        tags,
        summary: 'Login for an access token (OAuth2 password flow)',
        description:
          'Form fields `username` and `password` of a Logbook user (`grant_type=password` and `scope` are accepted and ignored). The token is sent as `Authorization: Bearer <access_token>`.',
        security: [],
        consumes: ['application/x-www-form-urlencoded'],
        body: LoginForm,
        response: {
          200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('bearer') }),
          ...errorResponses(scopedLogsSurface, [401, 422, 429]),
        },
      },
      // FastAPI reports every missing form field at once; do the same before the schema's first-error check.
      preValidation: async (request) => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const issues: FieldIssue[] = ['username', 'password']
          .filter((f) => body[f] === undefined || body[f] === '')
          .map((f) => ({ field: `body/${f}`, rule: 'required', message: 'is required' }));
        if (issues.length > 0) throw new LogbookError('VALIDATION_FAILED', 'missing form fields', { issues });
        if (request.body === undefined) request.body = body as typeof request.body;
      },
    },
    async (request) => {
      const { username, password } = request.body;
      const login = await users.login(username, password, requestContext(request));
      return { access_token: login.token, token_type: 'bearer' as const };
    },
  );
};
