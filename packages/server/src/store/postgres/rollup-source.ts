// The PostgreSQL rows behind stats' kept sums (store/closed-rollups.ts): rollup sums and the tenant's counters. Actor
// ids stay as stored (escaped text, "C" order) for ranking; action and target type come back as written. Reads only.
import type pg from 'pg';
import type { HourlySums, RollupSource } from '../closed-rollups.ts';
import { fromPgText, int } from './values.ts';

export function postgresRollupSource(pool: pg.Pool): RollupSource {
  return {
    async version(tenant) {
      const { rows } = await pool.query<{ redacted: string; late_appends: string }>(
        'SELECT redacted, late_appends FROM tenant_logs WHERE tenant = $1',
        [tenant],
      );
      return rows[0] ? `${rows[0].redacted}:${rows[0].late_appends}` : null;
    },

    async actorSums(tenant, fromDay, toDay, only = {}) {
      if (fromDay >= toDay) return [];
      const oneDay = toDay === fromDay + 1;
      const values: unknown[] = oneDay ? [tenant, fromDay] : [tenant, fromDay, toDay];
      const listed = only.ids ? ` AND actor_id = ANY($${values.push(only.ids)}::text[])` : '';
      const ranked =
        only.largest !== undefined ? ` ORDER BY n DESC, id LIMIT $${values.push(only.largest)}` : '';
      // One day's rows are one per actor already: no grouping for today's (~10^4) actors.
      const { rows } = await pool.query<{ id: string; n: string }>(
        oneDay
          ? `SELECT actor_id AS id, count AS n FROM actor_counts_day WHERE tenant = $1 AND day = $2${listed}${ranked}`
          : `SELECT actor_id AS id, sum(count) AS n FROM actor_counts_day WHERE tenant = $1 AND day >= $2 AND day < $3${listed}
              GROUP BY actor_id${ranked}`,
        values,
      );
      return rows.map((row) => [row.id, int(row.n)]);
    },

    async hourSums(tenant, fromHour, toHour) {
      const sums: HourlySums = { byActionAndType: new Map(), byHour: new Map() };
      if (fromHour >= toHour) return sums;
      const [byActionAndType, byHour] = await Promise.all([
        pool.query<{ action: string; target_type: string; n: string }>(
          `SELECT action, target_type, sum(count) AS n FROM event_counts_hour
            WHERE tenant = $1 AND hour >= $2 AND hour < $3 GROUP BY action, target_type`,
          [tenant, fromHour, toHour],
        ),
        pool.query<{ hour: number; n: string }>(
          `SELECT hour, sum(count) AS n FROM event_counts_hour WHERE tenant = $1 AND hour >= $2 AND hour < $3
            GROUP BY hour`,
          [tenant, fromHour, toHour],
        ),
      ]);
      for (const row of byActionAndType.rows) {
        sums.byActionAndType.set(
          JSON.stringify([fromPgText(row.action), fromPgText(row.target_type)]),
          int(row.n),
        );
      }
      // Closed hours must come before fresh ones when the two are joined: ascending.
      for (const row of byHour.rows.sort((a, b) => a.hour - b.hour)) sums.byHour.set(row.hour, int(row.n));
      return sums;
    },
  };
}
