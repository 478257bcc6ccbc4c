// /api/v1/users: local users for the dashboard and API logins. Admin only; parse, call, reply.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AdminListQuery, ErrorBodySchema, User, UserCreate, UserList } from '@logbook/protocol';
import Type from 'typebox';
import type { UserService } from '../../../services/users.ts';
import { principalOf, requestContext } from '../../plugins/auth.ts';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema };
const params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const userRoutes: FastifyPluginAsyncTypebox<{ users: UserService }> = async (app, { users }) => {
  app.post(
    '/api/v1/users',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Create a local user (who can then log in at /api/v1/auth/login)',
        description:
          'Role `admin` holds every scope; a `member` holds `scopes` (default audit:read, logging:read). A user bound to a `tenant` sees only that tenant. The password is stored only as a scrypt hash.',
        body: UserCreate,
        response: { 201: User, ...errors, 409: ErrorBodySchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await users.create(principalOf(request), request.body, requestContext(request))),
  );

  app.get(
    '/api/v1/users',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'List local users, oldest first',
        querystring: AdminListQuery,
        response: { 200: UserList, ...errors },
      },
    },
    async (request) => ({ data: await users.list(principalOf(request), request.query.tenant) }),
  );

  app.post(
    '/api/v1/users/:id/disable',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Disable a user: it cannot log in, and its tokens stop working at once',
        params,
        response: { 200: User, ...errors, 404: ErrorBodySchema },
      },
    },
    async (request) =>
      users.setDisabled(principalOf(request), request.params.id, true, requestContext(request)),
  );

  app.post(
    '/api/v1/users/:id/enable',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Enable a disabled user again (tokens issued before it was disabled stay invalid)',
        params,
        response: { 200: User, ...errors, 404: ErrorBodySchema },
      },
    },
    async (request) =>
      users.setDisabled(principalOf(request), request.params.id, false, requestContext(request)),
  );
};
