// Operational routes: liveness, readiness and the OpenAPI document. Public: they reveal nothing stored.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LogbookError } from '@logbook/protocol';
import Type from 'typebox';
import type { Store } from '../../store/store.ts';

export const opsRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/health',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/ready',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['ops'],
        summary: 'Readiness: the database answers',
        response: { 200: Type.Object({ status: Type.Literal('ready') }) },
      },
    },
    async () => {
      try {
        await store.ping();
      } catch (cause) {
        throw new LogbookError('SERVICE_UNAVAILABLE', 'The database is not answering.', {
          cause,
          headers: { 'retry-after': '5' },
        });
      }
      return { status: 'ready' as const };
    },
  );
  app.get('/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
};
