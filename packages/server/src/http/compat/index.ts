// The compatibility surfaces (shared/CONTRACTS.md), each an encapsulated plugin with its own error envelope.
// app.ts registers them with one line and lists SURFACES' tags in the OpenAPI document. Nothing here holds data.
import type { LogbookError } from '@logbook/protocol';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.ts';
import { activityLogRoutes, activityLogsSurface } from './activity-logs.ts';
import { apiLogRoutes, apiLogsSurface } from './api-logs.ts';
import { type CompatSurface, type SurfaceError, surfaceError, surfaceOf } from './common.ts';
import { insforgeRoutes, insforgeSurface } from './insforge.ts';
import { inventoryRoutes, inventorySurface } from './inventory.ts';
import { scopedLogRoutes, scopedLogsSurface } from './scoped-logs.ts';

/** Every mounted surface, in seed order. */
export const SURFACES: CompatSurface[] = [
  insforgeSurface,
  inventorySurface,
  apiLogsSurface,
  scopedLogsSurface,
  activityLogsSurface,
];

/** OpenAPI tags of the surfaces, for app.ts's swagger options. */
export const COMPAT_TAGS = SURFACES.map((s) => ({ name: s.tag, description: s.description }));

/** A surface's answer for a failure before routing (app.ts's frameworkErrors); undefined outside the surfaces. */
export function compatErrorFor(request: FastifyRequest, error: LogbookError): SurfaceError | undefined {
  const surface = surfaceOf(SURFACES, request.url);
  return surface ? surfaceError(surface, error, request) : undefined;
}

export const compatRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  // Each register() is its own encapsulation context, so each surface's error handler covers only its routes.
  await app.register(insforgeRoutes, { events: services.events });
  await app.register(inventoryRoutes, { events: services.events });
  await app.register(apiLogRoutes, { logs: services.logs });
  await app.register(scopedLogRoutes, {
    events: services.events,
    logs: services.logs,
    users: services.users,
  });
  await app.register(activityLogRoutes, {
    events: services.events,
    retention: services.retention,
    audit: services.audit,
  });
};
