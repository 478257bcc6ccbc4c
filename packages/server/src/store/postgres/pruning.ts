// Retention by dropping whole monthly partitions of `events` (instead of deleting their rows one by one): a drop
// frees the month at once and leaves no dead tuples, while log_leaves and merkle_nodes stay, so proofs still work.
// It never drops a row that is not covered by a deletion record (and its archive) or kept, and never drops a month
// that received rows after it was surveyed: each tenant's share is recorded in pruned_ranges in the drop's transaction.
import type pg from 'pg';
import { orderKeyFloor } from '../../domain/time.ts';
import type { PrunedRange, PruneOutcome, PruneRequest, PruneTarget } from '../store.ts';
import {
  type EventPartition,
  listEventPartitions,
  msOfKey,
  PARTITION_LOCK,
  quoteIdent,
} from './partitions.ts';
import { big, int, int8Param } from './values.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Rows that survive a drop (deletion records) are copied into the fresh partition; beyond this, redact rows instead. */
export const MAX_SURVIVORS = 10_000;
/**
 * How long the drop may wait for the exclusive lock on `events` (every in-flight query on events must end first,
 * and queries arriving meanwhile queue behind it). A month that cannot get it is left for the next run.
 */
export const PRUNE_LOCK_TIMEOUT_MS = 5000;

/** What the survey of one partition found for one tenant. */
interface TenantShare {
  tenant: string;
  /** Rows of the tenant in the partition. */
  rows: number;
  /** Highest seq of a row that would be dropped (not kept); null when every row is kept. */
  maxSeq: number | null;
  /** Order keys of the kept rows (copied into the replacement partition). */
  survivors: bigint[];
}

export interface Survey {
  shares: TenantShare[];
  /** Every tenant log's size and redacted count in the survey's snapshot. */
  logs: { t: string; s: number; r: number }[];
}

/** Why a partition is not dropped (the run then redacts its expired rows one by one), or null: it may be dropped. */
function obstacle(
  partition: EventPartition,
  survey: Survey,
  targets: Map<string, PruneTarget>,
): string | null {
  let survivors = 0;
  for (const share of survey.shares) {
    survivors += share.survivors.length;
    if (share.maxSeq === null) continue; // only kept rows (deletion records): they are copied over
    const target = targets.get(share.tenant);
    if (!target) return `tenant ${share.tenant} keeps rows of it`;
    if (target.beforeMs < partition.toMs!) return `tenant ${share.tenant} keeps part of it`;
    if (share.maxSeq >= Math.min(target.belowSeq, target.recordSeq))
      return `tenant ${share.tenant} has rows not yet archived in it`;
  }
  if (survivors > MAX_SURVIVORS) return `${survivors} rows would have to be kept`;
  return survey.shares.some((s) => s.maxSeq !== null) ? null : 'nothing in it expires';
}

