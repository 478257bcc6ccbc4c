// Top actors of a stats window on SQLite: the window's closed days (before today) are summed once per tenant and window
// and kept in memory; today's rows are read fresh on every call. It must never serve a sum that a later append or
// redaction changed: a kept sum is tied to the tenant's redaction and late-append counters.
import type { StatementCache } from './statements.ts';

const DAY_MS = 86_400_000;
/**
 * An append received before midnight may still be committing just after it, into "yesterday" without counting as
 * late (it was not late when received); for this long into a new day, closed-day sums are computed but not kept.
 */
const SETTLE_MS = 5 * 60_000;
/** Distinct (tenant, window) sums kept: a dashboard asks for a handful of windows. */
const MAX_KEPT = 32;

interface ClosedSums {
  /** tenant_logs.redacted and late_appends when summed: any change to a closed day's rollup changes one of them. */
  version: string;
  counts: Map<string, number>;
  /** The same counts, largest first (ties by id, as SQLite's BINARY order). */
  ranked: [string, number][];
}

/** SQLite's BINARY order (UTF-8 bytes), which JavaScript's UTF-16 comparison differs from past U+FFFF. */
const binaryOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const ranksAbove = (a: [string, number], b: [string, number]) =>
  a[1] > b[1] || (a[1] === b[1] && binaryOrder(a[0], b[0]) < 0);

export class TopActors {
  private readonly kept = new Map<string, ClosedSums>();

  constructor(private readonly statements: StatementCache) {}

  /** The `top` actors by events in the days [fromMs, toMs) touches, as actor_counts_day counts them. */
  top(
    tenant: string,
    fromMs: number,
    toMs: number,
    nowMs: number,
    top: number,
  ): { id: string; count: number }[] {
    const firstDay = Math.floor(fromMs / DAY_MS);
    const endDay = Math.ceil(toMs / DAY_MS);
    const today = Math.floor(nowMs / DAY_MS);
    const closedEnd = Math.max(firstDay, Math.min(endDay, today));
    const closed =
      closedEnd > firstDay ? this.closedSums(tenant, firstDay, closedEnd, nowMs - today * DAY_MS) : null;
    const fresh = new Map(this.sums(tenant, closedEnd, endDay));
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

  private sums(tenant: string, fromDay: number, toDay: number): [string, number][] {
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

  private closedSums(tenant: string, fromDay: number, toDay: number, intoTodayMs: number): ClosedSums {
    const state = this.statements
      .get('SELECT redacted, late_appends FROM tenant_logs WHERE tenant = ?')
      .get(tenant) as { redacted: number; late_appends: number } | undefined;
    const version = state ? `${state.redacted}:${state.late_appends}` : null;
    const key = `${tenant}\u0000${fromDay}\u0000${toDay}`;
    const kept = this.kept.get(key);
    if (kept && kept.version === version) {
      // Most recently used last, so that the oldest is the one evicted.
      this.kept.delete(key);
      this.kept.set(key, kept);
      return kept;
    }
    const ranked = this.sums(tenant, fromDay, toDay).sort((a, b) => (ranksAbove(a, b) ? -1 : 1));
    const sums: ClosedSums = { version: version ?? '', counts: new Map(ranked), ranked };
    // No tenant row yet: its first append may be late without anything to compare against; keep nothing.
    if (version !== null && intoTodayMs >= SETTLE_MS) {
      this.kept.set(key, sums);
      if (this.kept.size > MAX_KEPT) this.kept.delete(this.kept.keys().next().value!);
    }
    return sums;
  }
}
