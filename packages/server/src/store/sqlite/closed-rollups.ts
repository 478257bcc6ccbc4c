// Stats rollup sums on SQLite: the part of a window that lies in closed days (before today, UTC) is summed once per
// tenant and window and kept in memory; today's rows are read fresh on every call. It must never serve a sum that a
// later append or redaction changed: a kept sum is tied to the tenant's redaction and late-append counters.
import type { StatementCache } from './statements.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * An append received before midnight may still be committing just after it, into "yesterday" without counting as
 * late (it was not late when received); for this long into a new day, closed-day sums are computed but not kept.
 */
const SETTLE_MS = 5 * 60_000;
/** Distinct (tenant, window) sums kept: a dashboard asks for a handful of windows. */
const MAX_KEPT = 64;

interface ActorSums {
  counts: Map<string, number>;
  /** The same counts, largest first (ties by id, as SQLite's BINARY order). */
  ranked: [string, number][];
}

export interface HourlySums {
  /** Events per action and target type ('' for none), keyed JSON `[action, targetType]` (either may hold U+0000). */
  byActionAndType: Map<string, number>;
  /** Events per hour number (ms / 3,600,000), ascending. */
  byHour: Map<number, number>;
}

/** SQLite's BINARY order (UTF-8 bytes), which JavaScript's UTF-16 comparison differs from past U+FFFF. */
const binaryOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const ranksAbove = (a: [string, number], b: [string, number]) =>
  a[1] > b[1] || (a[1] === b[1] && binaryOrder(a[0], b[0]) < 0);

export class ClosedRollups {
  private readonly kept = new Map<string, { version: string; sums: unknown }>();

  constructor(private readonly statements: StatementCache) {}

  /** The `top` actors by events in the days [fromMs, toMs) touches, as actor_counts_day counts them. */
  topActors(
    tenant: string,
    fromMs: number,
    toMs: number,
    nowMs: number,
    top: number,
  ): { id: string; count: number }[] {
    const firstDay = Math.floor(fromMs / DAY_MS);
    const endDay = Math.ceil(toMs / DAY_MS);
    const closedEnd = Math.max(firstDay, Math.min(endDay, Math.floor(nowMs / DAY_MS)));
    const closed =
      closedEnd > firstDay
        ? this.closed(`actors\u0000${tenant}\u0000${firstDay}\u0000${closedEnd}`, tenant, nowMs, () => {
            const ranked = this.actorSums(tenant, firstDay, closedEnd).sort((a, b) =>
              ranksAbove(a, b) ? -1 : 1,
            );
            return { counts: new Map(ranked), ranked } satisfies ActorSums;
          })
        : null;
    const fresh = new Map(this.actorSums(tenant, closedEnd, endDay));
    let maxFresh = 0;
    for (const count of fresh.values()) maxFresh = Math.max(maxFresh, count);

    // Exact top-k without adding every actor: walk the closed sums largest first and stop once even the largest
    // fresh count could not lift the next one into the list.
    const best: [string, number][] = [];
    const consider = (entry: [string, number]) => {
      if (best.length === top && !ranksAbove(entry, best[top - 1]!)) return;
      let at = best.length;
      while (at > 0 && ranksAbove(entry, best[at - 1]!)) at--;
      best.splice(at, 0, entry);
      if (best.length > top) best.pop();
    };
    for (const [id, count] of closed?.ranked ?? []) {
      if (best.length === top && count + maxFresh < best[top - 1]![1]) break;
      consider([id, count + (fresh.get(id) ?? 0)]);
    }
    for (const [id, count] of fresh) if (!closed?.counts.has(id)) consider([id, count]);
    return best.map(([id, count]) => ({ id, count }));
  }

  /** event_counts_hour summed over the hours [fromHour, toHour): by action and target type, and by hour. */
  hourly(tenant: string, fromHour: number, toHour: number, nowMs: number): HourlySums {
    const closedEnd = Math.max(fromHour, Math.min(toHour, Math.floor(nowMs / DAY_MS) * (DAY_MS / HOUR_MS)));
    const fresh = this.hourSums(tenant, closedEnd, toHour);
    if (closedEnd === fromHour) return fresh;
    const closed = this.closed(`hours\u0000${tenant}\u0000${fromHour}\u0000${closedEnd}`, tenant, nowMs, () =>
      this.hourSums(tenant, fromHour, closedEnd),
    );
    const byActionAndType = new Map(closed.byActionAndType);
    for (const [key, n] of fresh.byActionAndType)
      byActionAndType.set(key, (byActionAndType.get(key) ?? 0) + n);
    // Closed hours all come before today's: appending keeps the hours in order.
    return { byActionAndType, byHour: new Map([...closed.byHour, ...fresh.byHour]) };
  }

  private actorSums(tenant: string, fromDay: number, toDay: number): [string, number][] {
    if (fromDay >= toDay) return [];
    if (toDay === fromDay + 1) {
      // One day's rows are one per actor already: no grouping and no sort for today's (~10^4) actors.
      return (
        this.statements
          .get('SELECT actor_id AS id, count AS n FROM actor_counts_day WHERE tenant = ? AND day = ?')
          .all(tenant, fromDay) as { id: string; n: number }[]
      ).map((row) => [row.id, row.n]);
    }
    return (
      this.statements
        .get(
          'SELECT actor_id AS id, sum(count) AS n FROM actor_counts_day WHERE tenant = ? AND day >= ? AND day < ? GROUP BY actor_id',
        )
        .all(tenant, fromDay, toDay) as { id: string; n: number }[]
    ).map((row) => [row.id, row.n]);
  }

  private hourSums(tenant: string, fromHour: number, toHour: number): HourlySums {
    const byActionAndType = new Map<string, number>();
    const byHour = new Map<number, number>();
    if (fromHour >= toHour) return { byActionAndType, byHour };
    for (const row of this.statements
      .get(
        `SELECT action, target_type, sum(count) AS n FROM event_counts_hour WHERE tenant = ? AND hour >= ? AND hour < ?
         GROUP BY action, target_type`,
      )
      .all(tenant, fromHour, toHour) as { action: string; target_type: string; n: number }[]) {
      byActionAndType.set(JSON.stringify([row.action, row.target_type]), row.n);
    }
    for (const row of this.statements
      .get(
        'SELECT hour, sum(count) AS n FROM event_counts_hour WHERE tenant = ? AND hour >= ? AND hour < ? GROUP BY hour',
      )
      .all(tenant, fromHour, toHour) as { hour: number; n: number }[]) {
      byHour.set(row.hour, row.n);
    }
    return { byActionAndType, byHour };
  }

  /** The kept sums under `key` while the tenant's counters are unchanged, else freshly computed (and kept). */
  private closed<T>(key: string, tenant: string, nowMs: number, compute: () => T): T {
    const state = this.statements
      .get('SELECT redacted, late_appends FROM tenant_logs WHERE tenant = ?')
      .get(tenant) as { redacted: number; late_appends: number } | undefined;
    const version = state ? `${state.redacted}:${state.late_appends}` : null;
    const kept = this.kept.get(key);
    if (kept && kept.version === version) {
      // Most recently used last, so that the oldest is the one evicted.
      this.kept.delete(key);
      this.kept.set(key, kept);
      return kept.sums as T;
    }
    const sums = compute();
    // No tenant row yet: its first append may be late without anything to compare against; keep nothing.
    if (version !== null && nowMs % DAY_MS >= SETTLE_MS) {
      this.kept.set(key, { version, sums });
      if (this.kept.size > MAX_KEPT) this.kept.delete(this.kept.keys().next().value!);
    }
    return sums;
  }
}
