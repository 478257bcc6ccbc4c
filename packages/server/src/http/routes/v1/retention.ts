// /api/v1/retention (admin): read and set retention policies per tenant and stream, and run retention now. Parse,
// call the retention service, reply; it never deletes anything itself.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ErrorBodySchema,
  RETENTION_STREAMS,
  RetentionListResponse,
  RetentionPolicyBody,
  RetentionPutInput,
  RetentionQuery,
  RetentionRunInput,
  RetentionRunResponse,
} from '@logbook/protocol';
import type { RetentionService } from '../../../services/retention.ts';
import { principalOf, requestContext } from '../../plugins/auth.ts';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema };

export const retentionRoutes: FastifyPluginAsyncTypebox<{ retention: RetentionService }> = async (
  app,
  { retention },
) => {
  app.get(
    '/api/v1/retention',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['retention'],
        summary: 'Effective retention policies: every stored one, or one tenant stream (?tenant=&stream=)',
        description:
          'Without parameters: every tenant stream with its own policy, plus the effective policy of the caller\'s tenant (or `tenant`) for each stream. `days` 0 = kept forever; `source: "default"` means LOGBOOK_RETENTION_DAYS applies.',
        querystring: RetentionQuery,
        response: { 200: RetentionListResponse, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { tenant, stream } = request.query;
      const streams = stream ? [stream] : RETENTION_STREAMS;
      const own = await Promise.all(
        streams.map((s) => retention.get(principal, { ...(tenant ? { tenant } : {}), stream: s })),
      );
      const stored = tenant || stream ? [] : await retention.list(principal);
      const seen = new Set(own.map((p) => `${p.tenant}\u0000${p.stream}`));
      return {
        defaultDays: retention.defaultDays,
        archive: retention.archives,
        data: [...own, ...stored.filter((p) => !seen.has(`${p.tenant}\u0000${p.stream}`))],
      };
    },
  );

  app.put(
    '/api/v1/retention',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['retention'],
        summary: 'Set how many days one tenant stream is kept (0 = forever)',
        description:
          "Recorded as a `logbook.retention.set` audit event in that tenant's log, with the previous value. Takes effect at the next run (scheduled every LOGBOOK_RETENTION_INTERVAL_SECONDS, or POST /api/v1/retention/run).",
        body: RetentionPutInput,
        response: { 200: RetentionPolicyBody, ...errors },
      },
    },
    async (request) =>
      retention.set(principalOf(request), { ...request.body, context: requestContext(request) }),
  );

  app.post(
    '/api/v1/retention/run',
    {
      config: { scope: 'admin' },
      // `curl -X POST …/run` without a body means "all the tenants I may run".
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['retention'],
        summary: 'Apply every retention policy now; answers what was archived and deleted',
        description:
          'Audit events older than their policy are first archived (LOGBOOK_RETENTION_ARCHIVE, on by default; see `logbook verify --archive`), then their payloads are deleted while leaf hashes stay, so `logbook verify` still passes. System logs are deleted. A tenant-bound key runs its own tenant only.',
        body: RetentionRunInput,
        response: { 200: RetentionRunResponse, ...errors },
      },
    },
    async (request) => retention.runFor(principalOf(request), request.body.tenant),
  );
};
