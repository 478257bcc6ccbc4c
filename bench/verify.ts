// Verify benchmark: `logbook verify --data-dir` over a data dir of N events written by a real `logbook serve`, run as
// a child process exactly as an operator would, then verifyStore in-process (one child, three runs: the issue 11
// measure). Reports events/s (medians of 3), CPU time (the machine is shared: wall time alone says little), the load
// average at each run, and the verifier's peak RSS. LOGBOOK_BENCH_REPO runs another checkout's verifier on the same
// data (before/after comparisons in one session). Run as a script, this file is that in-process child.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateEvents } from './dataset.ts';
import { machine, median, REPO, sendAll, startLogbook, writeResults } from './lib.ts';

const RUNS = 3;
/** The checkout whose verifier runs (the data is always written by this one's server). */
const VERIFIER_REPO = process.env.LOGBOOK_BENCH_REPO ? path.resolve(process.env.LOGBOOK_BENCH_REPO) : REPO;
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

/** A child's exit code and everything it wrote to stdout. */
async function outputOf(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, out };
}

async function runVerify(dataDir: string): Promise<VerifyRun> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/cli/src/main.ts', 'verify', '--data-dir', dataDir, '--json'],
    {
      cwd: VERIFIER_REPO,
      env: { ...process.env, LOGBOOK_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const rss = sampleRss(child.pid!);
  const { code, out } = await outputOf(child);
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

/** One in-process verifyStore run, as the child reports it. */
interface InProcessRun {
  wallSeconds: number;
  /** User + system time of the whole process (every thread) during the run. */
  cpuSeconds: number;
  /** The main thread's own CPU time (Linux), null elsewhere. */
  mainThreadCpuSeconds: number | null;
  /** One-minute load average when the run started. */
  load: number;
  events: number;
}

/** CPU seconds of this process's main thread from /proc (clock ticks of 10 ms); null where there is no /proc. */
function mainThreadCpu(): number | null {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The child: verifyStore over `dataDir` RUNS times in this process, a fresh read-only store each time. */
async function inProcessChild(dataDir: string): Promise<void> {
  const server = `${VERIFIER_REPO}/packages/server/src`;
  const { openSqliteStore } = await import(`${server}/store/sqlite/sqlite-store.ts`);
  const { verifyStore } = await import(`${server}/services/verifier.ts`);
  const key = fs.readFileSync(path.join(dataDir, 'checkpoint-signing.pub'), 'utf8').trim();
  const runs: InProcessRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const store = openSqliteStore(dataDir, { readonly: true });
    const load = os.loadavg()[0]!;
    const cpu = process.cpuUsage();
    const main = mainThreadCpu();
    const started = performance.now();
    const report = await verifyStore(store, { verifierKeys: [key] });
    const wallSeconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const mainAfter = mainThreadCpu();
    await store.close();
    if (!report.ok)
      throw new Error(`verifyStore found tampering in a fresh data dir: ${JSON.stringify(report.findings)}`);
    runs.push({
      wallSeconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      mainThreadCpuSeconds: main === null || mainAfter === null ? null : mainAfter - main,
      load,
      events: report.events,
    });
  }
  process.stdout.write(JSON.stringify(runs));
}

async function runInProcess(dataDir: string): Promise<InProcessRun[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench/verify.ts'), dataDir], {
    cwd: VERIFIER_REPO,
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { code, out } = await outputOf(child);
  if (code !== 0) throw new Error(`in-process verify exited with ${code}: ${out}`);
  return JSON.parse(out) as InProcessRun[];
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

    const inProcess = await runInProcess(dataDir);
    for (const [i, run] of inProcess.entries()) {
      if (run.events !== n) throw new Error(`in-process verify checked ${run.events} events, expected ${n}`);
      console.log(
        `in-process run ${i + 1}: ${run.wallSeconds.toFixed(2)} s (${Math.round(n / run.wallSeconds)} events/s), ` +
          `CPU ${run.cpuSeconds.toFixed(2)} s (main thread ${run.mainThreadCpuSeconds?.toFixed(2) ?? '?'} s), load ${run.load.toFixed(2)}`,
      );
    }
    const inProcessWall = median(inProcess.map((r) => r.wallSeconds));
    const inProcessCpu = median(inProcess.map((r) => r.cpuSeconds));
    const loads = [...inProcess.map((r) => r.load)].map((l) => l.toFixed(1)).join('/');
    const row =
      `| logbook verify --data-dir, SQLite, ${n} events, ${runs[0]!.checkpoints} checkpoint(s) | ` +
      `${Math.round(n / wall)} | ${Math.round(n / inVerifier)} | ${wall.toFixed(2)} | ${peakRssMiB} |`;
    const table = [
      '| measurement | events/s (wall, whole command) | events/s (verifier only) | wall s (median of 3) | peak RSS MiB |',
      '|---|---:|---:|---:|---:|',
      row,
      `| verifyStore in-process, 3 runs in one process (load ${loads}) | | ${Math.round(n / inProcessWall)} | ${inProcessWall.toFixed(2)} | |`,
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
      inProcess: {
        runs: inProcess.map((r) => ({
          wallSeconds: +r.wallSeconds.toFixed(3),
          cpuSeconds: +r.cpuSeconds.toFixed(3),
          mainThreadCpuSeconds: r.mainThreadCpuSeconds === null ? null : +r.mainThreadCpuSeconds.toFixed(2),
          load: +r.load.toFixed(2),
        })),
        medianWallSeconds: +inProcessWall.toFixed(3),
        medianCpuSeconds: +inProcessCpu.toFixed(3),
        eventsPerSecond: Math.round(n / inProcessWall),
      },
      ...(VERIFIER_REPO !== REPO ? { verifierRepo: VERIFIER_REPO } : {}),
      targetEventsPerSecond: 200_000,
      table,
    });
    console.log(`results written to ${path.relative(process.cwd(), file)}`);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  await inProcessChild(process.argv[2]!);
