// Turns the list and stats query strings into store-neutral filters. Pure: no SQL, no Fastify.
// Everything a user can get wrong here becomes a 400 that names the parameter and how to fix it.
import {
  EVENT_LIMITS,
  type EventListQuery,
  type EventOutcome,
  type EventStatsQuery,
  LogbookError,
  type SortOrder,
  type StatsBucket,
} from '@logbook/protocol';
import { requireIsoTime } from '../domain/time.ts';
import { decodeCursor } from './cursor.ts';
import { parseSearchTerms, type SearchTerm } from './search-terms.ts';

export interface ActionMatch {
  exact: string[];
  prefixes: string[];
}

export interface EventFilter {
  tenant: string;
  actorId?: string;
  actions?: ActionMatch;
  targetType?: string;
  targetId?: string;
  outcome?: EventOutcome;
  ip?: string;
  /** Inclusive lower bound on occurrence time, epoch ms. */
  fromMs?: number;
  /** Exclusive upper bound on occurrence time, epoch ms. */
  toMs?: number;
  search?: SearchTerm[];
}

export interface EventPageRequest {
  filter: EventFilter;
  limit: number;
  order: SortOrder;
  /** Order key of the last event of the previous page (exclusive). */
  after?: bigint;
  includeTotal: boolean;
}

function parseActions(raw: string): ActionMatch {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0 || items.length > 50) {
    throw new LogbookError(
      'VALIDATION_FAILED',
      'action must list 1 to 50 comma-separated actions, e.g. action=LOGIN,user.*',
      {
        issues: [{ field: 'query/action', rule: 'list', message: '1–50 comma-separated actions' }],
      },
    );
  }
  const match: ActionMatch = { exact: [], prefixes: [] };
  for (const item of items) {
    if (item.endsWith('*')) {
      const prefix = item.slice(0, -1);
      if (prefix.includes('*') || prefix.length === 0) {
        throw new LogbookError(
          'VALIDATION_FAILED',
          `action "${item}": "*" is allowed only at the end of a prefix, e.g. user.*`,
          {
            issues: [{ field: 'query/action', rule: 'pattern', message: 'prefix* only' }],
          },
        );
      }
      match.prefixes.push(prefix);
    } else {
      match.exact.push(item);
    }
  }
  return match;
}

function timeRange(from: string | undefined, to: string | undefined): { fromMs?: number; toMs?: number } {
  const fromMs = from === undefined ? undefined : requireIsoTime('query/from', from, true);
  const toMs = to === undefined ? undefined : requireIsoTime('query/to', to, true);
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw new LogbookError('VALIDATION_FAILED', `from (${from}) must be before to (${to})`, {
      issues: [{ field: 'query/from', rule: 'range', message: 'from must be before to' }],
    });
  }
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
}

export function eventPageRequest(query: EventListQuery, tenant: string): EventPageRequest {
  const order = query.order ?? 'desc';
  const filter: EventFilter = {
    tenant,
    ...timeRange(query.from, query.to),
    ...(query.actor ? { actorId: query.actor } : {}),
    ...(query.action !== undefined ? { actions: parseActions(query.action) } : {}),
    ...(query.targetType ? { targetType: query.targetType } : {}),
    ...(query.targetId ? { targetId: query.targetId } : {}),
    ...(query.outcome ? { outcome: query.outcome } : {}),
    ...(query.ip ? { ip: query.ip } : {}),
    ...(query.q !== undefined ? { search: parseSearchTerms(query.q) } : {}),
  };
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, order);
  return {
    filter,
    limit: query.limit ?? EVENT_LIMITS.defaultListLimit,
    order,
    ...(cursor !== undefined ? { after: cursor } : {}),
    includeTotal: query.includeTotal ?? false,
  };
}

export interface StatsRequest {
  tenant: string;
  fromMs: number;
  toMs: number;
  bucket: StatsBucket;
  top: number;
  nowMs: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_HISTOGRAM_POINTS = 2000;

export function statsRequest(query: EventStatsQuery, tenant: string, nowMs: number): StatsRequest {
  const range = timeRange(query.from, query.to);
  const toMs = range.toMs ?? nowMs;
  const fromMs = range.fromMs ?? toMs - 30 * DAY_MS;
  if (fromMs >= toMs) {
    throw new LogbookError('VALIDATION_FAILED', 'from must be before to (to defaults to now)', {
      issues: [{ field: 'query/from', rule: 'range', message: 'from must be before to' }],
    });
  }
  const bucket = query.bucket ?? (toMs - fromMs <= 3 * DAY_MS ? 'hour' : 'day');
  const points = Math.ceil((toMs - fromMs) / (bucket === 'hour' ? HOUR_MS : DAY_MS));
  if (points > MAX_HISTOGRAM_POINTS) {
    throw new LogbookError(
      'VALIDATION_FAILED',
      `the window needs ${points} ${bucket} buckets; at most ${MAX_HISTOGRAM_POINTS}: narrow from/to or use bucket=day`,
      {
        issues: [
          { field: 'query/bucket', rule: 'maxPoints', message: `at most ${MAX_HISTOGRAM_POINTS} buckets` },
        ],
      },
    );
  }
  return { tenant, fromMs, toMs, bucket, top: query.top ?? 10, nowMs };
}

export const BUCKET_MS: Record<StatsBucket, number> = { hour: HOUR_MS, day: DAY_MS };
