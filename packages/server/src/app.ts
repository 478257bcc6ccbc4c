// buildApp: the Fastify application over given services. It never listens and never opens a database,
// so tests drive it with inject() over a real store and start.ts wires the same app to a socket.
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { LogLevel } from './config/config.ts';
import { registerAuth } from './http/plugins/auth.ts';
import { registerErrorHandling } from './http/plugins/errors.ts';
import { opsRoutes } from './http/routes/ops.ts';
import { eventRoutes } from './http/routes/v1/events.ts';
import { integrityRoutes } from './http/routes/v1/integrity.ts';
import { validatorCompiler } from './http/validation.ts';
import type { Services } from './services/index.ts';
import type { Store } from './store/store.ts';

export interface AppDeps {
  store: Store;
  services: Services;
  logLevel?: LogLevel;
  /** Where the server's own log goes (tests capture it); default stdout. */
  logStream?: NodeJS.WritableStream;
  maxBodyBytes?: number;
  clock?: () => number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const bodyLimit = deps.maxBodyBytes ?? 16 * 1024 * 1024;
  const logger: FastifyServerOptions['logger'] = {
    level: deps.logLevel ?? 'info',
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
    ...(deps.logStream ? { stream: deps.logStream } : {}),
  };
  const app = Fastify({
    logger,
    bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    forceCloseConnections: false,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app, bodyLimit);
  registerAuth(app, deps.store, deps.clock ?? Date.now);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Logbook API',
        version: '0.1.0',
        description: 'Tamper-evident audit trail and system logs. Authenticate with an API key.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key (or, later, a JWT)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
      tags: [
        { name: 'events', description: 'Audit events' },
        { name: 'integrity', description: 'Signed checkpoints and Merkle proofs' },
        { name: 'ops', description: 'Health and documentation' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(opsRoutes, { store: deps.store });
  await app.register(eventRoutes, { events: deps.services.events });
  await app.register(integrityRoutes, { integrity: deps.services.integrity });
  return app;
}
