// The SQLite side of system logs (schema: migration 0005_system_logs). SqliteStore delegates its log methods here.
// It must never acknowledge an append before its transaction committed; no Merkle work happens for logs.

import { LogbookError } from '@logbook/protocol';
import Database from 'better-sqlite3';
import type { PreparedLogEntry } from '../../domain/log-entry.ts';
import { ORDER_KEY_COUNTER_BITS, orderKeyFloor } from '../../domain/time.ts';
import type { LogFilter, LogPageRequest, LogStatsRequest } from '../../query/log-filter.ts';
import type { LogPage, LogStatsResult, StoredLogRow } from '../store.ts';
import { fts5Query } from './full-text.ts';
import { orderKeyRange } from './key-range.ts';
import { StatementCache } from './statements.ts';

type Db = Database.Database;
type Statement = Database.Statement;
type SqlParam = string | number | bigint | null;

const HOUR_MS = 3_600_000;
const COUNTER_SPAN = 1n << ORDER_KEY_COUNTER_BITS;
const SEQ_SPAN = Number(COUNTER_SPAN);

interface LogRowRaw {
  order_key: bigint;
  seq: bigint;
  body: string;
}

const logRow = (raw: LogRowRaw): StoredLogRow => ({
  orderKey: raw.order_key,
  seq: Number(raw.seq),
  body: raw.body,
});

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export class SqliteLogs {
  private readonly statements: StatementCache;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string, safe = false): Statement {
    return this.statements.get(sql, safe);
  }

  append(entries: PreparedLogEntry[]): void {
    if (entries.length === 0) return;
    this.db
      .transaction(() => {
        const maxKey = this.stmt(
          'SELECT max(order_key) AS k FROM logs WHERE order_key >= ? AND order_key < ?',
          true,
        );
        const head = this.stmt('SELECT seq FROM log_heads WHERE tenant = ?');
        // ON CONFLICT: a computed key may be taken (see below); the insert then reports 0 changes.
        const insert = this.stmt(
          `INSERT INTO logs (order_key, tenant, seq, id, ts_ms, level, service, trace_id, body)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_key) DO NOTHING`,
        );
        const insertText = this.stmt('INSERT INTO logs_fts (rowid, text) VALUES (?, ?)');
        // The key after the highest one stored in the entry's millisecond (a full millisecond spills into the next).
        const probedKey = (ms: number): bigint => {
          for (let at = ms; ; at++) {
            const floor = orderKeyFloor(at);
            const found = (maxKey.get(floor, floor + COUNTER_SPAN) as { k: bigint | null }).k;
            if (found === null) return floor;
            if (found + 1n < floor + COUNTER_SPAN) return found + 1n;
          }
        };
        const seqs = new Map<string, number>();
        const counts = new Map<
          string,
          { tenant: string; hour: number; level: number; service: string; n: number }
        >();
        for (const e of entries) {
          let seq = seqs.get(e.tenant);
          if (seq === undefined) seq = (head.get(e.tenant) as { seq: number } | undefined)?.seq ?? -1;
          seq += 1;
          seqs.set(e.tenant, seq);
          // Order key without a lookup: timestamp ms << 20 | seq mod 2^20. It is taken only when another entry has
          // the same millisecond and a seq of the same remainder (another tenant, or a re-sent old batch): then probe.
          let key = orderKeyFloor(e.timestampMs) | BigInt(seq % SEQ_SPAN);
          while (
            insert.run(key, e.tenant, seq, e.id, e.timestampMs, e.level, e.service, e.traceId, e.body)
              .changes === 0
          ) {
            key = probedKey(e.timestampMs);
          }
          insertText.run(key, e.searchText);
          const hour = Math.floor(e.timestampMs / HOUR_MS);
          const slot = `${e.tenant}\u0000${hour}\u0000${e.level}\u0000${e.service}`;
          const count = counts.get(slot);
          if (count) count.n += 1;
          else counts.set(slot, { tenant: e.tenant, hour, level: e.level, service: e.service, n: 1 });
        }
        const upsertCount = this.stmt(
          `INSERT INTO log_counts_hour (tenant, hour, level, service, count) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (tenant, hour, service, level) DO UPDATE SET count = count + excluded.count`,
        );
        for (const c of counts.values()) upsertCount.run(c.tenant, c.hour, c.level, c.service, c.n);
        const saveHead = this.stmt(
          'INSERT INTO log_heads (tenant, seq) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq',
        );
        for (const [tenant, seq] of seqs) saveHead.run(tenant, seq);
      })
      .immediate();
  }

  get(tenant: string, id: string): StoredLogRow | null {
    const raw = this.stmt('SELECT order_key, seq, body FROM logs WHERE tenant = ? AND id = ?', true).get(
      tenant,
      id,
    ) as LogRowRaw | undefined;
    return raw ? logRow(raw) : null;
  }

  /** WHERE conditions on `logs l` for the filter's tenant, levels, services and trace id. */
  private conditions(filter: LogFilter): { where: string[]; params: SqlParam[] } {
    const where: string[] = ['l.tenant = ?'];
    const params: SqlParam[] = [filter.tenant];
    if (filter.levels) {
      where.push(`l.level IN (${marks(filter.levels.length)})`);
      params.push(...filter.levels);
    }
    if (filter.services) {
      where.push(`l.service IN (${marks(filter.services.length)})`);
      params.push(...filter.services);
    }
    if (filter.traceId !== undefined) {
      where.push('l.trace_id = ?');
      params.push(filter.traceId);
    }
    return { where, params };
  }

  count(filter: LogFilter): number {
    const { where, params } = this.conditions(filter);
    const text = this.usesText(filter);
    const range = orderKeyRange(text ? 'f.rowid' : 'l.order_key', filter, 'desc', undefined);
    const sql = text
      ? `SELECT count(*) AS n FROM logs_fts f JOIN logs l ON l.order_key = f.rowid
         WHERE logs_fts MATCH ? AND ${[...range.sql, ...where].join(' AND ')}`
      : `SELECT count(*) AS n FROM logs l WHERE ${[...where, ...range.sql].join(' AND ')}`;
    const all = text ? [this.textQuery(filter), ...range.params, ...params] : [...params, ...range.params];
    return (runSearch(() => this.stmt(sql).get(...all)) as { n: number }).n;
  }

  /** Deletes one entry, its full-text row and its rollup count, in one transaction. */
  deleteOne(tenant: string, id: string): boolean {
    return this.db
      .transaction(() => {
        const row = this.stmt(
          'SELECT order_key, ts_ms, level, service FROM logs WHERE tenant = ? AND id = ? LIMIT 1',
          true,
        ).get(tenant, id) as { order_key: bigint; ts_ms: bigint; level: bigint; service: string } | undefined;
        if (!row) return false;
        this.stmt('DELETE FROM logs WHERE order_key = ?').run(row.order_key);
        this.stmt('DELETE FROM logs_fts WHERE rowid = ?').run(row.order_key);
        const hour = Math.floor(Number(row.ts_ms) / HOUR_MS);
        this.stmt(
          'UPDATE log_counts_hour SET count = count - 1 WHERE tenant = ? AND hour = ? AND service = ? AND level = ?',
        ).run(tenant, hour, row.service, Number(row.level));
        this.stmt(
          'DELETE FROM log_counts_hour WHERE tenant = ? AND hour = ? AND service = ? AND level = ? AND count <= 0',
        ).run(tenant, hour, row.service, Number(row.level));
        return true;
      })
      .immediate();
  }

  list(page: LogPageRequest): LogPage {
    const { filter, order, after } = page;
    const { where, params } = this.conditions(filter);
    const keyColumn = this.usesText(filter) ? 'f.rowid' : 'l.order_key';
    const range = orderKeyRange(keyColumn, filter, order, after);
    let sql: string;
    let all: SqlParam[];
    if (this.usesText(filter)) {
      // Driven from the FTS index in its rowid (= time) order: "newest matches" never sorts all matches.
      sql = `SELECT l.order_key, l.seq, l.body FROM logs_fts f JOIN logs l ON l.order_key = f.rowid
             WHERE logs_fts MATCH ? AND ${[...range.sql, ...where].join(' AND ')} ORDER BY f.rowid ${order} LIMIT ?`;
      all = [this.textQuery(filter), ...range.params, ...params, page.limit + 1];
    } else {
      sql = `SELECT l.order_key, l.seq, l.body FROM logs l WHERE ${[...where, ...range.sql].join(' AND ')}
             ORDER BY l.order_key ${order} LIMIT ?`;
      all = [...params, ...range.params, page.limit + 1];
    }
    const raws = runSearch(() => this.stmt(sql, true).all(...all)) as LogRowRaw[];
    const more = raws.length > page.limit;
    const rows = raws.slice(0, page.limit).map(logRow);
    return { rows, lastOrderKey: more ? rows[rows.length - 1]!.orderKey : null };
  }

  private usesText(filter: LogFilter): boolean {
    return filter.search !== undefined || filter.traceId !== undefined;
  }

  /** The FTS query: the search terms, and the trace id as one more literal word (it is indexed with the text). */
  private textQuery(filter: LogFilter): string {
    return fts5Query([
      ...(filter.search ?? []),
      ...(filter.traceId !== undefined ? [{ phrase: filter.traceId, prefix: false }] : []),
    ]);
  }

  stats(request: LogStatsRequest): LogStatsResult {
    const fromHour = Math.floor(request.fromMs / HOUR_MS);
    const toHour = Math.ceil(request.toMs / HOUR_MS);
    const services = request.services ?? [];
    const serviceSql = services.length > 0 ? ` AND service IN (${marks(services.length)})` : '';
    const params = [request.tenant, fromHour, toHour, ...services];
    const hours = new Map<number, Map<number, number>>();
    const byLevel = new Map<number, number>();
    for (const row of this.stmt(
      `SELECT hour, level, sum(count) AS n FROM log_counts_hour WHERE tenant = ? AND hour >= ? AND hour < ?${serviceSql}
       GROUP BY hour, level`,
    ).all(...params) as { hour: number; level: number; n: number }[]) {
      if (row.n <= 0) continue;
      const start = row.hour * HOUR_MS;
      let levels = hours.get(start);
      if (!levels) {
        levels = new Map();
        hours.set(start, levels);
      }
      levels.set(row.level, row.n);
      byLevel.set(row.level, (byLevel.get(row.level) ?? 0) + row.n);
    }
    const byService = (
      this.stmt(
        `SELECT service, sum(count) AS n FROM log_counts_hour WHERE tenant = ? AND hour >= ? AND hour < ?${serviceSql}
         GROUP BY service HAVING n > 0 ORDER BY n DESC, service LIMIT ?`,
      ).all(...params, request.top) as { service: string; n: number }[]
    ).map((r) => ({ service: r.service, count: r.n }));
    return { byLevel, byService, hours };
  }

  readAfter(tenant: string, afterSeq: number, limit: number): StoredLogRow[] {
    return (
      this.stmt(
        'SELECT order_key, seq, body FROM logs WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?',
        true,
      ).all(tenant, afterSeq, limit) as LogRowRaw[]
    ).map(logRow);
  }

  headSeq(tenant: string): number {
    return (
      (this.stmt('SELECT seq FROM log_heads WHERE tenant = ?').get(tenant) as { seq: number } | undefined)
        ?.seq ?? -1
    );
  }

  tenants(): string[] {
    return (this.stmt('SELECT tenant FROM log_heads ORDER BY tenant').all() as { tenant: string }[]).map(
      (r) => r.tenant,
    );
  }

  deleteBefore(tenant: string, beforeMs: number, limit: number): number {
    return this.db
      .transaction(() => {
        const rows = this.stmt(
          `SELECT order_key, ts_ms, level, service FROM logs WHERE tenant = ? AND order_key < ? ORDER BY order_key LIMIT ?`,
          true,
        ).all(tenant, orderKeyFloor(beforeMs), limit) as {
          order_key: bigint;
          ts_ms: bigint;
          level: bigint;
          service: string;
        }[];
        const remove = this.stmt('DELETE FROM logs WHERE order_key = ?');
        const dropText = this.stmt('DELETE FROM logs_fts WHERE rowid = ?');
        const count = this.stmt(
          'UPDATE log_counts_hour SET count = count - 1 WHERE tenant = ? AND hour = ? AND service = ? AND level = ?',
        );
        for (const row of rows) {
          remove.run(row.order_key);
          dropText.run(row.order_key);
          count.run(tenant, Math.floor(Number(row.ts_ms) / HOUR_MS), row.service, Number(row.level));
        }
        if (rows.length > 0)
          this.stmt('DELETE FROM log_counts_hour WHERE tenant = ? AND count <= 0').run(tenant);
        return rows.length;
      })
      .immediate();
  }
}

/** An engine limit can still refuse a full-text query: that is the caller's 400, not a 500. */
function runSearch<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof Database.SqliteError && /fts5|MATCH/i.test(error.message)) {
      throw new LogbookError(
        'INVALID_QUERY',
        `q cannot be searched: ${error.message.replace(/^fts5: /, '')}`,
      );
    }
    throw error;
  }
}
