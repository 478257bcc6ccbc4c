// Ingest benchmark on PostgreSQL (`npm run bench -- ingest --backend postgres`): HTTP batch ingest into a real
// `logbook serve` on LOGBOOK_DATABASE_URL's server, the main queries over the result, and as the ceiling the raw COPY
// speed of the same rows into every table an append writes (psql \copy: no Logbook, no Node in the loop). Each load
// also reports where its time went: CPU per event by process and thread, and what Logbook's backends wait on. Every
// run uses fresh, randomly named databases on that server (the role needs CREATEDB) and drops them afterwards.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendLeaf, emptyCompactRange } from '@logbook/protocol';
import pg from 'pg';
import { prepareEvent } from '../packages/server/src/domain/event.ts';
import { orderKeyFloor } from '../packages/server/src/domain/time.ts';
import { tsvectorText } from '../packages/server/src/store/postgres/full-text.ts';
import { PostgresStore } from '../packages/server/src/store/postgres/postgres-store.ts';
import { toPgText } from '../packages/server/src/store/postgres/values.ts';
import { generateEvents } from './dataset.ts';
import { machine, median, processCpuMs, sendAll, startLogbook, writeResults } from './lib.ts';

interface Scenario {
  batch: number;
  concurrency: number;
  events: number;
}

export function serverUrl(): string {
  const url = process.env.LOGBOOK_DATABASE_URL;
  if (!url) {
    throw new Error(
      'set LOGBOOK_DATABASE_URL to a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/postgres): ' +
        'the benchmark creates and drops its own databases there',
    );
  }
  return url;
}

