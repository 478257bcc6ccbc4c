// Node-only helper (import from "@logbook/sdk/node"): sends a batcher's queued events before the process ends. Opt-in,
// because a library must not take over a process's signal handling unasked. It must never keep a process alive past
// `timeoutMs`, nor swallow the signal: after flushing, the signal's default action (exit) still happens.
import type { EventBatcher } from './batcher.ts';

export interface FlushOnExitOptions {
  /** Longest wait for the flush at exit (default 5000 ms): a dead server must not hang a shutdown. */
  timeoutMs?: number;
  /** Signals to flush on before exiting (default SIGINT, SIGTERM). */
  signals?: NodeJS.Signals[];
}

/**
 * Flushes `batcher` when the event loop empties (`beforeExit`) and on SIGINT/SIGTERM (then exits as the signal
 * would). Returns a function that removes the hooks.
 */
export function flushOnExit(
  batcher: Pick<EventBatcher, 'close' | 'flush' | 'pending'>,
  options: FlushOnExitOptions = {},
) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const within = (work: Promise<void>) =>
    Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]);

  const onBeforeExit = () => {
    // beforeExit fires again after the flush's own work ends: only flush while something is pending.
    if (batcher.pending > 0) void within(batcher.flush());
  };
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    void within(batcher.close()).finally(() => process.kill(process.pid, signal));
  };
  process.on('beforeExit', onBeforeExit);
  for (const signal of signals) process.once(signal, onSignal);

  function remove() {
    process.off('beforeExit', onBeforeExit);
    for (const signal of signals) process.off(signal, onSignal);
  }
  return remove;
}
