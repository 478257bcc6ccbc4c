// Authentication and the route scope table: every route declares `config.scope` (or 'public'); a route
// without one cannot be registered. The credential is resolved once per request into `request.principal`.
import { LogbookError, SCOPES, type Scope } from '@logbook/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticateApiKey } from '../../auth/api-keys.ts';
import { type Principal, requireScope } from '../../auth/principal.ts';
import type { Store } from '../../store/store.ts';

export type RouteScope = Scope | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The presented secret: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedCredential(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new LogbookError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <key>".');
    }
    return match[1]!;
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey;
  return null;
}

export function registerAuth(app: FastifyInstance, store: Store, clock: () => number): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope;
    if (scope === undefined && !route.url.startsWith('/docs')) {
      throw new Error(
        `Route ${String(route.method)} ${route.url} declares no config.scope (a scope or 'public')`,
      );
    }
    if (scope !== undefined && scope !== 'public' && !(SCOPES as readonly string[]).includes(scope)) {
      throw new Error(`Route ${route.url} declares unknown scope "${scope}"`);
    }
  });
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config?.scope;
    if (scope === undefined || scope === 'public') return;
    const secret = presentedCredential(request);
    if (secret === null) throw new LogbookError('UNAUTHENTICATED');
    const principal = await authenticateApiKey(store, secret, clock());
    requireScope(principal, scope);
    request.principal = principal;
  });
}

/** The authenticated principal of a scoped route (the auth hook guarantees it is set). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new LogbookError('UNAUTHENTICATED');
  return request.principal;
}
