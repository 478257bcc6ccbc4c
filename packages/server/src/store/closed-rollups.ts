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
/** Known actors whose today's counts topActors reads first to raise its floor, when many are near it. */
const BOUND_PROBE = 200;

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
   * Events per actor id (as stored) over the days [fromDay, toDay); with `only`, just the actors whose sum is at
   * least `atLeast` or whose id is in `ids` (the rest cannot change a top list: ClosedRollups.topActors); with
   * `largest`, just that many of the greatest sums (ties by id in byte order).
   */
  actorSums(
    tenant: string,
    fromDay: number,
    toDay: number,
    only?: { atLeast: number; ids: string[] },
    largest?: number,
  ): Promise<[string, number][]>;
  /** The largest per-actor sum over the days [fromDay, toDay); 0 when there are none. */
  largestActorSum(tenant: string, fromDay: number, toDay: number): Promise<number>;
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
    // Today's largest sum is read beside the closed part (on PostgreSQL, round trips in parallel).
    const [closed, maxFresh] = await Promise.all([
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
      closedEnd < endDay ? this.source.largestActorSum(tenant, closedEnd, endDay) : 0,
    ]);
    // Only today's actors that can reach the list are read (a busy tenant has ~10^4 a day; reading them all was most
    // of a stats call). The closed top `top` end with at least `floor` events each, so an actor with fewer events in
    // all cannot be listed: a new actor needs `floor` events today, a known one `floor` minus its closed sum, which
    // only those within maxFresh of the floor can reach.
    //
    // When few days are closed (a young log), closed sums are close together and today's counts large, so most known
    // actors lie within maxFresh of the floor. The floor is then raised first: today's counts of the BOUND_PROBE
    // largest closed actors give exact totals for that many actors, and the top-th largest of those is a floor no
    // listed actor can be below either (1M events over three days: candidates 8,272 → 549 of 10,000).
    let only: { atLeast: number; ids: string[] } | undefined;
    if (closed && closed.ranked.length >= top && top > 0 && closedEnd < endDay && maxFresh > 0) {
      const candidates = (floor: number) => {
        const ids: string[] = [];
        for (const [id, count] of closed.ranked) {
          if (count + maxFresh < floor) break;
          ids.push(id);
        }
        return ids;
      };
      let floor = closed.ranked[top - 1]![1];
      let ids = candidates(floor);
      const probe = Math.max(BOUND_PROBE, top);
      if (ids.length > probe) {
        const probed = closed.ranked.slice(0, probe);
        const today = new Map(
          await this.source.actorSums(tenant, closedEnd, endDay, {
            atLeast: Number.MAX_SAFE_INTEGER,
            ids: probed.map(([id]) => id),
          }),
        );
        const totals = probed.map(([id, count]) => count + (today.get(id) ?? 0)).sort((a, b) => b - a);
        floor = Math.max(floor, totals[top - 1]!);
        // The probed actors are read again below with the rest: the later count is the one that is summed.
        ids = candidates(floor);
        const known = new Set(ids);
        for (const [id] of probed) if (!known.has(id)) ids.push(id);
      }
      // Past a few thousand ids, reading every row is as cheap as sending the list.
      if (ids.length <= MAX_LISTED_ACTORS) only = { atLeast: floor, ids };
    }
    // With no events on the window's closed days (a log younger than a day, or a window of today only), today's sums
    // are the answer: the store ranks them and sends `top`, not every actor of the day.
    const noneClosed = !closed || closed.ranked.length === 0;
    const fresh = new Map(
      closedEnd < endDay && maxFresh > 0
        ? await this.source.actorSums(tenant, closedEnd, endDay, only, noneClosed ? top : undefined)
        : [],
    );
    // Appends between the two reads may have raised today's largest count: stop the walk below by the larger.
    let maxToday = maxFresh;
    for (const count of fresh.values()) maxToday = Math.max(maxToday, count);

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
      if (best.length === top && count + maxToday < best[top - 1]![1]) break;
      consider([id, count + (fresh.get(id) ?? 0)]);
    }
    for (const [id, count] of fresh) if (!closed?.counts.has(id)) consider([id, count]);
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
