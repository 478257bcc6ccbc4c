// The SQLite rows behind stats' kept sums (store/closed-rollups.ts): rollup sums and the tenant's counters. Reads
// only; never writes.
import type { HourlySums, RollupSource } from '../closed-rollups.ts';
import type { StatementCache } from './statements.ts';

export function sqliteRollupSource(statements: StatementCache): RollupSource {
  return {
    async version(tenant) {
      const state = statements
        .get('SELECT redacted, late_appends FROM tenant_logs WHERE tenant = ?')
        .get(tenant) as { redacted: number; late_appends: number } | undefined;
      return state ? `${state.redacted}:${state.late_appends}` : null;
    },

    async actorSums(tenant, fromDay, toDay, only = {}) {
      if (fromDay >= toDay) return [];
      const oneDay = toDay === fromDay + 1;
      const listed = only.ids ? ' AND actor_id IN (SELECT value FROM json_each(?))' : '';
      const ranked = only.largest !== undefined ? ' ORDER BY n DESC, id LIMIT ?' : '';
      const params = [
        tenant,
        fromDay,
        ...(oneDay ? [] : [toDay]),
        ...(only.ids ? [JSON.stringify(only.ids)] : []),
        ...(only.largest !== undefined ? [only.largest] : []),
      ];
      // One day's rows are one per actor already: no grouping for today's (~10^4) actors.
      const rows = statements
        .get(
          oneDay
            ? `SELECT actor_id AS id, count AS n FROM actor_counts_day WHERE tenant = ? AND day = ?${listed}${ranked}`
            : `SELECT actor_id AS id, sum(count) AS n FROM actor_counts_day WHERE tenant = ? AND day >= ? AND day < ?${listed}
               GROUP BY actor_id${ranked}`,
        )
        .all(...params) as { id: string; n: number }[];
      return rows.map((row) => [row.id, row.n]);
    },

    async hourSums(tenant, fromHour, toHour) {
      const sums: HourlySums = { byActionAndType: new Map(), byHour: new Map() };
      if (fromHour >= toHour) return sums;
      for (const row of statements
        .get(
          `SELECT action, target_type, sum(count) AS n FROM event_counts_hour WHERE tenant = ? AND hour >= ? AND hour < ?
           GROUP BY action, target_type`,
        )
        .all(tenant, fromHour, toHour) as { action: string; target_type: string; n: number }[]) {
        sums.byActionAndType.set(JSON.stringify([row.action, row.target_type]), row.n);
      }
      for (const row of statements
        .get(
          'SELECT hour, sum(count) AS n FROM event_counts_hour WHERE tenant = ? AND hour >= ? AND hour < ? GROUP BY hour',
        )
        .all(tenant, fromHour, toHour) as { hour: number; n: number }[]) {
        sums.byHour.set(row.hour, row.n);
      }
      return sums;
    },
  };
}