export async function freshDatabase(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `logbook_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL as \N. */
function copyField(value: string | number | bigint | null): string {
  if (value === null) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** Times one psql \copy of a file into a table; returns seconds. */
function psqlCopy(url: string, table: string, columns: string, file: string): number {
  const started = performance.now();
  const result = spawnSync(
    'psql',
    [url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy ${table} (${columns}) FROM '${file}'`],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`psql \\copy into ${table} failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

const EVENT_COLUMNS =
  'tenant, order_key, seq, occurred_ms, received_ms, action, actor_id, target_type, target_id, outcome, ip, body, search, leaf_hash';
const LEAF_COLUMNS = 'tenant, seq, id, order_key, occurred_ms, received_ms, leaf_hash, input_digest';
const NODE_COLUMNS = 'tenant, level, idx, hash';
const HOUR_COLUMNS = 'tenant, hour, action, target_type, count';
const ACTOR_COLUMNS = 'tenant, day, actor_id, count';

async function rawCopy(
  base: string,
  rows: ReturnType<typeof prepareEvent>[],
  options: { bareTable: boolean },
): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-copy-'));
  const eventsFile = path.join(dir, 'events.tsv');
  const leavesFile = path.join(dir, 'leaves.tsv');
  const nodesFile = path.join(dir, 'nodes.tsv');
  // Written in chunks: a million rows is more text than one JS string may hold.
  const eventsFd = fs.openSync(eventsFile, 'w');
  const leavesFd = fs.openSync(leavesFile, 'w');
  const nodesFd = fs.openSync(nodesFile, 'w');
  let events: string[] = [];
  let leaves: string[] = [];
  let nodes: string[] = [];
  const flush = () => {
    fs.writeSync(eventsFd, `${events.join('\n')}\n`);
    fs.writeSync(leavesFd, `${leaves.join('\n')}\n`);
    if (nodes.length > 0) fs.writeSync(nodesFd, `${nodes.join('\n')}\n`);
    events = [];
    leaves = [];
    nodes = [];
  };
  // The Merkle nodes and rollups Logbook writes for the same rows (the rollups as their final counts).
  let range = emptyCompactRange();
  const hourCounts = new Map<string, number>();
  const actorCounts = new Map<string, number>();
  const last = new Map<number, bigint>();
  const hex = (b: Uint8Array | null) => (b ? `\\\\x${Buffer.from(b).toString('hex')}` : '\\N');
  for (const [seq, e] of rows.entries()) {
    const floor = orderKeyFloor(e.occurredMs);
    const key = (last.get(e.occurredMs) ?? floor - 1n) + 1n;
    last.set(e.occurredMs, key);
    const appended = appendLeaf(range, e.leafHash);
    range = appended.range;
    for (const node of appended.nodes) {
      if (node.level > 0)
        nodes.push(`${copyField(e.tenant)}\t${node.level}\t${node.index}\t${hex(node.hash)}`);
    }
    const hourKey = [
      e.tenant,
      Math.floor(e.occurredMs / 3_600_000),
      toPgText(e.action),
      toPgText(e.targetType ?? ''),
    ]
      .map(copyField)
      .join('\t');
    hourCounts.set(hourKey, (hourCounts.get(hourKey) ?? 0) + 1);
    const actorKey = [e.tenant, Math.floor(e.occurredMs / 86_400_000), toPgText(e.actorId)]
      .map(copyField)
      .join('\t');
    actorCounts.set(actorKey, (actorCounts.get(actorKey) ?? 0) + 1);
    events.push(
      [
        e.tenant,
        key,
        seq,
        e.occurredMs,
        e.receivedMs,
        toPgText(e.action),
        toPgText(e.actorId),
        toPgText(e.targetType),
        toPgText(e.targetId),
        e.outcome,
        toPgText(e.ip),
        e.body,
        tsvectorText(e.searchText),
      ]
        .map(copyField)
        .concat(hex(e.leafHash))
        .join('\t'),
    );
    leaves.push(
      [e.tenant, seq, toPgText(e.id), key, e.occurredMs, e.receivedMs]
        .map(copyField)
        .concat(hex(e.leafHash), hex(e.inputDigest))
        .join('\t'),
    );
    if (events.length === 10_000) flush();
  }
  if (events.length > 0) flush();
  fs.closeSync(eventsFd);
  fs.closeSync(leavesFd);
  fs.closeSync(nodesFd);
  const hoursFile = path.join(dir, 'hours.tsv');
  const actorsFile = path.join(dir, 'actors.tsv');
  fs.writeFileSync(hoursFile, [...hourCounts].map(([k, n]) => `${k}\t${n}\n`).join(''));
  fs.writeFileSync(actorsFile, [...actorCounts].map(([k, n]) => `${k}\t${n}\n`).join(''));
  const results: Record<string, number> = {};
  try {
    const schema = await freshDatabase(base);
    try {
      const store = new PostgresStore({ url: schema.url, partitionCheckMs: 0 });
      await store.migrate();
      await store.close();
      const eventsSeconds = psqlCopy(schema.url, 'events', EVENT_COLUMNS, eventsFile);
      const leavesSeconds = psqlCopy(schema.url, 'log_leaves', LEAF_COLUMNS, leavesFile);
      const nodesSeconds = psqlCopy(schema.url, 'merkle_nodes', NODE_COLUMNS, nodesFile);
      const rollupSeconds =
        psqlCopy(schema.url, 'event_counts_hour', HOUR_COLUMNS, hoursFile) +
        psqlCopy(schema.url, 'actor_counts_day', ACTOR_COLUMNS, actorsFile);
      results.copyEventsTable = rows.length / eventsSeconds;
      results.copyEventsAndLogIndex = rows.length / (eventsSeconds + leavesSeconds);
      // Every table Logbook's append writes (tenant_logs aside: one row per tenant).
      results.copyAllTables = rows.length / (eventsSeconds + leavesSeconds + nodesSeconds + rollupSeconds);
    } finally {
      await schema.drop();
    }
    if (!options.bareTable) return results;
    const bare = await freshDatabase(base);
    try {
      const client = new pg.Client({ connectionString: bare.url });
      await client.connect();
      await client.query(`CREATE TABLE events (tenant text COLLATE "C" NOT NULL, order_key bigint NOT NULL, seq bigint NOT NULL,
        occurred_ms bigint NOT NULL, received_ms bigint NOT NULL, action text NOT NULL, actor_id text NOT NULL, target_type text,
        target_id text, outcome text NOT NULL, ip text, body text NOT NULL, search tsvector NOT NULL, leaf_hash bytea)`);
      await client.end();
      results.copyBareTable = rows.length / psqlCopy(bare.url, 'events', EVENT_COLUMNS, eventsFile);
    } finally {
      await bare.drop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** CPU ms (user + system) of every PostgreSQL server process now running, by pid (backends, WAL writer, checkpointer…). */
function postgresCpuMs(): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes(' (postgres) ')) continue;
      const fields = stat.split(') ')[1]!.split(' ');
      cpu.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      // The process ended between readdir and read.
    }
  }
  return cpu;
}

/**
 * CPU ms PostgreSQL processes used between two snapshots: `backends` (Logbook's connections to the benchmark
 * database; one started in between counts whole) and the rest of the server (WAL writer, checkpointer, autovacuum,
 * but also other databases' sessions on a shared server: an upper bound).
 */
function postgresCpuDelta(
  before: Map<number, number>,
  after: Map<number, number>,
  backends: Set<number>,
): { backends: number; rest: number } {
  const delta = { backends: 0, rest: 0 };
  for (const [pid, ms] of after) {
    const used = ms - (before.get(pid) ?? 0);
    if (backends.has(pid)) delta.backends += used;
    else if (before.has(pid)) delta.rest += used;
  }
  return delta;
}

/** Pids of Logbook's backends on one database. */
async function logbookBackends(client: pg.Client, database: string): Promise<Set<number>> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'logbook' AND datname = $1`,
    [database],
  );
  return new Set(rows.map((r) => r.pid));
}

