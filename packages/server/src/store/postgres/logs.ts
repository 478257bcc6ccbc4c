// The PostgreSQL side of system logs (schema: migration 0005_system_logs). PostgresStore delegates its log methods
// here. Appends lock their tenants' log_heads rows, so seqs become visible in order across processes (the live tail
// depends on it). It never acknowledges an append before COMMIT returned; no Merkle work happens for logs.
import type pg from 'pg';
import type { PreparedLogEntry } from '../../domain/log-entry.ts';
import { ORDER_KEY_COUNTER_BITS, orderKeyFloor } from '../../domain/time.ts';
import type { LogFilter, LogPageRequest, LogStatsRequest } from '../../query/log-filter.ts';
import type { LogPage, LogStatsResult, StoredLogRow } from '../store.ts';
import { BatchQuery, BinaryRows, copyFrom, HAND_OFF_MIN_ROWS } from './copy-binary.ts';
import { lexemePositions, tsqueryText } from './full-text.ts';
import { big, int, int8Param, toPgText } from './values.ts';

const HOUR_MS = 3_600_000;
const COUNTER_SPAN = 1n << ORDER_KEY_COUNTER_BITS;
/** Newest rows a full-text page first looks through before it asks the GIN index for every match. */
const SEARCH_WINDOW = 2000;
/** Deadlocks and serialisation failures roll the whole group back; nothing was acknowledged, so it is retried. */
const RETRYABLE = new Set(['40P01', '40001']);
/** unique_violation: the only unique key of `logs` is (tenant, order_key), so a computed key was taken. */
const KEY_TAKEN = '23505';
/** Columns the append COPYs, in the order the rows are encoded. */
const LOG_COLUMNS = [
  'tenant',
  'order_key',
  'seq',
  'id',
  'ts_ms',
  'level',
  'service',
  'trace_id',
  'body',
  'search',
] as const;

interface LogRowRaw {
  order_key: string;
  seq: string;
  body: string;
}

const logRow = (raw: LogRowRaw): StoredLogRow => ({
  orderKey: big(raw.order_key),
  seq: int(raw.seq),
  body: raw.body,
});

