// Authentication and the route scope table: every route declares `config.scope` (a scope or 'public') in one
// place, its route options; a route without one cannot be registered. The credential is resolved once per
// request into `request.principal`, and the route's scope is checked before any handler runs.
import { LogbookError, SCOPES, type Scope } from '@logbook/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator, PresentedCredential } from '../../auth/authenticator.ts';
import { type Principal, requireScope } from '../../auth/principal.ts';
import type { RequestContext } from '../../services/self-audit.ts';

export type RouteScope = Scope | 'public';

/** One registered route and the scope it requires: the table the permission-matrix test is generated from. */
export interface RouteEntry {
  method: string;
  url: string;
  scope: RouteScope;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Every route registered so far, with its scope (HEAD twins of GET routes included). */
    routeTable: RouteEntry[];
  }
}

/**
 * Routes added by plugins that cannot declare a scope: the Swagger UI's static files and the CORS preflight
 * catch-all. Both are public and serve nothing stored.
 */
function pluginPublicRoute(method: string, url: string): boolean {
  return url === '/docs' || url.startsWith('/docs/') || (method === 'OPTIONS' && url === '*');
}

/** The presented credential: `Authorization: Bearer <value>` (an API key or a JWT) or `X-API-Key: <key>`. */
export function presentedCredential(request: FastifyRequest): PresentedCredential | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) {
      throw new LogbookError(
        'UNAUTHENTICATED',
        'The Authorization header must be "Bearer <API key or token>" (or send the key as "X-API-Key: <key>").',
      );
    }
    return { scheme: 'bearer', value: match[1]! };
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return { scheme: 'x-api-key', value: apiKey };
  return null;
}

export function registerAuth(app: FastifyInstance, authenticator: Authenticator): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let scope = route.config?.scope;
    if (scope === undefined && methods.every((m) => pluginPublicRoute(String(m), route.url))) {
      scope = 'public';
      route.config = { ...route.config, scope };
    }
    if (scope === undefined) {
      throw new Error(
        `Route ${methods.join(',')} ${route.url} declares no config.scope (a scope or 'public')`,
      );
    }
    if (scope !== 'public' && !(SCOPES as readonly string[]).includes(scope)) {
      throw new Error(`Route ${route.url} declares unknown scope "${scope}"`);
    }
    for (const method of methods) table.push({ method: String(method), url: route.url, scope });
  });
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config?.scope;
    if (scope === undefined || scope === 'public') return;
    let principal: Principal;
    try {
      const credential = presentedCredential(request);
      if (credential === null) throw new LogbookError('UNAUTHENTICATED');
      principal = await authenticator.authenticate(credential);
    } catch (error) {
      // RFC 6750: a 401 names the scheme to use.
      if (error instanceof LogbookError && error.status === 401) {
        throw new LogbookError(error.code, error.message, {
          headers: { ...error.headers, 'www-authenticate': 'Bearer realm="logbook"' },
        });
      }
      throw error;
    }
    requireScope(principal, scope);
    request.principal = principal;
  });
}

/** The authenticated principal of a scoped route (the auth hook guarantees it is set). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new LogbookError('UNAUTHENTICATED');
  return request.principal;
}

/** Where the request came from, for audit events. */
export function requestContext(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip,
    ...(typeof userAgent === 'string' && userAgent.length > 0 ? { userAgent } : {}),
    requestId: request.id,
  };
}
