// Ingest benchmark: HTTP batch ingest into a real `logbook serve` (SQLite) versus the raw better-sqlite3 insert
// rate of the same rows, into a bare table and into Logbook's own schema (same indexes, FTS5, WAL, synchronous=FULL).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventInput } from '@logbook/protocol';
import Database from 'better-sqlite3';
import { prepareEvent } from '../packages/server/src/domain/event.ts';
import { orderKeyFloor } from '../packages/server/src/domain/time.ts';
import { eventKeyTokens } from '../packages/server/src/store/sqlite/full-text.ts';
import { SQLITE_MIGRATIONS } from '../packages/server/src/store/sqlite/migrations.ts';
import { generateEvents } from './dataset.ts';
import { postgresIngestSuite } from './ingest-postgres.ts';
import { machine, processCpuMs, REPO, sendAll, startLogbook, writeResults } from './lib.ts';

interface Scenario {
  batch: number;
  concurrency: number;
  events: number;
  /** Server settings of this scenario (the writer thread off, to show what it changes in the same run). */
  env?: Record<string, string>;
}

function rawInsert(rows: ReturnType<typeof prepareEvent>[], withSchema: boolean, batch: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-raw-'));
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -262144');
  if (withSchema) for (const m of SQLITE_MIGRATIONS) db.exec(m.sql);
  else
    db.exec(`CREATE TABLE events (order_key INTEGER PRIMARY KEY, tenant TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
      occurred_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, action TEXT NOT NULL, actor_id TEXT NOT NULL, target_type TEXT,
      target_id TEXT, outcome TEXT NOT NULL, ip TEXT, body TEXT NOT NULL, leaf_hash BLOB NOT NULL, input_digest BLOB) STRICT`);
  const insert =
    db.prepare(`INSERT INTO events (order_key, tenant, seq, id, occurred_ms, received_ms, action, actor_id, target_type,
    target_id, outcome, ip, body, leaf_hash, input_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertText = withSchema ? db.prepare('INSERT INTO events_fts (rowid, text) VALUES (?, ?)') : null;
  const insertKeys = withSchema ? db.prepare('INSERT INTO events_keys (rowid, keys) VALUES (?, ?)') : null;
  const started = performance.now();
  for (let start = 0; start < rows.length; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(start + batch, rows.length); i++) {
        const e = rows[i]!;
        const key = orderKeyFloor(e.occurredMs) + BigInt(i % 1000);
        insert.run(
          key,
          e.tenant,
          i,
          e.id,
          e.occurredMs,
          e.receivedMs,
          e.action,
          e.actorId,
          e.targetType,
          e.targetId,
          e.outcome,
          e.ip,
          e.body,
          e.leafHash,
          e.inputDigest,
        );
        insertText?.run(key, e.searchText);
        insertKeys?.run(key, eventKeyTokens(e));
      }
    })();
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return rows.length / seconds;
}

/** The same bodies sent the same way to bench/bare-http.mjs: what HTTP and JSON alone allow on this machine. */
async function bareHttpCeiling(inputs: EventInput[], s: Scenario): Promise<number> {
  const child = spawn(process.execPath, [path.join(REPO, 'bench', 'bare-http.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        const m = /listening on (\d+)/.exec(chunk.toString());
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`bare-http.mjs exited with ${code}`)));
    });
    const bodies: Buffer[] = [];
    for (let i = 0; i < s.events; i += s.batch) {
      bodies.push(Buffer.from(JSON.stringify({ events: inputs.slice(i, i + s.batch) })));
    }
    const seconds = await sendAll(`http://127.0.0.1:${port}/api/v1/events`, 'none', bodies, s.concurrency);
    return s.events / seconds;
  } finally {
    child.kill('SIGTERM');
  }
}

