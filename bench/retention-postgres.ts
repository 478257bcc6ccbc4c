// Retention on PostgreSQL: the same number of events in two months of one tenant, one month removed by row redaction
// (the 2,000-row transactions retention uses for partly expired months), the other dropped whole
// (pruneEventPartitions). Times both and counts the row versions each made dead (updated or deleted rows). It creates and drops its own database.
// Run: node --import tsx bench/retention-postgres.ts [--events 100000]   (LOGBOOK_DATABASE_URL: the server to use)
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { prepareEvent } from '../packages/server/src/domain/event.ts';
import { ensureEventPartitions } from '../packages/server/src/store/postgres/partitions.ts';
import { PostgresStore } from '../packages/server/src/store/postgres/postgres-store.ts';
import { generateEvents } from './dataset.ts';
import { machine, writeResults } from './lib.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' } } });
const events = Number(values.events);
const serverUrl = process.env.LOGBOOK_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `logbook_bench_retention_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
const JAN = Date.UTC(2026, 0, 1);
const FEB = Date.UTC(2026, 1, 1);
const MAR = Date.UTC(2026, 2, 1);
const store = new PostgresStore({ url: url.toString(), partitionCheckMs: 0, queryTimeoutMs: 0 });

async function load(startMs: number): Promise<void> {
  const inputs = generateEvents(events, startMs === JAN ? 1 : 2, startMs);
  for (let i = 0; i < inputs.length; i += 1000) {
    const batch = inputs
      .slice(i, i + 1000)
      .map((input) => prepareEvent({ ...input, tenant: 'bench' }, { receivedMs: Date.now() }));
    await store.appendEvents([{ events: batch }]);
  }
}

/** Row versions a table's rows were made dead by (updates + deletes, cumulative; autovacuum does not reset them). */
async function deadened(table: string): Promise<number> {
  await store.pool.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await store.pool.query<{ n: string | null }>(
    'SELECT n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables WHERE relname = $1',
    [table],
  );
  return Number(rows[0]?.n ?? 0);
}

try {
  await store.migrate();
  await ensureEventPartitions(store.pool, JAN); // December … April
  console.log(`loading ${events} events into January and ${events} into February…`);
  await load(JAN);
  await load(FEB);
  await store.pool.query('VACUUM ANALYZE');
  const size = (await store.listTenantLogs())[0]!.size;

  const leavesBefore = await deadened('log_leaves');
  console.log('row redaction of January (2,000 rows per transaction)…');
  let started = performance.now();
  let redacted = 0;
  for (;;) {
    const chunk = await store.redactEvents({
      tenant: 'bench',
      beforeMs: FEB,
      recordSeq: size,
      keepActions: [],
      limit: 2000,
    });
    redacted += chunk.length;
    if (chunk.length < 2000) break;
  }
  const redactSeconds = (performance.now() - started) / 1000;
  const redactDead = {
    events_p2026_01: await deadened('events_p2026_01'),
    log_leaves: (await deadened('log_leaves')) - leavesBefore,
  };
  const leavesAfterRedaction = await deadened('log_leaves');
  const februaryBefore = await deadened('events_p2026_02');

  console.log('dropping February whole…');
  started = performance.now();
  const outcome = await store.pruneEventPartitions({
    targets: [{ tenant: 'bench', beforeMs: MAR, belowSeq: size, recordSeq: size }],
    keepActions: [],
    nowMs: Date.now(),
  });
  const dropSeconds = (performance.now() - started) / 1000;
  const pruned = outcome.ranges.reduce((sum, r) => sum + r.count, 0);
  // The dropped table's own counters go with it: what the drop did to rows shows in the new partition and log_leaves.
  const dropDead = {
    events_p2026_02_before: februaryBefore,
    events_p2026_02_new: await deadened('events_p2026_02'),
    log_leaves: (await deadened('log_leaves')) - leavesAfterRedaction,
  };
  const result = {
    events,
    rowRedaction: {
      rows: redacted,
      seconds: redactSeconds,
      rowsPerSecond: redacted / redactSeconds,
      deadTuples: redactDead,
    },
    partitionDrop: {
      rows: pruned,
      seconds: dropSeconds,
      rowsPerSecond: pruned / dropSeconds,
      deadTuples: dropDead,
    },
    loadAverage: os.loadavg(),
    machine: machine(),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`wrote ${writeResults(`retention-postgres-${events}`, result)}`);
} finally {
  await store.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