/** Builds numbered parameters ($1, $2, …) next to the SQL text that uses them. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

export class PostgresLogs {
  constructor(
    private readonly pool: pg.Pool,
    /** The store's transaction runner (PostgresStore.transaction); appends send their own BEGIN and COMMIT. */
    private readonly transaction: <T>(
      work: (client: pg.PoolClient) => Promise<T>,
      options?: { brackets?: boolean },
    ) => Promise<T>,
  ) {}

  async append(entries: PreparedLogEntry[], handOff?: () => void): Promise<void> {
    if (entries.length === 0) return;
    let probe = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction((client) => this.appendInTransaction(client, entries, probe, handOff), {
          brackets: true,
        });
      } catch (error) {
        if ((error as { code?: string }).code === KEY_TAKEN && !probe) {
          probe = true; // rolled back whole; redo with probed keys
          continue;
        }
        if (attempt >= 3 || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
      }
    }
  }

  /**
   * Order keys: by default timestamp ms << 20 | (seq mod 2^20), free of any lookup because seqs are unique per
   * tenant. Two entries collide only with the same millisecond and seqs 2^20 apart (a re-sent old batch): then the
   * COPY fails on the primary key, the transaction is rolled back, and it is redone with `probe`, which allocates each
   * key after the highest one stored in its millisecond (one batched index probe per distinct millisecond).
   * Two round trips, as for audit events (postgres-store.ts): BEGIN and the lock; then the rollup and heads, the rows
   * as binary COPY (the tsvector in binary: no JSON or tsvector text for PostgreSQL to parse) and COMMIT.
   */
  private async appendInTransaction(
    client: pg.PoolClient,
    entries: PreparedLogEntry[],
    probe: boolean,
    handOff: (() => void) | undefined,
  ): Promise<void> {
    const tenants = [...new Set(entries.map((e) => e.tenant))].sort();
    // 1. Lock the tenants' heads in tenant order (no deadlock between processes). Until COMMIT no one else appends
    //    to them, so seqs and order keys allocated below are ours alone, and seqs commit in order.
    const [heads] = (await new BatchQuery([
      'BEGIN',
      {
        text: `INSERT INTO log_heads AS h (tenant, seq)
               SELECT u, -1 FROM json_array_elements_text($1::json) AS u ORDER BY u COLLATE "C"
               ON CONFLICT (tenant) DO UPDATE SET seq = h.seq
               RETURNING h.tenant, h.seq`,
        values: [JSON.stringify(tenants)],
      },
    ]).start(client)) as unknown as { tenant: string; seq: string }[][];
    const seqs = new Map(heads!.map((r) => [r.tenant, int(r.seq)]));

    // 2. Order keys: the next free key of each tenant+millisecond, probed once per distinct pair (batched).
    const nextKeys = new Map<string, bigint>();
    const slot = (tenant: string, ms: number) => `${tenant}\u0000${ms}`;
    const loadMaxima = async (pairs: [string, number][]) => {
      const { rows } = await client.query<{ tenant: string; ms: string; k: string | null }>(
        `SELECT u.tenant, u.ms, (SELECT max(l.order_key) FROM logs l WHERE l.tenant = u.tenant
                 AND l.order_key >= u.ms * ${COUNTER_SPAN} AND l.order_key < (u.ms + 1) * ${COUNTER_SPAN}) AS k
           FROM unnest($1::text[], $2::int8[]) AS u(tenant, ms)`,
        [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
      );
      for (const row of rows) {
        const ms = int(row.ms);
        nextKeys.set(slot(row.tenant, ms), row.k === null ? orderKeyFloor(ms) : big(row.k) + 1n);
      }
    };
    if (probe) {
      const distinct = new Map<string, [string, number]>();
      for (const e of entries) distinct.set(slot(e.tenant, e.timestampMs), [e.tenant, e.timestampMs]);
      await loadMaxima([...distinct.values()]);
    }
    const allocate = async (tenant: string, ms0: number): Promise<bigint> => {
      for (let ms = ms0; ; ms++) {
        if (!nextKeys.has(slot(tenant, ms))) await loadMaxima([[tenant, ms]]);
        const next = nextKeys.get(slot(tenant, ms))!;
        if (next < orderKeyFloor(ms + 1)) {
          nextKeys.set(slot(tenant, ms), next + 1n);
          return next;
        }
      }
    };

    // 3. Seqs, order keys and the hourly rollup, decided in memory.
    const keyed: { entry: PreparedLogEntry; seq: number; orderKey: bigint; service: string }[] = [];
    const counts = new Map<string, { t: string; h: number; l: number; sv: string; n: number }>();
    for (const e of entries) {
      const seq = seqs.get(e.tenant)! + 1;
      seqs.set(e.tenant, seq);
      const service = toPgText(e.service);
      const orderKey = probe
        ? await allocate(e.tenant, e.timestampMs)
        : orderKeyFloor(e.timestampMs) | BigInt(seq % Number(COUNTER_SPAN));
      keyed.push({ entry: e, seq, orderKey, service });
      const hour = Math.floor(e.timestampMs / HOUR_MS);
      const key = `${e.tenant}\u0000${hour}\u0000${e.level}\u0000${service}`;
      const count = counts.get(key);
      if (count) count.n += 1;
      else counts.set(key, { t: e.tenant, h: hour, l: e.level, sv: service, n: 1 });
    }

    // 4. Rollup and heads (one statement, JSON parameters), the rows as binary COPY, COMMIT: one round trip. Rows
    //    leave as they are encoded, so PostgreSQL inserts the first ones while Node encodes the rest.
    const write = new BatchQuery([
      {
        text: `WITH cnt AS (
                 INSERT INTO log_counts_hour AS x (tenant, hour, level, service, count)
                 SELECT t, h, l, sv, n FROM json_to_recordset($1::json) AS c(t text, h int4, l int2, sv text, n int8)
                 ON CONFLICT (tenant, hour, service, level) DO UPDATE SET count = x.count + excluded.count
               )
               UPDATE log_heads h SET seq = u.s FROM json_to_recordset($2::json) AS u(t text, s int8)
                WHERE h.tenant = u.t`,
        values: [JSON.stringify([...counts.values()]), JSON.stringify([...seqs].map(([t, s]) => ({ t, s })))],
      },
      copyFrom('logs', LOG_COLUMNS),
      'COMMIT',
    ]);
    const committed = write.stream(client, (send) => {
      const rows = new BinaryRows(send);
      for (const { entry: e, seq, orderKey, service } of keyed) {
        rows
          .row(LOG_COLUMNS.length)
          .text(e.tenant)
          .int8(orderKey)
          .int8(seq)
          .text(e.id)
          .int8(e.timestampMs)
          .int2(e.level)
          .text(service)
          .text(e.traceId)
          .text(e.body)
          .tsvector(lexemePositions(e.searchText));
      }
      rows.end();
    });
    // Sent up to COMMIT, heads locked until it: the next group may form and wait for the lock inside PostgreSQL.
    if (keyed.length >= HAND_OFF_MIN_ROWS) handOff?.();
    await committed;
  }

  async get(tenant: string, id: string): Promise<StoredLogRow | null> {
    const { rows } = await this.pool.query<LogRowRaw>(
      'SELECT order_key, seq, body FROM logs WHERE tenant = $1 AND id = $2 LIMIT 1',
      [tenant, toPgText(id)],
    );
    return rows[0] ? logRow(rows[0]) : null;
  }

  /** WHERE conditions on `logs l` for a filter (without full text), the time bounds and the cursor. */
  private conditions(p: Params, filter: LogFilter, order: 'asc' | 'desc', after: bigint | undefined): string {
    const sql = [`l.tenant = ${p.add(filter.tenant)}`];
    if (filter.levels) sql.push(`l.level = ANY(${p.add(filter.levels, '::int2[]')})`);
    if (filter.services)
      sql.push(
        `l.service = ANY(${p.add(
          filter.services.map((s) => toPgText(s)),
          '::text[]',
        )})`,
      );
    if (filter.traceId !== undefined) sql.push(`l.trace_id = ${p.add(filter.traceId)}`);
    if (filter.fromMs !== undefined)
      sql.push(`l.order_key >= ${p.add(int8Param(orderKeyFloor(filter.fromMs)))}::int8`);
    if (filter.toMs !== undefined)
      sql.push(`l.order_key < ${p.add(int8Param(orderKeyFloor(filter.toMs)))}::int8`);
    if (after !== undefined)
      sql.push(`l.order_key ${order === 'desc' ? '<' : '>'} ${p.add(int8Param(after))}::int8`);
    return sql.join(' AND ');
  }

  async count(filter: LogFilter): Promise<number> {
    const p = new Params();
    let where = this.conditions(p, filter, 'desc', undefined);
    if (filter.search !== undefined || filter.traceId !== undefined) {
      const query = tsqueryText([
        ...(filter.search ?? []),
        ...(filter.traceId !== undefined ? [{ phrase: filter.traceId, prefix: false }] : []),
      ]);
      if (query === null) return 0;
      where += ` AND l.search @@ ${p.add(query)}::tsquery`;
    }
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM logs l WHERE ${where}`,
      p.values,
    );
    return int(rows[0]!.n);
  }

  /** Deletes one entry and its rollup count in one statement. */
  async deleteOne(tenant: string, id: string): Promise<boolean> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `WITH d AS (
           DELETE FROM logs WHERE tenant = $1 AND order_key = (
             SELECT order_key FROM logs WHERE tenant = $1 AND id = $2 LIMIT 1)
           RETURNING ts_ms, level, service
         ), upd AS (
           UPDATE log_counts_hour c SET count = c.count - 1 FROM d
            WHERE c.tenant = $1 AND c.hour = (d.ts_ms / ${HOUR_MS})::int4 AND c.level = d.level
              AND c.service = d.service
         )
         SELECT count(*)::int4 AS n FROM d`,
        [tenant, toPgText(id)],
      );
      const deleted = (rows[0]?.n ?? 0) > 0;
      if (deleted)
        await client.query('DELETE FROM log_counts_hour WHERE tenant = $1 AND count <= 0', [tenant]);
      return deleted;
    });
  }

  async list(page: LogPageRequest): Promise<LogPage> {
    const { filter, order, after } = page;
    const limit = page.limit + 1;
    let raws: LogRowRaw[];
    if (filter.search !== undefined || filter.traceId !== undefined) {
      const query = tsqueryText([
        ...(filter.search ?? []),
        ...(filter.traceId !== undefined ? [{ phrase: filter.traceId, prefix: false }] : []),
      ]);
      raws = query === null ? [] : await this.searchPage(filter, order, after, query, limit);
    } else {
      const p = new Params();
      const where = this.conditions(p, filter, order, after);
      raws = (
        await this.pool.query<LogRowRaw>(
          `SELECT l.order_key, l.seq, l.body FROM logs l WHERE ${where} ORDER BY l.order_key ${order} LIMIT ${p.add(limit)}`,
          p.values,
        )
      ).rows;
    }
    const more = raws.length > page.limit;
    const rows = raws.slice(0, page.limit).map(logRow);
    return { rows, lastOrderKey: more ? rows[rows.length - 1]!.orderKey : null };
  }

  /**
   * A page of full-text matches in time order: the newest SEARCH_WINDOW rows are tested first (fast when matches are
   * common); when that does not fill the page, the GIN index finds every match first (a MATERIALIZED CTE the planner
   * cannot turn back into a walk) and only those are sorted (fast when matches are rare). Same idea as events.
   */
  private async searchPage(
    filter: LogFilter,
    order: 'asc' | 'desc',
    after: bigint | undefined,
    query: string,
    limit: number,
  ): Promise<LogRowRaw[]> {
    const w = new Params();
    const walkWhere = this.conditions(w, filter, order, after);
    const first = (
      await this.pool.query<LogRowRaw>(
        `SELECT l.order_key, l.seq, l.body
           FROM (SELECT order_key, seq, body, search FROM logs l WHERE ${walkWhere}
                 ORDER BY l.order_key ${order} LIMIT ${w.add(SEARCH_WINDOW)}) l
          WHERE l.search @@ ${w.add(query)}::tsquery
          ORDER BY l.order_key ${order} LIMIT ${w.add(limit)}`,
        w.values,
      )
    ).rows;
    if (first.length >= limit) return first;
    const p = new Params();
    const where = this.conditions(p, filter, order, after);
    return (
      await this.pool.query<LogRowRaw>(
        `WITH matches AS MATERIALIZED (
           SELECT l.order_key, l.seq, l.body FROM logs l WHERE ${where} AND l.search @@ ${p.add(query)}::tsquery
         )
         SELECT order_key, seq, body FROM matches ORDER BY order_key ${order} LIMIT ${p.add(limit)}`,
        p.values,
      )
    ).rows;
  }

  async stats(request: LogStatsRequest): Promise<LogStatsResult> {
    const p = new Params();
    let where = `tenant = ${p.add(request.tenant)} AND hour >= ${p.add(Math.floor(request.fromMs / HOUR_MS))}
      AND hour < ${p.add(Math.ceil(request.toMs / HOUR_MS))}`;
    if (request.services)
      where += ` AND service = ANY(${p.add(
        request.services.map((s) => toPgText(s)),
        '::text[]',
      )})`;
    const hours = new Map<number, Map<number, number>>();
    const byLevel = new Map<number, number>();
    const perHour = await this.pool.query<{ hour: number; level: number; n: string }>(
      `SELECT hour, level, sum(count) AS n FROM log_counts_hour WHERE ${where} GROUP BY hour, level`,
      p.values,
    );
    for (const row of perHour.rows) {
      const n = int(row.n);
      if (n <= 0) continue;
      const start = row.hour * HOUR_MS;
      let levels = hours.get(start);
      if (!levels) {
        levels = new Map();
        hours.set(start, levels);
      }
      levels.set(row.level, n);
      byLevel.set(row.level, (byLevel.get(row.level) ?? 0) + n);
    }
    const services = await this.pool.query<{ service: string; n: string }>(
      `SELECT service, sum(count) AS n FROM log_counts_hour WHERE ${where}
        GROUP BY service HAVING sum(count) > 0 ORDER BY n DESC, service LIMIT ${p.add(request.top)}`,
      p.values,
    );
    const byService = services.rows.map((r) => ({ service: r.service, count: int(r.n) }));
    return { byLevel, byService, hours };
  }

  async readAfter(tenant: string, afterSeq: number, limit: number): Promise<StoredLogRow[]> {
    const { rows } = await this.pool.query<LogRowRaw>(
      'SELECT order_key, seq, body FROM logs WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [tenant, afterSeq, limit],
    );
    return rows.map(logRow);
  }

  async headSeq(tenant: string): Promise<number> {
    const { rows } = await this.pool.query<{ seq: string }>('SELECT seq FROM log_heads WHERE tenant = $1', [
      tenant,
    ]);
    return rows[0] ? int(rows[0].seq) : -1;
  }

  async tenants(): Promise<string[]> {
    const { rows } = await this.pool.query<{ tenant: string }>(
      'SELECT tenant FROM log_heads ORDER BY tenant',
    );
    return rows.map((r) => r.tenant);
  }

  async deleteBefore(tenant: string, beforeMs: number, limit: number): Promise<number> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `WITH d AS (
           DELETE FROM logs WHERE tenant = $1 AND order_key IN (
             SELECT order_key FROM logs WHERE tenant = $1 AND order_key < $2::int8 ORDER BY order_key LIMIT $3)
           RETURNING ts_ms, level, service
         ), agg AS (
           SELECT (ts_ms / ${HOUR_MS})::int4 AS hour, level, service, count(*) AS n FROM d GROUP BY 1, 2, 3
         ), upd AS (
           UPDATE log_counts_hour c SET count = c.count - agg.n FROM agg
            WHERE c.tenant = $1 AND c.hour = agg.hour AND c.level = agg.level AND c.service = agg.service
         )
         SELECT count(*)::int4 AS n FROM d`,
        [tenant, int8Param(orderKeyFloor(beforeMs)), limit],
      );
      await client.query('DELETE FROM log_counts_hour WHERE tenant = $1 AND count <= 0', [tenant]);
      return rows[0]?.n ?? 0;
    });
  }
}
