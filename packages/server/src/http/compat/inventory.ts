// Seed 001, inventory audit logs: GET|POST /api/v1/audit/logs, GET /api/v1/audit/logs/{id}, GET /api/v1/audit/summary,
// in the inventory app's `{status, ...}` shapes. A thin adapter: POST appends a Logbook event (user → actor,
// table_name/record_id → target, old/new values → changes); it keeps no data of its own.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type AuditEvent, type EventInput, LogbookError } from '@logbook/protocol';
import Type from 'typebox';
import type { EventService } from '../../services/events.ts';
import { principalOf } from '../plugins/auth.ts';
import {
  type CompatSurface,
  dateBound,
  type ErrorFacts,
  errorResponses,
  invalidParam,
  MAX_OFFSET,
  MAX_OFFSET_PAGE,
  offsetPage,
  orNull,
  type SurfaceError,
  useSurfaceErrors,
} from './common.ts';

/** The documented action types; POST accepts only these. */
export const INVENTORY_ACTIONS = ['CREATE', 'UPDATE', 'DELETE', 'READ'] as const;
/** Fields POST requires (a missing one is the documented "Missing required fields"). */
const REQUIRED = ['user_id', 'action', 'table_name', 'record_id'] as const;

const ErrorBody = Type.Object(
  {
    status: Type.Literal('error'),
    code: Type.Integer({ description: 'The HTTP status, repeated.' }),
    error: Type.String(),
    message: Type.String(),
  },
  { description: 'Inventory error envelope.' },
);

function errorBody(facts: ErrorFacts): SurfaceError {
  const { error } = facts;
  const body = (status: number, title: string, message: string): SurfaceError => ({
    status,
    body: { status: 'error', code: status, error: title, message },
  });
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return body(
        401,
        'Unauthorized',
        'Se requiere autenticación. Proporcione el header Authorization: Bearer <token> o X-API-Key.',
      );
    case 'FORBIDDEN':
      return body(403, 'Forbidden', 'La credencial no tiene permiso para acceder a este recurso.');
    case 'INVALID_DATE':
      return body(
        400,
        'Invalid date format',
        `${facts.param ?? 'date'} must be YYYY-MM-DD (or an ISO 8601 date-time)`,
      );
    case 'NOT_FOUND':
      return body(404, 'Audit log not found', error.message);
    case 'MALFORMED_JSON':
      return body(400, 'Invalid JSON', error.message);
    case 'VALIDATION_FAILED':
    case 'INVALID_QUERY':
    case 'INVALID_CURSOR': {
      const issue = error.issues?.[0];
      if (facts.part === 'body' && issue?.rule === 'required') {
        return body(
          400,
          'Missing required fields',
          `Required: ${REQUIRED.join(', ')} (missing ${facts.param})`,
        );
      }
      if (facts.param === 'action' && facts.part === 'body') {
        return body(400, 'Invalid action', `action must be one of ${INVENTORY_ACTIONS.join(', ')}`);
      }
      return body(
        400,
        'Invalid request',
        facts.param && issue ? `${facts.param}: ${issue.message}` : error.message,
      );
    }
    case 'ROUTE_NOT_FOUND':
      return body(404, 'Not found', error.message);
    default:
      return body(error.status, error.status >= 500 ? 'Internal server error' : error.code, error.message);
  }
}

export const inventorySurface: CompatSurface = {
  prefixes: ['/api/v1/audit'],
  tag: 'compat: inventory audit logs',
  description:
    'Seed 001 — inventory audit logs (`/api/v1/audit`): `{status, count, logs}` lists with skip/limit, POST to record, a summary; errors `{status:"error", code, error, message}`.',
  errorSchema: ErrorBody,
  errorBody,
};

const Values = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]);
const nullableText = Type.Union([Type.String(), Type.Null()]);

const LogItem = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  user_name: nullableText,
  action: Type.String(),
  table_name: nullableText,
  record_id: nullableText,
  old_values: Values,
  new_values: Values,
  description: nullableText,
  timestamp: Type.String({ description: 'ISO 8601, UTC (Z).' }),
});
const LogDetail = Type.Object({ ...LogItem.properties, ip_address: nullableText });

const asValues = (value: unknown): Record<string, unknown> | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;

/** An audit event as an inventory log (list items omit ip_address; the detail has it). */
export function inventoryItem(event: AuditEvent) {
  return {
    id: event.id,
    user_id: event.actor.id,
    user_name: orNull(event.actor.name),
    action: event.action,
    table_name: orNull(event.target?.type),
    record_id: orNull(event.target?.id),
    old_values: asValues(event.changes?.before),
    new_values: asValues(event.changes?.after),
    description: orNull(event.description),
    timestamp: event.occurredAt,
  };
}

export const inventoryDetail = (event: AuditEvent) => ({
  ...inventoryItem(event),
  ip_address: orNull(event.context?.ip),
});

const ListQuery = Type.Object({
  user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  table_name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  start_date: Type.Optional(Type.String({ description: 'YYYY-MM-DD (or ISO 8601 date-time), inclusive.' })),
  end_date: Type.Optional(
    Type.String({
      description: 'YYYY-MM-DD (or ISO 8601 date-time), inclusive: a date covers that whole day.',
    }),
  ),
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_OFFSET_PAGE, default: 100 })),
});

const text = (max: number) => Type.String({ minLength: 1, maxLength: max });
/** Unknown fields are ignored, as by the original; required ones are checked first (their own 400). */
const CreateBody = Type.Object({
  user_id: text(256),
  action: Type.Enum(INVENTORY_ACTIONS),
  table_name: text(128),
  record_id: text(256),
  user_name: Type.Optional(Type.Union([text(256), Type.Null()])),
  old_values: Type.Optional(Values),
  new_values: Type.Optional(Values),
  description: Type.Optional(Type.Union([text(2000), Type.Null()])),
  ip_address: Type.Optional(Type.Union([text(64), Type.Null()])),
});

