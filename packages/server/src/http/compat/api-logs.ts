// Seed 002, API logs: GET /logs over Logbook's system log entries, in the seed's `{status, data:{logs, pagination}}`
// shape and `{status:"error", message}` errors. A thin adapter: it keeps no data and only reads through LogService.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LOG_LEVELS, type LogEntry, type LogListQuery } from '@logbook/protocol';
import Type from 'typebox';
import type { LogService } from '../../services/logs.ts';
import { principalOf } from '../plugins/auth.ts';
import {
  type CompatSurface,
  dateBound,
  type ErrorFacts,
  errorResponses,
  invalidParam,
  offsetPageOf,
  type SurfaceError,
  useSurfaceErrors,
} from './common.ts';

/** Inferred bounds of `limit` (the seed names "out-of-range limit" as a 400 cause). */
export const API_LOGS_MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 50;

/** Logbook's names for the parameters this surface calls otherwise (errors use the surface's names). */
const PARAM_NAMES: Record<string, string> = { q: 'search', from: 'startDate', to: 'endDate' };

const ErrorBody = Type.Object(
  { status: Type.Literal('error'), message: Type.String() },
  { description: 'API-logs error envelope.' },
);

const DATE_HINT = 'Please use ISO 8601 format (YYYY-MM-DDTHH:MM:SSZ).';

/** The seed's bodies byte for byte (400 date, 401, 403); the inferred ones in the same words. */
function errorBody(facts: ErrorFacts): SurfaceError {
  const { error } = facts;
  const plain = (status: number, message: string): SurfaceError => ({
    status,
    body: { status: 'error', message },
  });
  const param = facts.param === null ? null : (PARAM_NAMES[facts.param] ?? facts.param);
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return plain(401, 'Authentication required. Please provide a valid API key or token.');
    case 'FORBIDDEN':
      return plain(403, 'You do not have permission to access API logs.');
    case 'INVALID_DATE':
      return plain(400, `Invalid date format for '${param ?? 'startDate'}'. ${DATE_HINT}`);
    case 'VALIDATION_FAILED':
    case 'INVALID_QUERY':
    case 'INVALID_CURSOR':
    case 'MALFORMED_JSON': {
      if (param === 'limit')
        return plain(
          400,
          `Invalid value for 'limit'. Must be an integer between 1 and ${API_LOGS_MAX_LIMIT}.`,
        );
      if (param === 'offset')
        return plain(400, "Invalid value for 'offset'. Must be an integer greater than or equal to 0.");
      if (param === 'level')
        return plain(400, `Invalid value for 'level'. Allowed: ${LOG_LEVELS.join(', ')}.`);
      const issue = error.issues?.[0]?.message ?? error.message;
      return plain(400, param ? `Invalid value for '${param}'. ${capitalise(issue)}.` : error.message);
    }
    case 'NOT_FOUND':
    case 'ROUTE_NOT_FOUND':
      return plain(404, 'Not found.');
    default:
      return plain(
        error.status,
        error.status >= 500 ? 'Internal server error. Please try again later.' : error.message,
      );
  }
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1).replace(/\.$/, '');

export const apiLogsSurface: CompatSurface = {
  prefixes: ['/logs'],
  tag: 'compat: API logs',
  description:
    'Seed 002 — API logs (`GET /logs`): system log entries in `{status, data:{logs, pagination}}` with limit/offset pages, newest first; errors `{status:"error", message}`.',
  errorSchema: ErrorBody,
  errorBody,
};

const LogItem = Type.Object({
  timestamp: Type.String({ description: 'When the event occurred (ISO 8601, UTC).' }),
  level: Type.Enum(LOG_LEVELS),
  service: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  id: Type.String({ description: 'Logbook entry id (additive; not in the original document).' }),
});

/** A system log entry as an API-log entry: the documented fields (details only when present) plus the id. */
export function apiLogItem(entry: LogEntry) {
  return {
    timestamp: entry.timestamp,
    level: entry.level,
    service: entry.service,
    message: entry.message,
    ...(entry.details !== undefined ? { details: entry.details } : {}),
    id: entry.id,
  };
}