/** The survey of one partition (exported for the race test: a drop after a stale survey must refuse). */
export async function surveyPartition(pool: pg.Pool, name: string, keepActions: string[]): Promise<Survey> {
  const client = await pool.connect();
  try {
    // One snapshot for the partition's rows and the log sizes: the drop later checks nothing was added since.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const shares = await client.query<{
      tenant: string;
      rows: string;
      max_seq: string | null;
      survivors: string[] | null;
    }>(
      `SELECT tenant, count(*) AS rows, max(seq) FILTER (WHERE NOT action = ANY($1::text[])) AS max_seq,
              array_agg(order_key::text) FILTER (WHERE action = ANY($1::text[])) AS survivors
         FROM ${quoteIdent(name)} GROUP BY tenant`,
      [keepActions],
    );
    const logs = await client.query<{ tenant: string; size: string; redacted: string }>(
      'SELECT tenant, size, redacted FROM tenant_logs',
    );
    await client.query('COMMIT');
    return {
      shares: shares.rows.map((r) => ({
        tenant: r.tenant,
        rows: int(r.rows),
        maxSeq: r.max_seq === null ? null : int(r.max_seq),
        survivors: (r.survivors ?? []).map(big),
      })),
      logs: logs.rows.map((r) => ({ t: r.tenant, s: int(r.size), r: int(r.redacted) })),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Drops one surveyed partition in one short transaction, or returns null when it changed since the survey (a late
 * event landed in it, a redaction removed rows) or the lock was not granted in time.
 */
export async function dropPartition(
  pool: pg.Pool,
  partition: EventPartition,
  survey: Survey,
  targets: Map<string, PruneTarget>,
  nowMs: number,
): Promise<PrunedRange[] | null> {
  const name = partition.name;
  const fromKey = orderKeyFloor(partition.fromMs!);
  const toKey = orderKeyFloor(partition.toMs!);
  const dropped = survey.shares.filter((s) => s.maxSeq !== null);
  const tenants = dropped.map((s) => s.tenant).sort();
  const client = await pool.connect();
  try {
    await client.query(`BEGIN; SET LOCAL lock_timeout = '${PRUNE_LOCK_TIMEOUT_MS}ms'`);
    await client.query('SELECT pg_advisory_xact_lock($1)', [int8Param(PARTITION_LOCK)]);
    // The tenants' log rows first, in tenant order like appends: their appends wait here, before they touch events,
    // so they cannot hold a lock on events that this transaction waits for while waiting for a row it holds.
    await client.query(
      'SELECT tenant FROM tenant_logs WHERE tenant = ANY($1::text[]) ORDER BY tenant FOR UPDATE',
      [tenants],
    );
    // Nothing reads or writes events until COMMIT: the checks below and the catalog changes are all that is left.
    await client.query('LOCK TABLE ONLY events IN ACCESS EXCLUSIVE MODE');
    const changed = await client.query<{ changed: boolean }>(
      `WITH s AS (SELECT * FROM json_to_recordset($1::json) AS s(t text, s int8, r int8))
       SELECT EXISTS (
         SELECT 1 FROM tenant_logs g LEFT JOIN s ON s.t = g.tenant
          WHERE (g.tenant = ANY($4::text[]) AND g.redacted <> s.r)
             OR EXISTS (SELECT 1 FROM log_leaves l WHERE l.tenant = g.tenant AND l.seq >= coalesce(s.s, 0)
                          AND l.order_key >= $2::int8 AND l.order_key < $3::int8)
       ) AS changed`,
      [JSON.stringify(survey.logs), int8Param(fromKey), int8Param(toKey), tenants],
    );
    if (changed.rows[0]!.changed) {
      await client.query('ROLLBACK');
      return null;
    }
    // Detach, put a fresh empty partition in its place (late events of that month keep landing there, not in the
    // default partition), copy the kept rows over, drop the old table: its files go at COMMIT, no row is deleted.
    const old = quoteIdent(`${name}_pruned`);
    await client.query(`ALTER TABLE events DETACH PARTITION ${quoteIdent(name)}`);
    await client.query(`ALTER TABLE ${quoteIdent(name)} RENAME TO ${old}`);
    await client.query(
      `CREATE TABLE ${quoteIdent(name)} PARTITION OF events FOR VALUES FROM (${int8Param(fromKey)}) TO (${int8Param(toKey)})`,
    );
    const survivors = survey.shares.flatMap((s) =>
      s.survivors.map((k) => ({ t: s.tenant, k: int8Param(k) })),
    );
    if (survivors.length > 0) {
      await client.query(
        `INSERT INTO ${quoteIdent(name)}
         SELECT o.* FROM json_to_recordset($1::json) AS u(t text, k int8)
           JOIN ${old} o ON o.tenant = u.t AND o.order_key = u.k`,
        [JSON.stringify(survivors)],
      );
    }
    await client.query(`DROP TABLE ${old}`);
    const ranges: PrunedRange[] = dropped.map((share) => {
      const target = targets.get(share.tenant)!;
      return {
        tenant: share.tenant,
        fromMs: partition.fromMs!,
        toMs: partition.toMs!,
        belowSeq: target.belowSeq,
        recordSeq: target.recordSeq,
        count: share.rows - share.survivors.length,
        partition: name,
        prunedMs: nowMs,
      };
    });
    const fromHour = Math.floor(partition.fromMs! / HOUR_MS);
    const toHour = Math.floor(partition.toMs! / HOUR_MS);
    const fromDay = Math.floor(partition.fromMs! / DAY_MS);
    const toDay = Math.floor(partition.toMs! / DAY_MS);
    // The record, the live counts and the month's rollups of these tenants, rebuilt from the kept rows.
    await client.query(
      `WITH r AS (
         SELECT * FROM json_to_recordset($1::json)
           AS r(tenant text, "fromMs" int8, "toMs" int8, "belowSeq" int8, "recordSeq" int8, count int8, partition text,
                "prunedMs" int8)
       ), ins AS (
         INSERT INTO pruned_ranges (tenant, from_key, to_key, below_seq, record_seq, count, partition, pruned_ms)
         SELECT tenant, $2::int8, $3::int8, "belowSeq", "recordSeq", count, partition, "prunedMs" FROM r
       )
       UPDATE tenant_logs g SET redacted = g.redacted + r.count FROM r WHERE g.tenant = r.tenant`,
      [JSON.stringify(ranges), int8Param(fromKey), int8Param(toKey)],
    );
    await client.query(
      `WITH h AS (DELETE FROM event_counts_hour WHERE tenant = ANY($1::text[]) AND hour >= $2 AND hour < $3)
       DELETE FROM actor_counts_day WHERE tenant = ANY($1::text[]) AND day >= $4 AND day < $5`,
      [tenants, fromHour, toHour, fromDay, toDay],
    );
    if (survivors.length > 0) {
      await client.query(
        `WITH h AS (
           INSERT INTO event_counts_hour (tenant, hour, action, target_type, count)
           SELECT tenant, floor(occurred_ms / ${HOUR_MS})::int4, action, coalesce(target_type, ''), count(*)
             FROM ${quoteIdent(name)} WHERE tenant = ANY($1::text[]) GROUP BY 1, 2, 3, 4
         )
         INSERT INTO actor_counts_day (tenant, day, actor_id, count)
         SELECT tenant, floor(occurred_ms / ${DAY_MS})::int4, actor_id, count(*)
           FROM ${quoteIdent(name)} WHERE tenant = ANY($1::text[]) GROUP BY 1, 2, 3`,
        [tenants],
      );
    }
    await client.query('COMMIT');
    return ranges;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    // Waiting too long for a lock is a busy moment, not a failure: the month is redacted row by row this time.
    if ((error as { code?: string }).code === '55P03') return null;
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Drops every monthly partition of `events` that ends before the latest cut-off and whose rows are all covered by a
 * target or kept. Oldest first; each drop is its own transaction.
 */
export async function pruneEventPartitions(pool: pg.Pool, request: PruneRequest): Promise<PruneOutcome> {
  const targets = new Map(request.targets.map((t) => [t.tenant, t]));
  const latest = Math.max(...request.targets.map((t) => t.beforeMs));
  const outcome: PruneOutcome = { ranges: [], skipped: [] };
  if (targets.size === 0) return outcome;
  const candidates = (await listEventPartitions(pool)).filter((p) => p.toMs !== null && p.toMs <= latest);
  for (const partition of candidates) {
    const survey = await surveyPartition(pool, partition.name, request.keepActions);
    if (survey.shares.length === 0) continue; // empty: nothing to free
    const reason = obstacle(partition, survey, targets);
    if (reason !== null) {
      outcome.skipped.push({ partition: partition.name, reason });
      continue;
    }
    const ranges = await dropPartition(pool, partition, survey, targets, request.nowMs);
    if (ranges === null) {
      outcome.skipped.push({ partition: partition.name, reason: 'it changed or was busy during the drop' });
      continue;
    }
    outcome.ranges.push(...ranges);
  }
  return outcome;
}

interface PrunedRowRaw {
  tenant: string;
  from_key: string;
  to_key: string;
  below_seq: string;
  record_seq: string;
  count: string;
  partition: string;
  pruned_ms: string;
}

export async function listPrunedRanges(pool: pg.Pool, tenant: string): Promise<PrunedRange[]> {
  const { rows } = await pool.query<PrunedRowRaw>(
    `SELECT tenant, from_key, to_key, below_seq, record_seq, count, partition, pruned_ms FROM pruned_ranges
      WHERE tenant = $1 ORDER BY from_key, below_seq`,
    [tenant],
  );
  return rows.map((r) => ({
    tenant: r.tenant,
    fromMs: msOfKey(big(r.from_key)),
    toMs: msOfKey(big(r.to_key)),
    belowSeq: int(r.below_seq),
    recordSeq: int(r.record_seq),
    count: int(r.count),
    partition: r.partition,
    prunedMs: int(r.pruned_ms),
  }));
}
