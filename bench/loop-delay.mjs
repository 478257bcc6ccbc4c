// Preloaded into the soak's `logbook serve` (NODE_OPTIONS=--import): records the main thread's event-loop delay and,
// on SIGUSR2, appends that interval's percentiles to LOGBOOK_BENCH_LOOP_DELAY_FILE (and, with
// LOGBOOK_BENCH_CPU_PROF=<dir>, writes that interval's CPU profile there). It must never touch the server.
// Plain JavaScript: NODE_OPTIONS imports run before tsx's loader is registered; --cpu-prof is refused there.
import fs from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env.LOGBOOK_BENCH_LOOP_DELAY_FILE;
if (file && isMainThread) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const profileDir = process.env.LOGBOOK_BENCH_CPU_PROF;
  const session = profileDir ? new Session() : null;
  let interval = 0;
  if (session) {
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.start');
  }
  process.on('SIGUSR2', () => {
    if (session) {
      const n = interval++;
      session.post('Profiler.stop', (error, result) => {
        if (!error)
          fs.writeFileSync(path.join(profileDir, `interval-${n}.cpuprofile`), JSON.stringify(result.profile));
        session.post('Profiler.start');
      });
    }
    const line = {
      at: Date.now(),
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
    };
    histogram.reset();
    fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}
