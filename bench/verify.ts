// Verify benchmark: `logbook verify --data-dir` over a data dir of N events written by a real `logbook serve`, run as
// a child process exactly as an operator would. Reports events/s (median of 3 runs) and the verifier's peak RSS.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateEvents } from './dataset.ts';
import { machine, median, REPO, sendAll, startLogbook, writeResults } from './lib.ts';

const RUNS = 3;
const BATCH = 1000;
const CONCURRENCY = 4;

interface VerifyRun {
  wallSeconds: number;
  /** The verifier's own timing from its JSON report (excludes process start-up and module loading). */
  reportSeconds: number;
  events: number;
  checkpoints: number;
  peakRssMiB: number;
}

/** Samples VmRSS and VmHWM (the kernel's high-water mark) of a process until it exits; returns MiB. */
function sampleRss(pid: number): { stop(): number } {
  let peakKiB = 0;
  const file = `/proc/${pid}/status`;
  const sample = () => {
    try {
      const status = fs.readFileSync(file, 'utf8');
      for (const field of ['VmRSS', 'VmHWM']) {
        const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      }
    } catch {}
  };
  const timer = setInterval(sample, 20);
  sample();
  return {
    stop() {
      clearInterval(timer);
      return Math.round(peakKiB / 1024);
    },
  };
}

async function runVerify(dataDir: string): Promise<VerifyRun> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/cli/src/main.ts', 'verify', '--data-dir', dataDir, '--json'],
    { cwd: REPO, env: { ...process.env, LOGBOOK_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const rss = sampleRss(child.pid!);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const peakRssMiB = rss.stop();
  if (code !== 0) throw new Error(`logbook verify exited with ${code}: ${out}`);
  const report = JSON.parse(out) as { ok: boolean; events: number; checkpoints: number; seconds: number };
  if (!report.ok) throw new Error(`logbook verify found tampering in a fresh data dir: ${out}`);
  return {
    wallSeconds,
    reportSeconds: report.seconds,
    events: report.events,
    checkpoints: report.checkpoints,
    peakRssMiB,
  };
}

export async function verifySuite(options: { events: number }): Promise<void> {
  const n = options.events;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-bench-verify-'));
  try {
    // Fill a fresh data dir through the real server: batches of 1000, 4 in flight; a final checkpoint at shutdown.
    const inputs = generateEvents(n);
    const bodies: Buffer[] = [];
    for (let i = 0; i < n; i += BATCH)
      bodies.push(Buffer.from(JSON.stringify({ events: inputs.slice(i, i + BATCH) })));
    const server = await startLogbook({
      LOGBOOK_DATA_DIR: dataDir,
      LOGBOOK_CHECKPOINT_INTERVAL_SECONDS: '5',
    });
    let ingestSeconds: number;
    try {
      ingestSeconds = await sendAll(`${server.url}/api/v1/events`, server.key, bodies, CONCURRENCY);
    } finally {
      await server.stop();
    }
    const dbBytes = fs.statSync(path.join(dataDir, 'logbook.db')).size;
    console.log(
      `filled ${dataDir}: ${n} events in ${ingestSeconds.toFixed(1)} s, database ${(dbBytes / 2 ** 20).toFixed(0)} MiB`,
    );

    const runs: VerifyRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = await runVerify(dataDir);
      if (run.events !== n) throw new Error(`verify checked ${run.events} events, expected ${n}`);
      runs.push(run);
      console.log(
        `verify run ${i + 1}: ${run.wallSeconds.toFixed(2)} s wall (${Math.round(n / run.wallSeconds)} events/s), ` +
          `${run.reportSeconds.toFixed(2)} s in the verifier (${Math.round(n / run.reportSeconds)} events/s), peak RSS ${run.peakRssMiB} MiB`,
      );
    }
    const wall = median(runs.map((r) => r.wallSeconds));
    const inVerifier = median(runs.map((r) => r.reportSeconds));
    const peakRssMiB = Math.max(...runs.map((r) => r.peakRssMiB));
    const row =
      `| logbook verify --data-dir, SQLite, ${n} events, ${runs[0]!.checkpoints} checkpoint(s) | ` +
      `${Math.round(n / wall)} | ${Math.round(n / inVerifier)} | ${wall.toFixed(2)} | ${peakRssMiB} |`;
    const table = [
      '| measurement | events/s (wall, whole command) | events/s (verifier only) | wall s (median of 3) | peak RSS MiB |',
      '|---|---:|---:|---:|---:|',
      row,
    ].join('\n');
    console.log(`\n${table}\n`);
    const file = writeResults(`verify-${n}`, {
      suite: 'verify',
      when: new Date().toISOString(),
      machine: machine(),
      events: n,
      databaseMiB: Math.round(dbBytes / 2 ** 20),
      ingestSeconds: +ingestSeconds.toFixed(2),
      runs: runs.map((r) => ({
        wallSeconds: +r.wallSeconds.toFixed(3),
        verifierSeconds: +r.reportSeconds.toFixed(3),
        peakRssMiB: r.peakRssMiB,
      })),
      medianWallSeconds: +wall.toFixed(3),
      eventsPerSecondWall: Math.round(n / wall),
      eventsPerSecondVerifier: Math.round(n / inVerifier),
      peakRssMiB,
      targetEventsPerSecond: 200_000,
      table,
    });
    console.log(`results written to ${path.relative(process.cwd(), file)}`);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
