// The set of services an app serves, built from one store. Composition only.
import type { SigningKey } from '@logbook/protocol';
import type { Store } from '../store/store.ts';
import { EventService } from './events.ts';
import { createIdentityServices, type IdentityOptions, type IdentityServices } from './identity.ts';
import { IntegrityService, type Witness } from './integrity.ts';

/** `authenticator`, `keys`, `users`, `audit` come from IdentityServices. */
export interface Services extends IdentityServices {
  events: EventService;
  integrity: IntegrityService;
}

export interface ServiceOptions {
  /** The checkpoint signing key (start.ts loads it from LOGBOOK_SIGNING_KEY or the data dir). */
  signer: SigningKey;
  clock?: () => number;
  witnesses?: Witness[];
  onWitnessError?: (witness: string, error: unknown) => void;
  /** Login token key, outside JWT issuers, login lockout policy. */
  identity?: IdentityOptions;
}

export function createServices(store: Store, options: ServiceOptions): Services {
  const clock = options.clock ?? Date.now;
  const events = new EventService(store, clock);
  return {
    events,
    ...createIdentityServices(store, events, options.identity, clock),
    integrity: new IntegrityService(store, {
      signer: options.signer,
      clock,
      ...(options.witnesses ? { witnesses: options.witnesses } : {}),
      ...(options.onWitnessError ? { onWitnessError: options.onWitnessError } : {}),
    }),
  };
}

/** Finishes queued work before the store closes. */
export async function drainServices(services: Services): Promise<void> {
  await services.events.queue.drain();
}
