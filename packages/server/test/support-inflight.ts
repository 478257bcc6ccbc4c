// Watches one async method of a real store for tests of the group-commit queue: how many calls were in flight at once.
// The store itself is untouched; the watched object delegates everything else to it.

/** A view of `store` whose `method` counts the calls in flight; `most` is the highest count since the last reset. */
export function watchInFlight<S extends object>(
  store: S,
  method: keyof S & string,
): { watched: S; readonly most: number; reset(): void } {
  const original = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store);
  const watched = Object.create(store) as S;
  let now = 0;
  let most = 0;
  Object.assign(watched, {
    [method]: async (...args: unknown[]) => {
      most = Math.max(most, ++now);
      try {
        return await original(...args);
      } finally {
        now--;
      }
    },
  });
  return {
    watched,
    get most() {
      return most;
    },
    reset() {
      most = 0;
    },
  };
}
