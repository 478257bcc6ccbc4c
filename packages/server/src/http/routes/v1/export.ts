// GET /api/v1/events/export and /api/v1/logs/export: every list filter, streamed as NDJSON or CSV page by page
// (memory stays one page), each export recorded as an audit event. It must never buffer a whole export.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  type AuditEvent,
  DEFAULT_TENANT,
  ErrorBodySchema,
  EventExportQuery,
  type LogEntry,
  LogExportQuery,
} from '@logbook/protocol';
import Type from 'typebox';
import { tenantFor } from '../../../auth/principal.ts';
import type { EventJsonRow, EventService } from '../../../services/events.ts';
import type { LogService } from '../../../services/logs.ts';
import { SELF_AUDIT_ACTIONS, type SelfAudit } from '../../../services/self-audit.ts';
import { cursorPages, EXPORT_PAGE_ROWS, type ExportColumn, sendExport } from '../../export.ts';
import { principalOf, requestContext } from '../../plugins/auth.ts';

/** CSV columns of an audit event: one per field people filter on in a spreadsheet; nested values as JSON. */
export const EVENT_EXPORT_COLUMNS: ExportColumn<AuditEvent>[] = [
  { name: 'id', value: (e) => e.id },
  { name: 'seq', value: (e) => e.seq },
  { name: 'tenant', value: (e) => e.tenant },
  { name: 'occurredAt', value: (e) => e.occurredAt },
  { name: 'receivedAt', value: (e) => e.receivedAt },
  { name: 'action', value: (e) => e.action },
  { name: 'actorId', value: (e) => e.actor.id },
  { name: 'actorName', value: (e) => e.actor.name },
  { name: 'actorType', value: (e) => e.actor.type },
  { name: 'actorEmail', value: (e) => e.actor.email },
  { name: 'targetType', value: (e) => e.target?.type },
  { name: 'targetId', value: (e) => e.target?.id },
  { name: 'targetName', value: (e) => e.target?.name },
  { name: 'outcome', value: (e) => e.outcome },
  { name: 'description', value: (e) => e.description },
  { name: 'ip', value: (e) => e.context?.ip },
  { name: 'userAgent', value: (e) => e.context?.userAgent },
  { name: 'requestId', value: (e) => e.context?.requestId },
  { name: 'sessionId', value: (e) => e.context?.sessionId },
  { name: 'changes', value: (e) => e.changes },
  { name: 'details', value: (e) => e.details },
  { name: 'hash', value: (e) => e.hash },
];

export const LOG_EXPORT_COLUMNS: ExportColumn<LogEntry>[] = [
  { name: 'id', value: (l) => l.id },
  { name: 'tenant', value: (l) => l.tenant },
  { name: 'timestamp', value: (l) => l.timestamp },
  { name: 'receivedAt', value: (l) => l.receivedAt },
  { name: 'level', value: (l) => l.level },
  { name: 'service', value: (l) => l.service },
  { name: 'message', value: (l) => l.message },
  { name: 'traceId', value: (l) => l.traceId },
  { name: 'spanId', value: (l) => l.spanId },
  { name: 'host', value: (l) => l.host },
  { name: 'details', value: (l) => l.details },
];

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema };
const body = Type.String({
  description:
    "NDJSON (default): one JSON object per line, as the list returns them. CSV (RFC 4180, CRLF): a header row, then one row per entry; cells starting with = + - @ (or tab/CR) are prefixed with ' so spreadsheets never run them as formulas.",
});

/** Filters as recorded in the export's audit event (the query without the format). */
function filtersOf(query: Record<string, unknown>): Record<string, unknown> {
  const { format: _format, ...filters } = query;
  return filters;
}

async function* withoutSeq(
  pages: AsyncIterable<EventJsonRow[]>,
  seq: number | null,
): AsyncIterable<EventJsonRow[]> {
  for await (const page of pages) yield seq === null ? page : page.filter((row) => row.seq !== seq);
}

async function* mapped<T, U>(pages: AsyncIterable<T[]>, map: (row: T) => U): AsyncIterable<U[]> {
  for await (const page of pages) yield page.map(map);
}

