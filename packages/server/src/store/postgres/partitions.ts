// Monthly partitions of `events` (RANGE on order_key = occurrence ms << 20 | counter), created ahead of time so that
// appends never do DDL, and dropped whole by retention (pruning.ts). Events outside the prepared months (back-dated
// imports, far-future clocks) land in the DEFAULT partition; when a month is created later that already has rows
// there, they are moved into the new partition in the same transaction. Several processes may run this at once: an
// advisory lock makes one of them do the work.
import type pg from 'pg';
import { orderKeyFloor } from '../../domain/time.ts';
import { big, int8Param } from './values.ts';

/** Months prepared ahead of the current one, and behind it (late-arriving events of last month). */
export const PARTITION_MONTHS_AHEAD = 3;
export const PARTITION_MONTHS_BEHIND = 1;
/** pg_advisory_xact_lock key of partition maintenance ("lbparts"); pruning.ts takes it too. */
export const PARTITION_LOCK = 0x6c62_7061_7274_73n;

export interface EventPartition {
  name: string;
  /** Inclusive lower bound (epoch ms of the month start); null for the default partition. */
  fromMs: number | null;
  /** Exclusive upper bound; null for the default partition. */
  toMs: number | null;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Tables partitioned this way: audit-event payloads and system logs (store/postgres/logs.ts). */
export const PARTITIONED_TABLES = ['events', 'logs'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

export function monthStartUtc(ms: number, addMonths = 0): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + addMonths, 1);
}

export function partitionName(monthStartMs: number, table: PartitionedTable = 'events'): string {
  const d = new Date(monthStartMs);
  return `${table}_p${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const COUNTER_BITS = 20n;
export const msOfKey = (key: bigint): number => Number(key >> COUNTER_BITS);

/** The partitions of `events` with their bounds, oldest first, the default partition last. */
export async function listEventPartitions(
  db: Queryable,
  table: PartitionedTable = 'events',
): Promise<EventPartition[]> {
  const { rows } = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass`,
    [table],
  );
  const partitions = rows.map(({ name, bound }): EventPartition => {
    const range = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(bound);
    return range
      ? { name, fromMs: msOfKey(big(range[1]!)), toMs: msOfKey(big(range[2]!)) }
      : { name, fromMs: null, toMs: null };
  });
  return partitions.sort(
    (a, b) => (a.fromMs ?? Number.POSITIVE_INFINITY) - (b.fromMs ?? Number.POSITIVE_INFINITY),
  );
}

/**
 * Creates the monthly partitions from PARTITION_MONTHS_BEHIND before `nowMs` to PARTITION_MONTHS_AHEAD after it that
 * do not exist yet. Returns the names created.
 */
export async function ensureEventPartitions(
  pool: pg.Pool,
  nowMs: number,
  table: PartitionedTable = 'events',
): Promise<string[]> {
  const client = await pool.connect();
  const created: string[] = [];
  try {
    await client.query("BEGIN; SET LOCAL lock_timeout = '10s'");
    await client.query('SELECT pg_advisory_xact_lock($1)', [int8Param(PARTITION_LOCK)]);
    const existing = await listEventPartitions(client, table);
    const defaultName = existing.find((p) => p.fromMs === null)?.name;
    const defaultPartition = defaultName === undefined ? undefined : quoteIdent(defaultName);
    for (let m = -PARTITION_MONTHS_BEHIND; m <= PARTITION_MONTHS_AHEAD; m++) {
      const fromMs = monthStartUtc(nowMs, m);
      const toMs = monthStartUtc(nowMs, m + 1);
      if (existing.some((p) => p.fromMs !== null && p.fromMs < toMs && p.toMs! > fromMs)) continue;
      const name = partitionName(fromMs, table);
      const from = int8Param(orderKeyFloor(fromMs));
      const to = int8Param(orderKeyFloor(toMs));
      const moved = defaultPartition
        ? (
            await client.query<{ found: boolean }>(
              `SELECT EXISTS (SELECT 1 FROM ${defaultPartition} WHERE order_key >= $1 AND order_key < $2) AS found`,
              [from, to],
            )
          ).rows[0]!.found
        : false;
      if (moved) {
        // Rows of this month already sit in the default partition: move them into a new table, then attach it.
        await client.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS)`);
        await client.query(
          `WITH moved AS (DELETE FROM ${defaultPartition} WHERE order_key >= $1 AND order_key < $2 RETURNING *)
           INSERT INTO ${name} SELECT * FROM moved`,
          [from, to],
        );
        await client.query(
          `ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${to})`,
        );
      } else {
        await client.query(`CREATE TABLE ${name} PARTITION OF ${table} FOR VALUES FROM (${from}) TO (${to})`);
      }
      created.push(name);
    }
    await client.query('COMMIT');
    return created;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Drops the monthly partitions that end at or before `cutoffMs`, with no deletion record: maintenance and tests only.
 * The verifier reports what it removes as deleted events; retention drops months through pruning.ts, which records
 * each drop. Returns the names.
 */
export async function dropEventPartitionsBefore(
  pool: pg.Pool,
  cutoffMs: number,
  table: PartitionedTable = 'events',
): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN; SET LOCAL lock_timeout = '10s'");
    await client.query('SELECT pg_advisory_xact_lock($1)', [int8Param(PARTITION_LOCK)]);
    const doomed = (await listEventPartitions(client, table)).filter(
      (p) => p.toMs !== null && p.toMs <= cutoffMs,
    );
    for (const p of doomed) await client.query(`DROP TABLE ${quoteIdent(p.name)}`);
    await client.query('COMMIT');
    return doomed.map((p) => p.name);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
