// The order-key range of a list query (time bounds and keyset cursor), shared by the event and system-log tables:
// both are clustered on order_key, so the range is one B-tree interval. SQL text only; never touches a database.
import { orderKeyFloor } from '../../domain/time.ts';

/** Conditions on `keyColumn` for [fromMs, toMs) and "after the cursor" in the page's order. */
export function orderKeyRange(
  keyColumn: string,
  filter: { fromMs?: number; toMs?: number },
  order: 'asc' | 'desc',
  after: bigint | undefined,
): { sql: string[]; params: bigint[] } {
  const sql: string[] = [];
  const params: bigint[] = [];
  if (filter.fromMs !== undefined) {
    sql.push(`${keyColumn} >= ?`);
    params.push(orderKeyFloor(filter.fromMs));
  }
  if (filter.toMs !== undefined) {
    sql.push(`${keyColumn} < ?`);
    params.push(orderKeyFloor(filter.toMs));
  }
  if (after !== undefined) {
    sql.push(`${keyColumn} ${order === 'desc' ? '<' : '>'} ?`);
    params.push(after);
  }
  return { sql, params };
}
