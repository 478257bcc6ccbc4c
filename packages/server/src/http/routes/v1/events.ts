// /api/v1/events: parse, call the event service, reply. No logic beyond choosing the call.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AppendEventsResponse,
  AuditEvent,
  ErrorBodySchema,
  EventBatchInput,
  EventInput,
  EventListQuery,
  EventListResponse,
  EventStats,
  EventStatsQuery,
  RedactEventsInput,
  RedactEventsResponse,
  Tenant,
} from '@logbook/protocol';
import Type from 'typebox';
import type { EventService } from '../../../services/events.ts';
import { sendJsonText } from '../../json-text.ts';
import { principalOf, requestContext } from '../../plugins/auth.ts';
import { PRESENT_KEY } from '../../validation.ts';

const errors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
};

export const eventRoutes: FastifyPluginAsyncTypebox<{ events: EventService }> = async (app, { events }) => {
  app.post(
    '/api/v1/events',
    {
      config: { scope: 'audit:write' },
      schema: {
        tags: ['events'],
        summary: 'Record one audit event, or a batch as { "events": [...] }',
        description:
          'Answers after the events are durably committed. A client-supplied `id` makes the write idempotent: the same id with the same content returns the stored answer (`duplicate: true`), with other content 409.',
        body: Type.Union([EventBatchInput, EventInput], { [PRESENT_KEY]: 'events' }),
        response: {
          201: AppendEventsResponse,
          ...errors,
          409: ErrorBodySchema,
          413: ErrorBodySchema,
          415: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const batch = 'events' in body;
      const appended = await events.append(
        principalOf(request),
        batch ? body.events : [body as EventInput],
        batch,
      );
      return reply.status(201).send({ events: appended });
    },
  );

  app.post(
    '/api/v1/events/redact',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['events'],
        summary:
          'Delete event payloads (erasure request, cleanup): by ids, or all that occurred before a time',
        description:
          'Payloads go; each leaf hash stays in the Merkle log, so proofs and `logbook verify` still pass. The deletion is first recorded as an audit event (`logbook.events.redact`, with the reason and the ids or cut-off) in the same log; verify checks every deleted payload against such a record.',
        body: RedactEventsInput,
        response: { 200: RedactEventsResponse, ...errors },
      },
    },
    async (request) => {
      const { ids, before, reason, tenant } = request.body;
      return events.redact(principalOf(request), {
        ...(tenant !== undefined ? { tenant } : {}),
        ...(ids !== undefined ? { ids } : {}),
        ...(before !== undefined ? { beforeMs: Date.parse(before) } : {}),
        reason,
        context: requestContext(request),
      });
    },
  );

  app.get(
    '/api/v1/events',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['events'],
        summary: 'List and search audit events, newest first by occurrence time',
        querystring: EventListQuery,
        response: { 200: EventListResponse, ...errors },
      },
    },
    // The response schema documents the page; its text is built from the stored bodies (EventService.listJson).
    async (request, reply) => sendJsonText(reply, await events.listJson(principalOf(request), request.query)),
  );

  app.get(
    '/api/v1/events/stats',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['events'],
        summary: 'Counts by action, target type, top actors and a time histogram (from rollups)',
        querystring: EventStatsQuery,
        response: { 200: EventStats, ...errors },
      },
    },
    async (request) => events.stats(principalOf(request), request.query),
  );

  app.get(
    '/api/v1/events/:id',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['events'],
        summary: 'One audit event by id',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
        querystring: Type.Object({ tenant: Type.Optional(Tenant) }, { additionalProperties: false }),
        response: { 200: AuditEvent, ...errors, 404: ErrorBodySchema },
      },
    },
    async (request) => events.get(principalOf(request), request.params.id, request.query.tenant),
  );
};
