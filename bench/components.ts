// Per-event cost of each piece of an ingest, in-process on the same seeded events: CPU µs and bytes allocated on the
// JavaScript heap (what the garbage collector later pays for). It only measures; it never starts a server.
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { canonicalJson } from '@logbook/protocol';
import '../packages/server/src/domain/hashing.ts';
import { type PreparedEvent, prepareEvent } from '../packages/server/src/domain/event.ts';
import { openConnection } from '../packages/server/src/store/sqlite/connection.ts';
import { EventAppender } from '../packages/server/src/store/sqlite/event-append.ts';
import { SQLITE_MIGRATIONS } from '../packages/server/src/store/sqlite/migrations.ts';
import { generateEvents } from './dataset.ts';
import { machine, median, writeResults } from './lib.ts';

const ROUNDS = 7;
const REQUEST_SIZE = 1000;

interface Piece {
  name: string;
  cpuUsPerEvent: number;
  bytesPerEvent: number | null;
}

/** CPU µs per event of `work` over `events` events: the median of ROUNDS runs (the machine is shared). */
function cpuPerEvent(events: number, work: () => void): number {
  const runs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    work();
    const used = process.cpuUsage(before);
    runs.push((used.user + used.system) / events);
  }
  return +median(runs).toFixed(2);
}

/**
 * Bytes allocated per event by one run of `work`: V8's sampling heap profiler with collected objects kept in the
 * profile, so the sampled total estimates every allocation, not only what survived.
 */
async function bytesPerEvent(session: Session, events: number, work: () => void): Promise<number> {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  work();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  type Node = { selfSize: number; children: Node[] };
  const sum = (node: Node): number =>
    node.children.reduce((total, child) => total + sum(child), node.selfSize);
  const total = sum(profile.head as Node);
  return Math.round(total / events);
}

export async function componentsSuite(options: { events: number }): Promise<void> {
  const n = Math.min(options.events, 100_000);
  const inputs = generateEvents(n);
  const receivedMs = Date.now();
  const bodies: string[] = [];
  for (let i = 0; i < n; i += REQUEST_SIZE)
    bodies.push(JSON.stringify({ events: inputs.slice(i, i + REQUEST_SIZE) }));
  const prepared: PreparedEvent[] = inputs.map((input) => prepareEvent(input, { receivedMs }));
  const wireBodies = prepared.map((event) => JSON.parse(event.body) as unknown);

  // CPU first, with no inspector session attached (an attached session slowed prepareEvent by half); then bytes.
  const works: [string, () => void][] = [
    [
      'JSON.parse of 1,000-event request bodies',
      () => {
        for (const body of bodies) JSON.parse(body);
      },
    ],
    [
      'prepareEvent (validation, canonical JSON, leaf hash, search text, id, times)',
      () => {
        for (const input of inputs) prepareEvent(input, { receivedMs });
      },
    ],
    [
      '  of which canonical JSON of the body',
      () => {
        for (const body of wireBodies) canonicalJson(body);
      },
    ],
    [
      'structured clone of 1,000-event append requests (the writer-thread hand-over, both ways)',
      () => {
        for (let i = 0; i < n; i += REQUEST_SIZE)
          structuredClone({ events: prepared.slice(i, i + REQUEST_SIZE) });
      },
    ],
  ];
  const pieces: Piece[] = works.map(([name, work]) => ({
    name,
    cpuUsPerEvent: cpuPerEvent(n, work),
    bytesPerEvent: null,
  }));
  const session = new Session();
  session.connect();
  for (const [index, [, work]] of works.entries()) {
    const piece = pieces[index]!;
    piece.bytesPerEvent = await bytesPerEvent(session, n, work);
    console.log(`${piece.name}: ${piece.cpuUsPerEvent} µs, ${piece.bytesPerEvent} bytes allocated per event`);
  }
  session.disconnect();

  // The writer thread's work without the thread: the real appender on a fresh file, by events per transaction (a
  // group commit of 4 requests of 1,000; 64 single-event requests; one lone event: what a commit itself costs).
  for (const perTransaction of [4 * REQUEST_SIZE, 64, 1]) {
    const count = perTransaction === 1 ? Math.min(n, 2_000) : n;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-components-'));
    try {
      const db = openConnection(path.join(dir, 'logbook.db'), { cacheMiB: 64 });
      for (const migration of SQLITE_MIGRATIONS) db.exec(migration.sql);
      const appender = new EventAppender(db);
      const before = process.cpuUsage();
      for (let i = 0; i < count; i += perTransaction) {
        const events = prepared.slice(i, i + perTransaction);
        const requests =
          perTransaction > REQUEST_SIZE
            ? [0, 1, 2, 3].map((k) => ({ events: events.slice(k * REQUEST_SIZE, (k + 1) * REQUEST_SIZE) }))
            : [{ events }];
        db.transaction(() => appender.appendInTransaction(requests)).immediate();
      }
      const used = process.cpuUsage(before);
      db.close();
      const cpu = +((used.user + used.system) / count).toFixed(2);
      const name = `SQLite appender (the writer thread's work), ${perTransaction.toLocaleString('en-US')} events per transaction`;
      pieces.push({ name, cpuUsPerEvent: cpu, bytesPerEvent: null });
      console.log(`${name}: ${cpu} µs per event (one run, fresh file, ${count} events)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  const table = [
    '| piece | CPU µs/event | bytes allocated/event |',
    '|---|---:|---:|',
    ...pieces.map((p) => `| ${p.name} | ${p.cpuUsPerEvent} | ${p.bytesPerEvent ?? ''} |`),
  ].join('\n');
  console.log(`\n${table}\n`);
  const file = writeResults(`components-${n}`, {
    machine: machine(),
    events: n,
    rounds: ROUNDS,
    pieces,
    table,
  });
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}
