// Turns the system-log list, stats and tail query strings into store-neutral filters. Pure: no SQL, no Fastify.
// Everything a user can get wrong here becomes a 400 that names the parameter and how to fix it.
import {
  LOG_LEVELS,
  LOG_LIMITS,
  LogbookError,
  type LogListQuery,
  type LogStatsQuery,
  type LogTailQuery,
  type SortOrder,
  type StatsBucket,
} from '@logbook/protocol';
import { levelNumber, parseLevel } from '../domain/log-entry.ts';
import { requireIsoTime } from '../domain/time.ts';
import { decodeCursor } from './cursor.ts';
import { parseSearchTerms, type SearchTerm } from './search-terms.ts';

export interface LogFilter {
  tenant: string;
  /** Stored level numbers (1 DEBUG … 5 FATAL) that match; absent = all. */
  levels?: number[];
  services?: string[];
  /** Inclusive lower / exclusive upper bound on the entry's timestamp, epoch ms. */
  fromMs?: number;
  toMs?: number;
  search?: SearchTerm[];
  /** Lower-case hex. */
  traceId?: string;
}

export interface LogPageRequest {
  filter: LogFilter;
  limit: number;
  order: SortOrder;
  /** Order key of the last entry of the previous page (exclusive). */
  after?: bigint;
}

export interface LogStatsRequest {
  tenant: string;
  fromMs: number;
  toMs: number;
  bucket: StatsBucket;
  services?: string[];
  top: number;
}

const invalid = (field: string, rule: string, message: string, detail: string) =>
  new LogbookError('VALIDATION_FAILED', detail, { issues: [{ field, rule, message }] });

function list(raw: string, field: string, max: number, example: string): string[] {
  const items = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    ),
  ];
  if (items.length === 0 || items.length > max) {
    throw invalid(
      field,
      'list',
      `1–${max} comma-separated values`,
      `${field.slice(6)} must list 1 to ${max} comma-separated values, e.g. ${example}`,
    );
  }
  return items;
}

function level(text: string, field: string): number {
  const parsed = parseLevel(text);
  if (parsed === null) {
    throw invalid(
      field,
      'enum',
      `must be one of ${LOG_LEVELS.join(', ')}`,
      `${field.slice(6)}: "${text.slice(0, 32)}" is not a level; use ${LOG_LEVELS.join(', ')}`,
    );
  }
  return levelNumber(parsed);
}

function timeRange(from: string | undefined, to: string | undefined): { fromMs?: number; toMs?: number } {
  const fromMs = from === undefined ? undefined : requireIsoTime('query/from', from, true);
  const toMs = to === undefined ? undefined : requireIsoTime('query/to', to, true);
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw invalid(
      'query/from',
      'range',
      'from must be before to',
      `from (${from}) must be before to (${to})`,
    );
  }
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
}

type FilterQuery = Pick<
  LogListQuery,
  'level' | 'levels' | 'minLevel' | 'service' | 'from' | 'to' | 'q' | 'traceId'
>;

/** The filter of a list or tail query. `level`/`levels` (exact) and `minLevel` combine: both must hold. */
export function logFilter(query: FilterQuery, tenant: string): LogFilter {
  let levels: number[] | undefined;
  const exact = query.level ?? query.levels;
  if (query.level !== undefined && query.levels !== undefined) {
    throw invalid(
      'query/levels',
      'exclusive',
      'use level or levels, not both',
      'levels is an alias of level: send one of them',
    );
  }
  if (exact !== undefined) {
    const field = query.level !== undefined ? 'query/level' : 'query/levels';
    levels = list(exact, field, LOG_LEVELS.length * 3, 'level=ERROR,FATAL').map((l) => level(l, field));
  }
  if (query.minLevel !== undefined) {
    const min = level(query.minLevel, 'query/minLevel');
    levels = (levels ?? [1, 2, 3, 4, 5]).filter((n) => n >= min);
  }
  if (levels) levels = [...new Set(levels)].sort();
  return {
    tenant,
    ...timeRange(query.from, query.to),
    ...(levels ? { levels } : {}),
    ...(query.service !== undefined
      ? {
          services: list(
            query.service,
            'query/service',
            LOG_LIMITS.maxServicesPerQuery,
            'service=api,worker',
          ),
        }
      : {}),
    ...(query.q !== undefined ? { search: parseSearchTerms(query.q) } : {}),
    ...(query.traceId !== undefined ? { traceId: query.traceId.toLowerCase() } : {}),
  };
}

export function logPageRequest(query: LogListQuery, tenant: string): LogPageRequest {
  const order = query.order ?? 'desc';
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, order);
  return {
    filter: logFilter(query, tenant),
    limit: query.limit ?? LOG_LIMITS.defaultListLimit,
    order,
    ...(cursor !== undefined ? { after: cursor } : {}),
  };
}

export function logTailFilter(query: LogTailQuery, tenant: string): LogFilter {
  return logFilter(query, tenant);
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_HISTOGRAM_POINTS = 2000;

export function logStatsRequest(query: LogStatsQuery, tenant: string, nowMs: number): LogStatsRequest {
  const range = timeRange(query.from, query.to);
  const toMs = range.toMs ?? nowMs;
  const fromMs = range.fromMs ?? toMs - DAY_MS;
  if (fromMs >= toMs) {
    throw invalid(
      'query/from',
      'range',
      'from must be before to',
      'from must be before to (to defaults to now)',
    );
  }
  const bucket = query.bucket ?? (toMs - fromMs <= 3 * DAY_MS ? 'hour' : 'day');
  const points = Math.ceil((toMs - fromMs) / (bucket === 'hour' ? HOUR_MS : DAY_MS));
  if (points > MAX_HISTOGRAM_POINTS) {
    throw invalid(
      'query/bucket',
      'maxPoints',
      `at most ${MAX_HISTOGRAM_POINTS} buckets`,
      `the window needs ${points} ${bucket} buckets; at most ${MAX_HISTOGRAM_POINTS}: narrow from/to or use bucket=day`,
    );
  }
  return {
    tenant,
    fromMs,
    toMs,
    bucket,
    top: query.top ?? 20,
    ...(query.service !== undefined
      ? {
          services: list(
            query.service,
            'query/service',
            LOG_LIMITS.maxServicesPerQuery,
            'service=api,worker',
          ),
        }
      : {}),
  };
}
