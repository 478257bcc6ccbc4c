// Wire schemas of system log entries (DESIGN.md §3, the second stream): request validation, OpenAPI and SDK types.
// Pure data: limits here are the documented limits of the logs API.
import Type, { type Static } from 'typebox';
import { IsoDateTime, Tenant } from './common.ts';
import { SORT_ORDERS, STATS_BUCKETS } from './events.ts';
import { TailEventId, TailFollow } from './tail.ts';

/** Severity, lowest first: the order `minLevel` compares in. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Level names accepted on input (case-insensitive): the five levels plus the common aliases of logging libraries,
 * mapped to the level they mean. Stored and returned as one of LOG_LEVELS.
 */
export const LOG_LEVEL_ALIASES = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  notice: 'INFO',
  warn: 'WARN',
  warning: 'WARN',
  error: 'ERROR',
  err: 'ERROR',
  fatal: 'FATAL',
  critical: 'FATAL',
  crit: 'FATAL',
  emerg: 'FATAL',
  alert: 'FATAL',
} as const satisfies Record<string, LogLevel>;

/** Documented limits of the logs API. */
export const LOG_LIMITS = {
  /** Entries in one JSON request (array or `{ "logs": [...] }`); NDJSON bodies have no count limit. */
  maxEntriesPerRequest: 10_000,
  maxMessageBytes: 65_536,
  maxDetailsBytes: 65_536,
  /** One NDJSON line, and a whole NDJSON body. */
  maxLineBytes: 1_048_576,
  maxNdjsonBytes: 1_073_741_824,
  /** NDJSON lines are committed in chunks of this many entries (see README "System logs"). */
  ndjsonChunk: 1000,
  maxListLimit: 1000,
  defaultListLimit: 50,
  maxQueryLength: 256,
  maxServicesPerQuery: 50,
} as const;

export const LogEntryInput = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    timestamp: Type.Optional(
      Type.String({ description: 'When it happened (ISO 8601 with a zone); default: when received.' }),
    ),
    level: Type.Optional(
      Type.String({
        maxLength: 16,
        description: `DEBUG, INFO, WARN, ERROR or FATAL in any case, or an alias (${Object.keys(
          LOG_LEVEL_ALIASES,
        )
          .filter((l) => !(LOG_LEVELS as readonly string[]).includes(l.toUpperCase()))
          .join(', ')}). Default INFO.`,
      }),
    ),
    service: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'Which service logged it. Default "unknown_service" (as OpenTelemetry).',
      }),
    ),
    message: Type.String({ maxLength: LOG_LIMITS.maxMessageBytes, description: 'The log line.' }),
    details: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: `Free JSON object (searchable with q), at most ${LOG_LIMITS.maxDetailsBytes} bytes as JSON.`,
      }),
    ),
    traceId: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{32}$',
        description: 'W3C / OpenTelemetry trace id, 32 hex digits.',
      }),
    ),
    spanId: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{16}$',
        description: 'W3C / OpenTelemetry span id, 16 hex digits.',
      }),
    ),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type LogEntryInput = Static<typeof LogEntryInput>;

export const LogBatchInput = Type.Object(
  { logs: Type.Array(LogEntryInput, { minItems: 1, maxItems: LOG_LIMITS.maxEntriesPerRequest }) },
  { additionalProperties: false },
);

/** The request body of POST /api/v1/logs in JSON (NDJSON: one LogEntryInput per line). */
export const LogWriteBody = Type.Union(
  [
    LogBatchInput,
    Type.Array(LogEntryInput, { minItems: 1, maxItems: LOG_LIMITS.maxEntriesPerRequest }),
    LogEntryInput,
  ],
  { description: 'One entry, an array of entries, or { "logs": [...] }.' },
);

