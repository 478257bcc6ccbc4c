// Logbook audits itself: logins, key and user changes (and later retention changes, deletions, exports) are
// audit events appended through the same path as everyone's events, so they are in the same tamper-evident log.
import { type AppendedEvent, DEFAULT_TENANT, type EventInput, type EventOutcome } from '@logbook/protocol';
import { type Principal, SYSTEM_PRINCIPAL } from '../auth/principal.ts';
import type { EventService } from './events.ts';

/** Where a request came from, as the HTTP layer saw it (plain data, no HTTP objects). */
export interface RequestContext {
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
}

/** Actions Logbook records about itself. */
export const SELF_AUDIT_ACTIONS = {
  login: 'logbook.auth.login',
  lockout: 'logbook.auth.lockout',
  keyCreate: 'logbook.key.create',
  keyRevoke: 'logbook.key.revoke',
  userCreate: 'logbook.user.create',
  userDisable: 'logbook.user.disable',
  userEnable: 'logbook.user.enable',
  retentionSet: 'logbook.retention.set',
  retentionRun: 'logbook.retention.run',
  eventsExport: 'logbook.events.export',
  /** System logs exported (GET /api/v1/logs/export): recorded in the audit log, like event exports. */
  logsExport: 'logbook.logs.export',
  /** Event payloads deleted (erasure, retention, a compatible API's delete); the verifier reads these records. */
  eventsRedact: 'logbook.events.redact',
  /** A system log entry deleted by id (system logs have no Merkle log, so it is a plain delete). */
  logsDelete: 'logbook.logs.delete',
} as const;
export type SelfAuditAction = (typeof SELF_AUDIT_ACTIONS)[keyof typeof SELF_AUDIT_ACTIONS];

/** Who acted, as an event actor: a principal, or (for a login attempt) the user that was named. */
export type AuditActor = Principal | { kind: 'user'; id: string; name: string; tenant: string | null };

export interface SelfAuditEntry {
  actor: AuditActor;
  /** The tenant log the event goes to; default: the actor's tenant, else the default tenant. */
  tenant?: string;
  action: SelfAuditAction;
  outcome?: EventOutcome;
  target?: { type: string; id: string; name?: string };
  description: string;
  details?: Record<string, unknown>;
  context?: RequestContext;
}

const clip = (value: string | undefined, max: number) =>
  value === undefined || value.length === 0 ? undefined : value.slice(0, max);

export class SelfAudit {
  constructor(private readonly events: EventService) {}

  /** Appends one event and resolves once it is durable (the caller's answer waits for it). */
  async record(entry: SelfAuditEntry): Promise<AppendedEvent> {
    const { actor } = entry;
    const context = {
      ...(clip(entry.context?.ip, 64) ? { ip: clip(entry.context?.ip, 64) } : {}),
      ...(clip(entry.context?.userAgent, 1024) ? { userAgent: clip(entry.context?.userAgent, 1024) } : {}),
      ...(clip(entry.context?.requestId, 256) ? { requestId: clip(entry.context?.requestId, 256) } : {}),
    };
    const input: EventInput = {
      tenant: entry.tenant ?? actor.tenant ?? DEFAULT_TENANT,
      action: entry.action,
      actor: {
        id: actor.id.slice(0, 256),
        name: actor.name.slice(0, 256),
        type: actor.kind === 'api_key' ? 'api_key' : actor.kind === 'system' ? 'system' : 'user',
      },
      outcome: entry.outcome ?? 'success',
      description: entry.description.slice(0, 2000),
      details: { ...(actor.kind === 'jwt' ? { credential: 'jwt' } : {}), ...entry.details },
      ...(entry.target ? { target: entry.target } : {}),
      ...(Object.keys(context).length > 0 ? { context } : {}),
    };
    if (Object.keys(input.details ?? {}).length === 0) delete input.details;
    const [appended] = await this.events.append(SYSTEM_PRINCIPAL, [input], false);
    return appended!;
  }
}
