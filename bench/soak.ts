// Soak: `npm run bench -- soak --minutes 10` runs a real `logbook serve` (SQLite; `--backend postgres` uses
// LOGBOOK_DATABASE_URL) under mixed load — batch and single ingest, system logs, searches, stats, live tails, exports —
// and samples the server's RSS and each operation's latency per minute. Flat memory and stable latency are the goal;
// the per-minute table goes to bench/results/soak-<backend>.json for docs/RELIABILITY.md. It never asserts: it measures.
// The server's main-thread event-loop delay is recorded per minute (bench/loop-delay.mjs): one synchronous operation
// that stalls every other shows there first. LOGBOOK_SOAK_CPU_PROF=<dir> also writes the server's CPU profile of each
// minute there (interval-<minute>.cpuprofile; interval-0 is start-up).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { machine, rssMiB, startLogbook, writeResults } from './lib.ts';

/** The searches are timed apart: an actor lookup, a full-text phrase and an action prefix cost very differently. */
type Op =
  | 'ingestBatch'
  | 'ingestOne'
  | 'logs'
  | 'searchActor'
  | 'searchText'
  | 'searchAction'
  | 'stats'
  | 'export';
const OPS = [
  'ingestBatch',
  'ingestOne',
  'logs',
  'searchActor',
  'searchText',
  'searchAction',
  'stats',
  'export',
] as const satisfies readonly Op[];

interface Minute {
  minute: number;
  /** The machine's 1-minute load average (it is shared: other work changes every latency). */
  loadAvg: number;
  rssMiB: number;
  events: number;
  errors: number;
  /** Failures by operation and status, e.g. "ingestOne 503". */
  failed: Record<string, number>;
  tailEvents: number;
  /** The server's event-loop delay this minute, ms (p50, p99, max). */
  loopDelay: { p50: number; p99: number; max: number };
  /** Full exports finished this minute: rows streamed. */
  exportRows: number;
  p50: Record<Op, number>;
  p99: Record<Op, number>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(
  url: string,
  key: string,
  method: string,
  body?: string,
): Promise<{ status: number; bytes: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
      },
    });
    req.on('response', (res) => {
      let bytes = 0;
      let lines = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, lines }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! * 10) / 10;
};

/** The server's event-loop delay since the last call: SIGUSR2 makes bench/loop-delay.mjs append one line. */
async function loopDelay(pid: number, file: string): Promise<Minute['loopDelay']> {
  const count = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').length - 1 : 0);
  const before = count();
  process.kill(pid, 'SIGUSR2');
  // The handler runs on the server's loop: as late as the loop is blocked.
  for (const deadline = Date.now() + 60_000; count() === before && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 50));
  const last = fs.readFileSync(file, 'utf8').trimEnd().split('\n').at(-1);
  const { p50, p99, max } = JSON.parse(last ?? '{}') as Minute['loopDelay'];
  return { p50, p99, max };
}

