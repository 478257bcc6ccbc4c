// Seed 004, activity-log search: GET /api/v1/activity-logs (+ /{id}, /user/{userId}, /target/{type}/{id},
// /action/{action}), POST /cleanup, GET|PUT /retention and GET /export, in `{success, data, meta}` shapes. A thin
// adapter: it keeps no data; cleanup and retention use the retention service (deletion = redaction).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditEvent } from '@logbook/protocol';
import Type from 'typebox';
import type { EventService } from '../../services/events.ts';
import { MAX_RETENTION_DAYS, type RetentionPolicy, type RetentionService } from '../../services/retention.ts';
import { SELF_AUDIT_ACTIONS, type SelfAudit } from '../../services/self-audit.ts';
import {
  type EventFilterQuery,
  EXPORT_FORMATS,
  type ExportColumn,
  eventPages,
  sendExport,
} from '../export.ts';
import { principalOf, requestContext } from '../plugins/auth.ts';
import {
  type CompatSurface,
  dateBound,
  type ErrorFacts,
  errorResponses,
  invalidParam,
  MAX_OFFSET,
  offsetPage,
  orNull,
  type SurfaceError,
  useSurfaceErrors,
} from './common.ts';

/** Where a parameter was, in the original's Spanish error messages. */
const PART_WORDS: Record<string, string> = {
  query: 'Error en los filtros de búsqueda',
  body: 'Error en el cuerpo de la solicitud',
  path: 'Error en los parámetros de la ruta',
};
/** Logbook's names for parameters this surface calls otherwise. */
const PARAM_NAMES: Record<string, string> = { q: 'search' };

const ErrorBody = Type.Object(
  {
    success: Type.Literal(false),
    message: Type.String(),
    meta: Type.Optional(
      Type.Object({
        context: Type.Optional(
          Type.Object({
            method: Type.String(),
            path: Type.String(),
            source: Type.String(),
            requestId: Type.String(),
          }),
        ),
        details: Type.Optional(
          Type.Array(Type.Object({ field: Type.String(), code: Type.String(), issue: Type.String() })),
        ),
      }),
    ),
  },
  { description: 'Activity-log error envelope.' },
);

function errorBody(facts: ErrorFacts): SurfaceError {
  const { error, request } = facts;
  const plain = (status: number, message: string): SurfaceError => ({
    status,
    body: { success: false, message },
  });
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return plain(401, facts.credential === 'none' ? 'Unauthorized' : 'Invalid token');
    case 'FORBIDDEN':
      return plain(403, 'No tienes permisos para acceder a este recurso');
    case 'NOT_FOUND':
      return plain(404, 'Registro de auditoría no encontrado');
    case 'ROUTE_NOT_FOUND':
      return plain(404, 'Ruta no encontrada');
    case 'VALIDATION_FAILED':
    case 'INVALID_DATE':
    case 'INVALID_QUERY':
    case 'INVALID_CURSOR':
    case 'MALFORMED_JSON': {
      const part = facts.part ?? (error.code === 'MALFORMED_JSON' ? 'body' : 'query');
      const field = facts.param === null ? part : (PARAM_NAMES[facts.param] ?? facts.param);
      const issue = error.issues?.[0];
      const text = issue ? issue.message : error.message;
      return {
        status: 400,
        body: {
          success: false,
          message: `${PART_WORDS[part] ?? 'Error en la solicitud'} (${field}): ${text}`,
          meta: {
            context: { method: request.method, path: request.url, source: part, requestId: request.id },
            details: [{ field, code: issue?.rule ?? error.code.toLowerCase(), issue: text }],
          },
        },
      };
    }
    default:
      return plain(error.status, error.status >= 500 ? 'Error interno del servidor' : error.message);
  }
}

export const activityLogsSurface: CompatSurface = {
  prefixes: ['/api/v1/activity-logs'],
  tag: 'compat: activity logs',
  description:
    'Seed 004 — activity-log search (`/api/v1/activity-logs`): `{success, data, meta}` pages, entity history, cleanup, retention setting and export; errors `{success:false, message, meta?}`.',
  errorSchema: ErrorBody,
  errorBody,
};