const isEmpty = (value: Record<string, unknown> | null | undefined) =>
  value === null || value === undefined || Object.keys(value).length === 0;

export const inventoryRoutes: FastifyPluginAsyncTypebox<{ events: EventService }> = async (
  app,
  { events },
) => {
  useSurfaceErrors(app, inventorySurface);
  const tags = [inventorySurface.tag];

  app.get(
    '/api/v1/audit/logs',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'List audit logs, newest first; filters combine with AND',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            status: Type.Literal('success'),
            count: Type.Integer(),
            logs: Type.Array(LogItem),
          }),
          ...errorResponses(inventorySurface, [400, 401, 403]),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { items } = await offsetPage(
        events,
        principalOf(request),
        {
          ...(q.user_id !== undefined ? { actor: q.user_id } : {}),
          ...(q.table_name !== undefined ? { targetType: q.table_name } : {}),
          ...(q.start_date !== undefined
            ? { from: dateBound('query/start_date', q.start_date, 'start', { dateOnly: true }) }
            : {}),
          ...(q.end_date !== undefined
            ? { to: dateBound('query/end_date', q.end_date, 'end', { dateOnly: true }) }
            : {}),
        },
        q.skip ?? 0,
        q.limit ?? 100,
      );
      return { status: 'success' as const, count: items.length, logs: items.map(inventoryItem) };
    },
  );

  app.post(
    '/api/v1/audit/logs',
    {
      config: { scope: 'audit:write' },
      schema: {
        tags,
        summary: 'Record an audit log entry',
        description: `Required: ${REQUIRED.join(', ')}; action is one of ${INVENTORY_ACTIONS.join(', ')}. The id and timestamp are the server's.`,
        body: CreateBody,
        response: {
          201: Type.Object({ status: Type.Literal('success'), id: Type.String() }),
          ...errorResponses(inventorySurface, [400, 401, 403, 413, 415]),
        },
      },
      // Ajv reports the first failing keyword: check required fields before types, so that a missing field
      // always answers the documented "Missing required fields".
      preValidation: async (request) => {
        const body = request.body as Record<string, unknown> | null;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw invalidParam('body', 'must be a JSON object', 'type');
        }
        for (const field of REQUIRED) {
          if (body[field] === undefined || body[field] === null || body[field] === '') {
            throw new LogbookError('VALIDATION_FAILED', `${field} is required`, {
              issues: [{ field: `body/${field}`, rule: 'required', message: 'is required' }],
            });
          }
        }
      },
    },
    async (request, reply) => {
      const b = request.body;
      const before = b.old_values ?? null;
      const after = b.new_values ?? null;
      const input: EventInput = {
        action: b.action,
        actor: { id: b.user_id, ...(b.user_name ? { name: b.user_name } : {}), type: 'user' },
        target: { type: b.table_name, id: b.record_id },
        // Empty objects are stored as no value, as by the original.
        ...(!isEmpty(before) || !isEmpty(after)
          ? {
              changes: {
                ...(!isEmpty(before) ? { before } : {}),
                ...(!isEmpty(after) ? { after } : {}),
              },
            }
          : {}),
        ...(b.description ? { description: b.description } : {}),
        ...(b.ip_address ? { context: { ip: b.ip_address } } : {}),
      };
      const [appended] = await events.append(principalOf(request), [input], false);
      return reply.status(201).send({ status: 'success' as const, id: appended!.id });
    },
  );

  app.get(
    '/api/v1/audit/logs/:id',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'One audit log, with its IP address',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: {
          200: Type.Object({ status: Type.Literal('success'), log: LogDetail }),
          ...errorResponses(inventorySurface, [401, 403, 404]),
        },
      },
    },
    async (request) => ({
      status: 'success' as const,
      log: inventoryDetail(await events.get(principalOf(request), request.params.id)),
    }),
  );

  app.get(
    '/api/v1/audit/summary',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags,
        summary: 'Counts over all logs by table, user (name, else id) and action',
        response: {
          200: Type.Object({
            status: Type.Literal('success'),
            total_logs: Type.Integer(),
            by_table: Type.Record(Type.String(), Type.Integer()),
            by_user: Type.Record(Type.String(), Type.Integer()),
            by_action: Type.Record(Type.String(), Type.Integer()),
          }),
          ...errorResponses(inventorySurface, [401, 403]),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const totals = await events.totals(principal, { top: SUMMARY_ACTORS });
      // Rollups count by actor id; the summary keys users by name (else id), as the original groups by user_name.
      const names: string[] = [];
      for (let i = 0; i < totals.topActors.length; i += 16) {
        const batch = totals.topActors.slice(i, i + 16);
        names.push(
          ...(await Promise.all(
            batch.map(async (actor) => {
              const latest = await events.list(principal, { actor: actor.id, limit: 1 });
              return latest.data[0]?.actor.name ?? actor.id;
            }),
          )),
        );
      }
      const byUser: Record<string, number> = {};
      totals.topActors.forEach((actor, i) => {
        const key = names[i]!;
        byUser[key] = (byUser[key] ?? 0) + actor.count;
      });
      return {
        status: 'success' as const,
        total_logs: totals.total,
        by_table: totals.byTargetType,
        by_user: byUser,
        by_action: totals.byAction,
      };
    },
  );
};

/** Users listed in the summary (the busiest ones); each costs one lookup for its name. */
const SUMMARY_ACTORS = 1000;
