// What the Fastify plugin and the Express middleware share: which routes to record, and the audit event one finished
// request becomes (actor from a callback, action from method + route, target from params, outcome from the status).
// Browser-safe, framework-free. Recording must never fail or slow the request it describes: events go to a batcher.
import type { EventInput } from '@logbook/protocol';
import type { EventBatcher } from './batcher.ts';

/** Methods recorded by default (`routes: 'mutating'`): the ones that change something. */
export const MUTATING_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

export type AuditActor = NonNullable<EventInput['actor']>;

/** Per-route settings (Fastify: route `config.audit`; Express: `audit.route({...})`). */
export interface AuditRouteOptions {
  /** The event's action; default "<METHOD> <route>", e.g. "POST /invoices/:id/pay". */
  action?: string;
  /** target.type; default the path segment before the route's last parameter ("invoices" in /invoices/:id). */
  targetType?: string;
  /** Which route parameter is the target id; default the last one. */
  targetParam?: string;
  description?: string;
}

export interface AuditOptions<Req> {
  /** Where events go (client.events.batcher()); flushed in the background. */
  batcher: Pick<EventBatcher, 'add'>;
  /** Who acted, from the request (after your auth ran): an Actor, an id, or null/undefined for anonymous. */
  actor: (request: Req) => AuditActor | string | null | undefined;
  /**
   * Which routes to record besides those marked per route: "mutating" (POST/PUT/PATCH/DELETE, the default), "all",
   * "none" (only routes marked per route), or a list like ["POST /invoices/:id/pay", "DELETE /users/:id"].
   */
  routes?: 'mutating' | 'all' | 'none' | string[];
  /** The tenant to record into (default: the API key's tenant, or "default"). */
  tenant?: (request: Req) => string | undefined;
  /** Extra details to add to each event. */
  details?: (request: Req) => Record<string, unknown> | undefined;
  /** Called when an event cannot be queued (queue full, invalid). Default: console.error. Never rethrown. */
  onError?: (error: unknown) => void;
}

/** Facts about one finished request, gathered by the framework adapter. */
export interface FinishedRequest {
  method: string;
  /** The matched route pattern, e.g. "/invoices/:id/pay". */
  route: string;
  params: Record<string, unknown>;
  statusCode: number;
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
  durationMs?: number | undefined;
}

/** Whether a route is recorded: per-route settings win (false opts out), then the `routes` option. */
export function isChosen(
  routes: AuditOptions<unknown>['routes'],
  method: string,
  route: string,
  perRoute: boolean | AuditRouteOptions | undefined,
): boolean {
  if (perRoute === false) return false;
  if (perRoute) return true;
  const chosen = routes ?? 'mutating';
  if (chosen === 'all') return true;
  if (chosen === 'none') return false;
  if (chosen === 'mutating') return (MUTATING_METHODS as readonly string[]).includes(method.toUpperCase());
  return chosen.some((entry) => {
    const [m, ...rest] = entry.trim().split(/\s+/);
    return m?.toUpperCase() === method.toUpperCase() && rest.join(' ') === route;
  });
}

const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);
const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/** The audit event for a finished request. */
export function auditEvent(
  finished: FinishedRequest,
  actor: AuditActor | string | null | undefined,
  perRoute: AuditRouteOptions = {},
  extra: { tenant?: string | undefined; details?: Record<string, unknown> | undefined } = {},
): EventInput {
  const method = finished.method.toUpperCase();
  const paramNames = [...finished.route.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
  const targetParam = perRoute.targetParam ?? paramNames.at(-1);
  const targetId = targetParam !== undefined ? nonEmpty(finished.params[targetParam]) : undefined;
  const segments = finished.route.split('/').filter(Boolean);
  const paramAt = targetParam !== undefined ? segments.indexOf(`:${targetParam}`) : -1;
  const before = paramAt > 0 ? segments[paramAt - 1] : undefined;
  const targetType = perRoute.targetType ?? (before && !before.startsWith(':') ? before : undefined);
  const who: AuditActor =
    typeof actor === 'string' && actor.length > 0
      ? { id: clip(actor, 256) }
      : actor && typeof actor === 'object'
        ? actor
        : { id: 'anonymous' };
  const context = {
    ...(finished.ip ? { ip: clip(finished.ip, 64) } : {}),
    ...(finished.userAgent ? { userAgent: clip(finished.userAgent, 1024) } : {}),
    ...(finished.requestId ? { requestId: clip(finished.requestId, 256) } : {}),
  };
  return {
    action: clip(perRoute.action ?? `${method} ${finished.route}`, 128),
    actor: who,
    ...(targetId !== undefined || targetType !== undefined
      ? {
          target: {
            ...(targetType !== undefined ? { type: clip(targetType, 128) } : {}),
            ...(targetId !== undefined ? { id: clip(targetId, 256) } : {}),
          },
        }
      : {}),
    outcome: finished.statusCode < 400 ? 'success' : 'failure',
    ...(perRoute.description ? { description: perRoute.description } : {}),
    ...(Object.keys(context).length > 0 ? { context } : {}),
    ...(extra.tenant ? { tenant: extra.tenant } : {}),
    details: {
      method,
      route: finished.route,
      statusCode: finished.statusCode,
      ...(finished.durationMs !== undefined ? { durationMs: Math.round(finished.durationMs) } : {}),
      ...extra.details,
    },
  };
}

/** Builds and queues the event; never throws (the request is already answered). */
export function record<Req>(
  options: AuditOptions<Req>,
  request: Req,
  finished: FinishedRequest,
  perRoute: boolean | AuditRouteOptions | undefined,
): void {
  try {
    if (!isChosen(options.routes, finished.method, finished.route, perRoute)) return;
    const event = auditEvent(finished, options.actor(request), typeof perRoute === 'object' ? perRoute : {}, {
      tenant: options.tenant?.(request),
      details: options.details?.(request),
    });
    options.batcher.add(event);
  } catch (error) {
    (options.onError ?? ((e) => console.error(`logbook audit: event not recorded: ${(e as Error).message}`)))(
      error,
    );
  }
}
