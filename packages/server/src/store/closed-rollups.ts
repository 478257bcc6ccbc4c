// Stats rollup sums for both adapters: the part of a window that lies in closed days (before today, UTC) is summed once
// per tenant and window and kept in memory; today's rows are read fresh on every call. It must never serve a sum that
// a later append, redaction or pruning changed: a kept sum is tied to the tenant's redaction and late-append counters,
// read from the store on every call (so other processes' writes count too). It reads rows only through RollupSource.

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * An append received before midnight may still be committing just after it, into "yesterday" without counting as
 * late (it was not late when received); for this long into a new day, closed-day sums are computed but not kept.
 */
const SETTLE_MS = 5 * 60_000;
/** Distinct (tenant, window) sums kept: a dashboard asks for a handful of windows. */
const MAX_KEPT = 64;
/** Known actors whose today's counts topActors asks for by id at most; beyond, it reads all of today's. */
const MAX_LISTED_ACTORS = 2_000;
/** Today's largest counts topActors reads first (at least `top`): they bound every other actor's. */
const TODAY_LEADERS = 200;

interface ActorSums {
  counts: Map<string, number>;
  /** The same counts, largest first (ties by id in byte order, as the stores sort them). */
  ranked: [string, number][];
}

export interface HourlySums {
  /** Events per action and target type ('' for none), keyed JSON `[action, targetType]` (either may hold U+0000). */
  byActionAndType: Map<string, number>;
  /** Events per hour number (ms / 3,600,000), ascending. */
  byHour: Map<number, number>;
}

const FROM_SURROGATES = /[\ud800-\uffff]/;
/**
 * Byte order of the ids as stored (SQLite's BINARY, PostgreSQL's "C" collation), which JavaScript's UTF-16 comparison
 * differs from past U+FFFF.
 */
const binaryOrder = (a: string, b: string) =>
  // Below U+D800, UTF-16 code units sort as code points, i.e. as UTF-8 bytes: no Buffer per comparison (ranking
  // 10,000 actors with ties made ~300,000 of them).
  !FROM_SURROGATES.test(a) && !FROM_SURROGATES.test(b)
    ? a < b
      ? -1
      : a > b
        ? 1
        : 0
    : Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Where the sums come from: one store's rollup tables and tenant counters. */
export interface RollupSource {
  /** The tenant's redaction and late-append counters as one value; null when the tenant has no log yet. */
  version(tenant: string): Promise<string | null>;
  /**
   * Events per actor id (as stored) over the days [fromDay, toDay), for actors with any; with `ids`, just those
   * actors; with `largest`, just that many of the greatest sums, largest first (ties by id in byte order).
   */
  actorSums(
    tenant: string,
    fromDay: number,
    toDay: number,
    only?: { ids?: string[]; largest?: number },
  ): Promise<[string, number][]>;
  /** event_counts_hour over the hours [fromHour, toHour), by action and target type, and by hour. */
  hourSums(tenant: string, fromHour: number, toHour: number): Promise<HourlySums>;
}

/** byAction, byTargetType (largest first) and the histogram of a stats answer, from the hourly sums. */
export function statsFromHourly(
  hourly: HourlySums,
  bucketMs: number,
): {
  byAction: Record<string, number>;
  byTargetType: Record<string, number>;
  histogram: Map<number, number>;
} {
  const actionCounts = new Map<string, number>();
  const targetTypeCounts = new Map<string, number>();
  for (const [key, n] of hourly.byActionAndType) {
    const [action, targetType] = JSON.parse(key) as [string, string];
    actionCounts.set(action, (actionCounts.get(action) ?? 0) + n);
    if (targetType !== '') targetTypeCounts.set(targetType, (targetTypeCounts.get(targetType) ?? 0) + n);
  }
  const histogram = new Map<number, number>();
  for (const [hour, n] of hourly.byHour) {
    const start = Math.floor((hour * HOUR_MS) / bucketMs) * bucketMs;
    histogram.set(start, (histogram.get(start) ?? 0) + n);
  }
  const largestFirst = (counts: Map<string, number>) =>
    Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  return { byAction: largestFirst(actionCounts), byTargetType: largestFirst(targetTypeCounts), histogram };
}

/** What `last24h` (events that occurred in [now − 24 h, now]) sums: rollup hours, then exact counts of ms ranges. */
export interface Last24hParts {
  /** event_counts_hour over the hours [fromHour, toHour). */
  fromHour: number;
  toHour: number;
  /** Ranges [fromMs, toMs) of occurrence whose live events are added, or subtracted. */
  add: [number, number][];
  subtract: [number, number][];
}

