// The set of services an app serves, built from one store. Composition only.
import type { SigningKey } from '@logbook/protocol';
import type { Store } from '../store/store.ts';
import { DEFAULT_QUEUE_OPTIONS } from './append-queue.ts';
import { ArchiveService } from './archive.ts';
import { EventService } from './events.ts';
import { createIdentityServices, type IdentityOptions, type IdentityServices } from './identity.ts';
import { IntegrityService, type Witness } from './integrity.ts';
import { LogService } from './logs.ts';
import { EventRedaction } from './redaction.ts';
import { logPurger, RetentionService } from './retention.ts';
import { type TailOptions, TailService } from './tail.ts';

/** `authenticator`, `keys`, `users`, `audit` come from IdentityServices. */
export interface Services extends IdentityServices {
  events: EventService;
  integrity: IntegrityService;
  redaction: EventRedaction;
  retention: RetentionService;
  logs: LogService;
  tail: TailService;
}

export interface ServiceOptions {
  /** The checkpoint signing key (start.ts loads it from LOGBOOK_SIGNING_KEY or the data dir). */
  signer: SigningKey;
  clock?: () => number;
  witnesses?: Witness[];
  onWitnessError?: (witness: string, error: unknown) => void;
  /** Login token key, outside JWT issuers, login lockout policy. */
  identity?: IdentityOptions;
  /** LOGBOOK_RETENTION_DAYS: retention of tenant streams without a policy of their own (default 45; 0 = forever). */
  retentionDays?: number;
  /** Retention archives audit events here before deleting their payloads (LOGBOOK_ARCHIVE_DIR; unset: no archive). */
  archiveDir?: string;
  /** Live tail polling (services/tail.ts). */
  tail?: TailOptions;
  /** Audit events waiting for their commit at most; beyond it appends get 503 + Retry-After (back-pressure). */
  ingestQueueMaxEvents?: number;
}

export function createServices(store: Store, options: ServiceOptions): Services {
  const clock = options.clock ?? Date.now;
  const events = new EventService(
    store,
    clock,
    options.ingestQueueMaxEvents
      ? {
          maxPendingEvents: options.ingestQueueMaxEvents,
          maxEventsPerCommit: Math.min(
            DEFAULT_QUEUE_OPTIONS.maxEventsPerCommit,
            options.ingestQueueMaxEvents,
          ),
        }
      : undefined,
  );
  const identity = createIdentityServices(store, events, options.identity, clock);
  const redaction = new EventRedaction(store, identity.audit);
  events.useRedaction(redaction);
  const logs = new LogService(store, clock, identity.audit);
  const tail = new TailService(store, options.tail);
  // Commits wake the live tails of their tenants at once (other processes' writes are found by polling).
  events.queue.onCommit = (_requests, results) => {
    const tenants = new Set<string>();
    for (const result of results) if (result.ok) for (const row of result.rows) tenants.add(row.tenant);
    for (const tenant of tenants) tail.hub.notify('events', tenant);
  };
  logs.queue.onCommit = (requests) => {
    for (const tenant of new Set(requests.flat().map((e) => e.tenant))) tail.hub.notify('logs', tenant);
  };
  const integrity = new IntegrityService(store, {
    signer: options.signer,
    clock,
    ...(options.witnesses ? { witnesses: options.witnesses } : {}),
    ...(options.onWitnessError ? { onWitnessError: options.onWitnessError } : {}),
  });
  return {
    logs,
    tail,
    events,
    ...identity,
    redaction,
    retention: new RetentionService(store, events, identity.audit, {
      clock,
      streams: [logPurger(logs)],
      ...(options.retentionDays !== undefined ? { defaultDays: options.retentionDays } : {}),
      archive: options.archiveDir
        ? new ArchiveService(store, integrity, options.archiveDir, options.signer, clock)
        : null,
    }),
    integrity,
  };
}

/** Finishes queued work before the store closes. */
export async function drainServices(services: Services): Promise<void> {
  await services.events.queue.drain();
  await services.logs.queue.drain();
}