export async function ingestSuite(options: {
  events: number;
  backend?: 'sqlite' | 'postgres';
}): Promise<void> {
  if (options.backend === 'postgres') return postgresIngestSuite(options);
  const n = options.events;
  const inputs = generateEvents(n);
  // Issue 11's matrix (batch 1, 100, 1000 × concurrency 1, 16, 64) after the headline scenario and its writer-thread
  // comparison; single-event requests send fewer events (each is a request). For iterating, as on PostgreSQL:
  // LOGBOOK_BENCH_SCENARIOS=1 runs only the headline, LOGBOOK_BENCH_INGEST_ONLY=1 skips the ceilings (no results file).
  const ingestOnly = process.env.LOGBOOK_BENCH_INGEST_ONLY === '1';
  const allScenarios: Scenario[] = [
    { batch: 1000, concurrency: 4, events: n },
    { batch: 1000, concurrency: 4, events: n, env: { LOGBOOK_SQLITE_WRITER_THREAD: 'false' } },
    ...[1000, 100, 1].flatMap((batch) =>
      [1, 16, 64].map((concurrency) => ({
        batch,
        concurrency,
        events: batch === 1 ? Math.min(n, 20_000) : n,
      })),
    ),
  ];
  const scenarios = allScenarios.slice(0, Number(process.env.LOGBOOK_BENCH_SCENARIOS ?? allScenarios.length));
  const http: Record<string, unknown>[] = [];
  for (const s of scenarios) {
    const bodies: Buffer[] = [];
    for (let i = 0; i < s.events; i += s.batch) {
      const slice = inputs.slice(i, i + s.batch);
      bodies.push(Buffer.from(JSON.stringify(s.batch === 1 ? slice[0] : { events: slice })));
    }
    const server = await startLogbook(s.env);
    try {
      const cpuBefore = processCpuMs(server.child.pid!);
      const seconds = await sendAll(`${server.url}/api/v1/events`, server.key, bodies, s.concurrency);
      const cpuAfter = processCpuMs(server.child.pid!);
      const rate = s.events / seconds;
      const perEvent = (ms: number) => Math.round((ms * 1000) / s.events);
      const eventLoopUs = perEvent(cpuAfter.mainThread - cpuBefore.mainThread);
      const otherThreadsUs = perEvent(cpuAfter.total - cpuBefore.total) - eventLoopUs;
      http.push({
        ...s,
        seconds: +seconds.toFixed(2),
        eventsPerSecond: Math.round(rate),
        eventLoopCpuUsPerEvent: eventLoopUs,
        otherThreadsCpuUsPerEvent: otherThreadsUs,
        peakRssMiB: server.peakRssMiB(),
        loadAverage: os.loadavg()[0],
      });
      console.log(
        `HTTP ingest batch=${s.batch} concurrency=${s.concurrency}${s.env ? ` ${JSON.stringify(s.env)}` : ''}: ${Math.round(rate)} events/s, CPU per event ${eventLoopUs} µs event loop + ${otherThreadsUs} µs other threads (${s.events} events, peak RSS ${server.peakRssMiB()} MiB, load ${os.loadavg()[0]!.toFixed(1)})`,
      );
    } finally {
      await server.stop();
    }
  }
  if (ingestOnly) return;
  const bareHttp = await bareHttpCeiling(inputs, scenarios[0]!);
  console.log(
    `bare node:http server (read + JSON.parse, stores nothing), batch=${scenarios[0]!.batch} concurrency=${scenarios[0]!.concurrency}: ${Math.round(bareHttp)} events/s`,
  );
  const receivedMs = Date.now();
  const rows = inputs.map((input) => prepareEvent(input, { receivedMs }));
  const rawBare = rawInsert(rows, false, 1000);
  console.log(`raw better-sqlite3, bare table, batches of 1000: ${Math.round(rawBare)} rows/s`);
  const rawSchema = rawInsert(rows, true, 1000);
  console.log(`raw better-sqlite3, Logbook indexes + FTS5, batches of 1000: ${Math.round(rawSchema)} rows/s`);
  const best = Math.max(...http.map((h) => h.eventsPerSecond as number));
  const table = [
    '| measurement | events/s | ratio to raw (same schema) | CPU µs/event: event loop + other threads |',
    '|---|---:|---:|---:|',
    ...http.map(
      (h) =>
        `| HTTP batch=${h.batch}, concurrency=${h.concurrency}${h.env ? ', writer thread off' : ''} (${h.events} events) | ${h.eventsPerSecond} | ${((h.eventsPerSecond as number) / rawSchema).toFixed(2)} | ${h.eventLoopCpuUsPerEvent} + ${h.otherThreadsCpuUsPerEvent} |`,
    ),
    `| raw better-sqlite3, Logbook schema (indexes + FTS5), 1000/txn | ${Math.round(rawSchema)} | 1.00 | |`,
    `| raw better-sqlite3, bare table, 1000/txn | ${Math.round(rawBare)} | ${(rawBare / rawSchema).toFixed(2)} | |`,
    `| bare node:http server, same bodies (read + JSON.parse only) | ${Math.round(bareHttp)} | ${(bareHttp / rawSchema).toFixed(2)} | |`,
  ].join('\n');
  console.log(`\n${table}\n`);
  const file = writeResults(`ingest-sqlite-${n}`, {
    suite: 'ingest',
    when: new Date().toISOString(),
    machine: machine(),
    events: n,
    http,
    raw: {
      bareTable: Math.round(rawBare),
      logbookSchema: Math.round(rawSchema),
      bareHttp: Math.round(bareHttp),
    },
    bestHttpToRawRatio: +(best / rawSchema).toFixed(2),
    table,
  });
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}
