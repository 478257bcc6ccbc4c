// Counts turns of the event loop, for tests that must show work yields to other callbacks (or never blocks them)
// without timing anything: a turn is one check phase, where setImmediate callbacks run.

/** Counts loop turns from now until stop(). */
export function loopTurns(): { readonly count: number; stop(): void } {
  let count = 0;
  let running = true;
  const tick = () => {
    count++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get count() {
      return count;
    },
    stop() {
      running = false;
    },
  };
}
