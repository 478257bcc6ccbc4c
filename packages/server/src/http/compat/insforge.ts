// Seed 000, InsForge activity logs: GET /api/logs (bare array + six pagination headers), DELETE /api/logs?before=
// and GET /api/logs/stats, in InsForge's shapes and error envelope. A thin adapter: it keeps no data, and its
// clear goes through EventService.redact (payloads go, leaf hashes stay, the deletion is itself an audit event).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditEvent } from '@logbook/protocol';
import Type from 'typebox';
import { MAX_TIME_MS } from '../../domain/time.ts';
import type { EventService } from '../../services/events.ts';
import { principalOf, requestContext } from '../plugins/auth.ts';
import {
  type CompatSurface,
  dateBound,
  type ErrorFacts,
  errorResponses,
  MAX_OFFSET,
  MAX_OFFSET_PAGE,
  offsetPage,
  orNull,
  type SurfaceError,
  useSurfaceErrors,
} from './common.ts';

/** Documented actions; the list accepts any action (InsForge itself wrote others), this is for OpenAPI. */
export const INSFORGE_ACTIONS = ['INSERT', 'UPDATE', 'DELETE', 'LOGIN'] as const;

/** The six pagination headers, exposed to browsers (InsForge's dashboard reads them cross-origin). */
export const INSFORGE_PAGE_HEADERS = [
  'X-Total-Count',
  'X-Page',
  'X-Page-Size',
  'X-Total-Pages',
  'X-Limit',
  'X-Offset',
] as const;

const PAGE_HEADER_TEXT: Record<(typeof INSFORGE_PAGE_HEADERS)[number], string> = {
  'X-Total-Count': 'Logs matching the filters.',
  'X-Page': 'floor(offset / limit) + 1.',
  'X-Page-Size': 'Equals limit.',
  'X-Total-Pages': 'ceil(total / limit).',
  'X-Limit': 'The limit used.',
  'X-Offset': 'The offset used.',
};

const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Error code, e.g. INVALID_DATE, AUTH_INVALID_CREDENTIALS.' }),
    message: Type.String(),
    statusCode: Type.Integer(),
    nextAction: Type.Optional(Type.String()),
  },
  { description: 'InsForge error envelope.' },
);

const AUTH_NEXT = 'Check the token is valid or login to get a new token.';

/** InsForge's bodies: the documented ones byte for byte, the rest in the same envelope. */
function errorBody(facts: ErrorFacts): SurfaceError {
  const { error } = facts;
  const body = (code: string, message: string, status: number, nextAction?: string): SurfaceError => ({
    status,
    body: { error: code, message, statusCode: status, ...(nextAction ? { nextAction } : {}) },
  });
  switch (error.code) {
    case 'UNAUTHENTICATED':
      if (facts.credential === 'none')
        return body('AUTH_INVALID_CREDENTIALS', 'No admin token provided', 401, AUTH_NEXT);
      if (facts.credential === 'bearer-jwt' || facts.credential === 'malformed')
        return body('AUTH_INVALID_CREDENTIALS', 'Invalid admin token', 401, AUTH_NEXT);
      return body('AUTH_INVALID_API_KEY', 'Invalid API key', 401, AUTH_NEXT);
    case 'FORBIDDEN':
      return body(
        'AUTH_UNAUTHORIZED',
        'Admin access required',
        403,
        'Check the admin token is valid or login as admin to get a new token.',
      );
    case 'INVALID_DATE':
      return body(
        'INVALID_DATE',
        `Invalid date format for '${facts.param ?? 'date'}' parameter`,
        400,
        'Use ISO 8601 date format (YYYY-MM-DDTHH:mm:ssZ)',
      );
    case 'VALIDATION_FAILED':
    case 'INVALID_QUERY':
    case 'INVALID_CURSOR':
    case 'MALFORMED_JSON':
      return body(
        'INVALID_INPUT',
        facts.param
          ? `Invalid value for '${facts.param}' parameter: ${error.issues?.[0]?.message ?? error.message}`
          : error.message,
        400,
        'Check the request parameters against the API documentation.',
      );
    case 'NOT_FOUND':
    case 'ROUTE_NOT_FOUND':
      return body('NOT_FOUND', error.message, 404);
    default:
      return body(error.status >= 500 ? 'INTERNAL_ERROR' : error.code, error.message, error.status);
  }
}

export const insforgeSurface: CompatSurface = {
  prefixes: ['/api/logs'],
  tag: 'compat: InsForge logs',
  description:
    'Seed 000 — InsForge activity logs (`/api/logs`): bare arrays with X-Total-Count/X-Page/X-Page-Size/X-Total-Pages/X-Limit/X-Offset headers, InsForge error envelope.',
  errorSchema: ErrorBody,
  errorBody,
};

const LogItem = Type.Object({
  id: Type.String(),
  timestamp: Type.String({ description: 'When the action occurred (ISO 8601).' }),
  action: Type.String(),
  table: Type.Union([Type.String(), Type.Null()], { description: 'Target type; null for LOGIN.' }),
  record_id: Type.Union([Type.String(), Type.Null()], { description: 'Target id; null for LOGIN.' }),
  user_id: Type.String(),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  table_name: Type.Union([Type.String(), Type.Null()], {
    description: 'Alias of table (the real server’s name).',
  }),
  created_at: Type.String({ description: 'Alias of timestamp (the real server’s name).' }),
});