const nullableText = Type.Union([Type.String(), Type.Null()]);
const Item = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  action: Type.String(),
  targetType: nullableText,
  targetId: nullableText,
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  createdAt: Type.String({ description: 'When it occurred (ISO 8601).' }),
  ipAddress: nullableText,
  userAgent: nullableText,
  layer: nullableText,
  requestId: nullableText,
  user: Type.Object({ id: Type.String(), name: nullableText }),
});
const Meta = Type.Object({
  total: Type.Integer(),
  totalItems: Type.Integer({ description: 'Same as total (the documented name).' }),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  totalPages: Type.Integer(),
  hasNextPage: Type.Boolean(),
  hasPrevPage: Type.Boolean(),
});
const Page = Type.Object({ success: Type.Literal(true), data: Type.Array(Item), meta: Meta });

/** An audit event as an activity log. */
export function activityItem(event: AuditEvent) {
  const layer = event.details?.layer;
  return {
    id: event.id,
    userId: event.actor.id,
    action: event.action,
    targetType: orNull(event.target?.type),
    targetId: orNull(event.target?.id),
    details: orNull(event.details),
    createdAt: event.occurredAt,
    ipAddress: orNull(event.context?.ip),
    userAgent: orNull(event.context?.userAgent),
    layer: typeof layer === 'string' ? layer : null,
    requestId: orNull(event.context?.requestId),
    user: { id: event.actor.id, name: orNull(event.actor.name) },
  };
}

const EXPORT_COLUMNS: ExportColumn<AuditEvent>[] = [
  { name: 'id', value: (e) => e.id },
  { name: 'createdAt', value: (e) => e.occurredAt },
  { name: 'userId', value: (e) => e.actor.id },
  { name: 'userName', value: (e) => e.actor.name },
  { name: 'action', value: (e) => e.action },
  { name: 'targetType', value: (e) => e.target?.type },
  { name: 'targetId', value: (e) => e.target?.id },
  { name: 'ipAddress', value: (e) => e.context?.ip },
  { name: 'userAgent', value: (e) => e.context?.userAgent },
  { name: 'requestId', value: (e) => e.context?.requestId },
  { name: 'layer', value: (e) => activityItem(e).layer },
  { name: 'details', value: (e) => e.details },
];

const ACTION_PATTERN = '^[A-Za-z0-9_.:-]+$';
/** The seed's USER_LOGIN and the original's LOGIN name one thing: either finds both. */
const ACTION_ALIASES: Record<string, string> = { USER_LOGIN: 'LOGIN', LOGIN: 'USER_LOGIN' };
const actionFilter = (action: string) =>
  ACTION_ALIASES[action] ? `${action},${ACTION_ALIASES[action]}` : action;

const Paging = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_OFFSET / 100, default: 1 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
};
const Filters = {
  userId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: ACTION_PATTERN })),
  targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  startDate: Type.Optional(Type.String({ description: 'ISO 8601 in UTC with Z; inclusive.' })),
  endDate: Type.Optional(Type.String({ description: 'ISO 8601 in UTC with Z; inclusive.' })),
  search: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Words (each a prefix) matched in action, user, target, description and details.',
    }),
  ),
};
type FilterParams = { [K in keyof typeof Filters]?: string };

