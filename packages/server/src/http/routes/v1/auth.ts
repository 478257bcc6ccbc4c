// /api/v1/auth/login: a local user's username and password → a short-lived token. Public; parse, call, reply.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, LoginRequest, LoginResponse } from '@logbook/protocol';
import type { UserService } from '../../../services/users.ts';
import { requestContext } from '../../plugins/auth.ts';

export const authRoutes: FastifyPluginAsyncTypebox<{ users: UserService }> = async (app, { users }) => {
  app.post(
    '/api/v1/auth/login',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Log in as a local user; answers a token to send as "Authorization: Bearer <token>"',
        description:
          'The token is an EdDSA-signed JWT valid for LOGBOOK_LOGIN_TOKEN_TTL_SECONDS (default 1 hour). Repeated failures are slowed and then locked out for LOGBOOK_LOGIN_LOCKOUT_SECONDS: 429 with Retry-After.',
        security: [],
        body: LoginRequest,
        response: {
          200: LoginResponse,
          400: ErrorBodySchema,
          401: ErrorBodySchema,
          429: ErrorBodySchema,
        },
      },
    },
    async (request) => users.login(request.body.username, request.body.password, requestContext(request)),
  );
};