/** An audit event as an InsForge log item (documented fields plus the real server's aliases). */
export function insforgeItem(event: AuditEvent) {
  const login = event.action === 'LOGIN';
  const table = login ? null : orNull(event.target?.type);
  return {
    id: event.id,
    timestamp: event.occurredAt,
    action: event.action,
    table,
    record_id: login ? null : orNull(event.target?.id),
    user_id: event.actor.id,
    details: orNull(event.details),
    table_name: table,
    created_at: event.occurredAt,
  };
}

const ListQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_OFFSET_PAGE, default: 100, description: 'Logs per page.' }),
  ),
  offset: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0, description: 'Logs to skip.' }),
  ),
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[^,*]+$',
      description: `Exact action, e.g. ${INSFORGE_ACTIONS.join(', ')}.`,
    }),
  ),
  table: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Exact table name.' })),
  start_date: Type.Optional(Type.String({ description: 'ISO 8601; logs at or after it.' })),
  end_date: Type.Optional(
    Type.String({ description: 'ISO 8601; logs up to it (a date covers the whole day).' }),
  ),
});

const ClearQuery = Type.Object({
  before: Type.Optional(
    Type.String({ description: 'Delete logs before this ISO 8601 timestamp; absent = all logs.' }),
  ),
});

const Stats = Type.Object({
  actionStats: Type.Array(Type.Object({ action: Type.String(), count: Type.Integer() })),
  tableStats: Type.Array(Type.Object({ table_name: Type.String(), count: Type.Integer() })),
  recentActivity: Type.Integer({ description: 'Logs of the last 24 hours.' }),
  totalLogs: Type.Integer(),
});

export const insforgeRoutes: FastifyPluginAsyncTypebox<{ events: EventService }> = async (
  app,
  { events },
) => {
  useSurfaceErrors(app, insforgeSurface);
  const tags = [insforgeSurface.tag];

  app.get(
    '/api/logs',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'List activity logs, newest first, with pagination headers',
        querystring: ListQuery,
        response: {
          200: Type.Array(LogItem, {
            description: 'Logs, newest first; pagination in the headers.',
            headers: Object.fromEntries(
              INSFORGE_PAGE_HEADERS.map((name) => [
                name,
                { type: 'integer', description: PAGE_HEADER_TEXT[name] },
              ]),
            ),
          }),
          ...errorResponses(insforgeSurface, [400, 401, 403]),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const limit = q.limit ?? 100;
      const offset = q.offset ?? 0;
      const { items, total } = await offsetPage(
        events,
        principalOf(request),
        {
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.table !== undefined ? { targetType: q.table } : {}),
          ...(q.start_date !== undefined
            ? { from: dateBound('query/start_date', q.start_date, 'start', { dateOnly: true }) }
            : {}),
          ...(q.end_date !== undefined
            ? { to: dateBound('query/end_date', q.end_date, 'end', { dateOnly: true }) }
            : {}),
        },
        offset,
        limit,
      );
      reply.headers({
        'X-Total-Count': String(total),
        'X-Page': String(Math.floor(offset / limit) + 1),
        'X-Page-Size': String(limit),
        'X-Total-Pages': String(Math.ceil(total / limit)),
        'X-Limit': String(limit),
        'X-Offset': String(offset),
      });
      // Keep what the CORS plugin already exposes (x-request-id, …) and add the six.
      const exposed = reply.getHeader('access-control-expose-headers');
      reply.header(
        'Access-Control-Expose-Headers',
        [...(typeof exposed === 'string' && exposed ? [exposed] : []), ...INSFORGE_PAGE_HEADERS].join(', '),
      );
      return items.map(insforgeItem);
    },
  );

  app.delete(
    '/api/logs',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Clear logs (all, or those before a timestamp)',
        description:
          'Removes the payloads of the matching events (their leaf hashes stay, so `logbook verify` still passes) and records the deletion as an audit event.',
        querystring: ClearQuery,
        response: {
          200: Type.Object({
            message: Type.String(),
            deleted_count: Type.Integer(),
            deleted: Type.Integer(),
          }),
          ...errorResponses(insforgeSurface, [400, 401, 403]),
        },
      },
    },
    async (request) => {
      const { before } = request.query;
      const beforeMs =
        before === undefined
          ? MAX_TIME_MS
          : Date.parse(dateBound('query/before', before, 'start', { dateOnly: true }));
      const result = await events.redact(principalOf(request), {
        beforeMs,
        reason: before === undefined ? 'DELETE /api/logs (all logs)' : `DELETE /api/logs?before=${before}`,
        context: requestContext(request),
      });
      return { message: 'Logs cleared successfully', deleted_count: result.count, deleted: result.count };
    },
  );

  app.get(
    '/api/logs/stats',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Counts by action, the ten busiest tables, the last 24 hours and the total',
        response: { 200: Stats, ...errorResponses(insforgeSurface, [401, 403]) },
      },
    },
    async (request) => {
      const totals = await events.totals(principalOf(request));
      return {
        actionStats: Object.entries(totals.byAction).map(([action, count]) => ({ action, count })),
        tableStats: Object.entries(totals.byTargetType)
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .slice(0, 10)
          .map(([table_name, count]) => ({ table_name, count })),
        recentActivity: totals.last24h,
        totalLogs: totals.total,
      };
    },
  );
};