/** The list's filters as Logbook's event filters. */
function eventFilters(q: FilterParams): EventFilterQuery {
  const from =
    q.startDate === undefined
      ? undefined
      : dateBound('query/startDate', q.startDate, 'start', { requireZ: true });
  const to =
    q.endDate === undefined ? undefined : dateBound('query/endDate', q.endDate, 'end', { requireZ: true });
  if (from !== undefined && to !== undefined && Date.parse(from) >= Date.parse(to)) {
    throw invalidParam(
      'query/startDate',
      'La fecha de inicio no puede ser mayor que la fecha de fin',
      'range',
    );
  }
  // "Contains" in the original; here each word matches as a prefix of an indexed word.
  const words = q.search?.replace(/["*]/g, ' ').split(/\s+/).filter(Boolean) ?? [];
  if (q.search !== undefined && words.length === 0) {
    throw invalidParam('query/search', 'debe contener al menos una palabra', 'words');
  }
  return {
    ...(q.userId !== undefined ? { actor: q.userId } : {}),
    ...(q.action !== undefined ? { action: actionFilter(q.action) } : {}),
    ...(q.targetType !== undefined ? { targetType: q.targetType } : {}),
    ...(q.targetId !== undefined ? { targetId: q.targetId } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(words.length > 0 ? { q: words.map((w) => `${w}*`).join(' ') } : {}),
  };
}

const retentionData = (policy: RetentionPolicy) => ({
  days: policy.days,
  tenant: policy.tenant,
  stream: policy.stream,
  source: policy.source,
  updatedAt: policy.updatedAt,
  updatedBy: policy.updatedBy,
});
const RetentionData = Type.Object({
  days: Type.Integer({ description: 'Days logs are kept; 0 = forever.' }),
  tenant: Type.String(),
  stream: Type.String(),
  source: Type.Enum(['policy', 'default'], { description: '`default`: LOGBOOK_RETENTION_DAYS applies.' }),
  updatedAt: nullableText,
  updatedBy: nullableText,
});

export interface ActivityLogDeps {
  events: EventService;
  retention: RetentionService;
  audit: SelfAudit;
}

export const activityLogRoutes: FastifyPluginAsyncTypebox<ActivityLogDeps> = async (
  app,
  { events, retention, audit },
) => {
  useSurfaceErrors(app, activityLogsSurface);
  const tags = [activityLogsSurface.tag];
  const readErrors = errorResponses(activityLogsSurface, [400, 401, 403]);

  /** One page in the surface's envelope. */
  const page = async (
    request: Parameters<typeof principalOf>[0],
    filters: EventFilterQuery,
    q: { page?: number; pageSize?: number },
  ) => {
    const pageNo = q.page ?? 1;
    const pageSize = q.pageSize ?? 10;
    const { items, total } = await offsetPage(
      events,
      principalOf(request),
      filters,
      (pageNo - 1) * pageSize,
      pageSize,
    );
    const totalPages = Math.ceil(total / pageSize);
    return {
      success: true as const,
      data: items.map(activityItem),
      meta: {
        total,
        totalItems: total,
        page: pageNo,
        pageSize,
        totalPages,
        hasNextPage: pageNo < totalPages,
        hasPrevPage: pageNo > 1,
      },
    };
  };

  app.get(
    '/api/v1/activity-logs',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Search activity logs (filters combine with AND), newest first',
        querystring: Type.Object({ ...Paging, ...Filters }),
        response: { 200: Page, ...readErrors },
      },
    },
    async (request) => page(request, eventFilters(request.query), request.query),
  );

  app.get(
    '/api/v1/activity-logs/export',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary:
          'Export the logs the list filters match, streamed as CSV or NDJSON (for archival before cleanup)',
        querystring: Type.Object({
          format: Type.Optional(Type.Enum(EXPORT_FORMATS, { default: 'ndjson' })),
          ...Filters,
        }),
        produces: ['application/x-ndjson', 'text/csv'],
        response: {
          200: Type.String({ description: 'NDJSON: one log per line; CSV: a header row, then one per log.' }),
          ...readErrors,
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const format = request.query.format ?? 'ndjson';
      const filters = eventFilters(request.query);
      const pages = await eventPages(events, principal, filters);
      // HEAD answers headers only: nothing is exported, so nothing is recorded.
      if (request.method !== 'HEAD') {
        await audit.record({
          actor: principal,
          action: SELF_AUDIT_ACTIONS.eventsExport,
          description: `${principal.name} exported activity logs as ${format}`,
          details: { format, filters: { ...filters }, via: 'GET /api/v1/activity-logs/export' },
          context: requestContext(request),
        });
      }
      return sendExport(reply, {
        format,
        basename: `activity-logs-${new Date().toISOString().slice(0, 10)}`,
        pages,
        columns: EXPORT_COLUMNS,
        ndjsonLine: (row) => JSON.stringify(activityItem(row)),
      });
    },
  );

  app.get(
    '/api/v1/activity-logs/retention',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'How many days logs are kept before the retention job removes them',
        response: {
          200: Type.Object({ success: Type.Literal(true), data: RetentionData }),
          ...errorResponses(activityLogsSurface, [401, 403]),
        },
      },
    },
    async (request) => ({
      success: true as const,
      data: retentionData(await retention.get(principalOf(request), { stream: 'events' })),
    }),
  );

  app.put(
    '/api/v1/activity-logs/retention',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Set how many days logs are kept (0 = forever); enforced by the scheduled retention job',
        body: Type.Object(
          { days: Type.Integer({ minimum: 0, maximum: MAX_RETENTION_DAYS }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ success: Type.Literal(true), data: RetentionData }),
          ...errorResponses(activityLogsSurface, [400, 401, 403, 415]),
        },
      },
    },
    async (request) => ({
      success: true as const,
      data: retentionData(
        await retention.set(principalOf(request), {
          stream: 'events',
          days: request.body.days,
          context: requestContext(request),
        }),
      ),
    }),
  );

  app.post(
    '/api/v1/activity-logs/cleanup',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary:
          'Delete logs older than N days now (daysToKeep wins over days; default: the retention setting)',
        description:
          'Removes the payloads of the matching events (leaf hashes stay, so `logbook verify` still passes) and records the deletion as an audit event. The body may be empty.',
        body: Type.Object({
          days: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS })),
          daysToKeep: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS })),
        }),
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            data: Type.Object({ message: Type.String(), deletedCount: Type.Integer() }),
          }),
          ...errorResponses(activityLogsSurface, [400, 401, 403, 415]),
        },
      },
      // The original accepts an empty body, also one sent as `Content-Type: application/json` with no bytes.
      onRequest: async (request) => {
        const length = request.headers['content-length'];
        const bodiless =
          length === '0' || (length === undefined && request.headers['transfer-encoding'] === undefined);
        if (bodiless) delete request.headers['content-type'];
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const principal = principalOf(request);
      let days = request.body.daysToKeep ?? request.body.days;
      if (days === undefined) {
        const policy = await retention.get(principal, { stream: 'events' });
        if (policy.days === 0) {
          return {
            success: true as const,
            data: { message: 'La retención es indefinida: no se eliminaron registros', deletedCount: 0 },
          };
        }
        days = policy.days;
      }
      const result = await retention.purgeOlderThan(principal, {
        days,
        reason: `POST /api/v1/activity-logs/cleanup (older than ${days} days)`,
        context: requestContext(request),
      });
      return {
        success: true as const,
        data: {
          message: `Se eliminaron ${result.deleted} registros de auditoría`,
          deletedCount: result.deleted,
        },
      };
    },
  );

  const subQuery = Type.Object(Paging);

  app.get(
    '/api/v1/activity-logs/user/:userId',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: "A user's audit trail, newest first",
        params: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }) }),
        querystring: subQuery,
        response: { 200: Page, ...readErrors },
      },
    },
    async (request) => page(request, { actor: request.params.userId }, request.query),
  );

  app.get(
    '/api/v1/activity-logs/target/:targetType/:targetId',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: "An entity's history, newest first",
        params: Type.Object({
          targetType: Type.String({ minLength: 1, maxLength: 128 }),
          targetId: Type.String({ minLength: 1, maxLength: 256 }),
        }),
        querystring: subQuery,
        response: { 200: Page, ...readErrors },
      },
    },
    async (request) =>
      page(
        request,
        { targetType: request.params.targetType, targetId: request.params.targetId },
        request.query,
      ),
  );

  app.get(
    '/api/v1/activity-logs/action/:action',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Logs of one action, newest first',
        params: Type.Object({
          action: Type.String({ minLength: 1, maxLength: 128, pattern: ACTION_PATTERN }),
        }),
        querystring: subQuery,
        response: { 200: Page, ...readErrors },
      },
    },
    async (request) => page(request, { action: actionFilter(request.params.action) }, request.query),
  );

  app.get(
    '/api/v1/activity-logs/:id',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'One activity log',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: {
          200: Type.Object({ success: Type.Literal(true), data: Item }),
          ...errorResponses(activityLogsSurface, [401, 403, 404]),
        },
      },
    },
    async (request) => ({
      success: true as const,
      data: activityItem(await events.get(principalOf(request), request.params.id)),
    }),
  );
};
