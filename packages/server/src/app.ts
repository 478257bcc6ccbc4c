// buildApp: the Fastify application over given services. It never listens and never opens a database,
// so tests drive it with inject() over a real store and start.ts wires the same app to a socket.
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LogbookError } from '@logbook/protocol';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { LogLevel, TrustProxy } from './config/config.ts';
import { COMPAT_TAGS, compatErrorFor, compatRoutes } from './http/compat/index.ts';
import { registerDashboard } from './http/dashboard.ts';
import { registerJsonBody } from './http/json-body.ts';
import { registerAuth } from './http/plugins/auth.ts';
import { registerErrorHandling } from './http/plugins/errors.ts';
import { type RateLimitOptions, registerRateLimits } from './http/plugins/rate-limit.ts';
import { opsRoutes } from './http/routes/ops.ts';
import { otlpRoutes } from './http/routes/otlp.ts';
import { authRoutes } from './http/routes/v1/auth.ts';
import { eventRoutes } from './http/routes/v1/events.ts';
import { exportRoutes } from './http/routes/v1/export.ts';
import { integrityRoutes } from './http/routes/v1/integrity.ts';
import { keyRoutes } from './http/routes/v1/keys.ts';
import { logRoutes } from './http/routes/v1/logs.ts';
import { retentionRoutes } from './http/routes/v1/retention.ts';
import { type TailHttpOptions, tailRoutes } from './http/routes/v1/tail.ts';
import { userRoutes } from './http/routes/v1/users.ts';
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
  /** Browser origins allowed to call the API (CORS); unset or empty = CORS off. `*` allows any origin. */
  corsOrigins?: string[];
  /** Live tail connection limits (defaults: TAIL_LIMITS in protocol). */
  tail?: TailHttpOptions;
  /** Requests per minute per credential, per address, and logins per address; unset = no limits (tests). */
  rateLimit?: RateLimitOptions;
  /**
   * Proxy addresses/CIDRs whose X-Forwarded-For sets request.ip (per-address limits, lockout, audit `ip`), from
   * LOGBOOK_TRUST_PROXY; unset = the socket peer is the client.
   */
  trustProxy?: TrustProxy;
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
    forceCloseConnections: 'idle',
    // A client that sends half a request and stalls (slowloris) is cut after a minute (Fastify's default is never);
    // it bounds receiving the request only, so long exports and live tails are unaffected.
    requestTimeout: 60_000,
    return503OnClosing: true,
    ...(deps.trustProxy !== undefined ? { trustProxy: deps.trustProxy } : {}),
    // Errors raised by the router before any hook runs (a malformed URL) get the catalog shape too.
    frameworkErrors: (error, request, reply) => {
      const issue = {
        field: 'path',
        rule: 'url',
        message: 'is not a valid URL (check its percent-encoding)',
      };
      const failure = new LogbookError('VALIDATION_FAILED', `The URL is not valid: ${error.message}`, {
        issues: [issue],
      });
      // A compatibility surface's URL gets that surface's body.
      const surface = compatErrorFor(request, failure);
      (reply as FastifyReply)
        .status(surface?.status ?? 400)
        .header('x-request-id', request.id)
        .send(surface ? surface.body : failure.toBody(request.id));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  registerJsonBody(app);
  registerErrorHandling(app, bodyLimit, compatErrorFor);
  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    // Before auth, so that a 401 still carries the CORS headers the browser needs to show it.
    await app.register(cors, {
      origin: deps.corsOrigins.includes('*') ? '*' : deps.corsOrigins,
      credentials: false,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate'],
      maxAge: 600,
    });
  }
  // Before authentication: a flood of bad credentials is refused without looking keys up or hashing passwords.
  if (deps.rateLimit) await registerRateLimits(app, deps.rateLimit);
  registerAuth(app, deps.services.authenticator);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    // The API answers data, never pages: nothing in it may run or load. The /docs UI sets its own policy.
    if (!request.url.startsWith('/docs')) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Logbook API',
        version: '0.1.0',
        description:
          'Tamper-evident audit trail and system logs. Authenticate with an API key, a token from /api/v1/auth/login, or a JWT from a configured identity provider.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key, login token or JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
      tags: [
        { name: 'events', description: 'Audit events' },
        { name: 'logs', description: 'System logs: ingest (JSON, NDJSON, OTLP), search, stats, live tail' },
        { name: 'integrity', description: 'Signed checkpoints and Merkle proofs' },
        { name: 'keys', description: 'API keys (admin)' },
        { name: 'users', description: 'Local users (admin)' },
        {
          name: 'retention',
          description: 'Retention policies per tenant and stream, runs, archives before deletion (admin)',
        },
        { name: 'auth', description: 'Login of local users' },
        { name: 'ops', description: 'Health and documentation' },
        ...COMPAT_TAGS,
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(opsRoutes, { store: deps.store });
  await app.register(eventRoutes, { events: deps.services.events });
  await app.register(logRoutes, { logs: deps.services.logs });
  await app.register(otlpRoutes, { logs: deps.services.logs, maxBodyBytes: bodyLimit });
  await app.register(tailRoutes, { tail: deps.services.tail, ...(deps.tail ? { options: deps.tail } : {}) });
  await app.register(integrityRoutes, { integrity: deps.services.integrity });
  await app.register(keyRoutes, { keys: deps.services.keys });
  await app.register(retentionRoutes, { retention: deps.services.retention });
  await app.register(exportRoutes, {
    events: deps.services.events,
    logs: deps.services.logs,
    audit: deps.services.audit,
  });
  await app.register(userRoutes, { users: deps.services.users });
  await app.register(compatRoutes, { services: deps.services });
  await app.register(authRoutes, { users: deps.services.users });
  // Last: its `/*` browser fallback must never shadow an API route.
  await registerDashboard(app);
  return app;
}
