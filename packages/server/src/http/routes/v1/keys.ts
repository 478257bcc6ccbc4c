// /api/v1/keys: create (the secret is in this one answer), list, revoke. Admin only; parse, call, reply.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AdminListQuery,
  ApiKey,
  ApiKeyCreate,
  ApiKeyCreated,
  ApiKeyList,
  ErrorBodySchema,
} from '@logbook/protocol';
import Type from 'typebox';
import type { KeyService } from '../../../services/keys.ts';
import { principalOf, requestContext } from '../../plugins/auth.ts';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema };

export const keyRoutes: FastifyPluginAsyncTypebox<{ keys: KeyService }> = async (app, { keys }) => {
  app.post(
    '/api/v1/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; its secret is in this answer only',
        description:
          'A key bound to a tenant (`tenant`) reads and writes only that tenant. A tenant-bound admin can only create keys bound to its own tenant. `expiresAt` (ISO 8601) makes the key stop working then.',
        body: ApiKeyCreate,
        response: { 201: ApiKeyCreated, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await keys.create(principalOf(request), request.body, requestContext(request))),
  );

  app.get(
    '/api/v1/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'List API keys (never their secrets), oldest first, revoked ones included',
        querystring: AdminListQuery,
        response: { 200: ApiKeyList, ...errors },
      },
    },
    async (request) => ({ data: await keys.list(principalOf(request), request.query.tenant) }),
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key: it stops working at once',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: ApiKey, ...errors, 404: ErrorBodySchema },
      },
    },
    async (request) => keys.revoke(principalOf(request), request.params.id, requestContext(request)),
  );
};
