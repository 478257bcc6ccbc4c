// SQL for event lists and counts on SQLite: which index drives each filter, in what join order. Pure: it builds
// statements and never touches a connection.
import type { EventFilter } from '../../query/event-filter.ts';
import { eventKeysQuery, fts5Query } from './full-text.ts';
import { orderKeyRange } from './key-range.ts';

type SqlParam = string | number | bigint | Buffer | null;

/** Upper bound for "starts with prefix" on a BINARY-collated column: no UTF-8 string sorts above U+10FFFF. */
export const prefixUpperBound = (prefix: string) => `${prefix}\u{10FFFF}`;

/** WHERE conditions on `events e` for a filter; full-text is handled by the caller. */
function conditions(filter: EventFilter): { sql: string[]; params: SqlParam[] } {
  const sql = ['e.tenant = ?'];
  const params: SqlParam[] = [filter.tenant];
  if (filter.actorId !== undefined) {
    sql.push('e.actor_id = ?');
    params.push(filter.actorId);
  }
  if (filter.actions) {
    const alternatives: string[] = [];
    if (filter.actions.exact.length > 0) {
      alternatives.push(`e.action IN (${filter.actions.exact.map(() => '?').join(', ')})`);
      params.push(...filter.actions.exact);
    }
    for (const prefix of filter.actions.prefixes) {
      alternatives.push('(e.action >= ? AND e.action < ?)');
      params.push(prefix, prefixUpperBound(prefix));
    }
    sql.push(`(${alternatives.join(' OR ')})`);
  }
  for (const [column, value] of [
    ['e.target_type', filter.targetType],
    ['e.target_id', filter.targetId],
    ['e.outcome', filter.outcome],
    ['e.ip', filter.ip],
  ] as const) {
    if (value !== undefined) {
      sql.push(`${column} = ?`);
      params.push(value);
    }
  }
  // Redacted rows have blank columns and no text: a filter on a non-empty column value or a search cannot match
  // them, so only the other filters pay for this check (it keeps index-only counts index-only).
  const selective =
    [filter.actorId, filter.targetType, filter.targetId, filter.outcome, filter.ip].some(
      (v) => v !== undefined && v !== '',
    ) ||
    (filter.actions !== undefined &&
      filter.actions.prefixes.length === 0 &&
      !filter.actions.exact.includes('')) ||
    filter.search !== undefined;
  if (!selective) sql.push('e.redacted_by IS NULL');
  return { sql, params };
}

/** The statement that lists (or, with columns '1', counts) a filter's events in order after a cursor. */
export function selectEvents(
  columns: string,
  filter: EventFilter,
  order: 'asc' | 'desc',
  after: bigint | undefined,
): { sql: string; params: SqlParam[] } {
  const where = conditions(filter);
  const keys = eventKeysQuery(filter);
  // Every indexed plan reads an FTS index in its rowid (= order key = time) order, so "newest matches" never sorts
  // all matches, and takes time bounds and cursors as rowid ranges inside it. CROSS JOIN fixes that join order:
  // left to itself, SQLite drove a time-bounded query from the events table and probed the index once per event in
  // the range (every event of the day for "this actor, this day"). An actor or target is rarer than a search word,
  // so with both the key index drives and each of its rows is checked against the text index by rowid.
  if (filter.search && keys !== null && (filter.actorId !== undefined || filter.targetId !== undefined)) {
    const range = orderKeyRange('k.rowid', filter, order, after);
    return {
      sql: `SELECT ${columns} FROM events_keys k CROSS JOIN events_fts f CROSS JOIN events e
            WHERE events_keys MATCH ? AND f.rowid = k.rowid AND events_fts MATCH ? AND e.order_key = k.rowid
              AND ${[...range.sql, ...where.sql].join(' AND ')}
            ORDER BY k.rowid ${order}`,
      params: [keys, fts5Query(filter.search), ...range.params, ...where.params],
    };
  }
  if (filter.search) {
    const range = orderKeyRange('f.rowid', filter, order, after);
    return {
      sql: `SELECT ${columns} FROM events_fts f CROSS JOIN events e ON e.order_key = f.rowid
            WHERE events_fts MATCH ? AND ${[...range.sql, ...where.sql].join(' AND ')}
            ORDER BY f.rowid ${order}`,
      params: [fts5Query(filter.search), ...range.params, ...where.params],
    };
  }
  if (keys !== null) {
    const range = orderKeyRange('k.rowid', filter, order, after);
    return {
      sql: `SELECT ${columns} FROM events_keys k CROSS JOIN events e ON e.order_key = k.rowid
            WHERE events_keys MATCH ? AND ${[...range.sql, ...where.sql].join(' AND ')}
            ORDER BY k.rowid ${order}`,
      params: [keys, ...range.params, ...where.params],
    };
  }
  const range = orderKeyRange('e.order_key', filter, order, after);
  return {
    sql: `SELECT ${columns} FROM events e WHERE ${[...where.sql, ...range.sql].join(' AND ')} ORDER BY e.order_key ${order}`,
    params: [...where.params, ...range.params],
  };
}
