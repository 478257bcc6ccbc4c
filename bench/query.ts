// Query-latency suite at scale: loads N seeded events through HTTP into a real `logbook serve` (recording the
// sustained ingest rate, CPU per event and RSS as the store grows), then times the main read paths over HTTP with
// p50/p95/p99. LOGBOOK_BENCH_DATA_DIR keeps the loaded dataset for later runs; nothing here writes outside it or /tmp.
// LOGBOOK_BENCH_COLD (a shell command that empties the caches, e.g. the OS page cache and PostgreSQL's buffers)
// times each query cold instead: the command and a fresh server before each case, no warm-up, distinct parameters.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { orderKeyFloor } from '../packages/server/src/domain/time.ts';
import { encodeCursor } from '../packages/server/src/query/cursor.ts';
import { generateEventBatches, rng } from './dataset.ts';
import { freshDatabase, serverUrl } from './ingest-postgres.ts';
import {
  getJson,
  machine,
  processCpuMs,
  rssMiB,
  type ServerHandle,
  sendAll,
  startLogbook,
  writeResults,
} from './lib.ts';

const BATCH = 1000;
const CONCURRENCY = 4;
/** Dataset events are 250 ms apart (bench/dataset.ts). */
const SPACING_MS = 250;
const TIMED_RUNS = 200;
const WARM_UP_RUNS = 10;
/** Cold runs per case: each reads rows no earlier run of the case read (samples are distinct), few enough to stay cold. */
const COLD_RUNS = 30;

interface Sample {
  actor: string;
  targetType: string;
  targetId: string;
  occurredMs: number;
}

/** What a data dir holds besides the store, so a later run can reuse the dataset and ask the same questions. */
interface DatasetNote {
  backend: 'sqlite' | 'postgres';
  events: number;
  startMs: number;
  databaseUrl?: string;
  samples: Sample[];
  load: LoadSegment[];
}

interface LoadSegment {
  storedEvents: number;
  eventsPerSecond: number;
  eventLoopCpuUsPerEvent: number;
  otherThreadsCpuUsPerEvent: number;
  rssMiB: number;
  storeMiB: number;
  loadAverage: number;
}

function dirMiB(dir: string): number {
  let bytes = 0;
  for (const name of fs.readdirSync(dir)) {
    const stat = fs.statSync(path.join(dir, name));
    if (stat.isFile()) bytes += stat.size;
  }
  return Math.round(bytes / 2 ** 20);
}