export const LogEntry = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    timestamp: IsoDateTime,
    receivedAt: IsoDateTime,
    level: Type.Enum(LOG_LEVELS),
    service: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    traceId: Type.Optional(Type.String()),
    spanId: Type.Optional(Type.String()),
    host: Type.Optional(Type.String()),
  },
  { description: 'A system log entry as stored.' },
);
export type LogEntry = Static<typeof LogEntry>;

export const AppendedLog = Type.Object({ id: Type.String(), tenant: Type.String(), timestamp: IsoDateTime });
export type AppendedLog = Static<typeof AppendedLog>;

export const AppendLogsResponse = Type.Object({
  logs: Type.Array(AppendedLog, { description: 'One entry per input, in order.' }),
  count: Type.Integer(),
});
export type AppendLogsResponse = Static<typeof AppendLogsResponse>;

/** Filters shared by the list and the live tail. */
const logFilterFields = {
  tenant: Type.Optional(Tenant),
  level: Type.Optional(
    Type.String({ maxLength: 128, description: 'Exact levels, comma-separated: level=ERROR,FATAL.' }),
  ),
  levels: Type.Optional(Type.String({ maxLength: 128, description: 'Alias of `level`.' })),
  minLevel: Type.Optional(
    Type.String({ maxLength: 16, description: 'This level and above: minLevel=WARN is WARN, ERROR, FATAL.' }),
  ),
  service: Type.Optional(
    Type.String({ maxLength: 4096, description: 'Services, comma-separated (any of them).' }),
  ),
  from: Type.Optional(Type.String({ description: 'Inclusive lower bound on timestamp (ISO 8601).' })),
  to: Type.Optional(Type.String({ description: 'Exclusive upper bound on timestamp (ISO 8601).' })),
  q: Type.Optional(
    Type.String({
      maxLength: LOG_LIMITS.maxQueryLength,
      description: 'Full-text words over message and details (all must match); `word*` prefix; "a b" phrase.',
    }),
  ),
  traceId: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$' })),
};

export const LogListQuery = Type.Object(
  {
    ...logFilterFields,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: LOG_LIMITS.maxListLimit, default: LOG_LIMITS.defaultListLimit }),
    ),
    order: Type.Optional(Type.Enum(SORT_ORDERS, { default: 'desc' })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page.' })),
  },
  { additionalProperties: false },
);
export type LogListQuery = Static<typeof LogListQuery>;

export const LogTailQuery = Type.Object(
  {
    ...logFilterFields,
    lastEventId: Type.Optional(TailEventId),
    follow: Type.Optional(TailFollow),
  },
  { additionalProperties: false },
);
export type LogTailQuery = Static<typeof LogTailQuery>;

export const LogListResponse = Type.Object({
  data: Type.Array(LogEntry),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type LogListResponse = Static<typeof LogListResponse>;

export const LogStatsQuery = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    from: Type.Optional(
      Type.String({ description: 'Window start (ISO 8601); default 24 hours before `to`.' }),
    ),
    to: Type.Optional(Type.String({ description: 'Window end (ISO 8601); default now.' })),
    bucket: Type.Optional(Type.Enum(STATS_BUCKETS)),
    service: Type.Optional(
      Type.String({ maxLength: 4096, description: 'Only these services (comma-separated).' }),
    ),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20 })),
  },
  { additionalProperties: false },
);
export type LogStatsQuery = Static<typeof LogStatsQuery>;

const levelCounts = Type.Record(Type.String(), Type.Integer(), {
  description: 'Level → count (levels with none left out).',
});

export const LogStats = Type.Object({
  total: Type.Integer({ description: 'Entries in the window.' }),
  byLevel: levelCounts,
  byService: Type.Record(Type.String(), Type.Integer(), { description: 'The `top` services by count.' }),
  histogram: Type.Array(Type.Object({ start: IsoDateTime, count: Type.Integer(), byLevel: levelCounts })),
  window: Type.Object({ from: IsoDateTime, to: IsoDateTime, bucket: Type.String() }),
});
export type LogStats = Static<typeof LogStats>;
