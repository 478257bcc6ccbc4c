// Express middleware (import from "@logbook/sdk/express"): one audit event per chosen route, recorded when the response
// finishes, through a batcher. `app.use(audit)` is the one line; `audit.route({...})` marks or tunes single routes.
// Express is a peer dependency of the caller, only its types are used here. It must never delay or fail a request.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type AuditOptions, type AuditRouteOptions, record } from './audit-middleware.ts';

export type ExpressAuditOptions = AuditOptions<Request>;

const ROUTE_OPTIONS = Symbol('logbook.audit.route');
const WATCHING = Symbol('logbook.audit.watching');

export interface ExpressAudit extends RequestHandler {
  /** Per-route middleware: record this route (with these settings) even if `routes` does not choose it. */
  route(options?: AuditRouteOptions | false): RequestHandler;
}

/** Creates the middleware: `app.use(logbookAudit({ batcher, actor: (req) => req.user?.id }))`. */
export function logbookAudit(options: ExpressAuditOptions): ExpressAudit {
  if (typeof options?.actor !== 'function' || typeof options?.batcher?.add !== 'function') {
    throw new TypeError('logbookAudit needs { batcher, actor } (see docs/sdk.md "Middleware")');
  }
  const locals = (res: Response) => res.locals as Record<symbol, unknown>;
  /** Records the request when its response finishes; once per request, whichever of use()/route() ran first. */
  const watch = (req: Request, res: Response) => {
    if (locals(res)[WATCHING]) return;
    locals(res)[WATCHING] = true;
    const started = performance.now();
    res.once('finish', () => {
      // req.route is the route that answered (set by the router); unmatched requests (404) have none.
      const matched = req.route as { path?: unknown } | undefined;
      if (!matched || typeof matched.path !== 'string') return;
      record(
        options,
        req,
        {
          method: req.method,
          route: `${req.baseUrl}${matched.path}`,
          params: req.params ?? {},
          statusCode: res.statusCode,
          ip: req.ip ?? req.socket.remoteAddress,
          userAgent: req.get('user-agent'),
          requestId: req.get('x-request-id') ?? (res.getHeader('x-request-id') as string | undefined),
          durationMs: performance.now() - started,
        },
        locals(res)[ROUTE_OPTIONS] as AuditRouteOptions | false | undefined,
      );
    });
  };
  const middleware = ((req: Request, res: Response, next: NextFunction) => {
    watch(req, res);
    next();
  }) as ExpressAudit;
  middleware.route =
    (routeOptions: AuditRouteOptions | false = {}) =>
    (req, res, next) => {
      locals(res)[ROUTE_OPTIONS] = routeOptions;
      watch(req, res);
      next();
    };
  return middleware;
}

export default logbookAudit;
export type { AuditRouteOptions };