async function storeMiB(note: DatasetNote, dataDir: string): Promise<number> {
  if (note.backend === 'sqlite') return dirMiB(dataDir);
  const client = new pg.Client({ connectionString: note.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n');
    return Math.round(Number(rows[0]!.n) / 2 ** 20);
  } finally {
    await client.end();
  }
}

/** Streams the dataset through HTTP in segments, measuring each: the rate as the store grows is the point. */
async function load(server: ServerHandle, note: DatasetNote, dataDir: string): Promise<void> {
  const segment = Math.max(100_000, Math.ceil(note.events / 10 / BATCH) * BATCH);
  const batches = generateEventBatches(note.events, BATCH, 42, note.startMs);
  const sampleRandom = rng(7);
  let stored = 0;
  while (stored < note.events) {
    const size = Math.min(segment, note.events - stored);
    let taken = 0;
    const bodies = (function* () {
      while (taken < size) {
        const next = batches.next();
        if (next.done) return;
        taken += next.value.length;
        // A few real events per batch become query parameters: every actor or target asked for exists.
        for (let i = 0; i < 2; i++) {
          const event = next.value[Math.floor(sampleRandom() * next.value.length)]!;
          note.samples.push({
            actor: event.actor.id,
            targetType: event.target!.type!,
            targetId: event.target!.id!,
            occurredMs: Date.parse(event.occurredAt!),
          });
        }
        yield Buffer.from(JSON.stringify({ events: next.value }));
      }
    })();
    const pid = server.child.pid!;
    const cpuBefore = processCpuMs(pid);
    const seconds = await sendAll(`${server.url}/api/v1/events`, server.key, bodies, CONCURRENCY);
    const cpuAfter = processCpuMs(pid);
    stored += taken;
    const perEvent = (ms: number) => Math.round((ms * 1000) / taken);
    const eventLoop = perEvent(cpuAfter.mainThread - cpuBefore.mainThread);
    const row: LoadSegment = {
      storedEvents: stored,
      eventsPerSecond: Math.round(taken / seconds),
      eventLoopCpuUsPerEvent: eventLoop,
      otherThreadsCpuUsPerEvent: perEvent(cpuAfter.total - cpuBefore.total) - eventLoop,
      rssMiB: rssMiB(pid),
      storeMiB: await storeMiB(note, dataDir),
      loadAverage: +os.loadavg()[0]!.toFixed(2),
    };
    note.load.push(row);
    console.log(
      `  ${stored} stored: ${row.eventsPerSecond} events/s, CPU ${row.eventLoopCpuUsPerEvent} + ${row.otherThreadsCpuUsPerEvent} µs/event, RSS ${row.rssMiB} MiB, store ${row.storeMiB} MiB, load ${row.loadAverage}`,
    );
  }
}

interface QueryCase {
  name: string;
  /** The i-th URL to time: parameters vary per run so caches of one answer do not flatter the figures. */
  url(i: number): string;
}

function queryCases(note: DatasetNote): QueryCase[] {
  const samples = note.samples;
  const sample = (i: number) => samples[(i * 7919) % samples.length]!;
  const endMs = note.startMs + note.events * SPACING_MS;
  const iso = (ms: number) => new Date(ms).toISOString();
  const deepKey = (i: number) =>
    orderKeyFloor(note.startMs + ((note.events * SPACING_MS) / 2) * (1 + (i % 10) / 20));
  const q = (s: string) => encodeURIComponent(s);
  return [
    { name: 'newest page (50)', url: () => '/api/v1/events?limit=50' },
    {
      name: 'deep cursor page (50), unfiltered',
      url: (i) => `/api/v1/events?limit=50&cursor=${encodeCursor(deepKey(i), 'desc')}`,
    },
    {
      name: 'actor + time range (1 day)',
      url: (i) => {
        const s = sample(i);
        return `/api/v1/events?actor=${q(s.actor)}&from=${iso(s.occurredMs - 12 * 3_600_000)}&to=${iso(s.occurredMs + 12 * 3_600_000)}&limit=50`;
      },
    },
    {
      // A walk through a time window (an export, "load more" in a filtered view): its last pages, by the cursor.
      name: 'time range (1 day), deep cursor page',
      url: (i) => {
        const fromMs = sample(i).occurredMs - 12 * 3_600_000;
        const cursor = encodeCursor(orderKeyFloor(fromMs + 3_600_000), 'desc');
        return `/api/v1/events?from=${iso(fromMs)}&to=${iso(fromMs + 86_400_000)}&limit=50&cursor=${cursor}`;
      },
    },
    { name: 'actor, newest page', url: (i) => `/api/v1/events?actor=${q(sample(i).actor)}&limit=50` },
    {
      name: 'target history',
      url: (i) =>
        `/api/v1/events?targetType=${q(sample(i).targetType)}&targetId=${q(sample(i).targetId)}&limit=50`,
    },
    {
      name: 'action filter (exact)',
      url: (i) =>
        `/api/v1/events?action=${['invoice', 'user', 'order', 'ticket', 'payment'][i % 5]}.approve&limit=50`,
    },
    { name: 'action prefix (payment.*)', url: () => '/api/v1/events?action=payment.*&limit=50' },
    {
      name: 'action filter, deep cursor page',
      url: (i) => `/api/v1/events?action=order.update&limit=50&cursor=${encodeCursor(deepKey(i), 'desc')}`,
    },
    { name: 'full-text rare term (zanzibar)', url: () => '/api/v1/events?q=zanzibar&limit=50' },
    {
      name: 'full-text common term, newest first',
      url: (i) => `/api/v1/events?q=${['alpha', 'bravo', 'charlie', 'delta'][i % 4]}&limit=50`,
    },
    {
      name: 'full-text common term, deep cursor page',
      url: (i) => `/api/v1/events?q=alpha&limit=50&cursor=${encodeCursor(deepKey(i), 'desc')}`,
    },
    { name: 'full-text two common terms (AND)', url: () => '/api/v1/events?q=alpha%20bravo&limit=50' },
    {
      name: 'full-text common term + actor',
      url: (i) => `/api/v1/events?q=alpha&actor=${q(sample(i).actor)}&limit=50`,
    },
    { name: 'stats (default 30 days)', url: () => '/api/v1/events/stats' },
    {
      // What a dashboard asks most: yesterday's closed sums and today's, with today's actors ranked against them.
      name: 'stats, last 24 hours',
      url: () => `/api/v1/events/stats?from=${iso(Date.now() - 86_400_000)}&to=${iso(Date.now())}`,
    },
    {
      name: 'stats, one day',
      url: (i) => {
        const from = note.startMs + (i % 5) * 86_400_000;
        return `/api/v1/events/stats?from=${iso(Math.min(from, endMs - 86_400_000))}&to=${iso(Math.min(from + 86_400_000, endMs))}`;
      },
    },
  ];
}

interface QueryTiming {
  name: string;
  example: string;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  rows: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!;

/**
 * Times every case on `server`; with `cold`, each case first runs the command and gets a fresh server from
 * `restart` (whose caches are empty too), and is timed without warm-up.
 */
async function timeQueries(
  server: ServerHandle,
  note: DatasetNote,
  cold?: { restart: () => Promise<ServerHandle> },
): Promise<QueryTiming[]> {
  const timings: QueryTiming[] = [];
  const runs = cold ? COLD_RUNS : TIMED_RUNS;
  for (const c of queryCases(note)) {
    if (cold) server = await cold.restart();
    else {
      for (let i = 0; i < WARM_UP_RUNS; i++) await getJson(`${server.url}${c.url(i)}`, server.key);
    }
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const body = await getJson<{ data?: unknown[] }>(`${server.url}${c.url(i)}`, server.key);
      times.push(performance.now() - started);
      rows += body.data?.length ?? 1;
    }
    times.sort((a, b) => a - b);
    const ms = (v: number) => +v.toFixed(2);
    const timing = {
      name: c.name,
      example: c.url(1),
      p50Ms: ms(percentile(times, 0.5)),
      p95Ms: ms(percentile(times, 0.95)),
      p99Ms: ms(percentile(times, 0.99)),
      maxMs: ms(times[times.length - 1]!),
      rows: Math.round(rows / runs),
    };
    timings.push(timing);
    console.log(
      `  ${c.name}: p50 ${timing.p50Ms} ms, p95 ${timing.p95Ms} ms, p99 ${timing.p99Ms} ms (${timing.rows} rows)`,
    );
  }
  return timings;
}

export async function querySuite(options: {
  events: number;
  backend?: 'sqlite' | 'postgres';
}): Promise<void> {
  const backend = options.backend ?? 'sqlite';
  const n = options.events;
  const keep = process.env.LOGBOOK_BENCH_DATA_DIR;
  const dataDir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-query-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const noteFile = path.join(dataDir, 'bench-dataset.json');
  const previous = fs.existsSync(noteFile)
    ? (JSON.parse(fs.readFileSync(noteFile, 'utf8')) as DatasetNote)
    : null;
  if (previous && (previous.backend !== backend || previous.events !== n)) {
    throw new Error(
      `${dataDir} holds ${previous.events} ${previous.backend} events; use another LOGBOOK_BENCH_DATA_DIR`,
    );
  }
  const database = backend === 'postgres' && !previous ? await freshDatabase(serverUrl()) : null;
  const note: DatasetNote = previous ?? {
    backend,
    events: n,
    // The dataset ends now, so that it falls inside the default stats window and the current partitions.
    startMs: Date.now() - n * SPACING_MS,
    ...(database ? { databaseUrl: database.url } : {}),
    samples: [],
    load: [],
  };
  const start = () =>
    startLogbook(
      backend === 'sqlite' ? { LOGBOOK_DATA_DIR: dataDir } : { LOGBOOK_DATABASE_URL: note.databaseUrl! },
    );
  let server = await start();
  const coldCommand = process.env.LOGBOOK_BENCH_COLD;
  if (coldCommand && !previous) throw new Error('LOGBOOK_BENCH_COLD times a kept dataset: load it first');
  let queries: QueryTiming[] = [];
  let queryPeakRss = 0;
  try {
    if (!previous) {
      console.log(`loading ${n} events over HTTP (batch ${BATCH}, ${CONCURRENCY} clients) into ${backend}:`);
      await load(server, note, dataDir);
      fs.writeFileSync(noteFile, JSON.stringify(note));
    } else console.log(`reusing ${n} ${backend} events in ${dataDir}`);
    if (backend === 'postgres') {
      // Statistics as autovacuum would have them after a load this size.
      const client = new pg.Client({ connectionString: note.databaseUrl });
      await client.connect();
      await client.query('ANALYZE');
      await client.end();
    }
    server.resetPeakRss();
    if (coldCommand) {
      console.log(`queries over HTTP, 1 client, ${COLD_RUNS} cold runs each (after \`${coldCommand}\`):`);
      const restart = async () => {
        queryPeakRss = Math.max(queryPeakRss, server.peakRssMiB());
        await server.stop();
        execSync(coldCommand, { shell: '/bin/bash', stdio: 'inherit' });
        server = await start();
        return server;
      };
      queries = await timeQueries(server, note, { restart });
    } else {
      console.log(`queries over HTTP, 1 client, ${TIMED_RUNS} timed runs each:`);
      queries = await timeQueries(server, note);
    }
    queryPeakRss = Math.max(queryPeakRss, server.peakRssMiB());
  } finally {
    await server.stop();
    if (!keep) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    }
  }
  const loadTable = [
    '| events stored | events/s (segment) | CPU µs/event: event loop + other threads | server RSS MiB | store MiB | load avg |',
    '|---:|---:|---:|---:|---:|---:|',
    ...note.load.map(
      (l) =>
        `| ${l.storedEvents.toLocaleString('en')} | ${l.eventsPerSecond.toLocaleString('en')} | ${l.eventLoopCpuUsPerEvent} + ${l.otherThreadsCpuUsPerEvent} | ${l.rssMiB} | ${l.storeMiB} | ${l.loadAverage} |`,
    ),
  ].join('\n');
  const queryTable = [
    `| query over ${n.toLocaleString('en')} events (HTTP, 1 client, ${coldCommand ? `${COLD_RUNS} cold` : TIMED_RUNS} runs) | p50 ms | p95 ms | p99 ms | rows |`,
    '|---|---:|---:|---:|---:|',
    ...queries.map((t) => `| ${t.name} | ${t.p50Ms} | ${t.p95Ms} | ${t.p99Ms} | ${t.rows} |`),
  ].join('\n');
  console.log(`\n${loadTable}\n\n${queryTable}\n\nserver peak RSS during the queries: ${queryPeakRss} MiB`);
  const file = writeResults(`query-${coldCommand ? 'cold-' : ''}${backend}-${n}`, {
    suite: 'query',
    ...(coldCommand ? { cold: coldCommand } : {}),
    backend,
    when: new Date().toISOString(),
    machine: machine(),
    loadAverageAtEnd: os.loadavg().map((l) => +l.toFixed(2)),
    events: n,
    load: note.load,
    queries,
    queryPeakRssMiB: queryPeakRss,
    loadTable,
    queryTable,
  });
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}