/**
 * Only the partial hours need counting event by event, and that count grows with the ingest rate (a busy hour is
 * 10^5–10^7 rows). The current hour is taken whole from its rollup minus the events dated after now (normally none),
 * and the oldest hour from whichever side of its cut is shorter: at a steady rate at most half an hour of rows
 * instead of a whole hour's, and a quarter on average.
 */
export function last24hParts(nowMs: number): Last24hParts {
  const dayAgo = nowMs - DAY_MS;
  const oldest = Math.floor(dayAgo / HOUR_MS);
  const current = Math.floor(nowMs / HOUR_MS);
  const cut = dayAgo - oldest * HOUR_MS;
  const parts: Last24hParts = { fromHour: oldest, toHour: current + 1, add: [], subtract: [] };
  if (cut > HOUR_MS / 2) {
    parts.fromHour = oldest + 1;
    parts.add.push([dayAgo, (oldest + 1) * HOUR_MS]);
  } else if (cut > 0) {
    parts.subtract.push([oldest * HOUR_MS, dayAgo]);
  }
  if (nowMs + 1 < (current + 1) * HOUR_MS) parts.subtract.push([nowMs + 1, (current + 1) * HOUR_MS]);
  return parts;
}

const ranksAbove = (a: [string, number], b: [string, number]) =>
  a[1] > b[1] || (a[1] === b[1] && binaryOrder(a[0], b[0]) < 0);

export class ClosedRollups {
  private readonly kept = new Map<string, { version: string; sums: unknown }>();

  constructor(private readonly source: RollupSource) {}

  /**
   * A stats window's sums: event_counts_hour over the whole hours it touches, and the `top` actors of the days it
   * touches. The tenant's counters are read at most once for both.
   */
  async window(
    tenant: string,
    fromMs: number,
    toMs: number,
    nowMs: number,
    top: number,
  ): Promise<{ hourly: HourlySums; topActors: { id: string; count: number }[] }> {
    let read: Promise<string | null> | undefined;
    const version = () => {
      read ??= this.source.version(tenant);
      return read;
    };
    const [hourly, topActors] = await Promise.all([
      this.hourly(tenant, Math.floor(fromMs / HOUR_MS), Math.ceil(toMs / HOUR_MS), nowMs, version),
      this.topActors(tenant, fromMs, toMs, nowMs, top, version),
    ]);
    return { hourly, topActors };
  }

