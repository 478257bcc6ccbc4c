// The set of services an app serves, built from one store. Composition only.
import type { Store } from '../store/store.ts';
import { EventService } from './events.ts';

export interface Services {
  events: EventService;
}

export function createServices(store: Store, clock: () => number = Date.now): Services {
  return { events: new EventService(store, clock) };
}

/** Finishes queued work before the store closes. */
export async function drainServices(services: Services): Promise<void> {
  await services.events.queue.drain();
}
