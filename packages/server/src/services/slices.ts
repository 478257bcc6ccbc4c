// Maps a request's items in slices, with a turn of the event loop between slices, so one large request cannot hold
// the loop while a database answer or another request waits. It must never change what is computed or in what order.
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Items per slice. Preparing 100 events is 1.5–4 ms of CPU on this project's machine; a whole 1,000-event request was
 * 15–40 ms, during which a group commit's answer from PostgreSQL sat unread with the tenant rows locked.
 */
export const ITEMS_PER_SLICE = 100;

/** `items.map(map)`, yielding to the event loop after every `perSlice` items (never for a request this small). */
export async function mapInSlices<T, R>(
  items: readonly T[],
  map: (item: T, index: number) => R,
  perSlice = ITEMS_PER_SLICE,
): Promise<R[]> {
  const mapped: R[] = [];
  for (let index = 0; index < items.length; index++) {
    if (index > 0 && index % perSlice === 0) await nextTurn();
    mapped.push(map(items[index]!, index));
  }
  return mapped;
}