const Query = Type.Object({
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: API_LOGS_MAX_LIMIT,
      default: DEFAULT_LIMIT,
      description: 'Entries to return.',
    }),
  ),
  offset: Type.Optional(
    // The maximum also keeps 1e309 (which JSON Schema's integer check lets through as Infinity) out.
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      default: 0,
      description: 'Entries to skip.',
    }),
  ),
  startDate: Type.Optional(
    Type.String({ description: 'On or after this ISO 8601 timestamp, e.g. 2023-10-27T10:00:00Z.' }),
  ),
  endDate: Type.Optional(
    Type.String({ description: 'On or before this ISO 8601 timestamp (a date covers the whole day).' }),
  ),
  level: Type.Optional(Type.Enum(LOG_LEVELS, { description: 'Exact severity (upper case).' })),
  service: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'Exact source service, e.g. user-service.' }),
  ),
  search: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Keyword or phrase in the message, case-insensitive: whole words, the last one also as a prefix (details are searched too).',
    }),
  ),
});

type Params = {
  startDate?: string;
  endDate?: string;
  level?: string;
  service?: string;
  search?: string;
};

/** The seed's filters as a LogService list query. */
function logQuery(q: Params): LogListQuery {
  const from =
    q.startDate === undefined
      ? undefined
      : dateBound('query/startDate', q.startDate, 'start', { dateOnly: true });
  const to =
    q.endDate === undefined ? undefined : dateBound('query/endDate', q.endDate, 'end', { dateOnly: true });
  if (from !== undefined && to !== undefined && Date.parse(from) >= Date.parse(to)) {
    throw invalidParam('query/startDate', "must be on or before 'endDate'", 'range');
  }
  if (q.service?.includes(',')) {
    // Logbook's `service` is a comma-separated list; the seed's is one name.
    throw invalidParam('query/service', 'must be one service name (no commas)', 'pattern');
  }
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(q.level !== undefined ? { level: q.level } : {}),
    ...(q.service !== undefined ? { service: q.service } : {}),
    ...(q.search !== undefined ? { q: phraseQuery(q.search) } : {}),
  };
}

/** A keyword or phrase as one full-text phrase whose last word may be a prefix (`"failed to authent"*`). */
export function phraseQuery(search: string): string {
  const words = search.replace(/["*]/g, ' ').trim();
  return words.length === 0 ? search : `"${words}"*`;
}

export const apiLogRoutes: FastifyPluginAsyncTypebox<{ logs: LogService }> = async (app, { logs }) => {
  useSurfaceErrors(app, apiLogsSurface);

  app.get(
    '/logs',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags: [apiLogsSurface.tag],
        summary: 'List API/system log entries, newest first, with limit/offset pagination',
        description:
          'Filters combine with AND. `nextOffset` is null on the last page; `total` counts every entry matching the filters.',
        querystring: Query,
        response: {
          200: Type.Object({
            status: Type.Literal('success'),
            data: Type.Object({
              logs: Type.Array(LogItem),
              pagination: Type.Object({
                total: Type.Integer(),
                limit: Type.Integer(),
                offset: Type.Integer(),
                nextOffset: Type.Union([Type.Integer(), Type.Null()]),
              }),
            }),
          }),
          ...errorResponses(apiLogsSurface, [400, 401, 403]),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? DEFAULT_LIMIT;
      const offset = q.offset ?? 0;
      const principal = principalOf(request);
      const query = logQuery(q);
      const { items, total } = await offsetPageOf<LogEntry>(
        async (pageLimit, cursor, first) => {
          const [page, total] = await Promise.all([
            logs.list(principal, { ...query, limit: pageLimit, ...(cursor !== undefined ? { cursor } : {}) }),
            first ? logs.count(principal, query) : undefined,
          ]);
          return { ...page, ...(total !== undefined ? { total } : {}) };
        },
        offset,
        limit,
      );
      return {
        status: 'success' as const,
        data: {
          logs: items.map(apiLogItem),
          pagination: { total, limit, offset, nextOffset: offset + limit < total ? offset + limit : null },
        },
      };
    },
  );
};
