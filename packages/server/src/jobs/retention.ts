// The retention job: every interval, applies each tenant stream's retention policy (RetentionService.run). One
// pass at a time; stop() waits for a running pass. It never deletes by itself: the service redacts.
import type { RetentionRunResult, RetentionService } from '../services/retention.ts';

export interface RetentionJob {
  stop(): Promise<void>;
  /** Runs one pass now (tests, and the first pass shortly after start). */
  runOnce(): Promise<RetentionRunResult>;
}

export function startRetentionJob(
  retention: RetentionService,
  intervalSeconds: number,
  onError: (error: unknown) => void,
  onRun: (result: RetentionRunResult) => void = () => {},
): RetentionJob {
  let running: Promise<RetentionRunResult> | null = null;
  const runOnce = (): Promise<RetentionRunResult> => {
    running ??= retention
      .run()
      .then((result) => {
        onRun(result);
        return result;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const tick = () => {
    runOnce().catch(onError);
  };
  // A first pass a few minutes after start (not during it: startup and short-lived runs stay untouched), then every
  // interval.
  const first = intervalSeconds > 0 ? setTimeout(tick, Math.min(intervalSeconds, 300) * 1000) : null;
  const timer = intervalSeconds > 0 ? setInterval(tick, intervalSeconds * 1000) : null;
  first?.unref();
  timer?.unref();
  return {
    runOnce,
    async stop() {
      if (first) clearTimeout(first);
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