/** Groups committed: every append transaction updates each of its tenants' tenant_logs row exactly twice. */
async function tenantLogUpdates(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'tenant_logs'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Server-wide WAL and per-database transaction counters, read before and after a load. */
async function walCounters(client: pg.Client): Promise<Record<string, number>> {
  const { rows } = await client.query<Record<string, string>>(
    `SELECT w.wal_records, w.wal_fpi, w.wal_bytes, w.wal_write, w.wal_sync, d.xact_commit, d.xact_rollback
       FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`,
  );
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
}

/**
 * Samples what Logbook's backends are doing every 20 ms (pg_stat_activity): running on CPU, waiting on a lock, on WAL
 * I/O, or idle in a transaction (waiting for Node). Returns the average number of backends in each state.
 */
function sampleBackends(base: string, database: string): { stop(): Promise<Record<string, number>> } {
  // Connected to the server's own database, so that its queries do not count as the benchmark database's commits.
  const client = new pg.Client({ connectionString: base, application_name: 'logbook-bench-sampler' });
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{
        state: string | null;
        type: string | null;
        event: string | null;
      }>(
        `SELECT state, wait_event_type AS type, wait_event AS event FROM pg_stat_activity
          WHERE application_name = 'logbook' AND datname = $1`,
        [database],
      );
      samples++;
      for (const r of rows) {
        const what =
          r.state === 'active'
            ? r.type === null
              ? 'active: on CPU'
              : `active: ${r.type}/${r.event}`
            : r.state === 'idle in transaction'
              ? 'idle in transaction (waiting for Node)'
              : (r.state ?? 'unknown');
        counts.set(what, (counts.get(what) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Object.fromEntries(
        [...counts]
          .filter(([what]) => what !== 'idle')
          .sort((a, b) => b[1] - a[1])
          .map(([what, n]) => [what, +(n / Math.max(1, samples)).toFixed(3)]),
      );
    },
  };
}

interface QueryTiming {
  name: string;
  url: string;
  medianMs: number;
  p95Ms: number;
  rows: number;
}

/** The main read paths over HTTP: each query warmed up once, then timed REPEAT times one after another. */
async function queryTimings(base: string, key: string): Promise<QueryTiming[]> {
  const REPEAT = 15;
  const get = async (url: string) => {
    const res = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${key}` } });
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    return (await res.json()) as {
      data?: { id: string; actor: { id: string }; target?: { type?: string; id?: string } }[];
    };
  };
  const newest = (await get('/api/v1/events?limit=50')).data!;
  const sample = newest[17]!;
  const older = (await get('/api/v1/events?limit=1&order=asc')).data![0]!;
  const queries: [string, string][] = [
    ['newest 50', '/api/v1/events?limit=50'],
    ['oldest 50 (asc)', '/api/v1/events?limit=50&order=asc'],
    ['get by id', `/api/v1/events/${sample.id}`],
    ['actor, newest 50', `/api/v1/events?actor=${encodeURIComponent(sample.actor.id)}&limit=50`],
    [
      'actor + includeTotal',
      `/api/v1/events?actor=${encodeURIComponent(older.actor.id)}&limit=50&includeTotal=true`,
    ],
    [
      'target history',
      `/api/v1/events?targetType=${sample.target!.type}&targetId=${encodeURIComponent(sample.target!.id!)}&limit=50`,
    ],
    ['action, newest 50', '/api/v1/events?action=invoice.approve&limit=50'],
    ['action prefix, newest 50', '/api/v1/events?action=payment.*&limit=50'],
    ['outcome=failure, newest 50', '/api/v1/events?outcome=failure&limit=50'],
    ['q common word, newest 50', '/api/v1/events?q=alpha&limit=50'],
    ['q phrase, newest 50', '/api/v1/events?q=%22alpha%20bravo%22&limit=50'],
    ['q prefix, newest 50', '/api/v1/events?q=char*&limit=50'],
    ['q rare word (10 in 1M), newest 50', '/api/v1/events?q=zanzibar&limit=50'],
    ['q no match', '/api/v1/events?q=xylophone&limit=50'],
    ['q common + actor', `/api/v1/events?q=alpha&actor=${encodeURIComponent(sample.actor.id)}&limit=50`],
    ['stats (30 days)', '/api/v1/events/stats'],
  ];
  const timings: QueryTiming[] = [];
  for (const [name, url] of queries) {
    const first = await get(url);
    const times: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const started = performance.now();
      await get(url);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    timings.push({
      name,
      url,
      medianMs: +median(times).toFixed(2),
      p95Ms: +times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!.toFixed(2),
      rows: first.data?.length ?? 1,
    });
    console.log(`  ${name}: median ${median(times).toFixed(2)} ms (${first.data?.length ?? 1} rows)`);
  }
  return timings;
}

export async function postgresIngestSuite(options: { events: number }): Promise<void> {
  const base = serverUrl();
  const n = options.events;
  const startMs = Date.now() - n * 250; // the dataset's events end now, so they land in the current partitions
  const inputs = generateEvents(n, 42, startMs);
  // For iterating: LOGBOOK_BENCH_SCENARIOS=1 runs only the first scenario (batch=1000 × 4); LOGBOOK_BENCH_INGEST_ONLY=1
  // skips the queries and the COPY ceiling (and writes no results file).
  const ingestOnly = process.env.LOGBOOK_BENCH_INGEST_ONLY === '1';
  const scenarios: Scenario[] = [
    { batch: 1000, concurrency: 4, events: n },
    { batch: 100, concurrency: 16, events: n },
    { batch: 1, concurrency: 64, events: Math.min(n, 20_000) },
  ].slice(0, Number(process.env.LOGBOOK_BENCH_SCENARIOS ?? 3));
  const http: Record<string, unknown>[] = [];
  let queries: QueryTiming[] = [];
  // The ceiling is measured before the HTTP loads and again after them, and ratios use the mean: this VM's speed
  // drifts by a fifth within minutes (one run's COPY ceilings: 5,626 and 7,016 rows/s), and a ceiling taken on one
  // side only moved the ratio more than the changes it was meant to judge.
  const receivedMs = Date.now();
  const rows = ingestOnly ? [] : inputs.map((input) => prepareEvent(input, { receivedMs }));
  const rawBefore: Record<string, number> = ingestOnly ? {} : await rawCopy(base, rows, { bareTable: false });
  for (const [index, s] of scenarios.entries()) {
    const bodies: Buffer[] = [];
    for (let i = 0; i < s.events; i += s.batch) {
      const slice = inputs.slice(i, i + s.batch);
      bodies.push(Buffer.from(JSON.stringify(s.batch === 1 ? slice[0] : { events: slice })));
    }
    const database = await freshDatabase(base);
    const server = await startLogbook({ LOGBOOK_DATABASE_URL: database.url });
    let output = '';
    server.child.stdout!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    const stats = new pg.Client({ connectionString: database.url });
    await stats.connect();
    try {
      // Where the time goes: CPU of the server's event loop and other threads, of every PostgreSQL process and of
      // this client (the same 2 cores), WAL and commit counters, and what the backends wait on.
      const walBefore = await walCounters(stats);
      const sampler = sampleBackends(base, new URL(database.url).pathname.slice(1));
      const updatesBefore = await tenantLogUpdates(stats);
      const serverCpuBefore = processCpuMs(server.child.pid!);
      const pgCpuBefore = postgresCpuMs();
      const clientCpuBefore = process.cpuUsage();
      const seconds = await sendAll(`${server.url}/api/v1/events`, server.key, bodies, s.concurrency).catch(
        (error: Error) => {
          throw new Error(`${error.message}; the server's last output:\n${output}`);
        },
      );
      const clientCpu = process.cpuUsage(clientCpuBefore);
      const pgCpuAfter = postgresCpuMs();
      const databaseName = new URL(database.url).pathname.slice(1);
      const pgCpuMs = postgresCpuDelta(pgCpuBefore, pgCpuAfter, await logbookBackends(stats, databaseName));
      const serverCpuAfter = processCpuMs(server.child.pid!);
      const backends = await sampler.stop();
      const walAfter = await walCounters(stats);
      // Statistics reach pg_stat_user_tables when a backend goes idle; give them a moment.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const groups = ((await tenantLogUpdates(stats)) - updatesBefore) / 2;
      const wal = Object.fromEntries(Object.entries(walAfter).map(([k, v]) => [k, v - walBefore[k]!]));
      const perEvent = (ms: number) => Math.round((ms * 1000) / s.events);
      const cpu = {
        eventLoop: perEvent(serverCpuAfter.mainThread - serverCpuBefore.mainThread),
        serverOtherThreads: perEvent(
          serverCpuAfter.total -
            serverCpuBefore.total -
            (serverCpuAfter.mainThread - serverCpuBefore.mainThread),
        ),
        postgres: perEvent(pgCpuMs.backends),
        postgresRestOfServer: perEvent(pgCpuMs.rest),
        benchClient: perEvent((clientCpu.user + clientCpu.system) / 1000),
      };
      const rate = s.events / seconds;
      http.push({
        ...s,
        seconds: +seconds.toFixed(2),
        eventsPerSecond: Math.round(rate),
        peakRssMiB: server.peakRssMiB(),
        loadAverage: +os.loadavg()[0]!.toFixed(2),
        cpuUsPerEvent: cpu,
        commits: wal.xact_commit,
        groups,
        eventsPerGroup: Math.round(s.events / Math.max(1, groups)),
        walBytesPerEvent: Math.round(wal.wal_bytes! / s.events),
        walFullPagesPerEvent: +(wal.wal_fpi! / s.events).toFixed(3),
        walSyncs: wal.wal_sync,
        backends,
      });
      console.log(
        `PostgreSQL HTTP ingest batch=${s.batch} concurrency=${s.concurrency}: ${Math.round(rate)} events/s (${s.events} events, peak RSS ${server.peakRssMiB()} MiB, load ${os.loadavg()[0]!.toFixed(1)})`,
      );
      console.log(
        `  CPU µs/event: event loop ${cpu.eventLoop}, server other threads ${cpu.serverOtherThreads}, PostgreSQL backends ${cpu.postgres} (rest of the server ${cpu.postgresRestOfServer}), bench client ${cpu.benchClient}; ${groups} append groups (${Math.round(s.events / Math.max(1, groups))} events each), ${wal.xact_commit} commits in all, WAL ${Math.round(wal.wal_bytes! / s.events)} B/event`,
      );
      console.log(`  backends (average count): ${JSON.stringify(backends)}`);
      if (index === 0 && !ingestOnly) {
        // Statistics as autovacuum would have them after a load this size, then the main queries.
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        await client.query('ANALYZE');
        const size = await client.query<{ events: string; index: string }>(
          `SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS events,
                  pg_size_pretty(pg_total_relation_size('log_leaves') + pg_total_relation_size('merkle_nodes')) AS index
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass`,
        );
        await client.end();
        console.log(
          `queries over ${n} events (events partitions ${size.rows[0]!.events}, log index + Merkle ${size.rows[0]!.index}):`,
        );
        queries = await queryTimings(server.url, server.key);
      }
    } finally {
      await stats.end();
      await server.stop();
      // LOGBOOK_BENCH_KEEP=1 keeps the first database (the one the queries ran on) for EXPLAIN sessions.
      if (index === 0 && process.env.LOGBOOK_BENCH_KEEP === '1') console.log(`kept ${database.url}`);
      else await database.drop();
    }
  }
  if (ingestOnly) return;
  const rawAfter = await rawCopy(base, rows, { bareTable: true });
  const raw = Object.fromEntries(
    Object.entries(rawAfter).map(([k, v]) => [k, k in rawBefore ? (v + rawBefore[k]!) / 2 : v]),
  );
  // Two ceilings: events + log_leaves (what earlier rounds compared with) and every table the append writes
  // (+ merkle_nodes and the rollups' final rows): the honest one, used for the ratio.
  const ceiling = raw.copyAllTables!;
  const oldCeiling = raw.copyEventsAndLogIndex!;
  console.log(
    `raw psql COPY into every table an append writes, before / after the HTTP loads: ${Math.round(rawBefore.copyAllTables!)} / ${Math.round(rawAfter.copyAllTables!)} rows/s (ratios use the mean)`,
  );
  console.log(
    `raw psql COPY into the events partitions (Logbook indexes + GIN): ${Math.round(raw.copyEventsTable!)} rows/s`,
  );
  console.log(`raw psql COPY into events + log_leaves: ${Math.round(oldCeiling)} rows/s`);
  console.log(`raw psql COPY into every table an append writes: ${Math.round(ceiling)} rows/s`);
  console.log(`raw psql COPY into a bare events table (no index): ${Math.round(raw.copyBareTable!)} rows/s`);
  const ratio = (rate: number) => `${(rate / ceiling).toFixed(2)} / ${(rate / oldCeiling).toFixed(2)}`;
  const table = [
    '| measurement (PostgreSQL) | events/s | ratio to raw COPY: all tables / events + log_leaves | CPU µs/event: event loop + server threads + PostgreSQL + bench client | events per group commit |',
    '|---|---:|---:|---:|---:|',
    ...http.map((h) => {
      const cpu = h.cpuUsPerEvent as Record<string, number>;
      return `| HTTP batch=${h.batch}, concurrency=${h.concurrency} (${h.events} events, load ${h.loadAverage}) | ${h.eventsPerSecond} | ${ratio(h.eventsPerSecond as number)} | ${cpu.eventLoop} + ${cpu.serverOtherThreads} + ${cpu.postgres} + ${cpu.benchClient} | ${h.eventsPerGroup} |`;
    }),
    `| raw COPY, every table an append writes (events, log_leaves, merkle_nodes, rollups) | ${Math.round(ceiling)} | ${ratio(ceiling)} | | |`,
    `| raw COPY, events + log_leaves (4 B-trees + GIN, 2 B-trees) | ${Math.round(oldCeiling)} | ${ratio(oldCeiling)} | | |`,
    `| raw COPY, events partitions only (4 B-trees + GIN) | ${Math.round(raw.copyEventsTable!)} | ${ratio(raw.copyEventsTable!)} | | |`,
    `| raw COPY, bare table (no index) | ${Math.round(raw.copyBareTable!)} | ${ratio(raw.copyBareTable!)} | | |`,
  ].join('\n');
  const queryTable = [
    '| query (HTTP, 1 client) | median ms | p95 ms | rows |',
    '|---|---:|---:|---:|',
    ...queries.map((q) => `| ${q.name} | ${q.medianMs} | ${q.p95Ms} | ${q.rows} |`),
  ].join('\n');
  console.log(`\n${table}\n\n${queryTable}\n`);
  const file = writeResults(`ingest-postgres-${n}`, {
    suite: 'ingest',
    backend: 'postgres',
    when: new Date().toISOString(),
    machine: machine(),
    loadAverageAtEnd: os.loadavg().map((l) => +l.toFixed(2)),
    events: n,
    http,
    raw: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Math.round(v)])),
    rawBefore: Object.fromEntries(Object.entries(rawBefore).map(([k, v]) => [k, Math.round(v)])),
    rawAfter: Object.fromEntries(Object.entries(rawAfter).map(([k, v]) => [k, Math.round(v)])),
    queries,
    table,
    queryTable,
  });
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}