/** One live tail held open for the whole run, counting the events it receives. */
function tail(url: string, key: string, counter: { n: number }, signal: AbortSignal): void {
  const req = http.request(`${url}/api/v1/events/tail`, {
    headers: { authorization: `Bearer ${key}` },
    signal,
  });
  req.on('response', (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      counter.n += chunk.split('\ndata:').length - 1 + (chunk.startsWith('data:') ? 1 : 0);
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end();
}

export async function soakSuite(options: { minutes: number; backend: 'sqlite' | 'postgres' }): Promise<void> {
  const loopDelayFile = path.join(
    fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-soak-')),
    'loop-delay.ndjson',
  );
  const preload = new URL('./loop-delay.mjs', import.meta.url).href;
  const profileDir = process.env.LOGBOOK_SOAK_CPU_PROF;
  const env: Record<string, string> = {
    LOGBOOK_BENCH_LOOP_DELAY_FILE: loopDelayFile,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${preload}`,
    ...(profileDir ? { LOGBOOK_BENCH_CPU_PROF: path.resolve(profileDir) } : {}),
  };
  if (options.backend === 'postgres') {
    if (!process.env.LOGBOOK_DATABASE_URL) throw new Error('--backend postgres needs LOGBOOK_DATABASE_URL');
    env.LOGBOOK_DATABASE_URL = process.env.LOGBOOK_DATABASE_URL;
  }
  const server = await startLogbook(env);
  const pid = server.child.pid!;
  const { url, key } = server;
  const end = Date.now() + options.minutes * 60_000;
  const minutes: Minute[] = [];
  let current = {
    lat: new Map<Op, number[]>(),
    events: 0,
    errors: 0,
    exportRows: 0,
    failed: {} as Record<string, number>,
  };
  const tailCounter = { n: 0 };
  const abort = new AbortController();
  for (let i = 0; i < 4; i++) tail(url, key, tailCounter, abort.signal);

  let n = 0;
  const timed = async (op: Op, run: () => Promise<{ status: number; lines: number }>, ok: number) => {
    const started = performance.now();
    try {
      const { status, lines } = await run();
      if (op === 'export') current.exportRows += lines;
      if (status !== ok) {
        current.errors++;
        current.failed[`${op} ${status}`] = (current.failed[`${op} ${status}`] ?? 0) + 1;
      }
    } catch {
      current.errors++;
      current.failed[`${op} network`] = (current.failed[`${op} network`] ?? 0) + 1;
    }
    const list = current.lat.get(op) ?? [];
    list.push(performance.now() - started);
    current.lat.set(op, list);
  };
  const event = (i: number) => ({
    action: ['user.login', 'invoice.pay', 'record.update'][i % 3],
    actor: { id: `user-${i % 500}` },
    target: { type: 'invoice', id: `inv-${i}` },
    description: `soak event ${i} for invoice inv-${i}`,
    details: { i, amount: i % 1000 },
  });
  // Writers: 4 batch writers (100 events), 4 single-event writers, 2 system-log writers.
  const writer = async (op: Op) => {
    while (Date.now() < end) {
      if (op === 'ingestBatch') {
        const body = JSON.stringify({ events: Array.from({ length: 100 }, () => event(n++)) });
        await timed(op, () => request(`${url}/api/v1/events`, key, 'POST', body), 201);
        current.events += 100;
      } else if (op === 'ingestOne') {
        await timed(op, () => request(`${url}/api/v1/events`, key, 'POST', JSON.stringify(event(n++))), 201);
        current.events += 1;
      } else {
        const body = JSON.stringify({
          logs: Array.from({ length: 50 }, (_, j) => ({
            level: 'INFO',
            service: 'soak',
            message: `line ${j}`,
          })),
        });
        await timed(op, () => request(`${url}/api/v1/logs`, key, 'POST', body), 201);
      }
    }
  };
  // Readers: searches and stats continuously, a full export every 30 s.
  const reader = async (op: Op | 'search') => {
    while (Date.now() < end) {
      if (op === 'search') {
        const kind = (['searchActor', 'searchText', 'searchAction'] as const)[n % 3]!;
        const q = {
          searchActor: `actor=user-${n % 500}`,
          searchText: `q=inv-${Math.max(0, n - 50)}`,
          searchAction: 'action=invoice.*&limit=100',
        }[kind];
        await timed(kind, () => request(`${url}/api/v1/events?${q}`, key, 'GET'), 200);
      } else if (op === 'stats') {
        await timed(op, () => request(`${url}/api/v1/events/stats`, key, 'GET'), 200);
        await new Promise((r) => setTimeout(r, 500));
      } else {
        // The whole log, streamed: its size grows through the run, the server's memory must not.
        await timed(op, () => request(`${url}/api/v1/events/export?format=ndjson`, key, 'GET'), 200);
        await new Promise((r) => setTimeout(r, 30_000));
      }
    }
  };
  const started = Date.now();
  await loopDelay(pid, loopDelayFile); // starts the first minute's interval
  const sampling: Promise<void>[] = [];
  const sample = async () => {
    const lat = current.lat;
    const pending = loopDelay(pid, loopDelayFile);
    const row: Minute = {
      minute: minutes.length + 1,
      loadAvg: Math.round(os.loadavg()[0]! * 10) / 10,
      rssMiB: rssMiB(pid),
      events: current.events,
      errors: current.errors,
      failed: current.failed,
      tailEvents: tailCounter.n,
      loopDelay: { p50: 0, p99: 0, max: 0 },
      exportRows: current.exportRows,
      p50: Object.fromEntries(OPS.map((op) => [op, percentile(lat.get(op) ?? [], 50)])) as Record<Op, number>,
      p99: Object.fromEntries(OPS.map((op) => [op, percentile(lat.get(op) ?? [], 99)])) as Record<Op, number>,
    };
    minutes.push(row);
    tailCounter.n = 0;
    current = { lat: new Map(), events: 0, errors: 0, exportRows: 0, failed: {} };
    row.loopDelay = await pending;
    console.log(
      `minute ${row.minute}: load ${row.loadAvg}, RSS ${row.rssMiB} MiB, ${row.events} events, ${row.errors} errors ${JSON.stringify(row.failed)}, tail ${row.tailEvents}, ` +
        `loop delay p50/p99/max ms ${row.loopDelay.p50}/${row.loopDelay.p99}/${row.loopDelay.max}, exported ${row.exportRows} rows; ` +
        `p50/p99 ms ${OPS.map((op) => `${op} ${row.p50[op]}/${row.p99[op]}`).join(', ')}`,
    );
  };
  const sampler = setInterval(() => sampling.push(sample()), 60_000);
  await Promise.all([
    ...Array.from({ length: 4 }, () => writer('ingestBatch')),
    ...Array.from({ length: 4 }, () => writer('ingestOne')),
    ...Array.from({ length: 2 }, () => writer('logs')),
    ...Array.from({ length: 2 }, () => reader('search')),
    reader('stats'),
    reader('export'),
  ]);
  clearInterval(sampler);
  await Promise.all(sampling);
  abort.abort();
  const peak = server.peakRssMiB();
  await server.stop();
  fs.rmSync(path.dirname(loopDelayFile), { recursive: true, force: true });
  // Short (profiling) runs keep their own file: the 10-minute results are what the docs quote.
  const name =
    options.minutes === 10 ? `soak-${options.backend}` : `soak-${options.backend}-${options.minutes}min`;
  const file = writeResults(name, {
    suite: 'soak',
    backend: options.backend,
    minutes: options.minutes,
    elapsedS: Math.round((Date.now() - started) / 1000),
    machine: machine(),
    peakRssMiB: peak,
    perMinute: minutes,
  });
  console.log(`soak: peak RSS ${peak} MiB; results in ${file}`);
}
