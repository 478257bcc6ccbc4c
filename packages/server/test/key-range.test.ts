// The order-key range of SQLite list queries (store/sqlite/key-range.ts): a time window and a keyset cursor become at
// most one bound per side, the tightest (SQLite seeks by one bound and filters by any other, so a cursor beside a time
// bound made every page of a walk rescan the rows before it), and select exactly the keys the separate conditions do.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderKeyFloor } from '../src/domain/time.ts';
import { orderKeyRange } from '../src/store/sqlite/key-range.ts';

/** Whether `key` meets the generated conditions (each is "<column> >= ?" or "<column> < ?"). */
function meets(range: { sql: string[]; params: bigint[] }, key: bigint): boolean {
  return range.sql.every((condition, i) =>
    condition.endsWith('>= ?') ? key >= range.params[i]! : key < range.params[i]!,
  );
}

describe('orderKeyRange', () => {
  const BASE_MS = Date.UTC(2026, 0, 1);
  const ms = fc.integer({ min: 0, max: 50 }).map((n) => BASE_MS + n);
  /** Keys in and around those milliseconds, the cursor's among them. */
  const key = fc
    .tuple(fc.integer({ min: -1, max: 51 }), fc.integer({ min: 0, max: 3 }))
    .map(([n, counter]) => orderKeyFloor(BASE_MS + n) + BigInt(counter));

  it('selects exactly the keys in the window and after the cursor, with one bound per side at most', () => {
    fc.assert(
      fc.property(
        fc.option(ms, { nil: undefined }),
        fc.option(ms, { nil: undefined }),
        fc.constantFrom('asc', 'desc'),
        fc.option(key, { nil: undefined }),
        fc.array(key, { minLength: 1, maxLength: 20 }),
        (fromMs, toMs, order, after, keys) => {
          const range = orderKeyRange('e.order_key', { fromMs, toMs }, order, after);
          expect(range.sql.filter((c) => c.endsWith('>= ?')).length).toBeLessThanOrEqual(1);
          expect(range.sql.filter((c) => c.endsWith('< ?')).length).toBeLessThanOrEqual(1);
          expect(range.sql.every((c) => c.startsWith('e.order_key '))).toBe(true);
          for (const k of keys) {
            const inWindow =
              (fromMs === undefined || k >= orderKeyFloor(fromMs)) &&
              (toMs === undefined || k < orderKeyFloor(toMs));
            const afterCursor = after === undefined || (order === 'desc' ? k < after : k > after);
            expect(meets(range, k), `key ${k}`).toBe(inWindow && afterCursor);
          }
        },
      ),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('keeps the cursor as the bound deep in a window (desc: below it; asc: from the key after it)', () => {
    const fromMs = BASE_MS;
    const toMs = BASE_MS + 86_400_000;
    const cursor = orderKeyFloor(BASE_MS + 3_600_000) + 7n;
    expect(orderKeyRange('k', { fromMs, toMs }, 'desc', cursor)).toEqual({
      sql: ['k >= ?', 'k < ?'],
      params: [orderKeyFloor(fromMs), cursor],
    });
    expect(orderKeyRange('k', { fromMs, toMs }, 'asc', cursor)).toEqual({
      sql: ['k >= ?', 'k < ?'],
      params: [cursor + 1n, orderKeyFloor(toMs)],
    });
    expect(orderKeyRange('k', {}, 'desc', undefined)).toEqual({ sql: [], params: [] });
  });
});