export const exportRoutes: FastifyPluginAsyncTypebox<{
  events: EventService;
  logs: LogService;
  audit: SelfAudit;
}> = async (app, { events, logs, audit }) => {
  app.get(
    '/api/v1/events/export',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['events'],
        summary: 'Export the audit events the list filters match, streamed as NDJSON or CSV',
        description:
          'Same filters and order as `GET /api/v1/events` (newest first unless `order=asc`), every match, no paging: the server streams page by page in constant memory. Each export is recorded as a `logbook.events.export` audit event.',
        querystring: EventExportQuery,
        produces: ['application/x-ndjson', 'text/csv'],
        response: { 200: body, ...errors },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { format = 'ndjson', ...query } = request.query;
      const tenant = tenantFor(principal, query.tenant, DEFAULT_TENANT);
      // Each event's JSON text is its stored body with seq and hash spliced in: an NDJSON line as is, never parsed
      // and serialised again; a CSV row parses it once for its cells.
      const pages = await cursorPages(async (cursor) =>
        events.listJsonRows(principal, {
          ...query,
          tenant,
          limit: EXPORT_PAGE_ROWS,
          ...(cursor ? { cursor } : {}),
        }),
      );
      // HEAD answers headers only: nothing is exported, so nothing is recorded.
      let own: number | null = null;
      if (request.method !== 'HEAD') {
        own = await audit
          .record({
            actor: principal,
            tenant,
            action: SELF_AUDIT_ACTIONS.eventsExport,
            description: `${principal.name} exported audit events of ${tenant} as ${format}`,
            details: { format, filters: filtersOf(request.query), via: 'GET /api/v1/events/export' },
            context: requestContext(request),
          })
          .then((record) => record.seq);
      }
      // The export's own record is newer than the first page: it would show up among later pages; it is not part of
      // what was asked for.
      const rows = withoutSeq(pages, own);
      const basename = `events-${tenant}-${new Date().toISOString().slice(0, 10)}`;
      return format === 'ndjson'
        ? sendExport(reply, { format, basename, pages: rows, columns: [], ndjsonLine: (row) => row.json })
        : sendExport(reply, {
            format,
            basename,
            pages: mapped(rows, (row) => JSON.parse(row.json) as AuditEvent),
            columns: EVENT_EXPORT_COLUMNS,
          });
    },
  );

  app.get(
    '/api/v1/logs/export',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags: ['logs'],
        summary: 'Export the system logs the list filters match, streamed as NDJSON or CSV',
        description:
          'Same filters and order as `GET /api/v1/logs`, every match, streamed in constant memory. Each export is recorded as a `logbook.logs.export` audit event.',
        querystring: LogExportQuery,
        produces: ['application/x-ndjson', 'text/csv'],
        response: { 200: body, ...errors },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { format = 'ndjson', ...query } = request.query;
      const tenant = tenantFor(principal, query.tenant, DEFAULT_TENANT);
      // Each entry's stored JSON text is its wire form: an NDJSON line as is; a CSV row parses it once.
      const pages = await cursorPages(async (cursor) =>
        logs.listJsonRows(principal, {
          ...query,
          tenant,
          limit: EXPORT_PAGE_ROWS,
          ...(cursor ? { cursor } : {}),
        }),
      );
      if (request.method !== 'HEAD') {
        await audit.record({
          actor: principal,
          tenant,
          action: SELF_AUDIT_ACTIONS.logsExport,
          description: `${principal.name} exported system logs of ${tenant} as ${format}`,
          details: { format, filters: filtersOf(request.query), via: 'GET /api/v1/logs/export' },
          context: requestContext(request),
        });
      }
      const basename = `logs-${tenant}-${new Date().toISOString().slice(0, 10)}`;
      return format === 'ndjson'
        ? sendExport(reply, { format, basename, pages, columns: [], ndjsonLine: (text) => text })
        : sendExport(reply, {
            format,
            basename,
            pages: mapped(pages, (text) => JSON.parse(text) as LogEntry),
            columns: LOG_EXPORT_COLUMNS,
          });
    },
  );
};