  /** The `top` actors by events in the days [fromMs, toMs) touches, as actor_counts_day counts them. */
  private async topActors(
    tenant: string,
    fromMs: number,
    toMs: number,
    nowMs: number,
    top: number,
    version: () => Promise<string | null>,
  ): Promise<{ id: string; count: number }[]> {
    const firstDay = Math.floor(fromMs / DAY_MS);
    const endDay = Math.ceil(toMs / DAY_MS);
    const closedEnd = Math.max(firstDay, Math.min(endDay, Math.floor(nowMs / DAY_MS)));
    const leaderCount = Math.max(TODAY_LEADERS, top);
    // Today's largest counts are read beside the closed part (on PostgreSQL, round trips in parallel).
    const [closed, leaders] = await Promise.all([
      closedEnd > firstDay
        ? this.closed(
            `actors\u0000${tenant}\u0000${firstDay}\u0000${closedEnd}`,
            version,
            nowMs,
            async () => {
              const ranked = (await this.source.actorSums(tenant, firstDay, closedEnd)).sort((a, b) =>
                ranksAbove(a, b) ? -1 : 1,
              );
              return { counts: new Map(ranked), ranked } satisfies ActorSums;
            },
          )
        : null,
      closedEnd < endDay ? this.source.actorSums(tenant, closedEnd, endDay, { largest: leaderCount }) : [],
    ]);
    // Today's counts known so far. Reading every actor of today was most of a stats call (~10^4 rows a day on a busy
    // tenant, 20 ms of a last-24-hours call at 1M events); the leaders bound everyone else's: when there are
    // leaderCount of them, an actor not among them has at most the last one's count today, and none otherwise.
    const today = new Map(leaders);
    let unseenAtMost = leaders.length < leaderCount ? 0 : leaders[leaders.length - 1]![1];
    if (closed && unseenAtMost > 0) {
      // A floor no listed actor is below: the top-th largest of lower bounds on distinct actors' totals (the leaders'
      // exact totals, and the closed sums of the closed top). A known actor outside the leaders can reach it only if
      // its closed sum plus unseenAtMost does: those are asked for by id (1M events, a last-24-hours window: ~150 of
      // 10,000), and every other actor is out of the list.
      const bounds = new Map<string, number>();
      for (const [id, count] of leaders) bounds.set(id, count + (closed.counts.get(id) ?? 0));
      for (const [id, count] of closed.ranked.slice(0, top)) if (!bounds.has(id)) bounds.set(id, count);
      // There are leaderCount >= top leaders here, so the top-th bound exists.
      const floor = [...bounds.values()].sort((a, b) => b - a)[top - 1]!;
      const ids: string[] = [];
      for (const [id, count] of closed.ranked) {
        if (count + unseenAtMost < floor) break;
        if (!today.has(id)) ids.push(id);
      }
      // Past a few thousand ids, reading every row is as cheap as sending the list.
      if (ids.length > MAX_LISTED_ACTORS) {
        for (const [id, count] of await this.source.actorSums(tenant, closedEnd, endDay))
          today.set(id, count);
        unseenAtMost = 0;
      } else if (ids.length > 0) {
        for (const id of ids) today.set(id, 0);
        for (const [id, count] of await this.source.actorSums(tenant, closedEnd, endDay, { ids }))
          today.set(id, count);
      }
    }

    // Exact top-k without adding every actor: walk the closed sums largest first and stop once even the largest
    // count today could not lift the next one into the list.
    let maxToday = 0;
    for (const count of today.values()) maxToday = Math.max(maxToday, count);
    const best: [string, number][] = [];
    const consider = (entry: [string, number]) => {
      if (best.length === top && !ranksAbove(entry, best[top - 1]!)) return;
      let at = best.length;
      while (at > 0 && ranksAbove(entry, best[at - 1]!)) at--;
      best.splice(at, 0, entry);
      if (best.length > top) best.pop();
    };
    for (const [id, count] of closed?.ranked ?? []) {
      if (best.length === top && count + maxToday < best[top - 1]![1]) break;
      const fresh = today.get(id);
      // An actor whose count today is unknown was shown above to be out of the list.
      if (fresh !== undefined || unseenAtMost === 0) consider([id, count + (fresh ?? 0)]);
    }
    for (const [id, count] of today) if (!closed?.counts.has(id)) consider([id, count]);
    return best.map(([id, count]) => ({ id, count }));
  }

  /** event_counts_hour summed over the hours [fromHour, toHour): by action and target type, and by hour. */
  private async hourly(
    tenant: string,
    fromHour: number,
    toHour: number,
    nowMs: number,
    version: () => Promise<string | null>,
  ): Promise<HourlySums> {
    const closedEnd = Math.max(fromHour, Math.min(toHour, Math.floor(nowMs / DAY_MS) * (DAY_MS / HOUR_MS)));
    if (closedEnd === fromHour) return this.source.hourSums(tenant, closedEnd, toHour);
    // The version is read before anything is summed (in closed): a write after it moves it, so nothing it missed is kept.
    const [closed, fresh] = await Promise.all([
      this.closed(`hours\u0000${tenant}\u0000${fromHour}\u0000${closedEnd}`, version, nowMs, () =>
        this.source.hourSums(tenant, fromHour, closedEnd),
      ),
      this.source.hourSums(tenant, closedEnd, toHour),
    ]);
    const byActionAndType = new Map(closed.byActionAndType);
    for (const [key, n] of fresh.byActionAndType)
      byActionAndType.set(key, (byActionAndType.get(key) ?? 0) + n);
    // Closed hours all come before today's: appending keeps the hours in order.
    return { byActionAndType, byHour: new Map([...closed.byHour, ...fresh.byHour]) };
  }

  /** The kept sums under `key` while the tenant's counters are unchanged, else freshly computed (and kept). */
  private async closed<T>(
    key: string,
    readVersion: () => Promise<string | null>,
    nowMs: number,
    compute: () => Promise<T>,
  ): Promise<T> {
    const version = await readVersion();
    const kept = this.kept.get(key);
    if (kept && kept.version === version) {
      // Most recently used last, so that the oldest is the one evicted.
      this.kept.delete(key);
      this.kept.set(key, kept);
      return kept.sums as T;
    }
    const sums = await compute();
    // No tenant row yet: its first append may be late without anything to compare against; keep nothing.
    if (version !== null && nowMs % DAY_MS >= SETTLE_MS) {
      this.kept.set(key, { version, sums });
      if (this.kept.size > MAX_KEPT) this.kept.delete(this.kept.keys().next().value!);
    }
    return sums;
  }
}
