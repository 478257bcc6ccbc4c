// The checkpointer job: every interval, signs a checkpoint for each tenant log that grew. Runs one pass at a
// time; stop() waits for the running pass and makes a final one, so a clean shutdown leaves nothing unsigned.
import type { IntegrityService } from '../services/integrity.ts';

export interface Checkpointer {
  stop(): Promise<void>;
  /** Runs one pass now (used at shutdown and by tests). */
  runOnce(): Promise<number>;
}

export function startCheckpointer(
  integrity: IntegrityService,
  intervalSeconds: number,
  onError: (error: unknown) => void,
): Checkpointer {
  let running: Promise<number> | null = null;
  const runOnce = (): Promise<number> => {
    running ??= integrity.checkpointAll().finally(() => {
      running = null;
    });
    return running;
  };
  const timer =
    intervalSeconds > 0
      ? setInterval(() => {
          runOnce().catch(onError);
        }, intervalSeconds * 1000)
      : null;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      if (timer) clearInterval(timer);
      await running?.catch(() => 0);
      await runOnce();
    },
  };
}
