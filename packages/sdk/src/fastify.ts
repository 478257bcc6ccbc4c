// Fastify plugin (import from "@logbook/sdk/fastify"): one audit event per chosen route, recorded after the response
// is sent, through a batcher. Registering it is the one line of configuration; routes opt in or out with
// `config: { audit: … }`. It must never delay or fail the request it records.
import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import { type AuditOptions, type AuditRouteOptions, record } from './audit-middleware.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Logbook audit: true to record this route, false to skip it, or its action/target settings. */
    audit?: boolean | AuditRouteOptions;
  }
}

export type FastifyAuditOptions = AuditOptions<FastifyRequest>;

const plugin: FastifyPluginCallback<FastifyAuditOptions> = (app: FastifyInstance, options, done) => {
  if (typeof options?.actor !== 'function' || typeof options?.batcher?.add !== 'function') {
    done(new TypeError('logbookAudit needs { batcher, actor } (see docs/sdk.md "Middleware")'));
    return;
  }
  app.addHook('onResponse', (request, reply, next) => {
    const route = request.routeOptions.url;
    if (route !== undefined) {
      record(
        options,
        request,
        {
          method: request.method,
          route,
          params: (request.params ?? {}) as Record<string, unknown>,
          statusCode: reply.statusCode,
          ip: request.ip,
          userAgent: request.headers['user-agent'],
          requestId: request.id,
          durationMs: reply.elapsedTime,
        },
        request.routeOptions.config.audit,
      );
    }
    next();
  });
  done();
};

// What fastify-plugin does: the hook applies to the routes of the app that registers the plugin, not only inside it.
(plugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(plugin as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'logbook-audit';

/** `app.register(logbookAudit, { batcher, actor: (req) => req.user?.id })` */
export const logbookAudit = plugin;
export default plugin;
export type { AuditRouteOptions };
